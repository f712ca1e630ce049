//! `seatplan rule diff GROUP RULE`: the review before a dynamic rule edit goes live — who joins,
//! who leaves, which licenses each gains or loses, seats after, and the checks that would fire.
//! It plans the tenant with only that group's rule replaced.

use std::borrow::Cow;
use std::path::PathBuf;

use clap::Args;
use indexmap::IndexMap;

use super::common::{load_checked_config, load_state, DEFAULT_STATE};
use super::plan::{document_json, PlanFormat};
use super::{Exit, Terminal};
use crate::catalog::Catalog;
use crate::config::valid::validate_in;
use crate::config::{Config, GroupSpec, LoadedConfig};
use crate::diag::{Code, Diagnostic, Location};
use crate::plan::{compute, Inputs, Overrides};
use crate::render::diagnostics::to_json;
use crate::render::markdown::markdown;
use crate::render::plan::{text, Palette, TextOptions};
use crate::source::Sources;

/// Arguments of `seatplan rule diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The dynamic group's display name.
    #[arg(value_name = "GROUP")]
    pub group: String,
    /// The new membership rule (quote it for the shell).
    #[arg(value_name = "RULE", allow_hyphen_values = true)]
    pub rule: String,
    /// The tenant state file. Default: tenant.yaml.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Config whose settings and catalog additions apply (optional).
    #[arg(short = 'c', long = "config", value_name = "PATH")]
    pub config: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Text: list the service plans behind each product a user gains or loses.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Judge the edit as `plan --allow-license-loss` would: license loss is a warning.
    #[arg(long)]
    pub allow_license_loss: bool,
    /// Judge the edit as `plan --force` would: the removal threshold is a warning.
    #[arg(long)]
    pub force: bool,
}

/// Runs `rule diff`: exit 0 when the edit passes the checks, 1 when a check rejects it.
#[expect(
    clippy::disallowed_methods,
    reason = "rules' `system.now` is the time the diff is made"
)]
pub fn run(args: DiffArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let rule_source = sources.add("<rule>", args.rule.as_str());
    if let Err(error) = crate::rules::parse(&args.rule) {
        let diagnostic = error.to_diagnostic(|range| Location::span(rule_source, range));
        terminal.report([&diagnostic], &sources);
        return Exit::Failure;
    }
    let (settings_config, catalog, fingerprint) = if args.config.is_empty() {
        (
            LoadedConfig::default(),
            Cow::Borrowed(Catalog::builtin()),
            String::new(),
        )
    } else {
        match load_checked_config(&args.config, &mut sources) {
            Ok(checked) => (
                checked.valid.loaded,
                checked.valid.catalog,
                checked.fingerprint,
            ),
            Err(problems) => {
                terminal.report(problems.iter(), &sources);
                return Exit::Failure;
            }
        }
    };
    let path = args.state.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE));
    let state = match load_state(&path, &mut sources) {
        Ok(state) => state,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    let matching: Vec<_> = state
        .state
        .groups
        .iter()
        .filter(|group| group.display_name == args.group)
        .collect();
    let group = match matching.as_slice() {
        [group] => *group,
        [] => {
            let names = state
                .state
                .groups
                .iter()
                .map(|group| group.display_name.as_str());
            let hint = crate::diag::did_you_mean(&args.group, names, 1)
                .first()
                .map_or(String::new(), |best| format!("did you mean `{best}`? "));
            let diagnostic = Diagnostic::new(
                Code::GroupReference,
                format!("no group of the tenant is named `{}`", args.group),
            )
            .with_help(format!(
                "{hint}rule diff reviews an edit of an existing dynamic group"
            ));
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
        several => {
            let diagnostic = Diagnostic::new(
                Code::GroupReference,
                format!("{} groups are named `{}`", several.len(), args.group),
            )
            .with_help("rename one of them; rule diff needs an unambiguous group");
            terminal.report([&diagnostic], &sources);
            return Exit::Failure;
        }
    };
    let mut spec = settings_config
        .config
        .groups
        .as_ref()
        .and_then(|groups| groups.get(&args.group))
        .map(|spec| GroupSpec {
            allow_license_loss: spec.allow_license_loss,
            ..GroupSpec::default()
        })
        .unwrap_or_default();
    spec.id = Some(group.id.clone());
    spec.rule = Some(args.rule.clone());
    let mut loaded = LoadedConfig {
        config: Config {
            version: 1,
            settings: settings_config.config.settings.clone(),
            groups: Some(IndexMap::from([(args.group.clone(), spec)])),
            ..Config::default()
        },
        origins: settings_config.origins.clone(),
    };
    loaded.origins.groups.clear();
    let valid = match validate_in(loaded, catalog) {
        Ok((valid, _)) => valid,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    let record = |diagnostic: &Diagnostic| to_json(diagnostic, &sources);
    let inputs = Inputs {
        config: &valid,
        state: &state.state,
        state_source: state.source,
        state_fingerprint: state.fingerprint.clone(),
        config_fingerprint: fingerprint,
        now: jiff::Timestamp::now(),
        overrides: Overrides {
            allow_license_loss: args.allow_license_loss,
            force: args.force,
            reprocess: false,
        },
        warnings: &[],
        record: &record,
    };
    let planned = match compute(&inputs) {
        Ok(planned) => planned,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    terminal.report(planned.diagnostics.iter(), &sources);
    let output = match args.format {
        PlanFormat::Text => {
            let edit = format!("the rule of \"{}\" were {}", args.group, args.rule);
            text(
                &planned.document,
                &TextOptions {
                    palette: Palette::new(terminal.stdout_color()),
                    verbose: args.verbose,
                    what_if: Some(&edit),
                },
            )
        }
        PlanFormat::Json => document_json(&planned.document),
        PlanFormat::Markdown => markdown(&planned.document),
    };
    terminal.print(&output);
    if planned.document.summary.rejected {
        Exit::Failure
    } else {
        Exit::Success
    }
}
