//! The plan as the service lives through it: the steps ([`super::steps`]) run in phases — groups
//! created, usage locations set and licenses added, then migrations (one `assignLicense` with
//! both arrays), then memberships and rules, then removals and deletions — and the service
//! processes each phase from the memory the previous one left
//! ([`crate::engine::memory::ServiceMemory`]). An error a phase causes stays an error in the later
//! phases unless one of them re-assigns that assignment (the service does not retry by itself),
//! and every check looks at every phase, not only at the end: a user who is without a plan
//! between two phases loses it for that window.
//!
//! The steps of one phase are processed together in the service's order (SPEC §2.5); between
//! phases the memory carries over. Each phase is one [`engine::step`]: only the users its steps
//! touch are processed (the members of a group whose licenses change, the members who join or
//! leave, the users whose location or direct licenses change); everyone else keeps their
//! assignments, states and seats as the memory holds them, and a touched user's processing
//! takes and frees seats against the seats the others hold.

use std::borrow::Cow;

use crate::catalog::{Catalog, ProductId};
use crate::engine::{self, same_licenses, Before, Outcome};
use crate::plan::desired::Desired;
use crate::plan::diff::{group_address, user_address};
use crate::plan::document::{Change, Op};
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
    /// Members added and removed, rules changed.
    Memberships,
    /// Products removed, groups deleted.
    Removals,
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
            Phase::Memberships => "the membership and rule steps",
            Phase::Removals => "the steps that remove licenses and delete groups",
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
    /// What the service holds after it.
    pub outcome: Outcome,
}

/// The plan simulated phase by phase.
pub struct Simulation {
    /// The phases before the last one that change something, in order, with the state after
    /// each.
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
    let memberships_change = endpoints.current_members != endpoints.target_members;
    let mut stages: Vec<(Phase, &Tenant, &[Vec<UserIdx>])> = Vec::new();
    if let Some((tenant, members)) = &released {
        stages.push((Phase::Releases, tenant, members));
    }
    if additions.changed {
        stages.push((Phase::Additions, &additions.tenant, &*padded));
    }
    if let Some(migrations) = &migrations {
        stages.push((Phase::Migrations, &migrations.tenant, &*padded));
    }
    let base = migrations.as_ref().unwrap_or(&additions);
    if memberships_change && base.removals_follow {
        stages.push((Phase::Memberships, &base.tenant, endpoints.target_members));
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
        between.push(PhaseOutcome { phase, outcome });
        processed = (tenant, members);
    }
    let (outcome, touched) = engine::step_touching(
        endpoints.catalog,
        before(endpoints, &between, processed),
        endpoints.target,
        endpoints.target_members,
        &[],
    );
    moved.extend(touched);
    moved.sort_unstable();
    moved.dedup();
    Simulation {
        between,
        after: PhaseOutcome {
            phase: last,
            outcome,
        },
        moved,
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
