//! The Markdown view of a [`PlanDocument`] for a pull-request comment: rejected checks first,
//! counts, a collapsible list of affected users; and the comment for a plan that could not be made.

use std::fmt::Write as _;

use crate::plan::document::{Op, PlanDocument, ProductChangeKind, UserImpact};

use super::plan::{listed, new_and_fixed_errors, op_lines, product_line, Palette};

/// How many affected users the Markdown view lists before "… and N more".
const MARKDOWN_USERS: usize = 100;

/// The plan as a Markdown comment for a pull request: the verdict, the checks that reject it
/// with the people they affect, the changes (rule edits as `diff` blocks), the steps, seats with
/// what stays free, every other affected user in a collapsed list, then warnings and notes.
pub fn markdown(document: &PlanDocument) -> String {
    let mut out = String::new();
    let summary = &document.summary;
    let verdict = if summary.rejected {
        "❌ rejected"
    } else if document.changes.is_empty() {
        "✅ no changes"
    } else {
        "✅ ready to apply"
    };
    let _ = writeln!(out, "### seatplan plan: {verdict}\n");
    let _ = writeln!(
        out,
        "**Plan:** {} to add, {} to change, {} to destroy.\n",
        summary.add, summary.change, summary.destroy
    );
    let errors: Vec<&serde_json::Value> = document
        .diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    let others: Vec<&serde_json::Value> = document
        .diagnostics
        .iter()
        .filter(|d| d["severity"] != "error")
        .collect();
    let impact = &document.impact;
    let hurt = |user: &&UserImpact| {
        user.products
            .iter()
            .any(|product| !product.plans_lost.is_empty())
            || !new_and_fixed_errors(user).0.is_empty()
    };
    let (hurt_users, other_users): (Vec<&UserImpact>, Vec<&UserImpact>) =
        impact.users.iter().partition(hurt);
    if !errors.is_empty() {
        out.push_str("#### Rejected by\n\n");
        for diagnostic in &errors {
            out.push_str(&markdown_diagnostic(diagnostic, "❌"));
        }
        out.push('\n');
        if !hurt_users.is_empty() {
            let _ = writeln!(
                out,
                "People who would lose licenses or get errors ({}):\n",
                hurt_users.len()
            );
            out.push_str(&markdown_users(&hurt_users));
            out.push('\n');
        }
    }
    if !document.changes.is_empty() {
        out.push_str("#### Changes\n\n| | address | what |\n|---|---|---|\n");
        let mut rule_edits = Vec::new();
        for change in &document.changes {
            let mut what = Vec::new();
            for op in &change.ops {
                if let Op::SetRule { before, after } = op {
                    rule_edits.push((&change.address, before, after));
                    what.push("~ rule (see the diff below)".to_string());
                    continue;
                }
                what.extend(
                    op_lines(op, Palette::new(false))
                        .iter()
                        .map(|line| line.trim().replace('|', "\\|")),
                );
            }
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} |",
                change.action.symbol(),
                change.address,
                what.join("<br>")
            );
        }
        out.push('\n');
        for (address, before, after) in rule_edits {
            let _ = writeln!(out, "Rule of `{address}`:\n\n```diff");
            if let Some(before) = before {
                let _ = writeln!(out, "- {before}");
            }
            if let Some(after) = after {
                let _ = writeln!(out, "+ {after}");
            }
            out.push_str("```\n\n");
        }
    }
    if !document.steps.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Steps, in the order they are applied ({})</summary>\n",
            document.steps.len()
        );
        for (index, step) in document.steps.iter().enumerate().take(100) {
            let _ = writeln!(out, "{}. `{}`", index + 1, step.describe());
        }
        if document.steps.len() > 100 {
            let _ = writeln!(
                out,
                "- … and {} more (see the JSON plan)",
                document.steps.len() - 100
            );
        }
        out.push_str("\n</details>\n\n");
    }
    let gaining = impact
        .users
        .iter()
        .filter(|user| !user.gains.is_empty())
        .count();
    let losing = impact
        .users
        .iter()
        .filter(|user| !user.loses.is_empty())
        .count();
    let new_errors = impact
        .users
        .iter()
        .filter(|user| !new_and_fixed_errors(user).0.is_empty())
        .count();
    let _ = writeln!(out, "**Impact:** {gaining} users gain plans, {losing} lose plans, {new_errors} get new errors.\n");
    if !impact.seats.is_empty() {
        out.push_str("| product | enabled | before | after | free |\n|---|---:|---:|---:|---:|\n");
        for seat in &impact.seats {
            let free = seat.enabled as i64 - seat.after as i64;
            let marker = if free < 0 { " ⚠️" } else { "" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {free}{marker} |",
                seat.sku, seat.enabled, seat.before, seat.after
            );
        }
        out.push('\n');
    }
    let listed_here: Vec<&UserImpact> = if errors.is_empty() {
        impact.users.iter().collect()
    } else {
        other_users
    };
    if !listed_here.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>{} ({})</summary>\n",
            if errors.is_empty() {
                "Affected users"
            } else {
                "Other affected users"
            },
            listed_here.len()
        );
        out.push_str(&markdown_users(&listed_here));
        out.push_str("\n</details>\n\n");
    }
    if !others.is_empty() {
        out.push_str("#### Warnings and notes\n\n");
        for diagnostic in &others {
            out.push_str(&markdown_diagnostic(
                diagnostic,
                if diagnostic["severity"] == "warning" {
                    "⚠️"
                } else {
                    "ℹ️"
                },
            ));
        }
    }
    out
}
/// A plan that could not be computed as a Markdown comment: the verdict, one item per problem
/// with its place, and the diagnostics as seatplan prints them (`rendered`, without colors).
pub fn failure_markdown(diagnostics: &[serde_json::Value], rendered: &str) -> String {
    let mut out = String::from("### seatplan plan: ❌ no plan: the configuration has errors\n\n");
    let errors = diagnostics
        .iter()
        .filter(|d| d["severity"] == "error")
        .count();
    let _ = writeln!(
        out,
        "seatplan could not compute a plan: {}. Fix {} and push again.\n",
        if errors == 1 {
            "1 error".to_string()
        } else {
            format!("{errors} errors")
        },
        if errors == 1 { "it" } else { "them" }
    );
    out.push_str("#### Problems\n\n");
    for diagnostic in diagnostics {
        let icon = match diagnostic["severity"].as_str() {
            Some("error") => "❌",
            Some("warning") => "⚠️",
            _ => "ℹ️",
        };
        out.push_str(&markdown_diagnostic(diagnostic, icon));
    }
    out.push_str("\n<details><summary>Diagnostics as printed</summary>\n\n````text\n");
    out.push_str(rendered.trim_end());
    out.push_str("\n````\n\n</details>\n");
    out
}
/// Users as a Markdown list: one item per user, one sub-item per product, then the plans
/// upgraded and the errors got and fixed (as the text view lists them).
fn markdown_users(users: &[&UserImpact]) -> String {
    let mut out = String::new();
    for user in users.iter().take(MARKDOWN_USERS) {
        let _ = writeln!(out, "- `{}`", user.user);
        for product in &user.products {
            let line = product_line(product);
            if product.change == ProductChangeKind::Lost && !product.plans_lost.is_empty() {
                let _ = writeln!(out, "  - **{line}**");
            } else {
                let _ = writeln!(out, "  - {line}");
            }
        }
        if !user.upgraded.is_empty() {
            let _ = writeln!(
                out,
                "  - upgrades {} (replaced by plans that supersede them)",
                listed(&user.upgraded)
            );
        }
        let (new, fixed) = new_and_fixed_errors(user);
        for error in new {
            let _ = writeln!(out, "  - **error: {error}**");
        }
        for error in fixed {
            let _ = writeln!(out, "  - fixed: {error}");
        }
    }
    if users.len() > MARKDOWN_USERS {
        let _ = writeln!(
            out,
            "- … and {} more (see the JSON plan)",
            users.len() - MARKDOWN_USERS
        );
    }
    out
}
/// One diagnostic as a Markdown list item, with its location, help and notes (the people,
/// groups or products it names) as sub-items.
pub(crate) fn markdown_diagnostic(diagnostic: &serde_json::Value, icon: &str) -> String {
    let mut out = format!(
        "- {icon} `{}`: {}",
        diagnostic["code"].as_str().unwrap_or_default(),
        diagnostic["message"].as_str().unwrap_or_default()
    );
    if let Some(label) = diagnostic["labels"]
        .as_array()
        .and_then(|labels| labels.first())
    {
        let _ = write!(
            out,
            " ({}:{}:{})",
            label["file"].as_str().unwrap_or_default(),
            label["line"],
            label["column"]
        );
    }
    out.push('\n');
    if let Some(help) = diagnostic["help"].as_str() {
        let _ = writeln!(out, "  - {help}");
    }
    for note in diagnostic["notes"].as_array().into_iter().flatten() {
        let note = note.as_str().unwrap_or_default();
        let _ = writeln!(out, "  - {}", note.strip_prefix("- ").unwrap_or(note));
    }
    out
}
