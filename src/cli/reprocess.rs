//! `seatplan reprocess`: what the service's "Reprocess" would do now — every assignment in error
//! (or only one group's) processed again against the current seats; who would now succeed and who
//! still fails, with the reason.

use clap::Args;

use super::report::{load, ReportFormat, StateArgs};
use super::{Exit, Terminal};
use crate::engine::Mode;
use crate::plan::reprocess::{find_group, reprocess};
use crate::render::plan::Palette;
use crate::render::report::{json, reprocess_markdown, reprocess_text};
use crate::source::Sources;

/// Arguments of `seatplan reprocess`.
#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// Retry only the errors of this group (display name or object id). Default: every error.
    #[arg(long, value_name = "NAME")]
    pub group: Option<String>,
    /// State and config.
    #[command(flatten)]
    pub inputs: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Runs `reprocess`.
pub fn run(args: ReprocessArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let loaded = match load(&args.inputs, &mut sources, terminal) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let (mode, group) = match &args.group {
        None => (Mode::Reprocess, None),
        Some(name) => match find_group(&loaded.evaluated.tenant, name) {
            Ok(group) => (
                Mode::ReprocessGroup(group),
                Some(loaded.evaluated.tenant.group_at(group).name.to_string()),
            ),
            Err(diagnostic) => {
                terminal.report([&diagnostic], &sources);
                return Exit::Failure;
            }
        },
    };
    let result = reprocess(&loaded.catalog, &loaded.evaluated, mode, group);
    let output = match args.format {
        ReportFormat::Text => reprocess_text(&result, Palette::new(terminal.stdout_color())),
        ReportFormat::Json => json(&result),
        ReportFormat::Markdown => reprocess_markdown(&result),
    };
    terminal.print(&output);
    Exit::Success
}
