//! `mutually-exclusive`: the change gives users service plans that conflict with plans they have
//! (the service records MutuallyExclusiveViolation).

use super::service_errors::{user_and_sku, Refusal};
use super::Context;
use crate::catalog::ProductId;
use crate::diag::{Code, Diagnostic};
use crate::tenant::index::{Source, UserIdx};
use crate::tenant::model::AssignmentError;

/// Users of one source who would get conflicting plans.
pub(super) struct MutuallyExclusive {
    /// Who, from which source.
    pub refusal: Refusal,
    /// Whether the conflict is with a license a later step of the same apply removes (see
    /// [`arises_early`]).
    pub arises_early: bool,
    /// The refused direct calls among them, each naming its step, and whether a later step
    /// removes the conflicting license.
    pub calls: (Vec<String>, bool),
}

impl From<MutuallyExclusive> for Diagnostic {
    fn from(conflict: MutuallyExclusive) -> Diagnostic {
        let (calls, removed_later) = conflict.calls;
        let help = if removed_later {
            "the conflicting license is removed by a later step, but the service refuses this call when it is made and nothing calls it again: restructure the change — leave the assignment out of this plan and add it in a later one, after the conflicting license is gone (the user is without either license in between: a license loss), or assign the product with the conflicting plans disabled first and re-enable them in a later plan"
        } else if conflict.arises_early {
            "the conflicting license is removed by a later step, but the service processes this assignment first and does not retry it: replace the product inside one group (a migration, one call); or move the users in two applies, first out of the old license, then into this one (they are without it in between); or give this group the new product with the conflicting plans disabled first and re-enable them in a later plan, after the old license is gone"
        } else {
            "Entra never resolves conflicts itself: disable the conflicting plans in this group (`disabled_plans`) or remove the other license first"
        };
        calls.into_iter().fold(
            conflict.refusal.diagnostic(
                Code::MutuallyExclusive,
                "would get service plans that conflict with plans they already have",
                help,
                user_and_sku,
            ),
            Diagnostic::with_note,
        )
    }
}

/// Whether the conflict is with a license that a later step removes (a reprocess at the end would
/// succeed): the service refuses the group assignment when it runs, and does not retry it once
/// the other license is gone.
pub(super) fn arises_early(
    context: &Context<'_>,
    source: Source,
    users: &[(UserIdx, ProductId)],
) -> bool {
    users
        .iter()
        .any(|(user, _)| context.retryable.binary_search(user).is_ok())
        && context.phases.iter().any(|phase| {
            users.iter().any(|(user, product)| {
                phase.outcome.users[user.0 as usize]
                    .errors()
                    .any(|assignment| {
                        assignment.source == source
                            && assignment.product == *product
                            && assignment.error == Some(AssignmentError::MutuallyExclusiveViolation)
                    })
            })
        })
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn a_conflicting_plan_is_reported_at_the_group_that_brings_it() {
        let reported = fixture!("mutually-exclusive").reported(Code::MutuallyExclusive);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "1 user would get service plans that conflict with plans they already have (group `E3`)"
        );
        assert_eq!(reported[0].labels[0].message, "caused by this change");
        assert_eq!(reported[0].notes, ["- cat@contoso.com: ENTERPRISEPACK"]);
        assert!(reported[0]
            .help
            .as_deref()
            .is_some_and(|help| help.starts_with("Entra never resolves conflicts itself")));
    }
}
