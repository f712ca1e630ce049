//! The canonical printer: one text per rule meaning, so that two rules with equal canonical forms
//! select the same members and an edit that only changes spacing, case, hyphens, quote style or
//! redundant parentheses is not a membership change. `parse(print(rule))` equals `rule` up to
//! spans.
//!
//! The form: documented property and operator spellings with hyphens; every operand of `-and`,
//! `-or` and `-not` in parentheses, except comparisons inside lambda bodies; lambda bodies always
//! in parentheses; `null`, `true`, `false` lowercase; arrays without spaces (`["US","CA"]`, single
//! quotes in memberOf as the docs write them); timestamps in UTC (`2020-06-10T18:13:20Z`);
//! durations uppercase (`P30D`). Strings are double-quoted unless they contain a double quote or
//! end with a backtick; those are single-quoted with `''` for a quote.

use std::fmt::Write;

use super::ast::*;
use super::property::PropertyType;

/// The canonical text of `rule`.
pub fn print(rule: &Rule) -> String {
    let mut out = String::new();
    match &rule.kind {
        RuleKind::DirectReports(reports) => {
            out.push_str("Direct Reports for ");
            quote(&reports.manager_id, '"', &mut out);
        }
        RuleKind::Expr(expr) => expression(expr, false, &mut out),
    }
    out
}

/// How deeply the canonical text of `expr` nests parentheses, `-not` and lambdas, counted as the
/// parser counts them. The parser rejects a rule whose canonical text would exceed its depth
/// limit, so every accepted rule's canonical form is accepted too.
pub(crate) fn canonical_depth(expr: &Expr, in_lambda: bool) -> usize {
    match &expr.kind {
        ExprKind::Or(operands) | ExprKind::And(operands) => operands
            .iter()
            .map(|operand| operand_depth(operand, in_lambda))
            .max()
            .unwrap_or(0),
        ExprKind::Not(inner) => 1 + operand_depth(inner, in_lambda),
        ExprKind::Compare(_) => 0,
        ExprKind::Collection(test) => 2 + canonical_depth(&test.body, true),
    }
}

fn operand_depth(expr: &Expr, in_lambda: bool) -> usize {
    match &expr.kind {
        ExprKind::Not(_) => canonical_depth(expr, in_lambda),
        ExprKind::Compare(_) if in_lambda => 0,
        _ => 1 + canonical_depth(expr, in_lambda),
    }
}

fn expression(expr: &Expr, in_lambda: bool, out: &mut String) {
    match &expr.kind {
        ExprKind::Or(operands) | ExprKind::And(operands) => {
            let joiner = if matches!(expr.kind, ExprKind::Or(_)) {
                " -or "
            } else {
                " -and "
            };
            for (index, operand) in operands.iter().enumerate() {
                if index > 0 {
                    out.push_str(joiner);
                }
                operand_of(operand, in_lambda, out);
            }
        }
        ExprKind::Not(inner) => {
            out.push_str("-not ");
            operand_of(inner, in_lambda, out);
        }
        ExprKind::Compare(comparison) => compare(comparison, out),
        ExprKind::Collection(test) => {
            let _ = write!(out, "{} {} (", test.property, test.quantifier.as_str());
            expression(&test.body, true, out);
            out.push(')');
        }
    }
}

fn operand_of(expr: &Expr, in_lambda: bool, out: &mut String) {
    match &expr.kind {
        ExprKind::Not(_) => expression(expr, in_lambda, out),
        ExprKind::Compare(_) if in_lambda => expression(expr, in_lambda, out),
        _ => {
            out.push('(');
            expression(expr, in_lambda, out);
            out.push(')');
        }
    }
}

fn compare(comparison: &Comparison, out: &mut String) {
    match &comparison.subject {
        Subject::Property(property) => {
            let _ = write!(out, "{property}");
        }
        Subject::Element => out.push('_'),
        Subject::PlanField(field) => {
            let _ = write!(out, "assignedPlan.{}", field.name());
        }
        Subject::GroupObjectId => out.push_str("group.objectId"),
    }
    let _ = write!(out, " {} ", comparison.op);
    let array_quote = match &comparison.subject {
        Subject::GroupObjectId => '\'',
        Subject::Property(property) if property.ty() == PropertyType::MemberOf => '\'',
        _ => '"',
    };
    value(&comparison.value, array_quote, out);
}

fn value(value: &Value, array_quote: char, out: &mut String) {
    match value {
        Value::String(text) => quote(text, '"', out),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Null => out.push_str("null"),
        Value::DateTime(timestamp) => {
            let _ = write!(out, "{timestamp}");
        }
        Value::Now(offset) => {
            out.push_str("system.now");
            if let Some(offset) = offset {
                let sign = match offset.sign {
                    OffsetSign::Plus => "-plus",
                    OffsetSign::Minus => "-minus",
                };
                let _ = write!(out, " {sign} {}", offset.duration);
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                quote(&item.value, array_quote, out);
            }
            out.push(']');
        }
    }
}

/// Writes `text` as a string literal, preferring `preferred` quotes when they need no escape.
fn quote(text: &str, preferred: char, out: &mut String) {
    let double_ok = !text.contains('"') && !text.ends_with('`');
    let single_ok = !text.contains('\'');
    let use_double = if preferred == '"' {
        double_ok
    } else {
        !single_ok && double_ok
    };
    if use_double {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push('\'');
        out.push_str(&text.replace('\'', "''"));
        out.push('\'');
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    fn canonical(text: &str) -> String {
        print(&parse(text).unwrap())
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            (
                r#"(user.department -eq "Sales") -and (user.country -in ["US","CA"])"#,
                r#"(user.department -eq "Sales") -and (user.country -in ["US","CA"])"#,
            ),
            (
                r#"user.DEPARTMENT  EQ "Sales""#,
                r#"user.department -eq "Sales""#,
            ),
            (
                r#"((user.department -eq "Sales"))"#,
                r#"user.department -eq "Sales""#,
            ),
            (
                r#"user.city -eq "Lagos" or user.city -startswith "Lag""#,
                r#"(user.city -eq "Lagos") -or (user.city -startsWith "Lag")"#,
            ),
            (
                r#"(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")"#,
                r#"(user.department -eq "Sales") -and -not (user.jobTitle -startsWith "SDE")"#,
            ),
            (
                r#"user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")"#,
                r#"user.assignedPlans -any (assignedPlan.servicePlanId -eq "efb87545-963c-4e0d-99df-69c6916d9eb0" -and assignedPlan.capabilityStatus -eq "Enabled")"#,
            ),
            (
                r#"user.memberof -any (group.objectId -in ["a", 'b'])"#,
                r#"user.memberOf -any (group.objectId -in ['a','b'])"#,
            ),
            (
                "user.employeehiredate -ge system.now -plus p1d",
                "user.employeeHireDate -ge system.now -plus P1D",
            ),
            (
                "user.employeeHireDate -le 2020-06-10T20:13:20+02:00",
                "user.employeeHireDate -le 2020-06-10T18:13:20Z",
            ),
            ("user.department -eq $null", "user.department -eq null"),
            (
                r#"Direct Reports for "62E19B97-8b3d-4d4a-a106-4ce66896a863""#,
                r#"Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863""#,
            ),
            (
                r#"device.devicePhysicalIDs -any _ -startsWith "[ZTDId]""#,
                r#"device.devicePhysicalIds -any (_ -startsWith "[ZTDId]")"#,
            ),
            (
                r#"user.surname -eq "say `"hi`"""#,
                r#"user.surname -eq 'say "hi"'"#,
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical(input), expected, "{input}");
        }
    }

    #[test]
    fn or_inside_and_keeps_its_parentheses() {
        let text = r#"user.accountEnabled -eq True and ( user.usageLocation -eq "US" or user.companyName -contains "X" )"#;
        assert_eq!(
            canonical(text),
            r#"(user.accountEnabled -eq true) -and ((user.usageLocation -eq "US") -or (user.companyName -contains "X"))"#
        );
    }
}
