//! The questions the engine and planner ask of the relations between plans: conflicts, unmet
//! prerequisites, what a removal breaks, upgrades, usage-location availability, Exchange plans.

use super::*;

impl Catalog {
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
}
