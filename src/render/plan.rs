//! Views of a [`PlanDocument`]: text like Terraform's (symbols, colors on a terminal, the rule
//! edit as a word diff, per-group impact, a seats table, the summary line) and Markdown for a
//! pull-request comment (rejected checks first, counts, a collapsible list of affected users).
//! Both draw from the same document that `--format json` prints.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use crate::plan::document::{Action, Change, Impact, LicenseRef, MemberGroupRef, Op, PlanDocument};

/// How many entries of a long list are printed before "… and N more".
pub(crate) const LISTED: usize = 10;

/// Text styling: ANSI colors or none.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    color: bool,
}

impl Palette {
    /// A palette that colors when `color` is true.
    pub fn new(color: bool) -> Self {
        Palette { color }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn action(&self, action: Action, text: &str) -> String {
        let color = match action {
            Action::Create => AnsiColor::Green,
            Action::Update => AnsiColor::Yellow,
            Action::Delete => AnsiColor::Red,
        };
        self.paint(Style::new().fg_color(Some(color.into())), text)
    }

    /// `text` in bold (unchanged without colors).
    pub(crate) fn bold(&self, text: &str) -> String {
        self.paint(Style::new().bold(), text)
    }

    /// `text` in red: something lost or failing.
    pub(crate) fn removed(&self, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(AnsiColor::Red.into())), text)
    }

    /// `text` in green: something gained or fixed.
    pub(crate) fn added(&self, text: &str) -> String {
        self.paint(Style::new().fg_color(Some(AnsiColor::Green.into())), text)
    }
}

/// `a, b, c … and N more`.
pub(crate) fn listed(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > LISTED {
        let _ = write!(text, " … and {} more", items.len() - LISTED);
    }
    text
}

/// The lines of a membership operation: users, then member groups.
fn member_lines(symbol: &str, users: &[String], groups: &[MemberGroupRef]) -> Vec<String> {
    let mut lines = Vec::new();
    if !users.is_empty() {
        lines.push(format!("{symbol} members: {}", listed(users)));
    }
    if !groups.is_empty() {
        let names: Vec<String> = groups
            .iter()
            .map(|group| format!("{:?}", group.name))
            .collect();
        lines.push(format!("{symbol} member groups: {}", listed(&names)));
    }
    lines
}

/// A license in one line: the shorter of "all but …" and "only …".
fn describe_license(license: &LicenseRef) -> String {
    if license.disabled_plans.is_empty() {
        format!(
            "{} (all {} plans)",
            license.sku,
            license.enabled_plans.len()
        )
    } else if license.enabled_plans.len() <= license.disabled_plans.len() {
        format!("{} (only {})", license.sku, listed(&license.enabled_plans))
    } else {
        format!(
            "{} (without {})",
            license.sku,
            listed(&license.disabled_plans)
        )
    }
}

/// The rule edit as a word diff: `[-removed-]` and `{+added+}`, colored on a terminal.
pub fn rule_diff(before: &str, after: &str, palette: Palette) -> String {
    let diff = TextDiff::from_words(before, after);
    // Runs of deleted or inserted words (with the spaces between them) are shown as one span.
    let mut runs: Vec<(ChangeTag, String)> = Vec::new();
    for change in diff.iter_all_changes() {
        let tag = change.tag();
        let word = change.value();
        let blank = word.trim().is_empty();
        match runs.last_mut() {
            Some((last, text)) if *last == tag || (blank && *last != ChangeTag::Equal) => {
                text.push_str(word)
            }
            _ => runs.push((tag, word.to_string())),
        }
    }
    let mut out = String::new();
    for (tag, text) in runs {
        let trimmed = text.trim_end();
        let trailing = &text[trimmed.len()..];
        match tag {
            ChangeTag::Equal => out.push_str(&text),
            ChangeTag::Delete => {
                out.push_str(&palette.removed(&format!("[-{trimmed}-]")));
                out.push_str(trailing);
            }
            ChangeTag::Insert => {
                out.push_str(&palette.added(&format!("{{+{trimmed}+}}")));
                out.push_str(trailing);
            }
        }
    }
    out
}

fn op_lines(op: &Op, palette: Palette) -> Vec<String> {
    let plus = palette.action(Action::Create, "+");
    let minus = palette.action(Action::Delete, "-");
    let tilde = palette.action(Action::Update, "~");
    match op {
        Op::CreateGroup {
            display_name,
            security_enabled,
        } => vec![format!(
            "{plus} create {} group \"{display_name}\"",
            if *security_enabled {
                "security"
            } else {
                "non-security"
            }
        )],
        Op::SetDescription {
            before: None,
            after: Some(after),
        } => vec![format!("{plus} description: {after:?}")],
        Op::SetDescription { before, after } => vec![format!(
            "{tilde} description: {} -> {}",
            before
                .as_deref()
                .map_or("(none)".to_string(), |text| format!("{text:?}")),
            after
                .as_deref()
                .map_or("(none)".to_string(), |text| format!("{text:?}"))
        )],
        Op::SetSecurityEnabled { before, after } => {
            vec![format!("{tilde} security_enabled: {before} -> {after}")]
        }
        Op::SetRule { before, after } => match (before, after) {
            (Some(before), Some(after)) => vec![format!(
                "{tilde} rule: {}",
                rule_diff(before, after, palette)
            )],
            (None, Some(after)) => vec![format!("{plus} rule: {after}")],
            (Some(before), None) => {
                vec![format!("{minus} rule: {before} (the group becomes static)")]
            }
            (None, None) => Vec::new(),
        },
        Op::SetRuleProcessing { before, after } => {
            vec![format!(
                "{tilde} rule processing: {} -> {after}",
                before.as_deref().unwrap_or("(none)")
            )]
        }
        Op::AddMembers { users, groups } => member_lines(&plus, users, groups),
        Op::RemoveMembers { users, groups } => member_lines(&minus, users, groups),
        Op::AddLicense { license } => vec![format!("{plus} license {}", describe_license(license))],
        Op::UpdateLicensePlans {
            license,
            enable,
            disable,
        } => {
            let mut lines = vec![format!("{tilde} license {}", license.sku)];
            if !enable.is_empty() {
                lines.push(format!("    {plus} plans: {}", listed(enable)));
            }
            if !disable.is_empty() {
                lines.push(format!("    {minus} plans: {}", listed(disable)));
            }
            lines
        }
        Op::RemoveLicense { sku, .. } => vec![format!("{minus} license {sku}")],
        Op::Migrate { remove, add } => {
            let mut lines = vec![format!(
                "{} migrate in one assignLicense call:",
                palette.action(Action::Update, "±")
            )];
            lines.extend(
                remove
                    .iter()
                    .map(|license| format!("    {minus} license {}", license.sku)),
            );
            lines.extend(
                add.iter()
                    .map(|license| format!("    {plus} license {}", describe_license(license))),
            );
            lines
        }
        Op::SetUsageLocation { before, after } => {
            vec![format!(
                "{tilde} usage_location: {} -> {after}",
                before.as_deref().unwrap_or("(none, inherits the tenant's)")
            )]
        }
        Op::DeleteGroup => vec![format!(
            "{minus} delete group (after its licenses are removed)"
        )],
    }
}

fn kind_and_name(address: &str) -> (&str, &str) {
    match address.split_once('[') {
        Some((kind, rest)) => (kind, rest.trim_end_matches(']')),
        None => ("", address),
    }
}

fn change_block(change: &Change, impact: &Impact, palette: Palette) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  {} {} will be {}",
        palette.bold("#"),
        palette.bold(&change.address),
        change.action.verb()
    );
    let (kind, name) = kind_and_name(&change.address);
    let _ = writeln!(
        out,
        "  {} {kind} {name} {{",
        palette.action(change.action, change.action.symbol())
    );
    for op in &change.ops {
        for line in op_lines(op, palette) {
            let _ = writeln!(out, "      {line}");
        }
    }
    let _ = writeln!(out, "    }}");
    if kind == "group" {
        let display = serde_json::from_str::<String>(name).unwrap_or_default();
        if let Some(group) = impact.groups.iter().find(|group| group.group == display) {
            let _ = writeln!(
                out,
                "    impact: {} joining, {} leaving",
                group.joining, group.leaving
            );
            if !group.joiners.is_empty() {
                let _ = writeln!(out, "      joining: {}", listed(&group.joiners));
            }
            if !group.leavers.is_empty() {
                let _ = writeln!(out, "      leaving: {}", listed(&group.leavers));
            }
        }
    }
    out
}

/// The plan as text.
pub fn text(document: &PlanDocument, palette: Palette) -> String {
    let mut out = String::new();
    if document.changes.is_empty() {
        out.push_str("No changes. The tenant matches the configuration.\n");
    } else {
        out.push_str("seatplan will perform the following actions:\n\n");
        for change in &document.changes {
            out.push_str(&change_block(change, &document.impact, palette));
            out.push('\n');
        }
    }
    if !document.steps.is_empty() {
        let _ = writeln!(
            out,
            "{}",
            palette.bold("Steps, in the order they are applied:")
        );
        for (index, step) in document.steps.iter().enumerate().take(LISTED * 2) {
            let _ = writeln!(out, "  {:>3}. {}", index + 1, step.describe());
        }
        more(&mut out, document.steps.len(), "steps");
        out.push('\n');
    }
    let impact = &document.impact;
    if !impact.users.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Users affected:"));
        for user in impact.users.iter().take(LISTED * 2) {
            let mut parts = Vec::new();
            if !user.gains.is_empty() {
                parts.push(palette.added(&format!("+{} plans", user.gains.len())));
            }
            if !user.loses.is_empty() {
                parts.push(palette.removed(&format!(
                    "-{} plans ({})",
                    user.loses.len(),
                    listed(&user.loses)
                )));
            }
            if !user.upgraded.is_empty() {
                parts.push(format!("{} upgraded", user.upgraded.len()));
            }
            for error in user
                .errors_after
                .iter()
                .filter(|error| !user.errors_before.contains(error))
            {
                parts.push(palette.removed(&format!("error: {error}")));
            }
            for error in user
                .errors_before
                .iter()
                .filter(|error| !user.errors_after.contains(error))
            {
                parts.push(palette.added(&format!("fixed: {error}")));
            }
            let _ = writeln!(out, "  {:<32} {}", user.user, parts.join(", "));
        }
        more(&mut out, impact.users.len(), "users");
        out.push('\n');
    }
    if !impact.seats.is_empty() {
        let _ = writeln!(out, "{}", palette.bold("Seats:"));
        let width = impact
            .seats
            .iter()
            .map(|seat| seat.sku.len())
            .max()
            .unwrap_or(7)
            .max(7);
        let _ = writeln!(
            out,
            "  {:<width$}  {:>8}  {:>8}  {:>8}  {:>6}",
            "product", "enabled", "before", "after", "free"
        );
        for seat in &impact.seats {
            let free = seat.enabled as i64 - seat.after as i64;
            let free_text = if free < 0 {
                palette.removed(&format!("{free:>6}"))
            } else {
                format!("{free:>6}")
            };
            let _ = writeln!(
                out,
                "  {:<width$}  {:>8}  {:>8}  {:>8}  {free_text}",
                seat.sku, seat.enabled, seat.before, seat.after
            );
        }
        out.push('\n');
    }
    let summary = &document.summary;
    let _ = writeln!(
        out,
        "{} {} to add, {} to change, {} to destroy.",
        palette.bold("Plan:"),
        summary.add,
        summary.change,
        summary.destroy
    );
    if summary.rejected {
        let _ = writeln!(
            out,
            "{}",
            palette.removed(
                "The plan is rejected: fix the errors above (they are printed on stderr)."
            )
        );
    }
    out
}

/// The line after a list cut at `LISTED * 2` of `total` entries.
fn more(out: &mut String, total: usize, what: &str) {
    if total > LISTED * 2 {
        let _ = writeln!(
            out,
            "  … and {} more {what} (see --format json)",
            total - LISTED * 2
        );
    }
}

/// The plan as a Markdown comment for a pull request.
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
    if !errors.is_empty() {
        out.push_str("#### Rejected by\n\n");
        for diagnostic in &errors {
            out.push_str(&markdown_diagnostic(diagnostic, "❌"));
        }
        out.push('\n');
    }
    if !document.changes.is_empty() {
        out.push_str("#### Changes\n\n| | address | what |\n|---|---|---|\n");
        for change in &document.changes {
            let what: Vec<String> = change
                .ops
                .iter()
                .flat_map(|op| op_lines(op, Palette::new(false)))
                .map(|line| line.trim().replace('|', "\\|"))
                .collect();
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} |",
                change.action.symbol(),
                change.address,
                what.join("<br>")
            );
        }
        out.push('\n');
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
    let impact = &document.impact;
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
        .filter(|user| {
            user.errors_after
                .iter()
                .any(|error| !user.errors_before.contains(error))
        })
        .count();
    let _ = writeln!(out, "**Impact:** {gaining} users gain plans, {losing} lose plans, {new_errors} get new errors.\n");
    if !impact.seats.is_empty() {
        out.push_str("| product | enabled | before | after |\n|---|---:|---:|---:|\n");
        for seat in &impact.seats {
            let marker = if seat.after > seat.enabled {
                " ⚠️"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {}{marker} |",
                seat.sku, seat.enabled, seat.before, seat.after
            );
        }
        out.push('\n');
    }
    if !impact.users.is_empty() {
        let _ = writeln!(
            out,
            "<details><summary>Affected users ({})</summary>\n",
            impact.users.len()
        );
        for user in impact.users.iter().take(100) {
            let mut parts = Vec::new();
            if !user.gains.is_empty() {
                parts.push(format!("gains {}", listed(&user.gains)));
            }
            if !user.loses.is_empty() {
                parts.push(format!("**loses {}**", listed(&user.loses)));
            }
            for error in user
                .errors_after
                .iter()
                .filter(|error| !user.errors_before.contains(error))
            {
                parts.push(format!("error: {error}"));
            }
            let _ = writeln!(out, "- `{}`: {}", user.user, parts.join("; "));
        }
        if impact.users.len() > 100 {
            let _ = writeln!(
                out,
                "- … and {} more (see the JSON plan)",
                impact.users.len() - 100
            );
        }
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

fn markdown_diagnostic(diagnostic: &serde_json::Value, icon: &str) -> String {
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
            " ({}:{})",
            label["file"].as_str().unwrap_or_default(),
            label["line"]
        );
    }
    out.push('\n');
    if let Some(help) = diagnostic["help"].as_str() {
        let _ = writeln!(out, "  - {help}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_diff_merges_runs() {
        let before = r#"(user.department -eq "Sales")"#;
        let after = r#"(user.department -eq "Sales") -and (user.country -eq "US")"#;
        assert_eq!(
            rule_diff(before, after, Palette::new(false)),
            r#"(user.department -eq "Sales"){+ -and (user.country -eq "US")+}"#
        );
        let changed = rule_diff(
            r#"user.city -eq "Berlin""#,
            r#"user.city -eq "Munich""#,
            Palette::new(false),
        );
        assert_eq!(changed, r#"user.city -eq [-"Berlin"-]{+"Munich"+}"#);
    }
}
