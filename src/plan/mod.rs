//! The planner: from a loaded config and the current tenant to a plan — the desired state
//! ([`desired`]), the changes ([`diff`]), the engine's before/after [`impact`] and the safety
//! [`checks`], gathered in a [`document::PlanDocument`]; and the views of the tenant as it is:
//! the licensing [`report`] and what [`reprocess`]ing its errors would do.

pub mod checks;
pub mod desired;
pub mod diff;
pub mod document;
pub mod impact;
pub mod report;
pub mod reprocess;

use jiff::Timestamp;

use crate::catalog::Catalog;
use crate::config::LoadedConfig;
use crate::diag::{Code, Diagnostic, Diagnostics, Location, Severity};
use crate::engine::{self, Mode, Outcome};
use crate::source::SourceId;
use crate::tenant::index::{self, Tenant};
use crate::tenant::membership::{memberships, user_table, Memberships};
use crate::tenant::model::TenantState;

pub use checks::Overrides;
use document::{Action, PlanDocument, Summary, FORMAT_VERSION};

/// What a plan is computed from.
pub struct Inputs<'a> {
    /// The catalog with the config's additions.
    pub catalog: &'a Catalog,
    /// The merged config.
    pub loaded: &'a LoadedConfig,
    /// The current tenant state.
    pub state: &'a TenantState,
    /// The state's source, for diagnostics about it.
    pub state_source: SourceId,
    /// `sha256:…` of the state file.
    pub state_fingerprint: String,
    /// `sha256:…` of the config files.
    pub config_fingerprint: String,
    /// The instant `system.now` means in rules.
    pub now: Timestamp,
    /// Command-line overrides of the safety settings.
    pub overrides: Overrides,
}

/// A computed plan and everything needed to show, save or apply it.
pub struct Planned {
    /// The document (its `diagnostics` field is filled by the caller, which can resolve
    /// locations to lines; see [`Planned::diagnostics`]).
    pub document: PlanDocument,
    /// The checks' findings, with locations in the config.
    pub diagnostics: Vec<Diagnostic>,
    /// The desired state.
    pub desired: desired::Desired,
    /// The desired tenant, indexed.
    pub target: Tenant,
    /// The engine's outcome after the change (what `apply` records as license states).
    pub after: Outcome,
}

/// The current tenant indexed, its memberships and the engine's outcome for it.
pub struct Evaluated {
    /// The indexed tenant.
    pub tenant: Tenant,
    /// Effective memberships.
    pub memberships: Memberships,
    /// The engine's outcome.
    pub outcome: Outcome,
}

/// Indexes a state, evaluates its dynamic groups and runs the engine on it (as the service would
/// leave it once it has processed everything it knows).
pub fn evaluate(catalog: &Catalog, state: &TenantState, source: SourceId, now: Timestamp, mode: Mode) -> Result<Evaluated, Diagnostics> {
    let tenant = index::build(state, catalog, source)?;
    let table = user_table(state);
    let memberships = memberships(&tenant, &table, now);
    let outcome = engine::run(catalog, &tenant, &tenant, &memberships.members, mode);
    Ok(Evaluated { tenant, memberships, outcome })
}

/// Computes the plan. Reference errors (unknown members, ambiguous groups, an inconsistent
/// state) are returned as `Err`; check findings are part of the plan.
pub fn compute(inputs: &Inputs<'_>) -> Result<Planned, Diagnostics> {
    let catalog = inputs.catalog;
    let current = evaluate(catalog, inputs.state, inputs.state_source, inputs.now, Mode::Predict)?;
    let desired = desired::build(inputs.state, inputs.loaded, catalog)?;
    let target = index::build(&desired.state, catalog, inputs.state_source)?;
    let table = user_table(&desired.state);
    let target_memberships = memberships(&target, &table, inputs.now);
    let after = engine::run(catalog, &current.tenant, &target, &target_memberships.members, Mode::Predict);
    let changes = diff::changes(catalog, inputs.state, &desired);
    let changed_groups: Vec<(String, usize)> = desired
        .managed_groups
        .iter()
        .chain(&desired.deleted)
        .filter(|(name, _)| changes.iter().any(|change| change.address == diff::group_address(name)))
        .cloned()
        .collect();
    let impact = impact::impact(
        catalog,
        &current.tenant,
        &target,
        &current.outcome,
        &after,
        &current.memberships.members,
        &target_memberships.members,
        &changed_groups,
    );
    let context = checks::Context {
        catalog,
        loaded: inputs.loaded,
        current_state: inputs.state,
        desired: &desired,
        current: &current.tenant,
        target: &target,
        before: &current.outcome,
        after: &after,
        changes: &changes,
        overrides: inputs.overrides,
    };
    let mut diagnostics = checks::run(&context);
    diagnostics.extend(pending_memberships(&current, inputs.loaded, &desired));
    diagnostics.sort_by_key(|diagnostic| diagnostic.severity);
    let summary = Summary {
        add: changes.iter().filter(|change| change.action == Action::Create).count(),
        change: changes.iter().filter(|change| change.action == Action::Update).count(),
        destroy: changes.iter().filter(|change| change.action == Action::Delete).count(),
        rejected: diagnostics.iter().any(|diagnostic| diagnostic.severity == Severity::Error),
    };
    let document = PlanDocument {
        format_version: FORMAT_VERSION,
        state_fingerprint: inputs.state_fingerprint.clone(),
        config_fingerprint: inputs.config_fingerprint.clone(),
        changes,
        impact,
        diagnostics: Vec::new(),
        summary,
    };
    Ok(Planned { document, diagnostics, desired, target, after })
}

/// Warnings for dynamic groups whose recorded members lag behind their rule: the plan's
/// "before" already counts the rule's result, so these changes are not the plan's doing.
fn pending_memberships(current: &Evaluated, loaded: &LoadedConfig, desired: &desired::Desired) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for pending in &current.memberships.pending {
        let group = current.tenant.group_at(pending.group);
        let upns = |users: &[crate::tenant::index::UserIdx]| {
            let mut names: Vec<&str> = users.iter().take(5).map(|user| &*current.tenant.user_at(*user).upn).collect();
            if users.len() > 5 {
                names.push("…");
            }
            names.join(", ")
        };
        let mut diagnostic = Diagnostic::new(
            Code::MembershipPending,
            format!(
                "dynamic group `{}` has not caught up with its rule: {} to join, {} to leave",
                group.name,
                pending.joining.len(),
                pending.leaving.len()
            ),
        )
        .with_help("Entra is still processing the rule (or processing failed); the plan counts the rule's result as the current membership");
        if !pending.joining.is_empty() {
            diagnostic = diagnostic.with_note(format!("joining: {}", upns(&pending.joining)));
        }
        if !pending.leaving.is_empty() {
            diagnostic = diagnostic.with_note(format!("leaving: {}", upns(&pending.leaving)));
        }
        let managed = desired.managed_groups.iter().find(|(_, index)| *index == pending.group.0 as usize);
        if let Some(location) = managed.and_then(|(name, _)| loaded.group_location(name, "")) {
            let location = match location {
                Location::Node { source, pointer, .. } => Location::key(source, pointer),
                other => other,
            };
            diagnostic = diagnostic.with_label(location, "membership pending");
        }
        diagnostics.push(diagnostic);
    }
    diagnostics
}
