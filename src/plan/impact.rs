//! The impact of a plan: the engine's outcome before and after, turned into per-user gains,
//! losses and errors, seats per product, and members joining and leaving each changed group.

use std::collections::BTreeMap;

use crate::catalog::{Catalog, PlanSet, ProductId};
use crate::engine::{AssignmentOutcome, Outcome, UserOutcome};
use crate::plan::document::{
    GroupImpact, Impact, LicenseSource, ProductChangeKind, ProductImpact, SeatImpact, UserImpact,
};
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
///
/// A plan is lost only when nothing the user holds afterwards supersedes it, wherever the
/// superseding plan comes from: this change, another group, or a direct license the user already
/// had. An E1 → E3 migration in one group, for a user who also holds EMS from another group,
/// drops `RMS_S_BASIC`; `RMS_S_ENTERPRISE` (already effective through EMS) supersedes it, so the
/// user keeps the service. Seed 001, "Change license assignments for a user or group in Microsoft
/// Entra ID": "The goal is to ensure that there's no loss of service or data during the license
/// change."
pub struct PlanChange {
    /// Plans effective after and not before.
    pub gained: PlanSet,
    /// Plans effective before and not after, upgrades excepted.
    pub lost: PlanSet,
    /// Plans effective before and not after that a plan effective after supersedes.
    pub upgraded: PlanSet,
}

impl PlanChange {
    /// The change of `user` between two engine outcomes.
    pub fn between(catalog: &Catalog, before: &UserOutcome, after: &UserOutcome) -> Self {
        Self::of_plans(catalog, &before.effective, &after.effective)
    }

    /// The change between two sets of effective plans.
    pub fn of_plans(catalog: &Catalog, before: &PlanSet, after: &PlanSet) -> Self {
        let gained = after.difference(before);
        let dropped = before.difference(after);
        let (upgraded, lost): (Vec<_>, Vec<_>) = dropped
            .iter()
            .partition(|&plan| catalog.is_upgrade(plan, after));
        PlanChange {
            gained,
            lost: lost.into_iter().collect(),
            upgraded: upgraded.into_iter().collect(),
        }
    }
}

/// Where an assignment comes from, by name (groups as `tenant` names them).
pub fn license_source(tenant: &Tenant, source: Source) -> LicenseSource {
    match source {
        Source::Direct => LicenseSource::Direct,
        Source::Group(group) => LicenseSource::Group {
            group: tenant.group_at(group).name.to_string(),
        },
    }
}

/// A user's effective products: for each, its sources and the plans it enables.
fn effective_products(outcome: &UserOutcome) -> BTreeMap<ProductId, (Vec<Source>, PlanSet)> {
    let mut products: BTreeMap<ProductId, (Vec<Source>, PlanSet)> = BTreeMap::new();
    for assignment in outcome
        .assignments
        .iter()
        .filter(|assignment| assignment.is_effective())
    {
        let entry = products.entry(assignment.product).or_default();
        entry.0.push(assignment.source);
        entry.1.union_with(&assignment.enabled);
    }
    products
}

/// The products behind one user's change (gained, then changed, then lost; by display name
/// within each): each with its sources and the service plans of `change` it accounts for. A plan
/// two products provide is listed under both.
pub fn product_changes(
    catalog: &Catalog,
    current: &Tenant,
    desired: &Tenant,
    before: &UserOutcome,
    after: &UserOutcome,
    change: &PlanChange,
) -> Vec<ProductImpact> {
    let old = effective_products(before);
    let new = effective_products(after);
    let mut products: Vec<ProductId> = old.keys().chain(new.keys()).copied().collect();
    products.sort_unstable();
    products.dedup();
    let names = |plans: &PlanSet, of: &PlanSet| {
        catalog.plan_names(&plans.iter().filter(|&plan| of.contains(plan)).collect())
    };
    let sources = |tenant: &Tenant, sources: &[Source]| {
        let mut named: Vec<LicenseSource> = sources
            .iter()
            .map(|&source| license_source(tenant, source))
            .collect();
        named.sort();
        named.dedup();
        named
    };
    let mut out = Vec::new();
    for product in products {
        let (kind, sources_after, sources_before, plans_gained, plans_lost) =
            match (old.get(&product), new.get(&product)) {
                (None, Some((from, plans))) => (
                    ProductChangeKind::Gained,
                    sources(desired, from),
                    Vec::new(),
                    names(plans, &change.gained),
                    Vec::new(),
                ),
                (Some((from, plans)), None) => (
                    ProductChangeKind::Lost,
                    sources(current, from),
                    Vec::new(),
                    Vec::new(),
                    names(plans, &change.lost),
                ),
                (Some((was, old_plans)), Some((now, new_plans))) => {
                    let was = sources(current, was);
                    let now = sources(desired, now);
                    let gained = names(new_plans, &change.gained);
                    let lost = names(old_plans, &change.lost);
                    if was == now && gained.is_empty() && lost.is_empty() {
                        continue;
                    }
                    let before = if was == now { Vec::new() } else { was };
                    (ProductChangeKind::Changed, now, before, gained, lost)
                }
                (None, None) => continue,
            };
        let product = catalog.product(product);
        out.push(ProductImpact {
            sku: product.sku_part_number.clone(),
            name: product.name.clone(),
            change: kind,
            sources: sources_after,
            sources_before,
            plans_gained,
            plans_lost,
        });
    }
    out.sort_by(|a, b| (a.change, &a.name).cmp(&(b.change, &b.name)));
    out
}

/// The impact of going from `before` to `after`. `changed_groups` are the indexes and names of
/// groups whose membership is reported; `moved` the users whose outcome may differ (sorted; any
/// other user's outcome must be the same in both).
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
    moved: &[UserIdx],
) -> Impact {
    let mut users = Vec::new();
    // Only the users some step processed can differ: everyone else's outcome is shared.
    for &user in moved {
        let index = user.0 as usize;
        let (Some(old), Some(new)) = (before.users.get(index), after.users.get(index)) else {
            continue;
        };
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
            products: product_changes(catalog, current, desired, old, new, &change),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> &'static Catalog {
        Catalog::builtin()
    }

    fn plans_of(skus: &[&str]) -> PlanSet {
        let mut plans = PlanSet::new();
        for sku in skus {
            plans.union_with(&catalog().plans_of(catalog().resolve_product(sku).unwrap()));
        }
        plans
    }

    fn named(names: &[&str]) -> PlanSet {
        names
            .iter()
            .map(|name| catalog().resolve_plan(name).unwrap())
            .collect()
    }

    fn user(plans: PlanSet) -> UserOutcome {
        UserOutcome {
            effective: plans,
            ..UserOutcome::default()
        }
    }

    #[test]
    fn a_plan_superseded_by_one_already_held_is_an_upgrade() {
        // E1 → E3 for a user who holds EMS (RMS_S_ENTERPRISE) from another group: E3 gains no
        // RMS_S_ENTERPRISE, the user already had it, and it supersedes E1's RMS_S_BASIC.
        let before = user(plans_of(&["STANDARDPACK", "EMS"]));
        let after = user(plans_of(&["ENTERPRISEPACK", "EMS"]));
        let rms = named(&["RMS_S_BASIC"]);
        assert!(rms.is_subset(&before.effective));
        let change = PlanChange::between(catalog(), &before, &after);
        assert!(!change
            .gained
            .contains_any(named(&["RMS_S_ENTERPRISE"]).as_slice()));
        assert!(rms.is_subset(&change.upgraded), "RMS_S_BASIC is upgraded");
        assert!(
            change.lost.is_empty(),
            "{:?}",
            catalog().plan_names(&change.lost)
        );
    }

    #[test]
    fn a_plan_nothing_supersedes_afterwards_is_lost() {
        // Dropping E1 while keeping EMS: RMS_S_ENTERPRISE supersedes RMS_S_BASIC, but Exchange
        // Online (Plan 1) and the rest of E1 are gone with nothing above them.
        let before = user(plans_of(&["STANDARDPACK", "EMS"]));
        let after = user(plans_of(&["EMS"]));
        let change = PlanChange::between(catalog(), &before, &after);
        assert!(named(&["RMS_S_BASIC"]).is_subset(&change.upgraded));
        assert!(named(&["EXCHANGE_S_STANDARD", "SHAREPOINTSTANDARD"]).is_subset(&change.lost));
        assert!(!change.lost.contains_any(named(&["RMS_S_BASIC"]).as_slice()));
    }

    #[test]
    fn the_superseding_plan_may_come_from_a_direct_license_kept_unchanged() {
        // A direct Exchange Online (Plan 2) product stays; the group's E1 goes: its Exchange
        // Online (Plan 1) is superseded by the direct plan the user keeps.
        let before = user(plans_of(&["STANDARDPACK", "EXCHANGEENTERPRISE"]));
        let after = user(plans_of(&["EXCHANGEENTERPRISE"]));
        let change = PlanChange::between(catalog(), &before, &after);
        assert!(change.gained.is_empty());
        assert!(named(&["EXCHANGE_S_STANDARD"]).is_subset(&change.upgraded));
        assert!(!change
            .lost
            .contains_any(named(&["EXCHANGE_S_STANDARD"]).as_slice()));
        assert!(named(&["SHAREPOINTSTANDARD"]).is_subset(&change.lost));
    }

    #[test]
    fn a_plan_kept_is_neither_lost_nor_upgraded() {
        let plans = plans_of(&["ENTERPRISEPACK"]);
        let change = PlanChange::between(catalog(), &user(plans.clone()), &user(plans));
        assert!(change.gained.is_empty() && change.lost.is_empty() && change.upgraded.is_empty());
    }
}
