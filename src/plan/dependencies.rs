//! What a plan's decisions read, fingerprinted object by object: the groups the config manages
//! (with their members), the users whose licensing the plan changes or predicts, the
//! subscriptions' seats and the tenant's default location. A saved plan records these; when the
//! tenant changed before `apply PLANFILE`, they say *which* objects the plan depends on changed,
//! while the recomputed plan decides whether it may go ahead (a live directory always changes
//! somewhere between review and apply; a change elsewhere is no reason to refuse).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::desired::Desired;
use super::document::Impact;
use crate::tenant::index::{Tenant, UserIdx};
use crate::tenant::model::TenantState;

/// The key of the tenant-wide facts (the default usage location).
pub const TENANT_KEY: &str = "tenant";

/// Fingerprints keyed by object: `tenant`, `subscription:<sku>`, `group:<id>`, `user:<id>`.
pub type Dependencies = BTreeMap<String, String>;

/// `sha256:` and the first 16 bytes of the hash of `value`'s JSON: enough to tell that an object
/// changed, short enough for a plan that reads many users.
fn fingerprint(value: &impl Serialize) -> String {
    fingerprint_in(&mut Vec::new(), value)
}

/// [`fingerprint`], writing the JSON into `json` (empty; reused between calls).
fn fingerprint_in(json: &mut Vec<u8>, value: &impl Serialize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Writing into a vector fails only for values that are not JSON, which tenant state is.
    let _ = serde_json::to_writer(&mut *json, value);
    let digest = Sha256::digest(json);
    let mut text = String::with_capacity("sha256:".len() + 32);
    text.push_str("sha256:");
    for &byte in digest.iter().take(16) {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

/// The objects of `state` a plan depends on. `members_before` and `members_after` are the
/// effective members per group before and after the change (`after` indexed like the desired
/// tenant, whose created groups come last).
pub fn collect(
    state: &TenantState,
    tenant: &Tenant,
    desired: &Desired,
    members_before: &[Vec<UserIdx>],
    members_after: &[Vec<UserIdx>],
    impact: &Impact,
) -> Dependencies {
    let mut found = Dependencies::new();
    found.insert(TENANT_KEY.to_string(), fingerprint(&state.tenant));
    for subscription in &state.subscriptions {
        found.insert(
            format!("subscription:{}", subscription.sku),
            fingerprint(subscription),
        );
    }
    // The users read, marked by index: a plan of a large tenant reads most of them, through
    // member lists that overlap (a set of a million entries cost seconds of inserts).
    let mut read = vec![false; state.users.len()];
    let mut mark = |index: usize| {
        if let Some(slot) = read.get_mut(index) {
            *slot = true;
        }
    };
    for (_, index) in desired.managed_groups.iter().chain(&desired.deleted) {
        if let Some(group) = state.groups.get(*index) {
            found.insert(format!("group:{}", group.id), fingerprint(group));
        }
        for list in [members_before.get(*index), members_after.get(*index)]
            .into_iter()
            .flatten()
        {
            list.iter().for_each(|user| mark(user.0 as usize));
        }
    }
    desired
        .managed_users
        .iter()
        .for_each(|(_, index)| mark(*index));
    impact
        .users
        .iter()
        .filter_map(|user| tenant.user(&user.user))
        .for_each(|user| mark(user.0 as usize));
    // Their fingerprints are taken in parallel, each user's JSON written into a buffer of the
    // thread's, and the map is built from them sorted rather than by a million inserts.
    let mut entries: Vec<(String, String)> = read
        .par_iter()
        .zip(&state.users)
        .filter(|(read, _)| **read)
        .map_init(Vec::new, |json, (_, user)| {
            json.clear();
            (format!("user:{}", user.id), fingerprint_in(json, user))
        })
        .collect();
    entries.par_sort_by(|a, b| a.0.cmp(&b.0));
    // `user:` sorts after `tenant`, `subscription:` and `group:`, so the whole list is in order
    // and the map is built from it in one pass (equal keys keep the last value, as inserts do).
    found.into_iter().chain(entries).collect()
}

/// The objects whose fingerprint differs between a saved plan's `saved` and `now` (recomputed
/// against the tenant as it is), each as a line for people: what it is and how it changed.
/// Display names come from `state`, the tenant as it is now.
pub fn changed(saved: &Dependencies, now: &Dependencies, state: &TenantState) -> Vec<String> {
    let name = |key: &str| -> String {
        match key.split_once(':') {
            Some(("group", id)) => state
                .groups
                .iter()
                .find(|group| group.id == id)
                .map_or_else(
                    || format!("group {id}"),
                    |group| format!("group \"{}\" ({id})", group.display_name),
                ),
            Some(("user", id)) => state
                .users
                .iter()
                .find(|user| user.id == id)
                .map_or_else(|| format!("user {id}"), |user| format!("user {}", user.upn)),
            Some(("subscription", sku)) => format!("subscription {sku}"),
            _ => "the tenant's settings (default usage location)".to_string(),
        }
    };
    let mut lines = Vec::new();
    for (key, fingerprint) in saved {
        match now.get(key) {
            Some(current) if current == fingerprint => {}
            Some(_) => lines.push(format!("{} changed", name(key))),
            None if key.starts_with("group:") || key.starts_with("subscription:") => {
                lines.push(format!("{} is gone", name(key)));
            }
            // A user the plan no longer reads: either gone or out of the plan's reach now.
            None => lines.push(format!("{} is gone or no longer affected", name(key))),
        }
    }
    for key in now.keys().filter(|key| !saved.contains_key(*key)) {
        lines.push(format!("{} is new to the plan", name(key)));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> Dependencies {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn changed_objects_are_named_from_the_current_state() {
        let state: TenantState = serde_yaml::from_str(
            "version: 1\ntenant: {}\nusers: [ { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com } ]\n\
             groups: [ { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Sales } ]\n",
        )
        .unwrap();
        let saved = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("user:6ca202c8-8e54-4dff-88c0-9bfafbfc60b2", "d"),
            ("subscription:EMS", "e"),
        ]);
        let now = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "B"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("subscription:EMS", "E"),
            ("user:011e39ef-e225-40f4-8339-ad19cd180f4d", "f"),
        ]);
        assert_eq!(
            changed(&saved, &now, &state),
            [
                "group \"Sales\" (711430f6-164e-4380-8d93-428bc1fab80f) changed",
                "subscription EMS changed",
                "user 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2 is gone or no longer affected",
                "user 011e39ef-e225-40f4-8339-ad19cd180f4d is new to the plan",
            ]
        );
        assert!(changed(&saved, &saved, &state).is_empty());
    }

    #[test]
    fn fingerprints_follow_the_content() {
        assert_eq!(fingerprint(&"a"), fingerprint(&"a"));
        assert_ne!(fingerprint(&"a"), fingerprint(&"b"));
        assert_eq!(fingerprint(&"a").len(), "sha256:".len() + 32);
    }
}
