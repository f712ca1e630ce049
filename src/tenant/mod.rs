//! The tenant: the state-file types ([`model`]) that every backend reads and writes, reading
//! them from text ([`parse`]), the mapping of Microsoft Graph responses into them
//! ([`graph_import`]), and the indexed in-memory form the engine works on ([`index`]).

pub mod graph_import;
pub mod index;
pub mod model;
pub mod parse;

pub use model::*;
