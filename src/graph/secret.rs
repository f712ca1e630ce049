//! [`Secret`]: a string that never shows itself. Client secrets, private keys and access tokens
//! are held in it so that no `Debug`, `Display`, log line or error message can print them.

use std::borrow::Cow;
use std::fmt;
use std::sync::Mutex;

/// The secrets of this process, scrubbed from everything seatplan prints
/// ([`scrub_output`]).
static REGISTERED: Mutex<Vec<Secret>> = Mutex::new(Vec::new());

/// Remembers `secret` so that [`scrub_output`] removes it from all output.
pub fn register(secret: &Secret) {
    if let Ok(mut registered) = REGISTERED.lock() {
        if !registered.contains(secret) {
            registered.push(secret.clone());
        }
    }
}

/// `text` with every registered secret removed, in every form it may take ([`Secret::scrub`]):
/// the one place all of seatplan's terminal output passes through.
pub fn scrub_output(text: &str) -> Cow<'_, str> {
    let Ok(registered) = REGISTERED.lock() else {
        return Cow::Borrowed(text);
    };
    if registered.is_empty() {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        registered
            .iter()
            .fold(text.to_string(), |text, secret| secret.scrub(&text)),
    )
}

/// `value` percent-encoded: bytes outside `keep` become `%XX` (hex in `upper` or lower case),
/// and a space becomes `space`.
fn encoded(value: &str, keep: &[u8], space: &str, upper: bool) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(byte as char);
        } else if byte == b' ' {
            out.push_str(space);
        } else if upper {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push_str(&format!("%{byte:02x}"));
        }
    }
    out
}

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

    /// The forms the secret may take in text that echoes a request: as is, form-encoded (space
    /// as `+`) and percent-encoded (space as `%20`), each with upper- and lower-case hex, and
    /// JSON-escaped. Longest first, so a longer form is replaced before a form inside it.
    pub fn forms(&self) -> Vec<String> {
        let raw = self.0.as_str();
        let mut forms = vec![raw.to_string()];
        for upper in [true, false] {
            forms.push(encoded(raw, b"*-._", "+", upper));
            forms.push(encoded(raw, b"-._~", "%20", upper));
            forms.push(encoded(raw, b"-._~", "+", upper));
        }
        let json = serde_json::to_string(raw).unwrap_or_default();
        forms.push(json.trim_matches('"').to_string());
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        forms
    }

    /// `text` with every occurrence of the secret, in each of its [`Secret::forms`], replaced by
    /// `[redacted]` (defence in depth for error bodies that echo a request).
    pub fn scrub(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_string();
        }
        self.forms().iter().fold(text.to_string(), |text, form| {
            text.replace(form, "[redacted]")
        })
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

    #[test]
    fn every_encoded_form_is_scrubbed() {
        let secret = Secret::new("a b/c~d+e\"f\\g");
        for text in [
            "a b/c~d+e\"f\\g",
            "a+b%2Fc%7Ed%2Be%22f%5Cg",
            "a+b%2fc%7ed%2be%22f%5cg",
            "a%20b%2Fc~d%2Be%22f%5Cg",
            "a%20b%2fc~d%2be%22f%5cg",
            "a b/c~d+e\\\"f\\\\g",
        ] {
            let scrubbed = secret.scrub(&format!("client_secret={text}&x=1"));
            assert_eq!(scrubbed, "client_secret=[redacted]&x=1", "{text}");
        }
    }

    #[test]
    fn registered_secrets_leave_all_output() {
        let secret = Secret::new("registered-Zq8~1x");
        register(&secret);
        assert_eq!(
            scrub_output("echo: registered-Zq8%7E1x."),
            "echo: [redacted]."
        );
    }
}
