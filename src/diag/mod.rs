//! The one diagnostic type of seatplan: a code, a severity, a message, labelled locations and a help
//! line. It holds no source text; locations name a registered source and are resolved to line and
//! column only when a diagnostic is rendered (`crate::render::diagnostics`).

mod code;
mod suggest;

pub use code::{Code, Severity};
pub use suggest::{did_you_mean, edit_distance};

pub use crate::source::Location;

/// A labelled location: what the caret points at and the words printed beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// What the label points at.
    pub location: Location,
    /// The text printed at the caret (may be empty).
    pub message: String,
}

/// A finding about the input or about a plan, reported to the user through miette or JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code (`license-loss`, `schema`, …).
    pub code: Code,
    /// Error, warning or note; starts as the code's default.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// The places in the input that the message is about; the first is the primary one.
    pub labels: Vec<Label>,
    /// What to do about it.
    pub help: Option<String>,
    /// Extra detail lines (affected users, numbers), printed after the help.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// A diagnostic with `code`'s default severity and the given message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    /// Adds a label at `location` with `message` beside the caret.
    pub fn with_label(mut self, location: Location, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            location,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a detail line.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Overrides the severity (a check that the user allowed becomes a warning, for example).
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// True when this diagnostic rejects the input or the plan.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// A list of diagnostics returned by a stage that collects every problem instead of stopping at
/// the first one.
/// The most diagnostics a [`Diagnostics`] keeps: a hostile input (a million unknown members)
/// must not build a million diagnostics. [`Diagnostics::push`] beyond it keeps one note saying so.
pub const MAX_DIAGNOSTICS: usize = 1000;

/// A list of diagnostics returned by a stage that collects every problem instead of stopping at
/// the first one (at most [`MAX_DIAGNOSTICS`] of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds one diagnostic.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        match self.0.len().cmp(&MAX_DIAGNOSTICS) {
            std::cmp::Ordering::Less => self.0.push(diagnostic),
            std::cmp::Ordering::Equal => self.0.push(
                Diagnostic::new(
                    diagnostic.code,
                    format!("more than {MAX_DIAGNOSTICS} problems; the rest are not listed"),
                )
                .with_severity(diagnostic.severity)
                .with_help("fix the problems listed, then run again to see the rest"),
            ),
            std::cmp::Ordering::Greater => {
                // The summary stands for everything dropped: an error among them keeps the
                // whole list failing.
                if let Some(summary) = self.0.last_mut() {
                    summary.severity = summary.severity.min(diagnostic.severity);
                }
            }
        }
    }

    /// Adds all diagnostics of `other`.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        for diagnostic in other {
            self.push(diagnostic);
        }
    }

    /// Whether the list is at [`MAX_DIAGNOSTICS`]: further pushes are only counted, so callers may
    /// skip the work of describing them (suggestions, locations).
    pub fn is_full(&self) -> bool {
        self.0.len() >= MAX_DIAGNOSTICS
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// True when there are no diagnostics at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the diagnostics in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(diagnostic: Diagnostic) -> Self {
        Diagnostics(vec![diagnostic])
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_diagnostics_is_capped_and_an_error_beyond_the_cap_still_fails() {
        let mut problems = Diagnostics::default();
        for _ in 0..MAX_DIAGNOSTICS + 10 {
            problems
                .push(Diagnostic::new(Code::UnmanagedGroup, "w").with_severity(Severity::Warning));
        }
        assert_eq!(problems.0.len(), MAX_DIAGNOSTICS + 1);
        assert!(!problems.has_errors());
        problems.extend([Diagnostic::new(Code::UserReference, "e")]);
        assert_eq!(problems.0.len(), MAX_DIAGNOSTICS + 1);
        assert!(problems.has_errors());
        assert!(problems.0[MAX_DIAGNOSTICS].message.contains("not listed"));
    }
}
