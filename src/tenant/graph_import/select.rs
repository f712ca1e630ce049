//! The `$select` of each Graph request, derived from the types the mapping reads
//! ([`super::types`]): the properties of the type, less the annotations Graph always sends
//! (`@odata.type`), and for users the properties rules test ([`USER_ATTRIBUTES`]).
//!
//! A plan needs fewer user properties than a snapshot: [`user_select_for`] asks for what the
//! licensing engine and the checks read ([`USER_BASE`]) and the Graph properties behind the rule
//! properties a plan's rules read ([`graph_property`]), so that `assignedPlans` (most of a user
//! page's bytes) is read only when a rule tests `user.assignedPlans`.

use std::collections::BTreeSet;

use crate::rules::property::PropertyName;
use crate::tenant::membership::RULE_NAMES;

use super::types::{fields_of, DirectoryObject, Group, Organization, SubscribedSku, User};

/// The user properties every read asks for, whatever the rules: the identity (`id`,
/// `userPrincipalName`), what licensing depends on (`usageLocation`, `assignedLicenses`,
/// `licenseAssignmentStates`) and `proxyAddresses`, which the engine compares across users
/// (a duplicate address blocks Exchange plans).
pub const USER_BASE: &[&str] = &[
    "id",
    "userPrincipalName",
    "usageLocation",
    "proxyAddresses",
    "assignedLicenses",
    "licenseAssignmentStates",
];

/// Graph user properties copied into a user's `attributes` (by their Graph names) because
/// dynamic membership rules can test them. `onPremisesExtensionAttributes` is flattened into
/// `extensionAttribute1` … `extensionAttribute15`, and directory extensions (`extension_<app>_<name>`)
/// are copied when a response carries them.
pub const USER_ATTRIBUTES: &[&str] = &[
    "accountEnabled",
    "businessPhones",
    "city",
    "companyName",
    "country",
    "department",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "faxNumber",
    "givenName",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesDistinguishedName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "otherMails",
    "passwordPolicies",
    "postalCode",
    "preferredLanguage",
    "state",
    "streetAddress",
    "surname",
    "userType",
];

/// The properties of a type that a `$select` names, joined with commas.
fn select_of(fields: &[&str]) -> String {
    let selected: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|field| !field.starts_with('@'))
        .collect();
    selected.join(",")
}

/// The `$select` of `GET /users`: everything the mapping reads from a user.
pub fn user_select() -> String {
    let mut fields = fields_of::<User>().to_vec();
    fields.extend_from_slice(USER_ATTRIBUTES);
    select_of(&fields)
}

/// The Graph user property that holds what a rule reads as `property`, when Graph has one:
/// rule names Graph spells otherwise (`physicalDeliveryOfficeName` is `officeLocation`,
/// `telephoneNumber` the first of `businessPhones`, `extensionAttribute1`…`15` are in
/// `onPremisesExtensionAttributes`), directory extensions by their own name, and `None` for
/// what no user property holds (`memberOf` reads memberships; `sipProxyAddress` is not a Graph
/// property).
pub fn graph_property(property: &PropertyName) -> Option<String> {
    let name = match property {
        PropertyName::Extension { .. } => return Some(property.to_string()),
        PropertyName::Known(id) => id.info().name,
    };
    let lower = name.to_ascii_lowercase();
    let graph = match lower.as_str() {
        "objectid" => "id",
        "telephonenumber" => "businessPhones",
        "memberof" => return None,
        _ if lower.starts_with("extensionattribute") => "onPremisesExtensionAttributes",
        _ => {
            let renamed = RULE_NAMES
                .iter()
                .find(|(rule, _)| rule.eq_ignore_ascii_case(name))
                .map(|(_, graph)| *graph)
                .unwrap_or(name);
            return fields_of::<User>()
                .iter()
                .chain(USER_ATTRIBUTES)
                .find(|field| field.eq_ignore_ascii_case(renamed))
                .map(|field| (*field).to_string());
        }
    };
    Some(graph.to_string())
}

/// The `$select` of `GET /users` for a plan whose rules read `properties`: [`USER_BASE`] and
/// the Graph property behind each rule property ([`graph_property`]), in a stable order.
pub fn user_select_for<'p>(properties: impl IntoIterator<Item = &'p PropertyName>) -> String {
    let extra: BTreeSet<String> = properties
        .into_iter()
        .filter_map(graph_property)
        .filter(|name| !USER_BASE.contains(&name.as_str()))
        .collect();
    let mut fields: Vec<&str> = USER_BASE.to_vec();
    fields.extend(extra.iter().map(String::as_str));
    select_of(&fields)
}

/// The `$select` of `GET /groups`: everything the mapping reads from a group.
pub fn group_select() -> String {
    select_of(fields_of::<Group>())
}

/// The `$select` of `GET /groups/{id}/members`.
pub fn member_select() -> String {
    select_of(fields_of::<DirectoryObject>())
}

/// The `$select` of `GET /subscribedSkus` (Graph ignores `$select` there, but it documents intent).
pub fn sku_select() -> String {
    select_of(fields_of::<SubscribedSku>())
}

/// The `$select` of `GET /organization`.
pub fn organization_select() -> String {
    select_of(fields_of::<Organization>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_lists_cover_what_the_mapping_reads() {
        let select = user_select();
        for field in [
            "userPrincipalName",
            "licenseAssignmentStates",
            "department",
            "otherMails",
        ] {
            assert!(select.split(',').any(|f| f == field), "{field}");
        }
        assert!(group_select().contains("membershipRuleProcessingState"));
    }

    #[test]
    fn every_user_rule_property_graph_has_is_in_the_full_select() {
        use crate::rules::property::{ObjectKind, PropertyType, PROPERTIES};
        let full = user_select();
        let full: Vec<&str> = full.split(',').collect();
        for field in USER_BASE {
            assert!(full.contains(field), "{field}");
        }
        for (at, info) in PROPERTIES.iter().enumerate() {
            if info.object != ObjectKind::User || info.ty == PropertyType::MemberOf {
                continue;
            }
            let property = PropertyName::Known(crate::rules::property::PropertyId(at as u16));
            match graph_property(&property) {
                Some(graph) => assert!(full.contains(&graph.as_str()), "{}", info.name),
                None => assert_eq!(info.name, "sipProxyAddress"),
            }
        }
    }

    #[test]
    fn a_plan_asks_for_the_base_and_what_its_rules_read() {
        let book = crate::rules::RuleBook::new([
            r#"user.department -eq "Sales" -and user.physicalDeliveryOfficeName -eq "Oslo""#,
            r#"user.extensionAttribute3 -eq "x" -or user.telephoneNumber -eq "1""#,
            r#"user.extension_9d9a4c1f0b6e4d2a8f3c5b7e1a2d4c6f_costCenter -eq "7""#,
            r#"user.memberOf -any (group.objectId -in ['62e19b97-8b3d-4d4a-a106-4ce66896a863'])"#,
        ]);
        let select = user_select_for(book.properties());
        let fields: Vec<&str> = select.split(',').collect();
        assert_eq!(&fields[..USER_BASE.len()], USER_BASE);
        for field in [
            "department",
            "officeLocation",
            "onPremisesExtensionAttributes",
            "businessPhones",
            "extension_9d9a4c1f0b6e4d2a8f3c5b7e1a2d4c6f_costcenter",
        ] {
            assert!(fields.contains(&field), "{field} in {select}");
        }
        assert!(!fields.contains(&"assignedPlans"), "{select}");
        assert_eq!(fields.len(), USER_BASE.len() + 5, "{select}");
        let plans = crate::rules::RuleBook::new([
            r#"user.assignedPlans -any (assignedPlan.capabilityStatus -eq "Enabled")"#,
        ]);
        assert!(user_select_for(plans.properties())
            .split(',')
            .any(|field| field == "assignedPlans"));
        assert_eq!(
            user_select_for(std::iter::empty()),
            USER_BASE.join(","),
            "no rules: the base alone"
        );
    }

    #[test]
    fn select_lists_are_the_properties_of_the_types() {
        assert_eq!(organization_select(), "id,countryLetterCode");
        assert_eq!(member_select(), "id,userPrincipalName");
        assert_eq!(
            sku_select(),
            "skuId,skuPartNumber,prepaidUnits,consumedUnits,servicePlans"
        );
        assert_eq!(
            group_select(),
            "id,displayName,description,groupTypes,securityEnabled,mailEnabled,\
             membershipRule,membershipRuleProcessingState,assignedLicenses"
        );
        let user = user_select();
        let fields: Vec<&str> = user.split(',').collect();
        let mut unique = fields.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), fields.len(), "{user}");
    }
}
