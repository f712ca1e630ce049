//! Diagnostics → miette reports (for people) and JSON objects with file, line and column (for
//! machines). Labels in other files than the first label's become related reports, so a
//! duplicate definition shows both files.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde_json::{json, Value};

use crate::diag::{Diagnostic, Severity};
use crate::source::{SourceId, Sources};

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Use ANSI colors.
    pub color: bool,
    /// Wrap width in columns.
    pub width: usize,
}

/// A diagnostic joined with the source text it points at, in the shape miette draws.
#[derive(Debug)]
struct Report {
    code: String,
    severity: miette::Severity,
    message: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    labels: Vec<LabeledSpan>,
    related: Vec<Report>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source
            .as_ref()
            .map(|source| source as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.iter().cloned()))
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            None
        } else {
            Some(Box::new(
                self.related
                    .iter()
                    .map(|report| report as &dyn miette::Diagnostic),
            ))
        }
    }
}

fn miette_severity(severity: Severity) -> miette::Severity {
    match severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
        Severity::Note => miette::Severity::Advice,
    }
}

/// The longest source line drawn as an excerpt, in bytes. A label on a longer line (a minified
/// JSON state file, a megabyte-long value) is given as a `file:line:column` note instead: drawing
/// it would print the whole line, and miette cannot pad past 65,535 columns.
pub const MAX_EXCERPT_LINE_BYTES: usize = 2000;

/// How many diagnostics [`render_all`] draws in full; the rest are only counted.
pub const MAX_RENDERED: usize = 50;

/// Whether the lines `range` covers in `text` are short enough to draw.
fn drawable(text: &str, range: &std::ops::Range<usize>) -> bool {
    let start = range.start.min(text.len());
    let end = range.end.clamp(start, text.len());
    let bytes = text.as_bytes();
    let line_start = bytes[..start]
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |index| index + 1);
    let line_end = bytes[end..]
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or(text.len(), |index| end + index);
    line_end - line_start <= MAX_EXCERPT_LINE_BYTES
}

fn build(diagnostic: &Diagnostic, sources: &Sources) -> Report {
    let mut groups: Vec<(SourceId, Vec<LabeledSpan>)> = Vec::new();
    let mut undrawn = Vec::new();
    for label in &diagnostic.labels {
        let Some((source, range)) = sources.resolve(&label.location) else {
            // Not locatable in its text (a JSON state too large to index): name the node.
            if let crate::diag::Location::Node {
                source, pointer, ..
            } = &label.location
            {
                let file = sources.get(*source).map_or("", |file| file.name.as_str());
                undrawn.push(format!("at {file} {pointer} ({})", label.message));
            }
            continue;
        };
        if let Some(file) = sources.get(source) {
            if !drawable(&file.text, &range) {
                let (line, column) = line_column(&file.text, range.start);
                let what = if label.message.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", label.message)
                };
                undrawn.push(format!(
                    "at {}:{line}:{column}{what}; the line is too long to show",
                    file.name
                ));
                continue;
            }
        }
        let text = (!label.message.is_empty()).then(|| label.message.clone());
        let span = LabeledSpan::new(text, range.start, range.len());
        match groups.iter_mut().find(|(id, _)| *id == source) {
            Some((_, spans)) => spans.push(span),
            None => groups.push((source, vec![span])),
        }
    }
    let mut help = diagnostic.help.clone().unwrap_or_default();
    for note in undrawn.iter().chain(&diagnostic.notes) {
        if !help.is_empty() {
            help.push('\n');
        }
        help.push_str(note);
    }
    let code = format!("seatplan::{}", diagnostic.code.as_str());
    let severity = miette_severity(diagnostic.severity);
    let named = |id: SourceId| {
        sources.get(id).map(|file| {
            NamedSource::new(file.name.clone(), file.text.to_string()).with_language("yaml")
        })
    };
    let mut groups = groups.into_iter();
    let (source, labels) = match groups.next() {
        Some((id, spans)) => (named(id), spans),
        None => (None, Vec::new()),
    };
    let related = groups
        .map(|(id, spans)| Report {
            code: code.clone(),
            severity: miette::Severity::Advice,
            message: format!(
                "see also {}",
                sources.get(id).map_or("", |file| file.name.as_str())
            ),
            help: None,
            source: named(id),
            labels: spans,
            related: Vec::new(),
        })
        .collect();
    Report {
        code,
        severity,
        message: diagnostic.message.clone(),
        help: (!help.is_empty()).then_some(help),
        source,
        labels,
        related,
    }
}

/// Draws one diagnostic as miette does (source excerpt, carets, help), ending with a newline.
pub fn render(diagnostic: &Diagnostic, sources: &Sources, style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false);
    let report = build(diagnostic, sources);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}: {}\n", report.code, report.message);
    }
    out
}

/// Draws several diagnostics, then a count line (`2 errors, 1 warning`).
pub fn render_all<'a>(
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
    sources: &Sources,
    style: Style,
) -> String {
    let mut out = String::new();
    let (mut errors, mut warnings) = (0, 0);
    let mut hidden = 0;
    for (index, diagnostic) in diagnostics.into_iter().enumerate() {
        match diagnostic.severity {
            Severity::Error => errors += 1,
            Severity::Warning => warnings += 1,
            Severity::Note => {}
        }
        if index < MAX_RENDERED {
            out.push_str(&render(diagnostic, sources, style));
            out.push('\n');
        } else {
            hidden += 1;
        }
    }
    if hidden > 0 {
        let what = if hidden == 1 {
            "diagnostic"
        } else {
            "diagnostics"
        };
        out.push_str(&format!(
            "… and {hidden} more {what} not shown (the first {MAX_RENDERED} are above)\n"
        ));
    }
    if errors + warnings > 0 {
        out.push_str(&format!(
            "{}, {}\n",
            plural(errors, "error"),
            plural(warnings, "warning")
        ));
    }
    out
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// The byte offset's 1-based line and column (in characters) in `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// A diagnostic as a JSON object: code, severity, message, help, notes and labels with file,
/// line, column and byte range.
pub fn to_json(diagnostic: &Diagnostic, sources: &Sources) -> Value {
    let labels: Vec<Value> = diagnostic
        .labels
        .iter()
        .filter_map(|label| {
            let (source, range) = sources.resolve(&label.location)?;
            let file = sources.get(source)?;
            let (line, column) = line_column(&file.text, range.start);
            Some(json!({
                "file": file.name,
                "line": line,
                "column": column,
                "offset": range.start,
                "length": range.len(),
                "message": label.message,
            }))
        })
        .collect();
    let mut object = json!({
        "code": diagnostic.code.as_str(),
        "severity": diagnostic.severity.as_str(),
        "message": diagnostic.message,
        "notes": diagnostic.notes,
    });
    if let (Some(help), Some(fields)) = (&diagnostic.help, object.as_object_mut()) {
        fields.insert("help".to_string(), Value::String(help.clone()));
    }
    // The first label's place, at the top for consumers that want one location per diagnostic
    // (absent when the diagnostic points at no file).
    if let (Some(first), Some(fields)) = (labels.first(), object.as_object_mut()) {
        for key in ["file", "line", "column"] {
            fields.insert(key.to_string(), first[key].clone());
        }
    }
    object["labels"] = Value::Array(labels);
    object
}

/// How many diagnostics become workflow commands: GitHub shows at most ten error and ten
/// warning annotations per step, so more would only fill the log.
const MAX_ANNOTATIONS: usize = 50;

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Diagnostics as GitHub Actions workflow commands (`::error file=…,line=…,col=…::…`), one line
/// each, so that they annotate the lines of a pull request's diff. Notes become `::notice`; the
/// message carries the help on a second line.
pub fn workflow_commands<'a>(
    diagnostics: impl IntoIterator<Item = &'a Diagnostic>,
    sources: &Sources,
) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics.into_iter().take(MAX_ANNOTATIONS) {
        let json = to_json(diagnostic, sources);
        let command = match diagnostic.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "notice",
        };
        let mut properties = Vec::new();
        if let Some(file) = json["file"].as_str() {
            properties.push(format!("file={}", escape_property(file)));
            properties.push(format!("line={}", json["line"]));
            properties.push(format!("col={}", json["column"]));
        }
        properties.push(format!(
            "title={}",
            escape_property(&format!("seatplan {}", diagnostic.code.as_str()))
        ));
        let mut message = diagnostic.message.clone();
        if let Some(help) = &diagnostic.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        out.push_str(&format!(
            "::{command} {}::{}\n",
            properties.join(","),
            escape_data(&message)
        ));
    }
    out
}

/// Diagnostics saved in a plan file (their JSON form), one block each: `severity[code]: message`,
/// the first location and the help.
pub fn json_summary(diagnostics: &[Value]) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        let text = |key: &str| diagnostic[key].as_str().unwrap_or_default().to_string();
        out.push_str(&format!(
            "{}[{}]: {}\n",
            text("severity"),
            text("code"),
            text("message")
        ));
        if let Some(label) = diagnostic["labels"]
            .as_array()
            .and_then(|labels| labels.first())
        {
            out.push_str(&format!(
                "  --> {}:{}:{}\n",
                label["file"].as_str().unwrap_or_default(),
                label["line"],
                label["column"]
            ));
        }
        if let Some(help) = diagnostic["help"].as_str() {
            out.push_str(&format!("  help: {help}\n"));
        }
        if let Some(notes) = diagnostic["notes"].as_array() {
            for note in notes.iter().filter_map(Value::as_str) {
                out.push_str(&format!("  {note}\n"));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::{Code, Location};

    #[test]
    fn workflow_commands_point_at_the_line_and_escape_what_github_parses() {
        let mut sources = Sources::new();
        let file = sources.add("seatplan/a,b.yaml", "version: 1\ngroups: 5\n");
        let located = Diagnostic::new(Code::Schema, "50% wrong:\nsee below")
            .with_label(Location::span(file, 19..20), "here")
            .with_help("fix it");
        let unlocated = Diagnostic::new(Code::UnmanagedGroup, "1 group is unmanaged")
            .with_severity(Severity::Note);
        assert_eq!(
            workflow_commands([&located, &unlocated], &sources),
            "::error file=seatplan/a%2Cb.yaml,line=2,col=9,title=seatplan schema::50%25 wrong:%0Asee below%0Ahelp: fix it\n\
             ::notice title=seatplan unmanaged-group::1 group is unmanaged\n"
        );
    }
}
