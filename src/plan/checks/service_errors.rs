//! The errors the service would record for the change and did not before it, mapped to their
//! codes: `seat-shortage`, `mutually-exclusive`, `usage-location`, `proxy-address-conflict`,
//! `dependency-break` and `licensed-group-delete`. The mapping is a match over every
//! [`AssignmentError`], so that an error the service gains is a compile error here rather than a
//! finding reported under another code.

use std::collections::BTreeMap;

use super::dependency_break::DependencyBreak;
use super::licensed_group_delete::LicensedGroupDelete;
use super::mutually_exclusive::{arises_early, MutuallyExclusive};
use super::proxy_address_conflict::ProxyAddressConflict;
use super::seat_shortage::SeatShortage;
use super::usage_location::UsageLocation;
use super::{error_set_of, labelled, plural, with_users, Context, ErrorKey};
use crate::catalog::ProductId;
use crate::diag::{Code, Diagnostic, Location};
use crate::tenant::index::{Source, UserIdx};
use crate::tenant::model::AssignmentError;

/// An error that refuses an assignment, reported per source (seats are reported per product).
/// The variants are in the order of [`AssignmentError`], which orders the diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Refused {
    /// `MutuallyExclusiveViolation`.
    Conflict,
    /// `DependencyViolation`.
    Dependency,
    /// `ProhibitedInUsageLocationViolation`.
    Location,
    /// `UniquenessViolation`.
    Uniqueness,
}

/// Where a fresh error of the service is reported.
enum Kind {
    /// With the product's other seat shortfalls.
    Seats,
    /// With the source's other users refused for the same reason.
    Refused(Refused),
    /// Not reported: seatplan cannot say what the change has to do with it.
    Unattributed,
}

/// The code each error of the service is reported under.
fn kind(error: AssignmentError) -> Kind {
    match error {
        AssignmentError::CountViolation => Kind::Seats,
        AssignmentError::MutuallyExclusiveViolation => Kind::Refused(Refused::Conflict),
        AssignmentError::DependencyViolation => Kind::Refused(Refused::Dependency),
        AssignmentError::ProhibitedInUsageLocationViolation => Kind::Refused(Refused::Location),
        AssignmentError::UniquenessViolation => Kind::Refused(Refused::Uniqueness),
        AssignmentError::Other => Kind::Unattributed,
    }
}

/// Users whose assignments from one source the service would refuse for one reason.
pub(super) struct Refusal {
    /// The source, as messages name it (`group `E3``).
    pub source: String,
    /// The source's config node.
    pub location: Option<Location>,
    /// The users refused.
    pub users: Vec<RefusedUser>,
}

/// One refused user.
pub(super) struct RefusedUser {
    /// The user's UPN.
    pub upn: String,
    /// The refused product's skuPartNumber.
    pub sku: String,
    /// The user's usage location as the refused source uses it (a group's: the user's, else the
    /// tenant's; a direct license's: the user's own), or `no location`.
    pub usage_location: String,
    /// For a refused removal (`DependencyViolation`): the plans the user keeps that need what the
    /// product gives, each with the prerequisites it needs (`MCOMEETADV needs MCOSTANDARD`).
    pub dependents: Vec<String>,
}

impl Refusal {
    /// The refusal's diagnostic: "<n> users <what> (<source>)" at the source, with `help`, and
    /// each user as `line` writes them.
    pub fn diagnostic(
        self,
        code: Code,
        what: &str,
        help: &str,
        line: impl Fn(&RefusedUser) -> String,
    ) -> Diagnostic {
        let message = format!(
            "{} {what} ({})",
            plural(self.users.len(), "user"),
            self.source
        );
        let diagnostic = labelled(
            Diagnostic::new(code, message),
            self.location,
            "caused by this change",
        )
        .with_help(help);
        with_users(diagnostic, self.users.iter().map(line).collect())
    }
}

/// A refused user as most refusals list them: `upn: SKU`.
pub(super) fn user_and_sku(user: &RefusedUser) -> String {
    format!("{}: {}", user.upn, user.sku)
}

/// A user whose removal is refused: `upn: SKU stays, for MCOMEETADV, which needs MCOSTANDARD`.
pub(super) fn user_sku_and_dependents(user: &RefusedUser) -> String {
    if user.dependents.is_empty() {
        return user_and_sku(user);
    }
    format!(
        "{}: {} stays, for {}",
        user.upn,
        user.sku,
        user.dependents.join("; ")
    )
}

/// The plans `user` keeps after the change, from other assignments than `source`'s `product`,
/// that need a prerequisite only that assignment gives: `PLAN needs A or B` each.
fn dependents(
    context: &Context<'_>,
    user: UserIdx,
    source: Source,
    product: ProductId,
) -> Vec<String> {
    let Some(outcome) = context.after.users.get(user.0 as usize) else {
        return Vec::new();
    };
    let mut others = crate::catalog::PlanSet::default();
    let mut held = crate::catalog::PlanSet::default();
    for assignment in outcome.assignments.iter().filter(|a| a.is_effective()) {
        if assignment.source == source && assignment.product == product {
            held.union_with(&assignment.enabled);
        } else {
            others.union_with(&assignment.enabled);
        }
    }
    let name = |plan| context.catalog.plan(plan).name.clone();
    context
        .catalog
        .unmet_prerequisites(&others)
        .into_iter()
        .filter(|(_, any_of)| any_of.iter().any(|plan| held.contains(*plan)))
        .map(|(plan, any_of)| {
            let needed: Vec<String> = any_of.into_iter().map(name).collect();
            format!("{}, which needs {}", name(plan), needed.join(" or "))
        })
        .collect()
}

/// Errors that the change creates, one diagnostic per product short of seats and per source and
/// reason for the others.
pub(super) fn check(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    // Only the users some step processed can have errors the change creates.
    let before = error_set_of(context.before, context.moved.iter().copied());
    let fresh: Vec<ErrorKey> = error_set_of(context.after, context.moved.iter().copied())
        .into_iter()
        .filter(|key| !before.contains(key))
        .collect();
    let mut short: BTreeMap<ProductId, Vec<(UserIdx, Source)>> = BTreeMap::new();
    let mut refused: BTreeMap<(Refused, Source), Vec<(UserIdx, ProductId)>> = BTreeMap::new();
    for (user, source, product, error) in fresh {
        match kind(error) {
            Kind::Seats => short.entry(product).or_default().push((user, source)),
            Kind::Refused(reason) => refused
                .entry((reason, source))
                .or_default()
                .push((user, product)),
            Kind::Unattributed => {}
        }
    }
    for (product, users) in short {
        out.push(SeatShortage::found(context, product, &users).into());
    }
    for ((reason, source), users) in refused {
        let anchor = users[0].0;
        let refusal = Refusal {
            source: context.source_label(source, anchor),
            location: context.source_location(source, anchor),
            users: users
                .iter()
                .map(|(user, product)| RefusedUser {
                    upn: context.upn(*user).to_string(),
                    sku: context.sku(*product).to_string(),
                    // A direct license uses the user's own location only.
                    usage_location: match source {
                        Source::Direct => context.target.user_at(*user).usage_location.as_deref(),
                        Source::Group(_) => context.target.effective_location(*user),
                    }
                    .unwrap_or("no location")
                    .to_string(),
                    dependents: if reason == Refused::Dependency {
                        dependents(context, *user, source, *product)
                    } else {
                        Vec::new()
                    },
                })
                .collect(),
        };
        let deleted = matches!(source, Source::Group(group) if context.desired.deleted.iter().any(|(_, index)| *index == group.0 as usize));
        out.push(match reason {
            Refused::Conflict => MutuallyExclusive {
                arises_early: arises_early(context, source, &users),
                calls: if source == Source::Direct {
                    super::refused_call_lines(context, users.iter().copied())
                } else {
                    (Vec::new(), false)
                },
                refusal,
            }
            .into(),
            Refused::Location => UsageLocation {
                refusal,
                direct: source == Source::Direct,
            }
            .into(),
            Refused::Uniqueness => ProxyAddressConflict(refusal).into(),
            Refused::Dependency if deleted => LicensedGroupDelete(refusal).into(),
            Refused::Dependency => DependencyBreak(refusal).into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_ordered_like_the_service_errors() {
        let order = |error| match kind(error) {
            Kind::Refused(reason) => Some(reason),
            Kind::Seats | Kind::Unattributed => None,
        };
        let errors = [
            AssignmentError::MutuallyExclusiveViolation,
            AssignmentError::DependencyViolation,
            AssignmentError::ProhibitedInUsageLocationViolation,
            AssignmentError::UniquenessViolation,
        ];
        for pair in errors.windows(2) {
            assert!(pair[0] < pair[1]);
            assert!(order(pair[0]) < order(pair[1]));
        }
        assert!(matches!(kind(AssignmentError::CountViolation), Kind::Seats));
        assert!(matches!(kind(AssignmentError::Other), Kind::Unattributed));
    }
}
