//! End-to-end tests of upgrades on the real binary: a service plan replaced by one that
//! supersedes it is not a loss, wherever the superseding plan comes from (this change, another
//! group, a direct license), on tenants with and without recorded license states.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

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
    // Seed 001, "Change license assignments for a user or group in Microsoft Entra ID": "When you
    // update license assignments for a user or group, the license assignment removals and new
    // assignments are made simultaneously so that users do not lose access to their services
    // during license changes …" Ann's RMS_S_BASIC (E1) is superseded by the RMS_S_ENTERPRISE she already holds
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
        // The text and Markdown views say so too.
        for format in ["text", "markdown"] {
            let run = seatplan_in(
                directory,
                &[
                    "plan",
                    "-c",
                    "seatplan.yaml",
                    "--state",
                    tenant,
                    "--format",
                    format,
                ],
            );
            assert!(
                run.stdout.contains("upgrades BPOS_S_TODO_1, CDS_O365_P1"),
                "{tenant} {format}:\n{}",
                run.stdout
            );
        }
    }
}

/// Plans that Microsoft's product and service plan reference (data/product-service-plans.csv,
/// version of 2025-12-30) lists in the lower product of a step and not in the higher one, with no
/// plan of the same service there to supersede them: the only losses a step up may show. Keyed by
/// the fixture group that takes the step.
const DOCUMENTED_MISSING: &[(&str, &[&str])] = &[
    (
        // The reference lists these in Office 365 E3 and not in Office 365 E5 (Commercial data
        // protection for Microsoft Copilot is marked RETIRED there).
        "O365 E3 to E5",
        &[
            "Bing_Chat_Enterprise",
            "M365_LIGHTHOUSE_CUSTOMER_PLAN1",
            "MESH_AVATARS_ADDITIONAL_FOR_TEAMS",
            "MESH_AVATARS_FOR_TEAMS",
            "MESH_IMMERSIVE_FOR_TEAMS",
            "Nucleus",
        ],
    ),
    (
        // Microsoft 365 Lighthouse (Plan 2) is listed in Microsoft 365 E3, not in E5.
        "M365 E3 to E5",
        &["M365_LIGHTHOUSE_PARTNER_PLAN1"],
    ),
];

/// The family steps of tests/fixtures/upgrades/families: the group that takes the step, and the
/// fixture users' UPN prefix.
const FAMILY_STEPS: [&str; 7] = [
    "O365 E1 to E3",
    "O365 E3 to E5",
    "Business Basic to Standard",
    "Business Standard to Premium",
    "F1 to F3",
    "EMS E3 to E5",
    "M365 E3 to E5",
];

#[test]
fn moving_up_a_product_family_loses_only_what_microsoft_lists_as_missing_from_the_larger_product() {
    // Seed 001, "Change license assignments for a user or group in Microsoft Entra ID": "This
    // section describes how to move users and groups between service license plans in Microsoft
    // Entra ID. The goal is to ensure that there's no loss of service or data during the license
    // change. … The
    // license plan assignment steps in this section describe changing a user or group on Office
    // 365 E1 to Office 365 E3, but the steps apply to all license plans." Every step up a family
    // (Office 365 E1 → E3 → E5, Microsoft 365 Business Basic → Standard → Premium, Microsoft 365
    // F1 → F3, EMS E3 → E5, Microsoft 365 E3 → E5), for a user with and one without the family's
    // common add-ons from another group, keeps every service through a plan that supersedes it.
    let directory = Path::new("tests/fixtures/upgrades/families");
    for tenant in ["tenant-recorded.yaml", "tenant-unrecorded.yaml"] {
        let run = seatplan_in(
            directory,
            &[
                "plan",
                "-c",
                "seatplan.yaml",
                "--state",
                tenant,
                "--format",
                "json",
                "--allow-license-loss",
            ],
        );
        assert_no_panic(&run);
        assert_eq!(run.code, 0, "{tenant}:\n{}", run.stderr);
        let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
        for step in FAMILY_STEPS {
            let prefix = step.to_lowercase().replace(' ', "-");
            let allowed: Vec<String> = DOCUMENTED_MISSING
                .iter()
                .find(|(group, _)| *group == step)
                .map(|(_, plans)| plans.iter().map(|plan| plan.to_string()).collect())
                .unwrap_or_default();
            for kind in ["plain", "addons"] {
                let user = format!("{prefix}-{kind}@contoso.com");
                assert_eq!(
                    impact_of(&document, &user, "loses"),
                    allowed,
                    "{tenant}: {user} ({step}) loses only plans missing from the larger product"
                );
                assert!(
                    impact_of(&document, &user, "errors_after").is_empty(),
                    "{tenant}: {user} ({step}) has no assignment error"
                );
                assert!(
                    !impact_of(&document, &user, "upgraded").is_empty(),
                    "{tenant}: {user} ({step}) has upgraded plans"
                );
            }
        }
        // Without the flag, only the two steps with documented missing plans are refused.
        let run = seatplan_in(
            directory,
            &["plan", "-c", "seatplan.yaml", "--state", tenant],
        );
        assert_eq!(run.code, 1, "{tenant}");
        let mut refused: Vec<&str> = run
            .stderr
            .lines()
            .filter(|line| line.contains(" would lose "))
            .filter_map(|line| line.split(" through group `").nth(1))
            .filter_map(|rest| rest.split('`').next())
            .collect();
        refused.sort_unstable();
        assert_eq!(
            refused,
            ["M365 E3 to E5", "O365 E3 to E5"],
            "{tenant}:\n{}",
            run.stderr
        );
    }
}
