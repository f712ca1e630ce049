//! Evaluating a compiled rule for one user of a table, without building bit sets.

use super::batch::{plan_holds, string_at};
use super::*;

pub(super) fn leaf_matches(
    leaf: &Leaf,
    table: &UserTable,
    context: &EvalContext<'_>,
    user: usize,
) -> bool {
    match leaf {
        Leaf::Strings(key, test) => match table.column(key) {
            Some(Column::Strings {
                codes, dictionary, ..
            }) => test.holds(string_at(codes, dictionary, user)),
            _ => test.holds(None),
        },
        Leaf::DirectReports(manager) => match table.manager() {
            Some(Column::Strings {
                codes, dictionary, ..
            }) => string_at(codes, dictionary, user).is_some_and(|(_, lower)| lower == manager),
            _ => false,
        },
        Leaf::Bools(key, test) => match table.column(key) {
            Some(Column::Bools { present, value }) => {
                test.holds(present.contains(user).then(|| value.contains(user)))
            }
            _ => test.holds(None),
        },
        Leaf::Dates(key, test) => {
            let test = test.resolve(context.now);
            match table.column(key) {
                Some(Column::Dates { values }) => test.holds(values.get(user).copied().flatten()),
                _ => test.holds(None),
            }
        }
        Leaf::MultiDirect(key, test) => {
            let elements = multi_elements(table, key, user);
            let positive = if matches!(test.predicate, StrPredicate::IsNull) {
                elements.is_empty()
            } else {
                elements
                    .iter()
                    .any(|element| test.predicate.holds(Some(*element)))
            };
            positive != test.negate
        }
        Leaf::Elements(key, quantifier, body) => {
            let elements = multi_elements(table, key, user);
            let holds =
                |element: &(&str, &str)| body.holds(&|test: &StrTest| test.holds(Some(*element)));
            match quantifier {
                Quantifier::Any => elements.iter().any(holds),
                Quantifier::All => elements.iter().all(holds),
            }
        }
        Leaf::Plans(key, quantifier, body) => match table.column(key) {
            Some(Column::Plans {
                offsets,
                codes,
                triples,
                fields,
                ..
            }) => {
                let (Some(&start), Some(&end)) = (offsets.get(user), offsets.get(user + 1)) else {
                    return *quantifier == Quantifier::All;
                };
                let mut entries = codes[start..end].iter().map(|code| {
                    triples
                        .get(*code as usize)
                        .is_some_and(|triple| plan_holds(body, triple, fields))
                });
                match quantifier {
                    Quantifier::Any => entries.any(|hit| hit),
                    Quantifier::All => entries.all(|hit| hit),
                }
            }
            _ => *quantifier == Quantifier::All,
        },
        Leaf::MemberOf(ids) => ids.iter().any(|id| {
            context
                .groups
                .members(id)
                .is_some_and(|members| members.contains(user))
        }),
    }
}

fn multi_elements<'t>(
    table: &'t UserTable,
    key: &ColumnKey,
    user: usize,
) -> Vec<(&'t str, &'t str)> {
    let Some(Column::Multi {
        offsets,
        codes,
        dictionary,
        ..
    }) = table.column(key)
    else {
        return Vec::new();
    };
    let (Some(&start), Some(&end)) = (offsets.get(user), offsets.get(user + 1)) else {
        return Vec::new();
    };
    codes[start..end]
        .iter()
        .filter_map(|code| dictionary.get(*code as usize))
        .collect()
}
