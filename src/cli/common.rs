//! What several commands share: reading and checking the config (YAML, schema, rules, catalog
//! references) into a config plus its catalog, and reading the tenant state with its fingerprint.

use std::path::{Path, PathBuf};

use crate::catalog::{check_config_references, Catalog};
use crate::config::LoadedConfig;
use crate::diag::{Diagnostic, Diagnostics};
use crate::io::{default_config_paths, fingerprint, load_config, read_text};
use crate::rules::check_config;
use crate::source::{SourceId, Sources};
use crate::tenant::model::TenantState;
use crate::tenant::parse::{json_pointers, parse_state, Format};

/// The largest tenant state file seatplan reads (a JSON export of a million users is ~600 MB).
pub const MAX_STATE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

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
    /// `sha256:` of the file's bytes.
    pub fingerprint: String,
    /// The path it was read from.
    pub path: PathBuf,
}

/// Reads and parses a tenant state file (YAML or JSON by extension).
pub fn load_state(path: &Path, sources: &mut Sources) -> Result<LoadedState, Diagnostics> {
    let text = read_text(path, MAX_STATE_BYTES).map_err(|diagnostic: Diagnostic| {
        let hint = if path == Path::new(DEFAULT_STATE) {
            "\nno state file was given: pass --state FILE, or create one with `seatplan import graph`"
        } else {
            ""
        };
        let help = diagnostic.help.clone().unwrap_or_default();
        Diagnostics::from(diagnostic.with_help(format!("{help}{hint}")))
    })?;
    let name = path.display().to_string();
    let format = Format::for_name(&name);
    let fingerprint = fingerprint(text.as_bytes());
    let source = sources.add(name, text.as_str());
    match parse_state(source, &text, format) {
        Ok((state, pointers)) => {
            if let Some(pointers) = pointers {
                sources.set_pointers(source, pointers);
            }
            Ok(LoadedState {
                state,
                source,
                fingerprint,
                path: path.to_path_buf(),
            })
        }
        Err((diagnostics, pointers)) => {
            if let Some(pointers) = pointers.or_else(|| json_pointers(source, &text)) {
                sources.set_pointers(source, pointers);
            }
            Err(diagnostics)
        }
    }
}

/// Builds the pointer map of a JSON state source that was parsed without one, so that
/// diagnostics about it can show lines. Called only when such diagnostics exist.
pub fn index_state(sources: &mut Sources, source: SourceId) {
    let Some(file) = sources.get(source) else {
        return;
    };
    if file.pointers.is_some() {
        return;
    }
    let text = file.text.clone();
    if let Some(pointers) = json_pointers(source, &text) {
        sources.set_pointers(source, pointers);
    }
}
