//! `removal-threshold`: more product removals than the config's `max_license_removals` allows.

use super::{labelled, Context};
use crate::config::RemovalLimit;
use crate::diag::{Code, Diagnostic, Location, Severity};
use crate::plan::impact::PlanChange;
use crate::tenant::index::Source;

/// A plan that removes more licenses than allowed.
pub(super) struct RemovalThreshold {
    /// The product removals the plan makes.
    removals: u64,
    /// The most the setting allows.
    maximum: u64,
    /// The setting as written (`10`, `5% of 200 licensed users`).
    described: String,
    /// Whether --force allows it (a warning then).
    forced: bool,
    /// The `max_license_removals` setting.
    location: Option<Location>,
}

impl From<RemovalThreshold> for Diagnostic {
    fn from(threshold: RemovalThreshold) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(
            Code::RemovalThreshold,
            format!(
                "the plan removes {} licenses; `max_license_removals` allows {} ({})",
                threshold.removals, threshold.maximum, threshold.described
            ),
        )
        .with_help(
            "check that the change is intended; split it into smaller plans, or pass --force",
        );
        if threshold.forced {
            diagnostic = diagnostic
                .with_severity(Severity::Warning)
                .with_help("allowed by --force");
        }
        labelled(diagnostic, threshold.location, "limit")
    }
}

/// Counts the products users lose and compares them with `max_license_removals`.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(limit) = context
        .config
        .loaded
        .config
        .settings
        .as_ref()
        .and_then(|settings| settings.max_license_removals)
    else {
        return;
    };
    // Only the users some step processed can lose a product.
    let removals: u64 = context
        .moved
        .iter()
        .filter_map(|&user| {
            let index = user.0 as usize;
            Some((
                user,
                context.before.users.get(index)?,
                context.after.users.get(index)?,
            ))
        })
        // A user who loses no service plan (every plan stays, through another product or an
        // upgrade) has lost no license that matters: a clean-up or a migration.
        .filter(|(_, old, new)| {
            !PlanChange::between(context.catalog, old, new)
                .lost
                .is_empty()
        })
        .map(|(user, old, new)| {
            old.consumed
                .iter()
                .filter(|product| new.consumed.binary_search(product).is_err())
                // A product only a group gave whose current rule drops the user already goes
                // without this change too.
                .filter(|product| {
                    !old.assignments
                        .iter()
                        .filter(|assignment| {
                            assignment.is_effective() && assignment.product == **product
                        })
                        .all(|assignment| match assignment.source {
                            Source::Group(group) => context.pending_leaver(user, group),
                            Source::Direct => false,
                        })
                })
                .count() as u64
        })
        .sum();
    let (maximum, described) = match limit {
        RemovalLimit::Count(count) => (count, format!("{count}")),
        RemovalLimit::Percent(percent) => {
            let licensed = context
                .before
                .users
                .iter()
                .filter(|user| !user.consumed.is_empty())
                .count();
            (
                ((percent / 100.0) * licensed as f64).floor() as u64,
                format!("{percent}% of {licensed} licensed users"),
            )
        }
    };
    if removals <= maximum {
        return;
    }
    out.push(
        RemovalThreshold {
            removals,
            maximum,
            described,
            forced: context.overrides.force,
            location: context
                .config
                .loaded
                .section_location("settings", "/settings/max_license_removals"),
        }
        .into(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;
    use crate::plan::Overrides;

    #[test]
    fn too_many_removals_are_an_error_unless_forced() {
        let reported = fixture!("removal-threshold").reported(Code::RemovalThreshold);
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].severity, Severity::Error);
        assert_eq!(
            reported[0].message,
            "the plan removes 2 licenses; `max_license_removals` allows 1 (1)"
        );
        let forced = fixture!("removal-threshold").reported_with(
            Code::RemovalThreshold,
            Overrides {
                force: true,
                ..Overrides::default()
            },
        );
        assert_eq!(forced[0].severity, Severity::Warning);
        assert_eq!(forced[0].help.as_deref(), Some("allowed by --force"));
    }

    #[test]
    fn a_percentage_is_described_with_its_base() {
        let diagnostic: Diagnostic = RemovalThreshold {
            removals: 12,
            maximum: 10,
            described: "5% of 200 licensed users".to_string(),
            forced: false,
            location: None,
        }
        .into();
        assert_eq!(
            diagnostic.message,
            "the plan removes 12 licenses; `max_license_removals` allows 10 (5% of 200 licensed users)"
        );
    }
}
