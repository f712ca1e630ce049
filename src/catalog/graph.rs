//! The service-plan relation graph (petgraph): nodes are service plans, edges are "requires one
//! of" (grouped into any-of sets), "conflicts with" and "supersedes". Building it validates the
//! relations (a plan conflicting with or requiring itself, cycles in `supersedes`) and derives the
//! per-plan tables the queries read: prerequisite sets, conflicts, the transitive `supersedes`
//! closure and usage-location availability.

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeFiltered, EdgeRef};

use super::{Availability, PlanId, Relation, RelationKind};
use crate::diag::{Code, Diagnostic, Diagnostics};

/// An edge of the relation graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// The source plan needs one plan of the any-of set with this number (per source plan).
    Requires {
        /// Which any-of set of the source plan this edge belongs to.
        set: u32,
    },
    /// The two plans cannot be enabled for the same user (stored in both directions).
    ConflictsWith,
    /// The source plan is an upgrade of the target plan.
    Supersedes,
}

/// The relation graph and the lookup tables derived from it.
#[derive(Debug, Clone, Default)]
pub struct RelationGraph {
    graph: DiGraph<PlanId, Edge, u32>,
    requires: Vec<Vec<Box<[PlanId]>>>,
    conflicts: Vec<Box<[PlanId]>>,
    superseded: Vec<Box<[PlanId]>>,
    availability: Vec<Option<Availability>>,
}

impl RelationGraph {
    /// Builds the graph over `plan_count` plans from `relations`, or reports every problem.
    /// `name` gives a plan's name for messages.
    pub fn build(
        plan_count: usize,
        relations: &[Relation],
        name: impl Fn(PlanId) -> String,
    ) -> Result<RelationGraph, Diagnostics> {
        let mut problems = Diagnostics::default();
        let mut graph = DiGraph::<PlanId, Edge, u32>::with_capacity(plan_count, relations.len());
        for index in 0..plan_count {
            graph.add_node(PlanId(index as u16));
        }
        let node = |plan: PlanId| NodeIndex::new(plan.index());
        let mut requires: Vec<Vec<Box<[PlanId]>>> = vec![Vec::new(); plan_count];
        let mut availability: Vec<Option<Availability>> = vec![None; plan_count];
        for relation in relations {
            match relation.kind {
                RelationKind::MutuallyExclusive => {
                    for &other in &relation.plans {
                        if other == relation.plan {
                            problems.push(relation_problem(
                                relation,
                                format!("service plan `{}` conflicts with itself", name(other)),
                                "remove the plan from its own conflict list",
                            ));
                            continue;
                        }
                        graph.add_edge(node(relation.plan), node(other), Edge::ConflictsWith);
                        graph.add_edge(node(other), node(relation.plan), Edge::ConflictsWith);
                    }
                }
                RelationKind::RequiresAnyOf => {
                    if relation.plans.contains(&relation.plan) {
                        problems.push(relation_problem(
                            relation,
                            format!("service plan `{}` requires itself", name(relation.plan)),
                            "list the plans it needs, not the plan itself",
                        ));
                        continue;
                    }
                    let set = requires[relation.plan.index()].len() as u32;
                    for &other in &relation.plans {
                        graph.add_edge(node(relation.plan), node(other), Edge::Requires { set });
                    }
                    let mut any_of: Vec<PlanId> = relation.plans.clone();
                    any_of.sort_unstable();
                    any_of.dedup();
                    requires[relation.plan.index()].push(any_of.into_boxed_slice());
                }
                RelationKind::Supersedes => {
                    for &other in &relation.plans {
                        graph.add_edge(node(relation.plan), node(other), Edge::Supersedes);
                    }
                }
                RelationKind::AvailableOnlyIn | RelationKind::UnavailableIn => {
                    let countries = relation.countries.clone();
                    availability[relation.plan.index()] =
                        Some(if relation.kind == RelationKind::AvailableOnlyIn {
                            Availability::Only(countries)
                        } else {
                            Availability::Except(countries)
                        });
                }
            }
        }
        let supersedes_only =
            EdgeFiltered::from_fn(&graph, |edge| matches!(edge.weight(), Edge::Supersedes));
        for component in tarjan_scc(&supersedes_only) {
            let looped = component.len() > 1
                || graph
                    .edges_connecting(component[0], component[0])
                    .any(|edge| *edge.weight() == Edge::Supersedes);
            if !looped {
                continue;
            }
            let members: Vec<PlanId> = component.iter().map(|&index| graph[index]).collect();
            let mut names: Vec<String> = members.iter().map(|&plan| name(plan)).collect();
            names.sort();
            let mut diagnostic = Diagnostic::new(
                Code::InvalidCatalog,
                format!(
                    "`supersedes` relations form a cycle between {}: a plan would be an upgrade of itself",
                    names.join(", ")
                ),
            )
            .with_help("an upgrade path goes one way: remove one of the `supersedes` entries in the cycle");
            for relation in relations.iter().filter(|relation| {
                relation.kind == RelationKind::Supersedes
                    && members.contains(&relation.plan)
                    && relation.plans.iter().any(|other| members.contains(other))
            }) {
                if let Some(location) = &relation.location {
                    diagnostic = diagnostic.with_label(location.clone(), "part of the cycle");
                }
            }
            problems.push(diagnostic);
        }
        if problems.has_errors() {
            return Err(problems);
        }
        let mut conflicts: Vec<Vec<PlanId>> = vec![Vec::new(); plan_count];
        for edge in graph.edge_references() {
            if *edge.weight() == Edge::ConflictsWith {
                conflicts[edge.source().index()].push(graph[edge.target()]);
            }
        }
        let conflicts = conflicts
            .into_iter()
            .map(|mut plans| {
                plans.sort_unstable();
                plans.dedup();
                plans.into_boxed_slice()
            })
            .collect();
        let mut superseded = Vec::with_capacity(plan_count);
        for index in 0..plan_count {
            let mut reached = Vec::new();
            let start = NodeIndex::new(index);
            let has_upgrades = graph
                .edges(start)
                .any(|edge| *edge.weight() == Edge::Supersedes);
            if has_upgrades {
                let mut search = Dfs::new(&supersedes_only, start);
                while let Some(found) = search.next(&supersedes_only) {
                    if found != start {
                        reached.push(graph[found]);
                    }
                }
                reached.sort_unstable();
            }
            superseded.push(reached.into_boxed_slice());
        }
        Ok(RelationGraph {
            graph,
            requires,
            conflicts,
            superseded,
            availability,
        })
    }

    /// The petgraph graph itself (node `i` is plan `i`).
    pub fn graph(&self) -> &DiGraph<PlanId, Edge, u32> {
        &self.graph
    }

    /// The any-of prerequisite sets of `plan` (each set needs one of its plans).
    pub fn requires(&self, plan: PlanId) -> &[Box<[PlanId]>] {
        self.requires.get(plan.index()).map_or(&[], Vec::as_slice)
    }

    /// The plans `plan` cannot be combined with, sorted.
    pub fn conflicts(&self, plan: PlanId) -> &[PlanId] {
        self.conflicts.get(plan.index()).map_or(&[], |plans| plans)
    }

    /// Every plan `plan` supersedes, directly or through a chain, sorted.
    pub fn superseded_by(&self, plan: PlanId) -> &[PlanId] {
        self.superseded.get(plan.index()).map_or(&[], |plans| plans)
    }

    /// The usage-location restriction of `plan`, if it has one.
    pub fn availability(&self, plan: PlanId) -> Option<&Availability> {
        self.availability.get(plan.index()).and_then(Option::as_ref)
    }
}

fn relation_problem(relation: &Relation, message: String, help: &str) -> Diagnostic {
    let mut diagnostic = Diagnostic::new(Code::InvalidCatalog, message).with_help(help);
    if let Some(location) = &relation.location {
        diagnostic = diagnostic.with_label(location.clone(), "here");
    }
    diagnostic
}
