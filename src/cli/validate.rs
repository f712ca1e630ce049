//! `seatplan validate`: read and check config files without touching any tenant.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Terminal};
use crate::io::{default_config_paths, load_config};
use crate::rules::check_config;
use crate::source::Sources;

/// Arguments of `seatplan validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file or directory of *.yaml files (repeatable). Default: seatplan.yaml or seatplan/.
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
}

/// Runs `validate`: exit 0 when every file is valid, 1 with every problem printed otherwise.
pub fn run(args: ValidateArgs, terminal: &Terminal) -> Exit {
    let paths = if args.config.is_empty() {
        default_config_paths()
    } else {
        args.config
    };
    let mut sources = Sources::new();
    match load_config(&paths, &mut sources) {
        Ok(loaded) => {
            let rule_problems = check_config(&loaded);
            if !rule_problems.is_empty() {
                terminal.report(rule_problems.iter(), &sources);
            }
            if rule_problems.has_errors() {
                return Exit::Failure;
            }
            let groups = loaded
                .config
                .groups
                .as_ref()
                .map_or(0, |groups| groups.len());
            let users = loaded.config.users.as_ref().map_or(0, |users| users.len());
            terminal.print(&format!(
                "Config is valid: {groups} group{}, {users} user{}.\n",
                if groups == 1 { "" } else { "s" },
                if users == 1 { "" } else { "s" },
            ));
            Exit::Success
        }
        Err(diagnostics) => {
            terminal.report(diagnostics.iter(), &sources);
            Exit::Failure
        }
    }
}
