//! Fuzzes the config loader (YAML span pass, schema, semantic checks, merge, rule and catalog
//! checks, diagnostic rendering): no input may panic.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::config_loader(data));
