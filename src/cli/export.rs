//! `seatplan export`: write a config that reproduces the tenant's licensed groups and users' usage
//! locations (planning it against the same tenant shows no changes).

use std::path::PathBuf;

use clap::Args;

use super::common::{load_state, DEFAULT_STATE};
use super::{Exit, Terminal};
use crate::diag::Diagnostics;
use crate::graph::{GraphClient, GraphSettings};
use crate::io::write_atomic;
use crate::plan::export::config_from_state;
use crate::source::Sources;
use crate::tenant::graph_import::map_export;
use crate::tenant::TenantState;

/// Arguments of `seatplan export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The tenant state file. Default: tenant.yaml.
    #[arg(long, value_name = "FILE", conflicts_with = "graph")]
    pub state: Option<PathBuf>,
    /// Read the tenant from Microsoft Graph instead (every group with its members; needs the
    /// read permissions `seatplan pull --help` names).
    #[arg(long)]
    pub graph: bool,
    /// Write the config to this file instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The `$schema` the config's first line names for editors: a path relative to the config
    /// file (write the schema there with `seatplan schema config -o PATH`) or a URL.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_SCHEMA)]
    pub schema: String,
}

/// Where an exported config expects its schema: beside it, as `seatplan schema config -o` writes.
const DEFAULT_SCHEMA: &str = "seatplan.schema.json";

/// Runs `export`.
pub fn run(args: ExportArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let (state, origin) = if args.graph {
        match read_graph(terminal) {
            Ok(read) => read,
            Err(diagnostics) => {
                terminal.report(diagnostics.iter(), &sources);
                return Exit::Failure;
            }
        }
    } else {
        let path = args.state.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE));
        match load_state(&path, &mut sources) {
            Ok(loaded) => (loaded.state, path.display().to_string()),
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                return Exit::Failure;
            }
        }
    };
    let config = config_from_state(&state);
    let body = serde_yaml::to_string(&config).unwrap_or_default();
    let text = format!(
        "# yaml-language-server: $schema={}\n# Exported from {origin} by `seatplan export`.\n{body}",
        args.schema
    );
    match &args.out {
        Some(out) => match write_atomic(out, text.as_bytes()) {
            Ok(()) => {
                let local = !args.schema.contains("://");
                let schema = out
                    .parent()
                    .unwrap_or(std::path::Path::new(""))
                    .join(&args.schema);
                if local && !schema.exists() {
                    terminal.eprint(&format!(
                        "{} names its schema {}; write it with `seatplan schema config -o {}` so editors find it.\n",
                        out.display(),
                        args.schema,
                        schema.display()
                    ));
                }
                Exit::Success
            }
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

/// The live tenant through Graph (every group's members), and how the export names its origin.
fn read_graph(terminal: &Terminal) -> Result<(TenantState, String), Diagnostics> {
    let settings = GraphSettings::from_env(None, None).map_err(Diagnostics::from)?;
    let origin = format!("Microsoft Graph (tenant {})", settings.tenant_id);
    let client = GraphClient::new(settings);
    let client = if terminal.stderr_is_tty {
        client.with_progress()
    } else {
        client
    };
    let export = client
        .read_complete_export()
        .map_err(|error| Diagnostics::from(error.to_diagnostic()))?;
    Ok((map_export(&export)?, origin))
}
