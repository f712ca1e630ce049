//! `seatplan show`: render a saved plan file as text, JSON or Markdown.

use std::path::PathBuf;

use clap::Args;

use super::plan::{document_json, PlanFormat};
use super::{Exit, Terminal};
use crate::diag::Diagnostic;
use crate::io::read_text;
use crate::plan::document::{parse_plan, PlanDocument};
use crate::render::diagnostics::json_summary;
use crate::render::markdown::markdown;
use crate::render::plan::{text, TextOptions};
use crate::source::Sources;

/// The largest plan file seatplan reads.
pub const MAX_PLAN_BYTES: u64 = 512 * 1024 * 1024;

/// Arguments of `seatplan show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// A plan saved with `seatplan plan -o PLANFILE`.
    #[arg(value_name = "PLANFILE")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Text: list the service plans behind each product a user gains or loses.
    #[arg(short = 'v', long)]
    pub verbose: bool,
}

/// Reads and checks a plan file: JSON of a known `format_version`.
pub fn read_plan(path: &std::path::Path) -> Result<PlanDocument, Diagnostic> {
    let text = read_text(path, MAX_PLAN_BYTES)?;
    parse_plan(&text, &path.display().to_string())
}

/// Runs `show`.
pub fn run(args: ShowArgs, terminal: &Terminal) -> Exit {
    let sources = Sources::new();
    let document = match read_plan(&args.plan) {
        Ok(document) => document,
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    if args.format == PlanFormat::Text {
        terminal.eprint(&json_summary(&document.diagnostics));
    }
    let output = match args.format {
        PlanFormat::Text => text(
            &document,
            &TextOptions::plan(terminal.stdout_color(), args.verbose),
        ),
        PlanFormat::Json => document_json(&document),
        PlanFormat::Markdown => markdown(&document),
    };
    terminal.print(&output);
    Exit::Success
}
