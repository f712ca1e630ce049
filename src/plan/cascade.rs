//! Dynamic groups whose rules read licenses: a rule on `user.assignedPlans` selects users by the
//! service plans they hold, and the plan changes those plans. Once the service has processed the
//! plan's licensing, Graph reports the new plans (a plan the user lost as `Deleted`, one gained as
//! `Enabled`), the rule is evaluated again, and the users it now selects or drops gain or lose that
//! group's licenses — which can move them into or out of another such group, and so on. Seed 000
//! ("License removal of dynamic membership groups with rules based on licenses with an initial
//! static group") describes this cascade: users are added to and removed from a further batch of
//! dynamic groups, and access is lost until they are reprocessed.
//!
//! [`cascade`] follows it round by round: each round evaluates those rules again for the users
//! whose plans changed (only them: everyone else's plans are what the rules saw) and processes the
//! joining and leaving members as one more [`engine::step`]. Rules that keep feeding each other
//! are followed for [`MAX_ROUNDS`] rounds; the prediction stops there and says so.
//!
//! A plan gained is reported with the `service` (workload name) that some user's recorded
//! `assignedPlans` give it; Microsoft's product reference does not list services, so a plan no
//! user of the tenant holds yet has none, and a rule on `assignedPlan.service` does not see it
//! (a rule on `assignedPlan.servicePlanId` always does).

use std::sync::OnceLock;

use jiff::Timestamp;

use crate::catalog::{Catalog, PlanSet};
use crate::config::RuleProcessing;
use crate::engine::{self, Before, Outcome};
use crate::plan::desired::Desired;
use crate::rules::property::PropertyType;
use crate::rules::{EvalContext, RuleBook};
use crate::tenant::index::{Tenant, UserIdx};
use crate::tenant::membership::{user_table_of, RecordedMembers};
use crate::tenant::model::{AssignedPlan, TenantState, UserState};

/// How many times the rules that read licenses are evaluated again before the prediction stops
/// following them (rules that feed each other may never settle).
pub const MAX_ROUNDS: usize = 8;

/// Graph's `capabilityStatus` of a plan the user holds.
const ENABLED: &str = "Enabled";

/// Graph's `capabilityStatus` of a plan the user no longer holds.
const DELETED: &str = "Deleted";

/// What a cascade starts from.
pub struct Inputs<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The current state (its users' recorded `assignedPlans`).
    pub state: &'a TenantState,
    /// The desired state (the users' attributes the rules read after the change).
    pub desired: &'a Desired,
    /// The desired tenant, indexed.
    pub target: &'a Tenant,
    /// Every rule of the plan, prepared.
    pub book: &'a RuleBook,
    /// The instant `system.now` stands for.
    pub now: Timestamp,
    /// What the service holds for the current tenant: the plans its recorded `assignedPlans`
    /// report.
    pub before: &'a Outcome,
    /// What it holds after the plan's steps.
    pub after: &'a Outcome,
    /// The effective members after the plan's steps.
    pub members: &'a [Vec<UserIdx>],
    /// The users the steps processed, sorted.
    pub moved: &'a [UserIdx],
}

/// One group whose rule reads licenses, and the users the cascade moved in or out of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    /// The group's index in the desired tenant.
    pub group: usize,
    /// Users it selects after the cascade and did not after the steps, sorted.
    pub joining: Vec<UserIdx>,
    /// Users it selected after the steps and drops after the cascade, sorted.
    pub leaving: Vec<UserIdx>,
}

/// The service's state after the rules that read licenses have caught up with the plan.
pub struct Cascade {
    /// The state after each round but the last, in order (the first is the state after the
    /// steps, before any rule is evaluated again).
    pub rounds: Vec<Outcome>,
    /// The state after the last round.
    pub after: Outcome,
    /// The effective members after the last round.
    pub members: Vec<Vec<UserIdx>>,
    /// Per group the cascade changed, who joined and who left (when the rules did not settle,
    /// every group some round changed, even where its members end as they were).
    pub moved_members: Vec<Moved>,
    /// The users some round processed, sorted.
    pub processed: Vec<UserIdx>,
    /// False when the rules were still moving users after [`MAX_ROUNDS`] rounds.
    pub settled: bool,
}

/// The groups of `target` whose rule is evaluated (processing on) and reads `user.assignedPlans`.
pub fn reading_groups(target: &Tenant, book: &RuleBook) -> Vec<usize> {
    target
        .groups
        .iter()
        .enumerate()
        .filter(|(_, group)| group.processing == RuleProcessing::On)
        .filter_map(|(index, group)| {
            let prepared = book.get(group.rule.as_deref()?);
            let reads = prepared.compiled.is_ok()
                && prepared
                    .properties
                    .iter()
                    .any(|property| property.ty() == PropertyType::AssignedPlans);
            reads.then_some(index)
        })
        .collect()
}

/// What `assigned-plans-unknown` advises: where a state gets the users' `assignedPlans`.
pub const RECORD_ASSIGNED_PLANS: &str = "read the tenant with `seatplan pull --graph`, which records each user's assignedPlans when a rule reads them, or add `assigned_plans` to those users in the state";

/// The UPNs of the users of `state` who hold licenses in `outcome` (the engine's outcome of that
/// state) and for whom the state records no `assignedPlans`: rules on `user.assignedPlans` see
/// them without plans, which is not what the service sees.
pub fn users_without_recorded_plans<'s>(state: &'s TenantState, outcome: &Outcome) -> Vec<&'s str> {
    state
        .users
        .iter()
        .zip(&outcome.users)
        .filter(|(user, held)| user.assigned_plans.is_empty() && !held.effective.is_empty())
        .map(|(user, _)| user.upn.as_str())
        .collect()
}

/// Whether some rule of `book` reads `user.assignedPlans` (then the state records them, and an
/// apply on the file backend updates them).
pub fn reads_assigned_plans(book: &RuleBook) -> bool {
    book.properties()
        .any(|property| property.ty() == PropertyType::AssignedPlans)
}

/// Follows the rules that read licenses after the plan's steps; `None` when no group's rule
/// reads them or none of them moves anyone.
pub fn cascade(inputs: &Inputs<'_>) -> Option<Cascade> {
    let groups = reading_groups(inputs.target, inputs.book);
    if groups.is_empty() {
        return None;
    }
    let reported = Reported::new(inputs.catalog, inputs.state);
    let mut members: Vec<Vec<UserIdx>> = Vec::new();
    let mut latest: Option<Outcome> = None;
    let mut rounds: Vec<Outcome> = Vec::new();
    let mut processed: Vec<UserIdx> = inputs.moved.to_vec();
    // Users whose plans the steps left as they were read as the rules saw them already.
    let mut pending: Vec<UserIdx> = inputs
        .moved
        .iter()
        .copied()
        .filter(|user| changed(inputs.before, inputs.after, *user))
        .collect();
    let mut settled = false;
    // Every group some round moved users into or out of.
    let mut changed_groups: Vec<usize> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let current_members: &[Vec<UserIdx>] = if members.is_empty() {
            inputs.members
        } else {
            &members
        };
        let outcome = latest.as_ref().unwrap_or(inputs.after);
        let changes = evaluate(
            inputs,
            &groups,
            &reported,
            outcome,
            current_members,
            &pending,
        );
        if changes.is_empty() {
            settled = true;
            break;
        }
        let mut next = current_members.to_vec();
        for (group, user, selected) in &changes {
            if !changed_groups.contains(group) {
                changed_groups.push(*group);
            }
            let list = &mut next[*group];
            match (list.binary_search(user), selected) {
                (Err(at), true) => list.insert(at, *user),
                (Ok(at), false) => {
                    list.remove(at);
                }
                _ => {}
            }
        }
        let (stepped, touched) = engine::step_touching(
            inputs.catalog,
            Before {
                outcome,
                scenario: inputs.target,
                memberships: current_members,
            },
            inputs.target,
            &next,
            &[],
        );
        // The next round evaluates the users whose plans this one changed.
        pending = touched
            .iter()
            .copied()
            .filter(|user| changed(outcome, &stepped, *user))
            .collect();
        processed.extend(touched);
        rounds.push(
            latest
                .replace(stepped)
                .unwrap_or_else(|| inputs.after.clone()),
        );
        members = next;
        if pending.is_empty() {
            settled = true;
            break;
        }
    }
    let after = latest?;
    processed.sort_unstable();
    processed.dedup();
    let moved_members = groups
        .iter()
        .filter(|group| changed_groups.contains(group))
        .filter_map(|&group| {
            let (old, new) = (&inputs.members[group], &members[group]);
            let joining: Vec<UserIdx> = new
                .iter()
                .filter(|user| old.binary_search(user).is_err())
                .copied()
                .collect();
            let leaving: Vec<UserIdx> = old
                .iter()
                .filter(|user| new.binary_search(user).is_err())
                .copied()
                .collect();
            // Rules that have not settled are reported even where the users moved back.
            (!settled || !joining.is_empty() || !leaving.is_empty()).then_some(Moved {
                group,
                joining,
                leaving,
            })
        })
        .collect();
    Some(Cascade {
        rounds,
        after,
        members,
        moved_members,
        processed,
        settled,
    })
}

/// Whether `user`'s effective plans differ between two outcomes.
fn changed(was: &Outcome, now: &Outcome, user: UserIdx) -> bool {
    let index = user.0 as usize;
    match (was.users.get(index), now.users.get(index)) {
        (Some(was), Some(now)) => was.effective != now.effective,
        (None, None) => false,
        _ => true,
    }
}

/// The `assignedPlans` Graph reports after the change for each of `users` whose plans it changes
/// (from `before` to `after`), in the order of `users`: what an apply on the file backend records.
pub fn reported_plans(
    catalog: &Catalog,
    state: &TenantState,
    before: &Outcome,
    after: &Outcome,
    users: &[UserIdx],
) -> Vec<(UserIdx, Vec<AssignedPlan>)> {
    let reported = Reported::new(catalog, state);
    let empty = PlanSet::new();
    users
        .iter()
        .copied()
        .filter(|user| (user.0 as usize) < state.users.len() && changed(before, after, *user))
        .map(|user| {
            let index = user.0 as usize;
            let was = before.users.get(index).map_or(&empty, |u| &u.effective);
            let now = after.users.get(index).map_or(&empty, |u| &u.effective);
            (
                user,
                reported.plans(&state.users[index].assigned_plans, was, now),
            )
        })
        .collect()
}

/// The membership changes one evaluation finds: (group, user, whether the rule selects the user
/// now) for every user of `users` whose membership in one of `groups` differs from `members`.
fn evaluate(
    inputs: &Inputs<'_>,
    groups: &[usize],
    reported: &Reported<'_>,
    outcome: &Outcome,
    members: &[Vec<UserIdx>],
    users: &[UserIdx],
) -> Vec<(usize, UserIdx, bool)> {
    let rows: Vec<UserIdx> = users
        .iter()
        .copied()
        .filter(|user| (user.0 as usize) < inputs.state.users.len())
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let states: Vec<UserState> = rows
        .iter()
        .map(|user| {
            let index = user.0 as usize;
            let mut state = inputs.desired.user(inputs.state, index).clone();
            let empty = PlanSet::new();
            let was = inputs
                .before
                .users
                .get(index)
                .map_or(&empty, |u| &u.effective);
            let now = outcome.users.get(index).map_or(&empty, |u| &u.effective);
            state.assigned_plans = reported.plans(&state.assigned_plans, was, now);
            state
        })
        .collect();
    let table = user_table_of(&states, inputs.book);
    let recorded = RecordedMembers::over_rows(inputs.target, &rows);
    let context = EvalContext::new(inputs.now, &recorded);
    let mut changes = Vec::new();
    for &group in groups {
        let Some(rule) = inputs.target.groups[group].rule.as_deref() else {
            continue;
        };
        let prepared = inputs.book.get(rule);
        let Ok(compiled) = &prepared.compiled else {
            continue;
        };
        for (row, user) in rows.iter().enumerate() {
            let selected = compiled.matches(&table, &context, row as u32);
            let member = members[group].binary_search(user).is_ok();
            if selected != member {
                changes.push((group, *user, selected));
            }
        }
    }
    changes
}

/// The `assignedPlans` Graph reports for users whose plans changed.
struct Reported<'a> {
    catalog: &'a Catalog,
    state: &'a TenantState,
    /// The `service` of each service plan id (lower-case) some user's recorded `assignedPlans`
    /// names, found the first time a user gains a plan without an entry for it.
    services: OnceLock<crate::hash::Map<String, String>>,
}

impl<'a> Reported<'a> {
    fn new(catalog: &'a Catalog, state: &'a TenantState) -> Self {
        Reported {
            catalog,
            state,
            services: OnceLock::new(),
        }
    }

    /// `recorded` after the user's plans went from `was` to `now`: each plan lost `Deleted`, each
    /// plan gained `Enabled` (an entry of its own when the user had none for it), every other
    /// entry as recorded.
    fn plans(&self, recorded: &[AssignedPlan], was: &PlanSet, now: &PlanSet) -> Vec<AssignedPlan> {
        plans_after(self.catalog, recorded, was, now, |id| {
            self.services
                .get_or_init(|| services(self.state))
                .get(id)
                .cloned()
        })
    }
}

/// The `service` of every service plan id (lower-case) the users' recorded `assignedPlans` name.
fn services(state: &TenantState) -> crate::hash::Map<String, String> {
    let mut services = crate::hash::Map::default();
    for plan in state.users.iter().flat_map(|user| &user.assigned_plans) {
        if let Some(service) = &plan.service {
            services
                .entry(plan.service_plan_id.to_ascii_lowercase())
                .or_insert_with(|| service.clone());
        }
    }
    services
}

/// `recorded` `assignedPlans` after the user's effective plans went from `was` to `now`: a plan
/// lost is reported `Deleted`, a plan gained `Enabled` (appended when `recorded` has no entry for
/// it, its `service` from `service_of`), every other entry as recorded. What Graph reports once
/// the service has processed the change, and what a rule on `user.assignedPlans` reads.
pub fn plans_after(
    catalog: &Catalog,
    recorded: &[AssignedPlan],
    was: &PlanSet,
    now: &PlanSet,
    service_of: impl Fn(&str) -> Option<String>,
) -> Vec<AssignedPlan> {
    let lost = was.difference(now);
    let gained = now.difference(was);
    let id = |plan| catalog.plan(plan).id.as_str();
    let mut plans: Vec<AssignedPlan> = recorded
        .iter()
        .map(|entry| {
            let named = |set: &PlanSet| {
                set.iter()
                    .any(|plan| id(plan).eq_ignore_ascii_case(&entry.service_plan_id))
            };
            let mut entry = entry.clone();
            if named(&lost) {
                entry.capability_status = DELETED.to_string();
            } else if named(&gained) {
                entry.capability_status = ENABLED.to_string();
            }
            entry
        })
        .collect();
    for plan in gained.iter() {
        let plan_id = id(plan);
        if !recorded
            .iter()
            .any(|entry| entry.service_plan_id.eq_ignore_ascii_case(plan_id))
        {
            plans.push(AssignedPlan {
                service_plan_id: plan_id.to_string(),
                capability_status: ENABLED.to_string(),
                service: service_of(plan_id),
            });
        }
    }
    plans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(catalog: &Catalog, name: &str) -> crate::catalog::PlanId {
        catalog.resolve_plan(name).unwrap()
    }

    fn entry(id: &str, status: &str) -> AssignedPlan {
        AssignedPlan {
            service_plan_id: id.to_string(),
            capability_status: status.to_string(),
            service: Some("exchange".to_string()),
        }
    }

    #[test]
    fn a_lost_plan_is_deleted_a_gained_one_enabled_and_the_rest_kept() {
        let catalog = Catalog::builtin();
        let exchange = plan(catalog, "EXCHANGE_S_ENTERPRISE");
        let sway = plan(catalog, "SWAY");
        let teams = plan(catalog, "TEAMS1");
        let exchange_id = catalog.plan(exchange).id.clone();
        let sway_id = catalog.plan(sway).id.clone();
        let teams_id = catalog.plan(teams).id.clone();
        let mut was = PlanSet::new();
        was.insert(exchange);
        was.insert(teams);
        let mut now = PlanSet::new();
        now.insert(teams);
        now.insert(sway);
        let recorded = vec![
            entry(&exchange_id.to_uppercase(), ENABLED),
            entry(&teams_id, ENABLED),
            entry("00000000-0000-0000-0000-000000000001", "Suspended"),
        ];
        let plans = plans_after(catalog, &recorded, &was, &now, |id| {
            (id == sway_id).then(|| "Sway".to_string())
        });
        let statuses: Vec<(&str, &str, Option<&str>)> = plans
            .iter()
            .map(|plan| {
                (
                    plan.service_plan_id.as_str(),
                    plan.capability_status.as_str(),
                    plan.service.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                (
                    exchange_id.to_uppercase().as_str(),
                    DELETED,
                    Some("exchange")
                ),
                (teams_id.as_str(), ENABLED, Some("exchange")),
                (
                    "00000000-0000-0000-0000-000000000001",
                    "Suspended",
                    Some("exchange")
                ),
                (sway_id.as_str(), ENABLED, Some("Sway")),
            ]
        );
    }

    #[test]
    fn a_plan_regained_is_enabled_again_in_its_own_entry() {
        let catalog = Catalog::builtin();
        let exchange = plan(catalog, "EXCHANGE_S_ENTERPRISE");
        let exchange_id = catalog.plan(exchange).id.clone();
        let mut now = PlanSet::new();
        now.insert(exchange);
        let plans = plans_after(
            catalog,
            &[entry(&exchange_id, DELETED)],
            &PlanSet::new(),
            &now,
            |_| None,
        );
        assert_eq!(plans, vec![entry(&exchange_id, ENABLED)]);
    }
}
