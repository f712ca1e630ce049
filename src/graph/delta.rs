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

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::{json, Value};

use super::client::GraphClient;
use super::error::GraphError;
use super::read::path_segment;
use crate::diag::Diagnostics;
use crate::tenant::graph_import::{
    group_select, organization_select, sku_select, user_select, GraphExport, GraphMapper, GraphPage,
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
        let links = self
            .token()
            .and_then(|_| self.latest_delta_links())
            .map_err(|error| Diagnostics::from(error.to_diagnostic()))?;
        let mut state = self.read_complete_tenant()?;
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
    pub fn refresh_snapshot(&self, snapshot: TenantState) -> Result<Refreshed, Diagnostics> {
        let full = |reason: String| -> Result<Refreshed, Diagnostics> {
            let state = self.read_snapshot()?;
            let users_read = state.users.len();
            Ok(Refreshed {
                state,
                full_read: Some(reason),
                users_read,
            })
        };
        let Some(links) = snapshot.delta.clone() else {
            return full("the snapshot has no delta links".to_string());
        };
        match self.read_changes(snapshot, &links) {
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
    /// needed instead. The work beyond the requests is one pass over the snapshot's users and
    /// memberships (hash lookups, nothing copied), plus mapping what was read again: the kept
    /// users are moved, not copied, and the member lists of groups delta did not report are
    /// kept as they are (only a renamed or deleted user, or a deleted group, edits them).
    fn read_changes(
        &self,
        snapshot: TenantState,
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

        // What /users/delta reports.
        let mut removed_users: HashSet<String> = HashSet::new();
        let mut reread: BTreeSet<String> = BTreeSet::new();
        for user in objects(&users_delta) {
            let Some(id) = id_of(user) else { continue };
            if user.get("@removed").is_some() {
                removed_users.insert(id.to_ascii_lowercase());
            } else {
                reread.insert(id.to_ascii_lowercase());
            }
        }
        let current_groups: HashMap<String, &Value> = objects(&groups)
            .filter_map(|group| Some((id_of(group)?.to_ascii_lowercase(), group)))
            .collect();
        let index = SnapshotIndex::new(&snapshot);

        // The groups /groups/delta reports get their member lists by id, changes applied; the
        // others keep the snapshot's.
        let mut touched: HashMap<String, Members> = HashMap::new();
        for group in objects(&groups_delta) {
            let Some(id) = id_of(group) else { continue };
            let id = id.to_ascii_lowercase();
            let list = touched
                .entry(id.clone())
                .or_insert_with(|| index.members_by_id(&snapshot, &id));
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
        // still being processed (or their group is gone): one pass over users and memberships.
        let licensed: HashSet<&str> = current_groups
            .iter()
            .filter(|(_, group)| {
                group
                    .get("assignedLicenses")
                    .and_then(Value::as_array)
                    .is_some_and(|licenses| !licenses.is_empty())
            })
            .map(|(id, _)| id.as_str())
            .collect();
        // The user members of the licensed groups and of the groups recorded states name.
        let named: HashSet<Cow<'_, str>> = snapshot
            .users
            .iter()
            .flat_map(|user| &user.license_states)
            .filter_map(|state| state.via.as_deref().map(lower))
            .collect();
        let mut members_of: HashMap<&str, HashSet<usize>> = HashMap::new();
        let wanted = current_groups
            .keys()
            .map(String::as_str)
            .filter(|id| licensed.contains(id) || named.contains(*id));
        for group in wanted {
            let users: HashSet<usize> = match touched.get(group) {
                Some(list) => list
                    .iter()
                    .filter(|(_, is_group)| !**is_group)
                    .filter_map(|(id, _)| index.by_id.get(id.as_str()).copied())
                    .collect(),
                None => index
                    .group(group)
                    .map(|at| &snapshot.groups[at].members)
                    .into_iter()
                    .flatten()
                    .filter_map(|name| index.user_named(name))
                    .collect(),
            };
            members_of.insert(group, users);
        }
        let mut old_errors: BTreeSet<String> = BTreeSet::new();
        for (at, user) in snapshot.users.iter().enumerate() {
            for state in &user.license_states {
                if state.state == AssignmentState::Error {
                    old_errors.insert(user.id.to_ascii_lowercase());
                }
                if let Some(via) = &state.via {
                    let via = lower(via);
                    let still = members_of
                        .get(via.as_ref())
                        .is_some_and(|members| members.contains(&at));
                    if !still {
                        reread.insert(user.id.to_ascii_lowercase());
                    }
                }
            }
        }
        for (group, members) in members_of.iter().filter(|(id, _)| licensed.contains(*id)) {
            for &at in members {
                let user = &snapshot.users[at];
                let recorded = user.license_states.iter().any(|state| {
                    state
                        .via
                        .as_deref()
                        .is_some_and(|via| via.eq_ignore_ascii_case(group))
                });
                if !recorded {
                    reread.insert(user.id.to_ascii_lowercase());
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
        drop(second);
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
        // A user read because of an error that delta did not report is replaced all the same;
        // one asked for but not returned is gone.
        let replaced: HashSet<String> = reread
            .into_iter()
            .chain(cleared)
            .chain(fresh.keys().cloned())
            .chain(removed_users)
            .collect();

        // The fresh objects mapped against the current subscriptions and groups.
        let users_read = fresh.len();
        let fresh_upns: HashMap<String, String> = fresh
            .iter()
            .filter_map(|(id, user)| {
                let upn = user.get("userPrincipalName").and_then(Value::as_str)?;
                Some((id.clone(), upn.to_string()))
            })
            .collect();
        let mut mapper = GraphMapper::new();
        mapper.organization(&organization);
        for (at, page) in subscribed_skus.iter().enumerate() {
            mapper.subscribed_skus(page, at + 1 == subscribed_skus.len());
        }
        for (at, page) in groups.iter().enumerate() {
            mapper.groups(page, at + 1 == groups.len());
        }
        mapper.users(
            &GraphPage::new(
                "GET /users (changed users)",
                json!({ "value": fresh.into_values().collect::<Vec<_>>() }),
            ),
            true,
        );
        // Member lists: users by their UPN now, groups that still exist by id.
        let name_of = |id: &str, is_group: bool| -> Option<String> {
            if is_group {
                return current_groups.contains_key(id).then(|| id.to_string());
            }
            if let Some(upn) = fresh_upns.get(id) {
                return Some(upn.clone());
            }
            if replaced.contains(id) {
                return None;
            }
            index
                .by_id
                .get(id)
                .map(|&at| snapshot.users[at].upn.clone())
        };
        let renamed: HashMap<&str, Option<&String>> = index
            .by_id
            .iter()
            .filter(|(id, _)| replaced.contains(id.as_ref()))
            .filter_map(|(id, &at)| {
                let old = snapshot.users[at].upn.as_str();
                let new = fresh_upns.get(id.as_ref());
                (new.map(String::as_str) != Some(old)).then_some((old, new))
            })
            .collect();
        for (id, group) in &current_groups {
            let name = id_of(group).unwrap_or(id);
            let names: Vec<String> = match touched.get(id) {
                Some(list) => list
                    .iter()
                    .filter_map(|(member, is_group)| name_of(member, *is_group))
                    .collect(),
                None => index
                    .group(id)
                    .map(|at| &snapshot.groups[at].members)
                    .into_iter()
                    .flatten()
                    .filter_map(|member| {
                        if let Some(new) = renamed.get(member.as_str()) {
                            return new.cloned();
                        }
                        if index.group(member).is_some()
                            && !current_groups.contains_key(&*lower(member))
                        {
                            return None;
                        }
                        Some(member.clone())
                    })
                    .collect(),
            };
            mapper.known_members(name, names);
        }
        let partial = match mapper.finish() {
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
        if products(&partial) != products(&snapshot) {
            return Ok(Err(
                "the subscriptions' products or service plans changed".to_string()
            ));
        }
        drop(index);
        let mut users = snapshot.users;
        users.retain(|user| !replaced.contains(&*lower(&user.id)));
        users.extend(partial.users);
        users.sort_by_cached_key(|user| (user.upn.to_lowercase(), user.id.clone()));
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

/// A group's members by lowercase id: `true` for a group, `false` for a user.
type Members = BTreeMap<String, bool>;

/// `text` in lower case, borrowed when it is already (as Graph's ids are).
fn lower(text: &str) -> Cow<'_, str> {
    if text.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// Lookups into a snapshot: users by id and by UPN, groups by id.
struct SnapshotIndex<'s> {
    /// Lowercase user id → position in the snapshot's users.
    by_id: HashMap<Cow<'s, str>, usize>,
    /// UPN as written → position.
    by_upn: HashMap<&'s str, usize>,
    /// Lowercase UPN → position, for member names written in another case.
    by_upn_lower: HashMap<String, usize>,
    /// Lowercase group id → position in the snapshot's groups.
    groups: HashMap<Cow<'s, str>, usize>,
}

impl<'s> SnapshotIndex<'s> {
    fn new(snapshot: &'s TenantState) -> Self {
        let by_id = snapshot
            .users
            .iter()
            .enumerate()
            .map(|(at, user)| (lower(&user.id), at))
            .collect();
        let by_upn: HashMap<&str, usize> = snapshot
            .users
            .iter()
            .enumerate()
            .map(|(at, user)| (user.upn.as_str(), at))
            .collect();
        // Member lists name users by the UPN Graph gave, which is the user's own: the lowercase
        // lookup is only for files written otherwise.
        let by_upn_lower = if snapshot
            .groups
            .iter()
            .flat_map(|g| &g.members)
            .all(|name| by_upn.contains_key(name.as_str()) || !name.contains('@'))
        {
            HashMap::new()
        } else {
            snapshot
                .users
                .iter()
                .enumerate()
                .map(|(at, user)| (user.upn.to_lowercase(), at))
                .collect()
        };
        let groups = snapshot
            .groups
            .iter()
            .enumerate()
            .map(|(at, group)| (lower(&group.id), at))
            .collect();
        SnapshotIndex {
            by_id,
            by_upn,
            by_upn_lower,
            groups,
        }
    }

    /// The position of the group `id` in the snapshot.
    fn group(&self, id: &str) -> Option<usize> {
        self.groups.get(&*lower(id)).copied()
    }

    /// The position of the user a member list names `name` (a UPN, or an id).
    fn user_named(&self, name: &str) -> Option<usize> {
        self.by_upn
            .get(name)
            .or_else(|| self.by_upn_lower.get(&name.to_lowercase()))
            .or_else(|| self.by_id.get(&*lower(name)))
            .copied()
    }

    /// The snapshot's members of the group `id` by lowercase id.
    fn members_by_id(&self, snapshot: &TenantState, id: &str) -> Members {
        let mut list = Members::new();
        let Some(at) = self.group(id) else {
            return list;
        };
        for name in &snapshot.groups[at].members {
            if self.group(name).is_some() {
                list.insert(name.to_ascii_lowercase(), true);
            } else if let Some(user) = self.user_named(name) {
                list.insert(snapshot.users[user].id.to_ascii_lowercase(), false);
            }
        }
        list
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
