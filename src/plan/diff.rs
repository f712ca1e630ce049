//! Diffing the current and desired tenant states into addressed changes. Licenses are compared as
//! resolved products and plan sets, so a deny-list and the equivalent allow-list are the same;
//! rules are compared by their canonical form, so an edit of spacing or case is no change.

use crate::catalog::{Catalog, PlanSet, ProductId};
use crate::plan::desired::Desired;
use crate::plan::document::{Action, Change, LicenseRef, MemberGroupRef, Op};
use crate::rules::RuleBook;
use crate::tenant::index::{resolve_license, Tenant, UserIdx};
use crate::tenant::model::{AssignedLicense, GroupState, TenantState};

/// The address of a group in plans and audit records.
pub fn group_address(name: &str) -> String {
    format!("group[{}]", serde_json::Value::String(name.to_string()))
}

/// The address of a user in plans and audit records.
pub fn user_address(upn: &str) -> String {
    format!("user[{}]", serde_json::Value::String(upn.to_string()))
}

/// True when two rule texts select the same users: equal canonical forms (or equal text when a
/// rule does not parse, which validation reports separately), taken prepared from `rules`.
pub fn same_rule(rules: &RuleBook, a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || rules.get(a).canonical == rules.get(b).canonical,
        _ => false,
    }
}

/// A license resolved for comparison: the product and its enabled plans (`None` for a license
/// the index would have refused already).
fn resolved(catalog: &Catalog, license: &AssignedLicense) -> Option<(ProductId, PlanSet)> {
    resolve_license(catalog, &license.sku, &license.disabled_plans, None)
        .ok()
        .map(|resolved| (resolved.product, resolved.enabled))
}

/// The operation form of a license: skuPartNumber, skuId and the disabled plans by name.
pub fn license_ref(catalog: &Catalog, product: ProductId, enabled: &PlanSet) -> LicenseRef {
    let details = catalog.product(product);
    let mut disabled_plans: Vec<String> = catalog
        .plans_of(product)
        .difference(enabled)
        .iter()
        .map(|plan| catalog.plan(plan).name.clone())
        .collect();
    disabled_plans.sort();
    LicenseRef {
        sku: details.sku_part_number.clone(),
        sku_id: details.id.clone(),
        disabled_plans,
        enabled_plans: catalog.plan_names(enabled),
    }
}

/// The license operations turning `before` into `after` (one entity's list of licenses). When
/// products are both removed and added, they go into one `migrate` operation.
pub fn license_ops(
    catalog: &Catalog,
    before: &[AssignedLicense],
    after: &[AssignedLicense],
) -> Vec<Op> {
    let before: Vec<(ProductId, PlanSet)> = before
        .iter()
        .filter_map(|license| resolved(catalog, license))
        .collect();
    let after: Vec<(ProductId, PlanSet)> = after
        .iter()
        .filter_map(|license| resolved(catalog, license))
        .collect();
    let mut ops = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (product, enabled) in &after {
        match before.iter().find(|(old, _)| old == product) {
            None => added.push(license_ref(catalog, *product, enabled)),
            Some((_, old)) if old != enabled => ops.push(Op::UpdateLicensePlans {
                license: license_ref(catalog, *product, enabled),
                enable: catalog.plan_names(&enabled.difference(old)),
                disable: catalog.plan_names(&old.difference(enabled)),
            }),
            Some(_) => {}
        }
    }
    for (product, enabled) in &before {
        if !after.iter().any(|(new, _)| new == product) {
            removed.push(license_ref(catalog, *product, enabled));
        }
    }
    added.sort_by(|a, b| a.sku.cmp(&b.sku));
    removed.sort_by(|a, b| a.sku.cmp(&b.sku));
    match (added.is_empty(), removed.is_empty()) {
        (false, false) => ops.push(Op::Migrate {
            remove: removed,
            add: added,
        }),
        (false, true) => ops.extend(added.into_iter().map(|license| Op::AddLicense { license })),
        (true, false) => ops.extend(removed.into_iter().map(|license| Op::RemoveLicense {
            sku: license.sku,
            sku_id: license.sku_id,
        })),
        (true, true) => {}
    }
    ops
}

/// Finds users named by UPN or object id (case-insensitively), built once per state so that
/// resolving every member of every group stays linear.
pub struct UserNames<'a> {
    by_name: std::collections::HashMap<String, &'a str>,
}

impl<'a> UserNames<'a> {
    /// Indexes the users of `state`.
    pub fn new(state: &'a TenantState) -> Self {
        let mut by_name = std::collections::HashMap::with_capacity(state.users.len() * 2);
        for user in &state.users {
            by_name.insert(user.id.to_lowercase(), user.upn.as_str());
            by_name.insert(user.upn.to_lowercase(), user.upn.as_str());
        }
        UserNames { by_name }
    }

    /// The UPN of a member given by UPN or object id, if it is a user.
    pub fn upn(&self, member: &str) -> Option<&'a str> {
        self.by_name.get(&member.to_lowercase()).copied()
    }

    /// A group's user members by UPN, sorted (group members are left out).
    pub fn members(&self, group: &GroupState) -> Vec<String> {
        let mut upns: Vec<String> = group
            .members
            .iter()
            .filter_map(|member| self.upn(member))
            .map(str::to_string)
            .collect();
        upns.sort();
        upns.dedup();
        upns
    }
}

/// `on`/`paused` for a dynamic group (an absent processing state is `on`, as Graph's default).
fn processing_name(group: &GroupState) -> Option<String> {
    group.rule.as_ref()?;
    Some(match group.rule_processing.unwrap_or_default() {
        crate::config::RuleProcessing::On => "on".to_string(),
        crate::config::RuleProcessing::Paused => "paused".to_string(),
    })
}

/// A group's user members by UPN, sorted (nested groups are left out), resolved through the
/// indexed tenant's lookups.
fn member_upns(tenant: &Tenant, group: &GroupState) -> Vec<String> {
    upns_of(tenant, member_users(tenant, group))
}

/// A group's user members as the tenant's users, sorted by index and without repeats (integers
/// to compare: a static group of a large tenant lists hundreds of thousands of members).
fn member_users(tenant: &Tenant, group: &GroupState) -> Vec<UserIdx> {
    let mut users: Vec<UserIdx> = group
        .members
        .iter()
        .filter_map(|member| tenant.user(member))
        .collect();
    users.sort_unstable();
    users.dedup();
    users
}

/// The UPNs of `users`, sorted.
fn upns_of(tenant: &Tenant, users: impl IntoIterator<Item = UserIdx>) -> Vec<String> {
    let mut upns: Vec<String> = users
        .into_iter()
        .map(|user| tenant.user_at(user).upn.to_string())
        .collect();
    upns.sort_unstable();
    upns
}

/// A group's member groups, sorted by name: tenant groups with their object id, groups the
/// desired state creates without one (they have none until they are created).
fn member_groups(
    tenant: &Tenant,
    current: &TenantState,
    desired: &Desired,
    group: &GroupState,
) -> Vec<MemberGroupRef> {
    let mut groups: Vec<MemberGroupRef> = group
        .members
        .iter()
        .filter(|member| tenant.user(member).is_none())
        .filter_map(|member| match tenant.group_by_id(member) {
            Some(found) => {
                let found = &current.groups[found.0 as usize];
                Some(MemberGroupRef {
                    name: found.display_name.clone(),
                    id: Some(found.id.clone()),
                })
            }
            None => desired
                .created
                .iter()
                .filter_map(|index| desired.groups.get(index))
                .find(|created| created.id.eq_ignore_ascii_case(member))
                .map(|created| MemberGroupRef {
                    name: created.display_name.clone(),
                    id: None,
                }),
        })
        .collect();
    groups.sort();
    groups.dedup();
    groups
}

/// All changes from `current` to the desired state, groups (by name) then users (by UPN).
/// `users` is the indexed current tenant (the desired state has the same users), for resolving
/// members; `members` are its groups' effective members (what a dynamic group turned static
/// keeps); `rules` holds the rules of both sides prepared.
pub fn changes(
    catalog: &Catalog,
    current: &TenantState,
    desired: &Desired,
    users: &Tenant,
    members: &[Vec<crate::tenant::index::UserIdx>],
    rules: &RuleBook,
) -> Vec<Change> {
    let mut changes = Vec::new();
    for &(ref name, index) in &desired.managed_groups {
        let after = desired.group(current, index);
        let address = group_address(name);
        if desired.created.contains(&index) {
            let mut ops = vec![Op::CreateGroup {
                display_name: after.display_name.clone(),
                security_enabled: after.security_enabled,
            }];
            if let Some(description) = &after.description {
                ops.push(Op::SetDescription {
                    before: None,
                    after: Some(description.clone()),
                });
            }
            if let Some(rule) = &after.rule {
                ops.push(Op::SetRule {
                    before: None,
                    after: Some(rule.clone()),
                });
            } else {
                let members = member_upns(users, after);
                let groups = member_groups(users, current, desired, after);
                if !members.is_empty() || !groups.is_empty() {
                    ops.push(Op::AddMembers {
                        users: members,
                        groups,
                    });
                }
            }
            ops.extend(license_ops(catalog, &[], &after.licenses));
            changes.push(Change {
                address,
                action: Action::Create,
                id: None,
                ops,
            });
            continue;
        }
        let before = &current.groups[index];
        let mut ops = Vec::new();
        if before.display_name != after.display_name {
            ops.push(Op::SetDisplayName {
                before: before.display_name.clone(),
                after: after.display_name.clone(),
            });
        }
        if before.description != after.description {
            ops.push(Op::SetDescription {
                before: before.description.clone(),
                after: after.description.clone(),
            });
        }
        if before.security_enabled != after.security_enabled {
            ops.push(Op::SetSecurityEnabled {
                before: before.security_enabled,
                after: after.security_enabled,
            });
        }
        if !same_rule(rules, before.rule.as_deref(), after.rule.as_deref()) {
            ops.push(Op::SetRule {
                before: before.rule.clone(),
                after: after.rule.clone(),
            });
        }
        if after.rule.is_some() && processing_name(before) != processing_name(after) {
            if let Some(processing) = processing_name(after) {
                ops.push(Op::SetRuleProcessing {
                    before: processing_name(before),
                    after: processing,
                });
            }
        }
        // Members change only where the config replaced the list (a static group keeps its
        // members otherwise).
        if after.rule.is_none() && desired.members_set.binary_search(&index).is_ok() {
            // A dynamic group turned static keeps the members the service last computed (its
            // rule's, or what it holds while processing lags or is paused).
            let old = if before.rule.is_some() {
                members.get(index).cloned().unwrap_or_default()
            } else {
                member_users(users, before)
            };
            let new = member_users(users, after);
            let add = upns_of(
                users,
                new.iter()
                    .filter(|user| old.binary_search(user).is_err())
                    .copied(),
            );
            let remove = upns_of(
                users,
                old.iter()
                    .filter(|user| new.binary_search(user).is_err())
                    .copied(),
            );
            let old_groups = if before.rule.is_some() {
                Vec::new()
            } else {
                member_groups(users, current, desired, before)
            };
            let new_groups = member_groups(users, current, desired, after);
            let add_groups: Vec<MemberGroupRef> = new_groups
                .iter()
                .filter(|group| !old_groups.contains(group))
                .cloned()
                .collect();
            let remove_groups: Vec<MemberGroupRef> = old_groups
                .iter()
                .filter(|group| !new_groups.contains(group))
                .cloned()
                .collect();
            if !add.is_empty() || !add_groups.is_empty() {
                ops.push(Op::AddMembers {
                    users: add,
                    groups: add_groups,
                });
            }
            if !remove.is_empty() || !remove_groups.is_empty() {
                ops.push(Op::RemoveMembers {
                    users: remove,
                    groups: remove_groups,
                });
            }
        }
        ops.extend(license_ops(catalog, &before.licenses, &after.licenses));
        if !ops.is_empty() {
            changes.push(Change {
                address,
                action: Action::Update,
                id: Some(before.id.clone()),
                ops,
            });
        }
    }
    for &(_, index) in &desired.deleted {
        let before = &current.groups[index];
        let mut ops = license_ops(catalog, &before.licenses, &[]);
        ops.push(Op::DeleteGroup);
        changes.push(Change {
            address: group_address(&before.display_name),
            action: Action::Delete,
            id: Some(before.id.clone()),
            ops,
        });
    }
    changes.sort_by(|a, b| a.address.cmp(&b.address));
    let mut user_changes = Vec::new();
    for &(_, index) in &desired.managed_users {
        let before = &current.users[index];
        let after = desired.user(current, index);
        let mut ops = Vec::new();
        if before.usage_location != after.usage_location {
            if let Some(location) = &after.usage_location {
                ops.push(Op::SetUsageLocation {
                    before: before.usage_location.clone(),
                    after: location.clone(),
                });
            }
        }
        ops.extend(license_ops(catalog, &before.licenses, &after.licenses));
        if !ops.is_empty() {
            user_changes.push(Change {
                address: user_address(&after.upn),
                action: Action::Update,
                id: Some(after.id.clone()),
                ops,
            });
        }
    }
    user_changes.sort_by(|a, b| a.address.cmp(&b.address));
    changes.extend(user_changes);
    changes
}
