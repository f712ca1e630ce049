//! Fuzzes the plan-file reader (`seatplan show` and `seatplan apply PLANFILE`): no input may
//! panic, and every plan it accepts must render and save back to the same document.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::plan_file(data));
