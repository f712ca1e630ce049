//! What a plan's decisions read, fingerprinted object by object: the groups the config manages,
//! the ids of their effective members, the users whose licensing the plan changes and the users
//! the config manages, the subscriptions' seats and the tenant's default location. A saved plan
//! records these; when the tenant changed before `apply PLANFILE`, they say *which* objects the
//! plan depends on changed, while the recomputed plan decides whether it may go ahead (a live
//! directory always changes somewhere between review and apply; a change elsewhere is no reason
//! to refuse).
//!
//! A member whose licensing the plan leaves alone is read through its group's member list, and
//! recorded there: a change of who is a member shows as a change of `members:<group id>`, and a
//! member whose licensing the recomputed plan now changes shows as a user new to the plan. What
//! such a member's other attributes are is not recorded (the plan's changes do not read it, and
//! a fingerprint per member was most of what a plan of a large tenant wrote), so the cost is the
//! users the plan moves and one hash of each managed group's member ids.
//!
//! Plan files written before `members:` was recorded fingerprinted every member as a `user:`
//! entry; [`changed`] compares them on what both forms record.

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

/// Fingerprints keyed by object: `tenant`, `subscription:<sku>`, `group:<id>` (the group as the
/// state holds it), `members:<id>` (the ids of its effective members before and after the
/// change) and `user:<id>`.
pub type Dependencies = BTreeMap<String, String>;

/// `sha256:` and the first 16 bytes of the hash of `value`'s JSON: enough to tell that an object
/// changed, short enough for a plan that reads many users.
fn fingerprint(value: &impl Serialize) -> String {
    fingerprint_in(&mut Vec::new(), value)
}

/// [`fingerprint`], writing the JSON into `json` (empty; reused between calls).
fn fingerprint_in(json: &mut Vec<u8>, value: &impl Serialize) -> String {
    // Writing into a vector fails only for values that are not JSON, which tenant state is.
    let _ = serde_json::to_writer(&mut *json, value);
    shortened(Sha256::digest(json).as_slice())
}

/// `sha256:` and the first 16 bytes of `digest` in hex.
fn shortened(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity("sha256:".len() + 32);
    text.push_str("sha256:");
    for &byte in digest.iter().take(16) {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    text
}

/// The fingerprint of a group's effective members: their object ids in the tenant's order, each
/// ended by a newline, and when the change gives the group other members, `->` and theirs.
/// `text` is a buffer (empty; reused between calls). It follows the state's order of the users,
/// so a state that lists the same users in another order shows its groups' members as changed.
fn members_fingerprint(
    text: &mut Vec<u8>,
    tenant: &Tenant,
    before: &[UserIdx],
    after: &[UserIdx],
) -> String {
    write_ids(text, tenant, before);
    if before != after {
        text.extend_from_slice(b"->\n");
        write_ids(text, tenant, after);
    }
    shortened(Sha256::digest(&text[..]).as_slice())
}

/// Appends the object ids of `members` to `text`, each ended by a newline.
fn write_ids(text: &mut Vec<u8>, tenant: &Tenant, members: &[UserIdx]) {
    for user in members {
        if let Some(user) = tenant.users.get(user.0 as usize) {
            text.extend_from_slice(user.id.as_bytes());
            text.push(b'\n');
        }
    }
}

/// The objects of `state` a plan depends on. `members_before` and `members_after` are the
/// effective members per group before and after the change (`after` indexed like the desired
/// tenant, whose created groups come last); the users recorded are those the config manages and
/// those in `impact` (whose licensing the plan changes).
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
    // A group created by the plan has no object yet; its members are read through the users
    // whose licensing it changes.
    let groups: Vec<usize> = desired
        .managed_groups
        .iter()
        .chain(&desired.deleted)
        .map(|(_, index)| *index)
        .filter(|index| *index < state.groups.len())
        .collect();
    let no_members = Vec::new();
    // Each thread writes the JSON and the ids into buffers of its own, reused group by group.
    let group_entries: Vec<[(String, String); 2]> = groups
        .par_iter()
        .map_init(Vec::new, |buffer, &index| {
            let group = &state.groups[index];
            let before = members_before.get(index).unwrap_or(&no_members);
            let after = members_after.get(index).unwrap_or(&no_members);
            buffer.clear();
            let object = fingerprint_in(buffer, group);
            buffer.clear();
            let members = members_fingerprint(buffer, tenant, before, after);
            [
                (format!("group:{}", group.id), object),
                (format!("members:{}", group.id), members),
            ]
        })
        .collect();
    found.extend(group_entries.into_iter().flatten());
    let mut users: Vec<usize> = desired
        .managed_users
        .iter()
        .map(|(_, index)| *index)
        .chain(
            impact
                .users
                .iter()
                .filter_map(|user| tenant.user(&user.user))
                .map(|user| user.0 as usize),
        )
        .filter(|index| *index < state.users.len())
        .collect();
    users.sort_unstable();
    users.dedup();
    let user_entries: Vec<(String, String)> = users
        .par_iter()
        .map(|&index| {
            let user = &state.users[index];
            (format!("user:{}", user.id), fingerprint(user))
        })
        .collect();
    found.extend(user_entries);
    found
}

/// The objects whose fingerprint differs between a saved plan's `saved` and `now` (recomputed
/// against the tenant as it is), each as a line for people: what it is and how it changed.
/// Display names come from `state`, the tenant as it is now.
///
/// A saved plan from before `members:` was recorded (a `group:` without its `members:`) listed
/// every member of its groups as a `user:`: its users that the plan now does not record, and the
/// `members:` it did not record, are left out of the comparison.
pub fn changed(saved: &Dependencies, now: &Dependencies, state: &TenantState) -> Vec<String> {
    let group_name = |id: &str| -> String {
        state
            .groups
            .iter()
            .find(|group| group.id == id)
            .map_or_else(
                || format!("group {id}"),
                |group| format!("group \"{}\" ({id})", group.display_name),
            )
    };
    let name = |key: &str| -> String {
        match key.split_once(':') {
            Some(("group", id)) => group_name(id),
            Some(("members", id)) => format!("the members of {}", group_name(id)),
            Some(("user", id)) => state
                .users
                .iter()
                .find(|user| user.id == id)
                .map_or_else(|| format!("user {id}"), |user| format!("user {}", user.upn)),
            Some(("subscription", sku)) => format!("subscription {sku}"),
            _ => "the tenant's settings (default usage location)".to_string(),
        }
    };
    let older = saved
        .keys()
        .filter_map(|key| key.strip_prefix("group:"))
        .any(|id| !saved.contains_key(&format!("members:{id}")));
    // The group a `members:` key belongs to, when that group's own line says it is gone or new.
    let group_of = |key: &str| key.strip_prefix("members:").map(|id| format!("group:{id}"));
    let mut lines = Vec::new();
    for (key, fingerprint) in saved {
        match now.get(key) {
            Some(current) if current == fingerprint => {}
            Some(_) => lines.push(format!("{} changed", name(key))),
            None if older && key.starts_with("user:") => {}
            None if group_of(key).is_some_and(|group| !now.contains_key(&group)) => {}
            None if key.starts_with("group:")
                || key.starts_with("members:")
                || key.starts_with("subscription:") =>
            {
                lines.push(format!("{} is gone", name(key)));
            }
            // A user the plan no longer reads: either gone or out of the plan's reach now.
            None => lines.push(format!("{} is gone or no longer affected", name(key))),
        }
    }
    for key in now.keys().filter(|key| !saved.contains_key(*key)) {
        let members = key.starts_with("members:");
        if members && (older || group_of(key).is_some_and(|group| !saved.contains_key(&group))) {
            continue;
        }
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

    const STATE: &str = "version: 1\ntenant: {}\nusers: [ { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com } ]\n\
         groups: [ { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Sales } ]\n";

    #[test]
    fn changed_objects_are_named_from_the_current_state() {
        let state: TenantState = serde_yaml::from_str(STATE).unwrap();
        let saved = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("members:711430f6-164e-4380-8d93-428bc1fab80f", "m"),
            ("group:3f0c2b1e-5f0a-4c86-9d7e-6a1b2c3d4e5f", "g"),
            ("members:3f0c2b1e-5f0a-4c86-9d7e-6a1b2c3d4e5f", "n"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("user:6ca202c8-8e54-4dff-88c0-9bfafbfc60b2", "d"),
            ("subscription:EMS", "e"),
        ]);
        let now = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "B"),
            ("members:711430f6-164e-4380-8d93-428bc1fab80f", "M"),
            ("group:0d6f3c7a-1b2e-4f5a-8c9d-0e1f2a3b4c5d", "h"),
            ("members:0d6f3c7a-1b2e-4f5a-8c9d-0e1f2a3b4c5d", "o"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("subscription:EMS", "E"),
            ("user:011e39ef-e225-40f4-8339-ad19cd180f4d", "f"),
        ]);
        // A group gone or new is one line, not one for the group and one for its members.
        assert_eq!(
            changed(&saved, &now, &state),
            [
                "group 3f0c2b1e-5f0a-4c86-9d7e-6a1b2c3d4e5f is gone",
                "group \"Sales\" (711430f6-164e-4380-8d93-428bc1fab80f) changed",
                "the members of group \"Sales\" (711430f6-164e-4380-8d93-428bc1fab80f) changed",
                "subscription EMS changed",
                "user 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2 is gone or no longer affected",
                "group 0d6f3c7a-1b2e-4f5a-8c9d-0e1f2a3b4c5d is new to the plan",
                "user 011e39ef-e225-40f4-8339-ad19cd180f4d is new to the plan",
            ]
        );
        assert!(changed(&saved, &saved, &state).is_empty());
    }

    #[test]
    fn a_plan_file_that_fingerprinted_every_member_is_compared_on_what_both_record() {
        let state: TenantState = serde_yaml::from_str(STATE).unwrap();
        // Written before `members:` was recorded: every member of Sales was a `user:` entry.
        let saved = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("user:6ca202c8-8e54-4dff-88c0-9bfafbfc60b2", "d"),
        ]);
        let now = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("members:711430f6-164e-4380-8d93-428bc1fab80f", "m"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "C"),
        ]);
        assert_eq!(
            changed(&saved, &now, &state),
            ["user ann@contoso.com changed"]
        );
    }

    #[test]
    fn a_groups_members_fingerprint_follows_their_ids_and_the_change() {
        let state: TenantState = serde_yaml::from_str(
            "version: 1\ntenant: {}\nusers: [ { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com },\
             { id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: bob@contoso.com } ]\n",
        )
        .unwrap();
        let tenant = crate::tenant::index::build(
            &state,
            crate::catalog::Catalog::builtin(),
            crate::source::SourceId(0),
        )
        .expect("the state indexes");
        let (ann, bob) = (UserIdx(0), UserIdx(1));
        let of = |before: &[UserIdx], after: &[UserIdx]| {
            members_fingerprint(&mut Vec::new(), &tenant, before, after)
        };
        let both = of(&[ann, bob], &[ann, bob]);
        assert_eq!(both, of(&[ann, bob], &[ann, bob]));
        assert_ne!(both, of(&[ann], &[ann]));
        // A change that gives the group other members is another fingerprint than no change.
        assert_ne!(both, of(&[ann, bob], &[ann]));
        assert_ne!(of(&[ann], &[ann, bob]), of(&[ann, bob], &[ann]));
        assert_eq!(both.len(), "sha256:".len() + 32);
    }

    #[test]
    fn fingerprints_follow_the_content() {
        assert_eq!(fingerprint(&"a"), fingerprint(&"a"));
        assert_ne!(fingerprint(&"a"), fingerprint(&"b"));
        assert_eq!(fingerprint(&"a").len(), "sha256:".len() + 32);
    }
}
