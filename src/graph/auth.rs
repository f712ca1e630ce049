//! The OAuth2 client-credentials flow against the Microsoft identity platform: one token request
//! (`POST {login}/{tenant}/oauth2/v2.0/token`) with the client secret. The secret and the token
//! travel only in the request and the [`Secret`] they are kept in.

use std::time::Duration;

use serde_json::Value;

use super::client::{graph_error_fields, read_answer};
use super::error::{GraphError, GraphErrorKind};
use super::secret::Secret;
use super::settings::{Credential, GraphSettings};

/// Requests an access token; returns it with its lifetime.
pub(super) fn request_token(
    agent: &ureq::Agent,
    settings: &GraphSettings,
) -> Result<(Secret, Duration), GraphError> {
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        settings.login_base, settings.tenant_id
    );
    let request = format!("POST /{}/oauth2/v2.0/token", settings.tenant_id);
    let secret = match &settings.credential {
        Credential::ClientSecret(secret) => secret,
        Credential::Certificate(_) => {
            return Err(GraphError::new(
                GraphErrorKind::Unsupported,
                request,
                "certificate credentials are not supported yet",
            ))
        }
    };
    let policy = settings.retry;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let last = attempt >= policy.max_attempts.max(1);
        let form = [
            ("client_id", settings.client_id.as_str()),
            ("scope", settings.scope.as_str()),
            ("grant_type", "client_credentials"),
            ("client_secret", secret.expose()),
        ];
        let answer = match agent.post(&url).send_form(form) {
            Ok(response) => read_answer(response),
            Err(error) => Err(error.to_string()),
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(_) if !last => {
                std::thread::sleep(policy.delay(attempt, None));
                continue;
            }
            Err(message) => {
                return Err(GraphError::new(
                    GraphErrorKind::Transport,
                    request,
                    secret.scrub(&message),
                ))
            }
        };
        if matches!(answer.status, 429 | 500 | 502 | 503 | 504) && !last {
            std::thread::sleep(policy.delay(attempt, answer.retry_after));
            continue;
        }
        if !(200..300).contains(&answer.status) {
            let (code, message) = graph_error_fields(&answer.body);
            return Err(GraphError {
                kind: GraphErrorKind::Auth,
                request,
                status: Some(answer.status),
                code,
                message: secret.scrub(
                    &message.unwrap_or_else(|| "the identity platform refused the request".into()),
                ),
            });
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
