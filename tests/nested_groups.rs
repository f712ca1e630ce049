//! End-to-end tests of nested groups named in the config, on the real binary: a static group's
//! `members:` may name groups (by object id or `group: <display name>`, including a group the
//! config creates); the member groups' own members receive nothing, `nested-group` warns, the
//! file backend records the group as a member, and export writes it back.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod common;

use std::fs;
use std::path::Path;

use common::{assert_no_panic, seatplan_in, Run};

const FIXTURE: &str = "tests/fixtures/nested";

/// A temporary directory holding the fixture's config and `tenant` as `tenant.yaml`.
fn copy(tenant: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    let fixture = Path::new(FIXTURE);
    fs::copy(
        fixture.join("seatplan.yaml"),
        directory.path().join("seatplan.yaml"),
    )
    .unwrap();
    fs::copy(fixture.join(tenant), directory.path().join("tenant.yaml")).unwrap();
    directory
}

fn run(directory: &Path, args: &[&str]) -> Run {
    let run = seatplan_in(directory, args);
    assert_no_panic(&run);
    run
}

const PLAN: [&str; 5] = ["plan", "-c", "seatplan.yaml", "--state", "tenant.yaml"];

#[test]
fn member_groups_join_get_nothing_and_are_recorded_by_apply() {
    // Seed 003, "Limitations and known issues": "Group-based licensing currently does not
    // support groups that contain other groups (nested groups). If you apply a license to a
    // nested group, only the immediate first-level user members of the group have the licenses
    // applied." Seed 004: "If you assign licenses to a nested group, only users in the
    // first-level group are assigned licenses."
    for tenant in ["tenant-recorded.yaml", "tenant-unrecorded.yaml"] {
        let directory = copy(tenant);
        let path = directory.path();
        let planned = run(path, &PLAN);
        assert_eq!(
            planned.code, 0,
            "{tenant}: warnings only\n{}",
            planned.stderr
        );
        assert!(
            planned.stderr.contains("seatplan::nested-group"),
            "{tenant}:\n{}",
            planned.stderr
        );
        assert!(
            planned.stderr.contains("(Contractors, Interns, Temps)"),
            "{tenant}:\n{}",
            planned.stderr
        );
        assert!(
            planned
                .stdout
                .contains(r#"+ member groups: "Contractors", "Interns", "Temps""#),
            "{tenant}:\n{}",
            planned.stdout
        );
        assert!(
            planned
                .stdout
                .contains("Plan: 1 to add, 1 to change, 0 to destroy."),
            "{tenant}:\n{}",
            planned.stdout
        );

        let json = run(path, &[&PLAN[..], &["--format", "json"]].concat());
        let document: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        // Nobody gains or loses anything: the member groups' members get no license.
        assert_eq!(
            document["impact"]["users"],
            serde_json::json!([]),
            "{tenant}"
        );
        let staff = document["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|change| change["address"] == r#"group["Staff E3"]"#)
            .expect("a change of Staff E3");
        assert_eq!(
            staff["ops"][0],
            serde_json::json!({"op": "add-members", "users": [], "groups": [
                {"name": "Contractors", "id": "f3fb180b-7afe-4e9a-87e7-bb2abbfd1a1f"},
                {"name": "Interns", "id": "79c780f9-cef9-4060-8921-3d4e0bd11bea"},
                {"name": "Temps"}
            ]}),
            "{tenant}"
        );

        let applied = run(
            path,
            &[
                &["apply"][..],
                &PLAN[1..],
                &["--auto-approve", "--actor", "ci"],
            ]
            .concat(),
        );
        assert_eq!(applied.code, 0, "{tenant}:\n{}", applied.stderr);
        let state: serde_yaml::Value =
            serde_yaml::from_str(&fs::read_to_string(path.join("tenant.yaml")).unwrap()).unwrap();
        let groups = state["groups"].as_sequence().unwrap();
        let temps = groups
            .iter()
            .find(|group| group["display_name"] == "Temps")
            .expect("Temps was created");
        let staff = groups
            .iter()
            .find(|group| group["display_name"] == "Staff E3")
            .unwrap();
        let members: Vec<&str> = staff["members"]
            .as_sequence()
            .unwrap()
            .iter()
            .filter_map(|member| member.as_str())
            .collect();
        assert_eq!(
            members,
            [
                "ann@contoso.com",
                "f3fb180b-7afe-4e9a-87e7-bb2abbfd1a1f",
                "79c780f9-cef9-4060-8921-3d4e0bd11bea",
                temps["id"].as_str().unwrap()
            ],
            "{tenant}"
        );
        // Only Ann, the direct user member, holds the license.
        for user in state["users"].as_sequence().unwrap() {
            let states = user["license_states"].as_sequence().map_or(0, Vec::len);
            let expected = usize::from(user["upn"] == "ann@contoso.com");
            assert_eq!(states, expected, "{tenant}: {:?}", user["upn"]);
        }

        let again = run(path, &[&PLAN[..], &["--detailed-exitcode"]].concat());
        assert_eq!(
            again.code, 0,
            "{tenant}: no changes after apply\n{}",
            again.stdout
        );
        assert!(again.stderr.contains("seatplan::nested-group"), "{tenant}");

        // Export names the member groups, and planning the export changes nothing.
        let exported = run(
            path,
            &["export", "--state", "tenant.yaml", "-o", "exported.yaml"],
        );
        assert_eq!(exported.code, 0, "{}", exported.stderr);
        let text = fs::read_to_string(path.join("exported.yaml")).unwrap();
        for name in ["Contractors", "Interns", "Temps"] {
            assert!(text.contains(&format!("group: {name}")), "{text}");
        }
        let replanned = run(
            path,
            &[
                "plan",
                "-c",
                "exported.yaml",
                "--state",
                "tenant.yaml",
                "--detailed-exitcode",
            ],
        );
        assert_eq!(
            replanned.code, 0,
            "{}\n{}",
            replanned.stdout, replanned.stderr
        );
    }
}

#[test]
fn removing_a_member_group_is_planned_and_applied() {
    let directory = copy("tenant-unrecorded.yaml");
    let path = directory.path();
    let applied = run(
        path,
        &[&["apply"][..], &PLAN[1..], &["--auto-approve"]].concat(),
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    fs::write(
        path.join("seatplan.yaml"),
        "version: 1\ngroups:\n  Staff E3:\n    members: [ann@contoso.com, group: Temps]\n  Temps:\n    members: [dan@contoso.com]\n",
    )
    .unwrap();
    let planned = run(path, &PLAN);
    assert_eq!(planned.code, 0, "{}", planned.stderr);
    assert!(
        planned
            .stdout
            .contains(r#"- member groups: "Contractors", "Interns""#),
        "{}",
        planned.stdout
    );
    let applied = run(
        path,
        &[&["apply"][..], &PLAN[1..], &["--auto-approve"]].concat(),
    );
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    let state = fs::read_to_string(path.join("tenant.yaml")).unwrap();
    assert!(
        !state.contains("- f3fb180b-7afe-4e9a-87e7-bb2abbfd1a1f"),
        "{state}"
    );
}

#[test]
fn a_member_group_that_cannot_be_found_is_an_error_pointing_at_the_entry() {
    let directory = copy("tenant-unrecorded.yaml");
    let path = directory.path();
    for (config, code, message) in [
        (
            "version: 1\ngroups:\n  Staff E3:\n    members:\n      - group: Contractor\n",
            "seatplan::group-reference",
            "member group `Contractor` of group `Staff E3` is neither a group of the config",
        ),
        (
            "version: 1\ngroups:\n  Staff E3:\n    members:\n      - group: Staff E3\n",
            "seatplan::group-reference",
            "group `Staff E3` lists itself as a member",
        ),
        (
            "version: 1\ngroups:\n  Staff E3:\n    members: [group: Interns]\n  Interns:\n    ensure: absent\n",
            "seatplan::group-reference",
            "member group `Interns` of group `Staff E3` is deleted by this config",
        ),
        (
            "version: 1\ngroups:\n  Staff E3:\n    members: [689b3c2e-e64d-4b8c-8402-7fd39341989f]\n",
            "seatplan::user-reference",
            "member `689b3c2e-e64d-4b8c-8402-7fd39341989f` of group `Staff E3` is neither a user nor a group of the tenant",
        ),
    ] {
        fs::write(path.join("seatplan.yaml"), config).unwrap();
        let planned = run(path, &PLAN);
        assert_eq!(planned.code, 1, "{config}");
        assert!(planned.stderr.contains(code), "{config}\n{}", planned.stderr);
        // A message naming a GUID is long enough to wrap: compare it unwrapped.
        let unwrapped = planned.stderr.replace("\n  │ ", " ");
        assert!(unwrapped.contains(message), "{config}\n{}", planned.stderr);
        assert!(planned.stderr.contains("seatplan.yaml:"), "{config}: a location\n{}", planned.stderr);
    }
    // Did you mean: the suggestion names the group.
    fs::write(
        path.join("seatplan.yaml"),
        "version: 1\ngroups:\n  Staff E3:\n    members:\n      - group: Contractor\n",
    )
    .unwrap();
    let planned = run(path, &PLAN);
    assert!(
        planned.stderr.contains("did you mean `Contractors`?"),
        "{}",
        planned.stderr
    );
}

#[test]
fn a_malformed_member_entry_says_what_a_member_may_be() {
    let directory = copy("tenant-unrecorded.yaml");
    let path = directory.path();
    fs::write(
        path.join("seatplan.yaml"),
        "version: 1\ngroups:\n  Staff E3:\n    members:\n      - ann@contoso.com\n      - grop: Interns\n",
    )
    .unwrap();
    let validated = run(path, &["validate", "-c", "seatplan.yaml"]);
    assert_eq!(validated.code, 1);
    assert!(
        validated.stderr.contains("seatplan::schema"),
        "{}",
        validated.stderr
    );
    assert!(
        validated.stderr.contains("seatplan.yaml:6:9"),
        "{}",
        validated.stderr
    );
    assert!(
        validated.stderr.contains(
            "a member is a user principal name, a group's object id, or `group: <display name>`"
        ),
        "{}",
        validated.stderr
    );
}
