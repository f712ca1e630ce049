//! `seat-count-drift`: Graph's `consumedUnits` differs from the seats the engine counts for the
//! tenant as it is, so the model or the data is off and the plan's seat figures cannot be
//! trusted blindly.

use super::{Context, ReportedSeats};
use crate::diag::{Code, Diagnostic};

/// A product whose consumed seats Graph and the engine count differently.
pub(super) struct SeatCountDrift {
    /// The product's skuPartNumber.
    sku: String,
    /// What Graph reports.
    consumed: u64,
    /// What the engine counts.
    predicted: u64,
}

impl From<SeatCountDrift> for Diagnostic {
    fn from(drift: SeatCountDrift) -> Diagnostic {
        Diagnostic::new(
            Code::SeatCountDrift,
            format!(
                "Graph reports {} consumed {} seats, seatplan counts {} for the tenant as it is",
                drift.consumed, drift.sku, drift.predicted
            ),
        )
        .with_help(
            "the tenant read may be incomplete or the licensing service is still processing; check the product's licenses in the admin center before trusting this plan's seat figures",
        )
    }
}

/// The product's drift, when Graph reports its consumed seats.
pub(super) fn check(context: &Context<'_>, seats: &ReportedSeats, out: &mut Vec<Diagnostic>) {
    let Some(consumed) = seats.consumed else {
        return;
    };
    let predicted = context
        .before
        .seats_of(seats.product)
        .map_or(0, |usage| usage.consumed);
    if consumed != predicted {
        out.push(
            SeatCountDrift {
                sku: context.sku(seats.product).to_string(),
                consumed,
                predicted,
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
    fn a_consumed_count_unlike_the_engines_is_reported() {
        let reported = fixture!("seat-count-drift").reported(Code::SeatCountDrift);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "Graph reports 3 consumed ENTERPRISEPACK seats, seatplan counts 1 for the tenant as it is"
        );
        assert!(fixture!("license-loss")
            .reported(Code::SeatCountDrift)
            .is_empty());
    }
}
