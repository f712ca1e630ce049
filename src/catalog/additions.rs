//! Growing a catalog: the config's `catalog:` section (new products, plans, relations and
//! availability overrides) and a tenant's view of a subscription's plans.

use super::spec::CatalogAdditions;
use super::*;
use crate::country::normalize_country;
use crate::source::pointer_child;

impl Catalog {
    /// This catalog plus the config's `catalog:` section: new products and plans, relations, and
    /// availability overrides. `locate` turns a JSON pointer below the config root
    /// (`/catalog/plans/X/requires_any/0`) into a location for diagnostics.
    pub fn with_additions(
        &self,
        additions: &CatalogAdditions,
        locate: impl Fn(&str) -> Option<Location>,
    ) -> Result<Catalog, Diagnostics> {
        let mut catalog = self.clone();
        let mut problems = Diagnostics::default();
        let label = |diagnostic: Diagnostic, pointer: &str, text: &str| match locate(pointer) {
            Some(location) => diagnostic.with_label(location, text),
            None => diagnostic,
        };
        // New plans first, so that products and relations can name them.
        for (name, spec) in additions.plans.iter().flatten() {
            let base = pointer_child("/catalog/plans", name);
            let existing = catalog.plans_named(name);
            if let Some(&plan) = existing.first() {
                if let Some(id) = &spec.id {
                    if !id.eq_ignore_ascii_case(&catalog.plans[plan.index()].id) {
                        problems.push(label(
                            Diagnostic::new(
                                Code::InvalidCatalog,
                                format!(
                                    "service plan `{name}` is in the catalog with id {}, not {id}",
                                    catalog.plans[plan.index()].id
                                ),
                            )
                            .with_help("drop `id:` to add relations to the existing plan, or pick a new name"),
                            &format!("{base}/id"),
                            "different id",
                        ));
                    }
                }
                continue;
            }
            let Some(id) = &spec.id else {
                problems.push(label(
                    Diagnostic::new(
                        Code::InvalidCatalog,
                        format!("service plan `{name}` is not in the catalog and has no `id`"),
                    )
                    .with_help("give the plan's GUID as `id:` (Graph: subscribedSkus → servicePlans → servicePlanId)"),
                    &base,
                    "new plan without id",
                ));
                continue;
            };
            let id = id.to_ascii_lowercase();
            if let Some(&other) = catalog.plan_by_id.get(&id) {
                problems.push(label(
                    Diagnostic::new(
                        Code::InvalidCatalog,
                        format!(
                            "id {id} of service plan `{name}` already belongs to `{}`",
                            catalog.plans[other.index()].name
                        ),
                    )
                    .with_help("use the existing plan's name, or check the GUID"),
                    &format!("{base}/id"),
                    "id in use",
                ));
                continue;
            }
            if catalog.plans.len() >= usize::from(u16::MAX) {
                problems.push(Diagnostic::new(
                    Code::TooLarge,
                    "the catalog holds too many service plans",
                ));
                break;
            }
            catalog.plans.push(Plan {
                name: name.clone(),
                id: id.clone(),
                friendly_name: spec.name.clone().unwrap_or_else(|| name.clone()),
                aliases: Vec::new(),
            });
            catalog.reindex();
        }
        for (sku, spec) in additions.products.iter().flatten() {
            let base = pointer_child("/catalog/products", sku);
            let id = spec.id.to_ascii_lowercase();
            let clash = catalog
                .product_by_sku
                .get(&sku.to_lowercase())
                .and_then(|found| found.first())
                .or_else(|| catalog.product_by_id.get(&id));
            if let Some(&existing) = clash {
                let existing = &catalog.products[existing.index()];
                problems.push(label(
                    Diagnostic::new(
                        Code::InvalidCatalog,
                        format!(
                            "product `{sku}` ({id}) is already in the catalog as `{}` ({})",
                            existing.sku_part_number, existing.id
                        ),
                    )
                    .with_help("the built-in catalog already knows this product: remove it from `catalog.products`"),
                    &base,
                    "already known",
                ));
                continue;
            }
            let mut plans = Vec::new();
            for (index, plan_name) in spec.plans.iter().enumerate() {
                let pointer = format!("{base}/plans/{index}");
                match catalog.plans_named(plan_name).first() {
                    Some(&plan) => plans.push(plan),
                    None => problems.push(label(
                        catalog.unknown_plan(plan_name),
                        &pointer,
                        "unknown service plan",
                    )),
                }
            }
            if catalog.products.len() >= usize::from(u16::MAX) {
                problems.push(Diagnostic::new(
                    Code::TooLarge,
                    "the catalog holds too many products",
                ));
                break;
            }
            plans.dedup();
            catalog.products.push(Product {
                sku_part_number: sku.clone(),
                id,
                name: spec.name.clone().unwrap_or_else(|| sku.clone()),
                plans,
            });
            catalog.reindex();
        }
        let mut added = Vec::new();
        for (name, spec) in additions.plans.iter().flatten() {
            let base = pointer_child("/catalog/plans", name);
            let Some(&plan) = catalog.plans_named(name).first() else {
                continue;
            };
            let mut resolve = |list: &Option<Vec<String>>, field: &str| -> Vec<PlanId> {
                let mut found = Vec::new();
                for (index, other) in list.iter().flatten().enumerate() {
                    let named = catalog.plans_named(other);
                    if named.is_empty() {
                        problems.push(label(
                            catalog.unknown_plan(other),
                            &format!("{base}/{field}/{index}"),
                            "unknown service plan",
                        ));
                    }
                    found.extend(named);
                }
                found
            };
            let requires = resolve(&spec.requires_any, "requires_any");
            let conflicts = resolve(&spec.conflicts_with, "conflicts_with");
            let supersedes = resolve(&spec.supersedes, "supersedes");
            for (kind, plans, field) in [
                (RelationKind::RequiresAnyOf, requires, "requires_any"),
                (RelationKind::MutuallyExclusive, conflicts, "conflicts_with"),
                (RelationKind::Supersedes, supersedes, "supersedes"),
            ] {
                if !plans.is_empty() {
                    added.push(Relation {
                        kind,
                        plan,
                        plans,
                        countries: Vec::new(),
                        source: "config".to_string(),
                        location: locate(&format!("{base}/{field}")),
                    });
                }
            }
            if spec.available_in.is_some() && spec.unavailable_in.is_some() {
                problems.push(label(
                    Diagnostic::new(
                        Code::InvalidCatalog,
                        format!("service plan `{name}` sets both `available_in` and `unavailable_in`"),
                    )
                    .with_help("use `available_in` for an allow-list or `unavailable_in` for a deny-list, not both"),
                    &format!("{base}/unavailable_in"),
                    "second list",
                ));
                continue;
            }
            for (field, kind, list) in [
                (
                    "available_in",
                    RelationKind::AvailableOnlyIn,
                    &spec.available_in,
                ),
                (
                    "unavailable_in",
                    RelationKind::UnavailableIn,
                    &spec.unavailable_in,
                ),
            ] {
                let Some(list) = list else { continue };
                let mut countries = Vec::new();
                for (index, code) in list.iter().enumerate() {
                    match normalize_country(code) {
                        Some(country) => countries.push(country.to_string()),
                        None => problems.push(label(
                            invalid_country(code),
                            &format!("{base}/{field}/{index}"),
                            "unknown country",
                        )),
                    }
                }
                countries.sort();
                countries.dedup();
                // A config entry replaces the built-in availability of the plan.
                catalog.relations.retain(|relation| {
                    relation.plan != plan
                        || !matches!(
                            relation.kind,
                            RelationKind::AvailableOnlyIn | RelationKind::UnavailableIn
                        )
                });
                added.push(Relation {
                    kind,
                    plan,
                    plans: Vec::new(),
                    countries,
                    source: "config".to_string(),
                    location: locate(&format!("{base}/{field}")),
                });
            }
        }
        catalog.relations.extend(added);
        // Build the graph even after resolution errors, so that a self-conflict or a cycle is
        // reported in the same run.
        if let Err(graph_problems) = catalog.rebuild_graph() {
            problems.extend(graph_problems);
        }
        if problems.has_errors() {
            return Err(problems);
        }
        Ok(catalog)
    }

    /// True when every plan of `plans` (name, GUID) is already listed for `product`, so that
    /// [`Catalog::with_subscription_plans`] would change nothing.
    pub fn lists_all(&self, product: ProductId, plans: &[(String, String)]) -> bool {
        plans.iter().all(|(_, id)| {
            self.plan_by_id
                .get(&id.to_ascii_lowercase())
                .is_some_and(|plan| self.product(product).plans.contains(plan))
        })
    }

    /// The catalog with a tenant's view of a product: `plans` (name, GUID) as Graph lists them for
    /// the tenant's subscription. Plans the product does not list yet are appended to it (new
    /// plans get an entry of their own); the returned ids are those appended.
    pub fn with_subscription_plans(
        &self,
        product: ProductId,
        plans: &[(String, String)],
    ) -> (Catalog, Vec<PlanId>) {
        let mut catalog = self.clone();
        let mut appended = Vec::new();
        for (name, id) in plans {
            let id = id.to_ascii_lowercase();
            let plan = match catalog.plan_by_id.get(&id) {
                Some(&plan) => plan,
                None => {
                    if catalog.plans.len() >= usize::from(u16::MAX) {
                        break;
                    }
                    let plan = PlanId(catalog.plans.len() as u16);
                    catalog.plans.push(Plan {
                        name: name.clone(),
                        id: id.clone(),
                        friendly_name: name.clone(),
                        aliases: Vec::new(),
                    });
                    // The id is indexed at once (a list may name it twice); the rest of the
                    // indexes are rebuilt once, below.
                    catalog.plan_by_id.insert(id, plan);
                    plan
                }
            };
            let listed = &mut catalog.products[product.index()].plans;
            if !listed.contains(&plan) {
                listed.push(plan);
                appended.push(plan);
            }
        }
        if !appended.is_empty() {
            catalog.reindex();
        }
        (catalog, appended)
    }

    /// Whether `product`'s skuPartNumber names other products too (Microsoft's data reuses a few,
    /// `MCOPSTN5` among them), so that a file naming it by skuPartNumber does not say which.
    pub fn shares_part_number(&self, product: ProductId) -> bool {
        matches!(
            self.lookup_product(&self.product(product).sku_part_number),
            Lookup::Ambiguous(_)
        )
    }

    /// How a file names `product` so that it reads back as `product`: its skuPartNumber, or its
    /// skuId where the part number names several products.
    pub fn sku_key(&self, product: ProductId) -> String {
        let found = self.product(product);
        match self.lookup_product(&found.sku_part_number) {
            Lookup::Found(id) if id == product => found.sku_part_number.clone(),
            _ => found.id.clone(),
        }
    }

    /// The catalog of a tenant that subscribes to `product`: its skuPartNumber, which other
    /// products share, names `product` (the one the tenant has); the others keep their GUIDs.
    pub fn preferring(&self, product: ProductId) -> Catalog {
        let mut catalog = self.clone();
        let part_number = catalog.products[product.index()].sku_part_number.clone();
        catalog
            .product_by_sku
            .insert(part_number.to_lowercase(), vec![product]);
        catalog.product_by_exact_sku.insert(part_number, product);
        catalog
    }
}
