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

/// CPU time of this process so far (user and system, all threads), from `/proc/self/stat` in
/// clock ticks of 1/100 s; 0 where that file does not exist. On a shared machine the wall time
/// of a phase includes waiting for a core; the CPU time does not.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
    };
    match (ticks(11), ticks(12)) {
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => 0.0,
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
    let mut phase = (Instant::now(), cpu_seconds());
    eprintln!("{:<22} {:>9} {:>9}", "phase", "wall", "cpu");
    let mut lap = |name: &str| {
        let cpu = cpu_seconds();
        eprintln!(
            "{name:<22} {:>7.3} s {:>7.2} s",
            phase.0.elapsed().as_secs_f64(),
            cpu - phase.1
        );
        phase = (Instant::now(), cpu);
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
        let scenario = desired
            .index(&state, &current, catalog, SourceId(0))
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
        "{} users, {} groups, {errors} assignments in error; total {:.3} s wall, {:.2} s cpu",
        state.users.len(),
        state.groups.len(),
        started.elapsed().as_secs_f64(),
        cpu_seconds()
    );
    Ok(())
}
