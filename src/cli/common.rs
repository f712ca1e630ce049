//! What several commands share: reading and checking the config (YAML, schema, rules, catalog
//! references) into a config plus its catalog, and reading the tenant state with its fingerprint.

use std::path::{Path, PathBuf};

use crate::backend::StateFile;
use crate::catalog::{check_config_references, Catalog};
use crate::config::LoadedConfig;
use crate::diag::{Diagnostic, Diagnostics};
use crate::io::{default_config_paths, fingerprint, load_config};
use crate::rules::check_config;
use crate::source::{SourceId, Sources};
use crate::tenant::model::TenantState;

/// The default state file when neither `--state` nor the config names one.
pub const DEFAULT_STATE: &str = "tenant.yaml";

/// A checked config, its catalog and its fingerprint.
pub struct CheckedConfig {
    /// The merged config.
    pub loaded: LoadedConfig,
    /// The built-in catalog with the config's additions.
    pub catalog: Catalog,
    /// `sha256:` over the config files' names and contents, in reading order.
    pub fingerprint: String,
    /// Warnings found while checking (errors make the load fail).
    pub warnings: Diagnostics,
}

/// Reads, checks and merges the config at `paths` (default `seatplan.yaml` or `seatplan/`), and
/// builds its catalog. Returns every problem at once.
pub fn load_checked_config(
    paths: &[PathBuf],
    sources: &mut Sources,
) -> Result<CheckedConfig, Diagnostics> {
    let paths = if paths.is_empty() {
        default_config_paths()
    } else {
        paths.to_vec()
    };
    let first_source = SourceId(sources_len(sources));
    let loaded = load_config(&paths, sources)?;
    let catalog = match &loaded.config.catalog {
        None => Catalog::builtin().clone(),
        Some(additions) => Catalog::builtin()
            .with_additions(additions, |pointer| loaded.catalog_location(pointer))?,
    };
    let mut problems = check_config(&loaded);
    problems.extend(check_config_references(&loaded, &catalog));
    if problems.has_errors() {
        return Err(problems);
    }
    let mut hashed = Vec::new();
    let mut index = first_source.0;
    while let Some(file) = sources.get(SourceId(index)) {
        hashed.extend_from_slice(file.name.as_bytes());
        hashed.push(0);
        hashed.extend_from_slice(file.text.as_bytes());
        hashed.push(0);
        index += 1;
    }
    Ok(CheckedConfig {
        loaded,
        catalog,
        fingerprint: fingerprint(&hashed),
        warnings: problems,
    })
}

fn sources_len(sources: &Sources) -> u32 {
    let mut count = 0;
    while sources.get(SourceId(count)).is_some() {
        count += 1;
    }
    count
}

/// A tenant state read from a file.
pub struct LoadedState {
    /// The state.
    pub state: TenantState,
    /// Its source (for diagnostics pointing into it).
    pub source: SourceId,
    /// The file as read (text, fingerprint, and `commit` for apply).
    pub file: StateFile,
}

impl LoadedState {
    /// `sha256:` of the file's bytes.
    pub fn fingerprint(&self) -> &str {
        self.file.fingerprint()
    }

    /// Makes diagnostics about a JSON state file locatable (YAML files already are).
    pub fn index_pointers(&self, sources: &mut Sources) {
        self.file.index_pointers(self.source, sources);
    }
}

/// Reads and parses a tenant state file (YAML or JSON by extension).
pub fn load_state(path: &Path, sources: &mut Sources) -> Result<LoadedState, Diagnostics> {
    let file = StateFile::read(path).map_err(|diagnostic: Diagnostic| {
        let hint = if path == Path::new(DEFAULT_STATE) {
            "\nno state file was given: pass --state FILE, or create one with `seatplan import graph`"
        } else {
            ""
        };
        let help = diagnostic.help.clone().unwrap_or_default();
        Diagnostics::from(diagnostic.with_help(format!("{help}{hint}")))
    })?;
    let (state, source) = file.parse(sources)?;
    Ok(LoadedState {
        state,
        source,
        file,
    })
}
