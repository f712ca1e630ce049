//! The README's diagnostic-code table lists exactly the codes seatplan has, with their severities
//! and descriptions, and its plan example is the quickstart's real plan, which its schema accepts.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // reads README.md

use seatplan::diag::Code;
use serde_json::Value;

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

/// The JSON example under "## Plans".
fn plan_example(readme: &str) -> Value {
    let section = &readme[readme.find("## Plans\n").expect("a Plans section")..];
    let start = section.find("```json\n").expect("a JSON example") + "```json\n".len();
    let end = start + section[start..].find("```").expect("the example's end");
    serde_json::from_str(&section[start..end]).expect("the example is JSON")
}

#[test]
fn readme_plan_example_is_the_quickstart_s_real_output() {
    let readme = std::fs::read_to_string("README.md").expect("README.md is readable");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_seatplan"))
        .args([
            "plan",
            "-c",
            "examples/quickstart/seatplan.yaml",
            "--state",
            "examples/quickstart/tenant.yaml",
            "--format",
            "json",
        ])
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("seatplan runs");
    assert!(output.status.success());
    let real: Value = serde_json::from_slice(&output.stdout).expect("plan prints JSON");
    if let Err(problem) = elides(&plan_example(&readme), &real, "plan") {
        panic!("README.md's plan example differs from the quickstart's plan: {problem}");
    }
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string("schemas/plan.schema.json").expect("the plan schema"),
    )
    .expect("the plan schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the plan schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&real)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "the plan breaks its schema: {errors:#?}");
}

/// Whether `shown` (a JSON example of the README) is `real` with elisions: `"…"` stands for any
/// value, a string ending in `…` for any string with that start, an array ending in `"…"` for
/// the rest of the array, and a `"…": "…"` entry for the rest of a map. Other objects must have
/// exactly the keys of the real ones, so an example can neither invent a field nor leave one out.
fn elides(shown: &Value, real: &Value, path: &str) -> Result<(), String> {
    match (shown, real) {
        (Value::String(text), _) if text == "…" => Ok(()),
        (Value::String(text), Value::String(actual)) if text.ends_with('…') => {
            let start = text.trim_end_matches('…');
            if actual.starts_with(start) {
                Ok(())
            } else {
                Err(format!("{path}: {actual:?} does not start with {start:?}"))
            }
        }
        (Value::Object(shown), Value::Object(real)) => {
            let keys = |object: &serde_json::Map<String, Value>| {
                let mut keys: Vec<String> = object.keys().cloned().collect();
                keys.sort();
                keys
            };
            let open = shown.contains_key("…");
            let listed: Vec<String> = keys(shown).into_iter().filter(|key| key != "…").collect();
            let fits = if open {
                listed.iter().all(|key| real.contains_key(key))
            } else {
                listed == keys(real)
            };
            if !fits {
                return Err(format!(
                    "{path}: the example has the fields {listed:?}, the output {:?}",
                    keys(real)
                ));
            }
            for (key, value) in shown.iter().filter(|(key, _)| *key != "…") {
                elides(value, &real[key], &format!("{path}.{key}"))?;
            }
            Ok(())
        }
        (Value::Array(shown), Value::Array(real)) => {
            let open = shown.last().is_some_and(|last| last == "…");
            let listed = if open {
                &shown[..shown.len() - 1]
            } else {
                &shown[..]
            };
            if listed.len() > real.len() || (!open && listed.len() != real.len()) {
                return Err(format!(
                    "{path}: the example lists {} items, the output has {}",
                    listed.len(),
                    real.len()
                ));
            }
            for (index, (shown, real)) in listed.iter().zip(real).enumerate() {
                elides(shown, real, &format!("{path}[{index}]"))?;
            }
            Ok(())
        }
        _ if shown == real => Ok(()),
        _ => Err(format!(
            "{path}: the example shows {shown}, the output is {real}"
        )),
    }
}
