//! The bodies of the fuzz targets as plain functions of the input bytes, shared by the
//! libFuzzer targets (`fuzz_targets/*.rs`, nightly) and the stable mutation driver
//! (`tests/fuzz_like.rs`, included there by path). Each one must never panic, whatever the
//! bytes; the properties they assert are what a crash means.

// Each target binary calls one of the bodies; the others are unused there.
#![allow(dead_code)]

use seatplan::catalog::Catalog;
use seatplan::config::valid::validate;
use seatplan::config::{merge, parse_config_file};
use seatplan::diag::Diagnostics;
use seatplan::plan::document::parse_plan;
use seatplan::render::diagnostics::{render_all, Style};
use seatplan::render::markdown::markdown;
use seatplan::render::plan::{text as plan_text, TextOptions};
use seatplan::rules::{parse_with, print, RuleLimits};
use seatplan::source::Sources;
use seatplan::tenant::graph_import::{GraphMapper, GraphPage};
use seatplan::tenant::index::build;
use seatplan::tenant::parse::{parse_state, Format};

const STYLE: Style = Style {
    color: false,
    width: 100,
};

/// Decodes as the file readers do (UTF-8, no NUL bytes); `None` for what they would refuse.
fn text(data: &[u8]) -> Option<String> {
    seatplan::io::decode("input", data.to_vec()).ok()
}

/// Renders diagnostics as the command line would (miette has panicked on odd spans before).
fn render(problems: &Diagnostics, sources: &Sources) {
    let _ = render_all(problems.iter(), sources, STYLE);
}

/// Membership rules: no input panics, and every accepted rule prints to a canonical form that
/// parses back to the same tree.
pub fn rule_parser(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = RuleLimits {
        max_chars: None,
        ..RuleLimits::default()
    };
    if let Ok(rule) = parse_with(text, limits) {
        let canonical = print(&rule);
        let reparsed = parse_with(&canonical, limits);
        assert_eq!(
            reparsed.map(|rule| rule.strip_spans()),
            Ok(rule.strip_spans()),
            "canonical form {canonical:?} of {text:?}"
        );
    }
}

/// The config loader: text → parsed file → merged config → rule and catalog checks, and every
/// diagnostic on the way rendered.
pub fn config_loader(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let mut sources = Sources::new();
    let source = sources.add("seatplan.yaml", text.as_str());
    let file = match parse_config_file(source, &text) {
        Ok(file) => file,
        Err((problems, _)) => return render(&problems, &sources),
    };
    let loaded = match merge(vec![file]) {
        Ok(loaded) => loaded,
        Err(problems) => return render(&problems, &sources),
    };
    let problems = match validate(loaded, Catalog::builtin()) {
        Ok((_, warnings)) => warnings,
        Err(problems) => problems,
    };
    render(&problems, &sources);
}

/// The tenant loader: text → state (as YAML and as JSON) → indexed tenant with the built-in
/// catalog; every accepted state saves and loads back unchanged in both formats.
pub fn tenant_loader(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    for format in [Format::Yaml, Format::Json] {
        let mut sources = Sources::new();
        let source = sources.add("tenant", text.as_str());
        let state = match parse_state(source, &text, format) {
            Ok((state, _)) => state,
            Err((problems, _)) => {
                render(&problems, &sources);
                continue;
            }
        };
        // Accepted means parsed and indexed (the index checks what the JSON path's typed parse
        // does not: countries, names, seat counts).
        if let Err(problems) = build(&state, Catalog::builtin(), source) {
            render(&problems, &sources);
            continue;
        }
        for saved_as in [Format::Yaml, Format::Json] {
            let saved = seatplan::backend::render_state(&state, saved_as)
                .unwrap_or_else(|error| panic!("an accepted state does not save: {error:?}"));
            let again = parse_state(source, &saved, saved_as)
                .map(|(state, _)| state)
                .unwrap_or_else(|(problems, _)| {
                    panic!("a saved state does not load: {problems:?}\n{saved}")
                });
            assert_eq!(again, state, "state changed by saving as {saved_as:?}");
        }
    }
}

/// Plan files: no input panics; every accepted plan renders as text and Markdown, and its JSON
/// as `show --format json` writes it, reads back to the same document.
pub fn plan_file(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let sources = Sources::new();
    let document = match parse_plan(&text, "plan.json") {
        Ok(document) => document,
        Err(problem) => {
            let _ = render_all([&problem], &sources, STYLE);
            return;
        }
    };
    let _ = plan_text(&document, &TextOptions::plan(false, true));
    let _ = markdown(&document);
    let saved = serde_json::to_string_pretty(&document).expect("a plan serialises");
    let again = parse_plan(&saved, "plan.json")
        .unwrap_or_else(|problem| panic!("a saved plan does not load: {problem:?}\n{saved}"));
    assert_eq!(again, document, "plan changed by saving it");
}

/// The groups and subscriptions a fuzzed page of users refers to: the Graph example export's.
const GRAPH_CONTEXT: [(&str, &str); 3] = [
    (
        "organization.json",
        include_str!("../../../tests/fixtures/graph/export/organization.json"),
    ),
    (
        "subscribedSkus.json",
        include_str!("../../../tests/fixtures/graph/export/subscribedSkus.json"),
    ),
    (
        "groups.json",
        include_str!("../../../tests/fixtures/graph/export/groups.json"),
    ),
];

/// A mapper that has mapped [`GRAPH_CONTEXT`], ready for pages of users.
fn graph_mapper() -> GraphMapper {
    let page = |(origin, text): (&str, &str)| {
        GraphPage::new(
            origin,
            serde_json::from_str(text).expect("a fixture is JSON"),
        )
    };
    let [organization, skus, groups] = GRAPH_CONTEXT.map(page);
    let mut mapper = GraphMapper::new();
    mapper.organization(&[organization]);
    mapper.subscribed_skus(&skus, true);
    mapper.groups(&groups, true);
    mapper
}

/// Every problem of a mapping with where it points, in a stable order.
fn located(problems: &Diagnostics) -> Vec<(String, Vec<String>)> {
    let mut located: Vec<(String, Vec<String>)> = problems
        .iter()
        .map(|problem| {
            let labels = problem
                .labels
                .iter()
                .map(|label| format!("{:?}", label.location))
                .collect();
            (problem.message.clone(), labels)
        })
        .collect();
    located.sort();
    located
}

/// A page of `GET /users` (`seatplan import graph`, `plan --graph`): no input panics, and for
/// every text that is JSON the mapping straight from the text (`GraphMapper::users_text`)
/// gives exactly the tenant, or the problems pointing at the same nodes, that the mapping of
/// the parsed page gives.
pub fn graph_users(data: &[u8]) {
    let Some(text) = text(data) else {
        return;
    };
    let mut sources = Sources::new();
    let source = sources.add("users.json", text.as_str());
    let mut from_text = graph_mapper();
    let parsed = serde_json::from_str::<serde_json::Value>(&text);
    let mapped = from_text.users_text("users.json", Some(source), &text, true);
    let Ok(body) = parsed else {
        // Refused, or accepted because the fault is inside a property the mapping skips
        // (`users_text` documents which faults those are); never a panic.
        return;
    };
    assert!(mapped.is_ok(), "JSON was refused: {mapped:?}");
    let mut from_page = graph_mapper();
    from_page.users(
        &GraphPage {
            origin: "users.json".into(),
            source: Some(source),
            body,
        },
        true,
    );
    match (from_text.finish(), from_page.finish()) {
        (Ok(text_state), Ok(page_state)) => assert_eq!(text_state, page_state),
        (Err(text_problems), Err(page_problems)) => {
            assert_eq!(located(&text_problems), located(&page_problems));
            render(&text_problems, &sources);
        }
        (text_result, page_result) => {
            panic!("the two mappings disagree: {text_result:?}\nagainst {page_result:?}")
        }
    }
}
