//! The Microsoft Graph side of seatplan, end to end: `seatplan import graph` on the example
//! export (tests/fixtures/graph/), and the Graph client against a fake Graph server on 127.0.0.1.

use std::path::Path;

use assert_cmd::Command;
use seatplan::tenant::{AssignmentError, AssignmentState, TenantState};

const EXPORT: &str = "tests/fixtures/graph/export";

fn seatplan() -> Command {
    let mut command = Command::cargo_bin("seatplan").unwrap();
    command.env_remove("NO_COLOR").arg("--no-color");
    command
}

#[test]
fn import_graph_writes_a_tenant_file_that_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("tenant.yaml");
    seatplan()
        .args(["import", "graph", EXPORT, "-o"])
        .arg(&output)
        .assert()
        .success()
        .stdout(
            "Imported 4 users, 2 groups, 2 subscriptions into ".to_string()
                + &output.display().to_string()
                + ".\n",
        );
    let text = std::fs::read_to_string(&output).unwrap();
    insta::assert_snapshot!("import_graph_export_yaml", text);
    let tenant: TenantState = serde_yaml::from_str(&text).unwrap();
    assert_eq!(tenant.tenant.default_usage_location.as_deref(), Some("GB"));
    let gus = tenant
        .users
        .iter()
        .find(|u| u.upn == "gus@fabrikam.com")
        .unwrap();
    assert_eq!(gus.license_states[0].state, AssignmentState::Error);
    assert_eq!(
        gus.license_states[0].error,
        Some(AssignmentError::CountViolation)
    );
    let engineering = tenant
        .groups
        .iter()
        .find(|g| g.display_name == "Engineering E5")
        .unwrap();
    assert_eq!(engineering.members.len(), 4);
    // No temporary file is left beside the output.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["tenant.yaml"]);
}

#[test]
fn import_graph_writes_json_for_a_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("tenant.yaml");
    let json = dir.path().join("tenant.json");
    for output in [&yaml, &json] {
        seatplan()
            .args(["import", "graph", EXPORT, "-o"])
            .arg(output)
            .assert()
            .success();
    }
    let from_json: TenantState =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let from_yaml: TenantState =
        serde_yaml::from_str(&std::fs::read_to_string(&yaml).unwrap()).unwrap();
    assert_eq!(from_json, from_yaml);
}

fn copy_export(to: &Path) {
    std::fs::create_dir_all(to.join("members")).unwrap();
    for entry in walk(Path::new(EXPORT)) {
        let relative = entry.strip_prefix(EXPORT).unwrap();
        std::fs::copy(&entry, to.join(relative)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn import_graph_reports_a_broken_export_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    copy_export(&export);
    std::fs::remove_file(export.join("users-2.json")).unwrap();
    let output = dir.path().join("tenant.yaml");
    let assert = seatplan()
        .args(["import", "graph"])
        .arg(&export)
        .arg("-o")
        .arg(&output)
        .assert()
        .failure()
        .code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("seatplan::graph-inconsistent-export"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`users.json`: the response has an `@odata.nextLink`"),
        "{stderr}"
    );
    assert!(!output.exists());
}
