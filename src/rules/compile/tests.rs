use std::collections::HashMap;

use super::*;
use crate::rules::parser::parse;
use crate::rules::table::{AssignedPlanValue, UserTableBuilder};

/// Group memberships by object id, as the tests give them.
impl GroupMembers for HashMap<String, FixedBitSet> {
    fn members(&self, group_object_id: &str) -> Option<&FixedBitSet> {
        self.get(group_object_id)
    }
}

const E3_PLAN: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";
const MANAGER_1: &str = "62e19b97-8b3d-4d4a-a106-4ce66896a863";
const MANAGER_2: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
const GROUP_1: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
const EXTENSION: &str = "extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber";

/// alice (0), bob (1), carol (2, mostly null), dave (3).
fn users() -> UserTable {
    let mut builder = UserTableBuilder::new();
    let alice = builder.push_user();
    let bob = builder.push_user();
    let carol = builder.push_user();
    let dave = builder.push_user();
    let set = |builder: &mut UserTableBuilder, user, property, value| {
        builder.set_string(user, property, value).unwrap()
    };
    set(&mut builder, alice, "department", "Sales");
    set(&mut builder, bob, "department", "sales engineering");
    set(&mut builder, dave, "department", "Marketing");
    set(&mut builder, alice, "country", "US");
    set(&mut builder, bob, "country", "CA");
    set(&mut builder, carol, "country", "us");
    set(&mut builder, dave, "country", "DE");
    set(
        &mut builder,
        alice,
        "employeeHireDate",
        "2024-01-10T09:00:00Z",
    );
    set(
        &mut builder,
        bob,
        "employeeHireDate",
        "2020-06-10T18:13:20Z",
    );
    set(&mut builder, dave, EXTENSION, "1");
    builder.set_bool(alice, "accountEnabled", true).unwrap();
    builder.set_bool(bob, "accountEnabled", false).unwrap();
    builder.set_bool(dave, "accountEnabled", true).unwrap();
    builder
        .set_strings(alice, "otherMails", &["alice@contoso.com", "a@gmail.com"])
        .unwrap();
    builder
        .set_strings(carol, "otherMails", &["c@outlook.com"])
        .unwrap();
    builder
        .set_assigned_plan_values(
            alice,
            &[AssignedPlanValue {
                service_plan_id: E3_PLAN,
                service: Some("exchange"),
                capability_status: "Enabled",
            }],
        )
        .unwrap();
    builder
        .set_assigned_plans(bob, &[(E3_PLAN, "Deleted")])
        .unwrap();
    builder.set_manager(alice, MANAGER_1).unwrap();
    builder.set_manager(bob, MANAGER_2).unwrap();
    builder
        .set_manager(carol, &MANAGER_1.to_uppercase())
        .unwrap();
    builder.finish()
}

fn selected(rule: &str) -> Vec<usize> {
    let table = users();
    let mut groups = HashMap::new();
    let mut members = FixedBitSet::with_capacity(4);
    members.insert(1);
    members.insert(3);
    groups.insert(GROUP_1.to_string(), members);
    let now: Timestamp = "2024-02-01T00:00:00Z".parse().unwrap();
    let context = EvalContext::new(now, &groups);
    let compiled = CompiledRule::compile(&parse(rule).unwrap()).unwrap();
    let batch: Vec<usize> = compiled.evaluate(&table, &context).ones().collect();
    let single: Vec<usize> = (0..4u32)
        .filter(|user| compiled.matches(&table, &context, *user))
        .map(|user| user as usize)
        .collect();
    assert_eq!(
        batch, single,
        "batch and single-user evaluation differ for {rule}"
    );
    assert!(!compiled.matches(&table, &context, 4));
    batch
}

#[test]
fn string_operators() {
    let cases: &[(&str, &[usize])] = &[
        (r#"user.department -eq "sales""#, &[0]),
        (r#"user.department -ne "Sales""#, &[1, 2, 3]),
        ("user.department -eq null", &[2]),
        ("user.department -ne null", &[0, 1, 3]),
        (r#"user.department -eq """#, &[2]),
        (r#"user.department -ne """#, &[0, 1, 3]),
        (r#"user.department -startsWith "SALES""#, &[0, 1]),
        (r#"user.department -notStartsWith "sales""#, &[2, 3]),
        (r#"user.department -endsWith "ING""#, &[1, 3]),
        (r#"user.department -notEndsWith "ing""#, &[0, 2]),
        (r#"user.department -contains "ale""#, &[0, 1]),
        (r#"user.department -notContains "ale""#, &[2, 3]),
        (r#"user.department -match "^sales$""#, &[0]),
        (r#"user.department -match "eng""#, &[1]),
        (r#"user.department -notMatch "^sales$""#, &[1, 2, 3]),
        (r#"user.department -in ["sales","MARKETING"]"#, &[0, 3]),
        (r#"user.department -notIn ["sales","marketing"]"#, &[1, 2]),
        (r#"user.jobTitle -eq "x""#, &[]),
        (r#"user.jobTitle -ne "x""#, &[0, 1, 2, 3]),
        (&extension_rule(), &[3]),
    ];
    for (rule, expected) in cases {
        assert_eq!(selected(rule), *expected, "{rule}");
    }
}

fn extension_rule() -> String {
    format!(
        "user.{} -eq \"1\"",
        EXTENSION
            .to_uppercase()
            .replacen("EXTENSION", "extension", 1)
    )
}

#[test]
fn boolean_operators() {
    let cases: &[(&str, &[usize])] = &[
        ("user.accountEnabled -eq true", &[0, 3]),
        ("user.accountEnabled -eq false", &[1]),
        ("user.accountEnabled -ne true", &[1, 2]),
        ("user.accountEnabled -ne false", &[0, 2, 3]),
        ("user.accountEnabled -eq null", &[2]),
        ("user.dirSyncEnabled -eq true", &[]),
        ("user.dirSyncEnabled -ne true", &[0, 1, 2, 3]),
    ];
    for (rule, expected) in cases {
        assert_eq!(selected(rule), *expected, "{rule}");
    }
}

#[test]
fn date_operators() {
    let cases: &[(&str, &[usize])] = &[
        ("user.employeeHireDate -le 2020-06-10T18:13:20Z", &[1]),
        ("user.employeeHireDate -ge 2020-06-10T18:13:21Z", &[0]),
        ("user.employeeHireDate -eq 2020-06-10T20:13:20+02:00", &[1]),
        ("user.employeeHireDate -ne 2020-06-10T18:13:20Z", &[0, 2, 3]),
        ("user.employeeHireDate -eq null", &[2, 3]),
        ("user.employeeHireDate -ge system.now -minus P30D", &[0]),
        ("user.employeeHireDate -ge system.now -minus P21D", &[]),
        ("user.employeeHireDate -le (system.now -minus P3Y)", &[1]),
        ("user.employeeHireDate -le system.now", &[0, 1]),
        ("user.employeeHireDate -ge system.now -plus P1D", &[]),
    ];
    for (rule, expected) in cases {
        assert_eq!(selected(rule), *expected, "{rule}");
    }
}

#[test]
fn collection_operators() {
    let cases: &[(&str, &[usize])] = &[
        (r#"user.otherMails -endsWith "@CONTOSO.com""#, &[0]),
        (r#"user.otherMails -notEndsWith "@outlook.com""#, &[0, 1, 3]),
        (r#"user.otherMails -contains "gmail""#, &[0]),
        ("user.otherMails -eq null", &[1, 3]),
        ("user.otherMails -ne null", &[0, 2]),
        (r#"user.otherMails -any (_ -contains "gmail")"#, &[0]),
        (
            r#"user.otherMails -all (_ -endsWith "@contoso.com")"#,
            &[1, 3],
        ),
        (
            r#"user.otherMails -any (_ -match "^a" -and -not (_ -contains "gmail"))"#,
            &[0],
        ),
        (r#"user.proxyAddresses -any (_ -startsWith "smtp:")"#, &[]),
        (
            &format!(
                r#"user.assignedPlans -any (assignedPlan.servicePlanId -eq "{E3_PLAN}" -and assignedPlan.capabilityStatus -eq "Enabled")"#
            ),
            &[0],
        ),
        (
            &format!(
                r#"user.assignedPlans -any (assignedPlan.servicePlanId -eq "{}")"#,
                E3_PLAN.to_uppercase()
            ),
            &[0, 1],
        ),
        (
            "user.assignedPlans -all (assignedPlan.servicePlanId -eq null)",
            &[2, 3],
        ),
        (
            r#"user.assignedPlans -all (assignedPlan.servicePlanId -eq "")"#,
            &[2, 3],
        ),
        (
            r#"user.assignedPlans -any (assignedPlan.service -eq "Exchange")"#,
            &[0],
        ),
        (
            r#"user.assignedPlans -any (assignedPlan.service -eq null)"#,
            &[1],
        ),
        (
            r#"user.assignedPlans -all (assignedPlan.capabilityStatus -eq "Enabled" -or assignedPlan.capabilityStatus -eq "Warning")"#,
            &[0, 2, 3],
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(selected(rule), *expected, "{rule}");
    }
}

#[test]
fn whole_rule_forms() {
    assert_eq!(
        selected(&format!(
            "user.memberOf -any (group.objectId -in ['{}'])",
            GROUP_1.to_uppercase()
        )),
        [1, 3]
    );
    assert_eq!(
        selected("user.memberOf -any (group.objectId -in ['no-such-group'])"),
        Vec::<usize>::new()
    );
    assert_eq!(
        selected(&format!("Direct Reports for \"{MANAGER_1}\"")),
        [0, 2]
    );
    assert_eq!(
        selected(&format!("Direct Reports for \"{MANAGER_2}\"")),
        [1]
    );
}

#[test]
fn logical_operators_and_precedence() {
    let cases: &[(&str, &[usize])] = &[
        (
            r#"(user.country -eq "US") -and -not (user.department -eq "Sales")"#,
            &[2],
        ),
        (
            r#"user.country -eq "us" -or user.country -eq "ca" -and user.accountEnabled -eq true"#,
            &[0, 2],
        ),
        (
            r#"(user.country -eq "us" -or user.country -eq "ca") -and user.accountEnabled -eq true"#,
            &[0],
        ),
        (r#"-not -not (user.country -eq "DE")"#, &[3]),
        (r#"not (user.country -in ["US", "CA"])"#, &[3]),
    ];
    for (rule, expected) in cases {
        assert_eq!(selected(rule), *expected, "{rule}");
    }
}

#[test]
fn device_rules_do_not_compile() {
    let error =
        CompiledRule::compile(&parse(r#"device.deviceOSType -eq "Windows""#).unwrap()).unwrap_err();
    assert_eq!(error.code, Code::RuleDeviceRule);
    assert_eq!(error.range, 0..19);
}

#[test]
fn now_offsets_use_calendar_arithmetic_and_saturate() {
    let now: Timestamp = "2024-01-31T00:00:00Z".parse().unwrap();
    let month = NowOffset {
        sign: OffsetSign::Plus,
        duration: IsoDuration::parse("P1M").unwrap(),
    };
    assert_eq!(shift(now, month).to_string(), "2024-02-29T00:00:00Z");
    let huge = NowOffset {
        sign: OffsetSign::Minus,
        duration: IsoDuration::parse("P3000000000D").unwrap(),
    };
    assert_eq!(shift(now, huge), Timestamp::MIN);
}

/// Every user's value of `rule` one user at a time: the reference for batch evaluation.
fn one_by_one(compiled: &CompiledRule, table: &UserTable, context: &EvalContext<'_>) -> Vec<usize> {
    (0..table.len() as u32)
        .filter(|user| compiled.matches(table, context, *user))
        .map(|user| user as usize)
        .collect()
}

#[test]
fn rules_with_a_common_leaf_share_its_result() {
    let table = users();
    let context = EvalContext::new(Timestamp::UNIX_EPOCH, &NoGroups);
    let cache = LeafCache::new(&table, &context);
    let rules = [
        r#"user.department -startsWith "sales" -and user.country -eq "US""#,
        r#"user.department -startsWith "SALES" -or user.accountEnabled -eq false"#,
        r#"-not (user.department -startsWith "sales")"#,
    ];
    for rule in rules {
        let compiled = CompiledRule::compile(&parse(rule).unwrap()).unwrap();
        assert_eq!(
            compiled.evaluate_cached(&cache),
            compiled.evaluate(&table, &context),
            "{rule}"
        );
    }
    // department (once: constants are lowercased), country, accountEnabled.
    assert_eq!(cache.leaves.lock().unwrap().len(), 3);
    let Tree::Leaf(leaf) =
        CompiledRule::compile(&parse(r#"user.department -startsWith "Sales""#).unwrap())
            .unwrap()
            .root
    else {
        panic!("a single comparison is a leaf");
    };
    assert!(Arc::ptr_eq(&cache.leaf(&leaf), &cache.leaf(&leaf)));
}

#[test]
fn leaves_differ_by_pattern_negation_and_quantifier() {
    let leaf = |rule: &str| match CompiledRule::compile(&parse(rule).unwrap()).unwrap().root {
        Tree::Leaf(leaf) => leaf,
        _ => panic!("{rule} is not a leaf"),
    };
    let distinct = [
        r#"user.department -match "^a""#,
        r#"user.department -match "^b""#,
        r#"user.department -notMatch "^a""#,
        r#"user.otherMails -any (_ -contains "a")"#,
        r#"user.otherMails -all (_ -contains "a")"#,
        r#"user.otherMails -contains "a""#,
        "user.employeeHireDate -ge system.now -minus P30D",
        "user.employeeHireDate -ge system.now -minus P31D",
    ];
    for (index, a) in distinct.iter().enumerate() {
        for b in &distinct[index + 1..] {
            assert_ne!(leaf(a), leaf(b), "{a} / {b}");
        }
    }
    assert_eq!(
        leaf(r#"user.department -match "^a""#),
        leaf(r#"user.department -match "^a""#)
    );
}

#[test]
fn threads_sharing_a_cache_get_the_results_of_separate_evaluations() {
    use rayon::prelude::*;

    let table = users();
    let mut groups = HashMap::new();
    let mut members = FixedBitSet::with_capacity(4);
    members.insert(2);
    groups.insert(GROUP_1.to_string(), members);
    let now: Timestamp = "2024-02-01T00:00:00Z".parse().unwrap();
    let context = EvalContext::new(now, &groups);
    let cache = LeafCache::new(&table, &context);
    let rules: Vec<String> = (0..64)
        .map(|index| match index % 4 {
            0 => format!("user.memberOf -any (group.objectId -in ['{GROUP_1}'])"),
            1 => "user.employeeHireDate -ge system.now -minus P30D".to_string(),
            2 => r#"user.otherMails -any (_ -contains "@") -and user.country -ne "US""#.to_string(),
            _ => format!("Direct Reports for \"{MANAGER_1}\""),
        })
        .collect();
    let compiled: Vec<CompiledRule> = rules
        .iter()
        .map(|rule| CompiledRule::compile(&parse(rule).unwrap()).unwrap())
        .collect();
    let shared: Vec<FixedBitSet> = compiled
        .par_iter()
        .map(|rule| rule.evaluate_cached(&cache))
        .collect();
    for ((rule, compiled), shared) in rules.iter().zip(&compiled).zip(&shared) {
        assert_eq!(*shared, compiled.evaluate(&table, &context), "{rule}");
        assert_eq!(
            shared.ones().collect::<Vec<_>>(),
            one_by_one(compiled, &table, &context),
            "{rule}"
        );
    }
    assert_eq!(shared[0].ones().collect::<Vec<_>>(), [2]);
    assert_eq!(shared[1].ones().collect::<Vec<_>>(), [0]);
}

mod generated {
    //! Batch evaluation (shared or not, from postings or a scan) against single-user
    //! evaluation over generated tables and rules.

    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    /// Small vocabularies, so that rules find rare values (postings), common ones (scans),
    /// values differing only in case and no value at all.
    const DEPARTMENTS: &[&str] = &[
        "Sales",
        "sales",
        "Sales Engineering",
        "Marketing",
        "IT",
        "it ops",
        "Finance",
        "Legal",
        "Ops",
        "Support",
        "Ale",
        "HR",
    ];
    const MAILS: &[&str] = &[
        "a@contoso.com",
        "B@Contoso.com",
        "c@gmail.com",
        "d@outlook.com",
        "sales@contoso.com",
        "x@sub1.contoso.com",
        "y@sub2.contoso.com",
        "aa@aa.aa",
    ];
    const NEEDLES: &[&str] = &[
        "sales", "SALES", "ale", "eng", "it", "@contoso", ".com", "gmail", "aa", "sub1.", "zzz",
        "s",
    ];

    #[derive(Debug, Clone)]
    struct User {
        department: Option<usize>,
        mails: Vec<usize>,
        enabled: Option<bool>,
        plan: Option<bool>,
    }

    fn user() -> impl Strategy<Value = User> {
        (
            proptest::option::weighted(0.9, 0..DEPARTMENTS.len()),
            vec(0..MAILS.len(), 0..3),
            proptest::option::of(any::<bool>()),
            proptest::option::weighted(0.2, any::<bool>()),
        )
            .prop_map(|(department, mails, enabled, plan)| User {
                department,
                mails,
                enabled,
                plan,
            })
    }

    fn table(users: &[User]) -> UserTable {
        let mut builder = UserTableBuilder::new();
        for user in users {
            let row = builder.push_user();
            if let Some(department) = user.department {
                builder
                    .set_string(row, "department", DEPARTMENTS[department])
                    .unwrap();
            }
            let mails: Vec<&str> = user.mails.iter().map(|mail| MAILS[*mail]).collect();
            builder.set_strings(row, "otherMails", &mails).unwrap();
            if let Some(enabled) = user.enabled {
                builder.set_bool(row, "accountEnabled", enabled).unwrap();
            }
            if let Some(enabled) = user.plan {
                let status = if enabled { "Enabled" } else { "Deleted" };
                builder
                    .set_assigned_plans(row, &[(E3_PLAN, status)])
                    .unwrap();
            }
        }
        builder.finish()
    }

    fn quoted(values: &[&str]) -> String {
        let quoted: Vec<String> = values.iter().map(|value| format!("\"{value}\"")).collect();
        quoted.join(",")
    }

    fn leaf() -> BoxedStrategy<String> {
        let value = prop_oneof![select(DEPARTMENTS), select(NEEDLES)];
        let string_op = select(
            &[
                "-eq",
                "-ne",
                "-startsWith",
                "-notStartsWith",
                "-endsWith",
                "-notEndsWith",
                "-contains",
                "-notContains",
            ][..],
        );
        let element_op = select(&["-eq", "-startsWith", "-endsWith", "-contains"][..]);
        prop_oneof![
            (string_op.clone(), value.clone())
                .prop_map(|(op, value)| format!("user.department {op} \"{value}\"")),
            (select(&["-eq", "-ne"][..]), select(&["null", "\"\""][..]))
                .prop_map(|(op, value)| format!("user.department {op} {value}")),
            (select(&["-in", "-notIn"][..]), vec(value.clone(), 1..4))
                .prop_map(|(op, values)| format!("user.department {op} [{}]", quoted(&values))),
            (
                select(&["-match", "-notMatch"][..]),
                select(&["^sales$", "ing$", "^[a-m]", "o"][..])
            )
                .prop_map(|(op, pattern)| format!("user.department {op} \"{pattern}\"")),
            (string_op, select(NEEDLES))
                .prop_map(|(op, value)| format!("user.otherMails {op} \"{value}\"")),
            select(&["-eq", "-ne"][..]).prop_map(|op| format!("user.otherMails {op} null")),
            (
                select(&["-any", "-all"][..]),
                element_op.clone(),
                select(NEEDLES),
                proptest::option::of((element_op, select(NEEDLES))),
            )
                .prop_map(|(quantifier, op, value, other)| match other {
                    None => format!("user.otherMails {quantifier} (_ {op} \"{value}\")"),
                    Some((other, second)) => format!(
                        "user.otherMails {quantifier} (_ {op} \"{value}\" -or -not (_ {other} \"{second}\"))"
                    ),
                }),
            (select(&["-eq", "-ne"][..]), select(&["true", "false", "null"][..]))
                .prop_map(|(op, value)| format!("user.accountEnabled {op} {value}")),
            (select(&["-any", "-all"][..]), select(&["Enabled", "Deleted"][..])).prop_map(
                |(quantifier, status)| format!(
                    "user.assignedPlans {quantifier} (assignedPlan.capabilityStatus -eq \"{status}\")"
                )
            ),
        ]
        .boxed()
    }

    fn rule() -> BoxedStrategy<String> {
        leaf()
            .prop_recursive(3, 12, 2, |inner| {
                prop_oneof![
                    (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) -and ({b})")),
                    (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) -or ({b})")),
                    inner.prop_map(|a| format!("-not ({a})")),
                ]
            })
            .boxed()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn shared_and_indexed_evaluation_agree_with_single_users(
            users in vec(user(), 0..300),
            rules in vec(rule(), 1..8),
        ) {
            let table = table(&users);
            let context = EvalContext::new(Timestamp::UNIX_EPOCH, &NoGroups);
            let compiled: Vec<CompiledRule> = rules
                .iter()
                .map(|rule| CompiledRule::compile(&parse(rule).unwrap()).unwrap())
                .collect();
            let cache = LeafCache::new(&table, &context);
            for (rule, compiled) in rules.iter().zip(&compiled) {
                let fresh = compiled.evaluate(&table, &context);
                prop_assert_eq!(fresh.len(), users.len());
                prop_assert_eq!(
                    fresh.ones().collect::<Vec<_>>(),
                    one_by_one(compiled, &table, &context),
                    "{}", rule
                );
                prop_assert_eq!(&compiled.evaluate_cached(&cache), &fresh, "{}", rule);
            }
            // Again, in reverse, with every leaf already in the cache.
            for (rule, compiled) in rules.iter().zip(&compiled).rev() {
                prop_assert_eq!(
                    compiled.evaluate_cached(&cache),
                    compiled.evaluate(&table, &context),
                    "{}", rule
                );
            }
        }
    }
}
