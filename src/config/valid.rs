//! The second phase of reading a config: the merged [`LoadedConfig`] and the built-in catalog
//! become a [`ValidConfig`] — the config's `catalog:` additions applied, every rule prepared and
//! checked, every product and plan name resolved — with every diagnostic of those checks at
//! once. The planner consumes a [`ValidConfig`] and never resolves a config's name again.

use std::borrow::Cow;

use super::references::{resolve_licenses, ResolvedLicense, ResolvedLicenses};
use super::rules::check_rules;
use super::LoadedConfig;
use crate::catalog::Catalog;
use crate::diag::Diagnostics;
use crate::rules::RuleBook;

/// A config that passed every check against its catalog, with its names resolved.
#[derive(Debug)]
pub struct ValidConfig {
    /// The merged config, as written.
    pub loaded: LoadedConfig,
    /// The built-in catalog, or a copy with the config's `catalog:` additions.
    pub catalog: Cow<'static, Catalog>,
    /// The groups' rules, parsed and compiled once.
    pub rules: RuleBook,
    licenses: ResolvedLicenses,
}

impl ValidConfig {
    /// The resolved licenses of group `name`, in the config's order (empty for a group without
    /// licenses or not in the config).
    pub fn group_licenses(&self, name: &str) -> &[ResolvedLicense] {
        self.licenses.groups.get(name).map_or(&[], Vec::as_slice)
    }

    /// The resolved direct licenses of user `upn` as the config writes it, in the config's
    /// order.
    pub fn user_licenses(&self, upn: &str) -> &[ResolvedLicense] {
        self.licenses.users.get(upn).map_or(&[], Vec::as_slice)
    }
}

/// Validates `loaded` against `builtin` grown by the config's `catalog:` section. Returns the
/// valid config and the warnings found, or every problem (errors and warnings) when there is an
/// error. The rules are checked even when the catalog additions fail, so that one run reports
/// both.
pub fn validate(
    loaded: LoadedConfig,
    builtin: &'static Catalog,
) -> Result<(ValidConfig, Diagnostics), Diagnostics> {
    let catalog = match &loaded.config.catalog {
        None => Ok(Cow::Borrowed(builtin)),
        Some(additions) => builtin
            .with_additions(additions, |pointer| loaded.catalog_location(pointer))
            .map(Cow::Owned),
    };
    match catalog {
        Ok(catalog) => validate_in(loaded, catalog),
        Err(mut problems) => {
            problems.extend(check_rules(&loaded, &prepare_rules(&loaded)));
            Err(problems)
        }
    }
}

/// Validates `loaded` against `catalog` as it is (the config's `catalog:` section, if any, is
/// taken to be applied already): for a config that seatplan builds from another one, such as
/// the single group of a rule review.
pub fn validate_in(
    loaded: LoadedConfig,
    catalog: Cow<'static, Catalog>,
) -> Result<(ValidConfig, Diagnostics), Diagnostics> {
    let rules = prepare_rules(&loaded);
    let mut problems = check_rules(&loaded, &rules);
    let (licenses, reference_problems) = resolve_licenses(&loaded, &catalog);
    problems.extend(reference_problems);
    if problems.has_errors() {
        return Err(problems);
    }
    Ok((
        ValidConfig {
            loaded,
            catalog,
            rules,
            licenses,
        },
        problems,
    ))
}

fn prepare_rules(loaded: &LoadedConfig) -> RuleBook {
    RuleBook::new(
        loaded
            .config
            .groups
            .iter()
            .flatten()
            .filter_map(|(_, group)| group.rule.as_deref()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{merge, parse_config_file};
    use crate::diag::Code;
    use crate::source::SourceId;

    fn loaded(text: &str) -> LoadedConfig {
        let file = parse_config_file(SourceId(0), text).expect("the config parses");
        merge(vec![file]).expect("one file merges")
    }

    #[test]
    fn licenses_are_resolved_once_with_their_allow_lists() {
        let (valid, warnings) = validate(
            loaded(
                "version: 1\ngroups:\n  E3:\n    members: []\n    licenses:\n      - sku: ENTERPRISEPACK\n        enabled_plans: [EXCHANGE_S_ENTERPRISE]\n      - sku: EMS\n",
            ),
            Catalog::builtin(),
        )
        .expect("the config is valid");
        assert!(warnings.is_empty());
        let catalog = Catalog::builtin();
        let licenses = valid.group_licenses("E3");
        assert_eq!(licenses.len(), 2);
        assert_eq!(
            licenses[0].product,
            catalog.resolve_product("ENTERPRISEPACK").unwrap()
        );
        let exchange = catalog.resolve_plan("EXCHANGE_S_ENTERPRISE").unwrap();
        assert_eq!(
            licenses[0]
                .enabled
                .as_ref()
                .map(|plans| plans.iter().collect::<Vec<_>>()),
            Some(vec![exchange])
        );
        assert_eq!(licenses[1].product, catalog.resolve_product("EMS").unwrap());
        assert_eq!(licenses[1].enabled, None);
        assert!(valid.group_licenses("unknown").is_empty());
    }

    #[test]
    fn catalog_and_rule_problems_are_reported_together() {
        let problems = validate(
            loaded(
                "version: 1\ncatalog:\n  plans:\n    NEW_PLAN: { name: New }\ngroups:\n  Dynamic:\n    rule: 'user.department -eq'\n  Bad:\n    members: []\n    licenses: [{ sku: NO_SUCH_PRODUCT_ANYWHERE }]\n",
            ),
            Catalog::builtin(),
        )
        .expect_err("the config is invalid");
        let codes: Vec<Code> = problems.iter().map(|problem| problem.code).collect();
        assert!(codes.len() >= 2, "{codes:?}");
        assert!(
            codes.iter().any(|code| code.as_str().starts_with("rule-")),
            "{codes:?}"
        );
        assert!(
            !codes.contains(&Code::UnknownSku),
            "references need the catalog: {codes:?}"
        );
    }

    #[test]
    fn unknown_products_fail_validation() {
        let problems = validate(
            loaded("version: 1\ngroups:\n  Bad:\n    members: []\n    licenses: [{ sku: ENTERPRIZEPACK }]\n"),
            Catalog::builtin(),
        )
        .expect_err("the config is invalid");
        assert!(problems
            .iter()
            .any(|problem| problem.code == Code::UnknownSku));
    }
}
