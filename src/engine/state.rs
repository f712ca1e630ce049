//! One user's licensing state while the engine processes their units: what is effective, what
//! each unit would enable, and what the user ends with.

use super::*;

/// The licenses of the entries that give the user their plans.
pub(super) fn effective<'a>(entries: &[&'a Processed]) -> Vec<&'a License> {
    entries
        .iter()
        .filter(|processed| processed.is_effective())
        .map(|processed| &processed.license)
        .collect()
}

/// The engine's working state: per processed user (by slot) effective plans, consumed products
/// and outcomes; seats consumed per product; refused direct calls.
pub(super) struct State {
    pub(super) users: Vec<UserOutcome>,
    pub(super) used: HashMap<ProductId, u64>,
    pub(super) refused: Vec<Refusal>,
}

impl State {
    /// A state for `slots` users, with `used` seats already held by users the run leaves alone.
    pub(super) fn new(slots: usize, used: HashMap<ProductId, u64>) -> Self {
        State {
            users: vec![UserOutcome::default(); slots],
            used,
            refused: Vec::new(),
        }
    }

    pub(super) fn effective(&self, slot: usize) -> &PlanSet {
        &self.users[slot].effective
    }

    pub(super) fn consumes(&self, slot: usize, product: ProductId) -> bool {
        self.users[slot].consumed.binary_search(&product).is_ok()
    }

    pub(super) fn used(&self, product: ProductId) -> u64 {
        self.used.get(&product).copied().unwrap_or(0)
    }

    pub(super) fn consume(&mut self, slot: usize, product: ProductId) {
        let consumed = &mut self.users[slot].consumed;
        if let Err(position) = consumed.binary_search(&product) {
            consumed.insert(position, product);
            *self.used.entry(product).or_default() += 1;
        }
    }

    pub(super) fn apply<'a>(
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
    pub(super) fn fail(&mut self, unit: &Unit, failure: &Failure) {
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
    pub(super) fn refuse(&mut self, unit: &Unit, failure: &Failure) {
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
    pub(super) fn remember(&mut self, unit: &Unit) {
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
    pub(super) fn finish(mut self, tenant: &Tenant, groups: usize) -> Outcome {
        let mut group_outcomes = vec![GroupOutcome::default(); groups.max(tenant.groups.len())];
        let mut users_in_error = Vec::new();
        for (index, user) in self.users.iter_mut().enumerate() {
            user.assignments
                .sort_by_key(|assignment| (assignment.source, assignment.product));
            let idx = UserIdx(index as u32);
            if user.errors().next().is_some() {
                users_in_error.push(idx);
            }
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
            users: self.users.into_iter().map(Arc::new).collect(),
            seats,
            groups: group_outcomes.into_iter().map(Arc::new).collect(),
            users_in_error,
            refused: self.refused,
        }
    }

    /// The outcome of a step over the users `touched` (sorted; slot by slot): `before` with
    /// their outcomes replaced, the groups they are in (before or after) updated, the seats
    /// counted again and their refusals added to the ones `before` recorded.
    pub(super) fn merge(
        mut self,
        before: &Outcome,
        tenant: &Tenant,
        groups: usize,
        touched: &[UserIdx],
    ) -> Outcome {
        // One bit per user (a million users: 128 KiB): the member lists of the groups the
        // touched users are in are filtered member by member, which a search in `touched`
        // made the larger part of a reprocess step.
        let mut touched_bits = vec![0u64; tenant.users.len().max(before.users.len()).div_ceil(64)];
        for user in touched {
            if let Some(word) = touched_bits.get_mut(user.0 as usize / 64) {
                *word |= 1 << (user.0 % 64);
            }
        }
        let is_touched = |user: &UserIdx| {
            touched_bits
                .get(user.0 as usize / 64)
                .is_some_and(|word| word & (1 << (user.0 % 64)) != 0)
        };
        // Everyone the step leaves alone is shared with `before`.
        let mut users = before.users.clone();
        users.resize_with(tenant.users.len(), Default::default);
        let mut group_outcomes = before.groups.clone();
        group_outcomes.resize_with(groups.max(tenant.groups.len()), Default::default);
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
                let outcome = Arc::make_mut(outcome);
                outcome.users_assigned.retain(|user| !is_touched(user));
                outcome.users_in_error.retain(|user| !is_touched(user));
            }
        }
        for (slot, user) in self.users.iter().enumerate() {
            for (group, any_error) in group_states(user) {
                let outcome = Arc::make_mut(&mut group_outcomes[group.0 as usize]);
                if any_error {
                    outcome.users_in_error.push(touched[slot]);
                } else {
                    outcome.users_assigned.push(touched[slot]);
                }
            }
        }
        for group in &affected {
            if let Some(outcome) = group_outcomes.get_mut(group.0 as usize) {
                let outcome = Arc::make_mut(outcome);
                outcome.users_assigned.sort_unstable();
                outcome.users_in_error.sort_unstable();
            }
        }
        let seats = self.seats(tenant);
        // A refusal is what a call of an earlier step met: it stays in the record of the
        // apply, whoever this step processes.
        let mut refused = before.refused.clone();
        refused.append(&mut self.refused);
        let mut users_in_error: Vec<UserIdx> = before
            .users_in_error
            .iter()
            .copied()
            .filter(|user| !is_touched(user))
            .collect();
        for (slot, user) in self.users.into_iter().enumerate() {
            if user.errors().next().is_some() {
                users_in_error.push(touched[slot]);
            }
            users[touched[slot].0 as usize] = Arc::new(user);
        }
        users_in_error.sort_unstable();
        Outcome {
            users,
            seats,
            groups: group_outcomes,
            users_in_error,
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
