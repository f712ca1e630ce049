//! What several commands share: reading and checking the config (YAML, schema, rules, catalog
//! references) into a config plus its catalog, and choosing and opening the backend the tenant state is read from.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::backend::graph::{GraphBackend, PollPolicy};
use crate::backend::tenant_file::FileBackend;
pub use crate::backend::tenant_file::DEFAULT_STATE;
use crate::backend::{Backend, CurrentState, LockOptions};
use crate::catalog::{check_config_references, Catalog};
use crate::config::{BackendSpec, Config, LoadedConfig};
use crate::diag::{Diagnostic, Diagnostics};
use crate::graph::GraphSettings;
use crate::io::{default_config_paths, fingerprint, load_config};
use crate::rules::check_config;
use crate::source::{SourceId, Sources};

/// A checked config, its catalog and its fingerprint.
pub struct CheckedConfig {
    /// The merged config.
    pub loaded: LoadedConfig,
    /// The built-in catalog, or a copy with the config's additions.
    pub catalog: Cow<'static, Catalog>,
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
    let first_source = sources.len();
    let loaded = load_config(&paths, sources)?;
    let catalog = match &loaded.config.catalog {
        None => Cow::Borrowed(Catalog::builtin()),
        Some(additions) => Cow::Owned(
            Catalog::builtin()
                .with_additions(additions, |pointer| loaded.catalog_location(pointer))?,
        ),
    };
    let mut problems = check_config(&loaded);
    problems.extend(check_config_references(&loaded, &catalog));
    if problems.has_errors() {
        return Err(problems);
    }
    let mut hashed = Vec::new();
    for index in first_source..sources.len() {
        if let Some(file) = sources.get(SourceId(index as u32)) {
            hashed.extend_from_slice(file.name.as_bytes());
            hashed.push(0);
            hashed.extend_from_slice(file.text.as_bytes());
            hashed.push(0);
        }
    }
    Ok(CheckedConfig {
        loaded,
        catalog,
        fingerprint: fingerprint(&hashed),
        warnings: problems,
    })
}

/// Reads and parses a tenant state file (YAML or JSON by extension).
pub fn load_state(path: &Path, sources: &mut Sources) -> Result<CurrentState, Diagnostics> {
    FileBackend::new(path).read(sources)
}

/// The backend a command talks to, as chosen by the command line and the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackendChoice {
    /// A tenant state file.
    File(PathBuf),
    /// Microsoft Graph, with the config's tenant and client ids (the environment overrides
    /// them).
    Graph {
        /// The config's tenant id.
        tenant_id: Option<String>,
        /// The config's client id.
        client_id: Option<String>,
    },
}

/// `--state FILE` wins, then `--graph`, then the config's `backend`, then `tenant.yaml`.
pub fn choose_backend(state: Option<&Path>, graph: bool, config: &Config) -> BackendChoice {
    let configured = config.backend.as_ref();
    let graph_ids = || match configured {
        Some(BackendSpec::Graph { graph }) => BackendChoice::Graph {
            tenant_id: graph.tenant_id.clone(),
            client_id: graph.client_id.clone(),
        },
        _ => BackendChoice::Graph {
            tenant_id: None,
            client_id: None,
        },
    };
    match (state, graph, configured) {
        (Some(path), _, _) => BackendChoice::File(path.to_path_buf()),
        (None, true, _) => graph_ids(),
        (None, false, Some(BackendSpec::File { file })) => BackendChoice::File(PathBuf::from(file)),
        (None, false, Some(BackendSpec::Graph { .. })) => graph_ids(),
        (None, false, None) => BackendChoice::File(PathBuf::from(DEFAULT_STATE)),
    }
}

/// Opens the chosen backend. With `lock`, a file backend holds its exclusive lock until
/// dropped, and the warnings about a killed apply (`stale-lock`, `unfinished-apply`) are
/// returned. With
/// `progress` (stderr is a terminal), reading from Graph shows a spinner.
pub fn open_backend(
    choice: &BackendChoice,
    config: &Config,
    lock: Option<&LockOptions>,
    poll: PollPolicy,
    progress: bool,
) -> Result<(Box<dyn Backend>, Vec<Diagnostic>), Diagnostic> {
    match choice {
        BackendChoice::File(path) => match lock {
            Some(options) => {
                let (backend, stale) = FileBackend::locked(path, options)?;
                Ok((Box::new(backend), stale))
            }
            None => Ok((Box::new(FileBackend::new(path)), Vec::new())),
        },
        BackendChoice::Graph {
            tenant_id,
            client_id,
        } => {
            let settings = GraphSettings::from_env(tenant_id.as_deref(), client_id.as_deref())?;
            let groups = config
                .groups
                .iter()
                .flat_map(|groups| groups.keys().cloned())
                .collect();
            let backend = GraphBackend::new(settings, groups, poll);
            let backend = if progress {
                backend.with_progress()
            } else {
                backend
            };
            Ok((Box::new(backend), Vec::new()))
        }
    }
}
