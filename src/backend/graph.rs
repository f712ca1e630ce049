//! [`GraphBackend`]: the [`Backend`] over Microsoft Graph. Reading maps the live tenant into a
//! tenant state; its fingerprint is the sha256 of the state's canonical JSON (object keys
//! sorted). Applying runs the steps of [`crate::plan::steps`] one call at a time and stops at the
//! first failure; each step is idempotent or checked (adding a member who is one, removing one
//! who is not, deleting a group that is gone count as done; a group is created at most once,
//! recognised by its `mailNickname`), and calls on an object this apply created or changed wait
//! out Entra's replication delay, so running `plan` and `apply` again after a failure or a kill
//! finishes what remains.
//! Afterwards it polls the touched groups' `licenseProcessingState` (bounded) and reads the
//! tenant again to report the assignments the service records in error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use super::file::{write_state, StateFile};
use super::tenant_file::users_in_error;
use super::{
    processing_summary, ApplyContext, ApplyReport, Backend, ChangeOutcome, ChangeResult,
    CurrentState,
};
use crate::diag::Diagnostics;
use crate::graph::{
    group_nickname, GraphClient, GraphError, GraphErrorKind, GraphSettings, GroupPatch,
    LicenseProcessing, Method, NewGroup, UserProperties,
};
use crate::plan::steps::{self, Action, MemberGroup, Step, Target};
use crate::source::Sources;
use crate::tenant::model::AssignmentState;
use crate::tenant::parse::MAX_POINTER_INDEXED;
use crate::tenant::TenantState;

/// How long to wait for the service to process the touched groups' licenses after an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollPolicy {
    /// Most checks of each group's processing state.
    pub attempts: u32,
    /// The wait between two checks.
    pub interval: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy {
            attempts: 10,
            interval: Duration::from_secs(6),
        }
    }
}

/// A live tenant behind Microsoft Graph.
pub struct GraphBackend {
    client: GraphClient,
    member_groups: Vec<String>,
    poll: PollPolicy,
    text: Option<String>,
    snapshot: Option<PathBuf>,
    notes: Vec<String>,
    users: UserProperties,
}

/// Brings the snapshot file at `path` up to date through `client` (delta queries; a full read
/// when the file does not exist yet or the changes alone cannot give the tenant) and writes it
/// atomically to `output` (the same file unless given). Returns the tenant (with its new delta
/// links) and a line saying what was read.
pub fn refresh_snapshot_file(
    client: &GraphClient,
    path: &Path,
    output: Option<&Path>,
    sources: &mut Sources,
) -> Result<(TenantState, String), Diagnostics> {
    let (state, note) = if path.exists() {
        // The snapshot is rewritten: its fingerprint is never needed.
        let snapshot = StateFile::read(path)
            .map_err(Diagnostics::from)?
            .into_state(sources)?;
        let refreshed = client.refresh_snapshot(snapshot)?;
        let note = match &refreshed.full_read {
            None => format!(
                "Refreshed the snapshot {} from Graph's delta queries: {} users read again, \
                 {} requests.",
                path.display(),
                refreshed.users_read,
                client.budget().spent().1
            ),
            Some(reason) => format!(
                "Read the whole tenant into the snapshot {}: {reason}.",
                path.display()
            ),
        };
        (refreshed.state, note)
    } else {
        let state = client.read_snapshot()?;
        let note = format!(
            "Read the whole tenant into the new snapshot {} ({} users).",
            path.display(),
            state.users.len()
        );
        (state, note)
    };
    write_state(output.unwrap_or(path), &state).map_err(Diagnostics::from)?;
    Ok((state, note))
}

impl GraphBackend {
    /// A backend connecting with `settings`; the members of `member_groups` (display names or
    /// ids, such as the config's groups) are read besides those of every licensed group.
    pub fn new(settings: GraphSettings, member_groups: Vec<String>, poll: PollPolicy) -> Self {
        GraphBackend {
            client: GraphClient::new(settings),
            member_groups,
            poll,
            text: None,
            snapshot: None,
            notes: Vec::new(),
            users: UserProperties::All,
        }
    }

    /// Reads of users ask only for what the licensing engine, the checks and the rules read:
    /// `rules` (the config's rule texts) and the rules of the tenant's groups
    /// ([`UserProperties::ForRules`]). Without it every property is read. A snapshot is always
    /// read whole (it serves configs not written yet).
    pub fn with_rules(mut self, rules: Vec<String>) -> Self {
        self.users = UserProperties::ForRules(rules);
        self
    }

    /// Keeps the tenant in the snapshot file `path`, refreshed by delta queries on each read
    /// ([`refresh_snapshot_file`]); the snapshot holds every group's members.
    pub fn with_snapshot(mut self, path: PathBuf) -> Self {
        self.snapshot = Some(path);
        self
    }

    /// Shows a progress spinner on stderr while the tenant is read (for a terminal).
    pub fn with_progress(mut self) -> Self {
        self.client = self.client.with_progress();
        self
    }

    /// Runs one step; `group_ids` holds the group id of each change (created ones once made).
    /// Calls on an object this apply created or changed wait out Entra's replication delay.
    fn run(
        &self,
        step: &Step,
        group_ids: &mut [Option<String>],
        fresh: &mut Fresh,
    ) -> Result<(), GraphError> {
        let fresh_group = fresh.groups.contains(&step.change);
        let fresh_user = matches!(&step.target, Target::User(user) if fresh.users.contains(user));
        let result = self.run_once(step, group_ids, fresh);
        match result {
            Err(error)
                if (fresh_group || fresh_user)
                    && (error.status == Some(404) || (fresh_user && location_pending(&error))) =>
            {
                self.client
                    .settle(location_pending, || self.run_once(step, group_ids, fresh))
            }
            other => other,
        }
    }

    /// One attempt at a step (see [`GraphBackend::run`]).
    fn run_once(
        &self,
        step: &Step,
        group_ids: &mut [Option<String>],
        fresh: &mut Fresh,
    ) -> Result<(), GraphError> {
        let client = &self.client;
        let group = || -> Result<String, GraphError> {
            group_ids[step.change].clone().ok_or_else(|| {
                GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    step.describe(),
                    "the group has no id (its creation did not return one)",
                )
            })
        };
        match (&step.action, &step.target) {
            (
                Action::CreateGroup {
                    display_name,
                    description,
                    security_enabled,
                    rule,
                },
                _,
            ) => {
                let (created, _adopted) = client.create_group_once(&NewGroup {
                    display_name: display_name.clone(),
                    description: description.clone(),
                    mail_enabled: false,
                    mail_nickname: group_nickname(display_name),
                    security_enabled: *security_enabled,
                    group_types: if rule.is_some() {
                        vec!["DynamicMembership".to_string()]
                    } else {
                        Vec::new()
                    },
                    membership_rule: rule.clone(),
                    membership_rule_processing_state: rule.as_ref().map(|_| "On".to_string()),
                })?;
                group_ids[step.change] = Some(created.id);
                fresh.groups.push(step.change);
                Ok(())
            }
            (Action::SetDescription(description), _) => {
                self.patch_group(&group()?, &json!({ "description": description }))
            }
            (Action::SetDisplayName(name), _) => {
                self.patch_group(&group()?, &json!({ "displayName": name }))
            }
            (Action::SetSecurityEnabled(enabled), _) => {
                self.patch_group(&group()?, &json!({ "securityEnabled": enabled }))
            }
            (Action::SetRuleProcessing(state), _) => client.update_group(
                &group()?,
                &GroupPatch {
                    membership_rule_processing_state: Some(state.clone()),
                    ..GroupPatch::default()
                },
            ),
            (Action::SetRule(rule), _) => {
                let id = group()?;
                let mut types = self.group_types(&id)?;
                let dynamic = types.iter().any(|kind| kind == "DynamicMembership");
                let patch = match rule {
                    Some(rule) if dynamic => GroupPatch {
                        membership_rule: Some(rule.clone()),
                        ..GroupPatch::default()
                    },
                    Some(rule) => {
                        types.push("DynamicMembership".to_string());
                        GroupPatch {
                            membership_rule: Some(rule.clone()),
                            membership_rule_processing_state: Some("On".to_string()),
                            group_types: Some(types),
                            ..GroupPatch::default()
                        }
                    }
                    None => {
                        types.retain(|kind| kind != "DynamicMembership");
                        GroupPatch {
                            group_types: Some(types),
                            ..GroupPatch::default()
                        }
                    }
                };
                client.update_group(&id, &patch)
            }
            (Action::AddMember { user_id, .. }, _) => {
                member_is_done(client.add_group_member(&group()?, user_id))
            }
            (Action::RemoveMember { user_id, .. }, _) => {
                gone_is_done(client.remove_group_member(&group()?, user_id))
            }
            // A group joins a group through the same `members/$ref` as a user (Graph adds any
            // directory object); a group this apply created is known by the id its creation
            // returned.
            (Action::AddGroupMember { member, .. }, _) => {
                let member_id = match member {
                    MemberGroup::Id(id) => id.clone(),
                    MemberGroup::Created(change) => {
                        group_ids.get(*change).cloned().flatten().ok_or_else(|| {
                            GraphError::new(
                                GraphErrorKind::InvalidResponse,
                                step.describe(),
                                "the member group has no id (its creation did not return one)",
                            )
                        })?
                    }
                };
                member_is_done(client.add_group_member(&group()?, &member_id))
            }
            (Action::RemoveGroupMember { group_id, .. }, _) => {
                gone_is_done(client.remove_group_member(&group()?, group_id))
            }
            (Action::SetUsageLocation(location), Target::User(user)) => {
                client.set_usage_location(user, location)?;
                fresh.users.push(user.clone());
                Ok(())
            }
            (Action::SetUsageLocation(_), Target::Group) => Err(GraphError::new(
                GraphErrorKind::InvalidResponse,
                step.describe(),
                "a usage location belongs to a user, not a group",
            )),
            (Action::AssignLicenses { add, remove, .. }, Target::Group) => client
                .assign_group_licenses(&group()?, &graph_licenses(add), remove)
                .map(drop),
            (Action::AssignLicenses { add, remove, .. }, Target::User(user)) => client
                .assign_user_licenses(user, &graph_licenses(add), remove)
                .map(drop),
            (Action::DeleteGroup, _) => gone_is_done(client.delete_group(&group()?)),
        }
    }

    fn patch_group(&self, id: &str, body: &Value) -> Result<(), GraphError> {
        let url = self
            .client
            .url(&format!("/groups/{}", crate::graph::path_segment(id)));
        self.client.send(Method::Patch, &url, Some(body)).map(drop)
    }

    /// The group's `groupTypes` as Graph has them now.
    fn group_types(&self, id: &str) -> Result<Vec<String>, GraphError> {
        let url = self.client.url(&format!(
            "/groups/{}?$select=groupTypes",
            crate::graph::path_segment(id)
        ));
        let body = self.client.send(Method::Get, &url, None)?;
        Ok(body
            .get("groupTypes")
            .and_then(Value::as_array)
            .map(|types| {
                types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Polls each group's license processing until it is complete or the attempts run out.
    #[expect(
        clippy::disallowed_methods,
        reason = "the Graph backend waits between two checks of license processing"
    )]
    fn wait_for_processing(&self, groups: &[(String, String)], report: &mut ApplyReport) {
        for (address, id) in groups {
            let mut last = None;
            for attempt in 0..self.poll.attempts.max(1) {
                if attempt > 0 {
                    std::thread::sleep(self.poll.interval);
                }
                // A group just created or changed may not have replicated yet.
                match self
                    .client
                    .settle(|_| false, || self.client.license_processing_state(id))
                {
                    Ok(LicenseProcessing::ProcessingComplete) => {
                        last = Some(Ok("ProcessingComplete".to_string()));
                        break;
                    }
                    Ok(state) => last = Some(Ok(processing_name(&state))),
                    Err(error) => {
                        last = Some(Err(error));
                        break;
                    }
                }
            }
            let line = match last {
                Some(Ok(state)) if state == "ProcessingComplete" => {
                    format!("{address}: license processing complete")
                }
                Some(Ok(state)) => format!(
                    "{address}: license processing still {state} after {} checks; run `seatplan plan --graph` later to see the result",
                    self.poll.attempts.max(1)
                ),
                Some(Err(error)) => format!("{address}: license processing unknown: {error}"),
                None => continue,
            };
            report.processing.push(line);
        }
    }
}

/// The objects an apply created or changed so far: calls on them retry Entra's replication
/// delay.
#[derive(Debug, Default)]
struct Fresh {
    /// Changes whose group this apply created (or adopted from an apply that stopped).
    groups: Vec<usize>,
    /// Users whose usage location this apply set.
    users: Vec<String>,
}

/// Graph refusing a user's license because the usage location it was just given has not
/// reached the licensing service yet.
fn location_pending(error: &GraphError) -> bool {
    error.status == Some(400)
        && error
            .message
            .to_ascii_lowercase()
            .contains("usage location")
}

/// A 404 on a removal means the thing is already gone: done.
/// An add that finds the object already a member did what the step wanted.
fn member_is_done(result: Result<(), GraphError>) -> Result<(), GraphError> {
    match result {
        Err(error) if error.status == Some(400) && error.message.contains("already exist") => {
            Ok(())
        }
        other => other,
    }
}

fn gone_is_done(result: Result<(), GraphError>) -> Result<(), GraphError> {
    match result {
        Err(error) if error.status == Some(404) => Ok(()),
        other => other,
    }
}

fn processing_name(state: &LicenseProcessing) -> String {
    match state {
        LicenseProcessing::QueuedForProcessing => "QueuedForProcessing".to_string(),
        LicenseProcessing::ProcessingInProgress => "ProcessingInProgress".to_string(),
        LicenseProcessing::ProcessingComplete => "ProcessingComplete".to_string(),
        LicenseProcessing::Other(other) => other.clone(),
    }
}

/// The canonical JSON of a state: compact, object keys sorted at every level.
pub fn canonical_json(state: &TenantState) -> String {
    let mut text = Vec::new();
    // Writing into a Vec cannot fail, and a state always serializes.
    let _ = write_canonical(state, &mut text);
    String::from_utf8(text).unwrap_or_default()
}

/// The fingerprint of a state read from Graph: the sha256 of its canonical JSON
/// ([`canonical_json`]), written straight into the hash: only one user or group at a time is
/// ever held in canonical form, never the whole state (gigabytes at 100,000 users).
pub fn state_fingerprint(state: &TenantState) -> String {
    use sha2::{Digest, Sha256};
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(Sha256::new());
    let _ = write_canonical(state, &mut std::io::BufWriter::new(&mut hashing));
    let digest = hashing.0.finalize();
    let mut text = String::from("sha256:");
    for byte in digest.iter() {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// `value` with the keys of every object sorted.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut object = serde_json::Map::new();
            for (key, value) in entries {
                object.insert(key, sorted(value));
            }
            Value::Object(object)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Writes the canonical JSON of `state` to `out`: the small parts made canonical whole, the
/// users and groups one at a time.
fn write_canonical(state: &TenantState, out: &mut impl std::io::Write) -> std::io::Result<()> {
    fn each<T: serde::Serialize>(
        items: &[T],
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        out.write_all(b"[")?;
        for (at, item) in items.iter().enumerate() {
            if at > 0 {
                out.write_all(b",")?;
            }
            let value = serde_json::to_value(item).map_err(std::io::Error::other)?;
            serde_json::to_writer(&mut *out, &sorted(value))?;
        }
        out.write_all(b"]")
    }
    let shell = TenantState {
        version: state.version,
        tenant: state.tenant.clone(),
        subscriptions: state.subscriptions.clone(),
        users: Vec::new(),
        groups: Vec::new(),
        delta: state.delta.clone(),
    };
    let Value::Object(fields) = sorted(serde_json::to_value(&shell)?) else {
        return Err(std::io::Error::other("a state serializes as an object"));
    };
    // With serde_json's insertion-ordered maps the rebuilt objects keep the sorted order.
    out.write_all(b"{")?;
    for (at, (key, value)) in fields.iter().enumerate() {
        if at > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, key)?;
        out.write_all(b":")?;
        match key.as_str() {
            "users" => each(&state.users, out)?,
            "groups" => each(&state.groups, out)?,
            _ => serde_json::to_writer(&mut *out, value)?,
        }
    }
    out.write_all(b"}")?;
    out.flush()
}

/// The pretty JSON of `state` when it is small enough for diagnostics to point into
/// ([`MAX_POINTER_INDEXED`]); `None` for a larger one, whose text would only be a copy nothing
/// can point into (rendering stops at the limit).
fn locatable_text(state: &TenantState) -> Option<String> {
    struct Bounded(Vec<u8>);
    impl std::io::Write for Bounded {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            if self.0.len() + bytes.len() > MAX_POINTER_INDEXED {
                return Err(std::io::Error::other("larger than a pointer map covers"));
            }
            self.0.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut text = Bounded(Vec::new());
    serde_json::to_writer_pretty(&mut text, state).ok()?;
    String::from_utf8(text.0).ok()
}

impl Backend for GraphBackend {
    fn describe(&self) -> String {
        format!(
            "Microsoft Graph (tenant {})",
            self.client.settings().tenant_id
        )
    }

    fn read(&mut self, sources: &mut Sources) -> Result<CurrentState, Diagnostics> {
        let state = match &self.snapshot {
            None => self
                .client
                .read_tenant_of(&self.member_groups, &self.users)?,
            Some(path) => {
                let (mut state, note) = refresh_snapshot_file(&self.client, path, None, sources)?;
                self.notes.push(note);
                // The links are the snapshot's, not the tenant's: the plan does not depend on them.
                state.delta = None;
                state
            }
        };
        let fingerprint = state_fingerprint(&state);
        let text = locatable_text(&state);
        let source = sources.add(self.describe(), text.as_deref().unwrap_or_default());
        self.text = text;
        Ok(CurrentState {
            state,
            source,
            fingerprint,
        })
    }

    fn notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }

    fn locate(&self, state: &CurrentState, sources: &mut Sources) {
        if let Some(text) = &self.text {
            if let Some(pointers) = crate::tenant::parse::json_pointers(state.source, text) {
                sources.set_pointers(state.source, pointers);
            }
        }
    }

    fn apply(&mut self, context: &ApplyContext<'_>) -> ApplyReport {
        let changes = &context.planned.document.changes;
        let mut report = ApplyReport::default();
        let steps = match &context.planned.steps {
            Ok(steps) => steps,
            Err(diagnostic) => {
                report.results = changes
                    .iter()
                    .map(|change| ChangeResult {
                        address: change.address.clone(),
                        outcome: ChangeOutcome::NotAttempted,
                        summary: None,
                    })
                    .collect();
                report.failure = Some(diagnostic.clone());
                return report;
            }
        };
        let mut group_ids: Vec<Option<String>> = changes
            .iter()
            .map(|change| {
                if change.address.starts_with("group[") {
                    change.id.clone()
                } else {
                    None
                }
            })
            .collect();
        let mut done = vec![0usize; changes.len()];
        let mut total = vec![0usize; changes.len()];
        for step in steps {
            total[step.change] += 1;
        }
        let mut failed: Option<(usize, GraphError)> = None;
        let mut touched: Vec<usize> = Vec::new();
        let mut deleted: Vec<usize> = Vec::new();
        let mut fresh = Fresh::default();
        for step in steps {
            match self.run(step, &mut group_ids, &mut fresh) {
                Ok(()) => {
                    done[step.change] += 1;
                    if step.target == Target::Group {
                        if step.action == Action::DeleteGroup {
                            deleted.push(step.change);
                        } else if !touched.contains(&step.change) {
                            touched.push(step.change);
                        }
                    }
                }
                Err(error) => {
                    let address = &changes[step.change].address;
                    let diagnostic = error
                        .to_diagnostic()
                        .with_note(format!(
                            "the apply stopped at `{}` of {address}; the calls before it were made, none after",
                            step.describe()
                        ))
                        .with_help(
                            "fix the cause, then run `seatplan plan --graph` to see what remains and apply that",
                        );
                    report.failure = Some(diagnostic);
                    failed = Some((step.change, error));
                    break;
                }
            }
        }
        // `--reprocess`: the users the change lets succeed, once every step is made.
        if failed.is_none() {
            for (user_id, upn) in &context.planned.reprocess {
                if let Err(error) = self.client.reprocess_license_assignment(user_id) {
                    report.failure = Some(error.to_diagnostic().with_note(format!(
                        "every step was made; reprocessing `{upn}` failed, and the users after it were not reprocessed"
                    )).with_help("reprocess them in the admin center (user → Licenses → Reprocess), or run the apply again"));
                    break;
                }
                report.notes.push(format!("reprocessed {upn}"));
            }
        }
        let groups: Vec<(String, String)> = touched
            .iter()
            .filter(|change| !deleted.contains(change))
            .filter_map(|&change| {
                group_ids[change]
                    .clone()
                    .map(|id| (changes[change].address.clone(), id))
            })
            .collect();
        self.wait_for_processing(&groups, &mut report);
        let after = match self.client.read_tenant_of(&self.member_groups, &self.users) {
            Ok(state) => Some(state),
            Err(problems) => {
                let reasons: Vec<String> = problems
                    .iter()
                    .map(|problem| problem.message.clone())
                    .collect();
                report.notes.push(format!(
                    "the tenant could not be read again to verify the apply: {}",
                    reasons.join("; ")
                ));
                None
            }
        };
        if let Some(after) = &after {
            report.users_in_error = users_in_error(after);
        }
        report.results = changes
            .iter()
            .enumerate()
            .map(|(index, change)| {
                let outcome = match &failed {
                    Some((change, error)) if *change == index => ChangeOutcome::Failed {
                        error: error.to_string(),
                    },
                    _ if done[index] == total[index] => ChangeOutcome::Done,
                    _ if done[index] == 0 => ChangeOutcome::NotAttempted,
                    _ => ChangeOutcome::Partial {
                        done: done[index],
                        total: total[index],
                    },
                };
                let summary = match (&outcome, &after) {
                    (ChangeOutcome::Done, Some(after))
                        if change.address.starts_with("group[") && !deleted.contains(&index) =>
                    {
                        group_ids[index]
                            .as_deref()
                            .map(|id| group_summary(after, id))
                    }
                    _ => None,
                };
                ChangeResult {
                    address: change.address.clone(),
                    outcome,
                    summary,
                }
            })
            .collect();
        report
    }
}

/// A step's products as `assignLicense` takes them.
fn graph_licenses(add: &[steps::LicenseToAdd]) -> Vec<crate::graph::LicenseToAdd> {
    add.iter()
        .map(|license| crate::graph::LicenseToAdd {
            sku_id: license.sku_id.clone(),
            disabled_plans: license.disabled_plans.clone(),
        })
        .collect()
}

/// The processing summary of the group with object id `group` as the service recorded its
/// users' assignments.
fn group_summary(state: &TenantState, group: &str) -> String {
    let (mut assigned, mut failed) = (0, 0);
    for user in &state.users {
        let states: Vec<AssignmentState> = user
            .license_states
            .iter()
            .filter(|license| {
                license
                    .via
                    .as_deref()
                    .is_some_and(|via| via.eq_ignore_ascii_case(group))
            })
            .map(|license| license.state)
            .collect();
        if states.is_empty() {
            continue;
        }
        if states.iter().any(|state| {
            matches!(
                state,
                AssignmentState::Error | AssignmentState::ActiveWithError
            )
        }) {
            failed += 1;
        } else {
            assigned += 1;
        }
    }
    processing_summary(assigned, failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_is_stable() {
        let state: TenantState = serde_yaml::from_str(
            "version: 1\ntenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }\nusers: []\ngroups: []\n",
        )
        .unwrap();
        let text = canonical_json(&state);
        assert_eq!(text, canonical_json(&state.clone()));
        let at = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
        assert!(text.starts_with("{\"groups\":"), "{text}");
        assert!(
            at("groups") < at("tenant") && at("tenant") < at("users"),
            "{text}"
        );
        assert!(at("users") < at("version"), "{text}");
        assert!(at("default_usage_location") < at("id"), "{text}");
        assert_eq!(
            state_fingerprint(&state),
            crate::io::fingerprint(text.as_bytes()),
            "the streamed fingerprint hashes the canonical JSON"
        );
    }
}
