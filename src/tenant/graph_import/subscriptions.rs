//! `GET /organization` and `GET /subscribedSkus`: the tenant's id and default usage location,
//! its subscriptions, and the names of products and service plans that later collections refer
//! to by GUID.

use crate::diag::Code;
use crate::tenant::model::{AssignedLicense, SubscribedPlan, Subscription, TenantInfo};

use super::objects::{At, Entry};
use super::types::{self, Organization, SubscribedSku};
use super::{GraphMapper, GraphPage};

impl GraphMapper {
    /// Maps `GET /organization` (every page): the tenant from the first organization object.
    pub fn organization(&mut self, pages: &[GraphPage]) {
        self.tenant = self.tenant_info(pages);
    }

    fn tenant_info(&mut self, pages: &[GraphPage]) -> TenantInfo {
        let objects = self.objects::<Organization>(pages, "organization", "id");
        let Some(Entry {
            at,
            typed: organization,
            ..
        }) = objects.first()
        else {
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
        let Some(organization) = organization else {
            return TenantInfo::default();
        };
        let id = self.required_id(at, &organization.id).cloned();
        let default_usage_location = organization
            .country_letter_code
            .clone()
            .filter(|code| !code.is_empty());
        TenantInfo {
            id,
            default_usage_location,
        }
    }

    /// Maps a page of `GET /subscribedSkus` (`last`: the collection's last page): the
    /// subscriptions and the service plan names they define.
    pub fn subscribed_skus(&mut self, page: &GraphPage, last: bool) {
        let objects = self.page_objects::<SubscribedSku>(page, last, "subscribedSku", "skuId");
        for Entry { at, typed, .. } in objects {
            let Some(sku) = typed else {
                continue;
            };
            let sku_id = self.required(&at, &sku.sku_id, "skuId");
            let part_number = self.required(&at, &sku.sku_part_number, "skuPartNumber");
            let units = self.required(&at, &sku.prepaid_units, "prepaidUnits");
            let enabled = match units {
                Some(units) => self.required(&at, &units.enabled, "prepaidUnits.enabled"),
                None => None,
            };
            // The other units are optional: older exports and some products leave them out.
            let warning = units.and_then(|units| units.warning).unwrap_or(0);
            let suspended = units.and_then(|units| units.suspended).unwrap_or(0);
            let mut service_plans = Vec::new();
            for plan in sku.service_plans.iter().flatten() {
                if let (Some(id), Some(name)) = (&plan.service_plan_id, &plan.service_plan_name) {
                    self.plan_names
                        .insert(id.to_ascii_lowercase(), name.clone());
                    service_plans.push(SubscribedPlan {
                        name: name.clone(),
                        id: id.to_ascii_lowercase(),
                    });
                }
            }
            service_plans.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
            let (Some(sku_id), Some(part_number), Some(&enabled)) = (sku_id, part_number, enabled)
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
                    sku: part_number.clone(),
                    id: Some(sku_id.clone()),
                    enabled,
                    warning,
                    suspended,
                    consumed: sku.consumed_units,
                    plans: service_plans,
                },
            );
        }
    }

    /// The skuPartNumber of a skuId, or the GUID itself for a product the tenant has no
    /// subscription for or whose skuPartNumber another of its subscriptions has too.
    pub(super) fn sku_name(&self, sku_id: &str) -> String {
        self.subscriptions
            .get(&sku_id.to_ascii_lowercase())
            .map_or_else(
                || sku_id.to_string(),
                |sub| {
                    // Two subscriptions with one skuPartNumber (Microsoft reuses a few): only the
                    // skuId says which.
                    let shared = self
                        .subscriptions
                        .values()
                        .filter(|other| other.sku.eq_ignore_ascii_case(&sub.sku))
                        .count()
                        > 1;
                    if shared {
                        sku_id.to_ascii_lowercase()
                    } else {
                        sub.sku.clone()
                    }
                },
            )
    }

    /// Disabled plan GUIDs as service plan names where the subscriptions name them, sorted.
    pub(super) fn plan_list(&self, guids: &[String]) -> Vec<String> {
        let mut names: Vec<String> = guids
            .iter()
            .map(|guid| {
                self.plan_names
                    .get(&guid.to_ascii_lowercase())
                    .cloned()
                    .unwrap_or_else(|| guid.clone())
            })
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// An `assignedLicense` of the object at `at`'s property `field`, by product name.
    pub(super) fn assigned_license(
        &mut self,
        at: &At<'_>,
        license: &types::AssignedLicense,
        field: &str,
    ) -> Option<AssignedLicense> {
        let Some(sku_id) = &license.sku_id else {
            self.diagnostics
                .push(at.missing(&format!("{field}[].skuId")));
            return None;
        };
        Some(AssignedLicense {
            sku: self.sku_name(sku_id),
            disabled_plans: self.plan_list(license.disabled_plans.as_deref().unwrap_or_default()),
        })
    }
}
