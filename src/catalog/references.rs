//! Checks that a loaded config names only products and service plans the catalog knows: unknown
//! or ambiguous SKUs, unknown plan names, and plans listed under a product that does not contain
//! them, each with a "did you mean" and a caret on the value.

use super::{or_list, Catalog, Lookup, ProductId};
use crate::config::{LicenseSpec, LoadedConfig};
use crate::diag::{Code, Diagnostic, Diagnostics, Location};

/// Every reference problem in the groups' and users' licenses of `loaded`.
pub fn check_config_references(loaded: &LoadedConfig, catalog: &Catalog) -> Diagnostics {
    let mut problems = Diagnostics::default();
    for (name, group) in loaded.config.groups.iter().flatten() {
        let owner = format!("group `{name}`");
        let locate = |suffix: &str| loaded.group_location(name, suffix);
        for (index, license) in group.licenses.iter().flatten().enumerate() {
            check_license(catalog, license, index, &owner, &locate, &mut problems);
        }
    }
    for (upn, user) in loaded.config.users.iter().flatten() {
        let owner = format!("user `{upn}`");
        let locate = |suffix: &str| loaded.user_location(upn, suffix);
        for (index, license) in user.licenses.iter().flatten().enumerate() {
            check_license(catalog, license, index, &owner, &locate, &mut problems);
        }
    }
    problems
}

fn with_location(diagnostic: Diagnostic, location: Option<Location>, label: &str) -> Diagnostic {
    match location {
        Some(location) => diagnostic.with_label(location, label),
        None => diagnostic,
    }
}

fn check_license(
    catalog: &Catalog,
    license: &LicenseSpec,
    index: usize,
    owner: &str,
    locate: &dyn Fn(&str) -> Option<Location>,
    problems: &mut Diagnostics,
) {
    let at = format!("/licenses/{index}");
    let sku = &license.sku;
    let product = match catalog.lookup_product(sku) {
        Lookup::Found(product) => product,
        Lookup::Unknown(suggestions) => {
            let diagnostic = Diagnostic::new(
                Code::UnknownSku,
                format!("{owner} assigns `{sku}`, which is not a product in the catalog"),
            );
            let diagnostic = match suggestions.as_slice() {
                [] => diagnostic.with_help(
                    "use a skuPartNumber, product GUID or display name from `seatplan catalog`, or add the product under `catalog.products`",
                ),
                suggestions => diagnostic.with_help(format!("did you mean {}?", or_list(suggestions))),
            };
            problems.push(with_location(
                diagnostic,
                locate(&format!("{at}/sku")),
                "unknown SKU",
            ));
            return;
        }
        Lookup::Ambiguous(products) => {
            let mut diagnostic = Diagnostic::new(
                Code::AmbiguousSku,
                format!(
                    "{owner} assigns `{sku}`, which names {} products",
                    products.len()
                ),
            )
            .with_help("write the GUID of the intended product as `sku:`");
            for &product in &products {
                let product = catalog.product(product);
                diagnostic = diagnostic.with_note(format!(
                    "{}  {} ({})",
                    product.id, product.sku_part_number, product.name
                ));
            }
            problems.push(with_location(
                diagnostic,
                locate(&format!("{at}/sku")),
                "ambiguous SKU",
            ));
            return;
        }
    };
    for (field, list) in [
        ("disabled_plans", &license.disabled_plans),
        ("enabled_plans", &license.enabled_plans),
    ] {
        for (position, name) in list.iter().flatten().enumerate() {
            if catalog.plan_in_product(product, name).is_some() {
                continue;
            }
            let location = locate(&format!("{at}/{field}/{position}"));
            problems.push(plan_problem(catalog, product, name, location));
        }
    }
}

fn plan_problem(
    catalog: &Catalog,
    product: ProductId,
    name: &str,
    location: Option<Location>,
) -> Diagnostic {
    let sku = &catalog.product(product).sku_part_number;
    let in_product = catalog.plan_suggestions(name, Some(product));
    let help = |fallback: String| match in_product.as_slice() {
        [] => fallback,
        suggestions => format!("did you mean {}?", or_list(suggestions)),
    };
    if catalog.plans_named(name).is_empty() {
        let fallback = match catalog.plan_suggestions(name, None).as_slice() {
            [] => format!("`seatplan catalog {sku}` lists the plans of `{sku}`"),
            elsewhere => format!(
                "did you mean {}? (not a plan of `{sku}`; `seatplan catalog {sku}` lists its plans)",
                or_list(elsewhere)
            ),
        };
        let diagnostic = Diagnostic::new(
            Code::UnknownPlan,
            format!("`{name}` is not a service plan in the catalog"),
        )
        .with_help(help(fallback));
        with_location(diagnostic, location, "unknown service plan")
    } else {
        let diagnostic = Diagnostic::new(
            Code::PlanNotInProduct,
            format!("`{name}` is a service plan, but not one of `{sku}`"),
        )
        .with_help(help(format!(
            "`seatplan catalog {sku}` lists the plans of `{sku}`"
        )));
        with_location(diagnostic, location, format!("not in {sku}").as_str())
    }
}
