//! End-to-end tests of the rule language: the real-world corpus, the `rule check` command and
//! rule errors inside config files.

use seatplan::rules::{parse, print};

#[derive(serde::Deserialize)]
struct CorpusEntry {
    rule: String,
    valid_expected: Option<bool>,
    note: String,
}

fn corpus() -> Vec<CorpusEntry> {
    include_str!("fixtures/rules/rules-corpus-dev.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("corpus line is JSON"))
        .collect()
}

#[test]
fn corpus_verdicts_match_the_service() {
    let entries = corpus();
    assert_eq!(entries.len(), 228);
    let mut wrong = Vec::new();
    for entry in &entries {
        let result = parse(&entry.rule);
        if let Some(expected) = entry.valid_expected {
            if result.is_ok() != expected {
                wrong.push(format!(
                    "expected {} for {:?} ({}): {:?}",
                    if expected { "valid" } else { "invalid" },
                    entry.rule,
                    entry.note,
                    result.err()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn corpus_rules_round_trip_through_the_canonical_form() {
    for entry in corpus() {
        if let Ok(rule) = parse(&entry.rule) {
            let canonical = print(&rule);
            let reparsed = parse(&canonical)
                .unwrap_or_else(|error| panic!("{canonical:?} does not parse: {error}"));
            assert_eq!(reparsed.strip_spans(), rule.strip_spans(), "{}", entry.rule);
            assert_eq!(print(&reparsed), canonical);
        }
    }
}

fn seatplan() -> assert_cmd::Command {
    let mut command = assert_cmd::cargo::cargo_bin_cmd!("seatplan");
    command.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn rule_check_prints_the_canonical_form() {
    let output = seatplan()
        .args([
            "rule",
            "check",
            r#"(user.department -eq "Sales") -and (user.country -in ["US","CA"])"#,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "(user.department -eq \"Sales\") -and (user.country -in [\"US\",\"CA\"])\n"
    );
    assert_eq!(text(&output.stderr), "");

    let output = seatplan()
        .args(["rule", "check", "-not (user.DEPARTMENT  eq 'Sales')"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "-not (user.department -eq \"Sales\")\n"
    );
}

#[test]
fn rule_check_shows_a_caret_under_the_bad_token() {
    let output = seatplan()
        .args([
            "rule",
            "check",
            r#"(user.department -eq "Sales") -and (user.contry -in ["US","CA"])"#,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    insta::assert_snapshot!("rule_check_unknown_property", text(&output.stderr));
}

#[test]
fn rule_check_file_checks_every_line() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("rules.txt");
    std::fs::write(
        &path,
        "# one rule per line\nuser.city -eq \"Lagos\" or user.city -startswith \"Lag\"\n\n(user.department -eq \"Sales\") (user.department -eq \"Marketing\")\r\ndevice.isRooted -eq true\n",
    )
    .unwrap();
    let output = seatplan()
        .args(["rule", "check", "--file"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        "2: (user.city -eq \"Lagos\") -or (user.city -startsWith \"Lag\")\n5: device.isRooted -eq true\nChecked 3 rules: 2 valid, 1 invalid.\n"
    );
    let stderr = text(&output.stderr).replace(&path.display().to_string(), "[FILE]");
    insta::assert_snapshot!("rule_check_file", stderr);
}

#[test]
fn validate_points_into_rules_in_the_yaml_file() {
    let output = seatplan()
        .current_dir("tests/fixtures/rules/config-errors")
        .args(["validate", "-c", "seatplan.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("validate_rule_errors", text(&output.stderr));
}
