//! End-to-end tests of `seatplan plan`, `show`, `export` and `rule diff` on the real binary:
//! every check code on its smallest fixture (tests/fixtures/codes/<code>/), the quickstart in all
//! three formats, exit codes, migrations, and export round trips.

// Tests are an edge: they read fixtures and run the binary.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use std::fs;
use std::path::Path;

use common::{assert_no_panic, redact, seatplan, seatplan_in};

/// Runs a code fixture: its `args` file holds the command line and the expected exit code.
fn run_fixture(directory: &Path) -> (i32, i32, String, String) {
    let spec = fs::read_to_string(directory.join("args")).expect("fixture has an args file");
    let mut lines = spec.lines();
    let args: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let expected: i32 = lines
        .next()
        .and_then(|line| line.strip_prefix("exit "))
        .and_then(|code| code.trim().parse().ok())
        .expect("args file's second line is `exit N`");
    let run = seatplan_in(directory, &args);
    assert_no_panic(&run);
    (expected, run.code, run.stdout, run.stderr)
}

#[test]
fn every_check_code_fires_on_its_fixture() {
    let mut seen = Vec::new();
    for entry in fs::read_dir("tests/fixtures/codes").unwrap() {
        let directory = entry.unwrap().path();
        let code = directory.file_name().unwrap().to_string_lossy().to_string();
        let (expected, actual, stdout, stderr) = run_fixture(&directory);
        assert_eq!(actual, expected, "{code}: exit code\nstderr:\n{stderr}");
        assert!(
            stderr.contains(&format!("seatplan::{code}\n")),
            "{code} not reported:\n{stderr}"
        );
        insta::assert_snapshot!(
            format!("plan codes {code}"),
            format!("{stderr}\n--- stdout ---\n{stdout}")
        );
        seen.push(code);
    }
    for code in [
        "license-loss",
        "dependency-break",
        "group-missing-prerequisite",
        "mutually-exclusive",
        "seat-shortage",
        "usage-location",
        "proxy-address-conflict",
        "static-to-dynamic",
        "licensed-group-delete",
        "non-security-group",
        "removal-threshold",
        "nested-group",
        "existing-errors",
        "subscription-in-grace",
        "seat-count-drift",
        "unmanaged-group",
        "membership-pending",
        "new-plans-enabled",
        "tenant-mismatch",
        "needs-reprocess",
        "group-name-lookalike",
    ] {
        assert!(
            seen.iter().any(|name| name == code),
            "no fixture for {code}"
        );
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

#[test]
fn rule_diff_reviews_an_edit() {
    let run = seatplan(&[
        "rule",
        "diff",
        "All Staff - E3",
        r#"(user.accountEnabled -eq true) -and (user.userType -eq "Member") -and (user.country -ne "Germany")"#,
        "--state",
        "examples/quickstart/tenant.yaml",
    ]);
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
