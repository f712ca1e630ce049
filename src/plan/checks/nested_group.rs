//! `nested-group`: a licensed group has group members, whose members receive nothing
//! (group-based licensing applies to direct user members only).

use super::{labelled, Context};
use crate::config::MemberSpec;
use crate::diag::{Code, Diagnostic, Location, Severity};

/// A licensed group with group members.
pub(super) struct NestedGroup {
    /// The group's config key.
    group: String,
    /// The display names of its member groups.
    nested: Vec<String>,
    /// The config's member entries that name groups; empty when none can be pointed at.
    entries: Vec<Option<Location>>,
    /// The group itself, pointed at when no entry can be.
    location: Option<Location>,
}

impl From<NestedGroup> for Diagnostic {
    fn from(nested: NestedGroup) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::NestedGroup,
            format!(
                "licensed group `{}` has group members ({}); their members receive no license",
                nested.group,
                nested.nested.join(", ")
            ),
        )
        .with_help("group-based licensing applies to direct user members only: add the users themselves, or license the nested group");
        let diagnostic = if nested.entries.is_empty() {
            labelled(diagnostic, nested.location, "nested groups get nothing")
        } else {
            nested
                .entries
                .into_iter()
                .fold(diagnostic, |diagnostic, entry| {
                    labelled(diagnostic, entry, "its members get nothing")
                })
        };
        diagnostic.with_severity(Severity::Warning)
    }
}

/// Each managed group that assigns licenses and has group members.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        let group = &context.target.groups[*index];
        if group.licenses.is_empty() || group.member_groups.is_empty() {
            continue;
        }
        // Point at the config's member entries that name groups, else at the group.
        let entries: Vec<usize> = context
            .config
            .loaded
            .config
            .groups
            .as_ref()
            .and_then(|groups| groups.get(name))
            .and_then(|spec| spec.members.as_ref())
            .map(|members| {
                members
                    .iter()
                    .enumerate()
                    .filter(|(_, member)| match member {
                        MemberSpec::Group(_) => true,
                        MemberSpec::Name(name) => {
                            context.current.user(name).is_none()
                                && context.current.group_by_id(name).is_some()
                        }
                    })
                    .map(|(position, _)| position)
                    .collect()
            })
            .unwrap_or_default();
        out.push(
            NestedGroup {
                group: name.clone(),
                nested: group
                    .member_groups
                    .iter()
                    .map(|nested| context.target.group_at(*nested).name.to_string())
                    .collect(),
                entries: entries
                    .iter()
                    .map(|position| {
                        context
                            .config
                            .loaded
                            .group_location(name, &format!("/members/{position}"))
                    })
                    .collect(),
                location: context.config.loaded.group_location(name, ""),
            }
            .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn a_group_member_of_a_licensed_group_is_a_warning() {
        let reported = fixture!("nested-group").reported(Code::NestedGroup);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Warning);
        assert_eq!(
            reported[0].message,
            "licensed group `Parent` has group members (Child); their members receive no license"
        );
        assert!(!reported[0].labels.is_empty());
    }
}
