//! The in-memory tenant: users in a dense vector indexed by [`UserIdx`], groups by [`GroupIdx`],
//! products and plans resolved against the catalog, members resolved to indexes. Built once from a
//! [`TenantState`]; referential problems (a member that does not exist, an unknown SKU, two users
//! with one UPN) are diagnostics pointing at the state file, never panics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::hash::{Map, Set};
use rayon::prelude::*;

use crate::catalog::{Catalog, PlanSet, ProductId};
use crate::config::RuleProcessing;
use crate::country::{normalize_country, usage_location_problem};
use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics, Location};
use crate::guid::{self, is_guid};
use crate::source::SourceId;
use crate::tenant::model::{
    AssignedLicense, AssignmentError, AssignmentState, GroupState, TenantState, UserState,
};

/// The most seats one subscription may have (`prepaidUnits.enabled`). Real tenants stay far
/// below; anything above is a corrupted or hand-edited file, and the bound keeps seat sums exact.
pub const MAX_SEATS: u64 = 1_000_000_000;

/// The longest user id, UPN, group id or group display name seatplan accepts (Entra's own limits
/// are lower: 113 characters for a UPN, 256 for a display name).
pub const MAX_NAME_CHARS: usize = 1024;

/// Index of a user in [`Tenant::users`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserIdx(pub u32);

/// Index of a group in [`Tenant::groups`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupIdx(pub u32);

/// A product with the service plans it enables (after `disabled_plans` / `enabled_plans`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// The product.
    pub product: ProductId,
    /// The service plans this assignment turns on.
    pub enabled: PlanSet,
}

/// Where an assignment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Assigned to the user directly.
    Direct,
    /// Inherited from a group the user is a direct member of.
    Group(GroupIdx),
}

/// What the service last recorded for one (user, source, product) assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    /// Where the assignment comes from.
    pub source: Source,
    /// The product.
    pub product: ProductId,
    /// The recorded state.
    pub state: AssignmentState,
    /// The recorded error, if any.
    pub error: Option<AssignmentError>,
}

/// A user as licensing sees them.
#[derive(Debug, Clone)]
pub struct User {
    /// Object id.
    pub id: Box<str>,
    /// User principal name.
    pub upn: Box<str>,
    /// Usage location, upper-case ISO code; `None` inherits the tenant's.
    pub usage_location: Option<Box<str>>,
    /// Proxy addresses, lower-cased for uniqueness checks.
    pub proxy_addresses: Vec<Box<str>>,
    /// Direct license assignments.
    pub direct: Vec<License>,
    /// What the service last recorded.
    pub recorded: Vec<Recorded>,
}

/// A group as licensing sees it.
#[derive(Debug, Clone)]
pub struct Group {
    /// Object id.
    pub id: Box<str>,
    /// Display name.
    pub name: Box<str>,
    /// Security group (only these can hold licenses).
    pub security_enabled: bool,
    /// Mail-enabled.
    pub mail_enabled: bool,
    /// The membership rule of a dynamic group.
    pub rule: Option<Box<str>>,
    /// Whether the rule is evaluated.
    pub processing: RuleProcessing,
    /// Direct user members (for dynamic groups: what the service last computed), sorted.
    pub members: Vec<UserIdx>,
    /// Direct group members (nested groups: their members receive nothing), sorted.
    pub member_groups: Vec<GroupIdx>,
    /// Products the group assigns.
    pub licenses: Vec<License>,
}

impl Group {
    /// The indexed form of a state's group, with its members and licenses already resolved.
    fn of(
        group: &GroupState,
        members: Vec<UserIdx>,
        member_groups: Vec<GroupIdx>,
        licenses: Vec<License>,
    ) -> Group {
        Group {
            id: group.id.as_str().into(),
            name: group.display_name.as_str().into(),
            security_enabled: group.security_enabled,
            mail_enabled: group.mail_enabled,
            rule: group.rule.as_deref().map(Into::into),
            processing: group.rule_processing.unwrap_or_default(),
            members,
            member_groups,
            licenses,
        }
    }
}

/// The indexed tenant. Users and their lookups are shared between clones (a million users are
/// not copied to describe the tenant after a change that touches a few groups); [`Tenant::user_mut`]
/// copies them on the first write.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The organization's country, inherited by users without a usage location.
    pub default_usage_location: Option<Box<str>>,
    /// Seats bought per product (`prepaidUnits.enabled`).
    pub seats: HashMap<ProductId, u64>,
    /// Users, indexed by [`UserIdx`].
    pub users: Arc<Vec<User>>,
    /// Groups, indexed by [`GroupIdx`].
    pub groups: Vec<Group>,
    by_user: Arc<UserLookup>,
    by_group_id: Map<Box<str>, GroupIdx>,
    by_group_name: Map<Box<str>, Vec<GroupIdx>>,
}

/// Users by lower-cased UPN and by object id (a GUID's 16 bytes, so ids in any case are one key),
/// their order by UPN and the users who share a proxy address.
#[derive(Debug, Default)]
struct UserLookup {
    by_upn: Map<Box<str>, UserIdx>,
    by_id: Map<[u8; 16], UserIdx>,
    upn_ranks: OnceLock<Vec<u32>>,
    sharing_proxy: OnceLock<Set<UserIdx>>,
}

impl Tenant {
    /// The user with this UPN or object id (UPNs compare case-insensitively).
    pub fn user(&self, upn_or_id: &str) -> Option<UserIdx> {
        with_lower(upn_or_id, |key| self.by_user.by_upn.get(key).copied())
            .or_else(|| self.by_user.by_id.get(&guid::parse(upn_or_id)?).copied())
    }

    /// Each user's rank among the tenant's users ordered by UPN (the service's processing
    /// order), by [`UserIdx`]: sorted once, on first use, and shared with every tenant derived
    /// from this one (a desired state changes locations and licenses, never UPNs).
    pub fn upn_ranks(&self) -> &[u32] {
        self.by_user
            .upn_ranks
            .get_or_init(|| ranks(self.users.len(), |user| &self.users[user].upn))
    }

    /// Users who share at least one proxy address with another user (Exchange refuses them a
    /// mailbox): found once, on first use, and shared like [`Tenant::upn_ranks`] with every
    /// tenant derived from this one (a desired state never changes proxy addresses).
    pub fn users_sharing_a_proxy_address(&self) -> &Set<UserIdx> {
        self.by_user.sharing_proxy.get_or_init(|| {
            let mut owners: Map<&str, UserIdx> =
                Map::with_capacity_and_hasher(self.users.len(), Default::default());
            let mut sharing = Set::default();
            for (index, user) in self.users.iter().enumerate() {
                let idx = UserIdx(index as u32);
                for address in &user.proxy_addresses {
                    match owners.get(&**address) {
                        Some(&owner) if owner != idx => {
                            sharing.insert(owner);
                            sharing.insert(idx);
                        }
                        Some(_) => {}
                        None => {
                            owners.insert(address, idx);
                        }
                    }
                }
            }
            sharing
        })
    }

    /// The user at `index`, for changing their licensing (a desired state's usage location or
    /// direct licenses; never the UPN, id or proxy addresses, which derived tenants share).
    /// Copies the users first if another tenant shares them.
    pub fn user_mut(&mut self, index: UserIdx) -> &mut User {
        &mut Arc::make_mut(&mut self.users)[index.0 as usize]
    }

    /// The group with this object id.
    pub fn group_by_id(&self, id: &str) -> Option<GroupIdx> {
        with_lower(id, |key| self.by_group_id.get(key).copied())
    }

    /// The groups with this display name (display names are not unique in Entra).
    pub fn groups_named(&self, name: &str) -> &[GroupIdx] {
        self.by_group_name.get(name).map_or(&[], Vec::as_slice)
    }

    /// The user at `index`.
    pub fn user_at(&self, index: UserIdx) -> &User {
        &self.users[index.0 as usize]
    }

    /// The group at `index`.
    pub fn group_at(&self, index: GroupIdx) -> &Group {
        &self.groups[index.0 as usize]
    }

    /// The usage location licensing uses for a user: theirs, else the tenant's.
    pub fn effective_location(&self, user: UserIdx) -> Option<&str> {
        self.user_at(user)
            .usage_location
            .as_deref()
            .or(self.default_usage_location.as_deref())
    }

    /// Seats bought for a product (0 when the tenant has no subscription).
    pub fn seats_of(&self, product: ProductId) -> u64 {
        self.seats.get(&product).copied().unwrap_or(0)
    }

    /// Adds a group (for desired states that create groups) and returns its index.
    pub fn add_group(&mut self, group: Group) -> GroupIdx {
        let index = GroupIdx(self.groups.len() as u32);
        self.by_group_id.insert(lower(&group.id).into(), index);
        self.by_group_name
            .entry(group.name.clone())
            .or_default()
            .push(index);
        self.groups.push(group);
        index
    }
}

impl Tenant {
    /// Puts group `index` of a desired state in place (or appends it, for the index after the
    /// last group): its settings and licenses from `group`, its members resolved again when
    /// `members_changed`, else kept as indexed. Problems point at `/groups/{index}` of `source`.
    pub fn set_group(
        &mut self,
        catalog: &Catalog,
        index: usize,
        group: &GroupState,
        members_changed: bool,
        source: SourceId,
    ) -> Result<(), Diagnostics> {
        let at = |pointer: String| Location::node(source, pointer);
        let mut problems = Diagnostics::default();
        let licenses = resolve_licenses(catalog, &group.licenses, &mut problems, |position| {
            at(format!("/groups/{index}/licenses/{position}/sku"))
        });
        let existing = self.groups.get(index);
        let (members, member_groups) = match existing {
            Some(existing) if !members_changed => {
                (existing.members.clone(), existing.member_groups.clone())
            }
            _ => {
                let (users, groups, member_problems) = resolve_members(self, index, group, &at);
                problems.extend(member_problems);
                (users, groups)
            }
        };
        if problems.has_errors() {
            return Err(problems);
        }
        let resolved = Group::of(group, members, member_groups, licenses);
        match self.groups.get_mut(index) {
            Some(slot) => *slot = resolved,
            None => {
                self.add_group(resolved);
            }
        }
        Ok(())
    }

    /// Gives user `index` the usage location and direct licenses of `user` (a desired state's),
    /// copying the shared users only when something differs. Problems point at
    /// `/users/{index}` of `source`.
    pub fn set_user_licensing(
        &mut self,
        catalog: &Catalog,
        index: UserIdx,
        user: &UserState,
        source: SourceId,
    ) -> Result<(), Diagnostics> {
        let mut problems = Diagnostics::default();
        let direct = resolve_licenses(catalog, &user.licenses, &mut problems, |position| {
            Location::node(
                source,
                format!("/users/{}/licenses/{position}/sku", index.0),
            )
        });
        if problems.has_errors() {
            return Err(problems);
        }
        let location: Option<Box<str>> = user
            .usage_location
            .as_deref()
            .map(|code| code.to_ascii_uppercase().into());
        let current = self.user_at(index);
        if current.usage_location != location || current.direct != direct {
            let slot = self.user_mut(index);
            slot.usage_location = location;
            slot.direct = direct;
        }
        Ok(())
    }
}

/// Resolves the licenses of one group or user of a desired state; each that cannot be resolved
/// is reported at `at(position)` and left out.
fn resolve_licenses(
    catalog: &Catalog,
    licenses: &[AssignedLicense],
    problems: &mut Diagnostics,
    at: impl Fn(usize) -> Location,
) -> Vec<License> {
    licenses
        .iter()
        .enumerate()
        .filter_map(|(position, assigned)| {
            match resolve_license(catalog, &assigned.sku, &assigned.disabled_plans, None) {
                Ok(resolved) => Some(resolved),
                Err(message) => {
                    problems.push(reference(at(position), message));
                    None
                }
            }
        })
        .collect()
}

/// Resolves one license of the state or config: the product and its enabled plans.
pub fn resolve_license(
    catalog: &Catalog,
    sku: &str,
    disabled: &[String],
    enabled_only: Option<&[String]>,
) -> Result<License, String> {
    let product = catalog
        .resolve_product(sku)
        .map_err(|suggestions| unknown("product", sku, &suggestions))?;
    let all = &catalog.product(product).plans;
    let resolve = |names: &[String]| -> Result<PlanSet, String> {
        let mut set = PlanSet::default();
        for name in names {
            // Names are resolved within the product first: Microsoft's data reuses a few plan
            // names for different plans (PROJECT_ESSENTIALS).
            let plan = match catalog.plan_in_product(product, name) {
                Some(plan) => plan,
                None => catalog
                    .resolve_plan(name)
                    .map_err(|suggestions| unknown("service plan", name, &suggestions))?,
            };
            set.insert(plan);
        }
        Ok(set)
    };
    let enabled = match enabled_only {
        Some(names) => {
            let chosen = resolve(names)?;
            all.iter()
                .copied()
                .filter(|plan| chosen.contains(*plan))
                .collect()
        }
        None => {
            let off = resolve(disabled)?;
            all.iter()
                .copied()
                .filter(|plan| !off.contains(*plan))
                .collect()
        }
    };
    Ok(License { product, enabled })
}

fn unknown(what: &str, name: &str, suggestions: &[String]) -> String {
    match suggestions.first() {
        Some(best) => format!("unknown {what} `{name}`; did you mean `{best}`?"),
        None => format!("unknown {what} `{name}`"),
    }
}

/// Builds the indexed tenant from its state file. Every referential problem is reported with a
/// pointer into `source`. Users, memberships and recorded states are resolved in parallel; the
/// diagnostics come out in file order whatever the scheduling.
pub fn build(
    state: &TenantState,
    catalog: &Catalog,
    source: SourceId,
) -> Result<Tenant, Diagnostics> {
    let mut problems = Diagnostics::default();
    let at = |pointer: String| Location::node(source, pointer);
    let mut tenant = Tenant {
        default_usage_location: state
            .tenant
            .default_usage_location
            .as_deref()
            .map(|code| code.to_ascii_uppercase().into()),
        seats: HashMap::new(),
        users: Arc::default(),
        groups: Vec::with_capacity(state.groups.len()),
        by_user: Arc::default(),
        by_group_id: Map::with_capacity_and_hasher(state.groups.len(), Default::default()),
        by_group_name: Map::default(),
    };
    if let Some(id) = &state.tenant.id {
        check_guid(&mut problems, || at("/tenant/id".into()), "tenant id", id);
    }
    if let Some(code) = &state.tenant.default_usage_location {
        check_country(
            &mut problems,
            || at("/tenant/default_usage_location".into()),
            code,
        );
    }
    for (index, subscription) in state.subscriptions.iter().enumerate() {
        if subscription.enabled > MAX_SEATS || subscription.warning > MAX_SEATS {
            problems.push(
                Diagnostic::new(
                    Code::TooLarge,
                    format!(
                        "subscription `{}` has {} seats; seatplan accepts at most {MAX_SEATS}",
                        subscription.sku, subscription.enabled
                    ),
                )
                .with_label(
                    at(format!("/subscriptions/{index}/enabled")),
                    "absurd seat count",
                )
                .with_help("the file is corrupted or was edited by hand: export the state again"),
            );
            continue;
        }
        match catalog.resolve_product(&subscription.sku) {
            Ok(product) => {
                let expected = &catalog.product(product).id;
                if let Some(id) = &subscription.id {
                    if !is_guid(id) {
                        check_guid(
                            &mut problems,
                            || at(format!("/subscriptions/{index}/id")),
                            "subscription skuId",
                            id,
                        );
                        continue;
                    }
                    if !expected.is_empty() && !id.eq_ignore_ascii_case(expected) {
                        problems.push(reference(
                            at(format!("/subscriptions/{index}/id")),
                            format!(
                                "subscription `{}` has skuId `{id}`, but that product's skuId is `{expected}`",
                                subscription.sku
                            ),
                        ));
                        continue;
                    }
                }
                // Seats in their grace period are still assignable; suspended ones are not.
                let seats = tenant.seats.entry(product).or_default();
                *seats = seats
                    .saturating_add(subscription.enabled)
                    .saturating_add(subscription.warning);
            }
            Err(suggestions) => problems.push(reference(
                at(format!("/subscriptions/{index}/sku")),
                unknown("product", &subscription.sku, &suggestions),
            )),
        }
    }
    for (index, user) in state.users.iter().enumerate() {
        check_id(
            &mut problems,
            || at(format!("/users/{index}/id")),
            "user id",
            &user.id,
        );
        let _ = check_name(
            &mut problems,
            || at(format!("/users/{index}/upn")),
            "UPN",
            &user.upn,
        );
        if let Some(code) = &user.usage_location {
            check_country(
                &mut problems,
                || at(format!("/users/{index}/usage_location")),
                code,
            );
        }
    }
    // The users are built in place and their keys taken from them one at a time: a state of a
    // million users holds each user's strings once in the file's model and once here, and the
    // lookups own only lower-cased UPNs and 16-byte ids (hostile inputs of that size must load
    // within the memory bound of tests/hostile.rs).
    let (users, user_problems): (Vec<User>, Vec<Diagnostics>) = state
        .users
        .par_iter()
        .enumerate()
        .map(|(index, user)| {
            let mut problems = Diagnostics::default();
            let direct = resolve_licenses(catalog, &user.licenses, &mut problems, |position| {
                at(format!("/users/{index}/licenses/{position}/sku"))
            });
            let converted = User {
                id: user.id.as_str().into(),
                upn: user.upn.as_str().into(),
                usage_location: user
                    .usage_location
                    .as_deref()
                    .map(|code| code.to_ascii_uppercase().into()),
                proxy_addresses: user
                    .proxy_addresses
                    .iter()
                    .map(|address| lower(address).into())
                    .collect(),
                direct,
                recorded: Vec::new(),
            };
            (converted, problems)
        })
        .unzip();
    let mut lookup = UserLookup {
        by_upn: Map::with_capacity_and_hasher(users.len(), Default::default()),
        by_id: Map::with_capacity_and_hasher(users.len(), Default::default()),
        upn_ranks: OnceLock::new(),
        sharing_proxy: OnceLock::new(),
    };
    for (index, (user, user_problems)) in users.iter().zip(user_problems).enumerate() {
        let idx = UserIdx(index as u32);
        if let Some(first) = lookup.by_upn.insert(lower(&user.upn).into(), idx) {
            problems.push(
                Diagnostic::new(
                    Code::TenantReference,
                    format!("two users have the UPN `{}`", user.upn),
                )
                .with_label(at(format!("/users/{index}/upn")), "second user")
                .with_label(at(format!("/users/{}/upn", first.0)), "first user")
                .with_help("a UPN names one user; fix the export or remove the duplicate"),
            );
        }
        // An id that is not a GUID was reported above and is not indexed.
        if let Some(key) = guid::parse(&user.id) {
            if lookup.by_id.insert(key, idx).is_some() {
                problems.push(reference(
                    at(format!("/users/{index}/id")),
                    format!("two users have the id `{}`", user.id),
                ));
            }
        }
        problems.extend(user_problems);
    }
    tenant.users = Arc::new(users);
    tenant.by_user = Arc::new(lookup);
    for (index, group) in state.groups.iter().enumerate() {
        let licenses = resolve_licenses(catalog, &group.licenses, &mut problems, |position| {
            at(format!("/groups/{index}/licenses/{position}/sku"))
        });
        check_id(
            &mut problems,
            || at(format!("/groups/{index}/id")),
            "group id",
            &group.id,
        );
        let _ = check_name(
            &mut problems,
            || at(format!("/groups/{index}/display_name")),
            "group display name",
            &group.display_name,
        );
        if tenant.group_by_id(&group.id).is_some() {
            problems.push(reference(
                at(format!("/groups/{index}/id")),
                format!("two groups have the id `{}`", group.id),
            ));
        }
        tenant.add_group(Group::of(group, Vec::new(), Vec::new(), licenses));
    }
    let resolved: Vec<(Vec<UserIdx>, Vec<GroupIdx>, Diagnostics)> = state
        .groups
        .par_iter()
        .enumerate()
        .map(|(index, group)| resolve_members(&tenant, index, group, &at))
        .collect();
    for (slot, (users, groups, group_problems)) in tenant.groups.iter_mut().zip(resolved) {
        slot.members = users;
        slot.member_groups = groups;
        problems.extend(group_problems);
    }
    let recorded: Vec<(Vec<Recorded>, Diagnostics)> = state
        .users
        .par_iter()
        .enumerate()
        .map(|(index, user)| recorded_states(&tenant, catalog, index, user, &at))
        .collect();
    for (slot, (recorded, user_problems)) in
        Arc::make_mut(&mut tenant.users).iter_mut().zip(recorded)
    {
        slot.recorded = recorded;
        problems.extend(user_problems);
    }
    if problems.has_errors() {
        return Err(problems);
    }
    Ok(tenant)
}

/// The rank of each of `count` items ordered by `key` (byte-wise): items with equal keys share a
/// rank. Comparing ranks orders items as comparing their keys would, with integers.
pub fn ranks<'a>(count: usize, key: impl Fn(usize) -> &'a str + Sync) -> Vec<u32> {
    let mut order: Vec<u32> = (0..count as u32).collect();
    order.par_sort_unstable_by(|&a, &b| key(a as usize).cmp(key(b as usize)));
    let mut ranks = vec![0; count];
    let mut rank = 0;
    for (position, &item) in order.iter().enumerate() {
        if position > 0 && key(order[position - 1] as usize) != key(item as usize) {
            rank += 1;
        }
        ranks[item as usize] = rank;
    }
    ranks
}

/// Lower-cases `text`, borrowing it when it has no upper-case letter (the common case for ids,
/// UPNs and proxy addresses).
fn lower(text: &str) -> Cow<'_, str> {
    if text
        .bytes()
        .any(|byte| byte.is_ascii_uppercase() || !byte.is_ascii())
    {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// The longest key [`with_lower`] lower-cases on the stack (UPNs are at most 113 characters in
/// Entra, object ids 36).
const STACK_KEY: usize = 256;

/// Calls `f` with `text` lower-cased, without allocating for ASCII text of up to [`STACK_KEY`]
/// bytes (every lookup of a member or a config entry by UPN or id goes through here; real UPNs
/// are mostly in mixed case, `Ann.Smith@contoso.com`). Other text is lower-cased by [`lower`].
fn with_lower<R>(text: &str, f: impl FnOnce(&str) -> R) -> R {
    if text.len() <= STACK_KEY && text.is_ascii() {
        let mut buffer = [0u8; STACK_KEY];
        let bytes = &mut buffer[..text.len()];
        bytes.copy_from_slice(text.as_bytes());
        bytes.make_ascii_lowercase();
        // ASCII lower-cased is still ASCII, so this always succeeds.
        if let Ok(key) = std::str::from_utf8(bytes) {
            return f(key);
        }
    }
    f(&lower(text))
}

/// How many unknown members of one group get a "did you mean".
const SUGGESTED_MEMBERS: usize = 10;

/// A group's members resolved to users and nested groups, with the problems of the group.
fn resolve_members(
    tenant: &Tenant,
    index: usize,
    group: &GroupState,
    at: &(dyn Fn(String) -> Location + Sync),
) -> (Vec<UserIdx>, Vec<GroupIdx>, Diagnostics) {
    let mut problems = Diagnostics::default();
    let mut users = Vec::with_capacity(group.members.len());
    let mut groups = Vec::new();
    for (position, member) in group.members.iter().enumerate() {
        if !member.contains('@') && !is_guid(member) {
            problems.push(id_format(
                at(format!("/groups/{index}/members/{position}")),
                format!(
                    "member `{member}` of group `{}` is not a UPN (it has no `@`), and as an \
                     object id it is not a GUID",
                    group.display_name
                ),
            ));
        } else if let Some(user) = tenant.user(member) {
            users.push(user);
        } else if let Some(nested) = tenant.group_by_id(member) {
            groups.push(nested);
        } else if problems.0.len() >= SUGGESTED_MEMBERS {
            // Past a few unknown members the suggestion search over every user would make a
            // broken file quadratic; the error alone is reported.
            problems.push(reference(
                at(format!("/groups/{index}/members/{position}")),
                format!(
                    "member `{member}` of group `{}` is neither a user nor a group of this tenant",
                    group.display_name
                ),
            ));
        } else {
            let upns = tenant.users.iter().map(|user| &*user.upn);
            let hint = did_you_mean(member, upns, 1)
                .first()
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_default();
            problems.push(reference(
                at(format!("/groups/{index}/members/{position}")),
                format!(
                    "member `{member}` of group `{}` is neither a user nor a group of this tenant{hint}",
                    group.display_name
                ),
            ));
        }
    }
    users.sort_unstable();
    users.dedup();
    groups.sort_unstable();
    groups.dedup();
    (users, groups, problems)
}

/// A user's recorded license states resolved to products and groups.
fn recorded_states(
    tenant: &Tenant,
    catalog: &Catalog,
    index: usize,
    user: &UserState,
    at: &(dyn Fn(String) -> Location + Sync),
) -> (Vec<Recorded>, Diagnostics) {
    let mut problems = Diagnostics::default();
    let mut recorded = Vec::with_capacity(user.license_states.len());
    for (position, entry) in user.license_states.iter().enumerate() {
        let pointer = || format!("/users/{index}/license_states/{position}");
        let Ok(product) = catalog.resolve_product(&entry.sku) else {
            problems.push(reference(
                at(format!("{}/sku", pointer())),
                format!("unknown product `{}`", entry.sku),
            ));
            continue;
        };
        let source = match &entry.via {
            None => Source::Direct,
            // The group's object id (Graph's `assignedByGroup`); older files name the group by
            // its display name, which is accepted while it is unambiguous.
            Some(via) => match tenant.group_by_id(via) {
                Some(group) => Source::Group(group),
                None => match tenant.groups_named(via) {
                    [group] => Source::Group(*group),
                    [] => {
                        problems.push(reference(
                            at(format!("{}/via", pointer())),
                            format!("no group has the id or the display name `{via}`"),
                        ));
                        continue;
                    }
                    several => {
                        let ids: Vec<&str> = several
                            .iter()
                            .map(|&group| &*tenant.group_at(group).id)
                            .collect();
                        problems.push(reference(
                            at(format!("{}/via", pointer())),
                            format!(
                                "several groups are named `{via}` (ids {}); write the group's \
                                 object id in `via` to say which one assigned this license",
                                ids.join(", ")
                            ),
                        ));
                        continue;
                    }
                },
            },
        };
        recorded.push(Recorded {
            source,
            product,
            state: entry.state,
            error: entry.error,
        });
    }
    (recorded, problems)
}

fn reference(location: Location, message: String) -> Diagnostic {
    Diagnostic::new(Code::TenantReference, message)
        .with_label(location, "here")
        .with_help("the tenant state must be consistent: re-export it or fix the reference")
}

/// A usage location of the state must be an ISO 3166-1 alpha-2 code, as in the config (JSON state
/// files are not checked against the schema, so this is where both formats are checked).
/// The location is made only for a problem (a million users are checked).
fn check_country(problems: &mut Diagnostics, location: impl FnOnce() -> Location, code: &str) {
    if normalize_country(code).is_none() {
        problems.extend(usage_location_problem(code, location()));
    }
}

/// Object ids and skuIds are GUIDs in Entra (`8-4-4-4-12` hexadecimal digits, any case); an id of
/// another shape means the state was not exported from a tenant, or was edited by hand.
fn check_guid(
    problems: &mut Diagnostics,
    location: impl FnOnce() -> Location,
    what: &str,
    id: &str,
) {
    if !is_guid(id) {
        problems.push(id_format(
            location(),
            format!("the {what} `{id}` is not a GUID"),
        ));
    }
}

/// An object id is a sane name ([`check_name`]) and, if so, a GUID ([`check_guid`]).
fn check_id(problems: &mut Diagnostics, location: impl Fn() -> Location, what: &str, id: &str) {
    if check_name(problems, &location, what, id) {
        check_guid(problems, location, what, id);
    }
}

/// A `tenant-id-format` error at `location`.
fn id_format(location: Location, message: String) -> Diagnostic {
    Diagnostic::new(Code::TenantIdFormat, message)
        .with_label(location, "not a GUID")
        .with_help(
            "Entra object ids are GUIDs such as `62e19b97-8b3d-4d4a-a106-4ce66896a863`: export \
             the state again (`seatplan import graph`), or write the object's id as Entra shows it",
        )
}

/// Ids, UPNs and display names must be non-empty, of sane length, and free of control
/// characters (an escaped NUL or a terminal escape sequence is never part of a real name).
fn check_name(
    problems: &mut Diagnostics,
    location: impl FnOnce() -> Location,
    what: &str,
    name: &str,
) -> bool {
    let problem = if name.trim().is_empty() {
        Some("is empty".to_owned())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!("is longer than {MAX_NAME_CHARS} characters"))
    } else {
        name.chars()
            .find(|c| c.is_control())
            .map(|c| format!("contains the control character U+{:04X}", u32::from(c)))
    };
    if let Some(problem) = problem {
        problems.push(
            Diagnostic::new(Code::InvalidName, format!("a {what} {problem}"))
                .with_label(location(), "here")
                .with_help("the file is corrupted or was edited by hand: export the state again"),
        );
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(yaml: &str) -> TenantState {
        serde_yaml::from_str(yaml).expect("test state parses")
    }

    const TENANT: &str = "
version: 1
tenant: { default_usage_location: us }
subscriptions: [ { sku: ENTERPRISEPACK, enabled: 5 } ]
users:
  - { id: A24A7F55-F278-4D49-8B1F-99C5507800CB, upn: Ann@Contoso.com, proxy_addresses: [SMTP:Ann@Contoso.com] }
  - { id: 1fe2696c-baaf-43d5-8cd4-d466fcfd3331, upn: bob@contoso.com, licenses: [ { sku: EMS } ],
      license_states: [ { sku: ENTERPRISEPACK, via: Staff, state: Active }, { sku: EMS, state: Active } ] }
groups:
  - { id: B9817549-CC54-4B0E-8549-A42A97B94811, display_name: Staff, members: [ann@contoso.com, 1FE2696C-BAAF-43D5-8CD4-D466FCFD3331, a489b30b-66f9-46cb-8b8e-223981661335], licenses: [ { sku: ENTERPRISEPACK, disabled_plans: [SWAY] } ] }
  - { id: a489b30b-66f9-46cb-8b8e-223981661335, display_name: Nested }
";

    #[test]
    fn members_and_recorded_states_resolve_case_insensitively() {
        let catalog = Catalog::builtin();
        let tenant = build(&state(TENANT), catalog, SourceId(0)).expect("consistent");
        let staff = tenant.group_at(GroupIdx(0));
        assert_eq!(staff.members, [UserIdx(0), UserIdx(1)]);
        assert_eq!(staff.member_groups, [GroupIdx(1)]);
        assert_eq!(tenant.user("ANN@contoso.COM"), Some(UserIdx(0)));
        assert_eq!(
            tenant.user("a24a7f55-f278-4d49-8b1f-99c5507800cb"),
            Some(UserIdx(0))
        );
        assert_eq!(tenant.user("ANN@CONTOSO.COM"), Some(UserIdx(0)));
        // "Ann@…" sorts before "bob@…" byte-wise.
        assert_eq!(tenant.upn_ranks(), [0, 1]);
        assert_eq!(ranks(4, |item| ["b", "a", "b", "c"][item]), [1, 0, 1, 2]);
        assert_eq!(tenant.user(&"a".repeat(STACK_KEY + 1)), None);
        assert_eq!(
            tenant.group_by_id("b9817549-cc54-4b0e-8549-a42a97b94811"),
            Some(GroupIdx(0))
        );
        assert_eq!(
            &*tenant.user_at(UserIdx(0)).proxy_addresses[0],
            "smtp:ann@contoso.com"
        );
        assert_eq!(tenant.effective_location(UserIdx(0)), Some("US"));
        let sway = catalog.resolve_plan("SWAY").unwrap();
        let e3 = catalog.resolve_product("ENTERPRISEPACK").unwrap();
        assert!(!staff.licenses[0].enabled.contains(sway));
        assert_eq!(
            staff.licenses[0].enabled.len() + 1,
            catalog.product(e3).plans.len()
        );
        let ems = catalog.resolve_product("EMS").unwrap();
        assert_eq!(
            tenant.user_at(UserIdx(1)).direct[0].enabled,
            catalog
                .product(ems)
                .plans
                .iter()
                .copied()
                .collect::<PlanSet>()
        );
        let recorded = &tenant.user_at(UserIdx(1)).recorded;
        assert_eq!(recorded[0].source, Source::Group(GroupIdx(0)));
        assert_eq!(recorded[1].source, Source::Direct);
        assert_eq!(tenant.seats_of(e3), 5);
    }

    #[test]
    fn every_referential_problem_is_reported_in_file_order() {
        let broken = TENANT
            .replace("upn: bob@contoso.com", "upn: ANN@contoso.com")
            .replace("1FE2696C-BAAF-43D5-8CD4-D466FCFD3331, a489b30b-66f9-46cb-8b8e-223981661335", "1FE2696C-BAAF-43D5-8CD4-D466FCFD3331, a489b30b-66f9-46cb-8b8e-223981661335, carol@contoso.com")
            .replace("via: Staff", "via: Staf")
            .replace("sku: EMS }", "sku: EMZ }");
        let problems = build(&state(&broken), Catalog::builtin(), SourceId(0)).unwrap_err();
        let pointers: Vec<String> = problems
            .0
            .iter()
            .map(|problem| match &problem.labels[0].location {
                Location::Node { pointer, .. } => pointer.clone(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            pointers,
            [
                "/users/1/upn",
                "/users/1/licenses/0/sku",
                "/groups/0/members/3",
                "/users/1/license_states/0/via",
            ],
            "{problems:?}"
        );
    }
}

#[cfg(test)]
mod validation_tests {
    use super::*;
    use crate::tenant::parse::{parse_state, Format};

    fn problems(text: &str, format: Format) -> Vec<(Code, String)> {
        let (state, _) = parse_state(SourceId(0), text, format).unwrap();
        match build(&state, Catalog::builtin(), SourceId(0)) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .0
                .into_iter()
                .map(|problem| (problem.code, problem.message))
                .collect(),
        }
    }

    #[test]
    fn seat_counts_that_would_overflow_are_refused_not_added() {
        let text = r#"{"version": 1, "tenant": {}, "subscriptions": [{"sku": "EMS", "enabled": 10000000000000000000}, {"sku": "EMS", "enabled": 10000000000000000000}]}"#;
        let found = problems(text, Format::Json);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|(code, _)| *code == Code::TooLarge));
        let text = r#"{"version": 1, "tenant": {}, "subscriptions": [{"sku": "EMS", "enabled": 1000000000}, {"sku": "EMS", "enabled": 1000000000}]}"#;
        assert_eq!(problems(text, Format::Json), Vec::new());
    }

    #[test]
    fn ids_of_json_and_yaml_states_are_guids() {
        let json = r#"{"version": 1, "tenant": {"id": "contoso"}, "users": [{"id": "u", "upn": "a@b.c"}],
            "groups": [{"id": "g", "display_name": "G", "members": ["a@b.c", "x"]}]}"#;
        let found = problems(json, Format::Json);
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found.iter().all(|(code, _)| *code == Code::TenantIdFormat));
        let yaml = "version: 1\ntenant: { id: 0A1B2C3D-0000-4000-8000-000000000001 }\nusers:\n  \
            - { id: 0a1b2c3d-0000-4000-8000-000000000002, upn: a@b.c }\ngroups:\n  \
            - { id: 0a1b2c3d-0000-4000-8000-000000000003, display_name: G,\n      \
            members: [a@b.c, 0A1B2C3D-0000-4000-8000-000000000002] }\n";
        assert_eq!(problems(yaml, Format::Yaml), Vec::new());
    }

    #[test]
    fn usage_locations_of_json_and_yaml_states_are_iso_codes() {
        let json = r#"{"version": 1, "tenant": {"default_usage_location": "USA"}, "users": [{"id": "0bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2", "upn": "a@b.c", "usage_location": "XX"}]}"#;
        let found = problems(json, Format::Json);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found
            .iter()
            .all(|(code, _)| *code == Code::InvalidUsageLocation));
        let yaml =
            "version: 1\ntenant: {}\nusers:\n  - { id: 0bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2, upn: a@b.c, usage_location: de }\n";
        assert_eq!(problems(yaml, Format::Yaml), Vec::new());
    }

    #[test]
    fn empty_and_control_character_names_are_refused() {
        let json = r#"{"version": 1, "tenant": {}, "users": [{"id": "", "upn": "a\u0000@b.c"}], "groups": [{"id": "cd0aa985-6147-46c5-84ff-2b7dfee5da20", "display_name": "\u001b[31m"}]}"#;
        let found = problems(json, Format::Json);
        let codes: Vec<_> = found.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, [Code::InvalidName; 3], "{found:?}");
        assert!(found[1].1.contains("U+0000"), "{found:?}");
    }

    #[test]
    fn a_sku_id_must_be_the_products() {
        let yaml = "version: 1\ntenant: {}\nsubscriptions:\n  - { sku: ENTERPRISEPACK, id: efccb6f7-5641-4e0e-bd10-b4976e1bf68e, enabled: 1 }\n";
        let found = problems(yaml, Format::Yaml);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, Code::TenantReference);
        assert!(found[0].1.contains("6fd2c87f"), "{}", found[0].1);
        let yaml = "version: 1\ntenant: {}\nsubscriptions:\n  - { sku: ENTERPRISEPACK, id: 6FD2C87F-B296-42F0-B197-1E91E994B900, enabled: 1 }\n";
        assert_eq!(problems(yaml, Format::Yaml), Vec::new());
    }
}
