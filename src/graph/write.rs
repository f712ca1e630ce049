//! The write calls applying a plan needs, each one Graph request returning a typed result:
//! `assignLicense` on groups and users (adds and removals in one call, so a migration from one
//! product to another is atomic), group create/patch/delete, member add/remove, the user's usage
//! location, and the group's license processing state.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{GraphClient, Method};
use super::error::{GraphError, GraphErrorKind};
use super::read::path_segment;
use super::retry::Budget;

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
    /// call (a migration is one call with both). Returns the updated group, or `None` when Graph
    /// accepted the call with an empty body (`202 Accepted`, which its documentation allows).
    pub fn assign_group_licenses(
        &self,
        group_id: &str,
        add: &[LicenseToAdd],
        remove: &[String],
    ) -> Result<Option<DirectoryGroup>, GraphError> {
        let relative = format!("/groups/{}/assignLicense", path_segment(group_id));
        let body = json!({"addLicenses": add, "removeLicenses": remove});
        optional(
            self.send(Method::Post, &self.url(&relative), Some(&body))?,
            "POST",
            &relative,
        )
    }

    /// `POST /users/{id}/assignLicense`: direct licenses, adds and removals in one call.
    /// Returns the updated user, or `None` for an empty 2xx body.
    pub fn assign_user_licenses(
        &self,
        user_id: &str,
        add: &[LicenseToAdd],
        remove: &[String],
    ) -> Result<Option<DirectoryUser>, GraphError> {
        let relative = format!("/users/{}/assignLicense", path_segment(user_id));
        let body = json!({"addLicenses": add, "removeLicenses": remove});
        optional(
            self.send(Method::Post, &self.url(&relative), Some(&body))?,
            "POST",
            &relative,
        )
    }

    /// `POST /users/{id}/reprocessLicenseAssignment`: the service processes the user's group
    /// license assignments again (the portal's "Reprocess").
    pub fn reprocess_license_assignment(&self, user_id: &str) -> Result<(), GraphError> {
        let url = self.url(&format!(
            "/users/{}/reprocessLicenseAssignment",
            path_segment(user_id)
        ));
        self.send(Method::Post, &url, None).map(drop)
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

    /// Creates `group` at most once: a group with its `mailNickname` (seatplan's deterministic
    /// identity for it, see [`group_nickname`]) that already exists — made by an apply that
    /// stopped before it could record it — is adopted instead. When the create fails in a way
    /// that may hide a committed group (a server error or a lost answer), the group is looked up
    /// again, through the replication delay, and adopted if it appears; the create itself is
    /// never sent twice. Returns the group and whether it was adopted.
    pub fn create_group_once(
        &self,
        group: &NewGroup,
    ) -> Result<(DirectoryGroup, bool), GraphError> {
        if let Some(existing) = self.find_group_by_nickname(&group.mail_nickname)? {
            return Ok((existing, true));
        }
        let error = match self.create_group(group) {
            Ok(created) => return Ok((created, false)),
            Err(error) => error,
        };
        let ambiguous = error.status.is_none_or(|status| status >= 500);
        if !ambiguous {
            return Err(error);
        }
        let mut budget = Budget::consistency(self.settings().retry);
        loop {
            budget.attempt();
            if let Some(committed) = self.find_group_by_nickname(&group.mail_nickname)? {
                return Ok((committed, true));
            }
            match budget.next_wait(None) {
                Ok(wait) => self.sleep(wait),
                Err(_) => {
                    let mut error = error;
                    error.message = format!(
                        "{}; no group with the mailNickname `{}` appeared within {} s, so the \
                         create was not sent again (run apply again: it looks the group up first)",
                        error.message,
                        group.mail_nickname,
                        self.settings().retry.consistency_deadline.as_secs()
                    );
                    return Err(error);
                }
            }
        }
    }

    /// The group whose `mailNickname` is `nickname`, if there is one; several are an error
    /// naming their ids (seatplan cannot tell which one it made).
    pub fn find_group_by_nickname(
        &self,
        nickname: &str,
    ) -> Result<Option<DirectoryGroup>, GraphError> {
        let filter = format!("mailNickname eq '{}'", nickname.replace('\'', "''"));
        let relative = format!(
            "/groups?$filter={}&$select=id,displayName,mailNickname,securityEnabled,mailEnabled,groupTypes,membershipRule,membershipRuleProcessingState,assignedLicenses",
            encode_query(&filter)
        );
        let pages = self.get_pages(&relative)?;
        let mut found: Vec<DirectoryGroup> = Vec::new();
        for page in pages {
            let items = page
                .body
                .get("value")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for item in items {
                found.push(typed(item, "GET", "/groups")?);
            }
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(GraphError::new(
                GraphErrorKind::InvalidResponse,
                "GET /groups",
                format!(
                    "several groups have the mailNickname `{nickname}` ({}); delete the duplicates seatplan did not mean to make",
                    found
                        .iter()
                        .map(|group| group.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }

    /// Runs `call` on an object that was just created or changed: a 404 (or an error `also`
    /// accepts) is Entra's replication delay and is retried with backoff until the policy's
    /// consistency deadline; anything else is returned at once.
    pub fn settle<T>(
        &self,
        also: impl Fn(&GraphError) -> bool,
        mut call: impl FnMut() -> Result<T, GraphError>,
    ) -> Result<T, GraphError> {
        let mut budget = Budget::consistency(self.settings().retry);
        loop {
            budget.attempt();
            match call() {
                Err(error) if error.status == Some(404) || also(&error) => {
                    match budget.next_wait(None) {
                        Ok(wait) => self.sleep(wait),
                        Err(_) => {
                            let mut error = error;
                            error.message = format!(
                                "{} (still failing after {} s: the object may not have replicated \
                                 yet; raise --consistency-timeout or run apply again later)",
                                error.message,
                                budget.waited.as_secs()
                            );
                            return Err(error);
                        }
                    }
                }
                other => return other,
            }
        }
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

/// The `mailNickname` seatplan gives a group it creates: the display name's ASCII letters and
/// digits (at most 40) and 8 hex digits of its SHA-256, so that two names with the same letters
/// differ and the same name always gives the same nickname (the identity an apply that stopped
/// half-way is recognised by).
pub fn group_nickname(display_name: &str) -> String {
    use sha2::{Digest, Sha256};
    let letters: String = display_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect();
    let digest = Sha256::digest(display_name.as_bytes());
    let hash: String = digest
        .iter()
        .take(4)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    if letters.is_empty() {
        format!("group-{hash}")
    } else {
        format!("{letters}-{hash}")
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
fn encode_query(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Reads Graph's answer as `T`, or `None` when the body was empty.
fn optional<T: for<'de> Deserialize<'de>>(
    body: Value,
    method: &str,
    relative: &str,
) -> Result<Option<T>, GraphError> {
    if body.is_null() {
        return Ok(None);
    }
    typed(body, method, relative).map(Some)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicknames_are_deterministic_ascii_and_tell_similar_names_apart() {
        assert_eq!(group_nickname("Sales - E3"), group_nickname("Sales - E3"));
        assert_ne!(group_nickname("Sales - E3"), group_nickname("Sales E3"));
        assert!(group_nickname("Sales - E3").starts_with("SalesE3-"));
        assert!(group_nickname("✓").starts_with("group-"));
        assert!(group_nickname(&"x".repeat(100)).len() <= 64);
        assert!(group_nickname("Ünïcödé").is_ascii());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            encode_query("mailNickname eq 'a''b'"),
            "mailNickname%20eq%20%27a%27%27b%27"
        );
    }
}
