//! The Microsoft Graph side of seatplan, end to end: `seatplan import graph` on the example
//! export (tests/fixtures/graph/), and the Graph client against a fake Graph server on 127.0.0.1.

// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

#[path = "graph/fake_graph.rs"]
mod fake_graph;

#[path = "../tools/tenantgen.rs"]
#[allow(dead_code)] // the generator's full surface serves the example and the benchmarks
mod tenantgen;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use fake_graph::{FakeGraph, Recorded, CERTIFICATE, CLIENT_SECRET, TENANT};
use seatplan::graph::{
    Credential, GraphClient, GraphErrorKind, GraphSettings, GroupPatch, LicenseProcessing,
    LicenseToAdd, NewGroup, RetryPolicy, Secret,
};
use seatplan::io::graph_export::{assemble_export, ExportFile};
use seatplan::tenant::graph_import::{map_export, GraphPage};
use seatplan::tenant::{AssignmentError, AssignmentState, TenantState};
use serde_json::{json, Value};

const EXPORT: &str = "tests/fixtures/graph/export";

fn seatplan() -> Command {
    let mut command = Command::cargo_bin("seatplan").unwrap();
    command
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_ACTIONS")
        .arg("--no-color");
    command
}

#[test]
fn import_graph_writes_a_tenant_file_that_loads_back() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("tenant.yaml");
    seatplan()
        .args(["import", "graph", EXPORT, "-o"])
        .arg(&output)
        .assert()
        .success()
        .stdout(
            "Imported 4 users, 2 groups, 2 subscriptions into ".to_string()
                + &output.display().to_string()
                + ".\n",
        );
    let text = std::fs::read_to_string(&output).unwrap();
    insta::assert_snapshot!("import_graph_export_yaml", text);
    let tenant: TenantState = serde_yaml::from_str(&text).unwrap();
    assert_eq!(tenant.tenant.default_usage_location.as_deref(), Some("GB"));
    let gus = tenant
        .users
        .iter()
        .find(|u| u.upn == "gus@fabrikam.com")
        .unwrap();
    assert_eq!(gus.license_states[0].state, AssignmentState::Error);
    assert_eq!(
        gus.license_states[0].error,
        Some(AssignmentError::CountViolation)
    );
    let engineering = tenant
        .groups
        .iter()
        .find(|g| g.display_name == "Engineering E5")
        .unwrap();
    assert_eq!(engineering.members.len(), 4);
    // No temporary file is left beside the output.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["tenant.yaml"]);
}

#[test]
fn import_graph_writes_json_for_a_json_output() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("tenant.yaml");
    let json = dir.path().join("tenant.json");
    for output in [&yaml, &json] {
        seatplan()
            .args(["import", "graph", EXPORT, "-o"])
            .arg(output)
            .assert()
            .success();
    }
    let from_json: TenantState =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let from_yaml: TenantState =
        serde_yaml::from_str(&std::fs::read_to_string(&yaml).unwrap()).unwrap();
    assert_eq!(from_json, from_yaml);
}

fn copy_export(to: &Path) {
    std::fs::create_dir_all(to.join("members")).unwrap();
    for entry in walk(Path::new(EXPORT)) {
        let relative = entry.strip_prefix(EXPORT).unwrap();
        std::fs::copy(&entry, to.join(relative)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn import_graph_reports_a_broken_export_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    copy_export(&export);
    std::fs::remove_file(export.join("users-2.json")).unwrap();
    let output = dir.path().join("tenant.yaml");
    let assert = seatplan()
        .args(["import", "graph"])
        .arg(&export)
        .arg("-o")
        .arg(&output)
        .assert()
        .failure()
        .code(1);
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("seatplan::graph-inconsistent-export"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`users.json`: the response has an `@odata.nextLink`"),
        "{stderr}"
    );
    assert!(!output.exists());
}

/// `seatplan import graph DIR -o DIR/../tenant.yaml`: the failed run's stderr, after checking
/// that nothing was written.
fn failed_import(export: &Path) -> String {
    let output = export.parent().unwrap().join("tenant.yaml");
    let assert = seatplan()
        .args(["import", "graph"])
        .arg(export)
        .arg("-o")
        .arg(&output)
        .assert()
        .failure()
        .code(1);
    assert!(!output.exists());
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

#[test]
fn import_graph_reports_a_page_of_users_that_is_not_json_alone() {
    // The pages of users are mapped from their text; one cut short is a reading problem, and the
    // import stops with it alone, as for any other file of the export.
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    copy_export(&export);
    let page = export.join("users-2.json");
    let text = std::fs::read_to_string(&page).unwrap();
    std::fs::write(&page, &text[..text.len() / 2]).unwrap();
    let stderr = failed_import(&export);
    assert!(stderr.contains("seatplan::json-syntax"), "{stderr}");
    assert!(
        stderr.contains("users-2.json` is not valid JSON"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("seatplan::").count(), 1, "{stderr}");
}

#[test]
fn import_graph_points_at_a_bad_user_in_its_page() {
    // A user of the wrong shape, mapped from the page's text, is named by id and pointed at in
    // the file, as when the page is parsed whole.
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    copy_export(&export);
    let page = export.join("users-2.json");
    let mut body: Value = serde_json::from_str(&std::fs::read_to_string(&page).unwrap()).unwrap();
    let id = body["value"][0]["id"].as_str().unwrap().to_string();
    body["value"][0]["usageLocation"] = serde_json::json!(["IE"]);
    std::fs::write(&page, serde_json::to_string_pretty(&body).unwrap()).unwrap();
    let line = serde_json::to_string_pretty(&body)
        .unwrap()
        .lines()
        .position(|line| line.contains("\"usageLocation\""))
        .unwrap()
        + 1;
    let stderr = failed_import(&export);
    assert!(stderr.contains("seatplan::graph-invalid-value"), "{stderr}");
    assert!(
        stderr.contains(&format!("`usageLocation` of user `{id}` has the wrong")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("users-2.json:{line}:")),
        "{stderr}"
    );
}

fn settings(server: &FakeGraph, secret: &str) -> GraphSettings {
    let mut settings = GraphSettings::new(
        TENANT,
        "11111111-2222-3333-4444-555555555555",
        Credential::ClientSecret(Secret::new(secret)),
    )
    .with_endpoints(&server.origin, &server.graph_base());
    settings.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        deadline: Duration::from_secs(60),
        consistency_deadline: Duration::from_millis(200),
    };
    settings
}

fn client(server: &FakeGraph) -> GraphClient {
    GraphClient::new(settings(server, CLIENT_SECRET))
}

fn fixture(relative: &str) -> Value {
    let text = std::fs::read_to_string(Path::new("tests/fixtures/graph").join(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The example export, imported from its files.
fn imported() -> TenantState {
    let files = walk(Path::new(EXPORT))
        .into_iter()
        .map(|path| {
            let relative = path
                .strip_prefix(EXPORT)
                .unwrap()
                .to_str()
                .unwrap()
                .replace('\\', "/");
            let body: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            ExportFile {
                page: GraphPage::new(relative.clone(), body),
                relative_path: relative,
            }
        })
        .collect();
    let (export, problems) = assemble_export(files);
    assert!(problems.is_empty(), "{problems:?}");
    map_export(&export).unwrap()
}

#[test]
fn a_live_read_equals_the_same_tenant_imported_from_files() {
    let server = FakeGraph::start();
    // One throttled and one unavailable answer on the way, and one throttled inner request.
    server.fail("/v1.0/users", &[429]);
    server.fail("/v1.0/groups", &[503]);
    server
        .behaviour
        .lock()
        .unwrap()
        .throttle_in_batch
        .push("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into());
    let tenant = client(&server)
        .read_tenant(&["All staff (mail)".to_string()])
        .unwrap();
    assert_eq!(tenant, imported());

    let requests = server.requests();
    let count = |method: &str, prefix: &str| {
        requests
            .iter()
            .filter(|r| r.method == method && r.url.starts_with(prefix))
            .count()
    };
    assert_eq!(
        count("POST", &format!("/{TENANT}/oauth2/v2.0/token")),
        1,
        "the token is cached"
    );
    assert_eq!(count("GET", "/v1.0/users"), 3, "429, page 1, page 2");
    assert_eq!(count("GET", "/v1.0/groups?"), 2, "503, then the page");
    assert_eq!(
        count("POST", "/v1.0/$batch"),
        3,
        "the throttled inner request is sent again, then its second page"
    );
    let users = requests
        .iter()
        .find(|r| r.url.starts_with("/v1.0/users?$select="))
        .unwrap();
    for field in [
        "userPrincipalName",
        "assignedLicenses",
        "licenseAssignmentStates",
        "usageLocation",
        "proxyAddresses",
        "department",
    ] {
        assert!(users.url.contains(field), "{} lacks {field}", users.url);
    }
    let first_batch = requests
        .iter()
        .find(|r| r.url == "/v1.0/$batch")
        .unwrap()
        .json();
    let urls: Vec<&str> = first_batch["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), 2, "the licensed group and the one asked for");
    assert!(urls
        .iter()
        .all(|u| u.ends_with("/members?$select=id,userPrincipalName&$top=999")));
    // The paged members of the licensed group are followed inside a batch too.
    assert_eq!(count("GET", "/v1.0/groups/"), 0);
    let last_batch = requests
        .iter()
        .rfind(|r| r.url == "/v1.0/$batch")
        .unwrap()
        .json();
    assert_eq!(
        last_batch["requests"][0]["url"],
        "/groups/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d/members?$skiptoken=page2"
    );
}

#[test]
fn member_reads_are_batched_twenty_at_a_time() {
    let server = FakeGraph::start();
    let client = client(&server);
    let urls: Vec<String> = (0..45)
        .map(|_| "/groups/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e/members?$select=id".to_string())
        .collect();
    let pages = client.get_many(&urls).unwrap();
    assert_eq!(pages.len(), 45);
    assert!(pages
        .iter()
        .all(|p| p.len() == 1 && p[0].body["value"].as_array().unwrap().len() == 2));
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .filter(|r| r.url == "/v1.0/$batch")
        .map(|r| r.json()["requests"].as_array().unwrap().len())
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort();
    assert_eq!(sorted, [5, 20, 20]);
}

#[test]
fn throttling_past_the_retry_limit_is_an_error_naming_the_request() {
    let server = FakeGraph::start();
    server.fail("/v1.0/organization", &[429, 429, 429, 429, 429]);
    let error = client(&server).read_complete_export().unwrap_err();
    assert_eq!(error.kind, GraphErrorKind::Throttled);
    assert_eq!(error.status, Some(429));
    assert_eq!(error.code.as_deref(), Some("TooManyRequests"));
    assert!(
        error.to_string().starts_with(
            "GET /organization?$select=id,countryLetterCode failed (429 TooManyRequests)"
        ),
        "{error}"
    );
    let attempts = server
        .requests()
        .iter()
        .filter(|r| r.url.starts_with("/v1.0/organization"))
        .count();
    assert_eq!(attempts, 4);
}

#[test]
fn each_write_sends_the_documented_request() {
    let server = FakeGraph::start();
    let client = client(&server);
    let group = "1132b215-826f-42a9-8cfe-1643d19d17fd";
    let user = "2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7a8b";

    // A migration from one product to another is one call with both arrays.
    let updated = client
        .assign_group_licenses(
            group,
            &[LicenseToAdd {
                sku_id: "6fd2c87f-b296-42f0-b197-1e91e994b900".into(),
                disabled_plans: vec!["a23b959c-7ce8-4e57-9140-b90eb88a9e97".into()],
            }],
            &["18181a46-0d4e-45cd-891e-60aabd171b4e".into()],
        )
        .unwrap()
        .expect("the example answer has a body");
    assert_eq!(
        updated.assigned_licenses[0].disabled_plans,
        ["a23b959c-7ce8-4e57-9140-b90eb88a9e97"]
    );
    let user_result = client
        .assign_user_licenses(
            user,
            &[LicenseToAdd {
                sku_id: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e".into(),
                disabled_plans: vec![],
            }],
            &[],
        )
        .unwrap()
        .expect("the example answer has a body");
    assert_eq!(user_result.id, user);
    let created = client
        .create_group(&NewGroup {
            display_name: "Sales E3".into(),
            description: Some("Everyone in Sales".into()),
            mail_enabled: false,
            mail_nickname: "sales-e3".into(),
            security_enabled: true,
            group_types: vec!["DynamicMembership".into()],
            membership_rule: Some("(user.department -eq \"Sales\")".into()),
            membership_rule_processing_state: Some("On".into()),
        })
        .unwrap();
    assert_eq!(created.id, group);
    client
        .update_group(
            group,
            &GroupPatch {
                membership_rule: Some(
                    "(user.department -eq \"Sales\") -and (user.country -eq \"US\")".into(),
                ),
                ..GroupPatch::default()
            },
        )
        .unwrap();
    client.set_usage_location(user, "DE").unwrap();
    client.add_group_member(group, user).unwrap();
    client.remove_group_member(group, user).unwrap();
    client.delete_group(group).unwrap();
    assert_eq!(
        client.license_processing_state(group).unwrap(),
        LicenseProcessing::ProcessingComplete
    );

    let requests: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.url.starts_with("/v1.0"))
        .collect();
    let calls: Vec<(String, String)> = requests
        .iter()
        .map(|r| (r.method.clone(), r.url.clone()))
        .collect();
    let expected = [
        ("POST", format!("/v1.0/groups/{group}/assignLicense")),
        ("POST", format!("/v1.0/users/{user}/assignLicense")),
        ("POST", "/v1.0/groups".to_string()),
        ("PATCH", format!("/v1.0/groups/{group}")),
        ("PATCH", format!("/v1.0/users/{user}")),
        ("POST", format!("/v1.0/groups/{group}/members/$ref")),
        (
            "DELETE",
            format!("/v1.0/groups/{group}/members/{user}/$ref"),
        ),
        ("DELETE", format!("/v1.0/groups/{group}")),
        (
            "GET",
            format!("/v1.0/groups/{group}?$select=licenseProcessingState"),
        ),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, u)| (m.to_string(), u.clone()))
        .collect();
    assert_eq!(calls, expected);
    assert_eq!(
        requests[0].json(),
        fixture("api/group-assignLicense.request.json")
    );
    assert_eq!(
        requests[1].json(),
        fixture("api/user-assignLicense.request.json")
    );
    assert_eq!(requests[2].json(), fixture("api/group-create.request.json"));
    assert_eq!(
        requests[3].json(),
        fixture("api/group-patch-membershipRule.request.json")
    );
    assert_eq!(
        requests[4].json(),
        fixture("api/user-patch-usageLocation.request.json")
    );
    assert_eq!(
        requests[5].json(),
        json!({"@odata.id": format!("{}/directoryObjects/{user}", server.graph_base())})
    );
    // An empty removal list is still sent: Graph requires both arrays.
    assert_eq!(requests[1].json()["removeLicenses"], json!([]));
}

#[test]
fn a_failing_assign_license_reports_graph_s_error() {
    let server = FakeGraph::start();
    let failing = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
    server.behaviour.lock().unwrap().failing_license_group = Some(failing.into());
    let client = client(&server);
    let add = [LicenseToAdd {
        sku_id: "06ebc4ee-1bb5-47dd-8120-11324bc54e06".into(),
        disabled_plans: vec![],
    }];
    let error = client
        .assign_group_licenses(failing, &add, &[])
        .unwrap_err();
    assert_eq!(error.kind, GraphErrorKind::Status);
    assert_eq!(error.status, Some(400));
    assert_eq!(error.code.as_deref(), Some("Request_BadRequest"));
    assert!(error.message.contains("are mutually exclusive"));
    let diagnostic = error.to_diagnostic();
    assert_eq!(diagnostic.code.as_str(), "graph-request");
    assert!(diagnostic.message.starts_with(&format!(
        "POST /groups/{failing}/assignLicense failed (400 Request_BadRequest)"
    )));
    // Not retried: a 400 is final. Another group still works.
    let calls = server
        .requests()
        .iter()
        .filter(|r| r.url.ends_with("/assignLicense"))
        .count();
    assert_eq!(calls, 1);
    client
        .assign_group_licenses("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", &add, &[])
        .unwrap();
}

#[test]
fn secrets_never_appear_in_errors_or_debug_output() {
    let server = FakeGraph::start();
    server.behaviour.lock().unwrap().echo_secret = true;
    let secret = "wrong-secret-9f8e7d6c5b4a";
    let settings = GraphSettings::from_lookup(
        |name| match name {
            "SEATPLAN_CLIENT_SECRET" => Some(secret.to_string()),
            "SEATPLAN_LOGIN_URL" => Some(server.origin.clone()),
            "SEATPLAN_GRAPH_URL" => Some(server.graph_base()),
            _ => None,
        },
        Some(TENANT),
        Some("11111111-2222-3333-4444-555555555555"),
    )
    .unwrap();
    let client = GraphClient::new(settings.clone());
    let error = client.read_complete_export().unwrap_err();
    assert_eq!(error.kind, GraphErrorKind::Auth);
    assert_eq!(error.code.as_deref(), Some("invalid_client"));
    let diagnostic = error.to_diagnostic();
    let rendered = seatplan::render::diagnostics::render(
        &diagnostic,
        &seatplan::source::Sources::new(),
        seatplan::render::diagnostics::Style {
            color: false,
            width: 100,
        },
    );
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{diagnostic:?}"),
        rendered,
        format!("{settings:?}"),
        format!("{client:?}"),
    ] {
        assert!(!text.contains(secret), "the secret leaked into: {text}");
    }
    assert!(error.message.contains("[redacted]"), "{}", error.message);

    // The access token is a secret too.
    let good = GraphClient::new(settings_for(&server));
    good.license_processing_state("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e")
        .unwrap();
    let token = fixture("api/token.response.json")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(!format!("{good:?}").contains(&token));
}

fn settings_for(server: &FakeGraph) -> GraphSettings {
    settings(server, CLIENT_SECRET)
}

#[test]
fn next_links_to_other_hosts_are_refused() {
    let server = FakeGraph::start();
    // The example page as exported links to graph.microsoft.com, not to the configured base.
    let error = client(&server).get_pages("/exported/users").unwrap_err();
    assert_eq!(error.kind, GraphErrorKind::InvalidResponse);
    assert!(
        error.message.contains("does not send its token elsewhere"),
        "{error}"
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .filter(|r| r.url.starts_with("/v1.0"))
            .count(),
        1
    );
}

#[test]
fn a_certificate_signs_a_client_assertion() {
    let server = FakeGraph::start();
    let mut settings = settings(&server, CLIENT_SECRET);
    settings.credential = Credential::Certificate(CERTIFICATE.into());
    let client = GraphClient::new(settings);
    assert_eq!(
        client
            .license_processing_state("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e")
            .unwrap(),
        LicenseProcessing::ProcessingComplete
    );
    let token_request = &server.requests()[0];
    assert!(token_request.body.contains("client_assertion="));
    assert!(!token_request.body.contains("client_secret"));

    let mut settings = settings_for(&server);
    settings.credential = Credential::Certificate("tests/fixtures/graph/export/users.json".into());
    let error = GraphClient::new(settings).delete_group("x").unwrap_err();
    assert_eq!(error.kind, GraphErrorKind::Auth);
    assert!(
        error.message.contains("holds no PEM certificate"),
        "{error}"
    );
}

#[test]
fn an_unreachable_server_is_a_transport_error_after_the_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("http://127.0.0.1:{port}");
    let mut settings = GraphSettings::new(
        TENANT,
        "client",
        Credential::ClientSecret(Secret::new(CLIENT_SECRET)),
    )
    .with_endpoints(&origin, &format!("{origin}/v1.0"));
    settings.retry = RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        deadline: Duration::from_secs(60),
        consistency_deadline: Duration::from_millis(50),
    };
    let error = GraphClient::new(settings).read_tenant(&[]).unwrap_err();
    let diagnostic = &error.0[0];
    assert_eq!(diagnostic.code.as_str(), "graph-request");
    assert!(
        diagnostic
            .message
            .starts_with(&format!("POST /{TENANT}/oauth2/v2.0/token failed")),
        "{}",
        diagnostic.message
    );
    assert!(!diagnostic.message.contains(CLIENT_SECRET));
}

const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const APPLY_CONFIG: &str = "tests/fixtures/graph/apply/seatplan.yaml";
const SPE_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const SPE_E5: &str = "06ebc4ee-1bb5-47dd-8120-11324bc54e06";
const MCOMEETADV: &str = "0c266dff-15dd-4b49-8397-2bb16070ed52";
const EMS: &str = "efccb6f7-5641-4e0e-bd10-b4976e1bf68e";
const LEGACY: &str = "5d6e7f80-91a2-43b4-8c5d-6e7f8091a2b3";
const PILOT: &str = "6e7f8091-a2b3-44c5-9d6e-7f8091a2b3c4";
const ENGINEERING: &str = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
const DANA: &str = "1f0e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
const ELI: &str = "2a3b4c5d-6e7f-4081-9a2b-3c4d5e6f7a8b";
const FAY: &str = "3b4c5d6e-7f80-4192-8a3b-4c5d6e7f8091";
const GUS: &str = "4c5d6e7f-8091-42a3-9b4c-5d6e7f8091a2";

/// The export's tenant with the subscriptions and groups the apply config needs.
fn apply_tenant() -> FakeGraph {
    apply_tenant_with(|_| {})
}

/// [`apply_tenant`], changed by `setup` before it is served.
fn apply_tenant_with(setup: impl FnOnce(&mut fake_graph::Live)) -> FakeGraph {
    FakeGraph::start_live(|live| {
        live.add_sku("SPE_E3", SPE_E3, 10);
        live.add_sku("MCOMEETADV", MCOMEETADV, 10);
        live.add_group(LEGACY, "Legacy EMS", &[EMS], &[GUS]);
        live.add_group(PILOT, "Old pilot", &[EMS], &[ELI]);
        setup(live);
    })
}

/// `seatplan plan --graph -c APPLY_CONFIG` with [`PLAN_ARGS`] against `server`.
fn plan_live(server: &FakeGraph) -> assert_cmd::assert::Assert {
    live_seatplan(server)
        .args(["plan", "--graph", "-c", APPLY_CONFIG])
        .args(PLAN_ARGS)
        .assert()
}

/// The binary with the fake server's credentials and endpoints in its environment.
fn live_seatplan(server: &FakeGraph) -> Command {
    let mut command = seatplan();
    command
        .env("SEATPLAN_TENANT_ID", TENANT)
        .env("SEATPLAN_CLIENT_ID", CLIENT_ID)
        .env("SEATPLAN_CLIENT_SECRET", CLIENT_SECRET)
        .env("SEATPLAN_LOGIN_URL", &server.origin)
        .env("SEATPLAN_GRAPH_URL", server.graph_base())
        .env_remove("SEATPLAN_CLIENT_CERTIFICATE");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The calls that change something, as `METHOD /path` (token, reads and `$batch` left out).
fn writes(server: &FakeGraph) -> Vec<(String, Value)> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.url.starts_with("/v1.0") && r.method != "GET" && r.url != "/v1.0/$batch")
        .map(|r| {
            let body = if r.body.is_empty() {
                Value::Null
            } else {
                r.json()
            };
            (
                format!("{} {}", r.method, r.url.trim_start_matches("/v1.0")),
                body,
            )
        })
        .collect()
}

const PLAN_ARGS: [&str; 2] = ["--allow-license-loss", "--force"];

#[test]
fn plan_against_graph_equals_the_plan_against_the_same_tenant_in_a_file() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tenant.yaml");
    let groups = ["Conferencing", "Legacy EMS", "Old pilot", "Engineering E5"].map(String::from);
    let tenant = client(&server).read_tenant(&groups).unwrap();
    seatplan::backend::write_state(&state, &tenant).unwrap();

    let from_graph = plan_live(&server).success();
    let from_file = seatplan()
        .args(["plan", "-c", APPLY_CONFIG, "--state"])
        .arg(&state)
        .args(PLAN_ARGS)
        .assert()
        .success();
    let graph_out = text(&from_graph.get_output().stdout);
    assert_eq!(graph_out, text(&from_file.get_output().stdout));
    assert!(
        graph_out.contains("Plan: 1 to add, 3 to change, 1 to destroy."),
        "{graph_out}"
    );
    insta::assert_snapshot!("plan_graph_apply_config", graph_out);
    // Reading is all a plan does.
    assert!(writes(&server).is_empty());
}

#[test]
fn a_plan_asks_for_the_user_properties_the_config_s_and_the_tenant_s_rules_read() {
    let server = apply_tenant();
    {
        // An unmanaged dynamic group whose rule reads a property no rule of the config does.
        let mut behaviour = server.behaviour.lock().unwrap();
        let live = behaviour.live.as_mut().unwrap();
        let id = "4b5c6d7e-8f90-41a2-b3c4-d5e6f7a8b9c0";
        live.groups.push(json!({
            "id": id, "displayName": "Dublin office", "description": null,
            "groupTypes": ["DynamicMembership"], "securityEnabled": true, "mailEnabled": false,
            "membershipRule": "user.city -eq \"Dublin\"", "membershipRuleProcessingState": "On",
            "assignedLicenses": []
        }));
        live.members.insert(id.to_string(), Vec::new());
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tenant.yaml");
    let groups = ["Conferencing", "Legacy EMS", "Old pilot", "Engineering E5"].map(String::from);
    let tenant = client(&server).read_tenant(&groups).unwrap();
    seatplan::backend::write_state(&state, &tenant).unwrap();
    server.log.lock().unwrap().clear();

    let from_graph = plan_live(&server).success();
    let requests = server.requests();
    let position = |prefix: &str| {
        requests
            .iter()
            .position(|r| r.url.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {requests:?}"))
    };
    assert!(
        position("/v1.0/groups?$select") < position("/v1.0/users?$select"),
        "the user pages follow the groups, whose rules they depend on"
    );
    let users = &requests[position("/v1.0/users?$select")].url;
    let select = users
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("$select="))
        .unwrap();
    let fields: Vec<&str> = select.split(',').collect();
    for field in seatplan::tenant::graph_import::USER_BASE {
        assert!(fields.contains(field), "{field} in {select}");
    }
    assert!(
        fields.contains(&"department"),
        "the config's rule: {select}"
    );
    assert!(fields.contains(&"city"), "the tenant's rule: {select}");
    for field in ["assignedPlans", "jobTitle", "onPremisesExtensionAttributes"] {
        assert!(!fields.contains(&field), "{field} in {select}");
    }
    // The plan is the plan of the whole tenant read into a file.
    let from_file = seatplan()
        .args(["plan", "-c", APPLY_CONFIG, "--state"])
        .arg(&state)
        .args(PLAN_ARGS)
        .assert()
        .success();
    assert_eq!(
        text(&from_graph.get_output().stdout),
        text(&from_file.get_output().stdout)
    );

    // A snapshot is read whole: it serves configs not written yet.
    server.log.lock().unwrap().clear();
    live_seatplan(&server)
        .args(["pull", "--graph", "-o"])
        .arg(dir.path().join("snapshot.json"))
        .assert()
        .success();
    let full = format!(
        "/v1.0/users?$select={}&",
        seatplan::tenant::graph_import::user_select()
    );
    assert!(
        server.requests().iter().any(|r| r.url.starts_with(&full)),
        "{full}"
    );
}

fn apply_command(server: &FakeGraph) -> Command {
    let mut command = live_seatplan(server);
    command
        .args(["apply", "--graph", "-c", APPLY_CONFIG, "--auto-approve"])
        .args(PLAN_ARGS)
        .args(["--processing-checks", "2", "--processing-interval", "0"]);
    command
}

fn replan(server: &FakeGraph) -> String {
    let assert = live_seatplan(server)
        .args(["plan", "--graph", "-c", APPLY_CONFIG, "--detailed-exitcode"])
        .args(PLAN_ARGS)
        .assert();
    text(&assert.get_output().stdout)
}

#[test]
fn apply_makes_the_calls_in_dependency_order_and_a_new_plan_is_empty() {
    let server = apply_tenant();
    // One throttled answer on the way: retried after its Retry-After.
    server.fail(&format!("/v1.0/groups/{ENGINEERING}/assignLicense"), &[429]);
    let assert = apply_command(&server).assert().success();
    let stdout = text(&assert.get_output().stdout);
    assert!(
        stdout.contains("Apply complete! Resources: 1 added, 3 changed, 1 destroyed."),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "License processing:\n  group[\"Conferencing\"]: license processing complete\n"
        ),
        "{stdout}"
    );
    // Gus's count violation on SPE_E5 went with the migration: nobody is in error now.
    assert!(!stdout.contains("in error"), "{stdout}");

    let created = "00000000-0000-4000-8000-000000000001";
    let calls = writes(&server);
    let order: Vec<&str> = calls.iter().map(|(call, _)| call.as_str()).collect();
    let expected = [
        "POST /groups".to_string(),
        format!("PATCH /users/{FAY}"),
        format!("POST /groups/{created}/assignLicense"),
        format!("POST /groups/{created}/assignLicense"),
        // Throttled once, then sent again.
        format!("POST /groups/{ENGINEERING}/assignLicense"),
        format!("POST /groups/{ENGINEERING}/assignLicense"),
        format!("POST /groups/{created}/members/$ref"),
        format!("POST /groups/{LEGACY}/members/$ref"),
        // The rule edit after the static members are added (its leavers have what replaces
        // their licenses first).
        format!("PATCH /groups/{ENGINEERING}"),
        format!("DELETE /groups/{LEGACY}/members/{GUS}/$ref"),
        format!("POST /groups/{LEGACY}/assignLicense"),
        format!("POST /groups/{PILOT}/assignLicense"),
        format!("DELETE /groups/{PILOT}"),
    ];
    assert_eq!(
        order,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let body = |index: usize| calls[index].1.clone();
    assert_eq!(
        body(0),
        json!({"displayName": "Conferencing", "mailEnabled": false,
               "mailNickname": seatplan::graph::group_nickname("Conferencing"),
               "securityEnabled": true, "groupTypes": []})
    );
    assert_eq!(body(1), json!({"usageLocation": "GB"}));
    // The prerequisite first (SPE_E3 has the MCOSTANDARD that Audio Conferencing needs), with the
    // disabled plan as its GUID; then the add-on, although it sorts first by name.
    let yammer = "7547a3fe-08ee-4ccb-b430-5077c5041653";
    assert_eq!(
        body(2),
        json!({"addLicenses": [{"skuId": SPE_E3, "disabledPlans": [yammer]}], "removeLicenses": []})
    );
    assert_eq!(
        body(3),
        json!({"addLicenses": [{"skuId": MCOMEETADV, "disabledPlans": []}], "removeLicenses": []})
    );
    // The migration is one call with both arrays.
    assert_eq!(
        body(5),
        json!({"addLicenses": [{"skuId": SPE_E3, "disabledPlans": []}], "removeLicenses": [SPE_E5]})
    );
    assert_eq!(
        body(6),
        json!({"@odata.id": format!("{}/directoryObjects/{DANA}", server.graph_base())})
    );
    assert_eq!(
        body(8),
        json!({"membershipRule": "user.department -eq \"Engineering\" -or user.department -eq \"Research\""})
    );
    assert_eq!(
        body(10),
        json!({"addLicenses": [], "removeLicenses": [EMS]})
    );

    let live = server.live();
    assert!(live.group("Old pilot").is_none());
    assert_eq!(
        live.group("Conferencing").unwrap()["assignedLicenses"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let replanned = replan(&server);
    assert!(replanned.contains("No changes."), "{replanned}");
}

#[test]
fn member_groups_are_added_through_members_ref_and_a_new_plan_is_empty() {
    // Seed 003, "Limitations and known issues": "If you apply a license to a nested group, only
    // the immediate first-level user members of the group have the licenses applied." The
    // groups join; nothing is assigned through them.
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seatplan.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\ngroups:\n  Legacy EMS:\n    members: [gus@fabrikam.com, \"{PILOT}\", group: Nested New]\n  Nested New:\n    members: [eli@fabrikam.com]\n"
        ),
    )
    .unwrap();
    let assert = live_seatplan(&server)
        .args(["apply", "--graph", "-c"])
        .arg(&config)
        .args([
            "--auto-approve",
            "--processing-checks",
            "2",
            "--processing-interval",
            "0",
        ])
        .assert()
        .success();
    let stderr = text(&assert.get_output().stderr);
    assert!(stderr.contains("seatplan::nested-group"), "{stderr}");
    let created = "00000000-0000-4000-8000-000000000001";
    let calls = writes(&server);
    let order: Vec<&str> = calls.iter().map(|(call, _)| call.as_str()).collect();
    assert_eq!(
        order,
        [
            "POST /groups".to_string(),
            format!("POST /groups/{LEGACY}/members/$ref"),
            format!("POST /groups/{LEGACY}/members/$ref"),
            format!("POST /groups/{created}/members/$ref"),
        ]
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
    );
    let reference =
        |id: &str| json!({"@odata.id": format!("{}/directoryObjects/{id}", server.graph_base())});
    // Member groups by name: the created "Nested New", then "Old pilot" by its id.
    assert_eq!(calls[1].1, reference(created));
    assert_eq!(calls[2].1, reference(PILOT));
    assert_eq!(calls[3].1, reference(ELI));
    let replanned = live_seatplan(&server)
        .args(["plan", "--graph", "-c"])
        .arg(&config)
        .args(["--detailed-exitcode"])
        .assert()
        .success();
    let stdout = text(&replanned.get_output().stdout);
    assert!(stdout.contains("No changes."), "{stdout}");
}

#[test]
fn a_failing_call_stops_the_apply_reports_each_change_and_a_new_plan_converges() {
    let server = apply_tenant();
    server.behaviour.lock().unwrap().failing_license_group = Some(ENGINEERING.into());
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    let saved = live_seatplan(&server)
        .args(["plan", "--graph", "-c", APPLY_CONFIG, "-o"])
        .arg(&plan_file)
        .args(PLAN_ARGS)
        .assert()
        .success();
    let mut outputs = vec![
        text(&saved.get_output().stdout),
        text(&saved.get_output().stderr),
        std::fs::read_to_string(&plan_file).unwrap(),
    ];

    // A saved plan is applied without asking, after reading the tenant again.
    let failed = live_seatplan(&server)
        .args(["apply", "--graph", "-c", APPLY_CONFIG])
        .arg(&plan_file)
        .args(PLAN_ARGS)
        .args(["--processing-checks", "1", "--processing-interval", "0"])
        .assert()
        .failure()
        .code(3);
    let stdout = text(&failed.get_output().stdout);
    let stderr = text(&failed.get_output().stderr);
    assert!(
        stdout.contains(&format!(
            "\nApply failed: 1 of 5 changes done.\n\
             \x20 group[\"Conferencing\"]: partly done (3 of 4 calls)\n\
             \x20 group[\"Engineering E5\"]: failed: POST /groups/{ENGINEERING}/assignLicense failed (400 Request_BadRequest): "
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  group[\"Legacy EMS\"]: not attempted\n\
             \x20 group[\"Old pilot\"]: not attempted\n\
             \x20 user[\"fay@fabrikam.com\"]: done\n"
        ),
        "{stdout}"
    );
    // What the service records after the partial apply, errors included.
    assert!(
        stdout.contains(
            "License assignments in error, as the service records them:\n\
             \x20 gus@fabrikam.com: SPE_E5 via Engineering E5: Error (CountViolation)\n"
        ),
        "{stdout}"
    );
    assert!(stderr.contains("seatplan::graph-request"), "{stderr}");
    assert!(
        stderr.contains(
            "the apply stopped at `assignLicense +SPE_E3 -SPE_E5` of group[\"Engineering E5\"]"
        ),
        "{stderr}"
    );
    // Nothing after the failing call was sent.
    let calls = writes(&server);
    assert_eq!(
        calls.last().unwrap().0,
        format!("POST /groups/{ENGINEERING}/assignLicense")
    );
    assert_eq!(calls.len(), 5);
    outputs.extend([stdout, stderr]);

    // The saved plan is stale now: the tenant changed.
    let stale = live_seatplan(&server)
        .args(["apply", "--graph", "-c", APPLY_CONFIG])
        .arg(&plan_file)
        .args(PLAN_ARGS)
        .assert()
        .failure();
    let stale_err = text(&stale.get_output().stderr);
    assert!(stale_err.contains("seatplan::stale-plan"), "{stale_err}");
    outputs.push(stale_err);

    // A new plan shows what remains: the member of the created group, the failed migration,
    // the changes never attempted; not the usage location that was set.
    let remaining = replan(&server);
    assert!(
        remaining.contains("Plan: 0 to add, 3 to change, 1 to destroy."),
        "{remaining}"
    );
    assert!(
        remaining.contains("~ group \"Conferencing\" {\n      + members: dana@fabrikam.com\n    }"),
        "{remaining}"
    );
    assert!(!remaining.contains("usage_location"), "{remaining}");
    outputs.push(remaining);

    // With the cause gone, applying the rest converges.
    server.behaviour.lock().unwrap().failing_license_group = None;
    let fixed = apply_command(&server).assert().success();
    outputs.push(text(&fixed.get_output().stdout));
    outputs.push(text(&fixed.get_output().stderr));
    let last = replan(&server);
    assert!(last.contains("No changes."), "{last}");
    outputs.push(last);

    let token = fixture("api/token.response.json")["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    for output in &outputs {
        assert!(
            !output.contains(CLIENT_SECRET),
            "the secret leaked: {output}"
        );
        assert!(!output.contains(&token), "the token leaked: {output}");
    }
}

#[test]
fn the_config_names_the_graph_backend_and_state_overrides_it() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seatplan.yaml");
    let text_config = std::fs::read_to_string(APPLY_CONFIG).unwrap().replace(
        "version: 1\n",
        &format!(
            "version: 1\nbackend:\n  graph: {{ tenant_id: {TENANT}, client_id: {CLIENT_ID} }}\n"
        ),
    );
    std::fs::write(&config, text_config).unwrap();
    let from_config = live_seatplan(&server)
        .env_remove("SEATPLAN_TENANT_ID")
        .env_remove("SEATPLAN_CLIENT_ID")
        .args(["plan", "-c"])
        .arg(&config)
        .args(PLAN_ARGS)
        .assert()
        .success();
    assert!(text(&from_config.get_output().stdout)
        .contains("Plan: 1 to add, 3 to change, 1 to destroy."));
    let reads = server.requests().len();
    assert!(reads > 0);
    // --state wins over the config; the file is missing, so nothing is read from Graph.
    let missing = dir.path().join("absent.yaml");
    live_seatplan(&server)
        .args(["plan", "-c"])
        .arg(&config)
        .arg("--state")
        .arg(&missing)
        .assert()
        .failure()
        .code(1);
    assert_eq!(server.requests().len(), reads);
    // --graph and --state together are refused, as a coded usage error.
    let refused = live_seatplan(&server)
        .args(["plan", "--graph", "--state", "x.yaml"])
        .assert()
        .failure()
        .code(1);
    assert!(text(&refused.get_output().stderr).contains("seatplan::usage"));
}

#[test]
fn missing_credentials_are_a_diagnostic_naming_the_variable() {
    let assert = seatplan()
        .env_remove("SEATPLAN_TENANT_ID")
        .env_remove("SEATPLAN_CLIENT_ID")
        .env_remove("SEATPLAN_CLIENT_SECRET")
        .env_remove("SEATPLAN_CLIENT_CERTIFICATE")
        .args(["plan", "--graph", "-c", APPLY_CONFIG])
        .assert()
        .failure()
        .code(1);
    let stderr = text(&assert.get_output().stderr);
    assert!(stderr.contains("seatplan::graph-auth"), "{stderr}");
    assert!(stderr.contains("SEATPLAN_TENANT_ID is not set"), "{stderr}");
}

#[test]
fn creating_a_group_is_not_retried_after_a_server_error() {
    // A 500 may hide a group that was created; retrying would create a second one. Throttling is
    // answered before processing, so it is retried.
    let server = FakeGraph::start();
    let group = NewGroup {
        display_name: "Sales E3".into(),
        description: None,
        mail_enabled: false,
        mail_nickname: "sales-e3".into(),
        security_enabled: true,
        group_types: vec![],
        membership_rule: None,
        membership_rule_processing_state: None,
    };
    server.fail("/v1.0/groups", &[500]);
    let error = client(&server).create_group(&group).unwrap_err();
    assert!(error.to_string().contains("500"), "{error}");
    let posts = |server: &FakeGraph| {
        server
            .requests()
            .iter()
            .filter(|request| {
                request.method == "POST"
                    && request
                        .url
                        .split('?')
                        .next()
                        .unwrap_or_default()
                        .ends_with("/groups")
            })
            .count()
    };
    assert_eq!(posts(&server), 1, "not retried");
    server.fail("/v1.0/groups", &[429]);
    client(&server)
        .create_group(&group)
        .expect("a throttled create is retried");
    assert_eq!(posts(&server), 3);
}

#[test]
fn duplicate_display_names_among_unmanaged_groups_never_block_a_plan() {
    // Two unrelated groups share a name, one of them licensed: license states point at groups by
    // id, so the plan is unaffected.
    let twin_a = "7a7a7a7a-0000-4000-8000-00000000000a";
    let twin_b = "7b7b7b7b-0000-4000-8000-00000000000b";
    let server = apply_tenant_with(|live| {
        live.add_group(twin_a, "Project Team", &[EMS], &[FAY]);
        live.add_group(twin_b, "Project Team", &[], &[]);
    });
    let plan = plan_live(&server).success();
    let stdout = text(&plan.get_output().stdout);
    assert!(
        stdout.contains("Plan: 1 to add, 3 to change, 1 to destroy."),
        "{stdout}"
    );

    // A config key that matches both is an error listing both ids.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("seatplan.yaml");
    std::fs::write(
        &config,
        "version: 1\ngroups:\n  Project Team:\n    licenses: []\n",
    )
    .unwrap();
    let ambiguous = live_seatplan(&server)
        .args(["plan", "--graph", "-c"])
        .arg(&config)
        .assert()
        .failure()
        .code(1);
    let stderr = text(&ambiguous.get_output().stderr);
    assert!(
        stderr.contains(twin_a) && stderr.contains(twin_b),
        "{stderr}"
    );
    assert!(stderr.contains("add `id:`"), "{stderr}");

    // With `id:` the plan goes ahead and touches only that group.
    std::fs::write(
        &config,
        format!("version: 1\ngroups:\n  Project Team:\n    id: {twin_b}\n    licenses: [ {{ sku: EMS }} ]\n"),
    )
    .unwrap();
    let chosen = live_seatplan(&server)
        .args(["plan", "--graph", "-c"])
        .arg(&config)
        .assert()
        .success();
    let stdout = text(&chosen.get_output().stdout);
    assert!(
        stdout.contains("Plan: 0 to add, 1 to change, 0 to destroy."),
        "{stdout}"
    );

    // A state file imported from this tenant plans too.
    let state = dir.path().join("tenant.yaml");
    let tenant = client(&server)
        .read_tenant(&["Project Team".to_string()])
        .unwrap();
    seatplan::backend::write_state(&state, &tenant).unwrap();
    let fay = tenant
        .users
        .iter()
        .find(|user| user.upn == "fay@fabrikam.com")
        .unwrap();
    assert!(fay
        .license_states
        .iter()
        .any(|license| license.via.as_deref() == Some(twin_a)));
    seatplan()
        .args(["plan", "-c"])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .assert()
        .success();
}

#[test]
fn an_old_state_naming_groups_by_display_name_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tenant.yaml");
    std::fs::write(
        &state,
        "version: 1\ntenant: { default_usage_location: US }\n\
         subscriptions: [ { sku: EMS, enabled: 5 } ]\n\
         users:\n  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, license_states: [ { sku: EMS, via: Mobile, state: Active } ] }\n\
         groups:\n  - { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Mobile, members: [ann@contoso.com], licenses: [ { sku: EMS } ] }\n",
    )
    .unwrap();
    let config = dir.path().join("seatplan.yaml");
    std::fs::write(&config, "version: 1\ngroups:\n  Mobile: {}\n").unwrap();
    let plan = seatplan()
        .args(["plan", "-c"])
        .arg(&config)
        .arg("--state")
        .arg(&state)
        .assert()
        .success();
    assert!(text(&plan.get_output().stdout).contains("No changes."));
}

#[test]
fn a_saved_plan_is_applied_after_an_unrelated_change_in_the_tenant() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let plan_file = dir.path().join("plan.json");
    live_seatplan(&server)
        .args(["plan", "--graph", "-c", APPLY_CONFIG, "-o"])
        .arg(&plan_file)
        .args(PLAN_ARGS)
        .assert()
        .success();
    // Between review and merge someone edits a user's job title and creates an unrelated group.
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        let live = behaviour.live.as_mut().unwrap();
        let gus = live.users.iter_mut().find(|u| u["id"] == GUS).unwrap();
        gus["jobTitle"] = json!("Staff Engineer");
        live.add_group(
            "8c8c8c8c-0000-4000-8000-00000000000c",
            "Book Club",
            &[],
            &[],
        );
    }
    let applied = live_seatplan(&server)
        .args(["apply", "--graph", "-c", APPLY_CONFIG])
        .arg(&plan_file)
        .args(PLAN_ARGS)
        .args(["--processing-checks", "1", "--processing-interval", "0"])
        .assert()
        .success();
    let stderr = text(&applied.get_output().stderr);
    assert!(
        stderr.contains("Note: the tenant changed since the plan was made;"),
        "{stderr}"
    );
    let stdout = text(&applied.get_output().stdout);
    assert!(stdout.contains("Apply complete!"), "{stdout}");
    assert!(replan(&server).contains("No changes."));
}

/// How many `POST /groups` (creates) the server received.
fn creates(server: &FakeGraph) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.url == "/v1.0/groups")
        .count()
}

/// `apply --auto-approve` with a consistency deadline of `seconds` (tests keep it short).
fn apply_within(server: &FakeGraph, seconds: &str) -> Command {
    let mut command = apply_command(server);
    command.env("SEATPLAN_CONSISTENCY_TIMEOUT", seconds);
    command
}

#[test]
fn calls_on_a_group_just_created_wait_out_the_replication_delay() {
    let server = apply_tenant();
    server.behaviour.lock().unwrap().replication_delay = 3;
    let applied = apply_within(&server, "10").assert().success();
    let stdout = text(&applied.get_output().stdout);
    assert!(stdout.contains("Apply complete!"), "{stdout}");
    let created = "00000000-0000-4000-8000-000000000001";
    // Three 404s on the first call to the new group, then it answered.
    let first_call = format!("/v1.0/groups/{created}/assignLicense");
    let calls = server
        .requests()
        .iter()
        .filter(|r| r.url == first_call)
        .count();
    assert_eq!(calls, 3 + 2, "three refused, then the two license calls");
    assert_eq!(creates(&server), 1);
    assert!(replan(&server).contains("No changes."));
}

const LOCATION_CONFIG: &str = "tests/fixtures/graph/apply-location/seatplan.yaml";

/// `apply --auto-approve` of the usage-location config with a consistency deadline of `seconds`.
fn apply_location_within(server: &FakeGraph, seconds: &str) -> Command {
    let mut command = live_seatplan(server);
    command
        .args(["apply", "--graph", "-c", LOCATION_CONFIG, "--auto-approve"])
        .args(PLAN_ARGS)
        .args(["--processing-checks", "1", "--processing-interval", "0"])
        .env("SEATPLAN_CONSISTENCY_TIMEOUT", seconds);
    command
}

/// The `assignLicense` calls on Fay's account.
fn fay_license_calls(server: &FakeGraph) -> usize {
    let url = format!("/v1.0/users/{FAY}/assignLicense");
    server.requests().iter().filter(|r| r.url == url).count()
}

#[test]
fn a_license_right_after_a_usage_location_waits_out_the_replication_lag() {
    let server = apply_tenant();
    server.behaviour.lock().unwrap().location_lag = 3;
    let applied = apply_location_within(&server, "10").assert().success();
    let stdout = text(&applied.get_output().stdout);
    assert!(stdout.contains("Apply complete!"), "{stdout}");
    assert_eq!(
        fay_license_calls(&server),
        3 + 1,
        "three refused for the usage location, then assigned"
    );
    let fay = server
        .live()
        .users
        .into_iter()
        .find(|u| u["id"] == FAY)
        .unwrap();
    assert_eq!(fay["usageLocation"], "GB");
    assert!(
        fay["assignedLicenses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["skuId"] == MCOMEETADV),
        "{fay}"
    );
}

#[test]
fn a_usage_location_lag_past_the_deadline_fails_clearly() {
    let server = apply_tenant();
    server.behaviour.lock().unwrap().location_lag = 1000;
    let failed = apply_location_within(&server, "0.3").assert().failure();
    let stdout = text(&failed.get_output().stdout);
    let stderr = text(&failed.get_output().stderr);
    let output = format!("{stdout}{stderr}");
    assert!(output.contains("invalid usage location"), "{output}");
    assert!(
        output.contains("the object may not have replicated yet"),
        "{output}"
    );
    assert!(output.contains("fay@fabrikam.com"), "{output}");
    assert!(fay_license_calls(&server) > 1, "retried before giving up");
    assert!(!output.contains("Apply complete!"), "{output}");
}

#[test]
fn a_rerun_within_the_replication_window_adopts_the_group_instead_of_creating_another() {
    let server = apply_tenant();
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        behaviour.replication_delay = 1000;
        behaviour.listing_lags = true;
    }
    // The deadline passes before the new group answers: the apply stops, saying why, with exit 3
    // because the group was already created.
    let failed = apply_within(&server, "0.3").assert().failure().code(3);
    let stdout = text(&failed.get_output().stdout);
    assert!(
        stdout.contains("the object may not have replicated yet"),
        "{stdout}"
    );
    assert_eq!(creates(&server), 1);
    // The group answers by id now, but listings still miss it: the new plan wants to create it
    // again, and the apply finds it by its mailNickname instead.
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        behaviour.replication_delay = 0;
        let live = behaviour.live.as_mut().unwrap();
        let lagging = live.clone();
        live.catch_up();
        live.hide_from_listings_like(&lagging);
    }
    let again = apply_within(&server, "10").assert().success();
    let stdout = text(&again.get_output().stdout);
    assert!(
        stdout.contains("# group[\"Conferencing\"] will be created"),
        "the listing still lags: {stdout}"
    );
    assert!(stdout.contains("Apply complete!"), "{stdout}");
    assert_eq!(creates(&server), 1, "the create was never sent again");
    server
        .behaviour
        .lock()
        .unwrap()
        .live
        .as_mut()
        .unwrap()
        .catch_up();
    assert_eq!(server.live().groups_named("Conferencing"), 1);
    assert!(replan(&server).contains("No changes."));
}

#[test]
fn a_create_answered_503_after_it_was_committed_is_adopted_not_repeated() {
    let server = apply_tenant();
    server.behaviour.lock().unwrap().commit_then_unavailable = 1;
    let applied = apply_within(&server, "10").assert().success();
    let stdout = text(&applied.get_output().stdout);
    assert!(stdout.contains("Apply complete!"), "{stdout}");
    assert_eq!(creates(&server), 1);
    assert_eq!(server.live().groups_named("Conferencing"), 1);
    assert!(replan(&server).contains("No changes."));
}

#[test]
fn retry_after_is_honoured_beyond_a_minute_and_bounded_by_the_deadline() {
    // The client waits exactly what Graph asks, even 90 s (recorded, not slept).
    let server = FakeGraph::start();
    server.behaviour.lock().unwrap().retry_after = 90;
    server.fail("/v1.0/subscribedSkus", &[429]);
    let waits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorder = waits.clone();
    let mut settings = settings(&server, CLIENT_SECRET);
    settings.retry.deadline = Duration::from_secs(600);
    let client = GraphClient::new(settings).with_sleeper(std::sync::Arc::new(move |wait| {
        recorder.lock().unwrap().push(wait)
    }));
    client
        .get_pages("/subscribedSkus")
        .expect("answered after the wait");
    assert_eq!(*waits.lock().unwrap(), [Duration::from_secs(90)]);

    // A wait past the deadline is not started: the error says what Graph asked for, with its
    // code and the request's ids.
    let live = apply_tenant();
    live.behaviour.lock().unwrap().retry_after = 90;
    live.fail(&format!("/v1.0/groups/{ENGINEERING}/assignLicense"), &[429]);
    // Exit 3: the steps before the throttled one had already changed the tenant.
    let failed = apply_within(&live, "10")
        .env("SEATPLAN_RETRY_TIMEOUT", "30")
        .assert()
        .failure()
        .code(3);
    let stdout = text(&failed.get_output().stdout);
    assert!(
        stdout.contains("Graph asked to wait 90 s before trying again, which would pass the retry deadline of 30 s"),
        "{stdout}"
    );
    assert!(stdout.contains("TooManyRequests"), "{stdout}");
    assert!(stdout.contains("client-request-id "), "{stdout}");
}

#[test]
fn an_apply_killed_after_any_step_and_run_again_converges_without_duplicates() {
    // How many writes a full apply makes.
    let total = {
        let server = apply_tenant();
        apply_command(&server).assert().success();
        writes(&server).len()
    };
    assert!(total >= 10, "{total}");
    for answered in 0..total {
        let server = apply_tenant();
        server.behaviour.lock().unwrap().hold_writes_after = Some(answered);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("seatplan"))
            .args([
                "--no-color",
                "apply",
                "--graph",
                "-c",
                APPLY_CONFIG,
                "--auto-approve",
            ])
            .args(PLAN_ARGS)
            .args(["--processing-checks", "1", "--processing-interval", "0"])
            .env("SEATPLAN_TENANT_ID", TENANT)
            .env("SEATPLAN_CLIENT_ID", CLIENT_ID)
            .env("SEATPLAN_CLIENT_SECRET", CLIENT_SECRET)
            .env("SEATPLAN_LOGIN_URL", &server.origin)
            .env("SEATPLAN_GRAPH_URL", server.graph_base())
            .env_remove("SEATPLAN_CLIENT_CERTIFICATE")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait (a safety net of minutes) until the write after `answered` arrives and hangs.
        let started = std::time::Instant::now();
        while writes(&server).len() <= answered {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "the apply never reached write {answered}"
            );
            assert!(child.try_wait().unwrap().is_none(), "the apply ended early");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        server.behaviour.lock().unwrap().hold_writes_after = None;
        let again = apply_command(&server).assert().success();
        let stdout = text(&again.get_output().stdout);
        assert!(
            stdout.contains("Apply complete!") || stdout.contains("No changes."),
            "killed after {answered} writes: {stdout}"
        );
        let live = server.live();
        assert_eq!(
            live.groups_named("Conferencing"),
            1,
            "killed after {answered} writes"
        );
        let last = replan(&server);
        assert!(
            last.contains("No changes."),
            "killed after {answered}: {last}"
        );
    }
}

#[test]
fn seats_in_grace_are_assignable_with_a_warning_and_suspended_seats_count_nothing() {
    // SPE_E3 is in its grace period: no enabled seats, ten in warning. The plan assigns it.
    let server = apply_tenant_with(|live| live.set_units("SPE_E3", 0, 10, 0));
    let plan = plan_live(&server).success();
    let stderr = text(&plan.get_output().stderr);
    assert!(
        stderr.contains("seatplan::subscription-in-grace"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Microsoft 365 E3 (SPE_E3) has 10 seats in the grace period"),
        "{stderr}"
    );
    assert!(!stderr.contains("seat-shortage"), "{stderr}");
    assert!(!stderr.contains("seat-count-drift"), "{stderr}");

    // Suspended seats are not assignable: the same plan runs short.
    let suspended = apply_tenant_with(|live| live.set_units("SPE_E3", 0, 0, 10));
    let short = plan_live(&suspended).failure().code(1);
    let stderr = text(&short.get_output().stderr);
    assert!(stderr.contains("seatplan::seat-shortage"), "{stderr}");
}

#[test]
fn consumed_units_that_differ_from_the_engine_s_count_are_a_warning() {
    let server = apply_tenant();
    server
        .behaviour
        .lock()
        .unwrap()
        .live
        .as_mut()
        .unwrap()
        .drift("EMS", 2);
    let plan = plan_live(&server).success();
    let stderr = text(&plan.get_output().stderr);
    assert!(stderr.contains("seatplan::seat-count-drift"), "{stderr}");
    assert!(
        stderr.contains("Graph reports 4 consumed EMS seats, seatplan counts 2"),
        "{stderr}"
    );
    // Without the drift, no warning.
    let clean = apply_tenant();
    let plan = plan_live(&clean).success();
    assert!(!text(&plan.get_output().stderr).contains("seat-count-drift"));
}

#[test]
fn a_token_endpoint_echoing_the_form_body_leaks_the_secret_in_no_form() {
    let server = apply_tenant();
    server.behaviour.lock().unwrap().echo_form = true;
    let secret = "wrong secret/+~\"é\\x";
    let failed = live_seatplan(&server)
        .env("SEATPLAN_CLIENT_SECRET", secret)
        .args(["plan", "--graph", "-c", APPLY_CONFIG])
        .assert()
        .failure()
        .code(1);
    let stderr = text(&failed.get_output().stderr);
    assert!(stderr.contains("seatplan::graph-auth"), "{stderr}");
    assert!(stderr.contains("=[redacted]"), "{stderr}");
    let forms = [
        secret.to_string(),
        "wrong+secret%2F%2B~%22%C3%A9%5Cx".to_string(),
        "wrong+secret%2F%2B%7E%22%C3%A9%5Cx".to_string(),
        "wrong%20secret%2F%2B~%22%C3%A9%5Cx".to_string(),
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
        "secret%2F".to_string(),
        "secret/".to_string(),
    ];
    for form in &forms {
        assert!(!stderr.contains(form.as_str()), "`{form}` leaked: {stderr}");
    }
}

#[test]
fn pull_writes_the_live_tenant_to_a_file_and_keeps_its_responses_in_import_s_layout() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let pulled = dir.path().join("tenant.yaml");
    let responses = dir.path().join("responses");
    let run = live_seatplan(&server)
        .args(["pull", "--graph", "-o"])
        .arg(&pulled)
        .arg("--save-responses")
        .arg(&responses)
        .assert()
        .success();
    let stdout = text(&run.get_output().stdout);
    assert!(
        stdout.contains("Pulled 4 users, 4 groups, 4 subscriptions into"),
        "{stdout}"
    );
    assert!(responses.join("organization.json").exists());
    assert!(responses.join(format!("members/{LEGACY}.json")).exists());
    // The saved responses import to the same state.
    let imported = dir.path().join("imported.yaml");
    seatplan()
        .args(["import", "graph"])
        .arg(&responses)
        .arg("-o")
        .arg(&imported)
        .assert()
        .success();
    // The same, but for the delta links the pulled file records.
    let mut pulled_state = load_state(&pulled);
    assert!(pulled_state.delta.take().is_some());
    assert_eq!(pulled_state, load_state(&imported));
    // The pulled state plans like the live tenant.
    let from_file = seatplan()
        .args(["plan", "-c", APPLY_CONFIG, "--state"])
        .arg(&pulled)
        .args(PLAN_ARGS)
        .assert()
        .success();
    let from_graph = plan_live(&server).success();
    assert_eq!(
        text(&from_file.get_output().stdout),
        text(&from_graph.get_output().stdout)
    );
    // `export --graph` writes the config `export --state` writes for the pulled file.
    let exported = live_seatplan(&server)
        .args(["export", "--graph"])
        .assert()
        .success();
    let from_state = seatplan()
        .args(["export", "--state"])
        .arg(&pulled)
        .assert()
        .success();
    let body = |bytes: &[u8]| {
        text(bytes)
            .lines()
            .filter(|line| !line.starts_with("# Exported from"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        body(&exported.get_output().stdout),
        body(&from_state.get_output().stdout)
    );
    assert!(writes(&server).is_empty(), "reading only");
    // The permissions are named in --help.
    let help = seatplan().args(["pull", "--help"]).assert().success();
    let help = text(&help.get_output().stdout);
    for permission in [
        "User.Read.All",
        "Group.Read.All",
        "GroupMember.Read.All",
        "Organization.Read.All",
    ] {
        assert!(help.contains(permission), "{help}");
    }
}

#[test]
fn the_client_spends_resource_units_within_the_quota_instead_of_meeting_429s() {
    // The client assumes 3 units a second and so takes at least two seconds for the read's 14
    // units (a lower bound: a slower machine only takes longer). The server grants ten times
    // that, so that even a busy machine that delays ten windows' requests into one second is
    // never refused.
    let server = FakeGraph::start();
    server.behaviour.lock().unwrap().resource_units = Some((30, Duration::from_secs(1)));
    let mut fitting = settings(&server, CLIENT_SECRET);
    fitting.resource_units = Some(3);
    fitting.resource_window = Duration::from_secs(1);
    let client = GraphClient::new(fitting);
    let start = std::time::Instant::now();
    let tenant = client
        .read_tenant(&["All staff (mail)".to_string()])
        .unwrap();
    assert_eq!(tenant, imported());
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "14 units at 3 a second"
    );
    let behaviour = server.behaviour.lock().unwrap();
    assert_eq!(behaviour.quota_refusals, 0);
    let (units, _) = client.budget().spent();
    assert_eq!(
        units, behaviour.units_spent,
        "both count the documented costs"
    );

    // A client assuming more than the server grants meets 429s, waits the Retry-After, lowers
    // its assumption and finishes. The server grants 7 units in 4 s: the read's 14 units, sent
    // at once, meet a refusal unless a busy machine spreads them over more than four seconds
    // (they take milliseconds).
    let server = FakeGraph::start();
    server.behaviour.lock().unwrap().resource_units = Some((7, Duration::from_secs(4)));
    let mut greedy = settings(&server, CLIENT_SECRET);
    greedy.resource_units = Some(40);
    greedy.resource_window = Duration::from_secs(4);
    let client = GraphClient::new(greedy);
    let tenant = client
        .read_tenant(&["All staff (mail)".to_string()])
        .unwrap();
    assert_eq!(tenant, imported());
    assert!(server.behaviour.lock().unwrap().quota_refusals > 0);
    assert!(client.budget().quota() < 40);
}

/// A state file as written.
fn load_state(path: &Path) -> TenantState {
    let text = std::fs::read_to_string(path).unwrap();
    if path.extension().is_some_and(|ext| ext == "json") {
        serde_json::from_str(&text).unwrap()
    } else {
        serde_yaml::from_str(&text).unwrap()
    }
}

/// `pull --graph -o PATH`, then the requests it made are forgotten.
fn pull_snapshot(server: &FakeGraph, path: &Path) {
    live_seatplan(server)
        .args(["pull", "--graph", "-o"])
        .arg(path)
        .assert()
        .success();
    server.log.lock().unwrap().clear();
}

/// The tenant a full read gives now, without delta links.
fn full_read(server: &FakeGraph) -> TenantState {
    let mut state = client(server).read_snapshot().unwrap();
    state.delta = None;
    state
}

/// Changes delta reports and changes only license processing shows.
fn change_tenant(server: &FakeGraph) {
    let mut behaviour = server.behaviour.lock().unwrap();
    let live = behaviour.live.as_mut().unwrap();
    // A tracked property, and a UPN that group member lists name.
    live.set_user(DANA, "department", json!("Sales"));
    live.set_user(ELI, "userPrincipalName", json!("eli.new@fabrikam.com"));
    // Memberships: license states follow, which /users/delta does not report.
    live.add_member(LEGACY, ELI);
    live.remove_member(PILOT, ELI);
    // A new user in a licensed group, and a deleted one.
    let mut newcomer = live.users[0].clone();
    newcomer["id"] = json!("5d6e7f80-91a2-43b4-8c5d-6e7f8091a2b3");
    newcomer["userPrincipalName"] = json!("hal@fabrikam.com");
    newcomer["proxyAddresses"] = json!(["SMTP:hal@fabrikam.com"]);
    newcomer["licenseAssignmentStates"] = json!([]);
    newcomer["assignedLicenses"] = json!([]);
    live.add_user(newcomer);
    live.add_member(LEGACY, "5d6e7f80-91a2-43b4-8c5d-6e7f8091a2b3");
    live.delete_user(GUS);
}

/// `pull --graph --refresh SNAPSHOT`, checked to have refreshed it by delta queries without
/// listing the users whole (only the changed ones are read, by id); the requests it made.
fn refresh_by_delta(server: &FakeGraph, snapshot: &Path) -> Vec<Recorded> {
    server.log.lock().unwrap().clear();
    let run = live_seatplan(server)
        .args(["pull", "--graph", "--refresh"])
        .arg(snapshot)
        .assert()
        .success();
    let stdout = text(&run.get_output().stdout);
    assert!(stdout.contains("Refreshed the snapshot"), "{stdout}");
    let requests = server.requests();
    assert!(
        !requests
            .iter()
            .any(|r| r.url.starts_with("/v1.0/users?$select")),
        "{requests:?}"
    );
    requests
}

#[test]
fn a_refreshed_snapshot_equals_a_full_read_of_the_same_tenant() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("tenant.json");
    pull_snapshot(&server, &snapshot);
    let links = load_state(&snapshot)
        .delta
        .expect("pull records the delta links");
    assert!(links.users.contains("/users/delta?"), "{links:?}");
    assert!(links.groups.contains("/groups/delta?"), "{links:?}");

    change_tenant(&server);
    let requests = refresh_by_delta(&server, &snapshot);
    let batches: Vec<Value> = requests
        .iter()
        .filter(|r| r.url == "/v1.0/$batch")
        .map(Recorded::json)
        .collect();
    assert_eq!(
        batches.len(),
        2,
        "one round of delta, one of users read again"
    );
    let mut refreshed = load_state(&snapshot);
    assert!(refreshed.delta.take().is_some());
    assert_eq!(refreshed, full_read(&server));

    // Nothing changed: the second refresh reads no user again and keeps the tenant.
    server.log.lock().unwrap().clear();
    live_seatplan(&server)
        .args(["pull", "--graph", "--refresh"])
        .arg(&snapshot)
        .assert()
        .success();
    let mut again = load_state(&snapshot);
    again.delta = None;
    assert_eq!(again, refreshed);
}

#[test]
fn a_snapshot_refreshed_after_an_apply_equals_a_full_read() {
    // The workflow refreshes main's snapshot after each apply (`pull --graph --refresh`): the
    // apply's own writes — a group created and licensed, members added and removed, a license
    // migrated, a group deleted — reach the snapshot through the delta queries and the license
    // states read again, and the next plan starts from the tenant the apply left.
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("tenant.json");
    pull_snapshot(&server, &snapshot);
    apply_command(&server).assert().success();
    refresh_by_delta(&server, &snapshot);
    let mut refreshed = load_state(&snapshot);
    assert!(refreshed.delta.take().is_some());
    assert_eq!(refreshed, full_read(&server));
    let from_snapshot = live_seatplan(&server)
        .args(["plan", "--graph", "--snapshot"])
        .arg(&snapshot)
        .args(["-c", APPLY_CONFIG, "--detailed-exitcode"])
        .args(PLAN_ARGS)
        .assert()
        .code(0);
    assert_eq!(text(&from_snapshot.get_output().stdout), replan(&server));
}

#[test]
fn an_expired_or_refused_delta_link_falls_back_to_a_full_read_and_says_so() {
    for (status, code) in [
        (400, "400 syncStateNotFound"),
        (410, "410 syncStateInvalid"),
    ] {
        let server = apply_tenant();
        let dir = tempfile::tempdir().unwrap();
        let snapshot = dir.path().join("tenant.json");
        pull_snapshot(&server, &snapshot);
        change_tenant(&server);
        server.behaviour.lock().unwrap().refuse_delta = Some(status);
        let run = live_seatplan(&server)
            .args(["pull", "--graph", "--refresh"])
            .arg(&snapshot)
            .assert()
            .success();
        let stdout = text(&run.get_output().stdout);
        assert!(
            stdout.contains(&format!(
                "Read the whole tenant into the snapshot {}: Graph refused the delta link ({code})",
                snapshot.display()
            )),
            "{stdout}"
        );
        let mut refreshed = load_state(&snapshot);
        assert!(
            refreshed.delta.take().is_some(),
            "new links from the full read"
        );
        server.behaviour.lock().unwrap().refuse_delta = None;
        assert_eq!(refreshed, full_read(&server));
    }
}

#[test]
fn plan_with_a_snapshot_creates_it_then_refreshes_it_and_plans_like_a_full_read() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("snapshot.json");
    let plan = |server: &FakeGraph| {
        let run = live_seatplan(server)
            .args(["plan", "--graph", "--snapshot"])
            .arg(&snapshot)
            .args(["-c", APPLY_CONFIG])
            .args(PLAN_ARGS)
            .assert()
            .success();
        (
            text(&run.get_output().stdout),
            text(&run.get_output().stderr),
        )
    };
    let (first, note) = plan(&server);
    assert!(
        note.contains("Read the whole tenant into the new snapshot"),
        "{note}"
    );
    let direct = plan_live(&server).success();
    assert_eq!(first, text(&direct.get_output().stdout));

    change_tenant(&server);
    let (second, note) = plan(&server);
    assert!(note.contains("Refreshed the snapshot"), "{note}");
    let direct = plan_live(&server).success();
    assert_eq!(second, text(&direct.get_output().stdout));
    assert_ne!(first, second, "the changes show in the plan");
    // `--snapshot` needs `--graph`.
    seatplan()
        .args(["plan", "--snapshot", "x.json", "-c", APPLY_CONFIG])
        .assert()
        .failure();
}

#[test]
fn a_generated_tenant_refreshed_after_a_hundred_changes_equals_a_full_read_in_few_requests() {
    let generated = tenantgen::generate(
        &tenantgen::Params {
            users: 2_000,
            groups: 40,
            ..tenantgen::Params::default()
        },
        seatplan::catalog::Catalog::builtin(),
    );
    let served = fake_graph::Live::from_state(&generated.state);
    let server = FakeGraph::start_live(move |live| *live = served);
    let client = client(&server);
    let snapshot = client.read_snapshot().unwrap();
    assert_eq!(snapshot.users.len(), 2_000);
    assert_eq!(snapshot.groups.len(), generated.state.groups.len());
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        let live = behaviour.live.as_mut().unwrap();
        let ids: Vec<String> = live.users[..100]
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        for id in &ids {
            live.set_user(id, "jobTitle", json!("Changed"));
        }
        let licensed = live.groups[0]["id"].as_str().unwrap().to_string();
        let outsider = live
            .users
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .find(|id| {
                !live.members[&licensed]
                    .iter()
                    .any(|m| m["id"] == id.as_str())
            })
            .unwrap();
        live.add_member(&licensed, &outsider);
    }
    server.log.lock().unwrap().clear();
    let refreshed = client.refresh_snapshot(snapshot.clone()).unwrap();
    assert_eq!(refreshed.full_read, None);
    assert!(refreshed.users_read >= 101, "{}", refreshed.users_read);
    let requests = server.requests();
    assert!(requests.len() <= 10, "{} requests", requests.len());
    let mut state = refreshed.state;
    state.delta = None;
    assert_eq!(state, full_read(&server));
}

#[test]
fn an_error_cleared_by_the_licensing_service_alone_is_seen_by_the_refresh() {
    let server = apply_tenant();
    let dir = tempfile::tempdir().unwrap();
    let snapshot = dir.path().join("tenant.json");
    pull_snapshot(&server, &snapshot);
    assert!(load_state(&snapshot)
        .users
        .iter()
        .any(|u| u.license_states.iter().any(|s| s.error.is_some())));
    {
        // Seats were freed and the service retried Gus: only his license states change, which
        // /users/delta does not report.
        let mut behaviour = server.behaviour.lock().unwrap();
        let live = behaviour.live.as_mut().unwrap();
        let gus = live.users.iter_mut().find(|u| u["id"] == GUS).unwrap();
        for state in gus["licenseAssignmentStates"].as_array_mut().unwrap() {
            state["state"] = json!("Active");
            state["error"] = json!("None");
        }
    }
    live_seatplan(&server)
        .args(["pull", "--graph", "--refresh"])
        .arg(&snapshot)
        .assert()
        .success();
    let mut refreshed = load_state(&snapshot);
    refreshed.delta = None;
    assert!(refreshed
        .users
        .iter()
        .all(|u| u.license_states.iter().all(|s| s.error.is_none())));
    assert_eq!(refreshed, full_read(&server));
}

#[test]
fn the_graph_backend_makes_the_reordered_calls_in_the_plan_s_order() {
    // Seeds 001/002: a refused direct call "is immediately reported back to you". The plan runs
    // Ann's removal from `Z - E3` ahead of Bob's direct E3, which needs the seat it frees; the
    // Graph backend sends exactly those two calls in that order.
    let fixture = Path::new("tests/fixtures/service/refused-direct");
    let text_state = std::fs::read_to_string(fixture.join("tenant.yaml")).unwrap();
    let (state, _) = seatplan::tenant::parse::parse_state(
        seatplan::source::SourceId(0),
        &text_state,
        seatplan::tenant::parse::Format::Yaml,
    )
    .map_err(|(problems, _)| format!("{problems:?}"))
    .unwrap();
    let mut state = state;
    // Graph names the product by its skuId.
    state.subscriptions[0].id = Some("6fd2c87f-b296-42f0-b197-1e91e994b900".to_string());
    let served = fake_graph::Live::from_state(&state);
    let server = FakeGraph::start_live(move |live| *live = served);
    let config = fixture.join("seatplan.yaml");
    let plan = live_seatplan(&server)
        .args(["plan", "--graph", "-c"])
        .arg(&config)
        .arg("--allow-license-loss")
        .assert()
        .success();
    let stdout = text(&plan.get_output().stdout);
    assert!(
        stdout.contains(
            "1. removeMember group[\"Z - E3\"] ann@contoso.com\n    2. assignLicense user[\"bob@contoso.com\"] +ENTERPRISEPACK"
        ),
        "{stdout}"
    );
    live_seatplan(&server)
        .args(["apply", "--graph", "-c"])
        .arg(&config)
        .args(["--allow-license-loss", "--auto-approve"])
        .args(["--processing-checks", "1", "--processing-interval", "0"])
        .assert()
        .success();
    let ann = &state.users[0].id;
    let bob = &state.users[1].id;
    let group = &state.groups[0].id;
    let calls = writes(&server);
    let order: Vec<&str> = calls.iter().map(|(call, _)| call.as_str()).collect();
    assert_eq!(
        order,
        [
            format!("DELETE /groups/{group}/members/{ann}/$ref"),
            format!("POST /users/{bob}/assignLicense"),
        ]
    );
}

#[test]
fn the_client_counts_what_graph_says_it_charged_and_reserves_accordingly() {
    // The server charges every request (each inner request of a `$batch` on its own) two units
    // above the documented table and says so in `x-ms-resource-unit`. The read is 8 requests
    // and inner requests of 14 documented units, so 30 charged: the client's account is the
    // server's, not the table's, and it reserves the next requests at 30 for every 14. Its
    // quota of 5 a second makes it wait for the window after the first requests (13 charged
    // where 5 were reserved); the server's 24 a second leave room for two such windows
    // arriving together on a busy machine.
    let server = FakeGraph::start();
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        behaviour.resource_units = Some((24, Duration::from_secs(1)));
        behaviour.surcharge = 2;
    }
    let mut fitting = settings(&server, CLIENT_SECRET);
    fitting.resource_units = Some(5);
    fitting.resource_window = Duration::from_secs(1);
    let client = GraphClient::new(fitting);
    let tenant = client
        .read_tenant(&["All staff (mail)".to_string()])
        .unwrap();
    assert_eq!(tenant, imported());
    let behaviour = server.behaviour.lock().unwrap();
    assert_eq!(behaviour.quota_refusals, 0);
    let (units, requests) = client.budget().spent();
    assert_eq!((units, requests), (30, 7), "14 documented + 2 × 8 charged");
    assert_eq!(units, behaviour.units_spent);
    assert_eq!(client.budget().reservation(14), 30);
}

#[test]
fn writes_are_held_to_the_write_quota_instead_of_meeting_429s() {
    // Graph's write quota, shrunk: 4 writes a second. A client allowing itself 2 a second (so
    // that two of its windows arriving together on a busy machine still fit) sends its ten
    // writes and never meets a 429.
    let server = FakeGraph::start();
    server.behaviour.lock().unwrap().write_quota = Some((4, Duration::from_secs(1)));
    let client = GraphClient::new(settings(&server, CLIENT_SECRET))
        .with_write_quota(2, Duration::from_secs(1));
    for _ in 0..5 {
        client
            .set_usage_location("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", "IE")
            .unwrap();
        client
            .add_group_member(
                "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
                "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
            )
            .unwrap();
    }
    // Reads are not writes: they pass the full write window.
    client
        .license_processing_state("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d")
        .unwrap();
    let written = server
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && r.url.starts_with("/v1.0"))
        .count();
    assert_eq!(written, 10, "each write sent once");
    assert_eq!(server.behaviour.lock().unwrap().write_refusals, 0);
    assert_eq!(client.budget().write_quota(), 2, "never lowered by a 429");
    assert_eq!(client.budget().spent(), (11, 11));

    // `SEATPLAN_GRAPH_WRITES` is the quota a client starts from.
    let mut limited = settings(&server, CLIENT_SECRET);
    limited.write_quota = Some(600);
    assert_eq!(GraphClient::new(limited).budget().write_quota(), 600);
    assert_eq!(
        GraphClient::new(settings(&server, CLIENT_SECRET))
            .budget()
            .write_quota(),
        3_000
    );
}

#[test]
fn a_group_pinned_by_id_under_a_new_key_is_renamed_with_one_patch() {
    let server = apply_tenant();
    apply_command(&server).assert().success();
    server.log.lock().unwrap().clear();
    let directory = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(APPLY_CONFIG).unwrap().replace(
        "  Legacy EMS:\n",
        &format!("  Legacy (retired):\n    id: {LEGACY}\n"),
    );
    let path = directory.path().join("seatplan.yaml");
    std::fs::write(&path, config).unwrap();
    live_seatplan(&server)
        .args(["apply", "--graph", "-c"])
        .arg(&path)
        .arg("--auto-approve")
        .args(PLAN_ARGS)
        .args(["--processing-checks", "2", "--processing-interval", "0"])
        .assert()
        .success();
    let calls = writes(&server);
    let order: Vec<&str> = calls.iter().map(|(call, _)| call.as_str()).collect();
    assert_eq!(order, [format!("PATCH /groups/{LEGACY}")]);
    assert_eq!(calls[0].1, json!({"displayName": "Legacy (retired)"}));
    let replanned = live_seatplan(&server)
        .args(["plan", "--graph", "-c"])
        .arg(&path)
        .args(PLAN_ARGS)
        .assert()
        .success();
    let stdout = text(&replanned.get_output().stdout);
    assert!(stdout.contains("No changes."), "{stdout}");
}
