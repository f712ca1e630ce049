//! Credentials pasted into a config by mistake (`client_secret: …`, `password: …`): seatplan
//! takes credentials only from the environment, so such a key is an error — and since the file
//! is probably about to be shown in a CI log, its value is hidden from the file's text *before*
//! the text is registered for diagnostics, so no snippet of any diagnostic can print it.
//!
//! Found by the lines' text, not by the parsed YAML, so that a file that does not parse is
//! covered too: a key named like a credential (case-insensitive, in block or flow style, quoted
//! or not), then its value up to the end of the line, the next `,` or `}` of a flow mapping, or
//! the closing quote; a block scalar (`|`, `>`) hides the more indented lines that follow.

use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::diag::{Code, Diagnostic, Location};
use crate::source::SourceId;

/// Key names that hold credentials (compared without case, `-` and `_`).
const CREDENTIAL_KEYS: &[&str] = &[
    "clientsecret",
    "password",
    "passwd",
    "certificate",
    "clientcertificate",
    "privatekey",
    "accesstoken",
];

/// A credential-looking key and where its value was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundCredential {
    /// The key as written.
    pub key: String,
    /// The key's bytes in the text.
    pub key_span: Range<usize>,
    /// The value's bytes (now hidden) in the text.
    pub value_span: Range<usize>,
}

/// A key at the start of a line (after indentation or `- `) or after `{`/`,` in a flow mapping,
/// optionally quoted, followed by a colon and a value; `None` only if the pattern were invalid.
fn key_pattern() -> Option<&'static Regex> {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            Regex::new(
                r#"(?m)(?:^[ \t]*(?:-[ \t]+)?|[{,][ \t]*)(["']?)([A-Za-z][A-Za-z_-]*)(["']?)[ \t]*:(?:[ \t]+|$)"#,
            )
            .ok()
        })
        .as_ref()
}

fn is_credential(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    CREDENTIAL_KEYS.contains(&folded.as_str())
}

/// The end of a value that starts at `start` of `text` (on one line, in block or flow style).
fn value_end(text: &str, start: usize, flow: bool) -> usize {
    let line_end = text[start..].find('\n').map_or(text.len(), |at| start + at);
    let rest = &text[start..line_end];
    match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => rest[1..]
            .find(quote)
            .map_or(line_end, |at| start + 1 + at + 1),
        _ => {
            let mut end = line_end;
            if flow {
                if let Some(at) = rest.find([',', '}']) {
                    end = start + at;
                }
            }
            if let Some(at) = text[start..end].find(" #") {
                end = start + at;
            }
            start + text[start..end].trim_end().len()
        }
    }
}

/// The lines after `line_end` more indented than `indent` (a block scalar's content).
fn block_end(text: &str, line_end: usize, indent: usize) -> usize {
    let mut end = line_end;
    let mut at = line_end;
    while at < text.len() {
        let next = text[at + 1..]
            .find('\n')
            .map_or(text.len(), |offset| at + 1 + offset);
        let line = &text[(at + 1).min(text.len())..next];
        let depth = line.len() - line.trim_start().len();
        if !line.trim().is_empty() && depth <= indent {
            break;
        }
        if !line.trim().is_empty() {
            end = next;
        }
        at = next;
    }
    end
}

/// Finds the credential-looking keys of a config text and returns the text with their values
/// replaced by `*` (byte for byte, so every other offset stays valid) and what was found.
pub fn hide_credentials(text: &str) -> (String, Vec<FoundCredential>) {
    let mut found = Vec::new();
    let Some(pattern) = key_pattern() else {
        return (text.to_string(), found);
    };
    for captures in pattern.captures_iter(text) {
        let (Some(whole), Some(key)) = (captures.get(0), captures.get(2)) else {
            continue;
        };
        if !is_credential(key.as_str()) {
            continue;
        }
        let flow = text[whole.start()..key.start()].contains(['{', ',']);
        let start = whole.end();
        let line_start = text[..key.start()].rfind('\n').map_or(0, |at| at + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |at| start + at);
        let mut end = value_end(text, start, flow);
        let value = text[start..end].trim();
        if value.starts_with('|') || value.starts_with('>') || value.is_empty() {
            let indent = text[line_start..]
                .chars()
                .take_while(|c| *c == ' ' || *c == '-' || *c == '\t')
                .count();
            end = block_end(text, line_end, indent).max(end);
        }
        if end > start {
            found.push(FoundCredential {
                key: key.as_str().to_string(),
                key_span: key.range(),
                value_span: start..end,
            });
        }
    }
    if found.is_empty() {
        return (text.to_string(), found);
    }
    let mut bytes = text.as_bytes().to_vec();
    for credential in &found {
        for byte in &mut bytes[credential.value_span.clone()] {
            if *byte != b'\n' {
                *byte = b'*';
            }
        }
    }
    // Whole UTF-8 sequences were replaced (every byte of a value is), so this cannot fail.
    let hidden = String::from_utf8(bytes).unwrap_or_else(|_| "*".repeat(text.len()));
    (hidden, found)
}

/// The diagnostic for a credential found in the config registered as `source`.
pub fn credential_problem(source: SourceId, credential: &FoundCredential) -> Diagnostic {
    Diagnostic::new(
        Code::CredentialInConfig,
        format!(
            "`{}` looks like a credential; seatplan never reads credentials from the config (its value is hidden here)",
            credential.key
        ),
    )
    .with_label(
        Location::span(source, credential.key_span.clone()),
        "remove this key",
    )
    .with_help(
        "set SEATPLAN_CLIENT_SECRET or SEATPLAN_CLIENT_CERTIFICATE in the environment instead, \
         and rotate the secret if this file was ever committed or shared",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_hidden_in_every_style() {
        let text = "version: 1\nbackend:\n  graph:\n    tenant_id: t\n    client_secret: \"s3cr3t~x\"\n    Password: hunter2 # old\n  other: { access_token: abc, keep: yes }\n";
        let (hidden, found) = hide_credentials(text);
        assert_eq!(hidden.len(), text.len());
        for secret in ["s3cr3t", "hunter2", "abc"] {
            assert!(!hidden.contains(secret), "{hidden}");
        }
        assert!(hidden.contains("tenant_id: t"));
        assert!(hidden.contains("keep: yes"));
        assert!(hidden.contains("# old"));
        let keys: Vec<&str> = found.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(keys, ["client_secret", "Password", "access_token"]);
        assert_eq!(&text[found[0].key_span.clone()], "client_secret");
    }

    #[test]
    fn block_scalars_hide_their_lines() {
        let text =
            "backend:\n  private_key: |\n    -----BEGIN PRIVATE KEY-----\n    MIIEv\n  other: 1\n";
        let (hidden, found) = hide_credentials(text);
        assert_eq!(found.len(), 1);
        assert!(!hidden.contains("MIIEv"), "{hidden}");
        assert!(!hidden.contains("BEGIN"), "{hidden}");
        assert!(hidden.contains("other: 1"));
    }

    #[test]
    fn ordinary_configs_are_untouched() {
        let text = "version: 1\ngroups:\n  Password Reset Helpers:\n    members: [secret.agent@contoso.com]\n";
        let (hidden, found) = hide_credentials(text);
        assert!(found.is_empty());
        assert_eq!(hidden, text);
    }
}
