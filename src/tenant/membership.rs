//! Who is a member of which group: the user table the rule evaluator reads (built from the
//! state's Graph-named attributes) and the effective direct user members of every group —
//! dynamic groups with processing on get their rule's result, paused and static groups keep their
//! recorded members. Differences between a dynamic group's recorded members and its rule's result
//! are reported as pending processing, never silently overwritten in the state.

use std::collections::HashMap;

use fixedbitset::FixedBitSet;
use jiff::Timestamp;

use crate::config::RuleProcessing;
use crate::rules::{CompiledRule, EvalContext, UserTable, UserTableBuilder};
use crate::tenant::index::{GroupIdx, Tenant, UserIdx};
use crate::tenant::model::{AttributeValue, TenantState};

/// Graph property names that rules know under another name (rule name, Graph name).
const RULE_NAMES: &[(&str, &str)] = &[
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

/// Builds the rule evaluator's columnar table: one row per user of `state`, in the same order as
/// the indexed tenant. Attributes rules cannot read are skipped; booleans written as strings are
/// accepted.
pub fn user_table(state: &TenantState) -> UserTable {
    let mut builder = UserTableBuilder::new();
    for user in &state.users {
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
            let plans: Vec<(&str, &str)> = user
                .assigned_plans
                .iter()
                .map(|plan| {
                    (
                        plan.service_plan_id.as_str(),
                        plan.capability_status.as_str(),
                    )
                })
                .collect();
            let _ = builder.set_assigned_plans(row, &plans);
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
                AttributeValue::String(text) => match text.to_ascii_lowercase().as_str() {
                    "true" | "false"
                        if builder
                            .set_bool(row, property, text.eq_ignore_ascii_case("true"))
                            .is_ok() =>
                    {
                        Ok(())
                    }
                    _ => builder.set_string(row, property, text),
                },
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
}

/// Computes effective memberships. `now` is the instant `system.now` stands for in rules. Rules
/// that do not parse or compile keep their recorded members (and are listed in `unevaluated`);
/// `memberOf` rules see the recorded members of the groups they name.
pub fn memberships(tenant: &Tenant, table: &UserTable, now: Timestamp) -> Memberships {
    let mut recorded: HashMap<String, FixedBitSet> = HashMap::new();
    for group in &tenant.groups {
        let mut bits = FixedBitSet::with_capacity(tenant.users.len());
        for member in &group.members {
            bits.insert(member.0 as usize);
        }
        recorded.insert(group.id.to_lowercase(), bits);
    }
    let context = EvalContext::new(now, &recorded);
    let mut result = Memberships::default();
    for (index, group) in tenant.groups.iter().enumerate() {
        let idx = GroupIdx(index as u32);
        let rule = match (&group.rule, group.processing) {
            (Some(rule), RuleProcessing::On) => rule,
            _ => {
                result.members.push(group.members.clone());
                continue;
            }
        };
        let compiled = crate::rules::parse(rule).and_then(|rule| CompiledRule::compile(&rule));
        let Ok(compiled) = compiled else {
            result.unevaluated.push(idx);
            result.members.push(group.members.clone());
            continue;
        };
        let selected: Vec<UserIdx> = compiled
            .evaluate(table, &context)
            .ones()
            .map(|user| UserIdx(user as u32))
            .collect();
        let joining: Vec<UserIdx> = selected
            .iter()
            .filter(|user| group.members.binary_search(user).is_err())
            .copied()
            .collect();
        let leaving: Vec<UserIdx> = group
            .members
            .iter()
            .filter(|user| selected.binary_search(user).is_err())
            .copied()
            .collect();
        if !joining.is_empty() || !leaving.is_empty() {
            result.pending.push(PendingMembership {
                group: idx,
                joining,
                leaving,
            });
        }
        result.members.push(selected);
    }
    result
}
