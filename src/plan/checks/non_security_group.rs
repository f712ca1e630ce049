//! `non-security-group`: licenses on a group that is not a security group.

use super::{labelled, Context};
use crate::diag::{Code, Diagnostic, Location};

/// A licensed group with `security_enabled: false`.
pub(super) struct NonSecurityGroup {
    /// The group's config key.
    group: String,
    /// Its `security_enabled`, else its `licenses`.
    location: Option<Location>,
}

impl From<NonSecurityGroup> for Diagnostic {
    fn from(group: NonSecurityGroup) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::NonSecurityGroup,
            format!(
                "group `{}` assigns licenses but is not a security group",
                group.group
            ),
        )
        .with_help("group-based licensing works only with security groups (and Microsoft 365 groups with securityEnabled); set `security_enabled: true` or use another group");
        labelled(diagnostic, group.location, "not a security group")
    }
}

/// Each managed group that would assign licenses without being a security group.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        let group = context.desired.group(context.current_state, *index);
        if group.security_enabled || group.licenses.is_empty() {
            continue;
        }
        let spec = context
            .config
            .loaded
            .config
            .groups
            .as_ref()
            .and_then(|groups| groups.get(name));
        let suffix = if spec.is_some_and(|spec| spec.security_enabled.is_some()) {
            "/security_enabled"
        } else {
            "/licenses"
        };
        out.push(
            NonSecurityGroup {
                group: name.clone(),
                location: context.config.loaded.group_location(name, suffix),
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
    fn licenses_on_a_group_without_security_are_refused() {
        let reported = fixture!("non-security-group").reported(Code::NonSecurityGroup);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "group `Team` assigns licenses but is not a security group"
        );
        assert_eq!(reported[0].labels[0].message, "not a security group");
    }
}
