//! `seatplan fmt [--check] [PATH]...`: rewrite config files in canonical layout (rule text and
//! field order, see [`crate::config::format`]), or with `--check` list the files that are not
//! and exit 1, as Terraform's `fmt -check` does in CI.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Terminal};
use crate::config::format::format_config;
use crate::diag::{Code, Diagnostic};
use crate::io::{config_files, default_config_paths, read_text, write_atomic, MAX_CONFIG_BYTES};
use crate::source::Sources;

/// Arguments of `seatplan fmt`.
#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Config files or directories of *.yaml files. Default: seatplan.yaml or seatplan/.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Change nothing: list the files that are not formatted and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
}

/// Runs `fmt`: each file is rewritten atomically, or left as it is when it is already formatted
/// or cannot be formatted without changing its content.
pub fn run(args: FmtArgs, terminal: &Terminal) -> Exit {
    let paths = if args.paths.is_empty() {
        default_config_paths()
    } else {
        args.paths
    };
    let mut sources = Sources::new();
    let files = match config_files(&paths) {
        Ok(files) => files,
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    let mut failed = false;
    let mut unformatted = Vec::new();
    for path in files {
        let text = match read_text(&path, MAX_CONFIG_BYTES) {
            Ok(text) => text,
            Err(diagnostic) => {
                terminal.report([&diagnostic], &sources);
                failed = true;
                continue;
            }
        };
        let source = sources.add(path.display().to_string(), text.as_str());
        let formatted = match format_config(source, &text) {
            Ok(formatted) => formatted,
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                failed = true;
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        if !args.check {
            if let Err(diagnostic) = write_atomic(&path, formatted.as_bytes()) {
                terminal.report([&diagnostic], &sources);
                failed = true;
                continue;
            }
        }
        terminal.print(&format!("{}\n", path.display()));
        unformatted.push(path);
    }
    if args.check && !unformatted.is_empty() {
        let diagnostic = Diagnostic::new(
            Code::Format,
            format!(
                "{} not formatted",
                if unformatted.len() == 1 {
                    "1 file is".to_string()
                } else {
                    format!("{} files are", unformatted.len())
                }
            ),
        )
        .with_help("run `seatplan fmt` to format them (the list is on stdout)");
        terminal.report([&diagnostic], &sources);
        failed = true;
    }
    if failed {
        Exit::Failure
    } else {
        Exit::Success
    }
}
