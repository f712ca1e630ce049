//! The README's diagnostic-code table lists exactly the codes seatplan has, with their severities
//! and descriptions.

#![allow(clippy::disallowed_methods)] // reads README.md

use seatplan::diag::Code;

#[test]
fn readme_lists_every_code() {
    let readme = std::fs::read_to_string("README.md").expect("README.md is readable");
    let start = readme
        .find("<!-- codes:start -->")
        .expect("codes:start marker");
    let end = readme.find("<!-- codes:end -->").expect("codes:end marker");
    let mut expected = String::from("\n| code | severity | when |\n|---|---|---|\n");
    for code in Code::ALL {
        expected.push_str(&format!(
            "| `{}` | {} | {} |\n",
            code.as_str(),
            code.default_severity().as_str(),
            code.description()
        ));
    }
    let current = &readme[start + "<!-- codes:start -->".len()..end];
    if current != expected && std::env::var_os("SEATPLAN_UPDATE_README").is_some() {
        let updated = format!(
            "{}{expected}{}",
            &readme[..start + "<!-- codes:start -->".len()],
            &readme[end..]
        );
        std::fs::write("README.md", updated).expect("README.md is writable");
        return;
    }
    assert_eq!(
        current, expected,
        "README.md's code table is out of date; run `SEATPLAN_UPDATE_README=1 cargo test --test readme`"
    );
}
