//! What reprocessing would do (`seatplan reprocess`, SPEC §2.10): the service does not retry
//! assignments in error by itself; "Reprocess" processes them again against the current seats.
//! The engine runs once as the service leaves the tenant ([`Mode::Predict`]) and once retrying the
//! chosen errors ([`Mode::Reprocess`] or [`Mode::ReprocessGroup`]); the difference says who would
//! now succeed and who still fails, and why.

use serde::Serialize;

use crate::catalog::Catalog;
use crate::diag::{did_you_mean, Code, Diagnostic};
use crate::engine::{self, Mode, Outcome};
use crate::plan::report::{errors_from, ProductError};
use crate::plan::Evaluated;
use crate::tenant::index::{GroupIdx, Source, Tenant, UserIdx};

/// The result of reprocessing, as the views render it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reprocessed {
    /// The group whose errors were retried; absent when all were.
    pub group: Option<String>,
    /// Users and groups in error before, whose assignments now succeed, sorted.
    pub succeed: Vec<Retry>,
    /// Users and groups still in error after the retry, sorted.
    pub still_failing: Vec<Retry>,
    /// Products whose consumed seats change, sorted by SKU.
    pub seats: Vec<SeatChange>,
}

/// One user's assignment from one source (a group or direct), before and after the retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retry {
    /// UPN.
    pub user: String,
    /// The group; absent for direct assignments.
    pub via: Option<String>,
    /// The errors before.
    pub before: Vec<ProductError>,
    /// The errors after (empty when the assignment now succeeds).
    pub after: Vec<ProductError>,
    /// The products in error before that the retry removes instead of assigning, sorted: a removal
    /// the service refused (`DependencyViolation`) that nothing blocks any more. The others of
    /// `before` without an error after are now assigned.
    pub removed: Vec<String>,
}

/// Seats of one product before and after the retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeatChange {
    /// The skuPartNumber.
    pub sku: String,
    /// Seats bought.
    pub enabled: u64,
    /// Consumed before.
    pub before: u64,
    /// Consumed after.
    pub after: u64,
}

/// Retries the errors `mode` selects and compares with the tenant as it is. `group` is the name
/// shown for [`Mode::ReprocessGroup`].
pub fn reprocess(
    catalog: &Catalog,
    evaluated: &Evaluated,
    mode: Mode,
    group: Option<String>,
) -> Reprocessed {
    let tenant = &evaluated.tenant;
    let before = &evaluated.outcome;
    let after = engine::run(
        catalog,
        &evaluated.memory,
        tenant,
        &evaluated.memberships.members,
        mode,
    );
    let mut succeed = Vec::new();
    let mut still_failing = Vec::new();
    for (index, user) in before.users.iter().enumerate() {
        let idx = UserIdx(index as u32);
        let mut sources: Vec<Source> = user
            .errors()
            .map(|assignment| assignment.source)
            .filter(|&source| mode.retries(source))
            .collect();
        sources.dedup();
        for source in sources {
            let retry = Retry {
                user: tenant.user_at(idx).upn.to_string(),
                via: match source {
                    Source::Direct => None,
                    Source::Group(group) => Some(tenant.group_at(group).name.to_string()),
                },
                before: errors_from(catalog, &evaluated.tenant, before, idx, source),
                after: errors_from(catalog, &evaluated.tenant, &after, idx, source),
                removed: removed_by(catalog, before, &after, idx, source),
            };
            if retry.after.is_empty() {
                succeed.push(retry);
            } else {
                still_failing.push(retry);
            }
        }
    }
    let order = |a: &Retry, b: &Retry| (&a.user, &a.via).cmp(&(&b.user, &b.via));
    succeed.sort_by(order);
    still_failing.sort_by(order);
    let mut seats: Vec<SeatChange> = after
        .seats
        .iter()
        .filter_map(|usage| {
            let old = before.seats_of(usage.product).map_or(0, |old| old.consumed);
            (old != usage.consumed).then(|| SeatChange {
                sku: catalog.product(usage.product).sku_part_number.clone(),
                enabled: usage.enabled,
                before: old,
                after: usage.consumed,
            })
        })
        .collect();
    seats.sort_by(|a, b| a.sku.cmp(&b.sku));
    Reprocessed {
        group,
        succeed,
        still_failing,
        seats,
    }
}

/// The products `source` gave `user` in error before that it no longer assigns after.
fn removed_by(
    catalog: &Catalog,
    before: &Outcome,
    after: &Outcome,
    user: UserIdx,
    source: Source,
) -> Vec<String> {
    let kept = &after.users[user.0 as usize].assignments;
    let mut removed: Vec<String> = before.users[user.0 as usize]
        .errors()
        .filter(|assignment| assignment.source == source)
        .filter(|old| {
            !kept
                .iter()
                .any(|new| new.source == source && new.product == old.product)
        })
        .map(|old| catalog.product(old.product).sku_part_number.clone())
        .collect();
    removed.sort();
    removed.dedup();
    removed
}

/// The group `name_or_id` names: a display name (exact) or an object id. A name several groups
/// share, or one no group has, is an `unknown-group` error with the closest names.
pub fn find_group(tenant: &Tenant, name_or_id: &str) -> Result<GroupIdx, Diagnostic> {
    match tenant.groups_named(name_or_id) {
        [group] => return Ok(*group),
        [] => {}
        several => {
            let ids: Vec<String> = several
                .iter()
                .map(|&group| tenant.group_at(group).id.to_string())
                .collect();
            return Err(Diagnostic::new(
                Code::UnknownGroup,
                format!("{} groups are named `{name_or_id}`", several.len()),
            )
            .with_help(format!(
                "name the group by its object id: {}",
                ids.join(", ")
            )));
        }
    }
    if let Some(group) = tenant.group_by_id(name_or_id) {
        return Ok(group);
    }
    let names = tenant.groups.iter().map(|group| &*group.name);
    let help = match did_you_mean(name_or_id, names, 1).first() {
        Some(best) => format!("did you mean `{best}`?"),
        None => "give a group's display name or object id as the tenant state has it".to_string(),
    };
    Err(Diagnostic::new(
        Code::UnknownGroup,
        format!("no group of the tenant is named `{name_or_id}`"),
    )
    .with_help(help))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::report::tests::evaluated;
    use crate::tenant::model::AssignmentError;

    /// Two groups with recorded CountViolations; seats were bought since.
    const TENANT: &str = "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }
subscriptions: [{ sku: EMS, enabled: 2 }, { sku: VISIOCLIENT, enabled: 1 }]
users:
  - id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a
    upn: ann@contoso.com
    license_states: [{ sku: EMS, via: Mobile, state: Error, error: CountViolation }]
  - id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2
    upn: bob@contoso.com
    license_states: [{ sku: VISIOCLIENT, via: Visio, state: Error, error: CountViolation }]
  - id: 011e39ef-e225-40f4-8339-ad19cd180f4d
    upn: cat@contoso.com
    license_states: [{ sku: VISIOCLIENT, via: Visio, state: Error, error: CountViolation }]
groups:
  - { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: Mobile, members: [ann@contoso.com], licenses: [{ sku: EMS }] }
  - { id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: Visio, members: [bob@contoso.com, cat@contoso.com], licenses: [{ sku: VISIOCLIENT }] }
  - { id: 3921871a-a088-4e3e-8483-0142ac909944, display_name: Visio Users, members: [] }
  - { id: c874bc29-e99f-4e67-890d-6cdb1caa2a67, display_name: Twin, members: [] }
  - { id: 23926131-6e50-4a03-8aba-e9a2c9f0f69e, display_name: Twin, members: [] }
";

    /// Each changed product's SKU with its consumed seats before and after.
    fn seats(result: &Reprocessed) -> Vec<(&str, u64, u64)> {
        result
            .seats
            .iter()
            .map(|seat| (seat.sku.as_str(), seat.before, seat.after))
            .collect()
    }

    #[test]
    fn reprocessing_everything_lists_who_succeeds_and_who_still_fails() {
        let (_, evaluated) = evaluated(TENANT);
        let result = reprocess(Catalog::builtin(), &evaluated, Mode::Reprocess, None);
        let users = |retries: &[Retry]| -> Vec<(String, Option<String>)> {
            retries
                .iter()
                .map(|retry| (retry.user.clone(), retry.via.clone()))
                .collect()
        };
        assert_eq!(
            users(&result.succeed),
            [
                ("ann@contoso.com".to_string(), Some("Mobile".to_string())),
                ("bob@contoso.com".to_string(), Some("Visio".to_string()))
            ]
        );
        assert_eq!(
            users(&result.still_failing),
            [("cat@contoso.com".to_string(), Some("Visio".to_string()))]
        );
        let cat = &result.still_failing[0];
        assert_eq!(cat.before[0].error, AssignmentError::CountViolation);
        assert_eq!(cat.after[0].error, AssignmentError::CountViolation);
        assert_eq!(
            cat.after[0].reason,
            "no free seat of VISIOCLIENT: 1 enabled, 1 consumed"
        );
        assert_eq!(seats(&result), [("EMS", 0, 1), ("VISIOCLIENT", 0, 1)]);
    }

    #[test]
    fn reprocessing_one_group_leaves_the_others_errors() {
        let (_, evaluated) = evaluated(TENANT);
        let mobile = find_group(&evaluated.tenant, "Mobile").unwrap();
        let result = reprocess(
            Catalog::builtin(),
            &evaluated,
            Mode::ReprocessGroup(mobile),
            Some("Mobile".into()),
        );
        assert_eq!(result.succeed.len(), 1);
        assert_eq!(result.succeed[0].user, "ann@contoso.com");
        assert!(result.still_failing.is_empty());
        assert_eq!(result.seats.len(), 1);
        assert_eq!(result.seats[0].sku, "EMS");
    }

    #[test]
    fn a_refused_removal_that_nothing_blocks_any_more_is_removed_not_assigned() {
        // Ann left E3 while a direct Audio Conferencing needed its Skype plan: the service kept
        // E3 in ActiveWithError. The dependent license is gone, so a reprocess removes E3.
        let (_, evaluated) = evaluated(
            "version: 1
tenant: { id: e3b98a4d-a31a-427d-8bde-6e43033f66ba, default_usage_location: US }
subscriptions: [{ sku: ENTERPRISEPACK, enabled: 5 }, { sku: EMS, enabled: 5 }]
users:
  - id: bb82030d-bc2b-4aba-82a9-0bf2e207a84a
    upn: ann@contoso.com
    license_states: [{ sku: ENTERPRISEPACK, via: E3, state: ActiveWithError, error: DependencyViolation }]
  - id: 6ca202c8-8e54-4dff-88c0-9bfafbfc60b2
    upn: bob@contoso.com
    license_states: [{ sku: EMS, via: Mobile, state: Error, error: CountViolation }]
groups:
  - { id: 711430f6-164e-4380-8d93-428bc1fab80f, display_name: E3, members: [], licenses: [{ sku: ENTERPRISEPACK }] }
  - { id: 4d2f4b66-8cfc-48e6-859d-36e91326bf87, display_name: Mobile, members: [bob@contoso.com], licenses: [{ sku: EMS }] }
",
        );
        let result = reprocess(Catalog::builtin(), &evaluated, Mode::Reprocess, None);
        assert!(result.still_failing.is_empty(), "{result:?}");
        let removed: Vec<(&str, &[String])> = result
            .succeed
            .iter()
            .map(|retry| (retry.user.as_str(), retry.removed.as_slice()))
            .collect();
        assert_eq!(
            removed,
            [
                ("ann@contoso.com", &["ENTERPRISEPACK".to_string()][..]),
                ("bob@contoso.com", &[][..])
            ]
        );
        assert_eq!(seats(&result), [("EMS", 0, 1), ("ENTERPRISEPACK", 1, 0)]);
    }

    #[test]
    fn groups_are_found_by_name_or_id_and_bad_names_are_diagnostics() {
        let (_, evaluated) = evaluated(TENANT);
        let tenant = &evaluated.tenant;
        assert_eq!(find_group(tenant, "Visio").unwrap().0, 1);
        assert_eq!(
            find_group(tenant, "4D2F4B66-8CFC-48E6-859D-36E91326BF87")
                .unwrap()
                .0,
            1
        );
        let unknown = find_group(tenant, "Mobil").unwrap_err();
        assert_eq!(unknown.code, Code::UnknownGroup);
        assert_eq!(unknown.help.as_deref(), Some("did you mean `Mobile`?"));
        let twins = find_group(tenant, "Twin").unwrap_err();
        assert_eq!(twins.code, Code::UnknownGroup);
        assert!(twins.help.unwrap().contains(
            "c874bc29-e99f-4e67-890d-6cdb1caa2a67, 23926131-6e50-4a03-8aba-e9a2c9f0f69e"
        ));
    }
}
