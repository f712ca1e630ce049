//! The desired state: the current tenant state with the config applied to the groups and users it
//! manages (SPEC §1.1 scope rules), plus the list of changes that gets there. Groups are matched by
//! `id`, else by display name (an ambiguous name is an error). Omitted config fields leave the
//! tenant's value alone; empty lists mean "none".

use rustc_hash::{FxHashMap, FxHashSet};

use crate::catalog::Catalog;
use crate::config::{Ensure, GroupSpec, LicenseSpec, LoadedConfig, RuleProcessing};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::tenant::model::{AssignedLicense, GroupState, TenantState};

/// The desired tenant and how it differs from the current one, group by group.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The tenant as the config wants it. Groups to delete stay in place (so group indexes match
    /// the current state's) with no members and no licenses; [`Desired::deleted`] lists them.
    pub state: TenantState,
    /// Groups the config deletes (`ensure: absent`): their config name and index in
    /// `state.groups`.
    pub deleted: Vec<(String, usize)>,
    /// Indexes into `state.groups` of groups the config creates.
    pub created: Vec<usize>,
    /// For each managed config group present in the desired state: its name in the config and its
    /// index in `state.groups`.
    pub managed_groups: Vec<(String, usize)>,
    /// Managed users' UPNs as written in the config, with their index in `state.users`.
    pub managed_users: Vec<(String, usize)>,
}

/// A deterministic object id for a group the file backend creates: GUID-shaped, derived from the
/// display name so that the same config always yields the same id.
pub fn new_group_id(name: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(name.as_bytes());
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// Finds the tenant group a config group refers to: by `id`, else by display name.
fn match_group(
    current: &TenantState,
    name: &str,
    spec: &GroupSpec,
) -> Result<Option<usize>, String> {
    if let Some(id) = &spec.id {
        return match current
            .groups
            .iter()
            .position(|group| group.id.eq_ignore_ascii_case(id))
        {
            Some(index) => Ok(Some(index)),
            None => Err(format!("no group of the tenant has the id `{id}`")),
        };
    }
    let matches: Vec<usize> = (0..current.groups.len())
        .filter(|&index| current.groups[index].display_name == name)
        .collect();
    match matches.as_slice() {
        [] => Ok(None),
        [index] => Ok(Some(*index)),
        several => Err(format!(
            "{} groups of the tenant are named `{name}` (ids {}); add `id:` to say which one",
            several.len(),
            several
                .iter()
                .map(|&index| current.groups[index].id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Converts config licenses into the state's form (Graph's `disabledPlans`): an allow-list
/// becomes the product's other plans.
pub fn state_licenses(catalog: &Catalog, licenses: &[LicenseSpec]) -> Vec<AssignedLicense> {
    licenses
        .iter()
        .map(|license| {
            let disabled_plans = match (&license.enabled_plans, &license.disabled_plans) {
                (Some(enabled), _) => match catalog.resolve_product(&license.sku) {
                    Ok(product) => {
                        let keep: Vec<_> = enabled
                            .iter()
                            .filter_map(|name| catalog.plan_in_product(product, name))
                            .collect();
                        catalog
                            .product(product)
                            .plans
                            .iter()
                            .filter(|plan| !keep.contains(plan))
                            .map(|&plan| catalog.plan(plan).name.clone())
                            .collect()
                    }
                    Err(_) => Vec::new(),
                },
                (None, Some(disabled)) => disabled.clone(),
                (None, None) => Vec::new(),
            };
            AssignedLicense {
                sku: license.sku.clone(),
                disabled_plans,
            }
        })
        .collect()
}

/// Applies the config to the current state. Every reference problem (unknown member, ambiguous
/// group name, unknown user) is reported, pointing at the config.
pub fn build(
    current: &TenantState,
    loaded: &LoadedConfig,
    catalog: &Catalog,
) -> Result<Desired, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut state = current.clone();
    let mut desired = Desired {
        state: TenantState::default(),
        deleted: Vec::new(),
        created: Vec::new(),
        managed_groups: Vec::new(),
        managed_users: Vec::new(),
    };
    let config = &loaded.config;
    // The organization's country is a fact of the tenant that seatplan cannot change: the config's
    // value fills in a state that lacks it, and a different value is an error.
    if let Some(location) = config
        .tenant
        .as_ref()
        .and_then(|tenant| tenant.default_usage_location.as_ref())
    {
        let wanted = location.to_ascii_uppercase();
        match &current.tenant.default_usage_location {
            None => state.tenant.default_usage_location = Some(wanted),
            Some(actual) if actual.eq_ignore_ascii_case(&wanted) => {}
            Some(actual) => {
                let mut diagnostic = Diagnostic::new(
                    Code::TenantMismatch,
                    format!("the config says the tenant's usage location is {wanted}, but the tenant's is {actual}"),
                )
                .with_help(format!(
                    "the organization's country is set when the tenant is created and seatplan cannot change it; write `default_usage_location: {actual}` or remove the line"
                ));
                if let Some(location) =
                    loaded.section_location("tenant", "/tenant/default_usage_location")
                {
                    diagnostic = diagnostic.with_label(location, "differs from the tenant");
                }
                problems.push(diagnostic);
            }
        }
    }
    let upns: Vec<&str> = current.users.iter().map(|user| user.upn.as_str()).collect();
    // Lookups by UPN and by group id are hashed: a large tenant has a million users and config
    // member lists of hundreds of thousands of entries.
    let by_upn: FxHashMap<String, usize> = current
        .users
        .iter()
        .enumerate()
        .rev()
        .map(|(index, user)| (user.upn.to_ascii_lowercase(), index))
        .collect();
    let find_user = |upn: &str| by_upn.get(&upn.to_ascii_lowercase()).copied();
    let group_ids: FxHashSet<String> = current
        .groups
        .iter()
        .map(|group| group.id.to_ascii_lowercase())
        .collect();
    for (name, spec) in config.groups.iter().flatten() {
        let locate = |suffix: &str| loaded.group_location(name, suffix);
        let index = match match_group(current, name, spec) {
            Ok(index) => index,
            Err(message) => {
                let mut diagnostic = Diagnostic::new(Code::GroupReference, message)
                    .with_help("group display names are not unique in Entra; `id:` pins the group");
                if let Some(location) = locate(if spec.id.is_some() { "/id" } else { "" }) {
                    diagnostic = diagnostic.with_label(location, "this group");
                }
                problems.push(diagnostic);
                continue;
            }
        };
        if spec.ensure == Some(Ensure::Absent) {
            if let Some(index) = index {
                let group = &mut state.groups[index];
                group.members.clear();
                group.licenses.clear();
                group.rule = None;
                desired.deleted.push((name.clone(), index));
            }
            continue;
        }
        let index = match index {
            Some(index) => index,
            None => {
                state.groups.push(GroupState {
                    id: new_group_id(name),
                    display_name: name.clone(),
                    security_enabled: true,
                    ..GroupState::default()
                });
                desired.created.push(state.groups.len() - 1);
                state.groups.len() - 1
            }
        };
        let group = &mut state.groups[index];
        if let Some(description) = &spec.description {
            group.description = Some(description.clone());
        }
        if let Some(security) = spec.security_enabled {
            group.security_enabled = security;
        }
        if let Some(rule) = &spec.rule {
            group.rule = Some(rule.clone());
            group.rule_processing = Some(
                spec.rule_processing
                    .unwrap_or(group.rule_processing.unwrap_or(RuleProcessing::On)),
            );
        } else if let Some(processing) = spec.rule_processing {
            group.rule_processing = Some(processing);
        }
        if let Some(members) = &spec.members {
            // A static member list makes a dynamic group static (Graph: DynamicMembership removed,
            // membership kept as listed).
            group.rule = None;
            group.rule_processing = None;
            let mut resolved = Vec::new();
            for (position, member) in members.iter().enumerate() {
                match find_user(member) {
                    Some(user) => resolved.push(current.users[user].upn.clone()),
                    // Past the cap only the error counts; skip the suggestion search.
                    None if problems.is_full() => {
                        problems.push(Diagnostic::new(Code::UserReference, "unknown member"));
                    }
                    None => {
                        let hint = did_you_mean(member, upns.iter().copied(), 1)
                            .first()
                            .map(|best| format!("did you mean `{best}`? "))
                            .unwrap_or_default();
                        let mut diagnostic = Diagnostic::new(
                            Code::UserReference,
                            format!(
                                "member `{member}` of group `{name}` is not a user of the tenant"
                            ),
                        )
                        .with_help(format!("{hint}members are listed by user principal name"));
                        if let Some(location) = locate(&format!("/members/{position}")) {
                            diagnostic = diagnostic.with_label(location, "unknown user");
                        }
                        problems.push(diagnostic);
                    }
                }
            }
            // Nested group members of a static group are not managed by a user list: keep them.
            let nested: Vec<String> = group
                .members
                .iter()
                .filter(|member| group_ids.contains(&member.to_ascii_lowercase()))
                .cloned()
                .collect();
            resolved.extend(nested);
            group.members = resolved;
        }
        if let Some(licenses) = &spec.licenses {
            group.licenses = state_licenses(catalog, licenses);
        }
        desired.managed_groups.push((name.clone(), index));
    }
    for (upn, spec) in config.users.iter().flatten() {
        let Some(index) = find_user(upn) else {
            let hint = did_you_mean(upn, upns.iter().copied(), 1)
                .first()
                .map(|best| format!("did you mean `{best}`? "))
                .unwrap_or_default();
            let mut diagnostic = Diagnostic::new(
                Code::UserReference,
                format!("user `{upn}` is not in the tenant"),
            )
            .with_help(format!(
                "{hint}seatplan manages existing users; it does not create them"
            ));
            if let Some(location) = loaded.user_location(upn, "") {
                diagnostic = diagnostic.with_label(location, "unknown user");
            }
            problems.push(diagnostic);
            continue;
        };
        let user = &mut state.users[index];
        if let Some(location) = &spec.usage_location {
            user.usage_location = Some(location.to_ascii_uppercase());
        }
        if let Some(licenses) = &spec.licenses {
            user.licenses = state_licenses(catalog, licenses);
        }
        desired.managed_users.push((upn.clone(), index));
    }
    if problems.has_errors() {
        return Err(problems);
    }
    desired.state = state;
    Ok(desired)
}
