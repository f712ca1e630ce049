//! `licensed-group-delete`: `ensure: absent` on a group whose license removal would break
//! dependencies.
//!
//! Seed 000, "When a licensed group is deleted": the deleted group's licenses "enter an error
//! state on the affected user and it can't be removed until the dependency is resolved"; seed
//! 001's section of the same name says the assignment "is converted from inherited to direct"
//! instead. The engine follows seed 000; either way the deletion is an error here, so seatplan
//! never applies it.

use super::service_errors::{user_sku_and_dependents, Refusal};
use crate::diag::{Code, Diagnostic};

/// Users holding plans that depend on a deleted group's licenses.
pub(super) struct LicensedGroupDelete(pub Refusal);

impl From<LicensedGroupDelete> for Diagnostic {
    fn from(LicensedGroupDelete(refusal): LicensedGroupDelete) -> Diagnostic {
        refusal.diagnostic(
            Code::LicensedGroupDelete,
            "would keep plans that depend on this deleted group's licenses: the service cannot remove them, so the group cannot be deleted",
            "give the users the prerequisite plans through another group or direct license first, or remove the dependent plans",
            user_sku_and_dependents,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn a_deleted_group_with_dependents_is_refused() {
        let reported = fixture!("licensed-group-delete").reported(Code::LicensedGroupDelete);
        assert_eq!(reported.len(), 1);
        assert!(reported[0]
            .message
            .starts_with("1 user would keep plans that depend on this deleted group's licenses"));
        assert_eq!(
            reported[0].notes,
            ["- ann@contoso.com: ENTERPRISEPACK stays, for MCOMEETADV, which needs MCOSTANDARD"]
        );
        assert!(fixture!("licensed-group-delete")
            .reported(Code::DependencyBreak)
            .is_empty());
    }
}
