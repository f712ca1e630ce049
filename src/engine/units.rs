//! The units the engine processes (a user's membership in a licensed group, or one direct
//! license), the service's processing order over them, and the checks one unit must pass.

use super::*;

/// A unit of assignment: one group membership or one direct license of one user.
///
/// Units borrow their licenses from the memory and the scenario (a million users' units would
/// otherwise clone a plan set per license).
#[derive(Debug, Clone)]
pub(super) struct Unit<'a> {
    pub(super) user: UserIdx,
    /// The user's position among the users the run processes.
    pub(super) slot: usize,
    pub(super) source: Source,
    /// What the service gave and still gives (remembered, not in `Error`), empty if nothing.
    pub(super) old: Vec<&'a License>,
    /// Everything the memory holds for this unit.
    pub(super) remembered: Vec<&'a Processed>,
    /// What the scenario assigns, empty for a removal.
    pub(super) new: &'a [License],
    pub(super) kind: UnitKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UnitKind {
    /// Processed before, same content, active.
    SettledActive,
    /// Processed before and not processed now: the remembered states stay (an assignment in
    /// error, or a direct license the step makes no call for).
    Remembered,
    /// To be processed: new, changed, or retried.
    Process,
    /// Removed: the service takes the old content away unless a dependency forbids it.
    Remove,
}

/// The first failing check of a unit: which products fail and with what error.
pub(super) struct Failure {
    pub(super) error: AssignmentError,
    pub(super) products: Vec<ProductId>,
}

pub(super) fn check_unit(
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
    // 1. Usage location. A group assignment uses the user's, else the tenant's (seed 003: "For
    // group license assignment, any users without a usage location specified inherit the
    // location of the directory"); a direct one only the user's own: Graph refuses
    // `assignLicense` for a user without one. No location at all blocks every plan.
    let location = match unit.source {
        Source::Direct => tenant.user_at(user).usage_location.as_deref(),
        _ => tenant.effective_location(user),
    };
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
pub(super) struct ProcessingOrder<'a> {
    pub(super) users: &'a [u32],
    pub(super) groups: Vec<u32>,
}

impl<'a> ProcessingOrder<'a> {
    pub(super) fn new(tenant: &'a Tenant) -> Self {
        ProcessingOrder {
            users: tenant.upn_ranks(),
            groups: crate::tenant::index::ranks(tenant.groups.len(), |group| {
                &tenant.groups[group].name
            }),
        }
    }

    pub(super) fn key(&self, unit: &Unit) -> (u8, u32, u32, u32) {
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
pub(super) struct Targets {
    starts: Vec<u32>,
    pub(super) groups: Vec<GroupIdx>,
}

impl Targets {
    pub(super) fn new(scenario: &Tenant, memberships: &Memberships, users: Selection<'_>) -> Self {
        let licensed: Vec<usize> = (0..memberships.len())
            .filter(|&group_index| {
                let group = &scenario.groups[group_index];
                group.security_enabled && !group.licenses.is_empty()
            })
            .collect();
        // A few users of a large tenant: look each of them up in every licensed group's (sorted)
        // member list rather than read every list through.
        if let Selection::Only(list) = users {
            let memberships_read: usize = licensed
                .iter()
                .map(|&group_index| memberships[group_index].len())
                .sum();
            if list.len().saturating_mul(licensed.len()).saturating_mul(8) < memberships_read {
                return Targets::searched(memberships, &licensed, list);
            }
        }
        Targets::scanned(scenario, memberships, &licensed, users)
    }

    /// Each user of `list` looked up in the member list of every group of `licensed`.
    pub(super) fn searched(
        memberships: &Memberships,
        licensed: &[usize],
        list: &[UserIdx],
    ) -> Self {
        let mut starts = Vec::with_capacity(list.len() + 1);
        let mut groups = Vec::new();
        starts.push(0u32);
        for user in list {
            groups.extend(
                licensed
                    .iter()
                    .filter(|&&group_index| memberships[group_index].binary_search(user).is_ok())
                    .map(|&group_index| GroupIdx(group_index as u32)),
            );
            starts.push(groups.len() as u32);
        }
        Targets { starts, groups }
    }

    /// Every member list of the groups of `licensed` read through, keeping the users of `users`.
    pub(super) fn scanned(
        scenario: &Tenant,
        memberships: &Memberships,
        licensed: &[usize],
        users: Selection<'_>,
    ) -> Self {
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
        for &group_index in licensed {
            memberships[group_index]
                .iter()
                .filter_map(|&member| slot_of(member))
                .for_each(|slot| starts[slot + 1] += 1);
        }
        for index in 1..starts.len() {
            starts[index] += starts[index - 1];
        }
        let mut fill = starts.clone();
        let mut groups = vec![GroupIdx(0); starts.last().map_or(0, |&total| total as usize)];
        for &group_index in licensed {
            for slot in memberships[group_index]
                .iter()
                .filter_map(|&member| slot_of(member))
            {
                let next = &mut fill[slot];
                groups[*next as usize] = GroupIdx(group_index as u32);
                *next += 1;
            }
        }
        Targets { starts, groups }
    }

    pub(super) fn of(&self, slot: usize) -> &[GroupIdx] {
        &self.groups[self.starts[slot] as usize..self.starts[slot + 1] as usize]
    }
}

/// Users per parallel task of [`collect_units`].
pub(super) const UNITS_CHUNK: usize = 4096;

/// Builds the units of every user `work` selects: direct licenses product by product, groups
/// as a whole. Units come out user by user, in slot order (phase 2 of [`process`] relies on
/// it); users are processed in parallel chunks.
pub(super) fn collect_units<'a>(
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
pub(super) struct UnitContext<'a, 'b> {
    pub(super) work: &'b Work<'a>,
    pub(super) scenario: &'a Tenant,
    targets: &'b Targets,
    /// The scenario's index of each memory group.
    pub(super) groups: &'b [Option<GroupIdx>],
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
        let unit = |source, old, remembered, new, kind| Unit {
            user: idx,
            slot,
            source,
            old,
            remembered,
            new,
            kind,
        };
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
            } else if !self.calls_direct(idx, license.product, Some(license)) {
                // No call of this step: a refused `assignLicense` recorded nothing, and only
                // the step that makes the call makes it (seeds 001/002: the problem "is
                // immediately reported back to you"; the service retries nothing by itself).
                if same.is_empty() {
                    continue;
                }
                UnitKind::Remembered
            } else {
                UnitKind::Process
            };
            units.push(unit(
                Source::Direct,
                effective(&same),
                same,
                std::slice::from_ref(license),
                kind,
            ));
        }
        for old in &old_direct {
            if !user
                .direct
                .iter()
                .any(|new| new.product == old.license.product)
            {
                let kind = if self.calls_direct(idx, old.license.product, None) {
                    UnitKind::Remove
                } else {
                    UnitKind::Remembered
                };
                units.push(unit(
                    Source::Direct,
                    effective(&[old]),
                    vec![old],
                    &[],
                    kind,
                ));
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
                    UnitKind::Remembered
                } else {
                    UnitKind::Remove
                }
            } else if self.processed_as_is(&entries, new) {
                if all_active && entries.len() == new.len() {
                    UnitKind::SettledActive
                } else if all_active || retried {
                    UnitKind::Process
                } else {
                    UnitKind::Remembered
                }
            } else {
                UnitKind::Process
            };
            units.push(unit(source, old, entries, new, kind));
        }
    }

    /// Whether the run calls `assignLicense` for the user's direct `product`, which the
    /// scenario assigns as `now` (`None`: removed): always in a run, and in a step when the
    /// scenario the memory was processed for assigned it otherwise.
    fn calls_direct(&self, user: UserIdx, product: ProductId, now: Option<&License>) -> bool {
        let Some(previous) = self.work.previous else {
            return true;
        };
        let Some(was) = previous.users.get(user.0 as usize) else {
            return true;
        };
        was.direct.iter().find(|license| license.product == product) != now
    }

    /// True when the memory holds an entry for every product of `new`, and the group's content
    /// is what the service last processed for it (nothing re-assigns it). Entries for other
    /// products are the old content a failed change kept (a migration refused for a conflict
    /// keeps the old product beside the new one in error): they stay with the error until a
    /// reprocess, and the next step that touches the user for another reason does not retry it.
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
            && new.iter().all(|license| {
                entries
                    .iter()
                    .any(|processed| processed.license.product == license.product)
            })
    }
}
