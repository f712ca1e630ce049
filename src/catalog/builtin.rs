//! The built-in catalog data: static tables generated at build time by `build.rs` from
//! `data/product-service-plans.csv`, and the committed relations file `data/relations.yaml`.

/// One service plan row of the generated table.
#[derive(Debug)]
pub(super) struct BuiltinPlan {
    /// Service plan name.
    pub name: &'static str,
    /// Service plan GUID, lower-case.
    pub id: &'static str,
    /// Friendly name.
    pub friendly_name: &'static str,
    /// Other names the CSV uses for the same GUID.
    pub aliases: &'static [&'static str],
}

/// One product row of the generated table.
#[derive(Debug)]
pub(super) struct BuiltinProduct {
    /// skuPartNumber.
    pub sku_part_number: &'static str,
    /// Product GUID, lower-case.
    pub id: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Indexes into [`PLANS`].
    pub plans: &'static [u16],
}

include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));

/// The committed relations file (`data/relations.yaml`).
pub(super) const RELATIONS_YAML: &str = include_str!("../../data/relations.yaml");

/// The name under which the built-in relations file appears in diagnostics.
pub const RELATIONS_NAME: &str = "data/relations.yaml";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::csv::parse_catalog;

    #[test]
    fn generated_tables_match_the_csv() {
        let parsed = parse_catalog(include_str!("../../data/product-service-plans.csv")).unwrap();
        assert_eq!(PLANS.len(), parsed.plans.len());
        assert_eq!(PRODUCTS.len(), parsed.products.len());
        for (generated, plan) in PLANS.iter().zip(&parsed.plans) {
            assert_eq!(generated.name, plan.name);
            assert_eq!(generated.id, plan.id);
            assert_eq!(generated.friendly_name, plan.friendly_name);
            assert_eq!(generated.aliases, plan.aliases.as_slice());
        }
        for (generated, product) in PRODUCTS.iter().zip(&parsed.products) {
            assert_eq!(generated.sku_part_number, product.sku_part_number);
            assert_eq!(generated.id, product.id);
            assert_eq!(generated.name, product.name);
            let plans: Vec<usize> = generated
                .plans
                .iter()
                .map(|&plan| usize::from(plan))
                .collect();
            assert_eq!(plans, product.plans);
        }
    }
}
