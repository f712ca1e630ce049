//! The seed scenarios (seeds 000–004), each a small tenant whose outcome is checked against what
//! Microsoft's documentation says the service does, plus property tests of the engine's invariants.

use super::*;
use crate::catalog::Catalog;
use crate::source::SourceId;
use crate::tenant::index::{build, GroupIdx};
use crate::tenant::model::TenantState;

/// A tenant from YAML, indexed against the built-in catalog.
pub(crate) fn tenant(yaml: &str) -> Tenant {
    let state: TenantState = serde_yaml::from_str(yaml).expect("test tenant parses");
    build(&state, Catalog::builtin(), SourceId(0)).expect("test tenant is consistent")
}

/// Static memberships as recorded (no dynamic groups in these scenarios).
pub(crate) fn members(tenant: &Tenant) -> Vec<Vec<UserIdx>> {
    tenant
        .groups
        .iter()
        .map(|group| group.members.clone())
        .collect()
}

fn predict(tenant: &Tenant) -> Outcome {
    ServiceMemory::settle(Catalog::builtin(), tenant, &members(tenant)).1
}

/// The engine from the settled memory of `before` to `after`, with `after`'s members.
fn run_mode(before: &Tenant, after: &Tenant, mode: Mode) -> Outcome {
    let (memory, _) = ServiceMemory::settle(Catalog::builtin(), before, &members(before));
    run(Catalog::builtin(), &memory, after, &members(after), mode)
}

fn product(sku: &str) -> ProductId {
    Catalog::builtin()
        .resolve_product(sku)
        .expect("known product")
}

fn plan(name: &str) -> crate::catalog::PlanId {
    Catalog::builtin().resolve_plan(name).expect("known plan")
}

fn user<'a>(tenant: &Tenant, outcome: &'a Outcome, upn: &str) -> &'a UserOutcome {
    &outcome.users[tenant.user(upn).expect("known user").0 as usize]
}

fn errors(outcome: &UserOutcome) -> Vec<(ProductId, AssignmentError)> {
    outcome
        .errors()
        .map(|assignment| {
            (
                assignment.product,
                assignment.error.unwrap_or(AssignmentError::Other),
            )
        })
        .collect()
}

const HEAD: &str = "version: 1\ntenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }\n";

#[test]
fn e1_direct_conflicts_with_e3_from_a_group() {
    // Seed 002: "A user has a license for Office 365 Enterprise E1 assigned directly … added to a
    // group that has … E3 … the group license assignment fails".
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: STANDARDPACK, enabled: 5 }}, {{ sku: ENTERPRISEPACK, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, licenses: [{{ sku: STANDARDPACK }}] }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: E3, members: [ann@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
"
    ));
    let outcome = predict(&tenant);
    let ann = user(&tenant, &outcome, "ann@contoso.com");
    assert_eq!(
        errors(ann),
        vec![(
            product("ENTERPRISEPACK"),
            AssignmentError::MutuallyExclusiveViolation
        )]
    );
    assert!(ann.effective.contains(plan("EXCHANGE_S_STANDARD")));
    assert!(!ann.effective.contains(plan("EXCHANGE_S_ENTERPRISE")));
    assert_eq!(ann.consumed, vec![product("STANDARDPACK")]);
    assert_eq!(
        outcome
            .seats_of(product("ENTERPRISEPACK"))
            .map(|seats| seats.consumed),
        Some(0)
    );
    assert!(
        !outcome.groups[0].users_in_error.is_empty(),
        "the group shows errors"
    );
}

#[test]
fn e3_with_disabled_conflicting_plans_coexists_with_e1() {
    // Seed 002's resolution: "modify the entire group license assignment and disable the plans".
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: STANDARDPACK, enabled: 5 }}, {{ sku: ENTERPRISEPACK, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, licenses: [{{ sku: STANDARDPACK }}] }}
groups:
  - id: 711430f6-164e-4380-8d93-428bc1fab80f
    display_name: E3 without Exchange and SharePoint
    members: [ann@contoso.com]
    licenses: [{{ sku: ENTERPRISEPACK, disabled_plans: [EXCHANGE_S_ENTERPRISE, SHAREPOINTENTERPRISE] }}]
"
    ));
    let outcome = predict(&tenant);
    let ann = user(&tenant, &outcome, "ann@contoso.com");
    assert!(errors(ann).is_empty());
    assert_eq!(
        ann.consumed,
        vec![product("STANDARDPACK"), product("ENTERPRISEPACK")]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert!(
        outcome.groups[0].users_in_error.is_empty(),
        "the group shows all assigned"
    );
}

#[test]
fn workplace_analytics_with_exchange_in_the_group_consumes_one_e3_seat() {
    // Seeds 000–002: E3 + Workplace Analytics in one group, full E3 in another: "they still
    // consume only one license for that product".
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 1 }}, {{ sku: WORKPLACE_ANALYTICS, enabled: 1 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com }}
groups:
  - id: 711430f6-164e-4380-8d93-428bc1fab80f
    display_name: Analytics
    members: [ann@contoso.com]
    licenses:
      - {{ sku: ENTERPRISEPACK, disabled_plans: [] }}
      - {{ sku: WORKPLACE_ANALYTICS }}
  - {{ id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: All E3, members: [ann@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
"
    ));
    let outcome = predict(&tenant);
    let ann = user(&tenant, &outcome, "ann@contoso.com");
    assert!(errors(ann).is_empty(), "{:?}", errors(ann));
    assert_eq!(
        outcome
            .seats_of(product("ENTERPRISEPACK"))
            .map(|seats| seats.consumed),
        Some(1)
    );
    assert!(ann.effective.contains(plan("WORKPLACE_ANALYTICS")));
}

#[test]
fn seats_run_out_mid_group_all_or_nothing_in_upn_order() {
    // Seed 000: "if the processing of the licenses encounters issues such as insufficient licenses
    // … it doesn't assign other licenses in the group either"; order: group name, then UPN.
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 10 }}, {{ sku: EMS, enabled: 2 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: dan@contoso.com }}
  - {{ id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: ann@contoso.com }}
  - {{ id: 011e39ef-e225-40f4-8339-ad19cd180f4d, upn: cat@contoso.com }}
groups:
  - id: 711430f6-164e-4380-8d93-428bc1fab80f
    display_name: Staff
    members: [dan@contoso.com, ann@contoso.com, cat@contoso.com]
    licenses: [{{ sku: ENTERPRISEPACK }}, {{ sku: EMS }}]
"
    ));
    let outcome = predict(&tenant);
    assert!(errors(user(&tenant, &outcome, "ann@contoso.com")).is_empty());
    assert!(errors(user(&tenant, &outcome, "cat@contoso.com")).is_empty());
    let dan = user(&tenant, &outcome, "dan@contoso.com");
    let mut expected = vec![
        (product("ENTERPRISEPACK"), AssignmentError::Other),
        (product("EMS"), AssignmentError::CountViolation),
    ];
    expected.sort();
    assert_eq!(errors(dan), expected);
    assert!(
        dan.consumed.is_empty(),
        "a failed group assignment consumes nothing"
    );
    assert!(dan.effective.is_empty());
    assert_eq!(
        outcome
            .seats_of(product("ENTERPRISEPACK"))
            .map(|seats| seats.consumed),
        Some(2)
    );
    assert_eq!(
        outcome.seats_of(product("EMS")).map(|seats| seats.consumed),
        Some(2)
    );
    assert_eq!(
        outcome.groups[0].users_in_error,
        vec![tenant.user("dan@contoso.com").unwrap()]
    );
}

#[test]
fn existing_assignments_keep_their_seats() {
    // SPEC §2.5: assignments already active keep their seats; new ones queue behind them.
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: EMS, enabled: 1 }}]
users:
  - id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a
    upn: zoe@contoso.com
    license_states: [{{ sku: EMS, via: Mobile, state: Active }}]
  - {{ id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: ann@contoso.com }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Mobile, members: [zoe@contoso.com, ann@contoso.com], licenses: [{{ sku: EMS }}] }}
"
    ));
    let outcome = predict(&tenant);
    assert!(errors(user(&tenant, &outcome, "zoe@contoso.com")).is_empty());
    assert_eq!(
        errors(user(&tenant, &outcome, "ann@contoso.com")),
        vec![(product("EMS"), AssignmentError::CountViolation)]
    );
}

#[test]
fn recorded_errors_stay_until_reprocessed() {
    // Seed 003: the service "does not automatically react … and fix users in that error state";
    // Reprocess does.
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: EMS, enabled: 5 }}]
users:
  - id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a
    upn: ann@contoso.com
    license_states: [{{ sku: EMS, via: Mobile, state: Error, error: CountViolation }}]
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Mobile, members: [ann@contoso.com], licenses: [{{ sku: EMS }}] }}
"
    ));
    let outcome = predict(&tenant);
    assert_eq!(
        errors(user(&tenant, &outcome, "ann@contoso.com")),
        vec![(product("EMS"), AssignmentError::CountViolation)]
    );
    let reprocessed = run_mode(&tenant, &tenant, Mode::Reprocess);
    assert!(errors(user(&tenant, &reprocessed, "ann@contoso.com")).is_empty());
}

#[test]
fn users_without_usage_location_inherit_the_tenant_default() {
    // Seed 003: "any users without a usage location specified inherit the location of the
    // directory". A plan unavailable in the tenant's country therefore fails for them.
    let mut state: TenantState = serde_yaml::from_str(
        "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: CU }
subscriptions: [{ sku: EMS, enabled: 5 }]
users:
  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com }
  - { id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: bob@contoso.com, usage_location: US }
groups:
  - { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Mobile, members: [ann@contoso.com, bob@contoso.com], licenses: [{ sku: EMS, disabled_plans: [] }] }
",
    )
    .unwrap();
    state.tenant.default_usage_location = Some("CU".into());
    let additions: crate::config::CatalogAdditions =
        serde_yaml::from_str("plans: { INTUNE_A: { unavailable_in: [CU] } }").unwrap();
    let catalog = Catalog::builtin()
        .with_additions(&additions, |_| None)
        .expect("additions apply");
    let tenant = build(&state, &catalog, SourceId(0)).unwrap();
    let outcome = ServiceMemory::settle(&catalog, &tenant, &members(&tenant)).1;
    assert_eq!(
        errors(user(&tenant, &outcome, "ann@contoso.com")),
        vec![(
            product("EMS"),
            AssignmentError::ProhibitedInUsageLocationViolation
        )]
    );
    assert!(errors(user(&tenant, &outcome, "bob@contoso.com")).is_empty());
}

#[test]
fn audio_conferencing_keeps_skype_when_the_group_goes_away() {
    // Seed 000, "When a licensed group is deleted": Audio Conferencing held directly depends on
    // Skype for Business from a group's E3; removing the group's license cannot take Skype away
    // (seed 001, "Other products depend on this license": DependencyViolation), so the group's
    // license stays with the user, in error. (Seed 001's "When a licensed group is deleted" says
    // it is instead "converted from inherited to direct"; seatplan follows seed 000, and refuses
    // such a group deletion either way: `licensed-group-delete`.)
    let before = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 5 }}, {{ sku: MCOMEETADV, enabled: 5 }}]
users:
  - id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a
    upn: ann@contoso.com
    licenses: [{{ sku: MCOMEETADV }}]
    license_states: [{{ sku: ENTERPRISEPACK, via: E3, state: Active }}, {{ sku: MCOMEETADV, state: Active }}]
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: E3, members: [ann@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
"
    ));
    let mut after = before.clone();
    after.groups[0].licenses.clear();
    let outcome = run_mode(&before, &after, Mode::Predict);
    let ann = user(&after, &outcome, "ann@contoso.com");
    assert_eq!(
        errors(ann),
        vec![(
            product("ENTERPRISEPACK"),
            AssignmentError::DependencyViolation
        )]
    );
    assert!(ann.effective.contains(plan("MCOSTANDARD")));
    assert!(ann.consumed.contains(&product("ENTERPRISEPACK")));
}

#[test]
fn removing_a_group_without_dependents_frees_the_seat() {
    let before = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, license_states: [{{ sku: ENTERPRISEPACK, via: E3, state: Active }}] }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: E3, members: [ann@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
"
    ));
    let mut after = before.clone();
    after.groups[0].members.clear();
    let outcome = run_mode(&before, &after, Mode::Predict);
    let ann = user(&after, &outcome, "ann@contoso.com");
    assert!(ann.assignments.is_empty());
    assert_eq!(
        outcome
            .seats_of(product("ENTERPRISEPACK"))
            .map(|seats| seats.consumed),
        Some(0)
    );
}

#[test]
fn migration_in_one_group_is_simultaneous() {
    // Seed 001: "the license assignment removals and new assignments are made simultaneously so
    // that users do not … see license conflicts between plans" (E1 → E3).
    let before = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: STANDARDPACK, enabled: 5 }}, {{ sku: ENTERPRISEPACK, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, license_states: [{{ sku: STANDARDPACK, via: Staff, state: Active }}] }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Staff, members: [ann@contoso.com], licenses: [{{ sku: STANDARDPACK }}] }}
"
    ));
    let mut after = before.clone();
    after.groups[0].licenses = vec![crate::tenant::index::resolve_license(
        Catalog::builtin(),
        "ENTERPRISEPACK",
        &[],
        None,
    )
    .unwrap()];
    let outcome = run_mode(&before, &after, Mode::Predict);
    let ann = user(&after, &outcome, "ann@contoso.com");
    assert!(errors(ann).is_empty(), "{:?}", errors(ann));
    assert_eq!(ann.consumed, vec![product("ENTERPRISEPACK")]);
    assert_eq!(
        outcome
            .seats_of(product("STANDARDPACK"))
            .map(|seats| seats.consumed),
        Some(0)
    );
}

#[test]
fn nested_group_members_get_nothing() {
    // Seed 003, "Limitations and known issues": "only the immediate first-level user members of
    // the group have the licenses applied" (seed 004: "only users in the first-level group are
    // assigned licenses").
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: EMS, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com }}
  - {{ id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: bob@contoso.com }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Parent, members: [ann@contoso.com, 4d2f4b66-8cfc-48e6-859d-36e91326bf87], licenses: [{{ sku: EMS }}] }}
  - {{ id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: Child, members: [bob@contoso.com] }}
"
    ));
    assert_eq!(tenant.groups[0].member_groups, vec![GroupIdx(1)]);
    let outcome = predict(&tenant);
    assert_eq!(
        user(&tenant, &outcome, "ann@contoso.com").consumed,
        vec![product("EMS")]
    );
    assert!(user(&tenant, &outcome, "bob@contoso.com")
        .assignments
        .is_empty());
}

#[test]
fn non_security_groups_give_nothing() {
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: EMS, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Team, security_enabled: false, mail_enabled: true, members: [ann@contoso.com], licenses: [{{ sku: EMS }}] }}
"
    ));
    assert!(user(&tenant, &predict(&tenant), "ann@contoso.com")
        .assignments
        .is_empty());
}

#[test]
fn duplicate_proxy_addresses_block_exchange() {
    // Seeds 000/001: "some users … might be incorrectly configured with the same proxy address
    // value. When group-based licensing tries to assign a license to such a user, it fails".
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 5 }}, {{ sku: EMS, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, proxy_addresses: ['SMTP:sales@contoso.com'] }}
  - {{ id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: bob@contoso.com, proxy_addresses: ['smtp:sales@contoso.com'] }}
  - {{ id: 011e39ef-e225-40f4-8339-ad19cd180f4d, upn: cat@contoso.com, proxy_addresses: ['SMTP:cat@contoso.com'] }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: E3, members: [ann@contoso.com, cat@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
  - {{ id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: Mobile, members: [bob@contoso.com], licenses: [{{ sku: EMS }}] }}
"
    ));
    let outcome = predict(&tenant);
    assert_eq!(
        errors(user(&tenant, &outcome, "ann@contoso.com")),
        vec![(
            product("ENTERPRISEPACK"),
            AssignmentError::UniquenessViolation
        )]
    );
    assert!(errors(user(&tenant, &outcome, "cat@contoso.com")).is_empty());
    assert!(
        errors(user(&tenant, &outcome, "bob@contoso.com")).is_empty(),
        "EMS enables no Exchange plan (Exchange Foundation gives no mailbox)"
    );
}

#[test]
fn direct_and_inherited_share_one_seat_and_union_plans() {
    // Seed 003: "Multiple licenses for the same product can overlap, and they result in all enabled
    // services being applied to the user … while using only one license for this product".
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 1 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, licenses: [{{ sku: ENTERPRISEPACK, disabled_plans: [SWAY] }}] }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Full E3, members: [ann@contoso.com], licenses: [{{ sku: ENTERPRISEPACK, disabled_plans: [] }}] }}
"
    ));
    let outcome = predict(&tenant);
    let ann = user(&tenant, &outcome, "ann@contoso.com");
    assert!(errors(ann).is_empty());
    assert!(ann.effective.contains(plan("SWAY")));
    assert_eq!(
        outcome
            .seats_of(product("ENTERPRISEPACK"))
            .map(|seats| seats.consumed),
        Some(1)
    );
    assert_eq!(ann.assignments.len(), 2);
}

#[test]
fn reprocessing_one_group_retries_only_its_errors() {
    // The group pane's Reprocess (seeds 001/002): only that group's members are processed again.
    let tenant = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: EMS, enabled: 5 }}, {{ sku: VISIOCLIENT, enabled: 5 }}]
users:
  - id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a
    upn: ann@contoso.com
    license_states:
      - {{ sku: EMS, via: Mobile, state: Error, error: CountViolation }}
      - {{ sku: VISIOCLIENT, via: Visio, state: Error, error: CountViolation }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Mobile, members: [ann@contoso.com], licenses: [{{ sku: EMS }}] }}
  - {{ id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: Visio, members: [ann@contoso.com], licenses: [{{ sku: VISIOCLIENT }}] }}
"
    ));
    assert!(Mode::ReprocessGroup(GroupIdx(0)).retries(Source::Group(GroupIdx(0))));
    assert!(!Mode::ReprocessGroup(GroupIdx(0)).retries(Source::Group(GroupIdx(1))));
    assert!(!Mode::ReprocessGroup(GroupIdx(0)).retries(Source::Direct));
    let outcome = run_mode(&tenant, &tenant, Mode::ReprocessGroup(GroupIdx(0)));
    let ann = user(&tenant, &outcome, "ann@contoso.com");
    assert_eq!(
        errors(ann),
        vec![(product("VISIOCLIENT"), AssignmentError::CountViolation)]
    );
    assert_eq!(ann.consumed, vec![product("EMS")]);
    assert!(
        outcome.groups[0].users_in_error.is_empty(),
        "the group shows all assigned"
    );
    assert!(
        !outcome.groups[1].users_in_error.is_empty(),
        "the group shows errors"
    );
}

/// A step from `before` (settled) to `after` over the users it touches, and those users.
fn step_from(before: &Tenant, after: &Tenant) -> (Outcome, Vec<UserIdx>) {
    let outcome = predict(before);
    let (old, new) = (members(before), members(after));
    let from = Before {
        outcome: &outcome,
        scenario: before,
        memberships: &old,
    };
    (
        step(Catalog::builtin(), from, after, &new, &[]),
        touched(from, after, &new),
    )
}

#[test]
fn a_step_touches_the_joining_members_and_the_patched_user_only() {
    // Seed 003, "Limitations and known issues": the service "does not automatically react to
    // all types of changes"; it processes the users a call affects.
    let users = "users:
  - { id: 00000000-0000-4000-8000-000000000001, upn: ann@contoso.com }
  - { id: 00000000-0000-4000-8000-000000000002, upn: bob@contoso.com }
  - { id: 00000000-0000-4000-8000-000000000003, upn: cyd@contoso.com }
  - { id: 00000000-0000-4000-8000-000000000004, upn: dan@contoso.com, usage_location: US }
";
    let before = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 2 }}, {{ sku: EMS, enabled: 5 }}]
{users}groups:
  - {{ id: 00000000-0000-4000-8000-0000000000a1, display_name: E3, members: [ann@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
  - {{ id: 00000000-0000-4000-8000-0000000000a2, display_name: EMS, members: [cyd@contoso.com], licenses: [{{ sku: EMS }}] }}
"
    ));
    // Bob joins E3, Dan's location changes; Cyd's group and Ann's membership stay.
    let after = tenant(&format!(
        "{HEAD}subscriptions: [{{ sku: ENTERPRISEPACK, enabled: 2 }}, {{ sku: EMS, enabled: 5 }}]
{}groups:
  - {{ id: 00000000-0000-4000-8000-0000000000a1, display_name: E3, members: [ann@contoso.com, bob@contoso.com], licenses: [{{ sku: ENTERPRISEPACK }}] }}
  - {{ id: 00000000-0000-4000-8000-0000000000a2, display_name: EMS, members: [cyd@contoso.com], licenses: [{{ sku: EMS }}] }}
",
        users.replace("usage_location: US", "usage_location: DE")
    ));
    let (outcome, touched) = step_from(&before, &after);
    let upns: Vec<&str> = touched
        .iter()
        .map(|&index| &*after.user_at(index).upn)
        .collect();
    assert_eq!(upns, ["bob@contoso.com", "dan@contoso.com"]);
    // Bob takes the second E3 seat; Ann keeps hers and Cyd keeps EMS.
    assert!(errors(user(&after, &outcome, "bob@contoso.com")).is_empty());
    assert_eq!(
        user(&after, &outcome, "ann@contoso.com").consumed,
        [product("ENTERPRISEPACK")]
    );
    assert_eq!(
        outcome
            .seats_of(product("ENTERPRISEPACK"))
            .map(|usage| usage.consumed),
        Some(2)
    );
    assert_eq!(outcome, run_mode(&before, &after, Mode::Predict));
    // The users and groups the step leaves alone are shared with the outcome before it, not
    // copied.
    let previous = predict(&before);
    let shared = step(
        Catalog::builtin(),
        Before {
            outcome: &previous,
            scenario: &before,
            memberships: &members(&before),
        },
        &after,
        &members(&after),
        &[],
    );
    for (index, (old, new)) in previous.users.iter().zip(&shared.users).enumerate() {
        let untouched = !touched.contains(&UserIdx(index as u32));
        assert_eq!(Arc::ptr_eq(old, new), untouched, "user {index}");
    }
    assert!(Arc::ptr_eq(&previous.groups[1], &shared.groups[1]));
    assert!(!Arc::ptr_eq(&previous.groups[0], &shared.groups[0]));
}

#[test]
fn a_step_that_changes_a_groups_products_touches_all_its_members_and_counts_the_others_seats() {
    // Seed 001, "Change license assignments": a change of a group's products is applied to its
    // members; SPEC §2.5: active assignments elsewhere keep their seats.
    let staff = |licenses: &str| {
        tenant(&format!(
            "{HEAD}subscriptions: [{{ sku: EMS, enabled: 2 }}]
users:
  - {{ id: 00000000-0000-4000-8000-000000000001, upn: ann@contoso.com }}
  - {{ id: 00000000-0000-4000-8000-000000000002, upn: bob@contoso.com }}
  - {{ id: 00000000-0000-4000-8000-000000000003, upn: cyd@contoso.com }}
groups:
  - {{ id: 00000000-0000-4000-8000-0000000000a1, display_name: Z EMS, members: [cyd@contoso.com], licenses: [{{ sku: EMS }}] }}
  - {{ id: 00000000-0000-4000-8000-0000000000a2, display_name: A staff, members: [ann@contoso.com, bob@contoso.com]{licenses} }}
"
        ))
    };
    let before = staff("");
    // "A staff" sorts before "Z EMS" and now assigns EMS: one seat is left, for Ann (UPN order).
    let after = staff(", licenses: [{ sku: EMS }]");
    let (outcome, touched) = step_from(&before, &after);
    assert_eq!(touched, [UserIdx(0), UserIdx(1)]);
    assert!(errors(user(&after, &outcome, "cyd@contoso.com")).is_empty());
    assert!(errors(user(&after, &outcome, "ann@contoso.com")).is_empty());
    assert_eq!(
        errors(user(&after, &outcome, "bob@contoso.com")),
        [(product("EMS"), AssignmentError::CountViolation)]
    );
    assert_eq!(outcome.groups[1].users_in_error, [UserIdx(1)]);
    assert_eq!(outcome, run_mode(&before, &after, Mode::Predict));
}

#[test]
fn a_refused_direct_call_is_not_made_again_by_a_later_step_that_touches_the_user() {
    // Seeds 001/002: a direct assignment that fails "is immediately reported back to you" and
    // records nothing; seed 003: the service "does not automatically react to all types of
    // changes". Bob's direct E3 is refused at the first step (Ann holds the only seat); the
    // second step frees Ann's seat and adds Bob to an EMS group: it processes Bob, but makes no
    // call for his E3.
    let users = |bob: &str| {
        format!(
            "users:
  - {{ id: 00000000-0000-4000-8000-000000000001, upn: ann@contoso.com }}
  - {{ id: 00000000-0000-4000-8000-000000000002, upn: bob@contoso.com, usage_location: US{bob} }}
"
        )
    };
    let groups = |e3: &str, ems: &str| {
        format!(
            "groups:
  - {{ id: 00000000-0000-4000-8000-0000000000a1, display_name: E3, members: [{e3}], licenses: [{{ sku: ENTERPRISEPACK }}] }}
  - {{ id: 00000000-0000-4000-8000-0000000000a2, display_name: EMS, members: [{ems}], licenses: [{{ sku: EMS }}] }}
"
        )
    };
    let seats = "subscriptions: [{ sku: ENTERPRISEPACK, enabled: 1 }, { sku: EMS, enabled: 5 }]\n";
    let direct = ", licenses: [{ sku: ENTERPRISEPACK }]";
    let current = tenant(&format!(
        "{HEAD}{seats}{}{}",
        users(""),
        groups("ann@contoso.com", "")
    ));
    let first = tenant(&format!(
        "{HEAD}{seats}{}{}",
        users(direct),
        groups("ann@contoso.com", "")
    ));
    let second = tenant(&format!(
        "{HEAD}{seats}{}{}",
        users(direct),
        groups("", "bob@contoso.com")
    ));
    let outcome = predict(&current);
    let (current_members, first_members, second_members) =
        (members(&current), members(&first), members(&second));
    let refused = step(
        Catalog::builtin(),
        Before {
            outcome: &outcome,
            scenario: &current,
            memberships: &current_members,
        },
        &first,
        &first_members,
        &[],
    );
    let bob = first.user("bob@contoso.com").expect("bob");
    assert_eq!(
        refused.refused,
        [Refusal {
            user: bob,
            product: product("ENTERPRISEPACK"),
            error: AssignmentError::CountViolation,
        }]
    );
    let later = step(
        Catalog::builtin(),
        Before {
            outcome: &refused,
            scenario: &first,
            memberships: &first_members,
        },
        &second,
        &second_members,
        &[],
    );
    assert!(touched(
        Before {
            outcome: &refused,
            scenario: &first,
            memberships: &first_members,
        },
        &second,
        &second_members
    )
    .contains(&bob));
    let bob_after = user(&second, &later, "bob@contoso.com");
    assert_eq!(bob_after.consumed, [product("EMS")]);
    assert!(!bob_after.effective.contains(plan("EXCHANGE_S_ENTERPRISE")));
    // The seat Ann freed stays free, and the refusal stays in the record of the apply.
    assert_eq!(
        later
            .seats_of(product("ENTERPRISEPACK"))
            .map(|usage| usage.consumed),
        Some(0)
    );
    assert_eq!(later.refused, refused.refused);
}
