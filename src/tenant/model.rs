//! The tenant-state file types (SPEC §1.2): what `seatplan export`, `apply` and `import graph`
//! write and what every command reads as "the current tenant". They derive serde and schemars for
//! `schemas/tenant.schema.json`. Lists that may be absent in the file default to empty: unlike the
//! desired config, the tenant state is a complete snapshot.

use std::sync::Arc;

use compact_str::CompactString;
use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::RuleProcessing;

/// A snapshot of a tenant: products bought, users and groups with their licenses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "seatplan tenant state")]
pub struct TenantState {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// Tenant-wide facts.
    pub tenant: TenantInfo,
    /// Purchased products and their seat counts.
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    /// Every user of the tenant.
    #[serde(default)]
    pub users: Vec<UserState>,
    /// Every group of the tenant that is licensed, managed, or a member of one.
    #[serde(default)]
    pub groups: Vec<GroupState>,
    /// Where Graph's delta queries continue from: written by `seatplan pull --graph` so that
    /// `pull --refresh` and `plan --snapshot` read only what changed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<DeltaLinks>,
}

/// The `@odata.deltaLink`s of a snapshot read from Graph: opaque URLs Graph gave, valid for about
/// seven days.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeltaLinks {
    /// `/users/delta`: users created, changed or deleted since.
    pub users: String,
    /// `/groups/delta` with `members`: groups and memberships changed since.
    pub groups: String,
}

/// Tenant-wide facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantInfo {
    /// The tenant (directory) id, a GUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The organization's country (`countryLetterCode`): users without a usage location inherit
    /// it for group-based licensing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"))]
    pub default_usage_location: Option<String>,
}

/// `skip_serializing_if` for seat counts that are usually zero.
fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A purchased product (Graph `subscribedSku`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// The product's skuPartNumber (`ENTERPRISEPACK`).
    pub sku: String,
    /// The product's skuId (GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Seats bought and active (`prepaidUnits.enabled`). Consumption is computed from the
    /// assignments.
    pub enabled: u64,
    /// Seats in their grace period (`prepaidUnits.warning`): the subscription expired or was
    /// cancelled, and the seats stay assignable until it is disabled.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warning: u64,
    /// Seats of a disabled subscription (`prepaidUnits.suspended`): they count for nothing.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub suspended: u64,
    /// The seats Graph says are consumed (`consumedUnits`), as read; compared with the engine's
    /// count (`seat-count-drift`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed: Option<u64>,
    /// The product's service plans as Graph reports them for this tenant (`servicePlans`). Plans
    /// that seatplan's catalog does not list for the product are plans Microsoft added since:
    /// groups that assign the product with `disabled_plans` get them switched on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<SubscribedPlan>,
}

/// A service plan of a subscribed product.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribedPlan {
    /// The service plan name (`EXCHANGE_S_ENTERPRISE`).
    pub name: String,
    /// The service plan id (GUID).
    pub id: String,
}

/// A license assignment: a product and the plans switched off in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignedLicense {
    /// The product's skuPartNumber or GUID.
    pub sku: String,
    /// Service plans switched off in this assignment, by name or GUID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_plans: Vec<String>,
}

/// Graph's `licenseAssignmentState.state`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum AssignmentState {
    /// Assigned and working.
    Active,
    /// Assigned, with an error on some plan.
    ActiveWithError,
    /// Assigned but disabled.
    Disabled,
    /// Not assigned because of an error.
    Error,
}

/// The error Entra records on a failed assignment (Graph `licenseAssignmentState.error`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum AssignmentError {
    /// Not enough seats.
    CountViolation,
    /// A plan conflicts with a plan the user already has.
    MutuallyExclusiveViolation,
    /// Removing the plan would leave a dependent plan without its prerequisite.
    DependencyViolation,
    /// A plan is not available in the user's usage location.
    ProhibitedInUsageLocationViolation,
    /// The user shares a proxy address with another user (Exchange).
    UniquenessViolation,
    /// Any other error the service reports.
    Other,
}

/// One entry of a user's `licenseAssignmentStates`: what the service last recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseState {
    /// The product's skuPartNumber or GUID.
    pub sku: String,
    /// The object id (GUID) of the group the assignment comes from (Graph's `assignedByGroup`);
    /// absent for a direct assignment. Older files name the group by display name, still
    /// accepted where the name is unambiguous: a value is looked up as either, never refused for
    /// its shape.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The assignment's state.
    pub state: AssignmentState,
    /// The error, when the state is `Error` or `ActiveWithError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<AssignmentError>,
}

/// One entry of a user's `assignedPlans` (for rules that test `user.assignedPlans`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignedPlan {
    /// The service plan's id (GUID).
    pub service_plan_id: String,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    pub capability_status: String,
    /// The service the plan belongs to (`exchange`, `SharePoint`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A value of a user attribute: Graph properties are strings, booleans, date strings or string
/// lists (`otherMails`).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AttributeValue {
    /// A boolean (`accountEnabled`).
    Bool(bool),
    /// A number, kept as written.
    Number(serde_json::Number),
    /// A string (also dates, in ISO 8601).
    // Kept inline when short (departments, cities, job titles): a million users' attributes then
    // need no allocation of their own.
    String(#[schemars(with = "String")] CompactString),
    /// A list of strings (`otherMails`).
    List(Vec<String>),
}

// Deserialised by a visitor rather than serde's `untagged`, which buffers every value before
// trying each variant: that was the hot spot of loading a large state file.
impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AttributeVisitor)
    }
}

struct AttributeVisitor;

impl<'de> serde::de::Visitor<'de> for AttributeVisitor {
    type Value = AttributeValue;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a string, a boolean, a number or a list of strings")
    }

    fn visit_bool<E>(self, value: bool) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<AttributeValue, E> {
        Ok(AttributeValue::Number(value.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<AttributeValue, E> {
        serde_json::Number::from_f64(value)
            .map(AttributeValue::Number)
            .ok_or_else(|| E::custom("a number must be finite"))
    }

    fn visit_str<E>(self, value: &str) -> Result<AttributeValue, E> {
        Ok(AttributeValue::String(value.into()))
    }

    fn visit_string<E>(self, value: String) -> Result<AttributeValue, E> {
        Ok(AttributeValue::String(value.into()))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut items: A,
    ) -> Result<AttributeValue, A::Error> {
        let mut list = Vec::with_capacity(items.size_hint().unwrap_or(0).min(64));
        while let Some(item) = items.next_element::<String>()? {
            list.push(item);
        }
        Ok(AttributeValue::List(list))
    }
}

/// A user and everything licensing and rules need to know about them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserState {
    /// The user's object id, a GUID (`tenant-id-format` otherwise).
    pub id: String,
    /// The user principal name; config files name users by it.
    pub upn: String,
    /// Usage location (ISO 3166-1 alpha-2); absent users inherit the tenant's for group licenses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_location: Option<String>,
    /// Graph user properties by Graph name (`department`, `accountEnabled`, `extensionAttribute1`,
    /// `otherMails`); rules address them case-insensitively.
    #[serde(default, skip_serializing_if = "Attributes::is_empty")]
    #[schemars(with = "IndexMap<String, AttributeValue>")]
    pub attributes: Attributes,
    /// Proxy addresses (`SMTP:alice@contoso.com`); duplicates across users block Exchange plans.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "compact_vec"
    )]
    pub proxy_addresses: Vec<String>,
    /// Service plans as Graph's `assignedPlans` reports them, for rules on `user.assignedPlans`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assigned_plans: Vec<AssignedPlan>,
    /// Direct license assignments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<AssignedLicense>,
    /// What the service last recorded for each assignment (direct and inherited).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "compact_vec"
    )]
    pub license_states: Vec<LicenseState>,
}

/// A group: its kind, its membership (rule or list) and its licenses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupState {
    /// The group's object id, a GUID (`tenant-id-format` otherwise).
    pub id: String,
    /// The display name; config files name groups by it.
    pub display_name: String,
    /// Free-text description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Security group (only these can hold licenses).
    #[serde(default = "default_true")]
    pub security_enabled: bool,
    /// Mail-enabled (distribution or Microsoft 365 group).
    #[serde(default)]
    pub mail_enabled: bool,
    /// The dynamic membership rule, for dynamic groups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whether the rule is evaluated (`on`) or membership is frozen (`paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_processing: Option<RuleProcessing>,
    /// Direct members: users by UPN or object id, groups by object id; an entry without `@` is an
    /// object id and must be a GUID. For dynamic groups, what the service last computed.
    #[serde(default)]
    pub members: Vec<String>,
    /// Products the group assigns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<AssignedLicense>,
}

/// A user's Graph properties by Graph name, in file order. A short list rather than a map: a user
/// has a dozen, and a hash map per user cost a million-user tenant about a gigabyte. The names
/// and the values are kept apart: users of one export have the same names in the same order, so
/// a state file parsed by [`crate::tenant::parse::parse_state`] shares one list of names among
/// all the users that have it, and each user holds only their values (a third of the memory of
/// a name beside every value). Names are looked up exactly (rules resolve names
/// case-insensitively through the user table). A name given twice in a file is refused: JSON
/// parsers keep the last silently, and the YAML pass rejects duplicates, so both formats agree.
/// Two lists are equal when they have the same names with the same values, in any order.
#[derive(Debug, Clone, Default)]
pub struct Attributes {
    /// The names, in order; `None` for a user without attributes.
    names: Option<Arc<[CompactString]>>,
    /// The value of each name, in the same order.
    values: Box<[AttributeValue]>,
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(name, value)| other.get(name) == Some(value))
    }
}

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Attributes::default()
    }

    fn names(&self) -> &[CompactString] {
        self.names.as_deref().unwrap_or_default()
    }

    /// The value of attribute `name`.
    pub fn get(&self, name: &str) -> Option<&AttributeValue> {
        self.names()
            .iter()
            .position(|key| key == name)
            .map(|position| &self.values[position])
    }

    /// Sets attribute `name`, returning the value it replaces (the attribute keeps its place).
    pub fn insert(
        &mut self,
        name: impl Into<CompactString>,
        value: AttributeValue,
    ) -> Option<AttributeValue> {
        let name = name.into();
        match self.names().iter().position(|key| *key == name) {
            Some(position) => Some(std::mem::replace(&mut self.values[position], value)),
            None => {
                let names: Arc<[CompactString]> =
                    self.names().iter().cloned().chain([name]).collect();
                let mut values = std::mem::take(&mut self.values).into_vec();
                values.push(value);
                self.names = Some(names);
                self.values = values.into_boxed_slice();
                None
            }
        }
    }

    /// The attributes in order, as (name, value).
    pub fn iter(&self) -> AttributeIter<'_> {
        self.names()
            .iter()
            .zip(self.values.iter())
            .map(|(key, value)| (key.as_str(), value))
    }

    /// The attribute names in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.names().iter().map(CompactString::as_str)
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when the user has no attributes.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The iterator of [`Attributes::iter`]: (name, value) in order.
pub type AttributeIter<'a> = std::iter::Map<
    std::iter::Zip<std::slice::Iter<'a, CompactString>, std::slice::Iter<'a, AttributeValue>>,
    fn((&'a CompactString, &'a AttributeValue)) -> (&'a str, &'a AttributeValue),
>;

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'a str, &'a AttributeValue);
    type IntoIter = AttributeIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<K: Into<CompactString>> FromIterator<(K, AttributeValue)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, AttributeValue)>>(items: I) -> Self {
        let mut names: Vec<CompactString> = Vec::new();
        let mut values: Vec<AttributeValue> = Vec::new();
        for (name, value) in items {
            let name = name.into();
            match names.iter().position(|key| *key == name) {
                Some(position) => values[position] = value,
                None => {
                    names.push(name);
                    values.push(value);
                }
            }
        }
        Attributes::from_parts(&names, values)
    }
}

impl Attributes {
    /// The list of `names` (distinct) with their `values`, the names shared with earlier lists
    /// of the same names while a [`SharedNames`] scope is open on this thread.
    fn from_parts(names: &[CompactString], values: Vec<AttributeValue>) -> Attributes {
        if names.is_empty() {
            return Attributes::default();
        }
        let values = exact(values).into_boxed_slice();
        let names = SHARED_NAMES.with(|shared| match shared.borrow_mut().as_mut() {
            Some(shared) => shared.intern(names),
            None => names.into(),
        });
        Attributes {
            names: Some(names),
            values,
        }
    }
}

thread_local! {
    /// The lists of attribute names seen by the parse running on this thread, if any.
    static SHARED_NAMES: std::cell::RefCell<Option<SharedNames>> = const { std::cell::RefCell::new(None) };
}

/// The distinct lists of attribute names of one parse, so that users with the same names share
/// one list. Open while [`SharedNames::scope`] runs; bounded, so that a file with a different list
/// for every user costs what it did before sharing, not a cache of them all.
#[derive(Default)]
pub(crate) struct SharedNames {
    /// The list the previous user had (most users have their neighbour's).
    last: Option<Arc<[CompactString]>>,
    /// Every list seen, up to [`SharedNames::MAX_LISTS`].
    seen: crate::hash::Set<Arc<[CompactString]>>,
}

impl SharedNames {
    /// The most distinct lists of names one parse shares.
    const MAX_LISTS: usize = 4096;

    /// Runs `f` (a parse) with lists of attribute names shared on this thread, and forgets them
    /// afterwards (the parsed users keep theirs).
    pub(crate) fn scope<R>(f: impl FnOnce() -> R) -> R {
        struct Close;
        impl Drop for Close {
            fn drop(&mut self) {
                SHARED_NAMES.with(|shared| shared.borrow_mut().take());
            }
        }
        SHARED_NAMES.with(|shared| *shared.borrow_mut() = Some(SharedNames::default()));
        let _close = Close;
        f()
    }

    fn intern(&mut self, names: &[CompactString]) -> Arc<[CompactString]> {
        if let Some(last) = &self.last {
            if **last == *names {
                return Arc::clone(last);
            }
        }
        let list = match self.seen.get(names) {
            Some(list) => Arc::clone(list),
            None => {
                let list: Arc<[CompactString]> = names.into();
                if self.seen.len() < Self::MAX_LISTS {
                    self.seen.insert(Arc::clone(&list));
                }
                list
            }
        };
        self.last = Some(Arc::clone(&list));
        list
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (name, value) in self {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Unique;
        impl<'de> serde::de::Visitor<'de> for Unique {
            type Value = Attributes;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a map of attribute names to values")
            }

            fn visit_map<A>(self, mut map: A) -> Result<Self::Value, A::Error>
            where
                A: serde::de::MapAccess<'de>,
            {
                let capacity = map.size_hint().unwrap_or(16).min(64);
                let mut names: Vec<CompactString> = Vec::with_capacity(capacity);
                let mut values: Vec<AttributeValue> = Vec::with_capacity(capacity);
                while let Some((name, value)) = map.next_entry::<CompactString, AttributeValue>()? {
                    if names.contains(&name) {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate field `{name}` in attributes"
                        )));
                    }
                    names.push(name);
                    values.push(value);
                }
                Ok(Attributes::from_parts(&names, values))
            }
        }
        deserializer.deserialize_map(Unique)
    }
}

// A million users' lists would otherwise carry the spare capacity of doubling growth: per-user
// collections are shrunk to their size.
/// `list` in a block of exactly its length. `shrink_to_fit` is not enough: mimalloc shrinks in
/// place down to half a block, so a list of 5 grown to 8 would keep the block of 8.
fn exact<T>(mut list: Vec<T>) -> Vec<T> {
    if list.capacity() == list.len() {
        return list;
    }
    let mut exact = Vec::with_capacity(list.len());
    exact.append(&mut list);
    exact
}

fn compact_vec<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    Ok(exact(Vec::<T>::deserialize(deserializer)?))
}

fn default_true() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_of_one_parse_share_their_list_of_names() {
        let user = |id: &str, department: &str| {
            format!(
                r#"{{"id": "{id}", "upn": "{id}@b.c", "attributes": {{"department": "{department}", "city": "Oslo"}}}}"#
            )
        };
        let text = format!(
            "[{}, {}]",
            user("0bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2", "Sales"),
            user("1bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2", "Legal")
        );
        let shared =
            |users: &[UserState]| match (&users[0].attributes.names, &users[1].attributes.names) {
                (Some(first), Some(second)) => Arc::ptr_eq(first, second),
                _ => false,
            };
        let users: Vec<UserState> = SharedNames::scope(|| serde_json::from_str(&text)).unwrap();
        assert!(shared(&users));
        assert_eq!(
            users[1].attributes.get("department"),
            Some(&AttributeValue::String("Legal".into()))
        );
        assert_eq!(
            users[0].attributes.keys().collect::<Vec<_>>(),
            ["department", "city"]
        );
        // Outside a parse's scope each user has a list of their own; the values are the same.
        let alone: Vec<UserState> = serde_json::from_str(&text).unwrap();
        assert!(!shared(&alone));
        assert_eq!(alone, users);
        assert_eq!(
            serde_json::to_string(&alone).unwrap(),
            serde_json::to_string(&users).unwrap()
        );
    }

    #[test]
    fn attributes_insert_replace_and_compare_in_any_order() {
        let mut first = Attributes::new();
        assert!(first.is_empty());
        assert_eq!(first.insert("city", AttributeValue::Bool(true)), None);
        assert_eq!(
            first.insert("department", AttributeValue::String("A".into())),
            None
        );
        assert_eq!(
            first.insert("city", AttributeValue::String("Oslo".into())),
            Some(AttributeValue::Bool(true))
        );
        assert_eq!(first.keys().collect::<Vec<_>>(), ["city", "department"]);
        let second: Attributes = [
            ("department", AttributeValue::String("A".into())),
            ("city", AttributeValue::String("Oslo".into())),
        ]
        .into_iter()
        .collect();
        assert_eq!(first, second);
        assert_eq!(second.len(), 2);
        assert_ne!(first, Attributes::new());
    }

    #[test]
    fn a_parse_with_more_lists_of_names_than_it_shares_still_reads_every_user() {
        let users: Vec<String> = (0..SharedNames::MAX_LISTS + 10)
            .map(|n| format!(r#"{{"id": "x", "upn": "u{n}@b.c", "attributes": {{"a{n}": "v"}}}}"#))
            .collect();
        let text = format!("[{}]", users.join(","));
        let parsed: Vec<UserState> = SharedNames::scope(|| serde_json::from_str(&text)).unwrap();
        assert_eq!(parsed.len(), SharedNames::MAX_LISTS + 10);
        let last = SharedNames::MAX_LISTS + 9;
        assert_eq!(
            parsed[last].attributes.get(&format!("a{last}")),
            Some(&AttributeValue::String("v".into()))
        );
    }

    #[test]
    fn an_attribute_given_twice_is_refused() {
        let text = r#"{"id": "0bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2", "upn": "a@b.c", "attributes": {"department": "A", "department": "B"}}"#;
        let error = serde_json::from_str::<UserState>(text).unwrap_err();
        assert!(
            error.to_string().contains("duplicate field `department`"),
            "{error}"
        );
        let text = r#"{"id": "0bfe935e-70c3-41c7-8a3a-fc75ce0d0ca2", "upn": "a@b.c", "attributes": {"department": "A", "city": "B"}}"#;
        assert_eq!(
            serde_json::from_str::<UserState>(text)
                .unwrap()
                .attributes
                .len(),
            2
        );
    }
}
