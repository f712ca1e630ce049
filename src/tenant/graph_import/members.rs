//! `GET /groups/{id}/members`: the direct members of groups — users by UPN, nested groups by
//! id — and the check that every licensed group's members were exported.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::diag::{Code, Diagnostic};

use super::objects::Entry;
use super::types::DirectoryObject;
use super::{GraphPage, GroupIndex, Mapper};

impl Mapper {
    /// Fills the members of `groups` from their members responses; reports responses of groups
    /// the groups response does not list and `licensed` groups without one.
    pub(super) fn members(
        &mut self,
        members: &BTreeMap<String, Vec<GraphPage>>,
        groups: &mut GroupIndex,
        licensed: &BTreeSet<String>,
    ) {
        for (group_id, pages) in members {
            let objects = self.objects::<DirectoryObject>(pages, "member", "id");
            let key = group_id.to_ascii_lowercase();
            let Some(group) = groups.get_mut(&key) else {
                if self.rejected_groups.contains(&key) {
                    continue;
                }
                if let Some(page) = pages.first() {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::GraphInconsistentExport,
                            format!(
                                "`{}` lists the members of the group `{group_id}`, which the \
                                 groups response does not list",
                                page.origin
                            ),
                        )
                        .with_help("export all groups, or remove the stray members file"),
                    );
                }
                continue;
            };
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
            group.members = names.into_iter().collect();
        }
        let exported: HashSet<String> = members.keys().map(|id| id.to_ascii_lowercase()).collect();
        for key in licensed {
            let Some(group) = groups.get(key) else {
                continue;
            };
            if !exported.contains(key) {
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
}
