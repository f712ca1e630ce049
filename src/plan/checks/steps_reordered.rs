//! `steps-reordered`: the plan runs removals ahead of the additions because a direct assignment
//! would otherwise be refused for the seat they free (seeds 001/002: a direct assignment's
//! failure "is immediately reported back to you", and nothing calls for it again), or a member
//! added would record `CountViolation` that the later removal does not retry (seed 003); the
//! users the removals take from end without the product anyway.

use super::{with_users, Context};
use crate::diag::{Code, Diagnostic};

/// One removal run early and what it frees.
pub(super) struct StepsReordered {
    /// The removal's step, numbered as the plan shows it.
    step: String,
    /// What it frees, for whom.
    frees: Vec<String>,
}

impl From<StepsReordered> for Diagnostic {
    fn from(reordered: StepsReordered) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::StepsReordered,
            format!(
                "step {} runs ahead of the additions: in the default order (additions first) the assignment it frees a seat for would find none (a direct call is refused, a joining member records CountViolation), and the service would not try it again",
                reordered.step
            ),
        )
        .with_help("nothing to do: the steps above are in the order the apply makes them");
        with_users(diagnostic, reordered.frees)
    }
}

/// One note per removal the planner moved.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (step, frees) in context.reordered {
        out.push(
            StepsReordered {
                step: step.clone(),
                frees: frees.clone(),
            }
            .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;
    use crate::diag::Severity;

    #[test]
    fn a_removal_that_frees_a_seat_runs_first_and_says_so() {
        let reported = fixture!("steps-reordered").reported(Code::StepsReordered);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Note);
        assert!(
            reported[0]
                .message
                .starts_with("step 1. removeMember group[\"Z - E3\"] ann@contoso.com runs ahead"),
            "{}",
            reported[0].message
        );
        assert_eq!(
            reported[0].notes,
            ["- ENTERPRISEPACK for bob@contoso.com (2. assignLicense user[\"bob@contoso.com\"] +ENTERPRISEPACK), from ann@contoso.com, who ends without it anyway"]
        );
        let diagnostics = fixture!("steps-reordered").diagnostics(crate::plan::Overrides {
            allow_license_loss: true,
            ..crate::plan::Overrides::default()
        });
        assert!(diagnostics
            .iter()
            .all(|diagnostic| diagnostic.code != Code::SeatShortage));
    }
}
