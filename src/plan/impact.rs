//! The impact of a plan: the engine's outcome before and after, turned into per-user gains,
//! losses and errors, seats per product, and members joining and leaving each changed group.

use crate::catalog::{Catalog, PlanSet};
use crate::engine::{AssignmentOutcome, Outcome, UserOutcome};
use crate::plan::document::{GroupImpact, Impact, SeatImpact, UserImpact};
use crate::tenant::index::{Source, Tenant, UserIdx};

/// Describes an assignment in error: `ENTERPRISEPACK via "Sales - E3": CountViolation`.
pub fn describe_error(
    catalog: &Catalog,
    tenant: &Tenant,
    assignment: &AssignmentOutcome,
) -> String {
    let sku = &catalog.product(assignment.product).sku_part_number;
    let error = assignment
        .error
        .map(|error| format!("{error:?}"))
        .unwrap_or_default();
    match assignment.source {
        Source::Direct => format!("{sku} (direct): {error}"),
        Source::Group(group) => format!("{sku} via \"{}\": {error}", tenant.group_at(group).name),
    }
}

/// How one user's effective service plans change: gained, lost, and lost but replaced by a plan
/// that supersedes them (an upgrade, not a loss; Exchange Online Plan 1 → Plan 2 and the like).
pub struct PlanChange {
    /// Plans effective after and not before.
    pub gained: PlanSet,
    /// Plans effective before and not after, upgrades excepted.
    pub lost: PlanSet,
    /// Plans effective before and not after that a gained plan supersedes.
    pub upgraded: PlanSet,
}

impl PlanChange {
    /// The change of `user` between two engine outcomes.
    pub fn between(catalog: &Catalog, before: &UserOutcome, after: &UserOutcome) -> Self {
        let gained = after.effective.difference(&before.effective);
        let dropped = before.effective.difference(&after.effective);
        let (upgraded, lost): (Vec<_>, Vec<_>) = dropped
            .iter()
            .partition(|&plan| catalog.is_upgrade(plan, &gained));
        PlanChange {
            gained,
            lost: lost.into_iter().collect(),
            upgraded: upgraded.into_iter().collect(),
        }
    }
}

/// The impact of going from `before` to `after`. `changed_groups` are the indexes and names of
/// groups whose membership is reported.
#[allow(clippy::too_many_arguments)]
pub fn impact(
    catalog: &Catalog,
    current: &Tenant,
    desired: &Tenant,
    before: &Outcome,
    after: &Outcome,
    members_before: &[Vec<UserIdx>],
    members_after: &[Vec<UserIdx>],
    changed_groups: &[(String, usize)],
) -> Impact {
    let mut users = Vec::new();
    for (index, (old, new)) in before.users.iter().zip(&after.users).enumerate() {
        // Compare first, describe only the users that change (group indexes are shared by the
        // two tenants, so equal keys mean equal errors).
        let key = |assignment: &AssignmentOutcome| {
            (assignment.source, assignment.product, assignment.error)
        };
        if old.effective == new.effective && old.errors().map(key).eq(new.errors().map(key)) {
            continue;
        }
        let change = PlanChange::between(catalog, old, new);
        users.push(UserImpact {
            user: desired.users[index].upn.to_string(),
            gains: catalog.plan_names(&change.gained),
            loses: catalog.plan_names(&change.lost),
            upgraded: catalog.plan_names(&change.upgraded),
            errors_before: old
                .errors()
                .map(|a| describe_error(catalog, current, a))
                .collect(),
            errors_after: new
                .errors()
                .map(|a| describe_error(catalog, desired, a))
                .collect(),
        });
    }
    users.sort_by(|a, b| a.user.cmp(&b.user));
    let mut products: Vec<_> = before
        .seats
        .iter()
        .chain(&after.seats)
        .map(|usage| usage.product)
        .collect();
    products.sort_unstable();
    products.dedup();
    let mut seats: Vec<SeatImpact> = products
        .into_iter()
        .map(|product| {
            let old = before.seats_of(product);
            let new = after.seats_of(product);
            SeatImpact {
                sku: catalog.product(product).sku_part_number.clone(),
                enabled: new.or(old).map_or(0, |usage| usage.enabled),
                before: old.map_or(0, |usage| usage.consumed),
                after: new.map_or(0, |usage| usage.consumed),
            }
        })
        .collect();
    seats.sort_by(|a, b| a.sku.cmp(&b.sku));
    let mut groups = Vec::new();
    for (name, index) in changed_groups {
        let old = members_before.get(*index).map_or(&[][..], Vec::as_slice);
        let new = members_after.get(*index).map_or(&[][..], Vec::as_slice);
        let upn = |user: &UserIdx| desired.user_at(*user).upn.to_string();
        let mut joiners: Vec<String> = new
            .iter()
            .filter(|user| old.binary_search(user).is_err())
            .map(upn)
            .collect();
        let mut leavers: Vec<String> = old
            .iter()
            .filter(|user| new.binary_search(user).is_err())
            .map(upn)
            .collect();
        if joiners.is_empty() && leavers.is_empty() {
            continue;
        }
        joiners.sort();
        leavers.sort();
        groups.push(GroupImpact {
            group: name.clone(),
            joining: joiners.len(),
            leaving: leavers.len(),
            joiners,
            leavers,
        });
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    Impact {
        users,
        seats,
        groups,
    }
}
