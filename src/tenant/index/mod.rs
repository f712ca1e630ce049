//! The in-memory tenant: users in a dense vector indexed by [`UserIdx`], groups by [`GroupIdx`],
//! products and plans resolved against the catalog, members resolved to indexes. Built once from a
//! [`TenantState`]; referential problems (a member that does not exist, an unknown SKU, two users
//! with one UPN) are diagnostics pointing at the state file, never panics.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::BuildHasher;
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

mod build;

pub use build::{build, resolve_license};

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
    sharing_proxy: Set<UserIdx>,
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
    /// mailbox; addresses compare case-insensitively): found when the tenant is indexed, and
    /// shared like [`Tenant::upn_ranks`] with every tenant derived from this one (a desired
    /// state never changes proxy addresses).
    pub fn users_sharing_a_proxy_address(&self) -> &Set<UserIdx> {
        &self.by_user.sharing_proxy
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

/// The rank of each of `count` items ordered by `key` (byte-wise): items with equal keys share a
/// rank. Comparing ranks orders items as comparing their keys would, with integers.
///
/// Items are sorted by their key's first eight bytes as one integer, and by the whole key only
/// where those are equal: most comparisons of a million UPNs then read no string at all (each
/// string comparison followed two pointers to memory that is rarely in the cache).
pub fn ranks<'a>(count: usize, key: impl Fn(usize) -> &'a str + Sync) -> Vec<u32> {
    let mut order: Vec<(u64, u32)> = (0..count as u32)
        .into_par_iter()
        .map(|item| (prefix(key(item as usize)), item))
        .collect();
    order.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| key(a.1 as usize).cmp(key(b.1 as usize)))
    });
    let mut ranks = vec![0; count];
    let mut rank = 0;
    for (position, &(start, item)) in order.iter().enumerate() {
        if position > 0 {
            let (previous_start, previous) = order[position - 1];
            if previous_start != start || key(previous as usize) != key(item as usize) {
                rank += 1;
            }
        }
        ranks[item as usize] = rank;
    }
    ranks
}

/// The first eight bytes of `text` as a big-endian integer, padded with zeros: integers compare
/// as the texts' beginnings do byte-wise (a text shorter than eight bytes sorts before the texts
/// it begins; a tie needs the whole texts).
fn prefix(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut start = [0u8; 8];
    let length = bytes.len().min(8);
    start[..length].copy_from_slice(&bytes[..length]);
    u64::from_be_bytes(start)
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
        // Keys that share their first eight bytes, or are shorter than eight, or begin others.
        let keys = [
            "abcdefghj",
            "abcdefghi",
            "abc",
            "ab",
            "abcdefgh",
            "abcdefghi",
            "",
            "b",
        ];
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let expected: Vec<u32> = keys
            .iter()
            .map(|key| sorted.iter().position(|other| other == key).unwrap() as u32)
            .collect();
        assert_eq!(ranks(keys.len(), |item| keys[item]), expected);
        assert_eq!(tenant.user(&"a".repeat(STACK_KEY + 1)), None);
        assert_eq!(
            tenant.group_by_id("b9817549-cc54-4b0e-8549-a42a97b94811"),
            Some(GroupIdx(0))
        );
        assert!(tenant.users_sharing_a_proxy_address().is_empty());
        let shared = TENANT.replace(
            "upn: bob@contoso.com,",
            "upn: bob@contoso.com, proxy_addresses: [smtp:x@y.z, SMTP:ANN@contoso.COM],",
        );
        let tenant = build(&state(&shared), catalog, SourceId(0)).expect("consistent");
        assert_eq!(
            tenant.users_sharing_a_proxy_address(),
            &Set::from_iter([UserIdx(0), UserIdx(1)])
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

    #[test]
    fn a_group_holds_a_product_once_and_is_not_its_own_member() {
        let yaml = "version: 1\ntenant: {}\ngroups:\n  - { id: cd0aa985-6147-46c5-84ff-2b7dfee5da20, display_name: E3, \
                    members: [CD0AA985-6147-46C5-84FF-2B7DFEE5DA20], licenses: [{ sku: ENTERPRISEPACK }, \
                    { sku: 6fd2c87f-b296-42f0-b197-1e91e994b900, disabled_plans: [SWAY] }] }\n";
        let found = problems(yaml, Format::Yaml);
        let codes: Vec<_> = found.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes, [Code::TenantReference; 2], "{found:?}");
        assert!(
            found
                .iter()
                .any(|(_, message)| message.contains("listed twice")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|(_, message)| message.contains("lists itself")),
            "{found:?}"
        );
    }

    #[test]
    fn a_state_in_error_says_which_error() {
        let yaml = "version: 1\ntenant: {}\nusers:\n  - { id: 0bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2, upn: a@b.c, \
                    license_states: [{ sku: ENTERPRISEPACK, state: Error }] }\n";
        let found = problems(yaml, Format::Yaml);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].0, Code::TenantReference);
        assert!(found[0].1.contains("without an `error`"), "{found:?}");
        let yaml = yaml.replace("state: Error", "state: Error, error: CountViolation");
        assert_eq!(problems(&yaml, Format::Yaml), Vec::new());
    }
}
