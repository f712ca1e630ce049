//! Entra's dynamic membership rule language: lexer ([`lexer`]), parser with spans ([`parser`])
//! and the service's save-time checks (`save_checks`), syntax tree ([`ast`]), canonical printer
//! ([`printer`]), property table ([`property`]), compiled evaluator ([`compile`]) over a columnar
//! user table ([`table`]) — rules evaluated together share their common leaves ([`LeafCache`]),
//! and small selections come from the table's users grouped by value — and rules prepared once
//! per plan ([`RuleBook`]). The config's check of its rules is `crate::config::rules`.
//!
//! Grammar and semantics follow Microsoft Learn ("Dynamic membership rules for groups") as
//! collected in the grammar notes; where those notes mark a point unverified, the decision is
//! written on the module that makes it.

pub mod ast;
pub mod compile;
pub mod error;
pub mod lexer;
pub mod parser;
mod postings;
pub mod prepared;
pub mod printer;
pub mod property;
pub mod regex_support;
mod save_checks;
pub mod table;

pub use ast::{Expr, ExprKind, Rule, RuleKind, Span};
pub use compile::{CompiledRule, EvalContext, GroupMembers, LeafCache, NoGroups};
pub use error::RuleError;
pub use parser::{parse, parse_with, RuleLimits, MAX_RULE_CHARS};
pub use prepared::{PreparedRule, RuleBook};
pub use printer::print;
pub use table::{AssignedPlanValue, TableError, UserTable, UserTableBuilder};
