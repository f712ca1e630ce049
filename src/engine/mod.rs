//! The licensing engine: what Entra's group-based licensing does with a tenant (SPEC §2, seeds
//! 000–004). A pure function from the service's [`memory::ServiceMemory`] (what it processed
//! before) and a *scenario* (the tenant as the service is now told it is: memberships, group
//! licenses, users' locations and direct licenses) to the [`Outcome`]: every user's assignments
//! with their states and errors, effective service plans and consumed products, seats per product,
//! each group's status, and the direct assignments the service refused.
//!
//! Two entry points: [`run`] processes every user of the scenario (what the service makes of a
//! tenant as it stands, and `seatplan reprocess`), and [`step`] processes one step of an apply
//! from the outcome before it, only for the users the step touches ([`touched`]: the members of
//! a group whose licensing changes, the members who join or leave, the users whose location or
//! direct licenses change, and the users reprocessed); everyone else keeps their assignments and
//! seats. From a memory the service holds for the tenant as it stands, both give the same outcome
//! (a property test in `plan::roundtrips` states exactly when), so a step costs in proportion to
//! the users it touches.
//!
//! How the service is modelled, and why:
//! - Assignments are units: a user's membership in a licensed group is one unit covering all of
//!   the group's products (all-or-nothing, seeds 000/001 "More than one product license assigned to
//!   a group"); each direct license is its own unit (assigned by its own API call).
//! - A unit whose content the service already processed keeps its remembered state: active units
//!   keep their seats, errors stay errors, an `ActiveWithError` assignment keeps its plans and its
//!   seat — the service does not retry by itself (seed 003, "Limitations and known issues":
//!   "License management automation does not automatically react to all types of changes in the
//!   environment."; seed 000, "Force user license processing to resolve errors": "it might be
//!   necessary to manually trigger the processing of a user to update the users state") unless the run re-assigns that assignment (the group's
//!   content changed, the user joined) or is a reprocess ([`Mode::Reprocess`]). A change of the
//!   user's location or direct licenses does not retry the user's group errors.
//! - A direct assignment that cannot succeed is refused by the API (seeds 001, 002: "The problem
//!   is immediately reported back to you."): nothing is recorded, the user keeps what they had and
//!   the refusal is reported in [`Outcome::refused`]. A step calls `assignLicense` only for the
//!   direct licenses it changes: a later step that processes the user does not call for a
//!   refused one again.
//! - Removals first, then additions. A removal (or a change) that would leave a plan the user
//!   keeps without any of its prerequisites is refused by the service: the old assignment stays,
//!   in error with `DependencyViolation` (seed 000, "Missing dependent service plans"; seed 001,
//!   "Other products depend on this license").
//!   The check is optimistic: prerequisites the user is about to gain count.
//! - Additions in a fixed order: direct licenses (by UPN), then group units by group display name,
//!   then UPN. Checks in SPEC §2.4 order: usage location (the user's, else the tenant's; seed 003),
//!   conflicts with plans already effective (never resolved automatically; seed 002), seats, and
//!   duplicate proxy addresses for units that enable an Exchange plan. The failing products record
//!   the specific error; the unit's other products record `Other` ("Other errors are typically the
//!   result of an error with another license assigned by the same group", seed 000).
//! - A changed unit replaces its old content in one step (seed 001: removals and new assignments
//!   are "made simultaneously"): the old plans do not conflict with the new ones, and a product
//!   present before and after keeps its seat. When the change fails, the old content stays
//!   effective and the products it adds record the error (so a migration without enough seats
//!   leaves the user on the old product, with the new one in `CountViolation`).
//! - A user consumes one seat per product however many units assign it (seed 001: "only one
//!   license is consumed by the user").

use std::collections::HashMap;
use std::sync::Arc;

use crate::catalog::{Catalog, PlanSet, ProductId};
use rayon::prelude::*;

use crate::tenant::index::{self, GroupIdx, License, Source, Tenant, UserIdx};
use crate::tenant::model::{AssignmentError, AssignmentState};
use memory::{MemoryGroup, Processed, ServiceMemory};

pub mod memory;
mod state;
mod touched;
mod units;

use state::{effective, State};
pub use touched::{same_licenses, touched};
use units::{check_unit, collect_units, Failure, ProcessingOrder, Unit, UnitKind};
#[cfg(test)]
pub(crate) mod properties;
#[cfg(test)]
mod tests;

/// Whether recorded errors stay (what the service does by itself) or are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Recorded errors stay errors unless the assignment is re-assigned.
    #[default]
    Predict,
    /// Every assignment in error is processed again (the portal's and `seatplan reprocess`'s
    /// "Reprocess").
    Reprocess,
    /// Only the assignments in error from this group are processed again (the group pane's
    /// "Reprocess" button); other recorded errors stay.
    ReprocessGroup(GroupIdx),
}

impl Mode {
    /// Whether a recorded error of an assignment from `source` is processed again.
    pub fn retries(self, source: Source) -> bool {
        match self {
            Mode::Predict => false,
            Mode::Reprocess => true,
            Mode::ReprocessGroup(group) => source == Source::Group(group),
        }
    }
}

/// The result of one assignment of one product to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentOutcome {
    /// Direct or the group it comes from.
    pub source: Source,
    /// The product.
    pub product: ProductId,
    /// `Active`, `ActiveWithError` (kept although a change failed) or `Error`.
    pub state: AssignmentState,
    /// The service's error name, when in error.
    pub error: Option<AssignmentError>,
    /// The plans this assignment contributes (empty when it is in `Error`).
    pub enabled: PlanSet,
}

impl AssignmentOutcome {
    /// True when the assignment gives the user its plans.
    pub fn is_effective(&self) -> bool {
        self.state != AssignmentState::Error
    }
}

/// One user's licensing after processing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserOutcome {
    /// Every assignment of the user, ordered by source then product.
    pub assignments: Vec<AssignmentOutcome>,
    /// The union of the plans of all effective assignments.
    pub effective: PlanSet,
    /// Products the user consumes a seat of, sorted.
    pub consumed: Vec<ProductId>,
}

impl UserOutcome {
    /// The assignments in error (with the error name).
    pub fn errors(&self) -> impl Iterator<Item = &AssignmentOutcome> {
        self.assignments
            .iter()
            .filter(|assignment| assignment.error.is_some())
    }
}

/// Seats of one product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatUsage {
    /// The product.
    pub product: ProductId,
    /// Seats bought.
    pub enabled: u64,
    /// Seats consumed.
    pub consumed: u64,
}

/// A group's licensing status, as the admin center shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupOutcome {
    /// Members whose assignment from this group is in error, sorted.
    pub users_in_error: Vec<UserIdx>,
    /// Members whose assignment from this group is effective, sorted.
    pub users_assigned: Vec<UserIdx>,
}

/// Everything the engine predicts for a scenario.
///
/// Users and groups are shared: the outcome of a [`step`] holds the outcome before it's
/// `Arc`s for every user and group the step leaves alone, so a step copies pointers, not
/// assignments (cloning an outcome is cheap for the same reason).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Per user, indexed like [`Tenant::users`].
    pub users: Vec<Arc<UserOutcome>>,
    /// Per product that is bought or assigned, sorted by product.
    pub seats: Vec<SeatUsage>,
    /// Per group, indexed like [`Tenant::groups`].
    pub groups: Vec<Arc<GroupOutcome>>,
    /// The users with an assignment in error (any source), sorted: kept as the outcome is built,
    /// so that finding them costs the users in error rather than a pass over everyone.
    pub users_in_error: Vec<UserIdx>,
    /// Direct assignments the service refused (the call fails; nothing is recorded), in the
    /// order of the calls: a step's outcome keeps the refusals of the steps before it.
    pub refused: Vec<Refusal>,
}

/// A direct `assignLicense` the service refuses: the call fails and the user keeps what they had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The user.
    pub user: UserIdx,
    /// The product that could not be assigned.
    pub product: ProductId,
    /// Why.
    pub error: AssignmentError,
}

impl Outcome {
    /// Seats of `product`, if it is bought or assigned.
    pub fn seats_of(&self, product: ProductId) -> Option<&SeatUsage> {
        self.seats.iter().find(|usage| usage.product == product)
    }
}

/// Effective direct user members of every group of a scenario, indexed like
/// [`Tenant::groups`] (dynamic groups already evaluated; nested groups excluded).
pub type Memberships = [Vec<UserIdx>];

/// Runs the engine: the service, holding `memory`, processes `scenario` (with `memberships`,
/// the scenario's effective members) for every user. Memory groups are matched to the
/// scenario's by object id.
pub fn run(
    catalog: &Catalog,
    memory: &ServiceMemory,
    scenario: &Tenant,
    memberships: &Memberships,
    mode: Mode,
) -> Outcome {
    let work = Work {
        users: Selection::All(scenario.users.len()),
        remembered: &memory.users,
        groups: &memory.groups,
        mode,
        retried: None,
        previous: None,
    };
    process(
        catalog,
        &work,
        scenario,
        memberships,
        State::new(scenario.users.len(), HashMap::new()),
    )
    .finish(scenario, memberships.len())
}

/// The service as a step finds it: the outcome of what it processed last, with the scenario
/// and memberships it processed. The memory it holds is [`ServiceMemory::after`] of these; a
/// step reads it only for the users it touches.
#[derive(Clone, Copy)]
pub struct Before<'a> {
    /// What the service holds, user by user (indexed like the scenario's users).
    pub outcome: &'a Outcome,
    /// The scenario it was processed for.
    pub scenario: &'a Tenant,
    /// That scenario's effective members.
    pub memberships: &'a Memberships,
}

/// One step of the service (one call, or the calls of one phase of an apply): from `before`,
/// the service processes `scenario` for the users the step touches ([`touched`]) and for the
/// users in `reprocess` (`POST /users/{id}/reprocessLicenseAssignment`: their errors are
/// retried). Everyone else keeps their assignments, states and seats as `before` holds them; a
/// touched user's processing takes and frees seats in the service's order, counted against the
/// seats the others hold. `scenario` numbers its groups as `before.scenario` does (the same
/// group at the same index; groups it adds come after).
pub fn step(
    catalog: &Catalog,
    before: Before<'_>,
    scenario: &Tenant,
    memberships: &Memberships,
    reprocess: &[UserIdx],
) -> Outcome {
    step_touching(catalog, before, scenario, memberships, reprocess).0
}

/// [`step`], with the users it processed (sorted): every other user's outcome is the one
/// `before` holds, shared.
pub fn step_touching(
    catalog: &Catalog,
    before: Before<'_>,
    scenario: &Tenant,
    memberships: &Memberships,
    reprocess: &[UserIdx],
) -> (Outcome, Vec<UserIdx>) {
    let mut users = touched(before, scenario, memberships);
    users.extend_from_slice(reprocess);
    users.sort_unstable();
    users.dedup();
    users.retain(|user| (user.0 as usize) < scenario.users.len());
    let mut retried = reprocess.to_vec();
    retried.sort_unstable();
    retried.dedup();
    let remembered = ServiceMemory::entries_of(before.outcome, before.scenario, &users);
    let groups = memory::groups_of(before.scenario);
    // Seats: everything `before` consumes, less what the touched users held (they take their
    // seats again as they are processed).
    let mut used: HashMap<ProductId, u64> = before
        .outcome
        .seats
        .iter()
        .filter(|usage| usage.consumed > 0)
        .map(|usage| (usage.product, usage.consumed))
        .collect();
    for user in &users {
        if let Some(outcome) = before.outcome.users.get(user.0 as usize) {
            for product in &outcome.consumed {
                if let Some(count) = used.get_mut(product) {
                    *count = count.saturating_sub(1);
                }
            }
        }
    }
    let work = Work {
        users: Selection::Only(&users),
        remembered: &remembered,
        groups: &groups,
        mode: if retried.is_empty() {
            Mode::Predict
        } else {
            Mode::Reprocess
        },
        retried: Some(&retried),
        previous: Some(before.scenario),
    };
    let outcome = process(
        catalog,
        &work,
        scenario,
        memberships,
        State::new(users.len(), used),
    )
    .merge(before.outcome, scenario, memberships.len(), &users);
    (outcome, users)
}

/// The users a run processes: every user of the scenario, or a sorted selection.
#[derive(Debug, Clone, Copy)]
enum Selection<'a> {
    /// All users; a user's slot is their index.
    All(usize),
    /// These users; a user's slot is their position in the list.
    Only(&'a [UserIdx]),
}

impl Selection<'_> {
    fn len(&self) -> usize {
        match self {
            Selection::All(count) => *count,
            Selection::Only(users) => users.len(),
        }
    }

    fn user(&self, slot: usize) -> UserIdx {
        match self {
            Selection::All(_) => UserIdx(slot as u32),
            Selection::Only(users) => users[slot],
        }
    }
}

/// What one run processes: the users, what the memory holds for each of them (by slot), the
/// memory's groups, and which recorded errors are retried.
struct Work<'a> {
    users: Selection<'a>,
    remembered: &'a [Vec<Processed>],
    groups: &'a [MemoryGroup],
    mode: Mode,
    /// The users whose errors `mode` retries (all, when `None`), sorted.
    retried: Option<&'a [UserIdx]>,
    /// For a step, the scenario the memory was processed for: a direct license the step leaves
    /// as that scenario has it is no call of this step, so the memory's entry (or its absence,
    /// after a refused call) stays. `None` for a run, which processes the tenant as it stands.
    previous: Option<&'a Tenant>,
}

/// Processes the users `work` selects: settled units keep what the memory holds, removals are
/// refused where a dependency would break, and additions, changes and retries go through the
/// checks in the service's order. `state` starts with the seats the other users hold.
fn process(
    catalog: &Catalog,
    work: &Work<'_>,
    scenario: &Tenant,
    memberships: &Memberships,
    mut state: State,
) -> State {
    let units = collect_units(work, scenario, memberships);
    let duplicated_proxy = scenario.users_sharing_a_proxy_address();

    // Phase 1: settled units and seats that survive a change.
    for unit in &units {
        match unit.kind {
            UnitKind::SettledActive => state.apply(
                unit.slot,
                unit.source,
                unit.new,
                AssignmentState::Active,
                None,
            ),
            UnitKind::Remembered => state.remember(unit),
            UnitKind::Process => {
                for license in &unit.old {
                    if unit.new.iter().any(|new| new.product == license.product) {
                        state.consume(unit.slot, license.product);
                    }
                }
            }
            UnitKind::Remove => {}
        }
    }
    // Phase 2: removals and the old side of changes, blocked where a dependency would break.
    // Units are collected user by user, so a user's other units are a contiguous run.
    let mut blocked = vec![false; units.len()];
    let mut run_start = 0;
    for (index, unit) in units.iter().enumerate() {
        if index > 0 && units[index - 1].user != unit.user {
            run_start = index;
        }
        if unit.old.is_empty() || !matches!(unit.kind, UnitKind::Remove | UnitKind::Process) {
            continue;
        }
        let run_end = units[index..]
            .iter()
            .position(|other| other.user != unit.user)
            .map_or(units.len(), |length| index + length);
        let mut others = PlanSet::default();
        for (other_index, other) in units.iter().enumerate().take(run_end).skip(run_start) {
            if other_index == index {
                continue;
            }
            match other.kind {
                UnitKind::SettledActive | UnitKind::Process => other
                    .new
                    .iter()
                    .for_each(|license| others.union_with(&license.enabled)),
                UnitKind::Remembered => other
                    .remembered
                    .iter()
                    .filter(|processed| processed.is_effective())
                    .for_each(|processed| others.union_with(&processed.license.enabled)),
                UnitKind::Remove => {}
            }
        }
        let mut after = others.clone();
        unit.new
            .iter()
            .for_each(|license| after.union_with(&license.enabled));
        let mut before = after.clone();
        unit.old
            .iter()
            .for_each(|license| before.union_with(&license.enabled));
        if !catalog.broken_by_removal(&before, &after).is_empty() {
            blocked[index] = true;
            state.apply(
                unit.slot,
                unit.source,
                unit.old.iter().copied(),
                AssignmentState::ActiveWithError,
                Some(AssignmentError::DependencyViolation),
            );
        }
    }

    // Phase 3: additions, changes and retries, in the service's order.
    let mut order: Vec<usize> = (0..units.len())
        .filter(|&index| {
            units[index].kind == UnitKind::Process
                && !blocked[index]
                && !units[index].new.is_empty()
        })
        .collect();
    let processing = ProcessingOrder::new(scenario);
    order.sort_unstable_by_key(|&index| (processing.key(&units[index]), index));
    for index in order {
        let unit = &units[index];
        match check_unit(
            catalog,
            scenario,
            &state,
            unit,
            duplicated_proxy.contains(&unit.user),
        ) {
            None => state.apply(
                unit.slot,
                unit.source,
                unit.new,
                AssignmentState::Active,
                None,
            ),
            Some(failure) => {
                // A failed change leaves what the user had (the service never takes service away
                // for an update it could not make). For a direct assignment the call is refused
                // and nothing is recorded. For a group, the products it adds record the error and
                // the products whose plans it changes keep their old plans and seat in
                // `ActiveWithError` (seed 000: the errors are "recorded on the user object within
                // the group"), until the cause is fixed and the group is reprocessed.
                match unit.source {
                    Source::Direct => {
                        state.apply(
                            unit.slot,
                            unit.source,
                            unit.old.iter().copied(),
                            AssignmentState::Active,
                            None,
                        );
                        state.refuse(unit, &failure);
                    }
                    Source::Group(_) => {
                        for license in &unit.old {
                            let changed = unit.new.iter().any(|new| new.product == license.product);
                            let (kept, error) = if changed {
                                let error = if failure.products.contains(&license.product) {
                                    failure.error
                                } else {
                                    AssignmentError::Other
                                };
                                (AssignmentState::ActiveWithError, Some(error))
                            } else {
                                (AssignmentState::Active, None)
                            };
                            state.apply(
                                unit.slot,
                                unit.source,
                                std::iter::once(*license),
                                kept,
                                error,
                            );
                        }
                        state.fail(unit, &failure);
                    }
                }
            }
        }
    }
    state
}
