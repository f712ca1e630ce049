//! Evaluating a compiled rule for every user of a table at once: string predicates once per
//! distinct value, bit sets combined word by word, leaves shared between rules through
//! [`LeafCache`].

use super::*;

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
    pub(super) leaves: Mutex<Map<Leaf, Arc<OnceLock<Arc<FixedBitSet>>>>>,
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
    pub(super) fn leaf(&self, leaf: &Leaf) -> Arc<FixedBitSet> {
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
/// The users the tree rooted at `root` selects, evaluated against the cache's table.
pub(super) fn evaluate_root(root: &Node, cache: &LeafCache<'_>) -> FixedBitSet {
    evaluate_node(root, cache).into_owned()
}

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
pub(super) fn combine(children: &[Node], cache: &LeafCache<'_>, and: bool) -> FixedBitSet {
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

pub(super) fn all_or_none(users: usize, all: bool) -> FixedBitSet {
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

pub(super) fn plan_holds(
    body: &Tree<(usize, StrTest)>,
    triple: &[u32; 3],
    fields: &[Dictionary; 3],
) -> bool {
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

pub(super) fn string_at<'t>(
    codes: &[u32],
    dictionary: &'t Dictionary,
    user: usize,
) -> Option<(&'t str, &'t str)> {
    let code = *codes.get(user)?;
    let code = (code != NULL_CODE).then_some(code as usize)?;
    dictionary.get(code)
}
