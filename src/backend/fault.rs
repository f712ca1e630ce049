//! Fault injection for the crash tests, TEST-ONLY: when the environment variable
//! `SEATPLAN_TEST_PAUSE_AT` names one of the [`PausePoint`]s, the file backend stops at that point
//! of an apply, writes the marker file `<state>.paused-<point>` (holding its pid) and sleeps for
//! [`PAUSE_SECONDS`], so that a test can SIGKILL it at exactly that step and then check what the
//! disk holds. Nothing sets the variable outside tests; when it is unset or names no point, a
//! pause point does nothing.

use std::path::{Path, PathBuf};

use super::sibling;

/// The environment variable that names the point to pause at.
pub const PAUSE_ENV: &str = "SEATPLAN_TEST_PAUSE_AT";

/// How long a paused process sleeps before it carries on (long enough for any test to kill it).
pub const PAUSE_SECONDS: u64 = 60;

/// The steps of an apply at which a test can stop the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PausePoint {
    /// The lock is held and the lock file names its holder; nothing else is written.
    AfterLock,
    /// `<state>.backup` holds the state as read.
    AfterBackup,
    /// The audit entries of the apply (its intent) are appended; the state is not replaced.
    AfterIntent,
    /// The new state is complete in its temporary file, not yet renamed over the state.
    AfterTempWrite,
    /// The state file is the new version; the audit outcome line is not appended yet.
    AfterRename,
    /// The audit outcome line is appended; the lock is not released yet.
    AfterAudit,
}

impl PausePoint {
    /// Every pause point, in the order an apply reaches them.
    pub const ALL: [PausePoint; 6] = [
        PausePoint::AfterLock,
        PausePoint::AfterBackup,
        PausePoint::AfterIntent,
        PausePoint::AfterTempWrite,
        PausePoint::AfterRename,
        PausePoint::AfterAudit,
    ];

    /// The name `SEATPLAN_TEST_PAUSE_AT` takes (`after-rename`).
    pub fn name(self) -> &'static str {
        match self {
            PausePoint::AfterLock => "after-lock",
            PausePoint::AfterBackup => "after-backup",
            PausePoint::AfterIntent => "after-intent",
            PausePoint::AfterTempWrite => "after-temp-write",
            PausePoint::AfterRename => "after-rename",
            PausePoint::AfterAudit => "after-audit",
        }
    }
}

/// The marker file a process paused at `point` writes next to `state`.
pub fn pause_marker(state: &Path, point: PausePoint) -> PathBuf {
    sibling(state, &format!(".paused-{}", point.name()))
}

/// Pauses here when `SEATPLAN_TEST_PAUSE_AT` names `point`; otherwise returns at once.
#[expect(
    clippy::disallowed_methods,
    reason = "the test-only pause: reads its variable, writes the marker and sleeps"
)]
pub(crate) fn pause_point(state: &Path, point: PausePoint) {
    let wanted = std::env::var_os(PAUSE_ENV);
    if wanted.as_deref() != Some(std::ffi::OsStr::new(point.name())) {
        return;
    }
    let _ = std::fs::write(
        pause_marker(state, point),
        format!("{}\n", std::process::id()),
    );
    std::thread::sleep(std::time::Duration::from_secs(PAUSE_SECONDS));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_markers_sit_next_to_the_state() {
        let names: std::collections::BTreeSet<_> =
            PausePoint::ALL.iter().map(|point| point.name()).collect();
        assert_eq!(names.len(), PausePoint::ALL.len());
        assert_eq!(
            pause_marker(Path::new("d/tenant.yaml"), PausePoint::AfterRename),
            Path::new("d/tenant.yaml.paused-after-rename")
        );
    }
}
