//! Property tests of the engine over generated small tenants (a few products of the built-in
//! catalog, 1–30 users, 1–6 groups, random members, seats, direct licenses, shared proxy
//! addresses, dynamic and nested groups), all fresh: nothing recorded yet, as right after the
//! licenses were assigned. The invariants: seats consumed never exceed seats enabled, no user
//! consumes a product twice, effective plans are the union of the effective assignments' plans,
//! group assignment is all-or-nothing and splits every member into assigned or in error, and the
//! outcome does not depend on the order of users, groups or members in the file.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::catalog::Catalog;
use crate::plan::{evaluate, Evaluated};
use crate::source::SourceId;
use crate::tenant::model::{
    AssignedLicense, AttributeValue, GroupState, Subscription, TenantInfo, TenantState, UserState,
};

/// Products the generator draws from (E1 and E3 conflict; Workplace Analytics and Audio
/// Conferencing are add-ons with prerequisites; E5 overlaps E3).
const PRODUCTS: &[&str] = &[
    "STANDARDPACK",
    "ENTERPRISEPACK",
    "EMS",
    "SPE_E5",
    "VISIOCLIENT",
    "WORKPLACE_ANALYTICS",
    "MCOMEETADV",
];
const MAX_USERS: usize = 30;
const MAX_GROUPS: usize = 6;
const LOCATIONS: &[Option<&str>] = &[None, Some("US"), Some("DE"), Some("GB"), Some("CU")];
const DEPARTMENTS: &[&str] = &["Sales", "Engineering", "Legal"];
/// A rule on licenses: the users whose Exchange Online (Plan 2) is enabled (a group with it
/// follows the licensing of the others: `plan::cascade`).
const PLANS_RULE: &str = "user.assignedPlans -any (assignedPlan.servicePlanId -eq \"efb87545-963c-4e0d-99df-69c6916d9eb0\" -and assignedPlan.capabilityStatus -eq \"Enabled\")";

/// One user's choices: location index, department index, proxy choice (< 4: one of four shared
/// addresses), direct product.
type UserChoice = (usize, usize, u8, Option<usize>);

/// One group's choices: member flag per user, products, security enabled, rule department (or,
/// one past the departments, [`PLANS_RULE`]), nested group.
type GroupChoice = (Vec<bool>, Vec<usize>, bool, Option<usize>, Option<usize>);

/// The random choices a tenant is made of.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    users: usize,
    groups: usize,
    /// Per user.
    user_choices: Vec<UserChoice>,
    /// Per group.
    group_choices: Vec<GroupChoice>,
    /// Seats beyond the direct holders, per product.
    extra_seats: Vec<u64>,
    /// Whether the tenant has a default usage location.
    default_location: bool,
}

pub(crate) fn raw() -> impl Strategy<Value = Raw> {
    let user = (
        0..LOCATIONS.len(),
        0..DEPARTMENTS.len(),
        0u8..24,
        prop::option::weighted(0.25, 0..PRODUCTS.len()),
    );
    let group = (
        prop::collection::vec(prop::bool::weighted(0.4), MAX_USERS),
        prop::collection::vec(0..PRODUCTS.len(), 0..=2),
        prop::bool::weighted(0.9),
        // One past the departments: the rule tests a license (`user.assignedPlans`).
        prop::option::weighted(0.3, 0..=DEPARTMENTS.len()),
        prop::option::weighted(0.15, 0..MAX_GROUPS),
    );
    (
        1..=MAX_USERS,
        1..=MAX_GROUPS,
        prop::collection::vec(user, MAX_USERS),
        prop::collection::vec(group, MAX_GROUPS),
        prop::collection::vec(0u64..=6, PRODUCTS.len()),
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(users, groups, user_choices, group_choices, extra_seats, default_location)| Raw {
                users,
                groups,
                user_choices,
                group_choices,
                extra_seats,
                default_location,
            },
        )
}

/// `from` changed by `to` where `picks` says so: a user picked takes `to`'s usage location,
/// department (so dynamic groups gain and lose members) and direct product, keeping `from`'s
/// proxy address; a group picked takes `to`'s members, products, security flag and rule (bit
/// `i` of `picks` for user `i`, bit `MAX_USERS + j` for group `j`); the tenant's default
/// location comes from `to` when bit 63 is set. Users and groups keep their ids and places.
pub(crate) fn changed(from: &Raw, to: &Raw, picks: u64) -> Raw {
    let picked = |bit: usize| picks >> bit & 1 == 1;
    let mut raw = from.clone();
    for (index, choice) in raw.user_choices.iter_mut().enumerate() {
        if picked(index) {
            let (location, department, _, direct) = to.user_choices[index];
            *choice = (location, department, choice.2, direct);
        }
    }
    for (index, choice) in raw.group_choices.iter_mut().enumerate() {
        if picked(MAX_USERS + index) {
            *choice = to.group_choices[index].clone();
        }
    }
    if picked(63) {
        raw.default_location = to.default_location;
    }
    raw
}

fn upn(index: usize) -> String {
    format!("user{index:02}@contoso.com")
}

/// The tenant state the choices describe. Seats cover at least the direct holders: a fresh state
/// whose direct licenses were all assigned.
pub(crate) fn state(raw: &Raw) -> TenantState {
    let mut direct_holders = vec![0u64; PRODUCTS.len()];
    let users: Vec<UserState> = (0..raw.users)
        .map(|index| {
            let (location, department, proxy, direct) = raw.user_choices[index];
            if let Some(product) = direct {
                direct_holders[product] += 1;
            }
            let address = if proxy < 4 {
                format!("smtp:shared{proxy}@contoso.com")
            } else {
                format!("SMTP:{}", upn(index))
            };
            UserState {
                id: format!("00000000-0000-4000-8000-{index:012}"),
                upn: upn(index),
                usage_location: LOCATIONS[location].map(str::to_string),
                attributes: [(
                    "department".to_string(),
                    AttributeValue::String(DEPARTMENTS[department].into()),
                )]
                .into_iter()
                .collect(),
                proxy_addresses: vec![address],
                licenses: direct
                    .map(|product| AssignedLicense {
                        sku: PRODUCTS[product].to_string(),
                        disabled_plans: Vec::new(),
                    })
                    .into_iter()
                    .collect(),
                ..UserState::default()
            }
        })
        .collect();
    let groups: Vec<GroupState> = (0..raw.groups)
        .map(|index| {
            let (flags, products, security, rule, nested) = &raw.group_choices[index];
            let mut members: Vec<String> = (0..raw.users)
                .filter(|&user| flags[user])
                .map(upn)
                .collect();
            if let Some(nested) = nested.filter(|&nested| nested < raw.groups && nested != index) {
                members.push(format!("00000000-0000-4000-9000-{nested:012}"));
            }
            let mut products = products.clone();
            products.sort_unstable();
            products.dedup();
            GroupState {
                id: format!("00000000-0000-4000-9000-{index:012}"),
                display_name: format!("Group {index}"),
                security_enabled: *security,
                rule: rule.map(|department| match DEPARTMENTS.get(department) {
                    Some(department) => format!("user.department -eq \"{department}\""),
                    None => PLANS_RULE.to_string(),
                }),
                members,
                licenses: products
                    .into_iter()
                    .map(|product| AssignedLicense {
                        sku: PRODUCTS[product].to_string(),
                        disabled_plans: Vec::new(),
                    })
                    .collect(),
                ..GroupState::default()
            }
        })
        .collect();
    TenantState {
        version: 1,
        tenant: TenantInfo {
            id: Some("00000000-0000-4000-a000-000000000000".into()),
            default_usage_location: raw.default_location.then(|| "US".to_string()),
        },
        subscriptions: PRODUCTS
            .iter()
            .enumerate()
            .map(|(index, sku)| Subscription {
                sku: sku.to_string(),
                id: None,
                enabled: direct_holders[index] + raw.extra_seats[index],
                ..Subscription::default()
            })
            .collect(),
        users,
        groups,
        delta: None,
    }
}

fn run_state(state: &TenantState) -> Evaluated {
    evaluate(
        Catalog::builtin(),
        state,
        SourceId(0),
        jiff::Timestamp::UNIX_EPOCH,
    )
    .expect("generated tenants are consistent")
}

/// The outcome keyed by names, independent of indexes: per user (UPN) the effective plans,
/// consumed products and assignments; per product the seats; per group (name) the users assigned
/// and in error.
type Keyed = (
    BTreeMap<
        String,
        (
            PlanSet,
            Vec<ProductId>,
            BTreeSet<(String, ProductId, String)>,
        ),
    >,
    Vec<SeatUsage>,
    BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
);

fn keyed(evaluated: &Evaluated) -> Keyed {
    let tenant = &evaluated.tenant;
    let outcome = &evaluated.outcome;
    let users = outcome
        .users
        .iter()
        .enumerate()
        .map(|(index, user)| {
            let assignments = user
                .assignments
                .iter()
                .map(|assignment| {
                    let source = match assignment.source {
                        Source::Direct => String::new(),
                        Source::Group(group) => tenant.group_at(group).name.to_string(),
                    };
                    (
                        source,
                        assignment.product,
                        format!("{:?} {:?}", assignment.state, assignment.error),
                    )
                })
                .collect();
            (
                tenant.users[index].upn.to_string(),
                (user.effective.clone(), user.consumed.clone(), assignments),
            )
        })
        .collect();
    let upns = |users: &[UserIdx]| -> BTreeSet<String> {
        users
            .iter()
            .map(|&user| tenant.user_at(user).upn.to_string())
            .collect()
    };
    let groups = outcome
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            (
                tenant.groups[index].name.to_string(),
                (upns(&group.users_assigned), upns(&group.users_in_error)),
            )
        })
        .collect();
    (users, outcome.seats.clone(), groups)
}

/// A permutation of `0..len` from a seed (a simple LCG shuffle; proptest shrinks the seed).
fn permutation(len: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut state = seed | 1;
    for index in (1..len).rev() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(index, (state >> 33) as usize % (index + 1));
    }
    order
}

fn shuffled(state: &TenantState, seed: u64) -> TenantState {
    let mut shuffled = state.clone();
    shuffled.users = permutation(state.users.len(), seed)
        .into_iter()
        .map(|index| state.users[index].clone())
        .collect();
    shuffled.groups = permutation(state.groups.len(), seed.rotate_left(17))
        .into_iter()
        .map(|index| {
            let mut group = state.groups[index].clone();
            group.members = permutation(group.members.len(), seed ^ index as u64)
                .into_iter()
                .map(|member| state.groups[index].members[member].clone())
                .collect();
            group
        })
        .collect();
    shuffled.subscriptions.reverse();
    shuffled
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn looking_users_up_finds_the_licensed_groups_reading_every_list_finds(
        raw in raw(),
        every in 1usize..4,
    ) {
        let state = state(&raw);
        let evaluated = run_state(&state);
        let tenant = &evaluated.tenant;
        let members = &evaluated.memberships.members;
        let licensed: Vec<usize> = (0..members.len())
            .filter(|&index| tenant.groups[index].security_enabled && !tenant.groups[index].licenses.is_empty())
            .collect();
        // Every `every`-th user, backwards (a selection need not be sorted).
        let list: Vec<UserIdx> = (0..tenant.users.len())
            .step_by(every)
            .rev()
            .map(|index| UserIdx(index as u32))
            .collect();
        let searched = units::Targets::searched(members, &licensed, &list);
        let scanned = units::Targets::scanned(tenant, members, &licensed, Selection::Only(&list));
        for slot in 0..list.len() {
            prop_assert_eq!(searched.of(slot), scanned.of(slot), "slot {}", slot);
        }
    }

    #[test]
    fn fresh_tenants_keep_the_engine_invariants(raw in raw()) {
        let state = state(&raw);
        let evaluated = run_state(&state);
        let tenant = &evaluated.tenant;
        let outcome = &evaluated.outcome;

        // Seats: never more consumed than enabled; the count is the users consuming the product.
        for usage in &outcome.seats {
            prop_assert!(usage.consumed <= usage.enabled, "{usage:?}");
            let holders = outcome
                .users
                .iter()
                .filter(|user| user.consumed.contains(&usage.product))
                .count() as u64;
            prop_assert_eq!(holders, usage.consumed);
        }

        for (index, user) in outcome.users.iter().enumerate() {
            // One seat per product: consumed is strictly increasing, and is exactly the products
            // of the effective assignments.
            prop_assert!(user.consumed.windows(2).all(|pair| pair[0] < pair[1]), "{:?}", user.consumed);
            let mut held: Vec<ProductId> = user
                .assignments
                .iter()
                .filter(|assignment| assignment.is_effective())
                .map(|assignment| assignment.product)
                .collect();
            held.sort_unstable();
            held.dedup();
            prop_assert_eq!(&held, &user.consumed);
            // Effective plans: the union over effective assignments, nothing from failed ones.
            let mut union = PlanSet::default();
            for assignment in &user.assignments {
                if assignment.is_effective() {
                    union.union_with(&assignment.enabled);
                } else {
                    prop_assert!(assignment.enabled.is_empty());
                    prop_assert!(assignment.error.is_some());
                }
            }
            prop_assert_eq!(&union, &user.effective);
            // All-or-nothing per group.
            let idx = UserIdx(index as u32);
            for (group_index, group) in tenant.groups.iter().enumerate() {
                let source = Source::Group(GroupIdx(group_index as u32));
                let from_group: Vec<&AssignmentOutcome> = user
                    .assignments
                    .iter()
                    .filter(|assignment| assignment.source == source)
                    .collect();
                let effective = from_group.iter().filter(|a| a.is_effective()).count();
                prop_assert!(effective == 0 || effective == from_group.len(), "{from_group:?}");
                let member = evaluated.memberships.members[group_index].contains(&idx);
                let licensed = group.security_enabled && !group.licenses.is_empty();
                prop_assert_eq!(!from_group.is_empty(), member && licensed);
                if !from_group.is_empty() {
                    prop_assert_eq!(from_group.len(), group.licenses.len());
                }
            }
        }

        // Every licensed group splits its members into assigned and in error, without overlap.
        for (index, group) in outcome.groups.iter().enumerate() {
            let assigned: BTreeSet<UserIdx> = group.users_assigned.iter().copied().collect();
            let failed: BTreeSet<UserIdx> = group.users_in_error.iter().copied().collect();
            prop_assert!(assigned.is_disjoint(&failed));
            let licensed = tenant.groups[index].security_enabled && !tenant.groups[index].licenses.is_empty();
            let expected: BTreeSet<UserIdx> = if licensed {
                evaluated.memberships.members[index].iter().copied().collect()
            } else {
                BTreeSet::new()
            };
            let all: BTreeSet<UserIdx> = assigned.union(&failed).copied().collect();
            prop_assert_eq!(all, expected);
        }
    }

    #[test]
    fn the_outcome_does_not_depend_on_the_order_in_the_file(raw in raw(), seed in any::<u64>()) {
        let state = state(&raw);
        let original = keyed(&run_state(&state));
        let reordered = keyed(&run_state(&shuffled(&state, seed)));
        prop_assert_eq!(original, reordered);
    }
}
