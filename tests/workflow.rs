//! The GitHub Actions workflow of examples/github-actions/seatplan.yml, end to end: its plan and
//! apply scripts, taken from the file, run by bash as the runner runs them (with the binary on
//! PATH and GITHUB_ACTIONS=true) against the fake Graph server. The plan step writes the sticky
//! comment's Markdown and the plan artifact; the apply step applies exactly that plan and refuses
//! it once it is stale; a config error still gives a comment and annotations.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

// Shared with tests/graph.rs, which uses the rest of it.
#[allow(dead_code)]
#[path = "graph/fake_graph.rs"]
mod fake_graph;

use std::path::{Path, PathBuf};
use std::process::Command;

use fake_graph::{FakeGraph, CLIENT_SECRET, TENANT};

const WORKFLOW: &str = "examples/github-actions/seatplan.yml";
const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const MCOMEETADV: &str = "0c266dff-15dd-4b49-8397-2bb16070ed52";

/// The `run:` script of the step with `id` in `job`.
fn script(job: &str, id: &str) -> String {
    let text = std::fs::read_to_string(WORKFLOW).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = workflow["jobs"][job]["steps"].as_sequence().unwrap();
    let step = steps
        .iter()
        .find(|step| step["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("{WORKFLOW}: job {job} has no step with id {id}"));
    let run = step["run"].as_str().unwrap().to_string();
    assert!(
        !run.contains("${{"),
        "the script must not paste expressions into the shell: {run}"
    );
    run
}

/// What one step printed and returned.
struct Step {
    code: i32,
    stderr: String,
}

/// Runs `script` in `workspace` as the runner does (`bash -e -o pipefail`), with seatplan on
/// PATH and the fake server's credentials in the environment.
fn run_step(script: &str, workspace: &Path, server: &FakeGraph) -> Step {
    let binary = PathBuf::from(env!("CARGO_BIN_EXE_seatplan"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-e",
            "-o",
            "pipefail",
            "-c",
            script,
        ])
        .current_dir(workspace)
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTOR", "octocat")
        .env("SEATPLAN_TENANT_ID", TENANT)
        .env("SEATPLAN_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
        .env("SEATPLAN_CLIENT_SECRET", CLIENT_SECRET)
        .env("SEATPLAN_LOGIN_URL", &server.origin)
        .env("SEATPLAN_GRAPH_URL", server.graph_base())
        .env_remove("SEATPLAN_CLIENT_CERTIFICATE")
        .env_remove("NO_COLOR")
        .output()
        .expect("bash runs");
    Step {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn tenant() -> FakeGraph {
    FakeGraph::start_live(|live| {
        live.add_sku("SPE_E3", SPE_E3, 10);
        live.add_sku("MCOMEETADV", MCOMEETADV, 10);
    })
}

/// A checkout of the licensing repository: its config in seatplan/.
fn workspace(config: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("seatplan")).unwrap();
    std::fs::copy(config, dir.path().join("seatplan/licensing.yaml")).unwrap();
    dir
}

/// Where the workflow keeps the tenant snapshot it caches between runs.
const SNAPSHOT: &str = ".seatplan/tenant.json";

/// What `actions/cache` does when it restores the snapshot into a new checkout.
fn restore_snapshot(snapshot: &Path, workspace: &Path) {
    std::fs::create_dir_all(workspace.join(".seatplan")).unwrap();
    std::fs::copy(snapshot, workspace.join(SNAPSHOT)).unwrap();
}

fn writes(server: &FakeGraph) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.url.starts_with("/v1.0") && r.method != "GET" && r.url != "/v1.0/$batch")
        .count()
}

#[test]
fn the_workflow_plans_a_pull_request_and_applies_the_reviewed_plan_after_merge() {
    let server = tenant();
    let pull_request = workspace(Path::new("tests/fixtures/workflow/seatplan/licensing.yaml"));
    let plan = run_step(&script("plan", "plan"), pull_request.path(), &server);
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let comment = std::fs::read_to_string(pull_request.path().join("plan.md")).unwrap();
    assert!(
        comment.starts_with("### seatplan plan: ✅ ready to apply"),
        "{comment}"
    );
    assert!(
        comment.contains("gains Microsoft Teams Audio Conferencing")
            || comment.contains("gains Microsoft 365 Audio Conferencing"),
        "the comment speaks in products:\n{comment}"
    );
    assert_eq!(writes(&server), 0, "a plan only reads");
    // No snapshot in the cache yet: the plan read the whole tenant and left one for the cache.
    assert!(
        plan.stderr
            .contains("Read the whole tenant into the new snapshot"),
        "{}",
        plan.stderr
    );
    let snapshot = pull_request.path().join(SNAPSHOT);
    assert!(snapshot.exists());

    // After the merge: a fresh checkout of main, with the artifact downloaded into it and the
    // snapshot restored from the cache.
    let main = workspace(Path::new("tests/fixtures/workflow/seatplan/licensing.yaml"));
    std::fs::copy(
        pull_request.path().join("plan.json"),
        main.path().join("plan.json"),
    )
    .unwrap();
    restore_snapshot(&snapshot, main.path());
    let apply = run_step(&script("apply", "apply"), main.path(), &server);
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    assert!(writes(&server) > 0, "the apply changed the tenant");
    // The snapshot catches up with what the apply did, for the next pull request.
    let refresh = run_step(&script("apply", "refresh"), main.path(), &server);
    assert_eq!(refresh.code, 0, "{}", refresh.stderr);
    let next_pull_request = workspace(Path::new("tests/fixtures/workflow/seatplan/licensing.yaml"));
    restore_snapshot(&main.path().join(SNAPSHOT), next_pull_request.path());
    let replan = run_step(&script("plan", "plan"), next_pull_request.path(), &server);
    assert_eq!(replan.code, 0, "{}", replan.stderr);
    assert!(
        replan
            .stderr
            .contains("Refreshed the snapshot .seatplan/tenant.json"),
        "only the changes are read: {}",
        replan.stderr
    );
    let comment = std::fs::read_to_string(next_pull_request.path().join("plan.md")).unwrap();
    assert!(
        comment.starts_with("### seatplan plan: ✅ no changes"),
        "the apply is in the snapshot:\n{comment}"
    );

    // The same plan again: the tenant changed since it was made, so it is stale and refused.
    let before = writes(&server);
    let again = run_step(&script("apply", "apply"), main.path(), &server);
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert!(
        again.stderr.contains("seatplan::stale-plan"),
        "{}",
        again.stderr
    );
    assert!(
        again.stderr.contains("::error title=seatplan stale-plan::"),
        "the refusal is annotated: {}",
        again.stderr
    );
    assert_eq!(writes(&server), before, "a stale plan changes nothing");
}

#[test]
fn a_config_error_still_gives_the_pull_request_a_comment_and_annotations() {
    let server = tenant();
    let pull_request = workspace(Path::new("tests/fixtures/workflow/broken.yaml"));
    let plan = run_step(&script("plan", "plan"), pull_request.path(), &server);
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let comment = std::fs::read_to_string(pull_request.path().join("plan.md")).unwrap();
    assert!(
        comment.contains("`schema`: unknown field `disabled_plan`"),
        "{comment}"
    );
    assert!(!pull_request.path().join("plan.json").exists());
    let annotations: Vec<&str> = plan
        .stderr
        .lines()
        .filter(|line| line.starts_with("::"))
        .collect();
    insta::assert_snapshot!("workflow annotations", annotations.join("\n"));
    insta::assert_snapshot!("workflow config error comment", comment);
}
