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

use std::collections::HashMap;
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

impl GroupMembers for HashMap<String, FixedBitSet> {
    fn members(&self, group_object_id: &str) -> Option<&FixedBitSet> {
        self.get(group_object_id)
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
        evaluate_node(&self.root, cache).into_owned()
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

fn lower_expr(expr: &Expr) -> Result<Node, RuleError> {
    Ok(match &expr.kind {
        ExprKind::Or(operands) => {
            Tree::Or(operands.iter().map(lower_expr).collect::<Result<_, _>>()?)
        }
        ExprKind::And(operands) => {
            Tree::And(operands.iter().map(lower_expr).collect::<Result<_, _>>()?)
        }
        ExprKind::Not(inner) => Tree::Not(Box::new(lower_expr(inner)?)),
        ExprKind::Compare(comparison) => Tree::Leaf(lower_comparison(comparison)?),
        ExprKind::Collection(test) => {
            let column = ColumnKey::of(&test.property.name);
            match test.property.ty() {
                PropertyType::AssignedPlans => Tree::Leaf(Leaf::Plans(
                    column,
                    test.quantifier,
                    lower_body(&test.body, &|comparison| match comparison.subject {
                        Subject::PlanField(field) => {
                            Ok((field_index(field), string_test(comparison)?))
                        }
                        _ => Err(unexpected(comparison)),
                    })?,
                )),
                PropertyType::MemberOf => Tree::Leaf(Leaf::MemberOf(member_of_ids(&test.body)?)),
                _ => Tree::Leaf(Leaf::Elements(
                    column,
                    test.quantifier,
                    lower_body(&test.body, &string_test)?,
                )),
            }
        }
    })
}

fn unexpected(comparison: &Comparison) -> RuleError {
    RuleError::new(
        Code::RuleInvalidForm,
        wording::INVALID_OPERANDS,
        comparison.subject_span,
        "not valid here",
    )
}

fn lower_body<L>(
    expr: &Expr,
    leaf: &impl Fn(&Comparison) -> Result<L, RuleError>,
) -> Result<Tree<L>, RuleError> {
    Ok(match &expr.kind {
        ExprKind::Or(operands) => Tree::Or(
            operands
                .iter()
                .map(|operand| lower_body(operand, leaf))
                .collect::<Result<_, _>>()?,
        ),
        ExprKind::And(operands) => Tree::And(
            operands
                .iter()
                .map(|operand| lower_body(operand, leaf))
                .collect::<Result<_, _>>()?,
        ),
        ExprKind::Not(inner) => Tree::Not(Box::new(lower_body(inner, leaf)?)),
        ExprKind::Compare(comparison) => Tree::Leaf(leaf(comparison)?),
        ExprKind::Collection(test) => {
            return Err(RuleError::new(
                Code::RuleInvalidForm,
                wording::INVALID_OPERANDS,
                test.quantifier_span,
                "lambdas can't be nested",
            ))
        }
    })
}

fn member_of_ids(body: &Expr) -> Result<Vec<String>, RuleError> {
    match &body.kind {
        ExprKind::Compare(Comparison {
            subject: Subject::GroupObjectId,
            value: Value::Array(items),
            ..
        }) => Ok(items
            .iter()
            .map(|item| item.value.to_ascii_lowercase())
            .collect()),
        _ => Err(RuleError::new(
            Code::RuleInvalidForm,
            wording::INVALID_OPERANDS,
            body.span,
            "memberOf takes exactly one `group.objectId -in [...]`",
        )),
    }
}

fn lower_comparison(comparison: &Comparison) -> Result<Leaf, RuleError> {
    let Subject::Property(property) = &comparison.subject else {
        return Err(unexpected(comparison));
    };
    let column = ColumnKey::of(&property.name);
    let negate = comparison.op.positive().is_some();
    Ok(match property.ty() {
        PropertyType::String => Leaf::Strings(column, string_test(comparison)?),
        PropertyType::StringCollection => Leaf::MultiDirect(column, string_test(comparison)?),
        PropertyType::Bool => {
            let expected = match comparison.value {
                Value::Bool(value) => Some(value),
                _ => None,
            };
            Leaf::Bools(column, BoolTest { expected, negate })
        }
        PropertyType::DateTime => {
            let target = match comparison.value {
                Value::DateTime(timestamp) => Some(DateTarget::Fixed(timestamp)),
                Value::Now(offset) => Some(DateTarget::Now(offset)),
                _ => None,
            };
            let predicate = match (comparison.op, target) {
                (_, None) => DatePredicate::IsNull,
                (Operator::Le, Some(target)) => DatePredicate::Le(target),
                (Operator::Ge, Some(target)) => DatePredicate::Ge(target),
                (_, Some(target)) => DatePredicate::Eq(target),
            };
            Leaf::Dates(column, DateTest { predicate, negate })
        }
        PropertyType::AssignedPlans | PropertyType::MemberOf => return Err(unexpected(comparison)),
    })
}

/// Lowers a string comparison (on a string property, a collection element or a plan field).
fn string_test(comparison: &Comparison) -> Result<StrTest, RuleError> {
    let op = comparison.op;
    let positive = op.positive().unwrap_or(op);
    let negate = op.positive().is_some();
    let text = |value: &Value| match value {
        Value::String(text) => Ok(text.to_lowercase()),
        _ => Err(RuleError::new(
            Code::RuleInvalidValue,
            wording::VALUE_NOT_APPLICABLE,
            comparison.value_span,
            "expected a string",
        )),
    };
    let predicate = match (&comparison.value, positive) {
        (Value::Null, _) => StrPredicate::IsNull,
        (Value::String(text), Operator::Eq) if text.is_empty() => StrPredicate::IsNull,
        (value, Operator::Eq) => StrPredicate::Eq(text(value)?),
        (value, Operator::StartsWith) => StrPredicate::StartsWith(text(value)?),
        (value, Operator::EndsWith) => StrPredicate::EndsWith(text(value)?),
        (value, Operator::Contains) => StrPredicate::Contains(text(value)?),
        (Value::String(pattern), Operator::Match) => {
            StrPredicate::Match(Pattern(regex_support::build(pattern).map_err(|_| {
                RuleError::new(
                    Code::RuleInvalidRegex,
                    wording::QUERY_COMPILATION,
                    comparison.value_span,
                    "not a valid regular expression",
                )
            })?))
        }
        (Value::Array(items), Operator::In) => StrPredicate::In {
            values: items.iter().map(|item| item.value.to_lowercase()).collect(),
            null: items.iter().any(|item| item.value.is_empty()),
        },
        _ => {
            return Err(RuleError::new(
                Code::RuleUnsupportedOperator,
                wording::OPERATOR_NOT_SUPPORTED,
                comparison.op_span,
                "not valid for a string",
            ))
        }
    };
    Ok(StrTest { predicate, negate })
}

/// Leaf results shared by the rules evaluated against one table in one context: a leaf that many
/// rules contain (`user.department -eq "Sales"`, `user.proxyAddresses -any (_ -contains "@x.")`)
/// is computed once, by whichever rule needs it first, and its users are reused by the others.
///
/// A cache belongs to the table and context it was made with, because a leaf's result depends on
/// both: on the table's values, on [`EvalContext::groups`] for `memberOf` and on
/// [`EvalContext::now`] for `system.now`. Make one per (table, context) and drop it with them. It
/// can be shared between threads evaluating rules in parallel; it keeps one bit set per distinct
/// leaf (one bit per user) until it is dropped.
pub struct LeafCache<'a> {
    table: &'a UserTable,
    context: EvalContext<'a>,
    leaves: Mutex<Map<Leaf, Arc<OnceLock<Arc<FixedBitSet>>>>>,
}

impl<'a> LeafCache<'a> {
    /// An empty cache for rules evaluated against `table` in `context`.
    pub fn new(table: &'a UserTable, context: &EvalContext<'a>) -> Self {
        LeafCache {
            table,
            context: *context,
            leaves: Mutex::new(Map::default()),
        }
    }

    /// The users `leaf` selects: computed on the first request, shared afterwards. Concurrent
    /// first requests for the same leaf wait for one computation.
    fn leaf(&self, leaf: &Leaf) -> Arc<FixedBitSet> {
        let slot = {
            // The lock guards nothing that a panic could leave half-updated.
            let mut leaves = self.leaves.lock().unwrap_or_else(PoisonError::into_inner);
            match leaves.get(leaf) {
                Some(slot) => Arc::clone(slot),
                None => {
                    let slot = Arc::new(OnceLock::new());
                    leaves.insert(leaf.clone(), Arc::clone(&slot));
                    slot
                }
            }
        };
        Arc::clone(slot.get_or_init(|| Arc::new(evaluate_leaf(leaf, self.table, &self.context))))
    }
}

/// A node's users: computed for one rule, or a leaf's result shared through a [`LeafCache`].
enum Users {
    Owned(FixedBitSet),
    Shared(Arc<FixedBitSet>),
}

impl Users {
    fn get(&self) -> &FixedBitSet {
        match self {
            Users::Owned(users) => users,
            Users::Shared(users) => users,
        }
    }

    fn into_owned(self) -> FixedBitSet {
        match self {
            Users::Owned(users) => users,
            Users::Shared(users) => Arc::unwrap_or_clone(users),
        }
    }
}

/// Evaluates a node for every user.
fn evaluate_node(node: &Node, cache: &LeafCache<'_>) -> Users {
    match node {
        Tree::And(children) => Users::Owned(combine(children, cache, true)),
        Tree::Or(children) => Users::Owned(combine(children, cache, false)),
        Tree::Not(inner) => {
            let mut result = evaluate_node(inner, cache).into_owned();
            result.toggle_range(..);
            Users::Owned(result)
        }
        Tree::Leaf(leaf) => Users::Shared(cache.leaf(leaf)),
    }
}

/// The intersection (`and`) or union of the children's users.
fn combine(children: &[Node], cache: &LeafCache<'_>, and: bool) -> FixedBitSet {
    let mut children = children.iter().map(|child| evaluate_node(child, cache));
    let Some(first) = children.next() else {
        return all_or_none(cache.table.len(), and);
    };
    let mut result = first.into_owned();
    for child in children {
        if and {
            result.intersect_with(child.get());
        } else {
            result.union_with(child.get());
        }
    }
    result
}

fn all_or_none(users: usize, all: bool) -> FixedBitSet {
    let mut result = FixedBitSet::with_capacity(users);
    if all {
        result.insert_range(..);
    }
    result
}

fn evaluate_leaf(leaf: &Leaf, table: &UserTable, context: &EvalContext<'_>) -> FixedBitSet {
    let users = table.len();
    match leaf {
        Leaf::Strings(key, test) => match table.column(key) {
            Some(Column::Strings {
                codes,
                dictionary,
                postings,
            }) => select_single(codes, postings, &test.truth_table(dictionary), users),
            _ => all_or_none(users, test.holds(None)),
        },
        Leaf::DirectReports(manager) => match table.manager() {
            Some(Column::Strings {
                codes,
                dictionary,
                postings,
            }) => {
                let mut truth = FixedBitSet::with_capacity(dictionary.len() + 1);
                for code in 0..dictionary.len() {
                    truth.set(code, dictionary.lower(code) == manager);
                }
                select_single(codes, postings, &truth, users)
            }
            _ => all_or_none(users, false),
        },
        Leaf::Bools(key, test) => match table.column(key) {
            Some(Column::Bools { present, value }) => {
                // (value == expected) != negate, where value is null outside `present`.
                let mut result = present.clone();
                result.grow(users);
                match test.expected {
                    Some(true) => result.intersect_with(value),
                    Some(false) => result.difference_with(value),
                    None => result.toggle_range(..),
                }
                if test.negate {
                    result.toggle_range(..);
                }
                result
            }
            _ => all_or_none(users, test.holds(None)),
        },
        Leaf::Dates(key, test) => {
            let test = test.resolve(context.now);
            match table.column(key) {
                Some(Column::Dates { values }) => {
                    let mut result = FixedBitSet::with_capacity(users);
                    for (user, value) in values.iter().enumerate() {
                        if test.holds(*value) {
                            result.insert(user);
                        }
                    }
                    result
                }
                _ => all_or_none(users, test.holds(None)),
            }
        }
        Leaf::MultiDirect(key, test) => match table.column(key) {
            Some(Column::Multi {
                offsets,
                codes,
                dictionary,
                postings,
            }) => {
                let mut result = if matches!(test.predicate, StrPredicate::IsNull) {
                    let mut empty = FixedBitSet::with_capacity(users);
                    for user in 0..users {
                        if offsets.get(user) == offsets.get(user + 1) {
                            empty.insert(user);
                        }
                    }
                    empty
                } else {
                    let truth = with_missing(test.predicate.value_truth(dictionary), false);
                    select_collection(offsets, codes, postings, &truth, Quantifier::Any, users)
                };
                if test.negate {
                    result.toggle_range(..);
                }
                result
            }
            _ => all_or_none(
                users,
                matches!(test.predicate, StrPredicate::IsNull) != test.negate,
            ),
        },
        Leaf::Elements(key, quantifier, body) => match table.column(key) {
            Some(Column::Multi {
                offsets,
                codes,
                dictionary,
                postings,
            }) => {
                let truth = body_truth(body, dictionary);
                select_collection(offsets, codes, postings, &truth, *quantifier, users)
            }
            _ => all_or_none(users, *quantifier == Quantifier::All),
        },
        Leaf::Plans(key, quantifier, body) => match table.column(key) {
            Some(Column::Plans {
                offsets,
                codes,
                triples,
                fields,
                postings,
            }) => {
                let mut truth = FixedBitSet::with_capacity(triples.len() + 1);
                for (code, triple) in triples.iter().enumerate() {
                    truth.set(code, plan_holds(body, triple, fields));
                }
                select_collection(offsets, codes, postings, &truth, *quantifier, users)
            }
            _ => all_or_none(users, *quantifier == Quantifier::All),
        },
        Leaf::MemberOf(ids) => {
            let mut result = FixedBitSet::with_capacity(users);
            for id in ids {
                if let Some(members) = context.groups.members(id) {
                    for user in members.ones().take_while(|user| *user < users) {
                        result.insert(user);
                    }
                }
            }
            result
        }
    }
}

fn plan_holds(body: &Tree<(usize, StrTest)>, triple: &[u32; 3], fields: &[Dictionary; 3]) -> bool {
    body.holds(&|(field, test): &(usize, StrTest)| {
        let dictionary = &fields[*field];
        let code = triple[*field];
        let value = (code != NULL_CODE)
            .then_some(code as usize)
            .filter(|code| *code < dictionary.len())
            .and_then(|code| dictionary.get(code));
        test.holds(value)
    })
}

fn string_at<'t>(
    codes: &[u32],
    dictionary: &'t Dictionary,
    user: usize,
) -> Option<(&'t str, &'t str)> {
    let code = *codes.get(user)?;
    let code = (code != NULL_CODE).then_some(code as usize)?;
    dictionary.get(code)
}

fn leaf_matches(leaf: &Leaf, table: &UserTable, context: &EvalContext<'_>, user: usize) -> bool {
    match leaf {
        Leaf::Strings(key, test) => match table.column(key) {
            Some(Column::Strings {
                codes, dictionary, ..
            }) => test.holds(string_at(codes, dictionary, user)),
            _ => test.holds(None),
        },
        Leaf::DirectReports(manager) => match table.manager() {
            Some(Column::Strings {
                codes, dictionary, ..
            }) => string_at(codes, dictionary, user).is_some_and(|(_, lower)| lower == manager),
            _ => false,
        },
        Leaf::Bools(key, test) => match table.column(key) {
            Some(Column::Bools { present, value }) => {
                test.holds(present.contains(user).then(|| value.contains(user)))
            }
            _ => test.holds(None),
        },
        Leaf::Dates(key, test) => {
            let test = test.resolve(context.now);
            match table.column(key) {
                Some(Column::Dates { values }) => test.holds(values.get(user).copied().flatten()),
                _ => test.holds(None),
            }
        }
        Leaf::MultiDirect(key, test) => {
            let elements = multi_elements(table, key, user);
            let positive = if matches!(test.predicate, StrPredicate::IsNull) {
                elements.is_empty()
            } else {
                elements
                    .iter()
                    .any(|element| test.predicate.holds(Some(*element)))
            };
            positive != test.negate
        }
        Leaf::Elements(key, quantifier, body) => {
            let elements = multi_elements(table, key, user);
            let holds =
                |element: &(&str, &str)| body.holds(&|test: &StrTest| test.holds(Some(*element)));
            match quantifier {
                Quantifier::Any => elements.iter().any(holds),
                Quantifier::All => elements.iter().all(holds),
            }
        }
        Leaf::Plans(key, quantifier, body) => match table.column(key) {
            Some(Column::Plans {
                offsets,
                codes,
                triples,
                fields,
                ..
            }) => {
                let (Some(&start), Some(&end)) = (offsets.get(user), offsets.get(user + 1)) else {
                    return *quantifier == Quantifier::All;
                };
                let mut entries = codes[start..end].iter().map(|code| {
                    triples
                        .get(*code as usize)
                        .is_some_and(|triple| plan_holds(body, triple, fields))
                });
                match quantifier {
                    Quantifier::Any => entries.any(|hit| hit),
                    Quantifier::All => entries.all(|hit| hit),
                }
            }
            _ => *quantifier == Quantifier::All,
        },
        Leaf::MemberOf(ids) => ids.iter().any(|id| {
            context
                .groups
                .members(id)
                .is_some_and(|members| members.contains(user))
        }),
    }
}

fn multi_elements<'t>(
    table: &'t UserTable,
    key: &ColumnKey,
    user: usize,
) -> Vec<(&'t str, &'t str)> {
    let Some(Column::Multi {
        offsets,
        codes,
        dictionary,
        ..
    }) = table.column(key)
    else {
        return Vec::new();
    };
    let (Some(&start), Some(&end)) = (offsets.get(user), offsets.get(user + 1)) else {
        return Vec::new();
    };
    codes[start..end]
        .iter()
        .filter_map(|code| dictionary.get(*code as usize))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::super::table::{AssignedPlanValue, UserTableBuilder};
    use super::*;

    const E3_PLAN: &str = "efb87545-963c-4e0d-99df-69c6916d9eb0";
    const MANAGER_1: &str = "62e19b97-8b3d-4d4a-a106-4ce66896a863";
    const MANAGER_2: &str = "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb";
    const GROUP_1: &str = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const EXTENSION: &str = "extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber";

    /// alice (0), bob (1), carol (2, mostly null), dave (3).
    fn users() -> UserTable {
        let mut builder = UserTableBuilder::new();
        let alice = builder.push_user();
        let bob = builder.push_user();
        let carol = builder.push_user();
        let dave = builder.push_user();
        let set = |builder: &mut UserTableBuilder, user, property, value| {
            builder.set_string(user, property, value).unwrap()
        };
        set(&mut builder, alice, "department", "Sales");
        set(&mut builder, bob, "department", "sales engineering");
        set(&mut builder, dave, "department", "Marketing");
        set(&mut builder, alice, "country", "US");
        set(&mut builder, bob, "country", "CA");
        set(&mut builder, carol, "country", "us");
        set(&mut builder, dave, "country", "DE");
        set(
            &mut builder,
            alice,
            "employeeHireDate",
            "2024-01-10T09:00:00Z",
        );
        set(
            &mut builder,
            bob,
            "employeeHireDate",
            "2020-06-10T18:13:20Z",
        );
        set(&mut builder, dave, EXTENSION, "1");
        builder.set_bool(alice, "accountEnabled", true).unwrap();
        builder.set_bool(bob, "accountEnabled", false).unwrap();
        builder.set_bool(dave, "accountEnabled", true).unwrap();
        builder
            .set_strings(alice, "otherMails", &["alice@contoso.com", "a@gmail.com"])
            .unwrap();
        builder
            .set_strings(carol, "otherMails", &["c@outlook.com"])
            .unwrap();
        builder
            .set_assigned_plan_values(
                alice,
                &[AssignedPlanValue {
                    service_plan_id: E3_PLAN,
                    service: Some("exchange"),
                    capability_status: "Enabled",
                }],
            )
            .unwrap();
        builder
            .set_assigned_plans(bob, &[(E3_PLAN, "Deleted")])
            .unwrap();
        builder.set_manager(alice, MANAGER_1).unwrap();
        builder.set_manager(bob, MANAGER_2).unwrap();
        builder
            .set_manager(carol, &MANAGER_1.to_uppercase())
            .unwrap();
        builder.finish()
    }

    fn selected(rule: &str) -> Vec<usize> {
        let table = users();
        let mut groups = HashMap::new();
        let mut members = FixedBitSet::with_capacity(4);
        members.insert(1);
        members.insert(3);
        groups.insert(GROUP_1.to_string(), members);
        let now: Timestamp = "2024-02-01T00:00:00Z".parse().unwrap();
        let context = EvalContext::new(now, &groups);
        let compiled = CompiledRule::compile(&parse(rule).unwrap()).unwrap();
        let batch: Vec<usize> = compiled.evaluate(&table, &context).ones().collect();
        let single: Vec<usize> = (0..4u32)
            .filter(|user| compiled.matches(&table, &context, *user))
            .map(|user| user as usize)
            .collect();
        assert_eq!(
            batch, single,
            "batch and single-user evaluation differ for {rule}"
        );
        assert!(!compiled.matches(&table, &context, 4));
        batch
    }

    #[test]
    fn string_operators() {
        let cases: &[(&str, &[usize])] = &[
            (r#"user.department -eq "sales""#, &[0]),
            (r#"user.department -ne "Sales""#, &[1, 2, 3]),
            ("user.department -eq null", &[2]),
            ("user.department -ne null", &[0, 1, 3]),
            (r#"user.department -eq """#, &[2]),
            (r#"user.department -ne """#, &[0, 1, 3]),
            (r#"user.department -startsWith "SALES""#, &[0, 1]),
            (r#"user.department -notStartsWith "sales""#, &[2, 3]),
            (r#"user.department -endsWith "ING""#, &[1, 3]),
            (r#"user.department -notEndsWith "ing""#, &[0, 2]),
            (r#"user.department -contains "ale""#, &[0, 1]),
            (r#"user.department -notContains "ale""#, &[2, 3]),
            (r#"user.department -match "^sales$""#, &[0]),
            (r#"user.department -match "eng""#, &[1]),
            (r#"user.department -notMatch "^sales$""#, &[1, 2, 3]),
            (r#"user.department -in ["sales","MARKETING"]"#, &[0, 3]),
            (r#"user.department -notIn ["sales","marketing"]"#, &[1, 2]),
            (r#"user.jobTitle -eq "x""#, &[]),
            (r#"user.jobTitle -ne "x""#, &[0, 1, 2, 3]),
            (&extension_rule(), &[3]),
        ];
        for (rule, expected) in cases {
            assert_eq!(selected(rule), *expected, "{rule}");
        }
    }

    fn extension_rule() -> String {
        format!(
            "user.{} -eq \"1\"",
            EXTENSION
                .to_uppercase()
                .replacen("EXTENSION", "extension", 1)
        )
    }

    #[test]
    fn boolean_operators() {
        let cases: &[(&str, &[usize])] = &[
            ("user.accountEnabled -eq true", &[0, 3]),
            ("user.accountEnabled -eq false", &[1]),
            ("user.accountEnabled -ne true", &[1, 2]),
            ("user.accountEnabled -ne false", &[0, 2, 3]),
            ("user.accountEnabled -eq null", &[2]),
            ("user.dirSyncEnabled -eq true", &[]),
            ("user.dirSyncEnabled -ne true", &[0, 1, 2, 3]),
        ];
        for (rule, expected) in cases {
            assert_eq!(selected(rule), *expected, "{rule}");
        }
    }

    #[test]
    fn date_operators() {
        let cases: &[(&str, &[usize])] = &[
            ("user.employeeHireDate -le 2020-06-10T18:13:20Z", &[1]),
            ("user.employeeHireDate -ge 2020-06-10T18:13:21Z", &[0]),
            ("user.employeeHireDate -eq 2020-06-10T20:13:20+02:00", &[1]),
            ("user.employeeHireDate -ne 2020-06-10T18:13:20Z", &[0, 2, 3]),
            ("user.employeeHireDate -eq null", &[2, 3]),
            ("user.employeeHireDate -ge system.now -minus P30D", &[0]),
            ("user.employeeHireDate -ge system.now -minus P21D", &[]),
            ("user.employeeHireDate -le (system.now -minus P3Y)", &[1]),
            ("user.employeeHireDate -le system.now", &[0, 1]),
            ("user.employeeHireDate -ge system.now -plus P1D", &[]),
        ];
        for (rule, expected) in cases {
            assert_eq!(selected(rule), *expected, "{rule}");
        }
    }

    #[test]
    fn collection_operators() {
        let cases: &[(&str, &[usize])] = &[
            (r#"user.otherMails -endsWith "@CONTOSO.com""#, &[0]),
            (r#"user.otherMails -notEndsWith "@outlook.com""#, &[0, 1, 3]),
            (r#"user.otherMails -contains "gmail""#, &[0]),
            ("user.otherMails -eq null", &[1, 3]),
            ("user.otherMails -ne null", &[0, 2]),
            (r#"user.otherMails -any (_ -contains "gmail")"#, &[0]),
            (
                r#"user.otherMails -all (_ -endsWith "@contoso.com")"#,
                &[1, 3],
            ),
            (
                r#"user.otherMails -any (_ -match "^a" -and -not (_ -contains "gmail"))"#,
                &[0],
            ),
            (r#"user.proxyAddresses -any (_ -startsWith "smtp:")"#, &[]),
            (
                &format!(
                    r#"user.assignedPlans -any (assignedPlan.servicePlanId -eq "{E3_PLAN}" -and assignedPlan.capabilityStatus -eq "Enabled")"#
                ),
                &[0],
            ),
            (
                &format!(
                    r#"user.assignedPlans -any (assignedPlan.servicePlanId -eq "{}")"#,
                    E3_PLAN.to_uppercase()
                ),
                &[0, 1],
            ),
            (
                "user.assignedPlans -all (assignedPlan.servicePlanId -eq null)",
                &[2, 3],
            ),
            (
                r#"user.assignedPlans -all (assignedPlan.servicePlanId -eq "")"#,
                &[2, 3],
            ),
            (
                r#"user.assignedPlans -any (assignedPlan.service -eq "Exchange")"#,
                &[0],
            ),
            (
                r#"user.assignedPlans -any (assignedPlan.service -eq null)"#,
                &[1],
            ),
            (
                r#"user.assignedPlans -all (assignedPlan.capabilityStatus -eq "Enabled" -or assignedPlan.capabilityStatus -eq "Warning")"#,
                &[0, 2, 3],
            ),
        ];
        for (rule, expected) in cases {
            assert_eq!(selected(rule), *expected, "{rule}");
        }
    }

    #[test]
    fn whole_rule_forms() {
        assert_eq!(
            selected(&format!(
                "user.memberOf -any (group.objectId -in ['{}'])",
                GROUP_1.to_uppercase()
            )),
            [1, 3]
        );
        assert_eq!(
            selected("user.memberOf -any (group.objectId -in ['no-such-group'])"),
            Vec::<usize>::new()
        );
        assert_eq!(
            selected(&format!("Direct Reports for \"{MANAGER_1}\"")),
            [0, 2]
        );
        assert_eq!(
            selected(&format!("Direct Reports for \"{MANAGER_2}\"")),
            [1]
        );
    }

    #[test]
    fn logical_operators_and_precedence() {
        let cases: &[(&str, &[usize])] = &[
            (
                r#"(user.country -eq "US") -and -not (user.department -eq "Sales")"#,
                &[2],
            ),
            (
                r#"user.country -eq "us" -or user.country -eq "ca" -and user.accountEnabled -eq true"#,
                &[0, 2],
            ),
            (
                r#"(user.country -eq "us" -or user.country -eq "ca") -and user.accountEnabled -eq true"#,
                &[0],
            ),
            (r#"-not -not (user.country -eq "DE")"#, &[3]),
            (r#"not (user.country -in ["US", "CA"])"#, &[3]),
        ];
        for (rule, expected) in cases {
            assert_eq!(selected(rule), *expected, "{rule}");
        }
    }

    #[test]
    fn device_rules_do_not_compile() {
        let error = CompiledRule::compile(&parse(r#"device.deviceOSType -eq "Windows""#).unwrap())
            .unwrap_err();
        assert_eq!(error.code, Code::RuleDeviceRule);
        assert_eq!(error.range, 0..19);
    }

    #[test]
    fn now_offsets_use_calendar_arithmetic_and_saturate() {
        let now: Timestamp = "2024-01-31T00:00:00Z".parse().unwrap();
        let month = NowOffset {
            sign: OffsetSign::Plus,
            duration: IsoDuration::parse("P1M").unwrap(),
        };
        assert_eq!(shift(now, month).to_string(), "2024-02-29T00:00:00Z");
        let huge = NowOffset {
            sign: OffsetSign::Minus,
            duration: IsoDuration::parse("P3000000000D").unwrap(),
        };
        assert_eq!(shift(now, huge), Timestamp::MIN);
    }

    /// Every user's value of `rule` one user at a time: the reference for batch evaluation.
    fn one_by_one(
        compiled: &CompiledRule,
        table: &UserTable,
        context: &EvalContext<'_>,
    ) -> Vec<usize> {
        (0..table.len() as u32)
            .filter(|user| compiled.matches(table, context, *user))
            .map(|user| user as usize)
            .collect()
    }

    #[test]
    fn rules_with_a_common_leaf_share_its_result() {
        let table = users();
        let context = EvalContext::new(Timestamp::UNIX_EPOCH, &NoGroups);
        let cache = LeafCache::new(&table, &context);
        let rules = [
            r#"user.department -startsWith "sales" -and user.country -eq "US""#,
            r#"user.department -startsWith "SALES" -or user.accountEnabled -eq false"#,
            r#"-not (user.department -startsWith "sales")"#,
        ];
        for rule in rules {
            let compiled = CompiledRule::compile(&parse(rule).unwrap()).unwrap();
            assert_eq!(
                compiled.evaluate_cached(&cache),
                compiled.evaluate(&table, &context),
                "{rule}"
            );
        }
        // department (once: constants are lowercased), country, accountEnabled.
        assert_eq!(cache.leaves.lock().unwrap().len(), 3);
        let Tree::Leaf(leaf) =
            CompiledRule::compile(&parse(r#"user.department -startsWith "Sales""#).unwrap())
                .unwrap()
                .root
        else {
            panic!("a single comparison is a leaf");
        };
        assert!(Arc::ptr_eq(&cache.leaf(&leaf), &cache.leaf(&leaf)));
    }

    #[test]
    fn leaves_differ_by_pattern_negation_and_quantifier() {
        let leaf = |rule: &str| match CompiledRule::compile(&parse(rule).unwrap()).unwrap().root {
            Tree::Leaf(leaf) => leaf,
            _ => panic!("{rule} is not a leaf"),
        };
        let distinct = [
            r#"user.department -match "^a""#,
            r#"user.department -match "^b""#,
            r#"user.department -notMatch "^a""#,
            r#"user.otherMails -any (_ -contains "a")"#,
            r#"user.otherMails -all (_ -contains "a")"#,
            r#"user.otherMails -contains "a""#,
            "user.employeeHireDate -ge system.now -minus P30D",
            "user.employeeHireDate -ge system.now -minus P31D",
        ];
        for (index, a) in distinct.iter().enumerate() {
            for b in &distinct[index + 1..] {
                assert_ne!(leaf(a), leaf(b), "{a} / {b}");
            }
        }
        assert_eq!(
            leaf(r#"user.department -match "^a""#),
            leaf(r#"user.department -match "^a""#)
        );
    }

    #[test]
    fn threads_sharing_a_cache_get_the_results_of_separate_evaluations() {
        use rayon::prelude::*;

        let table = users();
        let mut groups = HashMap::new();
        let mut members = FixedBitSet::with_capacity(4);
        members.insert(2);
        groups.insert(GROUP_1.to_string(), members);
        let now: Timestamp = "2024-02-01T00:00:00Z".parse().unwrap();
        let context = EvalContext::new(now, &groups);
        let cache = LeafCache::new(&table, &context);
        let rules: Vec<String> = (0..64)
            .map(|index| match index % 4 {
                0 => format!("user.memberOf -any (group.objectId -in ['{GROUP_1}'])"),
                1 => "user.employeeHireDate -ge system.now -minus P30D".to_string(),
                2 => r#"user.otherMails -any (_ -contains "@") -and user.country -ne "US""#
                    .to_string(),
                _ => format!("Direct Reports for \"{MANAGER_1}\""),
            })
            .collect();
        let compiled: Vec<CompiledRule> = rules
            .iter()
            .map(|rule| CompiledRule::compile(&parse(rule).unwrap()).unwrap())
            .collect();
        let shared: Vec<FixedBitSet> = compiled
            .par_iter()
            .map(|rule| rule.evaluate_cached(&cache))
            .collect();
        for ((rule, compiled), shared) in rules.iter().zip(&compiled).zip(&shared) {
            assert_eq!(*shared, compiled.evaluate(&table, &context), "{rule}");
            assert_eq!(
                shared.ones().collect::<Vec<_>>(),
                one_by_one(compiled, &table, &context),
                "{rule}"
            );
        }
        assert_eq!(shared[0].ones().collect::<Vec<_>>(), [2]);
        assert_eq!(shared[1].ones().collect::<Vec<_>>(), [0]);
    }

    mod generated {
        //! Batch evaluation (shared or not, from postings or a scan) against single-user
        //! evaluation over generated tables and rules.

        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::select;

        use super::*;

        /// Small vocabularies, so that rules find rare values (postings), common ones (scans),
        /// values differing only in case and no value at all.
        const DEPARTMENTS: &[&str] = &[
            "Sales",
            "sales",
            "Sales Engineering",
            "Marketing",
            "IT",
            "it ops",
            "Finance",
            "Legal",
            "Ops",
            "Support",
            "Ale",
            "HR",
        ];
        const MAILS: &[&str] = &[
            "a@contoso.com",
            "B@Contoso.com",
            "c@gmail.com",
            "d@outlook.com",
            "sales@contoso.com",
            "x@sub1.contoso.com",
            "y@sub2.contoso.com",
            "aa@aa.aa",
        ];
        const NEEDLES: &[&str] = &[
            "sales", "SALES", "ale", "eng", "it", "@contoso", ".com", "gmail", "aa", "sub1.",
            "zzz", "s",
        ];

        #[derive(Debug, Clone)]
        struct User {
            department: Option<usize>,
            mails: Vec<usize>,
            enabled: Option<bool>,
            plan: Option<bool>,
        }

        fn user() -> impl Strategy<Value = User> {
            (
                proptest::option::weighted(0.9, 0..DEPARTMENTS.len()),
                vec(0..MAILS.len(), 0..3),
                proptest::option::of(any::<bool>()),
                proptest::option::weighted(0.2, any::<bool>()),
            )
                .prop_map(|(department, mails, enabled, plan)| User {
                    department,
                    mails,
                    enabled,
                    plan,
                })
        }

        fn table(users: &[User]) -> UserTable {
            let mut builder = UserTableBuilder::new();
            for user in users {
                let row = builder.push_user();
                if let Some(department) = user.department {
                    builder
                        .set_string(row, "department", DEPARTMENTS[department])
                        .unwrap();
                }
                let mails: Vec<&str> = user.mails.iter().map(|mail| MAILS[*mail]).collect();
                builder.set_strings(row, "otherMails", &mails).unwrap();
                if let Some(enabled) = user.enabled {
                    builder.set_bool(row, "accountEnabled", enabled).unwrap();
                }
                if let Some(enabled) = user.plan {
                    let status = if enabled { "Enabled" } else { "Deleted" };
                    builder
                        .set_assigned_plans(row, &[(E3_PLAN, status)])
                        .unwrap();
                }
            }
            builder.finish()
        }

        fn quoted(values: &[&str]) -> String {
            let quoted: Vec<String> = values.iter().map(|value| format!("\"{value}\"")).collect();
            quoted.join(",")
        }

        fn leaf() -> BoxedStrategy<String> {
            let value = prop_oneof![select(DEPARTMENTS), select(NEEDLES)];
            let string_op = select(
                &[
                    "-eq",
                    "-ne",
                    "-startsWith",
                    "-notStartsWith",
                    "-endsWith",
                    "-notEndsWith",
                    "-contains",
                    "-notContains",
                ][..],
            );
            let element_op = select(&["-eq", "-startsWith", "-endsWith", "-contains"][..]);
            prop_oneof![
                (string_op.clone(), value.clone())
                    .prop_map(|(op, value)| format!("user.department {op} \"{value}\"")),
                (select(&["-eq", "-ne"][..]), select(&["null", "\"\""][..]))
                    .prop_map(|(op, value)| format!("user.department {op} {value}")),
                (select(&["-in", "-notIn"][..]), vec(value.clone(), 1..4))
                    .prop_map(|(op, values)| format!("user.department {op} [{}]", quoted(&values))),
                (
                    select(&["-match", "-notMatch"][..]),
                    select(&["^sales$", "ing$", "^[a-m]", "o"][..])
                )
                    .prop_map(|(op, pattern)| format!("user.department {op} \"{pattern}\"")),
                (string_op, select(NEEDLES))
                    .prop_map(|(op, value)| format!("user.otherMails {op} \"{value}\"")),
                select(&["-eq", "-ne"][..]).prop_map(|op| format!("user.otherMails {op} null")),
                (
                    select(&["-any", "-all"][..]),
                    element_op.clone(),
                    select(NEEDLES),
                    proptest::option::of((element_op, select(NEEDLES))),
                )
                    .prop_map(|(quantifier, op, value, other)| match other {
                        None => format!("user.otherMails {quantifier} (_ {op} \"{value}\")"),
                        Some((other, second)) => format!(
                            "user.otherMails {quantifier} (_ {op} \"{value}\" -or -not (_ {other} \"{second}\"))"
                        ),
                    }),
                (select(&["-eq", "-ne"][..]), select(&["true", "false", "null"][..]))
                    .prop_map(|(op, value)| format!("user.accountEnabled {op} {value}")),
                (select(&["-any", "-all"][..]), select(&["Enabled", "Deleted"][..])).prop_map(
                    |(quantifier, status)| format!(
                        "user.assignedPlans {quantifier} (assignedPlan.capabilityStatus -eq \"{status}\")"
                    )
                ),
            ]
            .boxed()
        }

        fn rule() -> BoxedStrategy<String> {
            leaf()
                .prop_recursive(3, 12, 2, |inner| {
                    prop_oneof![
                        (inner.clone(), inner.clone())
                            .prop_map(|(a, b)| format!("({a}) -and ({b})")),
                        (inner.clone(), inner.clone())
                            .prop_map(|(a, b)| format!("({a}) -or ({b})")),
                        inner.prop_map(|a| format!("-not ({a})")),
                    ]
                })
                .boxed()
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

            #[test]
            fn shared_and_indexed_evaluation_agree_with_single_users(
                users in vec(user(), 0..300),
                rules in vec(rule(), 1..8),
            ) {
                let table = table(&users);
                let context = EvalContext::new(Timestamp::UNIX_EPOCH, &NoGroups);
                let compiled: Vec<CompiledRule> = rules
                    .iter()
                    .map(|rule| CompiledRule::compile(&parse(rule).unwrap()).unwrap())
                    .collect();
                let cache = LeafCache::new(&table, &context);
                for (rule, compiled) in rules.iter().zip(&compiled) {
                    let fresh = compiled.evaluate(&table, &context);
                    prop_assert_eq!(fresh.len(), users.len());
                    prop_assert_eq!(
                        fresh.ones().collect::<Vec<_>>(),
                        one_by_one(compiled, &table, &context),
                        "{}", rule
                    );
                    prop_assert_eq!(&compiled.evaluate_cached(&cache), &fresh, "{}", rule);
                }
                // Again, in reverse, with every leaf already in the cache.
                for (rule, compiled) in rules.iter().zip(&compiled).rev() {
                    prop_assert_eq!(
                        compiled.evaluate_cached(&cache),
                        compiled.evaluate(&table, &context),
                        "{}", rule
                    );
                }
            }
        }
    }
}
