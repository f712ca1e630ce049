//! `GET /groups`: each group's kind, membership rule and licenses; which groups are licensed
//! (their members must be in the export too).

use crate::config::RuleProcessing;
use crate::diag::Code;
use crate::tenant::model::{AssignedLicense, GroupState};

use super::objects::Entry;
use super::types::Group;
use super::{GraphMapper, GraphPage};

impl GraphMapper {
    /// Maps a page of `GET /groups` (`last`: the collection's last page), after every page of
    /// the subscribed SKUs.
    pub fn groups(&mut self, page: &GraphPage, last: bool) {
        let objects = self.page_objects::<Group>(page, last, "group", "id");
        for Entry { at, typed, .. } in objects {
            let Some(group) = typed else {
                if let Some(id) = &at.id {
                    self.rejected_groups.insert(id.to_ascii_lowercase());
                }
                continue;
            };
            let id = self.required_id(&at, &group.id);
            if let (None, Some(written)) = (id, &group.id) {
                // Reported once here; the users' and members' references to it are not.
                self.rejected_groups.insert(written.to_ascii_lowercase());
            }
            let display_name = self.required(&at, &group.display_name, "displayName");
            let security_enabled = self.required(&at, &group.security_enabled, "securityEnabled");
            let dynamic = group
                .group_types
                .iter()
                .flatten()
                .any(|kind| kind.eq_ignore_ascii_case("DynamicMembership"));
            let rule = if dynamic {
                self.required(&at, &group.membership_rule, "membershipRule")
                    .cloned()
            } else {
                None
            };
            let rule_processing = match group.membership_rule_processing_state.as_deref() {
                Some(state) if state.eq_ignore_ascii_case("On") => Some(RuleProcessing::On),
                Some(state) if state.eq_ignore_ascii_case("Paused") => Some(RuleProcessing::Paused),
                Some(_) => {
                    self.diagnostics
                        .push(at.invalid("membershipRuleProcessingState", "`On` or `Paused`"));
                    None
                }
                None => None,
            }
            .filter(|_| dynamic);
            let licenses = match self.required(&at, &group.assigned_licenses, "assignedLicenses") {
                Some(items) => {
                    let mut licenses: Vec<AssignedLicense> = items
                        .iter()
                        .filter_map(|item| self.assigned_license(&at, item, "assignedLicenses"))
                        .collect();
                    licenses.sort_by(|a, b| a.sku.cmp(&b.sku));
                    licenses
                }
                None => Vec::new(),
            };
            let (Some(id), Some(display_name), Some(&security_enabled)) =
                (id, display_name, security_enabled)
            else {
                if let Some(id) = id {
                    self.rejected_groups.insert(id.to_ascii_lowercase());
                }
                continue;
            };
            let key = id.to_ascii_lowercase();
            if self.groups.contains_key(&key) {
                self.diagnostics.push(
                    at.diagnostic(
                        Code::GraphDuplicateObject,
                        None,
                        format!("the group `{id}` is listed twice"),
                    )
                    .with_help("export each page once"),
                );
                continue;
            }
            if !licenses.is_empty() {
                self.licensed.insert(key.clone());
            }
            self.groups.insert(
                key,
                GroupState {
                    id: id.clone(),
                    display_name: display_name.clone(),
                    description: group.description.clone(),
                    security_enabled,
                    mail_enabled: group.mail_enabled.unwrap_or(false),
                    rule,
                    rule_processing,
                    members: Vec::new(),
                    licenses,
                },
            );
        }
    }
}
