//! The JSON schema of the desired configuration, generated from [`Config`], with the built-in
//! catalog's names offered for completion, and validation of a parsed config document against it.

use std::sync::OnceLock;

use serde_json::Value;

use super::Config;
use crate::catalog::Catalog;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::schema::{finish, validate_with, CompiledSchema};
use crate::source::SourceId;

/// The JSON schema of the desired configuration (`schemas/seatplan.schema.json`), with the
/// built-in catalog's product and service plan names offered for editor completion.
pub fn config_schema() -> Value {
    let mut schema = finish(
        serde_json::to_value(schemars::schema_for!(Config)).unwrap_or(Value::Null),
        "seatplan",
    );
    offer_catalog_names(&mut schema, Catalog::builtin());
    schema
}

/// Offers the catalog's skuPartNumbers for a license's `sku` and its service plan names for
/// `disabled_plans` and `enabled_plans` as `examples`: editors complete them, and names the
/// schema does not list (a product a config's `catalog:` adds, a GUID, a display name) still
/// validate; seatplan itself checks them against the catalog.
fn offer_catalog_names(schema: &mut Value, catalog: &Catalog) {
    let mut skus: Vec<&str> = catalog
        .products()
        .iter()
        .map(|product| product.sku_part_number.as_str())
        .collect();
    skus.sort_unstable();
    skus.dedup();
    let mut plans: Vec<&str> = catalog
        .plans()
        .iter()
        .map(|plan| plan.name.as_str())
        .collect();
    plans.sort_unstable();
    plans.dedup();
    let Some(definitions) = schema.get_mut("$defs").and_then(Value::as_object_mut) else {
        return;
    };
    definitions.insert(
        "SkuName".into(),
        serde_json::json!({
            "description": "A product: its skuPartNumber (offered from the built-in catalog), its GUID, or its exact display name.",
            "type": "string",
            "examples": skus,
        }),
    );
    definitions.insert(
        "PlanName".into(),
        serde_json::json!({
            "description": "A service plan name (offered from the built-in catalog).",
            "type": "string",
            "examples": plans,
        }),
    );
    let Some(properties) = definitions
        .get_mut("LicenseSpec")
        .and_then(|license| license.get_mut("properties"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    if let Some(sku) = properties.get_mut("sku").and_then(Value::as_object_mut) {
        sku.remove("type");
        sku.insert("$ref".into(), Value::String("#/$defs/SkuName".into()));
    }
    for list in ["disabled_plans", "enabled_plans"] {
        if let Some(items) = properties
            .get_mut(list)
            .and_then(|list| list.get_mut("items"))
        {
            *items = serde_json::json!({ "$ref": "#/$defs/PlanName" });
        }
    }
}

fn compiled_config_schema() -> Option<&'static CompiledSchema> {
    static SCHEMA: OnceLock<Option<CompiledSchema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| CompiledSchema::new(&config_schema()))
        .as_ref()
}

/// The JSON pointers of the nodes of a config document that break the schema: the node itself,
/// an unknown field's own node, or the object that lacks a required field.
pub fn config_violation_nodes(document: &Value) -> Vec<String> {
    let Some(schema) = compiled_config_schema() else {
        return vec![String::new()];
    };
    schema.violation_nodes(document)
}

/// Validates a parsed config document and returns one diagnostic per violation.
pub fn validate_config(source: SourceId, document: &Value) -> Diagnostics {
    match compiled_config_schema() {
        Some(schema) => validate_with(schema, source, document, "config"),
        None => Diagnostic::new(Code::Schema, "the built-in config schema does not compile")
            .with_help("this is a bug in seatplan; please report it")
            .into(),
    }
}
