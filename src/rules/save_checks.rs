//! The checks the service makes when a rule is saved, once the parser has the shape of a
//! comparison: the property exists on the object, the operator fits its type, the value fits the
//! operator, a regex compiles under .NET's rules, and the whole-rule forms (`memberOf`, direct
//! reports, one object kind per rule) are whole. Each returns the first problem as a
//! [`RuleError`] pointing at its token.

use crate::diag::Code;

use super::ast::*;
use super::error::{wording, RuleError};
use super::lexer::Token;
use super::parser::{syntax, Scope, MAX_MEMBER_OF_GROUPS};
use super::property::{self, ExtensionProblem, ObjectKind, PropertyName, PropertyType};
use super::regex_support::{self, RegexProblem};

pub(super) fn subject(word: &Token, scope: Scope) -> Result<Subject, RuleError> {
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

pub(super) fn operator(token: &Token, name: &str) -> Result<Operator, RuleError> {
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
pub(super) fn literal(
    text: &str,
    span: Span,
    subject: &Subject,
) -> Result<(Value, Span), RuleError> {
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

pub(super) fn timestamp(text: &str, span: Span) -> Result<Value, RuleError> {
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
pub(super) fn check_comparison(
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

pub(super) fn check_member_of_body(body: &Expr) -> Result<(), RuleError> {
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
pub(super) fn check_whole_rule(expr: &Expr) -> Result<(), RuleError> {
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

pub(super) fn collect_properties(expr: &Expr, out: &mut Vec<(ObjectKind, Span)>) {
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
