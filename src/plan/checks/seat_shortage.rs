//! `seat-shortage`: the change needs more seats of a product than are enabled (the service
//! records CountViolation), with the shortfall.

use std::collections::BTreeSet;

use super::{plural, with_users, Context};
use crate::catalog::ProductId;
use crate::diag::{Code, Diagnostic, Location};
use crate::tenant::index::{Source, UserIdx};

/// A product the change needs more seats of than are enabled.
pub(super) struct SeatShortage {
    /// The product's skuPartNumber.
    sku: String,
    /// The seats enabled.
    enabled: u64,
    /// The seats the change needs.
    needed: u64,
    /// The config node of each source that assigns the product to a user left without it.
    sources: Vec<Location>,
    /// Each user left without it, with the source (`group `E3``) that would have assigned it.
    users: Vec<(String, String)>,
    /// The refused direct calls among them, each naming its step.
    calls: Vec<String>,
    /// Whether a later step of the plan frees the seat a refused call needed.
    freed_later: bool,
}

impl SeatShortage {
    /// The shortage of `product` for `users`, who would not be licensed.
    pub fn found(context: &Context<'_>, product: ProductId, users: &[(UserIdx, Source)]) -> Self {
        let seats = context.after.seats_of(product);
        let mut labelled_sources = BTreeSet::new();
        let sources = users
            .iter()
            .filter(|(_, source)| labelled_sources.insert(*source))
            .filter_map(|(user, source)| context.source_location(*source, *user))
            .collect();
        let (calls, freed_later) = super::refused_call_lines(
            context,
            users
                .iter()
                .filter(|(_, source)| *source == Source::Direct)
                .map(|(user, _)| (*user, product)),
        );
        SeatShortage {
            calls,
            freed_later,
            sku: context.sku(product).to_string(),
            enabled: seats.map_or(0, |usage| usage.enabled),
            needed: seats.map_or(0, |usage| usage.consumed) + users.len() as u64,
            sources,
            users: users
                .iter()
                .map(|(user, source)| {
                    (
                        context.upn(*user).to_string(),
                        context.source_label(*source, *user),
                    )
                })
                .collect(),
        }
    }
}

impl From<SeatShortage> for Diagnostic {
    fn from(shortage: SeatShortage) -> Diagnostic {
        let short = shortage.users.len();
        let sku = &shortage.sku;
        // The end state has room (a seat freed after the assignment was processed): the
        // shortage is the order's, not the count's.
        let message = if shortage.needed <= shortage.enabled {
            format!(
                "{sku} has no seat free when {} assigned (enabled {}; a seat a later step frees does not retry it): {} would not be licensed",
                if short == 1 { "this user is" } else { "these users are" },
                shortage.enabled,
                plural(short, "user")
            )
        } else {
            format!(
                "{sku} needs {short} more {} (enabled {}, required {}): {} would not be licensed",
                if short == 1 { "seat" } else { "seats" },
                shortage.enabled,
                shortage.needed,
                plural(short, "user")
            )
        };
        let mut diagnostic = Diagnostic::new(Code::SeatShortage, message)
        .with_help(if shortage.freed_later {
            format!(
                "restructure the change: leave the refused assignment out of this plan and add it in a later one, once the removal has freed the seat; or buy {} of {sku}. (seatplan runs such a removal first by itself only when its user ends without {sku} and is never without a plan in between)",
                plural(short, "seat"),
            )
        } else {
            format!(
                "buy {} of {sku}, or free seats (remove direct assignments, shrink groups) before applying",
                plural(short, "seat"),
            )
        });
        for location in shortage.sources {
            diagnostic = diagnostic.with_label(location, format!("assigns {sku}"));
        }
        let lines = shortage
            .users
            .iter()
            .map(|(upn, source)| format!("{upn} via {source}"))
            .collect();
        shortage
            .calls
            .into_iter()
            .fold(with_users(diagnostic, lines), Diagnostic::with_note)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::fixture;
    use super::*;

    #[test]
    fn the_shortfall_names_the_product_and_the_users_left_out() {
        let reported = fixture!("seat-shortage").reported(Code::SeatShortage);
        assert_eq!(reported.len(), 1);
        assert_eq!(
            reported[0].message,
            "ENTERPRISEPACK needs 2 more seats (enabled 3, required 5): 2 users would not be licensed"
        );
        assert_eq!(reported[0].labels.len(), 1);
        assert_eq!(reported[0].labels[0].message, "assigns ENTERPRISEPACK");
        assert_eq!(
            reported[0].notes,
            [
                "- dan@contoso.com via group `E3`",
                "- eve@contoso.com via group `E3`"
            ]
        );
    }

    #[test]
    fn a_shortage_only_in_the_order_says_so() {
        let diagnostic: Diagnostic = SeatShortage {
            sku: "ENTERPRISEPACK".to_string(),
            enabled: 2,
            needed: 2,
            sources: Vec::new(),
            users: vec![("ann@contoso.com".to_string(), "group `E3`".to_string())],
            calls: Vec::new(),
            freed_later: false,
        }
        .into();
        assert_eq!(
            diagnostic.message,
            "ENTERPRISEPACK has no seat free when this user is assigned (enabled 2; a seat a later step frees does not retry it): 1 user would not be licensed"
        );
    }

    #[test]
    fn one_seat_short_is_singular() {
        let diagnostic: Diagnostic = SeatShortage {
            sku: "EMS".to_string(),
            enabled: 1,
            needed: 2,
            sources: Vec::new(),
            users: vec![("ann@contoso.com".to_string(), "group `EMS`".to_string())],
            calls: Vec::new(),
            freed_later: false,
        }
        .into();
        assert_eq!(
            diagnostic.message,
            "EMS needs 1 more seat (enabled 1, required 2): 1 user would not be licensed"
        );
        assert_eq!(
            diagnostic.help.as_deref(),
            Some("buy 1 seat of EMS, or free seats (remove direct assignments, shrink groups) before applying")
        );
    }

    #[test]
    fn a_refused_call_freed_later_names_its_step_and_how_to_restructure() {
        let diagnostic: Diagnostic = SeatShortage {
            sku: "ENTERPRISEPACK".to_string(),
            enabled: 1,
            needed: 1,
            sources: Vec::new(),
            users: vec![(
                "bob@contoso.com".to_string(),
                "the direct licenses of `bob@contoso.com`".to_string(),
            )],
            calls: vec!["step 2. assignLicense user[\"bob@contoso.com\"] +ENTERPRISEPACK is refused (CountViolation) and not called again: the seat it needs is freed only by step 4. removeMember group[\"Z - E3\"] ann@contoso.com, after it".to_string()],
            freed_later: true,
        }
        .into();
        assert!(diagnostic.help.as_deref().is_some_and(|help| help
            .starts_with("restructure the change: leave the refused assignment out of this plan")));
        assert_eq!(diagnostic.notes.len(), 2);
        assert!(diagnostic.notes[1].starts_with("step 2. assignLicense"));
    }
}
