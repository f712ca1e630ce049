//! Regular expressions for `-match`/`-notMatch`. The service uses .NET regular expressions,
//! case-insensitive, with search (unanchored) semantics (grammar notes §5.1). seatplan compiles
//! patterns with the `regex` crate, which runs in linear time; a pattern it cannot compile because
//! of a .NET-only construct (lookaround, backreferences, atomic groups, conditionals, `\Z`, `\G`)
//! is rejected with `rule-unsupported-regex`, so that a prediction is never silently wrong. Any
//! other compile failure is an invalid pattern, which the service rejects too ("Query compilation
//! error").

use regex::{Regex, RegexBuilder};

/// The compiled-size limit for one pattern (rules are at most 3,072 characters).
const SIZE_LIMIT: usize = 4 * 1024 * 1024;

/// Why a pattern cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexProblem {
    /// Not a valid regular expression; the text is the regex crate's explanation.
    Invalid(String),
    /// Valid in .NET, but uses a construct seatplan cannot evaluate; names the construct.
    DotNetOnly(&'static str),
}

/// Compiles `pattern` as the service would evaluate it: case-insensitive search.
pub fn build(pattern: &str) -> Result<Regex, RegexProblem> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|error| match dotnet_construct(pattern) {
            Some(construct) => RegexProblem::DotNetOnly(construct),
            None => RegexProblem::Invalid(error.to_string()),
        })
}

/// The first .NET-only construct in `pattern`, if any.
fn dotnet_construct(pattern: &str) -> Option<&'static str> {
    const CONSTRUCTS: &[(&str, &str)] = &[
        ("(?<=", "lookbehind `(?<=…)`"),
        ("(?<!", "negative lookbehind `(?<!…)`"),
        ("(?=", "lookahead `(?=…)`"),
        ("(?!", "negative lookahead `(?!…)`"),
        ("(?>", "atomic group `(?>…)`"),
        ("(?(", "conditional `(?(…)…)`"),
        ("\\k<", "named backreference `\\k<…>`"),
        ("\\Z", "end anchor `\\Z`"),
        ("\\G", "contiguous-match anchor `\\G`"),
    ];
    if let Some((_, name)) = CONSTRUCTS
        .iter()
        .find(|(needle, _)| pattern.contains(needle))
    {
        return Some(name);
    }
    let bytes = pattern.as_bytes();
    let mut index = 0;
    while index + 1 < bytes.len() {
        if bytes[index] == b'\\' {
            if bytes[index + 1].is_ascii_digit() && bytes[index + 1] != b'0' {
                return Some("backreference `\\1`");
            }
            index += 2;
        } else {
            index += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_semantics() {
        let regex = build("^Da.*").unwrap();
        assert!(regex.is_match("david"));
        assert!(!regex.is_match("aDa"));
        assert!(build(".*vid").unwrap().is_match("DAVID"));
        assert!(build("6.*").unwrap().is_match("B-16"));
        assert!(build(r"\@domain.ext$").unwrap().is_match("a@DOMAIN.ext"));
        assert!(build(r"\A\d{3}").unwrap().is_match("123x"));
        assert!(build(".*?ago.*").unwrap().is_match("Chicago"));
        assert!(build(r"^\[OrderID\]:.*DT")
            .unwrap()
            .is_match("[OrderID]:x-dt"));
    }

    #[test]
    fn invalid_and_dotnet_only() {
        assert!(matches!(
            build("*@domain.ext"),
            Err(RegexProblem::Invalid(_))
        ));
        assert!(matches!(build("(unclosed"), Err(RegexProblem::Invalid(_))));
        assert_eq!(
            build("^(?!admin).*").err(),
            Some(RegexProblem::DotNetOnly("negative lookahead `(?!…)`"))
        );
        assert_eq!(
            build(r"(a)\1").err(),
            Some(RegexProblem::DotNetOnly("backreference `\\1`"))
        );
        assert_eq!(
            build(r"abc\Z").err(),
            Some(RegexProblem::DotNetOnly("end anchor `\\Z`"))
        );
    }
}
