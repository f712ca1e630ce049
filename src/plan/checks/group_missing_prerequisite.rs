//! `group-missing-prerequisite`: a changed group enables an add-on without any of its
//! prerequisites in the same group (the portal refuses it; seeds 000–002, Workplace Analytics),
//! whether the change adds the add-on or takes the prerequisite's product away (seed 001: "Make
//! sure that the group has necessary services before adding or removing a dependent service").

use super::{labelled, Context};
use crate::catalog::PlanSet;
use crate::diag::{Code, Diagnostic, Location};
use crate::plan::diff::group_address;
use crate::plan::document::Op;

/// An add-on a group enables without its prerequisites.
pub(super) struct GroupMissingPrerequisite {
    /// The group's config key.
    group: String,
    /// The add-on plan's name.
    plan: String,
    /// The names of the plans any one of which would satisfy it.
    any_of: Vec<String>,
    /// The group's `licenses`.
    location: Option<Location>,
}

impl From<GroupMissingPrerequisite> for Diagnostic {
    fn from(missing: GroupMissingPrerequisite) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::GroupMissingPrerequisite,
            format!(
                "group `{}` enables {} without any of its prerequisites ({}) in the same group",
                missing.group,
                missing.plan,
                missing.any_of.join(" or ")
            ),
        )
        .with_help("Entra requires an add-on's prerequisite in the same group: add a product with one of these plans to this group (its other plans may be disabled)");
        labelled(diagnostic, missing.location, "add-on without prerequisite")
    }
}

/// Each group whose licenses the plan changes (adds, updates, migrates or removes), for each
/// add-on it enables without a prerequisite.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        let address = group_address(name);
        let changed = context.changes.iter().any(|change| {
            change.address == address
                && change.ops.iter().any(|op| {
                    matches!(
                        op,
                        Op::AddLicense { .. }
                            | Op::UpdateLicensePlans { .. }
                            | Op::Migrate { .. }
                            | Op::RemoveLicense { .. }
                    )
                })
        });
        if !changed {
            continue;
        }
        let mut enabled = PlanSet::default();
        for license in &context.target.groups[*index].licenses {
            enabled.union_with(&license.enabled);
        }
        for (plan, any_of) in context.catalog.unmet_prerequisites(&enabled) {
            out.push(
                GroupMissingPrerequisite {
                    group: name.clone(),
                    plan: context.catalog.plan(plan).name.clone(),
                    any_of: any_of
                        .iter()
                        .map(|plan| context.catalog.plan(*plan).name.clone())
                        .collect(),
                    location: context.config.loaded.group_location(name, "/licenses"),
                }
                .into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn an_add_on_alone_in_its_group_is_refused() {
        let reported =
            fixture!("group-missing-prerequisite").reported(Code::GroupMissingPrerequisite);
        assert_eq!(reported.len(), 1);
        assert!(reported[0].message.starts_with(
            "group `Analytics` enables WORKPLACE_ANALYTICS without any of its prerequisites ("
        ));
        assert_eq!(reported[0].labels[0].message, "add-on without prerequisite");
    }
}
