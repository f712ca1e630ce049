//! The export directory's layout (SPEC §1.2) at the I/O edge: which file holds which Graph
//! response and page (`organization.json`, `users-2.json`, `members/<group-id>.json`, …),
//! arranging the files of a directory by collection ([`arrange_export`]) — their paths, to be
//! read and mapped one page at a time by `seatplan import graph`, or read files into a
//! [`GraphExport`] for [`crate::tenant::graph_import::map_export`] — and writing a live read back
//! in the same layout (`seatplan pull --save-responses`).

use std::collections::BTreeMap;
use std::path::Path;

use super::write_atomic;
use crate::diag::{Code, Diagnostic, Diagnostics};
use crate::guid::is_guid;
use crate::tenant::graph_import::{GraphExport, GraphPage};

/// Which response a file of an export directory holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ExportCollection {
    /// `organization.json`.
    Organization,
    /// `subscribedSkus.json`.
    SubscribedSkus,
    /// `users.json`, `users-2.json`, …
    Users,
    /// `groups.json`, `groups-2.json`, …
    Groups,
    /// `members/<group-id>.json`, `members/<group-id>-2.json`, …
    Members(String),
}

/// Names the collection and page number (1 for the first page) of a file of an export
/// directory, from its path relative to the directory with `/` separators. `None` for a file
/// that is not part of the layout.
pub fn classify_export_path(relative: &str) -> Option<(ExportCollection, u32)> {
    let (folder, file) = match relative.rsplit_once('/') {
        Some((folder, file)) => (Some(folder), file),
        None => (None, relative),
    };
    let stem = file.strip_suffix(".json")?;
    let (name, page) = split_page(stem)?;
    let collection = match (folder, name) {
        (None, "organization") => ExportCollection::Organization,
        (None, "subscribedSkus") => ExportCollection::SubscribedSkus,
        (None, "users") => ExportCollection::Users,
        (None, "groups") => ExportCollection::Groups,
        (Some("members"), id) if !id.is_empty() => ExportCollection::Members(id.to_string()),
        _ => return None,
    };
    Some((collection, page))
}

/// `users` → (`users`, 1); `users-2` → (`users`, 2); a GUID keeps its own dashes.
fn split_page(stem: &str) -> Option<(&str, u32)> {
    if is_guid(stem) {
        return Some((stem, 1));
    }
    match stem.rsplit_once('-') {
        Some((name, number))
            if !name.is_empty()
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let page: u32 = number.parse().ok()?;
            (page >= 2).then_some((name, page))
        }
        _ => Some((stem, 1)),
    }
}

/// One file of an export directory, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    /// The path relative to the export directory, with `/` separators.
    pub relative_path: String,
    /// The file's page.
    pub page: GraphPage,
}

/// The files of an export directory by collection, each collection's pages in page order: the
/// pages themselves, or only their paths when they are read one at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportLayout<T> {
    /// `organization.json`.
    pub organization: Vec<T>,
    /// `subscribedSkus.json`.
    pub subscribed_skus: Vec<T>,
    /// `users.json`, `users-2.json`, …
    pub users: Vec<T>,
    /// `groups.json`, `groups-2.json`, …
    pub groups: Vec<T>,
    /// `members/<group-id>.json`, … by group id.
    pub members: BTreeMap<String, Vec<T>>,
}

impl<T> Default for ExportLayout<T> {
    fn default() -> Self {
        ExportLayout {
            organization: Vec::new(),
            subscribed_skus: Vec::new(),
            users: Vec::new(),
            groups: Vec::new(),
            members: BTreeMap::new(),
        }
    }
}

/// Arranges the files of an export directory, given as (path relative to the directory with `/`
/// separators, file), by collection: classifies them by name, orders each collection's pages by
/// number, and reports files outside the layout (warnings), missing required files and gaps in
/// page numbers (errors).
pub fn arrange_export<T>(files: Vec<(String, T)>) -> (ExportLayout<T>, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let mut collections: BTreeMap<ExportCollection, BTreeMap<u32, T>> = BTreeMap::new();
    for (relative_path, file) in files {
        match classify_export_path(&relative_path) {
            Some((collection, page)) => {
                collections
                    .entry(collection)
                    .or_default()
                    .insert(page, file);
            }
            None => diagnostics.push(
                Diagnostic::new(
                    Code::GraphUnknownFile,
                    format!("`{relative_path}` is not part of a Graph export; it was ignored"),
                )
                .with_help(
                    "an export holds organization.json, subscribedSkus.json, users[-N].json, \
                     groups[-N].json and members/<group-id>[-N].json",
                ),
            ),
        }
    }
    let mut layout = ExportLayout::default();
    for (collection, pages) in collections {
        let name = collection_file_name(&collection);
        for (expected, number) in (1..).zip(pages.keys()) {
            if *number != expected {
                diagnostics.push(
                    Diagnostic::new(
                        Code::GraphInconsistentExport,
                        format!(
                            "page {number} of `{name}` is present but page {expected} is missing"
                        ),
                    )
                    .with_help("export every page of the response, numbered without gaps"),
                );
                break;
            }
        }
        let pages: Vec<T> = pages.into_values().collect();
        match collection {
            ExportCollection::Organization => layout.organization = pages,
            ExportCollection::SubscribedSkus => layout.subscribed_skus = pages,
            ExportCollection::Users => layout.users = pages,
            ExportCollection::Groups => layout.groups = pages,
            ExportCollection::Members(id) => {
                layout.members.insert(id, pages);
            }
        }
    }
    for (empty, name) in [
        (layout.organization.is_empty(), "organization.json"),
        (layout.subscribed_skus.is_empty(), "subscribedSkus.json"),
        (layout.users.is_empty(), "users.json"),
        (layout.groups.is_empty(), "groups.json"),
    ] {
        if empty {
            diagnostics.push(
                Diagnostic::new(
                    Code::GraphInconsistentExport,
                    format!("the export has no `{name}`"),
                )
                .with_help("an export needs organization.json, subscribedSkus.json, users.json and groups.json"),
            );
        }
    }
    (layout, diagnostics)
}

/// Arranges parsed files of an export directory into a [`GraphExport`] ([`arrange_export`]).
pub fn assemble_export(files: Vec<ExportFile>) -> (GraphExport, Diagnostics) {
    let files = files
        .into_iter()
        .map(|file| (file.relative_path, file.page))
        .collect();
    let (layout, diagnostics) = arrange_export(files);
    let export = GraphExport {
        organization: layout.organization,
        subscribed_skus: layout.subscribed_skus,
        users: layout.users,
        groups: layout.groups,
        members: layout.members,
    };
    (export, diagnostics)
}

fn collection_file_name(collection: &ExportCollection) -> String {
    match collection {
        ExportCollection::Organization => "organization.json".into(),
        ExportCollection::SubscribedSkus => "subscribedSkus.json".into(),
        ExportCollection::Users => "users.json".into(),
        ExportCollection::Groups => "groups.json".into(),
        ExportCollection::Members(id) => format!("members/{id}.json"),
    }
}

/// Writes the pages of a Graph read to `dir` in the layout `seatplan import graph` reads (SPEC
/// §1.2): `organization.json`, `subscribedSkus.json`, `users.json`, `users-2.json`, …,
/// `groups.json`, …, `members/<group-id>.json`, `members/<group-id>-2.json`, … — each page as
/// Graph returned it. Returns how many files were written.
#[expect(
    clippy::disallowed_methods,
    reason = "`pull --save` writes the export's directory"
)]
pub fn save_graph_export(dir: &Path, export: &GraphExport) -> Result<usize, Diagnostic> {
    let create = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|error| {
            Diagnostic::new(
                Code::Write,
                format!("cannot create `{}`: {error}", path.display()),
            )
            .with_help("check that the parent directory exists and is writable")
        })
    };
    create(dir)?;
    let mut written = 0;
    let mut save = |relative: String, pages: &[GraphPage]| {
        for (index, page) in pages.iter().enumerate() {
            let name = if index == 0 {
                format!("{relative}.json")
            } else {
                format!("{relative}-{}.json", index + 1)
            };
            let text = serde_json::to_string_pretty(&page.body).unwrap_or_default() + "\n";
            write_atomic(&dir.join(name), text.as_bytes())?;
            written += 1;
        }
        Ok::<(), Diagnostic>(())
    };
    save("organization".into(), &export.organization)?;
    save("subscribedSkus".into(), &export.subscribed_skus)?;
    save("users".into(), &export.users)?;
    save("groups".into(), &export.groups)?;
    if !export.members.is_empty() {
        create(&dir.join("members"))?;
    }
    for (id, pages) in &export.members {
        // Object ids are GUIDs; anything else could name a path outside the directory.
        if id.is_empty()
            || !id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        {
            return Err(Diagnostic::new(
                Code::Write,
                format!("the group id `{id}` cannot be a file name"),
            )
            .with_help(
                "Graph object ids are GUIDs; this one is not, so its members are not saved",
            ));
        }
        save(format!("members/{id}"), pages)?;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_classified_with_page_numbers() {
        use ExportCollection::*;
        assert_eq!(classify_export_path("users.json"), Some((Users, 1)));
        assert_eq!(classify_export_path("users-12.json"), Some((Users, 12)));
        assert_eq!(classify_export_path("groups-2.json"), Some((Groups, 2)));
        let id = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d";
        assert_eq!(
            classify_export_path(&format!("members/{id}.json")),
            Some((Members(id.into()), 1))
        );
        assert_eq!(
            classify_export_path(&format!("members/{id}-3.json")),
            Some((Members(id.into()), 3))
        );
        // A GUID whose last group is all digits is still one page, not page 123456789012.
        let digits = "9a8b7c6d-5e4f-4a3b-9c2d-123456789012";
        assert_eq!(
            classify_export_path(&format!("members/{digits}.json")),
            Some((Members(digits.into()), 1))
        );
        assert_eq!(classify_export_path("users-1.json"), None);
        assert_eq!(classify_export_path("notes.json"), None);
        assert_eq!(classify_export_path("users.yaml"), None);
        assert_eq!(classify_export_path("other/users.json"), None);
    }
}
