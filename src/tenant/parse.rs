//! Reading a tenant state file's text into [`TenantState`]: YAML through the span pass and the
//! generated schema (every violation reported with its line), JSON through a typed streaming
//! parse that never builds a generic tree (state files of a large tenant run to hundreds of
//! megabytes). Spans for JSON are computed only when a diagnostic needs them.

use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::schema::{finish, validate_with, CompiledSchema};
use crate::source::{PointerMap, SourceId};
use crate::tenant::model::{SharedNames, TenantState};
use crate::yaml::{parse_document, YamlLimits};

/// The JSON schema of the tenant state file (`schemas/tenant.schema.json`).
pub fn tenant_schema() -> serde_json::Value {
    finish(
        serde_json::to_value(schemars::schema_for!(super::TenantState))
            .unwrap_or(serde_json::Value::Null),
        "tenant",
    )
}

/// The format of a state file, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.yaml` / `.yml`.
    Yaml,
    /// `.json`.
    Json,
}

impl Format {
    /// The format for a file name: JSON for `.json`, YAML otherwise.
    pub fn for_name(name: &str) -> Format {
        if name.to_ascii_lowercase().ends_with(".json") {
            Format::Json
        } else {
            Format::Yaml
        }
    }
}

/// Limits of the YAML pass for state files (larger and flatter than configs).
const STATE_LIMITS: YamlLimits = YamlLimits {
    max_depth: 32,
    max_nodes: 50_000_000,
};

/// Parses a state file's text. On success the pointer map is returned for YAML (for later
/// referential diagnostics); JSON gets one only if [`json_pointers`] is called.
pub fn parse_state(
    source: SourceId,
    text: &str,
    format: Format,
) -> Result<(TenantState, Option<PointerMap>), (Diagnostics, Option<PointerMap>)> {
    match format {
        Format::Json => {
            let body = text.strip_prefix('\u{feff}').unwrap_or(text);
            let offset = text.len() - body.len();
            let parsed = SharedNames::scope(|| serde_json::from_str::<TenantState>(body));
            let state = parsed.map_err(|error| {
                let at = offset + byte_offset(body, error.line(), error.column());
                let code = if error.is_syntax() || error.is_eof() {
                    Code::JsonSyntax
                } else if error.to_string().starts_with("duplicate field") {
                    Code::DuplicateKey
                } else {
                    Code::Schema
                };
                let diagnostic =
                    Diagnostic::new(code, format!("the tenant state cannot be read: {error}"))
                        .with_label(Location::span(source, at..at), "here")
                        .with_help(
                            "compare the file with `seatplan schema tenant`, or export it again",
                        );
                (Diagnostics::from(diagnostic), None)
            })?;
            validate_version(source, &state).map_err(|problems| (problems, None))?;
            Ok((state, None))
        }
        Format::Yaml => {
            let document = parse_document(source, text, STATE_LIMITS)
                .map_err(|diagnostic| (Diagnostics::from(diagnostic), None))?;
            let pointers = document.pointers;
            if document.value.is_null() {
                let diagnostic = Diagnostic::new(Code::Schema, "the tenant state file is empty")
                    .with_label(Location::span(source, 0..0), "no content")
                    .with_help("create it with `seatplan import graph` or `seatplan export`");
                return Err((diagnostic.into(), Some(pointers)));
            }
            let violations = validate_tenant(source, &document.value);
            if !violations.is_empty() {
                return Err((violations, Some(pointers)));
            }
            let state = match SharedNames::scope(|| {
                serde_path_to_error::deserialize::<_, TenantState>(document.value)
            }) {
                Ok(state) => state,
                Err(error) => {
                    let pointer = crate::source::error_pointer(error.path());
                    let diagnostic = Diagnostic::new(
                        Code::Schema,
                        format!("the tenant state cannot be read: {}", error.inner()),
                    )
                    .with_label(Location::node(source, pointer), "here")
                    .with_help("compare the file with `seatplan schema tenant`");
                    return Err((diagnostic.into(), Some(pointers)));
                }
            };
            if let Err(problems) = validate_version(source, &state) {
                return Err((problems, Some(pointers)));
            }
            Ok((state, Some(pointers)))
        }
    }
}

fn validate_version(source: SourceId, state: &TenantState) -> Result<(), Diagnostics> {
    if state.version == 1 {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::UnsupportedVersion,
        format!("tenant state version {} is not supported", state.version),
    )
    .with_label(
        Location::node(source, "/version"),
        "this seatplan reads version 1",
    )
    .with_help("export the state again with this seatplan")
    .into())
}

/// Validates a parsed state document against the tenant schema.
pub fn validate_tenant(source: SourceId, document: &serde_json::Value) -> Diagnostics {
    static SCHEMA: std::sync::OnceLock<Option<CompiledSchema>> = std::sync::OnceLock::new();
    match SCHEMA.get_or_init(|| CompiledSchema::new(&tenant_schema())) {
        Some(schema) => validate_with(schema, source, document, "tenant"),
        None => Diagnostic::new(Code::Schema, "the built-in tenant schema does not compile")
            .with_help("this is a bug in seatplan; please report it")
            .into(),
    }
}

/// The largest JSON state file whose pointer map [`json_pointers`] builds. Past it, diagnostics
/// found after loading name JSON pointers, and the file's text is not needed once parsed.
pub const MAX_POINTER_INDEXED: usize = 8 * 1024 * 1024;

/// Builds the pointer map of a JSON state file (JSON is YAML, so the span pass reads it), for
/// diagnostics found after loading. `None` when the file is too large to index in reasonable
/// time and memory (the span pass builds a tree); its diagnostics then name JSON pointers.
pub fn json_pointers(source: SourceId, text: &str) -> Option<PointerMap> {
    if text.len() > MAX_POINTER_INDEXED {
        return None;
    }
    parse_document(source, text, STATE_LIMITS)
        .ok()
        .map(|document| document.pointers)
}

/// The byte offset of a 1-based line and column (in bytes, as serde_json counts).
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>();
    (line_start + column.saturating_sub(1)).min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: &str = "version: 1\ntenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }\nusers:\n  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com }\n";

    #[test]
    fn yaml_and_json_give_the_same_state() {
        let (yaml, pointers) = parse_state(SourceId(0), STATE, Format::Yaml).unwrap();
        assert!(pointers.is_some());
        let json = serde_json::to_string(&yaml).unwrap();
        let (from_json, _) = parse_state(SourceId(0), &json, Format::Json).unwrap();
        assert_eq!(yaml, from_json);
    }

    #[test]
    fn attribute_values_of_every_kind_load_from_json_and_yaml() {
        use crate::tenant::model::AttributeValue;
        let json = r#"{"version":1,"tenant":{},"users":[{"id":"bb82030d-bc2b-4aba-82a9-0bf2e207a84a","upn":"ann@contoso.com",
            "attributes":{"department":"Sales","accountEnabled":false,"employeeNumber":42,
            "weight":1.5,"otherMails":["a@b.c","d@e.f"]}}]}"#;
        let (state, _) = parse_state(SourceId(0), json, Format::Json).unwrap();
        let attributes = &state.users[0].attributes;
        assert_eq!(
            attributes.get("department").cloned().unwrap(),
            AttributeValue::String("Sales".into())
        );
        assert_eq!(
            attributes.get("accountEnabled").cloned().unwrap(),
            AttributeValue::Bool(false)
        );
        assert_eq!(
            attributes.get("employeeNumber").cloned().unwrap(),
            AttributeValue::Number(42.into())
        );
        assert_eq!(
            attributes.get("weight").cloned().unwrap(),
            AttributeValue::Number(serde_json::Number::from_f64(1.5).unwrap())
        );
        assert_eq!(
            attributes.get("otherMails").cloned().unwrap(),
            AttributeValue::List(vec!["a@b.c".into(), "d@e.f".into()])
        );
        let yaml = serde_yaml::to_string(&state).unwrap();
        let (from_yaml, _) = parse_state(SourceId(0), &yaml, Format::Yaml).unwrap();
        assert_eq!(from_yaml, state);
        let nested = json.replace(r#""weight":1.5"#, r#""weight":{"kg":1}"#);
        assert!(parse_state(SourceId(0), &nested, Format::Json).is_err());
    }

    #[test]
    fn json_errors_have_positions() {
        let text = "{\n  \"version\": 1,\n  \"tenant\": {},\n  \"users\": [ { \"id\": 5 } ]\n}\n";
        let (diagnostics, _) = parse_state(SourceId(0), text, Format::Json).unwrap_err();
        let Some(Location::Span { range, .. }) = diagnostics.0[0]
            .labels
            .first()
            .map(|label| label.location.clone())
        else {
            panic!("expected a span label");
        };
        assert_eq!(&text[..range.start].lines().count(), &4);
    }

    #[test]
    fn yaml_schema_violations_are_all_reported() {
        let text = "version: 1\ntenant: {}\nusers:\n  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: 5, colour: red }\n";
        let (diagnostics, _) = parse_state(SourceId(0), text, Format::Yaml).unwrap_err();
        assert_eq!(diagnostics.0.len(), 2, "{diagnostics:?}");
    }

    #[test]
    fn a_yaml_value_the_schema_lets_through_is_located_when_it_does_not_fit() {
        let text = "version: 1\ntenant: {}\nsubscriptions:\n  - { sku: ENTERPRISEPACK, enabled: 99999999999999999999 }\n";
        let (diagnostics, _) = parse_state(SourceId(0), text, Format::Yaml).unwrap_err();
        let Some(Location::Node { pointer, .. }) = diagnostics.0[0]
            .labels
            .first()
            .map(|label| label.location.clone())
        else {
            panic!("expected a node label: {diagnostics:?}");
        };
        assert_eq!(pointer, "/subscriptions/0/enabled");
    }

    #[test]
    fn a_null_attribute_is_refused_saying_to_leave_it_out() {
        let text = "version: 1\ntenant: {}\nusers:\n  - { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com, attributes: { city: null } }\n";
        let (diagnostics, _) = parse_state(SourceId(0), text, Format::Yaml).unwrap_err();
        let help = diagnostics.0[0].help.clone().unwrap_or_default();
        assert!(
            help.starts_with("leave the field out for no value"),
            "{help}"
        );
    }
}
