//! Tests of the catalog: lookups and every query on real products (E1, E3, Microsoft 365 E5,
//! EMS, Workplace Analytics, Audio Conferencing), the built-in relations from the seeds, the
//! validation of relation data and the config's catalog additions.

use indexmap::IndexMap;

use super::spec::{CatalogAdditions, PlanSpec, ProductSpec};
use super::*;

fn catalog() -> &'static Catalog {
    Catalog::builtin()
}

fn product(sku: &str) -> ProductId {
    catalog().resolve_product(sku).unwrap()
}

fn plan(name: &str) -> PlanId {
    catalog().resolve_plan(name).unwrap()
}

fn plans(names: &[&str]) -> PlanSet {
    names.iter().map(|name| plan(name)).collect()
}

fn names(catalog: &Catalog, plans: &[PlanId]) -> Vec<String> {
    plans
        .iter()
        .map(|&plan| catalog.plan(plan).name.clone())
        .collect()
}

#[test]
fn builtin_relations_are_valid() {
    let loaded = Catalog::load_builtin(SourceId(0));
    assert!(loaded.is_ok(), "{:?}", loaded.err());
    assert!(!catalog().relations().is_empty());
}

#[test]
fn product_count_is_the_number_of_distinct_product_guids() {
    let records = csv::parse_records(include_str!("../../data/product-service-plans.csv")).unwrap();
    let mut guids: Vec<String> = records[1..]
        .iter()
        .map(|record| csv::normalise_guid(&record[2]))
        .collect();
    guids.sort();
    guids.dedup();
    assert_eq!(guids.len(), 569);
    assert_eq!(catalog().products().len(), guids.len());
    assert_eq!(catalog().plans().len(), 723);
}

#[test]
fn products_resolve_by_sku_guid_and_display_name() {
    let e3 = product("ENTERPRISEPACK");
    assert_eq!(catalog().product(e3).name, "Office 365 E3");
    assert_eq!(
        catalog().product(e3).id,
        "6fd2c87f-b296-42f0-b197-1e91e994b900"
    );
    assert_eq!(product("6FD2C87F-B296-42F0-B197-1E91E994B900"), e3);
    assert_eq!(product("Office 365 E3"), e3);
    assert_eq!(product("enterprisepack"), e3);
    assert_eq!(product(" ENTERPRISEPACK "), e3);
    assert_eq!(
        catalog().product(product("STANDARDPACK")).name,
        "Office 365 E1"
    );
    assert_eq!(
        catalog().product(product("SPE_E5")).name,
        "Microsoft 365 E5"
    );
}

#[test]
fn unknown_products_get_suggestions() {
    assert_eq!(
        catalog().resolve_product("ENTERPRIZEPACK"),
        Err(vec!["ENTERPRISEPACK".to_string()])
    );
    assert_eq!(
        catalog().resolve_product("NO_SUCH_THING_AT_ALL"),
        Err(vec![])
    );
}

#[test]
fn a_reused_sku_part_number_is_ambiguous() {
    match catalog().lookup_product("MCOPSTN5") {
        Lookup::Ambiguous(products) => assert_eq!(products.len(), 2),
        other => panic!("{other:?}"),
    }
    let by_guid = product("54a152dc-90de-4996-93d2-bc47e670fc06");
    assert_eq!(catalog().product(by_guid).sku_part_number, "MCOPSTN5");
    assert_eq!(catalog().resolve_product("MCOPSTN5").unwrap_err().len(), 2);
}

#[test]
fn plans_resolve_by_name_alias_and_guid() {
    let exchange = plan("EXCHANGE_S_ENTERPRISE");
    assert_eq!(
        catalog().plan(exchange).friendly_name,
        "Exchange Online (Plan 2)"
    );
    assert_eq!(plan("efb87545-963c-4e0d-99df-69c6916d9eb0"), exchange);
    assert_eq!(plan("exchange_s_enterprise"), exchange);
    assert_eq!(plan("DESKLESS"), plan("Deskless"));
    assert_eq!(
        catalog().resolve_plan("EXCHANGE_S_ENTERPRIZE"),
        Err(vec!["EXCHANGE_S_ENTERPRISE".to_string()])
    );
}

#[test]
fn a_plan_name_shared_by_two_guids_resolves_inside_its_product() {
    assert_eq!(
        catalog()
            .resolve_plan("PROJECT_ESSENTIALS")
            .unwrap_err()
            .len(),
        2
    );
    let sales_pro = product("D365_SALES_PRO");
    let essentials = catalog()
        .plan_in_product(sales_pro, "PROJECT_ESSENTIALS")
        .unwrap();
    assert_eq!(
        catalog().plan(essentials).id,
        "f944d685-f762-4371-806d-a1f48e5bea13"
    );
    let team_members = product("DYN365_TEAM_MEMBERS");
    let essentials = catalog()
        .plan_in_product(team_members, "PROJECT_ESSENTIALS")
        .unwrap();
    assert_eq!(
        catalog().plan(essentials).id,
        "1259157c-8581-4875-bca7-2ffb18c51bda"
    );
}

#[test]
fn plans_of_a_product_minus_disabled_or_exactly_enabled() {
    let e3 = product("ENTERPRISEPACK");
    let all = catalog().plans_of(e3);
    assert!(all.contains(plan("EXCHANGE_S_ENTERPRISE")));
    assert!(all.contains(plan("SHAREPOINTENTERPRISE")));
    assert!(!all.contains(plan("EXCHANGE_S_STANDARD")));
    let disabled = plans(&["YAMMER_ENTERPRISE", "SWAY"]);
    let enabled = catalog().enabled_plans(e3, PlanSelection::AllExcept(&disabled));
    assert_eq!(enabled.len(), all.len() - 2);
    assert!(!enabled.contains(plan("SWAY")));
    let only = plans(&["EXCHANGE_S_ENTERPRISE", "INTUNE_A"]);
    assert_eq!(
        catalog().enabled_plans(e3, PlanSelection::Only(&only)),
        plans(&["EXCHANGE_S_ENTERPRISE"])
    );
    let ems = product("EMS");
    let intune = plans(&["INTUNE_A"]);
    assert_eq!(
        catalog().enabled_plans(ems, PlanSelection::Only(&intune)),
        intune
    );
    assert_eq!(
        catalog().enabled_plans(ems, PlanSelection::All),
        catalog().plans_of(ems)
    );
}

#[test]
fn e1_and_e3_conflict_on_exchange_and_sharepoint() {
    let e1 = catalog().plans_of(product("STANDARDPACK"));
    let e3 = catalog().plans_of(product("ENTERPRISEPACK"));
    let pairs = catalog().conflicts(&e3, &e1);
    let mut named: Vec<(String, String)> = pairs
        .iter()
        .map(|&(a, b)| {
            (
                catalog().plan(a).name.clone(),
                catalog().plan(b).name.clone(),
            )
        })
        .collect();
    named.sort();
    assert_eq!(
        named,
        vec![
            (
                "EXCHANGE_S_ENTERPRISE".to_string(),
                "EXCHANGE_S_STANDARD".to_string()
            ),
            (
                "SHAREPOINTENTERPRISE".to_string(),
                "SHAREPOINTSTANDARD".to_string()
            ),
        ]
    );
    assert_eq!(catalog().conflicts(&e1, &e3).len(), 2);
    assert!(catalog().conflicts(&e3, &e3).is_empty());
    let e3_without = e3.difference(&plans(&["EXCHANGE_S_ENTERPRISE", "SHAREPOINTENTERPRISE"]));
    assert!(catalog().conflicts(&e3_without, &e1).is_empty());
    let e5 = catalog().plans_of(product("SPE_E5"));
    assert_eq!(catalog().conflicts(&e5, &e1).len(), 2);
}

#[test]
fn no_built_in_product_contains_two_conflicting_plans() {
    for (index, product) in catalog().products().iter().enumerate() {
        let own = catalog().plans_of(ProductId(index as u16));
        assert!(
            catalog().conflicts(&own, &own).is_empty(),
            "{} contains mutually exclusive plans",
            product.sku_part_number
        );
    }
}

#[test]
fn workplace_analytics_needs_exchange_plan_1_or_2() {
    let analytics = catalog().plans_of(product("WORKPLACE_ANALYTICS"));
    let unmet = catalog().unmet_prerequisites(&analytics);
    assert_eq!(unmet.len(), 1);
    assert_eq!(catalog().plan(unmet[0].0).name, "WORKPLACE_ANALYTICS");
    assert_eq!(
        names(catalog(), &unmet[0].1),
        vec!["EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"]
    );
    // Seed 000: E3 with only Exchange Online (Plan 2) enabled, plus Workplace Analytics.
    let exchange_only = plans(&["EXCHANGE_S_ENTERPRISE"]);
    let e3_exchange = catalog().enabled_plans(
        product("ENTERPRISEPACK"),
        PlanSelection::Only(&exchange_only),
    );
    assert!(catalog()
        .unmet_prerequisites(&analytics.union(&e3_exchange))
        .is_empty());
    let e1 = catalog().plans_of(product("STANDARDPACK"));
    assert!(catalog()
        .unmet_prerequisites(&analytics.union(&e1))
        .is_empty());
}

#[test]
fn audio_conferencing_depends_on_skype_for_business() {
    let audio = catalog().plans_of(product("MCOMEETADV"));
    let unmet = catalog().unmet_prerequisites(&audio);
    assert_eq!(unmet.len(), 1);
    assert_eq!(names(catalog(), &unmet[0].1), vec!["MCOSTANDARD"]);
    let e3 = catalog().plans_of(product("ENTERPRISEPACK"));
    assert!(catalog().unmet_prerequisites(&audio.union(&e3)).is_empty());
    // Microsoft 365 E5 carries Audio Conferencing and its prerequisite itself.
    let e5 = catalog().plans_of(product("SPE_E5"));
    assert!(e5.contains(plan("MCOMEETADV")));
    assert!(catalog().unmet_prerequisites(&e5).is_empty());
}

#[test]
fn removing_e3_breaks_workplace_analytics_and_audio_conferencing() {
    let e3 = catalog().plans_of(product("ENTERPRISEPACK"));
    let analytics = catalog().plans_of(product("WORKPLACE_ANALYTICS"));
    let audio = catalog().plans_of(product("MCOMEETADV"));
    let before = e3.union(&analytics).union(&audio);
    let after = analytics.union(&audio);
    let broken = catalog().broken_by_removal(&before, &after);
    let mut dependents = names(
        catalog(),
        &broken.iter().map(|(plan, _)| *plan).collect::<Vec<_>>(),
    );
    dependents.sort();
    assert_eq!(dependents, vec!["MCOMEETADV", "WORKPLACE_ANALYTICS"]);
    // Migrating E1 to E3 keeps Exchange: nothing breaks.
    let e1 = catalog().plans_of(product("STANDARDPACK"));
    assert!(catalog()
        .broken_by_removal(&e1.union(&analytics), &e3.union(&analytics))
        .is_empty());
    // A prerequisite that was never there is not broken by a removal.
    assert!(catalog()
        .broken_by_removal(&analytics, &analytics)
        .is_empty());
}

#[test]
fn upgrades_follow_supersedes_transitively() {
    let e3 = catalog().plans_of(product("ENTERPRISEPACK"));
    let e1 = catalog().plans_of(product("STANDARDPACK"));
    let e5 = catalog().plans_of(product("SPE_E5"));
    assert!(catalog().is_upgrade(plan("EXCHANGE_S_STANDARD"), &e3));
    assert!(catalog().is_upgrade(plan("SHAREPOINTSTANDARD"), &e3));
    assert!(!catalog().is_upgrade(plan("EXCHANGE_S_ENTERPRISE"), &e1));
    assert!(!catalog().is_upgrade(plan("SWAY"), &e1));
    // Kiosk → Plan 1 → Plan 2, and Project E1 → E3 → E5.
    assert!(catalog().is_upgrade(plan("EXCHANGE_S_DESKLESS"), &e3));
    assert!(catalog().is_upgrade(plan("PROJECT_O365_P1"), &e5));
    // EMS's Intune Plan 1 upgrades E3's basic mobile device management.
    let ems = catalog().plans_of(product("EMS"));
    assert!(catalog().is_upgrade(plan("INTUNE_O365"), &ems));
}

#[test]
fn steps_up_product_families_are_upgrades_plan_by_plan() {
    // The relations that moving up Office 365 E3 → E5, Microsoft 365 Business Basic → Standard
    // → Premium, Microsoft 365 F1 → F3, EMS E3 → E5 and Microsoft 365 E3 → E5 needs: each
    // larger plan supersedes the smaller one, never the other way round.
    for (larger, smaller) in [
        ("BPOS_S_TODO_3", "BPOS_S_TODO_2"),
        ("CDS_O365_P3", "CDS_O365_P2"),
        ("DYN365_CDS_O365_P3", "DYN365_CDS_O365_P2"),
        ("FLOW_O365_P3", "FLOW_O365_P2"),
        ("POWERAPPS_O365_P3", "POWERAPPS_O365_P2"),
        (
            "POWER_VIRTUAL_AGENTS_O365_P3",
            "POWER_VIRTUAL_AGENTS_O365_P2",
        ),
        ("KAIZALA_STANDALONE", "KAIZALA_O365_P3"),
        ("ADALLOM_S_STANDALONE", "ADALLOM_S_DISCOVERY"),
        ("OFFICE_BUSINESS", "OFFICEMOBILE_SUBSCRIPTION"),
        ("STREAM_O365_E1", "STREAM_O365_SMB"),
        ("EXCHANGE_S_DESKLESS", "EXCHANGE_S_FOUNDATION"),
        ("RMS_S_ENTERPRISE", "RMS_S_ENTERPRISE_GOV"),
    ] {
        assert!(
            catalog().is_upgrade(plan(smaller), &plans(&[larger])),
            "{larger} supersedes {smaller}"
        );
        assert!(
            !catalog().is_upgrade(plan(larger), &plans(&[smaller])),
            "{smaller} does not supersede {larger}"
        );
    }
    // Through chains: E1's To-Do (Plan 1) is superseded by E5's Plan 3, and Exchange Online
    // (Plan 2) supersedes Exchange Foundation through Plan 1 and Kiosk.
    assert!(catalog().is_upgrade(plan("BPOS_S_TODO_1"), &plans(&["BPOS_S_TODO_3"])));
    assert!(catalog().is_upgrade(
        plan("EXCHANGE_S_FOUNDATION"),
        &plans(&["EXCHANGE_S_ENTERPRISE"])
    ));
}

#[test]
fn usage_location_availability() {
    assert!(!catalog().available_in(plan("MCOPSTN5"), "US"));
    assert!(!catalog().available_in(plan("MCOPSTN5"), "us"));
    assert!(catalog().available_in(plan("MCOPSTN5"), "DE"));
    assert!(catalog().available_in(plan("PSTN5_US"), "US"));
    assert!(!catalog().available_in(plan("PSTN5_US"), "CA"));
    for name in ["EXCHANGE_S_ENTERPRISE", "MCOMEETADV", "WORKPLACE_ANALYTICS"] {
        assert!(catalog().available_in(plan(name), "CN"), "{name}");
    }
}

#[test]
fn exchange_plans_are_the_exchange_online_plans() {
    assert!(catalog().is_exchange(plan("EXCHANGE_S_ENTERPRISE")));
    assert!(catalog().is_exchange(plan("EXCHANGE_S_STANDARD")));
    assert!(catalog().is_exchange(plan("EXCHANGE_S_DESKLESS")));
    assert!(!catalog().is_exchange(plan("EXCHANGE_S_FOUNDATION")));
    assert!(!catalog().is_exchange(plan("SHAREPOINTENTERPRISE")));
    let exchange_of = |sku: &str| -> PlanSet {
        catalog()
            .plans_of(product(sku))
            .iter()
            .filter(|plan| catalog().is_exchange(*plan))
            .collect()
    };
    assert_eq!(exchange_of("STANDARDPACK"), plans(&["EXCHANGE_S_STANDARD"]));
    assert!(exchange_of("EMS").is_empty());
    assert!(exchange_of("WORKPLACE_ANALYTICS").is_empty());
}

#[test]
fn the_graph_holds_the_seed_relations() {
    let graph = catalog().graph().graph();
    let node = |name: &str| petgraph::graph::NodeIndex::new(plan(name).index());
    let edge = |a: &str, b: &str, kind: Edge| {
        graph
            .edges_connecting(node(a), node(b))
            .any(|found| *found.weight() == kind)
    };
    assert!(edge(
        "EXCHANGE_S_STANDARD",
        "EXCHANGE_S_ENTERPRISE",
        Edge::ConflictsWith
    ));
    assert!(edge(
        "EXCHANGE_S_ENTERPRISE",
        "EXCHANGE_S_STANDARD",
        Edge::ConflictsWith
    ));
    assert!(edge(
        "SHAREPOINTENTERPRISE",
        "SHAREPOINTSTANDARD",
        Edge::ConflictsWith
    ));
    assert!(edge(
        "WORKPLACE_ANALYTICS",
        "EXCHANGE_S_STANDARD",
        Edge::Requires { set: 0 }
    ));
    assert!(edge("MCOMEETADV", "MCOSTANDARD", Edge::Requires { set: 0 }));
    assert!(edge(
        "EXCHANGE_S_ENTERPRISE",
        "EXCHANGE_S_STANDARD",
        Edge::Supersedes
    ));
    assert_eq!(graph.node_count(), catalog().plans().len());
}

fn relations_problems(text: &str) -> Diagnostics {
    match Catalog::csv_only().with_relations_file(SourceId(0), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(problems) => problems,
    }
}

fn codes(problems: &Diagnostics) -> Vec<&'static str> {
    problems
        .iter()
        .map(|problem| problem.code.as_str())
        .collect()
}

#[test]
fn relation_data_with_unknown_plans_is_rejected_with_its_location() {
    let problems = relations_problems(
        "version: 1\nrequires:\n  - plan: WORKPLACE_ANALYTICS\n    any_of: [EXCHANGE_S_STANDART]\n    source: test\n",
    );
    assert_eq!(codes(&problems), vec!["unknown-plan"]);
    let problem = &problems.0[0];
    assert_eq!(
        problem.labels[0].location,
        Location::node(SourceId(0), "/requires/0/any_of/0")
    );
    assert_eq!(
        problem.help.as_deref(),
        Some("did you mean `EXCHANGE_S_STANDARD`?")
    );
}

#[test]
fn a_plan_conflicting_with_itself_is_rejected() {
    let problems =
        relations_problems("version: 1\nconflicts:\n  - plans: [SWAY, SWAY]\n    source: test\n");
    assert_eq!(codes(&problems), vec!["invalid-catalog"]);
    assert!(problems.0[0]
        .message
        .contains("`SWAY` conflicts with itself"));
}

#[test]
fn a_cycle_in_supersedes_is_rejected() {
    let problems = relations_problems(
        "version: 1\nsupersedes:\n  - plan: SWAY\n    over: [FORMS_PLAN_E1]\n    source: a\n  - plan: FORMS_PLAN_E1\n    over: [FORMS_PLAN_E3]\n    source: b\n  - plan: FORMS_PLAN_E3\n    over: [SWAY]\n    source: c\n",
    );
    assert_eq!(codes(&problems), vec!["invalid-catalog"]);
    assert!(problems.0[0]
        .message
        .contains("FORMS_PLAN_E1, FORMS_PLAN_E3, SWAY"));
    assert_eq!(problems.0[0].labels.len(), 3);
    let self_loop = relations_problems(
        "version: 1\nsupersedes:\n  - plan: SWAY\n    over: [SWAY]\n    source: a\n",
    );
    assert_eq!(codes(&self_loop), vec!["invalid-catalog"]);
}

#[test]
fn malformed_relation_files_are_rejected() {
    let missing_source = relations_problems("version: 1\nconflicts:\n  - plans: [SWAY, MCOEV]\n");
    assert_eq!(codes(&missing_source), vec!["schema"]);
    let one_plan = relations_problems("version: 1\nconflicts:\n  - plans: [SWAY]\n    source: x\n");
    assert_eq!(codes(&one_plan), vec!["schema"]);
    let both = relations_problems(
        "version: 1\navailability:\n  - plan: SWAY\n    available_in: [US]\n    unavailable_in: [DE]\n    source: x\n",
    );
    assert_eq!(codes(&both), vec!["invalid-catalog"]);
    let country = relations_problems(
        "version: 1\navailability:\n  - plan: SWAY\n    available_in: [UK]\n    source: x\n",
    );
    assert_eq!(codes(&country), vec!["invalid-usage-location"]);
    let twice = relations_problems(
        "version: 1\navailability:\n  - plan: SWAY\n    available_in: [US]\n    source: x\n  - plan: SWAY\n    unavailable_in: [US]\n    source: y\n",
    );
    assert_eq!(codes(&twice), vec!["invalid-catalog"]);
    assert_eq!(
        codes(&relations_problems("version: 2\n")),
        vec!["unsupported-version"]
    );
}

fn locate(pointer: &str) -> Option<Location> {
    Some(Location::node(SourceId(7), pointer))
}

fn additions(products: Vec<(&str, ProductSpec)>, plans: Vec<(&str, PlanSpec)>) -> CatalogAdditions {
    CatalogAdditions {
        products: Some(
            products
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<IndexMap<_, _>>(),
        ),
        plans: Some(
            plans
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<IndexMap<_, _>>(),
        ),
    }
}

fn strings(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|item| item.to_string()).collect())
}

#[test]
fn config_additions_add_products_plans_and_relations() {
    let added = catalog()
        .with_additions(
            &additions(
                vec![(
                    "CONTOSO_ADDON",
                    ProductSpec {
                        id: "3f9a0000-0000-4000-8000-000000000001".into(),
                        name: Some("Contoso Add-on".into()),
                        plans: vec!["CONTOSO_PLAN".into()],
                    },
                )],
                vec![
                    (
                        "CONTOSO_PLAN",
                        PlanSpec {
                            id: Some("9c1e0000-0000-4000-8000-000000000002".into()),
                            requires_any: strings(&[
                                "EXCHANGE_S_STANDARD",
                                "EXCHANGE_S_ENTERPRISE",
                            ]),
                            available_in: strings(&["us", "DE"]),
                            ..PlanSpec::default()
                        },
                    ),
                    (
                        "MCOPSTN5",
                        PlanSpec {
                            available_in: strings(&["US"]),
                            ..PlanSpec::default()
                        },
                    ),
                ],
            ),
            locate,
        )
        .unwrap();
    assert_eq!(added.products().len(), catalog().products().len() + 1);
    let addon = added.resolve_product("CONTOSO_ADDON").unwrap();
    assert_eq!(added.product(addon).name, "Contoso Add-on");
    let addon_plans = added.plans_of(addon);
    let unmet = added.unmet_prerequisites(&addon_plans);
    assert_eq!(
        names(&added, &unmet[0].1),
        vec!["EXCHANGE_S_STANDARD", "EXCHANGE_S_ENTERPRISE"]
    );
    let contoso_plan = added.resolve_plan("CONTOSO_PLAN").unwrap();
    assert!(added.available_in(contoso_plan, "DE"));
    assert!(!added.available_in(contoso_plan, "FR"));
    let pstn5 = added.resolve_plan("MCOPSTN5").unwrap();
    assert!(added.available_in(pstn5, "US"));
    assert!(!added.available_in(pstn5, "DE"));
    // The built-in catalog is unchanged.
    assert!(!catalog().available_in(pstn5, "US"));
    assert!(catalog().resolve_product("CONTOSO_ADDON").is_err());
}

#[test]
fn invalid_config_additions_are_reported_at_their_nodes() {
    let result = catalog().with_additions(
        &additions(
            vec![(
                "ENTERPRISEPACK",
                ProductSpec {
                    id: "3f9a0000-0000-4000-8000-000000000001".into(),
                    name: None,
                    plans: vec!["NO_SUCH_PLAN".into()],
                },
            )],
            vec![
                ("NEW_PLAN_WITHOUT_ID", PlanSpec::default()),
                (
                    "SWAY",
                    PlanSpec {
                        requires_any: strings(&["EXCHANGE_S_ENTERPRIZE"]),
                        ..PlanSpec::default()
                    },
                ),
            ],
        ),
        locate,
    );
    let problems = result.unwrap_err();
    let found: Vec<(&str, Location)> = problems
        .iter()
        .map(|problem| (problem.code.as_str(), problem.labels[0].location.clone()))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "invalid-catalog",
                Location::node(SourceId(7), "/catalog/plans/NEW_PLAN_WITHOUT_ID")
            ),
            (
                "invalid-catalog",
                Location::node(SourceId(7), "/catalog/products/ENTERPRISEPACK")
            ),
            (
                "unknown-plan",
                Location::node(SourceId(7), "/catalog/plans/SWAY/requires_any/0")
            ),
        ]
    );
}

#[test]
fn config_relations_are_validated_like_the_file() {
    let self_conflict = catalog().with_additions(
        &additions(
            vec![],
            vec![(
                "SWAY",
                PlanSpec {
                    conflicts_with: strings(&["SWAY"]),
                    ..PlanSpec::default()
                },
            )],
        ),
        locate,
    );
    let problems = self_conflict.unwrap_err();
    assert_eq!(codes(&problems), vec!["invalid-catalog"]);
    assert_eq!(
        problems.0[0].labels[0].location,
        Location::node(SourceId(7), "/catalog/plans/SWAY/conflicts_with")
    );
    let cycle = catalog().with_additions(
        &additions(
            vec![],
            vec![(
                "EXCHANGE_S_STANDARD",
                PlanSpec {
                    supersedes: strings(&["EXCHANGE_S_ENTERPRISE"]),
                    ..PlanSpec::default()
                },
            )],
        ),
        locate,
    );
    let problems = cycle.unwrap_err();
    assert_eq!(codes(&problems), vec!["invalid-catalog"]);
    assert!(problems.0[0]
        .message
        .contains("EXCHANGE_S_ENTERPRISE, EXCHANGE_S_STANDARD"));
}
