//! Recursive-descent parser from tokens to the [`Rule`] tree, with the type checks the service
//! makes when a rule is saved (property exists, operator fits the type, value fits the operator,
//! regex compiles). The first problem is returned as a [`RuleError`] pointing at its token.
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

use super::ast::*;
use super::error::{wording, RuleError};
use super::lexer::{tokenize, Token, TokenKind};
use super::printer::canonical_depth;
use super::property::{self, ExtensionProblem, ObjectKind, PropertyName, PropertyType};
use super::regex_support::{self, RegexProblem};

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
enum Scope {
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
    fn expected(self) -> &'static str {
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

fn syntax(span: Span, label: impl Into<String>) -> RuleError {
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

/// Checks `8-4-4-4-12` hexadecimal GUID syntax.
pub(crate) fn is_guid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, length)| {
            group.len() == length && group.bytes().all(|byte| byte.is_ascii_hexdigit())
        })
}

fn subject(word: &Token, scope: Scope) -> Result<Subject, RuleError> {
    let text = word.word().unwrap_or_default();
    let (prefix, rest) = text.split_once('.').unwrap_or((text, ""));
    let prefix_lower = prefix.to_ascii_lowercase();
    let subject = match prefix_lower.as_str() {
        "user" | "device" => {
            let object = if prefix_lower == "user" {
                ObjectKind::User
            } else {
                ObjectKind::Device
            };
            Subject::Property(property_named(object, rest, word.span)?)
        }
        "_" if rest.is_empty() => Subject::Element,
        "assignedplan" => {
            let field = PlanField::ALL
                .into_iter()
                .find(|field| field.name().eq_ignore_ascii_case(rest))
                .ok_or_else(|| {
                    RuleError::new(
                        Code::RuleUnknownProperty,
                        wording::ATTRIBUTE_NOT_SUPPORTED,
                        word.span,
                        format!("`{rest}` is not a field of assignedPlan"),
                    )
                    .with_help(
                        "assigned plans have `servicePlanId`, `service` and `capabilityStatus`",
                    )
                })?;
            Subject::PlanField(field)
        }
        "group" if rest.eq_ignore_ascii_case("objectid") => Subject::GroupObjectId,
        "system" if rest.eq_ignore_ascii_case("now") => return Err(syntax(
            word.span,
            "`system.now` can only be a value",
        )
        .with_help(
            "compare a date property with it: `user.employeeHireDate -ge system.now -minus P30D`",
        )),
        _ => {
            return Err(RuleError::new(
                Code::RuleUnknownProperty,
                wording::ATTRIBUTE_NOT_SUPPORTED,
                word.span,
                format!("expected {} here", scope.expected()),
            )
            .with_help("properties start with `user.` or `device.`"))
        }
    };
    let allowed = matches!(
        (scope, &subject),
        (Scope::Top, Subject::Property(_))
            | (Scope::Elements, Subject::Element)
            | (Scope::Plans, Subject::PlanField(_))
            | (Scope::MemberOf, Subject::GroupObjectId)
    );
    if !allowed {
        let help = match subject {
            Subject::Property(_) => "inside `-any`/`-all`, conditions test the element; close the lambda's parentheses before other conditions",
            Subject::Element => "`_` stands for the element inside `-any (…)`/`-all (…)` over `otherMails`, `proxyAddresses` or `devicePhysicalIds`",
            Subject::PlanField(_) => "`assignedPlan.<field>` can only be used inside `user.assignedPlans -any (…)` or `-all (…)`",
            Subject::GroupObjectId => "`group.objectId` can only be used inside `user.memberOf -any (…)`",
        };
        return Err(RuleError::new(
            Code::RuleInvalidForm,
            wording::INVALID_OPERANDS,
            word.span,
            format!("expected {} here", scope.expected()),
        )
        .with_help(help));
    }
    Ok(subject)
}

fn property_named(object: ObjectKind, name: &str, span: Span) -> Result<Property, RuleError> {
    if let Some(id) = property::lookup(object, name) {
        return Ok(Property {
            object,
            name: PropertyName::Known(id),
        });
    }
    let unknown = |help: Option<String>| {
        let error = RuleError::new(
            Code::RuleUnknownProperty,
            wording::ATTRIBUTE_NOT_SUPPORTED,
            span,
            format!(
                "`{name}` is not a {} property rules can use",
                object.prefix()
            ),
        );
        match help {
            Some(help) => error.with_help(help),
            None => error.with_help(format!(
                "see the {} properties in Microsoft Learn's \"Dynamic membership rules for groups\"",
                object.prefix()
            )),
        }
    };
    if object == ObjectKind::User {
        match property::parse_extension(name) {
            Ok(Some(name)) => {
                return Ok(Property { object, name });
            }
            Ok(None) => {}
            Err(ExtensionProblem::BadAppId) => {
                return Err(unknown(Some(
                    "extension properties are `extension_<application id without hyphens>_<name>`".into(),
                )))
            }
            Err(ExtensionProblem::BadName) => {
                return Err(unknown(Some(
                    "the attribute name after `extension_<application id>_` is letters, digits and `_`, starting with a letter or digit".into(),
                )))
            }
        }
    }
    Err(unknown(property::suggest(object, name)))
}

fn operator(token: &Token, name: &str) -> Result<Operator, RuleError> {
    if let Some(op) = Operator::from_name(name) {
        return Ok(op);
    }
    let lower = name.to_ascii_lowercase();
    let help = match lower.as_str() {
        "not" => "`-not` negates a whole condition: write `-not (user.x -eq \"y\")`, or use `-ne`",
        "lt" | "gt" => "only `-le` and `-ge` exist, and only for `employeeHireDate`",
        "like" | "notlike" => "use `-startsWith`, `-endsWith`, `-contains` or `-match`",
        "and" | "or" => "a comparison operator and value are missing before this",
        _ => "operators are -eq -ne -startsWith -notStartsWith -endsWith -notEndsWith -contains -notContains -match -notMatch -in -notIn -le -ge -any -all",
    };
    Err(RuleError::new(
        Code::RuleSyntax,
        wording::BINARY_EXPRESSION,
        token.span,
        format!("`{name}` is not a comparison operator"),
    )
    .with_help(help))
}

/// An unquoted literal that starts with a digit: a timestamp on a date property, an error
/// otherwise.
fn literal(text: &str, span: Span, subject: &Subject) -> Result<(Value, Span), RuleError> {
    let is_date =
        matches!(subject, Subject::Property(property) if property.ty() == PropertyType::DateTime);
    if is_date {
        return timestamp(text, span).map(|value| (value, span));
    }
    Err(RuleError::new(
        Code::RuleInvalidValue,
        wording::VALUE_NOT_APPLICABLE,
        span,
        "unquoted values are only allowed for dates",
    )
    .with_help(format!("write \"{text}\"")))
}

fn timestamp(text: &str, span: Span) -> Result<Value, RuleError> {
    text.parse::<jiff::Timestamp>()
        .map(Value::DateTime)
        .map_err(|_| {
            RuleError::new(
                Code::RuleInvalidValue,
                wording::VALUE_NOT_APPLICABLE,
                span,
                "not an ISO 8601 timestamp with a time zone",
            )
            .with_help("write e.g. 2020-06-10T18:13:20Z, or use system.now")
        })
}

/// Checks that the operator and value fit the subject's type; returns the value, normalised (a
/// quoted timestamp on a date property becomes a timestamp).
fn check_comparison(
    subject: &Subject,
    op: Operator,
    op_span: Span,
    value: Value,
    value_span: Span,
) -> Result<Value, RuleError> {
    let (ty, name) = match subject {
        Subject::Property(property) => (property.ty(), property.to_string()),
        Subject::Element => (PropertyType::String, "_".to_string()),
        Subject::PlanField(field) => (
            PropertyType::String,
            format!("assignedPlan.{}", field.name()),
        ),
        Subject::GroupObjectId => {
            return match (&value, op) {
                (Value::Array(items), Operator::In) if items.len() <= MAX_MEMBER_OF_GROUPS => {
                    Ok(value)
                }
                (Value::Array(items), Operator::In) => Err(RuleError::new(
                    Code::RuleInvalidForm,
                    format!("A memberOf rule can name at most {MAX_MEMBER_OF_GROUPS} groups."),
                    value_span,
                    format!("{} groups", items.len()),
                )
                .with_help("split the rule over several groups")),
                _ => Err(RuleError::new(
                    Code::RuleInvalidForm,
                    wording::INVALID_OPERANDS,
                    op_span,
                    "memberOf supports only `group.objectId -in [...]`",
                )
                .with_help("write `user.memberOf -any (group.objectId -in ['<group id>'])`")),
            };
        }
    };
    let unsupported = |help: &str| {
        RuleError::new(
            Code::RuleUnsupportedOperator,
            wording::OPERATOR_NOT_SUPPORTED,
            op_span,
            format!(
                "`{op}` can't be used on {} property `{name}`",
                ty.describe()
            ),
        )
        .with_help(help.to_string())
    };
    let not_applicable = |label: String, help: &str| {
        RuleError::new(
            Code::RuleInvalidValue,
            wording::VALUE_NOT_APPLICABLE,
            value_span,
            label,
        )
        .with_help(help.to_string())
    };
    match ty {
        PropertyType::AssignedPlans => {
            return Err(unsupported(
                "test plans with `user.assignedPlans -any (assignedPlan.servicePlanId -eq \"<id>\" -and assignedPlan.capabilityStatus -eq \"Enabled\")`",
            ))
        }
        PropertyType::MemberOf => {
            return Err(unsupported(
                "write `user.memberOf -any (group.objectId -in ['<group id>'])`",
            ))
        }
        PropertyType::Bool => {
            if !matches!(op, Operator::Eq | Operator::Ne) {
                return Err(unsupported("booleans take `-eq` or `-ne` with `true` or `false`"));
            }
            return match value {
                Value::Bool(_) | Value::Null => Ok(value),
                Value::String(text)
                    if text.eq_ignore_ascii_case("true") || text.eq_ignore_ascii_case("false") =>
                {
                    Err(not_applicable(
                        "a quoted boolean is a string".into(),
                        &format!("write {} without quotes", text.to_ascii_lowercase()),
                    ))
                }
                _ => Err(not_applicable(
                    format!("`{name}` is true or false"),
                    "compare with `true` or `false`",
                )),
            };
        }
        PropertyType::DateTime => {
            if !matches!(op, Operator::Eq | Operator::Ne | Operator::Le | Operator::Ge) {
                return Err(unsupported("dates take `-eq`, `-ne`, `-le` or `-ge`"));
            }
            return match value {
                Value::DateTime(_) | Value::Now(_) => Ok(value),
                Value::Null if matches!(op, Operator::Eq | Operator::Ne) => Ok(value),
                Value::String(text) => timestamp(&text, value_span),
                _ => Err(not_applicable(
                    "expected a timestamp or system.now".into(),
                    "write e.g. 2020-06-10T18:13:20Z or system.now -minus P30D",
                )),
            };
        }
        PropertyType::String | PropertyType::StringCollection => {}
    }
    if matches!(op, Operator::Le | Operator::Ge) {
        return Err(unsupported(
            "`-le` and `-ge` apply to `employeeHireDate` only",
        ));
    }
    match (&value, op) {
        (Value::Array(_), Operator::In | Operator::NotIn) => Ok(value),
        (_, Operator::In | Operator::NotIn) => Err(not_applicable(
            format!("`{op}` needs an array"),
            "write the values as an array: [\"a\", \"b\"]",
        )),
        (Value::Array(_), Operator::Match | Operator::NotMatch) => Err(not_applicable(
            "`-match` takes one pattern".into(),
            "combine patterns with `|` in one string: \"a|b\"",
        )),
        (Value::Array(_), _) => Err(not_applicable(
            format!("`{op}` takes one value"),
            "to compare with several values use `-in [...]` or `-notIn [...]`",
        )),
        (Value::Null, Operator::Eq | Operator::Ne) => Ok(value),
        (Value::Null, _) => Err(not_applicable(
            "null can only be compared with `-eq` or `-ne`".into(),
            "use `-eq null` or `-ne null`",
        )),
        (Value::String(pattern), Operator::Match | Operator::NotMatch) => {
            match regex_support::build(pattern) {
                Ok(_) => Ok(value),
                Err(RegexProblem::Invalid(reason)) => Err(RuleError::new(
                    Code::RuleInvalidRegex,
                    wording::QUERY_COMPILATION,
                    value_span,
                    "not a valid regular expression",
                )
                .with_help(regex_help(pattern, &reason))),
                Err(RegexProblem::DotNetOnly(construct)) => Err(RuleError::new(
                    Code::RuleUnsupportedRegex,
                    format!("The pattern uses {construct}, which seatplan cannot evaluate."),
                    value_span,
                    ".NET-only construct",
                )
                .with_help(DOTNET_HELP)),
            }
        }
        (Value::String(_), _) => Ok(value),
        (Value::Bool(_), _) => Err(not_applicable(
            format!("`{name}` is a string"),
            "put the value in double quotes",
        )),
        (Value::DateTime(_) | Value::Now(_), _) => Err(not_applicable(
            format!("`{name}` is not a date"),
            "dates apply to `employeeHireDate` only",
        )),
    }
}

const DOTNET_HELP: &str =
    "Entra accepts .NET regular expressions, but seatplan evaluates rules with a \
     linear-time engine without lookaround or backreferences: express the condition with \
     several comparisons joined by -and/-not";

fn regex_help(pattern: &str, reason: &str) -> String {
    let reason = first_line(reason);
    let reason = reason.strip_prefix("error: ").unwrap_or(&reason);
    if pattern.starts_with(['*', '+', '?']) {
        format!(
            "{reason}: a leading `{}` has nothing to repeat; for \"any text\" write `.*`",
            &pattern[..1]
        )
    } else {
        format!("{reason} (patterns are .NET-style regular expressions, matched case-insensitively anywhere in the value)")
    }
}

fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .unwrap_or("invalid pattern")
        .to_string()
}

fn check_member_of_body(body: &Expr) -> Result<(), RuleError> {
    match &body.kind {
        ExprKind::Compare(Comparison {
            subject: Subject::GroupObjectId,
            ..
        }) => Ok(()),
        _ => Err(RuleError::new(
            Code::RuleInvalidForm,
            wording::INVALID_OPERANDS,
            body.span,
            "memberOf takes exactly one `group.objectId -in [...]`",
        )
        .with_help("write `user.memberOf -any (group.objectId -in ['<id 1>', '<id 2>'])`")),
    }
}

/// Checks rules that concern the whole rule: memberOf stands alone, users and devices don't mix.
fn check_whole_rule(expr: &Expr) -> Result<(), RuleError> {
    let mut objects = Vec::new();
    collect_properties(expr, &mut objects);
    if let Some((first_object, _)) = objects.first().copied() {
        if let Some((other, span)) = objects
            .iter()
            .copied()
            .find(|(object, _)| *object != first_object)
        {
            return Err(RuleError::new(
                Code::RuleInvalidForm,
                "A rule can't contain both users and devices.",
                span,
                format!(
                    "a `{}.` property in a `{}.` rule",
                    other.prefix(),
                    first_object.prefix()
                ),
            )
            .with_help("a rule selects either users or devices; make two groups"));
        }
    }
    if !matches!(expr.kind, ExprKind::Collection(_)) {
        if let Some(span) = member_of_span(expr) {
            return Err(RuleError::new(
                Code::RuleInvalidForm,
                "A memberOf rule can't be combined with other expressions.",
                span,
                "memberOf must be the whole rule",
            )
            .with_help("move the other conditions to a separate group, or list the groups' members' attribute instead"));
        }
    }
    Ok(())
}

fn collect_properties(expr: &Expr, out: &mut Vec<(ObjectKind, Span)>) {
    match &expr.kind {
        ExprKind::Or(operands) | ExprKind::And(operands) => {
            for operand in operands {
                collect_properties(operand, out);
            }
        }
        ExprKind::Not(inner) => collect_properties(inner, out),
        ExprKind::Compare(comparison) => {
            if let Subject::Property(property) = &comparison.subject {
                out.push((property.object, comparison.subject_span));
            }
        }
        ExprKind::Collection(test) => out.push((test.property.object, test.property_span)),
    }
}

fn member_of_span(expr: &Expr) -> Option<Span> {
    match &expr.kind {
        ExprKind::Or(operands) | ExprKind::And(operands) => {
            operands.iter().find_map(member_of_span)
        }
        ExprKind::Not(inner) => member_of_span(inner),
        ExprKind::Compare(_) => None,
        ExprKind::Collection(test) => {
            (test.property.ty() == PropertyType::MemberOf).then_some(test.property_span)
        }
    }
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
