//! Export: a desired config that reproduces a tenant's licensed groups and users' usage locations,
//! so that planning it against the same tenant shows no changes (the bootstrap of a repository).

use indexmap::IndexMap;

use crate::config::{
    Config, GroupMember, GroupSpec, LicenseSpec, MemberSpec, RuleProcessing, TenantSettings,
    UserSpec,
};
use crate::plan::diff::UserNames;
use crate::tenant::model::{AssignedLicense, TenantState};

/// The config for `state`: every licensed group (with its rule or members, and licenses as
/// skuPartNumber + `disabled_plans`), every user's usage location. Groups whose display name is
/// shared by another group carry their `id`.
pub fn config_from_state(state: &TenantState) -> Config {
    let names = UserNames::new(state);
    let mut groups = IndexMap::new();
    let mut sorted: Vec<_> = state
        .groups
        .iter()
        .filter(|group| !group.licenses.is_empty())
        .collect();
    sorted.sort_by(|a, b| a.display_name.cmp(&b.display_name).then(a.id.cmp(&b.id)));
    for group in sorted {
        let shared = state
            .groups
            .iter()
            .filter(|other| other.display_name == group.display_name)
            .count()
            > 1;
        let members = match &group.rule {
            Some(_) => None,
            None => {
                let mut upns: Vec<String> = group
                    .members
                    .iter()
                    .filter_map(|member| names.upn(member).map(str::to_string))
                    .collect();
                upns.sort();
                // Member groups by display name where it is unique, else by object id.
                let mut nested: Vec<MemberSpec> = group
                    .members
                    .iter()
                    .filter(|member| names.upn(member).is_none())
                    .filter_map(|member| {
                        let found = state
                            .groups
                            .iter()
                            .find(|other| other.id.eq_ignore_ascii_case(member))?;
                        let unique = state
                            .groups
                            .iter()
                            .filter(|other| other.display_name == found.display_name)
                            .count()
                            == 1;
                        Some(if unique {
                            MemberSpec::Group(GroupMember {
                                group: found.display_name.clone(),
                            })
                        } else {
                            MemberSpec::Name(found.id.clone())
                        })
                    })
                    .collect();
                nested.sort_by(|a, b| a.name().cmp(b.name()));
                Some(
                    upns.into_iter()
                        .map(MemberSpec::Name)
                        .chain(nested)
                        .collect(),
                )
            }
        };
        let spec = GroupSpec {
            id: shared.then(|| group.id.clone()),
            description: group.description.clone(),
            security_enabled: (!group.security_enabled).then_some(false),
            rule: group.rule.clone(),
            rule_processing: match (&group.rule, group.rule_processing) {
                (Some(_), Some(RuleProcessing::Paused)) => Some(RuleProcessing::Paused),
                _ => None,
            },
            members,
            licenses: Some(license_specs(&group.licenses)),
            allow_license_loss: None,
            ensure: None,
        };
        let key = if shared {
            format!("{} ({})", group.display_name, group.id)
        } else {
            group.display_name.clone()
        };
        groups.insert(key, spec);
    }
    let mut users = IndexMap::new();
    let mut sorted: Vec<_> = state
        .users
        .iter()
        .filter(|user| user.usage_location.is_some())
        .collect();
    sorted.sort_by(|a, b| a.upn.cmp(&b.upn));
    for user in sorted {
        users.insert(
            user.upn.clone(),
            UserSpec {
                usage_location: user.usage_location.clone(),
                licenses: None,
            },
        );
    }
    Config {
        backend: None,
        version: 1,
        tenant: state
            .tenant
            .default_usage_location
            .as_ref()
            .map(|location| TenantSettings {
                default_usage_location: Some(location.clone()),
            }),
        settings: None,
        catalog: None,
        groups: (!groups.is_empty()).then_some(groups),
        users: (!users.is_empty()).then_some(users),
    }
}

/// A state's licenses as config entries (`disabled_plans` only when some are disabled): the
/// inverse of [`crate::plan::desired::state_licenses`].
pub fn license_specs(licenses: &[AssignedLicense]) -> Vec<LicenseSpec> {
    licenses
        .iter()
        .map(|license| LicenseSpec {
            sku: license.sku.clone(),
            disabled_plans: (!license.disabled_plans.is_empty())
                .then(|| license.disabled_plans.clone()),
            enabled_plans: None,
        })
        .collect()
}
