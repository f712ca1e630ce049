//! Crash safety, concurrency and round trips of the real `seatplan apply` on the file backend:
//! the binary is killed (SIGKILL) at each pause point of its commit (`SEATPLAN_TEST_PAUSE_AT`),
//! raced against a second apply, and checked to converge — after an apply, or an export, the
//! next plan is empty, and loading then saving a state file loses no field.

// Tests are an edge: they set up files and spawn processes.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use seatplan::backend::fault::{pause_marker, PausePoint, PAUSE_ENV};
use seatplan::backend::{audit_path, lock_path, read_log, render_state, AuditEntry};
use seatplan::source::SourceId;
use seatplan::tenant::parse::{parse_state, Format};

const QUICKSTART: &str = "examples/quickstart";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The binary as a command in `dir`, colors off, no pause unless asked.
fn seatplan(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seatplan"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove(PAUSE_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs to the end: exit code and stderr.
fn finish(child: Child) -> (i32, String) {
    let Output { status, stderr, .. } = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (status.code().unwrap_or(-1), stderr)
}

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    finish(seatplan(dir, args).spawn().unwrap())
}

const APPLY: [&str; 6] = [
    "apply",
    "--auto-approve",
    "-c",
    "seatplan.yaml",
    "--state",
    "tenant.yaml",
];
const PLAN: [&str; 6] = [
    "plan",
    "--detailed-exitcode",
    "-c",
    "seatplan.yaml",
    "--state",
    "tenant.yaml",
];

/// A temporary directory holding copies of the quickstart config and tenant.
fn quickstart() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["seatplan.yaml", "tenant.yaml"] {
        std::fs::copy(root().join(QUICKSTART).join(name), dir.path().join(name)).unwrap();
    }
    dir
}

/// The tenant file after one uninterrupted apply of the quickstart.
fn applied_once() -> Vec<u8> {
    let dir = quickstart();
    let (code, stderr) = run(dir.path(), &APPLY);
    assert_eq!(code, 0, "{stderr}");
    std::fs::read(dir.path().join("tenant.yaml")).unwrap()
}

fn wait_for(child: &mut Child, path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !path.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply exited ({status}) before `{}`", path.display());
        }
        assert!(
            Instant::now() < deadline,
            "timed out on `{}`",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The change entries of the audit log (its outcome lines left out).
fn audit(state: &Path) -> Vec<AuditEntry> {
    std::fs::read_to_string(audit_path(state))
        .map(|text| read_log(&text).0)
        .unwrap_or_default()
}

/// Every apply in the log starts from the state the previous one wrote.
fn assert_chained(entries: &[AuditEntry]) {
    for pair in entries.windows(2) {
        if pair[0].state_after != pair[1].state_after {
            assert_eq!(pair[1].state_before, pair[0].state_after, "{entries:#?}");
        }
    }
}

#[test]
fn apply_killed_at_any_step_leaves_old_or_new_state_and_converges() {
    let old = std::fs::read(root().join(QUICKSTART).join("tenant.yaml")).unwrap();
    let new = applied_once();
    assert_ne!(old, new, "the quickstart apply changes the tenant");
    // Applying is deterministic: the expected "new" version is well defined.
    assert_eq!(applied_once(), new);
    for point in PausePoint::ALL {
        let dir = quickstart();
        let state = dir.path().join("tenant.yaml");
        let mut child = seatplan(dir.path(), &APPLY)
            .env(PAUSE_ENV, point.name())
            .spawn()
            .unwrap();
        let pid = child.id();
        wait_for(&mut child, &pause_marker(&state, point));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let now = std::fs::read(&state).unwrap();
        let renamed = matches!(point, PausePoint::AfterRename | PausePoint::AfterAudit);
        assert!(
            now == if renamed { new.clone() } else { old.clone() },
            "killed {}: the state is neither the expected old nor new version",
            point.name()
        );

        // A plan reads the state without the lock and says whether anything is left to do.
        let (code, stderr) = run(dir.path(), &PLAN);
        assert_eq!(
            code,
            if renamed { 0 } else { 2 },
            "{}: {stderr}",
            point.name()
        );

        // The next apply explains the lock the killed one left, then finishes the job.
        let (code, stderr) = run(dir.path(), &APPLY);
        assert_eq!(code, 0, "{}: {stderr}", point.name());
        assert!(stderr.contains("seatplan::stale-lock"), "{stderr}");
        assert!(stderr.contains(&format!("pid {pid}")), "{stderr}");
        assert!(stderr.contains("s ago)"), "{stderr}");
        assert!(stderr.contains("help:"), "{stderr}");
        assert_eq!(std::fs::read(&state).unwrap(), new, "{}", point.name());
        let (code, stderr) = run(dir.path(), &PLAN);
        assert_eq!(code, 0, "{} did not converge: {stderr}", point.name());
        assert_eq!(std::fs::read(lock_path(&state)).unwrap(), b"");
        assert_chained(&audit(&state));
    }
}

/// A second config, changing what the quickstart config does not manage: a group's description.
const VISIO: &str =
    "version: 1\ngroups:\n  \"Visio Users\":\n    description: Designers who draw the network diagrams\n";

#[test]
fn a_second_apply_fails_naming_the_holder_or_waits_and_no_update_is_lost() {
    let dir = quickstart();
    std::fs::write(dir.path().join("visio.yaml"), VISIO).unwrap();
    let state = dir.path().join("tenant.yaml");
    let visio_apply = [
        "apply",
        "--auto-approve",
        "-c",
        "visio.yaml",
        "--state",
        "tenant.yaml",
    ];

    // While one apply holds the lock, an impatient one fails with the holder's pid.
    let mut holder = seatplan(dir.path(), &APPLY)
        .env(PAUSE_ENV, PausePoint::AfterLock.name())
        .spawn()
        .unwrap();
    let pid = holder.id();
    wait_for(&mut holder, &pause_marker(&state, PausePoint::AfterLock));
    let mut impatient = visio_apply.to_vec();
    impatient.extend(["--lock-timeout", "1"]);
    let (code, stderr) = run(dir.path(), &impatient);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("seatplan::state-locked"), "{stderr}");
    assert!(stderr.contains(&format!("pid {pid}")), "{stderr}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        std::fs::read(root().join(QUICKSTART).join("tenant.yaml")).unwrap()
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    std::fs::remove_file(pause_marker(&state, PausePoint::AfterLock)).unwrap();

    // Two applies at once with different configs: one waits for the other, both land. The wait
    // is a safety net far above what a busy machine needs, so the test never depends on load.
    let patient = ["--lock-timeout", "600"];
    let first = seatplan(dir.path(), &APPLY).args(patient).spawn().unwrap();
    let second = seatplan(dir.path(), &visio_apply)
        .args(patient)
        .spawn()
        .unwrap();
    let (first_code, first_stderr) = finish(first);
    let (second_code, second_stderr) = finish(second);
    assert_eq!(first_code, 0, "{first_stderr}");
    assert_eq!(second_code, 0, "{second_stderr}");
    let (code, stderr) = run(dir.path(), &PLAN);
    assert_eq!(code, 0, "the quickstart's changes were lost: {stderr}");
    let mut visio_plan = vec!["plan", "--detailed-exitcode"];
    visio_plan.extend(&visio_apply[2..]);
    let (code, stderr) = run(dir.path(), &visio_plan);
    assert_eq!(code, 0, "the Visio change was lost: {stderr}");
    let entries = audit(&state);
    assert!(entries
        .iter()
        .any(|entry| entry.record.address == "group[\"Visio Users\"]"));
    assert!(entries
        .iter()
        .any(|entry| entry.record.address == "group[\"Executives - E5\"]"));
    assert_chained(&entries);
    assert_eq!(
        entries.last().unwrap().state_after,
        seatplan::backend::fingerprint(&std::fs::read(&state).unwrap())
    );
}

/// The fixtures with a config and a tenant: the quickstart and every `tests/fixtures/codes/` case.
fn fixtures() -> Vec<PathBuf> {
    let mut dirs = vec![root().join(QUICKSTART)];
    let codes = root().join("tests/fixtures/codes");
    for entry in std::fs::read_dir(codes).unwrap() {
        let path = entry.unwrap().path();
        if path.join("seatplan.yaml").exists() && path.join("tenant.yaml").exists() {
            dirs.push(path);
        }
    }
    dirs.sort();
    dirs
}

fn copy_fixture(fixture: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["seatplan.yaml", "tenant.yaml"] {
        std::fs::copy(fixture.join(name), dir.path().join(name)).unwrap();
    }
    dir
}

#[test]
fn export_then_plan_is_empty_for_every_fixture() {
    for fixture in fixtures() {
        let dir = copy_fixture(&fixture);
        let (code, stderr) = run(
            dir.path(),
            &["export", "--state", "tenant.yaml", "-o", "exported.yaml"],
        );
        assert_eq!(code, 0, "{}: {stderr}", fixture.display());
        let (code, stderr) = run(
            dir.path(),
            &[
                "plan",
                "--detailed-exitcode",
                "-c",
                "exported.yaml",
                "--state",
                "tenant.yaml",
            ],
        );
        assert_eq!(
            code,
            0,
            "{}: the exported config plans changes:\n{stderr}",
            fixture.display()
        );
    }
}

#[test]
fn apply_then_plan_is_empty_for_every_fixture_that_applies() {
    let mut applied = 0;
    for fixture in fixtures() {
        let dir = copy_fixture(&fixture);
        let before = std::fs::read(dir.path().join("tenant.yaml")).unwrap();
        let (code, stderr) = run(dir.path(), &APPLY);
        if code != 0 {
            // A rejected plan must not have touched the state.
            assert_eq!(code, 1, "{}: {stderr}", fixture.display());
            assert_eq!(
                std::fs::read(dir.path().join("tenant.yaml")).unwrap(),
                before,
                "{}: a rejected apply changed the state",
                fixture.display()
            );
            continue;
        }
        applied += 1;
        let (code, stderr) = run(dir.path(), &PLAN);
        assert_eq!(
            code,
            0,
            "{}: plan after apply is not empty:\n{stderr}",
            fixture.display()
        );
    }
    assert!(applied >= 3, "only {applied} fixtures applied");
}

#[test]
fn loading_then_saving_a_state_file_loses_no_field() {
    for fixture in fixtures() {
        let text = std::fs::read_to_string(fixture.join("tenant.yaml")).unwrap();
        let (state, _) = parse_state(SourceId(0), &text, Format::Yaml).unwrap();
        let original = seatplan::yaml::parse_document(SourceId(0), &text, Default::default())
            .unwrap()
            .value;
        for format in [Format::Yaml, Format::Json] {
            let saved = render_state(&state, format).unwrap();
            let (again, _) = parse_state(SourceId(0), &saved, format)
                .unwrap_or_else(|problems| panic!("{}: {problems:?}", fixture.display()));
            assert_eq!(again, state, "{} {format:?}", fixture.display());
            // Every field written in the file is still there after saving (defaults may be
            // added, nothing may be dropped).
            let resaved: serde_json::Value = match format {
                Format::Json => serde_json::from_str(&saved).unwrap(),
                Format::Yaml => {
                    seatplan::yaml::parse_document(SourceId(0), &saved, Default::default())
                        .unwrap()
                        .value
                }
            };
            assert_contains(&resaved, &original, &fixture.display().to_string());
        }
    }
}

/// Every member of `expected` is in `actual` with the same value (`actual` may have more keys).
fn assert_contains(actual: &serde_json::Value, expected: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (actual, expected) {
        (Value::Object(actual), Value::Object(expected)) => {
            for (key, value) in expected {
                let Some(found) = actual.get(key) else {
                    // An empty list may be left out when saving; anything else is lost data.
                    assert!(
                        value.as_array().is_some_and(Vec::is_empty),
                        "{at}/{key} was lost"
                    );
                    continue;
                };
                assert_contains(found, value, &format!("{at}/{key}"));
            }
        }
        (Value::Array(actual), Value::Array(expected)) => {
            assert_eq!(actual.len(), expected.len(), "{at}");
            for (index, (found, value)) in actual.iter().zip(expected).enumerate() {
                assert_contains(found, value, &format!("{at}/{index}"));
            }
        }
        _ => assert_eq!(actual, expected, "{at}"),
    }
}
