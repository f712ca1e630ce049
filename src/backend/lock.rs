//! The exclusive lock of an apply on the file backend: `<state>.lock`, locked with the operating
//! system's advisory file lock (`File::try_lock`, `flock` on Unix), so the lock is released
//! whenever its holder exits, even when it is killed.
//!
//! The lock file also says who holds it ([`LockHolder`]: pid, host, start time, command, and how
//! far its apply got, [`Stage`]) so that a waiting apply can name the holder, and so that an apply
//! that finds the file left behind by a killed holder can explain what happened. The file is
//! never deleted: a clean release empties it. Deleting a lock file that a waiter has open would
//! let two processes lock two different files; the acquirer also checks that the file it locked
//! is still the one at the path, so even a lock file deleted by hand cannot break exclusion.
//!
//! When the lock is free but the file still names a holder, that holder was killed (or crashed)
//! before releasing it. On the same host the lock is taken over with a [`Code::StaleLock`]
//! warning naming the pid, its age and its stage (whether the process still runs is checked in
//! `/proc` on Linux; elsewhere the released lock alone shows it has ended). A holder on another
//! host is not taken over: some network file systems do not share locks between hosts, so a
//! running apply there would be invisible; the user is told to delete the lock file once sure
//! that no apply runs there.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::fault::{pause_point, PausePoint};
use super::{audit_path, backup_path, lock_path};
use crate::diag::{Code, Diagnostic};
use crate::io::fs::{open_companion, Companion, OpenError};

/// How long [`StateLock::acquire`] waits for a held lock unless told otherwise.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a waiting apply tries the lock again.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// The most of a lock file that is read (a lock file holds a few hundred bytes).
const MAX_LOCK_FILE_BYTES: u64 = 64 * 1024;

/// How [`StateLock::acquire`] behaves.
#[derive(Debug, Clone)]
pub struct LockOptions {
    /// How long to wait for a lock another apply holds before failing with `state-locked`.
    pub timeout: Duration,
    /// The command recorded in the lock file for other applies to show (`seatplan apply`).
    pub command: String,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            timeout: DEFAULT_LOCK_TIMEOUT,
            command: "seatplan apply".to_owned(),
        }
    }
}

/// How far the holder of a lock got; recorded in the lock file as it goes, so that the next
/// apply can tell what a killed holder had written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Locked; nothing written yet.
    Locked,
    /// `<state>.backup` written; the audit entries are being appended.
    BackupWritten,
    /// The audit entries (the intent) are written; the state file is being replaced.
    IntentAppended,
    /// The state file is the new version; the audit records are being appended.
    StateReplaced,
    /// State and audit records written; only the release remains.
    AuditAppended,
}

/// What a lock file records about the apply that holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    /// The holder's process id.
    pub pid: u32,
    /// The host it runs on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// When it took the lock (RFC 3339).
    pub started: Timestamp,
    /// What it runs (`seatplan apply`).
    pub command: String,
    /// How far it got.
    pub stage: Stage,
}

/// A held lock on a state file. Dropping it releases the lock and empties the lock file.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
    state: PathBuf,
    holder: LockHolder,
}

/// A lock just acquired, with the warning to show when a killed apply had left it behind.
#[derive(Debug)]
pub struct Acquired {
    /// The held lock.
    pub lock: StateLock,
    /// A [`Code::StaleLock`] warning explaining the previous holder, if there was one.
    pub stale: Option<Diagnostic>,
}

impl StateLock {
    /// Takes the exclusive lock of the state file at `state`, waiting up to `options.timeout`
    /// while another apply holds it. Fails with [`Code::StateLocked`] naming the holder's pid and
    /// age when the wait runs out, or when a lock left behind on another host cannot be proven
    /// stale; fails with [`Code::Io`] when the lock file cannot be created or locked.
    #[expect(
        clippy::disallowed_methods,
        reason = "waiting for a held lock: the deadline, the poll interval and the holder's start time"
    )]
    pub fn acquire(state: &Path, options: &LockOptions) -> Result<Acquired, Diagnostic> {
        let path = lock_path(state);
        let deadline = Instant::now() + options.timeout;
        loop {
            // Never through a link at the lock's name, and only a regular file: a link planted
            // there would otherwise have its target truncated.
            let mut file =
                open_companion(&path, Companion::ReadWrite, 0o666).map_err(
                    |error| match error {
                        OpenError::Io(error) => lock_io_error(&path, "create", &error),
                        refused => refused.diagnostic(&path, "lock", Code::Io),
                    },
                )?;
            match file.try_lock() {
                Ok(()) => {
                    if !is_file_at(&file, &path) {
                        // Deleted or replaced between our open and our lock: lock the new one.
                        continue;
                    }
                    let previous = read_lock_file(&mut file);
                    let stale = take_over(&previous, state, &path)?;
                    let holder = LockHolder {
                        pid: std::process::id(),
                        hostname: hostname(),
                        started: Timestamp::now(),
                        command: options.command.clone(),
                        stage: Stage::Locked,
                    };
                    let mut lock = StateLock {
                        file,
                        path,
                        state: state.to_path_buf(),
                        holder,
                    };
                    lock.record()?;
                    pause_point(state, PausePoint::AfterLock);
                    return Ok(Acquired { lock, stale });
                }
                Err(TryLockError::WouldBlock) => {
                    let now = Instant::now();
                    if now >= deadline {
                        let holder = read_lock_file(&mut file);
                        return Err(locked(state, &path, &holder, options.timeout));
                    }
                    std::thread::sleep(POLL_INTERVAL.min(deadline - now));
                }
                Err(TryLockError::Error(error)) => {
                    return Err(lock_io_error(&path, "lock", &error));
                }
            }
        }
    }

    /// The state file this lock protects.
    pub fn state_path(&self) -> &Path {
        &self.state
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the lock file says about this holder.
    pub fn holder(&self) -> &LockHolder {
        &self.holder
    }

    /// Records that the apply has reached `stage`.
    pub(crate) fn set_stage(&mut self, stage: Stage) -> Result<(), Diagnostic> {
        self.holder.stage = stage;
        self.record()
    }

    /// Writes the holder into the lock file and flushes it.
    fn record(&mut self) -> Result<(), Diagnostic> {
        let mut text = serde_json::to_string_pretty(&self.holder).map_err(|error| {
            Diagnostic::new(Code::Write, format!("cannot describe the lock: {error}"))
                .with_help("this is a bug in seatplan; please report it")
        })?;
        text.push('\n');
        let result = (|| {
            self.file.seek(SeekFrom::Start(0))?;
            self.file.write_all(text.as_bytes())?;
            self.file.set_len(text.len() as u64)?;
            self.file.sync_data()
        })();
        result.map_err(|error| lock_io_error(&self.path, "write", &error))
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Empty the file while still holding the lock: an empty lock file means "released
        // cleanly". Closing the file releases the operating system's lock.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_data();
        let _ = self.file.unlock();
    }
}

/// Whether `file` is still the file at `path` (not deleted or replaced since it was opened).
#[cfg(unix)]
#[expect(
    clippy::disallowed_methods,
    reason = "the locked file must still be the one at the lock's path"
)]
fn is_file_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

/// Whether `file` is still the file at `path`; without inode numbers, assume it is.
#[cfg(not(unix))]
fn is_file_at(_file: &File, _path: &Path) -> bool {
    true
}

/// The lock file's text (at most [`MAX_LOCK_FILE_BYTES`]); empty when it cannot be read.
fn read_lock_file(file: &mut File) -> String {
    let mut bytes = Vec::new();
    if file.seek(SeekFrom::Start(0)).is_err()
        || file
            .take(MAX_LOCK_FILE_BYTES)
            .read_to_end(&mut bytes)
            .is_err()
    {
        return String::new();
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Whether a process is running, as far as this platform can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    Running,
    Gone,
    Unknown,
}

/// Whether process `pid` on this host is running: `/proc/<pid>` on Linux (a zombie counts as
/// gone); unknown elsewhere.
#[expect(
    clippy::disallowed_methods,
    reason = "whether the lock's previous holder still runs is read from the process table"
)]
fn liveness(pid: u32) -> Liveness {
    if cfg!(target_os = "linux") {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => {
                // The state letter follows the parenthesised command name.
                let state = stat
                    .rfind(')')
                    .and_then(|end| stat[end + 1..].split_whitespace().next());
                match state {
                    Some("Z" | "X" | "x") => Liveness::Gone,
                    _ => Liveness::Running,
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Liveness::Gone,
            Err(_) => Liveness::Unknown,
        }
    } else {
        Liveness::Unknown
    }
}

/// This host's name, when it can be found cheaply.
#[expect(
    clippy::disallowed_methods,
    reason = "the lock records the host it is held from"
)]
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// `12s`, `3m 12s`, `2h 5m`, `4d 1h`: how long before `now` `started` was (`0s` when a clock
/// skew puts it in the future).
fn age(started: Timestamp, now: Timestamp) -> String {
    let seconds = now.as_second().saturating_sub(started.as_second());
    let seconds = seconds.max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {}s", seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

/// "pid 42 on host ci-7, running `seatplan apply` since 2026-… (12s ago)".
#[expect(
    clippy::disallowed_methods,
    reason = "a holder is described by how long ago it took the lock"
)]
fn describe(holder: &LockHolder) -> String {
    let host = holder
        .hostname
        .as_deref()
        .map(|host| format!(" on host {host}"))
        .unwrap_or_default();
    format!(
        "pid {}{host}, running `{}` since {} ({} ago)",
        holder.pid,
        holder.command,
        holder.started,
        age(holder.started, Timestamp::now())
    )
}

/// The error for a lock that stayed held for the whole wait.
fn locked(state: &Path, lock: &Path, text: &str, waited: Duration) -> Diagnostic {
    let state = state.display();
    let lock = lock.display();
    match serde_json::from_str::<LockHolder>(text) {
        Ok(holder) => Diagnostic::new(
            Code::StateLocked,
            format!(
                "`{state}` is locked by another apply: {}",
                describe(&holder)
            ),
        )
        .with_note(format!("waited {:.1}s for the lock", waited.as_secs_f64()))
        .with_help(format!(
            "wait for it to finish and run again, or wait longer with a larger lock timeout; if \
             process {pid} is stuck, stop it (`kill {pid}`): its lock is released when it exits. \
             Deleting `{lock}` does not stop it",
            pid = holder.pid
        )),
        Err(_) => Diagnostic::new(
            Code::StateLocked,
            format!("`{state}` is locked by another process (`{lock}` does not say which yet)"),
        )
        .with_note(format!("waited {:.1}s for the lock", waited.as_secs_f64()))
        .with_help(
            "run again in a moment; `fuser` or `lsof` on the lock file shows the process holding it",
        ),
    }
}

/// Decides what to do with the lock file's previous content now that the lock is ours: nothing
/// when it is empty (released cleanly), a [`Code::StaleLock`] warning when a killed holder on
/// this host left it, an error when its holder was on another host.
fn take_over(previous: &str, state: &Path, lock: &Path) -> Result<Option<Diagnostic>, Diagnostic> {
    if previous.trim().is_empty() {
        return Ok(None);
    }
    let shown_lock = lock.display();
    let Ok(holder) = serde_json::from_str::<LockHolder>(previous) else {
        if !is_torn_record(previous) {
            // Not something seatplan wrote: the name may have been reused for another file,
            // which taking the lock over would empty.
            return Err(Diagnostic::new(
                Code::ForeignLockFile,
                format!(
                    "`{shown_lock}` holds something other than a seatplan lock record; seatplan \
                     does not take it over (that would empty it)"
                ),
            )
            .with_help(format!(
                "move `{shown_lock}` aside if it is not needed (seatplan writes a JSON record with \
                 the holder's pid there), then run again"
            )));
        }
        return Ok(Some(
            Diagnostic::new(
                Code::StaleLock,
                format!(
                    "a previous apply did not finish: `{shown_lock}` holds details that cannot be \
                     read (its holder was killed while writing them)"
                ),
            )
            .with_note("no process holds the lock any more, so this apply took it over")
            .with_help(recovery_help(state, None)),
        ));
    };
    let ours = hostname();
    if let (Some(theirs), Some(ours)) = (&holder.hostname, &ours) {
        if theirs != ours {
            return Err(Diagnostic::new(
                Code::StateLocked,
                format!(
                    "`{}` was locked by an apply on another host: {}",
                    state.display(),
                    describe(&holder)
                ),
            )
            .with_note(format!(
                "the lock is not held from this host, but locks are not always shared between \
                 hosts on a network file system, so seatplan cannot tell whether that apply \
                 still runs on {theirs}"
            ))
            .with_help(format!(
                "if no apply runs on {theirs} (pid {}), delete `{shown_lock}` and run again",
                holder.pid
            )));
        }
    }
    let running = match liveness(holder.pid) {
        Liveness::Gone => format!(
            "process {} is no longer running: it was killed or crashed, and the operating \
             system released its lock",
            holder.pid
        ),
        Liveness::Running => format!(
            "a process {} is running but does not hold the lock: the apply ended and its pid \
             now belongs to another program",
            holder.pid
        ),
        Liveness::Unknown => {
            "the operating system released its lock, so that process has ended (killed or crashed)"
                .to_owned()
        }
    };
    let mut diagnostic = Diagnostic::new(
        Code::StaleLock,
        format!(
            "a previous apply did not finish: `{shown_lock}` was left by {}",
            describe(&holder)
        ),
    )
    .with_note(running)
    .with_note(stage_note(state, holder.stage));
    for removed in remove_temporaries(state, holder.pid) {
        diagnostic = diagnostic.with_note(format!(
            "removed the unfinished temporary file `{}` it left behind",
            removed.display()
        ));
    }
    Ok(Some(
        diagnostic.with_help(recovery_help(state, Some(holder.stage))),
    ))
}

/// Whether `text` is the start of a lock record cut short (a holder killed while writing it):
/// a JSON object whose first key is `pid`, as [`StateLock`] writes it.
fn is_torn_record(text: &str) -> bool {
    text.trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"pid\""))
}

/// What a killed holder had written, by the stage it reached.
fn stage_note(state: &Path, stage: Stage) -> String {
    let (shown, backup, audit) = (
        state.display(),
        backup_path(state).display().to_string(),
        audit_path(state).display().to_string(),
    );
    match stage {
        Stage::Locked => {
            format!("it had not written anything yet: `{shown}` is as it was before it")
        }
        Stage::BackupWritten => format!(
            "it had saved `{backup}` and was writing its audit records to `{audit}`; `{shown}` \
             is as it was before it"
        ),
        Stage::IntentAppended => format!(
            "it had saved `{backup}`, written its audit records to `{audit}` and was replacing \
             `{shown}`, which is therefore either the old version or the new one, never a mix; \
             compare it with `{backup}` to see which"
        ),
        Stage::StateReplaced => format!(
            "it had replaced `{shown}` with the new version; its audit records may be missing \
             only their outcome line in `{audit}` (the records were written first); the \
             previous version is in `{backup}`"
        ),
        Stage::AuditAppended => format!(
            "it had written `{shown}` and its audit records to `{audit}`; only the release of \
             the lock was left"
        ),
    }
}

/// How to check or undo what a killed apply did.
fn recovery_help(state: &Path, stage: Option<Stage>) -> String {
    let taken = "nothing needs clearing: this apply took the lock over";
    match stage {
        Some(Stage::Locked) => format!("{taken}."),
        _ => format!(
            "{taken}. To undo the unfinished apply, copy `{}` over `{}` (the state file is \
             always whole: it is replaced only by an atomic rename)",
            backup_path(state).display(),
            state.display()
        ),
    }
}

/// Removes the temporary files a killed holder `pid` left while writing the state or the
/// backup; returns the ones removed.
#[expect(
    clippy::disallowed_methods,
    reason = "a killed apply's temporary files are removed when its lock is taken over"
)]
fn remove_temporaries(state: &Path, pid: u32) -> Vec<PathBuf> {
    [state.to_path_buf(), backup_path(state)]
        .iter()
        .filter_map(|target| crate::io::temporary_path(target, pid))
        .filter(|temporary| std::fs::remove_file(temporary).is_ok())
        .collect()
}

fn lock_io_error(path: &Path, what: &str, error: &std::io::Error) -> Diagnostic {
    Diagnostic::new(
        Code::Io,
        format!("cannot {what} the lock file `{}`: {error}", path.display()),
    )
    .with_help(
        "the state file's directory must be writable, on a file system that supports file locks",
    )
}

#[cfg(test)]
mod tests {
    #![expect(
        clippy::disallowed_methods,
        reason = "tests set up files, clocks and waits directly"
    )]

    use super::*;
    use crate::diag::Severity;

    fn options(timeout_ms: u64) -> LockOptions {
        LockOptions {
            timeout: Duration::from_millis(timeout_ms),
            command: "seatplan test".to_owned(),
        }
    }

    fn holder_text(pid: u32, hostname: Option<String>, stage: Stage) -> String {
        serde_json::to_string(&LockHolder {
            pid,
            hostname,
            started: Timestamp::now() - jiff::SignedDuration::from_secs(200),
            command: "seatplan apply".to_owned(),
            stage,
        })
        .unwrap()
    }

    #[test]
    fn the_lock_file_names_the_holder_and_is_emptied_on_release() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let acquired = StateLock::acquire(&state, &options(0)).unwrap();
        assert!(acquired.stale.is_none());
        let text = std::fs::read_to_string(lock_path(&state)).unwrap();
        let holder: LockHolder = serde_json::from_str(&text).unwrap();
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "seatplan test");
        assert_eq!(holder.stage, Stage::Locked);
        assert_eq!(&holder, acquired.lock.holder());
        drop(acquired);
        assert_eq!(std::fs::read(lock_path(&state)).unwrap(), b"");
        let again = StateLock::acquire(&state, &options(0)).unwrap();
        assert!(again.stale.is_none());
    }

    #[test]
    fn a_held_lock_makes_the_second_apply_wait_then_fail_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let _held = StateLock::acquire(&state, &options(0)).unwrap();
        let started = Instant::now();
        let error = StateLock::acquire(&state, &options(300)).unwrap_err();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(error.code, Code::StateLocked);
        assert!(
            error
                .message
                .contains(&format!("pid {}", std::process::id())),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("running `seatplan test` since"),
            "{}",
            error.message
        );
        assert!(error.message.contains("s ago)"), "{}", error.message);
        assert!(error.help.unwrap().contains("kill"));
    }

    #[test]
    fn a_waiting_apply_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let held = StateLock::acquire(&state, &options(0)).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            drop(held);
        });
        let acquired = StateLock::acquire(&state, &options(5_000)).unwrap();
        assert!(acquired.stale.is_none());
        releaser.join().unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_left_by_a_dead_process_is_taken_over_with_an_explanation() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        // Above the kernel's pid limit (at most 2^22), so no such process exists.
        let dead = 4_000_000_000;
        std::fs::write(
            lock_path(&state),
            holder_text(dead, hostname(), Stage::StateReplaced),
        )
        .unwrap();
        let leftover = crate::io::temporary_path(&state, dead).unwrap();
        std::fs::write(&leftover, "partial").unwrap();
        let acquired = StateLock::acquire(&state, &options(0)).unwrap();
        let stale = acquired.stale.unwrap();
        assert_eq!(stale.code, Code::StaleLock);
        assert_eq!(stale.severity, Severity::Warning);
        assert!(
            stale.message.contains("pid 4000000000"),
            "{}",
            stale.message
        );
        assert!(stale.message.contains("(3m 2"), "{}", stale.message);
        let notes = stale.notes.join("\n");
        assert!(notes.contains("no longer running"), "{notes}");
        assert!(notes.contains("audit records may be missing"), "{notes}");
        assert!(
            notes.contains("removed the unfinished temporary file"),
            "{notes}"
        );
        assert!(!leftover.exists());
        assert!(stale.help.unwrap().contains("tenant.yaml.backup"));
        assert_eq!(acquired.lock.holder().pid, std::process::id());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lock_naming_a_running_process_that_does_not_hold_it_is_explained_as_pid_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        std::fs::write(lock_path(&state), holder_text(1, hostname(), Stage::Locked)).unwrap();
        let stale = StateLock::acquire(&state, &options(0))
            .unwrap()
            .stale
            .unwrap();
        let notes = stale.notes.join("\n");
        assert!(notes.contains("does not hold the lock"), "{notes}");
        assert!(notes.contains("had not written anything"), "{notes}");
    }

    #[test]
    fn a_lock_left_on_another_host_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let text = holder_text(77, Some("elsewhere.invalid".to_owned()), Stage::Locked);
        std::fs::write(lock_path(&state), &text).unwrap();
        let result = StateLock::acquire(&state, &options(0));
        if hostname().is_none() {
            // Without a host name of our own the holder is assumed local.
            assert!(result.unwrap().stale.is_some());
            return;
        }
        let error = result.unwrap_err();
        assert_eq!(error.code, Code::StateLocked);
        assert!(error.message.contains("pid 77 on host elsewhere.invalid"));
        assert!(error.help.unwrap().contains("delete"));
        // The refusal leaves the lock file as it was, for the user to inspect.
        assert_eq!(std::fs::read_to_string(lock_path(&state)).unwrap(), text);
    }

    #[test]
    fn unreadable_lock_details_are_reported_and_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        std::fs::write(lock_path(&state), "{\"pid\": 12, \"host").unwrap();
        let stale = StateLock::acquire(&state, &options(0))
            .unwrap()
            .stale
            .unwrap();
        assert_eq!(stale.code, Code::StaleLock);
        assert!(stale.message.contains("cannot be read"));
    }

    #[test]
    fn a_lock_file_that_is_not_a_lock_record_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let content = "precious data that happens to sit at this name\n";
        std::fs::write(lock_path(&state), content).unwrap();
        let error = StateLock::acquire(&state, &options(0)).unwrap_err();
        assert_eq!(error.code, Code::ForeignLockFile);
        assert_eq!(std::fs::read_to_string(lock_path(&state)).unwrap(), content);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_at_the_lock_name_is_refused_and_its_target_kept() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let target = dir.path().join("target.txt");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, lock_path(&state)).unwrap();
        let error = StateLock::acquire(&state, &options(0)).unwrap_err();
        assert_eq!(error.code, Code::Symlink);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn stages_are_recorded_in_the_lock_file() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("tenant.yaml");
        let mut lock = StateLock::acquire(&state, &options(0)).unwrap().lock;
        lock.set_stage(Stage::StateReplaced).unwrap();
        let text = std::fs::read_to_string(lock_path(&state)).unwrap();
        assert!(text.contains("\"stage\": \"state-replaced\""), "{text}");
        assert!(serde_json::from_str::<LockHolder>(&text).is_ok());
    }

    #[test]
    fn ages_read_like_durations() {
        let now = Timestamp::now();
        let ago = |seconds: i64| age(now - jiff::SignedDuration::from_secs(seconds), now);
        assert_eq!(ago(7), "7s");
        assert_eq!(ago(192), "3m 12s");
        assert_eq!(ago(7_500), "2h 5m");
        assert_eq!(ago(90_000), "1d 1h");
        assert_eq!(ago(-60), "0s");
    }

    #[test]
    fn a_missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let error =
            StateLock::acquire(&dir.path().join("no/tenant.yaml"), &options(0)).unwrap_err();
        assert_eq!(error.code, Code::Io);
        assert!(error.message.contains("tenant.yaml.lock"));
    }
}
