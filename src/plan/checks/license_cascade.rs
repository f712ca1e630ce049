//! `license-cascade`: a dynamic group's rule reads `user.assignedPlans` and the plan changes the
//! plans it tests, so once the service has processed the licenses it moves users into or out of
//! that group, and they gain or lose its licenses in turn (seed 000, "License removal of dynamic
//! membership groups with rules based on licenses with an initial static group"). What it costs
//! anyone is reported by the other checks on the state after the cascade
//! ([`crate::plan::cascade`]); this warning says why. Rules that keep moving users (a group
//! whose licenses give the plans its own rule excludes) are an error: no prediction holds.

use super::{labelled, plural, with_listed, Context};
use crate::diag::{Code, Diagnostic, Location, Severity};
use crate::plan::cascade::{Moved, MAX_ROUNDS};
use crate::tenant::index::GroupIdx;

/// One group the cascade moved users into or out of.
pub(super) struct LicenseCascade {
    /// The group's config key, else its display name.
    group: String,
    /// The UPNs of the users it adds after the licensing change.
    joining: Vec<String>,
    /// The UPNs of the users it drops.
    leaving: Vec<String>,
    /// Whether the rules were still moving users when the prediction stopped.
    settled: bool,
    /// The group's `rule` in the config.
    location: Option<Location>,
}

impl From<LicenseCascade> for Diagnostic {
    fn from(cascade: LicenseCascade) -> Diagnostic {
        let mut moves = Vec::new();
        if !cascade.joining.is_empty() {
            moves.push(format!(
                "adds {} to it",
                plural(cascade.joining.len(), "user")
            ));
        }
        if !cascade.leaving.is_empty() {
            moves.push(format!(
                "removes {} from it",
                plural(cascade.leaving.len(), "user")
            ));
        }
        let message = if cascade.settled {
            format!(
                "group `{}` selects users by their licenses (`user.assignedPlans`), and this plan changes them: once the licenses are processed, the service {}, with the group's licenses",
                cascade.group,
                moves.join(" and "),
            )
        } else {
            format!(
                "group `{}` selects users by their licenses (`user.assignedPlans`), and its licenses and those of the other groups whose rules read licenses keep moving users into and out of it: after {MAX_ROUNDS} rounds of the service evaluating these rules again they had not settled, and the prediction stops there",
                cascade.group,
            )
        };
        let mut diagnostic = Diagnostic::new(Code::LicenseCascade, message).with_help(
            "select the group's members by an attribute or a static group instead of by licenses; if the rule must read licenses, apply the change in small steps and check the group with `seatplan report` after each (a cascade that drops users needs them reprocessed once their licenses are back)",
        );
        if !cascade.settled {
            // Licenses that come and go with every evaluation are no state to apply into.
            diagnostic = diagnostic.with_severity(Severity::Error);
        }
        let diagnostic = labelled(diagnostic, cascade.location, "rule reads licenses");
        let items = cascade
            .joining
            .into_iter()
            .map(|upn| format!("{upn} joins"))
            .chain(
                cascade
                    .leaving
                    .into_iter()
                    .map(|upn| format!("{upn} leaves")),
            )
            .collect::<Vec<_>>();
        with_listed(diagnostic, items.into_iter(), None)
    }
}

/// Each group the cascade changed.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for Moved {
        group,
        joining,
        leaving,
    } in context.cascade
    {
        let idx = GroupIdx(*group as u32);
        let name = context.config_name(idx);
        out.push(
            LicenseCascade {
                group: name.map_or_else(|| context.group_name(idx).to_string(), str::to_string),
                joining: joining
                    .iter()
                    .map(|user| context.upn(*user).to_string())
                    .collect(),
                leaving: leaving
                    .iter()
                    .map(|user| context.upn(*user).to_string())
                    .collect(),
                settled: context.cascade_settled,
                location: name.and_then(|name| context.config.loaded.group_location(name, "/rule")),
            }
            .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn a_user_who_loses_the_plan_a_rule_tests_leaves_its_group() {
        let reported = fixture!("license-cascade").reported(Code::LicenseCascade);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Warning);
        assert!(reported[0].message.starts_with(
            "group `Visio for mailbox users` selects users by their licenses (`user.assignedPlans`)"
        ));
        assert!(reported[0]
            .message
            .contains("the service removes 1 user from it"));
        assert_eq!(
            reported[0].notes,
            vec!["- ann@contoso.com leaves".to_string()]
        );
    }
}
