//! `existing-errors`: users already in a licensing error state before the change (a warning: the
//! plan does not cause them).

use std::collections::{BTreeMap, BTreeSet};

use super::{are, error_set, plural, with_listed, Context};
use crate::diag::{Code, Diagnostic};
use crate::tenant::index::UserIdx;
use crate::tenant::model::AssignmentError;

/// The errors of the tenant as it is.
pub(super) struct ExistingErrors {
    /// How many users are in error.
    users: usize,
    /// Per source, product and error (`group `E3`: ENTERPRISEPACK CountViolation`), how many
    /// users, the largest first.
    by_group: Vec<(String, usize)>,
}

impl From<ExistingErrors> for Diagnostic {
    fn from(errors: ExistingErrors) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::ExistingErrors,
            format!(
                "{} already in a licensing error state before this plan",
                are(errors.users, "user")
            ),
        )
        .with_help("`seatplan report` lists them; after fixing the cause, `seatplan reprocess` shows who would then succeed");
        let notes = errors
            .by_group
            .into_iter()
            .map(|(what, count)| format!("{what} ({})", plural(count, "user")));
        with_listed(diagnostic, notes, Some("`seatplan report` lists every one"))
    }
}

/// The errors before the change, counted per source, product and error.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let errors = error_set(context.before);
    if errors.is_empty() {
        return;
    }
    let users: BTreeSet<UserIdx> = errors.iter().map(|(user, ..)| *user).collect();
    // Counted by source, product and error first, then named once per entry (a tenant has a
    // few hundred of those, and tens of thousands of users in error).
    let mut counted: BTreeMap<_, (UserIdx, usize)> = BTreeMap::new();
    for (user, source, product, error) in &errors {
        if *error == AssignmentError::Other {
            continue;
        }
        counted
            .entry((*source, *product, *error))
            .or_insert((*user, 0))
            .1 += 1;
    }
    let mut by_group: BTreeMap<String, usize> = BTreeMap::new();
    for ((source, product, error), (user, count)) in counted {
        let key = format!(
            "{}: {} {:?}",
            context.source_label(source, user),
            context.sku(product),
            error
        );
        *by_group.entry(key).or_default() += count;
    }
    // The largest first, and only the first few: a large tenant has hundreds of groups with an
    // error or two, and the report lists them all.
    let mut by_group: Vec<(String, usize)> = by_group.into_iter().collect();
    by_group.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.push(
        ExistingErrors {
            users: users.len(),
            by_group,
        }
        .into(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn recorded_errors_are_counted_per_group() {
        let reported = fixture!("existing-errors").reported(Code::ExistingErrors);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "1 user is already in a licensing error state before this plan"
        );
        assert_eq!(
            reported[0].notes,
            ["- group `E3`: ENTERPRISEPACK CountViolation (1 user)"]
        );
    }
}
