//! The syntax tree of a membership rule. Every node carries the byte span of its text in the rule,
//! so errors found after parsing (and tools that highlight parts of a rule) can point into it.
//! Two rules mean the same when their trees are equal after [`Rule::strip_spans`]; the canonical
//! printer ([`crate::rules::print`]) writes exactly one text per such tree.

use std::fmt;
use std::ops::Range;

use jiff::Timestamp;

use super::property::{ObjectKind, PropertyName, PropertyType};

/// A byte range in the rule text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// The span as a `Range` for slicing and diagnostics.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// A parsed membership rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// What the rule says.
    pub kind: RuleKind,
    /// The rule's text without surrounding whitespace.
    pub span: Span,
}

/// The two shapes a whole rule can take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKind {
    /// `Direct Reports for "<manager object id>"`: the manager's direct reports. It can't be
    /// combined with anything else.
    DirectReports(DirectReports),
    /// A boolean expression over properties.
    Expr(Expr),
}

/// The `Direct Reports for "<id>"` form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectReports {
    /// The manager's object id, lowercase (object ids are GUIDs, compared without case).
    pub manager_id: String,
    /// Where the quoted id is written.
    pub id_span: Span,
}

/// An expression with its span (for parenthesised groups the span includes the parentheses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    /// The expression.
    pub kind: ExprKind,
    /// Where it is written.
    pub span: Span,
}

/// The expression forms. Parentheses leave no node of their own: the tree's shape records the
/// grouping, and the printer puts parentheses back where the shape needs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExprKind {
    /// `a -or b -or …` (at least two operands).
    Or(Vec<Expr>),
    /// `a -and b -and …` (at least two operands).
    And(Vec<Expr>),
    /// `-not a`.
    Not(Box<Expr>),
    /// `subject -op value`.
    Compare(Comparison),
    /// `user.collection -any (body)` / `-all (body)`.
    Collection(CollectionTest),
}

/// A comparison of a subject with a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    /// The left-hand side.
    pub subject: Subject,
    /// Where the left-hand side is written.
    pub subject_span: Span,
    /// The operator.
    pub op: Operator,
    /// Where the operator is written.
    pub op_span: Span,
    /// The right-hand side.
    pub value: Value,
    /// Where the right-hand side is written.
    pub value_span: Span,
}

/// The left-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `user.<property>` or `device.<property>`.
    Property(Property),
    /// `_`: the element inside `-any`/`-all` over a string collection.
    Element,
    /// `assignedPlan.<field>` inside `user.assignedPlans -any/-all`.
    PlanField(PlanField),
    /// `group.objectId` inside `memberOf -any`.
    GroupObjectId,
}

/// A property reference: object and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Property {
    /// `user` or `device`.
    pub object: ObjectKind,
    /// The property.
    pub name: PropertyName,
}

impl Property {
    /// The property's type.
    pub fn ty(&self) -> PropertyType {
        self.name.ty()
    }
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.object.prefix(), self.name)
    }
}

/// The string fields of an element of `user.assignedPlans` (Graph `assignedPlan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanField {
    /// `assignedPlan.servicePlanId`: the service plan's GUID.
    ServicePlanId,
    /// `assignedPlan.service`: the workload name (`exchange`, `SCO`, …).
    Service,
    /// `assignedPlan.capabilityStatus`: `Enabled`, `Warning`, `Suspended`, `LockedOut`, `Deleted`.
    CapabilityStatus,
}

impl PlanField {
    /// Every field, in a fixed order.
    pub const ALL: [PlanField; 3] = [
        PlanField::ServicePlanId,
        PlanField::Service,
        PlanField::CapabilityStatus,
    ];

    /// The documented spelling.
    pub fn name(self) -> &'static str {
        match self {
            PlanField::ServicePlanId => "servicePlanId",
            PlanField::Service => "service",
            PlanField::CapabilityStatus => "capabilityStatus",
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `-eq`
    Eq,
    /// `-ne`
    Ne,
    /// `-startsWith`
    StartsWith,
    /// `-notStartsWith`
    NotStartsWith,
    /// `-endsWith`
    EndsWith,
    /// `-notEndsWith`
    NotEndsWith,
    /// `-contains` (substring, not collection membership)
    Contains,
    /// `-notContains`
    NotContains,
    /// `-match` (regular expression search)
    Match,
    /// `-notMatch`
    NotMatch,
    /// `-in` (value is one of an array)
    In,
    /// `-notIn`
    NotIn,
    /// `-le` (dates only)
    Le,
    /// `-ge` (dates only)
    Ge,
}

impl Operator {
    /// Every operator.
    pub const ALL: [Operator; 14] = [
        Operator::Eq,
        Operator::Ne,
        Operator::StartsWith,
        Operator::NotStartsWith,
        Operator::EndsWith,
        Operator::NotEndsWith,
        Operator::Contains,
        Operator::NotContains,
        Operator::Match,
        Operator::NotMatch,
        Operator::In,
        Operator::NotIn,
        Operator::Le,
        Operator::Ge,
    ];

    /// The documented spelling without the hyphen (`startsWith`).
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::StartsWith => "startsWith",
            Operator::NotStartsWith => "notStartsWith",
            Operator::EndsWith => "endsWith",
            Operator::NotEndsWith => "notEndsWith",
            Operator::Contains => "contains",
            Operator::NotContains => "notContains",
            Operator::Match => "match",
            Operator::NotMatch => "notMatch",
            Operator::In => "in",
            Operator::NotIn => "notIn",
            Operator::Le => "le",
            Operator::Ge => "ge",
        }
    }

    /// Finds an operator by name, without hyphen, ignoring case.
    pub fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL
            .into_iter()
            .find(|op| op.name().eq_ignore_ascii_case(name))
    }

    /// For a negated operator (`-ne`, `-notStartsWith`, …) its positive form; `None` for positive
    /// operators. Negated operators are the negation of their positive form, also on null values.
    pub fn positive(self) -> Option<Operator> {
        match self {
            Operator::Ne => Some(Operator::Eq),
            Operator::NotStartsWith => Some(Operator::StartsWith),
            Operator::NotEndsWith => Some(Operator::EndsWith),
            Operator::NotContains => Some(Operator::Contains),
            Operator::NotMatch => Some(Operator::Match),
            Operator::NotIn => Some(Operator::In),
            _ => None,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{}", self.name())
    }
}

/// `-any` or `-all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// At least one element satisfies the body.
    Any,
    /// Every element satisfies the body (true for an empty collection).
    All,
}

impl Quantifier {
    /// The canonical spelling with hyphen.
    pub fn as_str(self) -> &'static str {
        match self {
            Quantifier::Any => "-any",
            Quantifier::All => "-all",
        }
    }
}

/// `user.collection -any (body)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionTest {
    /// The multi-valued property.
    pub property: Property,
    /// Where the property is written.
    pub property_span: Span,
    /// `-any` or `-all`.
    pub quantifier: Quantifier,
    /// Where the quantifier is written.
    pub quantifier_span: Span,
    /// The condition on each element.
    pub body: Box<Expr>,
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A quoted string, unescaped.
    String(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null` (or the historical `$null`).
    Null,
    /// An ISO 8601 timestamp (`2020-06-10T18:13:20Z`).
    DateTime(Timestamp),
    /// `system.now`, optionally `-plus`/`-minus` a duration.
    Now(Option<NowOffset>),
    /// `["a", "b"]` for `-in`/`-notIn`.
    Array(Vec<ArrayItem>),
}

/// One string of an array literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayItem {
    /// The unescaped string.
    pub value: String,
    /// Where it is written.
    pub span: Span,
}

/// `-plus P1D` / `-minus P30D` after `system.now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NowOffset {
    /// `-plus` (later) or `-minus` (earlier).
    pub sign: OffsetSign,
    /// The ISO 8601 duration.
    pub duration: IsoDuration,
}

/// The direction of a [`NowOffset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetSign {
    /// `-plus`
    Plus,
    /// `-minus`
    Minus,
}

/// An ISO 8601 duration with integer components (`P1Y2M3W4DT5H6M7S`). Components are kept as
/// written, so that calendar units (years, months, days) are applied in calendar arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct IsoDuration {
    /// Years.
    pub years: u32,
    /// Months.
    pub months: u32,
    /// Weeks.
    pub weeks: u32,
    /// Days.
    pub days: u32,
    /// Hours.
    pub hours: u32,
    /// Minutes.
    pub minutes: u32,
    /// Seconds.
    pub seconds: u32,
}

/// The largest value accepted for one duration component: a century in seconds, far above any
/// real rule's need and small enough that date arithmetic stays in range.
pub const MAX_DURATION_COMPONENT: u32 = 3_155_760_000;

impl IsoDuration {
    /// Parses an ISO 8601 duration (`P30D`, `pt12h`; case-insensitive, integer components, at
    /// least one component). `None` when the text is not such a duration.
    pub fn parse(text: &str) -> Option<IsoDuration> {
        let upper = text.to_ascii_uppercase();
        let rest = upper.strip_prefix('P')?;
        let mut duration = IsoDuration::default();
        let mut in_time = false;
        let mut digits = String::new();
        let mut components = 0;
        let mut last_rank = 0;
        for character in rest.chars() {
            match character {
                '0'..='9' => digits.push(character),
                'T' if digits.is_empty() && !in_time => {
                    in_time = true;
                    last_rank = 4;
                }
                unit => {
                    if digits.is_empty() || digits.len() > 10 {
                        return None;
                    }
                    let value: u64 = digits.parse().ok()?;
                    let value = u32::try_from(value)
                        .ok()
                        .filter(|value| *value <= MAX_DURATION_COMPONENT)?;
                    digits.clear();
                    let (rank, slot) = match (in_time, unit) {
                        (false, 'Y') => (1, &mut duration.years),
                        (false, 'M') => (2, &mut duration.months),
                        (false, 'W') => (3, &mut duration.weeks),
                        (false, 'D') => (4, &mut duration.days),
                        (true, 'H') => (5, &mut duration.hours),
                        (true, 'M') => (6, &mut duration.minutes),
                        (true, 'S') => (7, &mut duration.seconds),
                        _ => return None,
                    };
                    if rank <= last_rank {
                        return None;
                    }
                    last_rank = rank;
                    *slot = value;
                    components += 1;
                }
            }
        }
        (digits.is_empty() && components > 0 && !(in_time && last_rank == 4)).then_some(duration)
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P")?;
        let date = [
            (self.years, 'Y'),
            (self.months, 'M'),
            (self.weeks, 'W'),
            (self.days, 'D'),
        ];
        let time = [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')];
        let mut wrote = false;
        for (value, unit) in date {
            if value != 0 {
                write!(f, "{value}{unit}")?;
                wrote = true;
            }
        }
        if time.iter().any(|(value, _)| *value != 0) {
            f.write_str("T")?;
            for (value, unit) in time {
                if value != 0 {
                    write!(f, "{value}{unit}")?;
                }
            }
        } else if !wrote {
            f.write_str("0D")?;
        }
        Ok(())
    }
}

impl Rule {
    /// True when the rule selects devices (`device.<property>`). Such rules are valid in Entra
    /// but never make users members, so seatplan rejects them on licensed groups.
    pub fn is_device_rule(&self) -> bool {
        self.first_device_span().is_some()
    }

    /// Where the first `device.` property is written, if any.
    pub fn first_device_span(&self) -> Option<Span> {
        match &self.kind {
            RuleKind::DirectReports(_) => None,
            RuleKind::Expr(expr) => expr.first_property_span(ObjectKind::Device),
        }
    }

    /// The user properties the rule reads, in the order they first appear, each once
    /// (`memberOf` and the `assignedPlans`/string collections of `-any`/`-all` included). Empty for
    /// `Direct Reports for`, which reads the manager instead.
    pub fn properties(&self) -> Vec<PropertyName> {
        let mut found = Vec::new();
        if let RuleKind::Expr(expr) = &self.kind {
            expr.collect_properties(&mut found);
        }
        found
    }

    /// The same rule with every span set to zero, for comparing rules by meaning.
    pub fn strip_spans(&self) -> Rule {
        let kind = match &self.kind {
            RuleKind::DirectReports(reports) => RuleKind::DirectReports(DirectReports {
                manager_id: reports.manager_id.clone(),
                id_span: Span::default(),
            }),
            RuleKind::Expr(expr) => RuleKind::Expr(expr.strip_spans()),
        };
        Rule {
            kind,
            span: Span::default(),
        }
    }
}

impl Expr {
    fn collect_properties(&self, found: &mut Vec<PropertyName>) {
        fn push(found: &mut Vec<PropertyName>, name: &PropertyName) {
            if !found.contains(name) {
                found.push(name.clone());
            }
        }
        match &self.kind {
            ExprKind::Or(operands) | ExprKind::And(operands) => operands
                .iter()
                .for_each(|operand| operand.collect_properties(found)),
            ExprKind::Not(inner) => inner.collect_properties(found),
            ExprKind::Compare(comparison) => {
                if let Subject::Property(property) = &comparison.subject {
                    push(found, &property.name);
                }
            }
            ExprKind::Collection(test) => {
                push(found, &test.property.name);
                test.body.collect_properties(found);
            }
        }
    }

    /// The same expression with every span set to zero.
    pub fn strip_spans(&self) -> Expr {
        let kind = match &self.kind {
            ExprKind::Or(operands) => {
                ExprKind::Or(operands.iter().map(Expr::strip_spans).collect())
            }
            ExprKind::And(operands) => {
                ExprKind::And(operands.iter().map(Expr::strip_spans).collect())
            }
            ExprKind::Not(inner) => ExprKind::Not(Box::new(inner.strip_spans())),
            ExprKind::Compare(comparison) => ExprKind::Compare(Comparison {
                subject: comparison.subject.clone(),
                subject_span: Span::default(),
                op: comparison.op,
                op_span: Span::default(),
                value: match &comparison.value {
                    Value::Array(items) => Value::Array(
                        items
                            .iter()
                            .map(|item| ArrayItem {
                                value: item.value.clone(),
                                span: Span::default(),
                            })
                            .collect(),
                    ),
                    other => other.clone(),
                },
                value_span: Span::default(),
            }),
            ExprKind::Collection(test) => ExprKind::Collection(CollectionTest {
                property: test.property.clone(),
                property_span: Span::default(),
                quantifier: test.quantifier,
                quantifier_span: Span::default(),
                body: Box::new(test.body.strip_spans()),
            }),
        };
        Expr {
            kind,
            span: Span::default(),
        }
    }

    /// Where the first property of `object` is written in this expression.
    fn first_property_span(&self, object: ObjectKind) -> Option<Span> {
        match &self.kind {
            ExprKind::Or(operands) | ExprKind::And(operands) => operands
                .iter()
                .find_map(|operand| operand.first_property_span(object)),
            ExprKind::Not(inner) => inner.first_property_span(object),
            ExprKind::Compare(comparison) => match &comparison.subject {
                Subject::Property(property) if property.object == object => {
                    Some(comparison.subject_span)
                }
                _ => None,
            },
            ExprKind::Collection(test) => {
                (test.property.object == object).then_some(test.property_span)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        let cases = [
            ("p1d", "P1D"),
            ("P30D", "P30D"),
            ("PT12H", "PT12H"),
            ("P1Y2M3W4DT5H6M7S", "P1Y2M3W4DT5H6M7S"),
            ("P0D", "P0D"),
        ];
        for (text, canonical) in cases {
            let duration = IsoDuration::parse(text).unwrap();
            assert_eq!(duration.to_string(), canonical, "{text}");
            assert_eq!(IsoDuration::parse(canonical), Some(duration));
        }
        for bad in [
            "",
            "P",
            "PT",
            "P1",
            "P1H",
            "PD",
            "P1DT",
            "P2D1Y",
            "1D",
            "P99999999999D",
        ] {
            assert_eq!(IsoDuration::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn operators_by_name() {
        assert_eq!(
            Operator::from_name("STARTSWITH"),
            Some(Operator::StartsWith)
        );
        assert_eq!(Operator::from_name("notin"), Some(Operator::NotIn));
        assert_eq!(Operator::from_name("lt"), None);
        assert_eq!(Operator::NotMatch.positive(), Some(Operator::Match));
        assert_eq!(Operator::Le.positive(), None);
    }
}
