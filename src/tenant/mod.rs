//! The tenant: the state-file types ([`model`]) that every backend reads and writes, reading
//! them from text ([`parse`]), the mapping of Microsoft Graph responses into them
//! ([`graph_import`]), the indexed in-memory form the engine works on ([`index`]) and effective
//! group memberships with dynamic rules evaluated ([`membership`]).

pub mod graph_import;
pub mod index;
pub mod membership;
pub mod model;
pub mod parse;

pub use model::*;
