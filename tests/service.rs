//! End-to-end tests of how seatplan models the licensing service: the service's memory, errors
//! that stay errors, refused removals, kept seats. Every case runs the real binary on a fixture
//! under `tests/fixtures/service/` twice: on a tenant that records its license states, and on the
//! same tenant without them (`tenant-unrecorded.yaml`, what a hand-written file holds), which must
//! give the same prediction. Each case quotes the sentence of Microsoft's documentation (the
//! seeds) it follows.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

mod common;

use std::path::Path;

use common::{assert_no_panic, seatplan_in};

/// One command on one fixture directory.
struct Case<'a> {
    /// The directory under `tests/fixtures/service/`.
    directory: &'static str,
    /// The command's arguments, with `{state}` standing for the tenant file.
    args: &'a [&'a str],
    /// The tenant files to run it on (recorded, then unrecorded).
    tenants: &'static [&'static str],
    /// The exit code.
    exit: i32,
    /// Texts stderr and stdout together must contain.
    expect: &'static [&'static str],
    /// Texts they must not contain.
    absent: &'static [&'static str],
}

const BOTH: &[&str] = &["tenant.yaml", "tenant-unrecorded.yaml"];
/// `plan` of the fixture's `seatplan.yaml` with `--allow-license-loss`.
const PLAN_ALLOWING_LOSS: &[&str] = &[
    "plan",
    "-c",
    "seatplan.yaml",
    "--state",
    "{state}",
    "--allow-license-loss",
];
const DYNAMIC: &[&str] = &["tenant-dynamic.yaml", "tenant-dynamic-unrecorded.yaml"];

fn check(case: &Case<'_>) {
    let directory = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/service")
        .join(case.directory);
    for tenant in case.tenants {
        let args: Vec<&str> = case
            .args
            .iter()
            .map(|&arg| if arg == "{state}" { *tenant } else { arg })
            .collect();
        let command = args.join(" ");
        let run = seatplan_in(&directory, &args);
        assert_no_panic(&run);
        let output = format!("{}\n{}", run.stderr, run.stdout);
        let what = format!("{} `{command}`", case.directory);
        assert_eq!(run.code, case.exit, "{what}: exit code\n{output}");
        for text in case.expect {
            assert!(output.contains(text), "{what}: `{text}` missing\n{output}");
        }
        for text in case.absent {
            assert!(!output.contains(text), "{what}: `{text}` present\n{output}");
        }
    }
}

/// The fixture directory `name` under `tests/fixtures/service/`.
fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/service")
        .join(name)
}

/// The fixture `name` with `tenant` applied in a copy ([`applied`]): what `report` says, and the
/// state file written.
fn applied_copy(name: &str, tenant: &str) -> (String, String) {
    let directory = copied(&fixture(name), tenant);
    let report = applied(directory.path());
    let state = std::fs::read_to_string(directory.path().join("tenant.yaml")).unwrap();
    (report, state)
}

/// A temporary directory holding the fixture's `seatplan.yaml` and `tenant` as `tenant.yaml`
/// (an apply writes there).
fn copied(fixture: &Path, tenant: &str) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixture.join("seatplan.yaml"),
        directory.path().join("seatplan.yaml"),
    )
    .unwrap();
    std::fs::copy(fixture.join(tenant), directory.path().join("tenant.yaml")).unwrap();
    directory
}

/// The flags of a plan or apply in a [`copied`] directory.
const COPIED_FLAGS: [&str; 5] = [
    "-c",
    "seatplan.yaml",
    "--state",
    "tenant.yaml",
    "--allow-license-loss",
];

/// Applies the plan in a [`copied`] directory, checks that planning again shows no change, and
/// returns what `report` says of the state written.
fn applied(directory: &Path) -> String {
    let apply = seatplan_in(
        directory,
        &[&["apply"][..], &COPIED_FLAGS, &["--auto-approve"]].concat(),
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let again = seatplan_in(directory, &[&["plan"][..], &COPIED_FLAGS].concat());
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    seatplan_in(directory, &["report", "--state", "tenant.yaml"]).stdout
}

/// A JSON plan and its steps as `"call" "target"`.
fn json_calls(stdout: &str) -> (serde_json::Value, Vec<String>) {
    let plan: serde_json::Value = serde_json::from_str(stdout).expect("JSON plan");
    let calls = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|step| format!("{} {}", step["call"], step["target"]))
        .collect();
    (plan, calls)
}

// Seed 001, "Other products depend on this license": "This error occurs when Microsoft Entra ID
// attempts to remove the underlying service plan. For example, this can happen when you remove
// the user from the group." Ann's direct Audio Conferencing needs the Skype for Business Online
// plan her E3 group gives; every way of taking it away is a `dependency-break`, whether or not
// the tenant records that the service assigned E3 to her.

#[test]
fn taking_the_prerequisite_away_is_a_dependency_break() {
    // Removing the member, disabling the plan in the group, removing the product from the group.
    for config in [
        "remove-member.yaml",
        "disable-plan.yaml",
        "remove-product.yaml",
    ] {
        check(&Case {
            directory: "dependency-kept",
            args: &["plan", "-c", config, "--state", "{state}"],
            tenants: BOTH,
            exit: 1,
            expect: &[
                "seatplan::dependency-break",
                "ann@contoso.com: ENTERPRISEPACK",
            ],
            absent: &[],
        });
    }
}

#[test]
fn a_rule_edit_that_drops_the_user_is_a_dependency_break() {
    check(&Case {
        directory: "dependency-kept",
        args: &["plan", "-c", "rule-edit.yaml", "--state", "{state}"],
        tenants: DYNAMIC,
        exit: 1,
        expect: &[
            "seatplan::dependency-break",
            "ann@contoso.com: ENTERPRISEPACK",
        ],
        absent: &[],
    });
    check(&Case {
        directory: "dependency-kept",
        args: &[
            "rule",
            "diff",
            "E3",
            "(user.department -eq \"Sales\")",
            "--state",
            "{state}",
        ],
        tenants: DYNAMIC,
        exit: 1,
        expect: &["DependencyViolation", "ann@contoso.com"],
        absent: &[],
    });
}

// Seed 000, "When a licensed group is deleted": "You must remove all licenses assigned to a group
// before you can delete the group. … there can be failures if user has a dependent license
// assigned".
#[test]
fn deleting_the_group_that_holds_a_prerequisite_is_refused() {
    check(&Case {
        directory: "dependency-kept",
        args: &["plan", "-c", "delete-group.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::licensed-group-delete",
            "ann@contoso.com: ENTERPRISEPACK",
        ],
        absent: &[],
    });
}

// SPEC §2.5: "Assignments already active in the current state keep their seats." Ann holds the
// only E3 seat through `Z - E3`; a new group `A - E3` sorts first, yet Bob is the one left without a seat.
#[test]
fn existing_seat_holders_keep_their_seats() {
    check(&Case {
        directory: "seats-kept",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::seat-shortage",
            "bob@contoso.com via group `A - E3`",
        ],
        absent: &["seatplan::license-loss", "ann@contoso.com via"],
    });
}

// Seeds 001 and 002, on a direct assignment that cannot succeed: "The problem is immediately
// reported back to you." Seed 003: the service "does not automatically react to all types of
// changes in the environment". In the default order Bob's direct E3 would be assigned first,
// while Ann still holds the only seat, and refused for good. Ann leaves her group and ends
// without E3 anyway, so her removal runs first (`steps-reordered` says so): the seat is free when
// Bob's call is made, and the steps of the plan show that order.
#[test]
fn a_removal_that_frees_a_seat_runs_ahead_of_the_direct_assignment_that_needs_it() {
    check(&Case {
        directory: "refused-direct",
        args: PLAN_ALLOWING_LOSS,
        tenants: BOTH,
        exit: 0,
        expect: &[
            "seatplan::steps-reordered",
            "step 1. removeMember group[\"Z - E3\"] ann@contoso.com runs ahead of the additions",
            "1. removeMember group[\"Z - E3\"] ann@contoso.com",
            "2. assignLicense user[\"bob@contoso.com\"] +ENTERPRISEPACK",
            "gains Office 365 E3 (ENTERPRISEPACK) assigned directly",
        ],
        absent: &["seatplan::seat-shortage"],
    });
}

// The same order in every view of the plan (JSON `steps`, Markdown), and the file backend
// records what those steps give: Bob holds the seat, and planning again shows no change.
#[test]
fn the_reordered_steps_are_what_the_plan_shows_and_the_file_backend_applies() {
    let fixture = fixture("refused-direct");
    for tenant in BOTH {
        let directory = copied(&fixture, tenant);
        let flags = COPIED_FLAGS;
        let json = seatplan_in(
            directory.path(),
            &[&["plan"][..], &flags, &["--format", "json"]].concat(),
        );
        assert_eq!(json.code, 0, "{}", json.stderr);
        assert_eq!(
            json_calls(&json.stdout).1,
            [
                r#""removeMember" "group[\"Z - E3\"]""#,
                r#""assignLicense" "user[\"bob@contoso.com\"]""#,
            ]
        );
        let markdown = seatplan_in(
            directory.path(),
            &[&["plan"][..], &flags, &["--format", "markdown"]].concat(),
        );
        assert_eq!(markdown.code, 0, "{}", markdown.stderr);
        insta::assert_snapshot!("reordered steps markdown", markdown.stdout);
        let report = applied(directory.path());
        assert!(
            report.contains("ENTERPRISEPACK: 1 direct only, 0 inherited only, 0 both\n      direct only: bob@contoso.com"),
            "{report}"
        );
    }
}

// The same with a direct license: Ann's direct E3 is removed and Bob's added, one seat between
// them. Ann ends without E3 anyway, so her `assignLicense` that removes it runs first and Bob's
// call finds the seat free; the file backend records that, and a second plan has nothing to do.
#[test]
fn a_direct_removal_that_frees_a_seat_runs_ahead_of_the_direct_assignment_that_needs_it() {
    let fixture = fixture("refused-direct-swap");
    for tenant in BOTH {
        let directory = copied(&fixture, tenant);
        let flags = COPIED_FLAGS;
        let plan = seatplan_in(directory.path(), &[&["plan"][..], &flags].concat());
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        assert!(
            plan.stdout.contains(
                "1. assignLicense user[\"ann@contoso.com\"] -ENTERPRISEPACK\n    2. assignLicense user[\"bob@contoso.com\"] +ENTERPRISEPACK"
            ),
            "{}",
            plan.stdout
        );
        assert!(
            plan.stderr.contains("seatplan::steps-reordered"),
            "{}",
            plan.stderr
        );
        let report = applied(directory.path());
        assert!(
            report.contains("ENTERPRISEPACK: 1 direct only, 0 inherited only, 0 both\n      direct only: bob@contoso.com"),
            "{report}"
        );
    }
}

// Seeds 001/002 ("The problem is immediately reported back to you") and seed 003 (the service
// "does not automatically react"): when the only removal that frees the seat would leave its
// user without plans in between (Ann's E3 goes before her new E5 arrives: a window, a license
// loss), seatplan keeps the default order and rejects the plan, naming the refused step, the
// step that frees the seat and how to restructure. Bob joins another group at a later step: that
// step processes him, but a refused call records nothing and only the step that makes it makes
// it, so he still has no E3.
#[test]
fn a_refused_direct_assignment_is_named_and_not_called_again_by_a_later_step() {
    check(&Case {
        directory: "refused-direct-kept",
        args: PLAN_ALLOWING_LOSS,
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::seat-shortage",
            "bob@contoso.com via the direct licenses of `bob@contoso.com`",
            "step 2. assignLicense user[\"bob@contoso.com\"] +ENTERPRISEPACK is refused",
            "(CountViolation)",
            "4. removeMember group[\"Z - E3\"] ann@contoso.com",
            "restructure the change: leave the refused assignment out of this plan",
            "gains Enterprise Mobility + Security E3 (EMS) via \"Y - EMS\"",
        ],
        absent: &[
            "gains Office 365 E3",
            "seatplan::steps-reordered",
            "would be without service plans while the plan is applied",
        ],
    });
}

// Seed 001, "Service plans that conflict": "Microsoft Entra ID doesn't automatically resolve
// license conflicts." Ann's direct E3 is assigned while her E1 group still gives her E1: the call
// is refused (MutuallyExclusiveViolation). Leaving the group first would leave her with neither
// license in between, so seatplan does not reorder: it names both steps and says how to
// restructure.
#[test]
fn a_direct_assignment_refused_for_a_conflict_removed_later_names_both_steps() {
    check(&Case {
        directory: "direct-conflict",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::mutually-exclusive",
            "step 1. assignLicense user[\"ann@contoso.com\"] +ENTERPRISEPACK is refused",
            "(MutuallyExclusiveViolation)",
            "2. removeMember group[\"E1\"] ann@contoso.com",
            "restructure the change",
            "seatplan::license-loss",
        ],
        absent: &["seatplan::steps-reordered", "gains Office 365 E3"],
    });
}

// Seed 003: "License management automation does not automatically react to all types of changes
// in the environment. For example, you might have run out of licenses, causing some users to be
// in an error state. To free up the available seat count, you can remove some directly assigned
// licenses from other users. However, the system does not automatically react to this change".
// Removing Ann's direct E3 frees the seat Bob's group assignment failed for, and changing Bob's
// usage location does not retry it either: Bob stays in CountViolation and `needs-reprocess`
// says a reprocess would fix it.
#[test]
fn errors_are_not_retried_without_a_reprocess() {
    check(&Case {
        directory: "errors-stay",
        args: PLAN_ALLOWING_LOSS,
        tenants: BOTH,
        exit: 0,
        expect: &["seatplan::needs-reprocess", "- bob@contoso.com"],
        absent: &["bob@contoso.com                  +"],
    });
}

// Seed 000, "Force user license processing to resolve errors": "after you resolve a dependency
// violation error for an affected user, you need to trigger the reprocessing of the user." Ann
// left E3 while a dependent plan needed it; the service kept E3 in ActiveWithError. The dependency is gone now,
// but until a reprocess she keeps E3, its plans and its seat, and she is in error. (An
// ActiveWithError assignment is only ever known from a record, so this case has no unrecorded
// tenant.)
#[test]
fn a_refused_removal_stays_until_reprocessed() {
    check(&Case {
        directory: "active-with-error",
        args: &["report", "--state", "{state}"],
        tenants: &["tenant.yaml"],
        exit: 0,
        expect: &[
            "2 users: 2 licensed, 1 in error",
            "ENTERPRISEPACK         5         2       3",
            "ann@contoso.com ENTERPRISEPACK via \"E3\": DependencyViolation",
        ],
        absent: &[],
    });
    check(&Case {
        directory: "active-with-error",
        args: &["reprocess", "--state", "{state}"],
        tenants: &["tenant.yaml"],
        exit: 0,
        expect: &[
            "1 would now succeed",
            "ENTERPRISEPACK: 2 -> 1 of 5 consumed",
        ],
        absent: &[],
    });
}

// Seed 001, "Service plans that conflict": "The decision about how to resolve conflicting
// product licenses always belongs to the administrator. Microsoft Entra ID doesn't automatically
// resolve license conflicts." Ann moves from a direct Office 365 E1 to the E3 group. The group
// assignment is processed while E1 is still assigned (removals are the last steps), fails with
// MutuallyExclusiveViolation and is not retried once E1 is gone: she would be left with no
// Office license at all.
#[test]
fn a_direct_removal_after_a_conflicting_group_add_is_rejected_with_how_to_restructure() {
    check(&Case {
        directory: "direct-to-group",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::mutually-exclusive",
            "seatplan::license-loss",
            "the conflicting license is removed by a later step",
            "replace the product inside one group",
            "ann@contoso.com: ENTERPRISEPACK",
            "1. addMember group[\"E3\"] ann@contoso.com",
            "2. assignLicense user[\"ann@contoso.com\"] -STANDARDPACK",
        ],
        absent: &[],
    });
}

// Seed 001, "Change license assignments for a user or group in Microsoft Entra ID": "The goal is
// to ensure that there's no loss of service or data during the license change." A window between two steps in
// which Ann has neither the old nor the new plan is a loss: E3 re-enables Yammer and disables
// Sway in one call, and Sway only comes back when she joins the new group, a later step.
#[test]
fn a_window_without_a_plan_is_a_license_loss() {
    check(&Case {
        directory: "window",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-loss",
            "would be without service plans while the plan is applied",
            "ann@contoso.com is without 1 plan: SWAY",
        ],
        absent: &[],
    });
    // `settings: { allow_license_loss: true }` allows it as the flag does.
    for args in [
        &["plan", "-c", "allowed.yaml", "--state", "{state}"][..],
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "{state}",
            "--allow-license-loss",
        ][..],
    ] {
        check(&Case {
            directory: "window",
            args,
            tenants: BOTH,
            exit: 0,
            expect: &[
                "would be without service plans while the plan is applied",
                "allowed by `allow_license_loss` or --allow-license-loss",
            ],
            absent: &[],
        });
    }
}

// The same move where E3 only switches Sway off: that call takes service away and nothing in it
// gives any back, so it runs with the removals, after Ann has joined the new group — an order
// without the window, which the steps show.
#[test]
fn an_update_that_only_disables_plans_runs_after_the_steps_that_give_them_back() {
    check(&Case {
        directory: "window",
        args: &["plan", "-c", "reordered.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "3. addMember group[\"E3 with Sway\"] ann@contoso.com",
            "4. assignLicense group[\"E3\"] +ENTERPRISEPACK",
        ],
        absent: &["seatplan::license-loss"],
    });
}

// Seed 000, "Conflicting service plans" and "Usage location not specified": the group's
// assignment fails for the user, who is in an error state within the group. Re-enabling Exchange
// Online in E3 conflicts with Ann's direct Office 365 E1 and is not available in Cat's Germany
// (per this config's catalog): both keep E3 as it was, in error, and nobody loses a plan.
#[test]
fn re_enabling_a_plan_that_cannot_be_assigned_fails_in_place() {
    check(&Case {
        directory: "in-place",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::mutually-exclusive",
            "- ann@contoso.com: ENTERPRISEPACK",
            "seatplan::usage-location",
            "- cat@contoso.com (DE): ENTERPRISEPACK",
        ],
        absent: &["seatplan::license-loss"],
    });
}

// SPEC §5: the JSON plan carries the service calls in order; both backends make exactly these.
#[test]
fn the_json_plan_lists_the_steps_in_order() {
    let directory = fixture("window");
    for tenant in BOTH {
        let run = seatplan_in(
            &directory,
            &[
                "plan",
                "-c",
                "reordered.yaml",
                "--state",
                tenant,
                "--format",
                "json",
            ],
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let (plan, calls) = json_calls(&run.stdout);
        assert_eq!(
            calls,
            [
                r#""createGroup" "group[\"E3 with Sway\"]""#,
                r#""assignLicense" "group[\"E3 with Sway\"]""#,
                r#""addMember" "group[\"E3 with Sway\"]""#,
                r#""assignLicense" "group[\"E3\"]""#,
            ]
        );
        assert_eq!(plan["steps"][2]["member"], "ann@contoso.com");
        assert_eq!(plan["steps"][1]["add"][0], "ENTERPRISEPACK");
    }
}

// Seed 003: "you can go to the Group blade in Azure AD, and click Reprocess. This command
// processes all users in that group and resolves the error states, if possible." `--reprocess`
// adds that call for the users the change lets succeed; the prediction simulates it like any
// step, and the file backend records the result, so planning again shows no change.
#[test]
fn apply_with_reprocess_adds_the_reprocess_steps_and_records_their_result() {
    let fixture = fixture("errors-stay");
    for tenant in BOTH {
        let directory = copied(&fixture, tenant);
        let flags = COPIED_FLAGS;
        let plan = seatplan_in(
            directory.path(),
            &[&["plan"][..], &flags, &["--reprocess"]].concat(),
        );
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        assert!(
            plan.stdout
                .contains("3. reprocessLicenseAssignment user[\"bob@contoso.com\"]"),
            "{}",
            plan.stdout
        );
        assert!(
            !plan.stderr.contains("seatplan::needs-reprocess"),
            "{}",
            plan.stderr
        );
        let apply = seatplan_in(
            directory.path(),
            &[&["apply"][..], &flags, &["--reprocess", "--auto-approve"]].concat(),
        );
        assert_eq!(apply.code, 0, "{}", apply.stderr);
        let report = seatplan_in(directory.path(), &["report", "--state", "tenant.yaml"]);
        assert!(
            report.stdout.contains("2 users: 1 licensed, 0 in error"),
            "{}",
            report.stdout
        );
        // The service knows a group by its object id: the recorded state names it so, whether
        // the state read named it by display name (`via: E3`) or recorded nothing.
        let written = std::fs::read_to_string(directory.path().join("tenant.yaml")).unwrap();
        assert!(
            written.contains("via: 70e873c9-8bf5-49ef-8e11-f23ba3ae55b4"),
            "{written}"
        );
        assert!(!written.contains("via: E3"), "{written}");
        let again = seatplan_in(directory.path(), &[&["plan"][..], &flags].concat());
        assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    }
}

// Seed 001, "Service plans that conflict": the service cannot assign a product whose plans
// conflict with plans the user already has, and seed 003: it "does not automatically react to all
// types of changes in the environment". Ann and Bob move from the E1 group to the E3 group: they
// are added to the E3 group first (so they are never in neither), meet the E1 they still hold,
// and the E3 assignment fails for good; then E1 goes and they have no Office license at all.
#[test]
fn a_move_between_groups_whose_licenses_conflict_is_rejected_with_how_to_restructure() {
    check(&Case {
        directory: "move-across-groups",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "1. addMember group[\"Staff E3\"] ann@contoso.com",
            "3. removeMember group[\"Staff\"] ann@contoso.com",
            "seatplan::mutually-exclusive",
            "error: ENTERPRISEPACK via \"Staff E3\": MutuallyExclusiveViolation",
            "seatplan::license-loss",
            "2 users would lose Office 365 E1 through group `Staff`",
        ],
        absent: &[],
    });
}

// Seed 001, "Not enough licenses": the assignment fails for a joiner when no seat is free, and
// seed 003: the service "does not automatically react to all types of changes in the
// environment". With 2 seats of 2 taken, adding Ann before removing Cat would fail for seats and
// the seat Cat frees afterwards would not retry it; Cat ends without E3 anyway, so her removal
// runs first and says so.
#[test]
fn a_leaver_who_frees_the_seat_a_joiner_needs_is_removed_first() {
    check(&Case {
        directory: "seat-swap",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "1. removeMember group[\"E3\"] cat@contoso.com",
            "2. addMember group[\"E3\"] ann@contoso.com",
            "seatplan::steps-reordered",
            "ENTERPRISEPACK for ann@contoso.com (2. addMember group[\"E3\"] ann@contoso.com), from",
            "gains Office 365 E3",
        ],
        absent: &["seatplan::seat-shortage", "error: ENTERPRISEPACK"],
    });
    for tenant in BOTH {
        let (report, _) = applied_copy("seat-swap", tenant);
        assert!(!report.contains("CountViolation"), "{tenant}: {report}");
    }
}

// Seed 000, "Missing dependent service plans", and seed 001, "Other products depend on this
// license": a product cannot be removed while a plan the user keeps depends on it. Workplace
// Analytics needs the Exchange plan of E3; removing both from the group (or deleting the group)
// is one `assignLicense` with both skuIds, never E3 alone first.
#[test]
fn an_add_on_and_its_prerequisite_are_removed_in_one_call() {
    for config in ["seatplan.yaml", "delete-group.yaml"] {
        check(&Case {
            directory: "removed-together",
            args: &["plan", "-c", config, "--state", "{state}"],
            tenants: BOTH,
            exit: 0,
            expect: &["1. assignLicense group[\"WPA\"] -ENTERPRISEPACK -WORKPLACE_ANALYTICS"],
            absent: &["seatplan::dependency-break"],
        });
    }
}

// Seed 000, "License removal of dynamic membership groups with rules based on licenses with an
// initial static group": "users are added and removed from another batch of dynamic membership
// groups". Ann leaves the static E3 group; once her Exchange plan is gone, the rule of `Visio
// for mailbox users` (on `user.assignedPlans`) drops her and she loses Visio too.
#[test]
fn a_rule_on_licenses_drops_the_user_who_loses_them_and_her_other_licenses_with_it() {
    check(&Case {
        directory: "cascade",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-cascade",
            "group `Visio for mailbox users` selects users by their",
            "ann@contoso.com leaves",
            "seatplan::license-loss",
            "Visio Plan 2",
        ],
        absent: &[],
    });
}

// The same seed, the other way: Cat joins the E3 group, gains Exchange and with it the Visio
// group, whose two seats Ann and Bob hold (seed 001, "Not enough licenses").
#[test]
fn a_rule_on_licenses_adds_the_user_who_gains_them_and_needs_a_seat_for_it() {
    check(&Case {
        directory: "cascade",
        args: &["plan", "-c", "joiner.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-cascade",
            "cat@contoso.com joins",
            "seatplan::seat-shortage",
            "cat@contoso.com via group `Visio for mailbox users`",
        ],
        absent: &[],
    });
}

// After an apply on the file backend the state records what Graph would report: Ann's Exchange
// plan `Deleted` and the Visio group without her; planning again shows no change.
#[test]
fn an_applied_cascade_records_the_plans_and_members_graph_would_report() {
    for tenant in BOTH {
        let (report, state) = applied_copy("cascade", tenant);
        let state: serde_yaml::Value = serde_yaml::from_str(&state).unwrap();
        let ann = &state["users"][0];
        assert_eq!(ann["upn"], "ann@contoso.com");
        assert_eq!(
            ann["assigned_plans"][0]["capability_status"], "Deleted",
            "{tenant}"
        );
        let visio = &state["groups"][1];
        assert_eq!(visio["display_name"], "Visio for mailbox users");
        assert_eq!(
            visio["members"],
            serde_yaml::Value::Sequence(vec!["bob@contoso.com".into()]),
            "{tenant}"
        );
        assert!(!report.contains("ann@contoso.com"), "{tenant}: {report}");
    }
}

// A rule that excludes the plans its own group gives never settles: Cat has no mailbox, joins
// `Mailbox for everyone`, gains one, leaves, loses it, joins again. No state holds; the plan is
// rejected rather than predicted at an arbitrary round.
#[test]
fn rules_on_licenses_that_never_settle_reject_the_plan() {
    check(&Case {
        directory: "cascade",
        args: &["plan", "-c", "feedback.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-cascade",
            "group `Mailbox for everyone` selects users by their",
            "they had not settled",
        ],
        absent: &[],
    });
}

// Seed 002, "Change license assignments for a user or group" (migration): it assumes users have
// "the current license plan that's assigned to a group and inherited by the user and not assigned
// directly", else "the migration might fail for some"; seed 001: a user with E1 assigned directly
// who gets E3 from a group "fails with the 'Conflicting service plans' error". Staff migrates
// from E1 to E3 in one call while Ann still holds E1 directly (or through another group that a
// later step takes her out of): her E3 fails at the migration, and the later removal does not
// retry it (seed 003).
#[test]
fn a_migration_meets_the_conflicting_license_a_later_step_removes() {
    for directory in ["migration-conflict-direct", "migration-conflict-group"] {
        check(&Case {
            directory,
            args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
            tenants: BOTH,
            exit: 1,
            expect: &[
                "1. assignLicense group[\"Staff\"] +ENTERPRISEPACK -STANDARDPACK",
                "seatplan::mutually-exclusive",
                "error: ENTERPRISEPACK via \"Staff\": MutuallyExclusiveViolation",
                "seatplan::needs-reprocess",
            ],
            absent: &["ann@contoso.com\n    gains Office 365 E3"],
        });
    }
}

// Rules read every field of `assignedPlan` (`servicePlanId`, `service`, `capabilityStatus`;
// research/dynamic-rules-grammar.md §5.3). Ann joins the E3 group and gains Exchange, whose
// `service` is `exchange` (as Bob's recorded entry for that plan says): she joins `PBI for
// Exchange users` too, which has no Power BI seat. Nobody in the tenant records license states
// for these groups, so both tenant files are the same.
#[test]
fn a_rule_on_the_service_of_a_plan_sees_the_plans_a_user_gains() {
    check(&Case {
        directory: "cascade-service",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::seat-shortage",
            "ann@contoso.com via group `PBI for Exchange users`",
            "seatplan::license-cascade",
            "gains Visio Plan 2 (VISIOCLIENT) via \"Visio by plan id\"",
        ],
        absent: &[],
    });
}

// Seed 002, "Remove a license from a group": with dependent plans, "make sure that the required
// plan is still assigned … or that the dependent services are disabled for those users. After
// doing that, you can properly remove the group license". Ann's direct Audio Conferencing needs
// the E3 group's Skype plan; the plan removes it first, then E3 from the group, then the group.
// The group's members stay in it until it is deleted (no step removes them earlier).
#[test]
fn a_group_is_deleted_cleanly_once_the_add_on_that_needed_it_is_removed_first() {
    check(&Case {
        directory: "delete-after-addon",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "1. assignLicense user[\"ann@contoso.com\"] -MCOMEETADV",
            "2. assignLicense group[\"E3\"] -ENTERPRISEPACK",
            "3. deleteGroup group[\"E3\"]",
        ],
        absent: &[
            "seatplan::licensed-group-delete",
            "DependencyViolation",
            "seatplan::needs-reprocess",
        ],
    });
}

// The seat swap of `seat-swap`, with the leaver in two groups that assign the product: Cat
// frees her seat only when she has left both (seed 001: "only one license is consumed by the
// user"), so both removals run ahead of Ann's addition.
#[test]
fn a_leaver_in_two_groups_leaves_both_before_the_joiner_takes_the_seat() {
    check(&Case {
        directory: "seat-swap-two-groups",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "1. removeMember group[\"HR E3\"] cat@contoso.com",
            "2. removeMember group[\"Sales E3\"] cat@contoso.com",
            "3. addMember group[\"Sales E3\"] ann@contoso.com",
            "seatplan::steps-reordered",
        ],
        absent: &["seatplan::seat-shortage", "error: ENTERPRISEPACK"],
    });
}

// Seed 000, on changing a static group to a dynamic one: "the original members might lose access
// until the membership rule is fully processed"; the service evaluates rules in the background.
// Ann and Bob leave the static E3 group in the same apply that edits (or creates) the rule that
// gives them E3 again: from the end of the apply until the rule is processed they have no E3.
#[test]
fn a_static_removal_that_a_changed_rule_makes_good_is_a_window_until_the_rule_is_processed() {
    for config in ["seatplan.yaml", "new-group.yaml"] {
        check(&Case {
            directory: "rule-pending",
            args: &["plan", "-c", config, "--state", "{state}"],
            tenants: BOTH,
            exit: 1,
            expect: &[
                "seatplan::license-loss",
                "2 users would be without service plans from the end of the apply until the",
                "ann@contoso.com is without 36 plans",
            ],
            absent: &[],
        });
    }
    // Applying the rule first and the removal in a second plan has no window.
    let fixture = fixture("rule-pending");
    for tenant in BOTH {
        let directory = copied(&fixture, tenant);
        let first = "version: 1\ngroups:\n  E3 static:\n    members: [ann@contoso.com, bob@contoso.com]\n    licenses:\n      - sku: ENTERPRISEPACK\n  E3 by department:\n    rule: user.department -eq \"Sales\"\n    licenses:\n      - sku: ENTERPRISEPACK\n";
        std::fs::write(directory.path().join("first.yaml"), first).unwrap();
        let apply = seatplan_in(
            directory.path(),
            &[
                "apply",
                "-c",
                "first.yaml",
                "--state",
                "tenant.yaml",
                "--auto-approve",
            ],
        );
        assert_eq!(apply.code, 0, "{tenant}: {}", apply.stderr);
        let second = seatplan_in(
            directory.path(),
            &["plan", "-c", "seatplan.yaml", "--state", "tenant.yaml"],
        );
        assert_eq!(
            second.code, 0,
            "{tenant}: {}\n{}",
            second.stderr, second.stdout
        );
        assert!(
            !second.stderr.contains("without service plans"),
            "{}",
            second.stderr
        );
    }
}

// A window opened by a group's change is allowed by that group's `allow_license_loss`, as a
// loss through it is (SPEC 1.1: "a group may override").
#[test]
fn a_window_is_allowed_by_the_allow_license_loss_of_the_group_that_opens_it() {
    check(&Case {
        directory: "rule-pending",
        args: &["plan", "-c", "group-allowed.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "2 users would be without service plans from the end of the apply until the",
            "allowed by `allow_license_loss` or --allow-license-loss",
        ],
        absent: &[],
    });
}

// Seed 000, on a dynamic group's processing: a group whose recorded members lag behind its rule
// has not been processed; its status stays "In progress" until it is. Ann leaves the static E3
// group counting on `Sales E3`, whose rule selects her but which has not added her yet: she
// loses E3 (nothing says when, or whether, the service gets there).
#[test]
fn a_dynamic_group_that_has_not_added_a_user_yet_gives_her_nothing() {
    check(&Case {
        directory: "pending-join",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-loss",
            "1 user would lose Office 365 E3 through group `E3 static`",
            "seatplan::membership-pending",
        ],
        absent: &[],
    });
}

// Seed 001, "Not enough licenses": Bob still holds the one E3 seat through `Sales E3`, whose rule
// no longer selects him but which has not removed him yet; Ann's new group finds no seat.
#[test]
fn a_user_a_dynamic_group_has_not_removed_yet_keeps_his_seat() {
    check(&Case {
        directory: "pending-leaver-seat",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::seat-shortage",
            "error: ENTERPRISEPACK via \"New E3\": CountViolation",
            "seatplan::membership-pending",
        ],
        absent: &[],
    });
}

// Seed 000: "When you change an existing static group to a dynamic group, all existing members
// are removed from the group, and then the membership rule is processed to add new members."
// With both E3 seats taken by the old members, the new members the rule adds take the seats the
// removed ones freed: no shortage (the conversion itself is `static-to-dynamic`).
#[test]
fn a_static_group_made_dynamic_frees_its_seats_before_the_rule_adds_members() {
    check(&Case {
        directory: "static-to-dynamic-seats",
        args: PLAN_ALLOWING_LOSS,
        tenants: BOTH,
        exit: 0,
        expect: &["seatplan::static-to-dynamic"],
        absent: &["seatplan::seat-shortage", "CountViolation"],
    });
}

// Seed 001, "Not enough licenses": "if you free up some licenses by removing direct license
// assignments from users, you need to trigger the processing of groups that previously failed".
// An earlier apply freed the seat; Bob's CountViolation stays until reprocessed. `--reprocess`
// reprocesses him although this plan changes nothing else, and the state records the result.
// (Only a tenant that records his error has one: without recorded states the service would
// license him as it processed the tenant.)
#[test]
fn apply_with_reprocess_retries_an_error_an_earlier_change_made_retryable() {
    let fixture = fixture("reprocess-later");
    let directory = copied(&fixture, "tenant.yaml");
    let plan = seatplan_in(
        directory.path(),
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
            "--reprocess",
        ],
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    assert!(
        plan.stdout
            .contains("the apply only reprocesses the users below"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("1. reprocessLicenseAssignment user[\"bob@contoso.com\"]"),
        "{}",
        plan.stdout
    );
    let apply = seatplan_in(
        directory.path(),
        &[
            "apply",
            "-c",
            "seatplan.yaml",
            "--state",
            "tenant.yaml",
            "--reprocess",
            "--auto-approve",
        ],
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let report = seatplan_in(directory.path(), &["report", "--state", "tenant.yaml"]).stdout;
    assert!(report.contains("0 in error"), "{report}");
    let audit = std::fs::read_to_string(directory.path().join("tenant.yaml.audit.jsonl")).unwrap();
    assert!(audit.contains("\"action\":\"reprocess\""), "{audit}");
    let again = seatplan_in(
        directory.path(),
        &["plan", "-c", "seatplan.yaml", "--state", "tenant.yaml"],
    );
    assert!(
        again
            .stdout
            .contains("No changes. The tenant matches the configuration.\n"),
        "{}",
        again.stdout
    );
}

// Seed 000: "When you change an existing static group to a dynamic group, all existing members
// are removed from the group, and then the membership rule is processed to add new members."
// With processing paused nothing is processed: the members are gone and stay gone.
#[test]
fn a_static_group_made_dynamic_with_processing_paused_loses_its_members() {
    check(&Case {
        directory: "conversion-paused",
        args: PLAN_ALLOWING_LOSS,
        tenants: BOTH,
        exit: 0,
        expect: &[
            "seatplan::static-to-dynamic",
            "ann@contoso.com loses Office 365 E3",
            "bob@contoso.com loses Office 365 E3",
        ],
        absent: &[],
    });
}

// The same conversion takes nothing from anyone when the group assigns no license, or when
// another group gives its members the same license: no `static-to-dynamic`.
#[test]
fn a_static_group_made_dynamic_whose_members_lose_nothing_is_not_an_error() {
    check(&Case {
        directory: "conversion-covered",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[],
        absent: &["seatplan::static-to-dynamic", "seatplan::license-loss"],
    });
}

// Seed 003, "When a rule is changed": "users who no longer match the new rule will be removed".
// Bob is disabled and the current rule of `All Staff - E3` drops him already; the service has not
// processed it (`membership-pending`). An edit of that rule that also drops him does not cause
// his loss: a warning that says so, and no removal counted against `max_license_removals`.
#[test]
fn a_rule_edit_is_not_blamed_for_a_member_the_current_rule_drops_already() {
    check(&Case {
        directory: "pending-leaver-edit",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "seatplan::license-loss",
            "whose current rule drops them already",
            "seatplan::membership-pending",
            // The plan changes that group's rule: the service evaluates the new one afresh.
            "this plan changes the",
        ],
        absent: &["seatplan::removal-threshold", "not the rule's result"],
    });
}

// A `memberOf` rule reads the members of other groups, and the service evaluates it again in the
// background when they change (seed 003: "check processing status for the membership rule of the
// dynamic group"). Ann joins `Project team`, which the E3 group's rule reads, in the same apply
// that removes her from the static E3 group: she has no E3 until the rule is processed.
#[test]
fn a_member_of_rule_that_makes_good_a_removal_is_a_window_until_it_is_processed() {
    check(&Case {
        directory: "memberof-window",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-loss",
            "would be without service plans from the end of the apply until the",
            "ann@contoso.com is without",
        ],
        absent: &[],
    });
}

// Seed 000, the cascade of dynamic groups with rules on licenses, after a reprocess: removing Ann
// frees the E3 seat Cat failed for; `--reprocess` licenses Cat, whose new Exchange plan the rule of
// `Visio for mailbox users` selects. (Only a tenant that records Cat's error has it.)
#[test]
fn rules_on_licenses_follow_what_a_reprocess_licenses() {
    check(&Case {
        directory: "reprocess-cascade",
        args: &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            "{state}",
            "--reprocess",
        ],
        tenants: &["tenant.yaml"],
        exit: 1,
        expect: &[
            "reprocessLicenseAssignment user[\"cat@contoso.com\"]",
            "seatplan::license-cascade",
            "cat@contoso.com joins",
            "ann@contoso.com leaves",
        ],
        absent: &[],
    });
}

// Microsoft's product list gives two products the skuPartNumber `MCOPSTN5`. A tenant that
// subscribes to one of them (by skuId) means that one when a file names the part number: Graph's
// import writes it so, and so do the license states an apply records; both load again.
#[test]
fn a_part_number_two_products_share_names_the_one_the_tenant_subscribes_to() {
    let report = seatplan_in(
        &fixture("shared-part-number"),
        &["report", "--state", "imported.yaml"],
    );
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("MCOPSTN5"), "{}", report.stdout);
    let (after, state) = applied_copy("shared-part-number", "tenant.yaml");
    assert!(after.contains("MCOPSTN5"), "{after}");
    // The license states name it by skuId: the part number alone would not say which.
    assert!(
        state.contains("sku: 54a152dc-90de-4996-93d2-bc47e670fc06"),
        "{state}"
    );
}

// Seed 001: "the license assignment removals and new assignments are made simultaneously so that
// users do not lose access". Sales moves from E3 to Microsoft 365 E5, which includes Audio
// Conferencing, and the group that gave Audio Conferencing on E3 is deleted: products are removed,
// nobody loses a service plan, and `max_license_removals` (100 % of the licensed users) does not
// count them.
#[test]
fn removals_nobody_loses_a_plan_by_do_not_count_against_the_removal_threshold() {
    check(&Case {
        directory: "cleanup-threshold",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &["deleteGroup"],
        absent: &["seatplan::removal-threshold", "seatplan::license-loss"],
    });
}

// Seed 000's tip, one Workplace Analytics group per prerequisite (E1 with only Exchange Online
// Plan 1, E3 with only Plan 2), and seed 001: "E3 product contains service plans that can't
// overlap with the plans that are included in E1, so the group license assignment fails". Two
// migrations are two calls: when Staff moves to E3, the user still has Plan 1 from the E1
// Workplace Analytics group, and the failed migration keeps E1, so the second call fails too.
#[test]
fn two_migrations_are_two_calls_and_each_meets_what_the_other_has_not_replaced() {
    check(&Case {
        directory: "two-migrations",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::mutually-exclusive",
            "error: ENTERPRISEPACK via \"Staff - E1\": MutuallyExclusiveViolation",
        ],
        absent: &[],
    });
}

// A group pinned by `id:` whose key is not its display name is renamed to the key (one
// `updateGroup` with `displayName`), and the rest of the plan addresses it by the new name:
// merging Marketing into Sales under a new name, then deleting Marketing.
#[test]
fn a_group_pinned_by_id_under_a_new_key_is_renamed() {
    for config in ["seatplan.yaml", "rename-only.yaml"] {
        check(&Case {
            directory: "rename",
            args: &["plan", "-c", config, "--state", "{state}"],
            tenants: BOTH,
            exit: 0,
            expect: &["~ display name: \"Sales - E3\" -> \"Sales"],
            absent: &["seatplan::license-loss"],
        });
    }
    for tenant in BOTH {
        let (report, _) = applied_copy("rename", tenant);
        assert!(
            report.contains("Sales and Marketing - E3"),
            "{tenant}: {report}"
        );
        assert!(!report.contains("Marketing - E3 "), "{tenant}: {report}");
    }
}

// A tenant that subscribes to both products named `MCOPSTN5`: each subscription is known by its
// skuId, and an apply writes the licenses the part number cannot tell apart by skuId, so the
// state loads again.
#[test]
fn a_tenant_with_both_products_of_a_part_number_loads_and_applies() {
    let (_, state) = applied_copy("both-part-numbers", "tenant.yaml");
    assert!(
        state.contains("sku: 54a152dc-90de-4996-93d2-bc47e670fc06"),
        "{state}"
    );
}

// Two config keys for one tenant group — a group renamed by `id:` and a new group under its old
// name — are refused: the plan cannot tell which definition is meant.
#[test]
fn two_config_groups_for_one_tenant_group_are_refused() {
    check(&Case {
        directory: "reused-name",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::group-reference",
            "groups `Leadership - E5` and `Executives - E5` of the config are the same tenant group",
        ],
        absent: &[],
    });
}

// `ensure: absent` with `id:`: after the apply that deleted the group, the same config plans to
// no change.
#[test]
fn a_group_deleted_by_id_stays_deleted_without_an_error() {
    let fixture = fixture("deleted-by-id");
    for tenant in BOTH {
        let directory = copied(&fixture, tenant);
        let flags = [&COPIED_FLAGS[..], &["--force"]].concat();
        let apply = seatplan_in(
            directory.path(),
            &[&["apply"][..], &flags, &["--auto-approve"]].concat(),
        );
        assert_eq!(apply.code, 0, "{tenant}: {}", apply.stderr);
        let again = seatplan_in(directory.path(), &[&["plan"][..], &flags].concat());
        assert_eq!(again.code, 0, "{tenant}: {}", again.stderr);
        assert!(
            again.stdout.contains("No changes."),
            "{tenant}: {}",
            again.stdout
        );
    }
}

// Seed 002: "If you don't have enough licenses, some users might not be assigned the new license
// plan." With every E3 seat taken, Z Office moves from E3 to E5 and A Frontline from E1 to E3: the
// migration that frees the E3 seats runs first, whatever the groups' names, and both succeed.
#[test]
fn a_migration_that_frees_seats_runs_before_the_one_that_takes_them() {
    check(&Case {
        directory: "migration-frees-seats",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "1. assignLicense group[\"Z Office - E3\"] +SPE_E5 -ENTERPRISEPACK",
            "2. assignLicense group[\"A Frontline - E1\"] +ENTERPRISEPACK -STANDARDPACK",
        ],
        absent: &["seatplan::seat-shortage", "CountViolation"],
    });
    for tenant in BOTH {
        let (report, _) = applied_copy("migration-frees-seats", tenant);
        assert!(!report.contains("CountViolation"), "{tenant}: {report}");
    }
}

/// The `steps` of `config`'s JSON plan on each tenant of `tenants` in the fixture `name`: the
/// calls (`"call" "target"`) and their members.
fn planned_calls(name: &str, config: &str, tenants: &[&str], extra: &[&str]) -> Vec<Vec<String>> {
    tenants
        .iter()
        .map(|tenant| {
            let run = seatplan_in(
                &fixture(name),
                &[
                    &["plan", "-c", config, "--state", tenant, "--format", "json"][..],
                    extra,
                ]
                .concat(),
            );
            assert_no_panic(&run);
            let (plan, _) = json_calls(&run.stdout);
            plan["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|step| {
                    format!(
                        "{} {} {}",
                        step["call"].as_str().unwrap_or_default(),
                        step["target"].as_str().unwrap_or_default(),
                        step["member"].as_str().unwrap_or_default()
                    )
                    .trim_end()
                    .to_string()
                })
                .collect()
        })
        .collect()
}

// Seed 003: "When a rule is changed, the membership of the group will be re-evaluated and users
// who no longer match the new rule will be removed … Those users will have their licenses
// removed during the process which may result in loss of service". The service evaluates the
// rule in the background, maybe at once: the member added to the group that replaces ann's E3
// goes in before the rule edit that drops her is sent.
#[test]
fn a_rule_edit_is_sent_after_the_members_added_that_replace_what_it_takes() {
    for calls in planned_calls("rule-after-members", "seatplan.yaml", BOTH, &[]) {
        assert_eq!(
            calls,
            [
                r#"addMember group["Z static"] ann@contoso.com"#,
                r#"updateGroup group["A by department"]"#,
            ]
        );
    }
    check(&Case {
        directory: "rule-after-members",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &["Plan: 0 to add, 2 to change, 0 to destroy."],
        absent: &["license-loss", "loses"],
    });
}

// A dynamic group turned static keeps the members the service last computed (the conversion
// removes `DynamicMembership` and the members stay): the plan adds only the members the config
// lists that are not in yet, and removes the ones it does not list — after the call that turns
// the group static, which is the only way the service takes static members.
#[test]
fn a_dynamic_group_turned_static_keeps_its_members_and_removes_the_unlisted() {
    for calls in planned_calls("rule-after-members", "to-static.yaml", BOTH, &[]) {
        assert_eq!(
            calls,
            [
                r#"updateGroup group["A by department"]"#,
                r#"addMember group["A by department"] bob@contoso.com"#,
            ]
        );
    }
    let allowing = ["--allow-license-loss"];
    for calls in planned_calls("rule-after-members", "to-static-bob.yaml", BOTH, &allowing) {
        assert_eq!(
            calls,
            [
                r#"updateGroup group["A by department"]"#,
                r#"addMember group["A by department"] bob@contoso.com"#,
                r#"removeMember group["A by department"] ann@contoso.com"#,
            ]
        );
    }
    check(&Case {
        directory: "rule-after-members",
        args: &["plan", "-c", "to-static-bob.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-loss",
            "ann@contoso.com loses Office 365 E3",
        ],
        absent: &[],
    });
}

// Seed 003: "users do not receive services in locations that are not allowed", and seed 000:
// "Some Microsoft services aren't available in all locations because of local laws and
// regulations." A move to a location where a plan the user keeps is not offered is the end
// state an assignment there would be refused into: rejected the same way, whether the plan
// comes from a group (which uses the user's location) or is a direct license.
#[test]
fn a_move_to_a_location_where_a_kept_plan_is_not_offered_is_rejected() {
    check(&Case {
        directory: "location-move",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::usage-location",
            "1 user would keep service plans that are not available in their new usage location",
            "ann@contoso.com (DE) keeps SWAY of ENTERPRISEPACK through group `E3`",
        ],
        absent: &["bob@contoso.com (DE)"],
    });
    check(&Case {
        directory: "location-move",
        args: &["plan", "-c", "direct.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::usage-location",
            "cat@contoso.com (US) keeps MCOPSTN5 of MCOPSTN5, a direct license",
        ],
        absent: &[],
    });
    // Switched off in the same plan: a loss of Sway to allow, nothing kept that is not offered.
    check(&Case {
        directory: "location-move",
        args: &[
            "plan",
            "-c",
            "sway-off.yaml",
            "--state",
            "{state}",
            "--allow-license-loss",
        ],
        tenants: BOTH,
        exit: 0,
        expect: &["Plan: 0 to add, 2 to change, 0 to destroy."],
        absent: &["usage-location"],
    });
}

// Seed 002: "When the same product license is assigned to the user both directly and through a
// group, only one license is consumed"; the user has the plans of both. Taking one copy away
// takes only the plans the other does not give: she keeps the product, and the loss says so.
// A direct license has no `allow_license_loss` of its own: the help says what allows it.
#[test]
fn a_product_kept_through_another_copy_loses_only_plans() {
    check(&Case {
        directory: "direct-and-group",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "1 user would lose service plans of Office 365 E3 through group `E3`",
            "ann@contoso.com loses 1 service plan of Office 365 E3: SWAY",
            "on the group",
        ],
        absent: &["would lose Office 365 E3"],
    });
    check(&Case {
        directory: "direct-and-group",
        args: &["plan", "-c", "remove-direct.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "ann@contoso.com loses 1 service plan of Office 365 E3: YAMMER_ENTERPRISE",
            "set `settings.allow_license_loss: true` or pass --allow-license-loss",
        ],
        absent: &["on the group"],
    });
}

// Research (dynamic-rules grammar, "Processing state"): "Paused groups keep their membership."
// A rule edited while processing is paused moves nobody now; what it will do once processing is
// on is said, for the plan and for `rule diff`, so a review of the edit is not "nothing
// happens".
#[test]
fn a_rule_edited_while_paused_says_what_it_does_once_processing_is_on() {
    // Message fragments that terminal wrapping does not split.
    const PAUSED: &str = "dynamic group `Sales` has rule processing paused";
    const SAID: &[&str] = &[
        "seatplan::membership-pending",
        PAUSED,
        "1 to join, 1 to leave",
        "joining: bob@contoso.com",
        "leaving: ann@contoso.com",
    ];
    check(&Case {
        directory: "paused-rule-edit",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: SAID,
        absent: &["Users affected", "license-loss"],
    });
    check(&Case {
        directory: "paused-rule-edit",
        args: &[
            "rule",
            "diff",
            "Sales",
            "user.department -eq \"HR\"",
            "--state",
            "{state}",
        ],
        tenants: BOTH,
        exit: 0,
        expect: &[
            PAUSED,
            "Verdict: safe. No check would refuse this edit; read the warning above (on stderr).",
        ],
        absent: &[],
    });
}

// Seed 001: "License operation failed. Make sure that the group has necessary services before
// adding or removing a dependent service", and seeds 001/002: "the system requires that both the
// prerequisite and add-on service plans be present in the same group". Removing the product
// that carries the prerequisite while the add-on stays is refused like adding the add-on alone.
#[test]
fn removing_a_groups_prerequisite_product_while_it_keeps_the_add_on_is_refused() {
    check(&Case {
        directory: "prerequisite-removed",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::group-missing-prerequisite",
            "group `WPA` enables WORKPLACE_ANALYTICS without any of its prerequisites",
        ],
        absent: &[],
    });
}

// Seeds 001/002: "Force the user license process to resolve errors": a reprocess processes all
// of a user's assignments, and those whose cause is gone succeed. Ann's E3 conflict is fixed by
// the change and her Calling Plan still fails where she is: she gains E3 on a reprocess all the
// same, and is named with bob (whose only error the change fixes); cat's conflict was there and
// stays.
#[test]
fn a_user_whose_one_error_the_change_fixes_needs_a_reprocess_though_another_still_fails() {
    check(&Case {
        directory: "reprocess-partial",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "seatplan::needs-reprocess",
            "2 users in error would succeed if reprocessed",
            "- ann@contoso.com",
            "- bob@contoso.com",
        ],
        absent: &["- cat@contoso.com"],
    });
    for calls in planned_calls("reprocess-partial", "seatplan.yaml", BOTH, &["--reprocess"]) {
        assert_eq!(
            &calls[calls.len() - 2..],
            [
                r#"reprocessLicenseAssignment user["ann@contoso.com"]"#,
                r#"reprocessLicenseAssignment user["bob@contoso.com"]"#,
            ]
        );
    }
}

// Seed 001: "the license assignment removals and new assignments are made simultaneously so that
// users do not lose access". A migration is already that one edit; what it loses is what the new
// product lacks, and the help says so rather than suggesting a migration.
#[test]
fn a_migration_that_loses_plans_says_the_new_product_lacks_them() {
    check(&Case {
        directory: "migration-loss",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 1,
        expect: &[
            "seatplan::license-loss",
            "new product lacks these plans",
            "ann@contoso.com loses Office 365 E3 (6 service plans",
        ],
        absent: &["(a migration)"],
    });
}

// Seed 001: "if you free up some licenses by removing direct license assignments from users, you
// need to trigger the processing of groups that previously failed": a seat freed after the
// member is added is not used by itself. The one call that removes c's two direct products runs
// ahead of d joining the group that needs both (a group's products are assigned together), as a
// removal of one product does. (The tenant records no group assignment, so both files are one.)
#[test]
fn a_call_that_frees_seats_of_two_products_runs_ahead_of_the_joiner_who_needs_both() {
    for calls in planned_calls("seat-swap-two-products", "seatplan.yaml", BOTH, &[]) {
        assert_eq!(
            calls,
            [
                r#"assignLicense user["c@contoso.com"]"#,
                r#"addMember group["B"] d@contoso.com"#,
            ]
        );
    }
    check(&Case {
        directory: "seat-swap-two-products",
        args: &["plan", "-c", "seatplan.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "seatplan::steps-reordered",
            "gains Enterprise Mobility + Security E3",
        ],
        absent: &["seat-shortage"],
    });
}

// Seed 003: the service "doesn't automatically react" to a user's changes; a reprocess does. The
// audit log of an apply with `--reprocess` says so: bob's location change ends with his Calling
// Plan still in error, and his reprocess takes it from the error to active.
#[test]
fn the_audit_log_of_a_reprocess_records_the_state_between_the_change_and_the_reprocess() {
    let directory = copied(&fixture("reprocess-partial"), "tenant.yaml");
    let apply = seatplan_in(
        directory.path(),
        &[
            &["apply"][..],
            &COPIED_FLAGS,
            &["--reprocess", "--auto-approve"],
        ]
        .concat(),
    );
    assert_eq!(apply.code, 0, "{}", apply.stderr);
    let audit = std::fs::read_to_string(directory.path().join("tenant.yaml.audit.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let record = |action: &str| {
        records
            .iter()
            .find(|record| {
                record["address"] == r#"user["bob@contoso.com"]"# && record["action"] == action
            })
            .unwrap_or_else(|| panic!("bob's {action} record in {audit}"))
            .clone()
    };
    let (update, reprocess) = (record("update"), record("reprocess"));
    assert_eq!(update["after"]["usage_location"], "GB", "{update}");
    assert!(
        update["after"].to_string().contains("\"Error\""),
        "{update}"
    );
    assert_eq!(update["summary"], "User updated.", "{update}");
    assert_eq!(reprocess["before"], update["after"], "{reprocess}");
    assert!(
        !reprocess["after"].to_string().contains("\"Error\""),
        "{reprocess}"
    );
}

// Entra allows two groups one display name, but a name then no longer says which group: a rename
// onto a name another group has is warned about (group-name-lookalike), and still made.
#[test]
fn a_rename_onto_another_groups_name_is_warned_about() {
    check(&Case {
        directory: "rename",
        args: &["plan", "-c", "onto-taken-name.yaml", "--state", "{state}"],
        tenants: BOTH,
        exit: 0,
        expect: &[
            "seatplan::group-name-lookalike",
            "is renamed to `Marketing - E3`, the display name of another tenant",
            "updateGroup",
        ],
        absent: &[],
    });
}
