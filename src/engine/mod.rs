//! The licensing engine: what Entra's group-based licensing does with a tenant (SPEC §2, seeds
//! 000–004). A pure function from the service's [`memory::ServiceMemory`] (what it processed
//! before) and a *scenario* (the tenant as the service is now told it is: memberships, group
//! licenses, users' locations and direct licenses) to the [`Outcome`]: every user's assignments
//! with their states and errors, effective service plans and consumed products, seats per product,
//! each group's status, and the direct assignments the service refused.
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

use crate::catalog::{Catalog, PlanSet, ProductId};
use crate::hash::{Map, Set};
use rayon::prelude::*;

use crate::tenant::index::{GroupIdx, License, Source, Tenant, UserIdx};
use crate::tenant::model::{AssignmentError, AssignmentState};
use memory::{Processed, ServiceMemory};

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
/// the scenario's effective members). Memory groups are matched to the scenario's by object id.
pub fn run(
    catalog: &Catalog,
    memory: &ServiceMemory,
    scenario: &Tenant,
    memberships: &Memberships,
    mode: Mode,
) -> Outcome {
    run_for(catalog, memory, scenario, memberships, mode, None)
}

/// [`run`] with a reprocess of `users` only (`POST /users/{id}/reprocessLicenseAssignment` for
/// each): their errors are retried, everyone else's stay.
pub fn reprocess_users(
    catalog: &Catalog,
    memory: &ServiceMemory,
    scenario: &Tenant,
    memberships: &Memberships,
    users: &[UserIdx],
) -> Outcome {
    let mut selected = vec![false; scenario.users.len()];
    for user in users {
        if let Some(slot) = selected.get_mut(user.0 as usize) {
            *slot = true;
        }
    }
    run_for(
        catalog,
        memory,
        scenario,
        memberships,
        Mode::Reprocess,
        Some(&selected),
    )
}

/// [`run`], retrying only the errors of the users `retried` selects (all, when `None`).
fn run_for(
    catalog: &Catalog,
    memory: &ServiceMemory,
    scenario: &Tenant,
    memberships: &Memberships,
    mode: Mode,
    retried: Option<&[bool]>,
) -> Outcome {
    let units = collect_units(memory, scenario, memberships, mode, retried);
    let duplicated_proxy = duplicated_proxy_users(scenario);
    let mut state = State::new(scenario);

    // Phase 1: settled units and seats that survive a change.
    for unit in &units {
        match unit.kind {
            UnitKind::SettledActive => state.apply(
                unit.user,
                unit.source,
                unit.new,
                AssignmentState::Active,
                None,
            ),
            UnitKind::SettledError => state.remember(unit),
            UnitKind::Process => {
                for license in &unit.old {
                    if unit.new.iter().any(|new| new.product == license.product) {
                        state.consume(unit.user, license.product);
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
                unit.user,
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
                unit.user,
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
                            unit.user,
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
                                unit.user,
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
    state.finish(scenario, memberships.len())
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
    let mut effective = state.effective(user).clone();
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
        if state.consumes(user, product) || reserved.contains(&product) {
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

/// Users that share at least one proxy address with another user.
fn duplicated_proxy_users(tenant: &Tenant) -> Set<UserIdx> {
    let mut owners: Map<&str, UserIdx> =
        Map::with_capacity_and_hasher(tenant.users.len(), Default::default());
    let mut duplicated = Set::default();
    for (index, user) in tenant.users.iter().enumerate() {
        let idx = UserIdx(index as u32);
        for address in &user.proxy_addresses {
            match owners.get(&**address) {
                Some(&owner) if owner != idx => {
                    duplicated.insert(owner);
                    duplicated.insert(idx);
                }
                Some(_) => {}
                None => {
                    owners.insert(address, idx);
                }
            }
        }
    }
    duplicated
}

/// The licensed groups each user is a direct member of, in compressed rows: user `u`'s groups
/// are `groups[starts[u]..starts[u + 1]]`, ascending.
struct Targets {
    starts: Vec<u32>,
    groups: Vec<GroupIdx>,
}

impl Targets {
    fn new(scenario: &Tenant, memberships: &Memberships) -> Self {
        let licensed = |group_index: usize| {
            let group = &scenario.groups[group_index];
            group.security_enabled && !group.licenses.is_empty()
        };
        let mut starts = vec![0u32; scenario.users.len() + 1];
        for (group_index, members) in memberships.iter().enumerate() {
            if licensed(group_index) {
                members
                    .iter()
                    .for_each(|member| starts[member.0 as usize + 1] += 1);
            }
        }
        for index in 1..starts.len() {
            starts[index] += starts[index - 1];
        }
        let mut fill = starts.clone();
        let mut groups = vec![GroupIdx(0); starts.last().map_or(0, |&total| total as usize)];
        for (group_index, members) in memberships.iter().enumerate() {
            if licensed(group_index) {
                for member in members {
                    let slot = &mut fill[member.0 as usize];
                    groups[*slot as usize] = GroupIdx(group_index as u32);
                    *slot += 1;
                }
            }
        }
        Targets { starts, groups }
    }

    fn of(&self, user: usize) -> &[GroupIdx] {
        &self.groups[self.starts[user] as usize..self.starts[user + 1] as usize]
    }
}

/// Users per parallel task of [`collect_units`].
const UNITS_CHUNK: usize = 4096;

/// Builds the units of every user: direct licenses product by product, groups as a whole.
/// Units come out user by user, in user order (phase 2 of [`run`] relies on it); users are
/// processed in parallel chunks.
fn collect_units<'a>(
    memory: &'a ServiceMemory,
    scenario: &'a Tenant,
    memberships: &Memberships,
    mode: Mode,
    retried: Option<&[bool]>,
) -> Vec<Unit<'a>> {
    let targets = Targets::new(scenario, memberships);
    let groups = memory.groups_in(scenario);
    let context = UnitContext {
        memory,
        scenario,
        targets: &targets,
        groups: &groups,
        mode,
        retried,
    };
    let chunks: Vec<Vec<Unit>> = scenario
        .users
        .par_chunks(UNITS_CHUNK)
        .enumerate()
        .map(|(chunk, users)| {
            let mut units = Vec::new();
            for offset in 0..users.len() {
                context.user_units(chunk * UNITS_CHUNK + offset, &mut units);
            }
            units
        })
        .collect();
    chunks.concat()
}

/// What [`UnitContext::user_units`] reads.
struct UnitContext<'a, 'b> {
    memory: &'a ServiceMemory,
    scenario: &'a Tenant,
    targets: &'b Targets,
    /// The scenario's index of each memory group.
    groups: &'b [Option<GroupIdx>],
    mode: Mode,
    /// The users whose errors `mode` retries (all, when `None`).
    retried: Option<&'b [bool]>,
}

impl<'a> UnitContext<'a, '_> {
    /// The memory's entries of one user, with group sources translated to the scenario's.
    fn remembered(&self, index: usize) -> Vec<(Source, &'a Processed)> {
        self.memory
            .users
            .get(index)
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

    /// Appends the units of the user at `index` of the scenario.
    fn user_units(&self, index: usize, units: &mut Vec<Unit<'a>>) {
        let user = &self.scenario.users[index];
        let targets = self.targets.of(index);
        let idx = UserIdx(index as u32);
        let remembered = self.remembered(index);
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
            let retried = self.mode.retries(source)
                && self
                    .retried
                    .is_none_or(|users| users.get(index).copied().unwrap_or(false));
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
        let unchanged = self
            .memory
            .groups
            .get(group.0 as usize)
            .is_some_and(|group| {
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

/// The engine's working state: per user effective plans, consumed products and outcomes.
struct State {
    users: Vec<UserOutcome>,
    used: HashMap<ProductId, u64>,
    refused: Vec<Refusal>,
}

impl State {
    fn new(tenant: &Tenant) -> Self {
        State {
            users: vec![UserOutcome::default(); tenant.users.len()],
            used: HashMap::new(),
            refused: Vec::new(),
        }
    }

    fn effective(&self, user: UserIdx) -> &PlanSet {
        &self.users[user.0 as usize].effective
    }

    fn consumes(&self, user: UserIdx, product: ProductId) -> bool {
        self.users[user.0 as usize]
            .consumed
            .binary_search(&product)
            .is_ok()
    }

    fn used(&self, product: ProductId) -> u64 {
        self.used.get(&product).copied().unwrap_or(0)
    }

    fn consume(&mut self, user: UserIdx, product: ProductId) {
        let consumed = &mut self.users[user.0 as usize].consumed;
        if let Err(position) = consumed.binary_search(&product) {
            consumed.insert(position, product);
            *self.used.entry(product).or_default() += 1;
        }
    }

    fn apply<'a>(
        &mut self,
        user: UserIdx,
        source: Source,
        licenses: impl IntoIterator<Item = &'a License>,
        state: AssignmentState,
        error: Option<AssignmentError>,
    ) {
        for license in licenses {
            self.consume(user, license.product);
            let outcome = &mut self.users[user.0 as usize];
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
        let outcome = &mut self.users[unit.user.0 as usize];
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
                    unit.user,
                    unit.source,
                    std::iter::once(&processed.license),
                    processed.state,
                    processed.error,
                );
            } else {
                self.users[unit.user.0 as usize]
                    .assignments
                    .push(AssignmentOutcome {
                        source: unit.source,
                        product: processed.license.product,
                        state: AssignmentState::Error,
                        error: Some(processed.error.unwrap_or(AssignmentError::Other)),
                        enabled: PlanSet::default(),
                    });
            }
        }
    }

    fn finish(mut self, tenant: &Tenant, groups: usize) -> Outcome {
        let mut group_outcomes = vec![GroupOutcome::default(); groups.max(tenant.groups.len())];
        for (index, user) in self.users.iter_mut().enumerate() {
            user.assignments
                .sort_by_key(|assignment| (assignment.source, assignment.product));
            let idx = UserIdx(index as u32);
            let mut seen: Vec<(crate::tenant::index::GroupIdx, bool)> = Vec::new();
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
            for (group, any_error) in seen {
                let slot = &mut group_outcomes[group.0 as usize];
                if any_error {
                    slot.users_in_error.push(idx);
                } else {
                    slot.users_assigned.push(idx);
                }
            }
        }
        let mut products: Vec<ProductId> = tenant
            .seats
            .keys()
            .copied()
            .chain(self.used.keys().copied())
            .collect();
        products.sort_unstable();
        products.dedup();
        let seats = products
            .into_iter()
            .map(|product| SeatUsage {
                product,
                enabled: tenant.seats_of(product),
                consumed: self.used(product),
            })
            .collect();
        Outcome {
            users: self.users,
            seats,
            groups: group_outcomes,
            refused: self.refused,
        }
    }
}

pub mod memory;
#[cfg(test)]
pub(crate) mod properties;
#[cfg(test)]
mod tests;
