//! End-to-end tests of `seatplan validate` and `seatplan schema`: valid files and directories,
//! every kind of bad input with its coded diagnostic (snapshots of what the user sees), and the
//! committed schemas matching the types.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // tests read and write fixture files

mod common;

use common::{assert_no_panic, redact, seatplan};
use std::fs;

fn fixture(name: &str) -> String {
    format!("tests/fixtures/config/{name}")
}

/// Runs validate on one fixture and returns stderr, asserting exit 1 and no panic.
fn invalid(name: &str) -> String {
    let run = seatplan(&["validate", "-c", &fixture(name)]);
    assert_no_panic(&run);
    assert_eq!(
        run.code, 1,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    run.stderr
}

#[test]
fn quickstart_is_valid() {
    let run = seatplan(&["validate", "-c", "examples/quickstart"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "Config is valid: 3 groups, 5 users.\n");
}

#[test]
fn directory_files_are_merged() {
    let run = seatplan(&["validate", "-c", &fixture("merge-ok")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "Config is valid: 1 group, 1 user.\n");
}

#[test]
fn group_defined_in_two_files_shows_both() {
    let stderr = invalid("merge-duplicate");
    assert!(stderr.contains("merge-duplicate/a.yaml:3:3"), "{stderr}");
    assert!(stderr.contains("merge-duplicate/b.yaml:3:3"), "{stderr}");
    insta::assert_snapshot!("validate -c merge-duplicate", stderr);
}

#[test]
fn all_schema_violations_are_reported_with_line_and_column() {
    let stderr = invalid("two-violations.yaml");
    assert!(stderr.contains("two-violations.yaml:7:9"), "{stderr}");
    assert!(stderr.contains("two-violations.yaml:9:23"), "{stderr}");
    assert!(stderr.contains("2 errors"), "{stderr}");
    insta::assert_snapshot!("validate -c two-violations.yaml", stderr);
}

#[test]
fn every_stage_reports_its_problems_in_one_run() {
    let stderr = invalid("every-stage.yaml");
    for code in [
        "seatplan::schema",
        "seatplan::rule-unbalanced-parens",
        "seatplan::unknown-sku",
        "seatplan::invalid-usage-location",
    ] {
        assert!(stderr.contains(code), "{code} missing:\n{stderr}");
    }
    assert!(stderr.contains("4 errors"), "{stderr}");
    insta::assert_snapshot!("validate -c every-stage.yaml", stderr);
}

#[test]
fn semantic_errors() {
    let stderr = invalid("semantic.yaml");
    for code in [
        "invalid-usage-location",
        "rule-with-members",
        "plan-list-conflict",
    ] {
        assert!(
            stderr.contains(&format!("seatplan::{code}")),
            "{code} missing:\n{stderr}"
        );
    }
    insta::assert_snapshot!("validate -c semantic.yaml", stderr);
}

#[test]
fn empty_file() {
    let stderr = invalid("empty.yaml");
    assert!(stderr.contains("seatplan::schema"));
    insta::assert_snapshot!("validate -c empty.yaml", stderr);
}

#[test]
fn list_where_a_map_is_expected() {
    insta::assert_snapshot!("validate -c list.yaml", invalid("list.yaml"));
}

#[test]
fn tabs() {
    let stderr = invalid("tabs.yaml");
    assert!(stderr.contains("seatplan::yaml-syntax"), "{stderr}");
    insta::assert_snapshot!("validate -c tabs.yaml", stderr);
}

#[test]
fn duplicate_keys() {
    let stderr = invalid("duplicate-keys.yaml");
    assert!(stderr.contains("seatplan::duplicate-key"), "{stderr}");
    insta::assert_snapshot!("validate -c duplicate-keys.yaml", stderr);
}

#[test]
fn alias_bomb() {
    let stderr = invalid("alias-bomb.yaml");
    assert!(stderr.contains("seatplan::yaml-limit"), "{stderr}");
    insta::assert_snapshot!("validate -c alias-bomb.yaml", stderr);
}

#[test]
fn deep_nesting() {
    let stderr = invalid("deep-nesting.yaml");
    assert!(stderr.contains("seatplan::yaml-limit"), "{stderr}");
    insta::assert_snapshot!("validate -c deep-nesting.yaml", stderr);
}

#[test]
fn invalid_utf8() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("latin1.yaml");
    fs::write(
        &path,
        b"version: 1\ngroups:\n  \"Verkauf M\xfcnchen\": {}\n",
    )
    .unwrap();
    let run = seatplan(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_no_panic(&run);
    insta::assert_snapshot!(
        "validate -c latin1.yaml",
        redact(&run.stderr, directory.path())
    );
}

#[test]
fn nul_byte() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("nul.yaml");
    fs::write(&path, b"version: 1\n\0groups: {}\n").unwrap();
    let run = seatplan(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("seatplan::encoding"), "{}", run.stderr);
    assert!(run.stderr.contains("line 2, column 1"), "{}", run.stderr);
}

#[test]
fn fifty_megabyte_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("huge.yaml");
    let mut text = String::from("version: 1\ngroups:\n");
    let line = "  # padding padding padding padding padding padding padding padding padding\n";
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(line);
    }
    fs::write(&path, text).unwrap();
    let run = seatplan(&["validate", "-c", path.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_no_panic(&run);
    insta::assert_snapshot!(
        "validate -c huge.yaml",
        redact(&run.stderr, directory.path())
    );
}

#[test]
fn missing_file() {
    let run = seatplan(&[
        "validate",
        "-c",
        "tests/fixtures/config/does-not-exist.yaml",
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("seatplan::io"), "{}", run.stderr);
}

#[test]
fn committed_schemas_match_the_types() {
    for (kind, path) in [
        ("config", "schemas/seatplan.schema.json"),
        ("tenant", "schemas/tenant.schema.json"),
        ("plan", "schemas/plan.schema.json"),
    ] {
        let run = seatplan(&["schema", kind]);
        assert_eq!(run.code, 0);
        let committed = fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == run.stdout,
            "{path} is out of date; regenerate it with `cargo run -- schema {kind} > {path}`"
        );
    }
}

#[test]
fn examples_reference_the_schema() {
    for entry in fs::read_dir("examples").unwrap() {
        let directory = entry.unwrap().path();
        let Ok(text) = fs::read_to_string(directory.join("seatplan.yaml")) else {
            continue;
        };
        assert!(
            text.starts_with("# yaml-language-server: $schema="),
            "{} does not start with the schema line",
            directory.display()
        );
    }
}

#[test]
fn credentials_in_the_config_are_refused_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seatplan.yaml");
    // A schema error elsewhere in the file must not show the value either.
    fs::write(
        &config,
        "version: 1\nbackend: { graph: { password: 'hunter2-Zq8' } }\nunknown_key: 1\n\
         certificate: |\n  -----BEGIN CERTIFICATE-----\n  MIIBkTCB\n",
    )
    .unwrap();
    let run = seatplan(&["validate", "-c", config.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("seatplan::credential-in-config"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`password` looks like a credential"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("`certificate` looks like a credential"),
        "{}",
        run.stderr
    );
    for value in ["hunter2", "Zq8", "BEGIN CERTIFICATE", "MIIBkTCB"] {
        assert!(
            !run.stderr.contains(value),
            "`{value}` shown: {}",
            run.stderr
        );
    }
}

#[test]
fn the_config_schema_offers_catalog_names_without_requiring_them() {
    let schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string("schemas/seatplan.schema.json").unwrap()).unwrap();
    let offered = |definition: &str, name: &str| {
        schema["$defs"][definition]["examples"]
            .as_array()
            .is_some_and(|names| names.iter().any(|offered| offered == name))
    };
    assert!(offered("SkuName", "ENTERPRISEPACK"));
    assert!(offered("PlanName", "EXCHANGE_S_ENTERPRISE"));
    let license = &schema["$defs"]["LicenseSpec"]["properties"];
    assert_eq!(license["sku"]["$ref"], "#/$defs/SkuName");
    assert_eq!(
        license["disabled_plans"]["items"]["$ref"],
        "#/$defs/PlanName"
    );
    // A name the catalog does not know still passes the schema: a config's `catalog:` may add it.
    let validator = jsonschema::validator_for(&schema).unwrap();
    let config = serde_json::json!({
        "version": 1,
        "groups": { "A": { "members": [], "licenses": [ { "sku": "CONTOSO_ADDON",
                                                           "disabled_plans": ["CONTOSO_PLAN"] } ] } }
    });
    assert!(validator.is_valid(&config));
}

#[test]
fn a_field_of_another_object_is_named_as_such_not_suggested_as_itself() {
    let stderr = invalid("field-of-another-object.yaml");
    assert!(
        stderr.contains("unknown field `allow_license_loss`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`allow_license_loss` is a field of other objects, not of this one"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("did you mean `allow_license_loss`"),
        "{stderr}"
    );
}

#[test]
fn a_user_defined_again_in_another_case_is_a_duplicate() {
    // UPNs are case-insensitive: the second key is the same user, not a second one.
    let stderr = invalid("user-twice-in-another-case.yaml");
    assert!(
        stderr.contains("seatplan::duplicate-definition"),
        "{stderr}"
    );
    assert!(
        stderr.contains("user `FRANK@contoso.com` is defined twice in the config"),
        "{stderr}"
    );
    let stderr = invalid("merge-user-case");
    assert!(
        stderr.contains("user `Frank@Contoso.com` is defined in two config files"),
        "{stderr}"
    );
    assert!(stderr.contains("merge-user-case/a.yaml:3:3"), "{stderr}");
    assert!(stderr.contains("merge-user-case/b.yaml:3:3"), "{stderr}");
}
