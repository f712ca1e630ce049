//! End-to-end tests of `seatplan plan`, `show`, `export` and `rule diff` on the real binary:
//! every diagnostic code on its smallest fixture (tests/fixtures/codes/<code>/), the quickstart in all
//! three formats, exit codes, migrations, and export round trips.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod common;

use std::fs;
use std::path::Path;

use common::{assert_no_panic, redact, seatplan, seatplan_in};
use seatplan::diag::Code;

/// A code fixture's `args` file (the format is described in tests/fixtures/codes/README.md).
struct FixtureSpec {
    /// The command line after `seatplan`.
    args: Vec<String>,
    /// The exit code the run must end with.
    exit: i32,
    /// Environment variables set for the run.
    env: Vec<(String, String)>,
    /// Symbolic links made in the copy before the run: (link, target).
    links: Vec<(String, String)>,
}

/// Reads a fixture's `args` file.
fn fixture_spec(directory: &Path) -> FixtureSpec {
    let text = fs::read_to_string(directory.join("args")).expect("fixture has an args file");
    let mut lines = text.lines();
    let args = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let exit = lines
        .next()
        .and_then(|line| line.strip_prefix("exit "))
        .and_then(|code| code.trim().parse().ok())
        .expect("args file's second line is `exit N`");
    let mut spec = FixtureSpec {
        args,
        exit,
        env: Vec::new(),
        links: Vec::new(),
    };
    for line in lines.filter(|line| !line.trim().is_empty()) {
        match line.split_once(' ') {
            Some(("env", assignment)) => {
                let (name, value) = assignment
                    .split_once('=')
                    .expect("`env NAME=VALUE` in an args file");
                spec.env.push((name.to_owned(), value.to_owned()));
            }
            Some(("link", paths)) => {
                let (link, target) = paths
                    .split_once(' ')
                    .expect("`link LINK TARGET` in an args file");
                spec.links.push((link.to_owned(), target.to_owned()));
            }
            _ => panic!("{}: unknown line in args: {line}", directory.display()),
        }
    }
    spec
}

/// Copies the fixture's files (every file but `args`) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            fs::create_dir(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else if entry.file_name() != "args" {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Runs a code fixture in a copy of its directory (so that `apply` and `import` may write):
/// returns the expected and the actual exit code, stdout and stderr.
fn run_fixture(directory: &Path) -> (i32, i32, String, String) {
    let spec = fixture_spec(directory);
    let scratch = tempfile::tempdir().unwrap();
    copy_tree(directory, scratch.path());
    for (link, target) in &spec.links {
        std::os::unix::fs::symlink(target, scratch.path().join(link)).unwrap();
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_seatplan"));
    command
        .args(&spec.args)
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .stdin(std::process::Stdio::null());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SEATPLAN_") {
            command.env_remove(name);
        }
    }
    command.envs(spec.env.iter().map(|(name, value)| (name, value)));
    let output = command.output().expect("the seatplan binary runs");
    let run = common::Run {
        code: output.status.code().unwrap_or(-1),
        stdout: redact(&String::from_utf8_lossy(&output.stdout), scratch.path()),
        stderr: redact(&String::from_utf8_lossy(&output.stderr), scratch.path()),
    };
    assert_no_panic(&run);
    (spec.exit, run.code, run.stdout, run.stderr)
}

/// A code that no fixture of files can produce says why in its folder's README.md, with a line
/// `Covered by: `tests/FILE.rs` `TEST``: that test must exist and name the code.
fn check_explanation(code: &str, readme: &Path) {
    let text = fs::read_to_string(readme).unwrap();
    let line = text
        .lines()
        .find_map(|line| line.strip_prefix("Covered by: "))
        .unwrap_or_else(|| panic!("{code}: README.md has no `Covered by: ` line"));
    let quoted: Vec<&str> = line.split('`').skip(1).step_by(2).collect();
    let [file, test] = quoted[..] else {
        panic!("{code}: `Covered by: ` names a file and a test, each in backquotes: {line}");
    };
    let source = fs::read_to_string(file).unwrap_or_else(|_| panic!("{code}: no file {file}"));
    let start = source
        .find(&format!("fn {test}("))
        .unwrap_or_else(|| panic!("{code}: {file} has no test `{test}`"));
    let body = &source[start..];
    let body = &body[..body.find("\n}\n").map_or(body.len(), |end| end + 2)];
    let variant = format!("Code::{}", heck_upper_camel(code));
    assert!(
        body.contains(code) || body.contains(&variant),
        "{code}: `{test}` in {file} does not name the code"
    );
    assert!(
        text.lines().filter(|line| !line.trim().is_empty()).count() >= 3,
        "{code}: README.md explains why there is no fixture"
    );
}

/// `state-changed` → `StateChanged`.
fn heck_upper_camel(code: &str) -> String {
    code.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Ages, request ids and process ids that differ from run to run.
fn stable(text: &str) -> String {
    let age = regex::Regex::new(r"\((?:\d+[dhms] ?)+ ago\)").unwrap();
    // The id may be wrapped at one of its hyphens onto the next line of the message.
    let request =
        regex::Regex::new(r"client-request-id [0-9a-f-]+(?:\n *│ [0-9a-f-]+)?\)").unwrap();
    let temporary = regex::Regex::new(r"\.\d+\.tmp\b").unwrap();
    let text = age.replace_all(text, "([AGE] ago)");
    let text = request.replace_all(&text, "client-request-id [ID])");
    temporary.replace_all(&text, ".[PID].tmp").into_owned()
}

#[test]
fn every_code_fires_on_its_fixture() {
    let root = Path::new("tests/fixtures/codes");
    let mut missing = Vec::new();
    for code in Code::ALL.iter().map(|code| code.as_str()) {
        let directory = root.join(code);
        if !directory.join("args").exists() {
            let readme = directory.join("README.md");
            if readme.exists() {
                check_explanation(code, &readme);
            } else {
                missing.push(code);
            }
            continue;
        }
        let (expected, actual, stdout, stderr) = run_fixture(&directory);
        assert_eq!(actual, expected, "{code}: exit code\nstderr:\n{stderr}");
        assert!(
            stderr.contains(&format!("seatplan::{code}\n")),
            "{code} not reported:\n{stderr}"
        );
        insta::assert_snapshot!(
            format!("plan codes {code}"),
            stable(&format!("{stderr}\n--- stdout ---\n{stdout}"))
        );
    }
    assert!(
        missing.is_empty(),
        "codes without a fixture (tests/fixtures/codes/<code>/args) or an explanation (README.md): {missing:?}"
    );
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                Code::from_name(&name).is_some(),
                "tests/fixtures/codes/{name} is not a diagnostic code"
            );
        }
    }
}

const QUICKSTART: [&str; 5] = [
    "plan",
    "-c",
    "examples/quickstart/seatplan.yaml",
    "--state",
    "examples/quickstart/tenant.yaml",
];

#[test]
fn quickstart_plan_text() {
    let run = seatplan(&QUICKSTART);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run
        .stdout
        .contains("Plan: 1 to add, 2 to change, 0 to destroy."));
    insta::assert_snapshot!("plan quickstart text", run.stdout);
    insta::assert_snapshot!("plan quickstart stderr", run.stderr);
}

#[test]
fn quickstart_plan_json_and_markdown() {
    let mut args = QUICKSTART.to_vec();
    args.extend(["--format", "json"]);
    let run = seatplan(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON plan");
    assert_eq!(document["format_version"], 1);
    assert!(document["state_fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(document["summary"]["rejected"], false);
    insta::assert_snapshot!("plan quickstart json", run.stdout);
    let mut args = QUICKSTART.to_vec();
    args.extend(["--format", "markdown"]);
    let run = seatplan(&args);
    assert_eq!(run.code, 0);
    insta::assert_snapshot!("plan quickstart markdown", run.stdout);
}

#[test]
fn detailed_exit_codes() {
    let mut args = QUICKSTART.to_vec();
    args.push("--detailed-exitcode");
    assert_eq!(seatplan(&args).code, 2, "changes present");
    let directory = tempfile::tempdir().unwrap();
    let export = directory.path().join("exported.yaml");
    let run = seatplan(&[
        "export",
        "--state",
        "examples/quickstart/tenant.yaml",
        "-o",
        export.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = seatplan(&[
        "plan",
        "-c",
        export.to_str().unwrap(),
        "--state",
        "examples/quickstart/tenant.yaml",
        "--detailed-exitcode",
    ]);
    assert_eq!(run.code, 0, "no changes: {}", run.stdout);
    assert!(run.stdout.starts_with("No changes."), "{}", run.stdout);
    let run = seatplan_in(
        Path::new("tests/fixtures/codes/license-loss"),
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(run.code, 1, "rejected");
}

#[test]
fn allow_license_loss_flag_turns_the_error_into_a_warning() {
    let run = seatplan_in(
        Path::new("tests/fixtures/codes/license-loss"),
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
            "--allow-license-loss",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("⚠ 2 users would lose Office 365 E3"),
        "{}",
        run.stderr
    );
}

#[test]
fn force_allows_the_removal_threshold() {
    let run = seatplan_in(
        Path::new("tests/fixtures/codes/removal-threshold"),
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
            "--force",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

fn migration(seats: u64) -> (tempfile::TempDir, common::Run) {
    let directory = tempfile::tempdir().unwrap();
    let tenant = format!(
        "version: 1
tenant: {{ id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }}
subscriptions: [{{ sku: STANDARDPACK, enabled: 5 }}, {{ sku: ENTERPRISEPACK, enabled: {seats} }}]
users:
  - {{ id: ca978112-ca1b-4dca-8ac2-31b39a23dc4d, upn: ann@contoso.com, license_states: [{{ sku: STANDARDPACK, via: Staff, state: Active }}] }}
  - {{ id: 3e23e816-0039-494a-8389-4f6564e1b134, upn: bob@contoso.com, license_states: [{{ sku: STANDARDPACK, via: Staff, state: Active }}] }}
groups:
  - {{ id: cd0aa985-6147-46c5-84ff-2b7dfee5da20, display_name: Staff, members: [ann@contoso.com, bob@contoso.com], licenses: [{{ sku: STANDARDPACK }}] }}
"
    );
    fs::write(directory.path().join("tenant.yaml"), tenant).unwrap();
    fs::write(
        directory.path().join("seatplan.yaml"),
        "version: 1\ngroups:\n  Staff:\n    licenses:\n      - sku: ENTERPRISEPACK\n",
    )
    .unwrap();
    let run = seatplan_in(
        directory.path(),
        &["plan", "-c", "seatplan.yaml", "--state", "tenant.yaml"],
    );
    (directory, run)
}

#[test]
fn migration_e1_to_e3_with_enough_seats() {
    let (_directory, run) = migration(2);
    assert!(
        run.stdout.contains("± migrate in one assignLicense call:"),
        "{}",
        run.stdout
    );
    assert!(!run.stderr.contains("seat-shortage"), "{}", run.stderr);
    insta::assert_snapshot!(
        "plan migration e1 to e3",
        format!("{}\n--- stdout ---\n{}", run.stderr, run.stdout)
    );
}

#[test]
fn migration_e1_to_e3_without_enough_seats() {
    let (_directory, run) = migration(1);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("seatplan::seat-shortage"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("ENTERPRISEPACK needs 1 more seat (enabled 1, required 2)"),
        "{}",
        run.stderr
    );
}

#[test]
fn saved_plan_renders_with_show() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("plan.json");
    let mut args = QUICKSTART.to_vec();
    args.extend(["-o", file.to_str().unwrap()]);
    assert_eq!(seatplan(&args).code, 0);
    let shown = seatplan(&["show", file.to_str().unwrap()]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert_eq!(shown.stdout, seatplan(&QUICKSTART).stdout);
    let mut edited: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    edited["format_version"] = 99.into();
    fs::write(&file, edited.to_string()).unwrap();
    let shown = seatplan(&["show", file.to_str().unwrap()]);
    assert_eq!(shown.code, 1);
    insta::assert_snapshot!(
        "show unknown format_version",
        redact(&shown.stderr, directory.path())
    );
}

/// `rule diff` of an edit of the quickstart's "All Staff - E3" that drops the German staff.
const RULE_DIFF_GERMANY: [&str; 6] = [
    "rule",
    "diff",
    "All Staff - E3",
    r#"(user.accountEnabled -eq true) -and (user.userType -eq "Member") -and (user.country -ne "Germany")"#,
    "--state",
    "examples/quickstart/tenant.yaml",
];

#[test]
fn rule_diff_reviews_an_edit() {
    let run = seatplan(&RULE_DIFF_GERMANY);
    assert_eq!(run.code, 1, "losing users is rejected");
    assert!(
        run.stdout.contains("0 joining, 3 leaving"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("seatplan::license-loss"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!(
        "rule diff quickstart",
        format!("{}\n--- stdout ---\n{}", run.stderr, run.stdout)
    );
    // Judged as `plan --allow-license-loss` would judge it, as its help offers.
    let allowed = seatplan(&[&RULE_DIFF_GERMANY[..], &["--allow-license-loss"]].concat());
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    assert!(
        allowed.stdout.contains("Verdict: safe.") && allowed.stderr.contains("⚠"),
        "{}\n{}",
        allowed.stdout,
        allowed.stderr
    );
    let spacing = seatplan(&[
        "rule",
        "diff",
        "All Staff - E3",
        r#"(user.accountEnabled -eq true)   -AND (user.userType -eq "Member")"#,
        "--state",
        "examples/quickstart/tenant.yaml",
    ]);
    assert_eq!(spacing.code, 0, "{}", spacing.stderr);
    assert!(
        spacing.stdout.starts_with("No changes."),
        "spacing and case are no change: {}",
        spacing.stdout
    );
}

const GERMANY_EXCLUDED: &str = r#"(user.accountEnabled -eq true) -and (user.userType -eq "Member") -and (user.country -ne "Germany")"#;

#[test]
fn impact_speaks_in_products_in_every_format() {
    let review = |format: &str, verbose: bool| {
        let mut args = vec![
            "rule",
            "diff",
            "All Staff - E3",
            GERMANY_EXCLUDED,
            "--state",
            "examples/quickstart/tenant.yaml",
            "--format",
            format,
        ];
        if verbose {
            args.push("--verbose");
        }
        let run = seatplan(&args);
        assert_eq!(run.code, 1, "{}", run.stderr);
        run.stdout
    };
    let verbose = review("text", true);
    assert!(
        verbose.contains(r#"loses Office 365 E3 (ENTERPRISEPACK) via "All Staff - E3""#),
        "{verbose}"
    );
    insta::assert_snapshot!("impact products verbose text", verbose);
    let markdown = review("markdown", false);
    let rejected = markdown
        .split("#### Changes")
        .next()
        .expect("a Changes section");
    assert!(
        rejected.contains("`heidi@contoso.com`") && rejected.contains("**loses Office 365 E3"),
        "the people who lose licenses are listed under Rejected by:\n{markdown}"
    );
    assert!(
        markdown.contains("```diff\n- (user.accountEnabled"),
        "{markdown}"
    );
    insta::assert_snapshot!("impact products markdown", markdown);
    let json: serde_json::Value = serde_json::from_str(&review("json", false)).unwrap();
    insta::assert_json_snapshot!(
        "impact products json",
        json["impact"]["users"][0]["products"]
    );
}

#[test]
fn a_config_error_is_still_a_json_and_a_markdown_document() {
    let run = |format: &str| {
        let run = seatplan(&[
            "plan",
            "-c",
            "tests/fixtures/config/two-violations.yaml",
            "--state",
            "examples/quickstart/tenant.yaml",
            "--format",
            format,
        ]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("seatplan::schema"), "{}", run.stderr);
        run.stdout
    };
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    assert_eq!(json["summary"]["rejected"], true);
    for diagnostic in json["diagnostics"].as_array().unwrap() {
        for key in ["code", "severity", "message", "file", "line", "column"] {
            assert!(!diagnostic[key].is_null(), "{key} missing in {diagnostic}");
        }
    }
    insta::assert_json_snapshot!("config error json", json);
    insta::assert_snapshot!("config error markdown", run("markdown"));
    assert_eq!(
        run("text"),
        "",
        "text keeps stdout empty: the errors are on stderr"
    );
}

#[test]
fn a_direct_license_needs_the_user_s_own_usage_location() {
    // Seed 003: "Before a license can be assigned to a user, the administrator should specify
    // the Usage location property on the user. For group license assignment, any users without
    // a usage location specified inherit the location of the directory." A direct license does
    // not fall back to the tenant's default: the call is refused until the user has one.
    let directory = tempfile::tempdir().unwrap();
    fs::write(
        directory.path().join("tenant.yaml"),
        "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }
subscriptions: [{ sku: ENTERPRISEPACK, enabled: 5 }]
users:
  - { id: ca978112-ca1b-4dca-8ac2-31b39a23dc4d, upn: ann@contoso.com }
groups: []
",
    )
    .unwrap();
    let config = |location: &str| {
        format!("version: 1\nusers:\n  ann@contoso.com:\n{location}    licenses:\n      - sku: ENTERPRISEPACK\n")
    };
    let plan = |config: &str| {
        fs::write(directory.path().join("seatplan.yaml"), config).unwrap();
        seatplan_in(
            directory.path(),
            &["plan", "-c", "seatplan.yaml", "--state", "tenant.yaml"],
        )
    };
    let refused = plan(&config(""));
    assert_no_panic(&refused);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("seatplan::usage-location"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("ann@contoso.com (no location): ENTERPRISEPACK"),
        "{}",
        refused.stderr
    );
    // With the user's own location set first (a step before the license), it is assigned.
    let located = plan(&config("    usage_location: US\n"));
    assert_eq!(located.code, 0, "{}", located.stderr);
    assert!(
        located
            .stdout
            .contains("assignLicense user[\"ann@contoso.com\"] +ENTERPRISEPACK"),
        "{}",
        located.stdout
    );
}

#[test]
fn rule_test_says_when_the_state_records_no_assigned_plans_for_licensed_users() {
    let rule = "user.assignedPlans -all (assignedPlan.servicePlanId -eq null)";
    let test = |state: &str| seatplan(&["rule", "test", rule, "--state", state]);
    let unrecorded = test("tests/fixtures/codes/assigned-plans-unknown/tenant.yaml");
    assert_eq!(unrecorded.code, 0, "{}", unrecorded.stderr);
    assert!(
        unrecorded
            .stderr
            .contains("seatplan::assigned-plans-unknown"),
        "{}",
        unrecorded.stderr
    );
    let recorded = test("tests/fixtures/codes/license-cascade/tenant.yaml");
    assert_eq!(recorded.code, 0, "{}", recorded.stderr);
    let output = format!("{}{}", recorded.stdout, recorded.stderr);
    assert!(output.contains("selects 1 of 3 users"), "{output}");
    assert!(!output.contains("assigned-plans-unknown"), "{output}");
}

#[test]
fn a_rule_on_unrecorded_assigned_plans_is_not_reported_as_lagging() {
    // The state records no assignedPlans for the licensed users the Visio group's rule reads:
    // what the rule selects now is not the service's, so no member is "pending", and a loss is
    // not excused as coming anyway.
    let run = seatplan(&[
        "plan",
        "-c",
        "tests/fixtures/codes/assigned-plans-unknown/seatplan.yaml",
        "--state",
        "tests/fixtures/codes/assigned-plans-unknown/tenant.yaml",
    ]);
    assert!(
        run.stderr.contains("seatplan::assigned-plans-unknown"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("membership-pending"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("whose current rule drops them already"),
        "{}",
        run.stderr
    );
}
