//! `seatplan import graph DIR -o tenant.yaml`: turn a directory of Microsoft Graph JSON responses
//! (layout in SPEC §1.2) into a tenant state file, written atomically as YAML, or JSON when the
//! output name ends in `.json`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{Exit, Terminal};
use crate::backend::write_state;
use crate::diag::{Diagnostics, Location};
use crate::io::graph_export::{assemble_export, ExportFile};
use crate::io::{read_graph_export, ReadExportFile};
use crate::source::{SourceId, Sources};
use crate::tenant::graph_import::{map_export, GraphPage};
use crate::tenant::TenantState;
use crate::yaml::{parse_document, YamlLimits};

/// Arguments of `seatplan import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What to import.
    #[command(subcommand)]
    pub source: ImportSource,
}

/// The kinds of input `seatplan import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Convert saved Graph JSON responses into a tenant file. Example: seatplan import graph export/ -o tenant.yaml
    Graph(ImportGraphArgs),
}

/// Arguments of `seatplan import graph`.
#[derive(Debug, Args)]
pub struct ImportGraphArgs {
    /// Directory of Graph responses: organization.json, subscribedSkus.json, users[-N].json,
    /// groups[-N].json, members/<group-id>[-N].json.
    #[arg(value_name = "DIR")]
    pub directory: PathBuf,
    /// The tenant file to write (YAML; JSON when the name ends in .json).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `import`.
pub fn run(args: ImportArgs, terminal: &Terminal) -> Exit {
    match args.source {
        ImportSource::Graph(args) => run_graph(args, terminal),
    }
}

fn run_graph(args: ImportGraphArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let files = match read_graph_export(&args.directory) {
        Ok(files) => files,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    let mut texts = Vec::new();
    let mut pages = Vec::new();
    for ReadExportFile {
        relative_path,
        text,
        value,
    } in files
    {
        let source = sources.add(relative_path.clone(), text.as_str());
        texts.push((source, text));
        pages.push(ExportFile {
            page: GraphPage {
                origin: relative_path.clone(),
                source: Some(source),
                body: value,
            },
            relative_path,
        });
    }
    let (export, mut problems) = assemble_export(pages);
    let tenant = if problems.has_errors() {
        None
    } else {
        match map_export(&export) {
            Ok(tenant) => Some(tenant),
            Err(errors) => {
                problems.extend(errors);
                None
            }
        }
    };
    attach_pointers(&problems, &texts, &mut sources);
    if !problems.is_empty() {
        terminal.report(problems.iter(), &sources);
    }
    let Some(tenant) = tenant else {
        return Exit::Failure;
    };
    match write_state(&args.output, &tenant) {
        Ok(()) => {
            terminal.print(&format!(
                "Imported {} into {}.\n",
                summary(&tenant),
                args.output.display()
            ));
            Exit::Success
        }
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            Exit::Failure
        }
    }
}

/// Builds pointer maps only for the files a diagnostic points into: most exports have none, and
/// the span pass over every page of a large tenant would cost more than the import itself.
fn attach_pointers(problems: &Diagnostics, texts: &[(SourceId, String)], sources: &mut Sources) {
    let mut wanted: Vec<SourceId> = problems
        .iter()
        .flat_map(|problem| problem.labels.iter())
        .filter_map(|label| match label.location {
            Location::Node { source, .. } => Some(source),
            Location::Span { .. } => None,
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    for source in wanted {
        if let Some((_, text)) = texts.iter().find(|(id, _)| *id == source) {
            if let Ok(document) = parse_document(source, text, YamlLimits::default()) {
                sources.set_pointers(source, document.pointers);
            }
        }
    }
}

fn summary(tenant: &TenantState) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {}",
        count(tenant.users.len(), "user", "users"),
        count(tenant.groups.len(), "group", "groups"),
        count(tenant.subscriptions.len(), "subscription", "subscriptions"),
    )
}
