//! The planner's safety checks (SPEC §3). Each check is a function from the plan's context to
//! diagnostics with the codes of the contract, pointing at the config node that causes them and
//! saying what to do. Only what the plan *changes* is an error; what is wrong already is a warning.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, PlanSet, ProductId};
use crate::config::{LoadedConfig, MemberSpec, RemovalLimit};
use crate::diag::{Code, Diagnostic, Location, Severity};
use crate::engine::{AssignmentOutcome, Outcome};
use crate::plan::desired::Desired;
use crate::plan::diff::group_address;
use crate::plan::document::{Change, Op};
use crate::plan::impact::PlanChange;
use crate::plan::simulate::PhaseOutcome;
use crate::tenant::index::{GroupIdx, Source, Tenant, UserIdx};
use crate::tenant::model::{AssignmentError, TenantState};

/// How many affected users (or groups) a diagnostic names before it summarises the rest.
const LISTED: usize = 10;

/// Command-line overrides of the config's safety settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--allow-license-loss`: license loss and static→dynamic conversions are warnings.
    pub allow_license_loss: bool,
    /// `--force`: the removal threshold is a warning.
    pub force: bool,
    /// `--reprocess`: reprocess steps for the users a change lets succeed.
    pub reprocess: bool,
}

/// Everything the checks look at.
pub struct Context<'a> {
    /// The catalog.
    pub catalog: &'a Catalog,
    /// The config, for locations and settings.
    pub loaded: &'a LoadedConfig,
    /// The current state file.
    pub current_state: &'a TenantState,
    /// The desired state.
    pub desired: &'a Desired,
    /// The current tenant, indexed.
    pub current: &'a Tenant,
    /// The desired tenant, indexed (same user and group indexes, created groups appended).
    pub target: &'a Tenant,
    /// Engine outcome of the current tenant.
    pub before: &'a Outcome,
    /// Engine outcome of the desired tenant.
    pub after: &'a Outcome,
    /// The service's state after each phase of the apply before the last (whose state is
    /// `after`).
    pub phases: &'a [PhaseOutcome],
    /// Users whose errors after the change would succeed if reprocessed (and would not have
    /// before it), sorted.
    pub retryable: &'a [UserIdx],
    /// The plan's changes.
    pub changes: &'a [Change],
    /// Command-line overrides.
    pub overrides: Overrides,
    /// Service plans the tenant's subscriptions list that the catalog did not (added by
    /// Microsoft since), per product.
    pub new_plans: &'a [(ProductId, crate::catalog::PlanId)],
}

impl Context<'_> {
    /// The config name of a group by its index, if the config manages or deletes it.
    fn config_name(&self, group: GroupIdx) -> Option<&str> {
        let index = group.0 as usize;
        self.desired
            .managed_groups
            .iter()
            .chain(&self.desired.deleted)
            .find(|(_, candidate)| *candidate == index)
            .map(|(name, _)| name.as_str())
    }

    /// The display name of a group (desired state).
    fn group_name(&self, group: GroupIdx) -> &str {
        &self.target.group_at(group).name
    }

    /// The config node that best explains a change of `group`: its rule, members, licenses or
    /// `ensure`, else the group's key.
    fn group_location(&self, group: GroupIdx) -> Option<Location> {
        let name = self.config_name(group)?;
        let address = group_address(name);
        let ops: Vec<&Op> = self
            .changes
            .iter()
            .filter(|change| change.address == address)
            .flat_map(|change| &change.ops)
            .collect();
        let spec = self.loaded.config.groups.as_ref()?.get(name)?;
        let suffix = if ops.iter().any(|op| matches!(op, Op::DeleteGroup)) && spec.ensure.is_some()
        {
            "/ensure"
        } else if ops.iter().any(|op| matches!(op, Op::SetRule { .. })) && spec.rule.is_some() {
            "/rule"
        } else if ops
            .iter()
            .any(|op| matches!(op, Op::AddMembers { .. } | Op::RemoveMembers { .. }))
            && spec.members.is_some()
        {
            "/members"
        } else if ops.iter().any(|op| {
            matches!(
                op,
                Op::AddLicense { .. }
                    | Op::RemoveLicense { .. }
                    | Op::UpdateLicensePlans { .. }
                    | Op::Migrate { .. }
            )
        }) && spec.licenses.is_some()
        {
            "/licenses"
        } else {
            return self.loaded.group_location(name, "").map(Location::into_key);
        };
        self.loaded.group_location(name, suffix)
    }

    /// The config node of a managed user (their licenses or usage location), else none.
    fn user_location(&self, user: UserIdx) -> Option<Location> {
        let (name, _) = self
            .desired
            .managed_users
            .iter()
            .find(|(_, index)| *index == user.0 as usize)?;
        self.loaded.user_location(name, "").map(Location::into_key)
    }

    fn source_location(&self, source: Source, user: UserIdx) -> Option<Location> {
        match source {
            Source::Group(group) => self.group_location(group),
            Source::Direct => self.user_location(user),
        }
    }

    fn source_label(&self, source: Source, user: UserIdx) -> String {
        match source {
            Source::Group(group) => format!("group `{}`", self.group_name(group)),
            Source::Direct => format!("the direct licenses of `{}`", self.target.user_at(user).upn),
        }
    }

    fn upn(&self, user: UserIdx) -> &str {
        &self.target.user_at(user).upn
    }

    /// Plan names, the first six of them and a count of the rest.
    fn plan_list(&self, plans: &PlanSet) -> String {
        let names: Vec<&str> = plans
            .iter()
            .map(|plan| self.catalog.plan(plan).name.as_str())
            .collect();
        let mut text = names.iter().take(6).copied().collect::<Vec<_>>().join(", ");
        if names.len() > 6 {
            text.push_str(&format!(" and {} more", names.len() - 6));
        }
        text
    }

    /// The display names of the products through which `user` had `plans` from `source` before
    /// the change (for a direct loss, any product that provided them).
    fn products_providing(&self, user: UserIdx, source: Source, plans: &PlanSet) -> Vec<String> {
        let mut names: Vec<String> = self.before.users[user.0 as usize]
            .assignments
            .iter()
            .filter(|assignment| assignment.is_effective())
            .filter(|assignment| source == Source::Direct || assignment.source == source)
            .filter(|assignment| plans.iter().any(|plan| assignment.enabled.contains(plan)))
            .map(|assignment| self.catalog.product(assignment.product).name.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn sku(&self, product: ProductId) -> &str {
        &self.catalog.product(product).sku_part_number
    }

    /// Whether license loss caused by `source` is allowed: the flag, the group's own setting,
    /// else the config's.
    fn loss_allowed(&self, source: Source) -> bool {
        if self.overrides.allow_license_loss {
            return true;
        }
        let global = self
            .loaded
            .config
            .settings
            .as_ref()
            .and_then(|settings| settings.allow_license_loss)
            .unwrap_or(false);
        match source {
            Source::Group(group) => self
                .config_name(group)
                .and_then(|name| self.loaded.config.groups.as_ref()?.get(name))
                .and_then(|spec| spec.allow_license_loss)
                .unwrap_or(global),
            Source::Direct => global,
        }
    }
}

/// Adds a label when the location is known (unmanaged groups have none in the config).
fn labelled(diagnostic: Diagnostic, location: Option<Location>, text: &str) -> Diagnostic {
    match location {
        Some(location) => diagnostic.with_label(location, text),
        None => diagnostic,
    }
}

/// Adds one note per user (up to [`LISTED`]) and a count of the rest.
fn with_users(diagnostic: Diagnostic, lines: Vec<String>) -> Diagnostic {
    with_listed(diagnostic, lines.into_iter(), None)
}

/// Adds one `- item` note per item, at most [`LISTED`] of them, then one line counting the
/// others (with `where_all`, where to see them all).
fn with_listed(
    mut diagnostic: Diagnostic,
    items: impl ExactSizeIterator<Item = String>,
    where_all: Option<&str>,
) -> Diagnostic {
    let total = items.len();
    for item in items.take(LISTED) {
        diagnostic = diagnostic.with_note(format!("- {item}"));
    }
    if total > LISTED {
        let more = total - LISTED;
        diagnostic = diagnostic.with_note(match where_all {
            Some(place) => format!("… and {more} more ({place})"),
            None => format!("… and {more} more"),
        });
    }
    diagnostic
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word}")
    } else {
        format!("{count} {word}s")
    }
}

/// "1 user is" / "3 users are".
fn are(count: usize, word: &str) -> String {
    if count == 1 {
        format!("1 {word} is")
    } else {
        format!("{count} {word}s are")
    }
}

/// Plans each source contributes to a user.
fn contributions(assignments: &[AssignmentOutcome]) -> BTreeMap<Source, PlanSet> {
    let mut by_source: BTreeMap<Source, PlanSet> = BTreeMap::new();
    for assignment in assignments
        .iter()
        .filter(|assignment| assignment.is_effective())
    {
        by_source
            .entry(assignment.source)
            .or_default()
            .union_with(&assignment.enabled);
    }
    by_source
}

/// Runs every check and returns the diagnostics in a stable order (errors first).
pub fn run(context: &Context<'_>) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    license_loss(context, &mut diagnostics);
    window_loss(context, &mut diagnostics);
    new_errors(context, &mut diagnostics);
    missing_prerequisites(context, &mut diagnostics);
    static_to_dynamic(context, &mut diagnostics);
    non_security_groups(context, &mut diagnostics);
    removal_threshold(context, &mut diagnostics);
    nested_groups(context, &mut diagnostics);
    new_plans_enabled(context, &mut diagnostics);
    existing_errors(context, &mut diagnostics);
    needs_reprocess(context, &mut diagnostics);
    seats_as_reported(context, &mut diagnostics);
    unmanaged_groups(context, &mut diagnostics);
    group_name_lookalikes(context, &mut diagnostics);
    diagnostics.sort_by_key(|diagnostic| diagnostic.severity);
    diagnostics
}

/// `subscription-in-grace` and `seat-count-drift`: the seats as Graph reports them. Seats in
/// their grace period are counted as assignable, and the administrator is told they will go;
/// a `consumedUnits` that differs from the engine's count for the tenant as it is means the
/// model or the data is off, and the plan's seat figures cannot be trusted blindly.
fn seats_as_reported(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut reported: BTreeMap<ProductId, (u64, u64, Option<u64>)> = BTreeMap::new();
    for subscription in &context.current_state.subscriptions {
        let key = subscription.id.as_deref().unwrap_or(&subscription.sku);
        let Ok(product) = context.catalog.resolve_product(key) else {
            continue;
        };
        let entry = reported.entry(product).or_insert((0, 0, None));
        entry.0 += subscription.warning;
        entry.1 += subscription.suspended;
        if let Some(consumed) = subscription.consumed {
            entry.2 = Some(entry.2.unwrap_or(0) + consumed);
        }
    }
    for (product, (warning, suspended, consumed)) in reported {
        let name = &context.catalog.product(product).name;
        let sku = context.sku(product);
        if warning > 0 {
            let mut diagnostic = Diagnostic::new(
                Code::SubscriptionInGrace,
                format!(
                    "{name} ({sku}) has {} in the grace period: the plan counts such seats as assignable, but they go when the subscription is disabled",
                    plural(warning as usize, "seat")
                ),
            )
            .with_help(format!("renew the {sku} subscription, or plan for fewer seats"));
            if suspended > 0 {
                diagnostic = diagnostic.with_note(format!(
                    "suspended seats count for nothing: {suspended} more"
                ));
            }
            out.push(diagnostic);
        }
        let Some(consumed) = consumed else {
            continue;
        };
        let predicted = context
            .before
            .seats_of(product)
            .map_or(0, |usage| usage.consumed);
        if consumed != predicted {
            out.push(
                Diagnostic::new(
                    Code::SeatCountDrift,
                    format!(
                        "Graph reports {consumed} consumed {sku} seats, seatplan counts {predicted} for the tenant as it is"
                    ),
                )
                .with_help(
                    "the tenant read may be incomplete or the licensing service is still processing; check the product's licenses in the admin center before trusting this plan's seat figures",
                ),
            );
        }
    }
}

/// `license-loss`: users lose service plans (upgrades through `supersedes` excluded).
fn license_loss(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let mut by_source: BTreeMap<Source, Vec<(UserIdx, PlanSet)>> = BTreeMap::new();
    for (user, lost) in lost_plans(context, context.after) {
        let (old, new) = (
            &context.before.users[user.0 as usize],
            &context.after.users[user.0 as usize],
        );
        let before = contributions(&old.assignments);
        let after = contributions(&new.assignments);
        let mut attributed = PlanSet::default();
        for (source, plans) in &before {
            let kept = after.get(source).cloned().unwrap_or_default();
            let dropped: PlanSet = plans
                .difference(&kept)
                .iter()
                .filter(|&plan| lost.contains(plan))
                .collect();
            if !dropped.is_empty() {
                attributed.union_with(&dropped);
                by_source.entry(*source).or_default().push((user, dropped));
            }
        }
        let rest = lost.difference(&attributed);
        if !rest.is_empty() {
            by_source
                .entry(Source::Direct)
                .or_default()
                .push((user, rest));
        }
    }
    for (source, users) in by_source {
        let anchor = users[0].0;
        let allowed = context.loss_allowed(source);
        let mut all_products = BTreeSet::new();
        let lines = users
            .iter()
            .map(|(user, plans)| {
                let products = context.products_providing(*user, source, plans);
                all_products.extend(products.iter().cloned());
                format!(
                    "{} loses {} ({}: {})",
                    context.upn(*user),
                    and_list(&products),
                    plural(plans.len(), "service plan"),
                    context.plan_list(plans)
                )
            })
            .collect();
        let products: Vec<String> = all_products.into_iter().collect();
        let message = format!(
            "{} would lose {} through {}",
            plural(users.len(), "user"),
            and_list(&products),
            context.source_label(source, anchor)
        );
        let mut diagnostic = labelled(Diagnostic::new(Code::LicenseLoss, message), context.source_location(source, anchor), "this change takes licenses away")
            .with_help(if allowed {
                "allowed by `allow_license_loss` or --allow-license-loss".to_string()
            } else {
                "if intended, set `allow_license_loss: true` on the group or pass --allow-license-loss; to replace a product without loss, swap it in the same group in one edit (a migration)".to_string()
            });
        if allowed {
            diagnostic = diagnostic.with_severity(Severity::Warning);
        }
        out.push(with_users(diagnostic, lines));
    }
}

/// "A", "A and B", "A, B and C".
fn and_list(items: &[String]) -> String {
    match items.split_last() {
        None => "service plans".to_string(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

type ErrorKey = (UserIdx, Source, ProductId, AssignmentError);

fn error_set(outcome: &Outcome) -> BTreeSet<ErrorKey> {
    let mut errors = BTreeSet::new();
    for (index, user) in outcome.users.iter().enumerate() {
        for assignment in user.errors() {
            if let Some(error) = assignment.error {
                errors.insert((
                    UserIdx(index as u32),
                    assignment.source,
                    assignment.product,
                    error,
                ));
            }
        }
    }
    // A refused direct call records nothing, but the plan would fail there all the same.
    for refusal in &outcome.refused {
        errors.insert((refusal.user, Source::Direct, refusal.product, refusal.error));
    }
    errors
}

/// The plans each user has before the change and not in `to` (upgrades excluded), for the users
/// who lose any.
fn lost_plans<'a>(
    context: &'a Context<'_>,
    to: &'a Outcome,
) -> impl Iterator<Item = (UserIdx, PlanSet)> + 'a {
    context
        .before
        .users
        .iter()
        .zip(&to.users)
        .enumerate()
        .filter(|(_, (old, new))| !old.effective.is_subset(&new.effective))
        .filter_map(|(index, (old, new))| {
            let lost = PlanChange::between(context.catalog, old, new).lost;
            (!lost.is_empty()).then_some((UserIdx(index as u32), lost))
        })
}

/// `license-loss` in a window: users without service plans between two phases of the apply
/// although they have them (or what supersedes them) at the end — a window in which a user has
/// neither the old nor the new license.
fn window_loss(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let at_end: BTreeMap<UserIdx, PlanSet> = lost_plans(context, context.after).collect();
    for phase in context.phases {
        let users: Vec<(UserIdx, PlanSet)> = lost_plans(context, &phase.outcome)
            .filter_map(|(user, lost)| {
                let window = match at_end.get(&user) {
                    Some(lost_at_end) => lost.difference(lost_at_end),
                    None => lost,
                };
                (!window.is_empty()).then_some((user, window))
            })
            .collect();
        if users.is_empty() {
            continue;
        }
        let allowed = context.overrides.allow_license_loss;
        let mut diagnostic = Diagnostic::new(
            Code::LicenseLoss,
            format!(
                "{} would be without service plans while the plan is applied: after {}, before the later steps give them back",
                plural(users.len(), "user"),
                phase.phase.describe()
            ),
        )
        .with_help(if allowed {
            "allowed by --allow-license-loss".to_string()
        } else {
            "split the change: first apply a plan with the changes that give these plans (new members, new groups), then one with the change that takes them away; or replace the product inside one group (a migration, one call)".to_string()
        });
        if allowed {
            diagnostic = diagnostic.with_severity(Severity::Warning);
        }
        let lines = users
            .iter()
            .map(|(user, plans)| {
                format!(
                    "{} is without {}: {}",
                    context.upn(*user),
                    plural(plans.len(), "plan"),
                    context.plan_list(plans)
                )
            })
            .collect();
        out.push(with_users(diagnostic, lines));
    }
}

/// Errors that the change creates: `mutually-exclusive`, `seat-shortage`, `usage-location`,
/// `proxy-address-conflict`, `dependency-break` and `licensed-group-delete`.
fn new_errors(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let before = error_set(context.before);
    let fresh: Vec<ErrorKey> = error_set(context.after)
        .into_iter()
        .filter(|key| !before.contains(key))
        .collect();
    // Seat shortage: one diagnostic per product, with the shortfall.
    let mut short: BTreeMap<ProductId, Vec<(UserIdx, Source)>> = BTreeMap::new();
    let mut by_kind: BTreeMap<(AssignmentError, Source), Vec<(UserIdx, ProductId)>> =
        BTreeMap::new();
    for (user, source, product, error) in fresh {
        match error {
            AssignmentError::CountViolation => {
                short.entry(product).or_default().push((user, source))
            }
            AssignmentError::Other => {}
            _ => by_kind
                .entry((error, source))
                .or_default()
                .push((user, product)),
        }
    }
    for (product, users) in short {
        let seats = context.after.seats_of(product);
        let enabled = seats.map_or(0, |usage| usage.enabled);
        let needed = seats.map_or(0, |usage| usage.consumed) + users.len() as u64;
        let mut diagnostic = Diagnostic::new(
            Code::SeatShortage,
            format!(
                "{} needs {} more {} (enabled {enabled}, required {needed}): {} would not be licensed",
                context.sku(product),
                users.len(),
                if users.len() == 1 { "seat" } else { "seats" },
                plural(users.len(), "user")
            ),
        )
        .with_help(format!(
            "buy {} of {}, or free seats (remove direct assignments, shrink groups) before applying",
            plural(users.len(), "seat"),
            context.sku(product)
        ));
        let mut labelled_sources = BTreeSet::new();
        for (user, source) in &users {
            if labelled_sources.insert(*source) {
                if let Some(location) = context.source_location(*source, *user) {
                    diagnostic = diagnostic
                        .with_label(location, format!("assigns {}", context.sku(product)));
                }
            }
        }
        let lines = users
            .iter()
            .map(|(user, source)| {
                format!(
                    "{} via {}",
                    context.upn(*user),
                    context.source_label(*source, *user)
                )
            })
            .collect();
        out.push(with_users(diagnostic, lines));
    }
    for ((error, source), users) in by_kind {
        let anchor = users[0].0;
        let deleted = matches!(source, Source::Group(group) if context.desired.deleted.iter().any(|(_, index)| *index == group.0 as usize));
        let (code, what, help) = match error {
            AssignmentError::MutuallyExclusiveViolation => (
                Code::MutuallyExclusive,
                "would get service plans that conflict with plans they already have",
                "Entra never resolves conflicts itself: disable the conflicting plans in this group (`disabled_plans`) or remove the other license first",
            ),
            AssignmentError::ProhibitedInUsageLocationViolation => (
                Code::UsageLocation,
                "would get service plans that are not available in their usage location",
                "set the users' `usage_location`, or disable the unavailable plans in this group",
            ),
            AssignmentError::UniquenessViolation => (
                Code::ProxyAddressConflict,
                "share a proxy address with another user and would get an Exchange plan",
                "fix the duplicate proxy addresses (Exchange Online: Get-Recipient) before licensing these users",
            ),
            // Seed 000, "When a licensed group is deleted": the deleted group's licenses "enter an
            // error state on the affected user and it can't be removed until the dependency is
            // resolved"; seed 001's section of the same name says the assignment "is converted
            // from inherited to direct" instead. The engine follows seed 000; either way the
            // deletion is an error here, so seatplan never applies it.
            AssignmentError::DependencyViolation if deleted => (
                Code::LicensedGroupDelete,
                "hold plans that depend on this deleted group's licenses: the service cannot remove them, so the group cannot be deleted",
                "give the users the prerequisite plans through another group or direct license first, or remove the dependent plans",
            ),
            _ => (
                Code::DependencyBreak,
                "would keep plans whose prerequisites this change removes (DependencyViolation): the service leaves the license in error instead of removing it",
                "keep a prerequisite plan through another assignment, or remove the dependent plans first",
            ),
        };
        let message = format!(
            "{} {what} ({})",
            plural(users.len(), "user"),
            context.source_label(source, anchor)
        );
        // A conflict with a license that a later step removes (a reprocess at the end would
        // succeed): the service refuses the group assignment when it runs, and does not retry it
        // once the other license is gone.
        let arises_early = error == AssignmentError::MutuallyExclusiveViolation
            && users
                .iter()
                .any(|(user, _)| context.retryable.binary_search(user).is_ok())
            && context.phases.iter().any(|phase| {
                users.iter().any(|(user, product)| {
                    phase.outcome.users[user.0 as usize]
                        .errors()
                        .any(|assignment| {
                            assignment.source == source
                                && assignment.product == *product
                                && assignment.error == Some(error)
                        })
                })
            });
        let help = if arises_early {
            "the conflicting license is removed by a later step, but the service processes this assignment first and does not retry it: replace the product inside one group (a migration, one call), or give this group the new product with the conflicting plans disabled first and re-enable them in a later plan, after the old license is gone"
        } else {
            help
        };
        let diagnostic = labelled(
            Diagnostic::new(code, message),
            context.source_location(source, anchor),
            "caused by this change",
        )
        .with_help(help);
        let lines = users
            .iter()
            .map(|(user, product)| {
                let location = context
                    .target
                    .effective_location(*user)
                    .unwrap_or("no location");
                match error {
                    AssignmentError::ProhibitedInUsageLocationViolation => format!(
                        "{} ({location}): {}",
                        context.upn(*user),
                        context.sku(*product)
                    ),
                    _ => format!("{}: {}", context.upn(*user), context.sku(*product)),
                }
            })
            .collect();
        out.push(with_users(diagnostic, lines));
    }
}

/// `group-missing-prerequisite`: a changed group assigns an add-on without a prerequisite in the
/// same group (the portal refuses it; seeds 000–002, Workplace Analytics).
fn missing_prerequisites(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        let address = group_address(name);
        let changed = context.changes.iter().any(|change| {
            change.address == address
                && change.ops.iter().any(|op| {
                    matches!(
                        op,
                        Op::AddLicense { .. } | Op::UpdateLicensePlans { .. } | Op::Migrate { .. }
                    )
                })
        });
        if !changed {
            continue;
        }
        let mut enabled = PlanSet::default();
        for license in &context.target.groups[*index].licenses {
            enabled.union_with(&license.enabled);
        }
        for (plan, any_of) in context.catalog.unmet_prerequisites(&enabled) {
            let names: Vec<&str> = any_of
                .iter()
                .map(|plan| context.catalog.plan(*plan).name.as_str())
                .collect();
            let diagnostic = Diagnostic::new(
                Code::GroupMissingPrerequisite,
                format!(
                    "group `{name}` enables {} without any of its prerequisites ({}) in the same group",
                    context.catalog.plan(plan).name,
                    names.join(" or ")
                ),
            )
            .with_help("Entra requires an add-on's prerequisite in the same group: add a product with one of these plans to this group (its other plans may be disabled)");
            out.push(labelled(
                diagnostic,
                context.loaded.group_location(name, "/licenses"),
                "add-on without prerequisite",
            ));
        }
    }
}

/// `static-to-dynamic`: converting a static group removes every member until the rule is
/// processed (seed 000).
fn static_to_dynamic(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        if context.desired.created.contains(index) {
            continue;
        }
        let before = &context.current_state.groups[*index];
        let after = context.desired.group(context.current_state, *index);
        if before.rule.is_some() || after.rule.is_none() || before.members.is_empty() {
            continue;
        }
        let source = Source::Group(GroupIdx(*index as u32));
        let allowed = context.loss_allowed(source);
        let mut diagnostic = Diagnostic::new(
            Code::StaticToDynamic,
            format!(
                "group `{name}` changes from static to dynamic: its {} are removed first and lose the group's licenses until the rule is processed",
                plural(before.members.len(), "member")
            ),
        )
        .with_help("create a new dynamic group, check it with `seatplan rule diff`, then move the licenses; or allow it with `allow_license_loss: true` / --allow-license-loss");
        if allowed {
            diagnostic = diagnostic.with_severity(Severity::Warning);
        }
        out.push(labelled(
            diagnostic,
            context.loaded.group_location(name, "/rule"),
            "dynamic rule on a static group",
        ));
    }
}

/// `non-security-group`: licenses on a group that is not a security group.
fn non_security_groups(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        let group = context.desired.group(context.current_state, *index);
        if group.security_enabled || group.licenses.is_empty() {
            continue;
        }
        let spec = context
            .loaded
            .config
            .groups
            .as_ref()
            .and_then(|groups| groups.get(name));
        let suffix = if spec.is_some_and(|spec| spec.security_enabled.is_some()) {
            "/security_enabled"
        } else {
            "/licenses"
        };
        let diagnostic = Diagnostic::new(Code::NonSecurityGroup, format!("group `{name}` assigns licenses but is not a security group"))
            .with_help("group-based licensing works only with security groups (and Microsoft 365 groups with securityEnabled); set `security_enabled: true` or use another group");
        out.push(labelled(
            diagnostic,
            context.loaded.group_location(name, suffix),
            "not a security group",
        ));
    }
}

/// `removal-threshold`: more product removals than `max_license_removals` allows.
fn removal_threshold(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let Some(limit) = context
        .loaded
        .config
        .settings
        .as_ref()
        .and_then(|settings| settings.max_license_removals)
    else {
        return;
    };
    let mut removals = 0u64;
    let mut licensed = 0u64;
    for (old, new) in context.before.users.iter().zip(&context.after.users) {
        if !old.consumed.is_empty() {
            licensed += 1;
        }
        removals += old
            .consumed
            .iter()
            .filter(|product| new.consumed.binary_search(product).is_err())
            .count() as u64;
    }
    let (maximum, described) = match limit {
        RemovalLimit::Count(count) => (count, format!("{count}")),
        RemovalLimit::Percent(percent) => (
            ((percent / 100.0) * licensed as f64).floor() as u64,
            format!("{percent}% of {licensed} licensed users"),
        ),
    };
    if removals <= maximum {
        return;
    }
    let mut diagnostic = Diagnostic::new(
        Code::RemovalThreshold,
        format!("the plan removes {removals} licenses; `max_license_removals` allows {maximum} ({described})"),
    )
    .with_help("check that the change is intended; split it into smaller plans, or pass --force");
    if context.overrides.force {
        diagnostic = diagnostic
            .with_severity(Severity::Warning)
            .with_help("allowed by --force");
    }
    out.push(labelled(
        diagnostic,
        context
            .loaded
            .section_location("settings", "/settings/max_license_removals"),
        "limit",
    ));
}

/// `nested-group`: a licensed group has group members, whose members receive nothing.
fn nested_groups(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    for (name, index) in &context.desired.managed_groups {
        let group = &context.target.groups[*index];
        if group.licenses.is_empty() || group.member_groups.is_empty() {
            continue;
        }
        let nested: Vec<&str> = group
            .member_groups
            .iter()
            .map(|nested| &*context.target.group_at(*nested).name)
            .collect();
        let diagnostic = Diagnostic::new(
            Code::NestedGroup,
            format!("licensed group `{name}` has group members ({}); their members receive no license", nested.join(", ")),
        )
        .with_help("group-based licensing applies to direct user members only: add the users themselves, or license the nested group");
        // Point at the config's member entries that name groups, else at the group.
        let entries: Vec<usize> = context
            .loaded
            .config
            .groups
            .as_ref()
            .and_then(|groups| groups.get(name))
            .and_then(|spec| spec.members.as_ref())
            .map(|members| {
                members
                    .iter()
                    .enumerate()
                    .filter(|(_, member)| match member {
                        MemberSpec::Group(_) => true,
                        MemberSpec::Name(name) => {
                            context.current.user(name).is_none()
                                && context.current.group_by_id(name).is_some()
                        }
                    })
                    .map(|(position, _)| position)
                    .collect()
            })
            .unwrap_or_default();
        let diagnostic = if entries.is_empty() {
            labelled(
                diagnostic,
                context.loaded.group_location(name, ""),
                "nested groups get nothing",
            )
        } else {
            entries.iter().fold(diagnostic, |diagnostic, position| {
                labelled(
                    diagnostic,
                    context
                        .loaded
                        .group_location(name, &format!("/members/{position}")),
                    "its members get nothing",
                )
            })
        };
        out.push(diagnostic.with_severity(Severity::Warning));
    }
}

/// `new-plans-enabled`: plans that a group's deny-list (`disabled_plans`) leaves on only because
/// Microsoft added them to the product after the catalog seatplan ships (seed 003, "Managing new
/// services added to products"). Groups with `enabled_plans` keep them off.
fn new_plans_enabled(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if context.new_plans.is_empty() {
        return;
    }
    for (name, index) in &context.desired.managed_groups {
        let Some(spec) = context
            .loaded
            .config
            .groups
            .as_ref()
            .and_then(|groups| groups.get(name))
        else {
            continue;
        };
        for (position, license) in spec.licenses.iter().flatten().enumerate() {
            if license.enabled_plans.is_some() {
                continue;
            }
            let Ok(product) = context.catalog.resolve_product(&license.sku) else {
                continue;
            };
            let Some(assigned) = context.target.groups[*index]
                .licenses
                .iter()
                .find(|assigned| assigned.product == product)
            else {
                continue;
            };
            let fresh: PlanSet = context
                .new_plans
                .iter()
                .filter(|(owner, plan)| *owner == product && assigned.enabled.contains(*plan))
                .map(|(_, plan)| *plan)
                .collect();
            if fresh.is_empty() {
                continue;
            }
            let diagnostic = Diagnostic::new(
                Code::NewPlansEnabled,
                format!(
                    "group `{name}` enables {} of {} only because Microsoft added {} to the product",
                    context.plan_list(&fresh),
                    context.sku(product),
                    if fresh.len() == 1 { "it" } else { "them" }
                ),
            )
            .with_help("to keep new plans off, add them to `disabled_plans`, or list the plans you want with `enabled_plans` (later additions then stay off)");
            out.push(
                labelled(
                    diagnostic,
                    context
                        .loaded
                        .group_location(name, &format!("/licenses/{position}")),
                    "deny-list lets new plans in",
                )
                .with_severity(Severity::Warning),
            );
        }
    }
}

/// `existing-errors`: users already in error before the change.
fn existing_errors(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let errors = error_set(context.before);
    if errors.is_empty() {
        return;
    }
    let users: BTreeSet<UserIdx> = errors.iter().map(|(user, ..)| *user).collect();
    let mut by_group: BTreeMap<String, usize> = BTreeMap::new();
    for (user, source, product, error) in &errors {
        if *error == AssignmentError::Other {
            continue;
        }
        let key = format!(
            "{}: {} {:?}",
            context.source_label(*source, *user),
            context.sku(*product),
            error
        );
        *by_group.entry(key).or_default() += 1;
    }
    let diagnostic = Diagnostic::new(
        Code::ExistingErrors,
        format!("{} already in a licensing error state before this plan", are(users.len(), "user")),
    )
    .with_help("`seatplan report` lists them; after fixing the cause, `seatplan reprocess` shows who would then succeed");
    // The largest first, and only the first few: a large tenant has hundreds of groups with an
    // error or two, and the report lists them all.
    let mut by_group: Vec<(String, usize)> = by_group.into_iter().collect();
    by_group.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let notes = by_group
        .into_iter()
        .map(|(what, count)| format!("{what} ({})", plural(count, "user")));
    out.push(with_listed(
        diagnostic,
        notes,
        Some("`seatplan report` lists every one"),
    ));
}

/// `needs-reprocess`: the change lets errors succeed that the service will not retry by itself
/// (seed 003: "License management automation does not automatically react to all types of
/// changes in the environment"); the plan does not count on it.
fn needs_reprocess(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    if context.retryable.is_empty() {
        return;
    }
    let diagnostic = Diagnostic::new(
        Code::NeedsReprocess,
        format!(
            "{} in error would succeed if reprocessed after this change; the service does not retry by itself, so the plan counts them as still failing",
            plural(context.retryable.len(), "user")
        ),
    )
    .with_help("apply with `--reprocess` to add a reprocess step for each of them, or reprocess them after applying (`seatplan reprocess` shows the result)");
    let lines = context
        .retryable
        .iter()
        .map(|user| context.upn(*user).to_string());
    out.push(with_listed(diagnostic, lines, None));
}

/// `unmanaged-group`: licensed tenant groups that the config does not mention.
fn unmanaged_groups(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let managed: BTreeSet<usize> = context
        .desired
        .managed_groups
        .iter()
        .chain(&context.desired.deleted)
        .map(|(_, index)| *index)
        .collect();
    let names: Vec<&str> = context
        .current
        .groups
        .iter()
        .enumerate()
        .filter(|(index, group)| !group.licenses.is_empty() && !managed.contains(index))
        .map(|(_, group)| &*group.name)
        .collect();
    if names.is_empty() {
        return;
    }
    let diagnostic = Diagnostic::new(
        Code::UnmanagedGroup,
        format!("{} licensed in the tenant but not in the config; seatplan reads them and never changes them", are(names.len(), "group")),
    )
    .with_help("`seatplan export` writes a config for them if you want to manage them");
    let notes = names.into_iter().map(str::to_string);
    out.push(with_listed(
        diagnostic,
        notes,
        Some("`seatplan report` lists every group"),
    ));
}

/// `group-name-lookalike`: a config group key with leading or trailing whitespace, or one that
/// matches no tenant group exactly but one when case is ignored. Entra keeps display names as
/// written, so such a key creates a second group next to the one it was meant to manage.
fn group_name_lookalikes(context: &Context<'_>, out: &mut Vec<Diagnostic>) {
    let existing = context.current.groups.len();
    for (name, index) in &context.desired.managed_groups {
        let location = context
            .loaded
            .group_location(name, "")
            .map(Location::into_key);
        let created = *index >= existing;
        let diagnostic = if name.trim() != name {
            Diagnostic::new(
                Code::GroupNameLookalike,
                format!("the group key {name:?} has leading or trailing whitespace"),
            )
            .with_help(if created {
                format!("seatplan would create a group named {name:?}; remove the spaces if you meant `{}`", name.trim())
            } else {
                "Entra keeps the spaces in the display name; remove them from the key and rename the group if they are a mistake".to_string()
            })
        } else if created {
            let Some(similar) = context.current.groups.iter().find(|group| {
                group.name.to_lowercase() == name.to_lowercase() && *group.name != **name
            }) else {
                continue;
            };
            Diagnostic::new(
                Code::GroupNameLookalike,
                format!(
                    "the group key `{name}` differs only in case from the tenant group `{}`",
                    similar.name
                ),
            )
            .with_help(format!(
                "seatplan would create a new group `{name}` beside it; write the key as `{}` to manage the existing group",
                similar.name
            ))
        } else {
            continue;
        };
        out.push(labelled(diagnostic, location, "this key"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_show_the_first_items_and_count_the_rest() {
        let notes = |count: usize| {
            let items = (0..count).map(|index| format!("group {index}"));
            with_listed(
                Diagnostic::new(Code::ExistingErrors, "errors"),
                items,
                Some("see the report"),
            )
            .notes
        };
        assert_eq!(notes(LISTED).len(), LISTED);
        let long = notes(250);
        assert_eq!(long.len(), LISTED + 1);
        assert_eq!(long[0], "- group 0");
        assert_eq!(long[LISTED], "… and 240 more (see the report)");
    }
}
