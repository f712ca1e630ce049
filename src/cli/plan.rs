//! `seatplan plan`: compute what applying the config would do, print it, optionally save it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{
    choose_backend, load_checked_config, open_backend, BackendChoice, CheckedConfig,
};
use super::{Exit, Terminal};
use crate::backend::graph::PollPolicy;
use crate::backend::{Backend, CurrentState};
use crate::diag::Diagnostics;
use crate::io::write_atomic;
use crate::plan::{compute, Inputs, Overrides, Planned};
use crate::render::diagnostics::{render_all, to_json, Style};
use crate::render::markdown::{failure_markdown, markdown};
use crate::render::plan::{failure_json, text, TextOptions};
use crate::source::Sources;

/// Output formats of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Terraform-like text for people.
    Text,
    /// The JSON plan document (stable, versioned).
    Json,
    /// A Markdown summary for a pull-request comment.
    Markdown,
}

/// Arguments shared by `plan` and `apply`: where the config and state are, and the safety
/// overrides.
#[derive(Debug, Args)]
pub struct PlanInputArgs {
    /// Config file or directory of *.yaml files (repeatable). Default: seatplan.yaml or seatplan/.
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// The tenant state file. Default: the config's `backend`, else tenant.yaml.
    #[arg(long, value_name = "FILE", conflicts_with = "graph")]
    pub state: Option<PathBuf>,
    /// Read the tenant from Microsoft Graph (credentials from SEATPLAN_* environment variables).
    #[arg(long)]
    pub graph: bool,
    /// With --graph: keep the tenant in this snapshot file (written by `seatplan pull --graph`)
    /// and read only what changed since it was taken; a missing file is created by a full read.
    #[arg(long, value_name = "FILE", requires = "graph")]
    pub snapshot: Option<PathBuf>,
    /// Allow plans in which users lose service plans (and static→dynamic conversions).
    #[arg(long)]
    pub allow_license_loss: bool,
    /// Allow more license removals than `max_license_removals`.
    #[arg(long)]
    pub force: bool,
    /// Add a reprocess step for every user in error whom the change lets succeed (the service
    /// does not retry by itself; see `needs-reprocess`).
    #[arg(long)]
    pub reprocess: bool,
}

/// Arguments of `seatplan plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Config, state and overrides.
    #[command(flatten)]
    pub inputs: PlanInputArgs,
    /// Save the plan (JSON) to this file, for `seatplan show` and `seatplan apply FILE`.
    #[arg(short = 'o', long = "out", value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Exit 2 when there are changes, 0 when there are none (1 stays an error).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Text: list the service plans behind each product a user gains or loses.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// A computed plan with the inputs it came from.
pub struct Prepared {
    /// The config and catalog.
    pub config: CheckedConfig,
    /// The state, as the backend read it.
    pub state: CurrentState,
    /// The plan.
    pub planned: Planned,
}

/// Loads the config, reads the tenant from the backend the arguments and config name, and
/// computes the plan; the problems that prevent it are returned for the caller to report.
pub fn prepare(
    args: &PlanInputArgs,
    sources: &mut Sources,
    terminal: &Terminal,
) -> Result<Prepared, Diagnostics> {
    let config = load_checked_config(&args.config, sources)?;
    let mut choice = choose_backend(
        args.state.as_deref(),
        args.graph,
        &config.valid.loaded,
        sources,
    )
    .map_err(Diagnostics::from)?;
    if let BackendChoice::Graph { snapshot, .. } = &mut choice {
        snapshot.clone_from(&args.snapshot);
    }
    let (mut backend, warnings) = open_backend(
        &choice,
        &config.valid.loaded.config,
        None,
        PollPolicy::default(),
        terminal.stderr_is_tty,
    )
    .map_err(Diagnostics::from)?;
    if !warnings.is_empty() {
        terminal.report(warnings.iter(), sources);
    }
    let state = backend.read(sources)?;
    for note in backend.notes() {
        terminal.eprint(&format!("{note}\n"));
    }
    prepare_with(args, config, state, backend.as_ref(), sources)
}

/// Computes the plan for an already loaded config and a state read from `backend`.
#[expect(
    clippy::disallowed_methods,
    reason = "rules' `system.now` is the time the plan is made"
)]
pub fn prepare_with(
    args: &PlanInputArgs,
    config: CheckedConfig,
    state: CurrentState,
    backend: &dyn Backend,
    sources: &mut Sources,
) -> Result<Prepared, Diagnostics> {
    let record = |diagnostic: &crate::diag::Diagnostic| to_json(diagnostic, sources);
    let inputs = Inputs {
        config: &config.valid,
        state: &state.state,
        state_source: state.source,
        state_fingerprint: state.fingerprint.clone(),
        config_fingerprint: config.fingerprint.clone(),
        now: jiff::Timestamp::now(),
        overrides: Overrides {
            allow_license_loss: args.allow_license_loss,
            force: args.force,
            reprocess: args.reprocess,
        },
        warnings: &config.warnings.0,
        record: &record,
    };
    let planned = match compute(&inputs) {
        Ok(planned) => planned,
        Err(problems) => {
            backend.locate(&state, sources);
            return Err(problems);
        }
    };
    Ok(Prepared {
        config,
        state,
        planned,
    })
}

/// Reports the problems that prevent a plan on stderr and, for `--format json` or `markdown`,
/// prints a document of them on stdout, so that CI always has something to post.
fn fail(
    terminal: &Terminal,
    problems: &Diagnostics,
    sources: &Sources,
    format: PlanFormat,
) -> Exit {
    terminal.report(problems.iter(), sources);
    let json: Vec<serde_json::Value> = problems
        .iter()
        .map(|diagnostic| to_json(diagnostic, sources))
        .collect();
    match format {
        PlanFormat::Text => {}
        PlanFormat::Json => terminal.print(&failure_json(&json)),
        PlanFormat::Markdown => {
            let rendered = render_all(
                problems.iter(),
                sources,
                Style {
                    color: false,
                    width: 100,
                },
            );
            terminal.print(&failure_markdown(&json, &rendered));
        }
    }
    Exit::Failure
}

/// Reports a prepared plan's diagnostics on stderr, seals the document and prints it in
/// `format`.
pub fn show_plan(
    prepared: &mut Prepared,
    sources: &Sources,
    terminal: &Terminal,
    format: PlanFormat,
    verbose: bool,
) {
    prepared.planned.document.seal();
    terminal.report(
        prepared
            .config
            .warnings
            .iter()
            .chain(&prepared.planned.diagnostics),
        sources,
    );
    let document = &prepared.planned.document;
    let output = match format {
        PlanFormat::Text => text(
            document,
            &TextOptions::plan(terminal.stdout_color(), verbose),
        ),
        PlanFormat::Json => document_json(document),
        PlanFormat::Markdown => markdown(document),
    };
    terminal.print(&output);
}

/// Runs `plan`.
pub fn run(args: PlanArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let mut prepared = match prepare(&args.inputs, &mut sources, terminal) {
        Ok(prepared) => prepared,
        Err(problems) => return fail(terminal, &problems, &sources, args.format),
    };
    show_plan(&mut prepared, &sources, terminal, args.format, args.verbose);
    let document = &prepared.planned.document;
    let exit = if let Some(Err(diagnostic)) = args
        .out
        .as_ref()
        .map(|path| write_atomic(path, document_json(document).as_bytes()))
    {
        terminal.report([&diagnostic], &sources);
        Exit::Failure
    } else if document.summary.rejected {
        Exit::Failure
    } else if args.detailed_exitcode && !document.changes.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    };
    leave_to_exit(prepared);
    exit
}

/// Hands the tenant, its indexes and the plan to the end of the process instead of freeing them
/// one allocation at a time: for a million users that is millions of frees (seconds), which the
/// operating system does at once when the process exits. Nothing here holds a file or a lock.
pub fn leave_to_exit(prepared: Prepared) {
    std::mem::forget(prepared);
}

/// The plan document as pretty JSON with a final newline.
pub fn document_json(document: &crate::plan::document::PlanDocument) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}
