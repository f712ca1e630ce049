//! Orders that avoid a refused direct call, or a member added for whom no seat is free yet. A
//! direct `assignLicense` that cannot succeed is refused when it is made, a group assignment that
//! finds no seat records `CountViolation`, and nothing tries either again (seeds 001/002: the problem "is
//! immediately reported back to you"; seed 003: the service "does not automatically react to all
//! types of changes in the environment"). In the default order every addition runs before every
//! removal, so an addition that needs the seat a later removal frees is refused although the end
//! state has room for it.
//!
//! [`find`] looks for removals that free such a seat and can run ahead of the additions without
//! costing anyone anything: the removal takes the product from *another* user, who holds it
//! before the change and ends without it (so the seat really is freed), and who is, with the
//! removal run early, never without a plan between two phases that they have (or that supersedes
//! it) at the end — no window. The new order is simulated and kept only when the refusals it
//! aims at are gone, no new one appears, and every other user ends exactly as in the default
//! order. The order itself stays with [`super::steps::steps`], which runs the chosen removals in
//! [`super::steps::Phase::Releases`]; both backends execute those steps. What cannot be avoided
//! this way is described by [`refused_calls`], for the diagnostics to name the step.

use std::collections::BTreeSet;

use crate::catalog::{Catalog, ProductId};
use crate::engine::Outcome;
use crate::plan::diff::group_address;
use crate::plan::document::StepDoc;
use crate::plan::impact::PlanChange;
use crate::plan::simulate::{simulate, Endpoints, Release, Simulation};
use crate::plan::steps::{Action, Early, Phase, Step, Target};
use crate::tenant::index::{Source, UserIdx};
use crate::tenant::model::{AssignmentError, AssignmentState};

/// How many orders [`find`] simulates at most (each drops the removals that turned out unsafe).
const ATTEMPTS: usize = 4;

/// A removal step that may run early: the step, the release the simulation applies, the user it
/// takes from and the products it frees.
#[derive(Debug, Clone)]
struct Candidate {
    early: Early,
    release: Release,
    user: UserIdx,
    products: Vec<ProductId>,
}

impl Candidate {
    /// `step` run early, as the simulation applies it (`release`), taking `products` from the
    /// user it releases.
    fn of(step: &Step, release: Release, products: Vec<ProductId>) -> Self {
        let user = match release {
            Release::Member { user, .. } | Release::Direct { user, .. } => user,
        };
        Candidate {
            early: Early {
                change: step.change,
                action: step.action.clone(),
            },
            release,
            user,
            products,
        }
    }
}

/// An order found by [`find`]: the removals that run early and the simulation of that order.
pub struct Reordered {
    /// The steps run ahead of the additions.
    pub early: Vec<Early>,
    /// The same removals, as the simulation applies them.
    pub releases: Vec<Release>,
    /// The plan simulated in that order.
    pub simulation: Simulation,
    /// Per early removal: its user and the users whose refused call it avoids, with the product.
    pub avoided: Vec<Avoided>,
}

/// One early removal and what it avoids.
#[derive(Debug, Clone)]
pub struct Avoided {
    /// The removal's step.
    pub early: Early,
    /// The user it takes the product from.
    pub user: UserIdx,
    /// The direct assignments (user and product) that are no longer refused.
    pub licensed: Vec<(UserIdx, ProductId)>,
}

/// Removals that let direct assignments refused in `original` succeed, with the order's
/// simulation; `None` when no safe order exists (or nothing is refused for seats).
pub fn find(endpoints: &Endpoints<'_>, steps: &[Step], original: &Simulation) -> Option<Reordered> {
    let before = endpoints.before;
    let short_before = short_of_seats(before, &original.moved);
    let refused: Vec<(UserIdx, ProductId)> = original
        .after
        .outcome
        .refused
        .iter()
        .filter(|refusal| refusal.error == AssignmentError::CountViolation)
        .map(|refusal| (refusal.user, refusal.product))
        .chain(
            short_of_seats(&original.after.outcome, &original.moved)
                .into_iter()
                .filter(|key| !short_before.contains(key)),
        )
        .collect();
    if refused.is_empty() {
        return None;
    }
    let refused_users: BTreeSet<UserIdx> = refused.iter().map(|(user, _)| *user).collect();
    let products: BTreeSet<ProductId> = refused.iter().map(|(_, product)| *product).collect();
    let after = &original.after.outcome;
    let mut candidates: Vec<Candidate> = candidates(endpoints, steps)
        .into_iter()
        .filter(|candidate| !refused_users.contains(&candidate.user))
        .map(|mut candidate| {
            let user = candidate.user.0 as usize;
            // Only the products the removal really frees: held before, not at the end.
            candidate.products.retain(|product| {
                products.contains(product)
                    && before.users[user].consumed.contains(product)
                    && !after.users[user].consumed.contains(product)
            });
            candidate
        })
        .collect();
    // A candidate that frees nothing refused stays only beside one of its call that does: the
    // call runs early with all its products.
    let useful: Vec<Early> = candidates
        .iter()
        .filter(|candidate| !candidate.products.is_empty())
        .map(|candidate| candidate.early.clone())
        .collect();
    candidates.retain(|candidate| useful.contains(&candidate.early));
    let needed = |product: ProductId| refused.iter().filter(|(_, p)| *p == product).count();
    let mut rejected = vec![false; candidates.len()];
    let mut chosen: Vec<usize> = Vec::new();
    for _ in 0..ATTEMPTS {
        for &product in &products {
            for (index, candidate) in candidates.iter().enumerate() {
                // Seats freed: one per user whose removals of the product are chosen.
                let have: BTreeSet<UserIdx> = chosen
                    .iter()
                    .filter(|&&chosen| candidates[chosen].products.contains(&product))
                    .map(|&chosen| candidates[chosen].user)
                    .collect();
                if have.len() >= needed(product) {
                    break;
                }
                if !rejected[index]
                    && !chosen.contains(&index)
                    && candidate.products.contains(&product)
                {
                    // A user who holds the product from several sources frees its seat only
                    // when every one of them goes: their other removals of it run early too.
                    // A call that removes several products runs early with all of them.
                    for (other, also) in candidates.iter().enumerate() {
                        let same_user_product =
                            also.user == candidate.user && also.products.contains(&product);
                        if (same_user_product || also.early == candidate.early)
                            && !rejected[other]
                            && !chosen.contains(&other)
                        {
                            chosen.push(other);
                        }
                    }
                }
            }
        }
        if chosen.is_empty() {
            return None;
        }
        chosen.sort_unstable();
        let releases: Vec<Release> = chosen
            .iter()
            .map(|&index| candidates[index].release)
            .collect();
        let simulation = simulate(&Endpoints {
            releases: &releases,
            ..*endpoints
        });
        let unsafe_users: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|&index| {
                let user = candidates[index].user;
                has_window(endpoints.catalog, before, &simulation, user)
                    || simulation.after.outcome.users[user.0 as usize]
                        != after.users[user.0 as usize]
            })
            .collect();
        if !unsafe_users.is_empty() {
            // A user's removals of a product are chosen together, and dropped together.
            let users: BTreeSet<UserIdx> = unsafe_users
                .iter()
                .map(|&index| candidates[index].user)
                .collect();
            for (index, candidate) in candidates.iter().enumerate() {
                if users.contains(&candidate.user) {
                    rejected[index] = true;
                }
            }
            chosen.retain(|&index| !rejected[index]);
            continue;
        }
        let failing = |outcome: &Outcome, moved: &[UserIdx]| -> BTreeSet<(UserIdx, ProductId)> {
            outcome
                .refused
                .iter()
                .map(|refusal| (refusal.user, refusal.product))
                .chain(short_of_seats(outcome, moved))
                .collect()
        };
        let still = failing(&simulation.after.outcome, &simulation.moved);
        let all = failing(after, &original.moved);
        let licensed: Vec<(UserIdx, ProductId)> = refused
            .iter()
            .copied()
            .filter(|key| !still.contains(key))
            .collect();
        let newly_licensed: BTreeSet<UserIdx> = licensed.iter().map(|(user, _)| *user).collect();
        // Users neither order processed hold the same shared outcome in both.
        let others_equal = simulation
            .moved
            .iter()
            .chain(&original.moved)
            .filter(|user| !newly_licensed.contains(user))
            .all(|user| {
                simulation.after.outcome.users[user.0 as usize] == after.users[user.0 as usize]
            });
        if licensed.is_empty() || !still.is_subset(&all) || !others_equal {
            return None;
        }
        // One entry per step run early (a call that removes several products is several
        // candidates).
        let mut avoided: Vec<Avoided> = Vec::new();
        for &index in &chosen {
            let candidate = &candidates[index];
            let freed = licensed
                .iter()
                .copied()
                .filter(|(_, product)| candidate.products.contains(product));
            match avoided
                .iter_mut()
                .find(|entry| entry.early == candidate.early)
            {
                Some(entry) => {
                    entry.licensed.extend(freed);
                    entry.licensed.sort_unstable();
                    entry.licensed.dedup();
                }
                None => avoided.push(Avoided {
                    early: candidate.early.clone(),
                    user: candidate.user,
                    licensed: freed.collect(),
                }),
            }
        }
        return Some(Reordered {
            early: avoided.iter().map(|entry| entry.early.clone()).collect(),
            releases,
            simulation,
            avoided,
        });
    }
    None
}

/// The group assignments of `users` that fail for seats in `outcome` (`CountViolation`), as
/// (user, product): a member added before the removal that frees the seat fails for good.
fn short_of_seats(outcome: &Outcome, users: &[UserIdx]) -> Vec<(UserIdx, ProductId)> {
    users
        .iter()
        .filter_map(|user| Some((*user, outcome.users.get(user.0 as usize)?)))
        .flat_map(|(user, held)| {
            held.assignments
                .iter()
                .filter(|assignment| {
                    matches!(assignment.source, Source::Group(_))
                        && assignment.state == AssignmentState::Error
                        && assignment.error == Some(AssignmentError::CountViolation)
                })
                .map(move |assignment| (user, assignment.product))
        })
        .collect()
}

/// The steps that remove products from one user and could run early: a user removed from a
/// static licensed group, or a user's direct product removed, in step order.
fn candidates(endpoints: &Endpoints<'_>, steps: &[Step]) -> Vec<Candidate> {
    let groups = groups_by_address(endpoints);
    let mut found = Vec::new();
    for step in steps {
        let Some(change) = endpoints.changes.get(step.change) else {
            continue;
        };
        match (&step.action, &step.target) {
            (Action::RemoveMember { user_id, .. }, Target::Group) => {
                let Some(&group) = groups.get(change.address.as_str()) else {
                    continue;
                };
                let (Some(user), Some(current)) = (
                    endpoints.current.user(user_id),
                    endpoints.current.groups.get(group),
                ) else {
                    continue;
                };
                if current.rule.is_some() || !current.security_enabled {
                    continue;
                }
                let products = current
                    .licenses
                    .iter()
                    .map(|license| license.product)
                    .collect();
                found.push(Candidate::of(
                    step,
                    Release::Member { user, group },
                    products,
                ));
            }
            (
                Action::AssignLicenses {
                    add, remove: ids, ..
                },
                Target::User(user_id),
            ) if add.is_empty() && step.phase == Phase::RemoveLicenses => {
                let Some(user) = endpoints.current.user(user_id) else {
                    continue;
                };
                // One call may remove several products (an add-on with its prerequisite): each
                // is a release of its own, chosen with the others the refused users need.
                for id in ids {
                    if let Ok(product) = endpoints.catalog.resolve_product(id) {
                        found.push(Candidate::of(
                            step,
                            Release::Direct { user, product },
                            vec![product],
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The index of every managed group, by its plan address (`group["Sales - E3"]`).
fn groups_by_address(endpoints: &Endpoints<'_>) -> crate::hash::Map<String, usize> {
    endpoints
        .desired
        .managed_groups
        .iter()
        .map(|(name, index)| (group_address(name), *index))
        .collect()
}

/// Whether `user` is, after some phase of `simulation`, without a plan they had before the
/// change and have (or what supersedes it) at the end.
fn has_window(catalog: &Catalog, before: &Outcome, simulation: &Simulation, user: UserIdx) -> bool {
    let index = user.0 as usize;
    let old = &before.users[index];
    let at_end = PlanChange::between(catalog, old, &simulation.after.outcome.users[index]).lost;
    simulation.between.iter().any(|phase| {
        !PlanChange::between(catalog, old, &phase.outcome.users[index])
            .lost
            .difference(&at_end)
            .is_empty()
    })
}

/// A direct `assignLicense` the service refuses at its step, as the diagnostics name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedCall {
    /// The user.
    pub user: UserIdx,
    /// The product refused.
    pub product: ProductId,
    /// Why.
    pub error: AssignmentError,
    /// The step, numbered as the plan shows it (`1. assignLicense user["bob@contoso.com"]
    /// +ENTERPRISEPACK`).
    pub step: String,
    /// The later step that frees the seat or removes the conflicting license, numbered, if the
    /// plan has one.
    pub freed_by: Option<String>,
}

/// The refused direct calls of `outcome`, each with its step in `steps` (as documented for the
/// plan) and the later step that would have let it succeed.
pub fn refused_calls(
    endpoints: &Endpoints<'_>,
    steps: &[Step],
    outcome: &Outcome,
) -> Vec<RefusedCall> {
    if outcome.refused.is_empty() {
        return Vec::new();
    }
    let numbered = |position: usize| numbered(endpoints, steps, position);
    let found = candidates(endpoints, steps);
    let groups = groups_by_address(endpoints);
    outcome
        .refused
        .iter()
        .filter_map(|refusal| {
            let user = endpoints.target.user_at(refusal.user);
            let sku = &endpoints.catalog.product(refusal.product).sku_part_number;
            let position = call_position(steps, &user.id, sku)?;
            let later = |step: &Step| -> bool {
                match refusal.error {
                    AssignmentError::CountViolation => found.iter().any(|candidate| {
                        candidate.early.change == step.change
                            && candidate.early.action == step.action
                            && candidate.user != refusal.user
                            && candidate.products.contains(&refusal.product)
                    }),
                    AssignmentError::MutuallyExclusiveViolation => {
                        removes_from(endpoints, &groups, step, refusal.user)
                    }
                    _ => false,
                }
            };
            let freed_by = steps
                .iter()
                .enumerate()
                .skip(position + 1)
                .find(|(_, step)| later(step))
                .map(|(index, _)| numbered(index));
            Some(RefusedCall {
                user: refusal.user,
                product: refusal.product,
                error: refusal.error,
                step: numbered(position),
                freed_by,
            })
        })
        .collect()
}

/// Whether `step` takes a license away from `user`: removes them from a licensed group, removes
/// a product from a group they are in, or removes one of their direct products.
fn removes_from(
    endpoints: &Endpoints<'_>,
    groups: &crate::hash::Map<String, usize>,
    step: &Step,
    user: UserIdx,
) -> bool {
    let Some(change) = endpoints.changes.get(step.change) else {
        return false;
    };
    let group = || groups.get(change.address.as_str()).copied();
    let holds_from = |source: Source| {
        endpoints.before.users[user.0 as usize]
            .assignments
            .iter()
            .any(|assignment| assignment.source == source && assignment.is_effective())
    };
    match (&step.action, &step.target) {
        (Action::RemoveMember { user_id, .. }, Target::Group) => {
            endpoints.current.user(user_id) == Some(user)
                && group().is_some_and(|group| {
                    holds_from(Source::Group(crate::tenant::index::GroupIdx(group as u32)))
                })
        }
        (Action::AssignLicenses { remove, .. }, Target::Group) => {
            !remove.is_empty()
                && group().is_some_and(|group| {
                    holds_from(Source::Group(crate::tenant::index::GroupIdx(group as u32)))
                })
        }
        (Action::AssignLicenses { remove, .. }, Target::User(user_id)) => {
            !remove.is_empty() && endpoints.current.user(user_id) == Some(user)
        }
        (Action::DeleteGroup, Target::Group) => group().is_some_and(|group| {
            holds_from(Source::Group(crate::tenant::index::GroupIdx(group as u32)))
        }),
        _ => false,
    }
}

/// The `steps-reordered` lines: per early removal, what it frees for whom, numbered as in
/// `steps` (the final order).
pub fn describe(
    endpoints: &Endpoints<'_>,
    steps: &[Step],
    avoided: &[Avoided],
) -> Vec<(String, Vec<String>)> {
    let number = |early: &Early| {
        steps
            .iter()
            .position(|step| step.change == early.change && step.action == early.action)
            .map(|position| numbered(endpoints, steps, position))
    };
    avoided
        .iter()
        .filter_map(|avoided| {
            let removal = number(&avoided.early)?;
            let freed = avoided
                .licensed
                .iter()
                .map(|(user, product)| {
                    let user = endpoints.target.user_at(*user);
                    let sku = &endpoints.catalog.product(*product).sku_part_number;
                    let call = call_position(steps, &user.id, sku)
                        .or_else(|| member_position(steps, &user.id))
                        .map(|position| numbered(endpoints, steps, position))
                        .unwrap_or_else(|| format!("the assignment of {sku} to {}", user.upn));
                    format!(
                        "{sku} for {} ({call}), from {}, who ends without it anyway",
                        user.upn,
                        endpoints.target.user_at(avoided.user).upn
                    )
                })
                .collect();
            Some((removal, freed))
        })
        .collect()
}

/// The position in `steps` of the `assignLicense` on the user `user_id` that adds `sku`.
fn call_position(steps: &[Step], user_id: &str, sku: &str) -> Option<usize> {
    steps.iter().position(|step| {
        matches!(&step.target, Target::User(id) if id.as_str() == user_id)
            && matches!(&step.action, Action::AssignLicenses { add_skus, .. } if add_skus.iter().any(|added| added == sku))
    })
}

/// The position in `steps` of the first step that adds the user `user_id` to a group.
fn member_position(steps: &[Step], user_id: &str) -> Option<usize> {
    steps.iter().position(|step| {
        matches!(&step.action, Action::AddMember { user_id: id, .. } if id.as_str() == user_id)
    })
}

/// The step at `position`, numbered as the plan shows it (`2. assignLicense user["…"] +SKU`).
fn numbered(endpoints: &Endpoints<'_>, steps: &[Step], position: usize) -> String {
    let document: StepDoc = steps[position].document(endpoints.changes);
    format!("{}. {}", position + 1, document.describe())
}
