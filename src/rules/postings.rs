//! From a truth table over a column's values to the users it selects.
//!
//! A truth table has one bit per *bucket*: bucket `c` is dictionary code `c`, and one more bucket
//! past the dictionary stands for a code the dictionary does not have — null ([`NULL_CODE`]) in a
//! string column; in a collection it is never true. [`bucket`] maps a stored code to its bucket.
//!
//! Two ways lead from a truth table to users, and they give the same bits: scanning every user's
//! codes, or visiting only the users of the true buckets (or of the false ones, then taking the
//! complement) in the column's [`Postings`], its users grouped by bucket. The postings are built
//! once per column, on first use, by a counting sort; a result comes from them when the buckets
//! visited hold at most a [`SPARSE`]th of the users (`user.department -eq "Sales"`,
//! `user.country -ne "US"`), else from a scan.
//!
//! [`NULL_CODE`]: super::table::NULL_CODE

use std::sync::OnceLock;

use fixedbitset::{Block, FixedBitSet};

use super::ast::Quantifier;

/// A result comes from postings when the buckets to visit hold at most `users / SPARSE` entries.
const SPARSE: usize = 8;

/// The bucket of `code` in a column whose dictionary has `values` codes: the code itself, or
/// `values` for null and any code past the dictionary.
pub(crate) fn bucket(code: u32, values: usize) -> usize {
    usize::try_from(code).map_or(values, |code| code.min(values))
}

/// A column's users grouped by bucket: bucket `b`'s users, in increasing order, are
/// `users[starts[b]..starts[b + 1]]`. A user appears once per element in that bucket.
#[derive(Debug, Clone)]
pub(crate) struct Postings {
    starts: Vec<usize>,
    users: Vec<u32>,
}

impl Postings {
    /// Groups `entries()`, (user, bucket) pairs in increasing user order, into `buckets` buckets
    /// by a counting sort.
    fn build<I>(buckets: usize, entries: impl Fn() -> I) -> Postings
    where
        I: Iterator<Item = (u32, usize)>,
    {
        let mut starts = vec![0; buckets + 1];
        for (_, bucket) in entries() {
            starts[bucket + 1] += 1;
        }
        for bucket in 0..buckets {
            starts[bucket + 1] += starts[bucket];
        }
        let mut next = starts.clone();
        let mut users = vec![0; starts[buckets]];
        for (user, bucket) in entries() {
            users[next[bucket]] = user;
            next[bucket] += 1;
        }
        Postings { starts, users }
    }

    /// The postings of a string column: one bucket per user.
    fn of_single(codes: &[u32], values: usize) -> Postings {
        Postings::build(values + 1, || {
            (0..)
                .zip(codes)
                .map(move |(user, code)| (user, bucket(*code, values)))
        })
    }

    /// The postings of a collection column: one bucket per element.
    fn of_collection(offsets: &[usize], codes: &[u32], values: usize) -> Postings {
        Postings::build(values + 1, || {
            (0..)
                .zip(offsets.windows(2))
                .flat_map(move |(user, range)| {
                    codes
                        .get(range[0]..range[1])
                        .unwrap_or_default()
                        .iter()
                        .map(move |code| (user, bucket(*code, values)))
                })
        })
    }

    /// The entries of `bucket`.
    fn count(&self, bucket: usize) -> usize {
        match (self.starts.get(bucket), self.starts.get(bucket + 1)) {
            (Some(start), Some(end)) => end - start,
            _ => 0,
        }
    }

    /// The entries of the buckets set in `truth`, counted over the true or the false buckets,
    /// whichever are fewer.
    fn selected(&self, truth: &FixedBitSet) -> usize {
        if truth.count_ones(..) <= truth.len() / 2 {
            truth.ones().map(|bucket| self.count(bucket)).sum()
        } else {
            let unselected: usize = truth.zeroes().map(|bucket| self.count(bucket)).sum();
            self.users.len() - unselected
        }
    }

    /// The users of the given buckets, as a set over `users` users.
    fn union(&self, buckets: impl Iterator<Item = usize>, users: usize) -> FixedBitSet {
        let mut result = FixedBitSet::with_capacity(users);
        for bucket in buckets {
            if let (Some(&start), Some(&end)) =
                (self.starts.get(bucket), self.starts.get(bucket + 1))
            {
                for user in &self.users[start..end] {
                    result.insert(*user as usize);
                }
            }
        }
        result
    }
}

/// The users of a string column (`codes`, one per user) whose bucket is true in `truth`.
/// `postings` is the column's index, built here on first use.
pub(crate) fn select_single(
    codes: &[u32],
    postings: &OnceLock<Postings>,
    truth: &FixedBitSet,
    users: usize,
) -> FixedBitSet {
    let codes = &codes[..codes.len().min(users)];
    let values = truth.len().saturating_sub(1);
    let postings = postings.get_or_init(|| Postings::of_single(codes, values));
    let selected = postings.selected(truth);
    if selected <= users / SPARSE {
        return postings.union(truth.ones(), users);
    }
    // Every user is in exactly one bucket, so the false buckets hold the complement.
    if codes.len() == users && users - selected <= users / SPARSE {
        let mut result = postings.union(truth.zeroes(), users);
        result.toggle_range(..);
        return result;
    }
    scan_single(codes, truth, users)
}

/// [`select_single`] by a scan of every user's code.
pub(crate) fn scan_single(codes: &[u32], truth: &FixedBitSet, users: usize) -> FixedBitSet {
    let values = truth.len().saturating_sub(1);
    let mut result = FixedBitSet::with_capacity(users);
    let chunks = codes[..codes.len().min(users)].chunks(Block::BITS as usize);
    for (block, chunk) in result.as_mut_slice().iter_mut().zip(chunks) {
        *block = chunk.iter().enumerate().fold(0, |word, (bit, code)| {
            word | Block::from(truth.contains(bucket(*code, values))) << bit
        });
    }
    result
}

/// The users of a collection column whose elements' buckets are, for any (`Any`) or every
/// (`All`) element, true in `truth`: user `u`'s element codes are `codes[offsets[u]..offsets[u +
/// 1]]`. `postings` is the column's index, built here on first use.
pub(crate) fn select_collection(
    offsets: &[usize],
    codes: &[u32],
    postings: &OnceLock<Postings>,
    truth: &FixedBitSet,
    quantifier: Quantifier,
    users: usize,
) -> FixedBitSet {
    let offsets = &offsets[..offsets.len().min(users + 1)];
    let values = truth.len().saturating_sub(1);
    let postings = postings.get_or_init(|| Postings::of_collection(offsets, codes, values));
    match quantifier {
        Quantifier::Any => {
            if postings.selected(truth) <= users / SPARSE {
                return postings.union(truth.ones(), users);
            }
        }
        // Every element true: no element in a false bucket.
        Quantifier::All => {
            let failing = postings.users.len() - postings.selected(truth);
            if offsets.len() == users + 1 && failing <= users / SPARSE {
                let mut result = postings.union(truth.zeroes(), users);
                result.toggle_range(..);
                return result;
            }
        }
    }
    scan_collection(offsets, codes, truth, quantifier, users)
}

/// [`select_collection`] by a scan of every user's elements.
pub(crate) fn scan_collection(
    offsets: &[usize],
    codes: &[u32],
    truth: &FixedBitSet,
    quantifier: Quantifier,
    users: usize,
) -> FixedBitSet {
    let values = truth.len().saturating_sub(1);
    let mut result = FixedBitSet::with_capacity(users);
    for user in 0..users {
        let (Some(&start), Some(&end)) = (offsets.get(user), offsets.get(user + 1)) else {
            continue;
        };
        let mut elements = codes[start..end]
            .iter()
            .map(|code| truth.contains(bucket(*code, values)));
        let hit = match quantifier {
            Quantifier::Any => elements.any(|hit| hit),
            Quantifier::All => elements.all(|hit| hit),
        };
        if hit {
            result.insert(user);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::super::table::NULL_CODE;
    use super::*;

    /// Truth tables that are sparse, dense or anything in between, so that every way to a
    /// result is taken.
    fn truth(buckets: usize) -> impl Strategy<Value = FixedBitSet> {
        prop_oneof![
            vec(proptest::bool::weighted(0.05), buckets),
            vec(proptest::bool::weighted(0.95), buckets),
            vec(any::<bool>(), buckets),
        ]
        .prop_map(|bits| {
            let mut truth = FixedBitSet::with_capacity(bits.len());
            for (bucket, bit) in bits.into_iter().enumerate() {
                truth.set(bucket, bit);
            }
            truth
        })
    }

    /// A code of a dictionary with `values` codes, null now and then.
    fn code(values: usize) -> impl Strategy<Value = u32> {
        prop_oneof![8 => 0..values as u32, 1 => Just(NULL_CODE)]
    }

    fn single() -> impl Strategy<Value = (usize, Vec<u32>, FixedBitSet)> {
        (1usize..12)
            .prop_flat_map(|values| (Just(values), vec(code(values), 0..300), truth(values + 1)))
    }

    fn collection() -> impl Strategy<Value = (usize, Vec<Vec<u32>>, FixedBitSet)> {
        (1usize..40).prop_flat_map(|values| {
            (
                Just(values),
                vec(vec(0..values as u32, 0..4), 0..300),
                truth(values + 1),
            )
        })
    }

    fn layout(elements: &[Vec<u32>]) -> (Vec<usize>, Vec<u32>) {
        let mut offsets = vec![0];
        let mut codes = Vec::new();
        for user in elements {
            codes.extend(user);
            offsets.push(codes.len());
        }
        (offsets, codes)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn single_values_select_the_same_users_by_postings_and_by_scan(
            (values, codes, truth) in single()
        ) {
            let users = codes.len();
            let expected: Vec<usize> = (0..users)
                .filter(|user| match codes[*user] {
                    NULL_CODE => truth.contains(values),
                    code => truth.contains(code as usize),
                })
                .collect();
            let scanned = scan_single(&codes, &truth, users);
            prop_assert_eq!(scanned.len(), users);
            prop_assert_eq!(scanned.ones().collect::<Vec<_>>(), expected);

            let postings = Postings::of_single(&codes, values);
            prop_assert_eq!(&postings.union(truth.ones(), users), &scanned);
            let mut complement = postings.union(truth.zeroes(), users);
            complement.toggle_range(..);
            prop_assert_eq!(&complement, &scanned);
            prop_assert_eq!(&select_single(&codes, &OnceLock::new(), &truth, users), &scanned);
        }

        #[test]
        fn collections_select_the_same_users_by_postings_and_by_scan(
            (values, elements, truth) in collection()
        ) {
            let users = elements.len();
            let (offsets, codes) = layout(&elements);
            let postings = Postings::of_collection(&offsets, &codes, values);
            for quantifier in [Quantifier::Any, Quantifier::All] {
                let expected: Vec<usize> = (0..users)
                    .filter(|user| {
                        let mut hits = elements[*user].iter().map(|code| truth.contains(*code as usize));
                        match quantifier {
                            Quantifier::Any => hits.any(|hit| hit),
                            Quantifier::All => hits.all(|hit| hit),
                        }
                    })
                    .collect();
                let scanned = scan_collection(&offsets, &codes, &truth, quantifier, users);
                prop_assert_eq!(scanned.len(), users);
                prop_assert_eq!(scanned.ones().collect::<Vec<_>>(), expected);
                let selected =
                    select_collection(&offsets, &codes, &OnceLock::new(), &truth, quantifier, users);
                prop_assert_eq!(&selected, &scanned);
            }
            let any = scan_collection(&offsets, &codes, &truth, Quantifier::Any, users);
            prop_assert_eq!(&postings.union(truth.ones(), users), &any);
            let all = scan_collection(&offsets, &codes, &truth, Quantifier::All, users);
            let mut complement = postings.union(truth.zeroes(), users);
            complement.toggle_range(..);
            prop_assert_eq!(&complement, &all);
        }
    }

    #[test]
    fn postings_group_users_by_bucket_in_order() {
        let codes = [2, NULL_CODE, 0, 2, 7];
        let postings = Postings::of_single(&codes, 3);
        let grouped: Vec<Vec<u32>> = (0..4)
            .map(|bucket| {
                postings
                    .union([bucket].into_iter(), 5)
                    .ones()
                    .map(|u| u as u32)
                    .collect()
            })
            .collect();
        // A code past the dictionary falls into the last bucket, with null.
        assert_eq!(grouped, [vec![2], vec![], vec![0, 3], vec![1, 4]]);
        assert_eq!(postings.count(2), 2);
        assert_eq!(postings.count(9), 0);
    }

    #[test]
    fn a_shared_index_is_built_once_and_serves_later_selections() {
        let codes: Vec<u32> = (0..64).map(|user| user % 16).collect();
        let index = OnceLock::new();
        let mut rare = FixedBitSet::with_capacity(17);
        rare.insert(3);
        let selected = select_single(&codes, &index, &rare, 64);
        assert_eq!(selected.ones().collect::<Vec<_>>(), [3, 19, 35, 51]);
        assert!(index.get().is_some());
        let mut common = rare.clone();
        common.toggle_range(..);
        let selected = select_single(&codes, &index, &common, 64);
        assert_eq!(selected.count_ones(..), 60);
    }
}
