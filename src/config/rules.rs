//! Checks every group's `rule` in a loaded config: parse errors point inside the rule in the YAML
//! file (line and column of the bad token), and device rules are rejected on licensed groups
//! because licenses are assigned to users only.

use super::LoadedConfig;
use crate::diag::{Code, Diagnostic, Diagnostics, Location, Severity};

use crate::rules::RuleBook;

/// Diagnostics for the rules of all groups in `loaded`, in group order, from their prepared
/// forms in `rules`.
pub fn check_rules(loaded: &LoadedConfig, rules: &RuleBook) -> Diagnostics {
    let mut diagnostics = Diagnostics::default();
    for (name, group) in loaded.config.groups.iter().flatten() {
        let Some(rule) = &group.rule else {
            continue;
        };
        let Some(Location::Node {
            source, pointer, ..
        }) = loaded.group_location(name, "/rule")
        else {
            continue;
        };
        let inside = |range| Location::inside(source, pointer.clone(), range);
        match &rules.get(rule).parsed {
            Err(error) => {
                let mut diagnostic = error.to_diagnostic(inside);
                diagnostic.message = format!("rule of group `{name}`: {}", diagnostic.message);
                diagnostics.push(diagnostic);
            }
            Ok(parsed) => {
                if let Some(span) = parsed.first_device_span() {
                    let licensed = group
                        .licenses
                        .as_ref()
                        .is_some_and(|licenses| !licenses.is_empty());
                    let diagnostic = Diagnostic::new(
                        Code::RuleDeviceRule,
                        format!("the rule of group `{name}` selects devices"),
                    )
                    .with_label(inside(span.range()), "a device property");
                    diagnostics.push(if licensed {
                        diagnostic.with_help(
                            "licenses are assigned to users only: use a rule on `user.` properties, or remove `licenses`",
                        )
                    } else {
                        diagnostic
                            .with_severity(Severity::Warning)
                            .with_help("seatplan predicts the membership of user groups only; this group's members are not predicted")
                    });
                }
            }
        }
    }
    diagnostics
}
