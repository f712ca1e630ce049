//! The Graph resources seatplan reads, as serde types: only the properties the mapping uses,
//! every one optional so that a missing property is reported by name (with the object's id)
//! rather than by serde's first error, and unknown properties ignored. A property of the wrong
//! shape fails the object's deserialization with its path (`prepaidUnits.enabled`).
//!
//! The `$select` lists of the requests ([`super::select`]) are derived from these types by
//! [`fields_of`], so a property the mapping starts to read is requested from then on.

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// `GET /organization`: the tenant's id and its country, the default usage location.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// The tenant id.
    pub id: Option<String>,
    /// The tenant's country (ISO 3166-1 alpha-2), the usage location of users without one.
    pub country_letter_code: Option<String>,
}

/// `GET /subscribedSkus`: one product the tenant has a subscription for.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribedSku {
    /// The product's GUID.
    pub sku_id: Option<String>,
    /// The product's string id (`SPE_E5`).
    pub sku_part_number: Option<String>,
    /// Seats by subscription status.
    pub prepaid_units: Option<LicenseUnits>,
    /// Seats in use as Graph counts them.
    pub consumed_units: Option<u64>,
    /// The service plans the product includes.
    pub service_plans: Option<Vec<ServicePlanInfo>>,
}

/// `licenseUnitsDetail`: a subscription's seats by status.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseUnits {
    /// Seats of active subscriptions.
    pub enabled: Option<u64>,
    /// Seats in their grace period, still assignable.
    pub warning: Option<u64>,
    /// Seats of suspended subscriptions, not assignable.
    pub suspended: Option<u64>,
}

/// `servicePlanInfo`: a service plan of a subscribed product.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePlanInfo {
    /// The plan's GUID.
    pub service_plan_id: Option<String>,
    /// The plan's string id (`EXCHANGE_S_ENTERPRISE`).
    pub service_plan_name: Option<String>,
}

/// `assignedLicense`: a product assigned to a user or a group, with its disabled plans.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedLicense {
    /// The product's GUID.
    pub sku_id: Option<String>,
    /// GUIDs of the product's plans that the assignment turns off.
    pub disabled_plans: Option<Vec<String>>,
}

/// `licenseAssignmentState`: what the licensing service recorded for one assignment.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseAssignmentState {
    /// The product's GUID.
    pub sku_id: Option<String>,
    /// The group the license comes from; absent or null for a direct assignment.
    pub assigned_by_group: Option<String>,
    /// GUIDs of the plans the assignment turns off.
    pub disabled_plans: Option<Vec<String>>,
    /// `Active`, `ActiveWithError`, `Disabled` or `Error`.
    pub state: Option<String>,
    /// `None`, `CountViolation`, … when the assignment failed.
    pub error: Option<String>,
}

/// `assignedPlan`: a service plan a user holds, for rules on `user.assignedPlans`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignedPlan {
    /// The plan's GUID.
    pub service_plan_id: Option<String>,
    /// `Enabled`, `Warning`, `Suspended`, `Deleted` or `LockedOut`.
    pub capability_status: Option<String>,
    /// The service the plan belongs to.
    pub service: Option<String>,
}

/// `onPremisesExtensionAttributes`: the fifteen attributes synchronized from Active Directory.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionAttributes {
    /// `extensionAttribute1`.
    pub extension_attribute1: Option<String>,
    /// `extensionAttribute2`.
    pub extension_attribute2: Option<String>,
    /// `extensionAttribute3`.
    pub extension_attribute3: Option<String>,
    /// `extensionAttribute4`.
    pub extension_attribute4: Option<String>,
    /// `extensionAttribute5`.
    pub extension_attribute5: Option<String>,
    /// `extensionAttribute6`.
    pub extension_attribute6: Option<String>,
    /// `extensionAttribute7`.
    pub extension_attribute7: Option<String>,
    /// `extensionAttribute8`.
    pub extension_attribute8: Option<String>,
    /// `extensionAttribute9`.
    pub extension_attribute9: Option<String>,
    /// `extensionAttribute10`.
    pub extension_attribute10: Option<String>,
    /// `extensionAttribute11`.
    pub extension_attribute11: Option<String>,
    /// `extensionAttribute12`.
    pub extension_attribute12: Option<String>,
    /// `extensionAttribute13`.
    pub extension_attribute13: Option<String>,
    /// `extensionAttribute14`.
    pub extension_attribute14: Option<String>,
    /// `extensionAttribute15`.
    pub extension_attribute15: Option<String>,
}

impl ExtensionAttributes {
    /// The attributes that are set, as (`extensionAttributeN`, value), in number order.
    pub fn set(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("extensionAttribute1", &self.extension_attribute1),
            ("extensionAttribute2", &self.extension_attribute2),
            ("extensionAttribute3", &self.extension_attribute3),
            ("extensionAttribute4", &self.extension_attribute4),
            ("extensionAttribute5", &self.extension_attribute5),
            ("extensionAttribute6", &self.extension_attribute6),
            ("extensionAttribute7", &self.extension_attribute7),
            ("extensionAttribute8", &self.extension_attribute8),
            ("extensionAttribute9", &self.extension_attribute9),
            ("extensionAttribute10", &self.extension_attribute10),
            ("extensionAttribute11", &self.extension_attribute11),
            ("extensionAttribute12", &self.extension_attribute12),
            ("extensionAttribute13", &self.extension_attribute13),
            ("extensionAttribute14", &self.extension_attribute14),
            ("extensionAttribute15", &self.extension_attribute15),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|value| (name, value)))
    }
}

/// `GET /users`: a user's identity, location and licensing. The properties rules test are read
/// by name beside this type ([`super::select::USER_ATTRIBUTES`]), as are directory extensions.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// The object id.
    pub id: Option<String>,
    /// The user principal name.
    pub user_principal_name: Option<String>,
    /// ISO 3166-1 alpha-2; null or empty when not set.
    pub usage_location: Option<String>,
    /// Mail addresses (`SMTP:alice@contoso.com`).
    pub proxy_addresses: Option<Vec<String>>,
    /// Every product the user holds, direct or inherited.
    pub assigned_licenses: Option<Vec<AssignedLicense>>,
    /// The recorded state of each assignment, with the group it comes from.
    pub license_assignment_states: Option<Vec<LicenseAssignmentState>>,
    /// Service plans with their status, for rules on `user.assignedPlans`.
    pub assigned_plans: Option<Vec<AssignedPlan>>,
    /// `extensionAttribute1` … `extensionAttribute15`.
    pub on_premises_extension_attributes: Option<ExtensionAttributes>,
}

/// `GET /groups`: a group's kind, membership rule and licenses.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    /// The object id.
    pub id: Option<String>,
    /// The display name.
    pub display_name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// `Unified`, `DynamicMembership`.
    pub group_types: Option<Vec<String>>,
    /// Whether the group is a security group (only those can hold licenses).
    pub security_enabled: Option<bool>,
    /// Whether the group is mail-enabled.
    pub mail_enabled: Option<bool>,
    /// The dynamic membership rule.
    pub membership_rule: Option<String>,
    /// `On` or `Paused`.
    pub membership_rule_processing_state: Option<String>,
    /// The products the group assigns.
    pub assigned_licenses: Option<Vec<AssignedLicense>>,
}

/// `GET /groups/{id}/members`: one member, a `directoryObject` of some type.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    /// `#microsoft.graph.user`, `#microsoft.graph.group`, `#microsoft.graph.device`, …; Graph
    /// always sends it for members, so it is not part of the `$select`.
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    /// The object id.
    pub id: Option<String>,
    /// The user principal name, for users.
    pub user_principal_name: Option<String>,
}

/// The Graph names of the properties a struct type reads, as its `Deserialize` derive declares
/// them: what a `$select` must ask for.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The deserializer hands the field list out and stops: the result is always an error.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that records the field names `deserialize_struct` is called with.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Stop;

impl std::fmt::Display for Stop {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("field names recorded")
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_the_graph_names_of_the_derive() {
        assert_eq!(fields_of::<Organization>(), ["id", "countryLetterCode"]);
        assert_eq!(
            fields_of::<DirectoryObject>(),
            ["@odata.type", "id", "userPrincipalName"]
        );
        assert!(fields_of::<User>().contains(&"licenseAssignmentStates"));
    }

    #[test]
    fn unknown_properties_are_ignored_and_absent_ones_are_none() {
        let user: User = serde_json::from_str(
            r#"{"id":"bb82030d-bc2b-4aba-82a9-0bf2e207a84a","jobTitle":"Chef","assignedLicenses":[{"skuId":"s","extra":1}]}"#,
        )
        .unwrap();
        assert_eq!(
            user.id.as_deref(),
            Some("bb82030d-bc2b-4aba-82a9-0bf2e207a84a")
        );
        assert!(user.user_principal_name.is_none());
        assert_eq!(
            user.assigned_licenses.unwrap()[0].sku_id.as_deref(),
            Some("s")
        );
    }
}
