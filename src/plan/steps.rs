//! The plan as the service receives it: an ordered list of [`Step`]s, one service call each. This
//! one ordering function decides the order for the prediction and for both backends (the file
//! backend simulates these steps, the Graph backend sends them). The plan's operations become
//! steps in a petgraph graph whose edges mean "must happen before": a group's creation before
//! anything else on it, usage locations before any license is added, a license that provides a
//! prerequisite before the add-on that needs it, every addition before any removal, a product
//! removed before the prerequisite it needs is removed elsewhere, a group's removals before its
//! deletion. A change of a product's plans that only switches plans off is a removal; the
//! products one change removes go in one `assignLicense` (`removeLicenses` takes several
//! skuIds), so an add-on and its prerequisite leave together and the service never sees the
//! add-on without its prerequisite. A topological sort (Kahn's, taking the lowest [`Phase`]
//! first among the steps that are ready) gives the order: create groups → set usage locations →
//! removals run early ([`Phase::Releases`], when [`super::reorder`] found that they avoid a
//! refused call) → add licenses → migrations (one `assignLicense` with both arrays) → group
//! properties and members added → rules and rule processing → members removed → license removals →
//! group deletions.
//! Members are added before any is removed, so that a user who moves from one group to another
//! is in both between the two calls, never in neither.
//!
//! Plan names become Graph ids here: skuIds from the plan, disabled plan GUIDs from the catalog,
//! user ids from the tenant state. The group ids of created groups are only known while
//! applying; steps name groups by the index of their change. [`StepDoc`] is a step as the plan
//! document shows it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;

use crate::catalog::{Catalog, PlanSet};
use crate::diag::{Code, Diagnostic};
use crate::plan::document::{Change, LicenseRef, Op, StepDoc};
use crate::tenant::TenantState;

/// One product an `assignLicense` call adds: its skuId and the service plan ids switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseToAdd {
    /// The product's skuId (GUID).
    pub sku_id: String,
    /// Service plan ids (GUIDs) to switch off.
    pub disabled_plans: Vec<String>,
}

/// The stages of an apply, in the order they run when nothing forces otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Group creation, and turning a group into a security group (licenses need one).
    CreateGroups,
    /// Users' usage locations (a license cannot be assigned without one).
    UsageLocations,
    /// Removals run ahead of the additions: they free a seat a direct assignment needs, from a
    /// user who ends without it anyway ([`super::reorder`] decides which).
    Releases,
    /// Products added, and changes of the plans enabled in an assigned product.
    AddLicenses,
    /// Products replaced in one call.
    Migrations,
    /// Names, descriptions, a dynamic group turned static, and static members added.
    Membership,
    /// Membership rules and rule processing, after the static members are added: the service
    /// evaluates a rule in the background, maybe at once, and the members it drops must already
    /// have what replaces their licenses (the members it adds are in either way, before any
    /// removal).
    Rules,
    /// Static members removed (after every member is added: a user moving between two groups
    /// is never in neither).
    RemoveMembers,
    /// Products removed.
    RemoveLicenses,
    /// Groups deleted.
    DeleteGroups,
}

/// What a step does: one call to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Create a security group (with its description and rule, for a dynamic group).
    CreateGroup {
        /// Display name.
        display_name: String,
        /// Description.
        description: Option<String>,
        /// Security-enabled.
        security_enabled: bool,
        /// The dynamic membership rule.
        rule: Option<String>,
    },
    /// Change the group's description.
    SetDescription(Option<String>),
    /// Rename the group.
    SetDisplayName(String),
    /// Change the group's security flag.
    SetSecurityEnabled(bool),
    /// Set or remove the dynamic membership rule (removing it makes the group static).
    SetRule(Option<String>),
    /// `On` or `Paused`.
    SetRuleProcessing(String),
    /// Add a user to a static group.
    AddMember {
        /// The user's object id.
        user_id: String,
        /// The user's UPN (for reports).
        upn: String,
    },
    /// Remove a user from a static group.
    RemoveMember {
        /// The user's object id.
        user_id: String,
        /// The user's UPN (for reports).
        upn: String,
    },
    /// Add a group to a static group (`members/$ref` of a group; its own members receive no
    /// license through it).
    AddGroupMember {
        /// The member group.
        member: MemberGroup,
        /// Its display name (for reports).
        name: String,
    },
    /// Remove a group from a static group.
    RemoveGroupMember {
        /// The member group's object id.
        group_id: String,
        /// Its display name (for reports).
        name: String,
    },
    /// Set a user's usage location.
    SetUsageLocation(String),
    /// One `assignLicense` call: products added (or re-added with other disabled plans) and
    /// skuIds removed.
    AssignLicenses {
        /// Products added.
        add: Vec<LicenseToAdd>,
        /// skuIds removed.
        remove: Vec<String>,
        /// The names (skuPartNumber) of the products added, for people.
        add_skus: Vec<String>,
        /// The names of the products removed.
        remove_skus: Vec<String>,
    },
    /// Delete the group.
    DeleteGroup,
}

/// A group added as a member: one the tenant has, or one the same apply creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberGroup {
    /// An existing group, by object id.
    Id(String),
    /// The group created by the plan change at this index (its id is returned by its creation).
    Created(usize),
}

/// What a step acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The group of change `change` (its id is in the plan, or returned by its creation).
    Group,
    /// The user of change `change`, by object id.
    User(String),
}

/// One call of an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The index of the plan change the step belongs to.
    pub change: usize,
    /// What it acts on.
    pub target: Target,
    /// What it does.
    pub action: Action,
    /// Its stage.
    pub phase: Phase,
}

impl Step {
    /// A short description for reports (`add license SPE_E5`).
    pub fn describe(&self) -> String {
        match &self.action {
            Action::CreateGroup { display_name, .. } => format!("create group {display_name}"),
            Action::SetDescription(_) => "set description".to_string(),
            Action::SetDisplayName(name) => format!("rename to {name:?}"),
            Action::SetSecurityEnabled(on) => format!("set securityEnabled {on}"),
            Action::SetRule(Some(_)) => "set membership rule".to_string(),
            Action::SetRule(None) => "remove membership rule".to_string(),
            Action::SetRuleProcessing(state) => format!("set rule processing {state}"),
            Action::AddMember { upn, .. } => format!("add member {upn}"),
            Action::RemoveMember { upn, .. } => format!("remove member {upn}"),
            Action::AddGroupMember { name, .. } => format!("add member group {name}"),
            Action::RemoveGroupMember { name, .. } => format!("remove member group {name}"),
            Action::SetUsageLocation(location) => format!("set usage location {location}"),
            Action::AssignLicenses {
                add_skus,
                remove_skus,
                ..
            } => {
                let label: Vec<String> = add_skus
                    .iter()
                    .map(|sku| format!("+{sku}"))
                    .chain(remove_skus.iter().map(|sku| format!("-{sku}")))
                    .collect();
                format!("assignLicense {}", label.join(" "))
            }
            Action::DeleteGroup => "delete group".to_string(),
        }
    }

    /// True when the step adds the group created by change `created` as a member.
    fn action_adds_created(&self, created: usize) -> bool {
        matches!(&self.action, Action::AddGroupMember { member: MemberGroup::Created(change), .. } if *change == created)
    }

    fn grants(&self) -> bool {
        matches!(self.phase, Phase::AddLicenses | Phase::Migrations)
    }
}

impl Step {
    /// The step as the plan document shows it; `changes` are the plan's changes it indexes.
    pub fn document(&self, changes: &[Change]) -> StepDoc {
        use serde_json::{json, Map, Value};
        let target = changes
            .get(self.change)
            .map_or_else(String::new, |change| change.address.clone());
        let set = |pairs: Vec<(&str, Value)>| -> Option<Map<String, Value>> {
            Some(
                pairs
                    .into_iter()
                    .map(|(key, value)| (key.to_string(), value))
                    .collect(),
            )
        };
        let mut doc = StepDoc {
            call: String::new(),
            target,
            add: Vec::new(),
            remove: Vec::new(),
            member: None,
            member_group: None,
            set: None,
        };
        match &self.action {
            Action::CreateGroup {
                display_name,
                description,
                security_enabled,
                rule,
            } => {
                doc.call = "createGroup".into();
                let mut pairs = vec![
                    ("displayName", json!(display_name)),
                    ("securityEnabled", json!(security_enabled)),
                ];
                if let Some(description) = description {
                    pairs.push(("description", json!(description)));
                }
                if let Some(rule) = rule {
                    pairs.push(("membershipRule", json!(rule)));
                }
                doc.set = set(pairs);
            }
            Action::SetDescription(description) => {
                doc.call = "updateGroup".into();
                doc.set = set(vec![("description", json!(description))]);
            }
            Action::SetDisplayName(name) => {
                doc.call = "updateGroup".into();
                doc.set = set(vec![("displayName", json!(name))]);
            }
            Action::SetSecurityEnabled(on) => {
                doc.call = "updateGroup".into();
                doc.set = set(vec![("securityEnabled", json!(on))]);
            }
            Action::SetRule(rule) => {
                doc.call = "updateGroup".into();
                doc.set = set(vec![("membershipRule", json!(rule))]);
            }
            Action::SetRuleProcessing(state) => {
                doc.call = "updateGroup".into();
                doc.set = set(vec![("membershipRuleProcessingState", json!(state))]);
            }
            Action::AddMember { upn, .. } => {
                doc.call = "addMember".into();
                doc.member = Some(upn.clone());
            }
            Action::RemoveMember { upn, .. } => {
                doc.call = "removeMember".into();
                doc.member = Some(upn.clone());
            }
            Action::AddGroupMember { name, .. } => {
                doc.call = "addMember".into();
                doc.member_group = Some(name.clone());
            }
            Action::RemoveGroupMember { name, .. } => {
                doc.call = "removeMember".into();
                doc.member_group = Some(name.clone());
            }
            Action::SetUsageLocation(location) => {
                doc.call = "updateUser".into();
                doc.set = set(vec![("usageLocation", json!(location))]);
            }
            Action::AssignLicenses {
                add_skus,
                remove_skus,
                ..
            } => {
                doc.call = "assignLicense".into();
                doc.add = add_skus.clone();
                doc.remove = remove_skus.clone();
            }
            Action::DeleteGroup => doc.call = "deleteGroup".into(),
        }
        doc
    }
}

/// A reprocess of the user `upn` (`POST /users/{id}/reprocessLicenseAssignment`), as the plan
/// document shows it.
pub fn reprocess_document(upn: &str) -> StepDoc {
    StepDoc {
        call: "reprocessLicenseAssignment".into(),
        target: crate::plan::diff::user_address(upn),
        add: Vec::new(),
        remove: Vec::new(),
        member: None,
        member_group: None,
        set: None,
    }
}

/// A step with the plans it grants and the prerequisites they need (for prerequisite edges), and
/// the plans of the products it removes with the prerequisites those need (for removal edges),
/// while the graph is built.
struct Pending {
    step: Step,
    grants: PlanSet,
    needs: Vec<Vec<crate::catalog::PlanId>>,
    removes: PlanSet,
    removed_needs: Vec<Vec<crate::catalog::PlanId>>,
}

/// A removal step that runs ahead of the additions ([`Phase::Releases`]): the step of change
/// `change` with this action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Early {
    /// The index of the plan change the step belongs to.
    pub change: usize,
    /// The step's action (a member removed, or a user's direct product removed).
    pub action: Action,
}

/// The steps of `changes` in the order to apply them, with the removals `early` names run
/// ahead of the additions. Fails, before anything is applied, when a name cannot be turned into
/// an id (a member or a service plan the catalog or state lacks) or the dependencies form a
/// cycle.
pub fn steps(
    catalog: &Catalog,
    state: &TenantState,
    changes: &[Change],
    early: &[Early],
) -> Result<Vec<Step>, Diagnostic> {
    let mut pending = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        let user = change.address.starts_with("user[");
        let target = if user {
            Target::User(change.id.clone().ok_or_else(|| missing_id(change))?)
        } else {
            Target::Group
        };
        let mut push = |action: Action, phase: Phase, grants: PlanSet, needs| {
            let phase = if early
                .iter()
                .any(|step| step.change == index && step.action == action)
            {
                Phase::Releases
            } else {
                phase
            };
            pending.push(Pending {
                step: Step {
                    change: index,
                    target: target.clone(),
                    action,
                    phase,
                },
                grants,
                needs,
                removes: PlanSet::new(),
                removed_needs: Vec::new(),
            });
        };
        let created = change.ops.iter().find_map(|op| match op {
            Op::CreateGroup {
                display_name,
                security_enabled,
            } => Some((display_name.clone(), *security_enabled)),
            _ => None,
        });
        let is_created = created.is_some();
        if let Some((display_name, security_enabled)) = created {
            let description = change.ops.iter().find_map(|op| match op {
                Op::SetDescription { after, .. } => after.clone(),
                _ => None,
            });
            let rule = change.ops.iter().find_map(|op| match op {
                Op::SetRule { after, .. } => after.clone(),
                _ => None,
            });
            push(
                Action::CreateGroup {
                    display_name,
                    description,
                    security_enabled,
                    rule,
                },
                Phase::CreateGroups,
                PlanSet::new(),
                Vec::new(),
            );
        }
        let mut removed: Vec<(String, String)> = Vec::new();
        let mut deleted = false;
        for op in &change.ops {
            match op {
                Op::CreateGroup { .. } => {}
                Op::SetDisplayName { after, .. } => push(
                    Action::SetDisplayName(after.clone()),
                    Phase::Membership,
                    PlanSet::new(),
                    Vec::new(),
                ),
                Op::SetDescription { after, .. } => {
                    if !is_created {
                        push(
                            Action::SetDescription(after.clone()),
                            Phase::Membership,
                            PlanSet::new(),
                            Vec::new(),
                        );
                    }
                }
                Op::SetRule { after, .. } => {
                    if !is_created {
                        // Without a rule the group is static: its members' calls follow.
                        push(
                            Action::SetRule(after.clone()),
                            if after.is_some() {
                                Phase::Rules
                            } else {
                                Phase::Membership
                            },
                            PlanSet::new(),
                            Vec::new(),
                        );
                    }
                }
                Op::SetSecurityEnabled { after, .. } => push(
                    Action::SetSecurityEnabled(*after),
                    Phase::CreateGroups,
                    PlanSet::new(),
                    Vec::new(),
                ),
                Op::SetRuleProcessing { after, .. } => push(
                    Action::SetRuleProcessing(processing_state(after)),
                    Phase::Rules,
                    PlanSet::new(),
                    Vec::new(),
                ),
                Op::AddMembers { users, groups } | Op::RemoveMembers { users, groups } => {
                    for upn in users {
                        let user_id = user_id(state, upn).ok_or_else(|| {
                            Diagnostic::new(
                                Code::GraphRequest,
                                format!(
                                    "`{}`: member `{upn}` is not in the tenant state",
                                    change.address
                                ),
                            )
                            .with_help("plan again: the tenant changed since the plan was made")
                        })?;
                        let upn = upn.clone();
                        let (action, phase) = if matches!(op, Op::AddMembers { .. }) {
                            (Action::AddMember { user_id, upn }, Phase::Membership)
                        } else {
                            (Action::RemoveMember { user_id, upn }, Phase::RemoveMembers)
                        };
                        push(action, phase, PlanSet::new(), Vec::new());
                    }
                    let adding = matches!(op, Op::AddMembers { .. });
                    for group in groups {
                        let name = group.name.clone();
                        let action = match (&group.id, adding) {
                            (Some(id), true) => Action::AddGroupMember {
                                member: MemberGroup::Id(id.clone()),
                                name,
                            },
                            (None, true) => Action::AddGroupMember {
                                member: MemberGroup::Created(
                                    created_change(changes, &group.name)
                                        .ok_or_else(|| unknown_member_group(change, &group.name))?,
                                ),
                                name,
                            },
                            (Some(id), false) => Action::RemoveGroupMember {
                                group_id: id.clone(),
                                name,
                            },
                            (None, false) => return Err(unknown_member_group(change, &group.name)),
                        };
                        let phase = if adding {
                            Phase::Membership
                        } else {
                            Phase::RemoveMembers
                        };
                        push(action, phase, PlanSet::new(), Vec::new());
                    }
                }
                Op::SetUsageLocation { after, .. } => push(
                    Action::SetUsageLocation(after.clone()),
                    Phase::UsageLocations,
                    PlanSet::new(),
                    Vec::new(),
                ),
                Op::AddLicense { license } | Op::UpdateLicensePlans { license, .. } => {
                    let (add, grants) = license_to_add(catalog, license)?;
                    let needs = catalog
                        .unmet_prerequisites(&grants)
                        .into_iter()
                        .map(|(_, any_of)| any_of)
                        .collect();
                    // An update that only switches plans off takes service away: it runs with
                    // the removals, after every step that could give those plans back.
                    let narrowing =
                        matches!(op, Op::UpdateLicensePlans { enable, .. } if enable.is_empty());
                    let (phase, grants) = if narrowing {
                        (Phase::RemoveLicenses, PlanSet::new())
                    } else {
                        (Phase::AddLicenses, grants)
                    };
                    push(
                        Action::AssignLicenses {
                            add: vec![add],
                            remove: Vec::new(),
                            add_skus: vec![license.sku.clone()],
                            remove_skus: Vec::new(),
                        },
                        phase,
                        grants,
                        needs,
                    );
                }
                Op::Migrate { remove, add } => {
                    let mut added = Vec::new();
                    let mut grants = PlanSet::new();
                    for license in add {
                        let (license, plans) = license_to_add(catalog, license)?;
                        added.push(license);
                        grants.union_with(&plans);
                    }
                    push(
                        Action::AssignLicenses {
                            add: added,
                            remove: remove
                                .iter()
                                .map(|license| license.sku_id.clone())
                                .collect(),
                            add_skus: add.iter().map(|license| license.sku.clone()).collect(),
                            remove_skus: remove.iter().map(|license| license.sku.clone()).collect(),
                        },
                        Phase::Migrations,
                        grants,
                        Vec::new(),
                    );
                }
                Op::RemoveLicense { sku, sku_id } => removed.push((sku.clone(), sku_id.clone())),
                Op::DeleteGroup => deleted = true,
            }
        }
        if deleted {
            push(
                Action::DeleteGroup,
                Phase::DeleteGroups,
                PlanSet::new(),
                Vec::new(),
            );
        }
        // Every product the change removes, in one call: an add-on removed in a call of its
        // own after its prerequisite would be refused (seed 000, "Missing dependent service
        // plans"; seed 001, "Other products depend on this license").
        if !removed.is_empty() {
            let mut removes = PlanSet::new();
            for (sku, sku_id) in &removed {
                if let Ok(product) = catalog
                    .resolve_product(sku_id)
                    .or_else(|_| catalog.resolve_product(sku))
                {
                    removes.union_with(&catalog.plans_of(product));
                }
            }
            let removed_needs = catalog
                .unmet_prerequisites(&removes)
                .into_iter()
                .map(|(_, any_of)| any_of)
                .collect();
            push(
                Action::AssignLicenses {
                    add: Vec::new(),
                    remove: removed.iter().map(|(_, sku_id)| sku_id.clone()).collect(),
                    add_skus: Vec::new(),
                    remove_skus: removed.into_iter().map(|(sku, _)| sku).collect(),
                },
                Phase::RemoveLicenses,
                PlanSet::new(),
                Vec::new(),
            );
            if let Some(last) = pending.last_mut() {
                last.removes = removes;
                last.removed_needs = removed_needs;
            }
        }
    }
    order(pending)
}

/// Builds the dependency graph of `pending` and sorts it.
fn order(pending: Vec<Pending>) -> Result<Vec<Step>, Diagnostic> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..pending.len()).map(|i| graph.add_node(i)).collect();
    for (a, first) in pending.iter().enumerate() {
        for (b, then) in pending.iter().enumerate() {
            if a != b && must_precede(first, then) {
                graph.add_edge(nodes[a], nodes[b], ());
            }
        }
    }
    // Kahn's algorithm; among the ready steps the lowest (phase, plan position) goes first.
    let mut waiting: Vec<usize> = nodes
        .iter()
        .map(|&node| graph.neighbors_directed(node, Direction::Incoming).count())
        .collect();
    let mut ready: BinaryHeap<Reverse<(Phase, usize)>> = waiting
        .iter()
        .enumerate()
        .filter(|(_, count)| **count == 0)
        .map(|(index, _)| Reverse((pending[index].step.phase, index)))
        .collect();
    let mut sorted = Vec::with_capacity(pending.len());
    while let Some(Reverse((_, index))) = ready.pop() {
        sorted.push(index);
        for next in graph.neighbors_directed(nodes[index], Direction::Outgoing) {
            let next = graph[next];
            waiting[next] -= 1;
            if waiting[next] == 0 {
                ready.push(Reverse((pending[next].step.phase, next)));
            }
        }
    }
    if sorted.len() != pending.len() {
        return Err(Diagnostic::new(
            Code::GraphRequest,
            "the plan's changes depend on each other in a cycle (products that are each other's prerequisite)",
        )
        .with_help("assign such products in one group through one `licenses` entry each, or report the catalog relation"));
    }
    let mut steps: Vec<Option<Step>> = pending.into_iter().map(|p| Some(p.step)).collect();
    Ok(sorted
        .into_iter()
        .filter_map(|index| steps[index].take())
        .collect())
}

/// True when `first` must be applied before `then`.
/// Whether `a` removes a product that `b` adds (both `assignLicense` steps).
fn frees_for(a: &Step, b: &Step) -> bool {
    match (&a.action, &b.action) {
        (Action::AssignLicenses { remove_skus, .. }, Action::AssignLicenses { add_skus, .. }) => {
            remove_skus.iter().any(|sku| add_skus.contains(sku))
        }
        _ => false,
    }
}

fn must_precede(first: &Pending, then: &Pending) -> bool {
    let (a, b) = (&first.step, &then.step);
    let same = a.change == b.change && a.target == b.target;
    // A group is created before anything else is done to it, and before it joins a group.
    if same && matches!(a.action, Action::CreateGroup { .. }) {
        return true;
    }
    if matches!(a.action, Action::CreateGroup { .. }) && b.action_adds_created(a.change) {
        return true;
    }
    // A dynamic group turned static takes static members only after the call that turns it.
    if same
        && a.action == Action::SetRule(None)
        && matches!(
            b.action,
            Action::AddMember { .. }
                | Action::RemoveMember { .. }
                | Action::AddGroupMember { .. }
                | Action::RemoveGroupMember { .. }
        )
    {
        return true;
    }
    // Only security groups hold licenses.
    if same && matches!(a.action, Action::SetSecurityEnabled(true)) && b.grants() {
        return true;
    }
    // A license needs the user's usage location (a group's members may be any user).
    if a.phase == Phase::UsageLocations && b.grants() {
        return match &b.target {
            Target::Group => true,
            Target::User(_) => a.target == b.target,
        };
    }
    // A license providing an add-on's prerequisite goes first, on the same group or user.
    if same
        && a.grants()
        && b.phase == Phase::AddLicenses
        && then
            .needs
            .iter()
            .any(|any_of| first.grants.contains_any(any_of))
    {
        return true;
    }
    // A migration that frees seats of a product goes before one that takes them (seed 002: "If
    // you don't have enough licenses, some users might not be assigned the new license plan"),
    // unless each frees the other's.
    if a.phase == Phase::Migrations
        && b.phase == Phase::Migrations
        && a.change != b.change
        && frees_for(a, b)
        && !frees_for(b, a)
    {
        return true;
    }
    // Nobody loses a product before the additions are in.
    if a.grants() && b.phase == Phase::RemoveLicenses {
        return true;
    }
    // A product is removed before a prerequisite it needs is removed by another step (a
    // group's and a user's, or two groups'): the other way round the service refuses the
    // prerequisite's removal (seed 000, "Missing dependent service plans"). Not when each needs
    // the other's (no order helps, and the sort must not meet a cycle).
    if removed_before(first, then) && !removed_before(then, first) {
        return true;
    }
    // A group's licenses are removed before it is deleted.
    same && a.phase == Phase::RemoveLicenses && b.action == Action::DeleteGroup
}

/// Whether `first` removes products that need a plan only `then`'s removed products provide.
fn removed_before(first: &Pending, then: &Pending) -> bool {
    !then.removes.is_empty()
        && first
            .removed_needs
            .iter()
            .any(|any_of| then.removes.contains_any(any_of))
}

/// A plan's license as `assignLicense` takes it, and the service plans it enables.
fn license_to_add(
    catalog: &Catalog,
    license: &LicenseRef,
) -> Result<(LicenseToAdd, PlanSet), Diagnostic> {
    let product = catalog
        .resolve_product(&license.sku_id)
        .or_else(|_| catalog.resolve_product(&license.sku))
        .map_err(|_| unknown(&license.sku, None))?;
    let mut disabled_ids = Vec::new();
    let mut disabled = PlanSet::new();
    for name in &license.disabled_plans {
        let plan = catalog
            .plan_in_product(product, name)
            .or_else(|| catalog.resolve_plan(name).ok())
            .ok_or_else(|| unknown(&license.sku, Some(name)))?;
        disabled.insert(plan);
        disabled_ids.push(catalog.plan(plan).id.clone());
    }
    Ok((
        LicenseToAdd {
            sku_id: license.sku_id.clone(),
            disabled_plans: disabled_ids,
        },
        catalog.plans_of(product).difference(&disabled),
    ))
}

fn unknown(sku: &str, plan: Option<&str>) -> Diagnostic {
    let what = match plan {
        Some(plan) => format!("service plan `{plan}` of `{sku}`"),
        None => format!("product `{sku}`"),
    };
    Diagnostic::new(
        Code::GraphRequest,
        format!("the catalog has no id for {what}, so it cannot be sent to Graph"),
    )
    .with_help("add it under `catalog:` in the config with its GUID, then plan again")
}

/// The index of the change that creates the group named `name`.
fn created_change(changes: &[Change], name: &str) -> Option<usize> {
    changes.iter().position(|change| {
        change
            .ops
            .iter()
            .any(|op| matches!(op, Op::CreateGroup { display_name, .. } if display_name == name))
    })
}

fn unknown_member_group(change: &Change, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::GraphRequest,
        format!(
            "`{}`: member group `{name}` has no object id and the plan does not create it",
            change.address
        ),
    )
    .with_help("plan again: the tenant changed since the plan was made")
}

fn missing_id(change: &Change) -> Diagnostic {
    Diagnostic::new(
        Code::GraphRequest,
        format!("`{}` has no object id in the plan", change.address),
    )
    .with_help("plan again against the tenant")
}

/// The object id of the user `upn` (or the id itself) in `state`.
pub fn user_id(state: &TenantState, upn: &str) -> Option<String> {
    state
        .users
        .iter()
        .find(|user| user.upn.eq_ignore_ascii_case(upn) || user.id.eq_ignore_ascii_case(upn))
        .map(|user| user.id.clone())
}

/// `on` → `On`, `paused` → `Paused` (Graph's spelling).
fn processing_state(name: &str) -> String {
    match name {
        "paused" => "Paused".to_string(),
        _ => "On".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::document::Action as ChangeAction;

    fn license(catalog: &Catalog, sku: &str) -> LicenseRef {
        let product = catalog.resolve_product(sku).unwrap();
        crate::plan::diff::license_ref(catalog, product, &catalog.plans_of(product))
    }

    #[test]
    fn prerequisites_come_before_add_ons_and_removals_come_last() {
        let catalog = Catalog::builtin();
        let state = TenantState::default();
        let changes = vec![
            Change {
                address: "group[\"A\"]".into(),
                action: ChangeAction::Update,
                id: Some("a".into()),
                ops: vec![Op::RemoveLicense {
                    sku: "EMS".into(),
                    sku_id: "efccb6f7-5641-4e0e-bd10-b4976e1bf68e".into(),
                }],
            },
            Change {
                address: "group[\"B\"]".into(),
                action: ChangeAction::Update,
                id: Some("b".into()),
                ops: vec![
                    Op::AddLicense {
                        license: license(catalog, "MCOMEETADV"),
                    },
                    Op::AddLicense {
                        license: license(catalog, "SPE_E3"),
                    },
                ],
            },
        ];
        let order: Vec<String> = steps(catalog, &state, &changes, &[])
            .unwrap()
            .iter()
            .map(|step| format!("{} {}", step.change, step.describe()))
            .collect();
        assert_eq!(
            order,
            [
                "1 assignLicense +SPE_E3",
                "1 assignLicense +MCOMEETADV",
                "0 assignLicense -EMS"
            ]
        );
    }

    #[test]
    fn member_groups_join_by_id_and_a_created_group_joins_after_its_creation() {
        use crate::plan::document::MemberGroupRef;
        let changes = vec![
            Change {
                address: "group[\"Parent\"]".into(),
                action: ChangeAction::Update,
                id: Some("parent-id".into()),
                ops: vec![
                    Op::AddMembers {
                        users: Vec::new(),
                        groups: vec![
                            MemberGroupRef {
                                name: "Existing".into(),
                                id: Some("existing-id".into()),
                            },
                            MemberGroupRef {
                                name: "New".into(),
                                id: None,
                            },
                        ],
                    },
                    Op::RemoveMembers {
                        users: Vec::new(),
                        groups: vec![MemberGroupRef {
                            name: "Old".into(),
                            id: Some("old-id".into()),
                        }],
                    },
                ],
            },
            Change {
                address: "group[\"New\"]".into(),
                action: ChangeAction::Create,
                id: None,
                ops: vec![Op::CreateGroup {
                    display_name: "New".into(),
                    security_enabled: true,
                }],
            },
        ];
        let steps = steps(Catalog::builtin(), &TenantState::default(), &changes, &[]).unwrap();
        let order: Vec<String> = steps
            .iter()
            .map(|step| format!("{} {}", step.change, step.describe()))
            .collect();
        assert_eq!(
            order,
            [
                "1 create group New",
                "0 add member group Existing",
                "0 add member group New",
                "0 remove member group Old"
            ]
        );
        assert_eq!(
            steps[1].action,
            Action::AddGroupMember {
                member: MemberGroup::Id("existing-id".into()),
                name: "Existing".into()
            }
        );
        assert_eq!(
            steps[2].action,
            Action::AddGroupMember {
                member: MemberGroup::Created(1),
                name: "New".into()
            }
        );
        // A member group without an id that the plan does not create cannot be sent.
        let mut orphan = changes[..1].to_vec();
        orphan[0].ops.truncate(1);
        let error = steps_error(&orphan);
        assert!(error.contains("member group `New`"), "{error}");
    }

    fn steps_error(changes: &[Change]) -> String {
        steps(Catalog::builtin(), &TenantState::default(), changes, &[])
            .unwrap_err()
            .message
    }

    #[test]
    fn an_unknown_member_fails_before_anything_is_applied() {
        let changes = vec![Change {
            address: "group[\"A\"]".into(),
            action: ChangeAction::Update,
            id: Some("a".into()),
            ops: vec![Op::AddMembers {
                users: vec!["nobody@contoso.com".into()],
                groups: Vec::new(),
            }],
        }];
        let error = steps(Catalog::builtin(), &TenantState::default(), &changes, &[]).unwrap_err();
        assert!(
            error.message.contains("nobody@contoso.com"),
            "{}",
            error.message
        );
    }
}
