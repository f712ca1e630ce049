//! Fuzzes the tenant-state loader (YAML and JSON) and the tenant index: no input may panic, and
//! every accepted state must save and load back unchanged.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::tenant_loader(data));
