//! `GET /groups/{id}/members`: the direct members of groups — users by UPN, nested groups by
//! id — and the check that every licensed group's members were exported.

use std::collections::BTreeSet;

use crate::diag::{Code, Diagnostic};

use super::objects::Entry;
use super::types::DirectoryObject;
use super::{GraphMapper, GraphPage};

impl GraphMapper {
    /// Maps every page of `GET /groups/{group_id}/members`, after every page of the groups;
    /// reports a response for a group the groups response does not list.
    pub fn members(&mut self, group_id: &str, pages: &[GraphPage]) {
        let objects = self.objects::<DirectoryObject>(pages, "member", "id");
        let key = group_id.to_ascii_lowercase();
        self.member_responses.insert(key.clone());
        if !self.groups.contains_key(&key) {
            if self.rejected_groups.contains(&key) {
                return;
            }
            if let Some(page) = pages.first() {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::GraphInconsistentExport,
                        format!(
                            "`{}` lists the members of the group `{group_id}`, which the groups \
                             response does not list",
                            page.origin
                        ),
                    )
                    .with_help("export all groups, or remove the stray members file"),
                );
            }
            return;
        }
        let mut names = BTreeSet::new();
        for Entry { at, typed, .. } in objects {
            let Some(member) = typed else {
                continue;
            };
            let Some(kind) = &member.odata_type else {
                self.diagnostics.push(at.missing("@odata.type"));
                continue;
            };
            let Some(id) = self.required_id(&at, &member.id) else {
                continue;
            };
            match kind.as_str() {
                "#microsoft.graph.user" => {
                    let name = member.user_principal_name.as_ref().unwrap_or(id);
                    names.insert(name.clone());
                }
                "#microsoft.graph.group" => {
                    names.insert(id.clone());
                }
                // Devices, contacts and service principals never receive licenses.
                _ => {}
            }
        }
        if let Some(group) = self.groups.get_mut(&key) {
            group.members = names.into_iter().collect();
        }
    }

    /// Gives the group `group_id` the members `names` (users by UPN, groups by id) known
    /// without a members response, as a snapshot refreshed by delta queries knows them; they
    /// are sorted and deduplicated as a members response's are. Returns whether the groups
    /// response lists the group.
    pub fn known_members(&mut self, group_id: &str, names: Vec<String>) -> bool {
        let key = group_id.to_ascii_lowercase();
        let Some(group) = self.groups.get_mut(&key) else {
            return false;
        };
        let mut names = names;
        names.sort_unstable();
        names.dedup();
        group.members = names;
        self.member_responses.insert(key);
        true
    }

    /// Reports the licensed groups whose members response is missing.
    pub(super) fn check_member_responses(&mut self) {
        for key in &self.licensed {
            if self.member_responses.contains(key) {
                continue;
            }
            let Some(group) = self.groups.get(key) else {
                continue;
            };
            self.diagnostics.push(
                Diagnostic::new(
                    Code::GraphInconsistentExport,
                    format!(
                        "the licensed group `{}` ({}) has no members response",
                        group.display_name, group.id
                    ),
                )
                .with_help(format!(
                    "export `GET /groups/{}/members` as members/{}.json",
                    group.id, group.id
                )),
            );
        }
    }
}
