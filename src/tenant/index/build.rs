//! Building the index of a tenant state: every user, group and subscription checked (ids,
//! names, countries), licenses and members resolved, recorded license states attached.

use super::*;

impl Tenant {
    /// Puts group `index` of a desired state in place (or appends it, for the index after the
    /// last group): its settings and licenses from `group`, its members resolved again when
    /// `members_changed`, else kept as indexed. Problems point at `/groups/{index}` of `source`.
    pub fn set_group(
        &mut self,
        catalog: &Catalog,
        index: usize,
        group: &GroupState,
        members_changed: bool,
        source: SourceId,
    ) -> Result<(), Diagnostics> {
        let at = |pointer: String| Location::node(source, pointer);
        let mut problems = Diagnostics::default();
        let licenses = resolve_licenses(catalog, &group.licenses, &mut problems, |position| {
            at(format!("/groups/{index}/licenses/{position}/sku"))
        });
        let existing = self.groups.get(index);
        let (members, member_groups) = match existing {
            Some(existing) if !members_changed => {
                (existing.members.clone(), existing.member_groups.clone())
            }
            _ => {
                let (users, groups, member_problems) = resolve_members(self, index, group, &at);
                problems.extend(member_problems);
                (users, groups)
            }
        };
        if problems.has_errors() {
            return Err(problems);
        }
        let resolved = Group::of(group, members, member_groups, licenses);
        match self.groups.get_mut(index) {
            Some(slot) => *slot = resolved,
            None => {
                self.add_group(resolved);
            }
        }
        Ok(())
    }

    /// Gives user `index` the usage location and direct licenses of `user` (a desired state's),
    /// copying the shared users only when something differs. Problems point at
    /// `/users/{index}` of `source`.
    pub fn set_user_licensing(
        &mut self,
        catalog: &Catalog,
        index: UserIdx,
        user: &UserState,
        source: SourceId,
    ) -> Result<(), Diagnostics> {
        let mut problems = Diagnostics::default();
        let direct = resolve_licenses(catalog, &user.licenses, &mut problems, |position| {
            Location::node(
                source,
                format!("/users/{}/licenses/{position}/sku", index.0),
            )
        });
        if problems.has_errors() {
            return Err(problems);
        }
        let location: Option<Box<str>> = user
            .usage_location
            .as_deref()
            .map(|code| code.to_ascii_uppercase().into());
        let current = self.user_at(index);
        if current.usage_location != location || current.direct != direct {
            let slot = self.user_mut(index);
            slot.usage_location = location;
            slot.direct = direct;
        }
        Ok(())
    }
}

/// Resolves the licenses of one group or user of a desired state; each that cannot be resolved
/// is reported at `at(position)` and left out.
fn resolve_licenses(
    catalog: &Catalog,
    licenses: &[AssignedLicense],
    problems: &mut Diagnostics,
    at: impl Fn(usize) -> Location,
) -> Vec<License> {
    let mut resolved: Vec<License> = Vec::with_capacity(licenses.len());
    for (position, assigned) in licenses.iter().enumerate() {
        match resolve_license(catalog, &assigned.sku, &assigned.disabled_plans, None) {
            // Graph's `assignedLicenses` holds a product once.
            Ok(license)
                if resolved
                    .iter()
                    .any(|earlier| earlier.product == license.product) =>
            {
                problems.push(reference(
                    at(position),
                    format!(
                        "`{}` is listed twice among the licenses: an assignment holds a product once",
                        assigned.sku
                    ),
                ));
            }
            Ok(license) => resolved.push(license),
            Err(message) => problems.push(reference(at(position), message)),
        }
    }
    resolved
}

/// Resolves one license of the state or config: the product and its enabled plans.
pub fn resolve_license(
    catalog: &Catalog,
    sku: &str,
    disabled: &[String],
    enabled_only: Option<&[String]>,
) -> Result<License, String> {
    let product = catalog
        .resolve_product(sku)
        .map_err(|suggestions| unknown("product", sku, &suggestions))?;
    let all = &catalog.product(product).plans;
    let resolve = |names: &[String]| -> Result<PlanSet, String> {
        let mut set = PlanSet::default();
        for name in names {
            // Names are resolved within the product first: Microsoft's data reuses a few plan
            // names for different plans (PROJECT_ESSENTIALS).
            let plan = match catalog.plan_in_product(product, name) {
                Some(plan) => plan,
                None => catalog
                    .resolve_plan(name)
                    .map_err(|suggestions| unknown("service plan", name, &suggestions))?,
            };
            set.insert(plan);
        }
        Ok(set)
    };
    let enabled = match enabled_only {
        Some(names) => {
            let chosen = resolve(names)?;
            all.iter()
                .copied()
                .filter(|plan| chosen.contains(*plan))
                .collect()
        }
        None => {
            let off = resolve(disabled)?;
            all.iter()
                .copied()
                .filter(|plan| !off.contains(*plan))
                .collect()
        }
    };
    Ok(License { product, enabled })
}

fn unknown(what: &str, name: &str, suggestions: &[String]) -> String {
    match suggestions.first() {
        Some(best) => format!("unknown {what} `{name}`; did you mean `{best}`?"),
        None => format!("unknown {what} `{name}`"),
    }
}

/// Builds the indexed tenant from its state file. Every referential problem is reported with a
/// pointer into `source`. Users, memberships and recorded states are resolved in parallel; the
/// diagnostics come out in file order whatever the scheduling.
pub fn build(
    state: &TenantState,
    catalog: &Catalog,
    source: SourceId,
) -> Result<Tenant, Diagnostics> {
    let mut problems = Diagnostics::default();
    let at = |pointer: String| Location::node(source, pointer);
    let mut tenant = Tenant {
        default_usage_location: state
            .tenant
            .default_usage_location
            .as_deref()
            .map(|code| code.to_ascii_uppercase().into()),
        seats: HashMap::new(),
        users: Arc::default(),
        groups: Vec::with_capacity(state.groups.len()),
        by_user: Arc::default(),
        by_group_id: Map::with_capacity_and_hasher(state.groups.len(), Default::default()),
        by_group_name: Map::default(),
    };
    if let Some(id) = &state.tenant.id {
        check_guid(&mut problems, || at("/tenant/id".into()), "tenant id", id);
    }
    if let Some(code) = &state.tenant.default_usage_location {
        check_country(
            &mut problems,
            || at("/tenant/default_usage_location".into()),
            code,
        );
    }
    for (index, subscription) in state.subscriptions.iter().enumerate() {
        if subscription.enabled > MAX_SEATS || subscription.warning > MAX_SEATS {
            problems.push(
                Diagnostic::new(
                    Code::TooLarge,
                    format!(
                        "subscription `{}` has {} seats; seatplan accepts at most {MAX_SEATS}",
                        subscription.sku, subscription.enabled
                    ),
                )
                .with_label(
                    at(format!("/subscriptions/{index}/enabled")),
                    "absurd seat count",
                )
                .with_help("the file is corrupted or was edited by hand: export the state again"),
            );
            continue;
        }
        // The skuId says which product, where a skuPartNumber names several (`MCOPSTN5`).
        let by_id = subscription
            .id
            .as_deref()
            .filter(|id| is_guid(id))
            .and_then(|id| catalog.resolve_product(id).ok())
            .filter(|&product| {
                catalog
                    .product(product)
                    .sku_part_number
                    .eq_ignore_ascii_case(&subscription.sku)
            });
        match by_id.map_or_else(|| catalog.resolve_product(&subscription.sku), Ok) {
            Ok(product) => {
                let expected = &catalog.product(product).id;
                if let Some(id) = &subscription.id {
                    if !is_guid(id) {
                        check_guid(
                            &mut problems,
                            || at(format!("/subscriptions/{index}/id")),
                            "subscription skuId",
                            id,
                        );
                        continue;
                    }
                    if !expected.is_empty() && !id.eq_ignore_ascii_case(expected) {
                        problems.push(reference(
                            at(format!("/subscriptions/{index}/id")),
                            format!(
                                "subscription `{}` has skuId `{id}`, but that product's skuId is `{expected}`",
                                subscription.sku
                            ),
                        ));
                        continue;
                    }
                }
                // Seats in their grace period are still assignable; suspended ones are not.
                let seats = tenant.seats.entry(product).or_default();
                *seats = seats
                    .saturating_add(subscription.enabled)
                    .saturating_add(subscription.warning);
            }
            Err(suggestions) => problems.push(reference(
                at(format!("/subscriptions/{index}/sku")),
                unknown("product", &subscription.sku, &suggestions),
            )),
        }
    }
    for (index, user) in state.users.iter().enumerate() {
        check_id(
            &mut problems,
            || at(format!("/users/{index}/id")),
            "user id",
            &user.id,
        );
        let _ = check_name(
            &mut problems,
            || at(format!("/users/{index}/upn")),
            "UPN",
            &user.upn,
        );
        if let Some(code) = &user.usage_location {
            check_country(
                &mut problems,
                || at(format!("/users/{index}/usage_location")),
                code,
            );
        }
    }
    // The users are built in place and their keys taken from them one at a time: a state of a
    // million users holds each user's strings once in the file's model and once here, and the
    // lookups own only lower-cased UPNs and 16-byte ids (hostile inputs of that size must load
    // within the memory bound of tests/hostile.rs).
    let (users, user_problems): (Vec<User>, Vec<Diagnostics>) = state
        .users
        .par_iter()
        .enumerate()
        .map(|(index, user)| {
            let mut problems = Diagnostics::default();
            let direct = resolve_licenses(catalog, &user.licenses, &mut problems, |position| {
                at(format!("/users/{index}/licenses/{position}/sku"))
            });
            let converted = User {
                id: user.id.as_str().into(),
                upn: user.upn.as_str().into(),
                usage_location: user
                    .usage_location
                    .as_deref()
                    .map(|code| code.to_ascii_uppercase().into()),
                direct,
                recorded: Vec::new(),
            };
            (converted, problems)
        })
        .unzip();
    let mut lookup = UserLookup {
        by_upn: Map::with_capacity_and_hasher(users.len(), Default::default()),
        by_id: Map::with_capacity_and_hasher(users.len(), Default::default()),
        upn_ranks: OnceLock::new(),
        sharing_proxy: sharing_proxy_addresses(&state.users),
    };
    for (index, (user, user_problems)) in users.iter().zip(user_problems).enumerate() {
        let idx = UserIdx(index as u32);
        if let Some(first) = lookup.by_upn.insert(lower(&user.upn).into(), idx) {
            problems.push(
                Diagnostic::new(
                    Code::TenantReference,
                    format!("two users have the UPN `{}`", user.upn),
                )
                .with_label(at(format!("/users/{index}/upn")), "second user")
                .with_label(at(format!("/users/{}/upn", first.0)), "first user")
                .with_help("a UPN names one user; fix the export or remove the duplicate"),
            );
        }
        // An id that is not a GUID was reported above and is not indexed.
        if let Some(key) = guid::parse(&user.id) {
            if lookup.by_id.insert(key, idx).is_some() {
                problems.push(reference(
                    at(format!("/users/{index}/id")),
                    format!("two users have the id `{}`", user.id),
                ));
            }
        }
        problems.extend(user_problems);
    }
    tenant.users = Arc::new(users);
    tenant.by_user = Arc::new(lookup);
    for (index, group) in state.groups.iter().enumerate() {
        let licenses = resolve_licenses(catalog, &group.licenses, &mut problems, |position| {
            at(format!("/groups/{index}/licenses/{position}/sku"))
        });
        check_id(
            &mut problems,
            || at(format!("/groups/{index}/id")),
            "group id",
            &group.id,
        );
        let _ = check_name(
            &mut problems,
            || at(format!("/groups/{index}/display_name")),
            "group display name",
            &group.display_name,
        );
        if tenant.group_by_id(&group.id).is_some() {
            problems.push(reference(
                at(format!("/groups/{index}/id")),
                format!("two groups have the id `{}`", group.id),
            ));
        }
        tenant.add_group(Group::of(group, Vec::new(), Vec::new(), licenses));
    }
    let resolved: Vec<(Vec<UserIdx>, Vec<GroupIdx>, Diagnostics)> = state
        .groups
        .par_iter()
        .enumerate()
        .map(|(index, group)| resolve_members(&tenant, index, group, &at))
        .collect();
    for (slot, (users, groups, group_problems)) in tenant.groups.iter_mut().zip(resolved) {
        slot.members = users;
        slot.member_groups = groups;
        problems.extend(group_problems);
    }
    let recorded: Vec<(Vec<Recorded>, Diagnostics)> = state
        .users
        .par_iter()
        .enumerate()
        .map(|(index, user)| recorded_states(&tenant, catalog, index, user, &at))
        .collect();
    for (slot, (recorded, user_problems)) in
        Arc::make_mut(&mut tenant.users).iter_mut().zip(recorded)
    {
        slot.recorded = recorded;
        problems.extend(user_problems);
    }
    if problems.has_errors() {
        return Err(problems);
    }
    Ok(tenant)
}

/// The users who share a proxy address with another user, addresses compared lower-cased. The
/// table holds (user, position) pairs and compares with the state's own addresses: no address is
/// copied (the index kept a lower-cased copy of every one, 90 MB at a million users, only for
/// this).
fn sharing_proxy_addresses(users: &[UserState]) -> Set<UserIdx> {
    let hasher = crate::hash::RandomState::default();
    let hash = |address: &str| with_lower(address, |key| hasher.hash_one(key));
    let address = |(user, position): (u32, u32)| -> &str {
        &users[user as usize].proxy_addresses[position as usize]
    };
    let count = users.iter().map(|user| user.proxy_addresses.len()).sum();
    let mut owners: hashbrown::HashTable<(u32, u32)> = hashbrown::HashTable::with_capacity(count);
    let mut sharing = Set::default();
    for (index, user) in users.iter().enumerate() {
        for (position, text) in user.proxy_addresses.iter().enumerate() {
            let hashed = hash(text);
            let owner = with_lower(text, |key| {
                owners
                    .find(hashed, |&entry| {
                        with_lower(address(entry), |other| other == key)
                    })
                    .map(|&(owner, _)| owner)
            });
            match owner {
                Some(owner) if owner as usize != index => {
                    sharing.insert(UserIdx(owner));
                    sharing.insert(UserIdx(index as u32));
                }
                Some(_) => {}
                None => {
                    owners.insert_unique(hashed, (index as u32, position as u32), |&entry| {
                        hash(address(entry))
                    });
                }
            }
        }
    }
    sharing
}

/// How many unknown members of one group get a "did you mean".
pub(super) const SUGGESTED_MEMBERS: usize = 10;

/// A group's members resolved to users and nested groups, with the problems of the group.
fn resolve_members(
    tenant: &Tenant,
    index: usize,
    group: &GroupState,
    at: &(dyn Fn(String) -> Location + Sync),
) -> (Vec<UserIdx>, Vec<GroupIdx>, Diagnostics) {
    let mut problems = Diagnostics::default();
    let mut users = Vec::with_capacity(group.members.len());
    let mut groups = Vec::new();
    for (position, member) in group.members.iter().enumerate() {
        if !member.contains('@') && !is_guid(member) {
            problems.push(id_format(
                at(format!("/groups/{index}/members/{position}")),
                format!(
                    "member `{member}` of group `{}` is not a UPN (it has no `@`), and as an \
                     object id it is not a GUID",
                    group.display_name
                ),
            ));
        } else if let Some(user) = tenant.user(member) {
            users.push(user);
        } else if let Some(nested) = tenant.group_by_id(member) {
            if nested.0 as usize == index {
                problems.push(reference(
                    at(format!("/groups/{index}/members/{position}")),
                    format!("group `{}` lists itself as a member", group.display_name),
                ));
                continue;
            }
            groups.push(nested);
        } else if problems.0.len() >= SUGGESTED_MEMBERS {
            // Past a few unknown members the suggestion search over every user would make a
            // broken file quadratic; the error alone is reported.
            problems.push(reference(
                at(format!("/groups/{index}/members/{position}")),
                format!(
                    "member `{member}` of group `{}` is neither a user nor a group of this tenant",
                    group.display_name
                ),
            ));
        } else {
            let upns = tenant.users.iter().map(|user| &*user.upn);
            let hint = did_you_mean(member, upns, 1)
                .first()
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_default();
            problems.push(reference(
                at(format!("/groups/{index}/members/{position}")),
                format!(
                    "member `{member}` of group `{}` is neither a user nor a group of this tenant{hint}",
                    group.display_name
                ),
            ));
        }
    }
    users.sort_unstable();
    users.dedup();
    groups.sort_unstable();
    groups.dedup();
    (users, groups, problems)
}

/// A user's recorded license states resolved to products and groups.
fn recorded_states(
    tenant: &Tenant,
    catalog: &Catalog,
    index: usize,
    user: &UserState,
    at: &(dyn Fn(String) -> Location + Sync),
) -> (Vec<Recorded>, Diagnostics) {
    let mut problems = Diagnostics::default();
    let mut recorded = Vec::with_capacity(user.license_states.len());
    for (position, entry) in user.license_states.iter().enumerate() {
        let pointer = || format!("/users/{index}/license_states/{position}");
        let Ok(product) = catalog.resolve_product(&entry.sku) else {
            problems.push(reference(
                at(format!("{}/sku", pointer())),
                format!("unknown product `{}`", entry.sku),
            ));
            continue;
        };
        let source = match &entry.via {
            None => Source::Direct,
            // The group's object id (Graph's `assignedByGroup`); older files name the group by
            // its display name, which is accepted while it is unambiguous.
            Some(via) => match tenant.group_by_id(via) {
                Some(group) => Source::Group(group),
                None => match tenant.groups_named(via) {
                    [group] => Source::Group(*group),
                    [] => {
                        problems.push(reference(
                            at(format!("{}/via", pointer())),
                            format!("no group has the id or the display name `{via}`"),
                        ));
                        continue;
                    }
                    several => {
                        let ids: Vec<&str> = several
                            .iter()
                            .map(|&group| &*tenant.group_at(group).id)
                            .collect();
                        problems.push(reference(
                            at(format!("{}/via", pointer())),
                            format!(
                                "several groups are named `{via}` (ids {}); write the group's \
                                 object id in `via` to say which one assigned this license",
                                ids.join(", ")
                            ),
                        ));
                        continue;
                    }
                },
            },
        };
        // Graph records why an assignment is in error; a state without it says nothing the
        // engine or a reprocess could act on.
        let in_error = matches!(
            entry.state,
            AssignmentState::Error | AssignmentState::ActiveWithError
        );
        if in_error && entry.error.is_none() {
            problems.push(reference(
                at(format!("{}/state", pointer())),
                format!(
                    "license state `{:?}` of `{}` without an `error`: Graph records why an assignment is in error",
                    entry.state, entry.sku
                ),
            ));
            continue;
        }
        recorded.push(Recorded {
            source,
            product,
            state: entry.state,
            error: entry.error,
        });
    }
    (recorded, problems)
}

fn reference(location: Location, message: String) -> Diagnostic {
    Diagnostic::new(Code::TenantReference, message)
        .with_label(location, "here")
        .with_help("the tenant state must be consistent: re-export it or fix the reference")
}

/// A usage location of the state must be an ISO 3166-1 alpha-2 code, as in the config (JSON state
/// files are not checked against the schema, so this is where both formats are checked).
/// The location is made only for a problem (a million users are checked).
fn check_country(problems: &mut Diagnostics, location: impl FnOnce() -> Location, code: &str) {
    if normalize_country(code).is_none() {
        problems.extend(usage_location_problem(code, location()));
    }
}

/// Object ids and skuIds are GUIDs in Entra (`8-4-4-4-12` hexadecimal digits, any case); an id of
/// another shape means the state was not exported from a tenant, or was edited by hand.
fn check_guid(
    problems: &mut Diagnostics,
    location: impl FnOnce() -> Location,
    what: &str,
    id: &str,
) {
    if !is_guid(id) {
        problems.push(id_format(
            location(),
            format!("the {what} `{id}` is not a GUID"),
        ));
    }
}

/// An object id is a sane name ([`check_name`]) and, if so, a GUID ([`check_guid`]).
fn check_id(problems: &mut Diagnostics, location: impl Fn() -> Location, what: &str, id: &str) {
    if check_name(problems, &location, what, id) {
        check_guid(problems, location, what, id);
    }
}

/// A `tenant-id-format` error at `location`.
fn id_format(location: Location, message: String) -> Diagnostic {
    Diagnostic::new(Code::TenantIdFormat, message)
        .with_label(location, "not a GUID")
        .with_help(
            "Entra object ids are GUIDs such as `62e19b97-8b3d-4d4a-a106-4ce66896a863`: export \
             the state again (`seatplan import graph`), or write the object's id as Entra shows it",
        )
}

/// Ids, UPNs and display names must be non-empty, of sane length, and free of control
/// characters (an escaped NUL or a terminal escape sequence is never part of a real name).
fn check_name(
    problems: &mut Diagnostics,
    location: impl FnOnce() -> Location,
    what: &str,
    name: &str,
) -> bool {
    let problem = if name.trim().is_empty() {
        Some("is empty".to_owned())
    } else if name.chars().count() > MAX_NAME_CHARS {
        Some(format!("is longer than {MAX_NAME_CHARS} characters"))
    } else {
        name.chars()
            .find(|c| c.is_control())
            .map(|c| format!("contains the control character U+{:04X}", u32::from(c)))
    };
    if let Some(problem) = problem {
        problems.push(
            Diagnostic::new(Code::InvalidName, format!("a {what} {problem}"))
                .with_label(location(), "here")
                .with_help("the file is corrupted or was edited by hand: export the state again"),
        );
        return false;
    }
    true
}
