//! The seatplan binary: hands the command line to [`seatplan::cli::run`].

/// mimalloc rather than the system allocator: loading a large tenant makes millions of small
/// allocations, and glibc's malloc spent about a third of a 100,000-user plan in its own
/// bookkeeping (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `arena_eager_commit` option (`mi_option_arena_eager_commit` in mimalloc.h, v2).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

fn main() -> std::process::ExitCode {
    // Arenas are committed as they are used rather than all at once: on a million-user plan the
    // kernel otherwise spends seconds faulting in and zeroing memory that is never touched
    // (docs/performance.md). SAFETY: sets one integer option of the allocator; no other thread
    // exists yet, and mimalloc reads the option when it next reserves an arena.
    unsafe { libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0) };
    seatplan::cli::run()
}
