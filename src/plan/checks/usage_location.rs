//! `usage-location`: the change assigns service plans that are not available in a user's usage
//! location (the service records ProhibitedInUsageLocationViolation).

use super::service_errors::Refusal;
use crate::diag::{Code, Diagnostic};

/// Users of one source who would get plans their usage location forbids.
pub(super) struct UsageLocation {
    /// The users and the source.
    pub refusal: Refusal,
    /// Whether the source is the users' direct licenses, which do not fall back to the tenant's
    /// default location as a group's do (seed 003).
    pub direct: bool,
}

impl From<UsageLocation> for Diagnostic {
    fn from(UsageLocation { refusal, direct }: UsageLocation) -> Diagnostic {
        let line = |user: &super::service_errors::RefusedUser| {
            format!("{} ({}): {}", user.upn, user.usage_location, user.sku)
        };
        if direct {
            refusal.diagnostic(
                Code::UsageLocation,
                "would get direct licenses that their usage location forbids, or without a \
                 usage location of their own",
                "set the users' `usage_location` (a direct license does not fall back to the \
                 tenant's default location, as a group's does), or disable the unavailable plans",
                line,
            )
        } else {
            refusal.diagnostic(
                Code::UsageLocation,
                "would get service plans that are not available in their usage location",
                "set the users' `usage_location`, or disable the unavailable plans in this group",
                line,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn each_user_is_listed_with_their_location() {
        let reported = fixture!("usage-location").reported(Code::UsageLocation);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "1 user would get service plans that are not available in their usage location (group `E3`)"
        );
        assert_eq!(
            reported[0].notes,
            ["- cat@contoso.com (DE): ENTERPRISEPACK"]
        );
    }
}
