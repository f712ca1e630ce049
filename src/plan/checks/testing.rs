//! The checks' unit tests run each check on its code's smallest fixture, the files the end-to-end
//! test of the binary runs too (`tests/fixtures/codes/<code>/`).

use crate::catalog::Catalog;
use crate::config::valid::validate;
use crate::config::{merge, parse_config_file};
use crate::diag::{Code, Diagnostic};
use crate::plan::{compute, Inputs, Overrides};
use crate::render::diagnostics::to_json;
use crate::source::{SourceId, Sources};
use crate::tenant::parse::{parse_state, Format};

/// A code's fixture: the config and the tenant state, as text.
pub(super) struct Fixture {
    /// `seatplan.yaml`.
    pub config: &'static str,
    /// `tenant.yaml`.
    pub state: &'static str,
}

/// The fixture of a code, read at compile time from `tests/fixtures/codes/<code>/`.
macro_rules! fixture {
    ($code:literal) => {
        $crate::plan::checks::testing::Fixture {
            config: include_str!(concat!(
                "../../../tests/fixtures/codes/",
                $code,
                "/seatplan.yaml"
            )),
            state: include_str!(concat!(
                "../../../tests/fixtures/codes/",
                $code,
                "/tenant.yaml"
            )),
        }
    };
}
pub(super) use fixture;

impl Fixture {
    /// The plan's diagnostics with `overrides`, in the order the checks return them.
    pub fn diagnostics(&self, overrides: Overrides) -> Vec<Diagnostic> {
        let file = match parse_config_file(SourceId(0), self.config) {
            Ok(file) => file,
            Err((problems, _)) => panic!("the fixture's config parses: {problems:?}"),
        };
        let loaded = merge(vec![file]).expect("the fixture's config merges");
        let (valid, _) = match validate(loaded, Catalog::builtin()) {
            Ok(valid) => valid,
            Err(problems) => panic!("the fixture's config is valid: {problems:?}"),
        };
        let (state, _) = match parse_state(SourceId(1), self.state, Format::Yaml) {
            Ok(parsed) => parsed,
            Err((problems, _)) => panic!("the fixture's state parses: {problems:?}"),
        };
        let sources = Sources::new();
        let record = |diagnostic: &Diagnostic| to_json(diagnostic, &sources);
        let inputs = Inputs {
            config: &valid,
            state: &state,
            state_source: SourceId(1),
            state_fingerprint: String::new(),
            config_fingerprint: String::new(),
            now: "2026-01-01T00:00:00Z".parse().expect("a timestamp"),
            overrides,
            warnings: &[],
            record: &record,
        };
        match compute(&inputs) {
            Ok(planned) => planned.diagnostics,
            Err(problems) => panic!("the fixture plans: {problems:?}"),
        }
    }

    /// The diagnostics with `code`, under the default overrides.
    pub fn reported(&self, code: Code) -> Vec<Diagnostic> {
        self.reported_with(code, Overrides::default())
    }

    /// The diagnostics with `code`, under `overrides`.
    pub fn reported_with(&self, code: Code, overrides: Overrides) -> Vec<Diagnostic> {
        self.diagnostics(overrides)
            .into_iter()
            .filter(|diagnostic| diagnostic.code == code)
            .collect()
    }
}
