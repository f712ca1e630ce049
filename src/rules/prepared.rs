//! Rules prepared once: each distinct rule text of a plan parsed, compiled, its properties and
//! canonical form known, and shared by everything that reads rules — the user table (which
//! columns to build), membership evaluation (the compiled rule, whether it reads other groups)
//! and the diff (rules are compared by their canonical form). A state and its config name the
//! same rules, so a plan of 1,000 dynamic groups parses 1,000 texts once each instead of three to
//! five times.

use std::borrow::Cow;

use rayon::prelude::*;

use crate::hash::Map;

use super::property::{PropertyName, PropertyType};
use super::{parse, print, CompiledRule, Rule, RuleError};

/// One rule text, prepared.
#[derive(Debug, Clone)]
pub struct PreparedRule {
    /// The parsed rule, or why it does not parse.
    pub parsed: Result<Rule, RuleError>,
    /// The rule lowered for evaluation, or why it cannot be (it does not parse, or it selects
    /// devices).
    pub compiled: Result<CompiledRule, RuleError>,
    /// The user properties the rule reads (none when it does not parse).
    pub properties: Vec<PropertyName>,
    /// The canonical text ([`print`]); the text itself when the rule does not parse.
    pub canonical: String,
}

impl PreparedRule {
    /// Parses, compiles and describes `text`.
    pub fn new(text: &str) -> PreparedRule {
        let parsed = parse(text);
        let compiled = parsed
            .as_ref()
            .map_err(Clone::clone)
            .and_then(CompiledRule::compile);
        let (properties, canonical) = match &parsed {
            Ok(rule) => (rule.properties(), print(rule)),
            Err(_) => (Vec::new(), text.to_string()),
        };
        PreparedRule {
            parsed,
            compiled,
            properties,
            canonical,
        }
    }

    /// Whether the rule reads other groups' members (`memberOf`), whose results change when
    /// those groups do; a rule that does not parse counts as reading them (nothing is reused
    /// for it).
    pub fn reads_other_groups(&self) -> bool {
        self.parsed.is_err()
            || self
                .properties
                .iter()
                .any(|property| property.ty() == PropertyType::MemberOf)
    }
}

/// The prepared rules of a plan, by text.
#[derive(Debug, Default)]
pub struct RuleBook {
    by_text: Map<Box<str>, PreparedRule>,
}

impl RuleBook {
    /// Prepares every distinct text of `texts` (in parallel: a large config has thousands).
    pub fn new<'a>(texts: impl IntoIterator<Item = &'a str>) -> RuleBook {
        let mut distinct: Vec<&str> = texts.into_iter().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let by_text = distinct
            .into_par_iter()
            .map(|text| (Box::from(text), PreparedRule::new(text)))
            .collect::<Vec<_>>()
            .into_iter()
            .collect();
        RuleBook { by_text }
    }

    /// This book and every distinct text of `texts` it does not hold yet, prepared.
    pub fn with<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> RuleBook {
        let missing = RuleBook::new(
            texts
                .into_iter()
                .filter(|text| !self.by_text.contains_key(*text)),
        );
        let mut by_text = self.by_text.clone();
        by_text.extend(missing.by_text);
        RuleBook { by_text }
    }

    /// The prepared form of `text`: the book's, or prepared now for a text it does not hold.
    pub fn get(&self, text: &str) -> Cow<'_, PreparedRule> {
        match self.by_text.get(text) {
            Some(prepared) => Cow::Borrowed(prepared),
            None => Cow::Owned(PreparedRule::new(text)),
        }
    }

    /// Every property some rule of the book reads (with repeats).
    pub fn properties(&self) -> impl Iterator<Item = &PropertyName> {
        self.by_text
            .values()
            .flat_map(|prepared| prepared.properties.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_text_is_prepared_once_and_known_texts_are_borrowed() {
        let book = RuleBook::new([
            r#"user.department -eq "Sales""#,
            r#"user.department -eq "Sales""#,
            r#"user.memberOf -any (group.objectId -in ['g'])"#,
            "user.department -eq",
        ]);
        assert_eq!(book.by_text.len(), 3);
        let sales = book.get(r#"user.department -eq "Sales""#);
        assert!(matches!(sales, Cow::Borrowed(_)));
        assert!(sales.compiled.is_ok());
        assert_eq!(
            sales.canonical,
            print(&parse(r#"user.department -eq "Sales""#).unwrap())
        );
        assert!(!sales.reads_other_groups());
        let member_of = book.get(r#"user.memberOf -any (group.objectId -in ['g'])"#);
        assert!(member_of.parsed.is_ok());
        assert!(member_of.reads_other_groups());
        let broken = book.get("user.department -eq");
        assert!(broken.parsed.is_err() && broken.compiled.is_err());
        assert_eq!(broken.canonical, "user.department -eq");
        assert!(broken.reads_other_groups());
        let unknown = book.get(r#"user.city -eq "Oslo""#);
        assert!(matches!(unknown, Cow::Owned(_)));
        assert_eq!(unknown.properties.len(), 1);
        assert_eq!(book.properties().count(), 2);
    }

    #[test]
    fn a_device_rule_parses_but_does_not_compile() {
        let book = RuleBook::new([r#"device.deviceOSType -eq "Windows""#]);
        let device = book.get(r#"device.deviceOSType -eq "Windows""#);
        assert!(device.parsed.is_ok());
        assert!(device.compiled.is_err());
    }
}
