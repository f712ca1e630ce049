//! `usage-location`: the change assigns service plans that are not available in a user's usage
//! location (the service records ProhibitedInUsageLocationViolation), or moves a user to a
//! location where plans they keep are not available.
//!
//! The seeds say the service refuses such plans when it assigns them ("users do not receive
//! services in locations that are not allowed", seed 003) and do not say what it does to the
//! plans a user holds when their location changes. seatplan is conservative: a plan that moves
//! a user to where a plan they keep is not offered is rejected, as the same end state reached by
//! an assignment would be, and the fix is the same (switch the plans off for them, or keep the
//! location).

use super::service_errors::Refusal;
use super::{labelled, plural, with_users, Context};
use crate::diag::{Code, Diagnostic};
use crate::tenant::index::Source;

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

/// Users whose usage location the change moves where service plans they keep (an assignment
/// the service holds as it was, not processed again) are not available: one diagnostic for all
/// of them, at the first such user's `usage_location` in the config.
pub(super) fn check_moved_away(context: &Context<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let mut lines = Vec::new();
    let mut location = None;
    for &user in context.moved {
        let index = user.0 as usize;
        let (Some(before), Some(after)) = (
            context.current.users.get(index),
            context.target.users.get(index),
        ) else {
            continue;
        };
        let moved_group =
            context.current.effective_location(user) != context.target.effective_location(user);
        let moved_direct = before.usage_location != after.usage_location;
        if !moved_group && !moved_direct {
            continue;
        }
        for assignment in context.after.users[index]
            .assignments
            .iter()
            .filter(|assignment| assignment.is_effective())
        {
            let (moved, country) = match assignment.source {
                Source::Direct => (moved_direct, after.usage_location.as_deref()),
                Source::Group(_) => (moved_group, context.target.effective_location(user)),
            };
            let Some(country) = country.filter(|_| moved) else {
                continue;
            };
            let unavailable: crate::catalog::PlanSet = assignment
                .enabled
                .iter()
                .filter(|&plan| !context.catalog.available_in(plan, country))
                .collect();
            if unavailable.is_empty() {
                continue;
            }
            if location.is_none() {
                location = context
                    .desired
                    .managed_users
                    .iter()
                    .find(|(_, managed)| *managed == index)
                    .and_then(|(name, _)| {
                        context.config.loaded.user_location(name, "/usage_location")
                    });
            }
            let via = match assignment.source {
                Source::Direct => ", a direct license".to_string(),
                Source::Group(group) => format!(" through group `{}`", context.group_name(group)),
            };
            lines.push(format!(
                "{} ({country}) keeps {} of {}{via}",
                after.upn,
                context.plan_list(&unavailable),
                context.catalog.product(assignment.product).sku_part_number,
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    let users: std::collections::BTreeSet<&str> = lines
        .iter()
        .filter_map(|line| line.split_once(' ').map(|(upn, _)| upn))
        .collect();
    let diagnostic = Diagnostic::new(
        Code::UsageLocation,
        format!(
            "{} would keep service plans that are not available in their new usage location",
            plural(users.len(), "user")
        ),
    )
    .with_help(
        "switch those plans off for them first (a group with the plans disabled, or their direct \
         license without them), or keep their location: the service does not assign plans where \
         they are not offered, and its next processing of the assignment would fail with \
         ProhibitedInUsageLocationViolation",
    );
    diagnostics.push(with_users(
        labelled(diagnostic, location, "the new location"),
        lines,
    ));
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
