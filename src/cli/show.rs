//! `seatplan show`: render a saved plan file as text, JSON or Markdown.

use std::path::PathBuf;

use clap::Args;

use super::plan::{document_json, PlanFormat};
use super::{Exit, Terminal};
use crate::diag::{Code, Diagnostic};
use crate::io::read_text;
use crate::plan::document::{PlanDocument, FORMAT_VERSION};
use crate::render::diagnostics::json_summary;
use crate::render::plan::{markdown, text, Palette};
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
}

/// Reads and checks a plan file: JSON of a known `format_version`.
pub fn read_plan(path: &std::path::Path) -> Result<PlanDocument, Diagnostic> {
    let text = read_text(path, MAX_PLAN_BYTES)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|error| {
        Diagnostic::new(
            Code::PlanFile,
            format!("`{}` is not a plan file: {error}", path.display()),
        )
        .with_help("plan files are written by `seatplan plan -o PLANFILE`; do not edit them")
    })?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(Diagnostic::new(
            Code::PlanFile,
            format!(
                "`{}` has format_version {}; this seatplan reads version {FORMAT_VERSION}",
                path.display(),
                version.map_or("(none)".to_string(), |version| version.to_string())
            ),
        )
        .with_help("make the plan again with this seatplan (`seatplan plan -o PLANFILE`)"));
    }
    // Typed from the text, not from the tree: a tree keeps the last of duplicated keys silently,
    // so a hand-edited plan could show one fingerprint and hide another.
    let document: PlanDocument = serde_json::from_str(&text).map_err(|error| {
        Diagnostic::new(
            Code::PlanFile,
            format!("`{}` is not a valid plan: {error}", path.display()),
        )
        .with_help("plan files are written by `seatplan plan -o PLANFILE`; do not edit them")
    })?;
    if !document.is_sealed() {
        return Err(Diagnostic::new(
            Code::PlanFile,
            format!(
                "`{}` was edited after `seatplan plan` wrote it: its content no longer matches its checksum",
                path.display()
            ),
        )
        .with_help("plan files must be applied as written; make the plan again with `seatplan plan -o PLANFILE`"));
    }
    Ok(document)
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
        PlanFormat::Text => text(&document, Palette::new(terminal.stdout_color())),
        PlanFormat::Json => document_json(&document),
        PlanFormat::Markdown => markdown(&document),
    };
    terminal.print(&output);
    Exit::Success
}
