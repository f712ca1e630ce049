//! The product catalog: every product (SKU) and service plan Microsoft publishes, the relations
//! between service plans (mutually exclusive, requires one of, supersedes, usage-location
//! availability) and the questions the engine and planner ask about them.
//!
//! The built-in catalog comes from `data/product-service-plans.csv` (generated at build time,
//! [`csv`]) and `data/relations.yaml` ([`relations`]); the config's `catalog:` section adds to it
//! ([`Catalog::with_additions`]). Products and plans get dense ids ([`ProductId`], [`PlanId`]) so
//! that sets of plans ([`PlanSet`]) stay small.
//!
//! Exchange plans (for the engine's `UniquenessViolation`, SPEC §2.4) are decided from the data:
//! a plan is an Exchange plan when its name starts with `EXCHANGE_S_`, `EXCHANGE_B_`,
//! `EXCHANGE_L_` or `EXCHANGEONLINE_` — the Exchange Online mailbox, kiosk, archive and
//! multi-geo plans — except the "Exchange Foundation" plans (`EXCHANGE_S_FOUNDATION*`), which
//! ship with almost every product and give no mailbox.

mod builtin;
pub mod csv;
pub mod graph;
mod planset;
pub mod references;
pub mod relations;
pub mod report;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::config::CatalogAdditions;
use crate::country::normalize_country;
use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::source::{pointer_child, SourceId};

pub use builtin::RELATIONS_NAME;
pub use graph::{Edge, RelationGraph};
pub use planset::PlanSet;
pub use references::check_config_references;

/// Dense id of a product in a [`Catalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ProductId(pub u16);

impl ProductId {
    /// The id as an index into [`Catalog::products`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// Dense id of a service plan in a [`Catalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PlanId(pub u16);

impl PlanId {
    /// The id as an index into [`Catalog::plans`].
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
}

/// A product (SKU) that can be assigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Product {
    /// The skuPartNumber (`ENTERPRISEPACK`).
    pub sku_part_number: String,
    /// The skuId GUID, lower-case.
    pub id: String,
    /// The display name (`Office 365 E3`).
    pub name: String,
    /// The service plans the product contains.
    pub plans: Vec<PlanId>,
}

/// A service plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The service plan name (`EXCHANGE_S_ENTERPRISE`).
    pub name: String,
    /// The service plan GUID, lower-case.
    pub id: String,
    /// The friendly name (`Exchange Online (Plan 2)`).
    pub friendly_name: String,
    /// Other names Microsoft's data uses for the same plan.
    pub aliases: Vec<String>,
}

/// Where a plan may be assigned, by usage location (ISO 3166-1 alpha-2, upper-case, sorted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Only in these countries.
    Only(Vec<String>),
    /// Everywhere except these countries.
    Except(Vec<String>),
}

impl Availability {
    /// True when a user whose usage location is `country` may get the plan.
    pub fn allows(&self, country: &str) -> bool {
        let country = country.trim().to_ascii_uppercase();
        match self {
            Availability::Only(countries) => countries.binary_search(&country).is_ok(),
            Availability::Except(countries) => countries.binary_search(&country).is_err(),
        }
    }
}

/// The kind of a relation between service plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelationKind {
    /// `plan` and each of `plans` cannot be enabled for one user (MutuallyExclusiveViolation).
    MutuallyExclusive,
    /// `plan` needs at least one of `plans` (DependencyViolation when it is lost).
    RequiresAnyOf,
    /// `plan` is an upgrade of each of `plans`: losing them while gaining it is no loss.
    Supersedes,
    /// `plan` may be assigned only in `countries`.
    AvailableOnlyIn,
    /// `plan` may not be assigned in `countries`.
    UnavailableIn,
}

/// One relation as declared in the relations file or the config, with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// What the relation says.
    pub kind: RelationKind,
    /// The plan the relation is about.
    pub plan: PlanId,
    /// The other plans (conflicting, prerequisites, superseded); empty for availability.
    pub plans: Vec<PlanId>,
    /// Countries of an availability relation, upper-case and sorted; empty otherwise.
    pub countries: Vec<String>,
    /// The documentation the relation comes from (a seed document, a URL, or `config`).
    pub source: String,
    /// Where the relation was declared, for diagnostics.
    pub location: Option<Location>,
}

/// Which plans of a product an assignment enables.
#[derive(Debug, Clone, Copy)]
pub enum PlanSelection<'a> {
    /// Every plan of the product.
    All,
    /// Every plan except these (`disabled_plans`).
    AllExcept(&'a PlanSet),
    /// Exactly these plans of the product (`enabled_plans`).
    Only(&'a PlanSet),
}

/// The result of looking a name up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    /// Exactly one match.
    Found(T),
    /// Several entries match (a skuPartNumber or display name that Microsoft reuses); the GUID
    /// tells them apart.
    Ambiguous(Vec<T>),
    /// No match; the closest names, for "did you mean".
    Unknown(Vec<String>),
}

/// Products by a lower-cased key (skuPartNumber or display name).
type ProductIndex = HashMap<String, Vec<ProductId>>;

/// The catalog: products, service plans, their relations and the relation graph.
#[derive(Debug, Clone)]
pub struct Catalog {
    products: Vec<Product>,
    plans: Vec<Plan>,
    relations: Vec<Relation>,
    graph: RelationGraph,
    exchange: PlanSet,
    product_by_id: HashMap<String, ProductId>,
    product_by_sku: ProductIndex,
    product_by_name: ProductIndex,
    /// skuPartNumbers as written (what state files hold) that resolve to one product: looked up
    /// before anything else, without trimming or lower-casing (a million users' license states).
    product_by_exact_sku: HashMap<String, ProductId>,
    plan_by_id: HashMap<String, PlanId>,
    plan_by_name: HashMap<String, Vec<PlanId>>,
}

/// True for the names of Exchange Online plans (see the module documentation).
pub fn is_exchange_plan_name(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    [
        "EXCHANGE_S_",
        "EXCHANGE_B_",
        "EXCHANGE_L_",
        "EXCHANGEONLINE_",
    ]
    .iter()
    .any(|prefix| name.starts_with(prefix))
        && !name.starts_with("EXCHANGE_S_FOUNDATION")
}

impl Catalog {
    /// The built-in catalog (the CSV plus `data/relations.yaml`), parsed once.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| match Catalog::load_builtin(SourceId(u32::MAX)) {
            Ok(catalog) => catalog,
            // The committed relations file is checked by `builtin_relations_are_valid`; it
            // cannot be changed by a user of the binary.
            Err(problems) => panic!("the built-in {RELATIONS_NAME} is invalid: {problems:?}"),
        })
    }

    /// Builds the built-in catalog, registering the relations file as `source` for diagnostics.
    pub fn load_builtin(source: SourceId) -> Result<Catalog, Diagnostics> {
        Catalog::csv_only().with_relations_file(source, builtin::RELATIONS_YAML)
    }

    /// The text of the built-in relations file, to register it as a source.
    pub fn builtin_relations_text() -> &'static str {
        builtin::RELATIONS_YAML
    }

    /// The products and plans of the CSV without any relation.
    pub fn csv_only() -> Catalog {
        let plans = builtin::PLANS
            .iter()
            .map(|plan| Plan {
                name: plan.name.to_string(),
                id: plan.id.to_string(),
                friendly_name: plan.friendly_name.to_string(),
                aliases: plan.aliases.iter().map(|alias| alias.to_string()).collect(),
            })
            .collect();
        let products = builtin::PRODUCTS
            .iter()
            .map(|product| Product {
                sku_part_number: product.sku_part_number.to_string(),
                id: product.id.to_string(),
                name: product.name.to_string(),
                plans: product.plans.iter().map(|&plan| PlanId(plan)).collect(),
            })
            .collect();
        let mut catalog = Catalog {
            products,
            plans,
            relations: Vec::new(),
            graph: RelationGraph::default(),
            exchange: PlanSet::new(),
            product_by_id: HashMap::new(),
            product_by_sku: HashMap::new(),
            product_by_name: HashMap::new(),
            product_by_exact_sku: HashMap::new(),
            plan_by_id: HashMap::new(),
            plan_by_name: HashMap::new(),
        };
        catalog.reindex();
        catalog.graph =
            RelationGraph::build(catalog.plans.len(), &[], |_| String::new()).unwrap_or_default();
        catalog
    }

    /// This catalog plus the relations of a relations file (YAML text registered as `source`).
    pub fn with_relations_file(
        mut self,
        source: SourceId,
        text: &str,
    ) -> Result<Catalog, Diagnostics> {
        let file = relations::parse_relations(source, text)?;
        let added = relations::resolve_file(&self, source, &file)?;
        self.relations.extend(added);
        self.rebuild_graph()?;
        Ok(self)
    }

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

    fn rebuild_graph(&mut self) -> Result<(), Diagnostics> {
        let plans = &self.plans;
        self.graph = RelationGraph::build(plans.len(), &self.relations, |plan| {
            plans
                .get(plan.index())
                .map_or_else(String::new, |plan| plan.name.clone())
        })?;
        Ok(())
    }

    fn reindex(&mut self) {
        self.product_by_id.clear();
        self.product_by_sku.clear();
        self.product_by_name.clear();
        for (index, product) in self.products.iter().enumerate() {
            let id = ProductId(index as u16);
            self.product_by_id.insert(product.id.clone(), id);
            self.product_by_sku
                .entry(product.sku_part_number.to_lowercase())
                .or_default()
                .push(id);
            self.product_by_name
                .entry(product.name.to_lowercase())
                .or_default()
                .push(id);
        }
        self.product_by_exact_sku.clear();
        let exact: HashMap<String, ProductId> = self
            .products
            .iter()
            .filter_map(
                |product| match self.lookup_product(&product.sku_part_number) {
                    Lookup::Found(id) => Some((product.sku_part_number.clone(), id)),
                    _ => None,
                },
            )
            .collect();
        self.product_by_exact_sku = exact;
        self.plan_by_id.clear();
        self.plan_by_name.clear();
        let mut exchange = Vec::new();
        for (index, plan) in self.plans.iter().enumerate() {
            let id = PlanId(index as u16);
            self.plan_by_id.insert(plan.id.clone(), id);
            for name in std::iter::once(&plan.name).chain(&plan.aliases) {
                let entry = self.plan_by_name.entry(name.to_lowercase()).or_default();
                if !entry.contains(&id) {
                    entry.push(id);
                }
            }
            if is_exchange_plan_name(&plan.name) {
                exchange.push(id);
            }
        }
        self.exchange = exchange.into_iter().collect();
    }

    /// Every product, indexed by [`ProductId`].
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// Every service plan, indexed by [`PlanId`].
    pub fn plans(&self) -> &[Plan] {
        &self.plans
    }

    /// The product with id `id`.
    pub fn product(&self, id: ProductId) -> &Product {
        &self.products[id.index()]
    }

    /// The service plan with id `id`.
    pub fn plan(&self, id: PlanId) -> &Plan {
        &self.plans[id.index()]
    }

    /// Every relation, in declaration order (relations file, then config).
    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// The relation graph.
    pub fn graph(&self) -> &RelationGraph {
        &self.graph
    }

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

    fn unknown_plan(&self, name: &str) -> Diagnostic {
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

    /// The names of `plans`, sorted (for plans, reports and diagnostics).
    pub fn plan_names(&self, plans: &PlanSet) -> Vec<String> {
        let mut names: Vec<String> = plans
            .iter()
            .map(|plan| self.plan(plan).name.clone())
            .collect();
        names.sort();
        names
    }

    /// Every plan of `product`.
    pub fn plans_of(&self, product: ProductId) -> PlanSet {
        self.product(product).plans.iter().copied().collect()
    }

    /// The plans an assignment of `product` enables: all, all but the disabled ones, or exactly
    /// the enabled ones that the product has.
    pub fn enabled_plans(&self, product: ProductId, selection: PlanSelection<'_>) -> PlanSet {
        let all = self.plans_of(product);
        match selection {
            PlanSelection::All => all,
            PlanSelection::AllExcept(disabled) => all.difference(disabled),
            PlanSelection::Only(enabled) => all.intersection(enabled),
        }
    }

    /// Pairs `(x, y)` with `x` in `a`, `y` in `b` and the two mutually exclusive, sorted.
    pub fn conflicts(&self, a: &PlanSet, b: &PlanSet) -> Vec<(PlanId, PlanId)> {
        let mut pairs = Vec::new();
        for x in a {
            for &y in self.graph.conflicts(x) {
                if b.contains(y) {
                    pairs.push((x, y));
                }
            }
        }
        pairs
    }

    /// The plans of `plans` whose prerequisites are missing from `plans`, each with the any-of
    /// set it lacks (a plan with two unmet sets appears twice).
    pub fn unmet_prerequisites(&self, plans: &PlanSet) -> Vec<(PlanId, Vec<PlanId>)> {
        let mut unmet = Vec::new();
        for plan in plans {
            for any_of in self.graph.requires(plan) {
                if !plans.contains_any(any_of) {
                    unmet.push((plan, any_of.to_vec()));
                }
            }
        }
        unmet
    }

    /// The plans still in `after` that had a prerequisite of some any-of set in `before` and
    /// have none of that set in `after` (DependencyViolation), each with the set.
    pub fn broken_by_removal(
        &self,
        before: &PlanSet,
        after: &PlanSet,
    ) -> Vec<(PlanId, Vec<PlanId>)> {
        let mut broken = Vec::new();
        for plan in after {
            for any_of in self.graph.requires(plan) {
                if before.contains_any(any_of) && !after.contains_any(any_of) {
                    broken.push((plan, any_of.to_vec()));
                }
            }
        }
        broken
    }

    /// True when a plan of `held` (the plans a user holds after a change, from any source)
    /// supersedes `lost`, directly or through a chain: losing `lost` is then an upgrade, not a
    /// loss.
    pub fn is_upgrade(&self, lost: PlanId, held: &PlanSet) -> bool {
        held.iter()
            .any(|plan| self.graph.superseded_by(plan).binary_search(&lost).is_ok())
    }

    /// True when `plan` may be assigned to a user whose usage location is `country`. Plans
    /// without an availability entry are available everywhere.
    pub fn available_in(&self, plan: PlanId, country: &str) -> bool {
        self.graph
            .availability(plan)
            .is_none_or(|availability| availability.allows(country))
    }

    /// True for Exchange Online plans (see the module documentation).
    pub fn is_exchange(&self, plan: PlanId) -> bool {
        self.exchange.contains(plan)
    }

    /// Every Exchange Online plan.
    pub fn exchange_plans(&self) -> &PlanSet {
        &self.exchange
    }

    /// The relations that mention `plan`, on either side.
    pub fn relations_of(&self, plan: PlanId) -> impl Iterator<Item = &Relation> {
        self.relations
            .iter()
            .filter(move |relation| relation.plan == plan || relation.plans.contains(&plan))
    }
}

/// "`A`, `B` or `C`".
pub fn or_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn invalid_country(code: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidUsageLocation,
        format!("`{code}` is not an ISO 3166-1 alpha-2 country code"),
    )
    .with_help("use two-letter codes such as `US`, `DE` or `GB`")
}

/// Up to three "did you mean" names for a mistyped product or plan name.
fn suggestions<'a>(query: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    crate::diag::did_you_mean(query, candidates, 3)
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests;
