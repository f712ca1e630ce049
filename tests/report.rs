//! End-to-end tests of the commands that read a tenant as it is: `seatplan report` (text, JSON,
//! Markdown) on the quickstart tenant and on the tenant imported from the Graph examples,
//! `seatplan reprocess` and `seatplan rule test`.

// Tests are an edge: they read fixtures and run the binary.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::path::{Path, PathBuf};

use common::{assert_no_panic, seatplan, seatplan_in, Run};
use serde_json::Value;

const QUICKSTART: &str = "examples/quickstart/tenant.yaml";

/// Imports the Graph example export into `dir/tenant.yaml` with the real binary.
fn imported(dir: &Path) -> PathBuf {
    let output = dir.join("tenant.yaml");
    let run = seatplan(&[
        "import",
        "graph",
        "tests/fixtures/graph/export",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    output
}

fn ok(run: Run) -> String {
    assert_no_panic(&run);
    assert_eq!(run.code, 0, "stderr:\n{}", run.stderr);
    assert_eq!(run.stderr, "");
    run.stdout
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("the output is JSON")
}

#[test]
fn report_of_the_quickstart_tenant() {
    let text = ok(seatplan(&["report", "--state", QUICKSTART]));
    insta::assert_snapshot!("report_quickstart_text", text);
    assert!(text.contains("ENTERPRISEPACK"));
    assert!(text.contains("\"All Staff - E3\" (dynamic, ENTERPRISEPACK, EMS): all-assigned"));
    let markdown = ok(seatplan(&[
        "report", "--state", QUICKSTART, "--format", "markdown",
    ]));
    insta::assert_snapshot!("report_quickstart_markdown", markdown);
    let output = ok(seatplan(&[
        "report", "--state", QUICKSTART, "--format", "json",
    ]));
    insta::assert_snapshot!("report_quickstart_json", output);
    let report = json(&output);
    let e3 = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["sku"] == "ENTERPRISEPACK")
        .unwrap();
    assert_eq!(
        (e3["enabled"].as_u64(), e3["consumed"].as_u64()),
        (Some(12), Some(10))
    );
    assert!(report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|group| group["status"] == "all-assigned"));
    let erin = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["user"] == "erin@contoso.com")
        .unwrap();
    assert_eq!(
        erin["consumed"],
        serde_json::json!(["EMS", "ENTERPRISEPACK", "SPE_E5"])
    );
    assert!(erin["effective_plans"]
        .as_array()
        .unwrap()
        .contains(&Value::from("EXCHANGE_S_ENTERPRISE")));
}

#[test]
fn report_of_the_imported_graph_example_shows_the_count_violation() {
    let dir = tempfile::tempdir().unwrap();
    let state = imported(dir.path());
    let state = state.to_str().unwrap();
    let text = ok(seatplan(&["report", "--state", state]));
    insta::assert_snapshot!("report_graph_text", text);
    assert!(text.contains("\"Engineering E5\" (dynamic, SPE_E5): errors, 3 of 4 members assigned"));
    assert!(text.contains("gus@fabrikam.com: SPE_E5 CountViolation"));
    let markdown = ok(seatplan(&[
        "report", "--state", state, "--format", "markdown",
    ]));
    insta::assert_snapshot!("report_graph_markdown", markdown);
    let output = ok(seatplan(&["report", "--state", state, "--format", "json"]));
    insta::assert_snapshot!("report_graph_json", output);

    // The JSON carries the same facts as the text (SPEC §5).
    let report = json(&output);
    let e5 = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["sku"] == "SPE_E5")
        .unwrap();
    assert_eq!(
        (
            e5["enabled"].as_u64(),
            e5["consumed"].as_u64(),
            e5["free"].as_i64()
        ),
        (Some(3), Some(3), Some(0))
    );
    let group = &report["groups"][0];
    assert_eq!(group["group"], "Engineering E5");
    assert_eq!(group["status"], "errors");
    assert_eq!(group["users_in_error"][0]["user"], "gus@fabrikam.com");
    assert_eq!(
        group["users_in_error"][0]["errors"][0]["error"],
        "CountViolation"
    );
    let gus = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["user"] == "gus@fabrikam.com")
        .unwrap();
    assert_eq!(gus["assignments"][0]["state"], "Error");
    assert_eq!(gus["assignments"][0]["error"], "CountViolation");
    assert_eq!(gus["effective_plans"], serde_json::json!([]));
    let ems = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|product| product["sku"] == "EMS")
        .unwrap();
    assert_eq!(ems["direct"], serde_json::json!(["eli@fabrikam.com"]));
    // Fay has no usage location: she inherits the tenant's (GB).
    let fay = report["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["user"] == "fay@fabrikam.com")
        .unwrap();
    assert_eq!(fay["usage_location"], "GB");
    assert_eq!(fay["location_inherited"], true);
}

#[test]
fn report_reads_catalog_additions_from_a_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(QUICKSTART, dir.path().join("tenant.yaml")).unwrap();
    std::fs::write(
        dir.path().join("seatplan.yaml"),
        "version: 1\ncatalog:\n  plans:\n    INTUNE_A: { unavailable_in: [US] }\n",
    )
    .unwrap();
    // Without the config: the built-in catalog, no errors. With it, nothing changes for users
    // whose assignments were processed already (the service keeps them), so the report still
    // loads and shows the same seats.
    let plain = ok(seatplan_in(dir.path(), &["report", "--format", "json"]));
    let with_config = ok(seatplan_in(
        dir.path(),
        &["report", "-c", "seatplan.yaml", "--format", "json"],
    ));
    assert_eq!(json(&plain)["products"], json(&with_config)["products"]);
    // A config with an error fails before the state is read.
    std::fs::write(dir.path().join("bad.yaml"), "version: 1\ncatalog: 3\n").unwrap();
    let run = seatplan_in(dir.path(), &["report", "-c", "bad.yaml"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("seatplan::schema"), "{}", run.stderr);
}

#[test]
fn plans_microsoft_added_to_a_product_are_known_to_report_and_reprocess() {
    // Seed 003: "When Microsoft adds a new service to a product license plan, it is enabled by
    // default in all groups to which you have assigned the product license." The state's
    // subscription lists the new plan (Graph's subscribedSkus); the report counts it among the
    // user's plans, and a state in which an apply disabled it in the group (with every plan but
    // one) still reads.
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new("tests/fixtures/codes/new-plans-enabled");
    std::fs::copy(fixture.join("tenant.yaml"), dir.path().join("tenant.yaml")).unwrap();
    let effective = |dir: &Path| {
        let report = json(&ok(seatplan_in(dir, &["report", "--format", "json"])));
        report["users"][0]["effective_plans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|plan| plan.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert!(effective(dir.path()).contains(&"NEW_ASSISTANT_PLAN".to_string()));
    std::fs::write(
        dir.path().join("seatplan.yaml"),
        "version: 1\ngroups:\n  E3:\n    licenses:\n      - sku: ENTERPRISEPACK\n        \
         enabled_plans: [EXCHANGE_S_ENTERPRISE]\n",
    )
    .unwrap();
    let run = seatplan_in(
        dir.path(),
        &[
            "apply",
            "-c",
            "seatplan.yaml",
            "--auto-approve",
            "--allow-license-loss",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let state = std::fs::read_to_string(dir.path().join("tenant.yaml")).unwrap();
    assert!(state.contains("NEW_ASSISTANT_PLAN"), "{state}");
    assert!(!effective(dir.path()).contains(&"NEW_ASSISTANT_PLAN".to_string()));
    let run = seatplan_in(dir.path(), &["reprocess"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn report_without_a_state_file_explains_how_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let run = seatplan_in(dir.path(), &["report"]);
    assert_no_panic(&run);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("seatplan import graph"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn reprocess_lists_who_still_fails_and_who_would_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let state = imported(dir.path());
    let text = ok(seatplan(&["reprocess", "--state", state.to_str().unwrap()]));
    insta::assert_snapshot!("reprocess_graph_text", text);
    assert!(text.contains("0 would now succeed, 1 would still fail"));

    // Buy a fourth E5 seat: gus would now succeed, but only when his group is reprocessed.
    let yaml = std::fs::read_to_string(&state).unwrap();
    let bought = yaml.replace(
        "- sku: SPE_E5\n  id: 06ebc4ee-1bb5-47dd-8120-11324bc54e06\n  enabled: 3",
        "- sku: SPE_E5\n  id: 06ebc4ee-1bb5-47dd-8120-11324bc54e06\n  enabled: 4",
    );
    assert_ne!(
        bought, yaml,
        "the fixture's subscription is where the test expects it"
    );
    let more = dir.path().join("more-seats.yaml");
    std::fs::write(&more, bought).unwrap();
    let more = more.to_str().unwrap();
    let report = json(&ok(seatplan(&[
        "report", "--state", more, "--format", "json",
    ])));
    assert_eq!(
        report["groups"][0]["status"], "errors",
        "the service does not retry by itself"
    );
    let output = ok(seatplan(&[
        "reprocess",
        "--group",
        "Engineering E5",
        "--state",
        more,
        "--format",
        "json",
    ]));
    insta::assert_snapshot!("reprocess_graph_group_json", output);
    let result = json(&output);
    assert_eq!(result["group"], "Engineering E5");
    assert_eq!(result["succeed"][0]["user"], "gus@fabrikam.com");
    assert_eq!(result["still_failing"], serde_json::json!([]));
    assert_eq!(result["seats"][0]["after"], 4);
    let markdown = ok(seatplan(&[
        "reprocess",
        "--state",
        more,
        "--format",
        "markdown",
    ]));
    insta::assert_snapshot!("reprocess_graph_markdown", markdown);

    let text = ok(seatplan(&[
        "reprocess",
        "--group",
        "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
        "--state",
        more,
    ]));
    assert!(
        text.starts_with(
            "Reprocessing the errors of \"Engineering E5\": 1 would now succeed, 0 would still fail.\n\n\
             Would now succeed:\n  \
             gus@fabrikam.com via \"Engineering E5\": was SPE_E5 CountViolation, now assigned\n"
        ),
        "{text}"
    );
    assert!(text.contains("SPE_E5: 3 -> 4 of 4 consumed"), "{text}");

    let quickstart = ok(seatplan(&["reprocess", "--state", QUICKSTART]));
    assert_eq!(
        quickstart,
        "Nothing to reprocess: no assignment is in error.\n"
    );
}

#[test]
fn reprocess_says_a_refused_removal_is_removed_not_assigned() {
    // Ann's E3 stayed in ActiveWithError after she left the group; nothing depends on it any more,
    // so a reprocess removes it and frees its seat.
    let text = ok(seatplan(&[
        "reprocess",
        "--state",
        "tests/fixtures/service/active-with-error/tenant.yaml",
    ]));
    insta::assert_snapshot!("reprocess_removal_text", text);
}

#[test]
fn reprocess_of_an_unknown_group_is_a_diagnostic() {
    let run = seatplan(&["reprocess", "--group", "Visio User", "--state", QUICKSTART]);
    assert_no_panic(&run);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("reprocess_unknown_group", run.stderr);
}

#[test]
fn rule_test_lists_the_matching_users_with_the_attributes_the_rule_reads() {
    let text = ok(seatplan(&[
        "rule",
        "test",
        r#"(user.department -eq "Sales") -and (user.accountEnabled -eq true)"#,
        "--state",
        QUICKSTART,
    ]));
    insta::assert_snapshot!("rule_test_text", text);
    let output = ok(seatplan(&[
        "rule",
        "test",
        r#"user.country -eq "Germany" -or user.jobTitle -startsWith "chief""#,
        "--state",
        QUICKSTART,
        "--format",
        "json",
    ]));
    insta::assert_snapshot!("rule_test_json", output);
    let result = json(&output);
    let users: Vec<&str> = result["matched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|found| found["user"].as_str().unwrap())
        .collect();
    assert_eq!(
        users,
        [
            "erin@contoso.com",
            "frank@contoso.com",
            "grace@contoso.com",
            "heidi@contoso.com"
        ]
    );
    assert_eq!(result["users"], 12);
    assert_eq!(
        result["matched"][0]["attributes"]["country"],
        "United States"
    );
}

#[test]
fn rule_test_points_into_a_bad_rule() {
    let run = seatplan(&[
        "rule",
        "test",
        r#"user.department -eq "Sales" -and"#,
        "--state",
        QUICKSTART,
    ]);
    assert_no_panic(&run);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    insta::assert_snapshot!("rule_test_bad_rule", run.stderr);
}

#[test]
fn a_tenant_without_licenses_says_so_rather_than_that_every_license_is_inherited() {
    let text = ok(seatplan(&[
        "report",
        "--state",
        "tests/fixtures/report/unlicensed.yaml",
    ]));
    assert!(text.contains("No licenses are assigned."), "{text}");
    assert!(!text.contains("Every license is inherited"), "{text}");
}
