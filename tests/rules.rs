//! End-to-end tests of the rule language: the real-world corpus, the `rule check` command and
//! rule errors inside config files.

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
