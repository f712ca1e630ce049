//! The planner: from a loaded config and the current tenant to a plan — the desired state
//! ([`desired`]), the changes ([`diff`]), the engine's before/after [`impact`] and the safety
//! [`checks`], gathered in a [`document::PlanDocument`]; and the views of the tenant as it is:
//! the licensing [`report`] and what [`reprocess`]ing its errors would do.

pub mod cascade;
pub mod checks;
pub mod dependencies;
pub mod desired;
pub mod diff;
pub mod document;
pub mod export;
pub mod impact;
pub mod reorder;
pub mod report;
pub mod reprocess;
pub mod retry;
#[cfg(test)]
mod roundtrips;
pub mod simulate;
pub mod steps;

use jiff::Timestamp;

use crate::catalog::{Catalog, PlanId, ProductId};
use crate::config::valid::ValidConfig;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::engine::{self, memory::ServiceMemory, Outcome};
use crate::rules::RuleBook;
use crate::source::SourceId;
use crate::tenant::index::{self, Tenant};
use crate::tenant::membership::{
    memberships_after, processed_memberships, user_table_of, Memberships, Reuse,
};
use crate::tenant::model::TenantState;

pub use checks::Overrides;
use document::{Action, PlanDocument, Summary, FORMAT_VERSION};

/// What a plan is computed from.
pub struct Inputs<'a> {
    /// The config, validated against its catalog (which has the config's additions).
    pub config: &'a ValidConfig,
    /// The current tenant state.
    pub state: &'a TenantState,
    /// The state's source, for diagnostics about it.
    pub state_source: SourceId,
    /// `sha256:…` of the state file.
    pub state_fingerprint: String,
    /// `sha256:…` of the config files.
    pub config_fingerprint: String,
    /// The instant `system.now` means in rules.
    pub now: Timestamp,
    /// Command-line overrides of the safety settings.
    pub overrides: Overrides,
    /// Findings from before planning (the config's warnings), recorded in the document ahead of
    /// the checks' findings.
    pub warnings: &'a [Diagnostic],
    /// How a diagnostic is recorded in the plan document: the caller holds the sources its
    /// locations resolve to (see [`crate::render::diagnostics::to_json`]).
    pub record: &'a (dyn Fn(&Diagnostic) -> serde_json::Value + Sync),
}

impl<'a> Inputs<'a> {
    /// Inputs that plan `config` against `state` allowing what the safety settings would refuse
    /// (license loss, the removal threshold) and without reprocess steps: for tools and tests
    /// that want the plan computed whatever it does. The state is source 0, without
    /// fingerprints or earlier warnings, and `system.now` is the Unix epoch.
    pub fn allowing_everything(
        config: &'a ValidConfig,
        state: &'a TenantState,
        record: &'a (dyn Fn(&Diagnostic) -> serde_json::Value + Sync),
    ) -> Self {
        Inputs {
            config,
            state,
            state_source: SourceId(0),
            state_fingerprint: String::new(),
            config_fingerprint: String::new(),
            now: Timestamp::UNIX_EPOCH,
            overrides: Overrides {
                allow_license_loss: true,
                force: true,
                reprocess: false,
            },
            warnings: &[],
            record,
        }
    }
}

/// A computed plan and everything needed to show, save or apply it.
pub struct Planned {
    /// The document, its diagnostics recorded with [`Inputs::record`]; `plan` and `apply`
    /// [seal](PlanDocument::seal) it before they show or save it.
    pub document: PlanDocument,
    /// The checks' findings, with locations in the config.
    pub diagnostics: Vec<Diagnostic>,
    /// The desired state.
    pub desired: desired::Desired,
    /// The desired tenant, indexed.
    pub target: Tenant,
    /// The engine's outcome after the change (what `apply` records as license states).
    pub after: Outcome,
    /// Effective memberships after the change (what `apply` records as dynamic groups' members).
    pub after_memberships: Memberships,
    /// The service calls of the plan in order, or why they cannot be derived (a name with no
    /// id: the Graph backend cannot send such a plan).
    pub steps: Result<Vec<steps::Step>, Diagnostic>,
    /// Users reprocessed after the steps (`--reprocess`): object id and UPN, in order.
    pub reprocess: Vec<(String, String)>,
    /// The `assignedPlans` Graph reports after the change for the users whose plans it changes,
    /// when some rule reads them (what `apply` records; empty otherwise, as a read of the tenant
    /// then does not ask for them).
    pub assigned_plans: Vec<(index::UserIdx, Vec<crate::tenant::model::AssignedPlan>)>,
    /// The users the plan's steps, cascades and reprocesses processed, sorted: everyone else
    /// keeps what the service held before the change.
    pub moved: Vec<index::UserIdx>,
    /// With reprocess steps (`--reprocess`): the service's outcome after the other steps, before
    /// the reprocesses (what the audit log records between them).
    pub before_reprocess: Option<Outcome>,
}

/// The current tenant indexed, its memberships and the engine's outcome for it.
pub struct Evaluated {
    /// The indexed tenant.
    pub tenant: Tenant,
    /// The users' attributes as rules read them.
    pub table: crate::rules::UserTable,
    /// Effective memberships.
    pub memberships: Memberships,
    /// What the licensing service holds for the tenant as it stands (recorded states, and what
    /// it would make of the assignments the state does not record).
    pub memory: ServiceMemory,
    /// The engine's outcome (what [`Evaluated::memory`] describes).
    pub outcome: Outcome,
}

/// Indexes a state, evaluates its dynamic groups and settles the service's memory of it (as the
/// service would leave it once it has processed everything it knows).
pub fn evaluate(
    catalog: &Catalog,
    state: &TenantState,
    source: SourceId,
    now: Timestamp,
) -> Result<Evaluated, Diagnostics> {
    let book = RuleBook::new(
        state
            .groups
            .iter()
            .filter_map(|group| group.rule.as_deref()),
    );
    evaluate_observed(catalog, state, source, now, &book, &mut |_| {})
}

/// [`evaluate`] with the rules prepared in `book` (the state's, and a config's, so that the same
/// user table serves the desired state), reporting phases.
fn evaluate_observed(
    catalog: &Catalog,
    state: &TenantState,
    source: SourceId,
    now: Timestamp,
    book: &RuleBook,
    phase_done: &mut dyn FnMut(&'static str),
) -> Result<Evaluated, Diagnostics> {
    // The index and the rules' table both read every user and neither needs the other: they are
    // built side by side (the table on one core, the index on what is left).
    let (tenant, table) = rayon::join(
        || index::build(state, catalog, source),
        || user_table_of(&state.users, book),
    );
    let tenant = tenant?;
    phase_done("index, user table");
    let memberships = processed_memberships(&tenant, &table, now, book);
    phase_done("rules");
    let (memory, outcome) = ServiceMemory::settle(catalog, &tenant, &memberships.members);
    phase_done("engine");
    Ok(Evaluated {
        tenant,
        table,
        memberships,
        memory,
        outcome,
    })
}

/// The catalog as the tenant sees it: every subscribed product extended with the service plans
/// Graph lists for it that the catalog does not (plans Microsoft added since the catalog was
/// published), and a skuPartNumber several products share naming the one the tenant subscribes
/// to. Returns `None` when no subscription adds anything (the usual case: the catalog is
/// then used as it is, without a copy), else the grown catalog and the (product, plan) pairs
/// that were added.
pub fn tenant_catalog(
    catalog: &Catalog,
    state: &TenantState,
) -> Option<(Catalog, Vec<(ProductId, PlanId)>)> {
    let mut grown: Option<Catalog> = None;
    let mut added = Vec::new();
    // A skuPartNumber several products share names, in this tenant, the one it subscribes to
    // (by skuId): its files (Graph's import, an apply's license states) write the part number.
    let subscribed: Vec<ProductId> = state
        .subscriptions
        .iter()
        .filter_map(|subscription| {
            catalog
                .resolve_product(subscription.id.as_deref().unwrap_or(&subscription.sku))
                .ok()
        })
        .collect();
    for &product in &subscribed {
        let current = grown.as_ref().unwrap_or(catalog);
        let part_number = &current.product(product).sku_part_number;
        // Only where the tenant has one of the products: with both, the part number says nothing.
        let alone = subscribed
            .iter()
            .filter(|&&other| current.product(other).sku_part_number == *part_number)
            .count()
            == 1;
        if alone && current.shares_part_number(product) {
            grown = Some(current.preferring(product));
        }
    }
    for subscription in state
        .subscriptions
        .iter()
        .filter(|subscription| !subscription.plans.is_empty())
    {
        let current = grown.as_ref().unwrap_or(catalog);
        let Ok(product) =
            current.resolve_product(subscription.id.as_deref().unwrap_or(&subscription.sku))
        else {
            continue;
        };
        let plans: Vec<(String, String)> = subscription
            .plans
            .iter()
            .map(|plan| (plan.name.clone(), plan.id.clone()))
            .collect();
        if current.lists_all(product, &plans) {
            continue;
        }
        let (next, appended) = current.with_subscription_plans(product, &plans);
        added.extend(appended.into_iter().map(|plan| (product, plan)));
        grown = Some(next);
    }
    grown.map(|grown| (grown, added))
}

/// Computes the plan. Reference errors (unknown members, ambiguous groups, an inconsistent
/// state) are returned as `Err`; check findings are part of the plan.
pub fn compute(inputs: &Inputs<'_>) -> Result<Planned, Diagnostics> {
    compute_observed(inputs, &mut |_| {})
}

/// [`compute`], calling `phase_done` with the name of each phase as it ends (for the benchmark
/// tools, which time them).
pub fn compute_observed(
    inputs: &Inputs<'_>,
    phase_done: &mut dyn FnMut(&'static str),
) -> Result<Planned, Diagnostics> {
    compute_comparing(inputs, phase_done, Compared::Moved)
}

/// Which users the impact and the checks compare before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compared {
    /// The users some step processed: every other user's outcome is the same shared value
    /// before, between and after the steps, so comparing it finds nothing.
    Moved,
    /// Every user (what the restriction must equal; tests compare the two).
    #[cfg_attr(not(test), allow(dead_code))]
    Everyone,
}

/// [`compute_observed`], comparing the users `compared` selects.
fn compute_comparing(
    inputs: &Inputs<'_>,
    phase_done: &mut dyn FnMut(&'static str),
    compared: Compared,
) -> Result<Planned, Diagnostics> {
    let grown = tenant_catalog(&inputs.config.catalog, inputs.state);
    let (catalog, new_plans) = match &grown {
        Some((grown, added)) => (grown, added.as_slice()),
        None => (&*inputs.config.catalog, &[][..]),
    };
    // Every rule of the state and of the config, prepared once for the whole plan (the
    // config's were prepared when it was validated).
    let book = inputs.config.rules.with(
        inputs
            .state
            .groups
            .iter()
            .filter_map(|group| group.rule.as_deref()),
    );
    phase_done("rules prepared");
    let current = evaluate_observed(
        catalog,
        inputs.state,
        inputs.state_source,
        inputs.now,
        &book,
        phase_done,
    )?;
    let desired = desired::build(inputs.state, &current.tenant, inputs.config, catalog)?;
    phase_done("desired state");
    let target = desired.index(inputs.state, &current.tenant, catalog, inputs.state_source)?;
    phase_done("index (desired)");
    // Rules read user attributes, and the only attribute a config changes is the usage location:
    // unless one changes, the current table serves, and the rules of unchanged groups keep their
    // result.
    // A dynamic group the plan does not change keeps what the service has processed for it
    // (a difference between its rule and its recorded members stays pending).
    let target_memberships = if desired.changes_user_attributes(inputs.state) {
        let users = (0..inputs.state.users.len()).map(|index| desired.user(inputs.state, index));
        memberships_after(
            &target,
            &user_table_of(users, &book),
            inputs.now,
            (&current.tenant, &current.memberships),
            &book,
            Reuse::SameRuleAndLocation,
        )
    } else {
        memberships_after(
            &target,
            &current.table,
            inputs.now,
            (&current.tenant, &current.memberships),
            &book,
            Reuse::SameRule,
        )
    };
    phase_done("rules (desired)");
    let changes = diff::changes(
        catalog,
        inputs.state,
        &desired,
        &current.tenant,
        &current.memberships.members,
        &book,
    );
    let default_order = steps::steps(catalog, inputs.state, &changes, &[]);
    let mut ordered = default_order.clone();
    phase_done("diff");
    let reading_groups: Vec<usize> = target
        .groups
        .iter()
        .enumerate()
        .filter(|(_, group)| {
            group
                .rule
                .as_deref()
                .is_some_and(|rule| book.get(rule).reads_other_groups())
        })
        .map(|(index, _)| index)
        .collect();
    let endpoints = simulate::Endpoints {
        catalog,
        before: &current.outcome,
        current: &current.tenant,
        current_members: &current.memberships.members,
        target: &target,
        target_members: &target_memberships.members,
        desired: &desired,
        changes: &changes,
        releases: &[],
        steps: default_order.as_deref().unwrap_or(&[]),
        reading_groups: &reading_groups,
    };
    let mut simulation = simulate::simulate(&endpoints);
    // A direct call refused for a seat that a later removal frees: run that removal first when
    // it costs nobody anything (the one order is still decided by `steps::steps`).
    let mut reordered = Vec::new();
    if let Some(found) = ordered
        .as_ref()
        .ok()
        .and_then(|steps| reorder::find(&endpoints, steps, &simulation))
    {
        let order = steps::steps(catalog, inputs.state, &changes, &found.early);
        if let Ok(steps) = &order {
            reordered = reorder::describe(&endpoints, steps, &found.avoided);
        }
        ordered = order;
        simulation = found.simulation;
    }
    let mut phases = simulation.between;
    let mut after = simulation.after.outcome;
    let mut moved = simulation.moved;
    let mut cascaded_members = None;
    // Rules that read licenses catch up with the licensing the steps changed.
    let mut cascade_moves = Vec::new();
    let mut cascade_settled = true;
    let follow = |after: &Outcome, members: &[Vec<index::UserIdx>], moved: &[index::UserIdx]| {
        cascade::cascade(&cascade::Inputs {
            catalog,
            state: inputs.state,
            desired: &desired,
            target: &target,
            book: &book,
            now: inputs.now,
            before: &current.outcome,
            after,
            members,
            moved,
        })
    };
    if let Some(cascaded) = follow(&after, &target_memberships.members, &moved) {
        let mut rounds = cascaded.rounds.into_iter();
        if let Some(first) = rounds.next() {
            phases.push(simulate::PhaseOutcome {
                phase: simulation.after.phase,
                step: None,
                outcome: first,
            });
        }
        phases.extend(rounds.map(|outcome| simulate::PhaseOutcome {
            phase: simulate::Phase::Cascade,
            step: None,
            outcome,
        }));
        after = cascaded.after;
        cascaded_members = Some(cascaded.members);
        moved = cascaded.processed;
        cascade_moves = cascaded.moved_members;
        cascade_settled = cascaded.settled;
    }
    let after_members: &[Vec<index::UserIdx>] = cascaded_members
        .as_deref()
        .unwrap_or(&target_memberships.members);
    phase_done("engine (desired)");
    // `--reprocess`: one reprocess step per user in error whom a reprocess after the change
    // licenses (whether the change or something before it fixed the cause), simulated like any
    // other step after the rest; without it, the users the change would let succeed on a
    // reprocess are named (`needs-reprocess`).
    let (retryable, reprocess) = if inputs.overrides.reprocess {
        (
            Vec::new(),
            retry::fixable_after(catalog, &target, after_members, &after),
        )
    } else {
        (
            retry::retryable_after(catalog, &current, &target, after_members, &after, &moved),
            Vec::new(),
        )
    };
    let mut before_reprocess = None;
    if !reprocess.is_empty() {
        before_reprocess = Some(after.clone());
        let retried = engine::step(
            catalog,
            engine::Before {
                outcome: &after,
                scenario: &target,
                memberships: after_members,
            },
            &target,
            after_members,
            &reprocess,
        );
        phases.push(simulate::PhaseOutcome {
            phase: if cascade_moves.is_empty() {
                simulation.after.phase
            } else {
                simulate::Phase::Cascade
            },
            step: None,
            outcome: std::mem::replace(&mut after, retried),
        });
        moved.extend_from_slice(&reprocess);
        moved.sort_unstable();
        moved.dedup();
    }
    // A reprocess that licenses someone changes their plans too: the rules that read licenses
    // follow it as they follow the steps.
    let mut recascaded_members = None;
    if !reprocess.is_empty() {
        if let Some(cascaded) = follow(&after, after_members, &reprocess) {
            let previous = std::mem::replace(&mut after, cascaded.after);
            phases.push(simulate::PhaseOutcome {
                phase: simulate::Phase::Cascade,
                step: None,
                outcome: previous,
            });
            phases.extend(cascaded.rounds.into_iter().skip(1).map(|outcome| {
                simulate::PhaseOutcome {
                    phase: simulate::Phase::Cascade,
                    step: None,
                    outcome,
                }
            }));
            moved.extend(cascaded.processed);
            moved.sort_unstable();
            moved.dedup();
            // One entry per group over both cascades.
            for moved_members in cascaded.moved_members {
                match cascade_moves
                    .iter_mut()
                    .find(|earlier: &&mut cascade::Moved| earlier.group == moved_members.group)
                {
                    Some(earlier) => {
                        earlier.joining.extend(moved_members.joining);
                        earlier.leaving.extend(moved_members.leaving);
                        earlier.joining.sort_unstable();
                        earlier.joining.dedup();
                        earlier.leaving.sort_unstable();
                        earlier.leaving.dedup();
                    }
                    None => cascade_moves.push(moved_members),
                }
            }
            cascade_settled &= cascaded.settled;
            recascaded_members = Some(cascaded.members);
        }
    }
    let after_members: &[Vec<index::UserIdx>] =
        recascaded_members.as_deref().unwrap_or(after_members);
    let everyone: Vec<index::UserIdx>;
    let compared_users = if compared == Compared::Everyone {
        everyone = (0..target.users.len())
            .map(|index| index::UserIdx(index as u32))
            .collect();
        &everyone
    } else {
        &moved
    };
    let refused_calls = ordered.as_ref().map_or_else(
        |_| Vec::new(),
        |steps| reorder::refused_calls(&endpoints, steps, &after),
    );
    let addresses: crate::hash::Set<&str> = changes
        .iter()
        .map(|change| change.address.as_str())
        .collect();
    let changed_groups: Vec<(String, usize)> = desired
        .managed_groups
        .iter()
        .chain(&desired.deleted)
        .filter(|(name, _)| addresses.contains(diff::group_address(name).as_str()))
        .cloned()
        .collect();
    let impact = impact::impact(
        catalog,
        &current.tenant,
        &target,
        &current.outcome,
        &after,
        &current.memberships.members,
        after_members,
        &changed_groups,
        compared_users,
    );
    phase_done("impact");
    let assigned_plan_rules = cascade::reading_groups(&target, &book);
    let unrecorded_plans = if assigned_plan_rules.is_empty() {
        Vec::new()
    } else {
        cascade::users_without_recorded_plans(inputs.state, &current.outcome)
    };
    let context = checks::Context {
        catalog,
        config: inputs.config,
        current_state: inputs.state,
        desired: &desired,
        current: &current.tenant,
        target: &target,
        before: &current.outcome,
        after: &after,
        phases: &phases,
        retryable: &retryable,
        moved: compared_users,
        reordered: &reordered,
        refused_calls: &refused_calls,
        changes: &changes,
        overrides: inputs.overrides,
        new_plans,
        pending: &current.memberships.pending,
        paused: &target_memberships.paused,
        assigned_plan_rules: &assigned_plan_rules,
        unrecorded_plans: &unrecorded_plans,
        cascade: &cascade_moves,
        cascade_settled,
    };
    let diagnostics = checks::run(&context);
    phase_done("checks");
    let summary = Summary {
        add: changes
            .iter()
            .filter(|change| change.action == Action::Create)
            .count(),
        change: changes
            .iter()
            .filter(|change| change.action == Action::Update)
            .count(),
        destroy: changes
            .iter()
            .filter(|change| change.action == Action::Delete)
            .count(),
        rejected: diagnostics
            .iter()
            .any(|diagnostic| diagnostic.severity == Severity::Error),
    };
    let depends_on = dependencies::collect(
        inputs.state,
        &current.tenant,
        &desired,
        &current.memberships.members,
        after_members,
        &impact,
    );
    phase_done("dependencies");
    let reprocessed: Vec<(String, String)> = reprocess
        .iter()
        .map(|user| {
            let user = target.user_at(*user);
            (user.id.to_string(), user.upn.to_string())
        })
        .collect();
    let document = PlanDocument {
        format_version: FORMAT_VERSION,
        state_fingerprint: inputs.state_fingerprint.clone(),
        config_fingerprint: inputs.config_fingerprint.clone(),
        steps: ordered
            .as_ref()
            .map_or_else(
                |_| Vec::new(),
                |ordered| {
                    ordered
                        .iter()
                        .map(|step| step.document(&changes))
                        .collect::<Vec<_>>()
                },
            )
            .into_iter()
            .chain(
                reprocess
                    .iter()
                    .map(|user| steps::reprocess_document(&target.user_at(*user).upn)),
            )
            .collect(),
        changes,
        impact,
        diagnostics: inputs
            .warnings
            .iter()
            .chain(&diagnostics)
            .map(inputs.record)
            .collect(),
        summary,
        depends_on,
        checksum: String::new(),
    };
    phase_done("document");
    let assigned_plans = if cascade::reads_assigned_plans(&book) {
        cascade::reported_plans(
            catalog,
            inputs.state,
            &current.outcome,
            &after,
            compared_users,
        )
    } else {
        Vec::new()
    };
    Ok(Planned {
        document,
        diagnostics,
        desired,
        target,
        after,
        after_memberships: Memberships {
            members: recascaded_members
                .or(cascaded_members)
                .unwrap_or(target_memberships.members),
            ..target_memberships
        },
        reprocess: reprocessed,
        steps: ordered,
        assigned_plans,
        moved,
        before_reprocess,
    })
}

/// The state file after applying a plan on the file backend: the desired state (over `current`,
/// the state the plan was computed from) without deleted groups, with every user's
/// `license_states` recomputed by the engine — what Entra would record once it has processed the
/// change.
pub fn applied_state(catalog: &Catalog, current: &TenantState, planned: &Planned) -> TenantState {
    applied_state_with(catalog, current, planned, &planned.after)
}

/// [`applied_state`] with the license states of `outcome` (the state between the plan's other
/// steps and its reprocess steps, for the audit log).
pub fn applied_state_with(
    catalog: &Catalog,
    current: &TenantState,
    planned: &Planned,
    outcome: &Outcome,
) -> TenantState {
    use crate::tenant::model::LicenseState;
    let mut state = planned.desired.to_state(current);
    // Dynamic groups: the members are what the service computes from the rule.
    for (index, group) in state.groups.iter_mut().enumerate() {
        let evaluated = group.rule.is_some()
            && group.rule_processing != Some(crate::config::RuleProcessing::Paused);
        if let (true, Some(members)) = (evaluated, planned.after_memberships.members.get(index)) {
            if !planned
                .after_memberships
                .unevaluated
                .iter()
                .any(|group| group.0 as usize == index)
            {
                group.members = members
                    .iter()
                    .map(|user| planned.target.user_at(*user).upn.to_string())
                    .collect();
            }
        }
    }
    for (user, plans) in &planned.assigned_plans {
        if let Some(slot) = state.users.get_mut(user.0 as usize) {
            slot.assigned_plans = plans.clone();
        }
    }
    for (user, outcome) in state.users.iter_mut().zip(&outcome.users) {
        user.license_states = outcome
            .assignments
            .iter()
            .filter_map(|assignment| match assignment.source {
                crate::tenant::index::Source::Group(group) => Some(LicenseState {
                    sku: catalog.sku_key(assignment.product),
                    via: Some(planned.target.group_at(group).id.to_string()),
                    state: assignment.state,
                    error: assignment.error,
                }),
                crate::tenant::index::Source::Direct => None,
            })
            .collect();
    }
    let deleted: Vec<usize> = planned
        .desired
        .deleted
        .iter()
        .map(|(_, index)| *index)
        .collect();
    // A deleted group leaves the groups it was a member of, as in Entra.
    let deleted_ids: Vec<String> = deleted
        .iter()
        .filter_map(|&index| state.groups.get(index))
        .map(|group| group.id.to_lowercase())
        .collect();
    if !deleted_ids.is_empty() {
        for group in &mut state.groups {
            group
                .members
                .retain(|member| !deleted_ids.contains(&member.to_lowercase()));
        }
    }
    let mut index = 0;
    state.groups.retain(|_| {
        let keep = !deleted.contains(&index);
        index += 1;
        keep
    });
    state
}

/// Per changed group: users whose assignment from it succeeds and fails after the change (for
/// audit records' processing summaries), keyed by the change's address.
pub fn processing_counts(planned: &Planned) -> Vec<(String, usize, usize)> {
    let mut counts = Vec::new();
    for (name, index) in planned
        .desired
        .managed_groups
        .iter()
        .chain(&planned.desired.deleted)
    {
        if let Some(group) = planned.after.groups.get(*index) {
            counts.push((
                diff::group_address(name),
                group.users_assigned.len(),
                group.users_in_error.len(),
            ));
        }
    }
    counts
}
