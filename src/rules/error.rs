//! The error of parsing or compiling a rule: a code, the service's wording where Microsoft
//! documents it, the byte range of the offending token inside the rule, a label and a help line.
//! It turns into a [`Diagnostic`] once the caller says where the rule text lives (a standalone
//! source or a string inside a YAML file).

use std::fmt;
use std::ops::Range;

use crate::diag::{Code, Diagnostic, Location};

use super::ast::Span;

/// The service's error texts (grammar notes §8), used as messages so that users recognise them.
pub mod wording {
    /// Unknown property.
    pub const ATTRIBUTE_NOT_SUPPORTED: &str = "Attribute not supported.";
    /// Operator not valid for the property's type.
    pub const OPERATOR_NOT_SUPPORTED: &str = "Operator isn't supported on attribute.";
    /// Missing `-and`/`-or`, invalid regular expression.
    pub const QUERY_COMPILATION: &str = "Query compilation error.";
    /// Missing whitespace, typographic characters, malformed comparison.
    pub const BINARY_EXPRESSION: &str = "Binary expression is not in right format.";
    /// A value of the wrong kind for the property or operator.
    pub const VALUE_NOT_APPLICABLE: &str = "Value can't be applied to property.";
    /// Wrong operands of `-any`/`-all`.
    pub const INVALID_OPERANDS: &str = "Invalid operands found for operator.";
}

/// Why a rule was rejected, with the range of the offending text inside the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The diagnostic code.
    pub code: Code,
    /// One sentence; the service's wording where the grammar notes give it.
    pub message: String,
    /// Byte range inside the rule text.
    pub range: Range<usize>,
    /// Text printed at the caret.
    pub label: String,
    /// What to do about it.
    pub help: Option<String>,
}

impl RuleError {
    /// An error with `code` and `message` at `span`, labelled `label`.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        RuleError {
            code,
            message: message.into(),
            range: span.range(),
            label: label.into(),
            help: None,
        }
    }

    /// Sets the help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The diagnostic for this error; `locate` maps the range inside the rule to a location
    /// (`|range| Location::span(source, range)` for a rule typed on the command line,
    /// `|range| Location::inside(source, pointer, range)` for a rule in a YAML file).
    pub fn to_diagnostic(&self, locate: impl FnOnce(Range<usize>) -> Location) -> Diagnostic {
        let mut diagnostic = Diagnostic::new(self.code, self.message.clone())
            .with_label(locate(self.range.clone()), self.label.clone());
        if let Some(help) = &self.help {
            diagnostic = diagnostic.with_help(help.clone());
        }
        diagnostic
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} at bytes {}..{})",
            self.message, self.label, self.range.start, self.range.end
        )
    }
}

impl std::error::Error for RuleError {}
