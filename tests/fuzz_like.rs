//! A stable stand-in for the cargo-fuzz targets: the same bodies (`fuzz/fuzz_targets/common`)
//! fed the test corpora and random mutations of them (bit flips, byte insertions and deletions,
//! truncation, splicing two inputs, repeating a chunk, inserting YAML/JSON/rule tokens). The
//! generator is a fixed-seed xorshift, so every run tries the same inputs; a failure names the
//! iteration and prints the input. Exactly [`DEFAULT_ITERATIONS`] mutants per target, whatever the
//! machine's load (about two seconds in a debug build); `SEATPLAN_FUZZ_ITERATIONS=N` runs N.

// Tests are an edge: they read the corpora and the environment.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

#[path = "../fuzz/fuzz_targets/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

/// How many mutants each target runs unless `SEATPLAN_FUZZ_ITERATIONS` says otherwise.
const DEFAULT_ITERATIONS: usize = 1_500;

/// Tokens worth inserting: structure the parsers branch on.
const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "<<: ",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "\\u0000",
    "\\ud800",
    "\n",
    "\r\n",
    "\t",
    "#",
    "---\n",
    "...\n",
    "!!binary ",
    "? ",
    "|\n",
    ">-\n",
    "\u{feff}",
    "\u{202e}",
    "\u{200b}",
    "1e400",
    "-1",
    "18446744073709551616",
    "null",
    "~",
    "true",
    "version: 1\n",
    "groups:\n",
    "users:\n",
    "members: ",
    "licenses: ",
    "sku: ",
    "rule: ",
    "usage_location: ",
    "enabled: ",
    "(",
    ")",
    " -and ",
    " -or ",
    " -not ",
    " -eq ",
    " -match ",
    " -in ",
    " -any ",
    "user.department",
    "user.assignedPlans",
    "device.",
    "\"x\"",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        if bound == 0 {
            0
        } else {
            (self.next() % bound as u64) as usize
        }
    }
}

/// One random edit of `input` (`other` is a second seed for splicing).
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    let at = rng.below(input.len() + 1);
    match rng.below(8) {
        0 if !input.is_empty() => {
            let index = rng.below(input.len());
            input[index] ^= 1 << rng.below(8);
        }
        1 => input.insert(at, rng.next() as u8),
        2 if !input.is_empty() => {
            let end = (at + 1 + rng.below(16)).min(input.len());
            input.drain(at.min(end)..end);
        }
        3 => input.truncate(at),
        4 => {
            let from = rng.below(other.len() + 1);
            input.truncate(at);
            input.extend_from_slice(&other[from..]);
        }
        5 if !input.is_empty() => {
            let start = rng.below(input.len());
            let end = (start + 1 + rng.below(64)).min(input.len());
            let chunk = input[start..end].to_vec();
            for _ in 0..=rng.below(3) {
                input.splice(at..at, chunk.iter().copied());
            }
        }
        _ => {
            let token = TOKENS[rng.below(TOKENS.len())].as_bytes();
            input.splice(at..at, token.iter().copied());
        }
    }
}

/// Every file under `dirs` (recursively) that is small enough to mutate quickly.
fn seeds(dirs: &[&str]) -> Vec<Vec<u8>> {
    fn walk(path: &Path, out: &mut Vec<PathBuf>) {
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(&entry.unwrap().path(), out);
            }
        } else {
            out.push(path.to_path_buf());
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in dirs {
        walk(&root.join(dir), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|file| std::fs::read(file).ok())
        .filter(|bytes| bytes.len() <= 64 * 1024)
        .collect()
}

/// How many mutants per target.
fn iterations() -> usize {
    std::env::var("SEATPLAN_FUZZ_ITERATIONS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(DEFAULT_ITERATIONS)
}

/// Runs `body` on every seed, then on `iterations()` mutants; returns how many inputs ran.
fn drive(name: &str, seed: u64, corpus: &[Vec<u8>], body: fn(&[u8])) -> usize {
    assert!(!corpus.is_empty(), "{name}: no seeds");
    let check = |label: &str, input: &[u8]| {
        if std::panic::catch_unwind(|| body(input)).is_err() {
            panic!(
                "{name}: {label} panicked on input {:?}",
                String::from_utf8_lossy(input)
            );
        }
    };
    for (index, input) in corpus.iter().enumerate() {
        check(&format!("seed {index}"), input);
    }
    let mut rng = Rng(seed);
    let mut ran = corpus.len();
    for iteration in 0..iterations() {
        let mut input = corpus[rng.below(corpus.len())].clone();
        let other = &corpus[rng.below(corpus.len())];
        for _ in 0..=rng.below(4) {
            mutate(&mut rng, &mut input, other);
        }
        check(&format!("iteration {iteration}"), &input);
        ran += 1;
    }
    ran
}

#[test]
fn config_loader_survives_mutated_configs() {
    let corpus = seeds(&["examples", "tests/fixtures/config", "tests/hostile/config"]);
    let ran = drive("config_loader", 0x5eed_c0f1, &corpus, common::config_loader);
    assert!(ran > corpus.len());
}

#[test]
fn tenant_loader_survives_mutated_states() {
    let corpus = seeds(&["tests/fixtures/codes", "tests/hostile/tenant"]);
    let ran = drive("tenant_loader", 0x5eed_7e4a, &corpus, common::tenant_loader);
    assert!(ran > corpus.len());
}

#[test]
fn rule_parser_survives_mutated_rules() {
    let mut corpus = seeds(&["tests/hostile/rules"]);
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules/rules-corpus-dev.jsonl"),
    )
    .unwrap();
    corpus.extend(
        rules
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter_map(|value| {
                value
                    .get("rule")
                    .and_then(|rule| rule.as_str().map(str::to_owned))
            })
            .map(String::into_bytes),
    );
    let ran = drive("rule_parser", 0x5eed_0001, &corpus, common::rule_parser);
    assert!(ran > corpus.len());
}

#[test]
fn plan_file_survives_mutated_plans() {
    // tests/fixtures/plans/quickstart.json: `seatplan plan -o` on examples/quickstart;
    // quickstart-without-steps.json: the same from before plans recorded their steps.
    let corpus = seeds(&["tests/hostile/plan", "tests/fixtures/plans"]);
    let ran = drive("plan_file", 0x5eed_9a4f, &corpus, common::plan_file);
    assert!(ran > corpus.len());
}

#[test]
fn graph_users_maps_mutated_pages_alike_from_text_and_parsed() {
    let corpus = seeds(&["tests/fixtures/graph/export", "tests/fixtures/graph/api"]);
    let ran = drive("graph_users", 0x5eed_6a9e, &corpus, common::graph_users);
    assert!(ran > corpus.len());
}
