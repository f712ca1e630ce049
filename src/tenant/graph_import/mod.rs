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

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::diag::Diagnostics;
use crate::source::SourceId;

use super::model::{GroupState, Subscription, TenantState};

pub use select::{
    group_select, member_select, organization_select, sku_select, user_select, USER_ATTRIBUTES,
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
    let mut mapper = Mapper::default();
    let tenant = mapper.organization(&export.organization);
    mapper.subscribed_skus(&export.subscribed_skus);
    let (mut groups, licensed) = mapper.groups(&export.groups);
    let mut users = mapper.users(&export.users, &groups);
    mapper.members(&export.members, &mut groups, &licensed);
    if mapper.diagnostics.has_errors() {
        return Err(mapper.diagnostics);
    }
    let mut subscriptions: Vec<Subscription> = mapper.subscriptions.into_values().collect();
    subscriptions.sort_by(|a, b| a.sku.cmp(&b.sku).then_with(|| a.id.cmp(&b.id)));
    users.sort_by_cached_key(|user| (user.upn.to_lowercase(), user.id.clone()));
    let mut groups: Vec<GroupState> = groups.into_values().collect();
    groups.sort_by_cached_key(|group| {
        (
            group.display_name.to_lowercase(),
            group.display_name.clone(),
            group.id.clone(),
        )
    });
    Ok(TenantState {
        version: 1,
        tenant,
        subscriptions,
        users,
        groups,
        delta: None,
    })
}

/// The groups of the groups response by lowercase id, while users and members are mapped.
type GroupIndex = BTreeMap<String, GroupState>;

/// The state of one mapping: what earlier collections taught the later ones, and every problem.
#[derive(Default)]
struct Mapper {
    diagnostics: Diagnostics,
    /// skuId (lowercase) → subscription.
    subscriptions: BTreeMap<String, Subscription>,
    /// Service plan GUID (lowercase) → servicePlanName.
    plan_names: HashMap<String, String>,
    /// Ids (lowercase) of groups already reported as invalid: references to them are not
    /// reported a second time.
    rejected_groups: HashSet<String>,
}

#[cfg(test)]
mod tests;
