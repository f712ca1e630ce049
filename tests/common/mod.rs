//! Shared helpers of the end-to-end tests: run the real `seatplan` binary from the repository root
//! with colors off and capture what it prints.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// What one run of the binary printed and returned.
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

/// Runs `seatplan ARGS` in the repository root.
pub fn seatplan(args: &[&str]) -> Run {
    seatplan_in(Path::new(env!("CARGO_MANIFEST_DIR")), args)
}

/// Runs `seatplan ARGS` in `directory`.
pub fn seatplan_in(directory: &Path, args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_seatplan"))
        .args(args)
        .current_dir(directory)
        .env("NO_COLOR", "1")
        .env_remove("SEATPLAN_CLIENT_SECRET")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("the seatplan binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Replaces a temporary directory's path by `[TMP]` so snapshots do not depend on it.
pub fn redact(text: &str, temporary: &Path) -> String {
    text.replace(&temporary.display().to_string(), "[TMP]")
}

/// Asserts that no output looks like a panic or a backtrace.
pub fn assert_no_panic(run: &Run) {
    for text in [&run.stdout, &run.stderr] {
        assert!(!text.contains("panicked"), "panic in output:\n{text}");
        assert!(
            !text.contains("RUST_BACKTRACE"),
            "backtrace hint in output:\n{text}"
        );
    }
}
