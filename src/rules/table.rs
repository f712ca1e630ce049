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

#[derive(Debug, Clone)]
enum ColumnBuilder {
    Strings {
        codes: Vec<u32>,
        dictionary: DictionaryBuilder,
    },
    Bools {
        present: FixedBitSet,
        value: FixedBitSet,
    },
    Dates {
        values: Vec<Option<Timestamp>>,
    },
    Multi {
        entries: Vec<(u32, u32, u32)>,
        latest: Vec<u32>,
        dictionary: DictionaryBuilder,
    },
    Plans {
        entries: Vec<(u32, u32, u32)>,
        latest: Vec<u32>,
        triples: HashMap<[u32; 3], u32>,
        fields: Box<[DictionaryBuilder; 3]>,
    },
}

impl ColumnBuilder {
    fn new(ty: PropertyType) -> Self {
        match ty {
            PropertyType::String => ColumnBuilder::Strings {
                codes: Vec::new(),
                dictionary: DictionaryBuilder::default(),
            },
            PropertyType::Bool => ColumnBuilder::Bools {
                present: FixedBitSet::new(),
                value: FixedBitSet::new(),
            },
            PropertyType::DateTime => ColumnBuilder::Dates { values: Vec::new() },
            PropertyType::StringCollection | PropertyType::MemberOf => ColumnBuilder::Multi {
                entries: Vec::new(),
                latest: Vec::new(),
                dictionary: DictionaryBuilder::default(),
            },
            PropertyType::AssignedPlans => ColumnBuilder::Plans {
                entries: Vec::new(),
                latest: Vec::new(),
                triples: HashMap::new(),
                fields: Default::default(),
            },
        }
    }

    fn finish(self, users: usize) -> Column {
        match self {
            ColumnBuilder::Strings {
                mut codes,
                dictionary,
            } => {
                codes.resize(users, NULL_CODE);
                Column::Strings {
                    codes,
                    dictionary: dictionary.dictionary,
                    postings: OnceLock::new(),
                }
            }
            ColumnBuilder::Bools {
                mut present,
                mut value,
            } => {
                present.grow(users);
                value.grow(users);
                Column::Bools { present, value }
            }
            ColumnBuilder::Dates { mut values } => {
                values.resize(users, None);
                Column::Dates { values }
            }
            ColumnBuilder::Multi {
                entries,
                latest,
                dictionary,
            } => {
                let (offsets, codes) = collect_entries(entries, &latest, users);
                Column::Multi {
                    offsets,
                    codes,
                    dictionary: dictionary.dictionary,
                    postings: OnceLock::new(),
                }
            }
            ColumnBuilder::Plans {
                entries,
                latest,
                triples,
                fields,
            } => {
                let (offsets, codes) = collect_entries(entries, &latest, users);
                let mut ordered = vec![[NULL_CODE; 3]; triples.len()];
                for (triple, code) in triples {
                    ordered[code as usize] = triple;
                }
                let [a, b, c] = *fields;
                Column::Plans {
                    offsets,
                    codes,
                    triples: ordered,
                    fields: [a.dictionary, b.dictionary, c.dictionary],
                    postings: OnceLock::new(),
                }
            }
        }
    }
}

/// Keeps each user's latest batch of (user, batch, code) entries and lays them out by user.
fn collect_entries(
    mut entries: Vec<(u32, u32, u32)>,
    latest: &[u32],
    users: usize,
) -> (Vec<usize>, Vec<u32>) {
    entries.retain(|(user, batch, _)| latest.get(*user as usize) == Some(batch));
    entries.sort_by_key(|(user, _, _)| *user);
    let mut offsets = Vec::with_capacity(users + 1);
    let mut codes = Vec::with_capacity(entries.len());
    let mut cursor = entries.iter().peekable();
    for user in 0..users {
        offsets.push(codes.len());
        while let Some((_, _, code)) = cursor.next_if(|(owner, _, _)| *owner as usize == user) {
            codes.push(*code);
        }
    }
    offsets.push(codes.len());
    (offsets, codes)
}

/// What a builder does with a property's values.
#[derive(Debug, Clone, Copy)]
enum Resolved {
    /// Rules cannot read the property.
    Unknown,
    /// The builder keeps only other properties.
    Dropped,
    /// Stored in this column, of this type.
    Column(usize, PropertyType),
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

/// Builds a [`UserTable`]: push users, set their attributes by Graph property name
/// (case-insensitive), then `finish`.
#[derive(Debug, Clone, Default)]
pub struct UserTableBuilder {
    users: u32,
    columns: Vec<ColumnBuilder>,
    known: Vec<Option<usize>>,
    extensions: HashMap<String, usize>,
    resolved: Map<Box<str>, Resolved>,
    wanted: Option<Set<ColumnKey>>,
    manager: Option<ColumnBuilder>,
}

impl UserTableBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        UserTableBuilder {
            known: vec![None; PROPERTIES.len()],
            ..UserTableBuilder::default()
        }
    }

    /// An empty builder that keeps only the columns of `properties` (those some rule reads):
    /// values of other properties are accepted and dropped, as if rules could not see them. A
    /// million users' object ids, UPNs and mail addresses are not interned for rules that never
    /// read them. The manager (for `Direct Reports for`) is always kept.
    pub fn only<'a>(properties: impl IntoIterator<Item = &'a PropertyName>) -> Self {
        UserTableBuilder {
            wanted: Some(properties.into_iter().map(ColumnKey::of).collect()),
            ..UserTableBuilder::new()
        }
    }

    /// Adds a user with no attributes and returns its index.
    pub fn push_user(&mut self) -> u32 {
        let user = self.users;
        self.users += 1;
        user
    }

    /// Number of users pushed so far.
    pub fn len(&self) -> usize {
        self.users as usize
    }

    /// True when no user was pushed.
    pub fn is_empty(&self) -> bool {
        self.users == 0
    }

    fn check_user(&self, user: u32) -> Result<usize, TableError> {
        if user < self.users {
            Ok(user as usize)
        } else {
            Err(TableError::UnknownUser(user))
        }
    }

    /// The column `property`'s values go to; `Ok(None)` when the builder drops the property
    /// ([`UserTableBuilder::only`]).
    fn column_for(
        &mut self,
        property: &str,
        expected: &'static str,
        accepts: fn(PropertyType) -> bool,
    ) -> Result<Option<&mut ColumnBuilder>, TableError> {
        // Every user sets the same dozen names: each is resolved once.
        let resolved = match self.resolved.get(property) {
            Some(resolved) => *resolved,
            None => {
                let resolved = self.resolve(property);
                self.resolved.insert(property.into(), resolved);
                resolved
            }
        };
        match resolved {
            Resolved::Unknown => Err(TableError::UnknownProperty(property.to_string())),
            Resolved::Dropped => Ok(None),
            Resolved::Column(_, ty) if !accepts(ty) => Err(TableError::WrongType {
                property: display_name(property),
                actual: ty.describe(),
                expected,
            }),
            Resolved::Column(index, _) => Ok(Some(&mut self.columns[index])),
        }
    }

    /// Where `property`'s values go, creating its column on first use.
    fn resolve(&mut self, property: &str) -> Resolved {
        let (key, ty) = match property::lookup(ObjectKind::User, property) {
            Some(id) => (ColumnKey::Known(id), id.info().ty),
            None => match property::parse_extension(property) {
                Ok(Some(name)) => (ColumnKey::of(&name), PropertyType::String),
                _ => return Resolved::Unknown,
            },
        };
        if self
            .wanted
            .as_ref()
            .is_some_and(|wanted| !wanted.contains(&key))
        {
            return Resolved::Dropped;
        }
        let slot = match &key {
            ColumnKey::Known(id) => self.known[usize::from(id.0)],
            ColumnKey::Extension(name) => self.extensions.get(name).copied(),
        };
        let index = match slot {
            Some(index) => index,
            None => {
                let index = self.columns.len();
                self.columns.push(ColumnBuilder::new(ty));
                match key {
                    ColumnKey::Known(id) => self.known[usize::from(id.0)] = Some(index),
                    ColumnKey::Extension(name) => {
                        self.extensions.insert(name, index);
                    }
                }
                index
            }
        };
        Resolved::Column(index, ty)
    }

    /// Sets a string property (or a date property, from an RFC 3339 timestamp). An empty string
    /// is null.
    pub fn set_string(&mut self, user: u32, property: &str, value: &str) -> Result<(), TableError> {
        let index = self.check_user(user)?;
        let Some(column) = self.column_for(property, "a string", |ty| {
            matches!(ty, PropertyType::String | PropertyType::DateTime)
        })?
        else {
            return Ok(());
        };
        match column {
            ColumnBuilder::Strings { codes, dictionary } => {
                if codes.len() <= index {
                    codes.resize(index + 1, NULL_CODE);
                }
                codes[index] = if value.is_empty() {
                    NULL_CODE
                } else {
                    dictionary.intern(value)
                };
                Ok(())
            }
            ColumnBuilder::Dates { values } => {
                let parsed = if value.is_empty() {
                    None
                } else {
                    Some(
                        value
                            .parse::<Timestamp>()
                            .map_err(|_| TableError::BadTimestamp {
                                property: display_name(property),
                                value: value.to_string(),
                            })?,
                    )
                };
                if values.len() <= index {
                    values.resize(index + 1, None);
                }
                values[index] = parsed;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Sets a date property.
    pub fn set_datetime(
        &mut self,
        user: u32,
        property: &str,
        value: Timestamp,
    ) -> Result<(), TableError> {
        let index = self.check_user(user)?;
        let Some(column) =
            self.column_for(property, "a date", |ty| ty == PropertyType::DateTime)?
        else {
            return Ok(());
        };
        if let ColumnBuilder::Dates { values } = column {
            if values.len() <= index {
                values.resize(index + 1, None);
            }
            values[index] = Some(value);
        }
        Ok(())
    }

    /// Sets a boolean property.
    pub fn set_bool(&mut self, user: u32, property: &str, value: bool) -> Result<(), TableError> {
        let index = self.check_user(user)?;
        let Some(column) = self.column_for(property, "a boolean", |ty| ty == PropertyType::Bool)?
        else {
            return Ok(());
        };
        if let ColumnBuilder::Bools {
            present,
            value: values,
        } = column
        {
            if present.len() <= index {
                present.grow(index + 1);
                values.grow(index + 1);
            }
            present.insert(index);
            values.set(index, value);
        }
        Ok(())
    }

    /// Sets a multi-valued string property (`otherMails`, `proxyAddresses`), replacing earlier
    /// values. Empty strings are skipped.
    pub fn set_strings<S: AsRef<str>>(
        &mut self,
        user: u32,
        property: &str,
        values: &[S],
    ) -> Result<(), TableError> {
        let index = self.check_user(user)?;
        let Some(column) = self.column_for(property, "a string collection", |ty| {
            ty == PropertyType::StringCollection
        })?
        else {
            return Ok(());
        };
        if let ColumnBuilder::Multi {
            entries,
            latest,
            dictionary,
        } = column
        {
            let batch = next_batch(latest, index);
            for value in values {
                let value = value.as_ref();
                if !value.is_empty() {
                    entries.push((user, batch, dictionary.intern(value)));
                }
            }
        }
        Ok(())
    }

    /// Sets `assignedPlans` from (servicePlanId, capabilityStatus) pairs, replacing earlier
    /// values; `assignedPlan.service` is null for these plans.
    pub fn set_assigned_plans(
        &mut self,
        user: u32,
        plans: &[(&str, &str)],
    ) -> Result<(), TableError> {
        let plans: Vec<AssignedPlanValue<'_>> = plans
            .iter()
            .map(|(service_plan_id, capability_status)| AssignedPlanValue {
                service_plan_id,
                service: None,
                capability_status,
            })
            .collect();
        self.set_assigned_plan_values(user, &plans)
    }

    /// Sets `assignedPlans` with every field of Graph's `assignedPlan`, replacing earlier values.
    pub fn set_assigned_plan_values(
        &mut self,
        user: u32,
        plans: &[AssignedPlanValue<'_>],
    ) -> Result<(), TableError> {
        let index = self.check_user(user)?;
        let Some(column) = self.column_for("assignedPlans", "assigned plans", |ty| {
            ty == PropertyType::AssignedPlans
        })?
        else {
            return Ok(());
        };
        if let ColumnBuilder::Plans {
            entries,
            latest,
            triples,
            fields,
        } = column
        {
            let batch = next_batch(latest, index);
            for plan in plans {
                let mut triple = [NULL_CODE; 3];
                for field in PlanField::ALL {
                    let text = match field {
                        PlanField::ServicePlanId => Some(plan.service_plan_id),
                        PlanField::Service => plan.service,
                        PlanField::CapabilityStatus => Some(plan.capability_status),
                    };
                    if let Some(text) = text.filter(|text| !text.is_empty()) {
                        triple[field_index(field)] = fields[field_index(field)].intern(text);
                    }
                }
                let next = u32::try_from(triples.len()).unwrap_or(NULL_CODE - 1);
                let code = *triples.entry(triple).or_insert(next);
                entries.push((user, batch, code));
            }
        }
        Ok(())
    }

    /// Sets the user's manager by object id, for `Direct Reports for "<id>"`.
    pub fn set_manager(&mut self, user: u32, manager_object_id: &str) -> Result<(), TableError> {
        let index = self.check_user(user)?;
        let column = self.manager.get_or_insert_with(|| ColumnBuilder::Strings {
            codes: Vec::new(),
            dictionary: DictionaryBuilder::default(),
        });
        if let ColumnBuilder::Strings { codes, dictionary } = column {
            if codes.len() <= index {
                codes.resize(index + 1, NULL_CODE);
            }
            codes[index] = if manager_object_id.is_empty() {
                NULL_CODE
            } else {
                dictionary.intern(&manager_object_id.to_ascii_lowercase())
            };
        }
        Ok(())
    }

    /// The finished table.
    pub fn finish(self) -> UserTable {
        let users = self.users as usize;
        UserTable {
            users,
            columns: self
                .columns
                .into_iter()
                .map(|column| column.finish(users))
                .collect(),
            known: self.known,
            extensions: self.extensions,
            manager: self.manager.map(|column| column.finish(users)),
        }
    }
}

/// The index of a plan field in a [`Column::Plans`] triple.
pub(crate) fn field_index(field: PlanField) -> usize {
    match field {
        PlanField::ServicePlanId => 0,
        PlanField::Service => 1,
        PlanField::CapabilityStatus => 2,
    }
}

/// Starts a new batch of values for `user` (a later `set_*` replaces an earlier one).
fn next_batch(latest: &mut Vec<u32>, user: usize) -> u32 {
    if latest.len() <= user {
        latest.resize(user + 1, 0);
    }
    latest[user] += 1;
    latest[user]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_written_out_as_rules_see_them() {
        let mut builder = UserTableBuilder::new();
        let a = builder.push_user();
        let b = builder.push_user();
        builder
            .set_datetime(
                a,
                "employeeHireDate",
                "2020-06-10T18:13:20Z".parse().unwrap(),
            )
            .unwrap();
        builder
            .set_strings(a, "otherMails", &["x@contoso.com", "y@contoso.com"])
            .unwrap();
        builder
            .set_assigned_plans(a, &[("efb87545-963c-4e0d-99df-69c6916d9eb0", "Enabled")])
            .unwrap();
        builder.set_bool(b, "accountEnabled", false).unwrap();
        let table = builder.finish();
        let name = |text: &str| {
            PropertyName::Known(property::lookup(ObjectKind::User, text).expect("known property"))
        };
        let value = |text: &str, user: u32| table.value_text(&name(text), user);
        assert_eq!(
            value("employeeHireDate", a).as_deref(),
            Some("2020-06-10T18:13:20Z")
        );
        assert_eq!(
            value("otherMails", a).as_deref(),
            Some("[x@contoso.com, y@contoso.com]")
        );
        assert_eq!(
            value("assignedPlans", a).as_deref(),
            Some("[efb87545-963c-4e0d-99df-69c6916d9eb0]")
        );
        assert_eq!(value("accountEnabled", b).as_deref(), Some("false"));
        assert_eq!(value("accountEnabled", a), None);
        assert_eq!(value("otherMails", b), None);
        assert_eq!(value("department", a), None, "no column at all");
        assert_eq!(value("otherMails", 7), None, "no such user");
        assert_eq!(table.manager_of(a), None);
    }

    #[test]
    fn strings_are_dictionary_encoded() {
        let mut builder = UserTableBuilder::new();
        let a = builder.push_user();
        let b = builder.push_user();
        let c = builder.push_user();
        builder.set_string(a, "Department", "Sales").unwrap();
        builder.set_string(c, "department", "Sales").unwrap();
        builder.set_string(b, "DEPARTMENT", "").unwrap();
        let table = builder.finish();
        let id = property::lookup(ObjectKind::User, "department").unwrap();
        let Some(Column::Strings {
            codes, dictionary, ..
        }) = table.column(&ColumnKey::Known(id))
        else {
            panic!("string column expected");
        };
        assert_eq!(codes, &vec![0, NULL_CODE, 0]);
        assert_eq!(dictionary.len(), 1);
        assert_eq!(dictionary.lower(0), "sales");
    }

    #[test]
    fn multi_values_replace_and_lay_out_by_user() {
        let mut builder = UserTableBuilder::new();
        let a = builder.push_user();
        let b = builder.push_user();
        builder
            .set_strings(b, "otherMails", &["x@a", "y@a"])
            .unwrap();
        builder.set_strings(a, "otherMails", &["old@a"]).unwrap();
        builder.set_strings(a, "othermails", &["new@a"]).unwrap();
        let table = builder.finish();
        let id = property::lookup(ObjectKind::User, "otherMails").unwrap();
        let Some(Column::Multi {
            offsets,
            codes,
            dictionary,
            ..
        }) = table.column(&ColumnKey::Known(id))
        else {
            panic!("multi column expected");
        };
        assert_eq!(offsets, &vec![0, 1, 3]);
        let values: Vec<&str> = codes
            .iter()
            .map(|code| &*dictionary.values[*code as usize])
            .collect();
        assert_eq!(values, vec!["new@a", "x@a", "y@a"]);
    }

    #[test]
    fn setters_check_names_types_and_users() {
        let mut builder = UserTableBuilder::new();
        let user = builder.push_user();
        assert!(matches!(
            builder.set_string(user, "officeLocation", "x"),
            Err(TableError::UnknownProperty(_))
        ));
        assert!(matches!(
            builder.set_string(user, "accountEnabled", "true"),
            Err(TableError::WrongType { .. })
        ));
        assert!(matches!(
            builder.set_string(user, "employeeHireDate", "yesterday"),
            Err(TableError::BadTimestamp { .. })
        ));
        assert_eq!(
            builder.set_bool(7, "accountEnabled", true),
            Err(TableError::UnknownUser(7))
        );
        builder
            .set_string(
                user,
                "extension_c272a57b722d4eb29bfe327874ae79cb_OfficeNumber",
                "12",
            )
            .unwrap();
    }

    #[test]
    fn substring_search_finds_every_value_once() {
        let mut dictionary = Dictionary::default();
        for value in ["a", "AA", "aaa", "b\0a", "", "İx", "ba"] {
            dictionary.push(value.into());
        }
        let found = |needle: &str| dictionary.containing(needle).ones().collect::<Vec<_>>();
        // A hit reaching into the next value is not one; the next value is searched from its start.
        assert_eq!(found("aa"), [1, 2]);
        assert_eq!(found("a"), [0, 1, 2, 3, 6]);
        assert_eq!(
            found("b\0"),
            [3],
            "a needle with the separator is searched value by value"
        );
        assert_eq!(found(""), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(found("i̇x"), [5], "lowercased İ is longer than İ");
        assert_eq!(dictionary.lower(1), "aa");
        assert_eq!(dictionary.lower(4), "");
        assert_eq!(dictionary.get(3), Some(("b\0a", "b\0a")));
        assert_eq!(dictionary.get(7), None);
    }

    proptest::proptest! {
        #[test]
        fn substring_search_agrees_with_each_value(
            values in proptest::collection::vec("[aAbİ\0.]{0,6}", 0..40),
            needle in "[abi̇\0.]{0,3}",
        ) {
            let mut dictionary = Dictionary::default();
            for value in &values {
                dictionary.push(value.as_str().into());
            }
            let expected: Vec<usize> = (0..values.len())
                .filter(|code| values[*code].to_lowercase().contains(&needle))
                .collect();
            proptest::prop_assert_eq!(dictionary.containing(&needle).ones().collect::<Vec<_>>(), expected);
        }
    }
}
