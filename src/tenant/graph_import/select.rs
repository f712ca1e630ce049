//! The `$select` of each Graph request, derived from the types the mapping reads
//! ([`super::types`]): the properties of the type, less the annotations Graph always sends
//! (`@odata.type`), and for users the properties rules test ([`USER_ATTRIBUTES`]).

use super::types::{fields_of, DirectoryObject, Group, Organization, SubscribedSku, User};

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
