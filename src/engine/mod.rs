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
//!   the refusal is reported in [`Outcome::refused`].
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
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Per user, indexed like [`Tenant::users`].
    pub users: Vec<UserOutcome>,
    /// Per product that is bought or assigned, sorted by product.
    pub seats: Vec<SeatUsage>,
    /// Per group, indexed like [`Tenant::groups`].
    pub groups: Vec<GroupOutcome>,
    /// Direct assignments the service refused (the call fails; nothing is recorded), in the
    /// service's order.
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

/// A unit of assignment: one group membership or one direct license of one user.
///
/// Units borrow their licenses from the memory and the scenario (a million users' units would
/// otherwise clone a plan set per license).
#[derive(Debug, Clone)]
struct Unit<'a> {
    user: UserIdx,
    /// The user's position among the users the run processes.
    slot: usize,
    source: Source,
    /// What the service gave and still gives (remembered, not in `Error`), empty if nothing.
    old: Vec<&'a License>,
    /// Everything the memory holds for this unit.
    remembered: Vec<&'a Processed>,
    /// What the scenario assigns, empty for a removal.
    new: &'a [License],
    kind: UnitKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnitKind {
    /// Processed before, same content, active.
    SettledActive,
    /// Processed before, same content, not (all) active: the remembered states stay.
    SettledError,
    /// To be processed: new, changed, or retried.
    Process,
    /// Removed: the service takes the old content away unless a dependency forbids it.
    Remove,
}

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
    };
    process(
        catalog,
        &work,
        scenario,
        memberships,
        State::new(users.len(), used),
    )
    .merge(before.outcome, scenario, memberships.len(), &users)
}

/// The users a step from `before` to `scenario` touches, sorted: the members (before and after)
/// of every group whose licensing changes (its products or plans, its security flag, a group
/// created or deleted) and the users who still hold an assignment from it; the members who join
/// or leave a licensed group; every user whose direct licenses or effective usage location
/// change. Nobody else's assignments can change in the step: every unit of theirs is one the
/// service already processed as it stands.
pub fn touched(before: Before<'_>, scenario: &Tenant, memberships: &Memberships) -> Vec<UserIdx> {
    let users = scenario.users.len();
    let mut marked = vec![false; users];
    let mut mark = |user: UserIdx| {
        if let Some(slot) = marked.get_mut(user.0 as usize) {
            *slot = true;
        }
    };
    let licensed = |group: &index::Group| group.security_enabled && !group.licenses.is_empty();
    let empty: Vec<UserIdx> = Vec::new();
    let groups = before.scenario.groups.len().max(scenario.groups.len());
    for group in 0..groups {
        let old = before.scenario.groups.get(group);
        let new = scenario.groups.get(group);
        let old_members = before.memberships.get(group).unwrap_or(&empty);
        let new_members = memberships.get(group).unwrap_or(&empty);
        let (old_licensed, new_licensed) = (old.is_some_and(licensed), new.is_some_and(licensed));
        let unchanged = match (old, new) {
            (Some(old), Some(new)) => {
                old.id == new.id
                    && old_licensed == new_licensed
                    && (!old_licensed || same_licenses(&old.licenses, &new.licenses))
            }
            (None, None) => true,
            _ => !old_licensed && !new_licensed,
        };
        if unchanged {
            if new_licensed && old_members != new_members {
                symmetric_difference(old_members, new_members, &mut mark);
            }
            continue;
        }
        if old_licensed {
            old_members.iter().copied().for_each(&mut mark);
        }
        if let Some(outcome) = before.outcome.groups.get(group) {
            outcome
                .users_assigned
                .iter()
                .chain(&outcome.users_in_error)
                .copied()
                .for_each(&mut mark);
        }
        if new_licensed {
            new_members.iter().copied().for_each(&mut mark);
        }
    }
    let same_users = Arc::ptr_eq(&before.scenario.users, &scenario.users);
    let same_default = before.scenario.default_usage_location == scenario.default_usage_location;
    if !(same_users && same_default) {
        for index in 0..users {
            let user = UserIdx(index as u32);
            let changed = match before.scenario.users.get(index) {
                Some(old) => {
                    !same_licenses(&old.direct, &scenario.user_at(user).direct)
                        || before.scenario.effective_location(user)
                            != scenario.effective_location(user)
                }
                None => true,
            };
            if changed {
                mark(user);
            }
        }
    }
    marked
        .iter()
        .enumerate()
        .filter(|(_, touched)| **touched)
        .map(|(index, _)| UserIdx(index as u32))
        .collect()
}

/// Calls `mark` for every user in exactly one of two sorted member lists.
fn symmetric_difference(a: &[UserIdx], b: &[UserIdx], mark: &mut impl FnMut(UserIdx)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                mark(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                mark(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    a[i..].iter().chain(&b[j..]).copied().for_each(mark);
}

/// True when both assign the same products with the same plans, in whatever order.
pub fn same_licenses(a: &[License], b: &[License]) -> bool {
    a.len() == b.len() && a.iter().all(|license| b.contains(license))
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
            UnitKind::SettledError => state.remember(unit),
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
                UnitKind::SettledError => other
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

/// The first failing check of a unit: which products fail and with what error.
struct Failure {
    error: AssignmentError,
    products: Vec<ProductId>,
}

fn check_unit(
    catalog: &Catalog,
    tenant: &Tenant,
    state: &State,
    unit: &Unit,
    duplicated_proxy: bool,
) -> Option<Failure> {
    let user = unit.user;
    let fail = |error, products: Vec<ProductId>| {
        (!products.is_empty()).then_some(Failure { error, products })
    };
    // 1. Usage location: the user's, else the tenant's; no location at all blocks every plan.
    let location = tenant.effective_location(user);
    let prohibited = unit
        .new
        .iter()
        .filter(|license| match location {
            Some(country) => license
                .enabled
                .iter()
                .any(|plan| !catalog.available_in(plan, country)),
            None => true,
        })
        .map(|license| license.product)
        .collect();
    if let Some(failure) = fail(
        AssignmentError::ProhibitedInUsageLocationViolation,
        prohibited,
    ) {
        return Some(failure);
    }
    // 2. Conflicts with plans already effective (and among the unit's own products).
    let mut effective = state.effective(unit.slot).clone();
    let mut conflicting = Vec::new();
    for license in unit.new {
        if !catalog.conflicts(&effective, &license.enabled).is_empty() {
            conflicting.push(license.product);
        }
        effective.union_with(&license.enabled);
    }
    if let Some(failure) = fail(AssignmentError::MutuallyExclusiveViolation, conflicting) {
        return Some(failure);
    }
    // 3. Seats, for products the user does not consume yet.
    let mut reserved: Vec<ProductId> = Vec::new();
    let mut short = Vec::new();
    for license in unit.new {
        let product = license.product;
        if state.consumes(unit.slot, product) || reserved.contains(&product) {
            continue;
        }
        if state.used(product) >= tenant.seats_of(product) {
            short.push(product);
        } else {
            reserved.push(product);
        }
    }
    if let Some(failure) = fail(AssignmentError::CountViolation, short) {
        return Some(failure);
    }
    // 4. Duplicate proxy addresses block units that enable Exchange.
    if duplicated_proxy {
        let exchange = unit
            .new
            .iter()
            .filter(|license| license.enabled.iter().any(|plan| catalog.is_exchange(plan)))
            .map(|license| license.product)
            .collect();
        if let Some(failure) = fail(AssignmentError::UniquenessViolation, exchange) {
            return Some(failure);
        }
    }
    None
}

/// The service's processing order: direct licenses first (by UPN), then group units by group
/// display name, then UPN. Names are ranked once (users by UPN once per tenant, groups by
/// display name once per run), so that sorting the units compares integers.
struct ProcessingOrder<'a> {
    users: &'a [u32],
    groups: Vec<u32>,
}

impl<'a> ProcessingOrder<'a> {
    fn new(tenant: &'a Tenant) -> Self {
        ProcessingOrder {
            users: tenant.upn_ranks(),
            groups: crate::tenant::index::ranks(tenant.groups.len(), |group| {
                &tenant.groups[group].name
            }),
        }
    }

    fn key(&self, unit: &Unit) -> (u8, u32, u32, u32) {
        let user = self.users[unit.user.0 as usize];
        match unit.source {
            Source::Direct => (
                0,
                0,
                user,
                unit.new
                    .first()
                    .map_or(0, |license| license.product.0 as u32),
            ),
            Source::Group(group) => (1, self.groups[group.0 as usize], user, group.0),
        }
    }
}

/// The licensed groups each processed user is a direct member of, in compressed rows by slot:
/// the user in slot `s` has `groups[starts[s]..starts[s + 1]]`, ascending.
struct Targets {
    starts: Vec<u32>,
    groups: Vec<GroupIdx>,
}

impl Targets {
    fn new(scenario: &Tenant, memberships: &Memberships, users: Selection<'_>) -> Self {
        let licensed = |group_index: usize| {
            let group = &scenario.groups[group_index];
            group.security_enabled && !group.licenses.is_empty()
        };
        // The slot of each user, for a selection (`u32::MAX`: not processed).
        let slots: Option<Vec<u32>> = match users {
            Selection::All(_) => None,
            Selection::Only(list) => {
                let mut slots = vec![u32::MAX; scenario.users.len()];
                for (slot, user) in list.iter().enumerate() {
                    slots[user.0 as usize] = slot as u32;
                }
                Some(slots)
            }
        };
        let slot_of = |member: UserIdx| -> Option<usize> {
            match &slots {
                None => Some(member.0 as usize),
                Some(slots) => slots
                    .get(member.0 as usize)
                    .filter(|&&slot| slot != u32::MAX)
                    .map(|&slot| slot as usize),
            }
        };
        let mut starts = vec![0u32; users.len() + 1];
        for (group_index, members) in memberships.iter().enumerate() {
            if licensed(group_index) {
                members
                    .iter()
                    .filter_map(|&member| slot_of(member))
                    .for_each(|slot| starts[slot + 1] += 1);
            }
        }
        for index in 1..starts.len() {
            starts[index] += starts[index - 1];
        }
        let mut fill = starts.clone();
        let mut groups = vec![GroupIdx(0); starts.last().map_or(0, |&total| total as usize)];
        for (group_index, members) in memberships.iter().enumerate() {
            if licensed(group_index) {
                for slot in members.iter().filter_map(|&member| slot_of(member)) {
                    let next = &mut fill[slot];
                    groups[*next as usize] = GroupIdx(group_index as u32);
                    *next += 1;
                }
            }
        }
        Targets { starts, groups }
    }

    fn of(&self, slot: usize) -> &[GroupIdx] {
        &self.groups[self.starts[slot] as usize..self.starts[slot + 1] as usize]
    }
}

/// Users per parallel task of [`collect_units`].
const UNITS_CHUNK: usize = 4096;

/// Builds the units of every user `work` selects: direct licenses product by product, groups
/// as a whole. Units come out user by user, in slot order (phase 2 of [`process`] relies on
/// it); users are processed in parallel chunks.
fn collect_units<'a>(
    work: &Work<'a>,
    scenario: &'a Tenant,
    memberships: &Memberships,
) -> Vec<Unit<'a>> {
    let targets = Targets::new(scenario, memberships, work.users);
    let groups = memory::groups_in(work.groups, scenario);
    let context = UnitContext {
        work,
        scenario,
        targets: &targets,
        groups: &groups,
    };
    let slots = work.users.len();
    let chunks: Vec<Vec<Unit>> = (0..slots.div_ceil(UNITS_CHUNK))
        .into_par_iter()
        .map(|chunk| {
            let mut units = Vec::new();
            for slot in chunk * UNITS_CHUNK..((chunk + 1) * UNITS_CHUNK).min(slots) {
                context.user_units(slot, &mut units);
            }
            units
        })
        .collect();
    chunks.concat()
}

/// What [`UnitContext::user_units`] reads.
struct UnitContext<'a, 'b> {
    work: &'b Work<'a>,
    scenario: &'a Tenant,
    targets: &'b Targets,
    /// The scenario's index of each memory group.
    groups: &'b [Option<GroupIdx>],
}

impl<'a> UnitContext<'a, '_> {
    /// The memory's entries of the user in `slot`, with group sources translated to the
    /// scenario's.
    fn remembered(&self, slot: usize) -> Vec<(Source, &'a Processed)> {
        self.work
            .remembered
            .get(slot)
            .map(|entries| {
                entries
                    .iter()
                    .filter_map(|processed| match processed.source {
                        Source::Direct => Some((Source::Direct, processed)),
                        // A group the scenario no longer has: the service no longer shows it.
                        Source::Group(group) => self
                            .groups
                            .get(group.0 as usize)
                            .copied()
                            .flatten()
                            .map(|group| (Source::Group(group), processed)),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Appends the units of the user in `slot`.
    fn user_units(&self, slot: usize, units: &mut Vec<Unit<'a>>) {
        let idx = self.work.users.user(slot);
        let user = self.scenario.user_at(idx);
        let targets = self.targets.of(slot);
        let remembered = self.remembered(slot);
        // Direct licenses, one unit per product (each is its own API call).
        let old_direct: Vec<&Processed> = remembered
            .iter()
            .filter(|(source, _)| *source == Source::Direct)
            .map(|(_, processed)| *processed)
            .collect();
        for license in &user.direct {
            let same: Vec<&Processed> = old_direct
                .iter()
                .copied()
                .filter(|old| old.license.product == license.product)
                .collect();
            let kind = if same
                .first()
                .is_some_and(|old| old.license == *license && old.state == AssignmentState::Active)
            {
                UnitKind::SettledActive
            } else {
                UnitKind::Process
            };
            units.push(Unit {
                user: idx,
                slot,
                source: Source::Direct,
                old: effective(&same),
                remembered: same,
                new: std::slice::from_ref(license),
                kind,
            });
        }
        for old in &old_direct {
            if !user
                .direct
                .iter()
                .any(|new| new.product == old.license.product)
            {
                units.push(Unit {
                    user: idx,
                    slot,
                    source: Source::Direct,
                    old: effective(&[old]),
                    remembered: vec![old],
                    new: &[],
                    kind: UnitKind::Remove,
                });
            }
        }
        // Group units: every group the user is a target of now or has remembered assignments
        // from.
        let mut groups = targets.to_vec();
        groups.extend(remembered.iter().filter_map(|(source, _)| match source {
            Source::Group(group) => Some(*group),
            Source::Direct => None,
        }));
        groups.sort_unstable();
        groups.dedup();
        for group in groups {
            let source = Source::Group(group);
            let target = targets.binary_search(&group).is_ok();
            let new: &[License] = if target {
                &self.scenario.groups[group.0 as usize].licenses
            } else {
                &[]
            };
            let entries: Vec<&Processed> = remembered
                .iter()
                .filter(|(remembered_source, _)| *remembered_source == source)
                .map(|(_, processed)| *processed)
                .collect();
            let old = effective(&entries);
            let all_active = entries
                .iter()
                .all(|processed| processed.state == AssignmentState::Active);
            let retried = self.work.mode.retries(source)
                && self
                    .work
                    .retried
                    .is_none_or(|users| users.binary_search(&idx).is_ok());
            let kind = if new.is_empty() {
                if old.is_empty() {
                    continue;
                }
                if !all_active && !retried {
                    // A removal the service refused before stays refused until reprocessed
                    // (seed 000, "When a licensed group is deleted": "it can't be removed until the
                    // dependency is resolved. Once the dependency is resolved, you need to
                    // reprocess the user licensing").
                    UnitKind::SettledError
                } else {
                    UnitKind::Remove
                }
            } else if self.processed_as_is(&entries, new) {
                if all_active {
                    UnitKind::SettledActive
                } else if retried {
                    UnitKind::Process
                } else {
                    UnitKind::SettledError
                }
            } else {
                UnitKind::Process
            };
            units.push(Unit {
                user: idx,
                slot,
                source,
                old,
                remembered: entries,
                new,
                kind,
            });
        }
    }

    /// True when the memory holds exactly one entry per product of `new`, and the group's
    /// content is what the service last processed for it (nothing re-assigns it).
    fn processed_as_is(&self, entries: &[&Processed], new: &[License]) -> bool {
        let Some(first) = entries.first() else {
            return false;
        };
        let Source::Group(group) = first.source else {
            return false;
        };
        let unchanged = self.work.groups.get(group.0 as usize).is_some_and(|group| {
            group.licenses.len() == new.len()
                && new.iter().all(|license| group.licenses.contains(license))
        });
        unchanged
            && entries.len() == new.len()
            && new.iter().all(|license| {
                entries
                    .iter()
                    .any(|processed| processed.license.product == license.product)
            })
    }
}

/// The licenses of the entries that give the user their plans.
fn effective<'a>(entries: &[&'a Processed]) -> Vec<&'a License> {
    entries
        .iter()
        .filter(|processed| processed.is_effective())
        .map(|processed| &processed.license)
        .collect()
}

/// The engine's working state: per processed user (by slot) effective plans, consumed products
/// and outcomes; seats consumed per product; refused direct calls.
struct State {
    users: Vec<UserOutcome>,
    used: HashMap<ProductId, u64>,
    refused: Vec<Refusal>,
}

impl State {
    /// A state for `slots` users, with `used` seats already held by users the run leaves alone.
    fn new(slots: usize, used: HashMap<ProductId, u64>) -> Self {
        State {
            users: vec![UserOutcome::default(); slots],
            used,
            refused: Vec::new(),
        }
    }

    fn effective(&self, slot: usize) -> &PlanSet {
        &self.users[slot].effective
    }

    fn consumes(&self, slot: usize, product: ProductId) -> bool {
        self.users[slot].consumed.binary_search(&product).is_ok()
    }

    fn used(&self, product: ProductId) -> u64 {
        self.used.get(&product).copied().unwrap_or(0)
    }

    fn consume(&mut self, slot: usize, product: ProductId) {
        let consumed = &mut self.users[slot].consumed;
        if let Err(position) = consumed.binary_search(&product) {
            consumed.insert(position, product);
            *self.used.entry(product).or_default() += 1;
        }
    }

    fn apply<'a>(
        &mut self,
        slot: usize,
        source: Source,
        licenses: impl IntoIterator<Item = &'a License>,
        state: AssignmentState,
        error: Option<AssignmentError>,
    ) {
        for license in licenses {
            self.consume(slot, license.product);
            let outcome = &mut self.users[slot];
            outcome.effective.union_with(&license.enabled);
            outcome.assignments.push(AssignmentOutcome {
                source,
                product: license.product,
                state,
                error,
                enabled: license.enabled.clone(),
            });
        }
    }

    /// Records the unit's new products (those it did not have before) as failed.
    fn fail(&mut self, unit: &Unit, failure: &Failure) {
        let outcome = &mut self.users[unit.slot];
        let added = unit
            .new
            .iter()
            .filter(|license| !unit.old.iter().any(|old| old.product == license.product));
        for license in added {
            let error = if failure.products.contains(&license.product) {
                failure.error
            } else {
                AssignmentError::Other
            };
            outcome.assignments.push(AssignmentOutcome {
                source: unit.source,
                product: license.product,
                state: AssignmentState::Error,
                error: Some(error),
                enabled: PlanSet::default(),
            });
        }
    }

    /// Records a refused direct assignment: the products the unit would have added.
    fn refuse(&mut self, unit: &Unit, failure: &Failure) {
        for license in unit.new {
            if !unit.old.iter().any(|old| old.product == license.product) {
                self.refused.push(Refusal {
                    user: unit.user,
                    product: license.product,
                    error: if failure.products.contains(&license.product) {
                        failure.error
                    } else {
                        AssignmentError::Other
                    },
                });
            }
        }
    }

    /// Keeps what the memory holds for a unit: effective entries keep plans and seats,
    /// errors stay.
    fn remember(&mut self, unit: &Unit) {
        for processed in &unit.remembered {
            if processed.is_effective() {
                self.apply(
                    unit.slot,
                    unit.source,
                    std::iter::once(&processed.license),
                    processed.state,
                    processed.error,
                );
            } else {
                self.users[unit.slot].assignments.push(AssignmentOutcome {
                    source: unit.source,
                    product: processed.license.product,
                    state: AssignmentState::Error,
                    error: Some(processed.error.unwrap_or(AssignmentError::Other)),
                    enabled: PlanSet::default(),
                });
            }
        }
    }

    /// The outcome of a run over every user.
    fn finish(mut self, tenant: &Tenant, groups: usize) -> Outcome {
        let mut group_outcomes = vec![GroupOutcome::default(); groups.max(tenant.groups.len())];
        for (index, user) in self.users.iter_mut().enumerate() {
            user.assignments
                .sort_by_key(|assignment| (assignment.source, assignment.product));
            let idx = UserIdx(index as u32);
            for (group, any_error) in group_states(user) {
                let slot = &mut group_outcomes[group.0 as usize];
                if any_error {
                    slot.users_in_error.push(idx);
                } else {
                    slot.users_assigned.push(idx);
                }
            }
        }
        let seats = self.seats(tenant);
        Outcome {
            users: self.users,
            seats,
            groups: group_outcomes,
            refused: self.refused,
        }
    }

    /// The outcome of a step over the users `touched` (sorted; slot by slot): `before` with
    /// their outcomes replaced, the groups they are in (before or after) updated, the seats
    /// counted again and their refusals replacing the ones `before` recorded for them.
    fn merge(
        mut self,
        before: &Outcome,
        tenant: &Tenant,
        groups: usize,
        touched: &[UserIdx],
    ) -> Outcome {
        let is_touched = |user: &UserIdx| touched.binary_search(user).is_ok();
        let mut users = before.users.clone();
        users.resize(tenant.users.len(), UserOutcome::default());
        let mut group_outcomes = before.groups.clone();
        group_outcomes.resize(groups.max(tenant.groups.len()), GroupOutcome::default());
        // The groups whose lists change: those a touched user is in, before or after.
        let mut affected: Vec<GroupIdx> = touched
            .iter()
            .filter_map(|user| before.users.get(user.0 as usize))
            .flat_map(|user| group_states(user).into_iter().map(|(group, _)| group))
            .collect();
        for user in &mut self.users {
            user.assignments
                .sort_by_key(|assignment| (assignment.source, assignment.product));
            affected.extend(group_states(user).into_iter().map(|(group, _)| group));
        }
        affected.sort_unstable();
        affected.dedup();
        for group in &affected {
            if let Some(outcome) = group_outcomes.get_mut(group.0 as usize) {
                outcome.users_assigned.retain(|user| !is_touched(user));
                outcome.users_in_error.retain(|user| !is_touched(user));
            }
        }
        for (slot, user) in self.users.iter().enumerate() {
            for (group, any_error) in group_states(user) {
                let outcome = &mut group_outcomes[group.0 as usize];
                if any_error {
                    outcome.users_in_error.push(touched[slot]);
                } else {
                    outcome.users_assigned.push(touched[slot]);
                }
            }
        }
        for group in &affected {
            if let Some(outcome) = group_outcomes.get_mut(group.0 as usize) {
                outcome.users_assigned.sort_unstable();
                outcome.users_in_error.sort_unstable();
            }
        }
        let seats = self.seats(tenant);
        let mut refused: Vec<Refusal> = before
            .refused
            .iter()
            .filter(|refusal| !is_touched(&refusal.user))
            .cloned()
            .collect();
        refused.append(&mut self.refused);
        for (slot, user) in self.users.into_iter().enumerate() {
            users[touched[slot].0 as usize] = user;
        }
        Outcome {
            users,
            seats,
            groups: group_outcomes,
            refused,
        }
    }

    /// Seats per product that is bought or consumed, sorted by product.
    fn seats(&self, tenant: &Tenant) -> Vec<SeatUsage> {
        let mut products: Vec<ProductId> = tenant
            .seats
            .keys()
            .copied()
            .chain(
                self.used
                    .iter()
                    .filter(|(_, count)| **count > 0)
                    .map(|(product, _)| *product),
            )
            .collect();
        products.sort_unstable();
        products.dedup();
        products
            .into_iter()
            .map(|product| SeatUsage {
                product,
                enabled: tenant.seats_of(product),
                consumed: self.used(product),
            })
            .collect()
    }
}

/// The groups a user has assignments from, each with whether any of them is in error.
fn group_states(user: &UserOutcome) -> Vec<(GroupIdx, bool)> {
    let mut seen: Vec<(GroupIdx, bool)> = Vec::new();
    for assignment in &user.assignments {
        let Source::Group(group) = assignment.source else {
            continue;
        };
        let failed = assignment.error.is_some();
        match seen.iter_mut().find(|(seen_group, _)| *seen_group == group) {
            Some((_, any_error)) => *any_error |= failed,
            None => seen.push((group, failed)),
        }
    }
    seen
}

pub mod memory;
#[cfg(test)]
pub(crate) mod properties;
#[cfg(test)]
mod tests;
