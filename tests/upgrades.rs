//! End-to-end tests of upgrades on the real binary: a service plan replaced by one that
//! supersedes it is not a loss, wherever the superseding plan comes from (this change, another
//! group, a direct license), on tenants with and without recorded license states.

// Tests are an edge: they read fixtures and run the binary.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use std::path::Path;

use common::{assert_no_panic, seatplan_in};

/// The JSON plan of `config` against `tenant` in `directory`, with the exit code and stderr.
fn json_plan(directory: &Path, config: &str, tenant: &str) -> (i32, serde_json::Value, String) {
    let run = seatplan_in(
        directory,
        &["plan", "-c", config, "--state", tenant, "--format", "json"],
    );
    assert_no_panic(&run);
    let document = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("JSON plan: {error}\n{}\n{}", run.stdout, run.stderr));
    (run.code, document, run.stderr)
}

/// The plan names of `field` (`gains`, `loses`, `upgraded`) in the impact of `user`.
fn impact_of(document: &serde_json::Value, user: &str, field: &str) -> Vec<String> {
    document["impact"]["users"]
        .as_array()
        .expect("impact.users")
        .iter()
        .find(|entry| entry["user"] == user)
        .unwrap_or_else(|| panic!("{user} has no impact"))[field]
        .as_array()
        .map(|plans| {
            plans
                .iter()
                .filter_map(|plan| plan.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn e1_to_e3_in_one_group_loses_nothing_for_a_user_who_holds_ems_from_another_group() {
    // Seed 002, "Change license assignments for a user or group": "When you update license
    // assignments for a user or group, the license assignment removals and new assignments are
    // made simultaneously so that users do not lose access to their services during license
    // changes." Ann's RMS_S_BASIC (E1) is superseded by the RMS_S_ENTERPRISE she already holds
    // through EMS from another group: she keeps the service, so it is an upgrade.
    let directory = Path::new("tests/fixtures/upgrades/e1-to-e3-with-ems");
    for tenant in ["tenant-recorded.yaml", "tenant-unrecorded.yaml"] {
        let (code, document, stderr) = json_plan(directory, "seatplan.yaml", tenant);
        assert_eq!(code, 0, "{tenant}: the migration is accepted\n{stderr}");
        assert!(!stderr.contains("license-loss"), "{tenant}:\n{stderr}");
        assert_eq!(document["summary"]["rejected"], false, "{tenant}");
        for user in ["ann@contoso.com", "bob@contoso.com"] {
            assert!(
                impact_of(&document, user, "loses").is_empty(),
                "{tenant}: {user} loses nothing"
            );
            assert!(
                impact_of(&document, user, "upgraded").contains(&"RMS_S_BASIC".to_string()),
                "{tenant}: {user}'s RMS_S_BASIC is an upgrade"
            );
        }
        // Ann already had the superseding plan; Bob gains it from E3.
        assert!(!impact_of(&document, "ann@contoso.com", "gains")
            .contains(&"RMS_S_ENTERPRISE".to_string()));
        assert!(impact_of(&document, "bob@contoso.com", "gains")
            .contains(&"RMS_S_ENTERPRISE".to_string()));
    }
}
