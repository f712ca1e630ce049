//! `seatplan report`: the tenant's licensing as the service leaves it — seats per product, who
//! holds each product directly or through groups, every licensed group's status with its users in
//! error, dynamic groups whose membership is pending and members of nested groups. Also the
//! loading that `reprocess` and `rule test` share: state, optional config (for its catalog
//! additions), evaluation.

use std::borrow::Cow;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{load_checked_config, DEFAULT_STATE};
use super::{Exit, Terminal};
use crate::backend::tenant_file::FileBackend;
use crate::backend::{Backend, CurrentState};
use crate::catalog::Catalog;
use crate::diag::Diagnostics;
use crate::plan::{evaluate, report, tenant_catalog, Evaluated};
use crate::render::plan::Palette;
use crate::render::report::{json, markdown, text};
use crate::source::Sources;

/// Output formats of `report` and `reprocess`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Text for people.
    Text,
    /// JSON for scripts (stable, versioned).
    Json,
    /// Markdown for a wiki page or a pull-request comment.
    Markdown,
}

/// Where the tenant state and the optional config are.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The tenant state file. Default: tenant.yaml.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Config file or directory (repeatable), read for its `catalog:` additions. Default: none
    /// (the built-in catalog).
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
}

/// Arguments of `seatplan report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// State and config.
    #[command(flatten)]
    pub inputs: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// A tenant read, indexed and evaluated, with the catalog it was evaluated against.
pub struct Loaded {
    /// The built-in catalog, with the config's additions when a config was given and the
    /// plans the state's subscriptions list that it does not.
    pub catalog: Cow<'static, Catalog>,
    /// The state as read.
    pub state: CurrentState,
    /// Index, memberships and the engine's outcome.
    pub evaluated: Evaluated,
}

/// Reads the optional config and the state, and evaluates the tenant (reporting problems and
/// warnings on the terminal).
#[expect(
    clippy::disallowed_methods,
    reason = "rules' `system.now` is the time the report is made"
)]
pub fn load(args: &StateArgs, sources: &mut Sources, terminal: &Terminal) -> Result<Loaded, Exit> {
    let fail = |problems: &Diagnostics, sources: &Sources| {
        terminal.report(problems.iter(), sources);
        Exit::Failure
    };
    let catalog = if args.config.is_empty() {
        Cow::Borrowed(Catalog::builtin())
    } else {
        let config = load_checked_config(&args.config, sources).map_err(|p| fail(&p, sources))?;
        if !config.warnings.is_empty() {
            terminal.report(config.warnings.iter(), sources);
        }
        config.valid.catalog
    };
    let path = args
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE));
    let mut backend = FileBackend::new(&path);
    let state = backend.read(sources).map_err(|p| fail(&p, sources))?;
    // Plans Microsoft added to a product since the catalog was published, as the state's
    // subscriptions list them: known to the report as they are to the plan.
    let catalog = match tenant_catalog(&catalog, &state.state) {
        Some((grown, _)) => Cow::Owned(grown),
        None => catalog,
    };
    let evaluated = evaluate(&catalog, &state.state, state.source, jiff::Timestamp::now())
        .map_err(|problems| {
            backend.locate(&state, sources);
            fail(&problems, sources)
        })?;
    Ok(Loaded {
        catalog,
        state,
        evaluated,
    })
}

/// Runs `report`.
pub fn run(args: ReportArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let loaded = match load(&args.inputs, &mut sources, terminal) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let report = report::build(&loaded.catalog, &loaded.state.state, &loaded.evaluated);
    let output = match args.format {
        ReportFormat::Text => text(&report, Palette::new(terminal.stdout_color())),
        ReportFormat::Json => json(&report),
        ReportFormat::Markdown => markdown(&report),
    };
    terminal.print(&output);
    Exit::Success
}
