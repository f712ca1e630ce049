//! The OAuth2 client-credentials flow against the Microsoft identity platform: one token request
//! (`POST {login}/{tenant}/oauth2/v2.0/token`) with the client secret, or with a client assertion
//! (a JWT signed RS256 with the certificate's private key, naming the certificate by its SHA-1
//! and SHA-256 thumbprints). The secret and the token travel only in the request and the
//! [`Secret`] they are kept in; the private key is read for each token request and dropped.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

use super::answer::{graph_error_fields, read_answer};
use super::error::{GraphError, GraphErrorKind};
use super::retry::{client_request_id, retryable, Budget, Repeat, Sleeper};
use super::secret::Secret;
use super::settings::{Credential, GraphSettings};

/// Requests an access token; returns it with its lifetime.
pub(super) fn request_token(
    agent: &ureq::Agent,
    settings: &GraphSettings,
    sleeper: &Sleeper,
) -> Result<(Secret, Duration), GraphError> {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        settings.login_base, settings.tenant_id
    );
    let request = format!("POST /{}/oauth2/v2.0/token", settings.tenant_id);
    let secret = match &settings.credential {
        Credential::ClientSecret(secret) => secret.clone(),
        Credential::Certificate(path) => client_assertion(path, &settings.client_id, &url)
            .map_err(|message| GraphError::new(GraphErrorKind::Auth, request.clone(), message))?,
    };
    let credential = match &settings.credential {
        Credential::ClientSecret(_) => "client_secret",
        Credential::Certificate(_) => "client_assertion",
    };
    let client_request_id = client_request_id();
    let mut budget = Budget::new(settings.retry);
    loop {
        budget.attempt();
        let mut form = vec![
            ("client_id", settings.client_id.as_str()),
            ("scope", settings.scope.as_str()),
            ("grant_type", "client_credentials"),
            (credential, secret.expose()),
        ];
        if credential == "client_assertion" {
            form.push((
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ));
        }
        let answer = match agent
            .post(&url)
            .header("client-request-id", &client_request_id)
            .header("return-client-request-id", "true")
            .send_form(form)
        {
            Ok(response) => read_answer(response, true),
            Err(error) => Err(error.to_string()),
        };
        // A token request creates nothing: every failure that may pass is retried.
        let answer = match answer {
            Ok(answer) => answer,
            Err(message) => match budget.next_wait(None) {
                Ok(wait) => {
                    sleeper(wait);
                    continue;
                }
                Err(reason) => {
                    return Err(GraphError::new(
                        GraphErrorKind::Transport,
                        request,
                        secret.scrub(&format!("{message}; {reason}")),
                    )
                    .with_ids(None, Some(client_request_id)))
                }
            },
        };
        let mut gave_up = None;
        if retryable(Repeat::Safe, Some(answer.status)) {
            match budget.next_wait(answer.retry_after) {
                Ok(wait) => {
                    sleeper(wait);
                    continue;
                }
                Err(reason) => gave_up = Some(reason),
            }
        }
        if !(200..300).contains(&answer.status) {
            let (code, message) = graph_error_fields(&answer.body);
            let message =
                message.unwrap_or_else(|| "the identity platform refused the request".into());
            let message = match gave_up {
                Some(reason) => format!("{message} ({reason})"),
                None => message,
            };
            return Err(GraphError {
                kind: GraphErrorKind::Auth,
                request,
                status: Some(answer.status),
                code,
                message: secret.scrub(&message),
                ids: None,
            }
            .with_ids(answer.request_id, Some(client_request_id)));
        }
        let token = answer.body.get("access_token").and_then(Value::as_str);
        let lifetime = match answer.body.get("expires_in") {
            Some(Value::Number(seconds)) => seconds.as_u64(),
            Some(Value::String(seconds)) => seconds.parse().ok(),
            _ => None,
        };
        return match (token, lifetime) {
            (Some(token), Some(seconds)) => Ok((Secret::new(token), Duration::from_secs(seconds))),
            _ => Err(GraphError::new(
                GraphErrorKind::Auth,
                request,
                "the token response has no `access_token` or `expires_in`",
            )),
        };
    }
}

/// The largest certificate file read.
const MAX_CERTIFICATE_BYTES: u64 = 1024 * 1024;

/// A client assertion for `client_id` at the token endpoint `audience`, signed with the private
/// key of the PEM file at `path` (which holds the certificate and an RSA key, PKCS#8 or PKCS#1).
#[expect(
    clippy::disallowed_methods,
    reason = "a client assertion is valid from now for a few minutes"
)]
fn client_assertion(path: &Path, client_id: &str, audience: &str) -> Result<Secret, String> {
    let display = path.display();
    let pem = crate::io::read_text(path, MAX_CERTIFICATE_BYTES)
        .map_err(|diagnostic| diagnostic.message)?;
    let pem = Secret::new(pem);
    let certificate = CertificateDer::from_pem_slice(pem.expose().as_bytes())
        .map_err(|_| format!("`{display}` holds no PEM certificate"))?;
    let key = PrivateKeyDer::from_pem_slice(pem.expose().as_bytes())
        .map_err(|_| format!("`{display}` holds no PEM private key"))?;
    let key_pair = match &key {
        PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
        _ => return Err(format!("the private key in `{display}` is not an RSA key")),
    }
    .map_err(|rejected| format!("the private key in `{display}` is not usable: {rejected}"))?;
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &certificate);
    let sha256 = ring::digest::digest(&ring::digest::SHA256, &certificate);
    let header = json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": URL_SAFE_NO_PAD.encode(sha1.as_ref()),
        "x5t#S256": URL_SAFE_NO_PAD.encode(sha256.as_ref()),
    });
    let random = SystemRandom::new();
    let mut nonce = [0u8; 16];
    random
        .fill(&mut nonce)
        .map_err(|_| "the system's random number generator failed".to_string())?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970".to_string())?
        .as_secs();
    let claims = json!({
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": nonce.iter().map(|byte| format!("{byte:02x}")).collect::<String>(),
        "nbf": now,
        "iat": now,
        "exp": now + 600,
    });
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key_pair.public().modulus_len()];
    key_pair
        .sign(
            &RSA_PKCS1_SHA256,
            &random,
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| format!("signing with the private key in `{display}` failed"))?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}
