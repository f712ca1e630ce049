//! The hash maps and sets of the load path and the engine.
//!
//! Their keys come from files an administrator does not fully control (UPNs, object ids, group
//! names, attribute values, proxy addresses), so a hasher with a fixed seed would let a crafted
//! tenant collide on purpose and turn building a map quadratic. These aliases use foldhash with a
//! seed chosen at random per process: as fast as FxHash on short strings, not predictable from
//! outside. Nothing that reaches output iterates them (plans stay ordered through BTreeMap and
//! IndexMap), so the random seed never changes what seatplan prints.

/// The hasher of every [`Map`] and [`Set`]: foldhash, seeded at random once per process.
pub type RandomState = foldhash::fast::RandomState;

/// A hash map keyed by tenant or config data, with a randomly seeded fast hasher.
pub type Map<K, V> = std::collections::HashMap<K, V, RandomState>;

/// A hash set of tenant or config data, with a randomly seeded fast hasher.
pub type Set<T> = std::collections::HashSet<T, RandomState>;
