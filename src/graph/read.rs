//! Reading a live tenant: the Graph requests behind [`GraphClient::read_export`] (the same
//! responses `seatplan import graph` reads from files) and [`GraphClient::read_tenant`], which
//! maps them with [`crate::tenant::graph_import::map_export`].

use serde_json::Value;

use super::batch::BatchReader;
use super::client::GraphClient;
use super::error::{GraphError, GraphErrorKind};
use crate::diag::Diagnostics;
use crate::tenant::graph_import::{
    group_select, map_export, member_select, organization_select, sku_select, user_select,
    GraphExport, GraphPage,
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

    /// The reads overlap: organization, subscriptions, the user pages and the group pages run
    /// side by side, and the members of each wanted group are asked for (through `$batch`) as
    /// soon as its page of groups arrives. Only the pages of one collection follow each other.
    fn read_export_pages(
        &self,
        member_groups: &[String],
        every_group: bool,
    ) -> Result<GraphExport, GraphError> {
        self.progress_phase("reading users, groups and members");
        // One token for every thread, before they start.
        self.token()?;
        let reader = BatchReader::new(self);
        let mut wanted: Vec<String> = Vec::new();
        let (organization, subscribed_skus, users, groups) = std::thread::scope(|scope| {
            for _ in 0..self.settings().max_in_flight.max(1) {
                scope.spawn(|| reader.work());
            }
            let organization = scope.spawn(|| {
                self.get_pages(&format!("/organization?$select={}", organization_select()))
            });
            let subscribed_skus = scope
                .spawn(|| self.get_pages(&format!("/subscribedSkus?$select={}", sku_select())));
            let users = scope.spawn(|| {
                let mut counted = 0;
                self.get_pages_each(
                    &format!("/users?$select={}&$top=999", user_select()),
                    &mut |page| {
                        counted += page
                            .body
                            .get("value")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len);
                        self.budget().tenant_has_users(counted);
                    },
                )
            });
            let member_select = member_select();
            let groups = self.get_pages_each(
                &format!("/groups?$select={}&$top=999", group_select()),
                &mut |page| {
                    let first = wanted.len();
                    wanted.extend(wanted_groups(page, member_groups, every_group));
                    reader.push((first..wanted.len()).map(|key| {
                        (
                            key,
                            format!(
                                "/groups/{}/members?$select={member_select}&$top=999",
                                path_segment(&wanted[key])
                            ),
                        )
                    }));
                },
            );
            reader.close();
            let join = |handle: std::thread::ScopedJoinHandle<'_, _>| {
                handle.join().unwrap_or_else(|_| {
                    Err(GraphError::new(
                        GraphErrorKind::InvalidResponse,
                        "GET",
                        "a thread reading the tenant panicked",
                    ))
                })
            };
            (
                join(organization),
                join(subscribed_skus),
                join(users),
                groups,
            )
        });
        let (organization, subscribed_skus, users, groups) =
            (organization?, subscribed_skus?, users?, groups?);
        let mut pages = reader.finish()?;
        let members = wanted
            .into_iter()
            .enumerate()
            .map(|(key, id)| (id, pages.remove(&key).unwrap_or_default()))
            .collect();
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

/// The ids of the groups on `page` whose members are read: licensed ones, those named in
/// `member_groups` (by id or display name), or all of them.
fn wanted_groups(page: &GraphPage, member_groups: &[String], every_group: bool) -> Vec<String> {
    page.body
        .get("value")
        .and_then(Value::as_array)
        .into_iter()
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
        .collect()
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
