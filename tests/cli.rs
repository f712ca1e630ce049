//! The conventions a command-line user expects, on the real binary: shell completions, the manual
//! page, `--version` with the commit and the catalog's date, `--color`, and an exported config
//! whose `$schema` works offline.

// Tests are an edge: they read what the binary writes.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use common::{seatplan, seatplan_in};

#[test]
fn completions_cover_every_command_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let run = seatplan(&["completions", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for command in ["plan", "apply", "rule", "completions"] {
            assert!(
                run.stdout.contains(command),
                "{shell} completions lack {command}"
            );
        }
    }
    let run = seatplan(&["completions", "tcsh"]);
    assert_eq!(run.code, 1, "an unknown shell is a usage error");
    assert!(run.stderr.contains("seatplan::usage"), "{}", run.stderr);
}

#[test]
fn the_manual_page_is_roff_naming_the_commands() {
    let run = seatplan(&["man"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH seatplan 1"), "{}", run.stdout);
    assert!(run.stdout.contains("seatplan\\-plan"), "{}", run.stdout);
}

#[test]
fn version_names_the_commit_and_the_catalog_date() {
    let run = seatplan(&["--version"]);
    assert_eq!(run.code, 0);
    let date = std::fs::read_to_string("data/product-service-plans.date").unwrap();
    let line = run.stdout.trim_end();
    assert!(
        line.starts_with(&format!("seatplan {} (", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    assert!(
        line.ends_with(&format!("catalog {})", date.trim())),
        "{line}"
    );
    if std::path::Path::new(".git").exists() {
        let commit = line
            .split("(commit ")
            .nth(1)
            .and_then(|rest| rest.split(',').next())
            .unwrap_or_default();
        assert!(
            commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit()),
            "{line}"
        );
    }
}

#[test]
fn color_always_colors_a_pipe_and_never_does_not() {
    let args = |color: &'static str| {
        [
            "--color",
            color,
            "plan",
            "-c",
            "examples/quickstart/seatplan.yaml",
            "--state",
            "examples/quickstart/tenant.yaml",
        ]
    };
    let always = seatplan(&args("always"));
    assert!(always.stdout.contains("\u{1b}["), "{}", always.stdout);
    assert!(always.stderr.contains("\u{1b}["), "{}", always.stderr);
    let never = seatplan(&args("never"));
    assert!(!never.stdout.contains('\u{1b}') && !never.stderr.contains('\u{1b}'));
}

#[test]
fn an_exported_config_names_a_schema_that_schema_config_writes_beside_it() {
    let directory = tempfile::tempdir().unwrap();
    let state =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart/tenant.yaml");
    let run = seatplan_in(
        directory.path(),
        &[
            "export",
            "--state",
            state.to_str().unwrap(),
            "-o",
            "seatplan.yaml",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("seatplan schema config -o seatplan.schema.json"),
        "{}",
        run.stderr
    );
    let config = std::fs::read_to_string(directory.path().join("seatplan.yaml")).unwrap();
    assert!(
        config.starts_with("# yaml-language-server: $schema=seatplan.schema.json\n"),
        "{config}"
    );
    let run = seatplan_in(
        directory.path(),
        &["schema", "config", "-o", "seatplan.schema.json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = std::fs::read_to_string(directory.path().join("seatplan.schema.json")).unwrap();
    assert_eq!(
        written,
        std::fs::read_to_string("schemas/seatplan.schema.json").unwrap()
    );
}

#[test]
fn fmt_check_lists_unformatted_files_and_fmt_rewrites_them_keeping_comments() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("seatplan");
    std::fs::create_dir(&config).unwrap();
    let messy = "\
# Sales licensing
groups:
  Sales - E3:
    licenses:
      - sku: ENTERPRISEPACK   # the whole suite
    # everyone in Sales
    rule: (user.DEPARTMENT  eq 'Sales')
version: 1
";
    std::fs::write(config.join("groups.yaml"), messy).unwrap();
    std::fs::write(config.join("users.yaml"), "version: 1\nusers: {}\n").unwrap();
    let check = seatplan_in(directory.path(), &["fmt", "--check", "seatplan"]);
    assert_eq!(check.code, 1, "{}", check.stderr);
    assert_eq!(check.stdout, "seatplan/groups.yaml\n");
    assert!(
        check.stderr.contains("seatplan::format"),
        "{}",
        check.stderr
    );
    assert_eq!(
        std::fs::read_to_string(config.join("groups.yaml")).unwrap(),
        messy,
        "--check writes nothing"
    );
    let format = seatplan_in(directory.path(), &["fmt", "seatplan"]);
    assert_eq!(format.code, 0, "{}", format.stderr);
    assert_eq!(
        std::fs::read_to_string(config.join("groups.yaml")).unwrap(),
        "\
# Sales licensing
version: 1
groups:
  Sales - E3:
    # everyone in Sales
    rule: user.department -eq \"Sales\"
    licenses:
      - sku: ENTERPRISEPACK   # the whole suite
"
    );
    let again = seatplan_in(directory.path(), &["fmt", "--check", "seatplan"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout, "");
}

#[test]
fn fmt_refuses_what_it_cannot_read_and_writes_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let broken = "version: 1\ngroups:\n  A:\n\tmembers: []\n";
    std::fs::write(directory.path().join("seatplan.yaml"), broken).unwrap();
    let run = seatplan_in(directory.path(), &["fmt"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("seatplan::yaml-syntax"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_to_string(directory.path().join("seatplan.yaml")).unwrap(),
        broken
    );
}

#[test]
fn an_export_of_groups_that_share_a_display_name_plans_no_change() {
    // Entra allows two groups named "Sales"; export keys them `Sales (<object id>)` pinned by id,
    // and that key names the group by its display name, so nothing is renamed.
    let directory = tempfile::tempdir().unwrap();
    let state = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/export/shared-names.yaml");
    let state = state.to_str().unwrap();
    let run = seatplan_in(
        directory.path(),
        &["export", "--state", state, "-o", "seatplan.yaml"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let config = std::fs::read_to_string(directory.path().join("seatplan.yaml")).unwrap();
    assert!(
        config.contains("Sales (26cf2da3-fae6-4e19-86bb-98662635c901):"),
        "{config}"
    );
    let plan = seatplan_in(
        directory.path(),
        &[
            "plan",
            "-c",
            "seatplan.yaml",
            "--state",
            state,
            "--detailed-exitcode",
        ],
    );
    assert_eq!(plan.code, 0, "{}\n{}", plan.stdout, plan.stderr);
    assert!(plan.stdout.contains("No changes."), "{}", plan.stdout);
}
