//! `membership-pending`: dynamic groups whose recorded members lag behind their rule. The plan
//! counts the members the service has processed (the recorded ones), before and after a change
//! that leaves the group alone: the service has not made the difference, and the plan does not
//! count on it (users to join hold none of the group's licenses yet, users to leave keep theirs).

use super::Context;
use crate::diag::{Code, Diagnostic, Location};
use crate::plan::document::Op;
use crate::tenant::index::UserIdx;

/// How many UPNs each note names.
const NAMED: usize = 5;

/// A dynamic group that has not caught up with its rule.
pub(super) struct MembershipPending {
    /// The group's display name.
    group: String,
    /// Users its rule selects who are not recorded members: how many, and the first UPNs.
    joining: (usize, Vec<String>),
    /// Recorded members its rule no longer selects: how many, and the first UPNs.
    leaving: (usize, Vec<String>),
    /// The group's key, when the config manages it.
    location: Option<Location>,
    /// Whether the group's processing is paused and the plan changes its rule: the difference
    /// is what the new rule does once processing is on.
    paused: bool,
    /// Whether the plan changes the lagging group's rule or processing: the service evaluates
    /// it afresh, and the plan counts the new result.
    edited: bool,
}

/// The first UPNs, with `…` when there are more than those.
fn named((count, first): &(usize, Vec<String>)) -> String {
    let mut names: Vec<&str> = first.iter().map(String::as_str).collect();
    if *count > first.len() {
        names.push("…");
    }
    names.join(", ")
}

impl From<MembershipPending> for Diagnostic {
    fn from(pending: MembershipPending) -> Diagnostic {
        let mut diagnostic = if pending.paused {
            Diagnostic::new(
                Code::MembershipPending,
                format!(
                    "dynamic group `{}` has rule processing paused: it keeps its members, and its new rule takes effect once processing is on: {} to join, {} to leave",
                    pending.group,
                    pending.joining.0,
                    pending.leaving.0
                ),
            )
            .with_help("the plan counts the members the group holds; the plan that turns processing on (`rule_processing: on`) applies the rule, and shows what the users joining gain and the users leaving lose")
        } else {
            Diagnostic::new(
                Code::MembershipPending,
                format!(
                    "dynamic group `{}` has not caught up with its rule: {} to join, {} to leave",
                    pending.group,
                    pending.joining.0,
                    pending.leaving.0
                ),
            )
            .with_help(if pending.edited {
                "Entra is still processing the current rule (or processing failed); this plan changes the rule, which the service then evaluates from scratch: the plan counts what the new rule selects, and the window until the service gets there is checked"
            } else {
                "Entra is still processing the rule (or processing failed); the plan counts the members the service has processed, not the rule's result: users to join have none of the group's licenses yet, users to leave keep theirs"
            })
        };
        if pending.joining.0 > 0 {
            diagnostic = diagnostic.with_note(format!("joining: {}", named(&pending.joining)));
        }
        if pending.leaving.0 > 0 {
            diagnostic = diagnostic.with_note(format!("leaving: {}", named(&pending.leaving)));
        }
        if let Some(location) = pending.location {
            diagnostic = diagnostic.with_label(location.into_key(), "membership pending");
        }
        diagnostic
    }
}

/// Each dynamic group of the current tenant whose recorded members differ from its rule's, and
/// each paused group whose rule the plan changes, with what the new rule would do.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    // A rule on plans the state does not record lags only in appearance.
    let lagging = context
        .pending
        .iter()
        .filter(|pending| !context.reads_unrecorded_plans(pending.group))
        .map(|pending| (pending, false));
    let paused = context.paused.iter().map(|pending| (pending, true));
    for (pending, paused) in lagging.chain(paused) {
        let upns = |users: &[UserIdx]| -> (usize, Vec<String>) {
            let first = users
                .iter()
                .take(NAMED)
                .map(|user| context.current.user_at(*user).upn.to_string())
                .collect();
            (users.len(), first)
        };
        let managed = context
            .desired
            .managed_groups
            .iter()
            .find(|(_, index)| *index == pending.group.0 as usize);
        out.push(
            MembershipPending {
                group: context.current.group_at(pending.group).name.to_string(),
                joining: upns(&pending.joining),
                leaving: upns(&pending.leaving),
                location: managed
                    .and_then(|(name, _)| context.config.loaded.group_location(name, "")),
                paused,
                edited: !paused
                    && managed.is_some_and(|(name, _)| {
                        context.group_ops(name).iter().any(|op| {
                            matches!(op, Op::SetRule { .. } | Op::SetRuleProcessing { .. })
                        })
                    }),
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
    fn a_rule_ahead_of_its_members_is_reported() {
        let reported = fixture!("membership-pending").reported(Code::MembershipPending);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "dynamic group `Sales` has not caught up with its rule: 1 to join, 0 to leave"
        );
        assert_eq!(reported[0].notes, ["joining: bob@contoso.com"]);
    }

    #[test]
    fn long_lists_of_members_are_cut() {
        let upns: Vec<String> = (0..NAMED)
            .map(|index| format!("u{index}@contoso.com"))
            .collect();
        assert_eq!(
            named(&(NAMED, upns.clone())),
            "u0@contoso.com, u1@contoso.com, u2@contoso.com, u3@contoso.com, u4@contoso.com"
        );
        assert_eq!(
            named(&(7, upns)),
            "u0@contoso.com, u1@contoso.com, u2@contoso.com, u3@contoso.com, u4@contoso.com, …"
        );
    }
}
