//! `seatplan export`: write a config that reproduces the tenant's licensed groups and users' usage
//! locations (planning it against the same tenant shows no changes).

use std::path::PathBuf;

use clap::Args;

use super::common::{load_state, DEFAULT_STATE};
use super::{Exit, Terminal};
use crate::io::write_atomic;
use crate::plan::export::config_from_state;
use crate::source::Sources;

/// Arguments of `seatplan export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant state file. Default: tenant.yaml.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Write the config to this file instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `export`.
pub fn run(args: ExportArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let path = args.state.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE));
    let loaded = match load_state(&path, &mut sources) {
        Ok(loaded) => loaded,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    let config = config_from_state(&loaded.state);
    let body = serde_yaml::to_string(&config).unwrap_or_default();
    let text = format!(
        "# yaml-language-server: $schema=https://seatplan.dev/schemas/seatplan.schema.json\n# Exported from {} by `seatplan export`.\n{body}",
        path.display()
    );
    match &args.out {
        Some(out) => match write_atomic(out, text.as_bytes()) {
            Ok(()) => Exit::Success,
            Err(diagnostic) => {
                terminal.report([&diagnostic], &sources);
                Exit::Failure
            }
        },
        None => {
            terminal.print(&text);
            Exit::Success
        }
    }
}
