//! `group-name-lookalike`: a config group key with leading or trailing whitespace, or one that
//! matches no tenant group exactly but one when case is ignored. Entra keeps display names as
//! written, so such a key creates a second group next to the one it was meant to manage.

use super::{labelled, Context};
use crate::diag::{Code, Diagnostic, Location};

/// A group key that looks like a mistake.
pub(super) enum GroupNameLookalike {
    /// The key has surrounding whitespace.
    Whitespace {
        /// The key.
        key: String,
        /// Whether the plan creates a group by that name.
        created: bool,
        /// The key in the config.
        location: Option<Location>,
    },
    /// A group pinned by `id:` is renamed to the display name another tenant group has.
    Taken {
        /// The key (the new display name).
        key: String,
        /// The object id of the other group with that name.
        other: String,
        /// The key in the config.
        location: Option<Location>,
    },
    /// The key names a new group that differs only in case from an existing one.
    Case {
        /// The key.
        key: String,
        /// The existing group's display name.
        similar: String,
        /// The key in the config.
        location: Option<Location>,
    },
}

impl From<GroupNameLookalike> for Diagnostic {
    fn from(lookalike: GroupNameLookalike) -> Diagnostic {
        match lookalike {
            GroupNameLookalike::Whitespace {
                key,
                created,
                location,
            } => {
                let diagnostic = Diagnostic::new(
                    Code::GroupNameLookalike,
                    format!("the group key {key:?} has leading or trailing whitespace"),
                )
                .with_help(if created {
                    format!("seatplan would create a group named {key:?}; remove the spaces if you meant `{}`", key.trim())
                } else {
                    "Entra keeps the spaces in the display name; remove them from the key and rename the group if they are a mistake".to_string()
                });
                labelled(diagnostic, location, "this key")
            }
            GroupNameLookalike::Taken {
                key,
                other,
                location,
            } => {
                let diagnostic = Diagnostic::new(
                    Code::GroupNameLookalike,
                    format!(
                        "the group pinned by `id:` is renamed to `{key}`, the display name of another tenant group ({other})"
                    ),
                )
                .with_help("Entra allows two groups one name, but every reference to it by name (a config key without `id:`, `group:` members, `reprocess --group`) becomes ambiguous: choose another name, or pin both groups by `id:`");
                labelled(diagnostic, location, "this key")
            }
            GroupNameLookalike::Case {
                key,
                similar,
                location,
            } => {
                let diagnostic = Diagnostic::new(
                    Code::GroupNameLookalike,
                    format!(
                        "the group key `{key}` differs only in case from the tenant group `{similar}`"
                    ),
                )
                .with_help(format!(
                    "seatplan would create a new group `{key}` beside it; write the key as `{similar}` to manage the existing group"
                ));
                labelled(diagnostic, location, "this key")
            }
        }
    }
}

/// Each managed group key with whitespace around it, new and differing only in case from a
/// tenant group, or the new name of a group renamed onto another group's name.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let existing = context.current.groups.len();
    for (name, index) in &context.desired.managed_groups {
        let location = context
            .config
            .loaded
            .group_location(name, "")
            .map(Location::into_key);
        let created = *index >= existing;
        let lookalike = if name.trim() != name {
            GroupNameLookalike::Whitespace {
                key: name.clone(),
                created,
                location,
            }
        } else if created {
            let Some(similar) = context.current.groups.iter().find(|group| {
                group.name.to_lowercase() == name.to_lowercase() && *group.name != **name
            }) else {
                continue;
            };
            GroupNameLookalike::Case {
                key: name.clone(),
                similar: similar.name.to_string(),
                location,
            }
        } else {
            // A rename (the key is the group's new display name) onto another group's name.
            let renamed = context
                .current
                .groups
                .get(*index)
                .is_some_and(|group| *group.name != **name)
                && context
                    .target
                    .groups
                    .get(*index)
                    .is_some_and(|group| *group.name == **name);
            let other = context
                .current
                .groups
                .iter()
                .enumerate()
                .find(|(other, group)| *other != *index && *group.name == **name);
            match (renamed, other) {
                (true, Some((_, other))) => GroupNameLookalike::Taken {
                    key: name.clone(),
                    other: other.id.to_string(),
                    location,
                },
                _ => continue,
            }
        };
        out.push(lookalike.into());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn keys_differing_in_case_or_spaces_are_warned_about() {
        let messages: Vec<String> = fixture!("group-name-lookalike")
            .reported(Code::GroupNameLookalike)
            .into_iter()
            .map(|diagnostic| diagnostic.message)
            .collect();
        assert_eq!(
            messages,
            [
                "the group key `e3` differs only in case from the tenant group `E3`",
                "the group key \"Sales \" has leading or trailing whitespace"
            ]
        );
    }

    #[test]
    fn spaces_on_an_existing_group_ask_for_a_rename() {
        let diagnostic: Diagnostic = GroupNameLookalike::Whitespace {
            key: " E3".to_string(),
            created: false,
            location: None,
        }
        .into();
        assert!(diagnostic
            .help
            .as_deref()
            .is_some_and(|help| help.starts_with("Entra keeps the spaces")));
    }
}
