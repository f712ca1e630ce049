//! Who is a member of which group: the user table the rule evaluator reads (built from the
//! state's Graph-named attributes) and the effective direct user members of every group —
//! dynamic groups with processing on get their rule's result, paused and static groups keep their
//! recorded members. Differences between a dynamic group's recorded members and its rule's result
//! are reported as pending processing, never silently overwritten in the state. Also who a rule
//! selects, with the values it reads ([`rule_matches`], for `seatplan rule test`).

use std::sync::OnceLock;

use fixedbitset::FixedBitSet;
use indexmap::IndexMap;
use jiff::Timestamp;
use serde::Serialize;

use crate::config::RuleProcessing;
use crate::rules::property::PropertyType;
use crate::rules::{
    AssignedPlanValue, CompiledRule, EvalContext, GroupMembers, LeafCache, Rule, RuleBook,
    RuleKind, UserTable, UserTableBuilder,
};
use crate::tenant::index::{GroupIdx, Tenant, UserIdx};
use crate::tenant::model::{AttributeValue, UserState};

/// Graph property names that rules know under another name (rule name, Graph name).
pub(crate) const RULE_NAMES: &[(&str, &str)] = &[
    ("physicalDeliveryOfficeName", "officeLocation"),
    ("mobile", "mobilePhone"),
    ("facsimileTelephoneNumber", "faxNumber"),
    ("dirSyncEnabled", "onPremisesSyncEnabled"),
];

/// The rule property a Graph attribute feeds.
fn rule_property(graph_name: &str) -> &str {
    RULE_NAMES
        .iter()
        .find(|(_, graph)| graph.eq_ignore_ascii_case(graph_name))
        .map_or(graph_name, |(rule, _)| rule)
}

/// Builds the rule evaluator's columnar table: one row per user, in the order of the state's
/// users (and of the indexed tenant), with every property rules can read. Attributes rules cannot
/// read are skipped; booleans written as strings are accepted.
pub fn user_table<'a>(users: impl IntoIterator<Item = &'a UserState>) -> UserTable {
    fill_table(UserTableBuilder::new(), users)
}

/// [`user_table`] with only the columns `rules` read: what planning builds, since the other
/// columns (object ids, UPNs, mail addresses: a million distinct values each) would be interned
/// for nothing. A rule that does not parse reads nothing (its group keeps its recorded members).
pub fn user_table_for<'a, 'r>(
    users: impl IntoIterator<Item = &'a UserState>,
    rules: impl IntoIterator<Item = &'r str>,
) -> UserTable {
    user_table_of(users, &RuleBook::new(rules))
}

/// [`user_table_for`] with the columns the rules of `book` read.
pub fn user_table_of<'a>(
    users: impl IntoIterator<Item = &'a UserState>,
    book: &RuleBook,
) -> UserTable {
    let properties: Vec<_> = book.properties().cloned().collect();
    fill_table(UserTableBuilder::only(&properties), users)
}

fn fill_table<'a>(
    mut builder: UserTableBuilder,
    users: impl IntoIterator<Item = &'a UserState>,
) -> UserTable {
    for user in users {
        let row = builder.push_user();
        // Setters fail only for properties rules cannot read or values of another type; such
        // attributes are simply not visible to rules, as in Entra.
        let _ = builder.set_string(row, "objectId", &user.id);
        let _ = builder.set_string(row, "userPrincipalName", &user.upn);
        if let Some(location) = &user.usage_location {
            let _ = builder.set_string(row, "usageLocation", location);
        }
        if !user.proxy_addresses.is_empty() {
            let _ = builder.set_strings(row, "proxyAddresses", &user.proxy_addresses);
        }
        if !user.assigned_plans.is_empty() {
            let plans: Vec<AssignedPlanValue<'_>> = user
                .assigned_plans
                .iter()
                .map(|plan| AssignedPlanValue {
                    service_plan_id: &plan.service_plan_id,
                    service: plan.service.as_deref(),
                    capability_status: &plan.capability_status,
                })
                .collect();
            let _ = builder.set_assigned_plan_values(row, &plans);
        }
        for (name, value) in &user.attributes {
            if name.eq_ignore_ascii_case("manager") {
                if let AttributeValue::String(manager) = value {
                    let _ = builder.set_manager(row, manager);
                }
                continue;
            }
            let property = rule_property(name);
            let _ = match value {
                AttributeValue::Bool(flag) => builder.set_bool(row, property, *flag),
                AttributeValue::String(text) => {
                    let flag = if text.eq_ignore_ascii_case("true") {
                        Some(true)
                    } else if text.eq_ignore_ascii_case("false") {
                        Some(false)
                    } else {
                        None
                    };
                    match flag {
                        Some(flag) if builder.set_bool(row, property, flag).is_ok() => Ok(()),
                        _ => builder.set_string(row, property, text),
                    }
                }
                AttributeValue::Number(number) => {
                    builder.set_string(row, property, &number.to_string())
                }
                AttributeValue::List(items) => match name.eq_ignore_ascii_case("businessPhones") {
                    true => items.first().map_or(Ok(()), |first| {
                        builder.set_string(row, "telephoneNumber", first)
                    }),
                    false => builder.set_strings(row, property, items),
                },
            };
        }
    }
    builder.finish()
}

/// A dynamic group whose recorded members differ from what its rule selects now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMembership {
    /// The group.
    pub group: GroupIdx,
    /// Users the rule selects who are not recorded members.
    pub joining: Vec<UserIdx>,
    /// Recorded members the rule no longer selects.
    pub leaving: Vec<UserIdx>,
}

/// Effective members of every group and the dynamic groups whose processing is behind.
#[derive(Debug, Clone, Default)]
pub struct Memberships {
    /// Direct user members per group, sorted, indexed like [`Tenant::groups`].
    pub members: Vec<Vec<UserIdx>>,
    /// Dynamic groups whose recorded members differ from their rule's result.
    pub pending: Vec<PendingMembership>,
    /// Groups whose rule seatplan cannot evaluate (their recorded members are used).
    pub unevaluated: Vec<GroupIdx>,
    /// Dynamic groups with processing paused whose rule changed since `earlier` (of
    /// [`memberships_after`]): they keep their members, and this is what the new rule adds and
    /// drops once processing is on.
    pub paused: Vec<PendingMembership>,
}

/// Computes effective memberships. `now` is the instant `system.now` stands for in rules. Rules
/// that do not parse or compile keep their recorded members (and are listed in `unevaluated`);
/// `memberOf` rules see the recorded members of the groups they name.
pub fn memberships(tenant: &Tenant, table: &UserTable, now: Timestamp) -> Memberships {
    let book = RuleBook::new(
        tenant
            .groups
            .iter()
            .filter_map(|group| group.rule.as_deref()),
    );
    memberships_reusing(tenant, table, now, None, &book)
}

/// Like [`memberships`], but dynamic groups whose result `earlier` already holds are not
/// evaluated again: `earlier` is the result for the same users and attributes, and groups whose
/// rule or processing state is the same there (and whose rule does not read other groups through
/// `memberOf`) keep it. Planning uses this so that only the rules a change touches are evaluated a
/// second time. Rules are taken prepared from `book` (a rule it does not hold is prepared on the
/// spot).
pub fn memberships_reusing(
    tenant: &Tenant,
    table: &UserTable,
    now: Timestamp,
    earlier: Option<(&Tenant, &Memberships)>,
    book: &RuleBook,
) -> Memberships {
    evaluate_memberships(tenant, table, now, earlier, book, Reuse::SameRule)
}

/// Which dynamic groups keep the members an earlier evaluation gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Groups whose rule and processing state are the same (and whose rule does not read other
    /// groups).
    SameRule,
    /// The same, but only where the rule does not read `usageLocation` (the attribute a config
    /// changes): a rule that reads it is evaluated again.
    SameRuleAndLocation,
}

/// The effective members of the tenant as the service has processed it: like
/// [`memberships_reusing`] without an earlier result, except that a dynamic group whose recorded
/// members differ from its rule's result keeps its recorded members (the difference is listed in
/// [`Memberships::pending`]). The service has not processed that difference yet: a user it would
/// add has none of the group's licenses, a user it would drop still holds them and their seats.
pub fn processed_memberships(
    tenant: &Tenant,
    table: &UserTable,
    now: Timestamp,
    book: &RuleBook,
) -> Memberships {
    let mut memberships = evaluate_memberships(tenant, table, now, None, book, Reuse::SameRule);
    for pending in &memberships.pending {
        let index = pending.group.0 as usize;
        if let (Some(slot), Some(group)) =
            (memberships.members.get_mut(index), tenant.groups.get(index))
        {
            slot.clone_from(&group.members);
        }
    }
    memberships
}

/// The effective members of the desired tenant: a dynamic group whose rule, processing state
/// and (when `reuse` says so) the attributes it reads are unchanged keeps the members `earlier`
/// gives it — what the service has processed, pending differences included — and every other
/// dynamic group gets its rule's result (the service evaluates a changed rule from scratch).
pub fn memberships_after(
    tenant: &Tenant,
    table: &UserTable,
    now: Timestamp,
    earlier: (&Tenant, &Memberships),
    book: &RuleBook,
    reuse: Reuse,
) -> Memberships {
    evaluate_memberships(tenant, table, now, Some(earlier), book, reuse)
}

fn evaluate_memberships(
    tenant: &Tenant,
    table: &UserTable,
    now: Timestamp,
    earlier: Option<(&Tenant, &Memberships)>,
    book: &RuleBook,
    reuse: Reuse,
) -> Memberships {
    use rayon::prelude::*;

    let recorded = RecordedMembers::new(tenant);
    let context = EvalContext::new(now, &recorded);
    // Rules share the results of their common leaves (the same table and context throughout).
    let cache = LeafCache::new(table, &context);
    // Each group's members are independent of the others' (memberOf reads recorded members), so
    // the rules are evaluated in parallel; results are gathered in group order.
    let outcomes: Vec<GroupMembership> = tenant
        .groups
        .par_iter()
        .enumerate()
        .map(|(index, group)| {
            let idx = GroupIdx(index as u32);
            let reusable = earlier.and_then(|(before, evaluated)| {
                let previous = before.groups.get(index)?;
                // Rules are the same by meaning (the config may write a rule in another form).
                let same_rule = match (previous.rule.as_deref(), group.rule.as_deref()) {
                    (Some(was), Some(now)) => {
                        was == now || book.get(was).canonical == book.get(now).canonical
                    }
                    (was, now) => was == now,
                };
                let same = same_rule
                    && previous.processing == group.processing
                    && group.rule.as_deref().is_some_and(|rule| {
                        let prepared = book.get(rule);
                        !prepared.reads_other_groups()
                            && (reuse == Reuse::SameRule
                                || !prepared.properties.iter().any(|property| {
                                    property.to_string().eq_ignore_ascii_case("usageLocation")
                                }))
                    })
                    && !evaluated.unevaluated.contains(&idx);
                same.then(|| evaluated.members.get(index).cloned())
                    .flatten()
            });
            if let Some(members) = reusable {
                return GroupMembership::Reused(members);
            }
            // A static group made dynamic loses its members first (seed 000); with processing
            // paused, the rule adds nobody back.
            let converted = earlier
                .and_then(|(before, _)| before.groups.get(index))
                .is_some_and(|previous| previous.rule.is_none() && group.rule.is_some());
            if converted && group.processing == RuleProcessing::Paused {
                return GroupMembership::Reused(Vec::new());
            }
            let rule_changed = earlier
                .and_then(|(before, _)| before.groups.get(index))
                .is_some_and(
                    |previous| match (previous.rule.as_deref(), group.rule.as_deref()) {
                        (Some(was), Some(now)) => {
                            was != now && book.get(was).canonical != book.get(now).canonical
                        }
                        _ => false,
                    },
                );
            // A paused group keeps its members; what a changed rule would make of them is worth
            // saying (it happens once processing is on).
            let (rule, paused) = match (&group.rule, group.processing) {
                (Some(rule), RuleProcessing::On) => (rule, false),
                (Some(rule), RuleProcessing::Paused) if rule_changed => (rule, true),
                _ => return GroupMembership::Recorded,
            };
            match (&book.get(rule).compiled, paused) {
                (Ok(compiled), _) => {
                    let selected = compiled
                        .evaluate_cached(&cache)
                        .ones()
                        .map(|user| UserIdx(user as u32))
                        .collect();
                    if paused {
                        GroupMembership::Paused(selected)
                    } else {
                        GroupMembership::Evaluated(selected)
                    }
                }
                (Err(_), true) => GroupMembership::Recorded,
                (Err(_), false) => GroupMembership::Unevaluated,
            }
        })
        .collect();
    let mut result = Memberships::default();
    for ((index, group), outcome) in tenant.groups.iter().enumerate().zip(outcomes) {
        let idx = GroupIdx(index as u32);
        let selected = match outcome {
            GroupMembership::Reused(members) => members,
            GroupMembership::Recorded => group.members.clone(),
            GroupMembership::Unevaluated => {
                result.unevaluated.push(idx);
                group.members.clone()
            }
            GroupMembership::Paused(selected) => {
                if let Some(difference) = difference(idx, &selected, &group.members) {
                    result.paused.push(difference);
                }
                group.members.clone()
            }
            GroupMembership::Evaluated(selected) => {
                if let Some(difference) = difference(idx, &selected, &group.members) {
                    result.pending.push(difference);
                }
                selected
            }
        };
        result.members.push(selected);
    }
    result
}

/// What a rule selects (`selected`, sorted) against a group's recorded members (sorted), when
/// they differ.
fn difference(
    group: GroupIdx,
    selected: &[UserIdx],
    recorded: &[UserIdx],
) -> Option<PendingMembership> {
    let joining: Vec<UserIdx> = selected
        .iter()
        .filter(|user| recorded.binary_search(user).is_err())
        .copied()
        .collect();
    let leaving: Vec<UserIdx> = recorded
        .iter()
        .filter(|user| selected.binary_search(user).is_err())
        .copied()
        .collect();
    (!joining.is_empty() || !leaving.is_empty()).then_some(PendingMembership {
        group,
        joining,
        leaving,
    })
}

/// How one group's effective members were found.
enum GroupMembership {
    /// Taken from an earlier evaluation.
    Reused(Vec<UserIdx>),
    /// A static or paused group: its recorded members.
    Recorded,
    /// A paused group whose rule changed: its recorded members stand; this is the new rule's
    /// result, for when processing is on.
    Paused(Vec<UserIdx>),
    /// A rule seatplan cannot evaluate: the recorded members stand.
    Unevaluated,
    /// The rule's result.
    Evaluated(Vec<UserIdx>),
}

/// The recorded direct user members of the tenant's groups, as `memberOf` rules see them: a
/// group's bit set is built the first time a rule names the group (a set per group of a
/// million-user tenant would be a quarter of a gigabyte, for rules that mostly never ask). The
/// bits are the rows of the table the rules read: every user, or the users of [`Self::over_rows`].
pub struct RecordedMembers<'a> {
    tenant: &'a Tenant,
    rows: Option<&'a [UserIdx]>,
    sets: Vec<OnceLock<FixedBitSet>>,
}

impl<'a> RecordedMembers<'a> {
    /// The recorded members of `tenant`'s groups, none built yet.
    pub fn new(tenant: &'a Tenant) -> Self {
        RecordedMembers {
            tenant,
            rows: None,
            sets: (0..tenant.groups.len()).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The same, for a table of some of the tenant's users: `rows[r]` is row `r`'s user.
    pub fn over_rows(tenant: &'a Tenant, rows: &'a [UserIdx]) -> Self {
        RecordedMembers {
            rows: Some(rows),
            ..RecordedMembers::new(tenant)
        }
    }
}

impl GroupMembers for RecordedMembers<'_> {
    fn members(&self, group_object_id: &str) -> Option<&FixedBitSet> {
        let group = self.tenant.group_by_id(group_object_id)?;
        let set = self.sets.get(group.0 as usize)?;
        Some(set.get_or_init(|| {
            let members = &self.tenant.group_at(group).members;
            match self.rows {
                None => {
                    let mut bits = FixedBitSet::with_capacity(self.tenant.users.len());
                    for member in members {
                        bits.insert(member.0 as usize);
                    }
                    bits
                }
                Some(rows) => {
                    let mut bits = FixedBitSet::with_capacity(rows.len());
                    for (row, user) in rows.iter().enumerate() {
                        if members.binary_search(user).is_ok() {
                            bits.insert(row);
                        }
                    }
                    bits
                }
            }
        }))
    }
}

/// One user a rule selects, with the values of the properties the rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    /// The user's UPN.
    pub user: String,
    /// Property name (as the rule language spells it) and the user's value (`None`: no value).
    /// `memberOf` lists the groups the user is a recorded member of; `Direct Reports for` rules
    /// show `manager`.
    pub attributes: IndexMap<String, Option<String>>,
}

/// The users of `tenant` that `rule` selects, sorted by UPN, at instant `now` (`system.now`);
/// `memberOf` sees the groups' recorded members, as for [`memberships`].
pub fn rule_matches(
    tenant: &Tenant,
    table: &UserTable,
    rule: &Rule,
    compiled: &CompiledRule,
    now: Timestamp,
) -> Vec<RuleMatch> {
    let recorded = RecordedMembers::new(tenant);
    let context = EvalContext::new(now, &recorded);
    let properties = rule.properties();
    let direct_reports = matches!(rule.kind, RuleKind::DirectReports(_));
    let mut matched: Vec<RuleMatch> = compiled
        .evaluate(table, &context)
        .ones()
        .map(|index| {
            let user = UserIdx(index as u32);
            let mut attributes: IndexMap<String, Option<String>> = properties
                .iter()
                .map(|property| {
                    let value = if property.ty() == PropertyType::MemberOf {
                        let groups: Vec<&str> = tenant
                            .groups
                            .iter()
                            .filter(|group| group.members.binary_search(&user).is_ok())
                            .map(|group| &*group.name)
                            .collect();
                        (!groups.is_empty()).then(|| format!("[{}]", groups.join(", ")))
                    } else {
                        table.value_text(property, user.0)
                    };
                    (property.to_string(), value)
                })
                .collect();
            if direct_reports {
                attributes.insert(
                    "manager".to_string(),
                    table.manager_of(user.0).map(str::to_string),
                );
            }
            RuleMatch {
                user: tenant.user_at(user).upn.to_string(),
                attributes,
            }
        })
        .collect();
    matched.sort_by(|a, b| a.user.cmp(&b.user));
    matched
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::source::SourceId;
    use crate::tenant::index::build;
    use crate::tenant::model::TenantState;

    #[test]
    fn rules_read_every_field_of_an_assigned_plan_and_member_of_over_some_rows() {
        let state: TenantState = serde_yaml::from_str(
            "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba }
users:
  - { id: 62e19b97-8b3d-4d4a-a106-4ce66896a863, upn: bob@contoso.com, assigned_plans: [{ service_plan_id: efb87545-963c-4e0d-99df-69c6916d9eb0, capability_status: Enabled, service: exchange }] }
  - { id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: ann@contoso.com, assigned_plans: [{ service_plan_id: efb87545-963c-4e0d-99df-69c6916d9eb0, capability_status: Deleted, service: exchange }] }
  - { id: 011e39ef-e225-40f4-8339-ad19cd180f4d, upn: cat@contoso.com }
groups:
  - { id: 711430F6-164E-4380-8D93-428BC1FAB80F, display_name: Staff, members: [ann@contoso.com, cat@contoso.com] }
",
        )
        .unwrap();
        let tenant = build(&state, Catalog::builtin(), SourceId(0)).unwrap();
        let selected = |text: &str, users: &[UserState], rows: &[UserIdx]| {
            let rule = crate::rules::parse(text).unwrap();
            let compiled = CompiledRule::compile(&rule).unwrap();
            let table = user_table(users);
            let members = RecordedMembers::over_rows(&tenant, rows);
            let context = EvalContext::new(Timestamp::UNIX_EPOCH, &members);
            (0..users.len() as u32)
                .filter(|row| compiled.matches(&table, &context, *row))
                .map(|row| users[row as usize].upn.to_string())
                .collect::<Vec<_>>()
        };
        let everyone: Vec<UserIdx> = (0..3).map(UserIdx).collect();
        assert_eq!(
            selected(
                r#"user.assignedPlans -any (assignedPlan.service -eq "exchange" -and assignedPlan.capabilityStatus -eq "Enabled")"#,
                &state.users,
                &everyone,
            ),
            ["bob@contoso.com"]
        );
        // A table of Cat and Ann only (rows 0 and 1): `memberOf` reads their rows.
        let some = [state.users[2].clone(), state.users[1].clone()];
        assert_eq!(
            selected(
                r#"user.memberOf -any (group.objectId -in ["711430f6-164e-4380-8d93-428bc1fab80f"])"#,
                &some,
                &[UserIdx(2), UserIdx(1)],
            ),
            ["cat@contoso.com", "ann@contoso.com"]
        );
    }

    #[test]
    fn rule_matches_lists_selected_users_with_the_values_the_rule_reads() {
        let state: TenantState = serde_yaml::from_str(
            "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba }
users:
  - { id: 62e19b97-8b3d-4d4a-a106-4ce66896a863, upn: bob@contoso.com, attributes: { department: Sales, accountEnabled: true, mobilePhone: '555' } }
  - { id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2, upn: ann@contoso.com, attributes: { department: sales, accountEnabled: 'true' } }
  - { id: 011e39ef-e225-40f4-8339-ad19cd180f4d, upn: cat@contoso.com, attributes: { department: Sales, accountEnabled: false } }
  - { id: e9c981a4-7998-4215-8ab0-bf6c32efefa1, upn: dan@contoso.com, attributes: { manager: 62E19B97-8B3D-4D4A-A106-4CE66896A863 } }
groups:
  - { id: 711430F6-164E-4380-8D93-428BC1FAB80F, display_name: Staff, members: [ann@contoso.com] }
",
        )
        .unwrap();
        let tenant = build(&state, Catalog::builtin(), SourceId(0)).unwrap();
        let table = user_table(&state.users);
        let test = |text: &str| {
            let rule = crate::rules::parse(text).unwrap();
            let compiled = CompiledRule::compile(&rule).unwrap();
            rule_matches(&tenant, &table, &rule, &compiled, Timestamp::UNIX_EPOCH)
        };
        let found = test(
            r#"user.department -eq "Sales" -and user.accountEnabled -eq true -or user.mobile -eq "555""#,
        );
        let users: Vec<&str> = found.iter().map(|found| found.user.as_str()).collect();
        assert_eq!(users, ["ann@contoso.com", "bob@contoso.com"]);
        let bob: Vec<(&str, Option<&str>)> = found[1]
            .attributes
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_deref()))
            .collect();
        assert_eq!(
            bob,
            [
                ("department", Some("Sales")),
                ("accountEnabled", Some("true")),
                ("mobile", Some("555"))
            ]
        );
        assert_eq!(found[0].attributes["mobile"], None);

        let found = test(
            r#"user.memberOf -any (group.objectId -in ["711430f6-164e-4380-8d93-428bc1fab80f"])"#,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].attributes["memberOf"].as_deref(), Some("[Staff]"));

        let found = test(r#"Direct Reports for "62e19b97-8b3d-4d4a-a106-4ce66896a863""#);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].user, "dan@contoso.com");
        assert_eq!(
            found[0].attributes["manager"].as_deref(),
            Some("62e19b97-8b3d-4d4a-a106-4ce66896a863")
        );
    }
}
