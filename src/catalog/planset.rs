//! [`PlanSet`]: a compact set of service plans. The engine keeps several per user (for up to a
//! million users), so it is a sorted, shared slice of 2-byte ids: 16 bytes, plus 2 per plan for
//! each distinct set. Cloning shares the slice: an assignment's plans are its license's, and a user
//! whose plans all come from one assignment shares that set too.

use std::sync::Arc;

use super::PlanId;

/// A set of service plans, kept sorted and free of duplicates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanSet {
    plans: Arc<[PlanId]>,
}

impl Default for PlanSet {
    fn default() -> Self {
        PlanSet {
            plans: Arc::from([]),
        }
    }
}

impl PlanSet {
    /// The empty set.
    pub fn new() -> Self {
        PlanSet::default()
    }

    /// Builds a set from already sorted, duplicate-free ids.
    fn from_sorted(plans: Vec<PlanId>) -> Self {
        PlanSet {
            plans: Arc::from(plans),
        }
    }

    /// Number of plans in the set.
    pub fn len(&self) -> usize {
        self.plans.len()
    }

    /// True when the set holds no plan.
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }

    /// True when `plan` is in the set.
    pub fn contains(&self, plan: PlanId) -> bool {
        self.plans.binary_search(&plan).is_ok()
    }

    /// The plans in ascending id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = PlanId> + '_ {
        self.plans.iter().copied()
    }

    /// The plans as a sorted slice.
    pub fn as_slice(&self) -> &[PlanId] {
        &self.plans
    }

    /// Adds `plan`; returns false when it was already present.
    pub fn insert(&mut self, plan: PlanId) -> bool {
        match self.plans.binary_search(&plan) {
            Ok(_) => false,
            Err(at) => {
                let mut plans = self.plans.to_vec();
                plans.insert(at, plan);
                self.plans = Arc::from(plans);
                true
            }
        }
    }

    /// Plans in `self` or in `other`.
    pub fn union(&self, other: &PlanSet) -> PlanSet {
        let (mut left, mut right) = (self.plans.iter().peekable(), other.plans.iter().peekable());
        let mut out = Vec::with_capacity(self.len() + other.len());
        loop {
            match (left.peek(), right.peek()) {
                (Some(&&a), Some(&&b)) => {
                    out.push(a.min(b));
                    if a <= b {
                        left.next();
                    }
                    if b <= a {
                        right.next();
                    }
                }
                (Some(&&a), None) => {
                    out.push(a);
                    left.next();
                }
                (None, Some(&&b)) => {
                    out.push(b);
                    right.next();
                }
                (None, None) => break,
            }
        }
        PlanSet::from_sorted(out)
    }

    /// Adds every plan of `other` to `self` (sharing `other`'s plans when `self` has no plan
    /// `other` lacks).
    pub fn union_with(&mut self, other: &PlanSet) {
        if other.is_subset(self) {
            return;
        }
        *self = if self.is_subset(other) {
            other.clone()
        } else {
            self.union(other)
        };
    }

    /// Plans in `self` that are not in `other`.
    pub fn difference(&self, other: &PlanSet) -> PlanSet {
        PlanSet::from_sorted(self.iter().filter(|&plan| !other.contains(plan)).collect())
    }

    /// Plans in both `self` and `other`.
    pub fn intersection(&self, other: &PlanSet) -> PlanSet {
        PlanSet::from_sorted(self.iter().filter(|&plan| other.contains(plan)).collect())
    }

    /// True when every plan of `self` is in `other`.
    pub fn is_subset(&self, other: &PlanSet) -> bool {
        self.iter().all(|plan| other.contains(plan))
    }

    /// True when any plan of `plans` is in the set.
    pub fn contains_any(&self, plans: &[PlanId]) -> bool {
        plans.iter().any(|&plan| self.contains(plan))
    }
}

impl FromIterator<PlanId> for PlanSet {
    fn from_iter<I: IntoIterator<Item = PlanId>>(iter: I) -> Self {
        let mut plans: Vec<PlanId> = iter.into_iter().collect();
        plans.sort_unstable();
        plans.dedup();
        PlanSet::from_sorted(plans)
    }
}

impl<'a> IntoIterator for &'a PlanSet {
    type Item = PlanId;
    type IntoIter = std::iter::Copied<std::slice::Iter<'a, PlanId>>;
    fn into_iter(self) -> Self::IntoIter {
        self.plans.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[u16]) -> PlanSet {
        ids.iter().map(|&id| PlanId(id)).collect()
    }

    #[test]
    fn building_sorts_and_deduplicates() {
        let plans = set(&[5, 1, 5, 3]);
        assert_eq!(plans.as_slice(), &[PlanId(1), PlanId(3), PlanId(5)]);
        assert!(plans.contains(PlanId(3)));
        assert!(!plans.contains(PlanId(2)));
    }

    #[test]
    fn set_operations() {
        let a = set(&[1, 2, 3, 7]);
        let b = set(&[2, 4, 7, 9]);
        assert_eq!(a.union(&b), set(&[1, 2, 3, 4, 7, 9]));
        assert_eq!(a.difference(&b), set(&[1, 3]));
        assert_eq!(a.intersection(&b), set(&[2, 7]));
        assert!(set(&[2, 7]).is_subset(&a));
        assert!(!b.is_subset(&a));
        assert_eq!(PlanSet::new().union(&a), a);
        assert!(a.contains_any(&[PlanId(9), PlanId(7)]));
    }

    #[test]
    fn insert_keeps_order() {
        let mut plans = set(&[1, 9]);
        assert!(plans.insert(PlanId(4)));
        assert!(!plans.insert(PlanId(4)));
        assert_eq!(plans, set(&[1, 4, 9]));
    }

    #[test]
    fn is_small() {
        assert_eq!(std::mem::size_of::<PlanSet>(), 16);
    }
}
