//! `new-plans-enabled`: plans that a group's deny-list (`disabled_plans`) leaves on only because
//! Microsoft added them to the product after the catalog seatplan ships (seed 003, "Managing new
//! services added to products"). Groups with `enabled_plans` keep them off.

use super::{labelled, Context};
use crate::catalog::PlanSet;
use crate::diag::{Code, Diagnostic, Location, Severity};

/// New plans a group's license enables by not disabling them.
pub(super) struct NewPlansEnabled {
    /// The group's config key.
    group: String,
    /// The new plans' names (see [`Context::plan_list`]).
    plans: String,
    /// How many there are.
    count: usize,
    /// The product's skuPartNumber.
    sku: String,
    /// The license entry.
    location: Option<Location>,
}

impl From<NewPlansEnabled> for Diagnostic {
    fn from(fresh: NewPlansEnabled) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::NewPlansEnabled,
            format!(
                "group `{}` enables {} of {} only because Microsoft added {} to the product",
                fresh.group,
                fresh.plans,
                fresh.sku,
                if fresh.count == 1 { "it" } else { "them" }
            ),
        )
        .with_help("to keep new plans off, add them to `disabled_plans`, or list the plans you want with `enabled_plans` (later additions then stay off)");
        labelled(diagnostic, fresh.location, "deny-list lets new plans in")
            .with_severity(Severity::Warning)
    }
}

/// Each deny-list license of a managed group that enables plans the catalog did not list.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if context.new_plans.is_empty() {
        return;
    }
    for (name, index) in &context.desired.managed_groups {
        // A valid config resolved every license, so positions are the config's.
        for (position, resolved) in context.config.group_licenses(name).iter().enumerate() {
            if resolved.enabled.is_some() {
                continue;
            }
            let product = resolved.product;
            let Some(assigned) = context.target.groups[*index]
                .licenses
                .iter()
                .find(|assigned| assigned.product == product)
            else {
                continue;
            };
            let fresh: PlanSet = context
                .new_plans
                .iter()
                .filter(|(owner, plan)| *owner == product && assigned.enabled.contains(*plan))
                .map(|(_, plan)| *plan)
                .collect();
            if fresh.is_empty() {
                continue;
            }
            out.push(
                NewPlansEnabled {
                    group: name.clone(),
                    plans: context.plan_list(&fresh),
                    count: fresh.len(),
                    sku: context.sku(product).to_string(),
                    location: context
                        .config
                        .loaded
                        .group_location(name, &format!("/licenses/{position}")),
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
    fn a_plan_microsoft_added_is_named() {
        let reported = fixture!("new-plans-enabled").reported(Code::NewPlansEnabled);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Warning);
        assert_eq!(
            reported[0].message,
            "group `E3` enables NEW_ASSISTANT_PLAN of ENTERPRISEPACK only because Microsoft added it to the product"
        );
    }
}
