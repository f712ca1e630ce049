//! Lowering a parsed rule into the predicate tree of [`super::CompiledRule`]: constants
//! lower-cased and regexes built once, `memberOf` ids collected.

use super::*;

pub(super) fn lower_expr(expr: &Expr) -> Result<Node, RuleError> {
    Ok(match &expr.kind {
        ExprKind::Or(operands) => {
            Tree::Or(operands.iter().map(lower_expr).collect::<Result<_, _>>()?)
        }
        ExprKind::And(operands) => {
            Tree::And(operands.iter().map(lower_expr).collect::<Result<_, _>>()?)
        }
        ExprKind::Not(inner) => Tree::Not(Box::new(lower_expr(inner)?)),
        ExprKind::Compare(comparison) => Tree::Leaf(lower_comparison(comparison)?),
        ExprKind::Collection(test) => {
            let column = ColumnKey::of(&test.property.name);
            match test.property.ty() {
                PropertyType::AssignedPlans => Tree::Leaf(Leaf::Plans(
                    column,
                    test.quantifier,
                    lower_body(&test.body, &|comparison| match comparison.subject {
                        Subject::PlanField(field) => {
                            Ok((field_index(field), string_test(comparison)?))
                        }
                        _ => Err(unexpected(comparison)),
                    })?,
                )),
                PropertyType::MemberOf => Tree::Leaf(Leaf::MemberOf(member_of_ids(&test.body)?)),
                _ => Tree::Leaf(Leaf::Elements(
                    column,
                    test.quantifier,
                    lower_body(&test.body, &string_test)?,
                )),
            }
        }
    })
}

fn unexpected(comparison: &Comparison) -> RuleError {
    RuleError::new(
        Code::RuleInvalidForm,
        wording::INVALID_OPERANDS,
        comparison.subject_span,
        "not valid here",
    )
}

fn lower_body<L>(
    expr: &Expr,
    leaf: &impl Fn(&Comparison) -> Result<L, RuleError>,
) -> Result<Tree<L>, RuleError> {
    Ok(match &expr.kind {
        ExprKind::Or(operands) => Tree::Or(
            operands
                .iter()
                .map(|operand| lower_body(operand, leaf))
                .collect::<Result<_, _>>()?,
        ),
        ExprKind::And(operands) => Tree::And(
            operands
                .iter()
                .map(|operand| lower_body(operand, leaf))
                .collect::<Result<_, _>>()?,
        ),
        ExprKind::Not(inner) => Tree::Not(Box::new(lower_body(inner, leaf)?)),
        ExprKind::Compare(comparison) => Tree::Leaf(leaf(comparison)?),
        ExprKind::Collection(test) => {
            return Err(RuleError::new(
                Code::RuleInvalidForm,
                wording::INVALID_OPERANDS,
                test.quantifier_span,
                "lambdas can't be nested",
            ))
        }
    })
}

fn member_of_ids(body: &Expr) -> Result<Vec<String>, RuleError> {
    match &body.kind {
        ExprKind::Compare(Comparison {
            subject: Subject::GroupObjectId,
            value: Value::Array(items),
            ..
        }) => Ok(items
            .iter()
            .map(|item| item.value.to_ascii_lowercase())
            .collect()),
        _ => Err(RuleError::new(
            Code::RuleInvalidForm,
            wording::INVALID_OPERANDS,
            body.span,
            "memberOf takes exactly one `group.objectId -in [...]`",
        )),
    }
}

fn lower_comparison(comparison: &Comparison) -> Result<Leaf, RuleError> {
    let Subject::Property(property) = &comparison.subject else {
        return Err(unexpected(comparison));
    };
    let column = ColumnKey::of(&property.name);
    let negate = comparison.op.positive().is_some();
    Ok(match property.ty() {
        PropertyType::String => Leaf::Strings(column, string_test(comparison)?),
        PropertyType::StringCollection => Leaf::MultiDirect(column, string_test(comparison)?),
        PropertyType::Bool => {
            let expected = match comparison.value {
                Value::Bool(value) => Some(value),
                _ => None,
            };
            Leaf::Bools(column, BoolTest { expected, negate })
        }
        PropertyType::DateTime => {
            let target = match comparison.value {
                Value::DateTime(timestamp) => Some(DateTarget::Fixed(timestamp)),
                Value::Now(offset) => Some(DateTarget::Now(offset)),
                _ => None,
            };
            let predicate = match (comparison.op, target) {
                (_, None) => DatePredicate::IsNull,
                (Operator::Le, Some(target)) => DatePredicate::Le(target),
                (Operator::Ge, Some(target)) => DatePredicate::Ge(target),
                (_, Some(target)) => DatePredicate::Eq(target),
            };
            Leaf::Dates(column, DateTest { predicate, negate })
        }
        PropertyType::AssignedPlans | PropertyType::MemberOf => return Err(unexpected(comparison)),
    })
}

/// Lowers a string comparison (on a string property, a collection element or a plan field).
fn string_test(comparison: &Comparison) -> Result<StrTest, RuleError> {
    let op = comparison.op;
    let positive = op.positive().unwrap_or(op);
    let negate = op.positive().is_some();
    let text = |value: &Value| match value {
        Value::String(text) => Ok(text.to_lowercase()),
        _ => Err(RuleError::new(
            Code::RuleInvalidValue,
            wording::VALUE_NOT_APPLICABLE,
            comparison.value_span,
            "expected a string",
        )),
    };
    let predicate = match (&comparison.value, positive) {
        (Value::Null, _) => StrPredicate::IsNull,
        (Value::String(text), Operator::Eq) if text.is_empty() => StrPredicate::IsNull,
        (value, Operator::Eq) => StrPredicate::Eq(text(value)?),
        (value, Operator::StartsWith) => StrPredicate::StartsWith(text(value)?),
        (value, Operator::EndsWith) => StrPredicate::EndsWith(text(value)?),
        (value, Operator::Contains) => StrPredicate::Contains(text(value)?),
        (Value::String(pattern), Operator::Match) => {
            StrPredicate::Match(Pattern(regex_support::build(pattern).map_err(|_| {
                RuleError::new(
                    Code::RuleInvalidRegex,
                    wording::QUERY_COMPILATION,
                    comparison.value_span,
                    "not a valid regular expression",
                )
            })?))
        }
        (Value::Array(items), Operator::In) => StrPredicate::In {
            values: items.iter().map(|item| item.value.to_lowercase()).collect(),
            null: items.iter().any(|item| item.value.is_empty()),
        },
        _ => {
            return Err(RuleError::new(
                Code::RuleUnsupportedOperator,
                wording::OPERATOR_NOT_SUPPORTED,
                comparison.op_span,
                "not valid for a string",
            ))
        }
    };
    Ok(StrTest { predicate, negate })
}
