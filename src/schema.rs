//! What every JSON schema of seatplan's files shares: finishing a schema generated from the Rust
//! types (schemars) and validating parsed documents against it (jsonschema), turning every
//! violation into a diagnostic that points at its node. Each file's own schema lives with its
//! types: [`crate::config::schema`], [`crate::tenant::parse::tenant_schema`],
//! [`crate::plan::document::plan_schema`].

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::Validator;
use serde_json::Value;

use crate::diag::{did_you_mean, Code, Diagnostic, Diagnostics, Location};
use crate::source::{pointer_child, SourceId};

/// Gives a schema its `$id` under `https://seatplan.dev/schemas/`.
pub fn with_id(mut schema: Value, name: &str) -> Value {
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$id".into(),
            Value::String(format!("https://seatplan.dev/schemas/{name}.schema.json")),
        );
    }
    schema
}

/// Gives a generated schema its `$id` and removes the `null` alternative schemars adds for every
/// `Option` field. An optional field is omitted, never `null`: `licenses:` with nothing after it
/// would otherwise be ambiguous between "not managed" and "none", and nested violations would be
/// reported against the enclosing `anyOf` instead of their own node.
pub fn finish(mut schema: Value, name: &str) -> Value {
    strip_null_alternatives(&mut schema);
    with_id(schema, name)
}

fn strip_null_alternatives(value: &mut Value) {
    match value {
        Value::Object(object) => {
            let is_null =
                |schema: &Value| schema.get("type").and_then(Value::as_str) == Some("null");
            if let Some(Value::Array(alternatives)) = object.get("anyOf") {
                if alternatives.len() == 2 && alternatives.iter().any(is_null) {
                    let kept = alternatives.iter().find(|schema| !is_null(schema)).cloned();
                    object.remove("anyOf");
                    if let Some(Value::Object(kept)) = kept {
                        for (key, value) in kept {
                            object.entry(key).or_insert(value);
                        }
                    }
                }
            }
            if let Some(Value::Array(types)) = object.get_mut("type") {
                types.retain(|kind| kind.as_str() != Some("null"));
                if types.len() == 1 {
                    let single = types[0].clone();
                    object.insert("type".into(), single);
                }
            }
            object.values_mut().for_each(strip_null_alternatives);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_null_alternatives),
        _ => {}
    }
}

/// Pretty JSON text of a schema, as committed under `schemas/` (with a final newline).
pub fn schema_text(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A compiled schema with the field names it knows (for "did you mean" on unknown fields).
pub struct CompiledSchema {
    validator: Validator,
    fields: Vec<String>,
}

impl CompiledSchema {
    /// Compiles `schema`; `None` if the schema itself is invalid (a bug in seatplan).
    pub fn new(schema: &Value) -> Option<Self> {
        let validator = jsonschema::validator_for(schema).ok()?;
        let mut fields = Vec::new();
        collect_fields(schema, &mut fields);
        fields.sort();
        fields.dedup();
        Some(CompiledSchema { validator, fields })
    }

    /// The JSON pointers of the nodes of `document` that break the schema: the node itself, an
    /// unknown field's own node, or the object that lacks a required field.
    pub fn violation_nodes(&self, document: &Value) -> Vec<String> {
        let mut nodes = Vec::new();
        for error in self.validator.iter_errors(document) {
            let pointer = error.instance_path().as_str().to_string();
            match error.kind() {
                ValidationErrorKind::AdditionalProperties { unexpected } => {
                    nodes.extend(unexpected.iter().map(|name| pointer_child(&pointer, name)))
                }
                _ => nodes.push(pointer),
            }
        }
        nodes
    }
}

fn collect_fields(schema: &Value, fields: &mut Vec<String>) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                fields.extend(properties.keys().cloned());
            }
            object
                .values()
                .for_each(|value| collect_fields(value, fields));
        }
        Value::Array(items) => items.iter().for_each(|value| collect_fields(value, fields)),
        _ => {}
    }
}

/// Validates `document` against `schema`; `what` names the kind of file in messages.
pub fn validate_with(
    schema: &CompiledSchema,
    source: SourceId,
    document: &Value,
    what: &str,
) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    for error in schema.validator.iter_errors(document) {
        let pointer = error.instance_path().as_str().to_string();
        let mut help = format!("see `seatplan schema {what}` for the fields and their types");
        // seatplan's files leave a field out for "no value" (Graph's responses say `null`).
        if error.instance().is_null() {
            help = format!("leave the field out for no value instead of `null` ({help})");
        }
        let (location, label, message) = match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let name = unexpected.first().cloned().unwrap_or_default();
                let names = unexpected
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                // The schema's field names are of every object: a name that is a field
                // elsewhere (a group's `allow_license_loss` under a user) is no suggestion.
                let others = schema
                    .fields
                    .iter()
                    .map(String::as_str)
                    .filter(|field| *field != name);
                if let Some(suggestion) = did_you_mean(&name, others, 1).first() {
                    help = format!("did you mean `{suggestion}`? ({help})");
                } else if schema.fields.contains(&name) {
                    help =
                        format!("`{name}` is a field of other objects, not of this one ({help})");
                }
                (
                    Location::key(source, pointer_child(&pointer, &name)),
                    "unknown field".to_string(),
                    format!("unknown field {names} in {what} {}", describe(&pointer)),
                )
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_string();
                (
                    Location::key(source, pointer.clone()),
                    format!("`{name}` missing here"),
                    format!(
                        "required field `{name}` is missing in {what} {}",
                        describe(&pointer)
                    ),
                )
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(single) => article(&single.to_string()),
                    TypeKind::Multiple(many) => many
                        .iter()
                        .map(|single| article(&single.to_string()))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                let found = article(json_type(error.instance()));
                (
                    Location::node(source, pointer.clone()),
                    format!("expected {expected}"),
                    format!("{} must be {expected}, found {found}", describe(&pointer)),
                )
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                if what == "config" && is_member_entry(&pointer) {
                    help = "a member is a user principal name, a group's object id, or `group: <display name>`".to_string();
                }
                (
                    Location::node(source, pointer.clone()),
                    "not an allowed value".to_string(),
                    format!(
                        "{} is not an allowed value for {}",
                        short(&error.instance().to_string()),
                        describe(&pointer)
                    ),
                )
            }
            _ => (
                Location::node(source, pointer.clone()),
                short(&error.to_string()),
                format!("{} at {}", short(&error.to_string()), describe(&pointer)),
            ),
        };
        diagnostics.push(
            Diagnostic::new(Code::Schema, message)
                .with_label(location, label)
                .with_help(help),
        );
    }
    diagnostics
}

/// True for the pointer of one entry of a group's `members` (`/groups/<name>/members/<n>`).
fn is_member_entry(pointer: &str) -> bool {
    let mut segments = pointer.rsplit('/');
    let position = segments.next().unwrap_or_default();
    !position.is_empty()
        && position.bytes().all(|byte| byte.is_ascii_digit())
        && segments.next() == Some("members")
        && pointer.starts_with("/groups/")
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

fn article(kind: &str) -> String {
    let kind = match kind {
        "object" => "mapping",
        "array" => "list",
        other => other,
    };
    match kind {
        "integer" | "object" => format!("an {kind}"),
        "null" => kind.to_string(),
        _ => format!("a {kind}"),
    }
}

fn describe(pointer: &str) -> String {
    if pointer.is_empty() {
        "the top level".to_string()
    } else {
        format!("`{pointer}`")
    }
}

fn short(message: &str) -> String {
    let mut text: String = message.chars().take(80).collect();
    if text.len() < message.len() {
        text.push('…');
    }
    text
}
