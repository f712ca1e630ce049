//! `seatplan schema`: print the JSON schemas generated from seatplan's types.

use clap::{Args, ValueEnum};

use super::{Exit, Terminal};
use crate::catalog::relations::relations_schema;
use crate::config::schema::config_schema;
use crate::io::write_atomic;
use crate::plan::document::plan_schema;
use crate::schema::schema_text;
use crate::source::Sources;
use crate::tenant::parse::tenant_schema;

/// Which schema to print.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SchemaKind {
    /// The desired configuration (seatplan.yaml).
    Config,
    /// The tenant state file (tenant.yaml / tenant.json).
    Tenant,
    /// The service-plan relations file (data/relations.yaml).
    Relations,
    /// The plan document (`plan --format json`, plan files).
    Plan,
}

/// Arguments of `seatplan schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The schema to print.
    #[arg(value_enum)]
    pub kind: SchemaKind,
    /// Write the schema to this file instead of stdout (for a config's `$schema` line).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// Prints the requested schema to stdout.
pub fn run(args: SchemaArgs, terminal: &Terminal) -> Exit {
    let schema = match args.kind {
        SchemaKind::Config => config_schema(),
        SchemaKind::Tenant => tenant_schema(),
        SchemaKind::Relations => relations_schema(),
        SchemaKind::Plan => plan_schema(),
    };
    let text = schema_text(&schema);
    match &args.out {
        Some(out) => match write_atomic(out, text.as_bytes()) {
            Ok(()) => Exit::Success,
            Err(diagnostic) => {
                terminal.report([&diagnostic], &Sources::new());
                Exit::Failure
            }
        },
        None => {
            terminal.print(&text);
            Exit::Success
        }
    }
}
