//! Finding products and plans by the names administrators write: GUID, skuPartNumber, display
//! name or alias, with "did you mean" suggestions.

use super::*;

impl Catalog {
    /// Finds a product by GUID, skuPartNumber or display name (exact spelling preferred over
    /// other letter case).
    pub fn lookup_product(&self, query: &str) -> Lookup<ProductId> {
        if let Some(&id) = self.product_by_exact_sku.get(query) {
            return Lookup::Found(id);
        }
        let query = query.trim();
        let lower = query.to_lowercase();
        if let Some(&id) = self.product_by_id.get(&lower) {
            return Lookup::Found(id);
        }
        let by_sku = self.match_tier(&self.product_by_sku, query, &lower, |p| &p.sku_part_number);
        if let Some(found) =
            by_sku.or_else(|| self.match_tier(&self.product_by_name, query, &lower, |p| &p.name))
        {
            return found;
        }
        Lookup::Unknown(suggestions(
            query,
            self.products
                .iter()
                .flat_map(|product| [product.sku_part_number.as_str(), product.name.as_str()]),
        ))
    }

    /// The products under `lower` in `index`, narrowed to exact spellings of `field` when some
    /// match exactly; `None` when the key is absent.
    fn match_tier(
        &self,
        index: &ProductIndex,
        query: &str,
        lower: &str,
        field: fn(&Product) -> &str,
    ) -> Option<Lookup<ProductId>> {
        let found = index.get(lower)?;
        let exact: Vec<ProductId> = found
            .iter()
            .copied()
            .filter(|&id| field(self.product(id)) == query)
            .collect();
        let chosen = if exact.is_empty() {
            found.clone()
        } else {
            exact
        };
        Some(match chosen.as_slice() {
            [one] => Lookup::Found(*one),
            _ => Lookup::Ambiguous(chosen),
        })
    }

    /// Finds a product by skuPartNumber, GUID or exact display name. `Err` holds "did you mean"
    /// suggestions, or for an ambiguous name the GUIDs of the candidates.
    pub fn resolve_product(&self, query: &str) -> Result<ProductId, Vec<String>> {
        match self.lookup_product(query) {
            Lookup::Found(id) => Ok(id),
            Lookup::Ambiguous(ids) => {
                Err(ids.iter().map(|&id| self.product(id).id.clone()).collect())
            }
            Lookup::Unknown(suggestions) => Err(suggestions),
        }
    }

    /// Every plan whose GUID, name or alias is `query` (case-insensitive). Microsoft reuses a few
    /// names for different GUIDs (`PROJECT_ESSENTIALS`), so there can be more than one.
    pub fn plans_named(&self, query: &str) -> Vec<PlanId> {
        let lower = query.trim().to_lowercase();
        if let Some(&id) = self.plan_by_id.get(&lower) {
            return vec![id];
        }
        self.plan_by_name.get(&lower).cloned().unwrap_or_default()
    }

    /// Finds a service plan by name, alias or GUID. `Err` holds "did you mean" suggestions, or
    /// for a name shared by several plans their GUIDs.
    pub fn resolve_plan(&self, query: &str) -> Result<PlanId, Vec<String>> {
        match self.lookup_plan(query) {
            Lookup::Found(id) => Ok(id),
            Lookup::Ambiguous(ids) => Err(ids.iter().map(|&id| self.plan(id).id.clone()).collect()),
            Lookup::Unknown(suggestions) => Err(suggestions),
        }
    }

    /// Finds a service plan by name, alias or GUID; an exact-case name beats an alias.
    pub fn lookup_plan(&self, query: &str) -> Lookup<PlanId> {
        let found = self.plans_named(query);
        let query = query.trim();
        match found.as_slice() {
            [] => Lookup::Unknown(self.plan_suggestions(query, None)),
            [one] => Lookup::Found(*one),
            _ => {
                let named: Vec<PlanId> = found
                    .iter()
                    .copied()
                    .filter(|&id| self.plan(id).name == query)
                    .collect();
                match named.as_slice() {
                    [one] => Lookup::Found(*one),
                    _ => Lookup::Ambiguous(found),
                }
            }
        }
    }

    /// The plan of `product` named `query` (name, alias or GUID, case-insensitive).
    pub fn plan_in_product(&self, product: ProductId, query: &str) -> Option<PlanId> {
        let named = self.plans_named(query);
        self.product(product)
            .plans
            .iter()
            .copied()
            .find(|plan| named.contains(plan))
    }

    /// "Did you mean" candidates for a plan name: among the plans of `product` when given,
    /// else among all plan names.
    pub fn plan_suggestions(&self, query: &str, product: Option<ProductId>) -> Vec<String> {
        match product {
            Some(product) => suggestions(
                query,
                self.product(product)
                    .plans
                    .iter()
                    .map(|&plan| self.plan(plan).name.as_str()),
            ),
            None => suggestions(query, self.plans.iter().map(|plan| plan.name.as_str())),
        }
    }

    pub(super) fn unknown_plan(&self, name: &str) -> Diagnostic {
        let diagnostic = Diagnostic::new(
            Code::UnknownPlan,
            format!("`{name}` is not a service plan in the catalog"),
        );
        match self.plan_suggestions(name, None).as_slice() {
            [] => diagnostic.with_help(
                "use the Service_Plan_Name or GUID from `seatplan catalog`, or add the plan under `catalog.plans`",
            ),
            suggestions => diagnostic.with_help(format!("did you mean {}?", or_list(suggestions))),
        }
    }
}

/// Up to three "did you mean" names for a mistyped product or plan name.
fn suggestions<'a>(query: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    crate::diag::did_you_mean(query, candidates, 3)
        .into_iter()
        .map(str::to_string)
        .collect()
}
