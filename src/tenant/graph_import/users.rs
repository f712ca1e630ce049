//! `GET /users`: each user's identity, usage location, the properties rules test, service plans,
//! direct licenses and the recorded states of inherited ones.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
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
            let id = self.required_id(&at, &user.id);
            let upn = self.required(&at, &user.user_principal_name, "userPrincipalName");
            let attributes = self.attributes(&at, object, &user);
            let assigned_plans = self.assigned_plans(&at, &user);
            let (licenses, license_states) = self.user_licenses(&at, &user, groups);
            let (Some(id), Some(upn)) = (id, upn) else {
                continue;
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
                continue;
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
        Some(LicenseState {
            sku: self.sku_name(sku_id),
            via: Some(group.id.clone()),
            state,
            error,
        })
    }
}
