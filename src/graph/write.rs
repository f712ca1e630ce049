//! The write calls applying a plan needs, each one Graph request returning a typed result:
//! `assignLicense` on groups and users (adds and removals in one call, so a migration from one
//! product to another is atomic), group create/patch/delete, member add/remove, the user's usage
//! location, and the group's license processing state.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{GraphClient, Method};
use super::error::{GraphError, GraphErrorKind};
use super::read::path_segment;

/// One product to assign: its skuId and the service plan ids switched off in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseToAdd {
    /// The product's skuId (GUID).
    pub sku_id: String,
    /// Service plan ids (GUIDs) to switch off; always sent, empty for none.
    #[serde(default)]
    pub disabled_plans: Vec<String>,
}

/// A group as Graph returns it from the write calls (only the properties seatplan uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryGroup {
    /// Object id.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Security group.
    pub security_enabled: bool,
    /// Mail-enabled.
    pub mail_enabled: bool,
    /// `DynamicMembership`, `Unified`, …
    pub group_types: Vec<String>,
    /// The dynamic membership rule.
    pub membership_rule: Option<String>,
    /// `On` or `Paused`.
    pub membership_rule_processing_state: Option<String>,
    /// The products the group assigns.
    pub assigned_licenses: Vec<LicenseToAdd>,
}

/// A user as Graph returns it from `assignLicense` (only the properties seatplan uses).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryUser {
    /// Object id.
    pub id: String,
    /// User principal name.
    pub user_principal_name: String,
    /// Usage location.
    pub usage_location: Option<String>,
    /// The user's licenses (direct and inherited).
    pub assigned_licenses: Vec<LicenseToAdd>,
}

/// The body of `POST /groups`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    /// Display name.
    pub display_name: String,
    /// Description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Mail-enabled (false for a security group).
    pub mail_enabled: bool,
    /// The mail nickname Graph requires even for groups without mail.
    pub mail_nickname: String,
    /// Security group (true for a licensed group).
    pub security_enabled: bool,
    /// `["DynamicMembership"]` for a dynamic group, empty for a static one.
    pub group_types: Vec<String>,
    /// The dynamic membership rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_rule: Option<String>,
    /// `On` or `Paused`, for a dynamic group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_rule_processing_state: Option<String>,
}

/// The body of `PATCH /groups/{id}`: only the properties set are sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPatch {
    /// A new description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// A new dynamic membership rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_rule: Option<String>,
    /// `On` or `Paused`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership_rule_processing_state: Option<String>,
    /// New group types (adding or removing `DynamicMembership`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_types: Option<Vec<String>>,
}

/// Where the service is with a group's licenses (`licenseProcessingState.state`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseProcessing {
    /// Waiting to be processed.
    QueuedForProcessing,
    /// Being processed.
    ProcessingInProgress,
    /// Done; the users' license states are final.
    ProcessingComplete,
    /// A state Graph added after this seatplan was built.
    Other(String),
}

impl GraphClient {
    /// `POST /groups/{id}/assignLicense`: adds `add` and removes the skuIds in `remove` in one
    /// call (a migration is one call with both). Returns the updated group.
    pub fn assign_group_licenses(
        &self,
        group_id: &str,
        add: &[LicenseToAdd],
        remove: &[String],
    ) -> Result<DirectoryGroup, GraphError> {
        let relative = format!("/groups/{}/assignLicense", path_segment(group_id));
        let body = json!({"addLicenses": add, "removeLicenses": remove});
        typed(
            self.send(Method::Post, &self.url(&relative), Some(&body))?,
            "POST",
            &relative,
        )
    }

    /// `POST /users/{id}/assignLicense`: direct licenses, adds and removals in one call.
    /// Returns the updated user.
    pub fn assign_user_licenses(
        &self,
        user_id: &str,
        add: &[LicenseToAdd],
        remove: &[String],
    ) -> Result<DirectoryUser, GraphError> {
        let relative = format!("/users/{}/assignLicense", path_segment(user_id));
        let body = json!({"addLicenses": add, "removeLicenses": remove});
        typed(
            self.send(Method::Post, &self.url(&relative), Some(&body))?,
            "POST",
            &relative,
        )
    }

    /// `POST /groups`: creates a group and returns it (with its new id).
    pub fn create_group(&self, group: &NewGroup) -> Result<DirectoryGroup, GraphError> {
        let url = self.url("/groups");
        let body = serde_json::to_value(group).map_err(|error| {
            GraphError::new(
                GraphErrorKind::InvalidResponse,
                "POST /groups",
                error.to_string(),
            )
        })?;
        typed(
            self.send(Method::Post, &url, Some(&body))?,
            "POST",
            "/groups",
        )
    }

    /// `PATCH /groups/{id}` with the properties set in `patch`.
    pub fn update_group(&self, group_id: &str, patch: &GroupPatch) -> Result<(), GraphError> {
        let url = self.url(&format!("/groups/{}", path_segment(group_id)));
        let body = serde_json::to_value(patch).map_err(|error| {
            GraphError::new(
                GraphErrorKind::InvalidResponse,
                "PATCH /groups",
                error.to_string(),
            )
        })?;
        self.send(Method::Patch, &url, Some(&body)).map(drop)
    }

    /// `POST /groups/{id}/members/$ref`: adds a user or group (by object id) to a group.
    pub fn add_group_member(&self, group_id: &str, member_id: &str) -> Result<(), GraphError> {
        let url = self.url(&format!("/groups/{}/members/$ref", path_segment(group_id)));
        let reference = self.url(&format!("/directoryObjects/{}", path_segment(member_id)));
        let body = json!({"@odata.id": reference});
        self.send(Method::Post, &url, Some(&body)).map(drop)
    }

    /// `DELETE /groups/{id}/members/{member}/$ref`: removes a member from a group.
    pub fn remove_group_member(&self, group_id: &str, member_id: &str) -> Result<(), GraphError> {
        let url = self.url(&format!(
            "/groups/{}/members/{}/$ref",
            path_segment(group_id),
            path_segment(member_id)
        ));
        self.send(Method::Delete, &url, None).map(drop)
    }

    /// `DELETE /groups/{id}`.
    pub fn delete_group(&self, group_id: &str) -> Result<(), GraphError> {
        let url = self.url(&format!("/groups/{}", path_segment(group_id)));
        self.send(Method::Delete, &url, None).map(drop)
    }

    /// `PATCH /users/{id}` with the user's usage location (ISO 3166-1 alpha-2).
    pub fn set_usage_location(&self, user_id: &str, location: &str) -> Result<(), GraphError> {
        let url = self.url(&format!("/users/{}", path_segment(user_id)));
        let body = json!({"usageLocation": location});
        self.send(Method::Patch, &url, Some(&body)).map(drop)
    }

    /// `GET /groups/{id}?$select=licenseProcessingState` (Graph returns it only when selected).
    pub fn license_processing_state(
        &self,
        group_id: &str,
    ) -> Result<LicenseProcessing, GraphError> {
        let url = self.url(&format!(
            "/groups/{}?$select=licenseProcessingState",
            path_segment(group_id)
        ));
        let body = self.send(Method::Get, &url, None)?;
        let state = body
            .get("licenseProcessingState")
            .and_then(|state| state.get("state"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                GraphError::new(
                    GraphErrorKind::InvalidResponse,
                    format!("GET /groups/{group_id}"),
                    "the answer has no `licenseProcessingState.state`",
                )
            })?;
        Ok(match state {
            "QueuedForProcessing" => LicenseProcessing::QueuedForProcessing,
            "ProcessingInProgress" => LicenseProcessing::ProcessingInProgress,
            "ProcessingComplete" => LicenseProcessing::ProcessingComplete,
            other => LicenseProcessing::Other(other.to_string()),
        })
    }
}

/// Reads Graph's answer as `T`.
fn typed<T: for<'de> Deserialize<'de>>(
    body: Value,
    method: &str,
    relative: &str,
) -> Result<T, GraphError> {
    serde_json::from_value(body).map_err(|error| {
        GraphError::new(
            GraphErrorKind::InvalidResponse,
            format!("{method} {relative}"),
            format!("the answer is not the expected object: {error}"),
        )
    })
}
