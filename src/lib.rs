//! seatplan: group-based licensing for Microsoft Entra ID as code.
//!
//! Data flows forward only:
//!
//! 1. bytes → [`yaml`] span pass → spanned JSON value + pointer map ([`source`])
//! 2. → [`config`]: schema-validated, typed desired configuration, then validated against the
//!    [`catalog`] (products, service plans and their relations) into a
//!    [`config::valid::ValidConfig`] whose names are resolved and rules prepared
//! 3. → [`tenant`] state, indexed → [`engine`]: what Entra's licensing does, before and after
//! 4. → [`plan`]: desired state, changes, impact, checks → [`render`]ed views
//!
//! The core ([`config`], [`rules`], [`catalog`], [`tenant`], [`engine`], [`plan`]) takes data and
//! returns data: no file system, network, clock, environment, printing or process exit. The edges
//! ([`io`], [`backend`], [`graph`], [`render`], [`cli`]) talk to the world. Diagnostics ([`diag`]) are plain
//! values that the edge renders through miette.

#![warn(missing_docs)]

// core
pub mod catalog;
pub mod config;
pub mod country;
pub mod diag;
pub mod engine;
pub mod guid;
pub mod hash;
pub mod plan;
pub mod rules;
pub mod schema;
pub mod source;
pub mod tenant;
pub mod yaml;

// edges
pub mod backend;
pub mod cli;
pub mod graph;
pub mod io;
pub mod render;
