//! The plan as a document: plain data that is printed as JSON, saved as a plan file, and rendered
//! as text or Markdown. The human views render from this same document, so they never disagree
//! with the machine output. `format_version` is bumped on any incompatible change.

use serde::{Deserialize, Serialize};

/// The version of the plan document format this seatplan writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A complete plan: what changes, what it does to users, seats and groups, and what the checks
/// found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    /// Version of this format (see [`FORMAT_VERSION`]).
    pub format_version: u32,
    /// `sha256:<hex>` of the tenant state the plan was computed against.
    pub state_fingerprint: String,
    /// `sha256:<hex>` of the config files the plan was computed from.
    pub config_fingerprint: String,
    /// The changes, groups first (by name), then users (by UPN).
    pub changes: Vec<Change>,
    /// What the changes do.
    pub impact: Impact,
    /// Findings of the checks; errors reject the plan.
    pub diagnostics: Vec<serde_json::Value>,
    /// Counts and the verdict.
    pub summary: Summary,
}

/// The kind of a change, printed as its Terraform-like symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A group is created (`+`).
    Create,
    /// Something is changed in place (`~`).
    Update,
    /// A group is deleted (`-`).
    Delete,
}

impl Action {
    /// The symbol shown in front of the change.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        }
    }

    /// The verb used in summaries ("will be created").
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "created",
            Action::Update => "updated in place",
            Action::Delete => "destroyed",
        }
    }
}

/// One addressed change with its operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// `group["Sales - E3"]` or `user["alice@contoso.com"]`.
    pub address: String,
    /// Create, update or delete.
    pub action: Action,
    /// The group's object id, when it exists in the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is done, in the order a backend applies it.
    pub ops: Vec<Op>,
}

/// A license as operations name it: product and the plans switched off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenseRef {
    /// The product's skuPartNumber.
    pub sku: String,
    /// The product's skuId.
    pub sku_id: String,
    /// Service plans switched off, by name.
    #[serde(default)]
    pub disabled_plans: Vec<String>,
    /// Service plans switched on, by name (the complement, for people reading the plan).
    #[serde(default)]
    pub enabled_plans: Vec<String>,
}

/// One operation of a change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// Create a security group.
    CreateGroup {
        /// Display name.
        display_name: String,
        /// Security-enabled flag.
        security_enabled: bool,
    },
    /// Change the description.
    SetDescription {
        /// Before.
        before: Option<String>,
        /// After.
        after: Option<String>,
    },
    /// Change the security flag.
    SetSecurityEnabled {
        /// Before.
        before: bool,
        /// After.
        after: bool,
    },
    /// Set, change or remove the dynamic membership rule.
    SetRule {
        /// Rule before (absent for a static group).
        before: Option<String>,
        /// Rule after (absent when the group becomes static).
        after: Option<String>,
    },
    /// Turn rule processing on or off.
    SetRuleProcessing {
        /// Before (`on`/`paused`).
        before: Option<String>,
        /// After.
        after: String,
    },
    /// Add static members.
    AddMembers {
        /// UPNs.
        users: Vec<String>,
    },
    /// Remove static members.
    RemoveMembers {
        /// UPNs.
        users: Vec<String>,
    },
    /// Assign a product.
    AddLicense {
        /// The product and its disabled plans.
        license: LicenseRef,
    },
    /// Change which plans of an assigned product are on.
    UpdateLicensePlans {
        /// The product and its disabled plans after the change.
        license: LicenseRef,
        /// Plans switched on by the change.
        enable: Vec<String>,
        /// Plans switched off by the change.
        disable: Vec<String>,
    },
    /// Unassign a product.
    RemoveLicense {
        /// The product's skuPartNumber.
        sku: String,
        /// The product's skuId.
        sku_id: String,
    },
    /// Replace products in one atomic `assignLicense` call (nobody loses service in between).
    Migrate {
        /// Products removed.
        remove: Vec<LicenseRef>,
        /// Products added.
        add: Vec<LicenseRef>,
    },
    /// Set a user's usage location.
    SetUsageLocation {
        /// Before.
        before: Option<String>,
        /// After.
        after: String,
    },
    /// Delete the group (after its licenses are removed).
    DeleteGroup,
}

/// What the plan does to users, seats and groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Impact {
    /// Users whose effective plans or error states change, by UPN.
    pub users: Vec<UserImpact>,
    /// Seats per product that is bought or assigned.
    pub seats: Vec<SeatImpact>,
    /// Membership changes per changed group.
    pub groups: Vec<GroupImpact>,
}

/// One user's change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserImpact {
    /// UPN.
    pub user: String,
    /// Service plans gained.
    pub gains: Vec<String>,
    /// Service plans lost.
    pub loses: Vec<String>,
    /// Service plans replaced by a plan that supersedes them (not losses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgraded: Vec<String>,
    /// Assignment errors before (`SKU via group: Error`).
    pub errors_before: Vec<String>,
    /// Assignment errors after.
    pub errors_after: Vec<String>,
}

/// Seats of one product before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatImpact {
    /// skuPartNumber.
    pub sku: String,
    /// Seats bought.
    pub enabled: u64,
    /// Consumed before.
    pub before: u64,
    /// Consumed after.
    pub after: u64,
}

/// Members joining and leaving one group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupImpact {
    /// Display name.
    pub group: String,
    /// How many users join.
    pub joining: usize,
    /// How many users leave.
    pub leaving: usize,
    /// The joining users' UPNs.
    pub joiners: Vec<String>,
    /// The leaving users' UPNs.
    pub leavers: Vec<String>,
}

/// Counts and verdict, as in "Plan: 1 to add, 2 to change, 0 to destroy."
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Changes that create.
    pub add: usize,
    /// Changes that update in place.
    pub change: usize,
    /// Changes that delete.
    pub destroy: usize,
    /// True when an error-level check rejects the plan.
    pub rejected: bool,
}

impl PlanDocument {
    /// True when the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}
