//! `static-to-dynamic`: converting a static group removes every member until the rule is
//! processed (seed 000), so its members lose the group's licenses meanwhile.

use super::{labelled, Context};
use crate::diag::{Code, Diagnostic, Location, Severity};
use crate::plan::impact::PlanChange;
use crate::plan::simulate::Phase;
use crate::tenant::index::{GroupIdx, Source};

/// A static group with members that the config makes dynamic.
pub(super) struct StaticToDynamic {
    /// The group's config key.
    group: String,
    /// How many members it has today.
    members: usize,
    /// The group's `rule`.
    location: Option<Location>,
    /// Whether license loss is allowed for the group (a warning then).
    allowed: bool,
}

impl From<StaticToDynamic> for Diagnostic {
    fn from(conversion: StaticToDynamic) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(
            Code::StaticToDynamic,
            format!(
                "group `{}` changes from static to dynamic: {} removed first and {} the group's licenses until the rule is processed",
                conversion.group,
                if conversion.members == 1 {
                    "its 1 member is".to_string()
                } else {
                    format!("its {} members are", conversion.members)
                },
                if conversion.members == 1 { "loses" } else { "lose" }
            ),
        )
        .with_help("create a new dynamic group, check it with `seatplan rule diff`, then move the licenses; or allow it with `allow_license_loss: true` / --allow-license-loss");
        if conversion.allowed {
            diagnostic = diagnostic.with_severity(Severity::Warning);
        }
        labelled(
            diagnostic,
            conversion.location,
            "dynamic rule on a static group",
        )
    }
}

/// Each existing static group with members that the config gives a rule.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for index in &context.desired.converted(context.current_state) {
        let Some(name) = context.config_name(GroupIdx(*index as u32)) else {
            continue;
        };
        let before = &context.current_state.groups[*index];
        let after = context.desired.group(context.current_state, *index);
        // A group that assigns nothing takes nothing away by losing its members.
        if before.members.is_empty() || (before.licenses.is_empty() && after.licenses.is_empty()) {
            continue;
        }
        // Nobody who is without a plan until the rule is processed (another group or a direct
        // license covers every member): nothing to warn about.
        let pending = context
            .phases
            .iter()
            .find(|phase| phase.phase == Phase::RulesPending);
        let loses = pending.is_none_or(|phase| {
            context.current.groups[*index].members.iter().any(|member| {
                let user = member.0 as usize;
                !PlanChange::between(
                    context.catalog,
                    &context.before.users[user],
                    &phase.outcome.users[user],
                )
                .lost
                .is_empty()
            })
        });
        if !loses {
            continue;
        }
        let source = Source::Group(GroupIdx(*index as u32));
        out.push(
            StaticToDynamic {
                group: name.to_string(),
                members: before.members.len(),
                location: context.config.loaded.group_location(name, "/rule"),
                allowed: context.loss_allowed(source),
            }
            .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;
    use crate::plan::Overrides;

    #[test]
    fn a_rule_on_a_static_group_is_an_error_unless_loss_is_allowed() {
        let reported = fixture!("static-to-dynamic").reported(Code::StaticToDynamic);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Error);
        assert!(reported[0].message.starts_with(
            "group `E3` changes from static to dynamic: its 2 members are removed first"
        ));
        let allowed = fixture!("static-to-dynamic").reported_with(
            Code::StaticToDynamic,
            Overrides {
                allow_license_loss: true,
                ..Overrides::default()
            },
        );
        assert_eq!(allowed[0].severity, Severity::Warning);
    }
}
