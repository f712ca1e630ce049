//! The plan as the service lives through it: the steps ([`super::steps`]) run in phases — groups
//! created, usage locations set and licenses added, then migrations call by call (one
//! `assignLicense` with both arrays each), then members added and rules changed, then members
//! removed, then removals and deletions call by call — and the service processes each phase from
//! the memory the previous one left ([`crate::engine::memory::ServiceMemory`]). An error a phase causes stays an error in
//! the later phases unless one of them re-assigns that assignment (the service does not retry by
//! itself: seed 003, "License management automation does not automatically react to all types
//! of changes in the environment"), and every check looks at every phase, not only at the end: a
//! user who is without a plan between two phases loses it for that window.
//!
//! Where the order of the calls matters the phases follow it:
//! - Members are added before any is removed (that is the steps' order): a user who moves from
//!   one group to another is in both between the two calls, so an addition that conflicts with
//!   the license the user is about to leave, or that needs a seat a leaver frees later, fails —
//!   and the later removal does not retry it. A rule edit's additions are counted with the
//!   members added and its removals with the members removed: the service evaluates rules in the
//!   background, and this is the order in which a move through two rule edits can fail.
//! - The removals run one call after the other, in the steps' order ([`removal_batches`]): a
//!   group's `assignLicense` processes its members with what the calls before it left, not with
//!   a user's direct removal that comes after it.
//!
//! The other phases are processed together in the service's order (SPEC §2.5): their calls do not
//! take from each other (additions of licenses before the memberships that need them). Each
//! phase is one [`engine::step`]: only the users its steps touch are processed (the members of a
//! group whose licenses change, the members who join or leave, the users whose location or direct
//! licenses change); everyone else keeps their assignments, states and seats as the memory holds
//! them, and a touched user's processing takes and frees seats against the seats the others
//! hold.

use std::borrow::Cow;

use crate::catalog::{Catalog, ProductId};
use crate::config::RuleProcessing;
use crate::engine::{self, same_licenses, Before, Outcome};
use crate::plan::desired::Desired;
use crate::plan::diff::{group_address, user_address};
use crate::plan::document::{Change, Op};
use crate::plan::steps::{Action, Phase as StepPhase, Step, Target};
use crate::tenant::index::{License, Tenant, UserIdx};

/// A phase of an apply, as the simulation names it in diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Removals run ahead of the additions because they free what a direct assignment needs
    /// (see [`super::reorder`]).
    Releases,
    /// Groups created, usage locations set, products added and plans re-enabled or disabled.
    Additions,
    /// Products replaced in one call.
    Migrations,
    /// Members added and rules changed: the members a rule edit adds are in, the members
    /// anything removes are still there.
    MembersAdded,
    /// Members removed (and the members rule edits drop).
    Memberships,
    /// Products removed, groups deleted.
    Removals,
    /// The service evaluating again the rules that read licenses (`user.assignedPlans`), after
    /// the licensing the steps changed ([`super::cascade`]).
    Cascade,
    /// Every step made, the rules the plan changes not yet processed (a state the service passes
    /// through, beside the sequence of the others: checked for windows only).
    RulesPending,
}

impl Phase {
    /// What the phase's steps do, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Releases => "the removals run ahead of the additions",
            Phase::Additions => {
                "the steps that add licenses (and create groups, set usage locations)"
            }
            Phase::Migrations => "the migration steps",
            Phase::MembersAdded => "the steps that add members (and change rules)",
            Phase::Memberships => "the steps that remove members",
            Phase::Removals => "the steps that remove licenses and delete groups",
            Phase::Cascade => "the service evaluating the rules that read licenses again",
            Phase::RulesPending => {
                "the last step, while the service has not yet processed the changed membership rules"
            }
        }
    }
}

/// A removal that runs ahead of the additions: it takes a product from a user who ends without
/// it anyway, so that the seat (or the conflict) it frees is free when a direct assignment that
/// needs it is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Release {
    /// `assignLicense` on the user removing a direct product.
    Direct {
        /// The user.
        user: UserIdx,
        /// The product removed.
        product: ProductId,
    },
    /// The user removed from a static group.
    Member {
        /// The user.
        user: UserIdx,
        /// The group's index.
        group: usize,
    },
}

/// The service's state after one phase.
pub struct PhaseOutcome {
    /// The phase.
    pub phase: Phase,
    /// For a phase of the removals that ends before the last one: its last step, as the plan
    /// shows it (`assignLicense group["E3"] -STANDARDPACK`).
    pub step: Option<String>,
    /// What the service holds after it.
    pub outcome: Outcome,
}

impl PhaseOutcome {
    /// The phase (or the step it ends with), for messages.
    pub fn describe(&self) -> String {
        match &self.step {
            Some(step) => format!("`{step}`"),
            None => self.phase.describe().to_string(),
        }
    }
}

/// The plan simulated phase by phase.
pub struct Simulation {
    /// The phases before the last one that change something, in order, with the state after
    /// each; last, when the plan changes rules, the state after every step with those rules not
    /// yet processed ([`Phase::RulesPending`]).
    pub between: Vec<PhaseOutcome>,
    /// The last phase and the state after it: the plan's "after".
    pub after: PhaseOutcome,
    /// The users some phase processed, sorted: every other user's outcome, in every phase, is
    /// the one the service held before the plan (the same shared value).
    pub moved: Vec<UserIdx>,
}

/// What a simulation starts from and goes to.
#[derive(Clone, Copy)]
pub struct Endpoints<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// What the service holds for the current tenant (the outcome its memory describes).
    pub before: &'a Outcome,
    /// The current tenant, indexed.
    pub current: &'a Tenant,
    /// Its effective memberships.
    pub current_members: &'a [Vec<UserIdx>],
    /// The desired tenant, indexed (groups at the current indexes, created ones appended).
    pub target: &'a Tenant,
    /// Its effective memberships.
    pub target_members: &'a [Vec<UserIdx>],
    /// The desired state.
    pub desired: &'a Desired,
    /// The plan's changes.
    pub changes: &'a [Change],
    /// The removals that run ahead of the additions.
    pub releases: &'a [Release],
    /// The plan's steps in the default order (empty when they could not be ordered: the
    /// removals are then processed together).
    pub steps: &'a [Step],
    /// The dynamic groups (desired indexes) whose rules read other groups' members
    /// (`memberOf`): the service evaluates them again, in the background, when those change.
    pub reading_groups: &'a [usize],
}

/// Runs the plan phase by phase from the current memory, each phase a step over the users it
/// touches.
pub fn simulate(endpoints: &Endpoints<'_>) -> Simulation {
    let migrated = migrated_products(endpoints);
    let mut between: Vec<PhaseOutcome> = Vec::new();
    // The members before the memberships phase: the current ones, less the members released
    // ahead, with no members yet for the groups the plan creates. Copied only when they differ
    // from the current lists (a plan that creates no group and releases no member reads those).
    let releases_members = endpoints
        .releases
        .iter()
        .any(|release| matches!(release, Release::Member { .. }));
    let mut padded: Cow<'_, [Vec<UserIdx>]> = Cow::Borrowed(endpoints.current_members);
    if releases_members {
        let members = padded.to_mut();
        for release in endpoints.releases {
            if let Release::Member { user, group } = *release {
                if let Some(members) = members.get_mut(group) {
                    members.retain(|member| *member != user);
                }
            }
        }
    }
    let released = (!endpoints.releases.is_empty()).then(|| {
        let mut tenant = endpoints.current.clone();
        for release in endpoints.releases {
            if let Release::Direct { user, product } = *release {
                tenant
                    .user_mut(user)
                    .direct
                    .retain(|license| license.product != product);
            }
        }
        (tenant, padded[..endpoints.current_members.len()].to_vec())
    });
    if padded.len() != endpoints.target.groups.len() {
        padded
            .to_mut()
            .resize(endpoints.target.groups.len(), Vec::new());
    }
    let additions = mixed(endpoints, &migrated, false);
    let migrations = (!migrated.groups.is_empty()).then(|| mixed(endpoints, &migrated, true));
    // A deleted group keeps its members until the step that deletes it: no step removes them
    // before (the group's licenses go in its own `assignLicense`, then the group).
    let until_deleted: Cow<'_, [Vec<UserIdx>]> = if endpoints.desired.deleted.is_empty() {
        Cow::Borrowed(endpoints.target_members)
    } else {
        let mut members = endpoints.target_members.to_vec();
        for (_, index) in &endpoints.desired.deleted {
            if let (Some(slot), Some(current)) = (
                members.get_mut(*index),
                endpoints.current_members.get(*index),
            ) {
                slot.clone_from(current);
            }
        }
        Cow::Owned(members)
    };
    let memberships_change = *endpoints.current_members != *until_deleted;
    let mut stages: Vec<(Phase, &Tenant, &[Vec<UserIdx>])> = Vec::new();
    if let Some((tenant, members)) = &released {
        stages.push((Phase::Releases, tenant, members));
    }
    if additions.changed {
        stages.push((Phase::Additions, &additions.tenant, &*padded));
    }
    // The migrations one call after the other, in the steps' order: a group's `assignLicense`
    // meets the licenses the migrations after it have not replaced yet.
    let migration_calls: Vec<Tenant> = match &migrations {
        Some(migrations) if migrated.groups.len() > 1 => {
            let groups = groups_by_address(endpoints.desired);
            let mut order: Vec<usize> = endpoints
                .steps
                .iter()
                .filter(|step| step.phase == StepPhase::Migrations)
                .filter_map(|step| endpoints.changes.get(step.change))
                .filter_map(|change| groups.get(change.address.as_str()).copied())
                .collect();
            order.dedup();
            for (index, ..) in &migrated.groups {
                if !order.contains(index) {
                    order.push(*index);
                }
            }
            let mut tenant = additions.tenant.clone();
            let mut calls = Vec::new();
            if let Some((_, leading)) = order.split_last() {
                for &index in leading {
                    if let (Some(slot), Some(migrated)) = (
                        tenant.groups.get_mut(index),
                        migrations.tenant.groups.get(index),
                    ) {
                        slot.licenses.clone_from(&migrated.licenses);
                    }
                    calls.push(tenant.clone());
                }
            }
            calls
        }
        _ => Vec::new(),
    };
    for tenant in &migration_calls {
        stages.push((Phase::Migrations, tenant, &*padded));
    }
    if let Some(migrations) = &migrations {
        stages.push((Phase::Migrations, &migrations.tenant, &*padded));
    }
    let base = migrations.as_ref().unwrap_or(&additions);
    // Between the steps that add members and those that remove them, a user moving from one
    // group to another is in both.
    let converted: Vec<usize> = endpoints
        .current
        .groups
        .iter()
        .zip(&endpoints.target.groups)
        .enumerate()
        .filter(|(_, (current, target))| current.rule.is_none() && target.rule.is_some())
        .map(|(index, _)| index)
        .collect();
    let joined = memberships_change
        .then(|| joined_members(&padded, &until_deleted, &converted))
        .flatten();
    if let Some(joined) = &joined {
        stages.push((Phase::MembersAdded, &base.tenant, joined));
    }
    if memberships_change && base.removals_follow {
        stages.push((Phase::Memberships, &base.tenant, &*until_deleted));
    }
    let last = if base.removals_follow {
        Phase::Removals
    } else {
        Phase::Memberships
    };
    let mut processed: (&Tenant, &[Vec<UserIdx>]) = (endpoints.current, endpoints.current_members);
    let mut moved = Vec::new();
    for (phase, tenant, members) in stages {
        let (outcome, touched) = engine::step_touching(
            endpoints.catalog,
            before(endpoints, &between, processed),
            tenant,
            members,
            &[],
        );
        moved.extend(touched);
        between.push(PhaseOutcome {
            phase,
            step: None,
            outcome,
        });
        processed = (tenant, members);
    }
    // The removals call by call (consecutive calls on different users together): every batch
    // but the last on a scenario of its own; the last one ends at the target.
    let batches = if base.removals_follow {
        removal_batches(endpoints.steps)
    } else {
        Vec::new()
    };
    let mut scenario: Option<Tenant> = None;
    let mut previous: Option<Tenant> = None;
    if let Some((_, leading)) = batches.split_last() {
        let groups = groups_by_address(endpoints.desired);
        for batch in leading {
            let next = scenario.get_or_insert_with(|| base.tenant.clone());
            for step in batch {
                take_from_target(endpoints, &groups, step, next);
            }
            let prior = previous
                .as_ref()
                .map_or(processed, |tenant| (tenant, until_deleted.as_ref()));
            let (outcome, touched) = engine::step_touching(
                endpoints.catalog,
                before(endpoints, &between, prior),
                next,
                until_deleted.as_ref(),
                &[],
            );
            moved.extend(touched);
            between.push(PhaseOutcome {
                phase: Phase::Removals,
                step: batch
                    .last()
                    .map(|step| step.document(endpoints.changes).describe()),
                outcome,
            });
            match &mut previous {
                Some(tenant) => {
                    for step in batch {
                        take_from_target(endpoints, &groups, step, tenant);
                    }
                }
                None => previous = Some(next.clone()),
            }
        }
    }
    let processed = previous
        .as_ref()
        .map_or(processed, |tenant| (tenant, until_deleted.as_ref()));
    let (outcome, touched) = engine::step_touching(
        endpoints.catalog,
        before(endpoints, &between, processed),
        endpoints.target,
        endpoints.target_members,
        &[],
    );
    moved.extend(touched);
    if let Some(pending) = rules_pending(endpoints, &padded, &until_deleted, &converted) {
        let (outcome, touched) = engine::step_touching(
            endpoints.catalog,
            Before {
                outcome: endpoints.before,
                scenario: endpoints.current,
                memberships: endpoints.current_members,
            },
            endpoints.target,
            &pending,
            &[],
        );
        moved.extend(touched);
        between.push(PhaseOutcome {
            phase: Phase::RulesPending,
            step: None,
            outcome,
        });
    }
    moved.sort_unstable();
    moved.dedup();
    Simulation {
        between,
        after: PhaseOutcome {
            phase: last,
            step: None,
            outcome,
        },
        moved,
    }
}

/// The members once every step has run but before the service has processed the rules the
/// plan changes (a rule edited, processing turned on, a dynamic group created, a `memberOf` rule
/// whose groups' members change): those groups
/// still have the members they had, every other group its new ones. `None` when the plan changes
/// no rule's members. The service evaluates rules in the background, in its own time, so a user
/// whom a static removal or a license removal takes a plan from, and whom a changed rule gives
/// it back, is without it until then.
fn rules_pending(
    endpoints: &Endpoints<'_>,
    before: &[Vec<UserIdx>],
    after: &[Vec<UserIdx>],
    converted: &[usize],
) -> Option<Vec<Vec<UserIdx>>> {
    let changed: Vec<usize> = endpoints
        .target
        .groups
        .iter()
        .enumerate()
        .filter(|(index, group)| {
            let rule_changed = match endpoints.current.groups.get(*index) {
                Some(current) => {
                    current.rule != group.rule
                        || current.processing != group.processing
                        || endpoints.reading_groups.contains(index)
                }
                None => true,
            };
            // A static group made dynamic loses its members even where the rule selects them
            // all again.
            group.rule.is_some()
                && group.processing == RuleProcessing::On
                && rule_changed
                && (converted.contains(index) || before.get(*index) != after.get(*index))
        })
        .map(|(index, _)| index)
        .collect();
    if changed.is_empty() {
        return None;
    }
    let mut members = after.to_vec();
    for index in changed {
        // A static group made dynamic has lost its members and not yet gained the rule's (seed
        // 000: "all existing members are removed from the group, and then the membership rule is
        // processed to add new members").
        members[index] = if converted.contains(&index) {
            Vec::new()
        } else {
            before.get(index).cloned().unwrap_or_default()
        };
    }
    Some(members)
}

/// Per group, the members while the steps that add members have run and those that remove them
/// have not: the members before (`before`, indexed like `after`) and those after, together —
/// except in a group the plan makes dynamic (`converted`), whose members the service removes
/// before it processes the rule (seed 000: "all existing members are removed from the group, and
/// then the membership rule is processed to add new members"): only the new ones. `None` when
/// that is one of the two (nobody joins, or nobody leaves).
fn joined_members(
    before: &[Vec<UserIdx>],
    after: &[Vec<UserIdx>],
    converted: &[usize],
) -> Option<Vec<Vec<UserIdx>>> {
    let mut joins = false;
    let mut leaves = false;
    let joined: Vec<Vec<UserIdx>> = before
        .iter()
        .zip(after)
        .enumerate()
        .map(|(index, (old, new))| {
            if converted.contains(&index) {
                joins |= new.iter().any(|user| old.binary_search(user).is_err());
                leaves |= old.iter().any(|user| new.binary_search(user).is_err());
                return new.clone();
            }
            let mut both: Vec<UserIdx> = old.iter().chain(new).copied().collect();
            both.sort_unstable();
            both.dedup();
            joins |= both.len() != old.len();
            leaves |= both.len() != new.len();
            both
        })
        .collect();
    (joins && leaves).then_some(joined)
}

/// The steps of the removals phases in their order, in batches that the service processes the
/// same together as one after the other: consecutive calls on different users (each touches only
/// its user, and a removal takes no seat). A group's call is a batch of its own (it processes
/// every member), and so is a user's second call.
fn removal_batches(steps: &[Step]) -> Vec<Vec<&Step>> {
    let mut batches: Vec<Vec<&Step>> = Vec::new();
    for step in steps.iter().filter(|step| {
        matches!(
            step.phase,
            StepPhase::RemoveLicenses | StepPhase::DeleteGroups
        )
    }) {
        let joins_last = batches.last().is_some_and(|batch| {
            matches!(step.target, Target::User(_))
                && batch.iter().all(|other| {
                    matches!(other.target, Target::User(_)) && other.target != step.target
                })
        });
        match batches.last_mut() {
            Some(batch) if joins_last => batch.push(step),
            _ => batches.push(vec![step]),
        }
    }
    batches
}

/// The index of every group the config manages or deletes, by its plan address.
fn groups_by_address(desired: &Desired) -> crate::hash::Map<String, usize> {
    desired
        .managed_groups
        .iter()
        .chain(&desired.deleted)
        .map(|(name, index)| (group_address(name), *index))
        .collect()
}

/// Brings what `step` changes in `scenario` to what the target holds: the products its
/// `assignLicense` names (removed, or re-added with other plans), or a deleted group's licenses.
fn take_from_target(
    endpoints: &Endpoints<'_>,
    groups: &crate::hash::Map<String, usize>,
    step: &Step,
    scenario: &mut Tenant,
) {
    let Some(change) = endpoints.changes.get(step.change) else {
        return;
    };
    let group = groups.get(change.address.as_str()).copied();
    match (&step.target, &step.action) {
        (Target::Group, Action::DeleteGroup) => {
            if let (Some(slot), Some(target)) = (
                group.and_then(|index| scenario.groups.get_mut(index)),
                group.and_then(|index| endpoints.target.groups.get(index)),
            ) {
                slot.licenses = target.licenses.clone();
            }
        }
        (Target::Group, Action::AssignLicenses { .. }) => {
            if let (Some(slot), Some(target)) = (
                group.and_then(|index| scenario.groups.get_mut(index)),
                group.and_then(|index| endpoints.target.groups.get(index)),
            ) {
                for product in step_products(endpoints.catalog, &step.action) {
                    take_product(&mut slot.licenses, &target.licenses, product);
                }
            }
        }
        (Target::User(id), Action::AssignLicenses { .. }) => {
            if let Some(user) = endpoints.current.user(id) {
                let target = &endpoints.target.user_at(user).direct;
                let direct = &mut scenario.user_mut(user).direct;
                for product in step_products(endpoints.catalog, &step.action) {
                    take_product(direct, target, product);
                }
            }
        }
        _ => {}
    }
}

/// The products an `assignLicense` step adds or removes.
fn step_products(catalog: &Catalog, action: &Action) -> Vec<ProductId> {
    let Action::AssignLicenses {
        add,
        remove,
        add_skus,
        remove_skus,
    } = action
    else {
        return Vec::new();
    };
    let resolve = |sku_id: &str, sku: Option<&String>| {
        catalog
            .resolve_product(sku_id)
            .ok()
            .or_else(|| sku.and_then(|sku| catalog.resolve_product(sku).ok()))
    };
    add.iter()
        .enumerate()
        .filter_map(|(index, license)| resolve(&license.sku_id, add_skus.get(index)))
        .chain(
            remove
                .iter()
                .enumerate()
                .filter_map(|(index, sku_id)| resolve(sku_id, remove_skus.get(index))),
        )
        .collect()
}

/// `licenses` with its entry for `product` as `target` has it (or without one), sorted by
/// product.
fn take_product(licenses: &mut Vec<License>, target: &[License], product: ProductId) {
    licenses.retain(|license| license.product != product);
    if let Some(license) = target.iter().find(|license| license.product == product) {
        licenses.push(license.clone());
        licenses.sort_by_key(|license| license.product);
    }
}

/// The service as the next phase finds it: the last phase's outcome (the current one before the
/// first phase), with the scenario and memberships it processed.
fn before<'a>(
    endpoints: &Endpoints<'a>,
    between: &'a [PhaseOutcome],
    (scenario, memberships): (&'a Tenant, &'a [Vec<UserIdx>]),
) -> Before<'a> {
    Before {
        outcome: between
            .last()
            .map_or(endpoints.before, |phase| &phase.outcome),
        scenario,
        memberships,
    }
}

/// Per group index, the products a migration adds and the products it removes.
struct Migrated {
    groups: Vec<(usize, Vec<ProductId>, Vec<ProductId>)>,
    /// Per group or user address, the products whose plans are only switched off (those steps
    /// run with the removals).
    narrowed: Vec<(String, ProductId)>,
}

impl Migrated {
    fn of(&self, group: usize) -> (&[ProductId], &[ProductId]) {
        self.groups
            .iter()
            .find(|(index, ..)| *index == group)
            .map_or((&[], &[]), |(_, added, removed)| {
                (added.as_slice(), removed.as_slice())
            })
    }

    fn narrowed(&self, address: &str) -> Vec<ProductId> {
        self.narrowed
            .iter()
            .filter(|(at, _)| at == address)
            .map(|(_, product)| *product)
            .collect()
    }
}

fn migrated_products(endpoints: &Endpoints<'_>) -> Migrated {
    let resolve = |sku_id: &str, sku: &str| {
        endpoints
            .catalog
            .resolve_product(sku_id)
            .or_else(|_| endpoints.catalog.resolve_product(sku))
            .ok()
    };
    let mut narrowed = Vec::new();
    for change in endpoints.changes {
        for op in &change.ops {
            if let Op::UpdateLicensePlans {
                license, enable, ..
            } = op
            {
                if let (true, Some(product)) =
                    (enable.is_empty(), resolve(&license.sku_id, &license.sku))
                {
                    narrowed.push((change.address.clone(), product));
                }
            }
        }
    }
    let mut groups = Vec::new();
    for (name, index) in &endpoints.desired.managed_groups {
        let address = group_address(name);
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for change in endpoints
            .changes
            .iter()
            .filter(|change| change.address == address)
        {
            for op in &change.ops {
                if let Op::Migrate { remove, add } = op {
                    added.extend(add.iter().filter_map(|l| resolve(&l.sku_id, &l.sku)));
                    removed.extend(remove.iter().filter_map(|l| resolve(&l.sku_id, &l.sku)));
                }
            }
        }
        if !added.is_empty() || !removed.is_empty() {
            groups.push((*index, added, removed));
        }
    }
    Migrated { groups, narrowed }
}

/// A tenant between the current and the target one.
struct Mixed {
    /// Licenses added (with migrations: the migrations made too), nothing removed, usage
    /// locations and security flags as desired.
    tenant: Tenant,
    /// Whether its licensing differs from the current tenant's.
    changed: bool,
    /// Whether removals are still to come (its licensing differs from the target's).
    removals_follow: bool,
}

fn mixed(endpoints: &Endpoints<'_>, migrated: &Migrated, migrations: bool) -> Mixed {
    let (current, target) = (endpoints.current, endpoints.target);
    let mut tenant = target.clone();
    let mut changed = false;
    let mut removals_follow = false;
    let group_names: Vec<Option<&str>> = {
        let mut names = vec![None; tenant.groups.len()];
        for (name, index) in &endpoints.desired.managed_groups {
            if let Some(slot) = names.get_mut(*index) {
                *slot = Some(name.as_str());
            }
        }
        names
    };
    for (index, group) in tenant.groups.iter_mut().enumerate() {
        let (added, removed) = migrated.of(index);
        let narrowed = group_names[index]
            .map(|name| migrated.narrowed(&group_address(name)))
            .unwrap_or_default();
        let old: &[License] = current
            .groups
            .get(index)
            .map_or(&[], |group| &group.licenses);
        let (held_in, held_out): (&[ProductId], &[ProductId]) = if migrations {
            (&[], removed)
        } else {
            (added, &[])
        };
        let licenses = additions(
            old,
            &target.groups[index].licenses,
            Held {
                added: held_in,
                removed: held_out,
                narrowed: &narrowed,
            },
        );
        changed |= !same_licenses(&licenses, old);
        removals_follow |= !same_licenses(&licenses, &target.groups[index].licenses);
        group.licenses = licenses;
    }
    for &index in endpoints.desired.users.keys() {
        let user = UserIdx(index as u32);
        // What the releases left of the user's direct licenses.
        let old: Vec<License> = current
            .user_at(user)
            .direct
            .iter()
            .filter(|license| {
                !endpoints.releases.contains(&Release::Direct {
                    user,
                    product: license.product,
                })
            })
            .cloned()
            .collect();
        let old = &old;
        let new = &target.user_at(user).direct;
        let narrowed = migrated.narrowed(&user_address(&current.user_at(user).upn));
        let direct = additions(
            old,
            new,
            Held {
                added: &[],
                removed: &[],
                narrowed: &narrowed,
            },
        );
        changed |= !same_licenses(&direct, old)
            || current.effective_location(user) != target.effective_location(user);
        if !same_licenses(&direct, new) {
            removals_follow = true;
            tenant.user_mut(user).direct = direct;
        }
    }
    Mixed {
        tenant,
        changed,
        removals_follow,
    }
}

/// What a phase before the removals holds back.
#[derive(Clone, Copy)]
struct Held<'a> {
    /// Products a migration adds (not yet added).
    added: &'a [ProductId],
    /// Products a migration removed already.
    removed: &'a [ProductId],
    /// Products whose plans are only switched off (their old content stays until the removals).
    narrowed: &'a [ProductId],
}

/// `old` with the products of `new` added or updated, except what `held` holds back, sorted by
/// product.
fn additions(old: &[License], new: &[License], held: Held<'_>) -> Vec<License> {
    let mut licenses: Vec<License> = new
        .iter()
        .filter(|license| {
            !held.added.contains(&license.product) && !held.narrowed.contains(&license.product)
        })
        .cloned()
        .collect();
    for license in old {
        let kept = !held.removed.contains(&license.product);
        let replaced = licenses
            .iter()
            .any(|other| other.product == license.product);
        if kept && !replaced {
            licenses.push(license.clone());
        }
    }
    licenses.sort_by_key(|license| license.product);
    licenses
}
