//! What a plan's decisions read, fingerprinted object by object: the settings of the groups the
//! config manages, the members the plan moves into and out of each group, the users whose
//! licensing the plan changes and the users the config manages, the subscriptions' seats and the
//! tenant's default location. A saved plan records these; when the tenant changed before `apply
//! PLANFILE`, they say *which* objects the plan depends on changed, while the recomputed plan
//! decides whether it may go ahead (a live directory always changes somewhere between review and
//! apply; a change elsewhere is no reason to refuse).
//!
//! Who is a member of a group is recorded only where the plan changes it, as the members it moves
//! in and out: a member the plan leaves alone is the service's business, and whether a change of
//! theirs matters is for the recomputed plan to say (a member whose licensing the recomputed plan
//! now changes shows as a user new to the plan). So the cost is the tenant's groups (their
//! settings, a few hundred bytes each) and the users the plan moves, not the tenant's
//! memberships.
//!
//! Plan files written before this form fingerprinted each group with its member list
//! (`group:<id>`, and `members:<id>` the ids of all its members); [`changed`] leaves those out of
//! the comparison and compares the rest.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::desired::Desired;
use super::document::Impact;
use crate::tenant::index::{Tenant, UserIdx};
use crate::tenant::model::{GroupState, TenantState};

/// The key of the tenant-wide facts (the default usage location).
pub const TENANT_KEY: &str = "tenant";

/// Fingerprints keyed by object: `tenant`, `subscription:<sku>`, `group-settings:<id>` (the group
/// as the state holds it, without its members), `group-moves:<id>` (the members the change adds
/// and removes, for a group whose members it changes) and `user:<id>`.
pub type Dependencies = BTreeMap<String, String>;

/// `sha256:` and the first 16 bytes of the hash of `value`'s JSON: enough to tell that an object
/// changed, short enough for a plan that reads many users.
fn fingerprint(value: &impl Serialize) -> String {
    let mut json = Vec::new();
    // Writing into a vector fails only for values that are not JSON, which tenant state is.
    let _ = serde_json::to_writer(&mut json, value);
    shortened(Sha256::digest(&json).as_slice())
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

/// The fingerprint of a group's settings: everything the state holds of it but its members.
fn settings_fingerprint(group: &GroupState) -> String {
    /// The group's fields but its members, borrowed.
    #[derive(Serialize)]
    struct Settings<'a> {
        id: &'a str,
        display_name: &'a str,
        description: &'a Option<String>,
        security_enabled: bool,
        mail_enabled: bool,
        rule: &'a Option<String>,
        rule_processing: &'a Option<crate::config::RuleProcessing>,
        licenses: &'a [crate::tenant::model::AssignedLicense],
    }
    // Every field named: a field added to the group is a decision to make here.
    let GroupState {
        id,
        display_name,
        description,
        security_enabled,
        mail_enabled,
        rule,
        rule_processing,
        members: _,
        licenses,
    } = group;
    fingerprint(&Settings {
        id,
        display_name,
        description,
        security_enabled: *security_enabled,
        mail_enabled: *mail_enabled,
        rule,
        rule_processing,
        licenses,
    })
}

/// The fingerprint of the members a change moves in a group: `+` and the object id of each
/// member it adds, `-` and the id of each it removes, in the tenant's order, one per line;
/// `None` when the change leaves the group's members as they are. `before` and `after` are
/// sorted, so the comparison is one pass over them.
fn moves_fingerprint(tenant: &Tenant, before: &[UserIdx], after: &[UserIdx]) -> Option<String> {
    if before == after {
        return None;
    }
    let mut text = Vec::new();
    let mut write = |sign: u8, user: UserIdx| {
        if let Some(user) = tenant.users.get(user.0 as usize) {
            text.push(sign);
            text.extend_from_slice(user.id.as_bytes());
            text.push(b'\n');
        }
    };
    let (mut old, mut new) = (before.iter().peekable(), after.iter().peekable());
    loop {
        match (old.peek(), new.peek()) {
            (Some(&&left), Some(&&joined)) if left == joined => {
                old.next();
                new.next();
            }
            (Some(&&left), Some(&&joined)) if left < joined => {
                write(b'-', left);
                old.next();
            }
            (_, Some(&&joined)) => {
                write(b'+', joined);
                new.next();
            }
            (Some(&&left), None) => {
                write(b'-', left);
                old.next();
            }
            (None, None) => break,
        }
    }
    Some(shortened(Sha256::digest(&text).as_slice()))
}

/// The objects of `state` a plan depends on. `members_before` and `members_after` are the
/// effective members per group before and after the change (sorted; `after` indexed like the
/// desired tenant, whose created groups come last); the users recorded are those the config
/// manages and those in `impact` (whose licensing the plan changes).
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
    let group_entries: Vec<(String, String, Option<String>)> = groups
        .par_iter()
        .map(|&index| {
            let group = &state.groups[index];
            let before = members_before.get(index).unwrap_or(&no_members);
            let after = members_after.get(index).unwrap_or(&no_members);
            (
                group.id.clone(),
                settings_fingerprint(group),
                moves_fingerprint(tenant, before, after),
            )
        })
        .collect();
    for (id, settings, moves) in group_entries {
        if let Some(moves) = moves {
            found.insert(format!("group-moves:{id}"), moves);
        }
        found.insert(format!("group-settings:{id}"), settings);
    }
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
/// A saved plan of the earlier forms (`group:` with the members, `members:`, and in the first
/// form a `user:` for every member of its groups) is compared on what both forms record: its
/// groups and members are left out, and so are its users that the plan now does not record.
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
            Some(("group-settings", id)) => group_name(id),
            Some(("group-moves", id)) => {
                format!(
                    "the members the plan moves in and out of {}",
                    group_name(id)
                )
            }
            Some(("user", id)) => state
                .users
                .iter()
                .find(|user| user.id == id)
                .map_or_else(|| format!("user {id}"), |user| format!("user {}", user.upn)),
            Some(("subscription", sku)) => format!("subscription {sku}"),
            _ => "the tenant's settings (default usage location)".to_string(),
        }
    };
    let earlier_form = |key: &str| key.starts_with("group:") || key.starts_with("members:");
    let older = saved.keys().any(|key| earlier_form(key));
    let mut lines = Vec::new();
    for (key, fingerprint) in saved.iter().filter(|(key, _)| !earlier_form(key)) {
        match now.get(key) {
            Some(current) if current == fingerprint => {}
            Some(_) => lines.push(format!("{} changed", name(key))),
            None if older && key.starts_with("user:") => {}
            // The plan moved members of the group and now moves none (or the group is gone,
            // which its settings' line says).
            None if key.starts_with("group-moves:") => {
                let id = &key["group-moves:".len()..];
                if now.contains_key(&format!("group-settings:{id}")) {
                    lines.push(format!("{} changed", name(key)));
                }
            }
            None if key.starts_with("group-settings:") || key.starts_with("subscription:") => {
                lines.push(format!("{} is gone", name(key)));
            }
            // A user the plan no longer reads: either gone or out of the plan's reach now.
            None => lines.push(format!("{} is gone or no longer affected", name(key))),
        }
    }
    for key in now.keys().filter(|key| !saved.contains_key(*key)) {
        if let Some(id) = key.strip_prefix("group-moves:") {
            // Moves where the saved plan moved none are a change of the moves, said once; a
            // group new to the plan is said by its settings' line.
            if saved.contains_key(&format!("group-settings:{id}")) {
                lines.push(format!("{} changed", name(key)));
            }
            continue;
        }
        if older && key.starts_with("group-settings:") {
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
            ("group-settings:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("group-moves:711430f6-164e-4380-8d93-428bc1fab80f", "m"),
            ("group-settings:3f0c2b1e-5f0a-4c86-9d7e-6a1b2c3d4e5f", "g"),
            ("group-moves:3f0c2b1e-5f0a-4c86-9d7e-6a1b2c3d4e5f", "n"),
            ("group-settings:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "p"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("user:6ca202c8-8e54-4dff-88c0-9bfafbfc60b2", "d"),
            ("subscription:EMS", "e"),
        ]);
        let now = map(&[
            ("tenant", "a"),
            ("group-settings:711430f6-164e-4380-8d93-428bc1fab80f", "B"),
            ("group-moves:711430f6-164e-4380-8d93-428bc1fab80f", "M"),
            ("group-settings:0d6f3c7a-1b2e-4f5a-8c9d-0e1f2a3b4c5d", "h"),
            ("group-moves:0d6f3c7a-1b2e-4f5a-8c9d-0e1f2a3b4c5d", "o"),
            ("group-settings:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "p"),
            ("group-moves:9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "q"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("subscription:EMS", "E"),
            ("user:011e39ef-e225-40f4-8339-ad19cd180f4d", "f"),
        ]);
        // A group gone or new is one line, not one for the group and one for its moves.
        assert_eq!(
            changed(&saved, &now, &state),
            [
                "the members the plan moves in and out of group \"Sales\" \
                 (711430f6-164e-4380-8d93-428bc1fab80f) changed",
                "group 3f0c2b1e-5f0a-4c86-9d7e-6a1b2c3d4e5f is gone",
                "group \"Sales\" (711430f6-164e-4380-8d93-428bc1fab80f) changed",
                "subscription EMS changed",
                "user 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2 is gone or no longer affected",
                "the members the plan moves in and out of group \
                 9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d changed",
                "group 0d6f3c7a-1b2e-4f5a-8c9d-0e1f2a3b4c5d is new to the plan",
                "user 011e39ef-e225-40f4-8339-ad19cd180f4d is new to the plan",
            ]
        );
        assert!(changed(&saved, &saved, &state).is_empty());
        // Moves the recomputed plan no longer makes are a change too.
        let unmoved = map(&[("group-settings:711430f6-164e-4380-8d93-428bc1fab80f", "b")]);
        let moved = map(&[
            ("group-settings:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("group-moves:711430f6-164e-4380-8d93-428bc1fab80f", "m"),
        ]);
        let line = "the members the plan moves in and out of group \"Sales\" \
                    (711430f6-164e-4380-8d93-428bc1fab80f) changed";
        assert_eq!(changed(&moved, &unmoved, &state), [line]);
        assert_eq!(changed(&unmoved, &moved, &state), [line]);
    }

    #[test]
    fn a_plan_file_of_an_earlier_form_is_compared_on_what_both_record() {
        let state: TenantState = serde_yaml::from_str(STATE).unwrap();
        let now = map(&[
            ("tenant", "a"),
            ("group-settings:711430f6-164e-4380-8d93-428bc1fab80f", "s"),
            ("group-moves:711430f6-164e-4380-8d93-428bc1fab80f", "v"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "C"),
        ]);
        // The first form: every member of Sales was a `user:` entry.
        let first = map(&[
            ("tenant", "a"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "c"),
            ("user:6ca202c8-8e54-4dff-88c0-9bfafbfc60b2", "d"),
        ]);
        // The second: the ids of all of each group's members.
        let second = map(&[
            ("tenant", "A"),
            ("group:711430f6-164e-4380-8d93-428bc1fab80f", "b"),
            ("members:711430f6-164e-4380-8d93-428bc1fab80f", "m"),
            ("user:bb82030d-bc2b-4aba-82a9-0bf2e207a84a", "C"),
        ]);
        assert_eq!(
            changed(&first, &now, &state),
            ["user ann@contoso.com changed"]
        );
        assert_eq!(
            changed(&second, &now, &state),
            ["the tenant's settings (default usage location) changed"]
        );
    }

    fn two_users() -> Tenant {
        let state: TenantState = serde_yaml::from_str(
            "version: 1\ntenant: {}\nusers: [ { id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a, upn: ann@contoso.com },\
             { id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: bob@contoso.com } ]\n",
        )
        .unwrap();
        crate::tenant::index::build(
            &state,
            crate::catalog::Catalog::builtin(),
            crate::source::SourceId(0),
        )
        .expect("the state indexes")
    }

    #[test]
    fn a_groups_moves_are_fingerprinted_only_where_the_change_moves_members() {
        let tenant = two_users();
        let (ann, bob) = (UserIdx(0), UserIdx(1));
        let of = |before: &[UserIdx], after: &[UserIdx]| moves_fingerprint(&tenant, before, after);
        assert_eq!(of(&[ann, bob], &[ann, bob]), None);
        assert_eq!(of(&[], &[]), None);
        let bob_leaves = of(&[ann, bob], &[ann]).expect("bob leaves");
        assert_eq!(bob_leaves.len(), "sha256:".len() + 32);
        // The moves, not the members: bob leaving is the same whoever stays.
        assert_eq!(Some(bob_leaves.clone()), of(&[bob], &[]));
        assert_ne!(Some(bob_leaves.clone()), of(&[ann], &[ann, bob]));
        assert_ne!(Some(bob_leaves), of(&[ann, bob], &[bob]));
        assert_ne!(of(&[ann], &[bob]), of(&[bob], &[ann]));
    }

    #[test]
    fn a_groups_settings_leave_its_members_out() {
        let state: TenantState = serde_yaml::from_str(STATE).unwrap();
        let mut group = state.groups[0].clone();
        let settings = settings_fingerprint(&group);
        group.members.push("ann@contoso.com".to_string());
        assert_eq!(settings_fingerprint(&group), settings);
        group.rule = Some("user.department -eq \"Sales\"".to_string());
        assert_ne!(settings_fingerprint(&group), settings);
    }

    #[test]
    fn fingerprints_follow_the_content() {
        assert_eq!(fingerprint(&"a"), fingerprint(&"a"));
        assert_ne!(fingerprint(&"a"), fingerprint(&"b"));
        assert_eq!(fingerprint(&"a").len(), "sha256:".len() + 32);
    }
}
