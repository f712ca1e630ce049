//! Which users a step touches: the users whose licensing input differs between the outcome
//! before the step and the step's scenario.

use super::*;

/// The users a step from `before` to `scenario` touches, sorted: the members (before and after)
/// of every group whose licensing changes (its products or plans, its security flag, a group
/// created or deleted) and the users who still hold an assignment from it; the members who join
/// or leave a licensed group; every user whose direct licenses or effective usage location
/// change. Nobody else's assignments can change in the step: every unit of theirs is one the
/// service already processed as it stands.
pub fn touched(before: Before<'_>, scenario: &Tenant, memberships: &Memberships) -> Vec<UserIdx> {
    let users = scenario.users.len();
    // A list rather than a flag per user: a step that touches a few users costs them, not the
    // tenant.
    let mut marked: Vec<UserIdx> = Vec::new();
    let mut mark = |user: UserIdx| {
        if (user.0 as usize) < users {
            marked.push(user);
        }
    };
    let licensed = |group: &index::Group| group.security_enabled && !group.licenses.is_empty();
    let empty: Vec<UserIdx> = Vec::new();
    let groups = before.scenario.groups.len().max(scenario.groups.len());
    for group in 0..groups {
        let old = before.scenario.groups.get(group);
        let new = scenario.groups.get(group);
        let old_members = before.memberships.get(group).unwrap_or(&empty);
        let new_members = memberships.get(group).unwrap_or(&empty);
        let (old_licensed, new_licensed) = (old.is_some_and(licensed), new.is_some_and(licensed));
        let unchanged = match (old, new) {
            (Some(old), Some(new)) => {
                old.id == new.id
                    && old_licensed == new_licensed
                    && (!old_licensed || same_licenses(&old.licenses, &new.licenses))
            }
            (None, None) => true,
            _ => !old_licensed && !new_licensed,
        };
        if unchanged {
            if new_licensed && old_members != new_members {
                symmetric_difference(old_members, new_members, &mut mark);
            }
            continue;
        }
        if old_licensed {
            old_members.iter().copied().for_each(&mut mark);
        }
        if let Some(outcome) = before.outcome.groups.get(group) {
            outcome
                .users_assigned
                .iter()
                .chain(&outcome.users_in_error)
                .copied()
                .for_each(&mut mark);
        }
        if new_licensed {
            new_members.iter().copied().for_each(&mut mark);
        }
    }
    let same_users = Arc::ptr_eq(&before.scenario.users, &scenario.users);
    let same_default = before.scenario.default_usage_location == scenario.default_usage_location;
    if !(same_users && same_default) {
        for index in 0..users {
            let user = UserIdx(index as u32);
            let changed = match before.scenario.users.get(index) {
                Some(old) => {
                    !same_licenses(&old.direct, &scenario.user_at(user).direct)
                        || before.scenario.effective_location(user)
                            != scenario.effective_location(user)
                }
                None => true,
            };
            if changed {
                mark(user);
            }
        }
    }
    marked.sort_unstable();
    marked.dedup();
    marked
}

/// Calls `mark` for every user in exactly one of two sorted member lists.
fn symmetric_difference(a: &[UserIdx], b: &[UserIdx], mark: &mut impl FnMut(UserIdx)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                mark(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                mark(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    a[i..].iter().chain(&b[j..]).copied().for_each(mark);
}

/// True when both assign the same products with the same plans, in whatever order.
pub fn same_licenses(a: &[License], b: &[License]) -> bool {
    a.len() == b.len() && a.iter().all(|license| b.contains(license))
}
