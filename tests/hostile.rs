//! The hostile-input corpus (`tests/hostile/`, described in its README): every file, and every
//! large or hand-edited input generated below, is run through the real binary, which must exit 1
//! with a coded diagnostic, never panic or print a backtrace, finish within [`TIME_LIMIT`] and
//! [`MEMORY_LIMIT_KIB`], and leave the tenant state file byte-for-byte as it was.
//!
//! Bounds: each run is started as `sh -c 'ulimit -v LIMIT; exec seatplan …'`, so an allocation
//! past the limit aborts the process (a signal, not exit 1, so the test fails) — `ulimit -v` is
//! POSIX sh and works wherever the tests run, unlike `prlimit`, which not every image ships. The
//! time limit is a poll on the child: past it the child is killed and the case fails.

// Tests are an edge: they set up files and spawn processes.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A safety net against a hang, not a speed requirement: the slowest case (a million-member
/// config) takes about 14 s in a debug build on a quiet 2-core machine, and several times that
/// while other builds run beside it, so the net sits far above both.
const TIME_LIMIT: Duration = Duration::from_secs(600);

/// The address space a run may use (1 GiB). Most cases use a few MiB; the largest,
/// `tenant/million-duplicate-upns.json` (a million users, 60 MB of JSON), peaks at about 580 MiB
/// resident in a debug build, and the allocator reserves address space beyond what it touches.
const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;

/// How many committed cases run at once (the generated ones run one at a time beside them: each
/// takes seconds of CPU in a debug build, and the suite must fit two cores).
const WORKERS: usize = 2;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn corpus() -> PathBuf {
    root().join("tests/hostile")
}

/// One row of the README's tables: the case, and the code expected (`ok`: must be accepted).
#[derive(Debug, Clone)]
struct Row {
    case: String,
    code: String,
}

/// Reads the rows of the table under `heading` in the corpus README.
fn table(heading: &str) -> Vec<Row> {
    let readme = std::fs::read_to_string(corpus().join("README.md")).unwrap();
    let section = readme
        .split("\n## ")
        .find(|section| section.starts_with(heading))
        .unwrap_or_else(|| panic!("README has no section `{heading}`"));
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split(" | ").collect();
            let strip = |cell: &str| {
                cell.trim_matches(|c| c == '|' || c == ' ' || c == '`')
                    .to_owned()
            };
            Row {
                case: strip(cells[0]),
                code: strip(cells[cells.len() - 1]),
            }
        })
        .collect()
}

/// What one run did.
struct Outcome {
    code: Option<i32>,
    stderr: String,
    elapsed: Duration,
}

/// Runs the binary under the memory limit, killing it past the time limit.
fn run(directory: &Path, args: &[&str]) -> Result<Outcome, String> {
    run_limited(directory, args, MEMORY_LIMIT_KIB)
}

/// Runs the binary with at most `memory_kib` of address space.
fn run_limited(directory: &Path, args: &[&str], memory_kib: u64) -> Result<Outcome, String> {
    let script = format!("ulimit -v {memory_kib} && exec \"$0\" \"$@\"");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_seatplan"))
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("RUST_BACKTRACE")
        .env_remove("SEATPLAN_TEST_PAUSE_AT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start seatplan: {error}"))?;
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut text);
        String::from_utf8_lossy(&text).into_owned()
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("killed after {TIME_LIMIT:?}: seatplan {args:?}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(Outcome {
        code: status.code(),
        stderr: reader.join().unwrap(),
        elapsed: started.elapsed(),
    })
}

/// Checks one run against the expected code; `None` when it is as expected.
fn judge(label: &str, outcome: &Outcome, expected: &str) -> Option<String> {
    let head: String = outcome.stderr.chars().take(3000).collect();
    let problem = if outcome.stderr.contains("panicked") {
        Some("panicked".to_owned())
    } else if outcome.stderr.contains("RUST_BACKTRACE")
        || outcome.stderr.contains("stack backtrace")
    {
        Some("printed a backtrace".to_owned())
    } else if expected == "ok" {
        (outcome.code != Some(0)).then(|| format!("exit {:?}, expected 0", outcome.code))
    } else if outcome.code != Some(1) {
        Some(format!("exit {:?}, expected 1", outcome.code))
    } else if !outcome.stderr.contains(&format!("seatplan::{expected}\n")) {
        Some(format!("no `seatplan::{expected}` on stderr"))
    } else {
        None
    };
    problem.map(|problem| {
        format!(
            "{label}: {problem} ({:?})\n--- stderr ---\n{head}",
            outcome.elapsed
        )
    })
}

const QUICKSTART: &str = "examples/quickstart";

/// Copies the quickstart config and tenant into `directory`.
fn quickstart_into(directory: &Path) {
    for name in ["seatplan.yaml", "tenant.yaml"] {
        std::fs::copy(root().join(QUICKSTART).join(name), directory.join(name)).unwrap();
    }
}

/// Runs one case: `file` is the input, `kind` its directory in the corpus. Returns the failures.
fn check_case(kind: &str, file: &Path, expected: &str) -> Vec<String> {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let label = format!("{kind}/{}", file.file_name().unwrap().to_string_lossy());
    let mut failures = Vec::new();
    let path = file.to_str().unwrap();
    let mut check = |args: &[&str], state: Option<(&Path, &[u8])>| {
        match run(dir, args) {
            Ok(outcome) => {
                failures.extend(judge(&format!("{label} [{}]", args[0]), &outcome, expected))
            }
            Err(error) => failures.push(format!("{label}: {error}")),
        }
        if let Some((state, before)) = state {
            if std::fs::read(state).unwrap() != before {
                failures.push(format!(
                    "{label} [{}]: the tenant state file changed",
                    args[0]
                ));
            }
        }
    };
    match kind {
        "config" => {
            quickstart_into(dir);
            let before = std::fs::read(dir.join("tenant.yaml")).unwrap();
            check(
                &[
                    "apply",
                    "--auto-approve",
                    "-c",
                    path,
                    "--state",
                    "tenant.yaml",
                ],
                Some((&dir.join("tenant.yaml"), &before)),
            );
        }
        "tenant" => {
            std::fs::write(dir.join("config.yaml"), "version: 1\n").unwrap();
            let name = file.file_name().unwrap().to_str().unwrap();
            let state = dir.join(name);
            std::fs::copy(file, &state).unwrap();
            let before = std::fs::read(&state).unwrap();
            for command in [&["plan"][..], &["apply", "--auto-approve"][..]] {
                let mut args = command.to_vec();
                args.extend(["-c", "config.yaml", "--state", name]);
                check(&args, Some((&state, &before)));
            }
        }
        "rules" => check(&["rule", "check", "--file", path], None),
        "plan" => {
            quickstart_into(dir);
            let before = std::fs::read(dir.join("tenant.yaml")).unwrap();
            check(
                &[
                    "apply",
                    path,
                    "-c",
                    "seatplan.yaml",
                    "--state",
                    "tenant.yaml",
                ],
                Some((&dir.join("tenant.yaml"), &before)),
            );
        }
        other => failures.push(format!("{label}: unknown corpus directory `{other}`")),
    }
    failures
}

/// Runs `cases` on [`WORKERS`] threads and fails with every failure at once.
fn run_all(cases: Vec<(String, PathBuf, String)>) {
    let queue = Mutex::new(cases);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let Some((kind, file, code)) = queue.lock().unwrap().pop() else {
                    return;
                };
                let found = check_case(&kind, &file, &code);
                failures.lock().unwrap().extend(found);
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(
        failures.is_empty(),
        "{} hostile case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every file of the corpus directories, relative to the corpus (`config/empty.yaml`).
fn corpus_files() -> Vec<String> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(entry.path()).unwrap() {
            let name = file.unwrap().file_name().to_string_lossy().into_owned();
            files.push(format!("{}/{name}", entry.file_name().to_string_lossy()));
        }
    }
    files.sort();
    files
}

#[test]
fn the_readme_lists_every_committed_file_and_nothing_else() {
    let listed: Vec<String> = table("Committed files")
        .into_iter()
        .map(|row| row.case)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), listed.len(), "a file is listed twice");
    assert_eq!(sorted, corpus_files());
    assert!(listed.len() >= 100, "the corpus has {} files", listed.len());
    for kind in ["config", "tenant", "rules", "plan"] {
        assert!(listed
            .iter()
            .any(|case| case.starts_with(&format!("{kind}/"))));
    }
    assert!(listed
        .iter()
        .any(|case| case.ends_with(".json") && case.starts_with("tenant/")));
}

#[test]
fn every_committed_hostile_file_is_refused_cleanly() {
    let cases = table("Committed files")
        .into_iter()
        .map(|row| {
            let kind = row.case.split('/').next().unwrap().to_owned();
            (kind, corpus().join(&row.case), row.code)
        })
        .collect();
    run_all(cases);
}

/// `count` copies of `item` joined by `separator`.
fn repeat(item: &str, separator: &str, count: usize) -> String {
    let mut text = String::with_capacity((item.len() + separator.len()) * count);
    for index in 0..count {
        if index > 0 {
            text.push_str(separator);
        }
        text.push_str(item);
    }
    text
}

/// Writes the generated input `case` (`config/huge-group-name`) into `dir` and returns its path.
fn generate(case: &str, dir: &Path) -> PathBuf {
    let name = case.split('/').nth(1).unwrap();
    let path = dir.join(if name.contains('.') {
        name.to_owned()
    } else {
        format!("{name}.yaml")
    });
    let text: String = match case {
        "config/huge-group-name" => format!(
            "version: 1\ngroups:\n  \"{}\":\n    members: []\n",
            "g".repeat(1_000_000)
        ),
        "config/million-members" => format!(
            "version: 1\ngroups:\n  \"Executives - E5\":\n    members: [{}]\n",
            repeat("a@b", ",", 1_000_000)
        ),
        "config/million-member-ids" => format!(
            "version: 1\ngroups:\n  \"Executives - E5\":\n    members: [{}]\n",
            repeat("a", ",", 1_000_000)
        ),
        "config/over-size-limit" => {
            format!("version: 1\n# {}\n", "x".repeat(9 * 1024 * 1024))
        }
        "config/million-line-comment" => {
            format!("# {}\nversion: 3\n", "y".repeat(4 * 1024 * 1024))
        }
        "tenant/million-duplicate-upns.json" => format!(
            "{{\"version\": 1, \"tenant\": {{}}, \"users\": [{}]}}",
            (0..1_000_000)
                .map(|index| format!("{{\"id\":\"00000000-0000-4000-8000-{index:012}\",\"upn\":\"a@b.c\"}}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "tenant/million-unknown-members.yaml" => format!(
            "version: 1\ntenant: {{}}\ngroups:\n  - id: cd0aa985-6147-46c5-84ff-2b7dfee5da20\n    display_name: G\n    members: [{}]\n",
            repeat("00000000-0000-4000-8000-000000000000", ",", 1_000_000)
        ),
        "tenant/million-element-list.yaml" => {
            format!("version: 1\ntenant: [{}]\n", repeat("1", ",", 1_000_000))
        }
        "tenant/huge-string.json" => format!(
            "{{\"version\": 1, \"tenant\": {{}}, \"users\": [{{\"id\": \"{}\", \"upn\": \"a@b.c\"}}]}}",
            "i".repeat(50 * 1024 * 1024)
        ),
        "tenant/over-size-limit.yaml" => {
            let file = std::fs::File::create(&path).unwrap();
            file.set_len(129 * 1024 * 1024).unwrap();
            return path;
        }
        "tenant/deep-nesting.json" => format!(
            "{{\"version\": 1, \"tenant\": {{}}, \"users\": {}{}}}",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000)
        ),
        "rules/megabyte-rule.txt" => {
            format!("(user.department -eq \"{}\")\n", "s".repeat(1_000_000))
        }
        "rules/million-parens.txt" => format!("{}\n", "(".repeat(1_000_000)),
        "config/big-scalar-aliased" => big_scalar_aliased("version: 1\ngroups:\n"),
        "tenant/big-scalar-aliased.yaml" => {
            big_scalar_aliased("version: 1\ntenant: {}\ngroups:\n")
        }
        "plan/million-changes.json" => format!(
            "{{\"format_version\": 1, \"changes\": [{}]}}",
            repeat("0", ",", 1_000_000)
        ),
        edit if edit.starts_with("plan/") => return edited_plan(edit, dir, &path),
        other => panic!("no generator for `{other}`"),
    };
    std::fs::write(&path, text).unwrap();
    path
}

/// `head`, then a 3 MB scalar under an anchor and 600 aliases of it: 1.8 GB of text if
/// expanded, in a handful of nodes.
fn big_scalar_aliased(head: &str) -> String {
    let mut text = format!("{head}  big: &big \"{}\"\n", "s".repeat(3 * 1024 * 1024));
    text.push_str("  copies: [");
    text.push_str(&repeat("*big", ", ", 600));
    text.push_str("]\n");
    text
}

/// A real plan of the quickstart (made in `dir`, where the case will run), edited as `case` says.
fn edited_plan(case: &str, dir: &Path, path: &Path) -> PathBuf {
    quickstart_into(dir);
    let made = run(
        dir,
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
            "-o",
            "made.json",
        ],
    )
    .unwrap();
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    let text = std::fs::read_to_string(dir.join("made.json")).unwrap();
    let mut plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    let edited = match case {
        "plan/edited-state-fingerprint.json" => {
            plan["state_fingerprint"] = format!("sha256:{}", "0".repeat(64)).into();
            plan.to_string()
        }
        "plan/edited-config-fingerprint.json" => {
            plan["config_fingerprint"] = format!("sha256:{}", "1".repeat(64)).into();
            plan.to_string()
        }
        "plan/edited-rejected.json" => {
            plan["summary"]["rejected"] = true.into();
            plan.to_string()
        }
        "plan/edited-format-version.json" => {
            plan["format_version"] = 2.into();
            plan.to_string()
        }
        "plan/edited-changes.json" => {
            plan["changes"].as_array_mut().unwrap().remove(0);
            plan.to_string()
        }
        "plan/edited-address.json" => {
            plan["changes"][0]["address"] = "group[\"Somebody Else\"]".into();
            plan.to_string()
        }
        "plan/edited-unknown-field.json" => {
            plan["approved_by"] = "nobody".into();
            plan.to_string()
        }
        "plan/edited-duplicate-key.json" => text.replacen(
            "\"state_fingerprint\"",
            &format!(
                "\"state_fingerprint\": \"sha256:{}\",\n  \"state_fingerprint\"",
                "2".repeat(64)
            ),
            1,
        ),
        "plan/edited-truncated.json" => text[..text.len() / 2].to_owned(),
        "plan/for-another-state.json" => {
            let tenant = dir.join("tenant.yaml");
            // Ivan joined the executives meanwhile: the plan's change to that group is moot.
            let state = std::fs::read_to_string(&tenant).unwrap().replace(
                "members: [erin@contoso.com]",
                "members: [erin@contoso.com, ivan@contoso.com]",
            );
            std::fs::write(&tenant, state).unwrap();
            text
        }
        other => panic!("no edit named `{other}`"),
    };
    std::fs::write(path, edited).unwrap();
    path.to_path_buf()
}

/// Runs a generated case in its own directory (plans need the quickstart copies next to them).
fn check_generated(case: &str, expected: &str) -> Vec<String> {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let file = generate(case, dir);
    let kind = case.split('/').next().unwrap();
    let label = case.to_owned();
    let mut failures = Vec::new();
    let file_name = file.file_name().unwrap().to_str().unwrap().to_owned();
    let outcomes: Vec<(Vec<String>, Option<PathBuf>)> = match kind {
        "config" => {
            quickstart_into(dir);
            vec![(
                vec![
                    "apply",
                    "--auto-approve",
                    "-c",
                    &file_name,
                    "--state",
                    "tenant.yaml",
                ]
                .into_iter()
                .map(str::to_owned)
                .collect(),
                Some(dir.join("tenant.yaml")),
            )]
        }
        "tenant" => {
            std::fs::write(dir.join("config.yaml"), "version: 1\n").unwrap();
            // Only `apply` (which loads exactly what `plan` loads, under the lock): these inputs
            // take seconds each in a debug build.
            [&["apply", "--auto-approve"][..]]
                .iter()
                .map(|command| {
                    let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
                    args.extend(["-c", "config.yaml", "--state", &file_name].map(str::to_owned));
                    (args, Some(file.clone()))
                })
                .collect()
        }
        "rules" => vec![(
            ["rule", "check", "--file", &file_name]
                .map(str::to_owned)
                .to_vec(),
            None,
        )],
        "plan" => {
            if !dir.join("tenant.yaml").exists() {
                quickstart_into(dir);
            }
            vec![(
                [
                    "apply",
                    &file_name,
                    "-c",
                    "seatplan.yaml",
                    "--state",
                    "tenant.yaml",
                ]
                .map(str::to_owned)
                .to_vec(),
                Some(dir.join("tenant.yaml")),
            )]
        }
        other => panic!("unknown kind `{other}`"),
    };
    for (args, state) in outcomes {
        let before = state.as_ref().map(|state| std::fs::read(state).unwrap());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match run(dir, &args) {
            Ok(outcome) => {
                failures.extend(judge(&format!("{label} [{}]", args[0]), &outcome, expected))
            }
            Err(error) => failures.push(format!("{label}: {error}")),
        }
        if let (Some(state), Some(before)) = (state, before) {
            if std::fs::read(&state).unwrap() != before {
                failures.push(format!(
                    "{label} [{}]: the tenant state file changed",
                    args[0]
                ));
            }
        }
    }
    failures
}

#[test]
fn large_and_hand_edited_inputs_are_refused_cleanly() {
    // One at a time: some of these inputs are tens of megabytes and take seconds each.
    let failures: Vec<String> = table("Generated by the test")
        .iter()
        .flat_map(|row| check_generated(&row.case, &row.code))
        .collect();
    assert!(
        failures.is_empty(),
        "{} generated case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_memory_limit_bites_and_the_corpus_is_varied() {
    let work = tempfile::tempdir().unwrap();
    quickstart_into(work.path());
    let args = ["plan", "-c", "seatplan.yaml", "--state", "tenant.yaml"];
    let outcome = run(work.path(), &args).unwrap();
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    // Under a limit too small to run in, the same command cannot pass as exit 0 or 1.
    let starved = run_limited(work.path(), &args, 8 * 1024).unwrap();
    assert!(
        !matches!(starved.code, Some(0 | 1)),
        "exit {:?} under 8 MiB: {}",
        starved.code,
        starved.stderr
    );
    let mut counts = BTreeMap::new();
    for row in table("Committed files") {
        *counts.entry(row.code).or_insert(0) += 1;
    }
    // The corpus exercises many distinct diagnostics, not one error path a hundred times.
    assert!(counts.len() >= 20, "{counts:?}");
}

/// Makes a FIFO (named pipe) at `path`.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let name = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: `name` is a valid NUL-terminated path for the duration of the call.
    assert_eq!(unsafe { libc::mkfifo(name.as_ptr(), 0o600) }, 0);
}

/// What a symbolic link or file at `path` is: its target for a link, else its bytes.
fn snapshot(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read_link(path) {
        Ok(target) => Some(format!("link to {}", target.display()).into_bytes()),
        Err(_) => std::fs::read(path).ok(),
    }
}

/// Sets up the file-system case `case` in `dir` (which holds the quickstart copies); returns the
/// command to run and the files that must not change.
#[cfg(unix)]
fn file_system_case(case: &str, dir: &Path) -> (Vec<String>, Vec<PathBuf>) {
    use std::os::unix::fs::symlink;
    let victim = dir.join("victim.txt");
    std::fs::write(&victim, "not seatplan's\n").unwrap();
    let state = dir.join("tenant.yaml");
    let apply = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["apply", "--auto-approve", "-c", "seatplan.yaml"];
        args.extend(extra);
        args.into_iter().map(str::to_owned).collect()
    };
    let with_state = || apply(&["--state", "tenant.yaml"]);
    let strings = |args: &[&str]| args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();
    let mut watched = vec![state.clone(), victim.clone()];
    let args = match case {
        "lock-symlink" | "audit-symlink" | "backup-symlink" => {
            let suffix = case.trim_end_matches("-symlink");
            let name = match suffix {
                "audit" => "tenant.yaml.audit.jsonl".to_owned(),
                other => format!("tenant.yaml.{other}"),
            };
            symlink(&victim, dir.join(&name)).unwrap();
            watched.push(dir.join(name));
            with_state()
        }
        "audit-directory" => {
            std::fs::create_dir(dir.join("tenant.yaml.audit.jsonl")).unwrap();
            with_state()
        }
        "state-symlink" => {
            std::fs::create_dir(dir.join("real")).unwrap();
            std::fs::rename(&state, dir.join("real/tenant.yaml")).unwrap();
            symlink("real/tenant.yaml", &state).unwrap();
            watched.push(dir.join("real/tenant.yaml"));
            with_state()
        }
        "foreign-lock-file" => {
            std::fs::write(dir.join("tenant.yaml.lock"), "precious notes\n").unwrap();
            watched.push(dir.join("tenant.yaml.lock"));
            with_state()
        }
        "backend-missing-state" => {
            let config = std::fs::read_to_string(dir.join("seatplan.yaml")).unwrap();
            std::fs::write(
                dir.join("seatplan.yaml"),
                format!("{config}\nbackend: {{ file: other.yaml }}\n"),
            )
            .unwrap();
            std::fs::write(dir.join("other.yaml.lock"), "precious notes\n").unwrap();
            watched.push(dir.join("other.yaml.lock"));
            apply(&[])
        }
        "backend-parent-path" | "backend-absolute-path" => {
            std::fs::create_dir(dir.join("cfg")).unwrap();
            let config = std::fs::read_to_string(dir.join("seatplan.yaml")).unwrap();
            let file = if case == "backend-parent-path" {
                "../tenant.yaml".to_owned()
            } else {
                state.display().to_string()
            };
            std::fs::write(
                dir.join("cfg/seatplan.yaml"),
                format!("{config}\nbackend: {{ file: \"{file}\" }}\n"),
            )
            .unwrap();
            strings(&["apply", "--auto-approve", "-c", "cfg/seatplan.yaml"])
        }
        "backend-link-out" => {
            std::fs::create_dir(dir.join("cfg")).unwrap();
            let config = std::fs::read_to_string(dir.join("seatplan.yaml")).unwrap();
            std::fs::write(
                dir.join("cfg/seatplan.yaml"),
                format!("{config}\nbackend: {{ file: state.yaml }}\n"),
            )
            .unwrap();
            symlink("../tenant.yaml", dir.join("cfg/state.yaml")).unwrap();
            strings(&["plan", "-c", "cfg/seatplan.yaml"])
        }
        "config-dir-link-out" => {
            std::fs::create_dir_all(dir.join("cfg")).unwrap();
            std::fs::create_dir_all(dir.join("outside")).unwrap();
            std::fs::copy(dir.join("seatplan.yaml"), dir.join("cfg/seatplan.yaml")).unwrap();
            std::fs::write(
                dir.join("outside/secret.yaml"),
                "SECRET-TOKEN-4711: [unterminated\n",
            )
            .unwrap();
            symlink("../outside/secret.yaml", dir.join("cfg/secret.yaml")).unwrap();
            watched.push(dir.join("outside/secret.yaml"));
            strings(&["validate", "-c", "cfg"])
        }
        "config-dir-link-loop" => {
            std::fs::create_dir_all(dir.join("cfg")).unwrap();
            std::fs::copy(dir.join("seatplan.yaml"), dir.join("cfg/seatplan.yaml")).unwrap();
            symlink(".", dir.join("cfg/loop")).unwrap();
            strings(&["validate", "-c", "cfg"])
        }
        "fifo-config" => {
            mkfifo(&dir.join("fifo.yaml"));
            strings(&["validate", "-c", "fifo.yaml"])
        }
        "fifo-state" => {
            mkfifo(&dir.join("fifo.yaml"));
            strings(&["plan", "-c", "seatplan.yaml", "--state", "fifo.yaml"])
        }
        "fifo-plan" => {
            mkfifo(&dir.join("plan.json"));
            let mut args = with_state();
            args.insert(1, "plan.json".to_owned());
            args
        }
        "dev-zero-config" => strings(&["validate", "-c", "/dev/zero"]),
        "dev-zero-state" => strings(&["plan", "-c", "seatplan.yaml", "--state", "/dev/zero"]),
        "dev-zero-plan" => {
            let mut args = with_state();
            args.insert(1, "/dev/zero".to_owned());
            args
        }
        "directory-state" => {
            std::fs::create_dir(dir.join("state.yaml")).unwrap();
            strings(&["plan", "-c", "seatplan.yaml", "--state", "state.yaml"])
        }
        "directory-plan" => {
            std::fs::create_dir(dir.join("plan.json")).unwrap();
            strings(&["show", "plan.json"])
        }
        "empty-state-argument" => strings(&["plan", "-c", "seatplan.yaml", "--state", ""]),
        "unknown-option" => strings(&["plan", "--bogus"]),
        "conflicting-options" => strings(&["plan", "--graph", "--state", "tenant.yaml"]),
        other => panic!("no set-up for the file-system case `{other}`"),
    };
    (args, watched)
}

#[cfg(unix)]
#[test]
fn file_system_cases_are_refused_cleanly() {
    let rows = table("File-system cases");
    assert!(rows.len() >= 20, "{} file-system cases", rows.len());
    let mut failures = Vec::new();
    for row in rows {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        quickstart_into(dir);
        let (args, watched) = file_system_case(&row.case, dir);
        let before: Vec<_> = watched.iter().map(|path| snapshot(path)).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match run(dir, &args) {
            Ok(outcome) => {
                failures.extend(judge(&row.case, &outcome, &row.code));
                if outcome.stderr.contains("SECRET-TOKEN") {
                    failures.push(format!("{}: printed the linked file's content", row.case));
                }
            }
            Err(error) => failures.push(format!("{}: {error}", row.case)),
        }
        for (path, before) in watched.iter().zip(before) {
            if snapshot(path) != before {
                failures.push(format!("{}: `{}` changed", row.case, path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} file-system case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The permission bits and owner of `path`.
#[cfg(unix)]
fn mode_and_owner(path: &Path) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).unwrap();
    (metadata.mode() & 0o7777, metadata.uid(), metadata.gid())
}

#[cfg(unix)]
#[test]
fn an_apply_keeps_the_state_files_mode_and_owner() {
    use std::os::unix::fs::PermissionsExt;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    quickstart_into(dir);
    let state = dir.join("tenant.yaml");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o600)).unwrap();
    // As root, give the file to another user, as a shared CI runner's checkout would be.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&state, Some(4242), Some(4243)).unwrap();
    }
    let expected = mode_and_owner(&state);
    let outcome = run(
        dir,
        &[
            "apply",
            "--auto-approve",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
        ],
    )
    .unwrap();
    assert_eq!(outcome.code, Some(0), "{}", outcome.stderr);
    assert_ne!(
        std::fs::read(&state).unwrap(),
        std::fs::read(root().join(QUICKSTART).join("tenant.yaml")).unwrap(),
        "the apply changed the state"
    );
    for file in [
        "tenant.yaml",
        "tenant.yaml.backup",
        "tenant.yaml.audit.jsonl",
    ] {
        assert_eq!(mode_and_owner(&dir.join(file)), expected, "{file}");
    }
}

/// Runs the binary with writes past `file_bytes` of any file failing as on a full disk
/// (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored so that the write returns an error instead).
#[cfg(unix)]
fn run_with_full_disk(directory: &Path, args: &[&str], file_bytes: u64) -> (Option<i32>, String) {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(env!("CARGO_BIN_EXE_seatplan"));
    command
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .env_remove("SEATPLAN_TEST_PAUSE_AT")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal) are made.
    unsafe {
        command.pre_exec(move || {
            let limit = libc::rlimit {
                rlim_cur: file_bytes as libc::rlim_t,
                rlim_max: libc::RLIM_INFINITY,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

const APPLY_QUICKSTART: [&str; 6] = [
    "apply",
    "--auto-approve",
    "-c",
    "seatplan.yaml",
    "--state",
    "tenant.yaml",
];

/// An audit log of unrelated lines, `bytes` long, so that its appends start far beyond the
/// state file's size and a file-size limit can fall between the intent and the outcome.
fn filler(bytes: usize) -> String {
    let line = format!("{{\"filler\":\"{}\"}}\n", "f".repeat(100));
    let mut text = line.repeat(bytes / line.len() + 1);
    text.truncate(bytes - 1);
    text.push('\n');
    text
}

#[cfg(unix)]
#[test]
fn a_full_disk_at_any_fill_level_loses_nothing_and_exit_codes_say_what_happened() {
    let old = std::fs::read(root().join(QUICKSTART).join("tenant.yaml")).unwrap();
    let scratch = tempfile::tempdir().unwrap();
    quickstart_into(scratch.path());
    let (code, stderr) = run_with_full_disk(scratch.path(), &APPLY_QUICKSTART, u64::MAX);
    assert_eq!(code, Some(0), "{stderr}");
    let new = std::fs::read(scratch.path().join("tenant.yaml")).unwrap();
    let written = std::fs::metadata(scratch.path().join("tenant.yaml.audit.jsonl"))
        .unwrap()
        .len() as usize;
    let padding = old.len().max(new.len()) + 4096;
    let mut levels: Vec<usize> = vec![0, 100, old.len() / 2, old.len() + 100, padding / 2];
    levels.extend((padding..padding + written + 128).step_by(48));
    let mut seen = BTreeMap::new();
    for level in levels {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        quickstart_into(dir);
        let audit = dir.join("tenant.yaml.audit.jsonl");
        std::fs::write(&audit, filler(padding)).unwrap();
        let (code, stderr) = run_with_full_disk(dir, &APPLY_QUICKSTART, level as u64);
        assert!(!stderr.contains("panicked"), "level {level}: {stderr}");
        let state = std::fs::read(dir.join("tenant.yaml")).unwrap();
        let log = std::fs::read_to_string(&audit).unwrap();
        let (entries, outcomes) = seatplan::backend::read_log(&log);
        *seen.entry(code).or_insert(0) += 1;
        match code {
            Some(1) => {
                assert_eq!(state, old, "level {level}: exit 1 but the state changed");
                assert!(stderr.contains("seatplan::"), "level {level}: {stderr}");
            }
            Some(3) => {
                assert_eq!(state, new, "level {level}: exit 3 without the new state");
                assert_eq!(
                    entries.len(),
                    3,
                    "level {level}: the intent is not in the log"
                );
                assert!(outcomes.is_empty(), "level {level}");
                assert!(
                    stderr.contains("seatplan::write"),
                    "level {level}: {stderr}"
                );
                // The next apply, with room again, reports the missing outcome and records it.
                let (code, stderr) = run_with_full_disk(dir, &APPLY_QUICKSTART, u64::MAX);
                assert_eq!(code, Some(0), "level {level}: {stderr}");
                assert!(
                    stderr.contains("seatplan::unfinished-apply")
                        && stderr.contains("its changes were made"),
                    "level {level}: {stderr}"
                );
                let log = std::fs::read_to_string(&audit).unwrap();
                let (_, outcomes) = seatplan::backend::read_log(&log);
                assert_eq!(
                    outcomes.last().map(|outcome| outcome.outcome),
                    Some(seatplan::backend::Outcome::FoundApplied),
                    "level {level}"
                );
            }
            Some(0) => {
                assert_eq!(state, new, "level {level}");
                assert_eq!((entries.len(), outcomes.len()), (3, 1), "level {level}");
            }
            other => panic!("level {level}: exit {other:?}: {stderr}"),
        }
    }
    for code in [Some(0), Some(1), Some(3)] {
        assert!(
            seen.contains_key(&code),
            "no level gave exit {code:?}: {seen:?}"
        );
    }
}

/// Starts an apply that pauses at `point` and kills it there.
#[cfg(unix)]
fn kill_apply_at(dir: &Path, point: &str) {
    let marker = dir.join(format!("tenant.yaml.paused-{point}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_seatplan"))
        .args(APPLY_QUICKSTART)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("SEATPLAN_TEST_PAUSE_AT", point)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("apply ended ({status}) before pausing at {point}");
        }
        assert!(
            started.elapsed() < TIME_LIMIT,
            "apply never paused at {point}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_file(marker).unwrap();
}

#[cfg(unix)]
#[test]
fn a_kill_between_the_intent_and_the_outcome_loses_no_record() {
    let old = std::fs::read(root().join(QUICKSTART).join("tenant.yaml")).unwrap();
    for (point, made) in [("after-rename", true), ("after-intent", false)] {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path();
        quickstart_into(dir);
        kill_apply_at(dir, point);
        let audit = dir.join("tenant.yaml.audit.jsonl");
        let (entries, outcomes) =
            seatplan::backend::read_log(&std::fs::read_to_string(&audit).unwrap());
        assert_eq!((entries.len(), outcomes.len()), (3, 0), "{point}");
        assert_eq!(
            std::fs::read(dir.join("tenant.yaml")).unwrap() != old,
            made,
            "{point}"
        );

        let outcome = run(dir, &APPLY_QUICKSTART).unwrap();
        assert_eq!(outcome.code, Some(0), "{point}: {}", outcome.stderr);
        assert!(
            outcome.stderr.contains("seatplan::unfinished-apply"),
            "{point}: {}",
            outcome.stderr
        );
        let said = if made {
            "its changes were made"
        } else {
            "recorded changes were not made"
        };
        assert!(outcome.stderr.contains(said), "{point}: {}", outcome.stderr);
        let (_, outcomes) = seatplan::backend::read_log(&std::fs::read_to_string(&audit).unwrap());
        let expected = if made {
            seatplan::backend::Outcome::FoundApplied
        } else {
            seatplan::backend::Outcome::FoundNotApplied
        };
        assert_eq!(
            outcomes.first().map(|outcome| outcome.outcome),
            Some(expected)
        );
        // Reported once: the log is whole again.
        let again = run(dir, &APPLY_QUICKSTART).unwrap();
        assert!(
            !again.stderr.contains("unfinished-apply"),
            "{}",
            again.stderr
        );
    }
}

#[test]
fn refusals_at_the_edges_render_as_coded_diagnostics() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    for name in ["python-object-tag.yaml", "null-group-key.yaml"] {
        std::fs::copy(corpus().join("config").join(name), dir.join(name)).unwrap();
    }
    let mut rendered = String::new();
    for args in [
        &["validate", "-c", "python-object-tag.yaml"][..],
        &["validate", "-c", "null-group-key.yaml"],
        &["validate", "-c", "/dev/zero"],
        &["plan", "--state", ""],
    ] {
        let outcome = run(dir, args).unwrap();
        assert_eq!(outcome.code, Some(1), "{args:?}: {}", outcome.stderr);
        rendered.push_str(&format!(
            "$ seatplan {}\n{}\n",
            args.join(" "),
            outcome.stderr
        ));
    }
    insta::assert_snapshot!("edge_refusals", rendered);
}
