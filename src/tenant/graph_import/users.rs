//! `GET /users`: each user's identity, usage location, the properties rules test, service plans,
//! direct licenses and the recorded states of inherited ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::diag::Code;
use crate::tenant::model::{
    AssignedLicense, AssignedPlan, AssignmentError, AssignmentState, AttributeValue, Attributes,
    LicenseState, UserState,
};

use super::objects::{At, Entry};
use super::select::USER_ATTRIBUTES;
use super::types::{self, User};
use super::{GraphMapper, GraphPage, GroupIndex};
use crate::source::SourceId;

impl GraphMapper {
    /// Maps a page of `GET /users` (`last`: the collection's last page), after every page of
    /// the groups: they resolve the groups licenses come from.
    pub fn users(&mut self, page: &GraphPage, last: bool) {
        let groups = std::mem::take(&mut self.groups);
        self.users_of(page, last, &groups);
        self.groups = groups;
    }

    fn users_of(&mut self, page: &GraphPage, last: bool, groups: &GroupIndex) {
        let objects = self.page_objects::<User>(page, last, "user", "id");
        self.users.reserve(objects.len());
        for Entry { at, object, typed } in objects {
            let Some(user) = typed else {
                continue;
            };
            let attributes = self.attributes(&at, object, &user);
            self.user(&at, &user, attributes, groups);
        }
    }

    /// Maps a page of `GET /users` given as the response's text, as it came from Graph or from
    /// the file `source` names: each object is deserialized straight into its type and its
    /// attributes ([`TypedUser`]), with no intermediate JSON tree. An object that does not
    /// deserialize so, and a page that is not a collection, take the path of
    /// [`GraphMapper::users`], which names the object's id and the path of the bad property
    /// (pointing into `source` when given); their results are the same. A text that is not
    /// JSON is the error, and the mapping is to be given up (the users before the fault are
    /// mapped). Like any client that skips what it does not read, the text is checked as JSON
    /// everywhere but inside the values of properties seatplan ignores, where an escape of a
    /// lone UTF-16 surrogate or a number beyond the range of a double passes unnoticed.
    pub fn users_text(
        &mut self,
        origin: &str,
        source: Option<SourceId>,
        text: &str,
        last: bool,
    ) -> Result<(), serde_json::Error> {
        #[derive(Deserialize)]
        struct Envelope<'a> {
            #[serde(borrow)]
            value: Vec<&'a RawValue>,
            #[serde(rename = "@odata.nextLink")]
            next_link: Option<IgnoredAny>,
        }
        let groups = std::mem::take(&mut self.groups);
        let page = GraphPage {
            origin: origin.to_string(),
            source,
            body: Value::Null,
        };
        match serde_json::from_str::<Envelope<'_>>(text) {
            Ok(envelope) if !(last && envelope.next_link.is_some()) => {
                self.users.reserve(envelope.value.len());
                for (position, raw) in envelope.value.into_iter().enumerate() {
                    match serde_json::from_str::<TypedUser>(raw.get()) {
                        Ok(TypedUser { user, attributes }) => {
                            let at = At {
                                page: &page,
                                pointer: format!("/value/{position}"),
                                kind: "user",
                                id: user.id.clone(),
                            };
                            self.user(&at, &user, attributes, &groups);
                        }
                        Err(_) => {
                            let object = match serde_json::from_str::<Value>(raw.get()) {
                                Ok(object) => object,
                                Err(error) => {
                                    self.groups = groups;
                                    return Err(error);
                                }
                            };
                            if let Some(Entry {
                                at,
                                object,
                                typed: Some(user),
                            }) = self.entry::<User>(&page, position, &object, "user", "id")
                            {
                                let attributes = self.attributes(&at, object, &user);
                                self.user(&at, &user, attributes, &groups);
                            }
                        }
                    }
                }
            }
            _ => {
                let mapped = serde_json::from_str(text)
                    .map(|body| self.users_of(&GraphPage { body, ..page }, last, &groups));
                self.groups = groups;
                return mapped;
            }
        }
        self.groups = groups;
        Ok(())
    }

    /// Maps one user object: its identity, attributes, plans and licenses.
    fn user(&mut self, at: &At<'_>, user: &User, attributes: Attributes, groups: &GroupIndex) {
        let id = self.required_id(at, &user.id);
        let upn = self.required(at, &user.user_principal_name, "userPrincipalName");
        let assigned_plans = self.assigned_plans(at, user);
        let (licenses, license_states) = self.user_licenses(at, user, groups);
        let (Some(id), Some(upn)) = (id, upn) else {
            return;
        };
        if !self.user_ids.insert(id.to_ascii_lowercase()) {
            self.diagnostics.push(
                at.diagnostic(
                    Code::GraphDuplicateObject,
                    None,
                    format!("the user `{id}` is listed twice"),
                )
                .with_help("export each page once"),
            );
            return;
        }
        self.users.push(UserState {
            id: id.clone(),
            upn: upn.clone(),
            usage_location: user.usage_location.clone().filter(|code| !code.is_empty()),
            attributes,
            proxy_addresses: user.proxy_addresses.clone().unwrap_or_default(),
            assigned_plans,
            licenses,
            license_states,
        });
    }

    /// The properties rules test ([`USER_ATTRIBUTES`]), the on-premises extension attributes
    /// and any directory extensions, by their Graph names.
    fn attributes(&mut self, at: &At<'_>, object: &Map<String, Value>, user: &User) -> Attributes {
        let mut attributes = Attributes::new();
        for name in USER_ATTRIBUTES {
            let Some(value) = object.get(*name) else {
                continue;
            };
            match Option::<AttributeValue>::deserialize(value) {
                Ok(Some(value)) => {
                    attributes.insert(*name, value);
                }
                Ok(None) => {}
                Err(_) => self
                    .diagnostics
                    .push(at.invalid(name, "a string, boolean, number or list of strings")),
            }
        }
        if let Some(extensions) = &user.on_premises_extension_attributes {
            for (name, value) in extensions.set() {
                attributes.insert(name, AttributeValue::String(value.into()));
            }
        }
        // serde_json's map iterates in key order, so directory extensions come out sorted; one
        // of a shape rules cannot test is left out, as Graph's own rule engine ignores it.
        for (name, value) in object {
            if name.starts_with("extension_") {
                if let Ok(Some(value)) = Option::<AttributeValue>::deserialize(value) {
                    attributes.insert(name.as_str(), value);
                }
            }
        }
        attributes
    }

    fn assigned_plans(&mut self, at: &At<'_>, user: &User) -> Vec<AssignedPlan> {
        let mut plans = Vec::new();
        for plan in user.assigned_plans.iter().flatten() {
            match (&plan.service_plan_id, &plan.capability_status) {
                (Some(id), Some(status)) => plans.push(AssignedPlan {
                    service_plan_id: id.clone(),
                    capability_status: status.clone(),
                    service: plan.service.clone(),
                }),
                _ => self.diagnostics.push(at.invalid(
                    "assignedPlans",
                    "a list of objects with `servicePlanId` and `capabilityStatus`",
                )),
            }
        }
        plans
    }

    /// Direct licenses (assignments whose state has no `assignedByGroup`) and the recorded
    /// states of inherited ones.
    fn user_licenses(
        &mut self,
        at: &At<'_>,
        user: &User,
        groups: &GroupIndex,
    ) -> (Vec<AssignedLicense>, Vec<LicenseState>) {
        let assigned = self
            .required(at, &user.assigned_licenses, "assignedLicenses")
            .map_or(&[][..], Vec::as_slice);
        let Some(states) = self.required(
            at,
            &user.license_assignment_states,
            "licenseAssignmentStates",
        ) else {
            return (Vec::new(), Vec::new());
        };
        let mut direct: BTreeMap<String, AssignedLicense> = BTreeMap::new();
        let mut inherited = Vec::new();
        let mut with_state = BTreeSet::new();
        for entry in states {
            let Some(sku_id) = &entry.sku_id else {
                self.diagnostics
                    .push(at.missing("licenseAssignmentStates[].skuId"));
                continue;
            };
            with_state.insert(sku_id.to_ascii_lowercase());
            let Some(group_id) = &entry.assigned_by_group else {
                let license = AssignedLicense {
                    sku: self.sku_name(sku_id),
                    disabled_plans: self
                        .plan_list(entry.disabled_plans.as_deref().unwrap_or_default()),
                };
                direct.insert(license.sku.clone(), license);
                continue;
            };
            if let Some(state) = self.inherited_state(at, entry, sku_id, group_id, groups) {
                inherited.push(state);
            }
        }
        // An assigned license with no recorded state at all can only be a direct one.
        for item in assigned {
            let recorded = item
                .sku_id
                .as_ref()
                .is_some_and(|id| with_state.contains(&id.to_ascii_lowercase()));
            if recorded {
                continue;
            }
            if let Some(license) = self.assigned_license(at, item, "assignedLicenses") {
                direct.entry(license.sku.clone()).or_insert(license);
            }
        }
        inherited.sort_by(|a, b| {
            (&a.sku, &a.via, a.state, a.error).cmp(&(&b.sku, &b.via, b.state, b.error))
        });
        (direct.into_values().collect(), inherited)
    }

    /// The recorded state of a license `group_id` assigns, when the group is known and the
    /// state is one licensing records.
    fn inherited_state(
        &mut self,
        at: &At<'_>,
        entry: &types::LicenseAssignmentState,
        sku_id: &str,
        group_id: &str,
        groups: &GroupIndex,
    ) -> Option<LicenseState> {
        let key = group_id.to_ascii_lowercase();
        let Some(group) = groups.get(&key) else {
            if !self.rejected_groups.contains(&key) {
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphInconsistentExport,
                        Some("licenseAssignmentStates"),
                        format!(
                            "{} has a license from the group `{group_id}`, which the groups \
                             response does not list",
                            at.describe()
                        ),
                    )
                    .with_help("export all groups (`GET /groups`, every page) with the users"),
                );
            }
            return None;
        };
        let state = match entry.state.as_deref() {
            Some("Active") => AssignmentState::Active,
            Some("ActiveWithError") => AssignmentState::ActiveWithError,
            Some("Disabled") => AssignmentState::Disabled,
            Some("Error") => AssignmentState::Error,
            _ => {
                self.diagnostics.push(at.invalid(
                    "licenseAssignmentStates",
                    "a list whose `state` is Active, ActiveWithError, Disabled or Error",
                ));
                return None;
            }
        };
        let error = match entry.error.as_deref() {
            None | Some("None") | Some("") => None,
            Some("CountViolation") => Some(AssignmentError::CountViolation),
            Some("MutuallyExclusiveViolation") => Some(AssignmentError::MutuallyExclusiveViolation),
            Some("DependencyViolation") => Some(AssignmentError::DependencyViolation),
            Some("ProhibitedInUsageLocationViolation") => {
                Some(AssignmentError::ProhibitedInUsageLocationViolation)
            }
            Some("UniquenessViolation") => Some(AssignmentError::UniquenessViolation),
            Some(_) => Some(AssignmentError::Other),
        };
        // A state in error always says why; one that says `None` is recorded as Graph's `Other`.
        let error = match state {
            AssignmentState::Error | AssignmentState::ActiveWithError => {
                error.or(Some(AssignmentError::Other))
            }
            AssignmentState::Active | AssignmentState::Disabled => error,
        };
        Some(LicenseState {
            sku: self.sku_name(sku_id),
            via: Some(group.id.clone()),
            state,
            error,
        })
    }
}

/// A user object deserialized in one pass: its [`User`] properties and its attributes in the
/// order [`GraphMapper::users`] gives them (the [`USER_ATTRIBUTES`] in their order, then the
/// on-premises extension attributes, then directory extensions by name). An attribute of a
/// shape rules cannot read fails the object, which then takes the slow path that reports it; a
/// directory extension of such a shape is left out, as there.
pub(super) struct TypedUser {
    user: User,
    attributes: Attributes,
}

/// A property name, borrowed from the text when it holds no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a property name")
            }
            fn visit_borrowed_str<E>(self, name: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(name)))
            }
            fn visit_str<E>(self, name: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(name.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Deserialize<'de> for TypedUser {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UserVisitor;
        impl<'de> Visitor<'de> for UserVisitor {
            type Value = TypedUser;
            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a user object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<TypedUser, M::Error> {
                let mut user = User::default();
                let mut named: Vec<(usize, AttributeValue)> = Vec::new();
                let mut extensions: BTreeMap<String, AttributeValue> = BTreeMap::new();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match key.as_ref() {
                        "id" => user.id = map.next_value()?,
                        "userPrincipalName" => user.user_principal_name = map.next_value()?,
                        "usageLocation" => user.usage_location = map.next_value()?,
                        "proxyAddresses" => user.proxy_addresses = map.next_value()?,
                        "assignedLicenses" => user.assigned_licenses = map.next_value()?,
                        "licenseAssignmentStates" => {
                            user.license_assignment_states = map.next_value()?;
                        }
                        "assignedPlans" => user.assigned_plans = map.next_value()?,
                        "onPremisesExtensionAttributes" => {
                            user.on_premises_extension_attributes = map.next_value()?;
                        }
                        name => {
                            if let Some(at) = USER_ATTRIBUTES.iter().position(|a| *a == name) {
                                named.retain(|(other, _)| *other != at);
                                if let Some(value) = map.next_value::<Option<AttributeValue>>()? {
                                    named.push((at, value));
                                }
                            } else if name.starts_with("extension_") {
                                let value = map.next_value::<Value>()?;
                                match Option::<AttributeValue>::deserialize(&value) {
                                    Ok(Some(value)) => {
                                        extensions.insert(name.to_string(), value);
                                    }
                                    _ => {
                                        extensions.remove(name);
                                    }
                                }
                            } else {
                                map.next_value::<IgnoredAny>()?;
                            }
                        }
                    }
                }
                named.sort_by_key(|(at, _)| *at);
                let mut attributes = Attributes::new();
                for (at, value) in named {
                    attributes.insert(USER_ATTRIBUTES[at], value);
                }
                if let Some(set) = &user.on_premises_extension_attributes {
                    for (name, value) in set.set() {
                        attributes.insert(name, AttributeValue::String(value.into()));
                    }
                }
                for (name, value) in extensions {
                    attributes.insert(name.as_str(), value);
                }
                Ok(TypedUser { user, attributes })
            }
        }
        deserializer.deserialize_map(UserVisitor)
    }
}
