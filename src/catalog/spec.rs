//! What a config's `catalog:` section may add to the catalog: products, service plans, their
//! relations and usage-location availability. The types are the config file's shape (serde,
//! schemars); the catalog owns them so that growing a catalog needs nothing from the config.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Additions to the built-in product catalog.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogAdditions {
    /// Products keyed by skuPartNumber.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products: Option<IndexMap<String, ProductSpec>>,
    /// Service plans keyed by service plan name, with their relations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plans: Option<IndexMap<String, PlanSpec>>,
}

/// A product (SKU) added to the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductSpec {
    /// The product's skuId (GUID).
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub id: String,
    /// The product's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The service plans the product contains, by service plan name.
    pub plans: Vec<String>,
}

/// A service plan added to the catalog, or relations and availability for an existing one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    /// The service plan's id (GUID); required for plans the built-in catalog does not know.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ))]
    pub id: Option<String>,
    /// Friendly name of the plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The plan works only when at least one of these plans is enabled too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_any: Option<Vec<String>>,
    /// Plans that cannot be enabled for the same user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflicts_with: Option<Vec<String>>,
    /// Plans this plan is an upgrade of (losing them while gaining this is not a loss).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Vec<String>>,
    /// If set, the only usage locations (ISO 3166-1 alpha-2) where the plan may be assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available_in: Option<Vec<String>>,
    /// Usage locations where the plan may not be assigned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable_in: Option<Vec<String>>,
}
