//! Building a [`UserTable`] user by user: columns grow as properties appear, strings are
//! dictionary-encoded when the table is finished.

use super::*;

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
/// Starts a new batch of values for `user` (a later `set_*` replaces an earlier one).
fn next_batch(latest: &mut Vec<u32>, user: usize) -> u32 {
    if latest.len() <= user {
        latest.resize(user + 1, 0);
    }
    latest[user] += 1;
    latest[user]
}
