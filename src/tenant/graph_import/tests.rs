//! The mapping of the example export and of exports broken in each way it reports.

use serde_json::{json, Value};

use super::*;
use crate::config::RuleProcessing;
use crate::diag::{Code, Location};
use crate::io::graph_export::{assemble_export, ExportFile};
use crate::tenant::model::{
    AssignedLicense, AssignmentError, AssignmentState, AttributeValue, LicenseState,
};

fn file(path: &str, text: &str) -> ExportFile {
    ExportFile {
        relative_path: path.to_string(),
        page: GraphPage::new(path, serde_json::from_str(text).unwrap()),
    }
}

/// The example export of the test fixtures.
fn fixture_files() -> Vec<ExportFile> {
    vec![
        file("organization.json", include_str!("../../../tests/fixtures/graph/export/organization.json")),
        file("subscribedSkus.json", include_str!("../../../tests/fixtures/graph/export/subscribedSkus.json")),
        file("users.json", include_str!("../../../tests/fixtures/graph/export/users.json")),
        file("users-2.json", include_str!("../../../tests/fixtures/graph/export/users-2.json")),
        file("groups.json", include_str!("../../../tests/fixtures/graph/export/groups.json")),
        file(
            "members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d.json",
            include_str!("../../../tests/fixtures/graph/export/members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d.json"),
        ),
        file(
            "members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d-2.json",
            include_str!("../../../tests/fixtures/graph/export/members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d-2.json"),
        ),
        file(
            "members/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e.json",
            include_str!("../../../tests/fixtures/graph/export/members/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e.json"),
        ),
    ]
}

fn import(files: Vec<ExportFile>) -> Result<TenantState, Diagnostics> {
    let (export, problems) = assemble_export(files);
    if problems.has_errors() {
        return Err(problems);
    }
    map_export(&export)
}

fn codes(diagnostics: &Diagnostics) -> Vec<&'static str> {
    diagnostics.iter().map(|d| d.code.as_str()).collect()
}

#[test]
fn the_example_export_maps_to_the_tenant_spec_describes() {
    let tenant = import(fixture_files()).unwrap();
    assert_eq!(
        tenant.tenant.id.as_deref(),
        Some("b5c1a3e0-6f2d-4c1a-9e7b-2d4f6a8c0e12")
    );
    assert_eq!(tenant.tenant.default_usage_location.as_deref(), Some("GB"));
    let skus: Vec<(&str, u64)> = tenant
        .subscriptions
        .iter()
        .map(|s| (s.sku.as_str(), s.enabled))
        .collect();
    assert_eq!(skus, [("EMS", 10), ("SPE_E5", 3)]);
    let upns: Vec<&str> = tenant.users.iter().map(|u| u.upn.as_str()).collect();
    assert_eq!(
        upns,
        [
            "dana@fabrikam.com",
            "eli@fabrikam.com",
            "fay@fabrikam.com",
            "gus@fabrikam.com"
        ]
    );
    let eli = &tenant.users[1];
    assert_eq!(
        eli.licenses,
        [AssignedLicense {
            sku: "EMS".into(),
            disabled_plans: vec![]
        }]
    );
    assert_eq!(
        eli.license_states,
        [LicenseState {
            sku: "SPE_E5".into(),
            via: Some("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into()),
            state: AssignmentState::Active,
            error: None,
        }]
    );
    assert_eq!(
        eli.attributes.get("country"),
        Some(&AttributeValue::String("Ireland".into()))
    );
    assert_eq!(
        eli.attributes.get("accountEnabled"),
        Some(&AttributeValue::Bool(true))
    );
    let fay = &tenant.users[2];
    assert_eq!(fay.usage_location, None);
    assert!(
        fay.licenses.is_empty(),
        "inherited licenses are not direct ones"
    );
    let gus = &tenant.users[3];
    assert_eq!(gus.license_states[0].state, AssignmentState::Error);
    assert_eq!(
        gus.license_states[0].error,
        Some(AssignmentError::CountViolation)
    );

    let names: Vec<&str> = tenant
        .groups
        .iter()
        .map(|g| g.display_name.as_str())
        .collect();
    assert_eq!(names, ["All staff (mail)", "Engineering E5"]);
    let mail = &tenant.groups[0];
    assert!(!mail.security_enabled && mail.mail_enabled);
    assert_eq!(mail.rule, None);
    assert_eq!(
        mail.members,
        ["9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "dana@fabrikam.com"]
    );
    let engineering = &tenant.groups[1];
    assert_eq!(
        engineering.rule.as_deref(),
        Some("user.department -eq \"Engineering\"")
    );
    assert_eq!(engineering.rule_processing, Some(RuleProcessing::On));
    assert_eq!(
        engineering.members,
        [
            "dana@fabrikam.com",
            "eli@fabrikam.com",
            "fay@fabrikam.com",
            "gus@fabrikam.com"
        ]
    );
    assert_eq!(engineering.licenses[0].sku, "SPE_E5");
}

#[test]
fn output_does_not_depend_on_file_or_object_order() {
    let forward = import(fixture_files()).unwrap();
    let mut files = fixture_files();
    files.reverse();
    for file in &mut files {
        if let Some(Value::Array(values)) = file.page.body.get_mut("value") {
            values.reverse();
        }
    }
    assert_eq!(import(files).unwrap(), forward);
}

#[test]
fn disabled_plans_are_named_when_a_subscription_knows_them() {
    let mut files = fixture_files();
    let groups = files
        .iter_mut()
        .find(|f| f.relative_path == "groups.json")
        .unwrap();
    groups.page.body["value"][0]["assignedLicenses"][0]["disabledPlans"] = json!([
        "EFB87545-963C-4E0D-99DF-69C6916D9EB0",
        "00000000-1111-2222-3333-444444444444"
    ]);
    let tenant = import(files).unwrap();
    let engineering = tenant
        .groups
        .iter()
        .find(|g| g.display_name == "Engineering E5")
        .unwrap();
    assert_eq!(
        engineering.licenses[0].disabled_plans,
        [
            "00000000-1111-2222-3333-444444444444",
            "EXCHANGE_S_ENTERPRISE"
        ]
    );
}

#[test]
fn direct_assignment_keeps_its_own_disabled_plans_and_unknown_skus_keep_their_guid() {
    let user = json!({"value":[{
        "id":"bb82030d-bc2b-4aba-82a9-0bf2e207a84a","userPrincipalName":"a@x.com",
        "onPremisesExtensionAttributes":{"extensionAttribute1":"EMS;E5","extensionAttribute2":null},
        "extension_abc_costCenter":"42",
        "assignedLicenses":[
            {"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","disabledPlans":[]},
            {"skuId":"aaaaaaaa-0000-0000-0000-000000000000","disabledPlans":[]}],
        "licenseAssignmentStates":[
            {"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","assignedByGroup":null,
             "disabledPlans":["3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40"],"state":"Active","error":"None"}]
    }]});
    let mut files = fixture_files();
    files.retain(|f| !f.relative_path.starts_with("users"));
    files.push(ExportFile {
        relative_path: "users.json".into(),
        page: GraphPage::new("users.json", user),
    });
    let tenant = import(files).unwrap();
    let user = &tenant.users[0];
    assert_eq!(
        user.licenses,
        [
            AssignedLicense {
                sku: "SPE_E5".into(),
                disabled_plans: vec!["MCOMEETADV".into()]
            },
            AssignedLicense {
                sku: "aaaaaaaa-0000-0000-0000-000000000000".into(),
                disabled_plans: vec![]
            },
        ]
    );
    assert!(user.license_states.is_empty());
    let keys: Vec<&str> = user.attributes.keys().collect();
    assert_eq!(keys, ["extensionAttribute1", "extension_abc_costCenter"]);
}

#[test]
fn missing_required_fields_name_the_file_and_the_object() {
    let mut files = fixture_files();
    let users = files
        .iter_mut()
        .find(|f| f.relative_path == "users-2.json")
        .unwrap();
    users.page.body["value"][0]
        .as_object_mut()
        .unwrap()
        .remove("userPrincipalName");
    users.page.source = Some(SourceId(7));
    let problems = import(files).unwrap_err();
    assert_eq!(codes(&problems), ["graph-missing-field"]);
    let problem = &problems.0[0];
    assert_eq!(
        problem.message,
        "`users-2.json`: user `3b4c5d6e-7f80-4192-8a3b-4c5d6e7f8091` has no `userPrincipalName`"
    );
    assert_eq!(
        problem.labels[0].location,
        Location::node(SourceId(7), "/value/0")
    );
    assert!(problem.help.is_some());
}

#[test]
fn every_problem_is_collected() {
    let mut files = fixture_files();
    let skus = files
        .iter_mut()
        .find(|f| f.relative_path == "subscribedSkus.json")
        .unwrap();
    skus.page.body["value"][1]["prepaidUnits"]["enabled"] = json!("ten");
    let groups = files
        .iter_mut()
        .find(|f| f.relative_path == "groups.json")
        .unwrap();
    groups.page.body["value"][0]["membershipRuleProcessingState"] = json!("Sometimes");
    groups.page.body["value"][1]["securityEnabled"] = Value::Null;
    let problems = import(files).unwrap_err();
    assert_eq!(
        codes(&problems),
        [
            "graph-invalid-value",
            "graph-invalid-value",
            "graph-missing-field"
        ]
    );
}

#[test]
fn missing_pages_and_files_are_reported() {
    let mut files = fixture_files();
    files.retain(|f| f.relative_path != "users-2.json" && f.relative_path != "organization.json");
    files.push(file("users-3.json", r#"{"value":[]}"#));
    files.push(file("README.json", r#"{}"#));
    let (_, problems) = assemble_export(files);
    let mut found = codes(&problems);
    found.sort();
    assert_eq!(
        found,
        [
            "graph-inconsistent-export",
            "graph-inconsistent-export",
            "graph-unknown-file"
        ]
    );

    let mut files = fixture_files();
    files.retain(|f| f.relative_path != "users-2.json");
    let problems = import(files).unwrap_err();
    assert_eq!(codes(&problems), ["graph-inconsistent-export"]);
    assert!(problems.0[0].message.contains("next page is missing"));
}

#[test]
fn licensed_groups_need_members_and_licenses_need_known_groups() {
    let mut files = fixture_files();
    files.retain(|f| !f.relative_path.starts_with("members/9a8b"));
    let problems = import(files).unwrap_err();
    assert_eq!(codes(&problems), ["graph-inconsistent-export"]);
    assert!(problems.0[0].message.contains("Engineering E5"));

    let mut files = fixture_files();
    let groups = files
        .iter_mut()
        .find(|f| f.relative_path == "groups.json")
        .unwrap();
    groups.page.body["value"][0]["id"] = json!("11111111-2222-3333-4444-555555555555");
    let problems = import(files).unwrap_err();
    // Four users hold a license from the now unknown group, its members file is stray and
    // the renamed group has no members file.
    assert_eq!(problems.0.len(), 6);
    assert!(problems
        .iter()
        .all(|p| p.code == Code::GraphInconsistentExport));
}

#[test]
fn duplicates_are_reported() {
    let mut files = fixture_files();
    let first = fixture_files()
        .into_iter()
        .find(|f| f.relative_path == "users.json")
        .unwrap();
    let second = files
        .iter_mut()
        .find(|f| f.relative_path == "users-2.json")
        .unwrap();
    second.page.body["value"][0] = first.page.body["value"][0].clone();
    let problems = import(files).unwrap_err();
    assert_eq!(codes(&problems), ["graph-duplicate-object"]);
}

#[test]
fn object_ids_that_are_not_guids_are_refused_where_they_are_written() {
    fn page<'a>(files: &'a mut [ExportFile], path: &str) -> &'a mut ExportFile {
        files.iter_mut().find(|f| f.relative_path == path).unwrap()
    }
    let mut files = fixture_files();
    page(&mut files, "users.json").page.body["value"][0]["id"] = json!("ann");
    page(&mut files, "groups.json").page.body["value"][1]["id"] = json!("all-staff");
    page(
        &mut files,
        "members/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e.json",
    )
    .relative_path = "members/all-staff.json".into();
    page(
        &mut files,
        "members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d.json",
    )
    .page
    .body["value"][0]["id"] = json!("12345");
    let problems = import(files).unwrap_err();
    // The group is reported once: its members file is not reported again.
    assert_eq!(
        codes(&problems),
        ["tenant-id-format", "tenant-id-format", "tenant-id-format"],
        "{problems:?}"
    );
    let messages: Vec<&str> = problems.iter().map(|d| d.message.as_str()).collect();
    for (message, object) in
        messages
            .iter()
            .zip(["group `all-staff`", "user `ann`", "member `12345`"])
    {
        assert!(
            message.contains(&format!("the `id` of {object} is not a GUID")),
            "{messages:?}"
        );
    }
}

#[test]
fn a_property_of_the_wrong_shape_names_its_path_and_the_object() {
    let mut files = fixture_files();
    let skus = files
        .iter_mut()
        .find(|f| f.relative_path == "subscribedSkus.json")
        .unwrap();
    let sku_id = skus.page.body["value"][1]["skuId"]
        .as_str()
        .unwrap()
        .to_string();
    skus.page.body["value"][1]["prepaidUnits"]["enabled"] = json!("ten");
    skus.page.source = Some(SourceId(3));
    let problems = import(files).unwrap_err();
    assert_eq!(codes(&problems), ["graph-invalid-value"]);
    let problem = &problems.0[0];
    assert!(
        problem.message.starts_with(&format!(
            "`subscribedSkus.json`: `prepaidUnits.enabled` of subscribedSku `{sku_id}` has the wrong shape (invalid type: string \"ten\""
        )),
        "{}",
        problem.message
    );
    assert_eq!(
        problem.labels[0].location,
        Location::node(SourceId(3), "/value/1/prepaidUnits/enabled")
    );
}

#[test]
fn a_nested_missing_id_and_an_entry_that_is_no_object_are_reported() {
    let mut files = fixture_files();
    let users = files
        .iter_mut()
        .find(|f| f.relative_path == "users.json")
        .unwrap();
    let id = users.page.body["value"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    users.page.body["value"][0]["assignedLicenses"] = json!([{"disabledPlans": []}]);
    users.page.body["value"][0]["licenseAssignmentStates"] = json!([]);
    users.page.body["value"]
        .as_array_mut()
        .unwrap()
        .push(json!("not a user"));
    let problems = import(files).unwrap_err();
    assert_eq!(
        codes(&problems),
        ["graph-invalid-value", "graph-missing-field"]
    );
    assert!(problems.0[0].message.contains("is not a user object"));
    assert_eq!(
        problems.0[1].message,
        format!("`users.json`: user `{id}` has no `assignedLicenses[].skuId`")
    );
}

#[test]
fn an_invalid_group_is_reported_once() {
    let mut files = fixture_files();
    let groups = files
        .iter_mut()
        .find(|f| f.relative_path == "groups.json")
        .unwrap();
    // The licensed group: its members file and the users' licenses from it are not reported.
    groups.page.body["value"][0]["securityEnabled"] = json!("yes");
    let problems = import(files).unwrap_err();
    assert_eq!(codes(&problems), ["graph-invalid-value"]);
    assert!(problems.0[0]
        .message
        .contains("`securityEnabled` of group `9a8b7c6d"));
}

/// [`map_export`] with every page of users handed over as its text
/// ([`GraphMapper::users_text`]), as a live read does.
fn map_users_as_text(export: &GraphExport) -> Result<TenantState, Diagnostics> {
    let mut mapper = GraphMapper::new();
    mapper.organization(&export.organization);
    for_pages(&export.subscribed_skus, |page, last| {
        mapper.subscribed_skus(page, last)
    });
    for_pages(&export.groups, |page, last| mapper.groups(page, last));
    for_pages(&export.users, |page, last| {
        // The pages are JSON: they were parsed.
        let mapped = mapper.users_text(&page.origin, page.source, &page.body.to_string(), last);
        assert!(mapped.is_ok());
    });
    for (group_id, pages) in &export.members {
        mapper.members(group_id, pages);
    }
    mapper.finish()
}

fn messages(result: Result<TenantState, Diagnostics>) -> Vec<String> {
    result
        .unwrap_err()
        .iter()
        .map(|problem| problem.message.clone())
        .collect()
}

#[test]
fn users_deserialized_from_their_text_map_as_from_parsed_pages() {
    let mut files = fixture_files();
    let users = files
        .iter_mut()
        .find(|f| f.relative_path == "users-2.json")
        .unwrap();
    let mut rich = users.page.body["value"][0].clone();
    rich["id"] = json!("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f");
    rich["userPrincipalName"] = json!("rich@fabrikam.com");
    rich["proxyAddresses"] = json!(["SMTP:rich@fabrikam.com"]);
    rich["accountEnabled"] = json!(false);
    rich["department"] = Value::Null;
    rich["businessPhones"] = json!(["+353 1 555 0100"]);
    rich["otherMails"] = json!(["r@example.com", "rich@example.com"]);
    rich["onPremisesExtensionAttributes"] =
        json!({"extensionAttribute3": "Cost centre 7", "extensionAttribute1": null});
    rich["extension_9d9a4c1f0b6e4d2a8f3c5b7e1a2d4c6f_costCenter"] = json!("7");
    rich["extension_9d9a4c1f0b6e4d2a8f3c5b7e1a2d4c6f_complex"] = json!({"a": 1});
    rich["usageLocation"] = json!("");
    users.page.body["value"].as_array_mut().unwrap().push(rich);
    let (export, problems) = assemble_export(files);
    assert!(!problems.has_errors());
    let parsed = map_export(&export).unwrap();
    let from_text = map_users_as_text(&export).unwrap();
    assert_eq!(from_text, parsed);
    // Equal in order too: the state files and fingerprints are the same.
    assert_eq!(
        serde_json::to_string(&from_text).unwrap(),
        serde_json::to_string(&parsed).unwrap()
    );
    let rich = parsed
        .users
        .iter()
        .find(|user| user.upn == "rich@fabrikam.com")
        .unwrap();
    assert_eq!(
        rich.attributes.get("extensionAttribute3"),
        Some(&AttributeValue::String("Cost centre 7".into()))
    );
    assert!(rich
        .attributes
        .get("extension_9d9a4c1f0b6e4d2a8f3c5b7e1a2d4c6f_costCenter")
        .is_some());
}

#[test]
fn a_bad_user_in_a_page_of_text_is_reported_with_its_id_and_the_path() {
    let mut files = fixture_files();
    let users = files
        .iter_mut()
        .find(|f| f.relative_path == "users.json")
        .unwrap();
    let id = users.page.body["value"][1]["id"]
        .as_str()
        .unwrap()
        .to_string();
    users.page.body["value"][1]["licenseAssignmentStates"] = json!([{"skuId": 7}]);
    users.page.body["value"][0]["assignedLicenses"] = json!([{"disabledPlans": []}]);
    users.page.body["value"][0]["licenseAssignmentStates"] = json!([]);
    users.page.body["value"][0]["department"] = json!({"not": "a value"});
    users.page.body["value"]
        .as_array_mut()
        .unwrap()
        .push(json!("not a user"));
    users.page.source = Some(SourceId(3));
    let (export, _) = assemble_export(files);
    // The same problems, pointing at the same nodes of the page's file (a parsed page reports
    // the objects of the wrong shape first).
    let located = |result: Result<TenantState, Diagnostics>| {
        let mut problems: Vec<_> = result.unwrap_err().0;
        problems.sort_by(|a, b| a.message.cmp(&b.message));
        problems
            .into_iter()
            .map(|problem| (problem.message, problem.labels))
            .collect::<Vec<_>>()
    };
    let located_from_text = located(map_users_as_text(&export));
    assert_eq!(located_from_text, located(map_export(&export)));
    assert!(located_from_text
        .iter()
        .any(
            |(_, labels)| labels.iter().any(|label| format!("{:?}", label.location)
                .contains("\"/value/1/licenseAssignmentStates/0/skuId\""))
        ));
    let mut from_text = messages(map_users_as_text(&export));
    from_text.sort();
    assert!(
        from_text.iter().any(|message| message.starts_with(&format!(
            "`users.json`: `licenseAssignmentStates[0].skuId` of user `{id}` has the wrong shape"
        ))),
        "{from_text:?}"
    );
    assert!(from_text
        .iter()
        .any(|message| message.contains("is not a user object")));

    // A page that is no collection is reported as such.
    let mut mapper = GraphMapper::new();
    mapper
        .users_text("GET /users", None, "{\"error\": 1}", true)
        .unwrap();
    let problems = mapper.finish().unwrap_err();
    assert!(problems
        .iter()
        .next()
        .unwrap()
        .message
        .contains("no `value` array"));

    // A text that is not JSON is the error, and nothing is mapped.
    let mut mapper = GraphMapper::new();
    let error = mapper
        .users_text("users-2.json", None, "{\"value\": [", true)
        .unwrap_err();
    assert!(error.is_eof(), "{error}");
    assert_eq!(mapper.problem_count(), 0);
}

#[test]
fn a_state_in_error_that_names_no_error_is_recorded_as_other() {
    let mut files = fixture_files();
    let users = files
        .iter_mut()
        .find(|file| file.relative_path == "users-2.json")
        .expect("the second page of users");
    let text = include_str!("../../../tests/fixtures/graph/export/users-2.json")
        .replace(r#""error":"CountViolation""#, r#""error":"None""#);
    users.page = GraphPage::new("users-2.json", serde_json::from_str(&text).unwrap());
    let tenant = import(files).unwrap();
    let gus = tenant
        .users
        .iter()
        .find(|user| user.upn == "gus@fabrikam.com")
        .expect("gus");
    assert_eq!(gus.license_states[0].state, AssignmentState::Error);
    assert_eq!(gus.license_states[0].error, Some(AssignmentError::Other));
}
