//! The seatplan binary: hands the command line to [`seatplan::cli::run`].

fn main() -> std::process::ExitCode {
    seatplan::cli::run()
}
