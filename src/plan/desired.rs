//! The desired state: the current tenant state with the config applied to the groups and users it
//! manages (SPEC §1.1 scope rules), plus the list of changes that gets there. Groups are matched by
//! `id`, else by display name (an ambiguous name is an error). Omitted config fields leave the
//! tenant's value alone; empty lists mean "none".

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::config::references::ResolvedLicense;
use crate::config::valid::ValidConfig;
use crate::config::{Ensure, GroupSpec, LicenseSpec, MemberSpec, RuleProcessing};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::source::SourceId;
use crate::tenant::index::{Tenant, UserIdx};
use crate::tenant::model::{AssignedLicense, GroupState, TenantInfo, TenantState, UserState};

/// The desired tenant as changes over the current state: the groups and users the config
/// manages, in their desired form, and the lists that describe the change. Groups and users the
/// config does not mention are the current state's (a large tenant is not copied to change a few
/// groups); [`Desired::group`], [`Desired::user`] and [`Desired::to_state`] give the whole view.
#[derive(Debug, Clone)]
pub struct Desired {
    /// The tenant-wide facts as the config wants them.
    pub tenant: TenantInfo,
    /// Groups the config manages, creates or deletes, in their desired form, by index: indexes
    /// below the current state's group count are existing groups, the others created ones.
    /// Groups to delete keep their index, with no members and no licenses.
    pub groups: BTreeMap<usize, GroupState>,
    /// Indexes of the groups in [`Desired::groups`] whose member list the config replaced.
    pub members_set: Vec<usize>,
    /// Users the config manages, in their desired form, by index into the current state's users.
    pub users: BTreeMap<usize, UserState>,
    /// Groups the config deletes (`ensure: absent`): their config name and index.
    pub deleted: Vec<(String, usize)>,
    /// Indexes of groups the config creates.
    pub created: Vec<usize>,
    /// For each managed config group present in the desired state: its name in the config and its
    /// index.
    pub managed_groups: Vec<(String, usize)>,
    /// Managed users' UPNs as written in the config, with their index in the state's users.
    pub managed_users: Vec<(String, usize)>,
}

impl Desired {
    /// Group `index` of the desired state: the config's version, else the current one.
    pub fn group<'a>(&'a self, current: &'a TenantState, index: usize) -> &'a GroupState {
        self.groups
            .get(&index)
            .unwrap_or_else(|| &current.groups[index])
    }

    /// User `index` of the desired state: the config's version, else the current one.
    pub fn user<'a>(&'a self, current: &'a TenantState, index: usize) -> &'a UserState {
        self.users
            .get(&index)
            .unwrap_or_else(|| &current.users[index])
    }

    /// The managed groups of the tenant that the config makes dynamic (static now, a rule
    /// desired): the service removes their members before it processes the rule (seed 000).
    pub fn converted(&self, current: &TenantState) -> Vec<usize> {
        self.managed_groups
            .iter()
            .map(|(_, index)| *index)
            .filter(|index| {
                current
                    .groups
                    .get(*index)
                    .is_some_and(|group| group.rule.is_none())
                    && self.group(current, *index).rule.is_some()
            })
            .collect()
    }

    /// The whole desired state as a tenant state (deleted groups still in place): what the file
    /// backend writes after an apply, before the engine's license states are filled in.
    pub fn to_state(&self, current: &TenantState) -> TenantState {
        let mut state = current.clone();
        state.tenant = self.tenant.clone();
        for (index, group) in &self.groups {
            match state.groups.get_mut(*index) {
                Some(slot) => *slot = group.clone(),
                None => state.groups.push(group.clone()),
            }
        }
        for (index, user) in &self.users {
            state.users[*index] = user.clone();
        }
        state
    }

    /// Whether any user's rule-visible attributes differ from the current state (only the usage
    /// location can: the config sets nothing else that rules read).
    pub fn changes_user_attributes(&self, current: &TenantState) -> bool {
        self.users
            .iter()
            .any(|(index, user)| current.users[*index].usage_location != user.usage_location)
    }

    /// The indexed desired tenant, derived from the indexed current one: groups and users the
    /// config changes are resolved again, the rest (a million users' lookups among them) is
    /// shared. Problems point at the state `source`, as for [`crate::tenant::index::build`].
    pub fn index(
        &self,
        current: &TenantState,
        indexed: &Tenant,
        catalog: &Catalog,
        source: SourceId,
    ) -> Result<Tenant, Diagnostics> {
        let mut target = indexed.clone();
        target.default_usage_location = self
            .tenant
            .default_usage_location
            .as_deref()
            .map(|code| code.to_ascii_uppercase().into());
        let mut problems = Diagnostics::default();
        // Created groups are known by id before any member list is resolved: a static group
        // may have a group the config creates as a member.
        for &index in &self.created {
            if let Some(group) = self.groups.get(&index) {
                let shell = GroupState {
                    id: group.id.clone(),
                    display_name: group.display_name.clone(),
                    ..GroupState::default()
                };
                if let Err(found) = target.set_group(catalog, index, &shell, true, source) {
                    problems.extend(found);
                }
            }
        }
        for (index, group) in &self.groups {
            let members_changed =
                *index >= current.groups.len() || self.members_set.binary_search(index).is_ok();
            if let Err(found) = target.set_group(catalog, *index, group, members_changed, source) {
                problems.extend(found);
            }
        }
        for (index, user) in &self.users {
            if let Err(found) =
                target.set_user_licensing(catalog, UserIdx(*index as u32), user, source)
            {
                problems.extend(found);
            }
        }
        if problems.has_errors() {
            return Err(problems);
        }
        Ok(target)
    }
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
fn match_group(indexed: &Tenant, name: &str, spec: &GroupSpec) -> Result<Option<usize>, String> {
    if let Some(id) = &spec.id {
        return match indexed.group_by_id(id) {
            Some(group) => Ok(Some(group.0 as usize)),
            None => Err(format!("no group of the tenant has the id `{id}`")),
        };
    }
    match indexed.groups_named(name) {
        [] => Ok(None),
        [group] => Ok(Some(group.0 as usize)),
        several => Err(format!(
            "{} groups of the tenant are named `{name}` (ids {}); add `id:` to say which one",
            several.len(),
            several
                .iter()
                .map(|&group| &*indexed.group_at(group).id)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// Finds the groups a static member list names, for [`build`]: groups of the config by their key
/// (including groups the config creates, which have no object id in the tenant yet), else tenant
/// groups by display name or object id. A group the config deletes, and the group itself, cannot
/// be members.
struct MemberGroups<'a> {
    current: &'a TenantState,
    indexed: &'a Tenant,
    /// Config groups present in the desired state: key and index.
    placed: BTreeMap<&'a str, usize>,
    /// Groups the config deletes: index and key.
    deleted: BTreeMap<usize, String>,
}

impl<'a> MemberGroups<'a> {
    fn new(
        current: &'a TenantState,
        indexed: &'a Tenant,
        deleted: &[(String, usize)],
        placed: &[(&'a String, &'a GroupSpec, usize)],
    ) -> Self {
        MemberGroups {
            current,
            indexed,
            placed: placed
                .iter()
                .map(|&(name, _, index)| (name.as_str(), index))
                .collect(),
            deleted: deleted
                .iter()
                .map(|(name, index)| (*index, name.clone()))
                .collect(),
        }
    }

    /// The object id of the group at `found` as a member of `parent` (at `parent_index`).
    fn by_index(
        &self,
        parent: &str,
        parent_index: usize,
        found: usize,
    ) -> Result<String, Diagnostic> {
        if found == parent_index {
            return Err(Diagnostic::new(
                Code::GroupReference,
                format!("group `{parent}` lists itself as a member"),
            )
            .with_help("a group cannot be a member of itself: remove the entry"));
        }
        if let Some(name) = self.deleted.get(&found) {
            return Err(Diagnostic::new(
                Code::GroupReference,
                format!("member group `{name}` of group `{parent}` is deleted by this config (`ensure: absent`)"),
            )
            .with_help("remove the member entry, or keep the group"));
        }
        Ok(match self.current.groups.get(found) {
            Some(group) => group.id.clone(),
            None => {
                let name = self
                    .placed
                    .iter()
                    .find(|(_, &index)| index == found)
                    .map_or("", |(name, _)| *name);
                new_group_id(name)
            }
        })
    }

    /// The object id of the group named `wanted` (a config key, else a tenant display name) as a
    /// member of `parent`.
    fn by_name(
        &self,
        parent: &str,
        parent_index: usize,
        wanted: &str,
    ) -> Result<String, Diagnostic> {
        if let Some(&index) = self.placed.get(wanted) {
            return self.by_index(parent, parent_index, index);
        }
        match self.indexed.groups_named(wanted) {
            [group] => self.by_index(parent, parent_index, group.0 as usize),
            [] => {
                let names = self
                    .placed
                    .keys()
                    .copied()
                    .chain(self.indexed.groups.iter().map(|group| &*group.name));
                let hint = did_you_mean(wanted, names, 1)
                    .first()
                    .map(|best| format!("did you mean `{best}`? "))
                    .unwrap_or_default();
                Err(Diagnostic::new(
                    Code::GroupReference,
                    format!("member group `{wanted}` of group `{parent}` is neither a group of the config nor of the tenant"),
                )
                .with_help(format!("{hint}`group:` names a group by display name; a group of the tenant can also be listed by object id")))
            }
            several => Err(Diagnostic::new(
                Code::GroupReference,
                format!(
                    "member group `{wanted}` of group `{parent}` is ambiguous: {} groups of the tenant have that name (ids {})",
                    several.len(),
                    several
                        .iter()
                        .map(|&group| &*self.indexed.group_at(group).id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
            .with_help("list the member group by its object id instead")),
        }
    }
}

/// `diagnostic` pointing at `location`, when the config has one.
fn labelled(diagnostic: Diagnostic, location: Option<crate::diag::Location>) -> Diagnostic {
    match location {
        Some(location) => diagnostic.with_label(location, "this member"),
        None => diagnostic,
    }
}

/// Converts config licenses into the state's form (Graph's `disabledPlans`): an allow-list
/// becomes the plans `catalog` lists for the product (which may have grown by the tenant's
/// subscriptions) other than the allowed ones. `resolved` holds the same licenses resolved by
/// validation, in the same order.
pub fn state_licenses(
    catalog: &Catalog,
    licenses: &[LicenseSpec],
    resolved: &[ResolvedLicense],
) -> Vec<AssignedLicense> {
    licenses
        .iter()
        .zip(resolved)
        .map(|(license, resolved)| {
            let disabled_plans = match (&resolved.enabled, &license.disabled_plans) {
                (Some(enabled), _) => catalog
                    .product(resolved.product)
                    .plans
                    .iter()
                    .filter(|plan| !enabled.contains(**plan))
                    .map(|&plan| catalog.plan(plan).name.clone())
                    .collect(),
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

/// Applies the config to the current state (`indexed` is that state's index, for finding users).
/// Every reference problem (unknown member, ambiguous group name, unknown user) is reported,
/// pointing at the config.
pub fn build(
    current: &TenantState,
    indexed: &Tenant,
    valid: &ValidConfig,
    catalog: &Catalog,
) -> Result<Desired, Diagnostics> {
    let loaded = &valid.loaded;
    let mut problems = Diagnostics::default();
    let mut desired = Desired {
        tenant: current.tenant.clone(),
        groups: BTreeMap::new(),
        members_set: Vec::new(),
        users: BTreeMap::new(),
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
            None => desired.tenant.default_usage_location = Some(wanted),
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
    let upns = || current.users.iter().map(|user| user.upn.as_str());
    // Users are found through the indexed tenant's hashed lookups (a large tenant has a million
    // users and config member lists of hundreds of thousands of entries), by UPN only: the
    // lookup also knows object ids, which config files do not use.
    let find_user = |upn: &str| {
        indexed
            .user(upn)
            .map(|user| user.0 as usize)
            .filter(|&user| {
                let found = current.users[user].upn.as_str();
                found.eq_ignore_ascii_case(upn) || found.to_lowercase() == upn.to_lowercase()
            })
    };
    // First every config group is placed (matched to a tenant group, or given the index of the
    // group it creates), so that a static member list can name any group of the config, whatever
    // the order of the files and keys.
    let mut placed: Vec<(&String, &GroupSpec, usize)> = Vec::new();
    for (name, spec) in config.groups.iter().flatten() {
        let index = match match_group(indexed, name, spec) {
            Ok(index) => index,
            // A group to delete that is gone already (an earlier apply deleted it).
            Err(_) if spec.ensure == Some(Ensure::Absent) && spec.id.is_some() => continue,
            Err(message) => {
                let mut diagnostic = Diagnostic::new(Code::GroupReference, message)
                    .with_help("group display names are not unique in Entra; `id:` pins the group");
                let suffix = if spec.id.is_some() { "/id" } else { "" };
                if let Some(location) = loaded.group_location(name, suffix) {
                    diagnostic = diagnostic.with_label(location, "this group");
                }
                problems.push(diagnostic);
                continue;
            }
        };
        // Two keys for one tenant group (a rename by `id:` and its old name reused, say): which
        // definition holds is not for seatplan to guess.
        if let Some(index) = index {
            let first = placed
                .iter()
                .map(|(other, _, at)| (other.as_str(), *at))
                .chain(
                    desired
                        .deleted
                        .iter()
                        .map(|(other, at)| (other.as_str(), *at)),
                )
                .find(|(_, at)| *at == index);
            if let Some((other, _)) = first {
                let mut diagnostic = Diagnostic::new(
                    Code::GroupReference,
                    format!(
                        "groups `{other}` and `{name}` of the config are the same tenant group ({})",
                        indexed.groups[index].id
                    ),
                )
                .with_help("a group renamed by `id:` keeps its object: give a new group another key, or rename in one apply and reuse the old name in the next");
                if let Some(location) = loaded.group_location(name, "") {
                    diagnostic = diagnostic.with_label(location.into_key(), "the same group");
                }
                problems.push(diagnostic);
                continue;
            }
        }
        let index = match (index, spec.ensure) {
            (Some(index), Some(Ensure::Absent)) => {
                desired.deleted.push((name.clone(), index));
                continue;
            }
            (None, Some(Ensure::Absent)) => continue,
            (Some(index), _) => index,
            (None, _) => {
                let index = current.groups.len() + desired.created.len();
                desired.created.push(index);
                index
            }
        };
        placed.push((name, spec, index));
    }
    for &(_, index) in &desired.deleted {
        let mut group = current.groups[index].clone();
        group.members.clear();
        group.licenses.clear();
        group.rule = None;
        desired.groups.insert(index, group);
        desired.members_set.push(index);
    }
    let groups = MemberGroups::new(current, indexed, &desired.deleted, &placed);
    for (name, spec, index) in placed {
        let locate = |suffix: &str| loaded.group_location(name, suffix);
        let mut group = if index < current.groups.len() {
            desired
                .groups
                .remove(&index)
                .unwrap_or_else(|| current.groups[index].clone())
        } else {
            GroupState {
                id: new_group_id(name),
                display_name: name.clone(),
                security_enabled: true,
                ..GroupState::default()
            }
        };
        // A group pinned by `id:` whose key is not its display name is renamed to the key,
        // except for the key `export` writes for a display name several groups share:
        // `<display name> (<its object id>)` names the group by that display name.
        if spec.id.is_some() && group.display_name != *name {
            let disambiguated = format!("{} ({})", group.display_name, group.id);
            if !name.eq_ignore_ascii_case(&disambiguated) {
                group.display_name = name.clone();
            }
        }
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
            // membership kept as listed). The list is the whole direct membership, users and
            // groups alike.
            group.rule = None;
            group.rule_processing = None;
            let mut resolved = Vec::new();
            for (position, member) in members.iter().enumerate() {
                let at = || locate(&format!("/members/{position}"));
                match member {
                    MemberSpec::Name(member) => {
                        if let Some(user) = find_user(member) {
                            resolved.push(current.users[user].upn.clone());
                            continue;
                        }
                        if let Some(found) = indexed.group_by_id(member) {
                            match groups.by_index(name, index, found.0 as usize) {
                                Ok(id) => resolved.push(id),
                                Err(diagnostic) => problems.push(labelled(diagnostic, at())),
                            }
                            continue;
                        }
                        if problems.is_full() {
                            // Past the cap only the error counts; skip the suggestion search.
                            problems.push(Diagnostic::new(Code::UserReference, "unknown member"));
                            continue;
                        }
                        let hint = did_you_mean(member, upns(), 1)
                            .first()
                            .map(|best| format!("did you mean `{best}`? "))
                            .unwrap_or_default();
                        let diagnostic = Diagnostic::new(
                            Code::UserReference,
                            format!(
                                "member `{member}` of group `{name}` is neither a user nor a group of the tenant"
                            ),
                        )
                        .with_help(format!(
                            "{hint}users are listed by user principal name, groups by object id or as `group: <display name>`"
                        ));
                        problems.push(labelled(diagnostic, at()));
                    }
                    MemberSpec::Group(member) => match groups.by_name(name, index, &member.group) {
                        Ok(id) => resolved.push(id),
                        Err(diagnostic) => {
                            let at = locate(&format!("/members/{position}/group"));
                            problems.push(labelled(diagnostic, at));
                        }
                    },
                }
            }
            group.members = resolved;
            desired.members_set.push(index);
        }
        if let Some(licenses) = &spec.licenses {
            group.licenses = state_licenses(catalog, licenses, valid.group_licenses(name));
        }
        desired.groups.insert(index, group);
        desired.managed_groups.push((name.clone(), index));
    }
    for (upn, spec) in config.users.iter().flatten() {
        let Some(index) = find_user(upn) else {
            let hint = did_you_mean(upn, upns(), 1)
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
        let user = desired
            .users
            .entry(index)
            .or_insert_with(|| current.users[index].clone());
        if let Some(location) = &spec.usage_location {
            user.usage_location = Some(location.to_ascii_uppercase());
        }
        if let Some(licenses) = &spec.licenses {
            user.licenses = state_licenses(catalog, licenses, valid.user_licenses(upn));
        }
        desired.managed_users.push((upn.clone(), index));
    }
    if problems.has_errors() {
        return Err(problems);
    }
    desired.members_set.sort_unstable();
    desired.members_set.dedup();
    Ok(desired)
}
