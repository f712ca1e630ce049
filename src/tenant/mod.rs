//! The tenant: the state-file types ([`model`]) that every backend reads and writes, reading
//! them from text ([`parse`]), and the indexed in-memory form the engine works on ([`index`]).

pub mod index;
pub mod model;
pub mod parse;

pub use model::*;
