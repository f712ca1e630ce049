//! `load-state`: the load path of a seatplan command, timed phase by phase, for
//! `benches/compare.sh` until `seatplan plan` exists: read the state file, parse it, build the
//! index, and run the engine on the tenant as it is; with `--config DIR`, also build the
//! config's desired state, index it and run the engine on it (the "after" side of a plan, with
//! the recorded members standing in for rule evaluation). A development tool, not part of the
//! `seatplan` binary:
//!
//! ```text
//! cargo run --release --example load-state -- STATE.json [--config DIR]
//! ```

#![allow(clippy::disallowed_macros, clippy::disallowed_methods)] // a command-line tool

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use seatplan::catalog::Catalog;
use seatplan::engine::{self, Mode};
use seatplan::source::{SourceId, Sources};
use seatplan::tenant::index::{self, Tenant, UserIdx};
use seatplan::tenant::parse::{parse_state, Format};

/// Loads a tenant state (and optionally a config) the way seatplan does, printing phase times.
#[derive(Debug, Parser)]
#[command(name = "load-state")]
struct Args {
    /// The tenant state file (.json or .yaml).
    state: PathBuf,
    /// A config file or directory: also compute its desired state and run the engine on it.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Files up to 4 GiB: far above the generated million-user tenant.
const MAX_STATE_BYTES: u64 = 4 << 30;

fn main() -> ExitCode {
    let args = Args::parse();
    match load(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("load-state: {message}");
            ExitCode::FAILURE
        }
    }
}

fn memberships(tenant: &Tenant) -> Vec<Vec<UserIdx>> {
    tenant
        .groups
        .iter()
        .map(|group| group.members.clone())
        .collect()
}

fn load(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let mut phase = Instant::now();
    let mut lap = |name: &str| {
        eprintln!("{name:<22} {:>8.3} s", phase.elapsed().as_secs_f64());
        phase = Instant::now();
    };
    let catalog = Catalog::builtin();
    let text = seatplan::io::read_text(&args.state, MAX_STATE_BYTES)
        .map_err(|diagnostic| diagnostic.message)?;
    lap("read");
    let name = args.state.display().to_string();
    let (state, _) = parse_state(SourceId(0), &text, Format::for_name(&name))
        .map_err(|(problems, _)| format!("{name}: {} problems", problems.0.len()))?;
    drop(text);
    lap("parse");
    let current =
        index::build(&state, catalog, SourceId(0)).map_err(|problems| format!("{problems:?}"))?;
    lap("index");
    let before = engine::run(
        catalog,
        &current,
        &current,
        &memberships(&current),
        Mode::Predict,
    );
    lap("engine (current)");
    let mut errors = before
        .users
        .iter()
        .map(|user| user.errors().count())
        .sum::<usize>();
    if let Some(config) = &args.config {
        let mut sources = Sources::new();
        let loaded = seatplan::io::load_config(std::slice::from_ref(config), &mut sources)
            .map_err(|problems| format!("config: {problems:?}"))?;
        lap("config");
        let desired = seatplan::plan::desired::build(&state, &loaded, catalog)
            .map_err(|problems| format!("desired state: {problems:?}"))?;
        lap("desired state");
        let scenario = index::build(&desired.state, catalog, SourceId(0))
            .map_err(|problems| format!("{problems:?}"))?;
        lap("index (desired)");
        let after = engine::run(
            catalog,
            &current,
            &scenario,
            &memberships(&scenario),
            Mode::Predict,
        );
        lap("engine (desired)");
        let changed = before
            .users
            .iter()
            .zip(&after.users)
            .filter(|(before, after)| before != after)
            .count();
        eprintln!("users whose licensing changes: {changed}");
        errors = after
            .users
            .iter()
            .map(|user| user.errors().count())
            .sum::<usize>();
    }
    eprintln!(
        "{} users, {} groups, {errors} assignments in error; total {:.3} s",
        state.users.len(),
        state.groups.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
