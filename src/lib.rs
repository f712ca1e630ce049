//! seatplan: group-based licensing for Microsoft Entra ID as code.
//!
//! Data flows forward only:
//!
//! 1. bytes → [`yaml`] span pass → spanned JSON value + pointer map ([`source`])
//! 2. → [`config`]: schema-validated, typed desired configuration
//! 3. → tenant state and catalog → licensing engine → outcome (before and after)
//! 4. → plan → rendered views
//!
//! The core (everything but [`io`], [`render`] and [`cli`]) takes data and returns data: no file
//! system, network, clock, environment, printing or process exit. Diagnostics ([`diag`]) are plain
//! values that the edge renders through miette.

pub mod cli;
pub mod config;
pub mod country;
pub mod diag;
pub mod io;
pub mod render;
pub mod rules;
pub mod schema;
pub mod source;
pub mod tenant;
pub mod yaml;
