//! `subscription-in-grace`: seats of a product are in their grace period. The plan counts them as
//! assignable, and the administrator is told they will go when the subscription is disabled.

use super::{plural, Context, ReportedSeats};
use crate::diag::{Code, Diagnostic};

/// A product with seats in their grace period.
pub(super) struct SubscriptionInGrace {
    /// The product's display name.
    name: String,
    /// Its skuPartNumber.
    sku: String,
    /// Seats in the grace period.
    warning: u64,
    /// Suspended seats.
    suspended: u64,
}

impl From<SubscriptionInGrace> for Diagnostic {
    fn from(grace: SubscriptionInGrace) -> Diagnostic {
        let SubscriptionInGrace {
            name,
            sku,
            warning,
            suspended,
        } = grace;
        let mut diagnostic = Diagnostic::new(
            Code::SubscriptionInGrace,
            format!(
                "{name} ({sku}) has {} in the grace period: the plan counts such seats as assignable, but they go when the subscription is disabled",
                plural(warning as usize, "seat")
            ),
        )
        .with_help(format!("renew the {sku} subscription, or plan for fewer seats"));
        if suspended > 0 {
            diagnostic = diagnostic.with_note(format!(
                "suspended seats count for nothing: {suspended} more"
            ));
        }
        diagnostic
    }
}

/// The product's seats in grace, if it has any.
pub(super) fn check(context: &Context<'_>, seats: &ReportedSeats, out: &mut Vec<Diagnostic>) {
    if seats.warning == 0 {
        return;
    }
    out.push(
        SubscriptionInGrace {
            name: context.catalog.product(seats.product).name.clone(),
            sku: context.sku(seats.product).to_string(),
            warning: seats.warning,
            suspended: seats.suspended,
        }
        .into(),
    );
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn seats_in_grace_are_reported_with_the_suspended_ones() {
        let reported = fixture!("subscription-in-grace").reported(Code::SubscriptionInGrace);
        assert_eq!(reported.len(), 1);
        assert!(reported[0]
            .message
            .starts_with("Office 365 E3 (ENTERPRISEPACK) has 1 seat in the grace period"));
        assert_eq!(
            reported[0].notes,
            ["suspended seats count for nothing: 3 more"]
        );
    }
}
