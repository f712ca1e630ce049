//! Backends: where the tenant state lives and how `apply` changes it. The file backend keeps the
//! state in a YAML or JSON file and changes it under an exclusive lock ([`lock`]), atomically
//! with a backup ([`file`]), recording every change in an append-only audit log ([`audit`]).
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
//! let current = StateFile::read(path)?;
//! let mut sources = seatplan::source::Sources::new();
//! let (state, _source) = current.parse(&mut sources)?;
//! let (new_state, records) = plan(&state);
//! // Fails with `state-changed` if the file is no longer the one read.
//! let committed = current.commit(&mut acquired.lock, &new_state, &records)?;
//! assert_eq!(committed.records, records.len());
//! # Ok(())
//! # }
//! ```

pub mod audit;
pub mod fault;
pub mod file;
pub mod lock;

pub use audit::{processing_summary, AuditEntry, AuditRecord};
pub use file::{render_state, write_state, Committed, StateFile};
pub use lock::{Acquired, LockHolder, LockOptions, Stage, StateLock};

use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use crate::io::fingerprint;

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
