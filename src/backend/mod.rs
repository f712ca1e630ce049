//! Backends: where the tenant state lives and how `apply` changes it, behind one [`Backend`]
//! trait so the planner never knows which one it talks to. The file backend
//! ([`tenant_file::FileBackend`]) keeps the state in a YAML or JSON file and changes it under an
//! exclusive lock ([`lock`]), atomically with a backup ([`file`]), recording every change in an
//! append-only audit log ([`audit`]). The Graph backend ([`graph::GraphBackend`]) reads a live
//! tenant and applies a plan call by call, in the order of the plan's steps
//! ([`crate::plan::steps`]).
//! [`fault`] holds the test-only pause points the crash tests kill the process at.
//!
//! The flow of an apply on the file backend:
//!
//! ```no_run
//! # use seatplan::backend::{AuditRecord, LockOptions, StateFile, StateLock};
//! # use seatplan::diag::Diagnostics;
//! # fn plan(state: &seatplan::tenant::TenantState) -> (seatplan::tenant::TenantState, Vec<AuditRecord>) { (state.clone(), Vec::new()) }
//! # fn run() -> Result<(), Diagnostics> {
//! let path = std::path::Path::new("tenant.yaml");
//! // Waits up to the timeout, then fails with `state-locked`; `stale` is a `stale-lock`
//! // warning to show when a killed apply had left the lock behind.
//! let mut acquired = StateLock::acquire(path, &LockOptions::default())?;
//! let mut current = StateFile::read(path)?;
//! let mut sources = seatplan::source::Sources::new();
//! let (state, _source) = current.parse(&mut sources)?;
//! let (new_state, records) = plan(&state);
//! // Fails with `state-changed` if the file is no longer the one read; `state_replaced` says
//! // whether a failure came after the state was written.
//! let committed = current
//!     .commit(&mut acquired.lock, &new_state, &records)
//!     .map_err(|error| error.diagnostic)?;
//! assert_eq!(committed.records, records.len());
//! # Ok(())
//! # }
//! ```

pub mod audit;
pub mod fault;
pub mod file;
pub mod graph;
pub mod lock;
pub mod tenant_file;

pub use audit::{processing_summary, read_log, AuditEntry, AuditOutcome, AuditRecord, Outcome};
pub use file::{render_state, write_state, CommitError, Committed, StateFile};
pub use lock::{Acquired, LockHolder, LockOptions, Stage, StateLock};

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use crate::io::fingerprint;

use jiff::Timestamp;

use crate::catalog::Catalog;
use crate::diag::{Diagnostic, Diagnostics};
use crate::plan::Planned;
use crate::source::{SourceId, Sources};
use crate::tenant::TenantState;

/// The tenant as a backend read it.
pub struct CurrentState {
    /// The state.
    pub state: TenantState,
    /// Its registered source, for diagnostics pointing into it.
    pub source: SourceId,
    /// `sha256:…` identifying this state: of the file's bytes, or of the canonical JSON of a
    /// tenant read from Graph. Saved plans record it; `apply` reads again and compares.
    pub fingerprint: String,
}

/// What an apply needs besides the backend: the plan and who applies it when.
pub struct ApplyContext<'a> {
    /// The catalog the plan was computed with (service plan names to ids).
    pub catalog: &'a Catalog,
    /// The plan, as computed against the state the backend read.
    pub planned: &'a Planned,
    /// The state the backend read and the plan was computed against.
    pub current: &'a TenantState,
    /// Who applies (audit records).
    pub actor: &'a str,
    /// When (audit records).
    pub time: Timestamp,
}

/// How far one change of a plan got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Every step was applied.
    Done,
    /// Some steps were applied; the apply stopped before the others.
    Partial {
        /// Steps applied.
        done: usize,
        /// Steps the change has.
        total: usize,
    },
    /// A step of this change failed (Graph's error); its earlier steps were applied.
    Failed {
        /// The error, as the service reported it.
        error: String,
    },
    /// Nothing of this change was applied.
    NotAttempted,
}

/// One change's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeResult {
    /// The plan address (`group["Sales - E3"]`).
    pub address: String,
    /// How far it got.
    pub outcome: ChangeOutcome,
    /// What the licensing service did or will do (a processing summary), when known.
    pub summary: Option<String>,
}

/// What an apply did: a result per change, the error that stopped it, and what the service
/// reported afterwards.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// One result per change of the plan, in plan order.
    pub results: Vec<ChangeResult>,
    /// The error that stopped the apply, if one did.
    pub failure: Option<Diagnostic>,
    /// Lines about the service's processing after the apply (license processing states).
    pub processing: Vec<String>,
    /// License assignments in error after the apply, as the backend records them
    /// (`user: SKU via group: Error (CountViolation)`).
    pub users_in_error: Vec<String>,
    /// Notes for the person applying (where the audit records went, warnings of the
    /// verification).
    pub notes: Vec<String>,
    /// Set with a `failure` that came after the state was replaced: the tenant holds every
    /// change (the file backend's audit outcome could not be written). `apply` exits 3 then,
    /// as it does when some changes are done or partly done.
    pub state_replaced: bool,
}

/// A place the tenant lives: read its current state, apply a plan to it.
pub trait Backend {
    /// What the backend talks to, for messages (`tenant.yaml`, `Microsoft Graph (tenant …)`).
    fn describe(&self) -> String;

    /// Reads the current tenant, registering it in `sources` for diagnostics.
    fn read(&mut self, sources: &mut Sources) -> Result<CurrentState, Diagnostics>;

    /// What the last read has to tell besides the state (how a snapshot was refreshed), for
    /// stderr.
    fn notes(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Makes diagnostics pointing into the state read as `state` locatable (builds its pointer
    /// map when that was deferred).
    fn locate(&self, state: &CurrentState, sources: &mut Sources);

    /// Applies `context.planned`, computed against the state last read, and reports per change.
    fn apply(&mut self, context: &ApplyContext<'_>) -> ApplyReport;
}

/// The file next to the state file with `suffix` appended to its name (`tenant.yaml.lock`).
pub fn sibling(state: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(state.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// `<state>.lock`: who holds the apply lock.
pub fn lock_path(state: &Path) -> PathBuf {
    sibling(state, ".lock")
}

/// `<state>.backup`: the state as it was before the last apply.
pub fn backup_path(state: &Path) -> PathBuf {
    sibling(state, ".backup")
}

/// `<state>.audit.jsonl`: one JSON object per applied change, oldest first.
pub fn audit_path(state: &Path) -> PathBuf {
    sibling(state, ".audit.jsonl")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_the_hex_sha256() {
        assert_eq!(
            fingerprint(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            fingerprint(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn companion_files_sit_next_to_the_state() {
        let state = Path::new("dir/tenant.yaml");
        assert_eq!(lock_path(state), Path::new("dir/tenant.yaml.lock"));
        assert_eq!(backup_path(state), Path::new("dir/tenant.yaml.backup"));
        assert_eq!(audit_path(state), Path::new("dir/tenant.yaml.audit.jsonl"));
    }
}
