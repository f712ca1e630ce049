//! Compiled rules: a rule lowered once into predicates over table columns (lowercased constants,
//! regexes built once), evaluated for a whole [`UserTable`] at a time or for one user.
//!
//! Batch evaluation runs each string predicate once per distinct value of its column (a
//! `-contains` as one substring search over all of them), then turns that truth table into the
//! set of users it selects, by a scan of the column's codes or, for a small selection, from the
//! column's users grouped by value (`super::postings`); `-and`/`-or`/`-not` combine bit sets word
//! by word. Rules evaluated against the same table share a [`LeafCache`], so a leaf that many
//! rules contain (`user.department -eq "Sales"`) is computed once.
//!
//! Semantics (Microsoft Learn and the grammar notes §5; decisions on undocumented points marked):
//! - String comparisons and regexes ignore case; `-match` searches (is not anchored).
//! - Null: a positive operator (`-eq "x"`, `-startsWith`, `-contains`, `-match`, `-in`, `-le`,
//!   `-ge`) is false on a null value and its negated form (`-ne`, `-notStartsWith`, …) is true
//!   (decision; the service does not document it). `-eq null` is true exactly on null; `-eq ""`
//!   means `-eq null` (the table stores empty strings as null).
//! - A comparison directly on a string collection (`user.proxyAddresses -startsWith "smtp:"`)
//!   holds when any element satisfies the positive operator; the negated operator holds when no
//!   element does (decision). `-eq null` on a collection means it is empty.
//! - `-any` is false and `-all` true over an empty collection, so the documented
//!   `user.assignedPlans -all (assignedPlan.servicePlanId -eq null)` selects users without plans.
//! - `memberOf`: members of any listed group, as the caller's [`GroupMembers`] says; an unknown
//!   group has no members. `Direct Reports for`: users whose manager has that object id.
//! - `system.now ± duration` is computed in UTC from [`EvalContext::now`]; date-time `-eq`
//!   compares instants exactly.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use crate::hash::Map;
use fixedbitset::FixedBitSet;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use regex::Regex;

use crate::diag::Code;

use super::ast::*;
use super::error::{wording, RuleError};
use super::postings::{select_collection, select_single};
use super::property::PropertyType;
use super::regex_support;
use super::table::{field_index, Column, ColumnKey, Dictionary, UserTable, NULL_CODE};

mod batch;
mod lower;
mod single;

pub use batch::LeafCache;
use batch::{all_or_none, evaluate_root};
use lower::lower_expr;
use single::leaf_matches;

/// Who is a member of which group, for `memberOf` rules. Group ids are passed lowercase; bit `u`
/// of the returned set is user `u` of the table being evaluated.
pub trait GroupMembers {
    /// The direct user members of the group with this object id, if the group is known.
    fn members(&self, group_object_id: &str) -> Option<&FixedBitSet>;
}

/// No group memberships (every memberOf rule selects nobody).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGroups;

impl GroupMembers for NoGroups {
    fn members(&self, _group_object_id: &str) -> Option<&FixedBitSet> {
        None
    }
}

/// What a rule needs besides the user table: the time `system.now` stands for (passed in; the
/// core never reads the clock) and group memberships for `memberOf`.
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    /// The instant `system.now` means.
    pub now: Timestamp,
    /// Group memberships for `memberOf`.
    pub groups: &'a (dyn GroupMembers + Sync),
}

impl<'a> EvalContext<'a> {
    /// A context at `now` with the given memberships.
    pub fn new(now: Timestamp, groups: &'a (dyn GroupMembers + Sync)) -> Self {
        EvalContext { now, groups }
    }
}

/// A rule lowered for evaluation. Compile once, evaluate against any number of tables.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    root: Node,
}

/// A boolean combination of leaves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Tree<L> {
    And(Vec<Tree<L>>),
    Or(Vec<Tree<L>>),
    Not(Box<Tree<L>>),
    Leaf(L),
}

impl<L> Tree<L> {
    fn holds(&self, leaf: &impl Fn(&L) -> bool) -> bool {
        match self {
            Tree::And(children) => children.iter().all(|child| child.holds(leaf)),
            Tree::Or(children) => children.iter().any(|child| child.holds(leaf)),
            Tree::Not(inner) => !inner.holds(leaf),
            Tree::Leaf(value) => leaf(value),
        }
    }
}

/// A test of one property (or of group membership, or of the manager) for every user; equal
/// leaves select the same users of a table in a context, which is what [`LeafCache`] relies on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Leaf {
    Strings(ColumnKey, StrTest),
    Bools(ColumnKey, BoolTest),
    Dates(ColumnKey, DateTest),
    /// A comparison directly on a string collection.
    MultiDirect(ColumnKey, StrTest),
    Elements(ColumnKey, Quantifier, Tree<StrTest>),
    Plans(ColumnKey, Quantifier, Tree<(usize, StrTest)>),
    MemberOf(Vec<String>),
    DirectReports(String),
}

type Node = Tree<Leaf>;

/// A string predicate and whether it is negated.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct StrTest {
    predicate: StrPredicate,
    negate: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum StrPredicate {
    IsNull,
    Eq(String),
    StartsWith(String),
    EndsWith(String),
    Contains(String),
    Match(Pattern),
    In { values: Vec<String>, null: bool },
}

/// A `-match` regex, equal to another and hashed by its pattern: every pattern is compiled with
/// the same options ([`regex_support::build`]), so equal patterns match the same values.
#[derive(Debug, Clone)]
struct Pattern(Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl Hash for Pattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

impl StrPredicate {
    /// The positive predicate on a value (`None` = null); `lower` is the value lowercased.
    fn holds(&self, value: Option<(&str, &str)>) -> bool {
        let Some((original, lower)) = value else {
            return match self {
                StrPredicate::IsNull => true,
                StrPredicate::In { null, .. } => *null,
                _ => false,
            };
        };
        match self {
            StrPredicate::IsNull => false,
            StrPredicate::Eq(expected) => lower == expected,
            StrPredicate::StartsWith(prefix) => lower.starts_with(prefix.as_str()),
            StrPredicate::EndsWith(suffix) => lower.ends_with(suffix.as_str()),
            StrPredicate::Contains(part) => lower.contains(part.as_str()),
            StrPredicate::Match(Pattern(regex)) => regex.is_match(original),
            StrPredicate::In { values, .. } => values.iter().any(|value| value == lower),
        }
    }

    /// The positive predicate's result for every code of `dictionary` (bit `code`).
    fn value_truth(&self, dictionary: &Dictionary) -> FixedBitSet {
        match self {
            StrPredicate::Contains(part) => dictionary.containing(part),
            _ => {
                let mut truth = FixedBitSet::with_capacity(dictionary.len());
                for code in 0..dictionary.len() {
                    truth.set(code, self.holds(dictionary.get(code)));
                }
                truth
            }
        }
    }
}

impl StrTest {
    fn holds(&self, value: Option<(&str, &str)>) -> bool {
        self.predicate.holds(value) != self.negate
    }

    /// The test's result for every code of `dictionary` (bit `code`).
    fn value_truth(&self, dictionary: &Dictionary) -> FixedBitSet {
        let mut truth = self.predicate.value_truth(dictionary);
        if self.negate {
            truth.toggle_range(..);
        }
        truth
    }

    /// The test's truth table over a string column's buckets: every code of `dictionary`, then
    /// null.
    fn truth_table(&self, dictionary: &Dictionary) -> FixedBitSet {
        with_missing(self.value_truth(dictionary), self.holds(None))
    }
}

/// `truth` over a dictionary's codes with one more bucket, for null or a missing code, set to
/// `missing` (`super::postings`).
fn with_missing(mut truth: FixedBitSet, missing: bool) -> FixedBitSet {
    let values = truth.len();
    truth.grow(values + 1);
    truth.set(values, missing);
    truth
}

/// The truth table of a lambda body over a collection column's buckets: every code of
/// `dictionary`, then a missing code (false).
fn body_truth(body: &Tree<StrTest>, dictionary: &Dictionary) -> FixedBitSet {
    fn values(body: &Tree<StrTest>, dictionary: &Dictionary) -> FixedBitSet {
        match body {
            Tree::Leaf(test) => test.value_truth(dictionary),
            Tree::Not(inner) => {
                let mut truth = values(inner, dictionary);
                truth.toggle_range(..);
                truth
            }
            Tree::And(children) => {
                let mut truth = all_or_none(dictionary.len(), true);
                for child in children {
                    truth.intersect_with(&values(child, dictionary));
                }
                truth
            }
            Tree::Or(children) => {
                let mut truth = all_or_none(dictionary.len(), false);
                for child in children {
                    truth.union_with(&values(child, dictionary));
                }
                truth
            }
        }
    }
    with_missing(values(body, dictionary), false)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct BoolTest {
    /// `Some(b)`: the value is `b`; `None`: the value is null.
    expected: Option<bool>,
    negate: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DateTarget {
    Fixed(Timestamp),
    Now(Option<NowOffset>),
}

impl DateTarget {
    fn resolve(self, now: Timestamp) -> Timestamp {
        match self {
            DateTarget::Fixed(timestamp) => timestamp,
            DateTarget::Now(None) => now,
            DateTarget::Now(Some(offset)) => shift(now, offset),
        }
    }
}

/// `now` moved by the offset in UTC calendar arithmetic, saturating at the ends of time.
fn shift(now: Timestamp, offset: NowOffset) -> Timestamp {
    let duration = offset.duration;
    let span = jiff::Span::new()
        .try_years(i64::from(duration.years))
        .and_then(|span| span.try_months(i64::from(duration.months)))
        .and_then(|span| span.try_weeks(i64::from(duration.weeks)))
        .and_then(|span| span.try_days(i64::from(duration.days)))
        .and_then(|span| span.try_hours(i64::from(duration.hours)))
        .and_then(|span| span.try_minutes(i64::from(duration.minutes)))
        .and_then(|span| span.try_seconds(i64::from(duration.seconds)));
    let zoned = now.to_zoned(TimeZone::UTC);
    let moved = span.and_then(|span| match offset.sign {
        OffsetSign::Plus => zoned.checked_add(span),
        OffsetSign::Minus => zoned.checked_sub(span),
    });
    match (moved, offset.sign) {
        (Ok(moved), _) => moved.timestamp(),
        (Err(_), OffsetSign::Plus) => Timestamp::MAX,
        (Err(_), OffsetSign::Minus) => Timestamp::MIN,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum DatePredicate {
    IsNull,
    Eq(DateTarget),
    Le(DateTarget),
    Ge(DateTarget),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct DateTest {
    predicate: DatePredicate,
    negate: bool,
}

/// A [`DateTest`] with `system.now` resolved.
#[derive(Debug, Clone, Copy)]
struct ResolvedDate {
    predicate: DatePredicate,
    target: Timestamp,
    negate: bool,
}

impl DateTest {
    fn resolve(self, now: Timestamp) -> ResolvedDate {
        let target = match self.predicate {
            DatePredicate::IsNull => Timestamp::UNIX_EPOCH,
            DatePredicate::Eq(target) | DatePredicate::Le(target) | DatePredicate::Ge(target) => {
                target.resolve(now)
            }
        };
        ResolvedDate {
            predicate: self.predicate,
            target,
            negate: self.negate,
        }
    }
}

impl ResolvedDate {
    fn holds(&self, value: Option<Timestamp>) -> bool {
        let positive = match (self.predicate, value) {
            (DatePredicate::IsNull, value) => value.is_none(),
            (_, None) => false,
            (DatePredicate::Eq(_), Some(value)) => value == self.target,
            (DatePredicate::Le(_), Some(value)) => value <= self.target,
            (DatePredicate::Ge(_), Some(value)) => value >= self.target,
        };
        positive != self.negate
    }
}

impl BoolTest {
    fn holds(&self, value: Option<bool>) -> bool {
        (value == self.expected) != self.negate
    }
}

impl CompiledRule {
    /// Lowers `rule` for evaluation. Device rules are rejected: the table holds users.
    pub fn compile(rule: &Rule) -> Result<CompiledRule, RuleError> {
        if let Some(span) = rule.first_device_span() {
            return Err(RuleError::new(
                Code::RuleDeviceRule,
                "A device rule can't be evaluated against users.",
                span,
                "this rule selects devices",
            )
            .with_help(
                "seatplan predicts user membership only; device groups can't hold licenses",
            ));
        }
        let root = match &rule.kind {
            RuleKind::DirectReports(reports) => {
                Tree::Leaf(Leaf::DirectReports(reports.manager_id.clone()))
            }
            RuleKind::Expr(expr) => lower_expr(expr)?,
        };
        Ok(CompiledRule { root })
    }

    /// The users of `table` that the rule selects, as a bit set of user indexes.
    pub fn evaluate(&self, table: &UserTable, context: &EvalContext<'_>) -> FixedBitSet {
        self.evaluate_cached(&LeafCache::new(table, context))
    }

    /// Like [`CompiledRule::evaluate`] against the cache's table and context, reusing the
    /// results of leaves that rules evaluated earlier with `cache` share with this one.
    pub fn evaluate_cached(&self, cache: &LeafCache<'_>) -> FixedBitSet {
        evaluate_root(&self.root, cache)
    }

    /// Whether the rule selects user `user` of `table` (false for an index out of range).
    pub fn matches(&self, table: &UserTable, context: &EvalContext<'_>, user: u32) -> bool {
        let user = user as usize;
        user < table.len()
            && self
                .root
                .holds(&|leaf: &Leaf| leaf_matches(leaf, table, context, user))
    }
}

#[cfg(test)]
mod tests;
