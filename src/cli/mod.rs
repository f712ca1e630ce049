//! The command line: clap definitions, one file per command, and the one place that decides the
//! exit code ([`Exit`]). Commands read inputs through [`crate::io`], call the core, and print
//! through [`crate::render`].

mod apply;
mod catalog;
mod common;
mod export;
mod fmt;
mod import;
mod plan;
mod pull;
mod report;
mod reprocess;
mod rule;
mod rule_diff;
mod schema;
mod shell;
mod show;
mod validate;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::diag::Diagnostic;
use crate::render::diagnostics::{render_all, workflow_commands, Style};
use crate::source::Sources;

/// seatplan's exit codes (SPEC §5), decided here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; with `--detailed-exitcode`, also "no changes".
    Success = 0,
    /// An error, invalid input or a rejected plan.
    Failure = 1,
    /// Changes present (only with `--detailed-exitcode`).
    Changes = 2,
    /// `apply` changed the tenant, but something after that failed (the file backend's audit
    /// outcome line, a later Graph call): the tenant is not as it was.
    Changed = 3,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// Group-based licensing for Microsoft Entra ID as code.
///
/// seatplan reads a YAML description of licensed groups and users, predicts exactly what Entra's
/// group-based licensing will do, and plans or applies the change safely.
#[derive(Debug, Parser)]
#[command(
    name = "seatplan",
    version = env!("SEATPLAN_VERSION"),
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Color output: `auto` on a terminal unless NO_COLOR is set, `always` also into files and
    /// CI logs, `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Never color output (the same as --color never).
    #[arg(long, global = true)]
    pub no_color: bool,

    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// When output is colored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always, also when output goes to a file or a CI log (overrides NO_COLOR).
    Always,
    /// Never.
    Never,
}

/// seatplan's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check config files: YAML, schema, references. Example: seatplan validate -c seatplan/
    Validate(validate::ValidateArgs),
    /// Show what applying the config would change, and check it is safe. Example: seatplan plan -c seatplan.yaml --state tenant.yaml
    Plan(plan::PlanArgs),
    /// Apply the config (or a saved plan) to the tenant. Example: seatplan apply plan.json --state tenant.yaml
    Apply(apply::ApplyArgs),
    /// Render a saved plan file. Example: seatplan show plan.json --format markdown
    Show(show::ShowArgs),
    /// Write a config that reproduces the tenant's licensed groups (bootstrap). Example: seatplan export --state tenant.yaml -o seatplan.yaml
    Export(export::ExportArgs),
    /// Print a JSON schema for editors and CI. Example: seatplan schema config > seatplan.schema.json
    Schema(schema::SchemaArgs),
    /// Convert data from elsewhere into a tenant file. Example: seatplan import graph export/ -o tenant.yaml
    Import(import::ImportArgs),
    /// Read a live tenant through Microsoft Graph into a tenant file. Example: seatplan pull --graph -o tenant.yaml
    Pull(pull::PullArgs),
    /// List products with their service plans and relations. Example: seatplan catalog ENTERPRISEPACK
    Catalog(catalog::CatalogArgs),
    /// Check dynamic membership rules and the users they select. Example: seatplan rule check '(user.department -eq "Sales")'
    Rule(rule::RuleArgs),
    /// Show seats, group statuses and users in error as the service leaves them. Example: seatplan report --state tenant.yaml
    Report(report::ReportArgs),
    /// Show who would succeed if assignments in error were processed again. Example: seatplan reprocess --group "Sales - E3"
    Reprocess(reprocess::ReprocessArgs),
    /// Rewrite config files in canonical layout (rule text, field order); --check lists the files that are not. Example: seatplan fmt --check seatplan/
    Fmt(fmt::FmtArgs),
    /// Print a shell completion script. Example: seatplan completions bash > /etc/bash_completion.d/seatplan
    Completions(shell::CompletionsArgs),
    /// Print the manual page in roff. Example: seatplan man > /usr/local/share/man/man1/seatplan.1
    Man(shell::ManArgs),
}

/// Where a command writes and how: colors and width for people, plain text for pipes.
pub struct Terminal {
    /// Diagnostics drawing style for stderr.
    pub style: Style,
    /// Whether stdout is a terminal (colors and prompts allowed there).
    pub stdout_is_tty: bool,
    /// False with --no-color or NO_COLOR.
    pub color_allowed: bool,
    /// True with --color always: colors also when stdout is not a terminal.
    pub color_forced: bool,
    /// Whether stderr is a terminal (progress bars are drawn there).
    pub stderr_is_tty: bool,
    /// Inside GitHub Actions (`GITHUB_ACTIONS=true`): diagnostics are also printed as workflow
    /// commands so that they annotate the pull request's diff.
    pub annotate: bool,
}

impl Terminal {
    #[expect(
        clippy::disallowed_methods,
        reason = "the terminal and its color settings are read from the environment and the handles"
    )]
    fn detect(color: ColorChoice) -> Self {
        let no_color = color == ColorChoice::Never
            || (color == ColorChoice::Auto
                && std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()));
        let always = color == ColorChoice::Always;
        let stderr_tty = std::io::stderr().is_terminal();
        Terminal {
            style: Style {
                color: always || (!no_color && stderr_tty),
                width: 100,
            },
            stdout_is_tty: std::io::stdout().is_terminal(),
            color_allowed: !no_color,
            color_forced: always,
            stderr_is_tty: stderr_tty,
            annotate: std::env::var("GITHUB_ACTIONS").is_ok_and(|value| value == "true"),
        }
    }

    /// Prints diagnostics (with a count line) to stderr, and under GitHub Actions also as
    /// workflow commands.
    pub fn report<'a>(
        &self,
        diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
        sources: &Sources,
    ) {
        let diagnostics: Vec<&Diagnostic> = diagnostics.into_iter().collect();
        let mut text = render_all(diagnostics.iter().copied(), sources, self.style);
        if self.annotate {
            text.push_str(&workflow_commands(diagnostics, sources));
        }
        self.eprint(&text);
    }

    /// Whether stdout gets colors (a terminal, and colors not turned off).
    pub fn stdout_color(&self) -> bool {
        self.color_forced || (self.stdout_is_tty && self.color_allowed)
    }

    /// Writes `text` to stderr. Like [`Terminal::print`], it is where output is formed, so the
    /// process's secrets are scrubbed here, in every encoding ([`crate::graph::scrub_output`]).
    #[expect(
        clippy::disallowed_methods,
        reason = "the terminal's diagnostics go to stderr"
    )]
    pub fn eprint(&self, text: &str) {
        let text = crate::graph::scrub_output(text);
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }

    /// Writes `text` to stdout, scrubbed of the process's secrets.
    #[expect(
        clippy::disallowed_methods,
        reason = "the terminal's output goes to stdout"
    )]
    pub fn print(&self, text: &str) {
        let text = crate::graph::scrub_output(text);
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    }
}

/// `--help` and `--version` print and exit 0; any other command-line mistake is a `usage`
/// diagnostic with exit 1 (not the argument parser's own exit 2, which `--detailed-exitcode`
/// uses for "changes present").
fn usage_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        let code = if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            Exit::Failure
        } else {
            Exit::Success
        };
        return code.into();
    }
    let rendered = error.render().to_string();
    let mut lines = rendered.lines().filter(|line| !line.trim().is_empty());
    let message = lines
        .next()
        .unwrap_or("the command line is not valid")
        .trim_start_matches("error: ")
        .to_owned();
    let rest: Vec<&str> = lines.collect();
    let mut diagnostic = Diagnostic::new(crate::diag::Code::Usage, message);
    for line in rest
        .iter()
        .filter(|line| !line.starts_with("For more information"))
    {
        diagnostic = diagnostic.with_note(line.trim().to_owned());
    }
    let diagnostic = diagnostic
        .with_help("run `seatplan --help` or `seatplan <command> --help` for the options");
    let no_color = std::env::args_os().any(|argument| argument == "--no-color");
    let color = if no_color {
        ColorChoice::Never
    } else {
        ColorChoice::Auto
    };
    Terminal::detect(color).report([&diagnostic], &Sources::new());
    Exit::Failure.into()
}

/// Parses the command line, runs the command and returns its exit code.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let color = if cli.no_color {
        ColorChoice::Never
    } else {
        cli.color
    };
    let terminal = Terminal::detect(color);
    let exit = match cli.command {
        Command::Validate(args) => validate::run(args, &terminal),
        Command::Schema(args) => schema::run(args, &terminal),
        Command::Plan(args) => plan::run(args, &terminal),
        Command::Show(args) => show::run(args, &terminal),
        Command::Apply(args) => apply::run(args, &terminal),
        Command::Export(args) => export::run(args, &terminal),
        Command::Pull(args) => pull::run(args, &terminal),
        Command::Import(args) => import::run(args, &terminal),
        Command::Catalog(args) => catalog::run(args, &terminal),
        Command::Rule(args) => rule::run(args, &terminal),
        Command::Report(args) => report::run(args, &terminal),
        Command::Reprocess(args) => reprocess::run(args, &terminal),
        Command::Fmt(args) => fmt::run(args, &terminal),
        Command::Completions(args) => shell::completions(args, &terminal),
        Command::Man(args) => shell::man(args, &terminal),
    };
    exit.into()
}
