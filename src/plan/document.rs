//! The plan as a document: plain data that is printed as JSON, saved as a plan file, and rendered
//! as text or Markdown. The human views render from this same document, so they never disagree
//! with the machine output. `format_version` is bumped on any incompatible change.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Code, Diagnostic};

/// The version of the plan document format this seatplan writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// A complete plan: what changes, what it does to users, seats and groups, and what the checks
/// found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// The service calls that make the changes, in the order they are made (both backends
    /// execute exactly these; the prediction simulates them in this order). Left out when empty
    /// (no changes), so that plan files written before steps were recorded keep their checksum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepDoc>,
    /// What the changes do.
    pub impact: Impact,
    /// Findings of the checks; errors reject the plan.
    #[schemars(with = "Vec<DiagnosticRecord>")]
    pub diagnostics: Vec<serde_json::Value>,
    /// Counts and the verdict.
    pub summary: Summary,
    /// Fingerprints of the objects the plan's decisions read (see [`super::dependencies`]).
    #[serde(default)]
    pub depends_on: super::dependencies::Dependencies,
    /// `sha256:<hex>` of the rest of the document as seatplan wrote it ([`PlanDocument::seal`]):
    /// an edited plan file no longer matches it. A check against accidents and hand edits, not
    /// a signature.
    #[serde(default)]
    pub checksum: String,
}

/// One service call of a plan, as the plan document shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDoc {
    /// The Graph call: `createGroup`, `updateGroup`, `addMember`, `removeMember`, `updateUser`,
    /// `assignLicense`, `deleteGroup` or `reprocessLicenseAssignment`.
    pub call: String,
    /// The address of the group or user it acts on (`group["Sales - E3"]`).
    pub target: String,
    /// Products added (skuPartNumber), for `assignLicense`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Products removed, for `assignLicense`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
    /// The user added or removed as a member (UPN).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// The group added or removed as a member (display name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_group: Option<String>,
    /// Properties set, for `createGroup`, `updateGroup` and `updateUser` (Graph names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<serde_json::Map<String, serde_json::Value>>,
}

impl StepDoc {
    /// One line for people: `assignLicense group["E3"] +ENTERPRISEPACK -STANDARDPACK`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.call.clone(), self.target.clone()];
        parts.extend(self.add.iter().map(|sku| format!("+{sku}")));
        parts.extend(self.remove.iter().map(|sku| format!("-{sku}")));
        parts.extend(self.member.clone());
        parts.extend(self.member_group.iter().map(|name| format!("group {name}")));
        if let Some(set) = &self.set {
            parts.extend(set.iter().map(|(key, value)| format!("{key}={value}")));
        }
        parts.join(" ")
    }
}

/// How two plans' steps differ, as a diff of their one-line descriptions: the calls only one of
/// them makes, or made in another order.
fn step_differences(saved: &[StepDoc], now: &[StepDoc]) -> Vec<String> {
    let saved: Vec<String> = saved.iter().map(StepDoc::describe).collect();
    let now: Vec<String> = now.iter().map(StepDoc::describe).collect();
    let diff = similar::capture_diff_slices(similar::Algorithm::Myers, &saved, &now);
    let mut lines = Vec::new();
    for op in diff {
        for change in op.iter_changes(&saved, &now) {
            match change.tag() {
                similar::ChangeTag::Delete => lines.push(format!(
                    "step {}: `{}` in the saved plan, not in the plan now",
                    change.old_index().map_or(0, |index| index + 1),
                    change.value()
                )),
                similar::ChangeTag::Insert => lines.push(format!(
                    "step {}: `{}` in the plan now, not in the saved plan",
                    change.new_index().map_or(0, |index| index + 1),
                    change.value()
                )),
                similar::ChangeTag::Equal => {}
            }
        }
    }
    lines
}

/// The kind of a change, printed as its Terraform-like symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Op {
    /// Create a security group.
    CreateGroup {
        /// Display name.
        display_name: String,
        /// Security-enabled flag.
        security_enabled: bool,
    },
    /// Rename the group (its `displayName`).
    SetDisplayName {
        /// Before.
        before: String,
        /// After.
        after: String,
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
        /// Member groups (their own members receive no license through the group).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<MemberGroupRef>,
    },
    /// Remove static members.
    RemoveMembers {
        /// UPNs.
        users: Vec<String>,
        /// Member groups.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        groups: Vec<MemberGroupRef>,
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

/// A group that is, or becomes, a member of another group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberGroupRef {
    /// The member group's display name.
    pub name: String,
    /// Its object id; absent for a group the same plan creates (known once it is created).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// What the plan does to users, seats and groups.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
    /// The products behind the change: gained, changed and lost, each with where it comes from
    /// and the service plans it brings or takes.
    #[serde(default)]
    pub products: Vec<ProductImpact>,
    /// Assignment errors before (`SKU via group: Error`).
    pub errors_before: Vec<String>,
    /// Assignment errors after.
    pub errors_after: Vec<String>,
}

/// How a product of one user changes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProductChangeKind {
    /// The user gets the product.
    Gained,
    /// The user keeps the product, with other plans or from other sources.
    Changed,
    /// The user no longer has the product.
    Lost,
}

/// Where a user's product comes from: assigned directly or inherited from a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LicenseSource {
    /// Assigned to the user directly.
    Direct,
    /// Inherited from a group the user is a member of.
    Group {
        /// The group's display name.
        group: String,
    },
}

impl std::fmt::Display for LicenseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LicenseSource::Direct => f.write_str("direct"),
            LicenseSource::Group { group } => write!(f, "{group:?}"),
        }
    }
}

/// One product a user gains, keeps with changes, or loses, with the service plans behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductImpact {
    /// The product's skuPartNumber.
    pub sku: String,
    /// The product's display name (`Office 365 E3`).
    pub name: String,
    /// Gained, changed or lost.
    pub change: ProductChangeKind,
    /// Where the product comes from: after the change, or before it for a lost product.
    pub sources: Vec<LicenseSource>,
    /// Where a changed product came from before, when that differs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources_before: Vec<LicenseSource>,
    /// Service plans the user gains through this product.
    #[serde(default)]
    pub plans_gained: Vec<String>,
    /// Service plans the user loses with this product (plans another product keeps providing,
    /// and upgrades, excepted).
    #[serde(default)]
    pub plans_lost: Vec<String>,
}

/// Seats of one product before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

    /// How this (saved) plan differs from `other`: one line per differing change, in address
    /// order, then one per step that only one of them has or has elsewhere in its order; empty
    /// when they make the same calls in the same order.
    pub fn differences(&self, other: &PlanDocument) -> Vec<String> {
        use std::collections::BTreeMap;
        let by_address = |document: &'_ PlanDocument| -> BTreeMap<String, Change> {
            document
                .changes
                .iter()
                .map(|change| (change.address.clone(), change.clone()))
                .collect()
        };
        let (saved, now) = (by_address(self), by_address(other));
        let ops = |change: &Change| {
            let text = serde_json::to_string(&change.ops).unwrap_or_default();
            if text.chars().count() > 200 {
                text.chars().take(200).collect::<String>() + "…"
            } else {
                text
            }
        };
        let mut lines = Vec::new();
        for (address, change) in &saved {
            match now.get(address) {
                None => lines.push(format!("{address}: in the saved plan, not in the plan now")),
                Some(current) if current == change => {}
                Some(current) if current.action != change.action || current.id != change.id => {
                    lines.push(format!(
                        "{address}: saved as {:?} of {}, now {:?} of {}",
                        change.action,
                        change.id.as_deref().unwrap_or("a new group"),
                        current.action,
                        current.id.as_deref().unwrap_or("a new group")
                    ));
                }
                Some(current) => lines.push(format!(
                    "{address}: saved {} now {}",
                    ops(change),
                    ops(current)
                )),
            }
        }
        for address in now.keys().filter(|address| !saved.contains_key(*address)) {
            lines.push(format!("{address}: in the plan now, not in the saved plan"));
        }
        if self.steps != other.steps {
            lines.extend(step_differences(&self.steps, &other.steps));
        }
        lines
    }

    /// The checksum of the document with its `checksum` field empty.
    fn computed_checksum(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut unsealed = self.clone();
        unsealed.checksum = String::new();
        let json = serde_json::to_vec(&unsealed).unwrap_or_default();
        let hex: String = Sha256::digest(&json)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("sha256:{hex}")
    }

    /// Records the checksum of the document as it is now (after its diagnostics are filled in).
    pub fn seal(&mut self) {
        self.checksum = self.computed_checksum();
    }

    /// Whether the document is the one [`PlanDocument::seal`] sealed, unedited.
    pub fn is_sealed(&self) -> bool {
        !self.checksum.is_empty() && self.checksum == self.computed_checksum()
    }
}

/// Checks the text of a plan file named `name` in diagnostics: JSON of a known `format_version`.
pub fn parse_plan(text: &str, name: &str) -> Result<PlanDocument, Diagnostic> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|error| {
        Diagnostic::new(
            Code::PlanFile,
            format!("`{name}` is not a plan file: {error}"),
        )
        .with_help("plan files are written by `seatplan plan -o PLANFILE`; do not edit them")
    })?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(Diagnostic::new(
            Code::PlanFile,
            format!(
                "`{name}` has format_version {}; this seatplan reads version {FORMAT_VERSION}",
                version.map_or("(none)".to_string(), |version| version.to_string())
            ),
        )
        .with_help("make the plan again with this seatplan (`seatplan plan -o PLANFILE`)"));
    }
    // Typed from the text, not from the tree: a tree keeps the last of duplicated keys silently,
    // so a hand-edited plan could show one fingerprint and hide another.
    let document: PlanDocument = serde_json::from_str(text).map_err(|error| {
        Diagnostic::new(
            Code::PlanFile,
            format!("`{name}` is not a valid plan: {error}"),
        )
        .with_help("plan files are written by `seatplan plan -o PLANFILE`; do not edit them")
    })?;
    if !document.is_sealed() {
        return Err(Diagnostic::new(
            Code::PlanFile,
            format!(
                "`{name}` was edited after `seatplan plan` wrote it: its content no longer matches its checksum"
            ),
        )
        .with_help("plan files must be applied as written; make the plan again with `seatplan plan -o PLANFILE`"));
    }
    Ok(document)
}

/// The JSON schema of the plan document (`schemas/plan.schema.json`): what `plan --format json`
/// prints and `plan -o` saves. Unlike the input schemas it keeps `null` for optional values: a
/// plan writes `"before": null` for a description or usage location that was not set.
pub fn plan_schema() -> serde_json::Value {
    crate::schema::with_id(
        serde_json::to_value(schemars::schema_for!(PlanDocument))
            .unwrap_or(serde_json::Value::Null),
        "plan",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_in_another_order_are_a_difference() {
        let step = |call: &str, target: &str| StepDoc {
            call: call.into(),
            target: target.into(),
            add: Vec::new(),
            remove: Vec::new(),
            member: None,
            member_group: None,
            set: None,
        };
        let saved = [
            step("addMember", "group[\"A\"]"),
            step("assignLicense", "group[\"A\"]"),
        ];
        let now = [
            step("assignLicense", "group[\"A\"]"),
            step("addMember", "group[\"A\"]"),
        ];
        assert!(step_differences(&saved, &saved).is_empty());
        let lines = step_differences(&saved, &now);
        assert!(!lines.is_empty());
        assert!(
            lines
                .iter()
                .any(|line| line.contains("in the saved plan, not in the plan now")),
            "{lines:?}"
        );
        let fewer = step_differences(&saved, &saved[..1]);
        assert_eq!(
            fewer,
            ["step 2: `assignLicense group[\"A\"]` in the saved plan, not in the plan now"]
        );
    }

    #[test]
    fn a_sealed_document_detects_any_edit() {
        let mut document = PlanDocument {
            format_version: FORMAT_VERSION,
            state_fingerprint: "sha256:1".into(),
            config_fingerprint: "sha256:2".into(),
            changes: Vec::new(),
            steps: Vec::new(),
            impact: Impact::default(),
            diagnostics: Vec::new(),
            summary: Summary::default(),
            depends_on: Default::default(),
            checksum: String::new(),
        };
        assert!(!document.is_sealed(), "never sealed");
        document.seal();
        assert!(document.is_sealed());
        let text = serde_json::to_string(&document).unwrap();
        let read: PlanDocument = serde_json::from_str(&text).unwrap();
        assert!(read.is_sealed(), "a round trip keeps the seal");
        let mut edited = read.clone();
        edited.summary.add = 1;
        assert!(!edited.is_sealed());
        let mut edited = read;
        edited
            .depends_on
            .insert("user:u1".into(), "sha256:0".into());
        assert!(!edited.is_sealed());
    }
}

/// The shape of a diagnostic in a plan document (and in `--format json` error documents): what
/// `seatplan::render::diagnostics::to_json` writes. Only for the plan's JSON schema; plans keep
/// diagnostics as JSON values.
#[derive(Debug, Clone, JsonSchema)]
pub struct DiagnosticRecord {
    /// The stable code (`license-loss`), printed as `seatplan::<code>`.
    pub code: String,
    /// `error`, `warning` or `note`.
    pub severity: String,
    /// What is wrong.
    pub message: String,
    /// The file of the first label, when the diagnostic points at one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Its 1-based column, in characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// What to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// Further lines: the users, groups or products concerned.
    pub notes: Vec<String>,
    /// Every place the diagnostic points at.
    pub labels: Vec<LabelRecord>,
}

/// One place a diagnostic points at (see [`DiagnosticRecord`]).
#[derive(Debug, Clone, JsonSchema)]
pub struct LabelRecord {
    /// The file, as named on the command line.
    pub file: String,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// What the label says.
    pub message: String,
}
