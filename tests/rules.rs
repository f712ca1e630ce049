//! End-to-end tests of the rule language: the real-world corpus, the `rule check` command and
//! rule errors inside config files.
// Tests are an edge: they read fixtures and run the binary.
#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::disallowed_macros
)]

use seatplan::rules::{parse, print};

#[derive(serde::Deserialize)]
struct CorpusEntry {
    rule: String,
    valid_expected: Option<bool>,
    note: String,
}

fn corpus() -> Vec<CorpusEntry> {
    include_str!("fixtures/rules/rules-corpus-dev.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).expect("corpus line is JSON"))
        .collect()
}

#[test]
fn corpus_verdicts_match_the_service() {
    let entries = corpus();
    assert_eq!(entries.len(), 228);
    let mut wrong = Vec::new();
    for entry in &entries {
        let result = parse(&entry.rule);
        if let Some(expected) = entry.valid_expected {
            if result.is_ok() != expected {
                wrong.push(format!(
                    "expected {} for {:?} ({}): {:?}",
                    if expected { "valid" } else { "invalid" },
                    entry.rule,
                    entry.note,
                    result.err()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn corpus_rules_round_trip_through_the_canonical_form() {
    for entry in corpus() {
        if let Ok(rule) = parse(&entry.rule) {
            let canonical = print(&rule);
            let reparsed = parse(&canonical)
                .unwrap_or_else(|error| panic!("{canonical:?} does not parse: {error}"));
            assert_eq!(reparsed.strip_spans(), rule.strip_spans(), "{}", entry.rule);
            assert_eq!(print(&reparsed), canonical);
        }
    }
}

fn seatplan() -> assert_cmd::Command {
    let mut command = assert_cmd::cargo::cargo_bin_cmd!("seatplan");
    command
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GITHUB_ACTIONS");
    command
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn rule_check_prints_the_canonical_form() {
    let output = seatplan()
        .args([
            "rule",
            "check",
            r#"(user.department -eq "Sales") -and (user.country -in ["US","CA"])"#,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "(user.department -eq \"Sales\") -and (user.country -in [\"US\",\"CA\"])\n"
    );
    assert_eq!(
        text(&output.stderr),
        "Valid: Entra accepts this rule; its canonical form is printed.\n"
    );

    let output = seatplan()
        .args(["rule", "check", "-not (user.DEPARTMENT  eq 'Sales')"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        text(&output.stdout),
        "-not (user.department -eq \"Sales\")\n"
    );
}

#[test]
fn rule_check_shows_a_caret_under_the_bad_token() {
    let output = seatplan()
        .args([
            "rule",
            "check",
            r#"(user.department -eq "Sales") -and (user.contry -in ["US","CA"])"#,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(text(&output.stdout), "");
    insta::assert_snapshot!("rule_check_unknown_property", text(&output.stderr));
}

#[test]
#[allow(clippy::disallowed_methods)] // a test sets up its input file
fn rule_check_file_checks_every_line() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("rules.txt");
    std::fs::write(
        &path,
        "# one rule per line\nuser.city -eq \"Lagos\" or user.city -startswith \"Lag\"\n\n(user.department -eq \"Sales\") (user.department -eq \"Marketing\")\r\ndevice.isRooted -eq true\n",
    )
    .unwrap();
    let output = seatplan()
        .args(["rule", "check", "--file"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        text(&output.stdout),
        "2: (user.city -eq \"Lagos\") -or (user.city -startsWith \"Lag\")\n5: device.isRooted -eq true\nChecked 3 rules: 2 valid, 1 invalid.\n"
    );
    let stderr = text(&output.stderr).replace(&path.display().to_string(), "[FILE]");
    insta::assert_snapshot!("rule_check_file", stderr);
}

#[test]
fn validate_points_into_rules_in_the_yaml_file() {
    let output = seatplan()
        .current_dir("tests/fixtures/rules/config-errors")
        .args(["validate", "-c", "seatplan.yaml"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!("validate_rule_errors", text(&output.stderr));
}

mod round_trip {
    //! The canonical printer's contract over generated syntax trees: `parse(print(t)) == t`.

    use proptest::prelude::*;
    use seatplan::rules::ast::*;
    use seatplan::rules::property::{
        ObjectKind, PropertyId, PropertyName, PropertyType, PROPERTIES,
    };
    use seatplan::rules::{parse, print};

    fn properties(object: ObjectKind, ty: PropertyType) -> Vec<Property> {
        PROPERTIES
            .iter()
            .enumerate()
            .filter(|(_, info)| info.object == object && info.ty == ty)
            .map(|(index, _)| Property {
                object,
                name: PropertyName::Known(PropertyId(index as u16)),
            })
            .collect()
    }

    fn text() -> BoxedStrategy<String> {
        prop_oneof![
            "[a-zA-Z0-9 @._:-]{0,12}",
            "[\"'` a]{0,6}",
            proptest::collection::vec(any::<char>(), 0..8)
                .prop_map(|chars| chars.into_iter().collect::<String>()),
        ]
        .boxed()
    }

    fn string_property(object: ObjectKind) -> BoxedStrategy<Property> {
        let known = proptest::sample::select(properties(object, PropertyType::String));
        if object == ObjectKind::Device {
            return known.boxed();
        }
        let extension =
            ("[0-9a-f]{32}", "[a-z0-9][a-z0-9_]{0,10}").prop_map(|(app_id, name)| Property {
                object: ObjectKind::User,
                name: PropertyName::Extension { app_id, name },
            });
        prop_oneof![4 => known, 1 => extension].boxed()
    }

    /// An operator and value valid for a string subject.
    fn string_test() -> BoxedStrategy<(Operator, Value)> {
        let plain = proptest::sample::select(vec![
            Operator::Eq,
            Operator::Ne,
            Operator::StartsWith,
            Operator::NotStartsWith,
            Operator::EndsWith,
            Operator::NotEndsWith,
            Operator::Contains,
            Operator::NotContains,
        ]);
        let regex = proptest::sample::select(vec![
            "^Da.*",
            ".*vid",
            r"\d{5}$",
            r"^\[OrderID\]:.*DT",
            "a|b",
            "",
            "^[0-1,a]",
        ]);
        prop_oneof![
            4 => (plain, text()).prop_map(|(op, text)| (op, Value::String(text))),
            1 => proptest::sample::select(vec![Operator::Eq, Operator::Ne]).prop_map(|op| (op, Value::Null)),
            1 => (proptest::sample::select(vec![Operator::Match, Operator::NotMatch]), regex)
                .prop_map(|(op, pattern)| (op, Value::String(pattern.to_string()))),
            1 => (
                proptest::sample::select(vec![Operator::In, Operator::NotIn]),
                proptest::collection::vec(text(), 1..4),
            )
                .prop_map(|(op, items)| (op, array(items))),
        ]
        .boxed()
    }

    fn array(items: Vec<String>) -> Value {
        Value::Array(
            items
                .into_iter()
                .map(|value| ArrayItem {
                    value,
                    span: Span::default(),
                })
                .collect(),
        )
    }

    fn compare(subject: Subject, (op, value): (Operator, Value)) -> Expr {
        Expr {
            kind: ExprKind::Compare(Comparison {
                subject,
                subject_span: Span::default(),
                op,
                op_span: Span::default(),
                value,
                value_span: Span::default(),
            }),
            span: Span::default(),
        }
    }

    fn duration() -> impl Strategy<Value = IsoDuration> {
        proptest::collection::vec(0u32..400, 7).prop_map(|parts| IsoDuration {
            years: parts[0] % 3,
            months: parts[1] % 13,
            weeks: parts[2] % 5,
            days: parts[3],
            hours: parts[4] % 30,
            minutes: parts[5],
            seconds: parts[6],
        })
    }

    fn date_test() -> BoxedStrategy<(Operator, Value)> {
        let op =
            proptest::sample::select(vec![Operator::Eq, Operator::Ne, Operator::Le, Operator::Ge]);
        let timestamp = (
            -5_000_000_000i64..5_000_000_000,
            prop_oneof![Just(0i32), 0i32..1_000_000_000],
        )
            .prop_map(|(seconds, nanos)| {
                Value::DateTime(jiff::Timestamp::new(seconds, nanos).unwrap())
            });
        let offset = proptest::option::of((proptest::bool::ANY, duration()).prop_map(
            |(plus, duration)| NowOffset {
                sign: if plus {
                    OffsetSign::Plus
                } else {
                    OffsetSign::Minus
                },
                duration,
            },
        ));
        prop_oneof![
            (op.clone(), timestamp).prop_map(|(op, value)| (op, value)),
            (op, offset).prop_map(|(op, offset)| (op, Value::Now(offset))),
            proptest::sample::select(vec![Operator::Eq, Operator::Ne])
                .prop_map(|op| (op, Value::Null)),
        ]
        .boxed()
    }

    fn combine<L: Strategy<Value = Expr> + 'static>(leaf: L) -> BoxedStrategy<Expr> {
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4)
                    .prop_map(|operands| node(ExprKind::And(operands))),
                proptest::collection::vec(inner.clone(), 2..4)
                    .prop_map(|operands| node(ExprKind::Or(operands))),
                inner.prop_map(|operand| node(ExprKind::Not(Box::new(operand)))),
            ]
        })
        .boxed()
    }

    fn node(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    fn collection(property: Property, quantifier: Quantifier, body: Expr) -> Expr {
        node(ExprKind::Collection(CollectionTest {
            property,
            property_span: Span::default(),
            quantifier,
            quantifier_span: Span::default(),
            body: Box::new(body),
        }))
    }

    fn quantifier() -> impl Strategy<Value = Quantifier> {
        prop_oneof![Just(Quantifier::Any), Just(Quantifier::All)]
    }

    fn leaf(object: ObjectKind) -> BoxedStrategy<Expr> {
        let strings = (string_property(object), string_test())
            .prop_map(|(property, test)| compare(Subject::Property(property), test));
        let bools = (
            proptest::sample::select(properties(object, PropertyType::Bool)),
            proptest::sample::select(vec![Operator::Eq, Operator::Ne]),
            proptest::sample::select(vec![Value::Bool(true), Value::Bool(false), Value::Null]),
        )
            .prop_map(|(property, op, value)| compare(Subject::Property(property), (op, value)));
        let collections =
            proptest::sample::select(properties(object, PropertyType::StringCollection));
        let direct = (collections.clone(), string_test())
            .prop_map(|(property, test)| compare(Subject::Property(property), test));
        let elements = (
            collections,
            quantifier(),
            combine(string_test().prop_map(|test| compare(Subject::Element, test))),
        )
            .prop_map(|(property, quantifier, body)| collection(property, quantifier, body));
        if object == ObjectKind::Device {
            return prop_oneof![4 => strings, 1 => bools, 1 => direct, 1 => elements].boxed();
        }
        let dates = (
            proptest::sample::select(properties(object, PropertyType::DateTime)),
            date_test(),
        )
            .prop_map(|(property, test)| compare(Subject::Property(property), test));
        let plan_field = proptest::sample::select(PlanField::ALL.to_vec());
        let plans = (
            proptest::sample::select(properties(object, PropertyType::AssignedPlans)),
            quantifier(),
            combine(
                (plan_field, string_test())
                    .prop_map(|(field, test)| compare(Subject::PlanField(field), test)),
            ),
        )
            .prop_map(|(property, quantifier, body)| collection(property, quantifier, body));
        prop_oneof![4 => strings, 1 => bools, 1 => dates, 1 => direct, 1 => elements, 1 => plans]
            .boxed()
    }

    fn rule() -> impl Strategy<Value = Rule> {
        let user = combine(leaf(ObjectKind::User)).prop_map(RuleKind::Expr);
        let device = combine(leaf(ObjectKind::Device)).prop_map(RuleKind::Expr);
        let reports =
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}".prop_map(|manager_id| {
                RuleKind::DirectReports(DirectReports {
                    manager_id,
                    id_span: Span::default(),
                })
            });
        let member_of = (
            proptest::sample::select(vec![ObjectKind::User, ObjectKind::Device]),
            proptest::collection::vec(text(), 1..5),
        )
            .prop_map(|(object, ids)| {
                let property = properties(object, PropertyType::MemberOf).remove(0);
                let body = compare(Subject::GroupObjectId, (Operator::In, array(ids)));
                RuleKind::Expr(collection(property, Quantifier::Any, body))
            });
        prop_oneof![8 => user, 2 => device, 1 => reports, 1 => member_of].prop_map(|kind| Rule {
            kind,
            span: Span::default(),
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn canonical_form_parses_back_to_the_same_tree(rule in rule()) {
            let canonical = print(&rule);
            let parsed = parse(&canonical);
            prop_assert!(parsed.is_ok(), "{canonical:?} does not parse: {:?}", parsed.err());
            let parsed = parsed.unwrap();
            prop_assert_eq!(parsed.strip_spans(), rule);
            prop_assert_eq!(print(&parsed), canonical);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Arbitrary text never panics the parser, and what it accepts round-trips.
        #[test]
        fn arbitrary_text_never_panics(text in "[ -~\u{2013}\u{201c}\u{201d}\n]{0,80}") {
            if let Ok(rule) = parse(&text) {
                let canonical = print(&rule);
                prop_assert_eq!(parse(&canonical).map(|reparsed| reparsed.strip_spans()), Ok(rule.strip_spans()));
            }
        }

        /// Token soup built from the language's own words exercises the parser's error paths.
        #[test]
        fn token_soup_never_panics(words in proptest::collection::vec(proptest::sample::select(vec![
            "(", ")", "[", "]", ",", "user.department", "user.otherMails", "user.assignedPlans",
            "user.memberOf", "device.deviceOSType", "_", "assignedPlan.servicePlanId", "group.objectId",
            "-eq", "-in", "-match", "-any", "-all", "-and", "-or", "-not", "\"x\"", "'y'", "null",
            "true", "system.now", "-plus", "P1D", "2020-01-01T00:00:00Z", "Direct", "Reports", "for",
            "\"*\"", "user.employeeHireDate", "-le",
        ]), 0..24)) {
            let text = words.join(" ");
            if let Ok(rule) = parse(&text) {
                let canonical = print(&rule);
                prop_assert_eq!(parse(&canonical).map(|reparsed| reparsed.strip_spans()), Ok(rule.strip_spans()));
            }
        }
    }
}

/// One rendered diagnostic per kind of rule error, as `rule check` prints them.
#[test]
fn rule_error_snapshots() {
    use seatplan::diag::Location;
    use seatplan::render::diagnostics::{render, Style};
    use seatplan::source::Sources;

    let rules = [
        r#"(user.department -eq "Sales") (user.department -eq "Marketing")"#,
        r#"(user.department-eq"Sales")"#,
        "(user.department –eq “Sales”)",
        r#"(device.displayName -eq "Rob Iphone”)"#,
        r#"(user.accountEnabled -eq true"#,
        r#"user.accountEnabled -eq true)"#,
        r#"(user.invalidProperty -eq "Value")"#,
        r#"(device.deviceOwnership -eq "Corporate") and (device.manufacturer -eq "samsung")"#,
        r#"(user.accountEnabled -contains true)"#,
        r#"(user.accountEnabled -eq "True")"#,
        r#"(user.jobTitle -eq "t1") or (user.displayName -eq ["n1", "n2"])"#,
        r#"user.userPrincipalName -match [".*@domain1.com",".*@domain2.com"]"#,
        r#"(user.userPrincipalName -match "*@domain.ext")"#,
        r#"user.mail -match "^(?!admin)""#,
        r#"user.memberof -all (group.objectId -in ['groupId'])"#,
        r#"(user.city -eq "x") -and device.devicePhysicalIds -any _ -eq "y""#,
        r#"user.employeeHireDate -ge system.now -plus 30 days"#,
        r#"Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863" -and (user.city -eq "x")"#,
        r#"user.department -eq `"Sales`""#,
        r#"(device.extensionAttribute15 -eq HighRisk-W11-23H2)"#,
    ];
    let style = Style {
        color: false,
        width: 100,
    };
    let mut out = String::new();
    for rule in rules {
        let mut sources = Sources::new();
        let source = sources.add("<rule>", rule);
        let error = parse(rule).expect_err(rule);
        let diagnostic = error.to_diagnostic(|range| Location::span(source, range));
        out.push_str(&render(&diagnostic, &sources, style));
        out.push('\n');
    }
    insta::assert_snapshot!("rule_errors", out);
}
