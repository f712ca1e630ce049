//! How to reach Graph: the tenant and app registration, the credential, the endpoints (public or
//! national cloud, or a test server) and the limits of retries and parallel requests.

use std::path::PathBuf;
use std::time::Duration;

use super::retry::RetryPolicy;
use super::secret::Secret;
use crate::diag::{Code, Diagnostic};

/// The Microsoft identity platform of the public cloud.
pub const PUBLIC_LOGIN_BASE: &str = "https://login.microsoftonline.com";

/// Microsoft Graph v1.0 of the public cloud.
pub const PUBLIC_GRAPH_BASE: &str = "https://graph.microsoft.com/v1.0";

/// How the app registration proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A client secret.
    ClientSecret(Secret),
    /// A PEM file holding the certificate and its private key.
    Certificate(PathBuf),
}

/// Everything the Graph client needs to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphSettings {
    /// The directory (tenant) id or a verified domain.
    pub tenant_id: String,
    /// The app registration's application (client) id.
    pub client_id: String,
    /// The app's credential.
    pub credential: Credential,
    /// The identity platform's base URL, without a trailing slash.
    pub login_base: String,
    /// Graph's base URL including the version, without a trailing slash.
    pub graph_base: String,
    /// The OAuth2 scope requested: the Graph resource followed by `/.default`.
    pub scope: String,
    /// Retries of throttled and failed requests.
    pub retry: RetryPolicy,
    /// Most Graph requests in flight at once.
    pub max_in_flight: usize,
    /// The resource units per [`GraphSettings::resource_window`] the client allows itself
    /// (`SEATPLAN_GRAPH_RESOURCE_UNITS`); `None` follows Graph's documented quota for the
    /// tenant's size (see [`super::budget`]).
    pub resource_units: Option<u32>,
    /// The window the resource units are counted over: Graph's is 10 seconds.
    pub resource_window: Duration,
    /// The writes per 150 seconds the client allows itself (`SEATPLAN_GRAPH_WRITES`); `None`
    /// follows Graph's documented write quota ([`super::budget::WRITE_QUOTA`]).
    pub write_quota: Option<u32>,
    /// Timeout of one request, connection to last byte.
    pub timeout: Duration,
}

impl GraphSettings {
    /// Settings for the public cloud.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        credential: Credential,
    ) -> Self {
        GraphSettings {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            credential,
            login_base: PUBLIC_LOGIN_BASE.into(),
            graph_base: PUBLIC_GRAPH_BASE.into(),
            scope: scope_for(PUBLIC_GRAPH_BASE),
            retry: RetryPolicy::default(),
            max_in_flight: 8,
            resource_units: None,
            resource_window: super::budget::WINDOW,
            write_quota: None,
            timeout: Duration::from_secs(120),
        }
    }

    /// The same settings with other endpoints (a national cloud, a test server); the scope
    /// follows the Graph URL.
    pub fn with_endpoints(mut self, login_base: &str, graph_base: &str) -> Self {
        self.login_base = login_base.trim_end_matches('/').to_string();
        self.graph_base = graph_base.trim_end_matches('/').to_string();
        self.scope = scope_for(&self.graph_base);
        self
    }

    /// Settings from the process environment: `SEATPLAN_TENANT_ID`, `SEATPLAN_CLIENT_ID`,
    /// `SEATPLAN_CLIENT_SECRET` or `SEATPLAN_CLIENT_CERTIFICATE` (a PEM file), and optionally
    /// `SEATPLAN_LOGIN_URL` and `SEATPLAN_GRAPH_URL`. `tenant_id` and `client_id` (from the
    /// config) are used when the environment does not set them.
    #[expect(
        clippy::disallowed_methods,
        reason = "Graph credentials come from the environment"
    )]
    pub fn from_env(tenant_id: Option<&str>, client_id: Option<&str>) -> Result<Self, Diagnostic> {
        Self::from_lookup(|name| std::env::var(name).ok(), tenant_id, client_id)
    }

    /// [`GraphSettings::from_env`] over any variable lookup (tests pass a map).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        tenant_id: Option<&str>,
        client_id: Option<&str>,
    ) -> Result<Self, Diagnostic> {
        let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let tenant = value("SEATPLAN_TENANT_ID")
            .or_else(|| tenant_id.map(str::to_string))
            .ok_or_else(|| missing("SEATPLAN_TENANT_ID", "the directory (tenant) id"))?;
        let client = value("SEATPLAN_CLIENT_ID")
            .or_else(|| client_id.map(str::to_string))
            .ok_or_else(|| missing("SEATPLAN_CLIENT_ID", "the app registration's client id"))?;
        let credential = match (
            value("SEATPLAN_CLIENT_SECRET"),
            value("SEATPLAN_CLIENT_CERTIFICATE"),
        ) {
            (Some(_), Some(_)) => {
                return Err(Diagnostic::new(
                    Code::GraphAuth,
                    "both SEATPLAN_CLIENT_SECRET and SEATPLAN_CLIENT_CERTIFICATE are set",
                )
                .with_help("set only one of them"))
            }
            (Some(secret), None) => {
                let secret = Secret::new(secret);
                super::secret::register(&secret);
                Credential::ClientSecret(secret)
            }
            (None, Some(path)) => Credential::Certificate(PathBuf::from(path)),
            (None, None) => {
                return Err(missing(
                    "SEATPLAN_CLIENT_SECRET",
                    "a client secret (or SEATPLAN_CLIENT_CERTIFICATE, a PEM file)",
                ))
            }
        };
        let mut settings = GraphSettings::new(tenant, client, credential);
        let login = value("SEATPLAN_LOGIN_URL").unwrap_or_else(|| PUBLIC_LOGIN_BASE.into());
        let graph = value("SEATPLAN_GRAPH_URL").unwrap_or_else(|| PUBLIC_GRAPH_BASE.into());
        if let Some(text) = value("SEATPLAN_RETRY_TIMEOUT") {
            settings.retry.deadline = seconds("SEATPLAN_RETRY_TIMEOUT", &text)?;
        }
        if let Some(text) = value("SEATPLAN_CONSISTENCY_TIMEOUT") {
            settings.retry.consistency_deadline = seconds("SEATPLAN_CONSISTENCY_TIMEOUT", &text)?;
        }
        if let Some(text) = value("SEATPLAN_GRAPH_RESOURCE_UNITS") {
            settings.resource_units = Some(resource_units(&text)?);
        }
        if let Some(text) = value("SEATPLAN_GRAPH_WRITES") {
            settings.write_quota = Some(writes(&text)?);
        }
        Ok(settings.with_endpoints(&login, &graph))
    }
}

/// The most seconds a timeout variable may give (a day): beyond it a typo, not a choice.
const MAX_TIMEOUT_SECONDS: f64 = 86_400.0;

/// A timeout variable's value: seconds, fractions allowed.
fn seconds(variable: &str, text: &str) -> Result<Duration, Diagnostic> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| (0.0..=MAX_TIMEOUT_SECONDS).contains(value))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Diagnostic::new(
                Code::GraphAuth,
                format!("{variable} is `{text}`, not a number of seconds"),
            )
            .with_help(format!(
                "give seconds between 0 and {MAX_TIMEOUT_SECONDS} (for example 300), or unset it"
            ))
        })
}

/// A count variable's value (`SEATPLAN_GRAPH_RESOURCE_UNITS`, `SEATPLAN_GRAPH_WRITES`): a
/// whole number above zero, else a diagnostic naming `what` it counts, with `help`.
fn count(variable: &str, text: &str, what: &str, help: String) -> Result<u32, Diagnostic> {
    text.trim()
        .parse::<u32>()
        .ok()
        .filter(|count| *count > 0)
        .ok_or_else(|| {
            Diagnostic::new(
                Code::GraphAuth,
                format!("{variable} is `{text}`, not a number of {what}"),
            )
            .with_help(help)
        })
}

/// `SEATPLAN_GRAPH_RESOURCE_UNITS`: a whole number of resource units per 10 seconds.
fn resource_units(text: &str) -> Result<u32, Diagnostic> {
    count(
        "SEATPLAN_GRAPH_RESOURCE_UNITS",
        text,
        "resource units",
        "give the resource units per 10 seconds seatplan may spend (Graph's quota for a tenant \
         above 500 users is 8000), or unset it to follow Graph's documented quota"
            .to_string(),
    )
}

/// `SEATPLAN_GRAPH_WRITES`: a whole number of writes per 150 seconds.
fn writes(text: &str) -> Result<u32, Diagnostic> {
    count(
        "SEATPLAN_GRAPH_WRITES",
        text,
        "writes",
        format!(
            "give the writes per 150 seconds seatplan may make (Graph's write quota is {}), or \
             unset it to follow Graph's",
            super::budget::WRITE_QUOTA
        ),
    )
}

fn missing(variable: &str, what: &str) -> Diagnostic {
    Diagnostic::new(
        Code::GraphAuth,
        format!("{variable} is not set: seatplan needs {what} to connect to Graph"),
    )
    .with_help(
        "set SEATPLAN_TENANT_ID, SEATPLAN_CLIENT_ID and SEATPLAN_CLIENT_SECRET (see the README)",
    )
}

/// `https://graph.microsoft.com/v1.0` → `https://graph.microsoft.com/.default`.
fn scope_for(graph_base: &str) -> String {
    let after_scheme = graph_base.find("://").map_or(0, |index| index + 3);
    let origin_end = graph_base[after_scheme..]
        .find('/')
        .map_or(graph_base.len(), |index| after_scheme + index);
    format!("{}/.default", &graph_base[..origin_end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn settings_come_from_the_environment_with_config_fallbacks() {
        let settings = GraphSettings::from_lookup(
            lookup(&[
                ("SEATPLAN_CLIENT_SECRET", "hunter2-secret"),
                ("SEATPLAN_GRAPH_URL", "https://graph.microsoft.us/v1.0/"),
                ("SEATPLAN_LOGIN_URL", "https://login.microsoftonline.us"),
            ]),
            Some("tenant"),
            Some("client"),
        )
        .unwrap();
        assert_eq!(settings.tenant_id, "tenant");
        assert_eq!(settings.graph_base, "https://graph.microsoft.us/v1.0");
        assert_eq!(settings.scope, "https://graph.microsoft.us/.default");
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    fn the_resource_unit_quota_comes_from_the_environment() {
        let settings = GraphSettings::from_lookup(
            lookup(&[
                ("SEATPLAN_CLIENT_SECRET", "x"),
                ("SEATPLAN_GRAPH_RESOURCE_UNITS", "2000"),
            ]),
            Some("t"),
            Some("c"),
        )
        .unwrap();
        assert_eq!(settings.resource_units, Some(2000));
        let unset = GraphSettings::from_lookup(
            lookup(&[("SEATPLAN_CLIENT_SECRET", "x")]),
            Some("t"),
            Some("c"),
        )
        .unwrap();
        assert_eq!(unset.resource_units, None);
        let bad = GraphSettings::from_lookup(
            lookup(&[
                ("SEATPLAN_CLIENT_SECRET", "x"),
                ("SEATPLAN_GRAPH_RESOURCE_UNITS", "0"),
            ]),
            Some("t"),
            Some("c"),
        )
        .unwrap_err();
        assert!(bad.message.contains("SEATPLAN_GRAPH_RESOURCE_UNITS"));
    }

    #[test]
    fn the_write_quota_comes_from_the_environment() {
        let with = |value: &str| {
            GraphSettings::from_lookup(
                lookup(&[
                    ("SEATPLAN_CLIENT_SECRET", "x"),
                    ("SEATPLAN_GRAPH_WRITES", value),
                ]),
                Some("t"),
                Some("c"),
            )
        };
        assert_eq!(with("600").unwrap().write_quota, Some(600));
        for bad in ["0", "-3", "many"] {
            let error = with(bad).unwrap_err();
            assert!(error.message.contains("SEATPLAN_GRAPH_WRITES"), "{bad}");
        }
        let unset = GraphSettings::from_lookup(
            lookup(&[("SEATPLAN_CLIENT_SECRET", "x")]),
            Some("t"),
            Some("c"),
        )
        .unwrap();
        assert_eq!(unset.write_quota, None);
    }

    #[test]
    fn timeouts_come_from_the_environment() {
        let settings = GraphSettings::from_lookup(
            lookup(&[
                ("SEATPLAN_CLIENT_SECRET", "x"),
                ("SEATPLAN_RETRY_TIMEOUT", "120"),
                ("SEATPLAN_CONSISTENCY_TIMEOUT", "0.5"),
            ]),
            Some("t"),
            Some("c"),
        )
        .unwrap();
        assert_eq!(settings.retry.deadline, Duration::from_secs(120));
        assert_eq!(
            settings.retry.consistency_deadline,
            Duration::from_millis(500)
        );
        let bad = GraphSettings::from_lookup(
            lookup(&[
                ("SEATPLAN_CLIENT_SECRET", "x"),
                ("SEATPLAN_CONSISTENCY_TIMEOUT", "5 minutes"),
            ]),
            Some("t"),
            Some("c"),
        )
        .unwrap_err();
        assert!(
            bad.message.contains("SEATPLAN_CONSISTENCY_TIMEOUT"),
            "{}",
            bad.message
        );
    }

    #[test]
    fn missing_or_double_credentials_are_diagnostics() {
        let none = GraphSettings::from_lookup(lookup(&[]), Some("t"), Some("c")).unwrap_err();
        assert!(none
            .message
            .starts_with("SEATPLAN_CLIENT_SECRET is not set"));
        let both = GraphSettings::from_lookup(
            lookup(&[
                ("SEATPLAN_CLIENT_SECRET", "x"),
                ("SEATPLAN_CLIENT_CERTIFICATE", "c.pem"),
            ]),
            Some("t"),
            Some("c"),
        )
        .unwrap_err();
        assert_eq!(both.code, Code::GraphAuth);
        let tenant =
            GraphSettings::from_lookup(lookup(&[("SEATPLAN_CLIENT_SECRET", "x")]), None, Some("c"))
                .unwrap_err();
        assert!(tenant.message.starts_with("SEATPLAN_TENANT_ID"));
    }
}
