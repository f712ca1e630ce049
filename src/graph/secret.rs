//! [`Secret`]: a string that never shows itself. Client secrets, private keys and access tokens
//! are held in it so that no `Debug`, `Display`, log line or error message can print them.

use std::fmt;

/// A secret value (client secret, access token). `Debug` and `Display` print `[redacted]`;
/// only [`Secret::expose`] gives the value, to put it on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `text` with every occurrence of the secret replaced by `[redacted]` (defence in depth for
    /// error bodies that might echo a request).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        text.replace(&self.0, "[redacted]")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_format_their_value() {
        let secret = Secret::new("s3cr3t-value");
        assert_eq!(format!("{secret}"), "[redacted]");
        assert!(!format!("{secret:?}").contains("s3cr3t"));
        assert!(!format!("{:#?}", Some(&secret)).contains("s3cr3t"));
        assert_eq!(secret.expose(), "s3cr3t-value");
        assert_eq!(
            secret.scrub("bad secret s3cr3t-value given"),
            "bad secret [redacted] given"
        );
    }
}
