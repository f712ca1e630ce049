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

mod additions;
mod builtin;
pub mod csv;
pub mod graph;
mod lookup;
mod planset;
mod queries;
pub mod relations;
pub mod report;
pub mod spec;

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

use crate::diag::{Code, Diagnostic, Diagnostics, Location};
use crate::source::SourceId;

pub use builtin::RELATIONS_NAME;
pub use graph::{Edge, RelationGraph};
pub use planset::PlanSet;

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

#[cfg(test)]
mod tests;
