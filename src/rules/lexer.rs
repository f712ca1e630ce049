//! Splits a rule into tokens with byte spans: punctuation, quoted strings (with the service's
//! escapes) and words (property paths, operators with or without their hyphen, literals).
//!
//! Decisions where the documentation is silent or contradictory (grammar notes §2):
//! - Inside `"…"` the only escape is `` `" `` (a backtick before a double quote); every other
//!   character, backslashes included, is literal, so regular expressions pass through unchanged.
//! - Inside `'…'` a doubled `''` is one quote. Single-quoted strings are accepted wherever a
//!   string is (the docs use them in memberOf arrays).
//! - A backtick outside a string is an error (the docs' `` `"Sales`" `` example comes from a
//!   PowerShell string, where the backticks are PowerShell's).
//! - En dashes, em dashes, minus signs and curly quotes are errors with a help line, not silently
//!   normalised: the service lists `–eq “Sales”` as malformed.
//! - Whitespace is required between words and strings (`user.department-eq"Sales"` is malformed
//!   per the service's error table); it is optional next to `(`, `)`, `[`, `]` and `,`.

use crate::diag::Code;

use super::ast::Span;
use super::error::{wording, RuleError};

/// The kind of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenKind {
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `,`
    Comma,
    /// A quoted string, unescaped.
    Str(String),
    /// A bare word: `user.department`, `and`, `true`, `2020-06-10T18:13:20Z`, `P1D`, `_`. The
    /// flag says whether the word was written with a leading hyphen (`-eq`); the text excludes it.
    Word {
        /// The word without its hyphen.
        text: String,
        /// Written as `-word`.
        hyphen: bool,
    },
}

/// A token and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What the token is.
    pub kind: TokenKind,
    /// Its bytes in the rule, including quotes and hyphen.
    pub span: Span,
}

impl Token {
    /// The word's text when the token is a word.
    pub fn word(&self) -> Option<&str> {
        match &self.kind {
            TokenKind::Word { text, .. } => Some(text),
            _ => None,
        }
    }

    /// True when the token is the word `name` (case-insensitive, with or without hyphen).
    pub fn is_keyword(&self, name: &str) -> bool {
        self.word()
            .is_some_and(|text| text.eq_ignore_ascii_case(name))
    }

    fn is_punctuation(&self) -> bool {
        matches!(
            self.kind,
            TokenKind::LParen
                | TokenKind::RParen
                | TokenKind::LBracket
                | TokenKind::RBracket
                | TokenKind::Comma
        )
    }
}

fn is_dash_lookalike(character: char) -> bool {
    matches!(
        character,
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}'
    )
}

fn is_quote_lookalike(character: char) -> bool {
    matches!(
        character,
        '\u{2018}'
            ..='\u{201F}'
                | '\u{00AB}'
                | '\u{00BB}'
                | '\u{2032}'
                | '\u{2033}'
                | '\u{FF02}'
                | '\u{FF07}'
    )
}

fn word_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | '$')
}

fn literal_char(character: char) -> bool {
    character.is_ascii_alphanumeric() || matches!(character, '_' | '.' | ':' | '-' | '+')
}

/// Splits `text` into tokens, or returns the first lexical error.
pub fn tokenize(text: &str) -> Result<Vec<Token>, RuleError> {
    let mut tokens: Vec<Token> = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut after_whitespace = true;
    while let Some(&(start, character)) = chars.peek() {
        if character.is_whitespace() {
            chars.next();
            after_whitespace = true;
            continue;
        }
        let token = match character {
            '(' | ')' | '[' | ']' | ',' => {
                chars.next();
                let kind = match character {
                    '(' => TokenKind::LParen,
                    ')' => TokenKind::RParen,
                    '[' => TokenKind::LBracket,
                    ']' => TokenKind::RBracket,
                    _ => TokenKind::Comma,
                };
                Token {
                    kind,
                    span: Span::new(start, start + 1),
                }
            }
            '"' | '\'' => lex_string(text, start, character)?,
            '-' => {
                chars.next();
                let word_start = start + 1;
                let mut end = word_start;
                while let Some(&(index, next)) = chars.peek() {
                    if next.is_ascii_alphabetic() {
                        end = index + next.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                if end == word_start {
                    return Err(RuleError::new(
                        Code::RuleSyntax,
                        wording::BINARY_EXPRESSION,
                        Span::new(start, start + 1),
                        "a hyphen must start an operator such as `-eq` or `-and`",
                    ));
                }
                Token {
                    kind: TokenKind::Word {
                        text: text[word_start..end].to_string(),
                        hyphen: true,
                    },
                    span: Span::new(start, end),
                }
            }
            '`' => {
                return Err(RuleError::new(
                    Code::RuleSyntax,
                    wording::BINARY_EXPRESSION,
                    Span::new(start, start + 1),
                    "a backtick is only an escape inside a double-quoted string",
                )
                .with_help(
                    "write the value in double quotes, e.g. \"Sales\"; inside them `\" stands for a double quote",
                ))
            }
            c if is_dash_lookalike(c) => {
                return Err(RuleError::new(
                    Code::RuleTypographicCharacter,
                    wording::BINARY_EXPRESSION,
                    Span::new(start, start + c.len_utf8()),
                    format!("`{c}` (U+{:04X}) is not a hyphen", u32::from(c)),
                )
                .with_help("replace it with a plain hyphen `-` (documents and word processors turn hyphens into dashes)"))
            }
            c if is_quote_lookalike(c) => {
                return Err(RuleError::new(
                    Code::RuleTypographicCharacter,
                    wording::BINARY_EXPRESSION,
                    Span::new(start, start + c.len_utf8()),
                    format!("`{c}` (U+{:04X}) is a typographic quote", u32::from(c)),
                )
                .with_help("use straight double quotes `\"` around strings"))
            }
            c if c.is_ascii_digit() => {
                let end = take_while(&mut chars, literal_char, start);
                word(text, start, end)
            }
            c if word_char(c) => {
                let end = take_while(&mut chars, word_char, start);
                word(text, start, end)
            }
            c => {
                return Err(RuleError::new(
                    Code::RuleSyntax,
                    wording::BINARY_EXPRESSION,
                    Span::new(start, start + c.len_utf8()),
                    format!("unexpected character `{c}`"),
                )
                .with_help("string values go in double quotes; operators start with `-`"))
            }
        };
        if matches!(token.kind, TokenKind::Str(_)) {
            // `lex_string` read ahead on its own; skip the iterator past the string.
            while chars
                .peek()
                .is_some_and(|&(index, _)| index < token.span.end)
            {
                chars.next();
            }
        }
        if !after_whitespace && !token.is_punctuation() {
            if let Some(previous) = tokens.last() {
                if !previous.is_punctuation() {
                    let error = RuleError::new(
                        Code::RuleSyntax,
                        wording::BINARY_EXPRESSION,
                        token.span,
                        "whitespace is required before this",
                    );
                    let bare_value = matches!(previous.kind, TokenKind::Word { hyphen: false, .. })
                        && !previous.word().is_some_and(|word| word.contains('.'))
                        && matches!(token.kind, TokenKind::Word { hyphen: true, .. });
                    return Err(if bare_value {
                        let end = text[previous.span.start..]
                            .find(|c: char| {
                                c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ',')
                            })
                            .map_or(text.len(), |offset| previous.span.start + offset);
                        error.with_help(format!(
                            "string values must be in double quotes: \"{}\"",
                            &text[previous.span.start..end]
                        ))
                    } else {
                        error.with_help("separate properties, operators and values with spaces: `user.department -eq \"Sales\"`")
                    });
                }
            }
        }
        after_whitespace = false;
        tokens.push(token);
    }
    Ok(tokens)
}

fn take_while(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    accept: fn(char) -> bool,
    start: usize,
) -> usize {
    let mut end = start;
    while let Some(&(index, next)) = chars.peek() {
        if accept(next) {
            end = index + next.len_utf8();
            chars.next();
        } else {
            break;
        }
    }
    end
}

fn word(text: &str, start: usize, end: usize) -> Token {
    Token {
        kind: TokenKind::Word {
            text: text[start..end].to_string(),
            hyphen: false,
        },
        span: Span::new(start, end),
    }
}

/// Reads a string starting at the quote at `start`.
fn lex_string(text: &str, start: usize, quote: char) -> Result<Token, RuleError> {
    let mut value = String::new();
    let mut chars = text[start + 1..].char_indices().peekable();
    let offset = start + 1;
    while let Some((index, character)) = chars.next() {
        if character == quote {
            if quote == '\'' && chars.peek().is_some_and(|&(_, next)| next == '\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            return Ok(Token {
                kind: TokenKind::Str(value),
                span: Span::new(start, offset + index + 1),
            });
        }
        if quote == '"' && character == '`' && chars.peek().is_some_and(|&(_, next)| next == '"') {
            chars.next();
            value.push('"');
            continue;
        }
        value.push(character);
    }
    let mut error = RuleError::new(
        Code::RuleUnterminatedString,
        wording::BINARY_EXPRESSION,
        Span::new(start, start + 1),
        "this string has no closing quote",
    );
    let rest = &text[start + 1..];
    error = if let Some(curly) = rest.chars().find(|c| is_quote_lookalike(*c)) {
        error.with_help(format!(
            "the string ends with `{curly}`, a typographic quote; use a straight `{quote}`"
        ))
    } else if quote == '"' && rest.contains("`\"") {
        error.with_help(
            "`\" inside a double-quoted string is an escaped quote, not the end of the string",
        )
    } else {
        error.with_help(format!("add the closing `{quote}`"))
    };
    Err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .unwrap()
            .into_iter()
            .map(|token| token.kind)
            .collect()
    }

    fn word(text: &str, hyphen: bool) -> TokenKind {
        TokenKind::Word {
            text: text.into(),
            hyphen,
        }
    }

    #[test]
    fn simple_comparison() {
        assert_eq!(
            kinds(r#"(user.department -eq "Sales")"#),
            vec![
                TokenKind::LParen,
                word("user.department", false),
                word("eq", true),
                TokenKind::Str("Sales".into()),
                TokenKind::RParen
            ]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(
            kinds(r#""say `"hi`"""#),
            vec![TokenKind::Str("say \"hi\"".into())]
        );
        assert_eq!(kinds(r"'O''Brien'"), vec![TokenKind::Str("O'Brien".into())]);
        assert_eq!(kinds(r#""\d{5}$""#), vec![TokenKind::Str(r"\d{5}$".into())]);
        assert_eq!(kinds(r#""a`b""#), vec![TokenKind::Str("a`b".into())]);
    }

    #[test]
    fn literals_and_spans() {
        let tokens = tokenize("user.employeeHireDate -le 2020-06-10T18:13:20Z").unwrap();
        assert_eq!(tokens[2].kind, word("2020-06-10T18:13:20Z", false));
        assert_eq!(tokens[2].span, Span::new(26, 46));
        assert_eq!(tokens[1].span, Span::new(22, 25));
    }

    #[test]
    fn whitespace_is_required_between_words() {
        let error = tokenize(r#"(user.department-eq"Sales")"#).unwrap_err();
        assert_eq!(error.range, 16..19);
        assert_eq!(error.message, wording::BINARY_EXPRESSION);
    }

    #[test]
    fn typographic_characters() {
        let error = tokenize("user.mail –ne null").unwrap_err();
        assert_eq!(error.code, Code::RuleTypographicCharacter);
        assert_eq!(error.range, 10..13);
        let error = tokenize("user.mail -eq “x”").unwrap_err();
        assert_eq!(error.code, Code::RuleTypographicCharacter);
    }

    #[test]
    fn unterminated() {
        let error = tokenize(r#"user.mail -eq "abc"#).unwrap_err();
        assert_eq!(error.code, Code::RuleUnterminatedString);
        assert_eq!(error.range, 14..15);
        let error = tokenize("user.mail -eq \"abc”").unwrap_err();
        assert!(error.help.unwrap().contains("typographic"));
    }
}
