//! Fuzzes the mapping of Graph's pages of users (`seatplan import graph`, `plan --graph`): no
//! input may panic, and the mapping from the page's text must equal the mapping of the parsed
//! page, tenant for tenant and problem for problem.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::graph_users(data));
