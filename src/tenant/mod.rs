//! The tenant: the state-file types ([`model`]) that every backend reads and writes, and the
//! mapping of Microsoft Graph responses into them ([`graph_import`]).

pub mod graph_import;
pub mod model;

pub use model::*;
