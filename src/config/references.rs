//! Resolves the products and service plans a loaded config names in its catalog, reporting
//! unknown or ambiguous SKUs, unknown plan names, and plans listed under a product that does not
//! contain them, each with a "did you mean" and a caret on the value.

use super::{LicenseSpec, LoadedConfig};
use crate::catalog::{or_list, Catalog, Lookup, PlanSet, ProductId};
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::hash::Map;

/// A license of the config with its product, and its allow-list if it has one, resolved in the
/// config's catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedLicense {
    /// The product the license assigns.
    pub product: ProductId,
    /// The plans of `enabled_plans`, when the license is an allow-list.
    pub enabled: Option<PlanSet>,
}

/// The resolved licenses of the config's groups and users, in the order the config lists them.
/// A license that does not resolve is missing from its owner's list (and reported).
#[derive(Debug, Clone, Default)]
pub struct ResolvedLicenses {
    /// By group name.
    pub groups: Map<String, Vec<ResolvedLicense>>,
    /// By user principal name, as the config writes it.
    pub users: Map<String, Vec<ResolvedLicense>>,
}

/// Resolves every license of the groups and users of `loaded`; every reference problem is
/// reported.
pub fn resolve_licenses(
    loaded: &LoadedConfig,
    catalog: &Catalog,
) -> (ResolvedLicenses, Diagnostics) {
    let mut problems = Diagnostics::default();
    let mut resolved = ResolvedLicenses::default();
    for (name, group) in loaded.config.groups.iter().flatten() {
        let licenses = resolve_all(
            catalog,
            group.licenses.as_deref(),
            &format!("group `{name}`"),
            &|suffix: &str| loaded.group_location(name, suffix),
            &mut problems,
        );
        resolved.groups.insert(name.clone(), licenses);
    }
    for (upn, user) in loaded.config.users.iter().flatten() {
        let licenses = resolve_all(
            catalog,
            user.licenses.as_deref(),
            &format!("user `{upn}`"),
            &|suffix: &str| loaded.user_location(upn, suffix),
            &mut problems,
        );
        resolved.users.insert(upn.clone(), licenses);
    }
    (resolved, problems)
}

/// The resolved licenses of one owner (a group or a user), in order.
fn resolve_all(
    catalog: &Catalog,
    licenses: Option<&[LicenseSpec]>,
    owner: &str,
    locate: &dyn Fn(&str) -> Option<Location>,
    problems: &mut Diagnostics,
) -> Vec<ResolvedLicense> {
    let mut resolved: Vec<(usize, ResolvedLicense)> = Vec::new();
    for (index, license) in licenses.into_iter().flatten().enumerate() {
        let Some(license) = resolve_license(catalog, license, index, owner, locate, problems)
        else {
            continue;
        };
        // Graph's `assignedLicenses` holds a product once: a second entry would be a second
        // set of disabled plans for the same assignment.
        if let Some((first, _)) = resolved
            .iter()
            .find(|(_, earlier)| earlier.product == license.product)
        {
            let sku = &catalog.product(license.product).sku_part_number;
            let mut diagnostic = Diagnostic::new(
                Code::DuplicateLicense,
                format!("{owner} lists `{sku}` twice under `licenses`"),
            )
            .with_help(format!(
                "keep one entry for `{sku}`, with the disabled plans it should have; a product is assigned once, with one set of plans"
            ));
            if let Some(location) = locate(&format!("/licenses/{index}/sku")) {
                diagnostic = diagnostic.with_label(location, "the same product again");
            }
            if let Some(location) = locate(&format!("/licenses/{first}/sku")) {
                diagnostic = diagnostic.with_label(location, "first listed here");
            }
            problems.push(diagnostic);
            continue;
        }
        resolved.push((index, license));
    }
    resolved.into_iter().map(|(_, license)| license).collect()
}

fn with_location(diagnostic: Diagnostic, location: Option<Location>, label: &str) -> Diagnostic {
    match location {
        Some(location) => diagnostic.with_label(location, label),
        None => diagnostic,
    }
}

fn resolve_license(
    catalog: &Catalog,
    license: &LicenseSpec,
    index: usize,
    owner: &str,
    locate: &dyn Fn(&str) -> Option<Location>,
    problems: &mut Diagnostics,
) -> Option<ResolvedLicense> {
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
            return None;
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
            return None;
        }
    };
    let mut resolved = true;
    let mut enabled = license.enabled_plans.as_ref().map(|_| PlanSet::default());
    for (field, list) in [
        ("disabled_plans", &license.disabled_plans),
        ("enabled_plans", &license.enabled_plans),
    ] {
        for (position, name) in list.iter().flatten().enumerate() {
            match catalog.plan_in_product(product, name) {
                Some(plan) if field == "enabled_plans" => {
                    if let Some(enabled) = enabled.as_mut() {
                        enabled.insert(plan);
                    }
                }
                Some(_) => {}
                None => {
                    resolved = false;
                    let location = locate(&format!("{at}/{field}/{position}"));
                    problems.push(plan_problem(catalog, product, name, location));
                }
            }
        }
    }
    resolved.then_some(ResolvedLicense { product, enabled })
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
