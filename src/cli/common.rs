//! What several commands share: reading and checking the config (YAML, schema, rules, catalog
//! references) into a config plus its catalog, and choosing and opening the backend the tenant state is read from.

use std::path::{Component, Path, PathBuf};

use crate::backend::graph::{GraphBackend, PollPolicy};
use crate::backend::tenant_file::FileBackend;
pub use crate::backend::tenant_file::DEFAULT_STATE;
use crate::backend::{Backend, CurrentState, LockOptions};
use crate::catalog::Catalog;
use crate::config::valid::{validate, ValidConfig};
use crate::config::{BackendSpec, Config, LoadedConfig};
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::graph::GraphSettings;
use crate::io::{default_config_paths, fingerprint, load_config_partial};
use crate::source::{SourceId, Sources};

/// A valid config and its fingerprint.
pub struct CheckedConfig {
    /// The merged config, validated against its catalog.
    pub valid: ValidConfig,
    /// `sha256:` over the config files' names and contents, in reading order.
    pub fingerprint: String,
    /// Warnings found while checking (errors make the load fail).
    pub warnings: Diagnostics,
}

/// Reads, checks and merges the config at `paths` (default `seatplan.yaml` or `seatplan/`), and
/// validates it against its catalog. Returns every problem at once.
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
    let (loaded, mut problems) = load_config_partial(&paths, sources);
    let Some(loaded) = loaded else {
        return Err(problems);
    };
    // Every stage's problems together: those of the files (schema, YAML of other files) and
    // the checks of what could be read.
    let valid = match validate(loaded, Catalog::builtin()) {
        Ok((valid, warnings)) => {
            problems.extend(warnings);
            valid
        }
        Err(more) => {
            problems.extend(more);
            return Err(problems);
        }
    };
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
        valid,
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
        /// A snapshot file kept current by delta queries (`--snapshot`).
        snapshot: Option<PathBuf>,
    },
}

/// Chooses the backend: `--state`, else `--graph`, else the config's `backend`, else
/// `tenant.yaml`. A config's `backend: { file: … }` is resolved against the directory of the
/// config file that names it, and refused (`backend-path`) when it is absolute or leads out of
/// that directory (by `..` or a symbolic link): a config from a pull request must not make
/// `apply` write elsewhere. A path given with `--state` is used as it is.
pub fn choose_backend(
    state: Option<&Path>,
    graph: bool,
    loaded: &LoadedConfig,
    sources: &Sources,
) -> Result<BackendChoice, Diagnostic> {
    let configured = loaded.config.backend.as_ref();
    let graph_ids = || match configured {
        Some(BackendSpec::Graph { graph }) => BackendChoice::Graph {
            tenant_id: graph.tenant_id.clone(),
            client_id: graph.client_id.clone(),
            snapshot: None,
        },
        _ => BackendChoice::Graph {
            tenant_id: None,
            client_id: None,
            snapshot: None,
        },
    };
    Ok(match (state, graph, configured) {
        (Some(path), _, _) => BackendChoice::File(path.to_path_buf()),
        (None, true, _) => graph_ids(),
        (None, false, Some(BackendSpec::File { file })) => {
            BackendChoice::File(config_relative(file, loaded, sources)?)
        }
        (None, false, Some(BackendSpec::Graph { .. })) => graph_ids(),
        (None, false, None) => BackendChoice::File(PathBuf::from(DEFAULT_STATE)),
    })
}

/// The state file a config's `backend: { file }` names, inside the directory of that config
/// file.
fn config_relative(
    file: &str,
    loaded: &LoadedConfig,
    sources: &Sources,
) -> Result<PathBuf, Diagnostic> {
    let location = loaded.section_location("backend", "/backend/file");
    let base = loaded
        .origins
        .sections
        .get("backend")
        .and_then(|source| sources.get(*source))
        .map_or_else(
            || PathBuf::from("."),
            |source| crate::io::parent_directory(Path::new(&source.name)),
        );
    let refuse = |why: String| {
        let mut diagnostic = Diagnostic::new(
            Code::BackendPath,
            format!("the config's backend file `{file}` {why}"),
        )
        .with_help(
            "name a state file inside the config's directory (relative to it), or pass the path \
             with --state",
        );
        if let Some(location) = location.clone() {
            diagnostic = diagnostic.with_label(location, "this path");
        }
        diagnostic
    };
    let path = Path::new(file);
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir => {
                return Err(refuse(format!(
                    "leads out of the config's directory `{}`",
                    base.display()
                )))
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse("is absolute".to_owned()))
            }
        }
    }
    if depth == 0 {
        return Err(refuse("does not name a file".to_owned()));
    }
    let joined = base.join(path);
    // A link inside the directory may still lead out of it.
    if let (Ok(inside), Ok(resolved)) = (
        std::fs::canonicalize(&base),
        std::fs::canonicalize(&joined)
            .or_else(|_| std::fs::canonicalize(crate::io::parent_directory(&joined))),
    ) {
        if !resolved.starts_with(&inside) {
            return Err(refuse(format!(
                "leads out of the config's directory `{}` through a symbolic link (to `{}`)",
                base.display(),
                resolved.display()
            )));
        }
    }
    Ok(joined)
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
            None => {
                let warnings = crate::backend::file::report_unfinished(path)
                    .ok()
                    .flatten()
                    .into_iter()
                    .collect();
                Ok((Box::new(FileBackend::new(path)), warnings))
            }
        },
        BackendChoice::Graph {
            tenant_id,
            client_id,
            snapshot,
        } => {
            let settings = GraphSettings::from_env(tenant_id.as_deref(), client_id.as_deref())?;
            // Every group the config names, by display name, and by id where it pins one (a
            // group renamed by the config is not found under its new name yet).
            let groups = config
                .groups
                .iter()
                .flatten()
                .flat_map(|(name, group)| std::iter::once(name.clone()).chain(group.id.clone()))
                .collect();
            let rules = config
                .groups
                .iter()
                .flatten()
                .filter_map(|(_, group)| group.rule.clone())
                .collect();
            let mut backend = GraphBackend::new(settings, groups, poll).with_rules(rules);
            if let Some(snapshot) = snapshot {
                backend = backend.with_snapshot(snapshot.clone());
            }
            let backend = if progress {
                backend.with_progress()
            } else {
                backend
            };
            Ok((Box::new(backend), Vec::new()))
        }
    }
}
