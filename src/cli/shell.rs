//! `seatplan completions SHELL` and `seatplan man`: shell completion scripts and the manual
//! page, generated from the command line's own definitions so they never drift from it.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{Cli, Exit, Terminal};
use crate::diag::{Code, Diagnostic};
use crate::source::Sources;

/// Arguments of `seatplan completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Prints the completion script for a shell to stdout.
pub fn completions(args: CompletionsArgs, terminal: &Terminal) -> Exit {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "seatplan", &mut script);
    terminal.print(&String::from_utf8_lossy(&script));
    Exit::Success
}

/// Arguments of `seatplan man`.
#[derive(Debug, Args)]
pub struct ManArgs {}

/// Prints the manual page seatplan(1), in roff, to stdout.
pub fn man(_args: ManArgs, terminal: &Terminal) -> Exit {
    let mut page = Vec::new();
    if let Err(error) = clap_mangen::Man::new(Cli::command()).render(&mut page) {
        let diagnostic = Diagnostic::new(
            Code::Write,
            format!("the manual page could not be rendered: {error}"),
        );
        terminal.report([&diagnostic], &Sources::new());
        return Exit::Failure;
    }
    terminal.print(&String::from_utf8_lossy(&page));
    Exit::Success
}
