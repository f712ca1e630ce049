//! Snapshots kept current by Graph's delta queries: [`GraphClient::read_snapshot`] reads the
//! whole tenant with the delta links of `/users/delta` and `/groups/delta` (members included)
//! taken just before, and [`GraphClient::refresh_snapshot`] brings such a snapshot up to date by
//! reading only what changed since.
//!
//! Delta does not track everything the plan depends on: `/users/delta` does not report changes
//! of `licenseAssignmentStates` (the licensing service's processing), so the refresh reads the
//! whole user object again for every user whose license states may have moved:
//! - users `/users/delta` reports (created, or a tracked property changed);
//! - users who joined or left a group (`members@delta`), and every member of a group whose
//!   properties (its licenses among them) changed;
//! - the `membersWithLicenseErrors` of every group Graph lists with `hasMembersWithLicenseErrors`
//!   (errors now), and users with an assignment in error in the snapshot who are not among them
//!   (their error cleared);
//! - users whose recorded states do not match their memberships (processing had not finished
//!   when the snapshot was taken, or a group was deleted).
//!
//! Organization, subscriptions and the list of groups are small and read in full each time.
//! When the subscriptions' products or service plans changed (which renames licenses of every
//! user), when the snapshot has no delta links, or when Graph refuses a link (expired after
//! seven days: `400 syncStateNotFound`, or `410 Gone` when it wants a new synchronisation), the
//! refresh reads the whole tenant instead and says why. The tenant it returns is the one a full
//! read would return, object for object.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Value};

use super::client::GraphClient;
use super::error::GraphError;
use super::read::path_segment;
use crate::diag::Diagnostics;
use crate::tenant::graph_import::{
    group_select, map_export, organization_select, sku_select, user_select, GraphExport, GraphPage,
};
use crate::tenant::model::{AssignmentState, DeltaLinks};
use crate::tenant::TenantState;

/// The most ids in one `$filter=id in (…)`: Graph allows 15 values in an `in` expression.
const IDS_PER_FILTER: usize = 15;

/// A refreshed snapshot and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    /// The tenant now, with new delta links.
    pub state: TenantState,
    /// Why the whole tenant was read instead of the changes (`None`: only changes were read).
    pub full_read: Option<String>,
    /// Users whose objects were read again.
    pub users_read: usize,
}

/// The `$select` of `/users/delta`: the user properties the plan uses but license states, which
/// delta does not track.
fn user_delta_select() -> String {
    user_select()
        .split(',')
        .filter(|field| *field != "licenseAssignmentStates")
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `error` is Graph refusing a delta link (expired, or a new synchronisation wanted).
fn refused_link(error: &GraphError) -> bool {
    let code = error.code.as_deref().unwrap_or_default();
    error.request.contains("/delta")
        && (error.status == Some(410)
            || code.eq_ignore_ascii_case("syncStateNotFound")
            || code.eq_ignore_ascii_case("syncStateInvalid")
            || code.eq_ignore_ascii_case("resyncRequired"))
}

/// The objects of a collection's pages.
fn objects(pages: &[GraphPage]) -> impl Iterator<Item = &Value> {
    pages
        .iter()
        .filter_map(|page| page.body.get("value").and_then(Value::as_array))
        .flatten()
}

/// The `@odata.deltaLink` of a delta round's last page.
fn delta_link(pages: &[GraphPage]) -> Option<String> {
    pages
        .last()
        .and_then(|page| page.body.get("@odata.deltaLink"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// What the users' license names depend on: each subscription's product, id and plans.
fn products(state: &TenantState) -> Vec<Value> {
    state
        .subscriptions
        .iter()
        .map(|sub| json!([sub.sku, sub.id, sub.plans]))
        .collect()
}

fn id_of(object: &Value) -> Option<&str> {
    object.get("id").and_then(Value::as_str)
}

impl GraphClient {
    /// Reads delta links that start now (`$deltatoken=latest`: no objects, only the link).
    fn latest_delta_links(&self) -> Result<DeltaLinks, GraphError> {
        let pages = self.get_many(&[
            format!(
                "/users/delta?$select={}&$deltatoken=latest",
                user_delta_select()
            ),
            format!(
                "/groups/delta?$select={},members&$deltatoken=latest",
                group_select()
            ),
        ])?;
        let link = |index: usize, what: &str| {
            delta_link(&pages[index]).ok_or_else(|| {
                GraphError::new(
                    super::error::GraphErrorKind::InvalidResponse,
                    format!("GET /{what}/delta"),
                    "the answer has no `@odata.deltaLink`",
                )
            })
        };
        Ok(DeltaLinks {
            users: link(0, "users")?,
            groups: link(1, "groups")?,
        })
    }

    /// Reads the whole tenant (every group's members) with delta links taken just before, so
    /// that nothing changed during the read is missed by the next refresh.
    pub fn read_snapshot(&self) -> Result<TenantState, Diagnostics> {
        let (export, links) = self
            .read_snapshot_export()
            .map_err(|error| Diagnostics::from(error.to_diagnostic()))?;
        let mut state = map_export(&export)?;
        state.delta = Some(links);
        Ok(state)
    }

    /// The responses of [`GraphClient::read_snapshot`] before they are mapped, and the delta
    /// links taken just before them.
    pub fn read_snapshot_export(&self) -> Result<(GraphExport, DeltaLinks), GraphError> {
        self.token()?;
        let links = self.latest_delta_links()?;
        Ok((self.read_complete_export()?, links))
    }

    /// Brings `snapshot` (a state with delta links) up to date; see the module documentation
    /// for what is read. Falls back to [`GraphClient::read_snapshot`] and says why when the
    /// changes alone cannot give the tenant.
    pub fn refresh_snapshot(&self, snapshot: &TenantState) -> Result<Refreshed, Diagnostics> {
        let full = |reason: String| -> Result<Refreshed, Diagnostics> {
            let state = self.read_snapshot()?;
            let users_read = state.users.len();
            Ok(Refreshed {
                state,
                full_read: Some(reason),
                users_read,
            })
        };
        let Some(links) = &snapshot.delta else {
            return full("the snapshot has no delta links".to_string());
        };
        match self.read_changes(snapshot, links) {
            Ok(Ok(refreshed)) => Ok(refreshed),
            Ok(Err(reason)) => full(reason),
            Err(error) if refused_link(&error) => full(format!(
                "Graph refused the delta link ({}{}): it expires seven days after it was issued",
                error
                    .status
                    .map_or_else(String::new, |status| format!("{status} ")),
                error.code.as_deref().unwrap_or("no code")
            )),
            Err(error) => Err(Diagnostics::from(error.to_diagnostic())),
        }
    }

    /// The changes since `links` applied to `snapshot`; `Ok(Err(reason))` when a full read is
    /// needed instead.
    fn read_changes(
        &self,
        snapshot: &TenantState,
        links: &DeltaLinks,
    ) -> Result<Result<Refreshed, String>, GraphError> {
        self.token()?;
        // One round: both delta links, and the small collections read whole.
        let first = self.get_many(&[
            self.relative_link("/users/delta", &links.users)?
                .to_string(),
            self.relative_link("/groups/delta", &links.groups)?
                .to_string(),
            format!("/organization?$select={}", organization_select()),
            format!("/subscribedSkus?$select={}", sku_select()),
            format!("/groups?$select={}&$top=999", group_select()),
            "/groups?$filter=hasMembersWithLicenseErrors%20eq%20true&$select=id&$top=999"
                .to_string(),
        ])?;
        let [users_delta, groups_delta, organization, subscribed_skus, groups, erring] =
            <[Vec<GraphPage>; 6]>::try_from(first).unwrap_or_default();
        let (Some(users_link), Some(groups_link)) =
            (delta_link(&users_delta), delta_link(&groups_delta))
        else {
            return Ok(Err("Graph's delta answer has no new delta link".to_string()));
        };

        // What delta reports.
        let mut removed_users = BTreeSet::new();
        let mut reread: BTreeSet<String> = BTreeSet::new();
        for user in objects(&users_delta) {
            let Some(id) = id_of(user) else { continue };
            if user.get("@removed").is_some() {
                removed_users.insert(id.to_ascii_lowercase());
            } else {
                reread.insert(id.to_ascii_lowercase());
            }
        }
        // Old members by group: (is a group, id), users by UPN.
        let old_groups: BTreeSet<String> = snapshot
            .groups
            .iter()
            .map(|group| group.id.to_ascii_lowercase())
            .collect();
        let upn_to_id: HashMap<String, &str> = snapshot
            .users
            .iter()
            .map(|user| (user.upn.to_lowercase(), user.id.as_str()))
            .collect();
        let mut members: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for group in &snapshot.groups {
            let list = members.entry(group.id.to_ascii_lowercase()).or_default();
            for name in &group.members {
                let key = name.to_ascii_lowercase();
                if old_groups.contains(&key) {
                    list.insert(key, true);
                } else if let Some(id) = upn_to_id.get(&name.to_lowercase()) {
                    list.insert(id.to_ascii_lowercase(), false);
                }
            }
        }
        for group in objects(&groups_delta) {
            let Some(id) = id_of(group) else { continue };
            let id = id.to_ascii_lowercase();
            let list = members.entry(id.clone()).or_default();
            let changed = group.as_object().is_some_and(|object| {
                object
                    .keys()
                    .any(|key| !matches!(key.as_str(), "id" | "members@delta" | "@odata.type"))
            });
            if changed {
                // Its licenses may have changed: every member's states with them.
                reread.extend(
                    list.iter()
                        .filter(|(_, is_group)| !**is_group)
                        .map(|(id, _)| id.clone()),
                );
            }
            let delta = group
                .get("members@delta")
                .and_then(Value::as_array)
                .into_iter()
                .flatten();
            for member in delta {
                let Some(member_id) = id_of(member) else {
                    continue;
                };
                let member_id = member_id.to_ascii_lowercase();
                let kind = member.get("@odata.type").and_then(Value::as_str);
                if member.get("@removed").is_some() {
                    if list.remove(&member_id) == Some(false) {
                        reread.insert(member_id);
                    }
                } else {
                    match kind {
                        Some("#microsoft.graph.group") => {
                            list.insert(member_id, true);
                        }
                        Some("#microsoft.graph.user") => {
                            list.insert(member_id.clone(), false);
                            reread.insert(member_id);
                        }
                        // Devices, contacts and service principals never receive licenses.
                        _ => {}
                    }
                }
            }
        }
        // Assignments in error may have cleared; states that do not match the memberships were
        // still being processed.
        let current_groups: BTreeMap<String, &Value> = objects(&groups)
            .filter_map(|group| Some((id_of(group)?.to_ascii_lowercase(), group)))
            .collect();
        let licensed: BTreeSet<&String> = current_groups
            .iter()
            .filter(|(_, group)| {
                group
                    .get("assignedLicenses")
                    .and_then(Value::as_array)
                    .is_some_and(|licenses| !licenses.is_empty())
            })
            .map(|(id, _)| id)
            .collect();
        let mut states_via: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut old_errors: BTreeSet<String> = BTreeSet::new();
        for user in &snapshot.users {
            let id = user.id.to_ascii_lowercase();
            for state in &user.license_states {
                if state.state == AssignmentState::Error {
                    old_errors.insert(id.clone());
                }
                if let Some(via) = &state.via {
                    let via = via.to_ascii_lowercase();
                    let still = members
                        .get(&via)
                        .is_some_and(|list| list.get(&id) == Some(&false));
                    if !still || !current_groups.contains_key(&via) {
                        reread.insert(id.clone());
                    }
                    states_via.entry(id.clone()).or_default().insert(via);
                }
            }
        }
        for group in &licensed {
            for (member, is_group) in members.get(*group).into_iter().flatten() {
                if !is_group
                    && !states_via
                        .get(member)
                        .is_some_and(|via| via.contains(*group))
                {
                    reread.insert(member.clone());
                }
            }
        }
        for removed in &removed_users {
            reread.remove(removed);
        }

        // The second round: the users to read again and the members in error.
        let select = user_select();
        let by_id = |ids: &BTreeSet<String>| -> Vec<String> {
            let ids: Vec<&String> = ids.iter().collect();
            ids.chunks(IDS_PER_FILTER)
                .map(|chunk| {
                    let list: Vec<String> = chunk.iter().map(|id| format!("%27{id}%27")).collect();
                    format!(
                        "/users?$filter=id%20in%20({})&$select={select}&$top=999",
                        list.join(",")
                    )
                })
                .collect()
        };
        let mut urls = by_id(&reread);
        urls.extend(objects(&erring).filter_map(id_of).map(|id| {
            format!(
                "/groups/{}/membersWithLicenseErrors?$select={select}&$top=999",
                path_segment(id)
            )
        }));
        let second = if urls.is_empty() {
            Vec::new()
        } else {
            self.get_many(&urls)?
        };
        let mut fresh: BTreeMap<String, Value> = BTreeMap::new();
        for user in second.iter().flat_map(|pages| objects(pages)) {
            if let Some(id) = id_of(user) {
                if !removed_users.contains(&id.to_ascii_lowercase()) {
                    fresh.insert(id.to_ascii_lowercase(), user.clone());
                }
            }
        }
        // Users in error then but not now: their error cleared (a third round, usually empty).
        let cleared: BTreeSet<String> = old_errors
            .into_iter()
            .filter(|id| !fresh.contains_key(id) && !reread.contains(id))
            .filter(|id| !removed_users.contains(id))
            .collect();
        if !cleared.is_empty() {
            for user in self
                .get_many(&by_id(&cleared))?
                .iter()
                .flat_map(|pages| objects(pages))
            {
                if let Some(id) = id_of(user) {
                    fresh.insert(id.to_ascii_lowercase(), user.clone());
                }
            }
        }
        // A user read because of an error that delta did not report is re-read all the same.
        let reread: BTreeSet<String> = reread
            .into_iter()
            .chain(cleared)
            .chain(fresh.keys().cloned())
            .collect();

        // The tenant from the fresh objects and the kept ones.
        let upn_of: HashMap<String, String> = snapshot
            .users
            .iter()
            .filter(|user| {
                let id = user.id.to_ascii_lowercase();
                !reread.contains(&id) && !removed_users.contains(&id)
            })
            .map(|user| (user.id.to_ascii_lowercase(), user.upn.clone()))
            .chain(fresh.iter().filter_map(|(id, user)| {
                let upn = user.get("userPrincipalName").and_then(Value::as_str)?;
                Some((id.clone(), upn.to_string()))
            }))
            .collect();
        let member_pages: BTreeMap<String, Vec<GraphPage>> = current_groups
            .iter()
            .map(|(id, group)| {
                let list: Vec<Value> = members
                    .get(id)
                    .into_iter()
                    .flatten()
                    .filter_map(|(member, is_group)| {
                        if *is_group {
                            current_groups.contains_key(member).then(
                                || json!({"@odata.type": "#microsoft.graph.group", "id": member}),
                            )
                        } else {
                            upn_of.get(member).map(|upn| {
                                json!({"@odata.type": "#microsoft.graph.user", "id": member,
                                       "userPrincipalName": upn})
                            })
                        }
                    })
                    .collect();
                let name = id_of(group).unwrap_or(id).to_string();
                let origin = format!("GET /groups/{name}/members (snapshot and delta)");
                (name, vec![GraphPage::new(origin, json!({ "value": list }))])
            })
            .collect();
        let users_read = fresh.len();
        let export = GraphExport {
            organization,
            subscribed_skus,
            users: vec![GraphPage::new(
                "GET /users (changed users)",
                json!({ "value": fresh.into_values().collect::<Vec<_>>() }),
            )],
            groups,
            members: member_pages,
        };
        let partial = match map_export(&export) {
            Ok(partial) => partial,
            Err(problems) => {
                let first = problems
                    .iter()
                    .next()
                    .map_or_else(String::new, |problem| problem.message.clone());
                return Ok(Err(format!(
                    "the changes did not map onto the snapshot ({first})"
                )));
            }
        };
        if products(&partial) != products(snapshot) {
            return Ok(Err(
                "the subscriptions' products or service plans changed".to_string()
            ));
        }
        let mut users: Vec<_> = snapshot
            .users
            .iter()
            .filter(|user| {
                let id = user.id.to_ascii_lowercase();
                !reread.contains(&id) && !removed_users.contains(&id)
            })
            .cloned()
            .chain(partial.users)
            .collect();
        users.sort_by(|a, b| {
            a.upn
                .to_lowercase()
                .cmp(&b.upn.to_lowercase())
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(Ok(Refreshed {
            state: TenantState {
                version: partial.version,
                tenant: partial.tenant,
                subscriptions: partial.subscriptions,
                users,
                groups: partial.groups,
                delta: Some(DeltaLinks {
                    users: users_link,
                    groups: groups_link,
                }),
            },
            full_read: None,
            users_read,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::GraphErrorKind;

    #[test]
    fn expired_and_refused_links_are_recognised() {
        let mut error = GraphError::new(
            GraphErrorKind::Status,
            "GET /users/delta?$deltatoken=x",
            "expired",
        );
        error.status = Some(400);
        error.code = Some("syncStateNotFound".into());
        assert!(refused_link(&error));
        error.code = None;
        assert!(!refused_link(&error));
        error.status = Some(410);
        assert!(refused_link(&error));
        error.request = "GET /users".into();
        assert!(!refused_link(&error), "only a delta request's refusal");
    }

    #[test]
    fn the_delta_select_leaves_out_what_delta_does_not_track() {
        let select = user_delta_select();
        assert!(!select.contains("licenseAssignmentStates"));
        assert!(select.split(',').any(|field| field == "assignedLicenses"));
    }
}
