//! The columnar user table that compiled rules evaluate against. One column per property that any
//! user has a value for; strings are dictionary-encoded (`u32` codes, [`NULL_CODE`] for no value)
//! so that a predicate runs once per distinct value and then the codes are scanned; multi-valued
//! properties are offsets into one code array; booleans are two bit sets; dates are timestamps.
//! Users are dense `u32` indexes in the order they were pushed.
//!
//! Empty strings are stored as null: Graph does not keep empty strings, and the docs use
//! `-eq ""` and `-eq null` interchangeably (`assignedPlan.servicePlanId -eq ""` in older revisions).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use crate::hash::{Map, Set};
use fixedbitset::FixedBitSet;
use jiff::Timestamp;
use memchr::memmem;

use super::ast::PlanField;
use super::postings::Postings;
use super::property::{self, ObjectKind, PropertyId, PropertyName, PropertyType, PROPERTIES};

mod builder;

pub use builder::UserTableBuilder;

/// The code of "no value" in a string column.
pub const NULL_CODE: u32 = u32::MAX;

/// Why a value could not be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// The name is not a user property that rules can read.
    #[error("`{0}` is not a user property membership rules can use")]
    UnknownProperty(String),
    /// The property has another type than the setter stores.
    #[error("`{property}` is a {actual} property, not {expected}")]
    WrongType {
        /// The property's documented name.
        property: String,
        /// The property's type.
        actual: &'static str,
        /// What the setter stores.
        expected: &'static str,
    },
    /// A date property's value is not an RFC 3339 timestamp.
    #[error("`{value}` is not a timestamp (expected e.g. 2020-06-10T18:13:20Z) for `{property}`")]
    BadTimestamp {
        /// The property's documented name.
        property: String,
        /// The rejected text.
        value: String,
    },
    /// The user index was not returned by `push_user`.
    #[error("user {0} does not exist in the table")]
    UnknownUser(u32),
}

/// Distinct strings of one column, as written and lowercased (for case-insensitive comparison).
/// The lowercased strings are stored end to end in one text, each followed by [`SEPARATOR`], so
/// that a substring search runs once over all of them ([`Dictionary::containing`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Dictionary {
    pub(crate) values: Vec<Arc<str>>,
    lower_text: String,
    /// Where each code's lowercased string starts in `lower`.
    lower_starts: Vec<usize>,
}

/// Ends every lowercased string in [`Dictionary`]'s text: a needle without it cannot match across
/// two strings.
const SEPARATOR: char = '\0';

impl Dictionary {
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    fn push(&mut self, value: Arc<str>) {
        let start = self.lower_text.len();
        self.lower_starts.push(start);
        if value.is_ascii() {
            self.lower_text.push_str(&value);
            self.lower_text[start..].make_ascii_lowercase();
        } else {
            self.lower_text.push_str(&value.to_lowercase());
        }
        self.lower_text.push(SEPARATOR);
        self.values.push(value);
    }

    /// The value of `code` lowercased; panics for a code the dictionary does not have.
    pub(crate) fn lower(&self, code: usize) -> &str {
        let start = self.lower_starts[code];
        let next = self
            .lower_starts
            .get(code + 1)
            .copied()
            .unwrap_or(self.lower_text.len());
        &self.lower_text[start..next - SEPARATOR.len_utf8()]
    }

    /// The value of `code` as written and lowercased.
    pub(crate) fn get(&self, code: usize) -> Option<(&str, &str)> {
        let value = self.values.get(code)?;
        Some((value, self.lower(code)))
    }

    /// The codes whose lowercased value contains `needle` (lowercase already): one
    /// [`memmem`] search over the whole text, resumed after each hit at the next string.
    pub(crate) fn containing(&self, needle: &str) -> FixedBitSet {
        let mut found = FixedBitSet::with_capacity(self.len());
        if needle.is_empty() || needle.contains(SEPARATOR) {
            for code in 0..self.len() {
                found.set(code, self.lower(code).contains(needle));
            }
            return found;
        }
        let finder = memmem::Finder::new(needle.as_bytes());
        let text = self.lower_text.as_bytes();
        let mut from = 0;
        while let Some(offset) = text.get(from..).and_then(|rest| finder.find(rest)) {
            let at = from + offset;
            let code = self
                .lower_starts
                .partition_point(|start| *start <= at)
                .saturating_sub(1);
            found.insert(code);
            from = self
                .lower_starts
                .get(code + 1)
                .copied()
                .unwrap_or(text.len());
        }
        found
    }
}

#[derive(Debug, Clone, Default)]
struct DictionaryBuilder {
    dictionary: Dictionary,
    // The index shares each string with the dictionary: one allocation per distinct value (a
    // million users bring a million distinct object ids and UPNs).
    index: Map<Arc<str>, u32>,
}

impl DictionaryBuilder {
    fn intern(&mut self, value: &str) -> u32 {
        if let Some(code) = self.index.get(value) {
            return *code;
        }
        let code = u32::try_from(self.dictionary.len()).unwrap_or(NULL_CODE - 1);
        let shared: Arc<str> = Arc::from(value);
        self.index.insert(Arc::clone(&shared), code);
        self.dictionary.push(shared);
        code
    }
}

/// One property's values for every user. String, collection and plan columns carry their
/// users grouped by code ([`Postings`]), built on first use by the evaluator.
#[derive(Debug, Clone)]
pub(crate) enum Column {
    /// Single strings.
    Strings {
        codes: Vec<u32>,
        dictionary: Dictionary,
        postings: OnceLock<Postings>,
    },
    /// Booleans: `present` has a bit for users with a value, `value` for those whose value is true.
    Bools {
        present: FixedBitSet,
        value: FixedBitSet,
    },
    /// Timestamps.
    Dates { values: Vec<Option<Timestamp>> },
    /// String collections: user `u`'s codes are `codes[offsets[u]..offsets[u + 1]]`.
    Multi {
        offsets: Vec<usize>,
        codes: Vec<u32>,
        dictionary: Dictionary,
        postings: OnceLock<Postings>,
    },
    /// Assigned plans: each entry is the code of a distinct (servicePlanId, service,
    /// capabilityStatus) triple; the triple's parts are codes into `fields`.
    Plans {
        offsets: Vec<usize>,
        codes: Vec<u32>,
        triples: Vec<[u32; 3]>,
        fields: [Dictionary; 3],
        postings: OnceLock<Postings>,
    },
}

/// The documented name of a property as written by a caller, for error messages.
fn display_name(property: &str) -> String {
    match property::lookup(ObjectKind::User, property) {
        Some(id) => id.info().name.to_string(),
        None => match property::parse_extension(property) {
            Ok(Some(name)) => name.to_string(),
            _ => property.to_string(),
        },
    }
}

/// Which column a property's values live in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ColumnKey {
    Known(PropertyId),
    Extension(String),
}

impl ColumnKey {
    pub(crate) fn of(name: &PropertyName) -> ColumnKey {
        match name {
            PropertyName::Known(id) => ColumnKey::Known(*id),
            PropertyName::Extension { app_id, name } => {
                ColumnKey::Extension(format!("{app_id}_{name}"))
            }
        }
    }
}

/// The users' attributes, column by column; build it with [`UserTableBuilder`].
#[derive(Debug, Clone, Default)]
pub struct UserTable {
    users: usize,
    columns: Vec<Column>,
    known: Vec<Option<usize>>,
    extensions: HashMap<String, usize>,
    manager: Option<Column>,
}

impl UserTable {
    /// Number of users.
    pub fn len(&self) -> usize {
        self.users
    }

    /// True when the table has no users.
    pub fn is_empty(&self) -> bool {
        self.users == 0
    }

    /// The value of `property` for `user` as rules see it, written out for people: a string as
    /// is, `true`/`false`, an RFC 3339 timestamp, a collection as `[a, b]` (assigned plans as
    /// their service plan ids). `None` when the user has no value.
    pub fn value_text(&self, property: &PropertyName, user: u32) -> Option<String> {
        let user = user as usize;
        if user >= self.users {
            return None;
        }
        let list = |codes: &[u32], dictionary: &Dictionary| -> Option<String> {
            let values: Vec<&str> = codes
                .iter()
                .filter_map(|&code| dictionary.values.get(code as usize))
                .map(|value| &**value)
                .collect();
            (!values.is_empty()).then(|| format!("[{}]", values.join(", ")))
        };
        match self.column(&ColumnKey::of(property))? {
            Column::Strings {
                codes, dictionary, ..
            } => dictionary
                .values
                .get(*codes.get(user)? as usize)
                .map(|value| value.to_string()),
            Column::Bools { present, value } => present
                .contains(user)
                .then(|| value.contains(user).to_string()),
            Column::Dates { values } => {
                values.get(user).copied().flatten().map(|at| at.to_string())
            }
            Column::Multi {
                offsets,
                codes,
                dictionary,
                ..
            } => list(&codes[offsets[user]..offsets[user + 1]], dictionary),
            Column::Plans {
                offsets,
                codes,
                triples,
                fields,
                ..
            } => {
                let ids: Vec<u32> = codes[offsets[user]..offsets[user + 1]]
                    .iter()
                    .filter_map(|&code| triples.get(code as usize))
                    .map(|triple| triple[field_index(PlanField::ServicePlanId)])
                    .collect();
                list(&ids, &fields[field_index(PlanField::ServicePlanId)])
            }
        }
    }

    /// The object id of `user`'s manager, if known.
    pub fn manager_of(&self, user: u32) -> Option<&str> {
        match self.manager.as_ref()? {
            Column::Strings {
                codes, dictionary, ..
            } => dictionary
                .values
                .get(*codes.get(user as usize)? as usize)
                .map(|value| &**value),
            _ => None,
        }
    }

    pub(crate) fn column(&self, key: &ColumnKey) -> Option<&Column> {
        let index = match key {
            ColumnKey::Known(id) => self.known.get(usize::from(id.0)).copied().flatten()?,
            ColumnKey::Extension(name) => *self.extensions.get(name)?,
        };
        self.columns.get(index)
    }

    pub(crate) fn manager(&self) -> Option<&Column> {
        self.manager.as_ref()
    }
}

/// One assigned service plan of a user, as Graph's `assignedPlan` has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignedPlanValue<'a> {
    /// The service plan's GUID.
    pub service_plan_id: &'a str,
    /// The workload name (`exchange`, `SCO`, …), when known.
    pub service: Option<&'a str>,
    /// `Enabled`, `Warning`, `Suspended`, `LockedOut` or `Deleted`.
    pub capability_status: &'a str,
}

/// The index of a plan field in a [`Column::Plans`] triple.
pub(crate) fn field_index(field: PlanField) -> usize {
    match field {
        PlanField::ServicePlanId => 0,
        PlanField::Service => 1,
        PlanField::CapabilityStatus => 2,
    }
}

#[cfg(test)]
mod tests;
