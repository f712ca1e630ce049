//! Which errors a change would let succeed on a reprocess (`needs-reprocess`), and which a
//! reprocess after the change would fix whatever fixed their cause (`--reprocess`). The service
//! does not retry an error by itself (seeds 000, 002, 003: it "doesn't automatically react"),
//! so the plan names these users instead of assuming their gain.
//!
//! A reprocess processes only users in error, and one user's reprocess reaches another only
//! through seats: the users in error compete, in the service's order, for the seats of the
//! products their errors are about. So the users whose retry a change can make succeed are
//! found without retrying everyone in error: the users the change processed ([`retry_reach`]
//! starts from them), the products whose seats it changed, and, product by product, the users
//! in error who compete for the same seats where there are not enough for all of them. Everyone else in error is processed by the same
//! retry, from the same state, with the same seats and the same rivals, before and after the
//! change: their retry has the same result, and a retry that would have succeeded before is
//! not the change's doing.

use crate::catalog::{Catalog, ProductId};
use crate::engine::{self, Memberships, Outcome};
use crate::hash::{Map, Set};
use crate::tenant::index::{Source, Tenant, UserIdx};

use super::Evaluated;

/// Users in error after the change with an error a reprocess then resolves, and would not have
/// resolved on a reprocess before the change: the change fixed its cause, but the service does
/// not retry by itself. A user whose other errors still fail is one of them (a reprocess
/// processes all of a user's assignments, and the ones that can succeed do). `moved` are the
/// users the change processed (sorted). Only the users in error the change can reach
/// ([`retry_reach`]) are retried: the work is the users the change moves and their rivals for
/// the seats it changes, not the tenant.
pub fn retryable_after(
    catalog: &Catalog,
    current: &Evaluated,
    target: &Tenant,
    members: &Memberships,
    after: &Outcome,
    moved: &[UserIdx],
) -> Vec<UserIdx> {
    if after.users_in_error.is_empty() {
        return Vec::new();
    }
    let reach = retry_reach(&current.outcome, after, moved);
    let failing: Vec<UserIdx> = in_both(&reach, &after.users_in_error);
    if failing.is_empty() {
        return Vec::new();
    }
    let fixed = resolved_by_retry(catalog, after, target, members, &failing);
    if fixed.is_empty() {
        return Vec::new();
    }
    let had = in_both(&reach, &current.outcome.users_in_error);
    let before = resolved_by_retry(
        catalog,
        &current.outcome,
        &current.tenant,
        &current.memberships.members,
        &had,
    );
    // An error a reprocess would have resolved before the change is not the change's doing.
    let mut candidates: Vec<UserIdx> = fixed
        .into_iter()
        .filter(|(user, errors)| {
            let earlier = before.get(user);
            errors
                .iter()
                .any(|error| earlier.is_none_or(|earlier| !earlier.contains(error)))
        })
        .map(|(user, _)| user)
        .collect();
    candidates.sort_unstable();
    candidates
}

/// Every user in error in `after` with an error a reprocess then resolves, whatever fixed the
/// cause: what `apply --reprocess` reprocesses. A retry of everyone in error, as the service's
/// reprocess of each of them in turn.
pub fn fixable_after(
    catalog: &Catalog,
    target: &Tenant,
    members: &Memberships,
    after: &Outcome,
) -> Vec<UserIdx> {
    let failing = &after.users_in_error;
    if failing.is_empty() {
        return Vec::new();
    }
    let mut fixable: Vec<UserIdx> = resolved_by_retry(catalog, after, target, members, failing)
        .into_keys()
        .collect();
    fixable.sort_unstable();
    fixable
}

/// One assignment in error: its source and product.
type ErrorOf = (Source, ProductId);

/// For each of `users` (in error in `outcome`, sorted), the errors a reprocess of them all
/// resolves (the assignment succeeds, or a refused removal goes through); users with none are
/// left out.
fn resolved_by_retry(
    catalog: &Catalog,
    outcome: &Outcome,
    scenario: &Tenant,
    members: &Memberships,
    users: &[UserIdx],
) -> Map<UserIdx, Vec<ErrorOf>> {
    let retried = engine::step(
        catalog,
        engine::Before {
            outcome,
            scenario,
            memberships: members,
        },
        scenario,
        members,
        users,
    );
    let errors = |outcome: &Outcome, user: UserIdx| -> Vec<ErrorOf> {
        outcome
            .users
            .get(user.0 as usize)
            .map(|user| {
                user.errors()
                    .map(|assignment| (assignment.source, assignment.product))
                    .collect()
            })
            .unwrap_or_default()
    };
    users
        .iter()
        .filter_map(|&user| {
            let still = errors(&retried, user);
            let resolved: Vec<ErrorOf> = errors(outcome, user)
                .into_iter()
                .filter(|error| !still.contains(error))
                .collect();
            (!resolved.is_empty()).then_some((user, resolved))
        })
        .collect()
}

/// The users of `users` (sorted) that are also in `of` (sorted).
fn in_both(users: &[UserIdx], of: &[UserIdx]) -> Vec<UserIdx> {
    users
        .iter()
        .copied()
        .filter(|user| of.binary_search(user).is_ok())
        .collect()
}

/// The users in error before or after the change (sorted) whose retry the change can reach:
/// those it processed (`moved`, sorted), and, closed over the seats they compete for, everyone
/// whose retry can take or free seats of a scarce product whose seats the change changed or
/// that a reached user's retry can take or free. A product is scarce when, before or after the
/// change, its free seats are fewer than the users in error whose retry could take one: only
/// there does the order of the retries decide who gets a seat. The rest hold what they held,
/// and their retries take and free only seats the change left as they were, among themselves,
/// or seats there are enough of for all.
pub fn retry_reach(before: &Outcome, after: &Outcome, moved: &[UserIdx]) -> Vec<UserIdx> {
    let changed = changed_seats(before, after);
    let in_error_of =
        |outcome: &Outcome, user: &UserIdx| outcome.users_in_error.binary_search(user).is_ok();
    // Nothing to start from: no seats changed, and nobody the change processed is in error.
    if changed.is_empty()
        && !moved
            .iter()
            .any(|user| in_error_of(before, user) || in_error_of(after, user))
    {
        return Vec::new();
    }
    let mut in_error: Vec<UserIdx> = before
        .users_in_error
        .iter()
        .chain(&after.users_in_error)
        .copied()
        .collect();
    in_error.sort_unstable();
    in_error.dedup();
    // The products a retry of each user can take or free seats of, before or after the change:
    // every product of a source with an assignment in error (a group's products succeed or fail
    // together, so retrying one can free the seats of the others).
    let products_of = |user: UserIdx| -> Vec<ProductId> {
        let mut products: Vec<ProductId> = [before, after]
            .iter()
            .filter_map(|outcome| outcome.users.get(user.0 as usize))
            .flat_map(|outcome| {
                let failing: Vec<_> = outcome
                    .errors()
                    .map(|assignment| assignment.source)
                    .collect();
                outcome
                    .assignments
                    .iter()
                    .filter(move |assignment| failing.contains(&assignment.source))
                    .map(|assignment| assignment.product)
            })
            .collect();
        products.sort_unstable();
        products.dedup();
        products
    };
    let mut rivals: Map<ProductId, Vec<UserIdx>> = Map::default();
    let mut errors_of: Map<UserIdx, Vec<ProductId>> = Map::default();
    for &user in &in_error {
        let products = products_of(user);
        for &product in &products {
            rivals.entry(product).or_default().push(user);
        }
        errors_of.insert(user, products);
    }
    // A product with seats enough, before and after the change, for every user in error whose
    // retry could take one gives each of them a seat whoever goes first: it couples nobody.
    let scarce = |product: ProductId| -> bool {
        let demand = rivals.get(&product).map_or(0, Vec::len) as u64;
        [before, after].iter().any(|outcome| {
            outcome
                .seats_of(product)
                .map_or(0, |usage| usage.enabled.saturating_sub(usage.consumed))
                < demand
        })
    };
    let mut reached: Set<UserIdx> = Set::default();
    let mut products: Vec<ProductId> = changed;
    for &user in moved {
        if let Some(errors) = errors_of.get(&user) {
            reached.insert(user);
            products.extend_from_slice(errors);
        }
    }
    let mut seen: Set<ProductId> = Set::default();
    while let Some(product) = products.pop() {
        if !seen.insert(product) || !scarce(product) {
            continue;
        }
        for &user in rivals.get(&product).map_or(&[][..], Vec::as_slice) {
            if reached.insert(user) {
                products.extend_from_slice(&errors_of[&user]);
            }
        }
    }
    let mut reached: Vec<UserIdx> = reached.into_iter().collect();
    reached.sort_unstable();
    reached
}

/// The products whose seats (bought or consumed) differ between `before` and `after`.
fn changed_seats(before: &Outcome, after: &Outcome) -> Vec<ProductId> {
    let mut products: Vec<ProductId> = before
        .seats
        .iter()
        .chain(&after.seats)
        .map(|usage| usage.product)
        .filter(|&product| before.seats_of(product) != after.seats_of(product))
        .collect();
    products.sort_unstable();
    products.dedup();
    products
}
