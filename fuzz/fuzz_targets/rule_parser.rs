//! Fuzzes the membership-rule parser: no input may panic or overflow the stack, and every rule
//! it accepts must print to a canonical form that parses back to the same tree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use seatplan::rules::{parse_with, print, RuleLimits};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = RuleLimits {
        max_chars: None,
        ..RuleLimits::default()
    };
    if let Ok(rule) = parse_with(text, limits) {
        let canonical = print(&rule);
        let reparsed = parse_with(&canonical, limits);
        assert_eq!(
            reparsed.map(|rule| rule.strip_spans()),
            Ok(rule.strip_spans()),
            "canonical form {canonical:?} of {text:?}"
        );
    }
});
