//! The licensing report of a tenant (`seatplan report`) and the result of reprocessing its errors
//! (`seatplan reprocess`), as plain serde data: the text, Markdown and JSON views render from
//! these structures and nothing else.
//!
//! Built from the engine's outcome for the tenant as the service would leave it
//! ([`crate::plan::evaluate`]): seats per product, who holds each product directly, inherited or
//! both (the migration view of the "migrate users to group-based licensing" guide), every licensed
//! group's status with its users in error, every user's effective plans and error states,
//! dynamic groups whose membership is pending, and members of nested groups, who get nothing.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{Catalog, ProductId};
use crate::engine::{AssignmentOutcome, GroupOutcome, Outcome};
use crate::plan::Evaluated;
use crate::tenant::index::{GroupIdx, Source, Tenant, UserIdx};
use crate::tenant::membership::Memberships;
use crate::tenant::model::{AssignmentError, AssignmentState, TenantState};

/// The version of the report's JSON shape; bumped when a field changes meaning or disappears.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// Everything `seatplan report` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// [`REPORT_FORMAT_VERSION`].
    pub format_version: u32,
    /// The tenant's id, when the state has one.
    pub tenant: Option<String>,
    /// The country users without a usage location inherit.
    pub default_usage_location: Option<String>,
    /// Counts over the whole tenant.
    pub summary: ReportSummary,
    /// Per product bought or assigned, sorted by SKU.
    pub products: Vec<ProductReport>,
    /// Per licensed group, sorted by display name.
    pub groups: Vec<GroupReport>,
    /// Per user, sorted by UPN.
    pub users: Vec<UserReport>,
    /// Every assignment in error, sorted by user, then SKU.
    pub errors: Vec<ErrorEntry>,
    /// Dynamic groups whose recorded members differ from their rule's result.
    pub pending_memberships: Vec<PendingReport>,
    /// Dynamic groups whose rule seatplan cannot evaluate (their recorded members count).
    pub unevaluated_rules: Vec<String>,
    /// Licensed groups with group members: those members' users get nothing from them.
    pub nested_groups: Vec<NestedReport>,
}

/// Counts over the whole tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReportSummary {
    /// Users in the tenant.
    pub users: usize,
    /// Users with at least one effective assignment.
    pub licensed_users: usize,
    /// Users with at least one assignment in error.
    pub users_in_error: usize,
    /// Licensed groups.
    pub licensed_groups: usize,
    /// Licensed groups with users in error.
    pub groups_in_error: usize,
}

/// One product: its seats and who holds it how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductReport {
    /// The skuPartNumber.
    pub sku: String,
    /// The display name.
    pub name: String,
    /// Seats bought (`prepaidUnits.enabled`).
    pub enabled: u64,
    /// Seats consumed.
    pub consumed: u64,
    /// `enabled - consumed` (negative when more are consumed than bought).
    pub free: i64,
    /// Users holding it only through direct assignment, sorted.
    pub direct: Vec<String>,
    /// Users holding it only through groups, sorted.
    pub inherited: Vec<String>,
    /// Users holding it both directly and through a group (one seat), sorted.
    pub both: Vec<String>,
}

/// `all-assigned` or `errors`, as the admin center shows a group's licensing status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupStatus {
    /// Every member got every license of the group.
    AllAssigned,
    /// Some members are in error.
    Errors,
}

impl GroupStatus {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupStatus::AllAssigned => "all-assigned",
            GroupStatus::Errors => "errors",
        }
    }
}

/// One licensed group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupReport {
    /// Display name.
    pub group: String,
    /// Object id.
    pub id: String,
    /// The products it assigns, in the state's order.
    pub licenses: Vec<String>,
    /// `dynamic` (with a rule) or `static`.
    pub membership: &'static str,
    /// False for groups that cannot hold licenses (they assign nothing).
    pub security_enabled: bool,
    /// Its licensing status.
    pub status: GroupStatus,
    /// Direct user members (dynamic groups: the rule's result).
    pub members: usize,
    /// Members whose assignment from the group is effective.
    pub assigned: usize,
    /// Members in error, with their errors from this group, sorted by UPN.
    pub users_in_error: Vec<UserErrors>,
}

/// A user's errors from one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserErrors {
    /// The user's UPN.
    pub user: String,
    /// The failed products.
    pub errors: Vec<ProductError>,
}

/// One failed product of an assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductError {
    /// The skuPartNumber.
    pub sku: String,
    /// Entra's error name.
    pub error: AssignmentError,
    /// Why, in words.
    pub reason: String,
}

/// One user: effective plans and every assignment with its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserReport {
    /// UPN.
    pub user: String,
    /// The usage location licensing uses (the user's, else the tenant's).
    pub usage_location: Option<String>,
    /// True when the usage location is the tenant's default.
    pub location_inherited: bool,
    /// Effective service plan names, sorted.
    pub effective_plans: Vec<String>,
    /// Products the user consumes a seat of, sorted.
    pub consumed: Vec<String>,
    /// Every assignment, direct first, then by group name and SKU.
    pub assignments: Vec<AssignmentReport>,
}

/// One assignment of one product to one user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssignmentReport {
    /// The skuPartNumber.
    pub sku: String,
    /// The group it comes from; absent when direct.
    pub via: Option<String>,
    /// Graph's `licenseAssignmentState.state`.
    pub state: AssignmentState,
    /// Entra's error name, when in error.
    pub error: Option<AssignmentError>,
}

/// An assignment in error, for the flat list of errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEntry {
    /// UPN.
    pub user: String,
    /// The skuPartNumber.
    pub sku: String,
    /// The group it comes from; absent when direct.
    pub via: Option<String>,
    /// `Error`, or `ActiveWithError` when an older assignment stays.
    pub state: AssignmentState,
    /// Entra's error name.
    pub error: AssignmentError,
    /// Why, in words.
    pub reason: String,
}

/// A dynamic group whose membership processing is behind its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingReport {
    /// Display name.
    pub group: String,
    /// Users the rule selects who are not recorded members, sorted.
    pub joining: Vec<String>,
    /// Recorded members the rule no longer selects, sorted.
    pub leaving: Vec<String>,
}

/// A licensed group with group members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NestedReport {
    /// The licensed group.
    pub group: String,
    /// Its member groups (and theirs, transitively), sorted.
    pub nested: Vec<String>,
    /// Users in those groups who are not direct members: they get none of the group's licenses.
    pub users: Vec<String>,
}

/// Builds the report of a tenant from its evaluation.
pub fn build(catalog: &Catalog, state: &TenantState, evaluated: &Evaluated) -> Report {
    let Evaluated {
        tenant,
        memberships,
        outcome,
        ..
    } = evaluated;
    let upn = |user: UserIdx| tenant.user_at(user).upn.to_string();
    let sku = |product: ProductId| catalog.product(product).sku_part_number.clone();
    let via = |source: Source| match source {
        Source::Direct => None,
        Source::Group(group) => Some(tenant.group_at(group).name.to_string()),
    };

    let mut users = Vec::with_capacity(tenant.users.len());
    let mut errors = Vec::new();
    for (index, user) in outcome.users.iter().enumerate() {
        let idx = UserIdx(index as u32);
        let mut effective_plans: Vec<String> = user
            .effective
            .iter()
            .map(|plan| catalog.plan(plan).name.clone())
            .collect();
        effective_plans.sort();
        let mut consumed: Vec<String> = user.consumed.iter().map(|&p| sku(p)).collect();
        consumed.sort();
        let mut assignments: Vec<AssignmentReport> = user
            .assignments
            .iter()
            .map(|assignment| AssignmentReport {
                sku: sku(assignment.product),
                via: via(assignment.source),
                state: assignment.state,
                error: assignment.error,
            })
            .collect();
        assignments.sort_by(|a, b| (&a.via, &a.sku).cmp(&(&b.via, &b.sku)));
        for assignment in user.errors() {
            errors.push(ErrorEntry {
                user: upn(idx),
                sku: sku(assignment.product),
                via: via(assignment.source),
                state: assignment.state,
                error: assignment.error.unwrap_or(AssignmentError::Other),
                reason: reason(catalog, tenant, outcome, idx, assignment),
            });
        }
        users.push(UserReport {
            user: upn(idx),
            usage_location: tenant.effective_location(idx).map(str::to_string),
            location_inherited: tenant.user_at(idx).usage_location.is_none(),
            effective_plans,
            consumed,
            assignments,
        });
    }
    users.sort_by(|a, b| a.user.cmp(&b.user));
    errors.sort_by(|a, b| (&a.user, &a.sku, &a.via).cmp(&(&b.user, &b.sku, &b.via)));

    let products = products(catalog, tenant, outcome);
    let groups = groups(catalog, tenant, memberships, outcome);
    let summary = ReportSummary {
        users: tenant.users.len(),
        licensed_users: outcome
            .users
            .iter()
            .filter(|user| user.assignments.iter().any(AssignmentOutcome::is_effective))
            .count(),
        users_in_error: outcome
            .users
            .iter()
            .filter(|user| user.errors().next().is_some())
            .count(),
        licensed_groups: groups.len(),
        groups_in_error: groups
            .iter()
            .filter(|group| group.status == GroupStatus::Errors)
            .count(),
    };
    let mut pending_memberships: Vec<PendingReport> = memberships
        .pending
        .iter()
        .map(|pending| PendingReport {
            group: tenant.group_at(pending.group).name.to_string(),
            joining: sorted(pending.joining.iter().map(|&user| upn(user))),
            leaving: sorted(pending.leaving.iter().map(|&user| upn(user))),
        })
        .collect();
    pending_memberships.sort_by(|a, b| a.group.cmp(&b.group));
    let unevaluated_rules = sorted(
        memberships
            .unevaluated
            .iter()
            .map(|&group| tenant.group_at(group).name.to_string()),
    );
    Report {
        format_version: REPORT_FORMAT_VERSION,
        tenant: state.tenant.id.clone(),
        default_usage_location: tenant.default_usage_location.as_deref().map(str::to_string),
        summary,
        products,
        groups,
        users,
        errors,
        pending_memberships,
        unevaluated_rules,
        nested_groups: nested(tenant, memberships),
    }
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items
}

/// Seats and holders per product.
fn products(catalog: &Catalog, tenant: &Tenant, outcome: &Outcome) -> Vec<ProductReport> {
    // product -> user -> (direct, inherited)
    let mut holders: BTreeMap<ProductId, BTreeMap<&str, (bool, bool)>> = BTreeMap::new();
    for (index, user) in outcome.users.iter().enumerate() {
        let upn = &*tenant.users[index].upn;
        for assignment in user.assignments.iter().filter(|a| a.is_effective()) {
            let entry = holders
                .entry(assignment.product)
                .or_default()
                .entry(upn)
                .or_default();
            match assignment.source {
                Source::Direct => entry.0 = true,
                Source::Group(_) => entry.1 = true,
            }
        }
    }
    let mut products: Vec<ProductReport> = outcome
        .seats
        .iter()
        .map(|usage| {
            let mut report = ProductReport {
                sku: catalog.product(usage.product).sku_part_number.clone(),
                name: catalog.product(usage.product).name.clone(),
                enabled: usage.enabled,
                consumed: usage.consumed,
                free: usage.enabled as i64 - usage.consumed as i64,
                direct: Vec::new(),
                inherited: Vec::new(),
                both: Vec::new(),
            };
            for (upn, held) in holders.get(&usage.product).into_iter().flatten() {
                let list = match held {
                    (true, true) => &mut report.both,
                    (true, false) => &mut report.direct,
                    _ => &mut report.inherited,
                };
                list.push(upn.to_string());
            }
            report
        })
        .collect();
    products.sort_by(|a, b| a.sku.cmp(&b.sku));
    products
}

/// Status and errors of every licensed group.
fn groups(
    catalog: &Catalog,
    tenant: &Tenant,
    memberships: &Memberships,
    outcome: &Outcome,
) -> Vec<GroupReport> {
    let mut groups = Vec::new();
    for (index, group) in tenant.groups.iter().enumerate() {
        if group.licenses.is_empty() {
            continue;
        }
        let idx = GroupIdx(index as u32);
        let none = GroupOutcome::default();
        let result = outcome.groups.get(index).map_or(&none, |group| &**group);
        let mut users_in_error: Vec<UserErrors> = result
            .users_in_error
            .iter()
            .map(|&user| UserErrors {
                user: tenant.user_at(user).upn.to_string(),
                errors: errors_from(catalog, tenant, outcome, user, Source::Group(idx)),
            })
            .collect();
        users_in_error.sort_by(|a, b| a.user.cmp(&b.user));
        groups.push(GroupReport {
            group: group.name.to_string(),
            id: group.id.to_string(),
            licenses: group
                .licenses
                .iter()
                .map(|license| catalog.product(license.product).sku_part_number.clone())
                .collect(),
            membership: if group.rule.is_some() {
                "dynamic"
            } else {
                "static"
            },
            security_enabled: group.security_enabled,
            status: if users_in_error.is_empty() {
                GroupStatus::AllAssigned
            } else {
                GroupStatus::Errors
            },
            members: memberships.members.get(index).map_or(0, Vec::len),
            assigned: result.users_assigned.len(),
            users_in_error,
        });
    }
    groups.sort_by(|a, b| (&a.group, &a.id).cmp(&(&b.group, &b.id)));
    groups
}

/// Licensed groups with group members, and the users of those groups who get nothing from them.
fn nested(tenant: &Tenant, memberships: &Memberships) -> Vec<NestedReport> {
    let mut reports = Vec::new();
    for (index, group) in tenant.groups.iter().enumerate() {
        if group.licenses.is_empty() || group.member_groups.is_empty() {
            continue;
        }
        let mut seen = vec![false; tenant.groups.len()];
        seen[index] = true;
        let mut queue = group.member_groups.clone();
        let mut nested = Vec::new();
        let mut users: Vec<UserIdx> = Vec::new();
        while let Some(member) = queue.pop() {
            if std::mem::replace(&mut seen[member.0 as usize], true) {
                continue;
            }
            nested.push(tenant.group_at(member).name.to_string());
            users.extend(
                memberships
                    .members
                    .get(member.0 as usize)
                    .into_iter()
                    .flatten(),
            );
            queue.extend(&tenant.group_at(member).member_groups);
        }
        let direct = memberships
            .members
            .get(index)
            .map_or(&[][..], Vec::as_slice);
        users.sort_unstable();
        users.dedup();
        users.retain(|user| direct.binary_search(user).is_err());
        nested.sort();
        reports.push(NestedReport {
            group: group.name.to_string(),
            nested,
            users: sorted(
                users
                    .iter()
                    .map(|&user| tenant.user_at(user).upn.to_string()),
            ),
        });
    }
    reports.sort_by(|a, b| a.group.cmp(&b.group));
    reports
}

/// The errors of `user`'s assignments from `source` in `outcome`, product by product, with why.
pub(crate) fn errors_from(
    catalog: &Catalog,
    tenant: &Tenant,
    outcome: &Outcome,
    user: UserIdx,
    source: Source,
) -> Vec<ProductError> {
    outcome.users[user.0 as usize]
        .errors()
        .filter(|assignment| assignment.source == source)
        .map(|assignment| ProductError {
            sku: catalog.product(assignment.product).sku_part_number.clone(),
            error: assignment.error.unwrap_or(AssignmentError::Other),
            reason: reason(catalog, tenant, outcome, user, assignment),
        })
        .collect()
}

/// Why an assignment is in error, in words, from what the outcome shows.
pub fn reason(
    catalog: &Catalog,
    tenant: &Tenant,
    outcome: &Outcome,
    user: UserIdx,
    assignment: &AssignmentOutcome,
) -> String {
    let sku = &catalog.product(assignment.product).sku_part_number;
    let kept = if assignment.state == AssignmentState::ActiveWithError {
        "; the previous assignment stays"
    } else {
        ""
    };
    let text = match assignment.error.unwrap_or(AssignmentError::Other) {
        AssignmentError::CountViolation => {
            let (enabled, consumed) = outcome
                .seats_of(assignment.product)
                .map_or((0, 0), |usage| (usage.enabled, usage.consumed));
            if consumed < enabled {
                format!(
                    "no free seat of {sku} when it was processed; {} free now, reprocess to retry",
                    enabled - consumed
                )
            } else {
                format!("no free seat of {sku}: {enabled} enabled, {consumed} consumed")
            }
        }
        AssignmentError::MutuallyExclusiveViolation => {
            let enabled = assigned_plans(tenant, user, assignment);
            let mut pairs: Vec<String> = catalog
                .conflicts(&enabled, &outcome.users[user.0 as usize].effective)
                .into_iter()
                .map(|(own, other)| {
                    format!(
                        "{} conflicts with {}",
                        catalog.plan(own).name,
                        catalog.plan(other).name
                    )
                })
                .collect();
            pairs.sort();
            pairs.dedup();
            if pairs.is_empty() {
                "its plans conflict with plans the user has".to_string()
            } else {
                format!("{} the user already has", pairs.join(", "))
            }
        }
        AssignmentError::DependencyViolation => {
            "a plan the user keeps depends on it, so it cannot be removed".to_string()
        }
        AssignmentError::ProhibitedInUsageLocationViolation => {
            // A group's assignment uses the user's location, else the tenant's; a direct one
            // only the user's own.
            let location = match assignment.source {
                Source::Direct => tenant.user_at(user).usage_location.as_deref(),
                Source::Group(_) => tenant.effective_location(user),
            };
            match location {
                Some(country) => {
                    let mut unavailable: Vec<&str> = assigned_plans(tenant, user, assignment)
                        .iter()
                        .filter(|&plan| !catalog.available_in(plan, country))
                        .map(|plan| catalog.plan(plan).name.as_str())
                        .collect();
                    unavailable.sort_unstable();
                    if unavailable.is_empty() {
                        // The error is from a location the user had when it was processed.
                        format!(
                            "a plan of {sku} was not available in the user's usage location when it was \
                             processed; {country} allows it now, reprocess to retry"
                        )
                    } else {
                        let verb = if unavailable.len() == 1 { "is" } else { "are" };
                        format!(
                            "{} of {sku} {verb} not available in {country}",
                            unavailable.join(", ")
                        )
                    }
                }
                None if assignment.source == Source::Direct => {
                    "the user has no usage location (a direct license does not use the tenant's)"
                        .to_string()
                }
                None => "the user has no usage location and the tenant no default".to_string(),
            }
        }
        AssignmentError::UniquenessViolation => {
            "the user shares a proxy address with another user".to_string()
        }
        AssignmentError::Other => match assignment.source {
            Source::Group(_) => "another product of the same group failed".to_string(),
            Source::Direct => "the service reported another error".to_string(),
        },
    };
    format!("{text}{kept}")
}

/// The plans an assignment would give: its own when effective, else what its source assigns.
fn assigned_plans(
    tenant: &Tenant,
    user: UserIdx,
    assignment: &AssignmentOutcome,
) -> crate::catalog::PlanSet {
    if !assignment.enabled.is_empty() {
        return assignment.enabled.clone();
    }
    let licenses = match assignment.source {
        Source::Direct => &tenant.user_at(user).direct,
        Source::Group(group) => &tenant.group_at(group).licenses,
    };
    licenses
        .iter()
        .find(|license| license.product == assignment.product)
        .map(|license| license.enabled.clone())
        .unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::evaluate;
    use crate::source::SourceId;

    /// A tenant from YAML, evaluated against the built-in catalog.
    pub(crate) fn evaluated(yaml: &str) -> (TenantState, Evaluated) {
        let state: TenantState = serde_yaml::from_str(yaml).expect("test tenant parses");
        let now = jiff::Timestamp::UNIX_EPOCH;
        let evaluated = evaluate(Catalog::builtin(), &state, SourceId(0), now)
            .expect("test tenant is consistent");
        (state, evaluated)
    }

    const TENANT: &str = "version: 1
tenant: { id: 628b49d9-6dcd-497a-830d-d4f597705899, default_usage_location: US }
subscriptions: [{ sku: ENTERPRISEPACK, enabled: 2 }, { sku: EMS, enabled: 1 }]
users:
  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, attributes: { department: Sales }, licenses: [{ sku: ENTERPRISEPACK }] }
  - { id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: bob@contoso.com, usage_location: DE, attributes: { department: Sales } }
  - { id: 011e39ef-e225-40f4-8339-ad19cd180f4d, upn: cat@contoso.com, attributes: { department: Sales } }
  - { id: e9c981a4-7998-4215-8ab0-bf6c32efefa1, upn: dan@contoso.com }
groups:
  - id: 711430f6-164e-4380-8d93-428bc1fab80f
    display_name: Sales
    rule: user.department -eq \"Sales\"
    members: [ann@contoso.com, bob@contoso.com]
    licenses: [{ sku: ENTERPRISEPACK }, { sku: EMS }]
  - { id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: Parent, members: [ann@contoso.com, 3921871a-a088-4e3e-8483-0142ac909944], licenses: [{ sku: EMS }] }
  - { id: 3921871a-a088-4e3e-8483-0142ac909944, display_name: Child, members: [dan@contoso.com] }
";

    #[test]
    fn report_shows_seats_holders_statuses_errors_pending_and_nested() {
        let (state, evaluated) = evaluated(TENANT);
        let report = build(Catalog::builtin(), &state, &evaluated);
        assert_eq!(
            report.tenant.as_deref(),
            Some("628b49d9-6dcd-497a-830d-d4f597705899")
        );
        // Sales is processed in UPN order after Parent: "Parent" < "Sales". ann gets EMS from
        // Parent (the one EMS seat); in Sales, ann already consumes EMS and E3, bob needs an EMS
        // seat (none left) and fails as a whole; cat, whom the rule selects, is not a member yet
        // (the service has not processed her: pending) and has nothing.
        let e3 = report
            .products
            .iter()
            .find(|product| product.sku == "ENTERPRISEPACK")
            .unwrap();
        assert_eq!((e3.enabled, e3.consumed, e3.free), (2, 1, 1));
        assert_eq!(e3.both, ["ann@contoso.com"]);
        assert!(e3.direct.is_empty() && e3.inherited.is_empty());
        let ems = report
            .products
            .iter()
            .find(|product| product.sku == "EMS")
            .unwrap();
        assert_eq!((ems.consumed, ems.free), (1, 0));
        assert_eq!(ems.inherited, ["ann@contoso.com"]);

        let sales = report
            .groups
            .iter()
            .find(|group| group.group == "Sales")
            .unwrap();
        assert_eq!(sales.status, GroupStatus::Errors);
        assert_eq!(sales.membership, "dynamic");
        assert_eq!((sales.members, sales.assigned), (2, 1));
        let in_error: Vec<&str> = sales
            .users_in_error
            .iter()
            .map(|user| user.user.as_str())
            .collect();
        assert_eq!(in_error, ["bob@contoso.com"]);
        let bob = &sales.users_in_error[0].errors;
        assert!(bob.iter().any(|error| error.sku == "EMS"
            && error.error == AssignmentError::CountViolation
            && error.reason == "no free seat of EMS: 1 enabled, 1 consumed"));
        assert!(bob
            .iter()
            .any(|error| error.sku == "ENTERPRISEPACK" && error.error == AssignmentError::Other));
        let parent = report
            .groups
            .iter()
            .find(|group| group.group == "Parent")
            .unwrap();
        assert_eq!(parent.status, GroupStatus::AllAssigned);
        assert_eq!(report.groups.len(), 2, "Child has no licenses");
        assert_eq!(report.summary.users_in_error, 1);
        assert_eq!(report.summary.groups_in_error, 1);
        assert_eq!(report.errors.len(), 2);

        assert_eq!(report.pending_memberships.len(), 1);
        assert_eq!(report.pending_memberships[0].joining, ["cat@contoso.com"]);
        assert_eq!(report.nested_groups.len(), 1);
        assert_eq!(report.nested_groups[0].nested, ["Child"]);
        assert_eq!(report.nested_groups[0].users, ["dan@contoso.com"]);

        let bob = report
            .users
            .iter()
            .find(|user| user.user == "bob@contoso.com")
            .unwrap();
        assert_eq!(bob.usage_location.as_deref(), Some("DE"));
        assert!(!bob.location_inherited);
        assert!(bob.effective_plans.is_empty());
        let dan = report
            .users
            .iter()
            .find(|user| user.user == "dan@contoso.com")
            .unwrap();
        assert!(dan.location_inherited);
        assert!(dan.assignments.is_empty());
        let ann = report
            .users
            .iter()
            .find(|user| user.user == "ann@contoso.com")
            .unwrap();
        assert_eq!(ann.consumed, ["EMS", "ENTERPRISEPACK"]);
        assert!(ann
            .effective_plans
            .contains(&"EXCHANGE_S_ENTERPRISE".to_string()));
    }

    #[test]
    fn conflicts_name_the_plans() {
        let (state, evaluated) = evaluated(
            "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }
subscriptions: [{ sku: STANDARDPACK, enabled: 5 }, { sku: ENTERPRISEPACK, enabled: 5 }]
users:
  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, licenses: [{ sku: STANDARDPACK }] }
groups:
  - { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: E3, members: [ann@contoso.com], licenses: [{ sku: ENTERPRISEPACK }] }
",
        );
        let report = build(Catalog::builtin(), &state, &evaluated);
        let error = &report.errors[0];
        assert_eq!(error.error, AssignmentError::MutuallyExclusiveViolation);
        assert!(
            error
                .reason
                .contains("EXCHANGE_S_ENTERPRISE conflicts with EXCHANGE_S_STANDARD"),
            "{}",
            error.reason
        );
    }

    #[test]
    fn a_location_error_names_the_plans_or_says_the_location_now_allows_them() {
        let tenant = |location: &str| {
            format!(
                "version: 1
tenant: {{ id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }}
subscriptions: [{{ sku: 54a152dc-90de-4996-93d2-bc47e670fc06, enabled: 5 }}]
users:
  - {{ id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, usage_location: {location},
       license_states: [{{ sku: 54a152dc-90de-4996-93d2-bc47e670fc06, via: 711430f6-164e-4380-8d93-428bc1fab80f,
                          state: Error, error: ProhibitedInUsageLocationViolation }}] }}
groups:
  - {{ id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Calling, members: [ann@contoso.com],
       licenses: [{{ sku: 54a152dc-90de-4996-93d2-bc47e670fc06 }}] }}
"
            )
        };
        let reason = |location: &str| {
            let (state, evaluated) = evaluated(&tenant(location));
            let report = build(Catalog::builtin(), &state, &evaluated);
            report.errors[0].reason.clone()
        };
        assert_eq!(reason("US"), "MCOPSTN5 of MCOPSTN5 is not available in US");
        // Recorded while the user was elsewhere: Britain allows it.
        assert!(reason("GB").contains("GB allows it now, reprocess to retry"));
    }
}
