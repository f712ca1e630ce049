//! `seatplan validate`: read and check config files without touching any tenant: YAML, schema,
//! and every product and service plan they name against the catalog (with the config's
//! `catalog:` additions).

use std::borrow::Cow;
use std::path::PathBuf;

use clap::Args;

use super::{Exit, Terminal};
use crate::catalog::{check_config_references, Catalog};
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
            let catalog = match &loaded.config.catalog {
                None => Cow::Borrowed(Catalog::builtin()),
                Some(additions) => match Catalog::builtin()
                    .with_additions(additions, |pointer| loaded.catalog_location(pointer))
                {
                    Ok(catalog) => Cow::Owned(catalog),
                    Err(diagnostics) => {
                        terminal.report(diagnostics.iter(), &sources);
                        return Exit::Failure;
                    }
                },
            };
            let mut problems = check_config(&loaded);
            problems.extend(check_config_references(&loaded, &catalog));
            if !problems.is_empty() {
                terminal.report(problems.iter(), &sources);
            }
            if problems.has_errors() {
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
