//! Crash and concurrency tests of the file backend with real processes. This test binary runs
//! itself as a child (`child_commit`, ignored in normal runs) that takes the lock, reads the
//! state, adds one seat to the first subscription and commits it. The tests kill children at
//! each pause point of a commit (`SEATPLAN_TEST_PAUSE_AT`), race several of them, and check
//! that the state file is always whole, every update lands, and a lock left by a killed child
//! is explained.

// Tests are an edge: they set up files, read the environment and print from the child.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use seatplan::backend::fault::{pause_marker, PausePoint, PAUSE_ENV};
use seatplan::backend::{
    audit_path, backup_path, lock_path, processing_summary, render_state, AuditEntry, AuditRecord,
    LockOptions, StateFile, StateLock,
};
use seatplan::diag::{Code, Diagnostic, Severity};
use seatplan::source::Sources;
use seatplan::tenant::parse::Format;
use seatplan::tenant::TenantState;

const STATE: &str = "version: 1\ntenant: { id: t, default_usage_location: US }\nsubscriptions:\n  - { sku: ENTERPRISEPACK, enabled: 10 }\nusers:\n  - { id: u1, upn: ann@contoso.com }\n";

/// The child's inputs, passed in the environment.
const CHILD_STATE: &str = "SEATPLAN_BACKEND_CHILD_STATE";
const CHILD_TIMEOUT_MS: &str = "SEATPLAN_BACKEND_CHILD_TIMEOUT_MS";
const CHILD_HOLD_MS: &str = "SEATPLAN_BACKEND_CHILD_HOLD_MS";

/// The child's exit codes.
const EXIT_LOCK: i32 = 3;
const EXIT_OTHER: i32 = 4;

/// The change every child makes: one more seat of the first subscription.
fn add_a_seat(state: &TenantState) -> TenantState {
    let mut state = state.clone();
    state.subscriptions[0].enabled += 1;
    state
}

fn show(diagnostic: &Diagnostic) -> String {
    let mut text = format!(
        "{} {}: {}\n",
        diagnostic.severity.as_str(),
        diagnostic.code.as_str(),
        diagnostic.message
    );
    for note in &diagnostic.notes {
        text.push_str(&format!("  note: {note}\n"));
    }
    if let Some(help) = &diagnostic.help {
        text.push_str(&format!("  help: {help}\n"));
    }
    text
}

fn fail(code: i32, diagnostic: &Diagnostic) -> ! {
    eprint!("{}", show(diagnostic));
    std::process::exit(code)
}

/// The child process: one locked read-modify-commit of the state named by `CHILD_STATE`. Run only
/// by the tests below (it does nothing without that variable).
#[test]
#[ignore = "run as a child process by the crash and concurrency tests"]
fn child_commit() {
    let Some(path) = std::env::var_os(CHILD_STATE).map(PathBuf::from) else {
        return;
    };
    let millis = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .map_or(Duration::from_millis(default), Duration::from_millis)
    };
    let options = LockOptions {
        timeout: millis(CHILD_TIMEOUT_MS, 10_000),
        command: "backend-test child_commit".to_owned(),
    };
    let mut acquired =
        StateLock::acquire(&path, &options).unwrap_or_else(|error| fail(EXIT_LOCK, &error));
    if let Some(stale) = &acquired.stale {
        eprint!("{}", show(stale));
    }
    let current = StateFile::read(&path).unwrap_or_else(|error| fail(EXIT_OTHER, &error));
    let (state, _) = current
        .parse(&mut Sources::new())
        .unwrap_or_else(|problems| fail(EXIT_OTHER, &problems.0[0]));
    std::thread::sleep(millis(CHILD_HOLD_MS, 0));
    let new_state = add_a_seat(&state);
    let record = AuditRecord {
        time: jiff::Timestamp::now(),
        actor: format!("child-{}", std::process::id()),
        address: "subscription[\"ENTERPRISEPACK\"]".to_owned(),
        action: "update".to_owned(),
        before: serde_json::json!({ "enabled": state.subscriptions[0].enabled }),
        after: serde_json::json!({ "enabled": new_state.subscriptions[0].enabled }),
        summary: processing_summary(1, 0),
    };
    let committed = current
        .commit(&mut acquired.lock, &new_state, &[record])
        .unwrap_or_else(|error| fail(EXIT_OTHER, &error));
    println!("committed {}", committed.fingerprint);
}

fn child(state: &Path, env: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "child_commit",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env(CHILD_STATE, state)
        .env_remove(PAUSE_ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().unwrap()
}

fn finish(child: Child) -> (i32, String) {
    let Output { status, stderr, .. } = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.yaml");
    std::fs::write(&path, STATE).unwrap();
    (dir, path)
}

fn parse(text: &str) -> TenantState {
    let (state, _) =
        seatplan::tenant::parse::parse_state(seatplan::source::SourceId(0), text, Format::Yaml)
            .unwrap();
    state
}

fn seats(path: &Path) -> u64 {
    parse(&std::fs::read_to_string(path).unwrap()).subscriptions[0].enabled
}

fn audit_entries(state: &Path) -> Vec<AuditEntry> {
    match std::fs::read_to_string(audit_path(state)) {
        Ok(text) => text
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Every apply starts from the state the previous one wrote.
fn assert_chained(entries: &[AuditEntry], current: &Path) {
    for pair in entries.windows(2) {
        assert_eq!(pair[1].state_before, pair[0].state_after, "{entries:#?}");
    }
    if let Some(last) = entries.last() {
        assert_eq!(
            last.state_after,
            StateFile::read(current).unwrap().fingerprint()
        );
    }
}

/// Waits until `path` exists (or its content satisfies `ready`), failing if the child exits.
fn wait_for(child: &mut Child, path: &Path, ready: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if std::fs::read_to_string(path).is_ok_and(|text| ready(&text)) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child exited ({status}) before `{}`", path.display());
        }
        assert!(
            Instant::now() < deadline,
            "timed out on `{}`",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect()
}

#[test]
fn a_commit_killed_at_any_step_leaves_the_old_or_the_new_state_and_the_next_apply_explains() {
    for point in PausePoint::ALL {
        let (dir, path) = setup();
        let old = STATE.to_owned();
        let new = render_state(&add_a_seat(&parse(STATE)), Format::Yaml).unwrap();

        let mut killed = child(&path, &[(PAUSE_ENV, point.name().to_owned())]);
        let killed_pid = killed.id();
        wait_for(&mut killed, &pause_marker(&path, point), |_| true);
        killed.kill().unwrap();
        killed.wait().unwrap();

        // Compared as text so that a failure shows it; invalid UTF-8 would not equal either.
        let now = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let renamed = matches!(point, PausePoint::AfterRename | PausePoint::AfterAudit);
        assert_eq!(
            &now,
            if renamed { &new } else { &old },
            "killed {}",
            point.name()
        );
        let now_state = parse(&now);
        if point != PausePoint::AfterLock {
            assert_eq!(std::fs::read_to_string(backup_path(&path)).unwrap(), old);
        }
        let audited = usize::from(point == PausePoint::AfterAudit);
        assert_eq!(
            audit_entries(&path).len(),
            audited,
            "killed {}",
            point.name()
        );
        assert_eq!(
            temporaries(dir.path()).len(),
            usize::from(point == PausePoint::AfterTempWrite),
            "killed {}",
            point.name()
        );

        // The next apply takes the lock over, explains what the killed one did, and converges.
        let (code, stderr) = finish(child(&path, &[]));
        assert_eq!(code, 0, "after {}: {stderr}", point.name());
        assert!(stderr.contains("warning stale-lock"), "{stderr}");
        assert!(
            stderr.contains(&format!("left by pid {killed_pid}")),
            "{stderr}"
        );
        assert!(stderr.contains("s ago)"), "{stderr}");
        let expected = match point {
            PausePoint::AfterLock => "it had not written anything yet",
            PausePoint::AfterBackup | PausePoint::AfterTempWrite => {
                "either the old version or the new one"
            }
            PausePoint::AfterRename => "its audit records may be missing",
            PausePoint::AfterAudit => "only the release of the lock was left",
        };
        assert!(stderr.contains(expected), "{}: {stderr}", point.name());
        if cfg!(target_os = "linux") {
            assert!(stderr.contains("is no longer running"), "{stderr}");
        }
        assert!(temporaries(dir.path()).is_empty(), "{stderr}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            render_state(&add_a_seat(&now_state), Format::Yaml).unwrap()
        );
        assert_eq!(audit_entries(&path).len(), audited + 1);
        assert_chained(&audit_entries(&path), &path);
        assert_eq!(std::fs::read(lock_path(&path)).unwrap(), b"");
    }
}

#[test]
fn a_lock_left_by_a_killed_apply_is_detected_and_explained() {
    let (_dir, path) = setup();
    let mut killed = child(&path, &[(CHILD_HOLD_MS, "60000".to_owned())]);
    let pid = killed.id();
    wait_for(&mut killed, &lock_path(&path), |text| {
        text.contains(&format!("\"pid\": {pid}"))
    });
    killed.kill().unwrap();
    killed.wait().unwrap();

    let acquired = StateLock::acquire(&path, &LockOptions::default()).unwrap();
    let stale = acquired.stale.expect("a stale-lock warning");
    assert_eq!(stale.code, Code::StaleLock);
    assert_eq!(stale.severity, Severity::Warning);
    assert!(
        stale.message.contains(&format!(
            "left by pid {pid}, running `backend-test child_commit` since"
        )) || stale
            .message
            .contains(&format!("left by pid {pid} on host")),
        "{}",
        stale.message
    );
    assert!(stale.message.contains("s ago)"), "{}", stale.message);
    assert!(stale
        .help
        .as_deref()
        .unwrap()
        .contains("nothing needs clearing"));
    if cfg!(target_os = "linux") {
        assert!(
            stale.notes[0].contains(&format!("process {pid} is no longer running")),
            "{:?}",
            stale.notes
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), STATE);
    assert_eq!(acquired.lock.holder().pid, std::process::id());
}

#[test]
fn a_second_apply_waits_for_the_first_and_both_changes_land() {
    let (_dir, path) = setup();
    let mut first = child(&path, &[(CHILD_HOLD_MS, "1000".to_owned())]);
    let pid = first.id();
    wait_for(&mut first, &lock_path(&path), |text| {
        text.contains(&format!("\"pid\": {pid}"))
    });
    let second = child(&path, &[(CHILD_TIMEOUT_MS, "30000".to_owned())]);
    let (first_code, first_stderr) = finish(first);
    let (second_code, second_stderr) = finish(second);
    assert_eq!(first_code, 0, "{first_stderr}");
    assert_eq!(second_code, 0, "{second_stderr}");
    assert!(!second_stderr.contains("stale-lock"), "{second_stderr}");
    assert_eq!(seats(&path), 12);
    let entries = audit_entries(&path);
    assert_eq!(entries.len(), 2);
    assert_chained(&entries, &path);
}

#[test]
fn a_second_apply_that_cannot_wait_fails_naming_the_holder() {
    let (_dir, path) = setup();
    let mut first = child(&path, &[(CHILD_HOLD_MS, "3000".to_owned())]);
    let pid = first.id();
    wait_for(&mut first, &lock_path(&path), |text| {
        text.contains(&format!("\"pid\": {pid}"))
    });
    let (second_code, second_stderr) =
        finish(child(&path, &[(CHILD_TIMEOUT_MS, "300".to_owned())]));
    assert_eq!(second_code, EXIT_LOCK, "{second_stderr}");
    assert!(
        second_stderr.contains("error state-locked: `"),
        "{second_stderr}"
    );
    assert!(
        second_stderr.contains(&format!("is locked by another apply: pid {pid}")),
        "{second_stderr}"
    );
    assert!(second_stderr.contains("s ago)"), "{second_stderr}");
    assert!(
        second_stderr.contains(&format!("kill {pid}")),
        "{second_stderr}"
    );
    let (first_code, first_stderr) = finish(first);
    assert_eq!(first_code, 0, "{first_stderr}");
    assert_eq!(seats(&path), 11);
    assert_eq!(audit_entries(&path).len(), 1);
}

#[test]
fn concurrent_applies_lose_no_update() {
    let (_dir, path) = setup();
    let children: Vec<Child> = (0..4)
        .map(|_| child(&path, &[(CHILD_TIMEOUT_MS, "60000".to_owned())]))
        .collect();
    for child in children {
        let (code, stderr) = finish(child);
        assert_eq!(code, 0, "{stderr}");
    }
    assert_eq!(seats(&path), 14);
    let entries = audit_entries(&path);
    assert_eq!(entries.len(), 4);
    assert_chained(&entries, &path);
    let mut actors: Vec<_> = entries.iter().map(|entry| &entry.record.actor).collect();
    actors.sort();
    actors.dedup();
    assert_eq!(actors.len(), 4);
}
