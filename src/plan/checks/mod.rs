//! The planner's safety checks (SPEC §3). Each check is a function from the plan's context to
//! diagnostics with the codes of the contract, pointing at the config node that causes them and
//! saying what to do. Only what the plan *changes* is an error; what is wrong already is a warning.
//!
//! One module per code: each holds its check, a typed diagnostic that carries the facts the check
//! found (its `From<…> for Diagnostic` is the one place the wording lives) and its unit tests,
//! which run the check on the code's smallest fixture (`tests/fixtures/codes/<code>/`). The errors
//! the service would record for the change are gathered once in [`service_errors`] and mapped to
//! their codes there, by a match over every [`AssignmentError`].

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, PlanSet, ProductId};
use crate::config::valid::ValidConfig;
use crate::diag::{Diagnostic, Location};
use crate::engine::Outcome;
use crate::plan::desired::Desired;
use crate::plan::diff::group_address;
use crate::plan::document::{Change, Op};
use crate::plan::reorder::RefusedCall;
use crate::plan::simulate::PhaseOutcome;
use crate::tenant::index::{GroupIdx, Source, Tenant, UserIdx};
use crate::tenant::membership::PendingMembership;
use crate::tenant::model::{AssignmentError, TenantState};

mod assigned_plans_unknown;
mod dependency_break;
mod existing_errors;
mod group_missing_prerequisite;
mod group_name_lookalike;
mod license_cascade;
mod license_loss;
mod licensed_group_delete;
mod membership_pending;
mod mutually_exclusive;
mod needs_reprocess;
mod nested_group;
mod new_plans_enabled;
mod non_security_group;
mod proxy_address_conflict;
mod removal_threshold;
mod seat_count_drift;
mod seat_shortage;
mod service_errors;
mod static_to_dynamic;
mod steps_reordered;
mod subscription_in_grace;
#[cfg(test)]
mod testing;
mod unmanaged_group;
mod usage_location;

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
    /// The valid config: locations, settings and its resolved licenses.
    pub config: &'a ValidConfig,
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
    /// The users whose outcome may differ between `before`, the phases and `after` (those some
    /// step processed), sorted: the checks that compare before and after look at these only.
    pub moved: &'a [UserIdx],
    /// Removals the plan runs ahead of the additions, each (numbered as the steps show it) with
    /// what it frees for whom.
    pub reordered: &'a [(String, Vec<String>)],
    /// The direct calls the service refuses at their step.
    pub refused_calls: &'a [RefusedCall],
    /// The plan's changes.
    pub changes: &'a [Change],
    /// Command-line overrides.
    pub overrides: Overrides,
    /// Service plans the tenant's subscriptions list that the catalog did not (added by
    /// Microsoft since), per product.
    pub new_plans: &'a [(ProductId, crate::catalog::PlanId)],
    /// Dynamic groups of the current tenant whose recorded members lag behind their rule.
    pub pending: &'a [PendingMembership],
    /// Paused dynamic groups whose rule the plan changes: what the new rule adds and drops once
    /// processing is on.
    pub paused: &'a [PendingMembership],
    /// The groups of the desired tenant whose rules read `user.assignedPlans` (indexes).
    pub assigned_plan_rules: &'a [usize],
    /// When some of those rules exist: the licensed users of the current state whose
    /// `assignedPlans` it does not record ([`crate::plan::cascade::users_without_recorded_plans`]).
    pub unrecorded_plans: &'a [&'a str],
    /// The groups whose rules read licenses that the service moves users into or out of after
    /// the plan's licensing ([`crate::plan::cascade`]).
    pub cascade: &'a [crate::plan::cascade::Moved],
    /// Whether those rules settled within the rounds the prediction follows.
    pub cascade_settled: bool,
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

    /// The operations the plan's change of the config's group `name` makes.
    fn group_ops(&self, name: &str) -> Vec<&Op> {
        let address = group_address(name);
        self.changes
            .iter()
            .filter(|change| change.address == address)
            .flat_map(|change| &change.ops)
            .collect()
    }

    /// The config node that best explains a change of `group`: its rule, members, licenses or
    /// `ensure`, else the group's key.
    fn group_location(&self, group: GroupIdx) -> Option<Location> {
        let name = self.config_name(group)?;
        let ops = self.group_ops(name);
        let spec = self.config.loaded.config.groups.as_ref()?.get(name)?;
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
            return self
                .config
                .loaded
                .group_location(name, "")
                .map(Location::into_key);
        };
        self.config.loaded.group_location(name, suffix)
    }

    /// The config node of a managed user (their licenses or usage location), else none.
    fn user_location(&self, user: UserIdx) -> Option<Location> {
        let (name, _) = self
            .desired
            .managed_users
            .iter()
            .find(|(_, index)| *index == user.0 as usize)?;
        self.config
            .loaded
            .user_location(name, "")
            .map(Location::into_key)
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

    /// Whether `user` is a member of `group` whom its current rule drops already: the service
    /// has not processed it yet (`membership-pending`), so losing what the group gives is not
    /// the plan's doing.
    fn pending_leaver(&self, user: UserIdx, group: GroupIdx) -> bool {
        !self.reads_unrecorded_plans(group)
            && self
                .pending
                .iter()
                .filter(|pending| pending.group == group)
                .any(|pending| pending.leaving.binary_search(&user).is_ok())
    }

    /// Whether `group`'s rule reads `user.assignedPlans` that the state does not record for
    /// licensed users: what its rule selects now is not what the service selects, so a
    /// difference from its recorded members says nothing (`assigned-plans-unknown` says why).
    fn reads_unrecorded_plans(&self, group: GroupIdx) -> bool {
        !self.unrecorded_plans.is_empty() && self.assigned_plan_rules.contains(&(group.0 as usize))
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
            .config
            .loaded
            .config
            .settings
            .as_ref()
            .and_then(|settings| settings.allow_license_loss)
            .unwrap_or(false);
        match source {
            Source::Group(group) => self
                .config_name(group)
                .and_then(|name| self.config.loaded.config.groups.as_ref()?.get(name))
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

/// One recorded error: the user, the assignment's source and product, and the error.
type ErrorKey = (UserIdx, Source, ProductId, AssignmentError);

/// Every error the service records (or a refused direct call would meet) in `outcome`.
fn error_set(outcome: &Outcome) -> BTreeSet<ErrorKey> {
    error_set_of(outcome, outcome.users_in_error.iter().copied())
}

/// The errors of `users` in `outcome`, and every refused direct call.
fn error_set_of(outcome: &Outcome, users: impl IntoIterator<Item = UserIdx>) -> BTreeSet<ErrorKey> {
    let mut errors = BTreeSet::new();
    for user in users {
        let Some(outcome) = outcome.users.get(user.0 as usize) else {
            continue;
        };
        for assignment in outcome.errors() {
            if let Some(error) = assignment.error {
                errors.insert((user, assignment.source, assignment.product, error));
            }
        }
    }
    // A refused direct call records nothing, but the plan would fail there all the same.
    for refusal in &outcome.refused {
        errors.insert((refusal.user, Source::Direct, refusal.product, refusal.error));
    }
    errors
}

/// The refused direct calls among `users` (user and product), each as a line naming its step
/// and the later step that would have let it succeed; and whether any has such a later step.
fn refused_call_lines(
    context: &Context<'_>,
    users: impl IntoIterator<Item = (UserIdx, ProductId)>,
) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut later = false;
    for (user, product) in users {
        for call in context
            .refused_calls
            .iter()
            .filter(|call| call.user == user && call.product == product)
        {
            let error = serde_json::to_value(call.error)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            let what = match call.error {
                AssignmentError::CountViolation => "the seat it needs is freed",
                _ => "the conflicting license is removed",
            };
            lines.push(match &call.freed_by {
                Some(freed_by) => {
                    later = true;
                    format!(
                        "step {} is refused ({error}) and not called again: {what} only by step {freed_by}, after it",
                        call.step
                    )
                }
                None => format!(
                    "step {} is refused ({error}): the apply stops there",
                    call.step
                ),
            });
        }
    }
    (lines, later)
}

/// Seats of one product as the tenant's subscriptions report them.
struct ReportedSeats {
    /// The product.
    product: ProductId,
    /// Seats in their grace period (`prepaidUnits.warning`).
    warning: u64,
    /// Suspended seats.
    suspended: u64,
    /// Graph's `consumedUnits`, when a subscription reports it.
    consumed: Option<u64>,
}

/// The seats as Graph reports them, per product the catalog knows, in product order.
fn reported_seats(context: &Context<'_>) -> Vec<ReportedSeats> {
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
    reported
        .into_iter()
        .map(|(product, (warning, suspended, consumed))| ReportedSeats {
            product,
            warning,
            suspended,
            consumed,
        })
        .collect()
}

/// Runs every check and returns the diagnostics in a stable order (errors first).
pub fn run(context: &Context<'_>) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    license_loss::check(context, &mut diagnostics);
    license_loss::check_windows(context, &mut diagnostics);
    service_errors::check(context, &mut diagnostics);
    usage_location::check_moved_away(context, &mut diagnostics);
    group_missing_prerequisite::check(context, &mut diagnostics);
    static_to_dynamic::check(context, &mut diagnostics);
    non_security_group::check(context, &mut diagnostics);
    removal_threshold::check(context, &mut diagnostics);
    nested_group::check(context, &mut diagnostics);
    new_plans_enabled::check(context, &mut diagnostics);
    existing_errors::check(context, &mut diagnostics);
    needs_reprocess::check(context, &mut diagnostics);
    license_cascade::check(context, &mut diagnostics);
    assigned_plans_unknown::check(context, &mut diagnostics);
    steps_reordered::check(context, &mut diagnostics);
    // Per product, its grace period and then its drift.
    for seats in reported_seats(context) {
        subscription_in_grace::check(context, &seats, &mut diagnostics);
        seat_count_drift::check(context, &seats, &mut diagnostics);
    }
    unmanaged_group::check(context, &mut diagnostics);
    group_name_lookalike::check(context, &mut diagnostics);
    membership_pending::check(context, &mut diagnostics);
    diagnostics.sort_by_key(|diagnostic| diagnostic.severity);
    diagnostics
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Code;

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

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(plural(1, "seat"), "1 seat");
        assert_eq!(plural(3, "seat"), "3 seats");
        assert_eq!(are(1, "user"), "1 user is");
        assert_eq!(are(2, "group"), "2 groups are");
    }
}
