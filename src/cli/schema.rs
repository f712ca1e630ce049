//! `seatplan schema`: print the JSON schemas generated from seatplan's types.

use clap::{Args, ValueEnum};

use super::{Exit, Terminal};
use crate::catalog::relations::relations_schema;
use crate::schema::{config_schema, plan_schema, schema_text, tenant_schema};

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
}

/// Prints the requested schema to stdout.
pub fn run(args: SchemaArgs, terminal: &Terminal) -> Exit {
    let schema = match args.kind {
        SchemaKind::Config => config_schema(),
        SchemaKind::Tenant => tenant_schema(),
        SchemaKind::Relations => relations_schema(),
        SchemaKind::Plan => plan_schema(),
    };
    terminal.print(&schema_text(&schema));
    Exit::Success
}
