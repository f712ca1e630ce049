//! `dependency-break`: a removal leaves a dependent plan without any prerequisite (the service
//! records DependencyViolation and keeps the license in error).

use super::service_errors::{user_sku_and_dependents, Refusal};
use crate::diag::{Code, Diagnostic};

/// Users of one source who would keep plans whose prerequisites the change removes.
pub(super) struct DependencyBreak(pub Refusal);

impl From<DependencyBreak> for Diagnostic {
    fn from(DependencyBreak(refusal): DependencyBreak) -> Diagnostic {
        refusal.diagnostic(
            Code::DependencyBreak,
            "would keep plans whose prerequisites this change removes (DependencyViolation): the service leaves the license in error instead of removing it",
            "keep a prerequisite plan through another assignment, or remove the dependent plans first",
            user_sku_and_dependents,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn a_removed_prerequisite_is_reported_at_the_group_that_removes_it() {
        let reported = fixture!("dependency-break").reported(Code::DependencyBreak);
        assert_eq!(reported.len(), 1);
        assert!(reported[0]
            .message
            .starts_with("1 user would keep plans whose prerequisites this change removes"));
        assert!(reported[0].message.ends_with("(group `E3`)"));
        assert_eq!(
            reported[0].notes,
            ["- ann@contoso.com: ENTERPRISEPACK stays, for MCOMEETADV, which needs MCOSTANDARD"]
        );
    }
}
