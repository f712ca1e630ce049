//! End-to-end tests of `seatplan apply` on the file backend: a saved plan applies and a new plan
//! then shows no changes; stale and rejected plans are refused; without a terminal, approval is
//! required; the backup and one audit record per change are written.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod common;

use std::fs;
use std::path::Path;

use common::{assert_no_panic, seatplan_in};

/// A copy of the quickstart in a temporary directory.
fn quickstart() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    for file in ["seatplan.yaml", "tenant.yaml"] {
        fs::copy(
            Path::new("examples/quickstart").join(file),
            directory.path().join(file),
        )
        .unwrap();
    }
    directory
}

const CONFIG: [&str; 4] = ["-c", "seatplan.yaml", "--state", "tenant.yaml"];

fn with(command: &[&str], extra: &[&str]) -> Vec<String> {
    command
        .iter()
        .chain(CONFIG.iter())
        .chain(extra)
        .map(|arg| arg.to_string())
        .collect()
}

fn run(directory: &Path, args: &[String]) -> common::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = seatplan_in(directory, &args);
    assert_no_panic(&run);
    run
}

#[test]
fn saved_plan_applies_and_the_next_plan_is_empty() {
    let directory = quickstart();
    let path = directory.path();
    let planned = run(path, &with(&["plan"], &["-o", "plan.json"]));
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    let applied = run(path, &with(&["apply", "plan.json"], &["--actor", "ci"]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 1 added, 2 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
    assert!(path.join("tenant.yaml.backup").exists());
    assert_eq!(
        fs::read(path.join("tenant.yaml.backup")).unwrap(),
        fs::read("examples/quickstart/tenant.yaml").unwrap(),
        "the backup is the previous state"
    );
    let audit = fs::read_to_string(path.join("tenant.yaml.audit.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line.get("outcome").is_none())
        .collect();
    assert_eq!(records.len(), 3, "one record per change");
    let outcome: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(outcome["outcome"], "applied", "the outcome comes last");
    assert!(records.iter().all(|record| record["actor"] == "ci"));
    let analytics = records
        .iter()
        .find(|record| record["address"] == "group[\"Workplace Analytics\"]")
        .unwrap();
    assert_eq!(analytics["action"], "create");
    assert_eq!(analytics["before"], serde_json::Value::Null);
    assert!(analytics["summary"]
        .as_str()
        .unwrap()
        .starts_with("Users successfully assigned licenses: 3,"));
    let state = fs::read_to_string(path.join("tenant.yaml")).unwrap();
    let parsed: serde_yaml::Value = serde_yaml::from_str(&state).unwrap();
    let analytics_id = parsed["groups"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|group| group["display_name"] == "Workplace Analytics")
        .and_then(|group| group["id"].as_str())
        .unwrap()
        .to_string();
    assert!(
        state.contains(&format!("via: {analytics_id}")),
        "license states recomputed by the engine name the group by its id"
    );
    let again = run(path, &with(&["plan"], &["--detailed-exitcode"]));
    assert_eq!(
        again.code, 0,
        "apply then plan shows no changes:\n{}",
        again.stdout
    );
}

#[test]
fn a_stale_plan_is_refused_and_the_state_is_untouched() {
    let directory = quickstart();
    let path = directory.path();
    assert_eq!(run(path, &with(&["plan"], &["-o", "plan.json"])).code, 0);
    // Ivan joined the executives meanwhile: the plan's change to that group is no longer needed.
    let state = fs::read_to_string(path.join("tenant.yaml"))
        .unwrap()
        .replace(
            "members: [erin@contoso.com]",
            "members: [erin@contoso.com, ivan@contoso.com]",
        );
    fs::write(path.join("tenant.yaml"), &state).unwrap();
    let applied = run(path, &with(&["apply", "plan.json"], &[]));
    assert_eq!(applied.code, 1);
    assert!(
        applied.stderr.contains("seatplan::stale-plan"),
        "{}",
        applied.stderr
    );
    assert!(
        applied.stderr.contains(
            "the tenant changed since the plan was made and the plan computed now differs"
        ),
        "{}",
        applied.stderr
    );
    // Which objects changed, and how the plans differ.
    assert!(
        applied
            .stderr
            .contains("the members the plan moves in and out of group \"Executives - E5\""),
        "{}",
        applied.stderr
    );
    assert!(
        applied
            .stderr
            .contains("group[\"Executives - E5\"]: in the saved plan, not in the plan now"),
        "{}",
        applied.stderr
    );
    assert_eq!(
        fs::read_to_string(path.join("tenant.yaml")).unwrap(),
        state,
        "nothing written"
    );
    assert!(!path.join("tenant.yaml.audit.jsonl").exists());
}

#[test]
fn a_saved_plan_outlives_changes_that_do_not_change_it() {
    let directory = quickstart();
    let path = directory.path();
    assert_eq!(run(path, &with(&["plan"], &["-o", "plan.json"])).code, 0);
    // More seats bought, and a group nobody manages appeared: the plan computes the same.
    let state = fs::read_to_string(path.join("tenant.yaml"))
        .unwrap()
        .replace("enabled: 12 }", "enabled: 13 }")
        + "  - { id: 0a1b2c3d-0000-4000-8000-0000000000ff, display_name: Book Club }\n";
    fs::write(path.join("tenant.yaml"), &state).unwrap();
    let applied = run(path, &with(&["apply", "plan.json"], &[]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied
            .stderr
            .contains("Note: the tenant changed since the plan was made;"),
        "{}",
        applied.stderr
    );
    assert!(
        applied
            .stderr
            .contains("subscription ENTERPRISEPACK changed"),
        "{}",
        applied.stderr
    );
    assert!(
        applied
            .stdout
            .contains("Apply complete! Resources: 1 added, 2 changed, 0 destroyed."),
        "{}",
        applied.stdout
    );
}

#[test]
fn a_saved_plan_names_nothing_of_members_it_leaves_alone() {
    let directory = quickstart();
    let path = directory.path();
    assert_eq!(run(path, &with(&["plan"], &["-o", "plan.json"])).code, 0);
    // Alice moved to Portland (the plan leaves her licensing alone), and Oscar joined: the rule
    // of "All Staff - E3" selects him, and the service has added him to the group. The plan
    // changes neither that group nor them: the service's business, not the plan's.
    let state = fs::read_to_string(path.join("tenant.yaml"))
        .unwrap()
        .replacen(
            "city: Seattle\n      jobTitle: Account Executive",
            "city: Portland\n      jobTitle: Account Executive",
            1,
        )
        .replacen(
            "\nusers:\n",
            "\nusers:\n  - id: 00000099-1111-4a1a-8b1b-000000000099\n    upn: oscar@contoso.com\n    \
             usage_location: US\n    attributes: { accountEnabled: true, userType: Member }\n",
            1,
        )
        .replacen(
            "members: [alice@contoso.com, bob@contoso.com,",
            "members: [oscar@contoso.com, alice@contoso.com, bob@contoso.com,",
            1,
        );
    fs::write(path.join("tenant.yaml"), &state).unwrap();
    let applied = run(path, &with(&["apply", "plan.json"], &[]));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied.stderr.contains(
            "Note: the tenant changed since the plan was made; nothing the plan depends on \
             changed, and the plan computed now makes exactly the saved changes"
        ),
        "{}",
        applied.stderr
    );
}

#[test]
fn an_edited_plan_file_is_refused_saying_so() {
    let directory = quickstart();
    let path = directory.path();
    assert_eq!(run(path, &with(&["plan"], &["-o", "plan.json"])).code, 0);
    let text = fs::read_to_string(path.join("plan.json")).unwrap();
    let edited = text.replacen("\"add\": 1", "\"add\": 0", 1);
    assert_ne!(text, edited);
    fs::write(path.join("plan.json"), edited).unwrap();
    let applied = run(path, &with(&["apply", "plan.json"], &[]));
    assert_eq!(applied.code, 1);
    assert!(
        applied.stderr.contains("seatplan::plan-file")
            && applied
                .stderr
                .contains("was edited after `seatplan plan` wrote it"),
        "{}",
        applied.stderr
    );
    assert!(!path.join("tenant.yaml.audit.jsonl").exists());
}

#[test]
fn a_changed_config_is_refused() {
    let directory = quickstart();
    let path = directory.path();
    assert_eq!(run(path, &with(&["plan"], &["-o", "plan.json"])).code, 0);
    let config = fs::read_to_string(path.join("seatplan.yaml"))
        .unwrap()
        .replace("max_license_removals: 10%", "max_license_removals: 20%");
    fs::write(path.join("seatplan.yaml"), config).unwrap();
    let applied = run(path, &with(&["apply", "plan.json"], &[]));
    assert_eq!(applied.code, 1);
    assert!(
        applied
            .stderr
            .contains("the config differs from the one the plan was made from"),
        "{}",
        applied.stderr
    );
}

#[test]
fn a_rejected_plan_is_refused() {
    let fixture = Path::new("tests/fixtures/codes/license-loss");
    let directory = tempfile::tempdir().unwrap();
    for file in ["seatplan.yaml", "tenant.yaml"] {
        fs::copy(fixture.join(file), directory.path().join(file)).unwrap();
    }
    let planned = run(directory.path(), &with(&["plan"], &["-o", "plan.json"]));
    assert_eq!(planned.code, 1);
    let before = fs::read(directory.path().join("tenant.yaml")).unwrap();
    let applied = run(directory.path(), &with(&["apply", "plan.json"], &[]));
    assert_eq!(applied.code, 1);
    assert!(
        applied.stderr.contains("the saved plan was rejected"),
        "{}",
        applied.stderr
    );
    assert_eq!(
        fs::read(directory.path().join("tenant.yaml")).unwrap(),
        before
    );
    let direct = run(directory.path(), &with(&["apply"], &["--auto-approve"]));
    assert_eq!(
        direct.code, 1,
        "apply plans first and refuses a rejected plan"
    );
    assert_eq!(
        fs::read(directory.path().join("tenant.yaml")).unwrap(),
        before
    );
}

#[test]
fn without_a_terminal_apply_needs_auto_approve() {
    let directory = quickstart();
    let path = directory.path();
    let before = fs::read(path.join("tenant.yaml")).unwrap();
    let refused = run(path, &with(&["apply"], &[]));
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("seatplan::approval-required"),
        "{}",
        refused.stderr
    );
    assert_eq!(fs::read(path.join("tenant.yaml")).unwrap(), before);
    let approved = run(path, &with(&["apply"], &["--auto-approve"]));
    assert_eq!(approved.code, 0, "{}", approved.stderr);
    assert_ne!(fs::read(path.join("tenant.yaml")).unwrap(), before);
    let nothing = run(path, &with(&["apply"], &["--auto-approve"]));
    assert_eq!(nothing.code, 0);
    assert!(
        nothing.stdout.starts_with("No changes."),
        "{}",
        nothing.stdout
    );
    let audit = fs::read_to_string(path.join("tenant.yaml.audit.jsonl")).unwrap();
    assert_eq!(
        audit
            .lines()
            .filter(|line| !line.contains("\"outcome\":"))
            .count(),
        3,
        "an apply without changes writes no audit record"
    );
}

#[test]
fn a_rule_edit_applied_records_the_new_members() {
    let directory = quickstart();
    let path = directory.path();
    let config = fs::read_to_string(path.join("seatplan.yaml"))
        .unwrap()
        .replace(
            r#"rule: (user.accountEnabled -eq true) -and (user.userType -eq "Member")"#,
            r#"rule: (user.accountEnabled -eq true) -and (user.userType -eq "Member") -and (user.department -ne "Finance")"#,
        );
    fs::write(path.join("seatplan.yaml"), config).unwrap();
    let refused = run(path, &with(&["apply"], &["--auto-approve"]));
    assert_eq!(refused.code, 1, "judy would lose plans");
    assert!(
        refused.stderr.contains("judy@contoso.com loses"),
        "{}",
        refused.stderr
    );
    let applied = run(
        path,
        &with(&["apply"], &["--auto-approve", "--allow-license-loss"]),
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let state: seatplan::tenant::TenantState =
        serde_yaml::from_str(&fs::read_to_string(path.join("tenant.yaml")).unwrap()).unwrap();
    let all_staff = state
        .groups
        .iter()
        .find(|group| group.display_name == "All Staff - E3")
        .unwrap();
    assert!(!all_staff
        .members
        .iter()
        .any(|member| member == "judy@contoso.com"));
    assert_eq!(all_staff.members.len(), 9);
    let again = run(path, &with(&["plan"], &["--detailed-exitcode"]));
    assert_eq!(again.code, 0, "{}", again.stdout);
    assert!(
        !again.stderr.contains("membership-pending"),
        "members recorded as the rule selects them:\n{}",
        again.stderr
    );
}
