//! Recursive-descent parser from tokens to the [`Rule`] tree. Each comparison it reads goes
//! through the service's save-time checks in `save_checks`; the first problem is returned
//! as a [`RuleError`] pointing at its token.
//!
//! Precedence (grammar notes §4): comparisons, then `-not`, then `-and`, then `-or`; `-any`/`-all`
//! lowest, so an unparenthesised lambda body extends to the end of its group. Recursion depth is
//! bounded by [`RuleLimits::max_depth`]; `-and`/`-or` chains are loops, so a long flat rule never
//! deepens the stack.
//!
//! Decisions on points the documentation leaves open (each has a test below):
//! - Property names and keywords are case-insensitive; the hyphen of every operator is optional.
//! - A lambda body without parentheses (`-any _ -eq "x"`) is accepted only when the collection
//!   test is the whole rule or the whole parenthesised group (the service's own reports disagree).
//! - `-not` is a prefix operator only; `user.x -not -eq "y"` is rejected.
//! - Bare numbers and unquoted words as values are rejected: string values need quotes.
//! - `null` (and the historical `$null`) is allowed with `-eq`/`-ne` on every property, including
//!   booleans and collections (an empty collection is null).
//! - A quoted value on `employeeHireDate` must be a timestamp and means the same as the unquoted
//!   timestamp; timestamps need a time zone (`Z` or an offset).
//! - memberOf is a whole rule of the form `user.memberOf -any (group.objectId -in [...])` with at
//!   most 50 ids; `Direct Reports for "<guid>"` is a whole rule.
//! - A rule may not mix `user.` and `device.` properties.
//! - Arrays hold one or more quoted strings.
//! - Nesting is limited twice with the same bound: while parsing (parentheses, `-not`, lambdas),
//!   which keeps the stack small on hostile input, and on the canonical text the rule prints as,
//!   so that the canonical form of every accepted rule is accepted too.

use crate::diag::Code;
use crate::guid::is_guid;

use super::ast::*;
use super::error::{wording, RuleError};
use super::lexer::{tokenize, Token, TokenKind};
use super::printer::canonical_depth;
use super::property::PropertyType;
use super::save_checks::{
    check_comparison, check_member_of_body, check_whole_rule, literal, operator, subject,
};

/// The service's rule-length limit, in characters (Microsoft Learn: "can't exceed 3,072").
pub const MAX_RULE_CHARS: usize = 3072;

/// The most groups a memberOf rule may name (Microsoft Learn, memberOf preview limits).
pub const MAX_MEMBER_OF_GROUPS: usize = 50;

/// Size and depth limits of the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleLimits {
    /// Longest rule in characters; `None` accepts any length (the parser stays linear).
    pub max_chars: Option<usize>,
    /// Deepest nesting of parentheses, `-not` and lambdas.
    pub max_depth: usize,
}

impl Default for RuleLimits {
    fn default() -> Self {
        RuleLimits {
            max_chars: Some(MAX_RULE_CHARS),
            max_depth: 40,
        }
    }
}

/// Parses `text` with the default limits (the service's length limit).
pub fn parse(text: &str) -> Result<Rule, RuleError> {
    parse_with(text, RuleLimits::default())
}

/// Parses `text` with explicit limits.
pub fn parse_with(text: &str, limits: RuleLimits) -> Result<Rule, RuleError> {
    if let Some(max) = limits.max_chars {
        if let Some((offset, _)) = text.char_indices().nth(max) {
            let count = text.chars().count();
            return Err(RuleError::new(
                Code::RuleTooLong,
                format!("the rule is {count} characters long; the service accepts at most {max}"),
                Span::new(offset, text.len()),
                format!("character {} starts here", max + 1),
            )
            .with_help(
                "collapse `-or` chains into `-in [...]`, `-and`-ed `-ne` into `-notIn [...]`, and drop redundant conditions",
            ));
        }
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        text,
        tokens,
        position: 0,
        limits,
    };
    parser.rule()
}

/// What the left-hand side of a comparison may be at the current place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scope {
    /// Outside any lambda: `user.`/`device.` properties.
    Top,
    /// Inside `-any`/`-all` over a string collection: `_`.
    Elements,
    /// Inside `user.assignedPlans -any/-all`: `assignedPlan.<field>`.
    Plans,
    /// Inside `memberOf -any`: `group.objectId`.
    MemberOf,
}

impl Scope {
    pub(super) fn expected(self) -> &'static str {
        match self {
            Scope::Top => "a property such as `user.department`",
            Scope::Elements => "`_` (the element of the collection)",
            Scope::Plans => "`assignedPlan.servicePlanId`, `assignedPlan.service` or `assignedPlan.capabilityStatus`",
            Scope::MemberOf => "`group.objectId`",
        }
    }
}

/// An expression and whether it is a collection test whose body has no parentheses.
type Parsed = (Expr, bool);

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    position: usize,
    limits: RuleLimits,
}

pub(super) fn syntax(span: Span, label: impl Into<String>) -> RuleError {
    RuleError::new(Code::RuleSyntax, wording::BINARY_EXPRESSION, span, label)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += usize::from(token.is_some());
        token
    }

    fn end_span(&self) -> Span {
        let end = self.text.trim_end().len();
        Span::new(end, end)
    }

    fn peek_keyword(&self, name: &str) -> bool {
        self.peek().is_some_and(|token| token.is_keyword(name))
    }

    fn enter(&self, depth: usize, span: Span) -> Result<usize, RuleError> {
        if depth >= self.limits.max_depth {
            return Err(RuleError::new(
                Code::RuleTooDeep,
                format!(
                    "the rule nests parentheses, `-not` or lambdas more than {} levels deep",
                    self.limits.max_depth
                ),
                span,
                "too deep here",
            )
            .with_help("flatten the rule: remove redundant parentheses and double negations"));
        }
        Ok(depth + 1)
    }

    fn rule(&mut self) -> Result<Rule, RuleError> {
        let Some(first) = self.peek().cloned() else {
            return Err(RuleError::new(
                Code::RuleSyntax,
                "the rule is empty",
                Span::new(0, 0),
                "no condition",
            )
            .with_help("write a condition such as `user.department -eq \"Sales\"`"));
        };
        let trimmed_start = self.text.len() - self.text.trim_start().len();
        let span = Span::new(trimmed_start, self.end_span().end);
        if first.is_keyword("direct") && first.word().is_some_and(|_| !is_hyphenated(&first)) {
            let reports = self.direct_reports()?;
            return Ok(Rule {
                kind: RuleKind::DirectReports(reports),
                span,
            });
        }
        let (expr, _) = self.or(Scope::Top, 0)?;
        if let Some(token) = self.peek().cloned() {
            return Err(match token.kind {
                TokenKind::RParen => RuleError::new(
                    Code::RuleUnbalancedParens,
                    wording::QUERY_COMPILATION,
                    token.span,
                    "this `)` has no matching `(`",
                )
                .with_help("remove it or add the missing `(`"),
                _ => RuleError::new(
                    Code::RuleSyntax,
                    wording::QUERY_COMPILATION,
                    token.span,
                    "expected `-and` or `-or` before this",
                )
                .with_help("join conditions with `-and` or `-or`"),
            });
        }
        check_whole_rule(&expr)?;
        if canonical_depth(&expr, false) > self.limits.max_depth {
            return Err(RuleError::new(
                Code::RuleTooDeep,
                format!(
                    "the rule nests parentheses, `-not` or lambdas more than {} levels deep",
                    self.limits.max_depth
                ),
                expr.span,
                "too deep",
            )
            .with_help("flatten the rule: remove redundant parentheses and double negations"));
        }
        Ok(Rule {
            kind: RuleKind::Expr(expr),
            span,
        })
    }

    fn direct_reports(&mut self) -> Result<DirectReports, RuleError> {
        let start = self.peek().map_or(Span::default(), |token| token.span);
        for word in ["direct", "reports", "for"] {
            match self.next() {
                Some(token) if token.is_keyword(word) && !is_hyphenated(&token) => {}
                Some(token) => {
                    return Err(RuleError::new(
                        Code::RuleSyntax,
                        wording::BINARY_EXPRESSION,
                        token.span,
                        format!("expected `{word}`"),
                    )
                    .with_help("the form is `Direct Reports for \"<manager object id>\"`"))
                }
                None => {
                    return Err(RuleError::new(
                        Code::RuleSyntax,
                        wording::BINARY_EXPRESSION,
                        start.to(self.end_span()),
                        "incomplete",
                    )
                    .with_help("the form is `Direct Reports for \"<manager object id>\"`"))
                }
            }
        }
        let Some(token) = self.next() else {
            return Err(RuleError::new(
                Code::RuleSyntax,
                wording::BINARY_EXPRESSION,
                self.end_span(),
                "the manager's object id is missing",
            )
            .with_help("the form is `Direct Reports for \"<manager object id>\"`"));
        };
        let TokenKind::Str(id) = &token.kind else {
            return Err(RuleError::new(
                Code::RuleInvalidValue,
                wording::VALUE_NOT_APPLICABLE,
                token.span,
                "expected the manager's object id in double quotes",
            ));
        };
        if !is_guid(id) {
            return Err(RuleError::new(
                Code::RuleInvalidValue,
                wording::VALUE_NOT_APPLICABLE,
                token.span,
                "not an object id (a GUID)",
            )
            .with_help(
                "use the manager's object id, e.g. \"62e19b97-8b3d-4d4a-a106-4ce66896a863\"",
            ));
        }
        if let Some(extra) = self.peek() {
            return Err(RuleError::new(
                Code::RuleInvalidForm,
                "A Direct Reports rule can't be combined with other expressions.",
                extra.span,
                "nothing may follow the manager's id",
            )
            .with_help("make a separate group for the other conditions"));
        }
        Ok(DirectReports {
            manager_id: id.to_ascii_lowercase(),
            id_span: token.span,
        })
    }

    fn or(&mut self, scope: Scope, depth: usize) -> Result<Parsed, RuleError> {
        let (first, bare) = self.and(scope, depth)?;
        if !self.peek_keyword("or") {
            return Ok((first, bare));
        }
        let mut operands = vec![first];
        while self.peek_keyword("or") {
            self.next();
            let (operand, bare) = self.and(scope, depth)?;
            if bare {
                return Err(bare_lambda_error(&operand));
            }
            operands.push(operand);
        }
        Ok((combine(operands, ExprKind::Or), false))
    }

    fn and(&mut self, scope: Scope, depth: usize) -> Result<Parsed, RuleError> {
        let (first, bare) = self.not(scope, depth)?;
        if !self.peek_keyword("and") {
            return Ok((first, bare));
        }
        let mut operands = vec![first];
        while self.peek_keyword("and") {
            self.next();
            let (operand, bare) = self.not(scope, depth)?;
            if bare {
                return Err(bare_lambda_error(&operand));
            }
            operands.push(operand);
        }
        Ok((combine(operands, ExprKind::And), false))
    }

    fn not(&mut self, scope: Scope, depth: usize) -> Result<Parsed, RuleError> {
        if !self.peek_keyword("not") {
            return self.primary(scope, depth);
        }
        let Some(token) = self.next() else {
            return Err(syntax(self.end_span(), "a condition is missing"));
        };
        let depth = self.enter(depth, token.span)?;
        let (inner, bare) = self.not(scope, depth)?;
        if bare {
            return Err(bare_lambda_error(&inner));
        }
        let span = token.span.to(inner.span);
        Ok((
            Expr {
                kind: ExprKind::Not(Box::new(inner)),
                span,
            },
            false,
        ))
    }

    fn primary(&mut self, scope: Scope, depth: usize) -> Result<Parsed, RuleError> {
        let Some(token) = self.peek().cloned() else {
            return Err(RuleError::new(
                Code::RuleSyntax,
                wording::QUERY_COMPILATION,
                self.end_span(),
                "the rule ends where a condition should be",
            )
            .with_help("complete the condition or remove the dangling operator"));
        };
        match &token.kind {
            TokenKind::LParen => {
                self.next();
                let depth = self.enter(depth, token.span)?;
                let (inner, _) = self.or(scope, depth)?;
                match self.next() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        span,
                    }) => Ok((
                        Expr {
                            kind: inner.kind,
                            span: token.span.to(span),
                        },
                        false,
                    )),
                    Some(other) => Err(RuleError::new(
                        Code::RuleSyntax,
                        wording::QUERY_COMPILATION,
                        other.span,
                        "expected `-and`, `-or` or `)` before this",
                    )
                    .with_help("join conditions with `-and` or `-or`")),
                    None => Err(RuleError::new(
                        Code::RuleUnbalancedParens,
                        wording::QUERY_COMPILATION,
                        token.span,
                        "this `(` is never closed",
                    )
                    .with_help("add the missing `)`")),
                }
            }
            TokenKind::RParen => Err(RuleError::new(
                Code::RuleSyntax,
                wording::QUERY_COMPILATION,
                token.span,
                "expected a condition before this `)`",
            )),
            TokenKind::Word { text, .. } => {
                if ["and", "or", "any", "all"]
                    .iter()
                    .any(|keyword| text.eq_ignore_ascii_case(keyword))
                    || Operator::from_name(text).is_some() && is_hyphenated(&token)
                {
                    return Err(RuleError::new(
                        Code::RuleSyntax,
                        wording::QUERY_COMPILATION,
                        token.span,
                        format!("expected {} before this operator", scope.expected()),
                    ));
                }
                if text.eq_ignore_ascii_case("direct") {
                    return Err(RuleError::new(
                        Code::RuleInvalidForm,
                        "A Direct Reports rule can't be combined with other expressions.",
                        token.span,
                        "`Direct Reports for` must be the whole rule",
                    ));
                }
                self.next();
                self.condition(token, scope, depth)
            }
            _ => Err(RuleError::new(
                Code::RuleSyntax,
                wording::BINARY_EXPRESSION,
                token.span,
                format!("expected {} here", scope.expected()),
            )),
        }
    }

    /// Parses `subject -op value` or `property -any/-all body` after the subject word.
    fn condition(&mut self, word: Token, scope: Scope, depth: usize) -> Result<Parsed, RuleError> {
        let subject = subject(&word, scope)?;
        let Some(op_token) = self.next() else {
            return Err(
                syntax(self.end_span(), "an operator and a value are missing")
                    .with_help("complete the comparison, e.g. `user.department -eq \"Sales\"`"),
            );
        };
        let Some(op_name) = op_token.word().map(str::to_string) else {
            return Err(syntax(
                op_token.span,
                "expected an operator such as `-eq` here",
            ));
        };
        if op_name.eq_ignore_ascii_case("any") || op_name.eq_ignore_ascii_case("all") {
            let Subject::Property(property) = subject else {
                return Err(RuleError::new(
                    Code::RuleInvalidForm,
                    wording::INVALID_OPERANDS,
                    op_token.span,
                    "lambdas can't be nested",
                ));
            };
            let quantifier = if op_name.eq_ignore_ascii_case("any") {
                Quantifier::Any
            } else {
                Quantifier::All
            };
            return self.collection(property, word.span, quantifier, op_token.span, depth);
        }
        let op = operator(&op_token, &op_name)?;
        let (value, value_span) = self.value(&subject, op, op_token.span)?;
        let value = check_comparison(&subject, op, op_token.span, value, value_span)?;
        Ok((
            Expr {
                kind: ExprKind::Compare(Comparison {
                    subject,
                    subject_span: word.span,
                    op,
                    op_span: op_token.span,
                    value,
                    value_span,
                }),
                span: word.span.to(value_span),
            },
            false,
        ))
    }

    fn collection(
        &mut self,
        property: Property,
        property_span: Span,
        quantifier: Quantifier,
        quantifier_span: Span,
        depth: usize,
    ) -> Result<Parsed, RuleError> {
        let scope = match property.ty() {
            PropertyType::StringCollection => Scope::Elements,
            PropertyType::AssignedPlans => Scope::Plans,
            PropertyType::MemberOf => Scope::MemberOf,
            other => {
                return Err(RuleError::new(
                    Code::RuleUnsupportedOperator,
                    wording::OPERATOR_NOT_SUPPORTED,
                    quantifier_span,
                    format!(
                        "`{}` needs a multi-valued property; `{property}` is a {}",
                        quantifier.as_str(),
                        other.describe()
                    ),
                )
                .with_help("compare the property directly, e.g. `-eq` or `-startsWith`"))
            }
        };
        if scope == Scope::MemberOf && quantifier == Quantifier::All {
            return Err(RuleError::new(
                Code::RuleInvalidForm,
                wording::INVALID_OPERANDS,
                quantifier_span,
                "memberOf supports only `-any`",
            )
            .with_help("write `user.memberOf -any (group.objectId -in ['<group id>'])`"));
        }
        let depth = self.enter(depth, quantifier_span)?;
        let bare = !matches!(
            self.peek().map(|token| &token.kind),
            Some(TokenKind::LParen)
        );
        let (body, _) = if bare {
            self.or(scope, depth)?
        } else {
            self.primary(scope, depth)?
        };
        if scope == Scope::MemberOf {
            check_member_of_body(&body)?;
        }
        let span = property_span.to(body.span);
        Ok((
            Expr {
                kind: ExprKind::Collection(CollectionTest {
                    property,
                    property_span,
                    quantifier,
                    quantifier_span,
                    body: Box::new(body),
                }),
                span,
            },
            bare,
        ))
    }

    fn value(
        &mut self,
        subject: &Subject,
        op: Operator,
        op_span: Span,
    ) -> Result<(Value, Span), RuleError> {
        let Some(token) = self.next() else {
            return Err(syntax(op_span, "a value must follow this operator")
                .with_help("add a value, e.g. `-eq \"Sales\"`"));
        };
        match &token.kind {
            TokenKind::Str(text) => Ok((Value::String(text.clone()), token.span)),
            TokenKind::LBracket => self.array(token.span),
            TokenKind::LParen
                if self
                    .peek()
                    .is_some_and(|next| next.is_keyword("system.now")) =>
            {
                let now_token = self.next().unwrap_or_else(|| token.clone());
                let (value, span) = self.now(now_token.span)?;
                match self.next() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        span: close,
                    }) => Ok((value, token.span.to(close))),
                    Some(other) => {
                        Err(syntax(other.span, "expected `)` after the date expression"))
                    }
                    None => Err(RuleError::new(
                        Code::RuleUnbalancedParens,
                        wording::QUERY_COMPILATION,
                        token.span,
                        "this `(` is never closed",
                    )
                    .with_help(format!("add `)` after `{}`", &self.text[span.range()]))),
                }
            }
            TokenKind::Word { text, hyphen } if !hyphen => {
                let lower = text.to_ascii_lowercase();
                match lower.as_str() {
                    "true" => Ok((Value::Bool(true), token.span)),
                    "false" => Ok((Value::Bool(false), token.span)),
                    "null" | "$null" => Ok((Value::Null, token.span)),
                    "system.now" => self.now(token.span),
                    "and" | "or" | "not" => {
                        Err(syntax(token.span, "a value is missing before this"))
                    }
                    _ if lower.starts_with(|c: char| c.is_ascii_digit()) => {
                        literal(text, token.span, subject)
                    }
                    _ => Err(RuleError::new(
                        Code::RuleSyntax,
                        wording::BINARY_EXPRESSION,
                        token.span,
                        "string values must be in double quotes",
                    )
                    .with_help(format!("write \"{text}\""))),
                }
            }
            _ => Err(syntax(token.span, format!("expected a value after `{op}`"))),
        }
    }

    fn now(&mut self, now_span: Span) -> Result<(Value, Span), RuleError> {
        let sign = match self.peek() {
            Some(token) if token.is_keyword("plus") => OffsetSign::Plus,
            Some(token) if token.is_keyword("minus") => OffsetSign::Minus,
            _ => return Ok((Value::Now(None), now_span)),
        };
        let sign_span = self.next().map_or(now_span, |token| token.span);
        let duration_token = self.next();
        let parsed = duration_token.as_ref().and_then(|token| match &token.kind {
            TokenKind::Word {
                text,
                hyphen: false,
            } => IsoDuration::parse(text),
            _ => None,
        });
        match (parsed, duration_token) {
            (Some(duration), Some(token)) => Ok((
                Value::Now(Some(NowOffset { sign, duration })),
                now_span.to(token.span),
            )),
            (_, token) => Err(RuleError::new(
                Code::RuleInvalidValue,
                wording::VALUE_NOT_APPLICABLE,
                token.map_or(sign_span, |token| token.span),
                "expected an ISO 8601 duration",
            )
            .with_help("write a duration such as P30D (30 days), P1Y or PT12H")),
        }
    }

    fn array(&mut self, open: Span) -> Result<(Value, Span), RuleError> {
        let mut items = Vec::new();
        loop {
            let Some(token) = self.next() else {
                return Err(RuleError::new(
                    Code::RuleUnbalancedParens,
                    wording::QUERY_COMPILATION,
                    open,
                    "this `[` is never closed",
                )
                .with_help("add the missing `]`"));
            };
            match token.kind {
                TokenKind::Str(value) => items.push(ArrayItem {
                    value,
                    span: token.span,
                }),
                TokenKind::RBracket if items.is_empty() => {
                    return Err(RuleError::new(
                        Code::RuleInvalidValue,
                        wording::VALUE_NOT_APPLICABLE,
                        open.to(token.span),
                        "the array is empty",
                    )
                    .with_help("list at least one quoted value"))
                }
                _ => {
                    return Err(RuleError::new(
                        Code::RuleInvalidValue,
                        wording::VALUE_NOT_APPLICABLE,
                        token.span,
                        "array items must be quoted strings",
                    ))
                }
            }
            match self.next() {
                Some(Token {
                    kind: TokenKind::Comma,
                    ..
                }) => {}
                Some(Token {
                    kind: TokenKind::RBracket,
                    span,
                }) => return Ok((Value::Array(items), open.to(span))),
                Some(token) => return Err(syntax(token.span, "expected `,` or `]` here")),
                None => {
                    return Err(RuleError::new(
                        Code::RuleUnbalancedParens,
                        wording::QUERY_COMPILATION,
                        open,
                        "this `[` is never closed",
                    )
                    .with_help("add the missing `]`"))
                }
            }
        }
    }
}

fn is_hyphenated(token: &Token) -> bool {
    matches!(token.kind, TokenKind::Word { hyphen: true, .. })
}

fn combine(operands: Vec<Expr>, make: fn(Vec<Expr>) -> ExprKind) -> Expr {
    let span = operands
        .iter()
        .map(|operand| operand.span)
        .reduce(Span::to)
        .unwrap_or_default();
    Expr {
        kind: make(operands),
        span,
    }
}

fn bare_lambda_error(operand: &Expr) -> RuleError {
    let span = match &operand.kind {
        ExprKind::Collection(test) => test.quantifier_span,
        _ => operand.span,
    };
    RuleError::new(
        Code::RuleInvalidForm,
        wording::INVALID_OPERANDS,
        span,
        "this lambda's body has no parentheses",
    )
    .with_help("put the body in parentheses: `-any (_ -startsWith \"x\")`; without them it extends to the end of the rule")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> RuleError {
        match parse(text) {
            Ok(rule) => panic!("{text:?} parsed as {rule:?}"),
            Err(error) => error,
        }
    }

    fn bad_token(text: &str) -> (&str, Code) {
        let error = error(text);
        (&text[error.range.clone()], error.code)
    }

    #[test]
    fn keywords_properties_and_hyphens_ignore_case() {
        let canonical = parse(r#"(user.department -eq "Sales") -and (user.city -ne null)"#)
            .unwrap()
            .strip_spans();
        for variant in [
            r#"(USER.DEPARTMENT -EQ "Sales") -AND (User.City -Ne NULL)"#,
            r#"(user.department eq "Sales") and (user.city ne $null)"#,
            "(user.department -eq 'Sales')\n  -and\t(user.city -ne null)",
        ] {
            assert_eq!(
                parse(variant).unwrap().strip_spans(),
                canonical,
                "{variant}"
            );
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let rule =
            parse(r#"user.city -eq "a" -and user.city -eq "b" -or user.city -eq "c""#).unwrap();
        let RuleKind::Expr(expr) = rule.kind else {
            panic!("expression expected")
        };
        let ExprKind::Or(operands) = expr.kind else {
            panic!("-or at the top expected")
        };
        assert!(matches!(operands[0].kind, ExprKind::And(_)));
    }

    #[test]
    fn bare_lambda_body_only_as_a_whole_group() {
        assert!(parse(r#"device.devicePhysicalIds -any _ -startsWith "[ZTDId]""#).is_ok());
        assert!(parse(r#"(device.devicePhysicalIds -any _ -eq "[OrderID]:1")"#).is_ok());
        assert_eq!(
            bad_token(
                r#"(device.accountEnabled -eq true) -and device.devicePhysicalIds -any _ -eq "x""#
            ),
            ("-any", Code::RuleInvalidForm)
        );
        assert_eq!(
            bad_token(r#"device.devicePhysicalIds -any _ -eq "x" -and device.isRooted -eq true"#),
            ("device.isRooted", Code::RuleInvalidForm)
        );
    }

    #[test]
    fn not_is_a_prefix_operator_only() {
        assert!(parse(r#"-not (user.city -eq "x")"#).is_ok());
        assert!(parse(r#"not user.city -eq "x""#).is_ok());
        assert_eq!(
            bad_token(r#"user.city -not -eq "x""#),
            ("-not", Code::RuleSyntax)
        );
        assert!(error(r#"user.city -not -eq "x""#)
            .help
            .unwrap()
            .contains("-not (user.x"));
    }

    #[test]
    fn values_need_quotes() {
        assert_eq!(
            bad_token("user.department -eq Sales"),
            ("Sales", Code::RuleSyntax)
        );
        assert_eq!(
            bad_token("user.employeeId -eq 5"),
            ("5", Code::RuleInvalidValue)
        );
        assert_eq!(
            bad_token("device.extensionAttribute15 -eq HighRisk-W11-23H2"),
            ("-W", Code::RuleSyntax)
        );
        assert!(error("device.extensionAttribute15 -eq HighRisk-W11-23H2")
            .help
            .unwrap()
            .contains("\"HighRisk-W11-23H2\""));
    }

    #[test]
    fn null_on_every_property_type() {
        for text in [
            "user.accountEnabled -eq null",
            "user.otherMails -ne null",
            "user.employeeHireDate -eq null",
            "user.department -eq $null",
        ] {
            assert!(parse(text).is_ok(), "{text}");
        }
        assert_eq!(
            bad_token("user.department -startsWith null"),
            ("null", Code::RuleInvalidValue)
        );
    }

    #[test]
    fn quoted_timestamps_on_dates_mean_the_timestamp() {
        let quoted = parse(r#"user.employeeHireDate -le "2020-06-10T18:13:20Z""#).unwrap();
        let bare = parse("user.employeeHireDate -le 2020-06-10T18:13:20Z").unwrap();
        assert_eq!(quoted.strip_spans(), bare.strip_spans());
        assert_eq!(
            bad_token("user.employeeHireDate -le 2020-06-10"),
            ("2020-06-10", Code::RuleInvalidValue)
        );
        assert_eq!(
            bad_token(r#"user.employeeHireDate -eq "value""#),
            ("\"value\"", Code::RuleInvalidValue)
        );
        assert_eq!(
            bad_token("user.employeeHireDate -ge system.now -plus 30"),
            ("30", Code::RuleInvalidValue)
        );
        assert_eq!(
            bad_token("user.department -le system.now"),
            ("-le", Code::RuleUnsupportedOperator)
        );
        assert!(parse("user.employeeHireDate -ge (system.now -minus P30D)").is_ok());
    }

    #[test]
    fn operator_and_value_types() {
        let cases = [
            (
                "user.accountEnabled -contains true",
                "-contains",
                Code::RuleUnsupportedOperator,
            ),
            (
                r#"user.accountEnabled -eq "True""#,
                "\"True\"",
                Code::RuleInvalidValue,
            ),
            (
                r#"user.department -eq ["a","b"]"#,
                r#"["a","b"]"#,
                Code::RuleInvalidValue,
            ),
            (r#"user.upn -eq "a""#, "user.upn", Code::RuleUnknownProperty),
            (
                r#"user.userPrincipalName -match [".*@a.com"]"#,
                r#"[".*@a.com"]"#,
                Code::RuleInvalidValue,
            ),
            (
                r#"user.department -in "Sales""#,
                "\"Sales\"",
                Code::RuleInvalidValue,
            ),
            ("user.department -in []", "[]", Code::RuleInvalidValue),
            (
                r#"user.department -in ["a", 1]"#,
                "1",
                Code::RuleInvalidValue,
            ),
            (r#"user.department -lt "a""#, "-lt", Code::RuleSyntax),
            (
                r#"user.assignedPlans -eq "x""#,
                "-eq",
                Code::RuleUnsupportedOperator,
            ),
            (
                r#"user.department -any (_ -eq "x")"#,
                "-any",
                Code::RuleUnsupportedOperator,
            ),
            (
                r#"user.otherMails -any (user.city -eq "x")"#,
                "user.city",
                Code::RuleInvalidForm,
            ),
            (
                r#"user.assignedPlans -any (_ -eq "x")"#,
                "_",
                Code::RuleInvalidForm,
            ),
            (
                r#"user.assignedPlans -any (assignedPlan.sku -eq "x")"#,
                "assignedPlan.sku",
                Code::RuleUnknownProperty,
            ),
            (r#"_ -eq "x""#, "_", Code::RuleInvalidForm),
            (
                r#"user.mail -match "^(?!admin)""#,
                r#""^(?!admin)""#,
                Code::RuleUnsupportedRegex,
            ),
            (
                r#"user.mail -match "(unclosed""#,
                r#""(unclosed""#,
                Code::RuleInvalidRegex,
            ),
        ];
        for (text, token, code) in cases {
            assert_eq!(bad_token(text), (token, code), "{text}");
        }
    }

    #[test]
    fn whole_rule_forms() {
        assert!(parse(r#"Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863""#).is_ok());
        assert_eq!(
            bad_token(
                r#"Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863" -and user.city -eq "x""#
            ),
            ("-and", Code::RuleInvalidForm)
        );
        assert_eq!(
            bad_token(r#"Direct Reports for "{objectID_of_manager}""#),
            (r#""{objectID_of_manager}""#, Code::RuleInvalidValue)
        );
        assert_eq!(
            bad_token(
                r#"user.city -eq "x" -and Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863""#
            ),
            ("Direct", Code::RuleInvalidForm)
        );
        assert_eq!(
            bad_token(
                r#"(user.memberOf -any (group.objectId -in ['a'])) -and (user.city -eq "x")"#
            ),
            ("user.memberOf", Code::RuleInvalidForm)
        );
        assert_eq!(
            bad_token(r#"user.memberOf -any (group.objectId -eq 'a')"#),
            ("-eq", Code::RuleInvalidForm)
        );
        let many: Vec<String> = (0..51).map(|index| format!("'{index}'")).collect();
        let text = format!(
            "user.memberOf -any (group.objectId -in [{}])",
            many.join(",")
        );
        assert_eq!(error(&text).code, Code::RuleInvalidForm);
        assert_eq!(
            bad_token(r#"(user.city -eq "x") -and (device.deviceModel -eq "y")"#),
            ("device.deviceModel", Code::RuleInvalidForm)
        );
    }

    #[test]
    fn structural_errors_point_at_the_right_token() {
        let cases = [
            ("", "", Code::RuleSyntax),
            ("   ", "", Code::RuleSyntax),
            (r#"(user.city -eq "x""#, "(", Code::RuleUnbalancedParens),
            (r#"user.city -eq "x")"#, ")", Code::RuleUnbalancedParens),
            (r#"user.city -in ["x""#, "[", Code::RuleUnbalancedParens),
            (r#"user.city -eq "x"#, "\"", Code::RuleUnterminatedString),
            ("user.city -eq", "-eq", Code::RuleSyntax),
            ("user.city", "", Code::RuleSyntax),
            (r#"user.city -eq "x" -and"#, "", Code::RuleSyntax),
            (r#"-and user.city -eq "x""#, "-and", Code::RuleSyntax),
            (r#"() -or user.city -eq "x""#, ")", Code::RuleSyntax),
            (
                r#"user.city -eq "x" user.city -eq "y""#,
                "user.city",
                Code::RuleSyntax,
            ),
            ("user.city -eq `\"x`\"", "`", Code::RuleSyntax),
            (
                "user.city -eq \"x\" \u{2013}and user.city -eq \"y\"",
                "\u{2013}",
                Code::RuleTypographicCharacter,
            ),
            ("user.city # \"x\"", "#", Code::RuleSyntax),
        ];
        for (text, token, code) in cases {
            assert_eq!(bad_token(text), (token, code), "{text:?}");
        }
    }

    #[test]
    fn length_limit_counts_characters() {
        let at_limit = format!("user.city -eq \"{}\"", "é".repeat(MAX_RULE_CHARS - 16));
        assert_eq!(at_limit.chars().count(), MAX_RULE_CHARS);
        assert!(parse(&at_limit).is_ok());
        let over = format!("user.city -eq \"{}\"", "é".repeat(MAX_RULE_CHARS - 15));
        let error = error(&over);
        assert_eq!(error.code, Code::RuleTooLong);
        assert!(
            error.message.contains("3073 characters"),
            "{}",
            error.message
        );
    }

    #[test]
    fn canonical_form_of_a_rule_near_the_depth_limit_is_accepted() {
        for depth in 30..45 {
            let text = format!("{}user.city -eq \"x\"", "-not ".repeat(depth));
            let Ok(rule) = parse(&text) else {
                assert!(depth >= 39, "rejected at depth {depth}");
                continue;
            };
            let canonical = crate::rules::print(&rule);
            assert_eq!(
                parse(&canonical).map(|rule| rule.strip_spans()),
                Ok(rule.strip_spans())
            );
            let text = format!(
                "{}user.city -eq \"x\"{}",
                "(".repeat(depth),
                ")".repeat(depth)
            );
            if let Ok(rule) = parse(&text) {
                let canonical = crate::rules::print(&rule);
                assert_eq!(canonical, "user.city -eq \"x\"");
            }
        }
    }

    #[test]
    fn huge_inputs_give_errors_not_stack_overflows() {
        let unlimited = RuleLimits {
            max_chars: None,
            ..RuleLimits::default()
        };
        let parens = "(".repeat(100_000);
        assert_eq!(
            parse(&parens).map_err(|error| error.code),
            Err(Code::RuleTooLong)
        );
        let error = parse_with(&parens, unlimited).unwrap_err();
        assert_eq!(error.code, Code::RuleTooDeep);
        assert_eq!(error.range, 40..41);

        let nots = "-not ".repeat(100_000);
        assert_eq!(
            parse_with(&nots, unlimited).unwrap_err().code,
            Code::RuleTooDeep
        );

        let brackets = format!("user.city -in {}", "[".repeat(100_000));
        assert_eq!(
            parse_with(&brackets, unlimited).unwrap_err().code,
            Code::RuleInvalidValue
        );

        let megabyte = r#"(user.city -eq "Lagos") -or "#.repeat(40_000);
        assert!(megabyte.len() > 1_000_000);
        assert_eq!(parse(&megabyte).unwrap_err().code, Code::RuleTooLong);
        assert_eq!(
            parse_with(&megabyte, unlimited).unwrap_err().code,
            Code::RuleSyntax
        );
        let flat = format!("{megabyte}(user.city -eq \"Abuja\")");
        let rule = parse_with(&flat, unlimited).unwrap();
        let RuleKind::Expr(Expr {
            kind: ExprKind::Or(operands),
            ..
        }) = &rule.kind
        else {
            panic!("a flat -or expected");
        };
        assert_eq!(operands.len(), 40_001);
    }
}
