//! The objects of a collection's pages, each deserialized on its own into its Graph type, and
//! the diagnostics that name where an object is: the page, the object's id and, when the page
//! is a registered source, the node.

use serde::Deserialize;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use crate::diag::{Code, Diagnostic, Location};
use crate::guid::is_guid;
use crate::source::pointer_child;

use super::{GraphMapper, GraphPage};

/// One object of a page being mapped: where it is, for diagnostics.
pub(super) struct At<'a> {
    /// The page that holds the object.
    pub(super) page: &'a GraphPage,
    /// The JSON pointer of the object in the page (`/value/3`).
    pub(super) pointer: String,
    /// The Graph resource (`user`, `subscribedSku`), for messages.
    pub(super) kind: &'static str,
    /// The object's id, when it has one.
    pub(super) id: Option<String>,
}

impl At<'_> {
    /// The whole page, for problems of the response rather than of one object.
    fn response(page: &GraphPage) -> At<'_> {
        At {
            page,
            pointer: String::new(),
            kind: "response",
            id: None,
        }
    }

    /// `user `<id>``, or `a user` for an object without an id.
    pub(super) fn describe(&self) -> String {
        match &self.id {
            Some(id) => format!("{} `{id}`", self.kind),
            None => format!("a {}", self.kind),
        }
    }

    /// A diagnostic about the object, or about its property `field` when given.
    pub(super) fn diagnostic(
        &self,
        code: Code,
        field: Option<&str>,
        message: String,
    ) -> Diagnostic {
        let pointer = match field {
            Some(field) => pointer_child(&self.pointer, field),
            None => self.pointer.clone(),
        };
        self.diagnostic_at(code, pointer, message)
    }

    fn diagnostic_at(&self, code: Code, pointer: String, message: String) -> Diagnostic {
        let diagnostic = Diagnostic::new(code, format!("`{}`: {message}", self.page.origin));
        match self.page.source {
            Some(source) => diagnostic.with_label(Location::node(source, pointer), "here"),
            None => diagnostic,
        }
    }

    /// The object lacks `field` (or it is null).
    pub(super) fn missing(&self, field: &str) -> Diagnostic {
        self.diagnostic(
            Code::GraphMissingField,
            None,
            format!("{} has no `{field}`", self.describe()),
        )
        .with_help(format!("export the response with `{field}` in its $select"))
    }

    /// The object's `field` has a value seatplan does not know.
    pub(super) fn invalid(&self, field: &str, expected: &str) -> Diagnostic {
        self.diagnostic(
            Code::GraphInvalidValue,
            Some(field),
            format!("`{field}` of {} is not {expected}", self.describe()),
        )
        .with_help(RESPONSE_AS_RETURNED)
    }

    /// The object does not deserialize into its Graph type: the property at the error's path
    /// has the wrong shape.
    fn wrong_shape(&self, error: &serde_path_to_error::Error<serde_json::Error>) -> Diagnostic {
        let mut pointer = self.pointer.clone();
        let mut path = String::new();
        for segment in error.path().iter() {
            let token = match segment {
                Segment::Seq { index } => {
                    path.push_str(&format!("[{index}]"));
                    index.to_string()
                }
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    key.clone()
                }
                Segment::Unknown => continue,
            };
            pointer = pointer_child(&pointer, &token);
        }
        let message = if path.is_empty() {
            format!(
                "{} is not a {} object ({})",
                self.describe(),
                self.kind,
                error.inner()
            )
        } else {
            format!(
                "`{path}` of {} has the wrong shape ({})",
                self.describe(),
                error.inner()
            )
        };
        self.diagnostic_at(Code::GraphInvalidValue, pointer, message)
            .with_help(RESPONSE_AS_RETURNED)
    }
}

/// One object of a page: where it is, its JSON and its typed form (`None` when it has the wrong
/// shape, which is reported already).
pub(super) struct Entry<'a, T> {
    /// Where the object is.
    pub(super) at: At<'a>,
    /// The object as parsed.
    pub(super) object: &'a Map<String, Value>,
    /// The object as its Graph type.
    pub(super) typed: Option<T>,
}

const RESPONSE_AS_RETURNED: &str = "the file must hold the response exactly as Graph returned it";

impl GraphMapper {
    /// The objects of every page of a small collection (the organization, one group's members);
    /// see [`GraphMapper::page_objects`].
    pub(super) fn objects<'a, T: Deserialize<'a>>(
        &mut self,
        pages: &'a [GraphPage],
        kind: &'static str,
        id_field: &str,
    ) -> Vec<Entry<'a, T>> {
        let mut objects = Vec::new();
        for (index, page) in pages.iter().enumerate() {
            objects.extend(self.page_objects(page, index + 1 == pages.len(), kind, id_field));
        }
        objects
    }

    /// The objects of one page of a collection (`last`: the collection's last page), each
    /// deserialized into `T`, with where they are; `id_field` names the property that
    /// identifies an object in messages. A page without a `value` array, a last page that
    /// promises another, entries that are not objects and objects of the wrong shape are
    /// reported; an object of the wrong shape comes back as `None` so that the caller can
    /// remember its id. Each comes with its untyped form, for the properties read by name.
    pub(super) fn page_objects<'a, T: Deserialize<'a>>(
        &mut self,
        page: &'a GraphPage,
        last: bool,
        kind: &'static str,
        id_field: &str,
    ) -> Vec<Entry<'a, T>> {
        let Some(values) = page.body.get("value").and_then(Value::as_array) else {
            self.diagnostics.push(
                At::response(page)
                    .diagnostic(
                        Code::GraphMissingField,
                        None,
                        "the response has no `value` array".into(),
                    )
                    .with_help("each file must hold one Graph collection response as returned"),
            );
            return Vec::new();
        };
        if last && page.body.get("@odata.nextLink").is_some() {
            self.diagnostics.push(
                At::response(page)
                    .diagnostic(
                        Code::GraphInconsistentExport,
                        Some("@odata.nextLink"),
                        "the response has an `@odata.nextLink` but its next page is missing".into(),
                    )
                    .with_help(
                        "fetch every page and save page N as <name>-N.json next to the first",
                    ),
            );
        }
        let mut objects = Vec::with_capacity(values.len());
        for (position, value) in values.iter().enumerate() {
            objects.extend(self.entry(page, position, value, kind, id_field));
        }
        objects
    }

    /// The object at `position` of `page`'s `value` array, deserialized into `T`, with where it
    /// is; `None` (reported) when the entry is not an object. See [`GraphMapper::page_objects`].
    pub(super) fn entry<'a, T: Deserialize<'a>>(
        &mut self,
        page: &'a GraphPage,
        position: usize,
        value: &'a Value,
        kind: &'static str,
        id_field: &str,
    ) -> Option<Entry<'a, T>> {
        let mut at = At {
            page,
            pointer: format!("/value/{position}"),
            kind,
            id: None,
        };
        let Some(object) = value.as_object() else {
            self.diagnostics.push(
                at.diagnostic(
                    Code::GraphInvalidValue,
                    None,
                    format!("an entry of `value` is not a {kind} object"),
                )
                .with_help(RESPONSE_AS_RETURNED),
            );
            return None;
        };
        at.id = object
            .get(id_field)
            .and_then(Value::as_str)
            .map(str::to_string);
        // The path is tracked only to describe a failure: the second pass costs nothing on the
        // objects that deserialize, which are all of them in a sound export.
        let typed = match T::deserialize(value) {
            Ok(typed) => Some(typed),
            Err(_) => match serde_path_to_error::deserialize(value) {
                Ok(typed) => Some(typed),
                Err(error) => {
                    self.diagnostics.push(at.wrong_shape(&error));
                    None
                }
            },
        };
        Some(Entry { at, object, typed })
    }

    /// The object's `id` when it is there and a GUID, as every Entra object id is; a missing id
    /// is reported as missing, an id of another shape as `tenant-id-format`.
    pub(super) fn required_id<'v>(
        &mut self,
        at: &At<'_>,
        id: &'v Option<String>,
    ) -> Option<&'v String> {
        let id = self.required(at, id, "id")?;
        if is_guid(id) {
            return Some(id);
        }
        self.diagnostics.push(
            at.diagnostic(
                Code::TenantIdFormat,
                Some("id"),
                format!("the `id` of {} is not a GUID", at.describe()),
            )
            .with_help(
                "Entra object ids are GUIDs such as `62e19b97-8b3d-4d4a-a106-4ce66896a863`: \
                 the file must hold the response exactly as Graph returned it",
            ),
        );
        None
    }

    /// `value` when it is there; otherwise reports `field` as missing.
    pub(super) fn required<'v, T>(
        &mut self,
        at: &At<'_>,
        value: &'v Option<T>,
        field: &str,
    ) -> Option<&'v T> {
        if value.is_none() {
            self.diagnostics.push(at.missing(field));
        }
        value.as_ref()
    }
}
