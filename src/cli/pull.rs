//! `seatplan pull --graph -o tenant.yaml`: read a live tenant through Microsoft Graph into a
//! tenant state file (every group with its members, and the delta links to refresh it from),
//! optionally keeping the raw Graph pages in `seatplan import graph`'s layout for a support
//! case; `seatplan pull --graph --refresh tenant.yaml` brings such a file up to date by reading
//! only what changed.

use std::path::PathBuf;

use clap::Args;

use super::{Exit, Terminal};
use crate::backend::graph::refresh_snapshot_file;
use crate::backend::write_state;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::graph::{GraphClient, GraphSettings};
use crate::source::Sources;
use crate::tenant::graph_import::map_export;

/// Arguments of `seatplan pull`.
#[derive(Debug, Args)]
#[command(
    after_help = "Needs the Microsoft Graph application permissions User.Read.All, \
Group.Read.All, GroupMember.Read.All and Organization.Read.All (admin consent), and the \
credentials in SEATPLAN_TENANT_ID, SEATPLAN_CLIENT_ID and SEATPLAN_CLIENT_SECRET or \
SEATPLAN_CLIENT_CERTIFICATE."
)]
pub struct PullArgs {
    /// Read the tenant from Microsoft Graph (the only source `pull` has; required so that a
    /// command reaching a live tenant always says so).
    #[arg(long, required = true)]
    pub graph: bool,
    /// The tenant file to write (YAML; JSON when the name ends in .json). It records Graph's
    /// delta links, so that `--refresh` can later read only what changed.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        required_unless_present = "refresh"
    )]
    pub output: Option<PathBuf>,
    /// Bring this tenant file (written by `pull`) up to date by reading only what changed since
    /// (Graph's delta queries), and write it back (or to --output). When its delta links have
    /// expired, the whole tenant is read again, and the command says so.
    #[arg(long, value_name = "FILE")]
    pub refresh: Option<PathBuf>,
    /// Also keep Graph's responses, page by page, in DIR (the layout `seatplan import graph`
    /// reads), for a support case or to reproduce a problem offline.
    #[arg(long, value_name = "DIR", conflicts_with = "refresh")]
    pub save_responses: Option<PathBuf>,
}

/// Runs `pull`.
pub fn run(args: PullArgs, terminal: &Terminal) -> Exit {
    let sources = Sources::new();
    let client = match GraphSettings::from_env(None, None) {
        Ok(settings) => GraphClient::new(settings),
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    let client = if terminal.stderr_is_tty {
        client.with_progress()
    } else {
        client
    };
    if let Some(snapshot) = &args.refresh {
        let mut sources = sources;
        let output = args.output.as_deref().unwrap_or(snapshot);
        return match refresh_snapshot_file(&client, snapshot, Some(output), &mut sources) {
            Ok((state, note)) => {
                terminal.print(&format!("{note}\nWrote {}.\n", contents(&state, output)));
                Exit::Success
            }
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                Exit::Failure
            }
        };
    }
    let Some(output) = &args.output else {
        // The argument parser requires one of the two; say so rather than fail silently.
        let diagnostic = Diagnostic::new(Code::Usage, "pull needs --output FILE or --refresh FILE")
            .with_help("`seatplan pull --graph -o tenant.yaml` reads the whole tenant");
        terminal.report([&diagnostic], &sources);
        return Exit::Failure;
    };
    let mut notes = String::new();
    let state = match &args.save_responses {
        // The responses are kept: read them whole, then map them.
        Some(dir) => match read_and_save(&client, dir) {
            Ok((state, count)) => {
                notes.push_str(&format!(
                    "Saved {count} Graph response pages into {}.\n",
                    dir.display()
                ));
                state
            }
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                return Exit::Failure;
            }
        },
        // Each page of users is mapped as it arrives and not kept.
        None => match client.read_snapshot() {
            Ok(state) => state,
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                return Exit::Failure;
            }
        },
    };
    if let Err(diagnostic) = write_state(output, &state) {
        terminal.report([&diagnostic], &sources);
        return Exit::Failure;
    }
    terminal.print(&format!("{notes}Pulled {}.\n", contents(&state, output)));
    Exit::Success
}

/// The snapshot read as Graph's responses, saved into `dir` in the export layout and mapped;
/// with the number of pages saved.
fn read_and_save(
    client: &GraphClient,
    dir: &std::path::Path,
) -> Result<(crate::tenant::TenantState, usize), Diagnostics> {
    let (export, links) = client
        .read_snapshot_export()
        .map_err(|error| Diagnostics::from(error.to_diagnostic()))?;
    let count = crate::io::graph_export::save_graph_export(dir, &export)?;
    let mut state = map_export(&export)?;
    state.delta = Some(links);
    Ok((state, count))
}

/// "3 users, 2 groups, 1 subscriptions into tenant.yaml".
fn contents(state: &crate::tenant::TenantState, output: &std::path::Path) -> String {
    format!(
        "{} users, {} groups, {} subscriptions into {}",
        state.users.len(),
        state.groups.len(),
        state.subscriptions.len(),
        output.display()
    )
}
