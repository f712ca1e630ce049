//! Round-trip properties over generated tenants (the engine's tenant generator), with and without
//! recorded license states: a config exported from a tenant plans to no change; after applying
//! any config, planning it again shows no change and starts from what the first plan predicted;
//! a tenant without recorded states predicts what the same tenant predicts once `apply` recorded
//! them; users no step touches keep what the service holds; a step that processes only the users
//! it touches ends where processing everyone does; and a state saved as YAML or JSON loads back
//! equal.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::{applied_state, evaluate, export::config_from_state, Inputs};
use crate::backend::render_state;
use crate::catalog::{Catalog, ProductId};
use crate::config::valid::validate;
use crate::config::{GroupSpec, LicenseSpec, LoadedConfig};
use crate::diag::Diagnostic;
use crate::engine::memory::ServiceMemory;
use crate::engine::properties::{changed, raw, state};
use crate::engine::{self, Before, Mode, Outcome};
use crate::render::diagnostics::to_json;
use crate::source::{SourceId, Sources};
use crate::tenant::index::{Tenant, UserIdx};
use crate::tenant::model::TenantState;
use crate::tenant::parse::{parse_state, Format};

fn plan(config: &crate::config::Config, state: &TenantState) -> super::Planned {
    plan_comparing(config, state, super::Compared::Moved)
}

fn plan_comparing(
    config: &crate::config::Config,
    state: &TenantState,
    compared: super::Compared,
) -> super::Planned {
    let loaded = LoadedConfig {
        config: config.clone(),
        ..LoadedConfig::default()
    };
    let (valid, _) = match validate(loaded, Catalog::builtin()) {
        Ok(valid) => valid,
        Err(problems) => panic!("the config is valid: {problems:?}"),
    };
    let sources = Sources::new();
    let record = |diagnostic: &Diagnostic| to_json(diagnostic, &sources);
    let inputs = Inputs::allowing_everything(&valid, state, &record);
    match super::compute_comparing(&inputs, &mut |_| {}, compared) {
        Ok(planned) => planned,
        Err(problems) => panic!("the plan computes: {problems:?}"),
    }
}

/// The state as `apply` records it when nothing changes: every license state the service holds.
fn recorded(state: &TenantState) -> TenantState {
    applied_state(
        Catalog::builtin(),
        state,
        &plan(&config_from_state(state), state),
    )
}

/// An outcome by names: per user (UPN) the effective plans and the assignments by group name.
type Named = Vec<(
    String,
    crate::catalog::PlanSet,
    Vec<(String, crate::catalog::ProductId, String)>,
)>;

fn named(tenant: &crate::tenant::index::Tenant, outcome: &crate::engine::Outcome) -> Named {
    outcome
        .users
        .iter()
        .enumerate()
        .map(|(index, user)| {
            let mut assignments: Vec<_> = user
                .assignments
                .iter()
                .map(|assignment| {
                    let source = match assignment.source {
                        crate::tenant::index::Source::Direct => String::new(),
                        crate::tenant::index::Source::Group(group) => {
                            tenant.group_at(group).id.to_string()
                        }
                    };
                    let state = format!("{:?} {:?}", assignment.state, assignment.error);
                    (source, assignment.product, state)
                })
                .collect();
            assignments.sort();
            (
                tenant.users[index].upn.to_string(),
                user.effective.clone(),
                assignments,
            )
        })
        .collect()
}

fn evaluated(state: &TenantState) -> super::Evaluated {
    evaluate(
        Catalog::builtin(),
        state,
        SourceId(0),
        jiff::Timestamp::UNIX_EPOCH,
    )
    .expect("generated tenants are consistent")
}

/// `state` as the service holds it: without the direct licenses the service refused (a refused
/// `assignLicense` records nothing), evaluated.
fn as_held(mut state: TenantState) -> (TenantState, super::Evaluated) {
    let evaluated = evaluated(&state);
    if evaluated.outcome.refused.is_empty() {
        return (state, evaluated);
    }
    for refusal in &evaluated.outcome.refused {
        let sku = &Catalog::builtin().product(refusal.product).sku_part_number;
        let user = &mut state.users[refusal.user.0 as usize];
        user.licenses.retain(|license| &license.sku != sku);
    }
    let evaluated = super::evaluate(
        Catalog::builtin(),
        &state,
        SourceId(0),
        jiff::Timestamp::UNIX_EPOCH,
    )
    .expect("generated tenants are consistent");
    (state, evaluated)
}

/// The users in error, found by looking at every user.
fn scanned_errors(outcome: &Outcome) -> Vec<UserIdx> {
    outcome
        .users
        .iter()
        .enumerate()
        .filter(|(_, user)| user.errors().next().is_some())
        .map(|(index, _)| UserIdx(index as u32))
        .collect()
}

/// The users `needs-reprocess` names, found as they were before outcomes listed their users in
/// error: every user's errors looked at, before and after each reprocess.
fn retryable_scanning_everyone(
    current: &super::Evaluated,
    target: &Tenant,
    members: &engine::Memberships,
    after: &Outcome,
) -> Vec<UserIdx> {
    // Per user, the (source, product) of every assignment in error.
    let errors = |outcome: &Outcome| -> Vec<Vec<(crate::tenant::index::Source, ProductId)>> {
        outcome
            .users
            .iter()
            .map(|user| {
                user.errors()
                    .map(|assignment| (assignment.source, assignment.product))
                    .collect()
            })
            .collect()
    };
    // Per user, the errors a reprocess of everyone in error resolves.
    let resolved = |outcome: &Outcome, scenario: &Tenant, members: &engine::Memberships| {
        let before = Before {
            outcome,
            scenario,
            memberships: members,
        };
        let users = scanned_errors(outcome);
        let retried = errors(&engine::step(
            Catalog::builtin(),
            before,
            scenario,
            members,
            &users,
        ));
        errors(outcome)
            .into_iter()
            .zip(retried)
            .map(|(was, still)| {
                was.into_iter()
                    .filter(|error| !still.contains(error))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let fixed_after = resolved(after, target, members);
    let fixed_before = resolved(
        &current.outcome,
        &current.tenant,
        &current.memberships.members,
    );
    (0..fixed_after.len())
        .filter(|&user| {
            fixed_after[user].iter().any(|error| {
                fixed_before
                    .get(user)
                    .is_none_or(|before| !before.contains(error))
            })
        })
        .map(|user| UserIdx(user as u32))
        .collect()
}

/// Two outcomes agree: users, seats, groups, the users in error (as a look at every user finds
/// them), and refusals in any order.
fn same_outcome(a: &Outcome, b: &Outcome) -> Result<(), TestCaseError> {
    prop_assert_eq!(&a.users, &b.users);
    prop_assert_eq!(&a.seats, &b.seats);
    prop_assert_eq!(&a.groups, &b.groups);
    prop_assert_eq!(&a.users_in_error, &scanned_errors(a));
    prop_assert_eq!(&a.users_in_error, &b.users_in_error);
    let refusals = |outcome: &Outcome| {
        let mut refusals: Vec<_> = outcome
            .refused
            .iter()
            .map(|refusal| (refusal.user, refusal.product, refusal.error))
            .collect();
        refusals.sort();
        refusals
    };
    prop_assert_eq!(refusals(a), refusals(b));
    Ok(())
}

/// A generated tenant (`raw`, with its license states recorded when `with_states`) and the
/// config exported from `raw` changed toward `to` at `picks`.
fn edited(
    raw: &crate::engine::properties::Raw,
    to: &crate::engine::properties::Raw,
    picks: u64,
    with_states: bool,
) -> (TenantState, crate::config::Config) {
    (
        starting(raw, with_states),
        config_from_state(&state(&changed(raw, to, picks))),
    )
}

/// The generated tenant `raw`, with the license states `apply` records when `with_states`.
fn starting(raw: &crate::engine::properties::Raw, with_states: bool) -> TenantState {
    let fresh = state(raw);
    if with_states {
        recorded(&fresh)
    } else {
        fresh
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Processing only the touched users gives the same memory as processing everyone.
    ///
    /// The invariant, precisely: let the service hold the memory it has after processing a
    /// tenant A as it stands (`ServiceMemory::settle`: recorded assignments keep their state,
    /// unrecorded ones processed in the service's order), A being what the service holds — no
    /// direct license it refused, since a refused call records nothing. Let B be A with any
    /// users' locations, departments (so dynamic memberships) and direct licenses, any groups'
    /// members, products, security flags and rules, and the default location changed. Then
    /// `engine::step` from A to B, which processes only `engine::touched(A, B)`, ends with the same
    /// outcome (every user's assignments, states and errors, the seats, the groups' statuses, the
    /// refusals) — and so the same memory — as `engine::run` of B from A's memory over every
    /// user. It holds because every unit of an untouched user is one the service processed as it
    /// stands: its group's content and its membership are unchanged, so it is settled in both
    /// (active assignments keep their seats, errors stay errors: nothing retries them), and the
    /// seats it holds count against the touched users in both. The same holds for a reprocess of
    /// the users in error (users without errors have nothing a reprocess retries).
    ///
    /// It does not hold when A's memory lacks what A asks for: a direct assignment the service
    /// refused in A (processing everyone calls for it again; a step calls only for the users it
    /// touches), or an assignment the memory records under other content than the group's (a
    /// change that failed and kept a product the group no longer assigns, which processing
    /// everyone would try again). Both are the service not retrying by itself, which the step
    /// follows.
    #[test]
    fn processing_only_the_touched_users_gives_the_same_memory_as_processing_everyone(
        raw in raw(),
        to in raw(),
        picks in any::<u64>(),
        with_states in any::<bool>(),
    ) {
        let (_, a) = as_held(starting(&raw, with_states));
        prop_assume!(a.outcome.refused.is_empty());
        let b = evaluated(&state(&changed(&raw, &to, picks)));
        let catalog = Catalog::builtin();
        let before = Before {
            outcome: &a.outcome,
            scenario: &a.tenant,
            memberships: &a.memberships.members,
        };
        let everyone = engine::run(catalog, &a.memory, &b.tenant, &b.memberships.members, Mode::Predict);
        let stepped = engine::step(catalog, before, &b.tenant, &b.memberships.members, &[]);
        same_outcome(&stepped, &everyone)?;
        prop_assert_eq!(
            ServiceMemory::after(&stepped, &b.tenant),
            ServiceMemory::after(&everyone, &b.tenant)
        );
        // A reprocess of everyone in error, from A's memory.
        let in_error = scanned_errors(&a.outcome);
        let everyone = engine::run(catalog, &a.memory, &a.tenant, &a.memberships.members, Mode::Reprocess);
        let stepped = engine::step(catalog, before, &a.tenant, &a.memberships.members, &in_error);
        same_outcome(&stepped, &everyone)?;
    }

    #[test]
    fn a_tenant_without_recorded_states_predicts_what_it_records(raw in raw()) {
        let fresh = state(&raw);
        let with_states = recorded(&fresh);
        let (a, b) = (evaluated(&fresh), evaluated(&with_states));
        prop_assert_eq!(named(&a.tenant, &a.outcome), named(&b.tenant, &b.outcome));
        prop_assert_eq!(&a.memory.users, &b.memory.users);
    }

    #[test]
    fn an_exported_config_plans_to_no_change(raw in raw()) {
        let state = state(&raw);
        let planned = plan(&config_from_state(&state), &state);
        prop_assert!(planned.document.changes.is_empty(), "{:#?}", planned.document.changes);
    }

    #[test]
    fn after_apply_the_same_config_plans_to_no_change(raw in raw(), keep in 0usize..4, extra in 0usize..30) {
        let state = state(&raw);
        // A change: every exported static group keeps only some of its members, and a new group
        // assigns EMS to one more user.
        let mut config = config_from_state(&state);
        for spec in config.groups.iter_mut().flat_map(|groups| groups.values_mut()) {
            if let Some(members) = &mut spec.members {
                let kept = members.len() * keep / 4;
                members.truncate(kept);
            }
        }
        if let Some(user) = state.users.get(extra % state.users.len().max(1)) {
            config.groups.get_or_insert_with(Default::default).insert(
                "Round trip".to_string(),
                GroupSpec {
                    members: Some(vec![crate::config::MemberSpec::user(user.upn.clone())]),
                    licenses: Some(vec![LicenseSpec { sku: "EMS".into(), ..LicenseSpec::default() }]),
                    ..GroupSpec::default()
                },
            );
        }
        for state in [state.clone(), recorded(&state)] {
        let first = plan(&config, &state);
        let applied = applied_state(Catalog::builtin(), &state, &first);
        // The second plan starts from what the first one predicted.
        let again = evaluated(&applied);
        prop_assert_eq!(named(&again.tenant, &again.outcome), named(&first.target, &first.after));
        // Users no step touches (not managed, in no changed group before or after) keep exactly
        // what the service held.
        let before = evaluated(&state);
        let mut touched = vec![false; state.users.len()];
        for (_, index) in &first.desired.managed_users {
            touched[*index] = true;
        }
        for group in first.desired.groups.keys() {
            for members in [before.memberships.members.get(*group), first.after_memberships.members.get(*group)].into_iter().flatten() {
                for member in members {
                    touched[member.0 as usize] = true;
                }
            }
        }
        let (old, new) = (named(&before.tenant, &before.outcome), named(&first.target, &first.after));
        for (index, untouched) in touched.iter().map(|touched| !touched).enumerate() {
            if untouched {
                prop_assert_eq!(&old[index], &new[index]);
            }
        }
        // The file records what the engine predicted: one state per group assignment.
        for (user, outcome) in applied.users.iter().zip(&first.after.users) {
            let predicted = outcome
                .assignments
                .iter()
                .filter(|assignment| matches!(assignment.source, crate::tenant::index::Source::Group(_)))
                .count();
            prop_assert_eq!(user.license_states.len(), predicted, "{}", user.upn);
        }
        let second = plan(&config, &applied);
        prop_assert!(second.document.changes.is_empty(), "{:#?}", second.document.changes);
        prop_assert_eq!(&second.document.impact.users, &Vec::new());
        // The config keeps every rule: a dynamic group whose recorded members lag behind its
        // rule still does (the service has not processed it; apply does not pretend it has),
        // except for users a rule on licenses was evaluated again for (`plan::cascade`).
        let pending = |planned: &super::Planned| {
            planned
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.code == crate::diag::Code::MembershipPending)
                .filter_map(|diagnostic| diagnostic.message.split('`').nth(1).map(str::to_string))
                .collect::<BTreeSet<_>>()
        };
        // A group whose rule reads assignedPlans the first state did not record is not
        // reported as lagging then (`assigned-plans-unknown` is): the apply recorded them.
        let unknown: BTreeSet<String> = first
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.code == crate::diag::Code::AssignedPlansUnknown)
            .flat_map(|diagnostic| {
                diagnostic
                    .message
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let (before, after) = (pending(&first), pending(&second));
        let after: BTreeSet<String> = after.difference(&unknown).cloned().collect();
        prop_assert!(after.is_subset(&before), "pending memberships stay pending: {:?} then {:?}", before, after);
        let licenses_read = state
            .groups
            .iter()
            .any(|group| group.rule.as_deref().is_some_and(|rule| rule.contains("assignedPlans")));
        if !licenses_read {
            prop_assert_eq!(after, before, "pending memberships stay pending");
        }
        }
    }

    /// The impact and the checks compare only the users some step processed; comparing every
    /// user gives exactly the same impact and diagnostics.
    #[test]
    fn comparing_the_moved_users_equals_comparing_everyone(
        raw in raw(),
        to in raw(),
        picks in any::<u64>(),
        with_states in any::<bool>(),
    ) {
        let (from, config) = edited(&raw, &to, picks, with_states);
        let moved = plan_comparing(&config, &from, super::Compared::Moved);
        let everyone = plan_comparing(&config, &from, super::Compared::Everyone);
        prop_assert_eq!(
            serde_json::to_value(&moved.document.impact).expect("impact"),
            serde_json::to_value(&everyone.document.impact).expect("impact")
        );
        let shown = |planned: &super::Planned| -> Vec<String> {
            planned
                .diagnostics
                .iter()
                .map(|diagnostic| format!("{diagnostic:?}"))
                .collect()
        };
        prop_assert_eq!(shown(&moved), shown(&everyone));
    }

    /// The users `needs-reprocess` names, found from the users in error that the outcomes list,
    /// are those a look at every user's errors finds; the outcomes before and after list their
    /// users in error as such a look finds them.
    #[test]
    fn the_users_a_reprocess_would_fix_are_found_from_the_users_in_error(
        raw in raw(),
        to in raw(),
        picks in any::<u64>(),
        with_states in any::<bool>(),
    ) {
        let (from, config) = edited(&raw, &to, picks, with_states);
        let planned = plan(&config, &from);
        let current = evaluated(&from);
        prop_assert_eq!(&current.outcome.users_in_error, &scanned_errors(&current.outcome));
        prop_assert_eq!(&planned.after.users_in_error, &scanned_errors(&planned.after));
        let members = &planned.after_memberships.members;
        prop_assert_eq!(
            super::retry::retryable_after(
                Catalog::builtin(), &current, &planned.target, members, &planned.after, &planned.moved,
            ),
            retryable_scanning_everyone(&current, &planned.target, members, &planned.after)
        );
    }

    #[test]
    fn a_saved_state_loads_back_equal(raw in raw()) {
        let state = state(&raw);
        for format in [Format::Yaml, Format::Json] {
            let text = render_state(&state, format).expect("the state renders");
            let (loaded, _) = parse_state(SourceId(0), &text, format).expect("the rendered state parses");
            prop_assert_eq!(&loaded, &state);
        }
    }
}
