//! The benchmark tenant generator (`tools/tenantgen.rs`): deterministic, its recorded license
//! states are what the engine predicts, its config directory loads and describes the tenant as it
//! is, each variant changes one group, and its Graph responses import to the same tenant.

#[path = "../tools/tenantgen.rs"]
#[allow(dead_code)] // the generator's full surface serves the example and the benchmarks
mod tenantgen;

use seatplan::catalog::Catalog;
use seatplan::config::valid::{validate, ValidConfig};
use seatplan::config::{merge, parse_config_file, LoadedConfig};
use seatplan::diag::Diagnostic;
use seatplan::engine::memory::ServiceMemory;
use seatplan::plan::{compute, desired, Inputs};
use seatplan::render::diagnostics::to_json;
use seatplan::source::{SourceId, Sources};
use seatplan::tenant::graph_import::map_export;
use seatplan::tenant::index::{self, Source, UserIdx};
use seatplan::tenant::model::{AttributeValue, TenantState};
use tenantgen::{generate, Generated, Params, Shape};

fn small() -> Params {
    Params {
        users: 3_000,
        groups: 120,
        ..Params::default()
    }
}

fn load(config: &seatplan::config::Config) -> LoadedConfig {
    let files = tenantgen::config_files(config, 16 * 1024).expect("config serialises");
    assert!(files.len() > 2, "the config is split into several files");
    let parsed = files
        .iter()
        .enumerate()
        .map(
            |(index, (name, text))| match parse_config_file(SourceId(index as u32), text) {
                Ok(file) => file,
                Err((problems, _)) => panic!("{name} does not load: {problems:?}"),
            },
        )
        .collect();
    merge(parsed).expect("config files merge")
}

#[test]
fn the_same_parameters_give_the_same_tenant() {
    let catalog = Catalog::builtin();
    let first = serde_json::to_string(&generate(&small(), catalog).state).unwrap();
    let second = serde_json::to_string(&generate(&small(), catalog).state).unwrap();
    assert_eq!(first, second);
    let other = Params { seed: 9, ..small() };
    assert_ne!(
        first,
        serde_json::to_string(&generate(&other, catalog).state).unwrap()
    );
}

#[test]
fn recorded_license_states_are_what_the_engine_predicts() {
    let catalog = Catalog::builtin();
    let Generated { state, .. } = generate(&small(), catalog);
    let tenant = index::build(&state, catalog, SourceId(0)).expect("consistent tenant");
    let memberships: Vec<Vec<UserIdx>> = tenant
        .groups
        .iter()
        .map(|group| group.members.clone())
        .collect();
    let (_, outcome) = ServiceMemory::settle(catalog, &tenant, &memberships);
    let mut assignments = 0;
    let mut errors = 0;
    for (user, predicted) in state.users.iter().zip(&outcome.users) {
        let predicted: Vec<_> = predicted
            .assignments
            .iter()
            .map(|assignment| {
                let via = match assignment.source {
                    Source::Direct => None,
                    Source::Group(group) => Some(tenant.group_at(group).name.to_string()),
                };
                (
                    catalog.product(assignment.product).sku_part_number.clone(),
                    via,
                    assignment.state,
                    assignment.error,
                )
            })
            .collect();
        let recorded: Vec<_> = user
            .license_states
            .iter()
            .map(|entry| {
                (
                    entry.sku.clone(),
                    entry.via.clone(),
                    entry.state,
                    entry.error,
                )
            })
            .collect();
        assert_eq!(predicted, recorded, "user {}", user.upn);
        assignments += recorded.len();
        errors += recorded.iter().filter(|entry| entry.3.is_some()).count();
    }
    assert!(assignments > state.users.len(), "{assignments} assignments");
    assert!(errors > 0, "a realistic tenant has a few errors");
    assert!(
        errors * 10 < assignments,
        "{errors} errors of {assignments}"
    );
}

#[test]
fn the_config_describes_the_tenant_as_it_is() {
    let catalog = Catalog::builtin();
    let generated = generate(&small(), catalog);
    let loaded = load(&generated.config);
    let indexed = index::build(&generated.state, catalog, SourceId(0)).expect("consistent tenant");
    let wanted = desired::build(&generated.state, &indexed, &valid(&loaded), catalog)
        .expect("config applies");
    assert!(wanted.created.is_empty() && wanted.deleted.is_empty());
    assert_eq!(wanted.managed_groups.len(), generated.state.groups.len());
    assert_eq!(wanted.to_state(&generated.state), generated.state);
}

#[test]
fn each_variant_changes_one_group() {
    let catalog = Catalog::builtin();
    let generated = generate(&small(), catalog);
    let stems: Vec<&str> = generated.variants.iter().map(|(stem, ..)| *stem).collect();
    assert_eq!(
        stems,
        [
            "rule-edited",
            "rule-edited-100",
            "product-migrated",
            "group-deleted"
        ]
    );
    for (stem, _, config) in &generated.variants {
        let loaded = load(config);
        let indexed =
            index::build(&generated.state, catalog, SourceId(0)).expect("consistent tenant");
        let wanted = desired::build(&generated.state, &indexed, &valid(&loaded), catalog)
            .expect("config applies");
        let state = wanted.to_state(&generated.state);
        let changed: Vec<&str> = state
            .groups
            .iter()
            .zip(&generated.state.groups)
            .filter(|(after, before)| after != before)
            .map(|(after, _)| after.display_name.as_str())
            .collect();
        assert_eq!(changed.len(), 1, "{stem}: {changed:?}");
        assert_eq!(wanted.deleted.len(), usize::from(*stem == "group-deleted"));
    }
}

#[test]
fn base_group_members_are_the_users_of_their_department_and_countries() {
    let catalog = Catalog::builtin();
    let state = generate(&small(), catalog).state;
    let shape =
        regex::Regex::new(r#"^\(user\.department -eq "([^"]+)"\) -and \(user\.country -in \[("[^"]+"(?:,"[^"]+")*)\]\)$"#)
            .unwrap();
    let text = |user: &seatplan::tenant::model::UserState, key: &str| match user.attributes.get(key)
    {
        Some(AttributeValue::String(value)) => value.to_string(),
        _ => String::new(),
    };
    let mut checked = 0;
    for group in &state.groups {
        let Some(captures) = group.rule.as_deref().and_then(|rule| shape.captures(rule)) else {
            continue;
        };
        let expected: Vec<&str> = state
            .users
            .iter()
            .filter(|user| {
                text(user, "department") == captures[1]
                    && captures[2]
                        .split(',')
                        .any(|quoted| quoted.trim_matches('"') == text(user, "country"))
            })
            .map(|user| user.upn.as_str())
            .collect();
        assert_eq!(group.members, expected, "{}", group.display_name);
        checked += 1;
    }
    assert!(checked > 5, "{checked} groups checked");
}

#[test]
fn recorded_dynamic_members_are_what_the_rules_select() {
    // The generator computes dynamic membership on its own; the rule evaluator must agree with it
    // on every rule shape it writes (equality, -in, -startsWith, -contains, -match, -any over
    // proxyAddresses, -not, -and/-or).
    let catalog = Catalog::builtin();
    let Generated { state, .. } = generate(&small(), catalog);
    let tenant = index::build(&state, catalog, SourceId(0)).expect("consistent tenant");
    let table = seatplan::tenant::membership::user_table(&state.users);
    let memberships =
        seatplan::tenant::membership::memberships(&tenant, &table, jiff::Timestamp::UNIX_EPOCH);
    assert!(
        memberships.unevaluated.is_empty(),
        "every generated rule compiles"
    );
    let dynamic = tenant
        .groups
        .iter()
        .filter(|group| group.rule.is_some())
        .count();
    assert!(dynamic > 10, "the tenant has dynamic groups");
    let pending: Vec<&str> = memberships
        .pending
        .iter()
        .map(|pending| &*tenant.group_at(pending.group).name)
        .collect();
    assert!(
        pending.is_empty(),
        "recorded members differ from the rule's result in {pending:?}"
    );
}

#[test]
fn a_table_of_only_the_columns_rules_read_selects_the_same_members() {
    use seatplan::tenant::membership::{memberships, user_table, user_table_for};
    let catalog = Catalog::builtin();
    let Generated { state, .. } = generate(&small(), catalog);
    let tenant = index::build(&state, catalog, SourceId(0)).expect("consistent tenant");
    let rules: Vec<&str> = state
        .groups
        .iter()
        .filter_map(|group| group.rule.as_deref())
        .collect();
    let now = jiff::Timestamp::UNIX_EPOCH;
    let full = memberships(&tenant, &user_table(&state.users), now);
    let only = memberships(
        &tenant,
        &user_table_for(&state.users, rules.iter().copied()),
        now,
    );
    assert_eq!(full.members, only.members);
    // A rule on a property the tenant's rules do not read sees no value without its column: the
    // table must be built for every rule it will evaluate.
    let upn_rule = seatplan::rules::parse(r#"user.userPrincipalName -startsWith "a""#).unwrap();
    let compiled = seatplan::rules::CompiledRule::compile(&upn_rule).unwrap();
    let context = seatplan::rules::EvalContext::new(now, &seatplan::rules::NoGroups);
    let selected_by =
        |table: &seatplan::rules::UserTable| compiled.evaluate(table, &context).count_ones(..);
    assert!(selected_by(&user_table(&state.users)) > 0);
    assert_eq!(
        selected_by(&user_table_for(&state.users, rules.iter().copied())),
        0
    );
    assert_eq!(
        selected_by(&user_table_for(
            &state.users,
            rules
                .iter()
                .copied()
                .chain([r#"user.userPrincipalName -eq "x""#])
        )),
        selected_by(&user_table(&state.users))
    );
}

fn unrecorded() -> Params {
    Params {
        users: 2_000,
        groups: 80,
        shape: Shape::Unrecorded,
        ..Params::default()
    }
}

fn valid(loaded: &LoadedConfig) -> ValidConfig {
    match validate(loaded.clone(), Catalog::builtin()) {
        Ok((valid, _)) => valid,
        Err(problems) => panic!("the generated config is valid: {problems:?}"),
    }
}

fn plan(state: &seatplan::tenant::TenantState, loaded: &LoadedConfig) -> seatplan::plan::Planned {
    let valid = valid(loaded);
    let sources = Sources::new();
    let record = |diagnostic: &Diagnostic| to_json(diagnostic, &sources);
    let inputs = Inputs::allowing_everything(&valid, state, &record);
    match compute(&inputs) {
        Ok(planned) => planned,
        Err(problems) => panic!("the generated config plans: {problems:?}"),
    }
}

#[test]
fn the_unrecorded_shape_records_no_states_and_lists_large_static_groups() {
    let Generated { state, config, .. } = generate(&unrecorded(), Catalog::builtin());
    assert!(state
        .users
        .iter()
        .all(|user| user.license_states.is_empty()));
    assert!(state
        .users
        .iter()
        .all(|user| user.upn.starts_with(|c: char| c.is_ascii_uppercase())));
    let groups = config.groups.as_ref().expect("the config lists groups");
    let listed: usize = groups
        .values()
        .filter_map(|spec| spec.members.as_ref())
        .map(Vec::len)
        .sum();
    let statics = groups.values().filter(|spec| spec.rule.is_none()).count();
    assert_eq!(statics, groups.len() / 2);
    assert!(
        listed * 2 > state.users.len(),
        "{listed} members listed for {} users",
        state.users.len()
    );
    for rule in groups.values().filter_map(|spec| spec.rule.as_deref()) {
        for operator in ["-or", "-not", "-contains", "-match", "-any"] {
            assert!(!rule.contains(operator), "{rule}");
        }
        assert!(rule.contains(" -and "), "{rule}");
    }
}

#[test]
fn a_plan_of_the_unrecorded_shapes_config_shows_no_change() {
    let generated = generate(&unrecorded(), Catalog::builtin());
    let planned = plan(&generated.state, &load(&generated.config));
    assert_eq!(planned.document.changes, []);
    assert!(planned.document.impact.users.is_empty());
    assert!(
        planned
            .after
            .users
            .iter()
            .any(|user| !user.assignments.is_empty()),
        "the unrecorded assignments are processed"
    );
    // The rule-edited variant is one group's change.
    let (_, _, edited) = generated
        .variants
        .iter()
        .find(|(stem, ..)| *stem == "rule-edited")
        .expect("a rule-edited variant");
    let planned = plan(&generated.state, &load(edited));
    assert_eq!(planned.document.changes.len(), 1);
}

#[test]
fn the_graph_responses_of_a_generated_tenant_import_to_the_same_tenant() {
    let catalog = Catalog::builtin();
    let Generated { state, .. } = generate(&small(), catalog);
    let export = tenantgen::graph_export(&state, catalog, 999);
    assert_eq!(export.users.len(), 4, "3,000 users in pages of 999");
    assert!(export.users[0].body.get("@odata.nextLink").is_some());
    let imported = map_export(&export).expect("the responses import");
    assert_eq!(imported.tenant, state.tenant);
    let skus = |state: &TenantState| -> Vec<(String, u64)> {
        let mut skus: Vec<_> = state
            .subscriptions
            .iter()
            .map(|s| (s.sku.clone(), s.enabled))
            .collect();
        skus.sort();
        skus
    };
    assert_eq!(skus(&imported), skus(&state));
    let by_id = |state: &TenantState| -> Vec<String> {
        let mut users: Vec<String> = state
            .users
            .iter()
            .map(|user| {
                let mut states: Vec<String> = user
                    .license_states
                    .iter()
                    .filter(|recorded| recorded.via.is_some())
                    .map(|recorded| {
                        format!("{}:{:?}:{:?}", recorded.sku, recorded.state, recorded.error)
                    })
                    .collect();
                states.sort();
                format!(
                    "{} {} {:?} {:?} {} {states:?}",
                    user.id,
                    user.upn,
                    user.usage_location,
                    user.licenses,
                    user.attributes.len()
                )
            })
            .collect();
        users.sort();
        users
    };
    assert_eq!(by_id(&imported), by_id(&state));
    let groups = |state: &TenantState| -> Vec<String> {
        let mut groups: Vec<String> = state
            .groups
            .iter()
            .map(|group| {
                let mut members = group.members.clone();
                members.sort();
                format!(
                    "{} {} {:?} {:?} {members:?}",
                    group.id, group.display_name, group.rule, group.licenses
                )
            })
            .collect();
        groups.sort();
        groups
    };
    assert_eq!(groups(&imported), groups(&state));
    assert!(
        imported
            .users
            .iter()
            .any(|user| !user.assigned_plans.is_empty()),
        "users hold the service plans of their products"
    );
}
