//! `plan-phases`: `seatplan plan`'s computation on a state file and a config, timed phase by
//! phase with the process's resident memory after each — the breakdown behind the end-to-end
//! figures of `benches/compare.sh` (docs/performance.md). It runs the same `plan::compute` as the
//! command, through its phase hook. A development tool, not part of the `seatplan` binary:
//!
//! ```text
//! cargo run --release --example plan-phases -- STATE.json --config DIR
//! ```

#![allow(clippy::disallowed_macros, clippy::disallowed_methods)] // a command-line tool

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use seatplan::backend::file::StateFile;
use seatplan::catalog::Catalog;
use seatplan::diag::Diagnostic;
use seatplan::plan::{compute_observed, Inputs};
use seatplan::render::diagnostics::to_json;
use seatplan::source::Sources;

/// Computes a plan the way `seatplan plan` does, printing each phase's time and memory.
#[derive(Debug, Parser)]
#[command(name = "plan-phases")]
struct Args {
    /// The tenant state file (.json or .yaml).
    state: PathBuf,
    /// The config file or directory.
    #[arg(long)]
    config: PathBuf,
}

// The allocator of the `seatplan` binary, with its setting (src/main.rs), so that the phases
// cost what they cost there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // SAFETY: as in src/main.rs: one integer option (`arena_eager_commit` = 4), set before any
    // other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(4, 0) };
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("plan-phases: {message}");
            ExitCode::FAILURE
        }
    }
}

/// CPU time of this process so far (user and system, all threads) and its resident memory, from
/// `/proc/self/stat` and `/proc/self/statm`; zeros where they do not exist. On a shared machine
/// the wall time of a phase includes waiting for a core; the CPU time does not.
fn cpu_and_rss() -> (f64, f64) {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            let (_, rest) = stat.rsplit_once(')')?;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let user = fields.get(11)?.parse::<f64>().ok()?;
            let system = fields.get(12)?.parse::<f64>().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0);
    let rss_mb = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / 1e6);
    (ticks, rss_mb)
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let mut phase = (Instant::now(), cpu_and_rss().0);
    eprintln!("{:<18} {:>9} {:>9} {:>9}", "phase", "wall", "cpu", "rss");
    let mut lap = |name: &str| {
        let (cpu, rss) = cpu_and_rss();
        eprintln!(
            "{name:<18} {:>7.3} s {:>7.2} s {:>6.0} MB",
            phase.0.elapsed().as_secs_f64(),
            cpu - phase.1,
            rss
        );
        phase = (Instant::now(), cpu);
    };
    let mut sources = Sources::new();
    let mut file = StateFile::read(&args.state).map_err(|diagnostic| diagnostic.message)?;
    lap("read");
    let (state, source) = file
        .parse(&mut sources)
        .map_err(|problems| format!("{} problems in the state", problems.0.len()))?;
    lap("parse");
    let loaded = seatplan::io::load_config(std::slice::from_ref(&args.config), &mut sources)
        .map_err(|problems| format!("{} problems in the config", problems.0.len()))?;
    let (valid, _) = seatplan::config::valid::validate(loaded, Catalog::builtin())
        .map_err(|problems| format!("{} problems in the config", problems.0.len()))?;
    lap("config");
    let record = |diagnostic: &Diagnostic| to_json(diagnostic, &sources);
    let inputs = Inputs {
        state_source: source,
        state_fingerprint: file.fingerprint().to_string(),
        now: jiff::Timestamp::now(),
        ..Inputs::allowing_everything(&valid, &state, &record)
    };
    let planned = compute_observed(&inputs, &mut |name| lap(name))
        .map_err(|problems| format!("{} problems in the plan", problems.0.len()))?;
    let (cpu, rss) = cpu_and_rss();
    eprintln!(
        "{} users, {} groups: {} changes, {} users' licensing changes; {:.3} s wall, {cpu:.2} s cpu, {rss:.0} MB",
        state.users.len(),
        state.groups.len(),
        planned.document.changes.len(),
        planned.document.impact.users.len(),
        started.elapsed().as_secs_f64(),
    );
    // As `seatplan plan` does: the process's exit frees everything at once.
    std::mem::forget((planned, state, valid, sources));
    Ok(())
}
