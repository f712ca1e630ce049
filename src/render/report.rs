//! Views of the licensing [`Report`] and of a [`Reprocessed`] result: text for a terminal and
//! Markdown for a wiki page or a pull request. `--format json` prints the same structures with
//! serde ([`json`]), so every view shows the same facts.

use std::fmt::Write as _;

use serde::Serialize;

use crate::plan::report::{GroupStatus, ProductError, ProductReport, Report};
use crate::plan::reprocess::{Reprocessed, Retry};
use crate::render::plan::{listed, Palette, LISTED};

/// Any report structure as pretty JSON with a final newline.
pub fn json<T: Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

fn via(via: &Option<String>) -> String {
    match via {
        Some(group) => format!("via \"{group}\""),
        None => "(direct)".to_string(),
    }
}

fn product_errors(errors: &[ProductError]) -> String {
    errors
        .iter()
        .map(|error| format!("{} {:?}: {}", error.sku, error.error, error.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Products with direct holders: the ones a migration to groups still has to finish.
fn with_direct(report: &Report) -> impl Iterator<Item = &ProductReport> {
    report
        .products
        .iter()
        .filter(|product| !product.direct.is_empty() || !product.both.is_empty())
}

/// The report as text.
pub fn text(report: &Report, palette: Palette) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let _ = writeln!(
        out,
        "{} {} · default usage location {}",
        palette.bold("Tenant"),
        report.tenant.as_deref().unwrap_or("(no id)"),
        report.default_usage_location.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(
        out,
        "{}: {} licensed, {} in error · {}, {} with errors\n",
        plural(summary.users, "user", "users"),
        summary.licensed_users,
        summary.users_in_error,
        plural(summary.licensed_groups, "licensed group", "licensed groups"),
        summary.groups_in_error
    );

    if !report.products.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Seats:"));
        let width = report
            .products
            .iter()
            .map(|product| product.sku.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let _ = writeln!(
            out,
            "  {:<width$}  {:>8}  {:>8}  {:>6}  {:>6}  {:>9}  {:>4}",
            "product", "enabled", "consumed", "free", "direct", "inherited", "both"
        );
        for product in &report.products {
            let free = format!("{:>6}", product.free);
            let free = if product.free < 0 {
                palette.removed(&free)
            } else {
                free
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:>8}  {:>8}  {free}  {:>6}  {:>9}  {:>4}",
                product.sku,
                product.enabled,
                product.consumed,
                product.direct.len(),
                product.inherited.len(),
                product.both.len()
            );
        }
        out.push('\n');
    }

    if !report.groups.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Groups:"));
        for group in &report.groups {
            let status = match group.status {
                GroupStatus::AllAssigned => palette.added(group.status.as_str()),
                GroupStatus::Errors => palette.removed(group.status.as_str()),
            };
            let mut line = format!(
                "  \"{}\" ({}, {}): {status}, {} of {} assigned",
                group.group,
                group.membership,
                group.licenses.join(", "),
                group.assigned,
                plural(group.members, "member", "members"),
            );
            if !group.security_enabled {
                line.push_str(" (not a security group: it assigns nothing)");
            }
            let _ = writeln!(out, "{line}");
            for user in group.users_in_error.iter().take(LISTED) {
                let _ = writeln!(
                    out,
                    "      {}: {}",
                    user.user,
                    palette.removed(&product_errors(&user.errors))
                );
            }
            if group.users_in_error.len() > LISTED {
                let _ = writeln!(
                    out,
                    "      … and {} more users in error",
                    group.users_in_error.len() - LISTED
                );
            }
        }
        out.push('\n');
    }

    let _ = writeln!(out, "{}", palette.bold("Direct and inherited:"));
    let mut any_direct = false;
    for product in with_direct(report) {
        any_direct = true;
        let _ = writeln!(
            out,
            "  {}: {} direct only, {} inherited only, {} both",
            product.sku,
            product.direct.len(),
            product.inherited.len(),
            product.both.len()
        );
        if !product.direct.is_empty() {
            let _ = writeln!(out, "      direct only: {}", listed(&product.direct));
        }
        if !product.both.is_empty() {
            let _ = writeln!(out, "      both: {}", listed(&product.both));
        }
    }
    let any_inherited = report
        .products
        .iter()
        .any(|product| !product.inherited.is_empty());
    match (any_direct, any_inherited) {
        (true, _) => {}
        (false, true) => {
            let _ = writeln!(out, "  Every license is inherited from a group.");
        }
        (false, false) => {
            let _ = writeln!(out, "  No licenses are assigned.");
        }
    }
    out.push('\n');

    let _ = writeln!(out, "{}", palette.bold("Users in error:"));
    if report.errors.is_empty() {
        let _ = writeln!(out, "  None.");
    }
    for error in report.errors.iter().take(LISTED * 2) {
        let _ = writeln!(
            out,
            "  {} {} {}: {}",
            error.user,
            error.sku,
            via(&error.via),
            palette.removed(&format!("{:?} ({})", error.error, error.reason))
        );
    }
    if report.errors.len() > LISTED * 2 {
        let _ = writeln!(
            out,
            "  … and {} more (see --format json)",
            report.errors.len() - LISTED * 2
        );
    }

    if !report.pending_memberships.is_empty() {
        let _ = writeln!(out, "\n{}", palette.bold("Dynamic membership pending:"));
        for pending in &report.pending_memberships {
            let _ = writeln!(
                out,
                "  \"{}\": {} joining, {} leaving",
                pending.group,
                pending.joining.len(),
                pending.leaving.len()
            );
            if !pending.joining.is_empty() {
                let _ = writeln!(out, "      joining: {}", listed(&pending.joining));
            }
            if !pending.leaving.is_empty() {
                let _ = writeln!(out, "      leaving: {}", listed(&pending.leaving));
            }
        }
    }
    if !report.unevaluated_rules.is_empty() {
        let _ = writeln!(
            out,
            "\n{} {} (their recorded members are used)",
            palette.bold("Rules seatplan cannot evaluate:"),
            listed(&report.unevaluated_rules)
        );
    }
    if !report.nested_groups.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            palette.bold("Nested groups (their members get nothing):")
        );
        for nested in &report.nested_groups {
            let _ = writeln!(
                out,
                "  \"{}\" has group members {}: {}",
                nested.group,
                nested.nested.join(", "),
                if nested.users.is_empty() {
                    "no users beyond its direct members".to_string()
                } else {
                    format!(
                        "{} get none of its licenses ({})",
                        plural(nested.users.len(), "user", "users"),
                        listed(&nested.users)
                    )
                }
            );
        }
    }
    out
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let summary = &report.summary;
    let verdict = if summary.users_in_error == 0 {
        "✅ no errors"
    } else {
        "❌ users in error"
    };
    let _ = writeln!(out, "### seatplan report: {verdict}\n");
    let _ = writeln!(
        out,
        "**Tenant** `{}` · default usage location {} · {} ({} licensed, {} in error) · {} ({} with errors)\n",
        report.tenant.as_deref().unwrap_or("(no id)"),
        report.default_usage_location.as_deref().unwrap_or("(none)"),
        plural(summary.users, "user", "users"),
        summary.licensed_users,
        summary.users_in_error,
        plural(summary.licensed_groups, "licensed group", "licensed groups"),
        summary.groups_in_error
    );
    if !report.products.is_empty() {
        out.push_str("#### Seats\n\n| product | enabled | consumed | free | direct | inherited | both |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for product in &report.products {
            let marker = if product.free < 0 { " ⚠️" } else { "" };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}{marker} | {} | {} | {} |",
                product.sku,
                product.enabled,
                product.consumed,
                product.free,
                product.direct.len(),
                product.inherited.len(),
                product.both.len()
            );
        }
        out.push('\n');
    }
    if !report.groups.is_empty() {
        out.push_str("#### Groups\n\n| group | membership | licenses | status | assigned | in error |\n|---|---|---|---|---:|---:|\n");
        for group in &report.groups {
            let icon = match group.status {
                GroupStatus::AllAssigned => "✅",
                GroupStatus::Errors => "❌",
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {icon} {} | {} of {} | {} |",
                group.group.replace('|', "\\|"),
                group.membership,
                group.licenses.join(", "),
                group.status.as_str(),
                group.assigned,
                group.members,
                group.users_in_error.len()
            );
        }
        out.push('\n');
    }
    if !report.errors.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Users in error ({})</summary>\n",
            report.errors.len()
        );
        for error in report.errors.iter().take(100) {
            let _ = writeln!(
                out,
                "- `{}`: {} {}: **{:?}** ({})",
                error.user,
                error.sku,
                via(&error.via),
                error.error,
                error.reason
            );
        }
        if report.errors.len() > 100 {
            let _ = writeln!(
                out,
                "- … and {} more (see the JSON report)",
                report.errors.len() - 100
            );
        }
        out.push_str("\n</details>\n\n");
    }
    let direct: Vec<&ProductReport> = with_direct(report).collect();
    if !direct.is_empty() {
        out.push_str("#### Direct and inherited\n\n| product | direct only | inherited only | both |\n|---|---|---:|---|\n");
        for product in direct {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                product.sku,
                listed(&product.direct),
                product.inherited.len(),
                listed(&product.both)
            );
        }
        out.push('\n');
    }
    if !report.pending_memberships.is_empty() {
        out.push_str("#### Dynamic membership pending\n\n");
        for pending in &report.pending_memberships {
            let _ = writeln!(
                out,
                "- **{}**: {} joining, {} leaving",
                pending.group,
                pending.joining.len(),
                pending.leaving.len()
            );
        }
        out.push('\n');
    }
    if !report.nested_groups.is_empty() {
        out.push_str("#### Nested groups\n\n");
        for nested in &report.nested_groups {
            let _ = writeln!(
                out,
                "- **{}** has group members {}: {} get none of its licenses",
                nested.group,
                nested.nested.join(", "),
                plural(nested.users.len(), "user", "users")
            );
        }
        out.push('\n');
    }
    out
}

/// What the retry does with each product of the assignment: "now assigned", "now removed" (a
/// refused removal that nothing blocks any more) or "still in error", naming the products when
/// the assignment's products fare differently.
fn retry_outcome(retry: &Retry) -> String {
    let assigned: Vec<&str> = retry
        .before
        .iter()
        .map(|error| error.sku.as_str())
        .filter(|sku| {
            !retry.removed.iter().any(|removed| removed == sku)
                && !retry.after.iter().any(|error| error.sku == *sku)
        })
        .collect();
    match (
        assigned.is_empty(),
        retry.removed.is_empty(),
        retry.after.is_empty(),
    ) {
        (false, true, true) => "now assigned".to_string(),
        (true, false, true) => "now removed".to_string(),
        (true, true, false) => format!("still in error: {}", product_errors(&retry.after)),
        _ => {
            let mut parts = Vec::new();
            if !assigned.is_empty() {
                parts.push(format!("{} now assigned", assigned.join(", ")));
            }
            if !retry.removed.is_empty() {
                parts.push(format!("{} now removed", retry.removed.join(", ")));
            }
            if !retry.after.is_empty() {
                parts.push(format!("still in error: {}", product_errors(&retry.after)));
            }
            parts.join("; ")
        }
    }
}

fn retry_line(retry: &Retry, palette: Palette, succeeded: bool) -> String {
    let before = retry
        .before
        .iter()
        .map(|error| format!("{} {:?}", error.sku, error.error))
        .collect::<Vec<_>>()
        .join(", ");
    let outcome = retry_outcome(retry);
    format!(
        "  {} {}: was {before}, {}",
        retry.user,
        via(&retry.via),
        if succeeded {
            palette.added(&outcome)
        } else {
            palette.removed(&outcome)
        }
    )
}

/// A reprocess result as text.
pub fn reprocess_text(result: &Reprocessed, palette: Palette) -> String {
    let mut out = String::new();
    let scope = match &result.group {
        Some(group) => format!("the errors of \"{group}\""),
        None => "every error".to_string(),
    };
    let total = result.succeed.len() + result.still_failing.len();
    if total == 0 {
        let _ = writeln!(out, "Nothing to reprocess: no assignment is in error.");
        return out;
    }
    let _ = writeln!(
        out,
        "Reprocessing {scope}: {} would now succeed, {} would still fail.\n",
        result.succeed.len(),
        result.still_failing.len()
    );
    if !result.succeed.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Would now succeed:"));
        for retry in &result.succeed {
            let _ = writeln!(out, "{}", retry_line(retry, palette, true));
        }
        out.push('\n');
    }
    if !result.still_failing.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Still failing:"));
        for retry in &result.still_failing {
            let _ = writeln!(out, "{}", retry_line(retry, palette, false));
        }
        out.push('\n');
    }
    if !result.seats.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Seats:"));
        for seat in &result.seats {
            let _ = writeln!(
                out,
                "  {}: {} -> {} of {} consumed",
                seat.sku, seat.before, seat.after, seat.enabled
            );
        }
        out.push('\n');
    }
    if !result.succeed.is_empty() {
        out.push_str(
            "Reprocess in the admin center (group → Licenses → Reprocess) or with Invoke-MgLicenseUser.\n",
        );
    }
    out
}

/// A reprocess result as Markdown.
pub fn reprocess_markdown(result: &Reprocessed) -> String {
    let mut out = String::new();
    let scope = match &result.group {
        Some(group) => format!(" of \"{group}\""),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "### seatplan reprocess{scope}: {} would now succeed, {} would still fail\n",
        result.succeed.len(),
        result.still_failing.len()
    );
    if !result.succeed.is_empty() || !result.still_failing.is_empty() {
        out.push_str("| user | source | before | after |\n|---|---|---|---|\n");
        for (retry, succeeded) in result
            .succeed
            .iter()
            .map(|retry| (retry, true))
            .chain(result.still_failing.iter().map(|retry| (retry, false)))
        {
            let before = retry
                .before
                .iter()
                .map(|error| format!("{} {:?}", error.sku, error.error))
                .collect::<Vec<_>>()
                .join(", ");
            let mark = if succeeded { "✅" } else { "❌" };
            let after = format!("{mark} {}", retry_outcome(retry).replace('|', "\\|"));
            let _ = writeln!(
                out,
                "| `{}` | {} | {before} | {after} |",
                retry.user,
                via(&retry.via)
            );
        }
        out.push('\n');
    }
    if !result.seats.is_empty() {
        out.push_str("| product | enabled | before | after |\n|---|---:|---:|---:|\n");
        for seat in &result.seats {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                seat.sku, seat.enabled, seat.before, seat.after
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::model::AssignmentError;

    fn error(sku: &str, error: AssignmentError) -> ProductError {
        ProductError {
            sku: sku.to_string(),
            error,
            reason: "why".to_string(),
        }
    }

    fn retry(before: &[&str], after: &[&str], removed: &[&str]) -> Retry {
        Retry {
            user: "ann@contoso.com".to_string(),
            via: Some("E3".to_string()),
            before: before
                .iter()
                .map(|sku| error(sku, AssignmentError::DependencyViolation))
                .collect(),
            after: after
                .iter()
                .map(|sku| error(sku, AssignmentError::CountViolation))
                .collect(),
            removed: removed.iter().map(|sku| sku.to_string()).collect(),
        }
    }

    #[test]
    fn a_retry_says_whether_it_assigns_removes_or_stays_in_error() {
        let words = |before, after, removed| retry_outcome(&retry(before, after, removed));
        assert_eq!(words(&["EMS"], &[], &[]), "now assigned");
        assert_eq!(
            words(&["ENTERPRISEPACK"], &[], &["ENTERPRISEPACK"]),
            "now removed"
        );
        assert_eq!(
            words(&["EMS"], &["EMS"], &[]),
            "still in error: EMS CountViolation: why"
        );
        assert_eq!(
            words(&["EMS", "ENTERPRISEPACK"], &[], &["ENTERPRISEPACK"]),
            "EMS now assigned; ENTERPRISEPACK now removed"
        );
        assert_eq!(
            words(&["EMS", "ENTERPRISEPACK"], &["EMS"], &["ENTERPRISEPACK"]),
            "ENTERPRISEPACK now removed; still in error: EMS CountViolation: why"
        );
    }

    #[test]
    fn the_text_view_of_a_removal_does_not_say_assigned() {
        let result = Reprocessed {
            group: None,
            succeed: vec![retry(&["ENTERPRISEPACK"], &[], &["ENTERPRISEPACK"])],
            still_failing: Vec::new(),
            seats: Vec::new(),
        };
        let text = reprocess_text(&result, Palette::new(false));
        assert!(
            text.contains(
                "ann@contoso.com via \"E3\": was ENTERPRISEPACK DependencyViolation, now removed\n"
            ),
            "{text}"
        );
        assert!(!text.contains("assigned"), "{text}");
        assert!(reprocess_markdown(&result).contains("| ✅ now removed |"));
    }
}
