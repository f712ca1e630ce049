//! `seatplan apply`: plan and apply (asking on a terminal), or apply a saved plan file after
//! checking it still matches the tenant and the config it was made from. On the file backend the
//! state is changed under an exclusive lock, atomically, with a backup and an audit record per
//! change.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::{load_checked_config, load_state};
use super::plan::{prepare_with, show_plan, state_path, PlanFormat, PlanInputArgs};
use super::show::read_plan;
use super::{Exit, Terminal};
use crate::backend::{processing_summary, AuditRecord, LockOptions, StateLock};
use crate::diag::{Code, Diagnostic};
use crate::plan::{applied_state, processing_counts};
use crate::source::Sources;

/// Arguments of `seatplan apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `seatplan plan -o PLANFILE`; without it, apply plans first and asks.
    #[arg(value_name = "PLANFILE")]
    pub plan: Option<PathBuf>,
    #[command(flatten)]
    /// Config, state and overrides.
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
}

/// Runs `apply`.
pub fn run(args: ApplyArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let path = state_path(&args.inputs);
    let options = LockOptions {
        timeout: Duration::from_secs(args.lock_timeout),
        command: "seatplan apply".to_string(),
    };
    let mut acquired = match StateLock::acquire(&path, &options) {
        Ok(acquired) => acquired,
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    if let Some(stale) = &acquired.stale {
        terminal.report([stale], &sources);
    }
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
    let state = match load_state(&path, &mut sources) {
        Ok(state) => state,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    if let Some(saved) = &saved {
        if let Err(diagnostic) = check_saved(saved, state.fingerprint(), &config.fingerprint) {
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    }
    let mut prepared = match prepare_with(&args.inputs, config, state, &mut sources, terminal) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    if let Some(saved) = &saved {
        if saved.changes != prepared.planned.document.changes {
            let diagnostic = Diagnostic::new(Code::StalePlan, "the plan computed now differs from the saved plan")
                .with_help("the catalog or seatplan changed since the plan was made; run `seatplan plan -o PLANFILE` again");
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    }
    show_plan(&mut prepared, &sources, terminal, PlanFormat::Text);
    let document = &prepared.planned.document;
    if document.summary.rejected {
        return Exit::Failure;
    }
    if document.changes.is_empty() {
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
    let time = jiff::Timestamp::now();
    let counts = processing_counts(&prepared.planned);
    let current = &prepared.state.state;
    let new_state = applied_state(&prepared.config.catalog, &prepared.planned);
    let records: Vec<AuditRecord> = document
        .changes
        .iter()
        .map(|change| {
            let (assigned, failed) = counts
                .iter()
                .find(|(address, ..)| *address == change.address)
                .map_or((0, 0), |(_, assigned, failed)| (*assigned, *failed));
            let before = entity(current, change.id.as_deref(), &change.address);
            let after = entity(&new_state, change.id.as_deref(), &change.address);
            AuditRecord {
                time,
                actor: actor.clone(),
                address: change.address.clone(),
                action: serde_json::to_value(change.action)
                    .ok()
                    .and_then(|value| value.as_str().map(str::to_string))
                    .unwrap_or_default(),
                before,
                after,
                summary: processing_summary(assigned, failed),
            }
        })
        .collect();
    match prepared
        .state
        .file
        .commit(&mut acquired.lock, &new_state, &records)
    {
        Ok(_) => {
            let summary = &document.summary;
            terminal.print(&format!(
                "\nApply complete! Resources: {} added, {} changed, {} destroyed.\n",
                summary.add, summary.change, summary.destroy
            ));
            for record in &records {
                terminal.print(&format!("  {}: {}\n", record.address, record.summary));
            }
            Exit::Success
        }
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            Exit::Failure
        }
    }
}

/// A saved plan may be applied only if it was accepted and the state and config are still the
/// ones it was computed from.
fn check_saved(
    saved: &crate::plan::document::PlanDocument,
    state: &str,
    config: &str,
) -> Result<(), Diagnostic> {
    if saved.summary.rejected {
        return Err(Diagnostic::new(
            Code::PlanFile,
            "the saved plan was rejected by its checks; it cannot be applied",
        )
        .with_help("fix the errors `seatplan show PLANFILE` lists, then plan again"));
    }
    if saved.state_fingerprint != state {
        return Err(Diagnostic::new(Code::StalePlan, "the tenant changed since the plan was made (stale plan)")
            .with_help("run `seatplan plan -o PLANFILE` again against the current state, review it, and apply that")
            .with_note(format!("plan made against {}", saved.state_fingerprint))
            .with_note(format!("state is now      {state}")));
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

/// The JSON of the group or user a change addresses, as the state file holds it.
fn entity(
    state: &crate::tenant::model::TenantState,
    id: Option<&str>,
    address: &str,
) -> serde_json::Value {
    let name = address
        .split_once('[')
        .and_then(|(_, rest)| serde_json::from_str::<String>(rest.trim_end_matches(']')).ok())
        .unwrap_or_default();
    if address.starts_with("user[") {
        return state
            .users
            .iter()
            .find(|user| user.upn == name)
            .and_then(|user| serde_json::to_value(user).ok())
            .unwrap_or(serde_json::Value::Null);
    }
    state
        .groups
        .iter()
        .find(|group| {
            id.is_some_and(|id| group.id == id) || (id.is_none() && group.display_name == name)
        })
        .and_then(|group| serde_json::to_value(group).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// Asks on a terminal; refuses without one.
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
