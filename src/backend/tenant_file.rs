//! [`FileBackend`]: the [`Backend`] over a tenant state file. Reading parses the file and
//! fingerprints its bytes; applying writes the state the engine predicts (what Entra would
//! record once it has processed the change) under the exclusive lock, with a backup and one
//! audit record per change ([`StateFile::commit`]).

use std::path::{Path, PathBuf};

use super::audit::{processing_summary, AuditRecord};
use super::file::{close_unfinished, replaceable, StateFile};
use super::lock::{LockOptions, StateLock};
use super::{ApplyContext, ApplyReport, Backend, ChangeOutcome, ChangeResult, CurrentState};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::plan::{applied_state, processing_counts};
use crate::source::Sources;
use crate::tenant::model::{AssignmentState, TenantState};

/// The state file used when neither the command line nor the config names a backend.
pub const DEFAULT_STATE: &str = "tenant.yaml";

/// A tenant state file, optionally locked for an apply.
pub struct FileBackend {
    path: PathBuf,
    lock: Option<StateLock>,
    file: Option<StateFile>,
}

impl FileBackend {
    /// A backend over `path` that reads only (`plan`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileBackend {
            path: path.into(),
            lock: None,
            file: None,
        }
    }

    /// A backend over `path` holding its exclusive lock until dropped (`apply`). Returns the
    /// warnings to show: `stale-lock` when a killed apply had left the lock behind,
    /// `unfinished-apply` when the audit log holds an apply without its outcome (which is then
    /// recorded). The state file must exist, as a regular file and not a symbolic link, before
    /// its lock file is created.
    pub fn locked(
        path: impl Into<PathBuf>,
        options: &LockOptions,
    ) -> Result<(Self, Vec<Diagnostic>), Diagnostic> {
        let path = path.into();
        replaceable(&path)?;
        let acquired = StateLock::acquire(&path, options)?;
        let mut warnings: Vec<Diagnostic> = acquired.stale.into_iter().collect();
        warnings.extend(close_unfinished(&path)?);
        Ok((
            FileBackend {
                path,
                lock: Some(acquired.lock),
                file: None,
            },
            warnings,
        ))
    }

    /// The state file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Backend for FileBackend {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn read(&mut self, sources: &mut Sources) -> Result<CurrentState, Diagnostics> {
        let mut file = StateFile::read(&self.path).map_err(|diagnostic: Diagnostic| {
            let hint = if self.path == Path::new(DEFAULT_STATE) {
                "\nno state file given: pass --state FILE or --graph, or create one with\n`seatplan import graph`"
            } else {
                ""
            };
            let help = diagnostic.help.clone().unwrap_or_default();
            Diagnostics::from(diagnostic.with_help(format!("{help}{hint}")))
        })?;
        let (state, source) = file.parse(sources)?;
        let fingerprint = file.fingerprint().to_string();
        self.file = Some(file);
        Ok(CurrentState {
            state,
            source,
            fingerprint,
        })
    }

    fn locate(&self, state: &CurrentState, sources: &mut Sources) {
        if let Some(file) = &self.file {
            file.index_pointers(state.source, sources);
        }
    }

    fn apply(&mut self, context: &ApplyContext<'_>) -> ApplyReport {
        let planned = context.planned;
        let changes = &planned.document.changes;
        let not_applied = |failure: Diagnostic| ApplyReport {
            results: changes
                .iter()
                .map(|change| ChangeResult {
                    address: change.address.clone(),
                    outcome: ChangeOutcome::NotAttempted,
                    summary: None,
                })
                .collect(),
            failure: Some(failure),
            ..ApplyReport::default()
        };
        let (Some(file), Some(lock)) = (&self.file, self.lock.as_mut()) else {
            return not_applied(
                Diagnostic::new(
                    Code::Write,
                    "the state file must be locked and read before it is applied to",
                )
                .with_help("this is a bug in seatplan; please report it"),
            );
        };
        let before = context.current;
        let counts = processing_counts(planned);
        let new_state = applied_state(context.catalog, context.current, planned);
        // With reprocess steps, the changes' records end where the reprocesses begin: the
        // service does not retry an error by itself, the reprocess does.
        let between = planned.before_reprocess.as_ref().map(|outcome| {
            crate::plan::applied_state_with(context.catalog, context.current, planned, outcome)
        });
        let after_changes = between.as_ref().unwrap_or(&new_state);
        let records: Vec<AuditRecord> = changes
            .iter()
            .map(|change| {
                let (assigned, failed) = counts
                    .iter()
                    .find(|(address, ..)| *address == change.address)
                    .map_or((0, 0), |(_, assigned, failed)| (*assigned, *failed));
                AuditRecord {
                    time: context.time,
                    actor: context.actor.to_string(),
                    address: change.address.clone(),
                    action: serde_json::to_value(change.action)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    before: entity(before, change.id.as_deref(), &change.address),
                    after: entity(after_changes, change.id.as_deref(), &change.address),
                    summary: if change.address.starts_with("user[") {
                        "User updated.".to_string()
                    } else {
                        processing_summary(assigned, failed)
                    },
                }
            })
            .chain(planned.reprocess.iter().map(|(id, upn)| {
                // A reprocess step (`--reprocess`): the user's license states before and after.
                let address = crate::plan::diff::user_address(upn);
                AuditRecord {
                    time: context.time,
                    actor: context.actor.to_string(),
                    before: entity(after_changes, Some(id), &address),
                    after: entity(&new_state, Some(id), &address),
                    address,
                    action: "reprocess".to_string(),
                    summary: "User license assignments processed again.".to_string(),
                }
            }))
            .collect();
        let done = || {
            records
                .iter()
                .map(|record| ChangeResult {
                    address: record.address.clone(),
                    outcome: ChangeOutcome::Done,
                    summary: Some(record.summary.clone()),
                })
                .collect()
        };
        match file.commit(lock, &new_state, &records) {
            // The plan already showed the engine's predicted errors; the audit log has the rest.
            Ok(_) => ApplyReport {
                results: done(),
                ..ApplyReport::default()
            },
            // The state holds every change, but a later step failed (the audit outcome).
            Err(error) if error.state_replaced => ApplyReport {
                results: done(),
                failure: Some(error.diagnostic),
                state_replaced: true,
                ..ApplyReport::default()
            },
            Err(error) => not_applied(error.diagnostic),
        }
    }
}

/// `user: SKU via group: Error (CountViolation)` for every assignment in error in `state`.
pub fn users_in_error(state: &TenantState) -> Vec<String> {
    let mut lines = Vec::new();
    for user in &state.users {
        for license in &user.license_states {
            if matches!(
                license.state,
                AssignmentState::Error | AssignmentState::ActiveWithError
            ) {
                let via = license.via.as_deref().map_or_else(
                    || " (direct)".to_string(),
                    |via| format!(" via {}", group_label(state, via)),
                );
                let state = serde_json::to_value(license.state)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_string))
                    .unwrap_or_default();
                let error = license
                    .error
                    .and_then(|error| serde_json::to_value(error).ok())
                    .and_then(|value| value.as_str().map(|text| format!(" ({text})")))
                    .unwrap_or_default();
                lines.push(format!(
                    "{}: {}{via}: {state}{error}",
                    user.upn, license.sku
                ));
            }
        }
    }
    lines
}

/// How a license state's `via` is shown to people: the display name of the group with that
/// object id, or `via` as written when no group has it (older files name the group).
fn group_label<'a>(state: &'a TenantState, via: &'a str) -> &'a str {
    state
        .groups
        .iter()
        .find(|group| group.id.eq_ignore_ascii_case(via))
        .map_or(via, |group| &group.display_name)
}

/// The JSON of the group or user a change addresses, as the state file holds it.
fn entity(state: &TenantState, id: Option<&str>, address: &str) -> serde_json::Value {
    let name = address
        .split_once('[')
        .and_then(|(_, rest)| serde_json::from_str::<String>(rest.trim_end_matches(']')).ok())
        .unwrap_or_default();
    if address.starts_with("user[") {
        return state
            .users
            .iter()
            .find(|user| user.upn == name)
            .and_then(|user| serde_json::to_value(user).ok())
            .unwrap_or(serde_json::Value::Null);
    }
    state
        .groups
        .iter()
        .find(|group| {
            id.is_some_and(|id| group.id == id) || (id.is_none() && group.display_name == name)
        })
        .and_then(|group| serde_json::to_value(group).ok())
        .unwrap_or(serde_json::Value::Null)
}
