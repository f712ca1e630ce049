//! `seatplan apply`: plan and apply (asking on a terminal), or apply a saved plan file after
//! checking it still matches the tenant and the config it was made from. The backend does the
//! applying: on the file backend the state is changed under an exclusive lock, atomically, with a
//! backup and an audit record per change; on Microsoft Graph the changes are made call by call
//! in dependency order and the result of each change is printed.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::{choose_backend, load_checked_config, open_backend};
use super::plan::{prepare_with, show_plan, PlanFormat, PlanInputArgs};
use super::show::read_plan;
use super::{Exit, Terminal};
use crate::backend::graph::PollPolicy;
use crate::backend::{ApplyContext, ApplyReport, ChangeOutcome, LockOptions};
use crate::diag::{Code, Diagnostic};
use crate::source::Sources;

/// Arguments of `seatplan apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `seatplan plan -o PLANFILE`; without it, apply plans first and asks.
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    /// Config, state and overrides.
    #[command(flatten)]
    pub inputs: PlanInputArgs,
    /// Apply without asking (required when not on a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Who applies, for the audit log. Default: $USER.
    #[arg(long, value_name = "NAME")]
    pub actor: Option<String>,
    /// How long to wait for another apply to release the state file, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub lock_timeout: u64,
    /// Graph: how many times to check each changed group's license processing after applying.
    #[arg(long, value_name = "COUNT", default_value_t = 10)]
    pub processing_checks: u32,
    /// Graph: seconds between two checks of a group's license processing.
    #[arg(long, value_name = "SECONDS", default_value_t = 6.0)]
    pub processing_interval: f64,
}

/// Runs `apply`.
#[expect(
    clippy::disallowed_methods,
    reason = "the apply's time and actor are taken from the clock and the environment"
)]
pub fn run(args: ApplyArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let saved = match &args.plan {
        Some(file) => match read_plan(file) {
            Ok(document) => Some(document),
            Err(diagnostic) => {
                terminal.report([&diagnostic], &sources);
                return Exit::Failure;
            }
        },
        None => None,
    };
    let config = match load_checked_config(&args.inputs.config, &mut sources) {
        Ok(config) => config,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    let options = LockOptions {
        timeout: Duration::from_secs(args.lock_timeout),
        command: "seatplan apply".to_string(),
    };
    let poll = PollPolicy {
        attempts: args.processing_checks.max(1),
        interval: Duration::try_from_secs_f64(args.processing_interval).unwrap_or_default(),
    };
    let choice = match choose_backend(
        args.inputs.state.as_deref(),
        args.inputs.graph,
        &config.valid.loaded,
        &sources,
    ) {
        Ok(choice) => choice,
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    let (mut backend, warnings) = match open_backend(
        &choice,
        &config.valid.loaded.config,
        Some(&options),
        poll,
        terminal.stderr_is_tty,
    ) {
        Ok(opened) => opened,
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    if !warnings.is_empty() {
        terminal.report(warnings.iter(), &sources);
    }
    let state = match backend.read(&mut sources) {
        Ok(state) => state,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    if let Some(saved) = &saved {
        if let Err(diagnostic) = check_saved(saved, &config.fingerprint) {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    }
    let mut prepared =
        match prepare_with(&args.inputs, config, state, backend.as_ref(), &mut sources) {
            Ok(prepared) => prepared,
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                return Exit::Failure;
            }
        };
    if let Some(saved) = &saved {
        match compare_saved(saved, &prepared) {
            Ok(None) => {}
            Ok(Some(note)) => terminal.eprint(&note),
            Err(diagnostic) => {
                terminal.report([&diagnostic], &sources);
                return Exit::Failure;
            }
        }
    }
    show_plan(&mut prepared, &sources, terminal, PlanFormat::Text, false);
    let document = &prepared.planned.document;
    if document.summary.rejected {
        return Exit::Failure;
    }
    // Nothing to do unless reprocess steps (`--reprocess`) retry errors.
    if document.changes.is_empty() && document.steps.is_empty() {
        return Exit::Success;
    }
    if saved.is_none() && !args.auto_approve && !confirm(terminal) {
        return Exit::Failure;
    }
    let actor = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string());
    let report = backend.apply(&ApplyContext {
        catalog: &prepared.config.valid.catalog,
        planned: &prepared.planned,
        current: &prepared.state.state,
        actor: &actor,
        time: jiff::Timestamp::now(),
    });
    print_report(&report, document, terminal, &sources)
}

/// Prints what the apply did and decides the exit code.
fn print_report(
    report: &ApplyReport,
    document: &crate::plan::document::PlanDocument,
    terminal: &Terminal,
    sources: &Sources,
) -> Exit {
    let mut out = String::new();
    match &report.failure {
        None => {
            let summary = &document.summary;
            out.push_str(&format!(
                "\nApply complete! Resources: {} added, {} changed, {} destroyed.\n",
                summary.add, summary.change, summary.destroy
            ));
            for result in &report.results {
                if let Some(summary) = &result.summary {
                    out.push_str(&format!("  {}: {summary}\n", result.address));
                }
            }
        }
        Some(_) => {
            let done = report
                .results
                .iter()
                .filter(|result| result.outcome == ChangeOutcome::Done)
                .count();
            out.push_str(&format!(
                "\nApply failed: {done} of {} changes done.\n",
                report.results.len()
            ));
            for result in &report.results {
                let outcome = match &result.outcome {
                    ChangeOutcome::Done => "done".to_string(),
                    ChangeOutcome::Partial { done, total } => {
                        format!("partly done ({done} of {total} calls)")
                    }
                    ChangeOutcome::Failed { error } => format!("failed: {error}"),
                    ChangeOutcome::NotAttempted => "not attempted".to_string(),
                };
                out.push_str(&format!("  {}: {outcome}\n", result.address));
            }
        }
    }
    if !report.processing.is_empty() {
        out.push_str("\nLicense processing:\n");
        for line in &report.processing {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if !report.users_in_error.is_empty() {
        out.push_str("\nLicense assignments in error, as the service records them:\n");
        for line in &report.users_in_error {
            out.push_str(&format!("  {line}\n"));
        }
    }
    for note in &report.notes {
        out.push_str(&format!("\nNote: {note}\n"));
    }
    terminal.print(&out);
    match &report.failure {
        None => Exit::Success,
        Some(diagnostic) => {
            terminal.report([diagnostic], sources);
            // Exit 1 means nothing changed: a failure after some of the changes were made
            // (the file backend's state replaced, Graph calls done) says so with exit 3.
            let changed = report.state_replaced
                || report.results.iter().any(|result| {
                    matches!(
                        result.outcome,
                        ChangeOutcome::Done | ChangeOutcome::Partial { .. }
                    )
                });
            if changed {
                Exit::Changed
            } else {
                Exit::Failure
            }
        }
    }
}

/// How many changed objects or differing changes a stale-plan diagnostic lists.
const LISTED: usize = 10;

/// `lines` as notes, the first [`LISTED`] of them and a count of the rest.
fn with_listed(mut diagnostic: Diagnostic, heading: &str, lines: &[String]) -> Diagnostic {
    if lines.is_empty() {
        return diagnostic;
    }
    let mut text = format!("{heading}:");
    for line in lines.iter().take(LISTED) {
        text.push_str(&format!("\n  {line}"));
    }
    if lines.len() > LISTED {
        text.push_str(&format!("\n  … and {} more", lines.len() - LISTED));
    }
    diagnostic = diagnostic.with_note(text);
    diagnostic
}

/// Compares a saved plan with the plan computed now. The saved plan goes ahead when the
/// recomputed one makes the same changes in the same steps and no check now rejects it, whatever else changed in
/// the tenant (`Ok(Some(note))` then says what did); otherwise a `stale-plan` error says which
/// objects the plan depends on changed and how the plans differ.
fn compare_saved(
    saved: &crate::plan::document::PlanDocument,
    prepared: &super::plan::Prepared,
) -> Result<Option<String>, Diagnostic> {
    let now = &prepared.planned.document;
    let same_state = saved.state_fingerprint == prepared.state.fingerprint;
    let objects = crate::plan::dependencies::changed(
        &saved.depends_on,
        &now.depends_on,
        &prepared.state.state,
    );
    let differences = saved.differences(now);
    let errors: Vec<String> = prepared
        .planned
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == crate::diag::Severity::Error)
        .map(|diagnostic| format!("{}: {}", diagnostic.code.as_str(), diagnostic.message))
        .collect();
    if differences.is_empty() && errors.is_empty() {
        if same_state {
            return Ok(None);
        }
        let what = if objects.is_empty() {
            "nothing the plan depends on changed".to_string()
        } else {
            format!(
                "{} of the objects the plan depends on changed ({})",
                objects.len(),
                objects
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
                    + if objects.len() > 3 { "; …" } else { "" }
            )
        };
        return Ok(Some(format!(
            "Note: the tenant changed since the plan was made; {what}, and the plan computed \
             now makes exactly the saved changes, so the saved plan is applied.\n"
        )));
    }
    let message = match (same_state, differences.is_empty()) {
        (true, false) => "the plan computed now differs from the saved plan",
        (false, false) => {
            "the tenant changed since the plan was made and the plan computed now differs from the saved one (stale plan)"
        }
        (_, true) => "the saved plan's checks would reject it now (stale plan)",
    };
    let help = if same_state {
        "the catalog or seatplan changed since the plan was made; run `seatplan plan -o PLANFILE` again"
    } else {
        "run `seatplan plan -o PLANFILE` again against the current tenant, review it, and apply that"
    };
    let mut diagnostic = Diagnostic::new(Code::StalePlan, message).with_help(help);
    diagnostic = with_listed(
        diagnostic,
        "objects the plan depends on that changed",
        &objects,
    );
    diagnostic = with_listed(diagnostic, "how the plans differ", &differences);
    diagnostic = with_listed(diagnostic, "checks that reject the plan now", &errors);
    Err(diagnostic)
}

/// A saved plan may be applied only if it was accepted and the config is still the one it was
/// computed from (the tenant is compared by recomputing, see [`compare_saved`]).
fn check_saved(
    saved: &crate::plan::document::PlanDocument,
    config: &str,
) -> Result<(), Diagnostic> {
    if saved.summary.rejected {
        return Err(Diagnostic::new(
            Code::PlanFile,
            "the saved plan was rejected by its checks; it cannot be applied",
        )
        .with_help("fix the errors `seatplan show PLANFILE` lists, then plan again"));
    }
    if saved.config_fingerprint != config {
        return Err(Diagnostic::new(
            Code::StalePlan,
            "the config differs from the one the plan was made from",
        )
        .with_help(
            "apply with the config the plan was made from (same files, same order), or plan again",
        )
        .with_note(format!("plan made from {}", saved.config_fingerprint))
        .with_note(format!("config is now  {config}")));
    }
    Ok(())
}

/// Asks on a terminal; refuses without one.
#[expect(
    clippy::disallowed_methods,
    reason = "the approval question is asked on the terminal"
)]
fn confirm(terminal: &Terminal) -> bool {
    if !std::io::stdin().is_terminal() {
        let diagnostic = Diagnostic::new(Code::ApprovalRequired, "apply needs approval and there is no terminal to ask on")
            .with_help("review the plan, then run again with --auto-approve, or apply a saved plan: `seatplan apply PLANFILE`");
        terminal.report([&diagnostic], &Sources::new());
        return false;
    }
    terminal.print("\nDo you want to apply these changes? Only 'yes' will be accepted: ");
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() == "yes" {
        true
    } else {
        terminal.print("Apply cancelled.\n");
        false
    }
}
