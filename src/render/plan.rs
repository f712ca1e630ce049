//! The text view of a [`PlanDocument`], like Terraform's: symbols, colors on a terminal, the rule
//! edit as a word diff, per-group impact, a seats table, the summary line; and the JSON document
//! printed when no plan could be made. The Markdown view ([`super::markdown`]) draws from the same
//! document that `--format json` prints.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use similar::{ChangeTag, TextDiff};

use crate::plan::document::{
    Action, Change, Impact, LicenseRef, LicenseSource, MemberGroupRef, Op, PlanDocument,
    ProductChangeKind, ProductImpact, Summary, UserImpact,
};

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

pub(super) fn op_lines(op: &Op, palette: Palette) -> Vec<String> {
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
        Op::SetDisplayName { before, after } => {
            vec![format!("{tilde} display name: {before:?} -> {after:?}")]
        }
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

/// Where a product comes from in words: `via "All Staff - E3"`, `assigned directly`, `via "A"
/// and directly`.
pub(crate) fn sources_text(sources: &[LicenseSource]) -> String {
    let named: Vec<String> = sources.iter().map(ToString::to_string).collect();
    // Sources sort groups after `direct`; name the groups first.
    let direct = named.iter().any(|name| name == "direct");
    let groups: Vec<&String> = named.iter().filter(|name| *name != "direct").collect();
    let groups_text = match groups.split_last() {
        None => String::new(),
        Some((last, [])) => format!("via {last}"),
        Some((last, rest)) => format!(
            "via {} and {last}",
            rest.iter()
                .map(|name| name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    match (groups.is_empty(), direct) {
        (true, true) => "assigned directly".to_string(),
        (false, true) => format!("{groups_text} and directly"),
        _ => groups_text,
    }
}

/// One product of a user's change in words: "gains Microsoft 365 E5 (SPE_E5) via "Executives -
/// E5" (60 service plans)".
pub(crate) fn product_line(product: &ProductImpact) -> String {
    let plans = |count: usize| {
        if count == 1 {
            "1 service plan".to_string()
        } else {
            format!("{count} service plans")
        }
    };
    let head = format!("{} ({})", product.name, product.sku);
    let from = sources_text(&product.sources);
    match product.change {
        ProductChangeKind::Gained => format!(
            "gains {head} {from} ({})",
            plans(product.plans_gained.len())
        ),
        ProductChangeKind::Lost if product.plans_lost.is_empty() => {
            format!("loses {head} {from} (no service lost: its plans stay or are upgraded)")
        }
        ProductChangeKind::Lost => {
            format!("loses {head} {from} ({})", plans(product.plans_lost.len()))
        }
        ProductChangeKind::Changed => {
            let mut parts = Vec::new();
            let added: Vec<LicenseSource> = product
                .sources
                .iter()
                .filter(|source| !product.sources_before.contains(source))
                .cloned()
                .collect();
            let removed: Vec<LicenseSource> = product
                .sources_before
                .iter()
                .filter(|source| !product.sources.contains(source))
                .cloned()
                .collect();
            // Without sources before, the head names them already.
            if !added.is_empty() && !product.sources_before.is_empty() {
                parts.push(format!("now also {}", sources_text(&added)));
            }
            if !removed.is_empty() {
                parts.push(format!("no longer {}", sources_text(&removed)));
            }
            if !product.plans_gained.is_empty() {
                parts.push(format!("+{}", plans(product.plans_gained.len())));
            }
            if !product.plans_lost.is_empty() {
                parts.push(format!("-{}", plans(product.plans_lost.len())));
            }
            if product.sources_before.is_empty() && parts.is_empty() {
                format!("keeps {head} {from}")
            } else if product.sources_before.is_empty() {
                format!("keeps {head} {from}: {}", parts.join(", "))
            } else {
                format!("keeps {head}: {}", parts.join(", "))
            }
        }
    }
}

/// The errors a user gets and the errors the change fixes.
pub(crate) fn new_and_fixed_errors(user: &UserImpact) -> (Vec<&String>, Vec<&String>) {
    let new = user
        .errors_after
        .iter()
        .filter(|error| !user.errors_before.contains(error))
        .collect();
    let fixed = user
        .errors_before
        .iter()
        .filter(|error| !user.errors_after.contains(error))
        .collect();
    (new, fixed)
}

/// One user's change: a line per product gained, changed or lost (with `verbose`, the service
/// plans behind each), errors got and fixed, and plans upgraded.
fn user_block(user: &UserImpact, palette: Palette, verbose: bool) -> String {
    let mut out = format!("  {}\n", user.user);
    for product in &user.products {
        let line = product_line(product);
        let line = match product.change {
            ProductChangeKind::Gained => palette.added(&line),
            ProductChangeKind::Lost if !product.plans_lost.is_empty() => palette.removed(&line),
            _ => line,
        };
        let _ = writeln!(out, "    {line}");
        if verbose {
            if !product.plans_gained.is_empty() {
                let _ = writeln!(out, "        + {}", product.plans_gained.join(", "));
            }
            if !product.plans_lost.is_empty() {
                let _ = writeln!(out, "        - {}", product.plans_lost.join(", "));
            }
        }
    }
    if !user.upgraded.is_empty() {
        let _ = writeln!(
            out,
            "    upgrades {} (replaced by plans that supersede them)",
            if verbose {
                user.upgraded.join(", ")
            } else {
                listed(&user.upgraded)
            }
        );
    }
    let (new, fixed) = new_and_fixed_errors(user);
    for error in new {
        let _ = writeln!(out, "    {}", palette.removed(&format!("error: {error}")));
    }
    for error in fixed {
        let _ = writeln!(out, "    {}", palette.added(&format!("fixed: {error}")));
    }
    out
}

/// How the text view is drawn.
#[derive(Debug, Clone, Copy)]
pub struct TextOptions<'a> {
    /// Colors or none.
    pub palette: Palette,
    /// List the service plans behind each product a user gains or loses.
    pub verbose: bool,
    /// A what-if review (`rule diff`) of this edit rather than a plan to apply: the text says
    /// what *would* happen and ends with a verdict.
    pub what_if: Option<&'a str>,
}

impl TextOptions<'_> {
    /// A plan's view: colored when `color`, plans behind products when `verbose`.
    pub fn plan(color: bool, verbose: bool) -> Self {
        TextOptions {
            palette: Palette::new(color),
            verbose,
            what_if: None,
        }
    }
}

/// The plan as text.
pub fn text(document: &PlanDocument, options: &TextOptions<'_>) -> String {
    let palette = options.palette;
    let verbose = options.verbose;
    let mut out = String::new();
    if document.changes.is_empty() && document.steps.is_empty() {
        out.push_str("No changes. The tenant matches the configuration.\n");
    } else if document.changes.is_empty() {
        out.push_str(
            "No changes. The tenant matches the configuration; the apply only reprocesses the users below.\n\n",
        );
    } else {
        match options.what_if {
            Some(edit) => {
                let _ = writeln!(
                    out,
                    "What if {edit}? Nothing is changed; this is what the edit would do:\n"
                );
            }
            None => out.push_str("seatplan will perform the following actions:\n\n"),
        }
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
            out.push_str(&user_block(user, palette, verbose));
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
    if options.what_if.is_some() {
        let verdict = if summary.rejected {
            palette
                .removed("Verdict: rejected. The checks above (on stderr) would refuse this edit.")
        } else {
            let warnings = document
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic["severity"] == "warning")
                .count();
            match warnings {
                0 => palette.added("Verdict: safe. No check would refuse this edit."),
                1 => palette.added(
                    "Verdict: safe. No check would refuse this edit; read the warning above (on stderr).",
                ),
                count => palette.added(&format!(
                    "Verdict: safe. No check would refuse this edit; read the {count} warnings above (on stderr)."
                )),
            }
        };
        let _ = writeln!(out, "{verdict}");
        return out;
    }
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

/// A plan that could not be computed (the config or the tenant has errors) as a JSON document:
/// `format_version`, the `diagnostics` (each with code, severity, message, file, line, column)
/// and a rejected `summary`. It is not a plan file: `show` and `apply` refuse it.
pub fn failure_json(diagnostics: &[serde_json::Value]) -> String {
    let document = serde_json::json!({
        "format_version": crate::plan::document::FORMAT_VERSION,
        "diagnostics": diagnostics,
        "summary": Summary { rejected: true, ..Summary::default() },
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_product_kept_from_the_same_sources_names_them_once() {
        let kept = |sources_before: Vec<LicenseSource>| {
            product_line(&ProductImpact {
                sku: "ENTERPRISEPACK".to_string(),
                name: "Office 365 E3".to_string(),
                change: ProductChangeKind::Changed,
                sources: vec![LicenseSource::Group {
                    group: "E3".to_string(),
                }],
                sources_before,
                plans_gained: vec!["SWAY".to_string()],
                plans_lost: Vec::new(),
            })
        };
        assert_eq!(
            kept(Vec::new()),
            "keeps Office 365 E3 (ENTERPRISEPACK) via \"E3\": +1 service plan"
        );
        assert_eq!(
            kept(vec![LicenseSource::Direct]),
            "keeps Office 365 E3 (ENTERPRISEPACK): now also via \"E3\", no longer assigned directly, +1 service plan"
        );
    }

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
