//! The desired-configuration types (SPEC §1.1). They derive serde, for reading from the YAML
//! pass's value and for writing YAML, and schemars for `schemas/seatplan.schema.json`; doc
//! comments become the schema's descriptions.
//! Omitted and empty differ everywhere: `None` means "not managed", `Some(vec![])` means "none".

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::catalog::spec::{CatalogAdditions, PlanSpec, ProductSpec};

/// A seatplan desired configuration: which groups exist, how their members are chosen, which
/// products they assign, and which users' usage locations and direct licenses are managed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "seatplan configuration")]
pub struct Config {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// Tenant-wide facts seatplan needs to predict licensing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantSettings>,
    /// Safety settings of the planner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
    /// Where the tenant is read from and applied to: a tenant state file or Microsoft Graph.
    /// `--state FILE` and `--graph` on the command line override it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendSpec>,
    /// Products, service plans and relations missing from the built-in catalog, or overrides of
    /// its usage-location availability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<CatalogAdditions>,
    /// Managed groups, keyed by display name. Tenant groups not listed here are never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<IndexMap<String, GroupSpec>>,
    /// Managed users, keyed by user principal name. Users not listed here are never changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<IndexMap<String, UserSpec>>,
}

/// The backend a config names: `{ file: tenant.yaml }` or `{ graph: { tenant_id, client_id } }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged, deny_unknown_fields)]
pub enum BackendSpec {
    /// A tenant state file.
    File {
        /// The tenant state file (YAML, or JSON when the name ends in `.json`), relative to the
        /// working directory.
        file: String,
    },
    /// Microsoft Graph. The client secret or certificate comes from the environment only
    /// (`SEATPLAN_CLIENT_SECRET` or `SEATPLAN_CLIENT_CERTIFICATE`), never from the config.
    Graph {
        /// The tenant and app registration to connect as.
        graph: GraphBackend,
    },
}

/// The non-secret half of a Graph connection; `SEATPLAN_TENANT_ID` and `SEATPLAN_CLIENT_ID`
/// override these values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphBackend {
    /// The directory (tenant) id or a verified domain of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The application (client) id of the app registration seatplan signs in as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

/// Tenant-wide settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// The tenant's usage location (ISO 3166-1 alpha-2). Users without a usage location inherit it
    /// when licenses are assigned through groups. When omitted, the tenant state's value is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"))]
    pub default_usage_location: Option<String>,
}

/// Planner safety settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Allow plans in which users lose service plans they have today (default `false`). A group's
    /// own `allow_license_loss` overrides it for that group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_license_loss: Option<bool>,
    /// The most license removals a plan may make: a count (`25`) or a share of licensed users
    /// (`"5%"`). Plans above it are rejected unless `--force` is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_license_removals: Option<RemovalLimit>,
}

/// A limit on license removals: an absolute count or a percentage of licensed users.
#[derive(Debug, Clone, Copy, PartialEq, JsonSchema)]
#[schemars(untagged)]
pub enum RemovalLimit {
    /// At most this many (user, product) removals.
    Count(u64),
    /// At most this share of the tenant's licensed users, written as a string like `"5%"`.
    Percent(#[schemars(with = "String", regex(pattern = r"^[0-9]+(\.[0-9]+)?%$"))] f64),
}

impl Serialize for RemovalLimit {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RemovalLimit::Count(count) => serializer.serialize_u64(*count),
            RemovalLimit::Percent(percent) => serializer.serialize_str(&format!("{percent}%")),
        }
    }
}

impl<'de> Deserialize<'de> for RemovalLimit {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Count(count) => Ok(RemovalLimit::Count(count)),
            Raw::Text(text) => parse_percent(&text)
                .map(RemovalLimit::Percent)
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "`{text}` is neither a count nor a percentage like \"5%\""
                    ))
                }),
        }
    }
}

/// Parses `"5%"` or `"12.5%"` into the percentage; `None` for anything else or above 100.
pub fn parse_percent(text: &str) -> Option<f64> {
    let number = text.trim().strip_suffix('%')?.trim();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    (0.0..=100.0).contains(&value).then_some(value)
}

/// Whether a group should exist.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    /// The group exists (created if missing).
    #[default]
    Present,
    /// The group is deleted; its licenses are removed first.
    Absent,
}

/// Whether the service evaluates a dynamic group's rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleProcessing {
    /// Membership follows the rule (`membershipRuleProcessingState: On`).
    #[default]
    On,
    /// Membership is frozen at what the service last computed (`Paused`).
    Paused,
}

/// A managed security group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's object id (GUID), to tell apart groups that share a display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub id: Option<String>,
    /// Free-text description of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the group is a security group (default `true`). Only security groups can hold
    /// licenses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_enabled: Option<bool>,
    /// Dynamic membership rule (Entra's rule language, at most 3,072 characters). Exclusive with
    /// `members`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Whether the service evaluates the rule (`on`) or keeps the current members (`paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_processing: Option<RuleProcessing>,
    /// Static members: users by user principal name, groups by object id or as
    /// `group: <display name>`. The list is the group's whole direct membership, users and
    /// groups. A member group gives its own members no license (group-based licensing applies to
    /// direct user members only). Omitted: membership is not managed; `[]`: no members.
    /// Exclusive with `rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<MemberSpec>>,
    /// Products the group assigns. Omitted: the group's licenses are not managed; `[]`: the group
    /// assigns none (its current licenses are removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<LicenseSpec>>,
    /// Allow this group's changes to take service plans away from users (overrides the setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_license_loss: Option<bool>,
    /// `present` (default) or `absent` to delete the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensure: Option<Ensure>,
}

/// One static member of a group: a user principal name or a group's object id, or a group by
/// display name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MemberSpec {
    /// A user by user principal name, or a group by object id (a GUID; text that is neither is
    /// refused with `tenant-id-format`).
    Name(String),
    /// A group by display name: a group of this config or of the tenant.
    Group(GroupMember),
}

impl MemberSpec {
    /// A user member by user principal name.
    pub fn user(upn: impl Into<String>) -> Self {
        MemberSpec::Name(upn.into())
    }

    /// The name as written: a UPN or object id, or the member group's display name.
    pub fn name(&self) -> &str {
        match self {
            MemberSpec::Name(name) => name,
            MemberSpec::Group(group) => &group.group,
        }
    }
}

/// A member group named by display name (`group: Contractors`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupMember {
    /// The member group's display name: a group of this config, else of the tenant (a name
    /// several tenant groups share is refused; name such a group by its object id).
    pub group: String,
}

/// One product assigned by a group or directly to a user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenseSpec {
    /// The product: its skuPartNumber (`ENTERPRISEPACK`), its GUID, or its exact display name.
    pub sku: String,
    /// Service plans turned off; every other plan of the product, including plans Microsoft adds
    /// later, is on. Exclusive with `enabled_plans`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_plans: Option<Vec<String>>,
    /// Service plans turned on; every other plan, including plans Microsoft adds later, is off.
    /// Exclusive with `disabled_plans`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_plans: Option<Vec<String>>,
}

/// A managed user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user's usage location (ISO 3166-1 alpha-2). Omitted: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z]{2}$"))]
    pub usage_location: Option<String>,
    /// Direct license assignments. Omitted: not managed; `[]`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<Vec<LicenseSpec>>,
}
