//! The relations file (`data/relations.yaml`): service-plan relations that Microsoft's product
//! CSV does not carry, each with the `source:` it comes from. Its types generate
//! `schemas/relations.schema.json`; the file is read through the span-aware YAML pass and
//! validated against that schema, and every plan name in it is resolved against the catalog.

use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{invalid_country, Catalog, PlanId, Relation, RelationKind};
use crate::country::normalize_country;
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::schema::{finish, validate_with, CompiledSchema};
use crate::source::SourceId;
use crate::yaml::{parse_document, YamlLimits};

/// A relations file: mutually exclusive plans, prerequisites, upgrade paths and usage-location
/// availability of service plans. Plans are named by Service_Plan_Name or GUID.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "seatplan service-plan relations")]
pub struct RelationsFile {
    /// Format version of this file. Only `1` exists.
    pub version: u32,
    /// Sets of plans that cannot be enabled for the same user (MutuallyExclusiveViolation).
    #[serde(default)]
    pub conflicts: Vec<ConflictEntry>,
    /// Plans that work only when one of a set of other plans is enabled too
    /// (DependencyViolation when that set is lost).
    #[serde(default)]
    pub requires: Vec<RequiresEntry>,
    /// Upgrade paths: losing a superseded plan while gaining the plan that supersedes it is not
    /// a license loss.
    #[serde(default)]
    pub supersedes: Vec<SupersedesEntry>,
    /// Usage locations where a plan may or may not be assigned. A plan without an entry is
    /// available everywhere.
    #[serde(default)]
    pub availability: Vec<AvailabilityEntry>,
}

/// Plans that are pairwise mutually exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConflictEntry {
    /// Two or more plans; each pair of them conflicts.
    #[schemars(length(min = 2))]
    pub plans: Vec<String>,
    /// Where the relation is documented: a seed document or a URL; "inferred" when it is
    /// concluded rather than stated.
    #[schemars(length(min = 1))]
    pub source: String,
}

/// A plan and the plans it needs one of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiresEntry {
    /// The dependent plan (an add-on).
    pub plan: String,
    /// The prerequisites; any one of them is enough.
    #[schemars(length(min = 1))]
    pub any_of: Vec<String>,
    /// Where the relation is documented.
    #[schemars(length(min = 1))]
    pub source: String,
}

/// A plan and the plans it is an upgrade of.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SupersedesEntry {
    /// The larger plan.
    pub plan: String,
    /// The smaller plans it replaces.
    #[schemars(length(min = 1))]
    pub over: Vec<String>,
    /// Where the relation is documented.
    #[schemars(length(min = 1))]
    pub source: String,
}

/// Where a plan may be assigned. Exactly one of `available_in` and `unavailable_in`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityEntry {
    /// The plan.
    pub plan: String,
    /// The only usage locations (ISO 3166-1 alpha-2) where the plan may be assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_in: Option<Vec<String>>,
    /// Usage locations (ISO 3166-1 alpha-2) where the plan may not be assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_in: Option<Vec<String>>,
    /// Where the restriction is documented.
    #[schemars(length(min = 1))]
    pub source: String,
}

/// The largest relations file read.
pub const MAX_RELATIONS_BYTES: usize = 4 * 1024 * 1024;

/// The JSON schema of the relations file (`schemas/relations.schema.json`).
pub fn relations_schema() -> Value {
    finish(
        serde_json::to_value(schemars::schema_for!(RelationsFile)).unwrap_or(Value::Null),
        "relations",
    )
}

fn compiled_schema() -> Option<&'static CompiledSchema> {
    static SCHEMA: OnceLock<Option<CompiledSchema>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| CompiledSchema::new(&relations_schema()))
        .as_ref()
}

/// Reads a relations file's text (registered as `source`): YAML pass, schema, typing, version.
pub fn parse_relations(source: SourceId, text: &str) -> Result<RelationsFile, Diagnostics> {
    if text.len() > MAX_RELATIONS_BYTES {
        return Err(Diagnostic::new(
            Code::TooLarge,
            format!(
                "the relations file is {} bytes; the limit is {MAX_RELATIONS_BYTES}",
                text.len()
            ),
        )
        .into());
    }
    let document =
        parse_document(source, text, YamlLimits::default()).map_err(Diagnostics::from)?;
    let Some(schema) = compiled_schema() else {
        return Err(Diagnostic::new(
            Code::Schema,
            "the built-in relations schema does not compile",
        )
        .with_help("this is a bug in seatplan; please report it")
        .into());
    };
    let violations = validate_with(schema, source, &document.value, "relations");
    if !violations.is_empty() {
        return Err(violations);
    }
    let file: RelationsFile = serde_json::from_value(document.value).map_err(|error| {
        Diagnostics::from(
            Diagnostic::new(
                Code::Schema,
                format!("the relations file cannot be read: {error}"),
            )
            .with_label(Location::span(source, 0..0), "here"),
        )
    })?;
    if file.version != 1 {
        return Err(Diagnostic::new(
            Code::UnsupportedVersion,
            format!("relations file version {} is not supported", file.version),
        )
        .with_label(
            Location::node(source, "/version"),
            "this seatplan reads version 1",
        )
        .with_help("set `version: 1`")
        .into());
    }
    Ok(file)
}

/// Resolves every plan name of `file` against `catalog` and turns the entries into relations.
/// Unknown plans, unknown countries and entries with both or neither availability list are
/// reported together.
pub fn resolve_file(
    catalog: &Catalog,
    source: SourceId,
    file: &RelationsFile,
) -> Result<Vec<Relation>, Diagnostics> {
    let mut problems = Diagnostics::default();
    let mut relations = Vec::new();
    let resolve = |name: &str, pointer: String, problems: &mut Diagnostics| -> Vec<PlanId> {
        let plans = catalog.plans_named(name);
        if plans.is_empty() {
            problems.push(
                catalog
                    .unknown_plan(name)
                    .with_label(Location::node(source, pointer), "unknown service plan"),
            );
        }
        plans
    };
    for (index, entry) in file.conflicts.iter().enumerate() {
        let base = format!("/conflicts/{index}");
        let resolved: Vec<Vec<PlanId>> = entry
            .plans
            .iter()
            .enumerate()
            .map(|(at, name)| resolve(name, format!("{base}/plans/{at}"), &mut problems))
            .collect();
        for (at, left) in resolved.iter().enumerate() {
            let right: Vec<PlanId> = resolved[at + 1..].iter().flatten().copied().collect();
            for &plan in left {
                if !right.is_empty() {
                    relations.push(Relation {
                        kind: RelationKind::MutuallyExclusive,
                        plan,
                        plans: right.clone(),
                        countries: Vec::new(),
                        source: entry.source.clone(),
                        location: Some(Location::node(source, format!("{base}/plans"))),
                    });
                }
            }
        }
    }
    for (index, entry) in file.requires.iter().enumerate() {
        let base = format!("/requires/{index}");
        let plans = resolve(&entry.plan, format!("{base}/plan"), &mut problems);
        let any_of: Vec<PlanId> = entry
            .any_of
            .iter()
            .enumerate()
            .flat_map(|(at, name)| resolve(name, format!("{base}/any_of/{at}"), &mut problems))
            .collect();
        for plan in plans {
            relations.push(Relation {
                kind: RelationKind::RequiresAnyOf,
                plan,
                plans: any_of.clone(),
                countries: Vec::new(),
                source: entry.source.clone(),
                location: Some(Location::node(source, base.clone())),
            });
        }
    }
    for (index, entry) in file.supersedes.iter().enumerate() {
        let base = format!("/supersedes/{index}");
        let plans = resolve(&entry.plan, format!("{base}/plan"), &mut problems);
        let over: Vec<PlanId> = entry
            .over
            .iter()
            .enumerate()
            .flat_map(|(at, name)| resolve(name, format!("{base}/over/{at}"), &mut problems))
            .collect();
        for plan in plans {
            relations.push(Relation {
                kind: RelationKind::Supersedes,
                plan,
                plans: over.clone(),
                countries: Vec::new(),
                source: entry.source.clone(),
                location: Some(Location::node(source, base.clone())),
            });
        }
    }
    let mut restricted: Vec<(PlanId, String)> = Vec::new();
    for (index, entry) in file.availability.iter().enumerate() {
        let base = format!("/availability/{index}");
        let (kind, list, field) = match (&entry.available_in, &entry.unavailable_in) {
            (Some(list), None) => (RelationKind::AvailableOnlyIn, list, "available_in"),
            (None, Some(list)) => (RelationKind::UnavailableIn, list, "unavailable_in"),
            _ => {
                problems.push(
                    Diagnostic::new(
                        Code::InvalidCatalog,
                        format!("the availability of `{}` needs exactly one of `available_in` and `unavailable_in`", entry.plan),
                    )
                    .with_label(Location::node(source, base), "here")
                    .with_help("an allow-list or a deny-list of countries, not both or neither"),
                );
                continue;
            }
        };
        let mut countries = Vec::new();
        for (at, code) in list.iter().enumerate() {
            match normalize_country(code) {
                Some(country) => countries.push(country.to_string()),
                None => problems.push(invalid_country(code).with_label(
                    Location::node(source, format!("{base}/{field}/{at}")),
                    "unknown country",
                )),
            }
        }
        countries.sort();
        countries.dedup();
        for plan in resolve(&entry.plan, format!("{base}/plan"), &mut problems) {
            if let Some((_, first)) = restricted.iter().find(|(seen, _)| *seen == plan) {
                problems.push(
                    Diagnostic::new(
                        Code::InvalidCatalog,
                        format!(
                            "the availability of `{}` is given twice",
                            catalog.plan(plan).name
                        ),
                    )
                    .with_label(Location::node(source, format!("{base}/plan")), "again here")
                    .with_label(Location::node(source, first.clone()), "first here")
                    .with_help("merge the two entries into one"),
                );
                continue;
            }
            restricted.push((plan, format!("{base}/plan")));
            relations.push(Relation {
                kind,
                plan,
                plans: Vec::new(),
                countries: countries.clone(),
                source: entry.source.clone(),
                location: Some(Location::node(source, base.clone())),
            });
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    Ok(relations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::schema_text;

    #[test]
    fn committed_schema_matches_the_types() {
        let committed = include_str!("../../schemas/relations.schema.json");
        assert_eq!(
            committed,
            schema_text(&relations_schema()),
            "schemas/relations.schema.json is stale: run `seatplan schema relations > schemas/relations.schema.json`"
        );
    }

    #[test]
    fn the_builtin_file_parses_and_every_entry_has_a_source() {
        let file = parse_relations(
            SourceId(0),
            crate::catalog::Catalog::builtin_relations_text(),
        )
        .unwrap();
        assert!(file
            .conflicts
            .iter()
            .all(|entry| !entry.source.trim().is_empty()));
        assert!(file
            .requires
            .iter()
            .all(|entry| !entry.source.trim().is_empty()));
        assert!(file
            .supersedes
            .iter()
            .all(|entry| !entry.source.trim().is_empty()));
        assert!(file
            .availability
            .iter()
            .all(|entry| !entry.source.trim().is_empty()));
        assert!(!file.conflicts.is_empty() && !file.requires.is_empty());
    }
}
