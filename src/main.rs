//! The seatplan binary: hands the command line to [`seatplan::cli::run`].

/// mimalloc rather than the system allocator: loading a large tenant makes millions of small
/// allocations, and glibc's malloc spent about a third of a 100,000-user plan in its own
/// bookkeeping (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    seatplan::cli::run()
}
