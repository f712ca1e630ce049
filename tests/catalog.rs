//! End-to-end tests of the catalog through the real binary: `seatplan catalog` in text and JSON,
//! and `seatplan validate` checking the products and plans a config names.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use assert_cmd::Command;

fn seatplan(dir: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("seatplan").unwrap();
    command
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS");
    command
}

fn run(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = seatplan(dir).args(args).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn config_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seatplan.yaml"), text).unwrap();
    dir
}

#[test]
fn validate_suggests_the_sku_with_a_caret_on_the_value() {
    let dir = config_dir(
        "version: 1\ngroups:\n  \"Sales - E3\":\n    members: [alice@contoso.com]\n    licenses:\n      - sku: ENTERPRIZEPACK\n        disabled_plans: [SWAY]\n",
    );
    let (code, stdout, stderr) = run(dir.path(), &["validate", "-c", "seatplan.yaml"]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("did you mean `ENTERPRISEPACK`?"));
    insta::assert_snapshot!("validate_unknown_sku", stderr);
}

#[test]
fn validate_checks_plans_against_their_product() {
    let dir = config_dir(
        "version: 1\ngroups:\n  Mobility:\n    members: []\n    licenses:\n      - sku: EMS\n        enabled_plans: [INTUNE_A, EXCHANGE_S_ENTERPRISE, INTUNE_AA]\nusers:\n  alice@contoso.com:\n    licenses:\n      - sku: MCOPSTN5\n",
    );
    let (code, _, stderr) = run(dir.path(), &["validate", "-c", "seatplan.yaml"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("validate_plan_references", stderr);
}

#[test]
fn validate_accepts_known_products_and_catalog_additions() {
    let dir = config_dir(
        "version: 1\ncatalog:\n  products:\n    CONTOSO_ADDON: { id: 3f9a0000-0000-4000-8000-000000000001, name: Contoso Add-on, plans: [CONTOSO_PLAN] }\n  plans:\n    CONTOSO_PLAN: { id: 9c1e0000-0000-4000-8000-000000000002, requires_any: [EXCHANGE_S_STANDARD, EXCHANGE_S_ENTERPRISE] }\ngroups:\n  \"Sales - E3\":\n    rule: (user.department -eq \"Sales\")\n    licenses:\n      - sku: Office 365 E3\n        disabled_plans: [YAMMER_ENTERPRISE, sway]\n      - sku: efccb6f7-5641-4e0e-bd10-b4976e1bf68e\n      - sku: CONTOSO_ADDON\n        enabled_plans: [CONTOSO_PLAN]\n",
    );
    let (code, stdout, stderr) = run(dir.path(), &["validate", "-c", "seatplan.yaml"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "Config is valid: 1 group, 0 users.\n");
}

#[test]
fn validate_points_into_the_catalog_section() {
    let dir = config_dir(
        "version: 1\ncatalog:\n  plans:\n    SWAY:\n      conflicts_with: [SWAY]\n    MCOEV:\n      requires_any: [TEAMS_1]\n",
    );
    let (code, _, stderr) = run(dir.path(), &["validate", "-c", "seatplan.yaml"]);
    assert_eq!(code, 1);
    insta::assert_snapshot!("validate_catalog_additions", stderr);
}

#[test]
fn catalog_shows_a_product_with_its_plans_and_relations() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["catalog", "ENTERPRISEPACK"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("EXCHANGE_S_ENTERPRISE"));
    assert!(stdout.contains("EXCHANGE_S_STANDARD is mutually exclusive with EXCHANGE_S_ENTERPRISE"));
    insta::assert_snapshot!("catalog_enterprisepack", stdout);
}

#[test]
fn catalog_json_lists_plans_and_relations() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(
        dir.path(),
        &["catalog", "WORKPLACE_ANALYTICS", "--format", "json"],
    );
    assert_eq!(code, 0);
    let document: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["format_version"], 1);
    assert_eq!(document["product_count"], 569);
    let product = &document["products"][0];
    assert_eq!(product["sku_part_number"], "WORKPLACE_ANALYTICS");
    assert_eq!(product["relations"][0]["kind"], "requires-any-of");
    assert_eq!(
        product["relations"][0]["plans"],
        serde_json::json!(["EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"])
    );
    insta::assert_json_snapshot!("catalog_workplace_analytics_json", document);
}

#[test]
fn catalog_without_a_query_counts_every_product_guid() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["catalog"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("569 of 569 products; the catalog has 723 service plans."));
    let (_, json, _) = run(dir.path(), &["catalog", "--format", "json"]);
    let document: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(document["products"].as_array().unwrap().len(), 569);
}

#[test]
fn catalog_searches_names_and_plans() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(dir.path(), &["catalog", "MCOMEETADV"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("MCOMEETADV requires MCOSTANDARD"));
    let (_, stdout, _) = run(dir.path(), &["catalog", "audio conferencing"]);
    assert!(stdout.contains("MCOMEETADV"));
    let (code, _, stderr) = run(dir.path(), &["catalog", "ENTERPRIZEPACK"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("did you mean `ENTERPRISEPACK`?"));
}
