//! Reading a live tenant: the Graph requests behind [`GraphClient::read_export`] (the same
//! responses `seatplan import graph` reads from files) and [`GraphClient::read_tenant`], which
//! maps them with [`crate::tenant::graph_import::map_export`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::client::GraphClient;
use super::error::GraphError;
use crate::diag::Diagnostics;
use crate::tenant::graph_import::{
    group_select, map_export, member_select, organization_select, sku_select, user_select,
    GraphExport,
};
use crate::tenant::TenantState;

impl GraphClient {
    /// Reads organization, subscribed SKUs, users and groups (every page), and the members of
    /// every licensed group and of `member_groups` (ids or display names of groups whose
    /// membership matters, such as the managed ones) through `$batch`.
    pub fn read_export(&self, member_groups: &[String]) -> Result<GraphExport, GraphError> {
        let export = self.read_export_pages(member_groups, false);
        self.progress_done();
        export
    }

    /// Reads the whole tenant: [`GraphClient::read_export`] with the members of every group, so
    /// that the state is complete whatever config is planned against it later.
    pub fn read_complete_export(&self) -> Result<GraphExport, GraphError> {
        let export = self.read_export_pages(&[], true);
        self.progress_done();
        export
    }

    fn read_export_pages(
        &self,
        member_groups: &[String],
        every_group: bool,
    ) -> Result<GraphExport, GraphError> {
        self.progress_phase("reading the organization and subscriptions");
        let organization =
            self.get_pages(&format!("/organization?$select={}", organization_select()))?;
        let subscribed_skus =
            self.get_pages(&format!("/subscribedSkus?$select={}", sku_select()))?;
        self.progress_phase("reading users");
        let users = self.get_pages(&format!("/users?$select={}&$top=999", user_select()))?;
        self.progress_phase("reading groups");
        let groups = self.get_pages(&format!("/groups?$select={}&$top=999", group_select()))?;
        let wanted: Vec<String> = groups
            .iter()
            .filter_map(|page| page.body.get("value").and_then(Value::as_array))
            .flatten()
            .filter(|group| {
                let licensed = group
                    .get("assignedLicenses")
                    .and_then(Value::as_array)
                    .is_some_and(|licenses| !licenses.is_empty());
                let named = |field: &str| {
                    group
                        .get(field)
                        .and_then(Value::as_str)
                        .is_some_and(|value| member_groups.iter().any(|wanted| wanted == value))
                };
                every_group || licensed || named("id") || named("displayName")
            })
            .filter_map(|group| group.get("id").and_then(Value::as_str).map(str::to_string))
            .collect();
        let member_select = member_select();
        let urls: Vec<String> = wanted
            .iter()
            .map(|id| {
                format!(
                    "/groups/{}/members?$select={member_select}&$top=999",
                    path_segment(id)
                )
            })
            .collect();
        self.progress_phase("reading members of licensed and managed groups");
        let members: BTreeMap<String, _> = wanted.into_iter().zip(self.get_many(&urls)?).collect();
        Ok(GraphExport {
            organization,
            subscribed_skus,
            users,
            groups,
            members,
        })
    }

    /// Reads the tenant ([`GraphClient::read_export`]) and maps it into a tenant state.
    pub fn read_tenant(&self, member_groups: &[String]) -> Result<TenantState, Diagnostics> {
        let export = self
            .read_export(member_groups)
            .map_err(|error| Diagnostics::from(error.to_diagnostic()))?;
        map_export(&export)
    }
}

/// Percent-encodes an id for use as one URL path segment.
pub fn path_segment(id: &str) -> String {
    let mut encoded = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_path_segment() {
        assert_eq!(
            path_segment("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"),
            "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
        );
        assert_eq!(path_segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }
}
