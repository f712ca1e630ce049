//! `seatplan plan`: compute what applying the config would do, print it, optionally save it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::common::{load_checked_config, load_state, CheckedConfig, LoadedState, DEFAULT_STATE};
use super::{Exit, Terminal};
use crate::diag::Diagnostics;
use crate::io::write_atomic;
use crate::plan::{compute, Inputs, Overrides, Planned};
use crate::render::diagnostics::to_json;
use crate::render::plan::{markdown, text, Palette};
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
    /// The tenant state file. Default: tenant.yaml.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Allow plans in which users lose service plans (and static→dynamic conversions).
    #[arg(long)]
    pub allow_license_loss: bool,
    /// Allow more license removals than `max_license_removals`.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `seatplan plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    /// Config, state and overrides.
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
}

/// A computed plan with the inputs it came from.
pub struct Prepared {
    /// The config and catalog.
    pub config: CheckedConfig,
    /// The state.
    pub state: LoadedState,
    /// The plan.
    pub planned: Planned,
}

/// The state path the arguments name (default `tenant.yaml`).
pub fn state_path(args: &PlanInputArgs) -> PathBuf {
    args.state
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE))
}

/// Loads config and state and computes the plan, reporting problems on the terminal.
pub fn prepare(
    args: &PlanInputArgs,
    sources: &mut Sources,
    terminal: &Terminal,
) -> Result<Prepared, Exit> {
    let config = load_checked_config(&args.config, sources)
        .map_err(|problems| fail(terminal, &problems, sources))?;
    let state = load_state(&state_path(args), sources)
        .map_err(|problems| fail(terminal, &problems, sources))?;
    prepare_with(args, config, state, sources, terminal)
}

/// Computes the plan for an already loaded config and state.
pub fn prepare_with(
    args: &PlanInputArgs,
    config: CheckedConfig,
    state: LoadedState,
    sources: &mut Sources,
    terminal: &Terminal,
) -> Result<Prepared, Exit> {
    let inputs = Inputs {
        catalog: &config.catalog,
        loaded: &config.loaded,
        state: &state.state,
        state_source: state.source,
        state_fingerprint: state.fingerprint().to_string(),
        config_fingerprint: config.fingerprint.clone(),
        now: jiff::Timestamp::now(),
        overrides: Overrides {
            allow_license_loss: args.allow_license_loss,
            force: args.force,
        },
    };
    let planned = match compute(&inputs) {
        Ok(planned) => planned,
        Err(problems) => {
            state.index_pointers(sources);
            return Err(fail(terminal, &problems, sources));
        }
    };
    Ok(Prepared {
        config,
        state,
        planned,
    })
}

fn fail(terminal: &Terminal, problems: &Diagnostics, sources: &Sources) -> Exit {
    terminal.report(problems.iter(), sources);
    Exit::Failure
}

/// Reports a prepared plan's diagnostics on stderr, stores their JSON form in the document and
/// prints the document in `format`.
pub fn show_plan(
    prepared: &mut Prepared,
    sources: &Sources,
    terminal: &Terminal,
    format: PlanFormat,
) {
    let mut diagnostics: Vec<_> = prepared.config.warnings.iter().cloned().collect();
    diagnostics.extend(prepared.planned.diagnostics.iter().cloned());
    prepared.planned.document.diagnostics = diagnostics
        .iter()
        .map(|diagnostic| to_json(diagnostic, sources))
        .collect();
    terminal.report(diagnostics.iter(), sources);
    let document = &prepared.planned.document;
    let output = match format {
        PlanFormat::Text => text(document, Palette::new(terminal.stdout_color())),
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
        Err(exit) => return exit,
    };
    show_plan(&mut prepared, &sources, terminal, args.format);
    let document = &prepared.planned.document;
    if let Some(path) = &args.out {
        if let Err(diagnostic) = write_atomic(path, document_json(document).as_bytes()) {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    }
    if document.summary.rejected {
        Exit::Failure
    } else if args.detailed_exitcode && !document.changes.is_empty() {
        Exit::Changes
    } else {
        Exit::Success
    }
}

/// The plan document as pretty JSON with a final newline.
pub fn document_json(document: &crate::plan::document::PlanDocument) -> String {
    let mut text = serde_json::to_string_pretty(document).unwrap_or_default();
    text.push('\n');
    text
}
