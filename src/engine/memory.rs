//! What the licensing service remembers (SPEC §2.5a): per user, per source (direct, or a group
//! known by its object id), per product, the content the service applied, the state it ended in
//! and the error. Every run of the engine starts from one [`ServiceMemory`] and describes the
//! memory the service holds afterwards ([`ServiceMemory::after`]), so `report`, `plan`,
//! `reprocess`, `rule diff` and `apply` agree on what the service already did.
//!
//! A tenant state records what the service did in its `license_states`; an assignment it does not
//! record (a hand-written file, or an assignment added since the export) is what the service
//! would hold once it has processed the tenant as it stands: [`ServiceMemory::settle`] processes
//! those, recorded assignments first keeping their seats, then the rest in the service's order.

use crate::hash::Map;

use crate::catalog::Catalog;
use crate::tenant::index::{GroupIdx, License, Source, Tenant, UserIdx};
use crate::tenant::model::{AssignmentError, AssignmentState};

use super::{run, Memberships, Mode, Outcome};

/// One (user, source, product) assignment as the service last processed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// Direct, or a group by its position in [`ServiceMemory::groups`].
    pub source: Source,
    /// The product and the plans the service applied (or tried to apply, for an `Error`).
    pub license: License,
    /// `Active`, `ActiveWithError` (kept although a change was refused) or `Error`.
    pub state: AssignmentState,
    /// The service's error, when the state is not `Active`.
    pub error: Option<AssignmentError>,
}

impl Processed {
    /// True when the assignment gives the user its plans (and holds a seat).
    pub fn is_effective(&self) -> bool {
        self.state != AssignmentState::Error
    }
}

/// A group the memory names: its object id (the identity the memory keys it by, whatever its
/// index in a tenant) and the licenses the service last processed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryGroup {
    /// The group's object id.
    pub id: Box<str>,
    /// What the group assigned when the service last processed it.
    pub licenses: Vec<License>,
}

/// What the licensing service holds: for each user what each source applied and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceMemory {
    /// Per user, indexed like the tenant's users (a plan never adds or removes users).
    pub users: Vec<Vec<Processed>>,
    /// The groups that [`Processed::source`] names.
    pub groups: Vec<MemoryGroup>,
}

impl ServiceMemory {
    /// Exactly what `tenant` records: every direct license (a direct assignment that exists was
    /// accepted by the service) and every recorded group assignment of a product the group
    /// still assigns, with the group's content. Assignments the tenant does not record are
    /// absent.
    pub fn recorded(tenant: &Tenant) -> ServiceMemory {
        let users = tenant
            .users
            .iter()
            .map(|user| {
                let mut processed: Vec<Processed> = user
                    .direct
                    .iter()
                    .map(|license| Processed {
                        source: Source::Direct,
                        license: license.clone(),
                        state: AssignmentState::Active,
                        error: None,
                    })
                    .collect();
                for recorded in &user.recorded {
                    let Source::Group(group) = recorded.source else {
                        continue;
                    };
                    let content = tenant.groups.get(group.0 as usize).and_then(|group| {
                        group
                            .licenses
                            .iter()
                            .find(|license| license.product == recorded.product)
                    });
                    if let Some(license) = content {
                        let (state, error) = match recorded.state {
                            // A disabled assignment still holds its seat and plans.
                            AssignmentState::Active | AssignmentState::Disabled => {
                                (AssignmentState::Active, None)
                            }
                            state => (state, recorded.error.or(Some(AssignmentError::Other))),
                        };
                        processed.push(Processed {
                            source: recorded.source,
                            license: license.clone(),
                            state,
                            error,
                        });
                    }
                }
                processed
            })
            .collect();
        ServiceMemory {
            users,
            groups: groups_of(tenant),
        }
    }

    /// The memory of the service once it has processed `tenant` as it stands: the recorded
    /// assignments keep their state and seats, the assignments the tenant does not record are
    /// processed in the service's order. Returns the memory and the outcome it describes.
    pub fn settle(
        catalog: &Catalog,
        tenant: &Tenant,
        memberships: &Memberships,
    ) -> (ServiceMemory, Outcome) {
        let recorded = ServiceMemory::recorded(tenant);
        let outcome = run(catalog, &recorded, tenant, memberships, Mode::Predict);
        (ServiceMemory::after(&outcome, tenant), outcome)
    }

    /// The memory the service holds after `outcome`, computed for `scenario`.
    pub fn after(outcome: &Outcome, scenario: &Tenant) -> ServiceMemory {
        let users = outcome
            .users
            .iter()
            .enumerate()
            .map(|(index, user)| entries(scenario, UserIdx(index as u32), user))
            .collect();
        ServiceMemory {
            users,
            groups: groups_of(scenario),
        }
    }

    /// What [`ServiceMemory::after`] holds for each of `users`, in their order (the part of the
    /// memory a step reads).
    pub(crate) fn entries_of(
        outcome: &Outcome,
        scenario: &Tenant,
        users: &[UserIdx],
    ) -> Vec<Vec<Processed>> {
        users
            .iter()
            .map(|&user| {
                outcome
                    .users
                    .get(user.0 as usize)
                    .map(|outcome| entries(scenario, user, outcome))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The object id of the group a memory source names.
    pub fn group_id(&self, group: GroupIdx) -> Option<&str> {
        self.groups.get(group.0 as usize).map(|group| &*group.id)
    }
}

/// For every group of a memory, the index of the group with the same object id in `scenario`
/// (`None` for a group the scenario no longer has).
pub(crate) fn groups_in(groups: &[MemoryGroup], scenario: &Tenant) -> Vec<Option<GroupIdx>> {
    let by_id: Map<&str, GroupIdx> = scenario
        .groups
        .iter()
        .enumerate()
        .map(|(index, group)| (&*group.id, GroupIdx(index as u32)))
        .collect();
    groups
        .iter()
        .map(|group| by_id.get(&*group.id).copied())
        .collect()
}

/// One user's memory after `outcome`: every assignment with the content it applied (or, in
/// `Error`, tried to apply).
fn entries(scenario: &Tenant, user: UserIdx, outcome: &super::UserOutcome) -> Vec<Processed> {
    outcome
        .assignments
        .iter()
        .map(|assignment| {
            let enabled = if assignment.is_effective() {
                assignment.enabled.clone()
            } else {
                attempted(scenario, user, assignment)
            };
            Processed {
                source: assignment.source,
                license: License {
                    product: assignment.product,
                    enabled,
                },
                state: assignment.state,
                error: assignment.error,
            }
        })
        .collect()
}

/// The content an assignment in `Error` tried to apply: the group's (or the direct) license of
/// that product in the scenario it was processed for.
fn attempted(
    scenario: &Tenant,
    user: UserIdx,
    assignment: &super::AssignmentOutcome,
) -> crate::catalog::PlanSet {
    let licenses: &[License] = match assignment.source {
        Source::Direct => &scenario.user_at(user).direct,
        Source::Group(group) => scenario
            .groups
            .get(group.0 as usize)
            .map_or(&[], |group| &group.licenses),
    };
    licenses
        .iter()
        .find(|license| license.product == assignment.product)
        .map(|license| license.enabled.clone())
        .unwrap_or_default()
}

/// The groups of a memory of `tenant`: each group's id and licenses, at the tenant's indexes.
pub(crate) fn groups_of(tenant: &Tenant) -> Vec<MemoryGroup> {
    tenant
        .groups
        .iter()
        .map(|group| MemoryGroup {
            id: group.id.clone(),
            licenses: group.licenses.clone(),
        })
        .collect()
}
