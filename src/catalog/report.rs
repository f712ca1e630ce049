//! What `seatplan catalog` shows: the products matching a query, each with its service plans and
//! the relations that touch them. Plain data; the command renders it as text or JSON.

use serde::Serialize;

use super::{Catalog, Lookup, PlanId, ProductId, RelationKind};

/// The products matching a query, with totals of the whole catalog.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogReport {
    /// Version of this JSON document.
    pub format_version: u32,
    /// Number of products in the catalog.
    pub product_count: usize,
    /// Number of service plans in the catalog.
    pub plan_count: usize,
    /// The matching products, in catalog order.
    pub products: Vec<ProductReport>,
}

/// One product with its plans and relations.
#[derive(Debug, Clone, Serialize)]
pub struct ProductReport {
    /// skuPartNumber.
    pub sku_part_number: String,
    /// Product GUID.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The product's service plans.
    pub plans: Vec<PlanReport>,
    /// Relations that mention one of the product's plans.
    pub relations: Vec<RelationReport>,
}

/// One service plan of a product.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport {
    /// Service plan name.
    pub name: String,
    /// Service plan GUID.
    pub id: String,
    /// Friendly name.
    pub friendly_name: String,
    /// Other names of the plan in Microsoft's data.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Whether the plan is an Exchange Online plan.
    pub exchange: bool,
}

/// One relation, with plan names instead of ids.
#[derive(Debug, Clone, Serialize)]
pub struct RelationReport {
    /// What the relation says.
    pub kind: RelationKind,
    /// The plan the relation is about.
    pub plan: String,
    /// The other plans.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<String>,
    /// Countries of an availability relation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub countries: Vec<String>,
    /// Where the relation is documented.
    pub source: String,
}

/// The products matching `query`: every product without a query; the product it names exactly
/// (GUID, skuPartNumber, display name); otherwise products whose skuPartNumber or display name
/// contains it (ignoring case) or that contain a plan of that name.
pub fn search(catalog: &Catalog, query: Option<&str>) -> Vec<ProductId> {
    let all = (0..catalog.products().len()).map(|index| ProductId(index as u16));
    let Some(query) = query.map(str::trim).filter(|query| !query.is_empty()) else {
        return all.collect();
    };
    match catalog.lookup_product(query) {
        Lookup::Found(product) => return vec![product],
        Lookup::Ambiguous(products) => return products,
        Lookup::Unknown(_) => {}
    }
    let needle = query.to_lowercase();
    let named = catalog.plans_named(query);
    all.filter(|&id| {
        let product = catalog.product(id);
        product.sku_part_number.to_lowercase().contains(&needle)
            || product.name.to_lowercase().contains(&needle)
            || product.plans.iter().any(|plan| named.contains(plan))
    })
    .collect()
}

/// The report of `products`.
pub fn report(catalog: &Catalog, products: &[ProductId]) -> CatalogReport {
    CatalogReport {
        format_version: 1,
        product_count: catalog.products().len(),
        plan_count: catalog.plans().len(),
        products: products
            .iter()
            .map(|&product| product_report(catalog, product))
            .collect(),
    }
}

/// One product's report.
pub fn product_report(catalog: &Catalog, id: ProductId) -> ProductReport {
    let product = catalog.product(id);
    let name = |plan: PlanId| catalog.plan(plan).name.clone();
    let relations = catalog
        .relations()
        .iter()
        .filter(|relation| {
            product.plans.contains(&relation.plan)
                || relation
                    .plans
                    .iter()
                    .any(|plan| product.plans.contains(plan))
        })
        .map(|relation| RelationReport {
            kind: relation.kind,
            plan: name(relation.plan),
            plans: relation.plans.iter().map(|&plan| name(plan)).collect(),
            countries: relation.countries.clone(),
            source: relation.source.clone(),
        })
        .collect();
    ProductReport {
        sku_part_number: product.sku_part_number.clone(),
        id: product.id.clone(),
        name: product.name.clone(),
        plans: product
            .plans
            .iter()
            .map(|&plan| {
                let details = catalog.plan(plan);
                PlanReport {
                    name: details.name.clone(),
                    id: details.id.clone(),
                    friendly_name: details.friendly_name.clone(),
                    aliases: details.aliases.clone(),
                    exchange: catalog.is_exchange(plan),
                }
            })
            .collect(),
        relations,
    }
}
