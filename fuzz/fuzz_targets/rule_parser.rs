//! Fuzzes the membership-rule parser: no input may panic or overflow the stack, and every rule
//! it accepts must print to a canonical form that parses back to the same tree.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::rule_parser(data));
