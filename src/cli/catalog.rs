//! `seatplan catalog`: the products seatplan knows, with their service plans and the relations
//! between plans (conflicts, prerequisites, upgrades, usage-location availability).

use clap::{Args, ValueEnum};

use super::{Exit, Terminal};
use crate::catalog::report::{report, search, CatalogReport, ProductReport, RelationReport};
use crate::catalog::{or_list, Catalog, Lookup, RelationKind};
use crate::diag::{Code, Diagnostic};
use crate::source::Sources;

/// Output format of `seatplan catalog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text.
    Text,
    /// The JSON document (`format_version: 1`).
    Json,
}

/// Arguments of `seatplan catalog`.
#[derive(Debug, Args)]
pub struct CatalogArgs {
    /// A skuPartNumber, product GUID or display name, part of one, or a service plan name.
    /// Without it, every product is listed.
    pub query: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// At most this many matching products are shown in full in text output; more are listed.
const DETAILED_LIMIT: usize = 10;

/// The widest a name column is padded to; longer names push the rest of their line.
const COLUMN_LIMIT: usize = 40;

/// Runs `catalog`: prints the matching products, or fails with suggestions when none match.
pub fn run(args: CatalogArgs, terminal: &Terminal) -> Exit {
    let catalog = Catalog::builtin();
    let query = args.query.as_deref();
    let products = search(catalog, query);
    if products.is_empty() {
        let query = query.unwrap_or_default();
        let mut diagnostic =
            Diagnostic::new(Code::UnknownSku, format!("no product matches `{query}`"));
        diagnostic = match catalog.lookup_product(query) {
            Lookup::Unknown(suggestions) if !suggestions.is_empty() => {
                diagnostic.with_help(format!("did you mean {}?", or_list(&suggestions)))
            }
            _ => diagnostic.with_help("`seatplan catalog` without a query lists every product"),
        };
        terminal.report([&diagnostic], &Sources::new());
        return Exit::Failure;
    }
    let report = report(catalog, &products);
    let text = match args.format {
        Format::Json => {
            let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
            text.push('\n');
            text
        }
        Format::Text if query.is_some() && report.products.len() <= DETAILED_LIMIT => report
            .products
            .iter()
            .map(detailed)
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Text => summary(&report),
    };
    terminal.print(&text);
    Exit::Success
}

fn summary(report: &CatalogReport) -> String {
    let width = report
        .products
        .iter()
        .map(|product| product.sku_part_number.chars().count())
        .max()
        .unwrap_or(0)
        .min(COLUMN_LIMIT);
    let mut out = String::new();
    for product in &report.products {
        out.push_str(&format!(
            "{:<width$}  {}  ({} plans)\n",
            product.sku_part_number,
            product.name,
            product.plans.len()
        ));
    }
    out.push_str(&format!(
        "\n{} of {} products; the catalog has {} service plans. `seatplan catalog SKU` shows one in full.\n",
        report.products.len(),
        report.product_count,
        report.plan_count
    ));
    out
}

fn detailed(product: &ProductReport) -> String {
    let mut out = format!("{}  {}\n", product.sku_part_number, product.name);
    out.push_str(&format!("  id: {}\n", product.id));
    out.push_str(&format!("  service plans ({}):\n", product.plans.len()));
    let width = product
        .plans
        .iter()
        .map(|plan| plan.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(COLUMN_LIMIT);
    for plan in &product.plans {
        let exchange = if plan.exchange { "  [Exchange]" } else { "" };
        out.push_str(&format!(
            "    {:<width$}  {}  {}{exchange}\n",
            plan.name, plan.id, plan.friendly_name
        ));
    }
    if product.relations.is_empty() {
        out.push_str("  relations: none\n");
    } else {
        out.push_str(&format!("  relations ({}):\n", product.relations.len()));
        for relation in &product.relations {
            out.push_str(&format!("    {}\n", describe(relation)));
            out.push_str(&format!("      source: {}\n", relation.source));
        }
    }
    out
}

fn describe(relation: &RelationReport) -> String {
    let plans = relation.plans.join(", ");
    let countries = relation.countries.join(", ");
    match relation.kind {
        RelationKind::MutuallyExclusive => {
            format!("{} is mutually exclusive with {plans}", relation.plan)
        }
        RelationKind::RequiresAnyOf if relation.plans.len() == 1 => {
            format!("{} requires {plans}", relation.plan)
        }
        RelationKind::RequiresAnyOf => format!("{} requires one of {plans}", relation.plan),
        RelationKind::Supersedes => format!("{} supersedes {plans}", relation.plan),
        RelationKind::AvailableOnlyIn => {
            format!("{} is available only in {countries}", relation.plan)
        }
        RelationKind::UnavailableIn => format!("{} is not available in {countries}", relation.plan),
    }
}
