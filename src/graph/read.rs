//! Reading a live tenant: [`GraphClient::read_tenant`] and its kin map Graph's pages into a
//! tenant state as they arrive ([`GraphMapper`], the mapping `seatplan import graph` applies to
//! files), and [`GraphClient::read_complete_export`] keeps the responses themselves.
//!
//! Which user properties a read asks for is a [`UserProperties`]: every property seatplan maps
//! for a snapshot (`pull`, `plan --snapshot`: a snapshot is planned later against configs not
//! written yet, and refreshed with objects read with the same `$select`), and for a plan only
//! what it reads: the licensing engine's and the checks' properties and those its rules read —
//! the config's rules, known before the read, and the rules of the tenant's dynamic groups
//! (which a plan evaluates too, managed or not), known only once `/groups` is read. So a plan
//! reads the groups first and starts the user pages when the last page of groups is in: one or
//! two round trips later, a price paid once, against user pages that no longer carry
//! `assignedPlans` (most of their bytes) unless a rule tests it. No property a rule or a check
//! reads is ever left out.

use serde_json::Value;

use super::batch::BatchReader;
use super::client::GraphClient;
use super::error::{GraphError, GraphErrorKind};
use crate::diag::Diagnostics;
use crate::rules::RuleBook;
use crate::tenant::graph_import::{
    group_select, member_select, organization_select, sku_select, user_select, user_select_for,
    GraphExport, GraphMapper, GraphPage,
};
use crate::tenant::TenantState;

/// Which user properties a read asks Graph for (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserProperties {
    /// Every property seatplan maps: for snapshots and `pull`, which later configs plan against.
    All,
    /// What the licensing engine and the checks read, and what these rule texts (a config's)
    /// and the rules of the tenant's groups read.
    ForRules(Vec<String>),
}

impl GraphClient {
    /// Reads organization, subscribed SKUs, users and groups (every page, every property), and
    /// the members of every group through `$batch`, as the responses themselves: what `seatplan
    /// pull --save-responses` and `seatplan export` write, and what the state is mapped from
    /// when the responses are kept.
    pub fn read_complete_export(&self) -> Result<GraphExport, GraphError> {
        let export = self.read_export_pages();
        self.progress_done();
        export
    }

    /// The reads overlap: organization, subscriptions, the user pages and the group pages run
    /// side by side, and the members of each group are asked for (through `$batch`) as soon as
    /// its page of groups arrives. Only the pages of one collection follow each other.
    fn read_export_pages(&self) -> Result<GraphExport, GraphError> {
        self.progress_phase("reading users, groups and members");
        // One token for every thread, before they start.
        self.token()?;
        let reader = BatchReader::new(self);
        let mut wanted: Vec<String> = Vec::new();
        let (organization, subscribed_skus, users, groups) = std::thread::scope(|scope| {
            let (organization, subscribed_skus) = self.start_reads(scope, &reader);
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
                    wanted.extend(wanted_groups(page, &[], true));
                    reader.push(member_requests(&wanted, first, &member_select));
                },
            );
            reader.close();
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

    /// Reads the tenant and maps it into a tenant state: every user property, and the members of
    /// every licensed group and of `member_groups` (ids or display names of groups whose
    /// membership matters, such as the managed ones).
    pub fn read_tenant(&self, member_groups: &[String]) -> Result<TenantState, Diagnostics> {
        self.read_tenant_of(member_groups, &UserProperties::All)
    }

    /// [`GraphClient::read_tenant`] asking for the user properties `users` says. The pages of
    /// users are mapped one by one from their text as they arrive, while the next one is on
    /// its way, and none is kept: the mapping costs the time between two pages instead of
    /// following the read, and the read holds few pages of users at a time.
    pub fn read_tenant_of(
        &self,
        member_groups: &[String],
        users: &UserProperties,
    ) -> Result<TenantState, Diagnostics> {
        let state = self.read_mapping(member_groups, false, users);
        self.progress_done();
        state
    }

    /// The whole tenant for a snapshot: every user property and every group's members, mapped
    /// as [`GraphClient::read_tenant_of`] maps them.
    pub fn read_complete_tenant(&self) -> Result<TenantState, Diagnostics> {
        let state = self.read_mapping(&[], true, &UserProperties::All);
        self.progress_done();
        state
    }

    /// The read of [`GraphClient::read_tenant_of`]: groups (their members through `$batch` as
    /// they are listed, of every group when `every_group`), organization and subscriptions side
    /// by side, and the pages of users, each mapped from its text as it arrives. Every property
    /// of a user is known before the read and its pages start at once; the properties the
    /// rules read are known once the last page of groups is in, and the pages start then.
    fn read_mapping(
        &self,
        member_groups: &[String],
        every_group: bool,
        properties: &UserProperties,
    ) -> Result<TenantState, Diagnostics> {
        let failed = |error: GraphError| Diagnostics::from(error.to_diagnostic());
        self.progress_phase("reading users, groups and members");
        // One token for every thread, before they start.
        self.token().map_err(failed)?;
        let reader = BatchReader::new(self);
        let mut wanted: Vec<String> = Vec::new();
        let mut mapper = GraphMapper::new();
        let read = std::thread::scope(|scope| -> Result<(), GraphError> {
            let (organization, subscribed_skus) = self.start_reads(scope, &reader);
            let (send, received) = std::sync::mpsc::channel::<(String, String, bool)>();
            let read_users = |select: String| {
                let send = send.clone();
                scope.spawn(move || {
                    self.each_page_text(
                        &format!("/users?$select={select}&$top=999"),
                        &mut |origin, text, last| {
                            // The receiver stops only when the mapping below has ended.
                            let _ = send.send((origin, text, last));
                        },
                    )
                })
            };
            let early_users =
                matches!(properties, UserProperties::All).then(|| read_users(user_select()));
            let member_select = member_select();
            let mut rules: Vec<String> = Vec::new();
            let groups = self.get_pages_each(
                &format!("/groups?$select={}&$top=999", group_select()),
                &mut |page| {
                    rules.extend(rules_of(page));
                    let first = wanted.len();
                    wanted.extend(wanted_groups(page, member_groups, every_group));
                    reader.push(member_requests(&wanted, first, &member_select));
                },
            );
            reader.close();
            let groups = groups?;
            let users = match early_users {
                Some(users) => users,
                None => {
                    let config_rules = match properties {
                        UserProperties::ForRules(rules) => rules.as_slice(),
                        UserProperties::All => &[],
                    };
                    let book = RuleBook::new(config_rules.iter().chain(&rules).map(String::as_str));
                    read_users(user_select_for(book.properties()))
                }
            };
            drop(send);
            mapper.organization(&join(organization)?);
            let subscribed_skus = join(subscribed_skus)?;
            for (at, page) in subscribed_skus.iter().enumerate() {
                mapper.subscribed_skus(page, at + 1 == subscribed_skus.len());
            }
            for (at, page) in groups.iter().enumerate() {
                mapper.groups(page, at + 1 == groups.len());
            }
            drop(groups);
            let mut counted = 0;
            for (origin, text, last) in received {
                mapper
                    .users_text(&origin, None, &text, last)
                    .map_err(|error| {
                        GraphError::new(
                            GraphErrorKind::InvalidResponse,
                            origin.clone(),
                            format!("the answer is not JSON: {error}"),
                        )
                    })?;
                // The quota grows with the tenant: the first pages show its size.
                counted = mapper.user_count().max(counted);
                self.budget().tenant_has_users(counted);
            }
            join(users).map(drop)
        });
        read.map_err(failed)?;
        let mut pages = reader.finish().map_err(failed)?;
        for (key, id) in wanted.into_iter().enumerate() {
            mapper.members(&id, &pages.remove(&key).unwrap_or_default());
        }
        mapper.finish()
    }
}

/// A reading thread's pages.
type PagesRead<'scope> = std::thread::ScopedJoinHandle<'scope, Result<Vec<GraphPage>, GraphError>>;

impl GraphClient {
    /// Starts what every read begins with, side by side: the `$batch` workers that read the
    /// members `reader` is given, and the reads of the organization and the subscribed SKUs.
    fn start_reads<'scope, 'env>(
        &'env self,
        scope: &'scope std::thread::Scope<'scope, 'env>,
        reader: &'env BatchReader<'env>,
    ) -> (PagesRead<'scope>, PagesRead<'scope>) {
        for _ in 0..self.settings().max_in_flight.max(1) {
            scope.spawn(|| reader.work());
        }
        let organization = scope
            .spawn(|| self.get_pages(&format!("/organization?$select={}", organization_select())));
        let subscribed_skus =
            scope.spawn(|| self.get_pages(&format!("/subscribedSkus?$select={}", sku_select())));
        (organization, subscribed_skus)
    }
}

/// The result of a reading thread (a panicked one is an error, not a panic of the caller).
fn join<T>(
    handle: std::thread::ScopedJoinHandle<'_, Result<T, GraphError>>,
) -> Result<T, GraphError> {
    handle.join().unwrap_or_else(|_| {
        Err(GraphError::new(
            GraphErrorKind::InvalidResponse,
            "GET",
            "a thread reading the tenant panicked",
        ))
    })
}

/// The first page of members of each group of `wanted` from index `first` on, keyed by its
/// index.
fn member_requests<'a>(
    wanted: &'a [String],
    first: usize,
    member_select: &'a str,
) -> impl Iterator<Item = (usize, String)> + 'a {
    (first..wanted.len()).map(move |key| {
        (
            key,
            format!(
                "/groups/{}/members?$select={member_select}&$top=999",
                path_segment(&wanted[key])
            ),
        )
    })
}

/// The membership rules of the groups on `page` (every rule written, dynamic or not: reading a
/// property too many is harmless, one too few is not).
fn rules_of(page: &GraphPage) -> impl Iterator<Item = String> + '_ {
    page.body
        .get("value")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|group| group.get("membershipRule").and_then(Value::as_str))
        .map(str::to_string)
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
                    .is_some_and(|value| {
                        member_groups.iter().any(|wanted| {
                            wanted == value || (field == "id" && wanted.eq_ignore_ascii_case(value))
                        })
                    })
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
