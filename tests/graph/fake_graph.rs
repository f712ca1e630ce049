//! A fake Microsoft Graph and identity platform on 127.0.0.1 (HTTP/1.1 over `std::net`, one
//! thread per connection, keep-alive, requests parsed by `httparse`), answering with the bodies
//! of tests/fixtures/graph/. It records every request and can be told to throttle
//! (429 with `Retry-After: 0`), fail transiently (503), or refuse `assignLicense` for one group;
//! it charges Graph's resource units (saying so in `x-ms-resource-unit`) and write requests
//! against quotas when given them.
//! Started with [`FakeGraph::start_live`], it holds a tenant ([`Live`]) that its write calls
//! change, so a read after an apply sees what the apply did.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const FIXTURES: &str = "tests/fixtures/graph";

/// The client secret the fake identity platform accepts.
pub const CLIENT_SECRET: &str = "fake-client-secret-Zq8~1x";

/// The tenant id the fake identity platform serves.
pub const TENANT: &str = "b5c1a3e0-6f2d-4c1a-9e7b-2d4f6a8c0e12";

/// One request the fake server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, …
    pub method: String,
    /// Path and query as sent.
    pub url: String,
    /// The request body.
    pub body: String,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// What the fake server should do besides answering normally.
#[derive(Debug, Default)]
pub struct Behaviour {
    /// Path (without query) → statuses to answer before answering normally (429s carry
    /// `Retry-After: 0`).
    pub failures: HashMap<String, VecDeque<u16>>,
    /// Group ids whose members request inside `$batch` is throttled once.
    pub throttle_in_batch: Vec<String>,
    /// The group whose `assignLicense` fails with the example 400.
    pub failing_license_group: Option<String>,
    /// The token endpoint puts the submitted secret into its error text (a hostile server).
    pub echo_secret: bool,
    /// The token endpoint echoes the raw (URL-encoded) form body in its error text.
    pub echo_form: bool,
    /// The `Retry-After` seconds sent with the statuses of `failures`.
    pub retry_after: u64,
    /// A group just created answers 404 to this many requests naming it (Entra's replication
    /// delay after a create).
    pub replication_delay: u32,
    /// Groups created meanwhile are left out of `GET /groups` until [`Live::catch_up`] (a lookup
    /// by `mailNickname` finds them).
    pub listing_lags: bool,
    /// A user's `assignLicense` answers Graph's usage-location 400 to this many requests after
    /// `PATCH /users/{id}` set the usage location (the licensing service has not seen it yet).
    pub location_lag: u32,
    /// How many of the next `POST /groups` are committed and then answered 503.
    pub commit_then_unavailable: u32,
    /// Once this many writes were answered, further writes are received but never answered (the
    /// client hangs there until it is killed).
    pub hold_writes_after: Option<usize>,
    /// Writes answered so far.
    pub writes_answered: usize,
    /// A tenant the write calls change (reads and writes are served from it when set).
    pub live: Option<Live>,
    /// How long every answer takes (the network and Graph's own time), spent outside the lock
    /// so that parallel requests overlap as they do against Graph.
    pub latency: Duration,
    /// Graph's resource-unit quota: `(units, window)`. Requests past it answer 429 with the
    /// seconds until the window has room in `Retry-After`.
    pub resource_units: Option<(u32, Duration)>,
    /// The units charged within the current window, oldest first.
    charged: VecDeque<(Instant, u32)>,
    /// Units charged since the start (inner requests of `$batch` one by one).
    pub units_spent: u64,
    /// Requests answered 429 because the quota was spent.
    pub quota_refusals: u32,
    /// Units charged above the documented cost of every request (each inner request of a
    /// `$batch` on its own): a service charging more than its table says. The answers'
    /// `x-ms-resource-unit` says what was charged.
    pub surcharge: u32,
    /// Graph's write quota: `(requests, window)` of POST, PATCH and DELETE. Writes past it
    /// answer 429 with the seconds until the window has room in `Retry-After`.
    pub write_quota: Option<(u32, Duration)>,
    /// When the writes within the current write window were charged, oldest first.
    writes_charged: VecDeque<Instant>,
    /// Writes answered 429 because the write quota was spent.
    pub write_refusals: u32,
    /// Delta links are refused: `Some(410)` answers 410 Gone, `Some(400)` Graph's 400
    /// `syncStateNotFound` of an expired token.
    pub refuse_delta: Option<u16>,
}

/// The resource units Graph's identity and access service charges for a request (its
/// throttling-limits page): `GET users` 2, `GET groups/{id}/members` 3, `GET subscribedSkus` 3,
/// anything else 1; `$select` −1, `$expand` +1, `$top` under 20 −1; never below 1.
pub fn units_of(method: &str, path: &str, query: &str) -> u32 {
    let segments: Vec<&str> = path
        .trim_start_matches("/v1.0")
        .trim_matches('/')
        .split('/')
        .collect();
    let mut cost: i64 = match (method, segments.as_slice()) {
        ("GET", ["users"]) => 2,
        ("GET", ["groups", _, "members"]) => 3,
        ("GET", ["subscribedSkus"]) => 3,
        _ => 1,
    };
    let query = decode(query);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "$select" => cost -= 1,
            "$expand" => cost += 1,
            "$top" if value.parse::<u32>().is_ok_and(|top| top < 20) => cost -= 1,
            _ => {}
        }
    }
    cost.max(1) as u32
}

impl Behaviour {
    /// Charges `units`; `Err(seconds)` when the quota has no room for them.
    fn charge(&mut self, units: u32) -> Result<(), u64> {
        let Some((quota, window)) = self.resource_units else {
            self.units_spent += u64::from(units);
            return Ok(());
        };
        let now = Instant::now();
        while self
            .charged
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) >= window)
        {
            self.charged.pop_front();
        }
        let used: u32 = self.charged.iter().map(|(_, units)| units).sum();
        if used + units > quota {
            self.quota_refusals += 1;
            let oldest = self.charged.front().map_or(now, |(at, _)| *at);
            let wait = (oldest + window).saturating_duration_since(now);
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.charged.push_back((now, units));
        self.units_spent += u64::from(units);
        Ok(())
    }

    /// Charges one write against the write quota; `Err(seconds)` when it has no room.
    fn charge_write(&mut self) -> Result<(), u64> {
        let Some((quota, window)) = self.write_quota else {
            return Ok(());
        };
        let now = Instant::now();
        while self
            .writes_charged
            .front()
            .is_some_and(|at| now.duration_since(*at) >= window)
        {
            self.writes_charged.pop_front();
        }
        if self.writes_charged.len() >= quota as usize {
            self.write_refusals += 1;
            let oldest = self.writes_charged.front().copied().unwrap_or(now);
            let wait = (oldest + window).saturating_duration_since(now);
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        self.writes_charged.push_back(now);
        Ok(())
    }
}

/// A live tenant in Graph's shapes: what the export fixtures hold, changed by write calls. The
/// licensing service is simulated just enough for reads to stay consistent: a group's members get
/// an `Active` assignment state for each of its products (an assignment already in error stays
/// in error), and users' `assignedLicenses` follow their states.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The organization object.
    pub organization: Value,
    /// subscribedSku objects.
    pub skus: Vec<Value>,
    /// user objects.
    pub users: Vec<Value>,
    /// group objects.
    pub groups: Vec<Value>,
    /// Members (directoryObjects) by group id.
    pub members: BTreeMap<String, Vec<Value>>,
    created: u32,
    /// Groups not replicated yet: how many more requests naming them answer 404.
    unreplicated: BTreeMap<String, u32>,
    /// Groups created while listings lag: left out of `GET /groups` until [`Live::catch_up`].
    unlisted: Vec<String>,
    /// Users whose new usage location has not reached licensing: how many more `assignLicense`
    /// answer 400.
    location_pending: BTreeMap<String, u32>,
    /// Consumed units Graph reports beyond what the users hold, by skuPartNumber.
    consumed_extra: BTreeMap<String, u64>,
    /// What changed, in order: the delta token is a position in this log.
    changes: ChangeLog,
    /// Lookups over the users, made once per request that needs them (Graph has its indexes);
    /// dropped before every request and after every write.
    index: Option<UserIndex>,
}

/// What requests look users up by: ids, assignments in error by group, and the users holding
/// each product, each made by one pass over the users when a request first needs it.
#[derive(Debug, Clone, Default)]
struct UserIndex {
    /// Position of each user by id.
    by_id: Option<HashMap<String, usize>>,
    /// Positions of the users with an assignment in error, by the group it comes from.
    errors: Option<BTreeMap<String, Vec<usize>>>,
    /// How many users hold each product, by skuId.
    holding: Option<HashMap<String, u64>>,
}

impl UserIndex {
    fn by_id(&mut self, users: &[Value]) -> &HashMap<String, usize> {
        self.by_id.get_or_insert_with(|| {
            users
                .iter()
                .enumerate()
                .map(|(at, user)| (user["id"].as_str().unwrap().to_string(), at))
                .collect()
        })
    }

    fn errors(&mut self, users: &[Value]) -> &BTreeMap<String, Vec<usize>> {
        self.errors.get_or_insert_with(|| {
            let mut errors: BTreeMap<String, Vec<usize>> = BTreeMap::new();
            for (at, user) in users.iter().enumerate() {
                let mut erring: Vec<&str> = user["licenseAssignmentStates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|state| state["state"] == "Error")
                    .filter_map(|state| state["assignedByGroup"].as_str())
                    .collect();
                erring.sort_unstable();
                erring.dedup();
                for group in erring {
                    errors.entry(group.to_string()).or_default().push(at);
                }
            }
            errors
        })
    }

    fn holding(&mut self, users: &[Value]) -> &HashMap<String, u64> {
        self.holding.get_or_insert_with(|| {
            let mut holding: HashMap<String, u64> = HashMap::new();
            for user in users {
                let mut held: Vec<&str> = user["assignedLicenses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|license| license["skuId"].as_str())
                    .collect();
                held.sort_unstable();
                held.dedup();
                for sku in held {
                    *holding.entry(sku.to_string()).or_default() += 1;
                }
            }
            holding
        })
    }
}

/// The changes delta queries report, as Graph keeps them: every change appends to the log, and
/// a delta token is the log's length when it was issued, so a delta call costs what changed
/// since its token, not the size of the tenant. Changes to `licenseAssignmentStates` are not
/// logged (`/users/delta` does not track them).
#[derive(Debug, Clone, Default)]
struct ChangeLog {
    entries: Vec<Change>,
}

/// One change of the log.
#[derive(Debug, Clone, PartialEq)]
enum Change {
    /// A tracked property of the user (or the user was created or deleted).
    User(String),
    /// A property of the group (or the group was created or deleted).
    Group(String),
    /// A member joined or left the group: (group, member).
    Member(String, String),
}

impl ChangeLog {
    fn push(&mut self, change: Change) {
        self.entries.push(change);
    }

    /// The log's position now: the token of a delta link issued now.
    fn now(&self) -> usize {
        self.entries.len()
    }

    /// The changes since the token `since`, or `None` for a token this log never issued.
    fn since(&self, since: usize) -> Option<&[Change]> {
        self.entries.get(since..)
    }
}

/// A user as `/users/delta` tracks it.
fn tracked(user: &Value) -> Value {
    let mut user = user.clone();
    if let Some(object) = user.as_object_mut() {
        object.remove("licenseAssignmentStates");
    }
    user
}

impl Live {
    /// The tenant of the export fixtures, pages joined.
    pub fn from_export() -> Live {
        let values = |name: &str| -> Vec<Value> {
            fixture(&format!("export/{name}"))["value"]
                .as_array()
                .unwrap()
                .clone()
        };
        let mut members = BTreeMap::new();
        for group in values("groups.json") {
            let id = group["id"].as_str().unwrap().to_string();
            let mut list = values(&format!("members/{id}.json"));
            if Path::new(FIXTURES)
                .join(format!("export/members/{id}-2.json"))
                .exists()
            {
                list.extend(values(&format!("members/{id}-2.json")));
            }
            members.insert(id, list);
        }
        let mut users = values("users.json");
        users.extend(values("users-2.json"));
        Live {
            organization: values("organization.json")[0].clone(),
            skus: values("subscribedSkus.json"),
            users,
            groups: values("groups.json"),
            members,
            created: 0,
            unreplicated: BTreeMap::new(),
            unlisted: Vec::new(),
            location_pending: BTreeMap::new(),
            consumed_extra: BTreeMap::new(),
            changes: ChangeLog::default(),
            index: None,
        }
    }

    /// A tenant state in Graph's shapes (for benchmarks on generated tenants): skus get their
    /// `id` (or a GUID made from the name), disabled plans keep their names, members are users
    /// by UPN and groups by id.
    pub fn from_state(state: &seatplan::tenant::TenantState) -> Live {
        let sku_ids: HashMap<&str, String> = state
            .subscriptions
            .iter()
            .map(|sub| {
                let id = sub.id.clone().unwrap_or_else(|| name_guid(&sub.sku));
                (sub.sku.as_str(), id)
            })
            .collect();
        let sku_id = |sku: &str| sku_ids.get(sku).cloned().unwrap_or_else(|| sku.to_string());
        let skus = state
            .subscriptions
            .iter()
            .map(|sub| {
                json!({"skuId": sku_id(&sub.sku), "skuPartNumber": sub.sku,
                       "prepaidUnits": {"enabled": sub.enabled, "warning": sub.warning,
                                        "suspended": sub.suspended, "lockedOut": 0},
                       "consumedUnits": sub.consumed.unwrap_or(0),
                       "servicePlans": sub.plans.iter().map(|plan| json!({
                           "servicePlanId": plan.id, "servicePlanName": plan.name}))
                           .collect::<Vec<_>>()})
            })
            .collect();
        let licenses = |licenses: &[seatplan::tenant::model::AssignedLicense]| -> Vec<Value> {
            licenses
                .iter()
                .map(|l| json!({"skuId": sku_id(&l.sku), "disabledPlans": l.disabled_plans}))
                .collect()
        };
        let group_licenses: HashMap<&str, &[seatplan::tenant::model::AssignedLicense]> = state
            .groups
            .iter()
            .map(|g| (g.id.as_str(), g.licenses.as_slice()))
            .collect();
        let group_id = |via: &str| -> Option<String> {
            state
                .groups
                .iter()
                .find(|g| g.id == via)
                .or_else(|| state.groups.iter().find(|g| g.display_name == via))
                .map(|g| g.id.clone())
        };
        let users = state
            .users
            .iter()
            .map(|user| {
                let mut object = serde_json::Map::new();
                object.insert("id".into(), json!(user.id));
                object.insert("userPrincipalName".into(), json!(user.upn));
                object.insert("usageLocation".into(), json!(user.usage_location));
                object.insert("proxyAddresses".into(), json!(user.proxy_addresses));
                let mut extensions = serde_json::Map::new();
                for (name, value) in user.attributes.iter() {
                    let value = serde_json::to_value(value).unwrap();
                    if name.starts_with("extensionAttribute") {
                        extensions.insert(name.to_string(), value);
                    } else {
                        object.insert(name.to_string(), value);
                    }
                }
                if !extensions.is_empty() {
                    object.insert(
                        "onPremisesExtensionAttributes".into(),
                        Value::Object(extensions),
                    );
                }
                object.insert(
                    "assignedPlans".into(),
                    json!(user
                        .assigned_plans
                        .iter()
                        .map(|plan| json!({
                        "servicePlanId": plan.service_plan_id,
                        "capabilityStatus": plan.capability_status,
                        "service": plan.service}))
                        .collect::<Vec<_>>()),
                );
                let mut states: Vec<Value> = user
                    .licenses
                    .iter()
                    .map(|l| {
                        json!({"assignedByGroup": null, "skuId": sku_id(&l.sku),
                                    "disabledPlans": l.disabled_plans, "state": "Active",
                                    "error": "None"})
                    })
                    .collect();
                let mut assigned = licenses(&user.licenses);
                for license in &user.license_states {
                    // States name their group by id (or, in older files, by display name).
                    let Some(via) = license.via.as_deref().and_then(&group_id) else {
                        continue;
                    };
                    let disabled = group_licenses
                        .get(via.as_str())
                        .and_then(|ls| ls.iter().find(|l| l.sku == license.sku))
                        .map(|l| l.disabled_plans.clone())
                        .unwrap_or_default();
                    let error = license
                        .error
                        .map_or("None".to_string(), |e| format!("{e:?}"));
                    states.push(
                        json!({"assignedByGroup": via, "skuId": sku_id(&license.sku),
                        "disabledPlans": disabled, "state": format!("{:?}", license.state),
                        "error": error}),
                    );
                    let id = sku_id(&license.sku);
                    if license.state != seatplan::tenant::model::AssignmentState::Error
                        && !assigned.iter().any(|a| a["skuId"] == id.as_str())
                    {
                        assigned.push(json!({"skuId": id, "disabledPlans": disabled}));
                    }
                }
                object.insert("assignedLicenses".into(), Value::Array(assigned));
                object.insert("licenseAssignmentStates".into(), Value::Array(states));
                Value::Object(object)
            })
            .collect::<Vec<Value>>();
        let by_upn: HashMap<String, &seatplan::tenant::model::UserState> = state
            .users
            .iter()
            .map(|u| (u.upn.to_lowercase(), u))
            .collect();
        let group_ids: BTreeSet<&str> = state.groups.iter().map(|g| g.id.as_str()).collect();
        let mut members = BTreeMap::new();
        let groups = state
            .groups
            .iter()
            .map(|group| {
                let list: Vec<Value> = group
                    .members
                    .iter()
                    .filter_map(|name| {
                        if group_ids.contains(name.as_str()) {
                            return Some(json!({"@odata.type": "#microsoft.graph.group",
                                               "id": name}));
                        }
                        by_upn.get(&name.to_lowercase()).map(|user| {
                            json!({"@odata.type": "#microsoft.graph.user", "id": user.id,
                                   "userPrincipalName": user.upn})
                        })
                    })
                    .collect();
                members.insert(group.id.clone(), list);
                let processing = group.rule_processing.map(|p| match p {
                    seatplan::config::RuleProcessing::On => "On",
                    seatplan::config::RuleProcessing::Paused => "Paused",
                });
                json!({"id": group.id, "displayName": group.display_name,
                       "description": group.description,
                       "groupTypes": if group.rule.is_some() { vec!["DynamicMembership"] } else { vec![] },
                       "securityEnabled": group.security_enabled, "mailEnabled": group.mail_enabled,
                       "membershipRule": group.rule, "membershipRuleProcessingState": processing,
                       "assignedLicenses": licenses(&group.licenses)})
            })
            .collect();
        Live {
            organization: json!({"id": state.tenant.id.clone().unwrap_or_else(|| TENANT.into()),
                                 "countryLetterCode": state.tenant.default_usage_location}),
            skus,
            users,
            groups,
            members,
            ..Live::default()
        }
    }

    /// Sets a property of the user `id` (a change `/users/delta` reports, unless it is
    /// `licenseAssignmentStates`).
    pub fn set_user(&mut self, id: &str, property: &str, value: Value) {
        let user = self.users.iter_mut().find(|u| u["id"] == id).unwrap();
        user[property] = value.clone();
        if property != "licenseAssignmentStates" {
            self.changes.push(Change::User(id.to_string()));
        }
        // Member lists name users by their current UPN.
        if property == "userPrincipalName" {
            for member in self.members.values_mut().flatten() {
                if member["id"] == id {
                    member["userPrincipalName"] = value.clone();
                }
            }
        }
    }

    /// Creates the user `user` (an object with at least `id`, `userPrincipalName`,
    /// `assignedLicenses` and `licenseAssignmentStates`).
    pub fn add_user(&mut self, user: Value) {
        let id = user["id"].as_str().unwrap().to_string();
        self.users.push(user);
        self.changes.push(Change::User(id));
    }

    /// Adds the user (or group) `member_id` to the group `group_id`; licensing follows.
    pub fn add_member(&mut self, group_id: &str, member_id: &str) {
        let member = self.member(member_id);
        self.members.get_mut(group_id).unwrap().push(member);
        self.changes
            .push(Change::Member(group_id.to_string(), member_id.to_string()));
        self.process(group_id);
    }

    /// Removes `member_id` from the group `group_id`; licensing follows.
    pub fn remove_member(&mut self, group_id: &str, member_id: &str) {
        self.members
            .get_mut(group_id)
            .unwrap()
            .retain(|m| m["id"] != member_id);
        self.changes
            .push(Change::Member(group_id.to_string(), member_id.to_string()));
        self.process(group_id);
    }

    /// Deletes the user `id` (from the groups too).
    pub fn delete_user(&mut self, id: &str) {
        self.users.retain(|u| u["id"] != id);
        self.changes.push(Change::User(id.to_string()));
        for (group, members) in &mut self.members {
            let before = members.len();
            members.retain(|m| m["id"] != id);
            if members.len() != before {
                self.changes
                    .push(Change::Member(group.clone(), id.to_string()));
            }
        }
    }

    /// `/users/delta` after `changes`: changed and new users (tracked properties only), removed
    /// ones with `@removed`. One pass over the users finds the changed ones, and only when there
    /// are any.
    fn users_delta(&self, changes: &[Change], select: Option<&[&str]>) -> Vec<Value> {
        let changed: BTreeSet<&str> = changes
            .iter()
            .filter_map(|change| match change {
                Change::User(id) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        if changed.is_empty() {
            return Vec::new();
        }
        let mut delta = Vec::new();
        let mut present = BTreeSet::new();
        for user in &self.users {
            let id = user["id"].as_str().unwrap();
            if changed.contains(id) {
                present.insert(id);
                delta.push(project(&tracked(user), select));
            }
        }
        for id in changed.difference(&present) {
            delta.push(json!({"id": id, "@removed": {"reason": "changed"}}));
        }
        delta
    }

    /// `/groups/delta` (with `members` selected) after `changes`: changed groups, and
    /// `members@delta` for each group whose members changed (the members who joined, and those
    /// who left with `@removed`).
    fn groups_delta(&self, changes: &[Change], select: Option<&[&str]>) -> Vec<Value> {
        let mut changed: BTreeSet<&str> = BTreeSet::new();
        let mut joins: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for change in changes {
            match change {
                Change::Group(id) => {
                    changed.insert(id);
                }
                Change::Member(group, member) => {
                    joins.entry(group).or_default().insert(member);
                }
                Change::User(_) => {}
            }
        }
        let touched: BTreeSet<&str> = changed.iter().chain(joins.keys()).copied().collect();
        let mut delta = Vec::new();
        for id in touched {
            let Some(group) = self.groups.iter().find(|g| g["id"] == id) else {
                if changed.contains(id) {
                    delta.push(json!({"id": id, "@removed": {"reason": "changed"}}));
                }
                continue;
            };
            let now = self.members.get(id).map_or(&[][..], Vec::as_slice);
            let members: Vec<Value> = joins
                .get(id)
                .into_iter()
                .flatten()
                .map(|member| match now.iter().find(|m| m["id"] == *member) {
                    Some(m) => json!({"@odata.type": m["@odata.type"], "id": m["id"]}),
                    None => json!({"@odata.type": "#microsoft.graph.directoryObject",
                                   "id": member, "@removed": {"reason": "deleted"}}),
                })
                .collect();
            let mut object = if changed.contains(id) {
                project(group, select)
            } else {
                json!({"id": id})
            };
            if let Some(object) = object.as_object_mut() {
                object.remove("members");
            }
            if !members.is_empty() {
                object["members@delta"] = Value::Array(members);
            }
            delta.push(object);
        }
        delta
    }

    /// The lookups over the users of this request.
    fn index(&mut self) -> (&mut UserIndex, &[Value]) {
        (
            self.index.get_or_insert_with(UserIndex::default),
            &self.users,
        )
    }

    /// Users with an assignment in error from the group `group_id`.
    fn in_error(&mut self, group_id: &str) -> Vec<Value> {
        let (index, users) = self.index();
        let at = index
            .errors(users)
            .get(group_id)
            .cloned()
            .unwrap_or_default();
        at.into_iter().map(|at| users[at].clone()).collect()
    }

    /// The users with the ids `ids` (in the order of the users).
    fn users_with_ids(&mut self, ids: &BTreeSet<String>) -> Vec<Value> {
        let (index, users) = self.index();
        let by_id = index.by_id(users);
        let mut at: Vec<usize> = ids.iter().filter_map(|id| by_id.get(id).copied()).collect();
        at.sort_unstable();
        at.into_iter().map(|at| users[at].clone()).collect()
    }

    /// The groups with at least one member in error.
    fn erring_groups(&mut self) -> BTreeSet<String> {
        let (index, users) = self.index();
        index.errors(users).keys().cloned().collect()
    }

    /// Leaves out of listings the groups `lagging` leaves out (after [`Live::catch_up`], to end
    /// the 404s but not the listing's lag).
    pub fn hide_from_listings_like(&mut self, lagging: &Live) {
        self.unlisted = lagging.unlisted.clone();
    }

    /// Ends every replication delay: created groups answer and are listed.
    pub fn catch_up(&mut self) {
        self.unreplicated.clear();
        self.unlisted.clear();
    }

    /// Adds a subscription of `enabled` seats.
    pub fn add_sku(&mut self, part_number: &str, sku_id: &str, enabled: u64) {
        self.skus.push(json!({
            "accountName": "fabrikam", "appliesTo": "User", "capabilityStatus": "Enabled",
            "consumedUnits": 0, "id": format!("{TENANT}_{sku_id}"), "skuId": sku_id,
            "skuPartNumber": part_number,
            "prepaidUnits": {"enabled": enabled, "suspended": 0, "warning": 0, "lockedOut": 0},
            "servicePlans": []
        }));
    }

    /// Sets the `enabled`, `warning` (grace period) and `suspended` units of the subscription
    /// `part_number`.
    pub fn set_units(&mut self, part_number: &str, enabled: u64, warning: u64, suspended: u64) {
        let sku = self
            .skus
            .iter_mut()
            .find(|sku| sku["skuPartNumber"] == part_number)
            .unwrap();
        sku["prepaidUnits"]["enabled"] = json!(enabled);
        sku["prepaidUnits"]["warning"] = json!(warning);
        sku["prepaidUnits"]["suspended"] = json!(suspended);
    }

    /// Makes `GET /subscribedSkus` report `extra` more consumed units of `part_number` than its
    /// users hold (Graph and the directory disagreeing).
    pub fn drift(&mut self, part_number: &str, extra: u64) {
        self.consumed_extra.insert(part_number.to_string(), extra);
    }

    /// The subscriptions with `consumedUnits` counted from the users' licenses, as Graph does.
    fn subscribed_skus(&mut self) -> Vec<Value> {
        let mut skus = self.skus.clone();
        let (index, users) = self.index();
        let holding = index.holding(users).clone();
        for sku in &mut skus {
            let held = sku["skuId"]
                .as_str()
                .and_then(|id| holding.get(id))
                .copied()
                .unwrap_or(0);
            let extra = sku["skuPartNumber"]
                .as_str()
                .and_then(|name| self.consumed_extra.get(name))
                .copied()
                .unwrap_or(0);
            sku["consumedUnits"] = json!(held + extra);
        }
        skus
    }

    /// The groups named `name`.
    pub fn groups_named(&self, name: &str) -> usize {
        self.groups
            .iter()
            .filter(|g| g["displayName"] == name)
            .count()
    }

    /// Adds a static security group assigning `sku_ids`, with `member_ids` as members.
    pub fn add_group(&mut self, id: &str, name: &str, sku_ids: &[&str], member_ids: &[&str]) {
        let licenses: Vec<Value> = sku_ids
            .iter()
            .map(|sku| json!({"disabledPlans": [], "skuId": sku}))
            .collect();
        self.groups.push(json!({
            "id": id, "displayName": name, "description": null, "groupTypes": [],
            "securityEnabled": true, "mailEnabled": false, "membershipRule": null,
            "membershipRuleProcessingState": null, "assignedLicenses": licenses
        }));
        let members = member_ids.iter().map(|user| self.member(user)).collect();
        self.members.insert(id.to_string(), members);
        self.changes.push(Change::Group(id.to_string()));
        for member in member_ids {
            self.changes
                .push(Change::Member(id.to_string(), member.to_string()));
        }
        self.process(id);
    }

    /// The group named `name`.
    pub fn group(&self, name: &str) -> Option<&Value> {
        self.groups.iter().find(|g| g["displayName"] == name)
    }

    fn member(&self, user_id: &str) -> Value {
        // A group joins through the same reference as a user.
        if let Some(group) = self.groups.iter().find(|g| g["id"] == user_id) {
            return json!({"@odata.type": "#microsoft.graph.group", "id": user_id,
                          "displayName": group["displayName"]});
        }
        let user = self.users.iter().find(|u| u["id"] == user_id).unwrap();
        json!({"@odata.type": "#microsoft.graph.user", "id": user_id,
               "userPrincipalName": user["userPrincipalName"]})
    }

    /// Recomputes the assignment states the group `group_id` gives its members.
    fn process(&mut self, group_id: &str) {
        let licenses: Vec<Value> = self
            .groups
            .iter()
            .find(|g| g["id"] == group_id)
            .map(|g| g["assignedLicenses"].as_array().unwrap().clone())
            .unwrap_or_default();
        let members: Vec<String> = self
            .members
            .get(group_id)
            .into_iter()
            .flatten()
            .filter_map(|m| m["id"].as_str().map(str::to_string))
            .collect();
        for user in &mut self.users {
            let id = user["id"].as_str().unwrap().to_string();
            let states = user["licenseAssignmentStates"].as_array_mut().unwrap();
            let old: Vec<Value> = states
                .iter()
                .filter(|s| s["assignedByGroup"] == group_id)
                .cloned()
                .collect();
            states.retain(|s| s["assignedByGroup"] != group_id);
            if members.contains(&id) {
                for license in &licenses {
                    let kept = old.iter().find(|s| s["skuId"] == license["skuId"]);
                    let state = match kept {
                        Some(state) if state["state"] == "Error" => state.clone(),
                        _ => json!({"assignedByGroup": group_id,
                            "disabledPlans": license["disabledPlans"], "error": "None",
                            "lastUpdatedDateTime": "2026-11-02T08:00:00Z",
                            "skuId": license["skuId"], "state": "Active"}),
                    };
                    states.push(state);
                }
            }
            let mut assigned: Vec<Value> = Vec::new();
            for state in states.iter().filter(|s| s["state"] == "Active") {
                if !assigned.iter().any(|a| a["skuId"] == state["skuId"]) {
                    assigned.push(json!({"disabledPlans": state["disabledPlans"],
                                         "skuId": state["skuId"]}));
                }
            }
            let assigned = Value::Array(assigned);
            if user["assignedLicenses"] != assigned {
                user["assignedLicenses"] = assigned;
                self.changes.push(Change::User(id));
            }
        }
    }
}

/// A GUID made from a name (for products a generated state gives no id).
fn name_guid(name: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    json!(name).to_string().hash(&mut hasher);
    let hash = hasher.finish();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        hash >> 32,
        (hash >> 16) & 0xffff,
        hash & 0xfff,
        (hash >> 20) & 0xfff,
        hash & 0xffff_ffff_ffff
    )
}

/// The decoded value of the query parameter `name`.
fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (decode(key) == name).then(|| decode(value))
    })
}

/// An object with only the `$select`ed properties (absent ones as null), plus `id` and
/// `@odata.type`.
fn project(object: &Value, select: Option<&[&str]>) -> Value {
    let Some(select) = select else {
        return object.clone();
    };
    let mut out = serde_json::Map::new();
    for key in ["@odata.type", "id"] {
        if let Some(value) = object.get(key) {
            out.insert(key.to_string(), value.clone());
        }
    }
    for key in select {
        if *key == "members" {
            continue;
        }
        out.insert(
            key.to_string(),
            object.get(*key).cloned().unwrap_or(Value::Null),
        );
    }
    Value::Object(out)
}

/// A collection answer: `$select` applied, `$top` objects (Graph's default 100, at most 999)
/// from the `$skiptoken` offset, and an `@odata.nextLink` while more remain.
/// An object as [`project`] gives it, serialized from the object itself (no copy).
struct Projected<'a> {
    object: &'a Value,
    select: Option<&'a [&'a str]>,
}

impl serde::Serialize for Projected<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(select) = self.select else {
            return self.object.serialize(serializer);
        };
        let mut map = serializer.serialize_map(None)?;
        for key in ["@odata.type", "id"] {
            if let Some(value) = self.object.get(key) {
                map.serialize_entry(key, value)?;
            }
        }
        for key in select {
            if matches!(*key, "members" | "@odata.type" | "id") {
                continue;
            }
            map.serialize_entry(key, self.object.get(*key).unwrap_or(&Value::Null))?;
        }
        map.end()
    }
}

/// A collection answer's text: `$select` applied, `$top` objects (Graph's default 100, at most
/// 999) from the `$skiptoken` offset, and an `@odata.nextLink` while more remain; written from
/// the objects without copying them, as a page of 999 users is several megabytes.
fn collection(values: &[Value], path: &str, query: &str, origin: &str) -> String {
    let top = param(query, "$top")
        .and_then(|top| top.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 999);
    let skip = param(query, "$skiptoken")
        .and_then(|token| token.strip_prefix("live-").map(str::to_string))
        .and_then(|offset| offset.parse::<usize>().ok())
        .unwrap_or(0);
    let select = param(query, "$select");
    let select: Option<Vec<&str>> = select.as_deref().map(|s| s.split(',').collect());
    let page: Vec<Projected<'_>> = values
        .iter()
        .skip(skip)
        .take(top)
        .map(|object| Projected {
            object,
            select: select.as_deref(),
        })
        .collect();
    let mut body = format!(r#"{{"value":{}"#, serde_json::to_string(&page).unwrap());
    if skip + top < values.len() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !decode(pair).starts_with("$skiptoken="))
            .collect();
        let mut next = format!("{origin}/v1.0{path}?");
        for pair in kept {
            next.push_str(pair);
            next.push('&');
        }
        next.push_str(&format!("$skiptoken=live-{}", skip + top));
        body.push_str(&format!(r#","@odata.nextLink":{}"#, json!(next)));
    }
    body.push('}');
    body
}

/// The ids of a `$filter=id in ('a','b')`.
fn filtered_ids(filter: &str) -> Option<BTreeSet<String>> {
    let list = filter.strip_prefix("id in (")?.strip_suffix(')')?;
    Some(
        list.split(',')
            .map(|id| id.trim().trim_matches('\'').to_string())
            .collect(),
    )
}

/// `licenses` after an `assignLicense` body: removals dropped, additions added or replaced.
fn assign(licenses: &Value, body: &Value) -> Value {
    let mut list: Vec<Value> = licenses.as_array().cloned().unwrap_or_default();
    for removed in body["removeLicenses"].as_array().unwrap() {
        list.retain(|l| l["skuId"] != *removed);
    }
    for added in body["addLicenses"].as_array().unwrap() {
        list.retain(|l| l["skuId"] != added["skuId"]);
        list.push(json!({"disabledPlans": added["disabledPlans"], "skuId": added["skuId"]}));
    }
    Value::Array(list)
}

/// Serves `request` from the live tenant; `None` for a route it does not know.
fn live_answer(
    request: &Recorded,
    segments: &[&str],
    query: &str,
    live: &mut Live,
    behaviour: &mut Extras,
    origin: &str,
) -> Option<(u16, String, Option<String>)> {
    let failing_group = behaviour.failing_group.as_deref();
    // Replication: a group created a moment ago answers 404 to the next requests naming it, and
    // listings leave it out until the test lets them catch up.
    if let Some(id) = segments
        .iter()
        .find(|segment| live.unreplicated.contains_key(**segment))
    {
        let left = live.unreplicated.get_mut(*id).unwrap();
        *left -= 1;
        if *left == 0 {
            live.unreplicated.remove(*id);
        }
        return Some((
            404,
            graph_error("Request_ResourceNotFound", "Resource does not exist."),
            None,
        ));
    }
    if request.method != "GET" {
        // A write: what the users' lookups say may change.
        live.index = None;
    }
    let listed = |live: &Live| -> Vec<Value> {
        live.groups
            .iter()
            .filter(|g| !live.unlisted.iter().any(|id| g["id"] == id.as_str()))
            .cloned()
            .collect()
    };
    let ok = |body: Value| Some((200, body.to_string(), None));
    let ok_text = |body: String| Some((200, body, None));
    let no_content = || Some((204, String::new(), None));
    let missing = || {
        Some((
            404,
            graph_error("Request_ResourceNotFound", "Resource does not exist."),
            None,
        ))
    };
    match (request.method.as_str(), segments) {
        ("GET", ["organization"]) => ok(json!({"value": [live.organization]})),
        ("GET", ["subscribedSkus"]) => ok(json!({"value": live.subscribed_skus()})),
        ("GET", ["users"]) => match param(query, "$filter") {
            Some(filter) => {
                let ids = filtered_ids(&filter)?;
                let found = live.users_with_ids(&ids);
                ok_text(collection(&found, "/users", query, origin))
            }
            None => ok_text(collection(&live.users, "/users", query, origin)),
        },
        ("GET", [kind @ ("users" | "groups"), "delta"]) => {
            let token = param(query, "$deltatoken")?;
            let select = param(query, "$select");
            let select: Option<Vec<&str>> = select.as_deref().map(|s| s.split(',').collect());
            let changes = if token == "latest" {
                Vec::new()
            } else {
                match behaviour.refuse_delta {
                    Some(410) => {
                        return Some((
                            410,
                            graph_error(
                                "syncStateInvalid",
                                "Resync required. Replace any local cached data.",
                            ),
                            None,
                        ))
                    }
                    Some(_) => {
                        return Some((
                            400,
                            graph_error(
                                "syncStateNotFound",
                                "The sync state generation is not found. The delta token is \
                                 expired and data must be synchronized again.",
                            ),
                            None,
                        ))
                    }
                    None => {}
                }
                let Some(since) = token
                    .parse::<usize>()
                    .ok()
                    .and_then(|at| live.changes.since(at))
                else {
                    return Some((
                        400,
                        graph_error(
                            "syncStateNotFound",
                            "The sync state generation is not found.",
                        ),
                        None,
                    ));
                };
                if *kind == "users" {
                    live.users_delta(since, select.as_deref())
                } else {
                    live.groups_delta(since, select.as_deref())
                }
            };
            let next = live.changes.now();
            // The token carries the query of the first request, as Graph's do.
            let kept: String = query
                .split('&')
                .filter(|pair| !decode(pair).starts_with("$deltatoken="))
                .map(|pair| format!("{pair}&"))
                .collect();
            ok(json!({"value": changes,
                      "@odata.deltaLink": format!("{origin}/v1.0/{kind}/delta?{kept}$deltatoken={next}")}))
        }
        ("GET", ["groups", id, "membersWithLicenseErrors"]) => {
            let users = live.in_error(id);
            ok_text(collection(
                &users,
                &format!("/groups/{id}/membersWithLicenseErrors"),
                query,
                origin,
            ))
        }
        ("GET", ["groups"])
            if param(query, "$filter").as_deref()
                == Some("hasMembersWithLicenseErrors eq true") =>
        {
            let erring = live.erring_groups();
            let groups: Vec<Value> = listed(live)
                .iter()
                .filter(|g| erring.contains(g["id"].as_str().unwrap()))
                .cloned()
                .collect();
            ok_text(collection(&groups, "/groups", query, origin))
        }
        ("GET", ["groups"]) => {
            let filter = decode(query)
                .split('&')
                .find_map(|pair| pair.strip_prefix("$filter=").map(str::to_string));
            match filter {
                Some(filter) => {
                    let nickname = filter
                        .strip_prefix("mailNickname eq '")
                        .and_then(|rest| rest.strip_suffix('\''))
                        .unwrap()
                        .replace("''", "'");
                    // The lookup by nickname reads the written object (not the lagging list).
                    let found: Vec<Value> = live
                        .groups
                        .iter()
                        .filter(|g| g["mailNickname"] == nickname.as_str())
                        .cloned()
                        .collect();
                    ok(json!({"value": found}))
                }
                None => ok_text(collection(&listed(live), "/groups", query, origin)),
            }
        }
        ("GET", ["groups", id, "members"]) => match live.members.get(*id) {
            Some(members) => ok_text(collection(
                members,
                &format!("/groups/{id}/members"),
                query,
                origin,
            )),
            None => missing(),
        },
        ("GET", ["groups", id]) => {
            let group = live.groups.iter().find(|g| g["id"] == *id)?;
            if query.contains("licenseProcessingState") {
                ok(json!({"id": id, "licenseProcessingState": {"state": "ProcessingComplete"}}))
            } else {
                ok(json!({"id": id, "groupTypes": group["groupTypes"]}))
            }
        }
        ("POST", ["groups", id, "assignLicense"]) => {
            if failing_group == Some(*id) {
                return Some((
                    400,
                    fixture("api/error-assignLicense-400.response.json").to_string(),
                    None,
                ));
            }
            let body = request.json();
            let group = live.groups.iter_mut().find(|g| g["id"] == *id)?;
            group["assignedLicenses"] = assign(&group["assignedLicenses"], &body);
            let answer = group.clone();
            live.changes.push(Change::Group(id.to_string()));
            live.process(id);
            ok(answer)
        }
        ("POST", ["users", id, "assignLicense"]) => {
            if let Some(left) = live.location_pending.get_mut(*id) {
                *left -= 1;
                if *left == 0 {
                    live.location_pending.remove(*id);
                }
                return Some((
                    400,
                    graph_error(
                        "Request_BadRequest",
                        "License assignment cannot be done for user with invalid usage location.",
                    ),
                    None,
                ));
            }
            let body = request.json();
            let user = live.users.iter_mut().find(|u| u["id"] == *id)?;
            let states = user["licenseAssignmentStates"].as_array_mut().unwrap();
            for removed in body["removeLicenses"].as_array().unwrap() {
                states.retain(|s| !(s["assignedByGroup"].is_null() && s["skuId"] == *removed));
            }
            for added in body["addLicenses"].as_array().unwrap() {
                states
                    .retain(|s| !(s["assignedByGroup"].is_null() && s["skuId"] == added["skuId"]));
                states.push(
                    json!({"assignedByGroup": null, "disabledPlans": added["disabledPlans"],
                    "error": "None", "lastUpdatedDateTime": "2026-11-02T08:00:00Z",
                    "skuId": added["skuId"], "state": "Active"}),
                );
            }
            user["assignedLicenses"] = assign(&user["assignedLicenses"], &body);
            let answer = user.clone();
            live.changes.push(Change::User(id.to_string()));
            ok(answer)
        }
        ("POST", ["groups"]) => {
            live.created += 1;
            let mut group = request.json();
            let id = format!("00000000-0000-4000-8000-{:012}", live.created);
            group["id"] = json!(id);
            group["assignedLicenses"] = json!([]);
            for field in [
                "description",
                "membershipRule",
                "membershipRuleProcessingState",
            ] {
                if group.get(field).is_none() {
                    group[field] = Value::Null;
                }
            }
            live.groups.push(group.clone());
            live.members.insert(id.clone(), Vec::new());
            live.changes.push(Change::Group(id.clone()));
            if behaviour.replication_delay > 0 {
                live.unreplicated
                    .insert(id.clone(), behaviour.replication_delay);
            }
            if behaviour.listing_lags {
                live.unlisted.push(id);
            }
            if behaviour.commit_then_unavailable > 0 {
                behaviour.commit_then_unavailable -= 1;
                return Some((
                    503,
                    graph_error(
                        "ServiceUnavailable",
                        "The service is temporarily unavailable.",
                    ),
                    Some("0".into()),
                ));
            }
            Some((201, group.to_string(), None))
        }
        ("PATCH", ["groups", id]) => {
            let group = live.groups.iter_mut().find(|g| g["id"] == *id)?;
            for (key, value) in request.json().as_object().unwrap() {
                group[key.as_str()] = value.clone();
            }
            live.changes.push(Change::Group(id.to_string()));
            no_content()
        }
        ("PATCH", ["users", id]) => {
            let user = live.users.iter_mut().find(|u| u["id"] == *id)?;
            let body = request.json();
            for (key, value) in body.as_object().unwrap() {
                user[key.as_str()] = value.clone();
            }
            live.changes.push(Change::User(id.to_string()));
            if body.get("usageLocation").is_some() && behaviour.location_lag > 0 {
                live.location_pending
                    .insert((*id).to_string(), behaviour.location_lag);
            }
            no_content()
        }
        ("POST", ["groups", id, "members", "$ref"]) => {
            let reference = request.json()["@odata.id"].as_str().unwrap().to_string();
            let user = reference.rsplit('/').next().unwrap().to_string();
            let member = live.member(&user);
            let members = live.members.get_mut(*id)?;
            if members.iter().any(|m| m["id"] == user.as_str()) {
                return Some((
                    400,
                    graph_error(
                        "Request_BadRequest",
                        "One or more added object references already exist for the following modified properties: 'members'.",
                    ),
                    None,
                ));
            }
            members.push(member);
            live.changes
                .push(Change::Member(id.to_string(), user.clone()));
            live.process(id);
            no_content()
        }
        ("DELETE", ["groups", id, "members", user, "$ref"]) => {
            let members = live.members.get_mut(*id)?;
            let before = members.len();
            members.retain(|m| m["id"] != *user);
            if members.len() == before {
                return missing();
            }
            live.changes
                .push(Change::Member(id.to_string(), user.to_string()));
            live.process(id);
            no_content()
        }
        ("DELETE", ["groups", id]) => {
            let before = live.groups.len();
            live.groups.retain(|g| g["id"] != *id);
            if live.groups.len() == before {
                return missing();
            }
            live.members.insert(id.to_string(), Vec::new());
            live.changes.push(Change::Group(id.to_string()));
            live.process(id);
            live.members.remove(*id);
            no_content()
        }
        _ => None,
    }
}

/// The running fake server.
pub struct FakeGraph {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// Every request, in order.
    pub log: Arc<Mutex<Vec<Recorded>>>,
    /// What to do besides answering normally.
    pub behaviour: Arc<Mutex<Behaviour>>,
    address: SocketAddr,
    connections: Arc<Connections>,
    accepting: Option<JoinHandle<()>>,
}

/// The connections a server has open, so that dropping it can close every one and join its
/// thread.
#[derive(Default)]
struct Connections {
    /// Set when the server is dropped; a held write waits on `stopped` until then.
    stopping: Mutex<bool>,
    stopped: Condvar,
    /// A clone of each open connection's stream, by the connection's number.
    open: Mutex<HashMap<u64, TcpStream>>,
    /// The thread of each connection not known to have ended.
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Connections {
    fn stopping(&self) -> bool {
        *self.stopping.lock().unwrap()
    }

    /// Blocks until the server is dropped.
    fn wait_until_stopped(&self) {
        let mut stopping = self.stopping.lock().unwrap();
        while !*stopping {
            stopping = self.stopped.wait(stopping).unwrap();
        }
    }
}

/// The longest request head read (request line and headers).
const MAX_HEAD: usize = 64 * 1024;

/// One request read off a connection.
struct Incoming {
    recorded: Recorded,
    authorization: Option<String>,
    /// The client asked to close the connection after the answer (`Connection: close`, or
    /// HTTP/1.0 without `keep-alive`).
    close: bool,
}

/// Why a request could not be read: the status answered before the connection is closed.
struct Unreadable(u16, &'static str);

/// Reads the next request off `stream`, `buffer` holding what was read past the previous one.
/// `Ok(None)`: the client closed the connection (or it was shut down) between requests.
fn read_request(
    stream: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> Result<Option<Incoming>, Unreadable> {
    let mut chunk = vec![0u8; 64 * 1024];
    let mut more = |stream: &mut TcpStream, buffer: &mut Vec<u8>| loop {
        match stream.read(&mut chunk) {
            Ok(0) => return false,
            Ok(read) => {
                buffer.extend_from_slice(&chunk[..read]);
                return true;
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    };
    let (head, incoming, length) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(buffer) {
            Ok(httparse::Status::Complete(head)) => {
                let header = |name: &str| {
                    request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .map(|h| String::from_utf8_lossy(h.value).trim().to_string())
                };
                // ureq sends every body seatplan makes with its length (JSON and forms are
                // serialized first), never chunked.
                if header("Transfer-Encoding").is_some() {
                    return Err(Unreadable(501, "Transfer-Encoding is not supported"));
                }
                let length = match header("Content-Length").map(|v| v.parse::<usize>()) {
                    None => 0,
                    Some(Ok(length)) => length,
                    Some(Err(_)) => return Err(Unreadable(400, "bad Content-Length")),
                };
                let connection = header("Connection")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let close = connection.contains("close")
                    || (request.version == Some(0) && !connection.contains("keep-alive"));
                let incoming = Incoming {
                    recorded: Recorded {
                        method: request.method.unwrap_or_default().to_string(),
                        url: request.path.unwrap_or_default().to_string(),
                        body: String::new(),
                    },
                    authorization: header("Authorization"),
                    close,
                };
                break (head, incoming, length);
            }
            Ok(httparse::Status::Partial) if buffer.len() > MAX_HEAD => {
                return Err(Unreadable(431, "the request head is too long"))
            }
            Ok(httparse::Status::Partial) => {
                if !more(stream, buffer) {
                    return Ok(None);
                }
            }
            Err(_) => return Err(Unreadable(400, "not an HTTP/1.1 request")),
        }
    };
    while buffer.len() < head + length {
        if !more(stream, buffer) {
            return Ok(None);
        }
    }
    let mut incoming = incoming;
    incoming.recorded.body = String::from_utf8_lossy(&buffer[head..head + length]).into_owned();
    buffer.drain(..head + length);
    Ok(Some(incoming))
}

/// The reason phrase of the statuses the server answers.
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Writes one answer: the body with its `Content-Length` (none for a 204, which has no body).
fn respond(
    stream: &mut TcpStream,
    status: u16,
    body: &str,
    headers: &[(&str, String)],
    close: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\n",
        reason(status)
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if status != 204 {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if status != 204 {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

/// Answers the requests of one connection, one after another, until the client closes it, asks
/// to close it, or the server is dropped: receives, waits out the latency (outside the lock, so
/// that requests on other connections overlap), answers.
fn serve(
    mut stream: TcpStream,
    log: &Mutex<Vec<Recorded>>,
    behaviour: &Mutex<Behaviour>,
    connections: &Connections,
    origin: &str,
) {
    let _ = stream.set_nodelay(true);
    let mut buffer = Vec::new();
    loop {
        let incoming = match read_request(&mut stream, &mut buffer) {
            Ok(Some(incoming)) => incoming,
            Ok(None) => return,
            Err(Unreadable(status, message)) => {
                let _ = respond(
                    &mut stream,
                    status,
                    &graph_error("BadRequest", message),
                    &[],
                    true,
                );
                return;
            }
        };
        let Incoming {
            recorded,
            authorization,
            close,
        } = incoming;
        log.lock().unwrap().push(recorded.clone());
        let write = recorded.url.starts_with("/v1.0")
            && recorded.method != "GET"
            && recorded.url != "/v1.0/$batch";
        let latency = {
            let mut behaviour = behaviour.lock().unwrap();
            if write
                && behaviour
                    .hold_writes_after
                    .is_some_and(|limit| behaviour.writes_answered >= limit)
            {
                drop(behaviour);
                // Received and never answered: the connection stays open until the server is
                // dropped.
                connections.wait_until_stopped();
                return;
            }
            if write {
                behaviour.writes_answered += 1;
            }
            behaviour.latency
        };
        std::thread::sleep(latency);
        let mut charged = None;
        let (status, body, retry_after) = {
            let mut behaviour = behaviour.lock().unwrap();
            // Tests change the tenant between requests: lookups are made afresh for each.
            if let Some(live) = behaviour.live.as_mut() {
                live.index = None;
            }
            answer(
                &recorded,
                authorization.as_deref(),
                &mut behaviour,
                origin,
                &mut charged,
            )
        };
        let mut headers = Vec::new();
        if let Some(seconds) = retry_after {
            headers.push(("Retry-After", seconds));
        }
        if let Some(units) = charged {
            headers.push(("x-ms-resource-unit", units.to_string()));
        }
        if respond(&mut stream, status, &body, &headers, close).is_err() || close {
            return;
        }
    }
}

/// Accepts connections until the server is dropped, each served by a thread of its own.
fn accept(
    listener: TcpListener,
    log: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
    connections: Arc<Connections>,
    origin: String,
) {
    for (number, stream) in (0u64..).zip(listener.incoming()) {
        if connections.stopping() {
            return;
        }
        let Ok(stream) = stream else {
            continue;
        };
        let Ok(clone) = stream.try_clone() else {
            continue;
        };
        connections.open.lock().unwrap().insert(number, clone);
        let (log, behaviour, shared, origin) = (
            log.clone(),
            behaviour.clone(),
            connections.clone(),
            origin.clone(),
        );
        let thread = std::thread::spawn(move || {
            serve(stream, &log, &behaviour, &shared, &origin);
            shared.open.lock().unwrap().remove(&number);
        });
        let mut threads = connections.threads.lock().unwrap();
        // A finished thread needs no join.
        threads.retain(|thread| !thread.is_finished());
        threads.push(thread);
    }
}

impl FakeGraph {
    /// Starts a server on an ephemeral port.
    pub fn start() -> FakeGraph {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let origin = format!("http://127.0.0.1:{}", address.port());
        let log = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour::default()));
        let connections = Arc::new(Connections::default());
        let accepting = {
            let (log, behaviour, connections, origin) = (
                log.clone(),
                behaviour.clone(),
                connections.clone(),
                origin.clone(),
            );
            std::thread::spawn(move || accept(listener, log, behaviour, connections, origin))
        };
        FakeGraph {
            origin,
            log,
            behaviour,
            address,
            connections,
            accepting: Some(accepting),
        }
    }

    /// The Graph base URL of the fake server.
    pub fn graph_base(&self) -> String {
        format!("{}/v1.0", self.origin)
    }

    /// Starts a server serving (and changing) the export fixtures' tenant, changed first by
    /// `setup`.
    pub fn start_live(setup: impl FnOnce(&mut Live)) -> FakeGraph {
        let server = FakeGraph::start();
        let mut live = Live::from_export();
        setup(&mut live);
        server.behaviour.lock().unwrap().live = Some(live);
        server
    }

    /// A copy of the live tenant as it is now.
    pub fn live(&self) -> Live {
        self.behaviour.lock().unwrap().live.clone().unwrap()
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    /// Answers `statuses` to the next requests of `path` before answering normally.
    pub fn fail(&self, path: &str, statuses: &[u16]) {
        self.behaviour
            .lock()
            .unwrap()
            .failures
            .insert(path.to_string(), statuses.iter().copied().collect());
    }
}

impl Drop for FakeGraph {
    /// Stops accepting, shuts every open connection down (a client waiting on one sees it
    /// closed), releases the held writes and joins every thread.
    fn drop(&mut self) {
        *self.connections.stopping.lock().unwrap() = true;
        self.connections.stopped.notify_all();
        // Wakes the accept loop, which then sees `stopping`.
        let _ = TcpStream::connect(self.address);
        if let Some(accepting) = self.accepting.take() {
            let _ = accepting.join();
        }
        for stream in self.connections.open.lock().unwrap().values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
        let threads = std::mem::take(&mut *self.connections.threads.lock().unwrap());
        for thread in threads {
            let _ = thread.join();
        }
    }
}

fn fixture(relative: &str) -> Value {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join(relative)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// An export page with its `@odata.nextLink` pointed at the fake server.
fn page(relative: &str, next: Option<String>) -> Value {
    let mut body = fixture(relative);
    let object = body.as_object_mut().unwrap();
    match next {
        Some(next) => {
            object.insert("@odata.nextLink".into(), Value::String(next));
        }
        None => {
            object.remove("@odata.nextLink");
        }
    }
    body
}

/// The parts of [`Behaviour`] the live tenant's answers use.
struct Extras {
    refuse_delta: Option<u16>,
    failing_group: Option<String>,
    replication_delay: u32,
    listing_lags: bool,
    location_lag: u32,
    commit_then_unavailable: u32,
}

fn graph_error(code: &str, message: &str) -> String {
    json!({"error": {"code": code, "message": message}}).to_string()
}

/// Answers one request (`(status, body, Retry-After)`); `charged` receives the resource units
/// the request was charged, when it was (sent back as `x-ms-resource-unit`).
fn answer(
    request: &Recorded,
    authorization: Option<&str>,
    behaviour: &mut Behaviour,
    origin: &str,
    charged: &mut Option<u32>,
) -> (u16, String, Option<String>) {
    let (path, query) = request.url.split_once('?').unwrap_or((&request.url, ""));
    if let Some(statuses) = behaviour.failures.get_mut(path) {
        if let Some(status) = statuses.pop_front() {
            let body = if status == 429 {
                fixture("api/error-429.response.json").to_string()
            } else {
                graph_error(
                    "ServiceUnavailable",
                    "The service is temporarily unavailable.",
                )
            };
            return (status, body, Some(behaviour.retry_after.to_string()));
        }
    }
    if path == format!("/{TENANT}/oauth2/v2.0/token") {
        let form: HashMap<String, String> = request
            .body
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.to_string(), decode(v)))
            .collect();
        let secret = form.get("client_secret").cloned().unwrap_or_default();
        let assertion_ok = form.get("client_assertion").is_some_and(|jwt| {
            form.get("client_assertion_type").map(String::as_str)
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                && valid_assertion(jwt, &format!("{origin}{path}"))
        });
        let good = request.method == "POST"
            && form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.get("scope").map(String::as_str) == Some(&format!("{origin}/.default"))
            && (secret == CLIENT_SECRET || assertion_ok);
        if !good {
            let description = if behaviour.echo_form {
                format!(
                    "AADSTS7000215: Invalid client secret provided. Request: {}",
                    request.body
                )
            } else if behaviour.echo_secret {
                format!("AADSTS7000215: Invalid client secret provided: {secret}")
            } else {
                "AADSTS7000215: Invalid client secret provided.".to_string()
            };
            let body = json!({"error": "invalid_client", "error_description": description});
            return (401, body.to_string(), None);
        }
        return (200, fixture("api/token.response.json").to_string(), None);
    }
    static BEARER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let bearer = BEARER.get_or_init(|| {
        let token = fixture("api/token.response.json")["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        format!("Bearer {token}")
    });
    if authorization != Some(bearer.as_str()) {
        return (
            401,
            graph_error("InvalidAuthenticationToken", "Access token is empty."),
            None,
        );
    }
    let Some(path) = path.strip_prefix("/v1.0") else {
        return (
            404,
            graph_error("Request_ResourceNotFound", "not found"),
            None,
        );
    };
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if request.method == "POST" && segments == ["$batch"] {
        let body = batch(&request.json(), authorization, behaviour, origin);
        return (200, body, None);
    }
    if request.method != "GET" {
        if let Err(seconds) = behaviour.charge_write() {
            return (
                429,
                fixture("api/error-429.response.json").to_string(),
                Some(seconds.to_string()),
            );
        }
    }
    let units = units_of(&request.method, path, query) + behaviour.surcharge;
    if let Err(seconds) = behaviour.charge(units) {
        return (
            429,
            fixture("api/error-429.response.json").to_string(),
            Some(seconds.to_string()),
        );
    }
    *charged = Some(units);
    let second_page = query.contains("$skiptoken=page2");
    let ok = |body: Value| (200, body.to_string(), None);
    let mut extras = Extras {
        refuse_delta: behaviour.refuse_delta,
        failing_group: behaviour.failing_license_group.clone(),
        replication_delay: behaviour.replication_delay,
        listing_lags: behaviour.listing_lags,
        location_lag: behaviour.location_lag,
        commit_then_unavailable: behaviour.commit_then_unavailable,
    };
    if let Some(live) = behaviour.live.as_mut() {
        let answer = live_answer(request, &segments, query, live, &mut extras, origin);
        behaviour.commit_then_unavailable = extras.commit_then_unavailable;
        return answer.unwrap_or_else(|| {
            (
                404,
                graph_error("Request_ResourceNotFound", "Resource does not exist."),
                None,
            )
        });
    }
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["exported", "users"]) => ok(fixture("export/users.json")),
        ("GET", ["organization"]) => ok(fixture("export/organization.json")),
        ("GET", ["subscribedSkus"]) => ok(fixture("export/subscribedSkus.json")),
        ("GET", ["users"]) if second_page => ok(page("export/users-2.json", None)),
        ("GET", ["users"]) => ok(page(
            "export/users.json",
            Some(format!("{origin}/v1.0/users?$skiptoken=page2")),
        )),
        ("GET", ["groups"]) => ok(fixture("export/groups.json")),
        ("GET", ["groups", id, "members"]) => ok(members_page(id, second_page, origin)),
        ("GET", ["groups", _id]) if query.contains("licenseProcessingState") => {
            ok(fixture("api/group-licenseProcessingState.response.json"))
        }
        ("POST", ["groups", id, "assignLicense"]) => {
            if behaviour.failing_license_group.as_deref() == Some(*id) {
                (
                    400,
                    fixture("api/error-assignLicense-400.response.json").to_string(),
                    None,
                )
            } else {
                let mut group = fixture("api/group-assignLicense.response.json");
                group["id"] = json!(id);
                ok(group)
            }
        }
        ("POST", ["users", id, "assignLicense"]) => {
            let add = request.json()["addLicenses"].clone();
            ok(
                json!({"id": id, "userPrincipalName": "eli@fabrikam.com", "usageLocation": "IE", "assignedLicenses": add}),
            )
        }
        ("POST", ["groups"]) => {
            let mut group = request.json();
            group["id"] = json!("1132b215-826f-42a9-8cfe-1643d19d17fd");
            (201, group.to_string(), None)
        }
        ("PATCH", ["groups", _]) | ("PATCH", ["users", _]) => (204, String::new(), None),
        ("POST", ["groups", _, "members", "$ref"]) => (204, String::new(), None),
        ("DELETE", ["groups", _, "members", _, "$ref"]) | ("DELETE", ["groups", _]) => {
            (204, String::new(), None)
        }
        _ => (
            404,
            graph_error("Request_ResourceNotFound", "not found"),
            None,
        ),
    }
}

fn members_page(id: &str, second_page: bool, origin: &str) -> Value {
    let paged = Path::new(FIXTURES)
        .join(format!("export/members/{id}-2.json"))
        .exists();
    if second_page {
        page(&format!("export/members/{id}-2.json"), None)
    } else if paged {
        page(
            &format!("export/members/{id}.json"),
            Some(format!(
                "{origin}/v1.0/groups/{id}/members?$skiptoken=page2"
            )),
        )
    } else {
        page(&format!("export/members/{id}.json"), None)
    }
}

/// Answers each inner request of a `$batch` as if it came alone (charged one by one); the inner
/// bodies are put into the answer as they were written.
fn batch(
    request: &Value,
    authorization: Option<&str>,
    behaviour: &mut Behaviour,
    origin: &str,
) -> String {
    let responses: Vec<String> = request["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|inner| {
            let id = inner["id"].clone();
            let url = inner["url"].as_str().unwrap();
            let group = url
                .trim_start_matches("/groups/")
                .split('/')
                .next()
                .unwrap()
                .to_string();
            if let Some(at) = behaviour.throttle_in_batch.iter().position(|g| *g == group) {
                behaviour.throttle_in_batch.remove(at);
                let throttled = fixture("api/batch.response.json")["responses"][1].clone();
                let mut throttled = throttled;
                throttled["id"] = id;
                throttled["headers"]["Retry-After"] = json!("0");
                return throttled.to_string();
            }
            let alone = Recorded {
                method: inner["method"].as_str().unwrap_or("GET").to_string(),
                url: format!("/v1.0{url}"),
                body: inner.get("body").map(Value::to_string).unwrap_or_default(),
            };
            let mut charged = None;
            let (status, body, retry_after) =
                answer(&alone, authorization, behaviour, origin, &mut charged);
            let mut headers = json!({"Content-Type": "application/json"});
            if let Some(seconds) = retry_after {
                headers["Retry-After"] = json!(seconds);
            }
            if let Some(units) = charged {
                headers["x-ms-resource-unit"] = json!(units.to_string());
            }
            let body = if serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok() {
                body
            } else {
                "null".to_string()
            };
            format!(r#"{{"id":{id},"status":{status},"headers":{headers},"body":{body}}}"#)
        })
        .collect();
    format!(r#"{{"responses":[{}]}}"#, responses.join(","))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                index += 2;
            }
            byte => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8(out).unwrap()
}

/// The PEM file (certificate and private key) of the fake app registration.
pub const CERTIFICATE: &str = "tests/fixtures/graph/client-certificate.pem";

/// Checks a client assertion: RS256 signature by the fixture's key, the certificate's SHA-256
/// thumbprint, the audience and the client id.
fn valid_assertion(jwt: &str, audience: &str) -> bool {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ring::signature::{RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};

    let pem = std::fs::read(CERTIFICATE).unwrap();
    let key = PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap();
    let key = RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()).unwrap();
    let certificate = CertificateDer::from_pem_slice(&pem).unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return false;
    };
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public().as_ref());
    if public
        .verify(format!("{header}.{claims}").as_bytes(), &signature)
        .is_err()
    {
        return false;
    }
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    let thumbprint = ring::digest::digest(&ring::digest::SHA256, &certificate);
    header["alg"] == "RS256"
        && header["x5t#S256"] == URL_SAFE_NO_PAD.encode(thumbprint.as_ref())
        && claims["aud"] == audience
        && claims["iss"] == "11111111-2222-3333-4444-555555555555"
        && claims["sub"] == claims["iss"]
        && claims["exp"].as_u64() > claims["nbf"].as_u64()
}
