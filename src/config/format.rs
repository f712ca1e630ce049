//! `seatplan fmt`: the canonical layout of a config file, as Terraform's `fmt`, so that pull
//! requests diff cleanly. Two things are made canonical, and nothing else is touched:
//!
//! - every group's `rule` is written as the canonical printer prints it (spacing, operator and
//!   property case, quotes), kept plain where YAML allows and double-quoted otherwise; rules in
//!   block scalars (`|`, `>`) and rules that do not parse are left as written;
//! - the fields of the top level, of each group, each user and each license are put in the
//!   order of the schema (`version`, `tenant`, `settings`, `backend`, `catalog`, `groups`,
//!   `users`; `id`, `description`, `security_enabled`, `rule`, `rule_processing`, `members`,
//!   `licenses`, `allow_license_loss`, `ensure`; `sku`, `disabled_plans`, `enabled_plans`;
//!   `usage_location`, `licenses`). Groups and users keep their order.
//!
//! Comments are kept: an entry moves as whole lines, with the comment lines directly above it and
//! its trailing comment. A mapping written in flow style (`{ … }`) or whose keys do not each start
//! a line is left as it is. The result is checked before it is returned: it must parse to the
//! same config (rules compared in canonical form) and keep every comment line, else the file is
//! refused and nothing is written.

use std::ops::Range;

use serde_json::Value;

use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::source::{escape_pointer_token, pointer_child, PointerMap, SourceId};
use crate::yaml::{parse_document, YamlLimits};

/// Field orders of the schema, by the kind of mapping.
const TOP: &[&str] = &[
    "version", "tenant", "settings", "backend", "catalog", "groups", "users",
];
const GROUP: &[&str] = &[
    "id",
    "description",
    "security_enabled",
    "rule",
    "rule_processing",
    "members",
    "licenses",
    "allow_license_loss",
    "ensure",
];
const LICENSE: &[&str] = &["sku", "disabled_plans", "enabled_plans"];
const USER: &[&str] = &["usage_location", "licenses"];

/// How many rounds of edits a file may take (each round settles one level of nesting).
const MAX_ROUNDS: usize = 16;

/// The config text in canonical layout (the same text when it already is). Errors: the text is
/// not a readable YAML document, or formatting would change its content (refused).
pub fn format_config(source: SourceId, text: &str) -> Result<String, Diagnostics> {
    let original = parse_document(source, text, YamlLimits::default())?;
    let mut current = text.to_string();
    for _ in 0..MAX_ROUNDS {
        let document = parse_document(source, &current, YamlLimits::default())?;
        let edits = edits(&current, &document.value, &document.pointers);
        if edits.is_empty() {
            break;
        }
        current = apply(&current, edits);
    }
    let formatted = parse_document(source, &current, YamlLimits::default())?;
    if canonical_value(original.value) != canonical_value(formatted.value)
        || comment_lines(text) != comment_lines(&current)
    {
        return Err(Diagnostic::new(
            Code::Format,
            "seatplan fmt cannot lay out this file without changing its content; nothing was written",
        )
        .with_label(Location::span(source, 0..0), "this file")
        .with_help("format it by hand (fields in the schema's order, rules as `seatplan rule check` prints them)")
        .into());
    }
    Ok(current)
}

/// The edits of one round: rule texts, then mappings to reorder; overlapping edits wait for
/// the next round.
fn edits(text: &str, value: &Value, pointers: &PointerMap) -> Vec<(Range<usize>, String)> {
    let mut edits = Vec::new();
    let mut mappings: Vec<(String, &[&str])> = vec![(String::new(), TOP)];
    for (section, order) in [("groups", GROUP), ("users", USER)] {
        let Some(entries) = value.get(section).and_then(Value::as_object) else {
            continue;
        };
        for (name, entry) in entries {
            let pointer = format!("/{section}/{}", escape_pointer_token(name));
            if let Some(edit) = rule_edit(text, entry, pointers, &pointer) {
                edits.push(edit);
            }
            if let Some(licenses) = entry.get("licenses").and_then(Value::as_array) {
                for index in 0..licenses.len() {
                    mappings.push((format!("{pointer}/licenses/{index}"), LICENSE));
                }
            }
            mappings.push((pointer, order));
        }
    }
    for (pointer, order) in mappings {
        let node = if pointer.is_empty() {
            Some(value)
        } else {
            value.pointer(&pointer)
        };
        if let Some(Value::Object(object)) = node {
            edits.extend(reorder_edit(text, object, pointers, &pointer, order));
        }
    }
    edits.sort_by_key(|(range, _)| (range.start, range.end));
    let mut kept: Vec<(Range<usize>, String)> = Vec::new();
    for edit in edits {
        if kept.last().is_none_or(|(last, _)| last.end <= edit.0.start) {
            kept.push(edit);
        }
    }
    kept
}

/// Applies disjoint edits, sorted by position.
fn apply(text: &str, edits: Vec<(Range<usize>, String)>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, replacement) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&replacement);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The edit that writes a group's rule in canonical form, if it is not already.
fn rule_edit(
    text: &str,
    group: &Value,
    pointers: &PointerMap,
    pointer: &str,
) -> Option<(Range<usize>, String)> {
    let rule = group.get("rule")?.as_str()?;
    let node = pointers.get(&pointer_child(pointer, "rule"))?;
    let span = node.value.clone();
    let written = text.get(span.clone())?;
    // Block scalars (`|`, `>`: the indicator sits between the key and the value) and scalars
    // written over several lines are left as they are.
    let between = text.get(node.key.as_ref()?.end..span.start)?;
    if between.contains(['|', '>']) || written.contains('\n') {
        return None;
    }
    let canonical = crate::rules::print(&crate::rules::parse(rule).ok()?);
    let replacement = if plain_is_safe(&canonical) && !written.starts_with(['"', '\'']) {
        canonical
    } else {
        serde_json::to_string(&canonical).ok()?
    };
    (replacement != written).then_some((span, replacement))
}

/// Whether `text` reads back as the same string when written as a plain YAML scalar on one line.
fn plain_is_safe(text: &str) -> bool {
    let starts_special = text.starts_with([
        '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@',
        '`',
    ]);
    !text.is_empty()
        && !starts_special
        && text.trim() == text
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !text.contains(['\n', '\t'])
}

/// The edit that puts a block mapping's entries in `order`, if they are not already. Each entry
/// is the run of whole lines from its key (and the comment lines directly above it) to the next
/// entry.
fn reorder_edit(
    text: &str,
    object: &serde_json::Map<String, Value>,
    pointers: &PointerMap,
    pointer: &str,
    order: &[&str],
) -> Option<(Range<usize>, String)> {
    let mut keys: Vec<(usize, &str)> = Vec::new();
    for key in object.keys() {
        let span = pointers.get(&pointer_child(pointer, key))?.key.clone()?;
        keys.push((span.start, key.as_str()));
    }
    keys.sort_unstable();
    let rank = |key: &str| {
        order
            .iter()
            .position(|known| *known == key)
            .unwrap_or(order.len())
    };
    let mut wanted = keys.clone();
    wanted.sort_by_key(|(start, key)| (rank(key), *start));
    if wanted == keys || keys.len() < 2 {
        return None;
    }
    // Every key must start its own line (block style), so that entries are whole lines.
    let line_start = |at: usize| text[..at].rfind('\n').map_or(0, |index| index + 1);
    if keys
        .iter()
        .any(|(start, _)| !text[line_start(*start)..*start].trim().is_empty())
    {
        return None;
    }
    // An entry begins at its key's line, or at the comment lines directly above it.
    let begin = |start: usize| {
        let mut begin = line_start(start);
        while begin > 0 {
            let previous = line_start(begin - 1);
            if text[previous..begin].trim_start().starts_with('#') {
                begin = previous;
            } else {
                break;
            }
        }
        begin
    };
    let first = line_start(keys[0].0);
    let last_key = keys[keys.len() - 1].1;
    let last_value = pointers.get(&pointer_child(pointer, last_key))?.value.end;
    let end = text[last_value..]
        .find('\n')
        .map_or(text.len(), |index| last_value + index + 1);
    // The comments above a file's first field (its header, the `$schema` line) stay on top;
    // inside a group or user they move with the field below them.
    let mut starts: Vec<usize> = keys.iter().map(|(start, _)| begin(*start)).collect();
    if pointer.is_empty() {
        starts[0] = first;
    }
    let first = starts[0];
    let mut blocks = std::collections::HashMap::new();
    for (index, (_, key)) in keys.iter().enumerate() {
        let block_end = starts.get(index + 1).copied().unwrap_or(end);
        let mut block = text[starts[index]..block_end].to_string();
        if !block.ends_with('\n') {
            block.push('\n');
        }
        blocks.insert(*key, block);
    }
    let mut replacement: String = wanted
        .iter()
        .filter_map(|(_, key)| blocks.get(key).cloned())
        .collect();
    if !text[first..end].ends_with('\n') {
        replacement.pop();
    }
    Some((first..end, replacement))
}

/// The config value with each group's rule in canonical form (rules that do not parse as
/// written), for comparing a file before and after formatting.
fn canonical_value(mut value: Value) -> Value {
    if let Some(groups) = value.get_mut("groups").and_then(Value::as_object_mut) {
        for group in groups.values_mut() {
            if let Some(rule) = group.get_mut("rule") {
                if let Some(parsed) = rule
                    .as_str()
                    .and_then(|text| crate::rules::parse(text).ok())
                {
                    *rule = Value::String(crate::rules::print(&parsed));
                }
            }
        }
    }
    value
}

/// The file's comment lines, sorted: formatting may move them, never drop or change them.
fn comment_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('#'))
        .collect();
    lines.sort_unstable();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(text: &str) -> String {
        format_config(SourceId(0), text).unwrap()
    }

    #[test]
    fn rules_and_field_order_become_canonical_and_comments_stay() {
        let text = "\
# header
groups:
  Sales:
    # who gets it
    licenses:
      - disabled_plans: [SWAY]   # no Sway
        sku: ENTERPRISEPACK
    rule: (user.DEPARTMENT  eq 'Sales')
  Marketing:
    members: [ann@contoso.com]
version: 1
";
        let formatted = format(text);
        assert_eq!(
            formatted,
            "\
# header
version: 1
groups:
  Sales:
    rule: user.department -eq \"Sales\"
    # who gets it
    licenses:
      - disabled_plans: [SWAY]   # no Sway
        sku: ENTERPRISEPACK
  Marketing:
    members: [ann@contoso.com]
"
        );
        assert_eq!(format(&formatted), formatted, "formatting is idempotent");
    }

    #[test]
    fn flow_mappings_and_block_rules_are_left_alone() {
        let text = "version: 1\ngroups:\n  A: { members: [], id: 7296a627-433d-4117-8cd5-9308b5d64e93 }\n  B:\n    rule: >-\n      user.city  -eq \"Berlin\"\n";
        assert_eq!(format(text), text);
    }

    #[test]
    fn a_rule_that_needs_quotes_is_double_quoted() {
        let text = "version: 1\ngroups:\n  A:\n    rule: '-not (user.city -eq \"Berlin\")'\n";
        assert_eq!(
            format(text),
            "version: 1\ngroups:\n  A:\n    rule: \"-not (user.city -eq \\\"Berlin\\\")\"\n"
        );
    }
}
