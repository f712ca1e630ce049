//! The desired configuration: its types ([`model`]), reading one file's text into a checked
//! [`ConfigFile`], and merging several files into one [`LoadedConfig`] that remembers where every
//! group and user was defined, so that later stages can point diagnostics at config nodes.

pub mod credentials;
pub mod format;
pub mod model;
pub mod references;
pub mod rules;
pub mod schema;
pub mod valid;

pub use model::*;

use indexmap::IndexMap;

use crate::country::usage_location_problem;
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::guid::is_guid;
use crate::source::{error_pointer, pointer_child, PointerMap, SourceId};
use crate::yaml::{parse_document, YamlLimits};

/// One config file after the YAML pass, schema validation and typing.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    /// The source the file was registered as.
    pub source: SourceId,
    /// The typed content.
    pub config: Config,
    /// Pointer → span map of the file, for [`crate::source::Sources::set_pointers`].
    pub pointers: PointerMap,
}

/// Parses and checks one config file's text. Every schema violation is reported, not only the
/// first. The returned pointer map should be attached to the source registry before rendering
/// diagnostics (it is returned in the error case too, as the second element).
pub fn parse_config_file(
    source: SourceId,
    text: &str,
) -> Result<ConfigFile, (Diagnostics, Option<PointerMap>)> {
    let partial = parse_config_file_partial(source, text);
    match partial.file {
        Some(file) if !partial.problems.has_errors() => Ok(file),
        Some(file) => Err((partial.problems, Some(file.pointers))),
        None => Err((partial.problems, partial.pointers)),
    }
}

/// A config file read as far as its problems allow (see [`parse_config_file_partial`]).
#[derive(Debug)]
pub struct PartialConfigFile {
    /// The typed content, without the groups, users or sections that break the schema; `None`
    /// when nothing usable remains (YAML errors, an empty file, a broken root or `version`).
    pub file: Option<ConfigFile>,
    /// Every problem found.
    pub problems: Diagnostics,
    /// The pointer map, when the YAML could be read (also when `file` is `None`).
    pub pointers: Option<PointerMap>,
}

/// Parses one config file and goes on past schema violations: the group, user or top-level
/// section that breaks the schema is left out and the rest is typed and checked, so that one run
/// reports the problems of every stage (`validate` and `plan` then go on with the later checks
/// and still fail).
pub fn parse_config_file_partial(source: SourceId, text: &str) -> PartialConfigFile {
    let failed = |problems: Diagnostics, pointers: Option<PointerMap>| PartialConfigFile {
        file: None,
        problems,
        pointers,
    };
    let document = match parse_document(source, text, YamlLimits::default()) {
        Ok(document) => document,
        Err(diagnostic) => return failed(diagnostic.into(), None),
    };
    let pointers = document.pointers;
    if document.value.is_null() {
        let diagnostic = Diagnostic::new(Code::Schema, "the config file is empty")
            .with_label(Location::span(source, 0..0), "no content")
            .with_help("start with `version: 1` and add `groups:`; `seatplan schema config` prints the schema");
        return failed(diagnostic.into(), Some(pointers));
    }
    let violations = schema::validate_config(source, &document.value);
    let (config, mut problems) = if violations.is_empty() {
        match serde_path_to_error::deserialize::<_, Config>(document.value) {
            Ok(config) => (config, Diagnostics::default()),
            Err(error) => {
                let pointer = error_pointer(error.path());
                let diagnostic = Diagnostic::new(
                    Code::Schema,
                    format!("the config cannot be read: {}", error.inner()),
                )
                .with_label(Location::node(source, pointer), "here")
                .with_help("compare the file with `seatplan schema config`");
                return failed(diagnostic.into(), Some(pointers));
            }
        }
    } else {
        let nodes = schema::config_violation_nodes(&document.value);
        let usable = without_broken_entries(document.value, &nodes)
            .filter(|pruned| schema::config_violation_nodes(pruned).is_empty())
            .and_then(|pruned| serde_json::from_value::<Config>(pruned).ok());
        match usable {
            Some(config) => (config, violations),
            None => return failed(violations, Some(pointers)),
        }
    };
    let mut config = config;
    restore_written_order(&mut config, &pointers);
    check_file(source, &config, &mut problems);
    PartialConfigFile {
        file: Some(ConfigFile {
            source,
            config,
            pointers,
        }),
        problems,
        pointers: None,
    }
}

/// Puts the config's maps (groups, users, catalog products and plans) back in the order the file
/// writes them: the YAML pass's value keeps object keys sorted, and the order of groups is what
/// plans, reports and the service's processing order follow.
fn restore_written_order(config: &mut Config, pointers: &PointerMap) {
    fn by_position<V>(map: &mut IndexMap<String, V>, parent: &str, pointers: &PointerMap) {
        map.sort_by_cached_key(|key, _| {
            pointers
                .get(&pointer_child(parent, key))
                .map_or(usize::MAX, |span| {
                    span.key.as_ref().map_or(span.value.start, |key| key.start)
                })
        });
    }
    if let Some(groups) = config.groups.as_mut() {
        by_position(groups, "/groups", pointers);
    }
    if let Some(users) = config.users.as_mut() {
        by_position(users, "/users", pointers);
    }
    if let Some(catalog) = config.catalog.as_mut() {
        if let Some(products) = catalog.products.as_mut() {
            by_position(products, "/catalog/products", pointers);
        }
        if let Some(plans) = catalog.plans.as_mut() {
            by_position(plans, "/catalog/plans", pointers);
        }
    }
}

/// The config document without the entries that hold the `broken` nodes: the group or user
/// they are in, else their top-level section. `None` when the root or `version` is broken.
fn without_broken_entries(
    mut document: serde_json::Value,
    broken: &[String],
) -> Option<serde_json::Value> {
    for pointer in broken {
        let tokens: Vec<String> = pointer
            .split('/')
            .skip(1)
            .map(|token| token.replace("~1", "/").replace("~0", "~"))
            .collect();
        let root = document.as_object_mut()?;
        match tokens.as_slice() {
            [] => return None,
            [top, ..] if top == "version" => return None,
            [top, entry, ..] if top == "groups" || top == "users" => {
                if let Some(entries) = root.get_mut(top).and_then(|v| v.as_object_mut()) {
                    entries.remove(entry);
                }
            }
            [top, ..] => {
                root.remove(top);
            }
        }
    }
    Some(document)
}

/// Checks that need more than the schema: version, exclusive fields, country codes. (Rules are
/// checked by [`rules::check_rules`], its names by [`valid::validate`].)
fn check_file(source: SourceId, config: &Config, problems: &mut Diagnostics) {
    if config.version != 1 {
        problems.push(
            Diagnostic::new(
                Code::UnsupportedVersion,
                format!("config version {} is not supported", config.version),
            )
            .with_label(
                Location::node(source, "/version"),
                "this seatplan reads version 1",
            )
            .with_help("set `version: 1`"),
        );
    }
    if let Some(location) = config
        .tenant
        .as_ref()
        .and_then(|tenant| tenant.default_usage_location.as_ref())
    {
        check_country(source, "/tenant/default_usage_location", location, problems);
    }
    for (name, group) in config.groups.iter().flatten() {
        let base = pointer_child("/groups", name);
        check_display_name(source, &base, name, problems);
        if group.rule.is_some() && group.members.is_some() {
            problems.push(
                Diagnostic::new(
                    Code::RuleWithMembers,
                    format!("group `{name}` has both `rule` and `members`"),
                )
                .with_label(
                    Location::key(source, format!("{base}/rule")),
                    "dynamic membership",
                )
                .with_label(
                    Location::key(source, format!("{base}/members")),
                    "static membership",
                )
                .with_help(
                    "a group's members come from a rule or from a list, never both: remove one",
                ),
            );
        }
        if group.ensure == Some(model::Ensure::Absent) {
            let set: Vec<&str> = [
                ("members", group.members.is_some()),
                ("rule", group.rule.is_some()),
                ("rule_processing", group.rule_processing.is_some()),
                ("licenses", group.licenses.is_some()),
            ]
            .into_iter()
            .filter_map(|(field, present)| present.then_some(field))
            .collect();
            if let Some(first) = set.first() {
                let fields: Vec<String> = set.iter().map(|field| format!("`{field}`")).collect();
                problems.push(
                    Diagnostic::new(
                        Code::AbsentWithSettings,
                        format!(
                            "group `{name}` is to be deleted (`ensure: absent`) and also sets {}",
                            fields.join(", ")
                        ),
                    )
                    .with_label(
                        Location::key(source, format!("{base}/ensure")),
                        "deleted",
                    )
                    .with_label(
                        Location::key(source, format!("{base}/{first}")),
                        "ignored by the deletion",
                    )
                    .with_help("a deletion removes the group with its members and licenses: keep only `ensure: absent` (and `id:`), or remove `ensure` to keep the group"),
                );
            }
        }
        check_member_ids(source, &base, name, group.members.as_deref(), problems);
        check_licenses(source, &base, group.licenses.as_deref(), problems);
    }
    for (upn, user) in config.users.iter().flatten() {
        let base = pointer_child("/users", upn);
        if let Some(location) = &user.usage_location {
            check_country(
                source,
                &format!("{base}/usage_location"),
                location,
                problems,
            );
        }
        check_licenses(source, &base, user.licenses.as_deref(), problems);
    }
}

/// Entra's limit on a group's display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 256;

/// A group's display name (its key in the config) must be something Entra accepts: not empty,
/// at most [`MAX_DISPLAY_NAME_CHARS`] characters, no control characters (an escaped NUL or a
/// terminal escape sequence would otherwise reach the tenant).
fn check_display_name(source: SourceId, pointer: &str, name: &str, problems: &mut Diagnostics) {
    let problem = if name.trim().is_empty() {
        Some("is empty".to_owned())
    } else if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
        Some(format!(
            "has {} characters; Entra allows at most {MAX_DISPLAY_NAME_CHARS}",
            name.chars().count()
        ))
    } else {
        name.chars()
            .find(|c| c.is_control())
            .map(|c| format!("contains the control character U+{:04X}", u32::from(c)))
    };
    if let Some(problem) = problem {
        let shown: String = name.chars().take(60).flat_map(char::escape_debug).collect();
        problems.push(
            Diagnostic::new(
                Code::InvalidName,
                format!("the group name \"{shown}\" {problem}"),
            )
            .with_label(Location::key(source, pointer), "group name")
            .with_help("a group's key is its display name in Entra: use printable text of 1 to 256 characters"),
        );
    }
}

fn check_country(source: SourceId, pointer: &str, code: &str, problems: &mut Diagnostics) {
    if let Some(problem) = usage_location_problem(code, Location::node(source, pointer)) {
        problems.push(problem);
    }
}

/// A static member written as text is a user principal name (it has an `@`) or an object id,
/// which in Entra is a GUID: anything else can name no object, and is refused before the tenant is
/// read (`tenant-id-format`).
fn check_member_ids(
    source: SourceId,
    base: &str,
    group: &str,
    members: Option<&[MemberSpec]>,
    problems: &mut Diagnostics,
) {
    for (index, member) in members.into_iter().flatten().enumerate() {
        let MemberSpec::Name(name) = member else {
            continue;
        };
        if name.contains('@') || is_guid(name) {
            continue;
        }
        problems.push(
            Diagnostic::new(
                Code::TenantIdFormat,
                format!(
                    "member `{name}` of group `{group}` is neither a user principal name nor an \
                     object id (a GUID)"
                ),
            )
            .with_label(
                Location::node(source, format!("{base}/members/{index}")),
                "not a UPN or a GUID",
            )
            .with_help(
                "name users by user principal name (`ann@contoso.com`), groups by object id \
                 (`62e19b97-8b3d-4d4a-a106-4ce66896a863`) or as `group: <display name>`",
            ),
        );
    }
}

fn check_licenses(
    source: SourceId,
    base: &str,
    licenses: Option<&[LicenseSpec]>,
    problems: &mut Diagnostics,
) {
    for (index, license) in licenses.into_iter().flatten().enumerate() {
        if license.disabled_plans.is_some() && license.enabled_plans.is_some() {
            let at = format!("{base}/licenses/{index}");
            problems.push(
                Diagnostic::new(
                    Code::PlanListConflict,
                    format!("license `{}` sets both `disabled_plans` and `enabled_plans`", license.sku),
                )
                .with_label(Location::key(source, format!("{at}/disabled_plans")), "deny-list")
                .with_label(Location::key(source, format!("{at}/enabled_plans")), "allow-list")
                .with_help("use `disabled_plans` (new plans turn on) or `enabled_plans` (new plans stay off), not both"),
            );
        }
    }
}

/// Where each part of a merged configuration was defined.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// The file that defines each group, by display name.
    pub groups: IndexMap<String, SourceId>,
    /// The file that defines each user, by user principal name.
    pub users: IndexMap<String, SourceId>,
    /// The file that holds `version`, `tenant`, `settings` and `catalog` (the first that has
    /// each).
    pub sections: IndexMap<&'static str, SourceId>,
    /// The file that defines each catalog addition, by the entry's pointer
    /// (`/catalog/plans/CONTOSO_PLAN`).
    pub catalog: IndexMap<String, SourceId>,
}

/// The merged desired configuration of one or more files, with the origin of every entry.
#[derive(Debug, Clone, Default)]
pub struct LoadedConfig {
    /// The merged content.
    pub config: Config,
    /// Where each group, user and section came from.
    pub origins: Origins,
}

impl LoadedConfig {
    /// The location of `suffix` (a pointer below the group, such as `/licenses/0/sku`, or empty
    /// for the group itself) inside the file that defines group `name`.
    pub fn group_location(&self, name: &str, suffix: &str) -> Option<Location> {
        let source = *self.origins.groups.get(name)?;
        Some(Location::node(
            source,
            format!("{}{suffix}", pointer_child("/groups", name)),
        ))
    }

    /// The location of `suffix` below user `upn` in the file that defines it.
    pub fn user_location(&self, upn: &str, suffix: &str) -> Option<Location> {
        let source = *self.origins.users.get(upn)?;
        Some(Location::node(
            source,
            format!("{}{suffix}", pointer_child("/users", upn)),
        ))
    }

    /// The location of a node below `/catalog` (`/catalog/plans/X/requires_any/0`) in the file
    /// that defines that product or plan.
    pub fn catalog_location(&self, pointer: &str) -> Option<Location> {
        let entry: String = pointer
            .split_inclusive('/')
            .take(4)
            .collect::<String>()
            .trim_end_matches('/')
            .to_string();
        let source = match self.origins.catalog.get(&entry) {
            Some(source) => *source,
            None => *self.origins.sections.get("catalog")?,
        };
        Some(Location::node(source, pointer.to_string()))
    }

    /// The location of a top-level section's node (`/settings/max_license_removals`).
    pub fn section_location(&self, section: &'static str, pointer: &str) -> Option<Location> {
        let source = *self.origins.sections.get(section)?;
        Some(Location::node(source, pointer.to_string()))
    }
}

/// Merges checked files in the order given. A group, user, product, plan or section defined in
/// two files is a `duplicate-definition` error showing both places.
pub fn merge(files: Vec<ConfigFile>) -> Result<LoadedConfig, Diagnostics> {
    let mut merged = LoadedConfig::default();
    let mut problems = Diagnostics::default();
    let mut first_version = None;
    // The users' keys so far, by their lower-case form.
    let mut users_by_lower: crate::hash::Map<String, String> = crate::hash::Map::default();
    for file in files {
        let source = file.source;
        let config = file.config;
        match first_version {
            None => {
                first_version = Some(config.version);
                merged.config.version = config.version;
                merged.origins.sections.insert("version", source);
            }
            Some(version) if version != config.version => problems.push(
                Diagnostic::new(
                    Code::UnsupportedVersion,
                    "config files disagree on `version`",
                )
                .with_label(
                    Location::node(source, "/version"),
                    format!("this file says {}", config.version),
                )
                .with_help(format!("use version {version} in every file")),
            ),
            Some(_) => {}
        }
        merge_section(
            &mut merged,
            &mut problems,
            source,
            "tenant",
            config.tenant,
            |c| &mut c.tenant,
        );
        merge_section(
            &mut merged,
            &mut problems,
            source,
            "settings",
            config.settings,
            |c| &mut c.settings,
        );
        merge_section(
            &mut merged,
            &mut problems,
            source,
            "backend",
            config.backend,
            |c| &mut c.backend,
        );
        if let Some(catalog) = config.catalog {
            let target = merged
                .config
                .catalog
                .get_or_insert_with(CatalogAdditions::default);
            merged.origins.sections.entry("catalog").or_insert(source);
            let catalog_source = merged.origins.sections["catalog"];
            let origins = &mut merged.origins.catalog;
            merge_entries(
                &mut problems,
                "/catalog/products",
                catalog.products,
                &mut target.products,
                (source, origins),
                catalog_source,
                "product",
            );
            merge_entries(
                &mut problems,
                "/catalog/plans",
                catalog.plans,
                &mut target.plans,
                (source, origins),
                catalog_source,
                "plan",
            );
        }
        for (name, group) in config.groups.into_iter().flatten() {
            if let Some(first) = merged.origins.groups.get(&name) {
                problems.push(duplicate(
                    "group",
                    &name,
                    pointer_child("/groups", &name),
                    *first,
                    source,
                ));
                continue;
            }
            merged.origins.groups.insert(name.clone(), source);
            merged
                .config
                .groups
                .get_or_insert_with(IndexMap::new)
                .insert(name, group);
        }
        for (upn, user) in config.users.into_iter().flatten() {
            // UPNs are case-insensitive: `FRANK@contoso.com` is frank.
            if let Some(first_key) = users_by_lower.get(&upn.to_lowercase()) {
                let first = merged.origins.users[first_key];
                problems.push(duplicate_of(
                    "user",
                    &upn,
                    pointer_child("/users", &upn),
                    (first, pointer_child("/users", first_key)),
                    source,
                ));
                continue;
            }
            users_by_lower.insert(upn.to_lowercase(), upn.clone());
            merged.origins.users.insert(upn.clone(), source);
            merged
                .config
                .users
                .get_or_insert_with(IndexMap::new)
                .insert(upn, user);
        }
    }
    if problems.has_errors() {
        return Err(problems);
    }
    Ok(merged)
}

fn merge_section<T>(
    merged: &mut LoadedConfig,
    problems: &mut Diagnostics,
    source: SourceId,
    section: &'static str,
    value: Option<T>,
    slot: impl Fn(&mut Config) -> &mut Option<T>,
) {
    let Some(value) = value else { return };
    if let Some(first) = merged.origins.sections.get(section) {
        problems.push(duplicate(
            "section",
            section,
            format!("/{section}"),
            *first,
            source,
        ));
        return;
    }
    merged.origins.sections.insert(section, source);
    *slot(&mut merged.config) = Some(value);
}

fn merge_entries<T>(
    problems: &mut Diagnostics,
    parent: &str,
    entries: Option<IndexMap<String, T>>,
    target: &mut Option<IndexMap<String, T>>,
    (source, origins): (SourceId, &mut IndexMap<String, SourceId>),
    first_source: SourceId,
    what: &str,
) {
    let target = target.get_or_insert_with(IndexMap::new);
    for (name, entry) in entries.into_iter().flatten() {
        let pointer = pointer_child(parent, &name);
        if target.contains_key(&name) {
            let first = origins.get(&pointer).copied().unwrap_or(first_source);
            problems.push(duplicate(what, &name, pointer, first, source));
            continue;
        }
        origins.insert(pointer, source);
        target.insert(name, entry);
    }
}

fn duplicate(
    what: &str,
    name: &str,
    pointer: String,
    first: SourceId,
    second: SourceId,
) -> Diagnostic {
    duplicate_of(what, name, pointer.clone(), (first, pointer), second)
}

/// [`duplicate`], the first definition at `first` (its file and pointer: a user's first key may
/// be spelled in another case).
fn duplicate_of(
    what: &str,
    name: &str,
    pointer: String,
    first: (SourceId, String),
    second: SourceId,
) -> Diagnostic {
    let message = if first.0 == second {
        format!("{what} `{name}` is defined twice in the config")
    } else {
        format!("{what} `{name}` is defined in two config files")
    };
    Diagnostic::new(Code::DuplicateDefinition, message)
        .with_label(Location::key(second, pointer), "defined again here")
        .with_label(Location::key(first.0, first.1), "first defined here")
        .with_help(format!(
            "keep one definition of {what} `{name}` and delete the other"
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_keep_the_order_the_file_writes() {
        let text = "version: 1\ngroups:\n  zeta: { members: [] }\n  alpha: { members: [] }\n  \"m/n\": { members: [] }\nusers:\n  z@contoso.com: { usage_location: US }\n  a@contoso.com: { usage_location: US }\ncatalog:\n  plans:\n    Z_PLAN: { id: 00000000-0000-0000-0000-00000000000a }\n    A_PLAN: { id: 00000000-0000-0000-0000-00000000000b }\n";
        let file = parse_config_file(SourceId(0), text).expect("the config parses");
        let groups: Vec<&str> = file
            .config
            .groups
            .iter()
            .flatten()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(groups, ["zeta", "alpha", "m/n"]);
        let users: Vec<&str> = file
            .config
            .users
            .iter()
            .flatten()
            .map(|(upn, _)| upn.as_str())
            .collect();
        assert_eq!(users, ["z@contoso.com", "a@contoso.com"]);
        let plans: Vec<&str> = file
            .config
            .catalog
            .iter()
            .flat_map(|catalog| catalog.plans.iter().flatten())
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(plans, ["Z_PLAN", "A_PLAN"]);
    }

    #[test]
    fn a_value_serde_refuses_is_reported_at_its_node() {
        let pointer = {
            let value = serde_json::json!({ "version": 1, "groups": { "g": { "members": [7] } } });
            let error = serde_path_to_error::deserialize::<_, Config>(value).unwrap_err();
            error_pointer(error.path())
        };
        assert_eq!(pointer, "/groups/g/members/0");
    }

    #[test]
    fn broken_entries_are_left_out_and_a_broken_root_stops() {
        let document = serde_json::json!({
            "version": 1,
            "settings": { "bogus": true },
            "groups": { "a/b": { "security_enabled": "yes" }, "ok": { "members": [] } },
        });
        let pruned = without_broken_entries(
            document.clone(),
            &[
                "/groups/a~1b/security_enabled".into(),
                "/settings/bogus".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            pruned,
            serde_json::json!({ "version": 1, "groups": { "ok": { "members": [] } } })
        );
        assert!(without_broken_entries(document.clone(), &[String::new()]).is_none());
        assert!(without_broken_entries(document, &["/version".into()]).is_none());
    }

    fn file(source: u32, text: &str) -> ConfigFile {
        match parse_config_file(SourceId(source), text) {
            Ok(file) => file,
            Err((problems, _)) => panic!("{problems:?}"),
        }
    }

    #[test]
    fn group_names_entra_would_refuse_are_rejected() {
        for (key, expected) in [
            ("\"\"", "is empty"),
            ("\"a\\0b\"", "U+0000"),
            ("\"\\e[31mred\"", "U+001B"),
            (&format!("\"{}\"", "g".repeat(257)), "257 characters"),
        ] {
            let text = format!("version: 1\ngroups:\n  {key}:\n    members: []\n");
            let (problems, _) = parse_config_file(SourceId(0), &text).unwrap_err();
            assert_eq!(problems.0[0].code, Code::InvalidName, "{key}");
            assert!(
                problems.0[0].message.contains(expected),
                "{}",
                problems.0[0].message
            );
        }
        assert!(parse_config_file(
            SourceId(0),
            "version: 1\ngroups:\n  Élan – E3 ✓:\n    members: []\n"
        )
        .is_ok());
    }

    #[test]
    fn members_written_as_text_are_upns_or_guids() {
        let text = "version: 1\ngroups:\n  Staff:\n    members:\n      - ann@contoso.com\n      \
            - 62E19B97-8B3D-4D4A-A106-4CE66896A863\n      - group: Temps\n      - interns\n";
        let (problems, _) = parse_config_file(SourceId(0), text).unwrap_err();
        assert_eq!(problems.0.len(), 1, "{problems:?}");
        assert_eq!(problems.0[0].code, Code::TenantIdFormat);
        assert!(
            problems.0[0]
                .message
                .contains("member `interns` of group `Staff`"),
            "{}",
            problems.0[0].message
        );
        assert_eq!(
            problems.0[0].labels[0].location,
            Location::node(SourceId(0), "/groups/Staff/members/3")
        );
    }

    #[test]
    fn catalog_entries_are_located_in_the_file_that_defines_them() {
        let first = file(
            0,
            "version: 1\ncatalog:\n  plans:\n    SWAY: { conflicts_with: [MCOEV] }\n",
        );
        let second = file(
            1,
            "version: 1\ncatalog:\n  plans:\n    A/B: { id: 9c1e0000-0000-4000-8000-000000000002 }\n",
        );
        let loaded = merge(vec![first, second]).unwrap();
        assert_eq!(
            loaded.catalog_location("/catalog/plans/SWAY/conflicts_with/0"),
            Some(Location::node(
                SourceId(0),
                "/catalog/plans/SWAY/conflicts_with/0"
            ))
        );
        assert_eq!(
            loaded.catalog_location("/catalog/plans/A~1B/id"),
            Some(Location::node(SourceId(1), "/catalog/plans/A~1B/id"))
        );
    }
}
