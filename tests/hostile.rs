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
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A safety net against a hang, not a speed requirement: the slowest case (a million-member
/// config) takes about 14 s in a debug build on a quiet 2-core machine, and several times that
/// while other builds run beside it, so the net sits far above both.
const TIME_LIMIT: Duration = Duration::from_secs(600);

/// The address space a run may use (1 GiB; seatplan uses well under 200 MiB on these inputs).
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
                .map(|index| format!("{{\"id\":\"{index}\",\"upn\":\"a@b.c\"}}"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        "tenant/million-unknown-members.yaml" => format!(
            "version: 1\ntenant: {{}}\ngroups:\n  - id: g\n    display_name: G\n    members: [{}]\n",
            repeat("x", ",", 1_000_000)
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
