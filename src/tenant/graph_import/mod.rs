//! Microsoft Graph JSON → tenant state (SPEC §1.2). The input is Graph's responses as already
//! parsed pages (objects with a `value` array), whether they were read from the files of an export
//! directory (`seatplan import graph DIR`, laid out by [`crate::io::graph_export`]) or fetched live
//! by the Graph backend: both build a [`GraphExport`] and call [`map_export`], so the two can never
//! disagree.
//!
//! Each object of a page is deserialized on its own into the serde type of its Graph resource
//! ([`types`]): unknown fields are ignored; a missing required field, a value of the wrong shape,
//! an incomplete set of pages or a duplicate object is a diagnostic naming the page and the
//! object's id (and, when the page is a registered source, pointing at the node). The `$select`
//! of each request is derived from the same types ([`select`]). The output order does not depend
//! on the order of pages or objects: subscriptions by SKU, users by UPN, groups by display name,
//! members and licenses sorted.
//!
//! The mapping runs collection by collection: the organization and the subscribed SKUs
//! ([`subscriptions`]), groups ([`groups`]), users with their licenses ([`users`]) and the
//! members of groups ([`members`]), each in time linear in its objects.

mod groups;
mod members;
mod objects;
pub mod select;
mod subscriptions;
pub mod types;
mod users;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_json::Value;

use crate::diag::Diagnostics;
use crate::source::SourceId;

use super::model::{GroupState, Subscription, TenantInfo, TenantState, UserState};

pub use select::{
    graph_property, group_select, member_select, organization_select, sku_select, user_select,
    user_select_for, USER_ATTRIBUTES, USER_BASE,
};

/// One Graph response page: an object with a `value` array and maybe an `@odata.nextLink`.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphPage {
    /// Where the page came from (`users-2.json`, or the request path): named in diagnostics.
    pub origin: String,
    /// The registered source of the page's text, when it is a file, so labels can point into it.
    pub source: Option<SourceId>,
    /// The parsed response body.
    pub body: Value,
}

impl GraphPage {
    /// A page that came from `origin` with no registered source text.
    pub fn new(origin: impl Into<String>, body: Value) -> Self {
        GraphPage {
            origin: origin.into(),
            source: None,
            body,
        }
    }
}

/// The responses a tenant is built from, each collection's pages in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GraphExport {
    /// `GET /organization`.
    pub organization: Vec<GraphPage>,
    /// `GET /subscribedSkus`.
    pub subscribed_skus: Vec<GraphPage>,
    /// `GET /users`.
    pub users: Vec<GraphPage>,
    /// `GET /groups`.
    pub groups: Vec<GraphPage>,
    /// `GET /groups/{id}/members`, by group id.
    pub members: BTreeMap<String, Vec<GraphPage>>,
}

/// Maps Graph responses to a tenant state (SPEC §1.2), collecting every problem.
pub fn map_export(export: &GraphExport) -> Result<TenantState, Diagnostics> {
    let mut mapper = GraphMapper::new();
    mapper.organization(&export.organization);
    for_pages(&export.subscribed_skus, |page, last| {
        mapper.subscribed_skus(page, last)
    });
    for_pages(&export.groups, |page, last| mapper.groups(page, last));
    for_pages(&export.users, |page, last| mapper.users(page, last));
    for (group_id, pages) in &export.members {
        mapper.members(group_id, pages);
    }
    mapper.finish()
}

/// Calls `map` with each page and whether it is the collection's last.
fn for_pages(pages: &[GraphPage], mut map: impl FnMut(&GraphPage, bool)) {
    for (index, page) in pages.iter().enumerate() {
        map(page, index + 1 == pages.len());
    }
}

/// The groups of the groups response by lowercase id, while users and members are mapped.
type GroupIndex = BTreeMap<String, GroupState>;

/// A mapping of Graph responses into a tenant state, fed one page at a time so that a caller
/// holding many pages (a large export read from files) can drop each page once it is mapped:
/// the organization first, then every page of the subscribed SKUs, of the groups and of the
/// users, in that order (each collection tells the next the names and groups it refers to),
/// then the members of each group, and [`GraphMapper::finish`]. [`map_export`] does exactly this
/// for pages already in memory. Every problem is collected; each one about an object is raised
/// while that object's page is mapped.
#[derive(Default)]
pub struct GraphMapper {
    diagnostics: Diagnostics,
    tenant: TenantInfo,
    /// skuId (lowercase) → subscription.
    subscriptions: BTreeMap<String, Subscription>,
    /// Service plan GUID (lowercase) → servicePlanName.
    plan_names: HashMap<String, String>,
    groups: GroupIndex,
    /// Ids (lowercase) of the groups that assign licenses: their members must be exported.
    licensed: BTreeSet<String>,
    /// Ids (lowercase) of groups already reported as invalid: references to them are not
    /// reported a second time.
    rejected_groups: HashSet<String>,
    users: Vec<UserState>,
    /// Ids (lowercase) of the users mapped so far, to report duplicates.
    user_ids: HashSet<String>,
    /// Ids (lowercase) of the groups whose members response was mapped.
    member_responses: HashSet<String>,
}

impl GraphMapper {
    /// A mapping with nothing mapped yet.
    pub fn new() -> Self {
        GraphMapper::default()
    }

    /// How many problems were found so far: a caller can tell whether a page it just handed in
    /// raised any (and so whether its text is needed to show them).
    pub fn problem_count(&self) -> usize {
        self.diagnostics.iter().len()
    }

    /// How many users were mapped so far.
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// The tenant state, with subscriptions by SKU, users by UPN and groups by display name, or
    /// every problem found.
    pub fn finish(mut self) -> Result<TenantState, Diagnostics> {
        self.check_member_responses();
        if self.diagnostics.has_errors() {
            return Err(self.diagnostics);
        }
        let mut subscriptions: Vec<Subscription> = self.subscriptions.into_values().collect();
        subscriptions.sort_by(|a, b| a.sku.cmp(&b.sku).then_with(|| a.id.cmp(&b.id)));
        let mut users = self.users;
        users.sort_by_cached_key(|user| (user.upn.to_lowercase(), user.id.clone()));
        let mut groups: Vec<GroupState> = self.groups.into_values().collect();
        groups.sort_by_cached_key(|group| {
            (
                group.display_name.to_lowercase(),
                group.display_name.clone(),
                group.id.clone(),
            )
        });
        Ok(TenantState {
            version: 1,
            tenant: self.tenant,
            subscriptions,
            users,
            groups,
            delta: None,
        })
    }
}

#[cfg(test)]
mod tests;
