//! `seatplan validate`: read and check config files without touching any tenant: YAML, schema,
//! and every product and service plan they name against the catalog (with the config's
//! `catalog:` additions).

use std::path::PathBuf;

use clap::Args;

use super::common::load_checked_config;
use super::{Exit, Terminal};
use crate::source::Sources;

/// Arguments of `seatplan validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Config file or directory of *.yaml files (repeatable). Default: seatplan.yaml or seatplan/.
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
}

/// Runs `validate`: exit 0 when every file is valid, 1 with every problem of every stage printed
/// otherwise (a schema violation in one group does not hide an unknown product in another).
pub fn run(args: ValidateArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    match load_checked_config(&args.config, &mut sources) {
        Ok(checked) => {
            if !checked.warnings.is_empty() {
                terminal.report(checked.warnings.iter(), &sources);
            }
            let config = &checked.valid.loaded.config;
            let groups = config.groups.as_ref().map_or(0, |groups| groups.len());
            let users = config.users.as_ref().map_or(0, |users| users.len());
            terminal.print(&format!(
                "Config is valid: {groups} group{}, {users} user{}.\n",
                if groups == 1 { "" } else { "s" },
                if users == 1 { "" } else { "s" },
            ));
            Exit::Success
        }
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            Exit::Failure
        }
    }
}
