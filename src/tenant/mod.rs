//! The tenant: the state-file types ([`model`]) that every backend reads and writes.

pub mod model;

pub use model::*;
