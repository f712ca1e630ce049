//! `assigned-plans-unknown`: rules read `user.assignedPlans`, which Graph reports per user and
//! the tenant state records as `assigned_plans`, and the state records none for users who hold
//! licenses (a hand-written file, or an export that did not ask for them). Those rules see such
//! users without plans, so what they select is not what the service selects: the prediction for
//! those groups cannot be trusted until the state records the plans.

use super::{labelled, plural, with_listed, Context};
use crate::diag::{Code, Diagnostic};
use crate::plan::cascade::RECORD_ASSIGNED_PLANS;

/// Warns when some rule reads `user.assignedPlans` and licensed users have none recorded.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let users = context.unrecorded_plans;
    if users.is_empty() {
        return;
    }
    let groups: Vec<String> = context
        .assigned_plan_rules
        .iter()
        .filter_map(|&index| context.target.groups.get(index))
        .map(|group| format!("`{}`", group.name))
        .collect();
    let location = context.assigned_plan_rules.iter().find_map(|&index| {
        let (name, _) = context
            .desired
            .managed_groups
            .iter()
            .find(|(_, managed)| *managed == index)?;
        context.config.loaded.group_location(name, "/rule")
    });
    let mut diagnostic = Diagnostic::new(
        Code::AssignedPlansUnknown,
        format!(
            "the {} of {} {} `user.assignedPlans`, but the tenant state records none for {} who {} licenses: those rules see them without plans",
            if groups.len() == 1 { "rule" } else { "rules" },
            groups.join(", "),
            if groups.len() == 1 { "reads" } else { "read" },
            plural(users.len(), "user"),
            if users.len() == 1 { "holds" } else { "hold" },
        ),
    )
    .with_help(format!(
        "{RECORD_ASSIGNED_PLANS}; until then the members these rules select are not the service's"
    ));
    diagnostic = labelled(diagnostic, location, "reads user.assignedPlans");
    out.push(with_listed(
        diagnostic,
        users.iter().map(|upn| upn.to_string()),
        None,
    ));
}
