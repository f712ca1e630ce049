//! Benchmarks of the load path, the rules, the engine and the whole plan on generated tenants of
//! 10,000 and 100,000 users of both shapes of `tools/tenantgen.rs` (2,000 licensed groups, half
//! dynamic, 20 products; `recorded`: every license state recorded, small static groups;
//! `unrecorded`: no recorded states, large static groups listed in the config): parsing the JSON state, building the index, the rules' user table,
//! compiling and evaluating every dynamic rule, the engine on an unchanged tenant, after a
//! product migration in one group and in reprocess mode, a step that adds 100 users to one
//! group beside a run over every user for the same change, the desired state of the matching
//! config, and `plan::compute` for the matching config and for the config with one rule edited;
//! and the same tenant from Graph's pages (`import_graph`: parsing the pages and mapping them;
//! `import_graph_text`: the pages of users deserialized from their text, as `plan --graph`
//! does), the counterpart of `parse_json`.
//! Run with `cargo bench --bench scale`; the 1,000,000-user case is `benches/compare.sh`, and
//! `plan-phases` times each phase of one plan.

// A benchmark is an edge: rules' `system.now` is the time it runs.
#![allow(clippy::disallowed_methods)]

#[path = "../tools/tenantgen.rs"]
#[allow(dead_code)] // the generator's full surface serves the example and the tests
mod tenantgen;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use divan::Bencher;
use seatplan::catalog::Catalog;
use seatplan::config::valid::{validate, ValidConfig};
use seatplan::diag::Diagnostic;
use seatplan::engine::{self, memory::ServiceMemory, Before, Mode, Outcome};
use seatplan::plan::{compute, Inputs, Overrides};
use seatplan::render::diagnostics::to_json;
use seatplan::source::{SourceId, Sources};
use seatplan::tenant::graph_import::{GraphMapper, GraphPage};
use seatplan::tenant::index::{self, Tenant, UserIdx};
use seatplan::tenant::membership;
use seatplan::tenant::parse::{parse_state, Format};
use seatplan::tenant::TenantState;

// The `seatplan` binary's allocator (src/main.rs), so that the figures are the command's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// A generated tenant: its shape and number of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Case {
    shape: tenantgen::Shape,
    users: usize,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shape = match self.shape {
            tenantgen::Shape::Recorded => "recorded",
            tenantgen::Shape::Unrecorded => "unrecorded",
        };
        write!(f, "{shape} {}", self.users)
    }
}

const CASES: [Case; 4] = [
    Case {
        shape: tenantgen::Shape::Recorded,
        users: 10_000,
    },
    Case {
        shape: tenantgen::Shape::Recorded,
        users: 100_000,
    },
    Case {
        shape: tenantgen::Shape::Unrecorded,
        users: 10_000,
    },
    Case {
        shape: tenantgen::Shape::Unrecorded,
        users: 100_000,
    },
];

/// A generated tenant of one size, with everything the benchmarks start from.
struct Fixture {
    text: String,
    state: TenantState,
    tenant: Tenant,
    memberships: Vec<Vec<UserIdx>>,
    /// What the service holds for the generated tenant.
    memory: ServiceMemory,
    /// The outcome that memory describes.
    outcome: Outcome,
    /// The memberships after a rule edit that adds users 100–199 to the first licensed dynamic
    /// group.
    joined: Vec<Vec<UserIdx>>,
    /// The tenant after one group's E1 is migrated to E3.
    migrated: Tenant,
    /// The matching config, loaded and validated.
    loaded: ValidConfig,
    /// The config with one dynamic rule edited, loaded and validated.
    rule_edited: ValidConfig,
}

/// Loads and validates a generated config the way `seatplan` loads its files.
fn load(config: &seatplan::config::Config) -> ValidConfig {
    let files = tenantgen::config_files(config, 4 << 20).expect("config serialises");
    let parsed = files
        .iter()
        .enumerate()
        .map(|(index, (_, text))| {
            seatplan::config::parse_config_file(SourceId(index as u32), text)
                .unwrap_or_else(|_| panic!("generated config loads"))
        })
        .collect();
    let loaded = seatplan::config::merge(parsed).expect("config files merge");
    validate(loaded, Catalog::builtin())
        .expect("the generated config is valid")
        .0
}

fn fixture(case: Case) -> &'static Fixture {
    static CACHE: OnceLock<Mutex<HashMap<Case, &'static Fixture>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.entry(case).or_insert_with(|| {
        let catalog = Catalog::builtin();
        let params = tenantgen::Params {
            users: case.users,
            shape: case.shape,
            ..tenantgen::Params::default()
        };
        let generated = tenantgen::generate(&params, catalog);
        let state = generated.state;
        let text = serde_json::to_string(&state).expect("state serialises");
        let tenant = index::build(&state, catalog, SourceId(0)).expect("consistent tenant");
        let memberships: Vec<Vec<UserIdx>> = tenant
            .groups
            .iter()
            .map(|group| group.members.clone())
            .collect();
        let (memory, outcome) = ServiceMemory::settle(catalog, &tenant, &memberships);
        let mut joined = memberships.clone();
        if let Some(group) = tenant
            .groups
            .iter()
            .position(|group| group.rule.is_some() && !group.licenses.is_empty())
        {
            let members = &mut joined[group];
            members.extend((100..200.min(tenant.users.len() as u32)).map(UserIdx));
            members.sort_unstable();
            members.dedup();
        }
        let mut changed = state.clone();
        if let Some(group) = changed.groups.iter_mut().find(|group| {
            group.rule.is_some()
                && group
                    .licenses
                    .iter()
                    .any(|license| license.sku == "STANDARDPACK")
        }) {
            group.licenses = vec![seatplan::tenant::AssignedLicense {
                sku: "ENTERPRISEPACK".into(),
                disabled_plans: Vec::new(),
            }];
        }
        let migrated = index::build(&changed, catalog, SourceId(0)).expect("consistent tenant");
        let loaded = load(&generated.config);
        let rule_edited = generated
            .variants
            .iter()
            .find(|(stem, ..)| *stem == "rule-edited")
            .map(|(_, _, config)| load(config))
            .expect("the generator writes a rule-edited variant");
        Box::leak(Box::new(Fixture {
            text,
            state,
            tenant,
            memory,
            outcome,
            joined,
            memberships,
            migrated,
            loaded,
            rule_edited,
        }))
    })
}

/// `parse_state` of the JSON text: the typed, streaming deserialisation of the state file.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn parse_json(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    bencher
        .counter(divan::counter::BytesCount::new(fixture.text.len()))
        .bench(|| parse_state(SourceId(0), &fixture.text, Format::Json).map(|parsed| parsed.0));
}

/// `index::build`: resolving products, plans, members and recorded states.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn build_index(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    bencher.bench(|| index::build(&fixture.state, Catalog::builtin(), SourceId(0)));
}

/// The engine from the generated tenant's memory to `scenario`, with the tenant's memberships.
fn run_engine(bencher: Bencher, fixture: &Fixture, scenario: &Tenant, mode: Mode) {
    bencher.bench(|| {
        engine::run(
            Catalog::builtin(),
            &fixture.memory,
            scenario,
            &fixture.memberships,
            mode,
        )
    });
}

/// The engine on the tenant as it is (every assignment settled).
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn engine_unchanged(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    run_engine(bencher, fixture, &fixture.tenant, Mode::Predict);
}

/// The engine after E1 is replaced by E3 in one dynamic group (its members are processed).
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn engine_migrated(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    run_engine(bencher, fixture, &fixture.migrated, Mode::Predict);
}

/// The engine in reprocess mode: every assignment in error is processed again.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn engine_reprocess(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    run_engine(bencher, fixture, &fixture.tenant, Mode::Reprocess);
}

/// A rule edit that adds 100 users to one group, as the plan's steps process it: only the
/// users the step touches.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn engine_step_100_joined(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    let before = Before {
        outcome: &fixture.outcome,
        scenario: &fixture.tenant,
        memberships: &fixture.memberships,
    };
    bencher.bench(|| {
        engine::step(
            Catalog::builtin(),
            before,
            &fixture.tenant,
            &fixture.joined,
            &[],
        )
    });
}

/// The same rule edit with every user of the tenant processed (settled units kept), for
/// comparison with [`engine_step_100_joined`].
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn engine_run_100_joined(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    bencher.bench(|| {
        engine::run(
            Catalog::builtin(),
            &fixture.memory,
            &fixture.tenant,
            &fixture.joined,
            Mode::Predict,
        )
    });
}

/// The planner's desired state for the matching config (config already loaded and validated).
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn desired_state(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    bencher.bench(|| {
        seatplan::plan::desired::build(
            &fixture.state,
            &fixture.tenant,
            &fixture.loaded,
            Catalog::builtin(),
        )
    });
}

/// The rules' user table, with the columns the tenant's rules read (as planning builds it).
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn user_table(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    let rules = || {
        fixture
            .state
            .groups
            .iter()
            .filter_map(|group| group.rule.as_deref())
    };
    bencher.bench(|| membership::user_table_for(&fixture.state.users, rules()));
}

/// Parsing, compiling and evaluating every dynamic group's rule against the user table.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn rules(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    let rules = fixture
        .state
        .groups
        .iter()
        .filter_map(|group| group.rule.as_deref());
    let table = membership::user_table_for(&fixture.state.users, rules);
    let now = jiff::Timestamp::now();
    bencher.bench(|| membership::memberships(&fixture.tenant, &table, now));
}

/// `plan::compute` from the parsed state: index, rules, engine before and after, desired state,
/// diff, impact and checks (no file reading or rendering).
fn whole_plan(bencher: Bencher, fixture: &Fixture, config: &ValidConfig) {
    let sources = Sources::new();
    let record = |diagnostic: &Diagnostic| to_json(diagnostic, &sources);
    let inputs = Inputs {
        config,
        state: &fixture.state,
        state_source: SourceId(0),
        state_fingerprint: String::new(),
        config_fingerprint: String::new(),
        now: jiff::Timestamp::now(),
        overrides: Overrides {
            allow_license_loss: true,
            force: true,
            reprocess: false,
        },
        warnings: &[],
        record: &record,
    };
    bencher.bench(|| compute(&inputs).map(|planned| planned.document.changes.len()));
}

/// The whole plan of the matching config (no changes).
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn plan_unchanged(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    whole_plan(bencher, fixture, &fixture.loaded);
}

/// The whole plan of the config with one dynamic rule edited.
#[divan::bench(args = CASES, sample_count = 10, sample_size = 1)]
fn plan_rule_edited(bencher: Bencher, case: Case) {
    let fixture = fixture(case);
    whole_plan(bencher, fixture, &fixture.rule_edited);
}

/// The Graph responses of a case's tenant as page texts (`tenantgen::graph_export`, 999 objects
/// a page), as the Graph client and `import graph` receive them: (collection, its pages), the
/// collections in the order they are mapped, members by group id.
fn graph_pages(case: Case) -> &'static Vec<(String, Vec<String>)> {
    type Pages = Vec<(String, Vec<String>)>;
    static CACHE: OnceLock<Mutex<HashMap<Case, &'static Pages>>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    cache.entry(case).or_insert_with(|| {
        let export = tenantgen::graph_export(&fixture(case).state, Catalog::builtin(), 999);
        let texts = |pages: &[GraphPage]| -> Vec<String> {
            pages
                .iter()
                .map(|page| serde_json::to_string(&page.body).expect("page serialises"))
                .collect()
        };
        let mut collections: Pages = vec![
            ("organization".into(), texts(&export.organization)),
            ("subscribedSkus".into(), texts(&export.subscribed_skus)),
            ("groups".into(), texts(&export.groups)),
            ("users".into(), texts(&export.users)),
        ];
        for (id, pages) in &export.members {
            collections.push((id.clone(), texts(pages)));
        }
        Box::leak(Box::new(collections))
    })
}

/// Graph's pages to the tenant state, from their texts, the way `seatplan import graph` reads an
/// export directory: each page parsed, handed to `graph_import::GraphMapper` and dropped — the
/// counterpart of `parse_json` for a tenant read from Graph. The pages are 999 objects each, with
/// every property of `user_select()` (`assignedPlans` included, which the state files of
/// `parse_json` do not hold).
#[divan::bench(args = CASES, sample_count = 3, sample_size = 1)]
fn import_graph(bencher: Bencher, case: Case) {
    graph_to_tenant(bencher, case, false);
}

/// [`import_graph`] with the pages of users deserialized from their text straight into the
/// typed users (`GraphMapper::users_text`), as `plan --graph` reads them.
#[divan::bench(args = CASES, sample_count = 3, sample_size = 1)]
fn import_graph_text(bencher: Bencher, case: Case) {
    graph_to_tenant(bencher, case, true);
}

/// Maps a case's Graph pages to its tenant; `users_as_text`: through
/// `GraphMapper::users_text`.
fn graph_to_tenant(bencher: Bencher, case: Case, users_as_text: bool) {
    let collections = graph_pages(case);
    let bytes: usize = collections
        .iter()
        .flat_map(|(_, pages)| pages)
        .map(String::len)
        .sum();
    let parse = |collection: &str, text: &str| {
        GraphPage::new(collection, serde_json::from_str(text).expect("page parses"))
    };
    bencher
        .counter(divan::counter::BytesCount::new(bytes))
        .bench(|| {
            let mut mapper = GraphMapper::new();
            for (collection, pages) in collections {
                let whole = || -> Vec<GraphPage> {
                    pages.iter().map(|text| parse(collection, text)).collect()
                };
                let step: fn(&mut GraphMapper, &GraphPage, bool) = match collection.as_str() {
                    "organization" => {
                        mapper.organization(&whole());
                        continue;
                    }
                    "subscribedSkus" => GraphMapper::subscribed_skus,
                    "groups" => GraphMapper::groups,
                    "users" => GraphMapper::users,
                    id => {
                        mapper.members(id, &whole());
                        continue;
                    }
                };
                for (index, text) in pages.iter().enumerate() {
                    if users_as_text && collection == "users" {
                        let mapped =
                            mapper.users_text(collection, None, text, index + 1 == pages.len());
                        assert!(mapped.is_ok(), "the generated pages are JSON");
                        continue;
                    }
                    step(
                        &mut mapper,
                        &parse(collection, text),
                        index + 1 == pages.len(),
                    );
                }
            }
            mapper.finish().map(|state| state.users.len())
        });
}
