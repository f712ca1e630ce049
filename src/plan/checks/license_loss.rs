//! `license-loss`: users lose service plans they have today (upgrades through `supersedes`
//! excepted), at the end of the apply or in a window between two of its phases.

use std::collections::{BTreeMap, BTreeSet};

use super::{labelled, plural, with_users, Context};
use crate::catalog::PlanSet;
use crate::diag::{Code, Diagnostic, Location, Severity};
use crate::engine::{AssignmentOutcome, Outcome};
use crate::plan::document::Op;
use crate::plan::impact::PlanChange;
use crate::plan::simulate::Phase;
use crate::tenant::index::{Source, UserIdx};

/// Users who lose plans through one source (a group, or their direct licenses).
pub(super) struct LicenseLoss {
    /// The source, as the message names it (`group `E3``).
    source: String,
    /// The config node of the source.
    location: Option<Location>,
    /// The display names of the products lost, sorted.
    products: Vec<String>,
    /// Each user and what they lose.
    users: Vec<UserLoss>,
    /// Whether `allow_license_loss` or --allow-license-loss allows it (a warning then).
    allowed: bool,
    /// Whether the users are members the group's current rule drops already (its processing is
    /// behind): the loss is coming anyway, a warning.
    pending: bool,
    /// What in the change takes the plans away, for the help.
    cause: Cause,
}

/// What takes a source's plans away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// The users' direct licenses change (no group to allow the loss on).
    Direct,
    /// The group's members change (static members, a rule), not its licenses.
    Membership,
    /// The group replaces a product with one that lacks some of its plans.
    Migration,
    /// The group's licenses change otherwise (removed, plans disabled).
    Licenses,
}

/// One user's loss.
struct UserLoss {
    /// The user's UPN.
    upn: String,
    /// The display names of the products through which they had the plans.
    products: Vec<String>,
    /// How many plans they lose.
    plans: usize,
    /// The plans' names (the first few, see [`Context::plan_list`]).
    plan_list: String,
    /// Whether the user keeps those products (with fewer plans): only some of their plans go.
    partial: bool,
}

impl From<LicenseLoss> for Diagnostic {
    fn from(loss: LicenseLoss) -> Diagnostic {
        let partial = loss.users.iter().any(|user| user.partial);
        let message = format!(
            "{} would lose {}{} through {}",
            plural(loss.users.len(), "user"),
            if partial { "service plans of " } else { "" },
            and_list(&loss.products),
            loss.source
        );
        let message = if loss.pending {
            format!("{message}, whose current rule drops them already (the service has not processed it yet: `membership-pending`)")
        } else {
            message
        };
        let allowed = if loss.pending {
            Some("the loss is coming without this change too; nothing to allow")
        } else {
            loss.allowed
                .then_some("allowed by `allow_license_loss` or --allow-license-loss")
        };
        let diagnostic = unless_allowed(
            labelled(
                Diagnostic::new(Code::LicenseLoss, message),
                loss.location,
                "this change takes licenses away",
            ),
            allowed,
            match loss.cause {
                Cause::Direct => "if intended, set `settings.allow_license_loss: true` or pass --allow-license-loss (a user's licenses have no flag of their own); otherwise keep the direct license, or give the plans through a group first",
                Cause::Membership => "if intended, set `allow_license_loss: true` on the group or pass --allow-license-loss; to move users without loss, give them the licenses through another group in the same plan (members are added before any leave)",
                Cause::Migration => "if intended, set `allow_license_loss: true` on the group or pass --allow-license-loss; the new product lacks these plans: keep a product that has them in the group, or give them another way",
                Cause::Licenses => "if intended, set `allow_license_loss: true` on the group or pass --allow-license-loss; to replace a product without loss, swap it in the same group in one edit (a migration)",
            },
        );
        let lines = loss
            .users
            .into_iter()
            .map(|user| {
                if user.partial {
                    format!(
                        "{} loses {} of {}: {}",
                        user.upn,
                        plural(user.plans, "service plan"),
                        and_list(&user.products),
                        user.plan_list
                    )
                } else {
                    format!(
                        "{} loses {} ({}: {})",
                        user.upn,
                        and_list(&user.products),
                        plural(user.plans, "service plan"),
                        user.plan_list
                    )
                }
            })
            .collect();
        with_users(diagnostic, lines)
    }
}

/// Users without service plans between two phases of the apply.
pub(super) struct LossWindow {
    /// The phase after which they are without them.
    phase: String,
    /// Whether the phase is the end of the apply with the changed rules not yet processed.
    rules_pending: bool,
    /// Each user, with how many plans they are without and their names.
    users: Vec<(String, usize, String)>,
    /// Whether the settings' `allow_license_loss` or --allow-license-loss allows it (a warning
    /// then).
    allowed: bool,
}

impl From<LossWindow> for Diagnostic {
    fn from(window: LossWindow) -> Diagnostic {
        let (message, help) = if window.rules_pending {
            (
                format!(
                    "{} would be without service plans from the end of the apply until the service has processed the dynamic groups the plan changes (it evaluates their rules in the background, in its own time), which give them back",
                    plural(window.users.len(), "user"),
                ),
                "split the change: first apply what gives these plans (the rule, or the members a `memberOf` rule reads) and wait until the service has processed it (`seatplan report` shows `membership-pending` until then), then apply the change that takes the plans away",
            )
        } else {
            (
                format!(
                    "{} would be without service plans while the plan is applied: after {}, before the later steps give them back",
                    plural(window.users.len(), "user"),
                    window.phase
                ),
                "split the change: first apply a plan with the changes that give these plans (new members, new groups), then one with the change that takes them away; or replace the product inside one group (a migration, one call)",
            )
        };
        let diagnostic = unless_allowed(
            Diagnostic::new(Code::LicenseLoss, message),
            window
                .allowed
                .then_some("allowed by `allow_license_loss` or --allow-license-loss"),
            help,
        );
        let lines = window
            .users
            .into_iter()
            .map(|(upn, count, plans)| {
                format!("{upn} is without {}: {plans}", plural(count, "plan"))
            })
            .collect();
        with_users(diagnostic, lines)
    }
}

/// An allowed loss is a warning that says what allows it (`allowed`); else an error with `help`.
fn unless_allowed(diagnostic: Diagnostic, allowed: Option<&str>, help: &str) -> Diagnostic {
    match allowed {
        Some(allowed) => diagnostic
            .with_help(allowed)
            .with_severity(Severity::Warning),
        None => diagnostic.with_help(help),
    }
}

/// "A", "A and B", "A, B and C".
fn and_list(items: &[String]) -> String {
    match items.split_last() {
        None => "service plans".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// Plans each source contributes to a user.
fn contributions(assignments: &[AssignmentOutcome]) -> BTreeMap<Source, PlanSet> {
    let mut by_source: BTreeMap<Source, PlanSet> = BTreeMap::new();
    for assignment in assignments
        .iter()
        .filter(|assignment| assignment.is_effective())
    {
        by_source
            .entry(assignment.source)
            .or_default()
            .union_with(&assignment.enabled);
    }
    by_source
}

/// The plans each user has before the change and not in `to` (upgrades excluded), for the users
/// who lose any.
fn lost_plans<'a>(
    context: &'a Context<'_>,
    to: &'a Outcome,
) -> impl Iterator<Item = (UserIdx, PlanSet)> + 'a {
    // Only the users some step processed can lose anything.
    context
        .moved
        .iter()
        .filter_map(|&user| {
            let index = user.0 as usize;
            Some((user, context.before.users.get(index)?, to.users.get(index)?))
        })
        .filter(|(_, old, new)| !old.effective.is_subset(&new.effective))
        .filter_map(|(user, old, new)| {
            let lost = PlanChange::between(context.catalog, old, new).lost;
            (!lost.is_empty()).then_some((user, lost))
        })
}

/// What in the plan's change of `source` takes its plans away.
fn cause_of(context: &Context<'_>, source: Source) -> Cause {
    let Source::Group(group) = source else {
        return Cause::Direct;
    };
    let Some(name) = context.config_name(group) else {
        return Cause::Membership;
    };
    let ops = context.group_ops(name);
    if ops.iter().any(|op| matches!(op, Op::Migrate { .. })) {
        Cause::Migration
    } else if ops.iter().any(|op| {
        matches!(
            op,
            Op::RemoveLicense { .. } | Op::UpdateLicensePlans { .. } | Op::DeleteGroup
        )
    }) {
        Cause::Licenses
    } else {
        Cause::Membership
    }
}

/// Users who lose service plans at the end of the apply, one diagnostic per source that takes
/// them away.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    // Per source, and whether its users are members its current rule drops already.
    let mut by_source: BTreeMap<(Source, bool), Vec<(UserIdx, PlanSet)>> = BTreeMap::new();
    for (user, lost) in lost_plans(context, context.after) {
        let (old, new) = (
            &context.before.users[user.0 as usize],
            &context.after.users[user.0 as usize],
        );
        let before = contributions(&old.assignments);
        let after = contributions(&new.assignments);
        let mut attributed = PlanSet::default();
        for (source, plans) in &before {
            let kept = after.get(source).cloned().unwrap_or_default();
            let dropped: PlanSet = plans
                .difference(&kept)
                .iter()
                .filter(|&plan| lost.contains(plan))
                .collect();
            if !dropped.is_empty() {
                attributed.union_with(&dropped);
                let pending =
                    matches!(source, Source::Group(group) if context.pending_leaver(user, *group));
                by_source
                    .entry((*source, pending))
                    .or_default()
                    .push((user, dropped));
            }
        }
        let rest = lost.difference(&attributed);
        if !rest.is_empty() {
            by_source
                .entry((Source::Direct, false))
                .or_default()
                .push((user, rest));
        }
    }
    for ((source, pending), users) in by_source {
        let anchor = users[0].0;
        let mut all_products = BTreeSet::new();
        let users: Vec<UserLoss> = users
            .iter()
            .map(|(user, plans)| {
                let products = context.products_providing(*user, source, plans);
                all_products.extend(products.iter().cloned());
                // Kept from any source: the user keeps the product, with fewer plans.
                let partial = context.after.users[user.0 as usize]
                    .assignments
                    .iter()
                    .filter(|assignment| assignment.is_effective())
                    .any(|assignment| {
                        products.contains(&context.catalog.product(assignment.product).name)
                    });
                UserLoss {
                    upn: context.upn(*user).to_string(),
                    products,
                    plans: plans.len(),
                    plan_list: context.plan_list(plans),
                    partial,
                }
            })
            .collect();
        out.push(
            LicenseLoss {
                source: context.source_label(source, anchor),
                location: context.source_location(source, anchor),
                products: all_products.into_iter().collect(),
                users,
                allowed: context.loss_allowed(source),
                pending,
                cause: cause_of(context, source),
            }
            .into(),
        );
    }
}

/// Users without service plans between two phases of the apply although they have them (or
/// what supersedes them) at the end — a window in which a user has neither the old nor the new
/// license.
pub(super) fn check_windows(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let at_end: BTreeMap<UserIdx, PlanSet> = lost_plans(context, context.after).collect();
    // The members of a static group the plan makes dynamic: `static-to-dynamic` reports their
    // window until the rule is processed.
    let converted: BTreeSet<UserIdx> = context
        .desired
        .converted(context.current_state)
        .into_iter()
        .filter_map(|index| context.current.groups.get(index))
        .flat_map(|group| group.members.iter().copied())
        .collect();
    for phase in context.phases {
        let users: Vec<(UserIdx, PlanSet)> = lost_plans(context, &phase.outcome)
            .filter(|(user, _)| phase.phase != Phase::RulesPending || !converted.contains(user))
            .filter_map(|(user, lost)| {
                let window = match at_end.get(&user) {
                    Some(lost_at_end) => lost.difference(lost_at_end),
                    None => lost,
                };
                (!window.is_empty()).then_some((user, window))
            })
            .collect();
        if users.is_empty() {
            continue;
        }
        out.push(
            LossWindow {
                phase: phase.describe(),
                rules_pending: phase.phase == Phase::RulesPending,
                users: users
                    .iter()
                    .map(|(user, plans)| {
                        (
                            context.upn(*user).to_string(),
                            plans.len(),
                            context.plan_list(plans),
                        )
                    })
                    .collect(),
                // Allowed when every source that gave the users those plans before allows loss
                // (a group's own `allow_license_loss`, else the settings' or the flag).
                allowed: users.iter().all(|(user, plans)| {
                    let old = &context.before.users[user.0 as usize];
                    old.assignments
                        .iter()
                        .filter(|assignment| assignment.is_effective())
                        .filter(|assignment| {
                            plans.iter().any(|plan| assignment.enabled.contains(plan))
                        })
                        .all(|assignment| context.loss_allowed(assignment.source))
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
    use crate::plan::Overrides;

    #[test]
    fn a_removed_license_is_an_error_unless_allowed() {
        let reported = fixture!("license-loss").reported(Code::LicenseLoss);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Error);
        assert_eq!(
            reported[0].message,
            "2 users would lose Office 365 E3 through group `E3`"
        );
        assert!(reported[0].notes[0]
            .starts_with("- ann@contoso.com loses Office 365 E3 (36 service plans: "));
        let allowed = fixture!("license-loss").reported_with(
            Code::LicenseLoss,
            Overrides {
                allow_license_loss: true,
                ..Overrides::default()
            },
        );
        assert_eq!(allowed[0].severity, Severity::Warning);
        assert_eq!(
            allowed[0].help.as_deref(),
            Some("allowed by `allow_license_loss` or --allow-license-loss")
        );
    }

    #[test]
    fn plans_switched_off_in_a_product_the_users_keep_are_named_as_plans_of_it() {
        let reported = super::super::testing::Fixture {
            config: "version: 1\ngroups:\n  E3:\n    licenses:\n      - sku: ENTERPRISEPACK\n        disabled_plans: [SWAY]\n",
            ..fixture!("license-loss")
        }
        .reported(Code::LicenseLoss);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "2 users would lose service plans of Office 365 E3 through group `E3`"
        );
        assert_eq!(
            reported[0].notes[0],
            "- ann@contoso.com loses 1 service plan of Office 365 E3: SWAY"
        );
    }

    #[test]
    fn products_are_listed_in_prose() {
        let names = |items: &[&str]| {
            and_list(
                &items
                    .iter()
                    .map(|item| item.to_string())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(names(&[]), "service plans");
        assert_eq!(names(&["A"]), "A");
        assert_eq!(names(&["A", "B", "C"]), "A, B and C");
    }

    #[test]
    fn a_window_names_the_phase_and_the_users() {
        let diagnostic: Diagnostic = LossWindow {
            phase: "the members are removed".to_string(),
            rules_pending: false,
            users: vec![(
                "ann@contoso.com".to_string(),
                1,
                "EXCHANGE_S_ENTERPRISE".to_string(),
            )],
            allowed: false,
        }
        .into();
        assert_eq!(diagnostic.severity, Severity::Error);
        assert!(diagnostic.message.starts_with("1 user would be without service plans while the plan is applied: after the members are removed"));
        assert_eq!(
            diagnostic.notes,
            ["- ann@contoso.com is without 1 plan: EXCHANGE_S_ENTERPRISE"]
        );
    }
}
