//! Microsoft Graph JSON → tenant state (SPEC §1.2). The input is Graph's responses as already
//! parsed pages (objects with a `value` array), whether they were read from the files of an export
//! directory (`seatplan import graph DIR`) or fetched live by the Graph backend: both build a
//! [`GraphExport`] and call [`map_export`], so the two can never disagree.
//!
//! Unknown fields are ignored; a missing required field, a value of the wrong shape, an
//! incomplete set of pages or a duplicate object is a diagnostic naming the page and the object's
//! id (and, when the page is a registered source, pointing at the node). The output order does not
//! depend on the order of pages or objects: subscriptions by SKU, users by UPN, groups by display
//! name, members and licenses sorted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::config::RuleProcessing;
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::source::{pointer_child, SourceId};

use super::model::{
    AssignedLicense, AssignedPlan, AssignmentError, AssignmentState, AttributeValue, Attributes,
    GroupState, LicenseState, SubscribedPlan, Subscription, TenantInfo, TenantState, UserState,
};

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

/// The `$select` of `GET /users`: everything [`map_export`] reads from a user.
pub fn user_select() -> String {
    let mut fields = vec![
        "id",
        "userPrincipalName",
        "usageLocation",
        "proxyAddresses",
        "assignedLicenses",
        "licenseAssignmentStates",
        "assignedPlans",
        "onPremisesExtensionAttributes",
    ];
    fields.extend_from_slice(USER_ATTRIBUTES);
    fields.join(",")
}

/// The `$select` of `GET /groups`: everything [`map_export`] reads from a group.
pub const GROUP_SELECT: &str = "id,displayName,description,groupTypes,securityEnabled,mailEnabled,\
membershipRule,membershipRuleProcessingState,assignedLicenses";

/// The `$select` of `GET /groups/{id}/members`.
pub const MEMBER_SELECT: &str = "id,userPrincipalName";

/// The `$select` of `GET /subscribedSkus` (Graph ignores `$select` there, but it documents intent).
pub const SKU_SELECT: &str = "skuId,skuPartNumber,prepaidUnits,consumedUnits,servicePlans";

/// The `$select` of `GET /organization`.
pub const ORGANIZATION_SELECT: &str = "id,countryLetterCode";

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
    let users = mapper.users(&export.users, &groups);
    mapper.members(&export.members, &mut groups, &licensed);
    if mapper.diagnostics.has_errors() {
        return Err(mapper.diagnostics);
    }
    let mut subscriptions: Vec<Subscription> = mapper.subscriptions.into_values().collect();
    subscriptions.sort_by(|a, b| a.sku.cmp(&b.sku).then_with(|| a.id.cmp(&b.id)));
    let mut users: Vec<UserState> = users;
    users.sort_by(|a, b| {
        a.upn
            .to_lowercase()
            .cmp(&b.upn.to_lowercase())
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut groups: Vec<GroupState> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then_with(|| a.display_name.cmp(&b.display_name))
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(TenantState {
        version: 1,
        tenant,
        subscriptions,
        users,
        groups,
    })
}

/// One object of a page being mapped: where it is, for diagnostics.
struct At<'a> {
    page: &'a GraphPage,
    pointer: String,
    kind: &'static str,
    id: Option<String>,
}

impl At<'_> {
    fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("{} `{id}`", self.kind),
            None => format!("a {}", self.kind),
        }
    }

    fn diagnostic(&self, code: Code, field: Option<&str>, message: String) -> Diagnostic {
        let diagnostic = Diagnostic::new(code, format!("`{}`: {message}", self.page.origin));
        match self.page.source {
            Some(source) => {
                let pointer = match field {
                    Some(field) => pointer_child(&self.pointer, field),
                    None => self.pointer.clone(),
                };
                diagnostic.with_label(Location::node(source, pointer), "here")
            }
            None => diagnostic,
        }
    }

    fn missing(&self, field: &str) -> Diagnostic {
        self.diagnostic(
            Code::GraphMissingField,
            None,
            format!("{} has no `{field}`", self.describe()),
        )
        .with_help(format!("export the response with `{field}` in its $select"))
    }

    fn invalid(&self, field: &str, expected: &str) -> Diagnostic {
        self.diagnostic(
            Code::GraphInvalidValue,
            Some(field),
            format!("`{field}` of {} is not {expected}", self.describe()),
        )
        .with_help("the file must hold the response exactly as Graph returned it")
    }
}

#[derive(Default)]
struct Mapper {
    diagnostics: Diagnostics,
    /// skuId → subscription.
    subscriptions: BTreeMap<String, Subscription>,
    /// Service plan GUID (lowercase) → servicePlanName.
    plan_names: HashMap<String, String>,
    /// Ids (lowercase) of groups already reported as invalid: references to them are not
    /// reported a second time.
    rejected_groups: BTreeSet<String>,
}

/// A group's display name and whether it has licenses, by id, while users are mapped.
type GroupIndex = BTreeMap<String, GroupState>;

impl Mapper {
    /// The objects of a collection's pages with their pointers; pages without a `value` array
    /// are reported.
    fn objects<'a>(
        &mut self,
        pages: &'a [GraphPage],
        kind: &'static str,
    ) -> Vec<(At<'a>, &'a Map<String, Value>)> {
        let mut objects = Vec::new();
        let last = pages.len().saturating_sub(1);
        for (index, page) in pages.iter().enumerate() {
            let Some(values) = page.body.get("value").and_then(Value::as_array) else {
                let at = At {
                    page,
                    pointer: String::new(),
                    kind: "response",
                    id: None,
                };
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphMissingField,
                        None,
                        "the response has no `value` array".into(),
                    )
                    .with_help("each file must hold one Graph collection response as returned"),
                );
                continue;
            };
            if index == last && page.body.get("@odata.nextLink").is_some() {
                let at = At {
                    page,
                    pointer: String::new(),
                    kind: "response",
                    id: None,
                };
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphInconsistentExport,
                        Some("@odata.nextLink"),
                        "the response has an `@odata.nextLink` but its next page is missing".into(),
                    )
                    .with_help(
                        "fetch every page and save page N as <name>-N.json next to the first",
                    ),
                );
            }
            for (position, value) in values.iter().enumerate() {
                let pointer = format!("/value/{position}");
                match value.as_object() {
                    Some(object) => {
                        let id = object.get("id").and_then(Value::as_str).map(str::to_string);
                        objects.push((
                            At {
                                page,
                                pointer,
                                kind,
                                id,
                            },
                            object,
                        ));
                    }
                    None => {
                        let at = At {
                            page,
                            pointer,
                            kind,
                            id: None,
                        };
                        self.diagnostics.push(
                            at.diagnostic(
                                Code::GraphInvalidValue,
                                None,
                                format!("an entry of `value` is not a {kind} object"),
                            )
                            .with_help(
                                "the file must hold the response exactly as Graph returned it",
                            ),
                        );
                    }
                }
            }
        }
        objects
    }

    fn required_str<'v>(
        &mut self,
        at: &At<'_>,
        object: &'v Map<String, Value>,
        field: &str,
    ) -> Option<&'v str> {
        if self.missing(at, object, field) {
            return None;
        }
        self.optional_str(at, object, field)
    }

    /// Reports `field` as missing when it is absent or null; true then.
    fn missing(&mut self, at: &At<'_>, object: &Map<String, Value>, field: &str) -> bool {
        let missing = object.get(field).is_none_or(Value::is_null);
        if missing {
            self.diagnostics.push(at.missing(field));
        }
        missing
    }

    fn optional_str<'v>(
        &mut self,
        at: &At<'_>,
        object: &'v Map<String, Value>,
        field: &str,
    ) -> Option<&'v str> {
        match object.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text),
            Some(_) => {
                self.diagnostics.push(at.invalid(field, "a string"));
                None
            }
        }
    }

    fn required_array<'v>(
        &mut self,
        at: &At<'_>,
        object: &'v Map<String, Value>,
        field: &str,
    ) -> Option<&'v [Value]> {
        if self.missing(at, object, field) {
            return None;
        }
        match object.get(field) {
            Some(Value::Array(items)) => Some(items),
            _ => {
                self.diagnostics.push(at.invalid(field, "an array"));
                None
            }
        }
    }

    fn string_list(
        &mut self,
        at: &At<'_>,
        object: &Map<String, Value>,
        field: &str,
    ) -> Vec<String> {
        match object.get(field) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_string))
                .collect(),
            Some(_) => {
                self.diagnostics
                    .push(at.invalid(field, "an array of strings"));
                Vec::new()
            }
        }
    }

    fn organization(&mut self, pages: &[GraphPage]) -> TenantInfo {
        let objects = self.objects(pages, "organization");
        let Some((at, object)) = objects.first() else {
            if let Some(page) = pages.first() {
                let at = At {
                    page,
                    pointer: "/value".into(),
                    kind: "organization",
                    id: None,
                };
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphMissingField,
                        None,
                        "the organization response lists no organization".into(),
                    )
                    .with_help("export `GET /organization` with the application's permissions"),
                );
            }
            return TenantInfo::default();
        };
        let id = self.required_str(at, object, "id").map(str::to_string);
        let default_usage_location = self
            .optional_str(at, object, "countryLetterCode")
            .filter(|code| !code.is_empty())
            .map(str::to_string);
        TenantInfo {
            id,
            default_usage_location,
        }
    }

    fn subscribed_skus(&mut self, pages: &[GraphPage]) {
        let objects = self.objects(pages, "subscribedSku");
        for (mut at, object) in objects {
            if let Some(sku_id) = object.get("skuId").and_then(Value::as_str) {
                at.id = Some(sku_id.to_string());
            }
            let sku_id = self.required_str(&at, object, "skuId");
            let part_number = self.required_str(&at, object, "skuPartNumber");
            let enabled = match object.get("prepaidUnits") {
                None | Some(Value::Null) => {
                    self.diagnostics.push(at.missing("prepaidUnits"));
                    None
                }
                Some(units) => match units.get("enabled") {
                    Some(Value::Number(number)) if number.as_u64().is_some() => number.as_u64(),
                    Some(_) => {
                        self.diagnostics.push(at.invalid(
                            "prepaidUnits",
                            "an object whose `enabled` is a whole number",
                        ));
                        None
                    }
                    None => {
                        self.diagnostics.push(at.missing("prepaidUnits.enabled"));
                        None
                    }
                },
            };
            // The other units are optional: older exports and some products leave them out.
            let unit = |name: &str| {
                object
                    .get("prepaidUnits")
                    .and_then(|units| units.get(name))
                    .and_then(Value::as_u64)
                    .unwrap_or(0)
            };
            let (warning, suspended) = (unit("warning"), unit("suspended"));
            let consumed = object.get("consumedUnits").and_then(Value::as_u64);
            let mut service_plans = Vec::new();
            if let Some(plans) = object.get("servicePlans").and_then(Value::as_array) {
                for plan in plans {
                    let id = plan.get("servicePlanId").and_then(Value::as_str);
                    let name = plan.get("servicePlanName").and_then(Value::as_str);
                    if let (Some(id), Some(name)) = (id, name) {
                        self.plan_names
                            .insert(id.to_ascii_lowercase(), name.to_string());
                        service_plans.push(SubscribedPlan {
                            name: name.to_string(),
                            id: id.to_ascii_lowercase(),
                        });
                    }
                }
            }
            service_plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            let (Some(sku_id), Some(part_number), Some(enabled)) = (sku_id, part_number, enabled)
            else {
                continue;
            };
            let key = sku_id.to_ascii_lowercase();
            if self.subscriptions.contains_key(&key) {
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphDuplicateObject,
                        None,
                        format!("the subscribedSku `{sku_id}` is listed twice"),
                    )
                    .with_help("export each page once"),
                );
                continue;
            }
            self.subscriptions.insert(
                key,
                Subscription {
                    sku: part_number.to_string(),
                    id: Some(sku_id.to_string()),
                    enabled,
                    warning,
                    suspended,
                    consumed,
                    plans: service_plans,
                },
            );
        }
    }

    /// The skuPartNumber of a skuId, or the GUID itself for a product the tenant has no
    /// subscription for.
    fn sku_name(&self, sku_id: &str) -> String {
        self.subscriptions
            .get(&sku_id.to_ascii_lowercase())
            .map_or_else(|| sku_id.to_string(), |sub| sub.sku.clone())
    }

    /// Disabled plan GUIDs as service plan names where the subscriptions name them, sorted.
    fn plan_list(&self, guids: Vec<String>) -> Vec<String> {
        let mut names: Vec<String> = guids
            .into_iter()
            .map(|guid| {
                self.plan_names
                    .get(&guid.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or(guid)
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// An `assignedLicense` object (`skuId`, `disabledPlans`).
    fn assigned_license(
        &mut self,
        at: &At<'_>,
        value: &Value,
        field: &str,
    ) -> Option<AssignedLicense> {
        let Some(object) = value.as_object() else {
            self.diagnostics
                .push(at.invalid(field, "an array of assignedLicense objects"));
            return None;
        };
        let Some(sku_id) = object.get("skuId").and_then(Value::as_str) else {
            self.diagnostics
                .push(at.missing(&format!("{field}[].skuId")));
            return None;
        };
        let disabled = self.string_list(at, object, "disabledPlans");
        Some(AssignedLicense {
            sku: self.sku_name(sku_id),
            disabled_plans: self.plan_list(disabled),
        })
    }

    fn groups(&mut self, pages: &[GraphPage]) -> (GroupIndex, BTreeSet<String>) {
        let mut groups = GroupIndex::new();
        let mut licensed = BTreeSet::new();
        let objects = self.objects(pages, "group");
        for (at, object) in objects {
            let id = self.required_str(&at, object, "id");
            let display_name = self.required_str(&at, object, "displayName");
            let security_enabled = match object.get("securityEnabled") {
                Some(Value::Bool(flag)) => Some(*flag),
                None | Some(Value::Null) => {
                    self.diagnostics.push(at.missing("securityEnabled"));
                    None
                }
                Some(_) => {
                    self.diagnostics
                        .push(at.invalid("securityEnabled", "true or false"));
                    None
                }
            };
            let mail_enabled = match object.get("mailEnabled") {
                Some(Value::Bool(flag)) => *flag,
                None | Some(Value::Null) => false,
                Some(_) => {
                    self.diagnostics
                        .push(at.invalid("mailEnabled", "true or false"));
                    false
                }
            };
            let description = self
                .optional_str(&at, object, "description")
                .map(str::to_string);
            let group_types = self.string_list(&at, object, "groupTypes");
            let dynamic = group_types
                .iter()
                .any(|kind| kind.eq_ignore_ascii_case("DynamicMembership"));
            let rule = if dynamic {
                self.required_str(&at, object, "membershipRule")
                    .map(str::to_string)
            } else {
                None
            };
            let rule_processing =
                match self.optional_str(&at, object, "membershipRuleProcessingState") {
                    Some(state) if state.eq_ignore_ascii_case("On") => Some(RuleProcessing::On),
                    Some(state) if state.eq_ignore_ascii_case("Paused") => {
                        Some(RuleProcessing::Paused)
                    }
                    Some(_) => {
                        self.diagnostics
                            .push(at.invalid("membershipRuleProcessingState", "`On` or `Paused`"));
                        None
                    }
                    None => None,
                }
                .filter(|_| dynamic);
            let licenses = match self.required_array(&at, object, "assignedLicenses") {
                Some(items) => {
                    let mut licenses: Vec<AssignedLicense> = items
                        .iter()
                        .filter_map(|item| self.assigned_license(&at, item, "assignedLicenses"))
                        .collect();
                    licenses.sort_by(|a, b| a.sku.cmp(&b.sku));
                    licenses
                }
                None => Vec::new(),
            };
            let (Some(id), Some(display_name), Some(security_enabled)) =
                (id, display_name, security_enabled)
            else {
                if let Some(id) = id {
                    self.rejected_groups.insert(id.to_ascii_lowercase());
                }
                continue;
            };
            let key = id.to_ascii_lowercase();
            if groups.contains_key(&key) {
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphDuplicateObject,
                        None,
                        format!("the group `{id}` is listed twice"),
                    )
                    .with_help("export each page once"),
                );
                continue;
            }
            if !licenses.is_empty() {
                licensed.insert(key.clone());
            }
            groups.insert(
                key,
                GroupState {
                    id: id.to_string(),
                    display_name: display_name.to_string(),
                    description,
                    security_enabled,
                    mail_enabled,
                    rule,
                    rule_processing,
                    members: Vec::new(),
                    licenses,
                },
            );
        }
        (groups, licensed)
    }

    fn users(&mut self, pages: &[GraphPage], groups: &GroupIndex) -> Vec<UserState> {
        let mut users = Vec::new();
        let mut seen_ids = BTreeSet::new();
        let objects = self.objects(pages, "user");
        for (at, object) in objects {
            let id = self.required_str(&at, object, "id");
            let upn = self.required_str(&at, object, "userPrincipalName");
            let usage_location = self
                .optional_str(&at, object, "usageLocation")
                .filter(|code| !code.is_empty())
                .map(str::to_string);
            let proxy_addresses = self.string_list(&at, object, "proxyAddresses");
            let attributes = self.attributes(&at, object);
            let assigned_plans = self.assigned_plans(&at, object);
            let (licenses, license_states) = self.user_licenses(&at, object, groups);
            let (Some(id), Some(upn)) = (id, upn) else {
                continue;
            };
            if !seen_ids.insert(id.to_ascii_lowercase()) {
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphDuplicateObject,
                        None,
                        format!("the user `{id}` is listed twice"),
                    )
                    .with_help("export each page once"),
                );
                continue;
            }
            users.push(UserState {
                id: id.to_string(),
                upn: upn.to_string(),
                usage_location,
                attributes,
                proxy_addresses,
                assigned_plans,
                licenses,
                license_states,
            });
        }
        users
    }

    fn attributes(&mut self, at: &At<'_>, object: &Map<String, Value>) -> Attributes {
        let mut attributes = Attributes::new();
        for name in USER_ATTRIBUTES {
            if let Some(value) = object.get(*name) {
                if let Some(value) = attribute_value(value) {
                    attributes.insert(*name, value);
                } else if !value.is_null() {
                    self.diagnostics
                        .push(at.invalid(name, "a string, boolean, number or list of strings"));
                }
            }
        }
        if let Some(extensions) = object.get("onPremisesExtensionAttributes") {
            match extensions {
                Value::Object(map) => {
                    for number in 1..=15 {
                        let name = format!("extensionAttribute{number}");
                        if let Some(Value::String(text)) = map.get(&name) {
                            attributes.insert(name, AttributeValue::String(text.as_str().into()));
                        }
                    }
                }
                Value::Null => {}
                _ => self
                    .diagnostics
                    .push(at.invalid("onPremisesExtensionAttributes", "an object")),
            }
        }
        // serde_json's map iterates in key order, so directory extensions come out sorted.
        for (name, value) in object {
            if name.starts_with("extension_") {
                if let Some(value) = attribute_value(value) {
                    attributes.insert(name.as_str(), value);
                }
            }
        }
        attributes
    }

    fn assigned_plans(&mut self, at: &At<'_>, object: &Map<String, Value>) -> Vec<AssignedPlan> {
        let items = match object.get("assignedPlans") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.diagnostics
                    .push(at.invalid("assignedPlans", "an array"));
                return Vec::new();
            }
        };
        let mut plans = Vec::new();
        for item in items {
            let id = item.get("servicePlanId").and_then(Value::as_str);
            let status = item.get("capabilityStatus").and_then(Value::as_str);
            match (id, status) {
                (Some(id), Some(status)) => plans.push(AssignedPlan {
                    service_plan_id: id.to_string(),
                    capability_status: status.to_string(),
                    service: item
                        .get("service")
                        .and_then(Value::as_str)
                        .map(str::to_string),
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
        object: &Map<String, Value>,
        groups: &GroupIndex,
    ) -> (Vec<AssignedLicense>, Vec<LicenseState>) {
        let assigned = self
            .required_array(at, object, "assignedLicenses")
            .unwrap_or_default();
        let Some(states) = self.required_array(at, object, "licenseAssignmentStates") else {
            return (Vec::new(), Vec::new());
        };
        let mut direct: BTreeMap<String, AssignedLicense> = BTreeMap::new();
        let mut inherited = Vec::new();
        let mut with_state = BTreeSet::new();
        for entry in states {
            let Some(entry) = entry.as_object() else {
                self.diagnostics.push(at.invalid(
                    "licenseAssignmentStates",
                    "an array of licenseAssignmentState objects",
                ));
                continue;
            };
            let Some(sku_id) = entry.get("skuId").and_then(Value::as_str) else {
                self.diagnostics
                    .push(at.missing("licenseAssignmentStates[].skuId"));
                continue;
            };
            with_state.insert(sku_id.to_ascii_lowercase());
            let group_id = match entry.get("assignedByGroup") {
                None | Some(Value::Null) => None,
                Some(Value::String(id)) => Some(id.as_str()),
                Some(_) => {
                    self.diagnostics.push(at.invalid(
                        "licenseAssignmentStates",
                        "a list whose `assignedByGroup` is a group id or null",
                    ));
                    continue;
                }
            };
            let Some(group_id) = group_id else {
                let disabled = self.string_list(at, entry, "disabledPlans");
                let license = AssignedLicense {
                    sku: self.sku_name(sku_id),
                    disabled_plans: self.plan_list(disabled),
                };
                direct.insert(license.sku.clone(), license);
                continue;
            };
            let Some(group) = groups.get(&group_id.to_ascii_lowercase()) else {
                if self
                    .rejected_groups
                    .contains(&group_id.to_ascii_lowercase())
                {
                    continue;
                }
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
                continue;
            };
            let state = match entry.get("state").and_then(Value::as_str) {
                Some("Active") => AssignmentState::Active,
                Some("ActiveWithError") => AssignmentState::ActiveWithError,
                Some("Disabled") => AssignmentState::Disabled,
                Some("Error") => AssignmentState::Error,
                _ => {
                    self.diagnostics.push(at.invalid(
                        "licenseAssignmentStates",
                        "a list whose `state` is Active, ActiveWithError, Disabled or Error",
                    ));
                    continue;
                }
            };
            let error = match entry.get("error").and_then(Value::as_str) {
                None | Some("None") | Some("") => None,
                Some("CountViolation") => Some(AssignmentError::CountViolation),
                Some("MutuallyExclusiveViolation") => {
                    Some(AssignmentError::MutuallyExclusiveViolation)
                }
                Some("DependencyViolation") => Some(AssignmentError::DependencyViolation),
                Some("ProhibitedInUsageLocationViolation") => {
                    Some(AssignmentError::ProhibitedInUsageLocationViolation)
                }
                Some("UniquenessViolation") => Some(AssignmentError::UniquenessViolation),
                Some(_) => Some(AssignmentError::Other),
            };
            inherited.push(LicenseState {
                sku: self.sku_name(sku_id),
                via: Some(group.id.clone()),
                state,
                error,
            });
        }
        // An assigned license with no recorded state at all can only be a direct one.
        for item in assigned {
            let sku_id = item.get("skuId").and_then(Value::as_str);
            if sku_id.is_some_and(|id| with_state.contains(&id.to_ascii_lowercase())) {
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

    fn members(
        &mut self,
        members: &BTreeMap<String, Vec<GraphPage>>,
        groups: &mut GroupIndex,
        licensed: &BTreeSet<String>,
    ) {
        for (group_id, pages) in members {
            let objects = self.objects(pages, "member");
            let Some(group) = groups.get_mut(&group_id.to_ascii_lowercase()) else {
                if self
                    .rejected_groups
                    .contains(&group_id.to_ascii_lowercase())
                {
                    continue;
                }
                if let Some(page) = pages.first() {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::GraphInconsistentExport,
                            format!(
                                "`{}` lists the members of the group `{group_id}`, which the \
                                 groups response does not list",
                                page.origin
                            ),
                        )
                        .with_help("export all groups, or remove the stray members file"),
                    );
                }
                continue;
            };
            let mut names = BTreeSet::new();
            for (at, object) in objects {
                let kind = match object.get("@odata.type").and_then(Value::as_str) {
                    Some(kind) => kind,
                    None => {
                        self.diagnostics.push(at.missing("@odata.type"));
                        continue;
                    }
                };
                let Some(id) = object.get("id").and_then(Value::as_str) else {
                    self.diagnostics.push(at.missing("id"));
                    continue;
                };
                match kind {
                    "#microsoft.graph.user" => {
                        let name = object
                            .get("userPrincipalName")
                            .and_then(Value::as_str)
                            .unwrap_or(id);
                        names.insert(name.to_string());
                    }
                    "#microsoft.graph.group" => {
                        names.insert(id.to_string());
                    }
                    // Devices, contacts and service principals never receive licenses.
                    _ => {}
                }
            }
            group.members = names.into_iter().collect();
        }
        for key in licensed {
            let Some(group) = groups.get(key) else {
                continue;
            };
            if !members.keys().any(|id| id.eq_ignore_ascii_case(&group.id)) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::GraphInconsistentExport,
                        format!(
                            "the licensed group `{}` ({}) has no members response",
                            group.display_name, group.id
                        ),
                    )
                    .with_help(format!(
                        "export `GET /groups/{}/members` as members/{}.json",
                        group.id, group.id
                    )),
                );
            }
        }
    }
}

/// A Graph property value as a rule attribute; `None` for null and for shapes rules cannot test.
fn attribute_value(value: &Value) -> Option<AttributeValue> {
    match value {
        Value::Bool(flag) => Some(AttributeValue::Bool(*flag)),
        Value::Number(number) => Some(AttributeValue::Number(number.clone())),
        Value::String(text) => Some(AttributeValue::String(text.as_str().into())),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .map(AttributeValue::List),
        Value::Null | Value::Object(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::graph_export::{assemble_export, ExportFile};
    use serde_json::json;

    fn file(path: &str, text: &str) -> ExportFile {
        ExportFile {
            relative_path: path.to_string(),
            page: GraphPage::new(path, serde_json::from_str(text).unwrap()),
        }
    }

    /// The example export of the test fixtures.
    fn fixture_files() -> Vec<ExportFile> {
        vec![
            file("organization.json", include_str!("../../tests/fixtures/graph/export/organization.json")),
            file("subscribedSkus.json", include_str!("../../tests/fixtures/graph/export/subscribedSkus.json")),
            file("users.json", include_str!("../../tests/fixtures/graph/export/users.json")),
            file("users-2.json", include_str!("../../tests/fixtures/graph/export/users-2.json")),
            file("groups.json", include_str!("../../tests/fixtures/graph/export/groups.json")),
            file(
                "members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d.json",
                include_str!("../../tests/fixtures/graph/export/members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d.json"),
            ),
            file(
                "members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d-2.json",
                include_str!("../../tests/fixtures/graph/export/members/9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d-2.json"),
            ),
            file(
                "members/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e.json",
                include_str!("../../tests/fixtures/graph/export/members/0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e.json"),
            ),
        ]
    }

    fn import(files: Vec<ExportFile>) -> Result<TenantState, Diagnostics> {
        let (export, problems) = assemble_export(files);
        if problems.has_errors() {
            return Err(problems);
        }
        map_export(&export)
    }

    fn codes(diagnostics: &Diagnostics) -> Vec<&'static str> {
        diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    #[test]
    fn the_example_export_maps_to_the_tenant_spec_describes() {
        let tenant = import(fixture_files()).unwrap();
        assert_eq!(
            tenant.tenant.id.as_deref(),
            Some("b5c1a3e0-6f2d-4c1a-9e7b-2d4f6a8c0e12")
        );
        assert_eq!(tenant.tenant.default_usage_location.as_deref(), Some("GB"));
        let skus: Vec<(&str, u64)> = tenant
            .subscriptions
            .iter()
            .map(|s| (s.sku.as_str(), s.enabled))
            .collect();
        assert_eq!(skus, [("EMS", 10), ("SPE_E5", 3)]);
        let upns: Vec<&str> = tenant.users.iter().map(|u| u.upn.as_str()).collect();
        assert_eq!(
            upns,
            [
                "dana@fabrikam.com",
                "eli@fabrikam.com",
                "fay@fabrikam.com",
                "gus@fabrikam.com"
            ]
        );
        let eli = &tenant.users[1];
        assert_eq!(
            eli.licenses,
            [AssignedLicense {
                sku: "EMS".into(),
                disabled_plans: vec![]
            }]
        );
        assert_eq!(
            eli.license_states,
            [LicenseState {
                sku: "SPE_E5".into(),
                via: Some("9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d".into()),
                state: AssignmentState::Active,
                error: None,
            }]
        );
        assert_eq!(
            eli.attributes.get("country"),
            Some(&AttributeValue::String("Ireland".into()))
        );
        assert_eq!(
            eli.attributes.get("accountEnabled"),
            Some(&AttributeValue::Bool(true))
        );
        let fay = &tenant.users[2];
        assert_eq!(fay.usage_location, None);
        assert!(
            fay.licenses.is_empty(),
            "inherited licenses are not direct ones"
        );
        let gus = &tenant.users[3];
        assert_eq!(gus.license_states[0].state, AssignmentState::Error);
        assert_eq!(
            gus.license_states[0].error,
            Some(AssignmentError::CountViolation)
        );

        let names: Vec<&str> = tenant
            .groups
            .iter()
            .map(|g| g.display_name.as_str())
            .collect();
        assert_eq!(names, ["All staff (mail)", "Engineering E5"]);
        let mail = &tenant.groups[0];
        assert!(!mail.security_enabled && mail.mail_enabled);
        assert_eq!(mail.rule, None);
        assert_eq!(
            mail.members,
            ["9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "dana@fabrikam.com"]
        );
        let engineering = &tenant.groups[1];
        assert_eq!(
            engineering.rule.as_deref(),
            Some("user.department -eq \"Engineering\"")
        );
        assert_eq!(engineering.rule_processing, Some(RuleProcessing::On));
        assert_eq!(
            engineering.members,
            [
                "dana@fabrikam.com",
                "eli@fabrikam.com",
                "fay@fabrikam.com",
                "gus@fabrikam.com"
            ]
        );
        assert_eq!(engineering.licenses[0].sku, "SPE_E5");
    }

    #[test]
    fn output_does_not_depend_on_file_or_object_order() {
        let forward = import(fixture_files()).unwrap();
        let mut files = fixture_files();
        files.reverse();
        for file in &mut files {
            if let Some(Value::Array(values)) = file.page.body.get_mut("value") {
                values.reverse();
            }
        }
        assert_eq!(import(files).unwrap(), forward);
    }

    #[test]
    fn disabled_plans_are_named_when_a_subscription_knows_them() {
        let mut files = fixture_files();
        let groups = files
            .iter_mut()
            .find(|f| f.relative_path == "groups.json")
            .unwrap();
        groups.page.body["value"][0]["assignedLicenses"][0]["disabledPlans"] = json!([
            "EFB87545-963C-4E0D-99DF-69C6916D9EB0",
            "00000000-1111-2222-3333-444444444444"
        ]);
        let tenant = import(files).unwrap();
        let engineering = tenant
            .groups
            .iter()
            .find(|g| g.display_name == "Engineering E5")
            .unwrap();
        assert_eq!(
            engineering.licenses[0].disabled_plans,
            [
                "00000000-1111-2222-3333-444444444444",
                "EXCHANGE_S_ENTERPRISE"
            ]
        );
    }

    #[test]
    fn direct_assignment_keeps_its_own_disabled_plans_and_unknown_skus_keep_their_guid() {
        let user = json!({"value":[{
            "id":"u1","userPrincipalName":"a@x.com",
            "onPremisesExtensionAttributes":{"extensionAttribute1":"EMS;E5","extensionAttribute2":null},
            "extension_abc_costCenter":"42",
            "assignedLicenses":[
                {"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","disabledPlans":[]},
                {"skuId":"aaaaaaaa-0000-0000-0000-000000000000","disabledPlans":[]}],
            "licenseAssignmentStates":[
                {"skuId":"06ebc4ee-1bb5-47dd-8120-11324bc54e06","assignedByGroup":null,
                 "disabledPlans":["3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40"],"state":"Active","error":"None"}]
        }]});
        let mut files = fixture_files();
        files.retain(|f| !f.relative_path.starts_with("users"));
        files.push(ExportFile {
            relative_path: "users.json".into(),
            page: GraphPage::new("users.json", user),
        });
        let tenant = import(files).unwrap();
        let user = &tenant.users[0];
        assert_eq!(
            user.licenses,
            [
                AssignedLicense {
                    sku: "SPE_E5".into(),
                    disabled_plans: vec!["MCOMEETADV".into()]
                },
                AssignedLicense {
                    sku: "aaaaaaaa-0000-0000-0000-000000000000".into(),
                    disabled_plans: vec![]
                },
            ]
        );
        assert!(user.license_states.is_empty());
        let keys: Vec<&str> = user.attributes.keys().collect();
        assert_eq!(keys, ["extensionAttribute1", "extension_abc_costCenter"]);
    }

    #[test]
    fn missing_required_fields_name_the_file_and_the_object() {
        let mut files = fixture_files();
        let users = files
            .iter_mut()
            .find(|f| f.relative_path == "users-2.json")
            .unwrap();
        users.page.body["value"][0]
            .as_object_mut()
            .unwrap()
            .remove("userPrincipalName");
        users.page.source = Some(SourceId(7));
        let problems = import(files).unwrap_err();
        assert_eq!(codes(&problems), ["graph-missing-field"]);
        let problem = &problems.0[0];
        assert_eq!(
            problem.message,
            "`users-2.json`: user `3b4c5d6e-7f80-4192-8a3b-4c5d6e7f8091` has no `userPrincipalName`"
        );
        assert_eq!(
            problem.labels[0].location,
            Location::node(SourceId(7), "/value/0")
        );
        assert!(problem.help.is_some());
    }

    #[test]
    fn every_problem_is_collected() {
        let mut files = fixture_files();
        let skus = files
            .iter_mut()
            .find(|f| f.relative_path == "subscribedSkus.json")
            .unwrap();
        skus.page.body["value"][1]["prepaidUnits"]["enabled"] = json!("ten");
        let groups = files
            .iter_mut()
            .find(|f| f.relative_path == "groups.json")
            .unwrap();
        groups.page.body["value"][0]["membershipRuleProcessingState"] = json!("Sometimes");
        groups.page.body["value"][1]["securityEnabled"] = Value::Null;
        let problems = import(files).unwrap_err();
        assert_eq!(
            codes(&problems),
            [
                "graph-invalid-value",
                "graph-invalid-value",
                "graph-missing-field"
            ]
        );
    }

    #[test]
    fn missing_pages_and_files_are_reported() {
        let mut files = fixture_files();
        files.retain(|f| {
            f.relative_path != "users-2.json" && f.relative_path != "organization.json"
        });
        files.push(file("users-3.json", r#"{"value":[]}"#));
        files.push(file("README.json", r#"{}"#));
        let (_, problems) = assemble_export(files);
        let mut found = codes(&problems);
        found.sort();
        assert_eq!(
            found,
            [
                "graph-inconsistent-export",
                "graph-inconsistent-export",
                "graph-unknown-file"
            ]
        );

        let mut files = fixture_files();
        files.retain(|f| f.relative_path != "users-2.json");
        let problems = import(files).unwrap_err();
        assert_eq!(codes(&problems), ["graph-inconsistent-export"]);
        assert!(problems.0[0].message.contains("next page is missing"));
    }

    #[test]
    fn licensed_groups_need_members_and_licenses_need_known_groups() {
        let mut files = fixture_files();
        files.retain(|f| !f.relative_path.starts_with("members/9a8b"));
        let problems = import(files).unwrap_err();
        assert_eq!(codes(&problems), ["graph-inconsistent-export"]);
        assert!(problems.0[0].message.contains("Engineering E5"));

        let mut files = fixture_files();
        let groups = files
            .iter_mut()
            .find(|f| f.relative_path == "groups.json")
            .unwrap();
        groups.page.body["value"][0]["id"] = json!("11111111-2222-3333-4444-555555555555");
        let problems = import(files).unwrap_err();
        // Four users hold a license from the now unknown group, its members file is stray and
        // the renamed group has no members file.
        assert_eq!(problems.0.len(), 6);
        assert!(problems
            .iter()
            .all(|p| p.code == Code::GraphInconsistentExport));
    }

    #[test]
    fn duplicates_are_reported() {
        let mut files = fixture_files();
        let first = fixture_files()
            .into_iter()
            .find(|f| f.relative_path == "users.json")
            .unwrap();
        let second = files
            .iter_mut()
            .find(|f| f.relative_path == "users-2.json")
            .unwrap();
        second.page.body["value"][0] = first.page.body["value"][0].clone();
        let problems = import(files).unwrap_err();
        assert_eq!(codes(&problems), ["graph-duplicate-object"]);
    }

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
        assert!(GROUP_SELECT.contains("membershipRuleProcessingState"));
    }
}
