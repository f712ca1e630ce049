//! Reading a tenant from Microsoft Graph at scale: the `seatplan` binary against the fake Graph
//! server of the tests (`tests/graph/fake_graph.rs`), serving a generated tenant
//! (`tools/tenantgen.rs`) with a fixed latency per request and Graph's resource-unit quota of a
//! large tenant (8,000 units per 10 seconds, costs by the documented table).
//!
//! - `plan`: a full `seatplan plan --graph` of 2,000 users / 50 groups and 20,000 users / 200
//!   groups at 50 ms, 20,000 users / 200 groups at 300 ms and 100,000 users / 500 groups at 50 ms
//!   (the rows of the issue that asked for the targets);
//! - `refresh`: `seatplan pull --graph --refresh` of a 100,000-user snapshot after 100 users
//!   changed, at 50 ms, and whether the plan of the refreshed snapshot equals the plan of a full
//!   read.
//!
//! Each line gives the requests (and the requests inside `$batch`), the resource units charged,
//! the wall time, and for `plan` the floor: the larger of the throttling floor (units ÷ 8,000 ×
//! 10 s) and the chain of requests that must follow each other (the token, then the longer of the
//! user pages and of the group pages plus the longest member list's pages) times the latency.
//! Run with `cargo bench --bench graph` (or `-- plan`, `-- refresh`); figures are in
//! docs/performance.md.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_macros,
    clippy::disallowed_types
)] // a measuring tool: it starts the binary, times it and prints

#[allow(dead_code)] // the tests use the rest of it
#[path = "../tests/graph/fake_graph.rs"]
mod fake_graph;

#[allow(dead_code)] // the generator's full surface serves the example and the tests
#[path = "../tools/tenantgen.rs"]
mod tenantgen;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fake_graph::{FakeGraph, Live, CLIENT_SECRET, TENANT};
use serde_json::json;

/// The page size of users, groups and members (`$top=999`).
const PAGE: usize = 999;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let run = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    println!(
        "cores: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if run("plan") {
        // The rows of the table, in its order.
        plan(2_000, 50, Duration::from_millis(50));
        plan(20_000, 200, Duration::from_millis(50));
        plan(20_000, 200, Duration::from_millis(300));
        plan(100_000, 500, Duration::from_millis(50));
    }
    if run("refresh") {
        refresh(100_000, 500, Duration::from_millis(50));
    }
}

/// A generated tenant served by the fake server, and its matching config in `dir`.
fn serve(users: usize, groups: usize, latency: Duration, dir: &Path) -> (FakeGraph, usize) {
    let generated = tenantgen::generate(
        &tenantgen::Params {
            users,
            groups,
            ..tenantgen::Params::default()
        },
        seatplan::catalog::Catalog::builtin(),
    );
    let config = dir.join("config");
    std::fs::create_dir_all(&config).unwrap();
    for (name, text) in tenantgen::config_files(&generated.config, 256 * 1024).unwrap() {
        std::fs::write(config.join(name), text).unwrap();
    }
    let live = Live::from_state(&generated.state);
    let longest = live.members.values().map(Vec::len).max().unwrap_or(0);
    let listed = live.groups.len();
    let chain = 1 + users
        .div_ceil(PAGE)
        .max(listed.div_ceil(PAGE) + longest.div_ceil(PAGE).max(1));
    let server = FakeGraph::start_live(move |served| *served = live);
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        behaviour.latency = latency;
        behaviour.resource_units = Some((8_000, Duration::from_secs(10)));
    }
    (server, chain)
}

fn seatplan(server: &FakeGraph) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_seatplan"));
    command
        .env("SEATPLAN_TENANT_ID", TENANT)
        .env("SEATPLAN_CLIENT_ID", "11111111-2222-3333-4444-555555555555")
        .env("SEATPLAN_CLIENT_SECRET", CLIENT_SECRET)
        .env("SEATPLAN_LOGIN_URL", &server.origin)
        .env("SEATPLAN_GRAPH_URL", server.graph_base())
        .env_remove("SEATPLAN_CLIENT_CERTIFICATE")
        .env_remove("SEATPLAN_GRAPH_RESOURCE_UNITS");
    command
}

/// CPU time (user + system) of this process (the fake server's threads) and of its finished
/// children (the `seatplan` runs).
fn cpu() -> (Duration, Duration) {
    let of = |who: libc::c_int| {
        // SAFETY: getrusage only writes the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut usage) };
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        time(usage.ru_utime) + time(usage.ru_stime)
    };
    (of(libc::RUSAGE_SELF), of(libc::RUSAGE_CHILDREN))
}

/// The load average of the last minute, as /proc/loadavg gives it.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".to_string())
}

/// Runs `command`, returning its stdout and wall time; panics with its stderr on failure.
/// Prints the CPU time the client and the fake server spent meanwhile, and the load average.
fn timed(command: &mut Command) -> (String, Duration) {
    let (server_before, client_before) = cpu();
    let start = Instant::now();
    let output = command.output().unwrap();
    let wall = start.elapsed();
    let (server_after, client_after) = cpu();
    println!(
        "  (client CPU {:.2} s, fake server CPU {:.2} s, load average {})",
        (client_after - client_before).as_secs_f64(),
        (server_after - server_before).as_secs_f64(),
        load()
    );
    // `plan` exits 0, or 2 with --detailed-exitcode; anything else is a failure here.
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (String::from_utf8_lossy(&output.stdout).into_owned(), wall)
}

/// Requests and inner requests since the log was cleared, and the units charged.
fn counted(server: &FakeGraph) -> (usize, usize, u64) {
    let requests = server.requests();
    let inner = requests
        .iter()
        .filter(|r| r.url == "/v1.0/$batch")
        .map(|r| r.json()["requests"].as_array().map_or(0, Vec::len))
        .sum();
    let units = server.behaviour.lock().unwrap().units_spent;
    (requests.len(), inner, units)
}

fn reset(server: &FakeGraph) {
    server.log.lock().unwrap().clear();
    server.behaviour.lock().unwrap().units_spent = 0;
}

fn plan(users: usize, groups: usize, latency: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (server, chain) = serve(users, groups, latency, dir.path());
    reset(&server);
    let (_, wall) = timed(
        seatplan(&server)
            .args(["plan", "--graph", "-c"])
            .arg(dir.path().join("config")),
    );
    let (requests, inner, units) = counted(&server);
    let throttling = Duration::from_secs_f64(units as f64 / 8_000.0 * 10.0);
    let floor = throttling.max(latency * chain as u32);
    println!(
        "plan --graph {users} users / {groups} groups at {} ms: {requests} requests (+ {inner} \
         inside $batch), {units} RU, wall {:.2} s, floor {:.2} s ({chain} chained requests), \
         ratio {:.2}",
        latency.as_millis(),
        wall.as_secs_f64(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
}

fn refresh(users: usize, groups: usize, latency: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = serve(users, groups, latency, dir.path());
    let snapshot = dir.path().join("tenant.json");
    let (_, pull) = timed(
        seatplan(&server)
            .args(["pull", "--graph", "-o"])
            .arg(&snapshot),
    );
    let (requests, inner, units) = counted(&server);
    let size = std::fs::metadata(&snapshot).map_or(0, |meta| meta.len());
    println!(
        "pull --graph {users} users / {groups} groups at {} ms (snapshot of {:.0} MB): \
         {requests} requests (+ {inner} inside $batch), {units} RU, wall {:.2} s",
        latency.as_millis(),
        size as f64 / 1e6,
        pull.as_secs_f64()
    );
    {
        let mut behaviour = server.behaviour.lock().unwrap();
        let live = behaviour.live.as_mut().unwrap();
        let ids: Vec<String> = live
            .users
            .iter()
            .step_by(users / 100)
            .take(100)
            .map(|user| user["id"].as_str().unwrap().to_string())
            .collect();
        for id in &ids {
            live.set_user(id, "jobTitle", json!("Changed by the benchmark"));
        }
    }
    reset(&server);
    let (stdout, wall) = timed(
        seatplan(&server)
            .args(["pull", "--graph", "--refresh"])
            .arg(&snapshot),
    );
    let (requests, inner, units) = counted(&server);
    println!(
        "pull --graph --refresh after 100 changed users at {} ms: {requests} requests (+ {inner} \
         inside $batch), {units} RU, wall {:.2} s — {}",
        latency.as_millis(),
        wall.as_secs_f64(),
        stdout.lines().next().unwrap_or_default()
    );
    let config = dir.path().join("config");
    let (from_snapshot, _) = timed(
        seatplan(&server)
            .args(["plan", "-c"])
            .arg(&config)
            .arg("--state")
            .arg(&snapshot),
    );
    let (from_graph, _) = timed(
        seatplan(&server)
            .args(["plan", "--graph", "-c"])
            .arg(&config),
    );
    println!(
        "the plan of the refreshed snapshot equals the plan of a full read: {}",
        if from_snapshot == from_graph {
            "yes"
        } else {
            "NO"
        }
    );
}
