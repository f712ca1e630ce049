//! `seatplan rule`: work with dynamic membership rules on their own. `rule check` parses a rule
//! (or a file of rules, one per line) as the service would and prints the canonical form;
//! `rule test` lists the users of a tenant state the rule selects, with the values it reads.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use super::report::{load, StateArgs};
use super::{Exit, Terminal};
use crate::diag::{Code, Diagnostic, Location, Severity};
use crate::io::read_text;
use crate::render::report::json;
use crate::rules::{parse, print, CompiledRule, Rule};
use crate::source::{SourceId, Sources};
use crate::tenant::membership::{rule_matches, user_table, RuleMatch};

/// The largest rule file `rule check --file` reads.
const MAX_RULE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Arguments of `seatplan rule`.
#[derive(Debug, Args)]
pub struct RuleArgs {
    /// What to do with the rule.
    #[command(subcommand)]
    pub command: RuleCommand,
}

/// The `rule` subcommands.
#[derive(Debug, Subcommand)]
pub enum RuleCommand {
    /// Check a rule as Entra would and print its canonical form. Example: seatplan rule check '(user.department -eq "Sales")'
    Check(CheckArgs),
    /// Review a rule edit: who joins, who leaves, licenses gained or lost, checks. Example: seatplan rule diff "All Staff - E3" '(user.accountEnabled -eq true)' --state tenant.yaml
    Diff(super::rule_diff::DiffArgs),
    /// List the users of the tenant state a rule selects. Example: seatplan rule test '(user.department -eq "Sales")' --state tenant.yaml
    Test(TestArgs),
}

/// Arguments of `seatplan rule test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The membership rule (quote it for the shell).
    #[arg(value_name = "RULE", allow_hyphen_values = true)]
    pub rule: String,
    /// State and config.
    #[command(flatten)]
    pub inputs: StateArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TestFormat::Text)]
    pub format: TestFormat,
}

/// Output formats of `rule test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TestFormat {
    /// One line per matching user.
    Text,
    /// `{ "rule", "users", "matched": [ { "user", "attributes" } ] }`.
    Json,
}

/// What `rule test --format json` prints.
#[derive(Debug, Serialize)]
struct TestOutput<'a> {
    /// The rule's canonical form.
    rule: String,
    /// Users in the tenant.
    users: usize,
    /// The users the rule selects.
    matched: &'a [RuleMatch],
}

/// Arguments of `seatplan rule check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The membership rule (quote it for the shell).
    #[arg(
        value_name = "RULE",
        allow_hyphen_values = true,
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub rule: Option<String>,
    /// Check every line of FILE as one rule instead (blank lines and lines starting with `#` are skipped).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

/// Runs a `rule` subcommand.
pub fn run(args: RuleArgs, terminal: &Terminal) -> Exit {
    match args.command {
        RuleCommand::Check(args) => check(args, terminal),
        RuleCommand::Diff(args) => super::rule_diff::run(args, terminal),
        RuleCommand::Test(args) => test(args, terminal),
    }
}

/// `assigned-plans-unknown` when `rule` reads `user.assignedPlans` and the state records none
/// for users who hold licenses: the rule sees them without plans.
fn unrecorded_assigned_plans(rule: &str, loaded: &super::report::Loaded) -> Option<Diagnostic> {
    use crate::plan::cascade::{reads_assigned_plans, users_without_recorded_plans};
    if !reads_assigned_plans(&crate::rules::RuleBook::new([rule])) {
        return None;
    }
    let unrecorded =
        users_without_recorded_plans(&loaded.state.state, &loaded.evaluated.outcome).len();
    (unrecorded > 0).then(|| {
        Diagnostic::new(
            Code::AssignedPlansUnknown,
            format!(
                "the rule reads `user.assignedPlans`, but the tenant state records none for {unrecorded} {} who {} licenses: the rule sees them without plans",
                if unrecorded == 1 { "user" } else { "users" },
                if unrecorded == 1 { "holds" } else { "hold" },
            ),
        )
        .with_help(crate::plan::cascade::RECORD_ASSIGNED_PLANS)
    })
}

#[expect(
    clippy::disallowed_methods,
    reason = "rules' `system.now` is the time the rule is tested"
)]
fn test(args: TestArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let rule_source = sources.add("<rule>", args.rule.as_str());
    let locate = |range: std::ops::Range<usize>| Location::span(rule_source, range);
    let parsed = parse(&args.rule).and_then(|rule| {
        let compiled = CompiledRule::compile(&rule)?;
        Ok((rule, compiled))
    });
    let (rule, compiled) = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            terminal.report([&error.to_diagnostic(locate)], &sources);
            return Exit::Failure;
        }
    };
    let loaded = match load(&args.inputs, &mut sources, terminal) {
        Ok(loaded) => loaded,
        Err(exit) => return exit,
    };
    let table = user_table(&loaded.state.state.users);
    let tenant = &loaded.evaluated.tenant;
    if let Some(warning) = unrecorded_assigned_plans(&args.rule, &loaded) {
        terminal.report([&warning], &sources);
    }
    let matched = rule_matches(tenant, &table, &rule, &compiled, jiff::Timestamp::now());
    let canonical = print(&rule);
    let output = match args.format {
        TestFormat::Json => json(&TestOutput {
            rule: canonical,
            users: tenant.users.len(),
            matched: &matched,
        }),
        TestFormat::Text => {
            let mut out = format!(
                "{canonical}\nselects {} of {} users\n",
                matched.len(),
                tenant.users.len()
            );
            let width = matched
                .iter()
                .map(|found| found.user.len())
                .max()
                .unwrap_or(0);
            for found in &matched {
                let values: Vec<String> = found
                    .attributes
                    .iter()
                    .map(|(name, value)| {
                        format!("{name}: {}", value.as_deref().unwrap_or("(none)"))
                    })
                    .collect();
                let line = format!("  {:<width$}  {}", found.user, values.join(", "));
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out
        }
    };
    terminal.print(&output);
    Exit::Success
}

fn check(args: CheckArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    match (args.rule, args.file) {
        (Some(rule), _) => {
            let source = sources.add("<rule>", rule.as_str());
            // The canonical form alone goes to stdout, so scripts can use it; the verdict
            // goes to stderr with the diagnostics.
            match check_one(&rule, source, 0) {
                Ok((rule, warning)) => {
                    let verdict = if let Some(warning) = warning {
                        terminal.report([&warning], &sources);
                        "Valid: Entra accepts this rule (see the warning above); its canonical form is printed."
                    } else {
                        "Valid: Entra accepts this rule; its canonical form is printed."
                    };
                    terminal.print(&format!("{}\n", print(&rule)));
                    terminal.eprint(&format!("{verdict}\n"));
                    Exit::Success
                }
                Err(diagnostic) => {
                    terminal.report([&diagnostic], &sources);
                    terminal.eprint("Invalid: Entra would refuse this rule.\n");
                    Exit::Failure
                }
            }
        }
        (None, Some(path)) => check_file(&path, &mut sources, terminal),
        (None, None) => Exit::Failure,
    }
}

/// Parses one rule written at byte `offset` of `source`; a device rule parses with a warning.
fn check_one(
    text: &str,
    source: SourceId,
    offset: usize,
) -> Result<(Rule, Option<Diagnostic>), Diagnostic> {
    let locate = |range: std::ops::Range<usize>| {
        Location::span(source, offset + range.start..offset + range.end)
    };
    let rule = parse(text).map_err(|error| error.to_diagnostic(locate))?;
    let warning = rule.first_device_span().map(|span| {
        Diagnostic::new(Code::RuleDeviceRule, "this rule selects devices")
            .with_severity(Severity::Warning)
            .with_label(locate(span.range()), "a device property")
            .with_help("Entra accepts it, but licenses are assigned to users only; seatplan rejects it on licensed groups")
    });
    Ok((rule, warning))
}

fn check_file(path: &std::path::Path, sources: &mut Sources, terminal: &Terminal) -> Exit {
    let text = match read_text(path, MAX_RULE_FILE_BYTES) {
        Ok(text) => text,
        Err(diagnostic) => {
            terminal.report([&diagnostic], sources);
            return Exit::Failure;
        }
    };
    let source = sources.add(path.display().to_string(), text.as_str());
    let mut problems = Vec::new();
    let mut output = String::new();
    let (mut valid, mut invalid) = (0, 0);
    let mut offset = 0;
    for (index, line) in text.split('\n').enumerate() {
        let line_offset = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match check_one(line, source, line_offset) {
            Ok((rule, warning)) => {
                valid += 1;
                problems.extend(warning);
                output.push_str(&format!("{}: {}\n", index + 1, print(&rule)));
            }
            Err(diagnostic) => {
                invalid += 1;
                problems.push(diagnostic);
            }
        }
    }
    if valid + invalid == 0 {
        // An empty or truncated file must not pass a CI check as "all rules valid".
        problems.push(
            Diagnostic::new(
                Code::RuleSyntax,
                format!("`{}` holds no rules", path.display()),
            )
            .with_label(Location::span(source, 0..0), "no rule in this file")
            .with_help(
                "write one rule per line; blank lines and lines starting with `#` are skipped",
            ),
        );
    }
    if !problems.is_empty() {
        terminal.report(problems.iter(), sources);
    }
    output.push_str(&format!(
        "Checked {} rule{}: {valid} valid, {invalid} invalid.\n",
        valid + invalid,
        if valid + invalid == 1 { "" } else { "s" }
    ));
    terminal.print(&output);
    if invalid > 0 || valid == 0 {
        Exit::Failure
    } else {
        Exit::Success
    }
}
