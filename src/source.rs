//! Sources and spans: the registry of every text seatplan reads (config files, tenant files, rules
//! typed on the command line) and the map from a JSON pointer to the byte span of that node in its
//! YAML or JSON text. Diagnostics name a source and a pointer; this module turns that into bytes.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// Where a label points: a byte range in a source, or a node of a YAML/JSON document by JSON
/// pointer (optionally a byte range inside that node's string value, e.g. a token of a rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A byte range in a registered source.
    Span {
        /// The source the range belongs to.
        source: SourceId,
        /// Byte offsets into the source text.
        range: Range<usize>,
    },
    /// A document node addressed by JSON pointer (`/groups/Sales - E3/licenses/0/sku`).
    Node {
        /// The document the pointer addresses.
        source: SourceId,
        /// RFC 6901 JSON pointer of the node.
        pointer: String,
        /// Byte range inside the node's (unescaped) string value, when the label is about a part
        /// of it, such as one token of a membership rule.
        within: Option<Range<usize>>,
        /// Point at the node's key rather than its value (for "unknown field" and duplicates).
        key: bool,
    },
}

impl Location {
    /// A location for the value of the node at `pointer` in `source`.
    pub fn node(source: SourceId, pointer: impl Into<String>) -> Self {
        Location::Node {
            source,
            pointer: pointer.into(),
            within: None,
            key: false,
        }
    }

    /// A location for the key of the node at `pointer` in `source`.
    pub fn key(source: SourceId, pointer: impl Into<String>) -> Self {
        Location::Node {
            source,
            pointer: pointer.into(),
            within: None,
            key: true,
        }
    }

    /// A location for bytes `within` of the string value at `pointer` in `source`.
    pub fn inside(source: SourceId, pointer: impl Into<String>, within: Range<usize>) -> Self {
        Location::Node {
            source,
            pointer: pointer.into(),
            within: Some(within),
            key: false,
        }
    }

    /// The same node's key instead of its value (a node location's whole entry is best shown at
    /// its key); other locations are returned unchanged.
    pub fn into_key(self) -> Self {
        match self {
            Location::Node {
                source, pointer, ..
            } => Location::key(source, pointer),
            other => other,
        }
    }

    /// A location for a byte range of `source`.
    pub fn span(source: SourceId, range: Range<usize>) -> Self {
        Location::Span { source, range }
    }
}

/// Index of a source in a [`Sources`] registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u32);

/// The byte spans of one document node: its value and, for mapping entries, its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpan {
    /// The node's value (for quoted scalars, including the quotes).
    pub value: Range<usize>,
    /// The mapping key that introduced the node, if any.
    pub key: Option<Range<usize>>,
    /// For scalars whose value differs from their source text (escapes, folding), the value, so
    /// that a range inside the value can be mapped back to source bytes.
    pub decoded: Option<Box<str>>,
}

/// Map from RFC 6901 JSON pointer to the spans of that node in the source text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointerMap {
    nodes: HashMap<String, NodeSpan>,
}

impl PointerMap {
    /// Records the spans of the node at `pointer`.
    pub fn insert(&mut self, pointer: String, span: NodeSpan) {
        self.nodes.insert(pointer, span);
    }

    /// The spans of the node at `pointer`, if the pass saw it.
    pub fn get(&self, pointer: &str) -> Option<&NodeSpan> {
        self.nodes.get(pointer)
    }

    /// The spans of the node at `pointer` or, failing that, of its nearest recorded ancestor
    /// (nodes inside an alias expansion or a missing property resolve to their parent).
    pub fn nearest(&self, pointer: &str) -> Option<(&str, &NodeSpan)> {
        let mut current = pointer;
        loop {
            if let Some((key, span)) = self.nodes.get_key_value(current) {
                return Some((key.as_str(), span));
            }
            match current.rfind('/') {
                Some(index) => current = &current[..index],
                None => return None,
            }
        }
    }

    /// Number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when no node is recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// Escapes one reference token for a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of the node a deserialization error happened at.
pub fn error_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter()
        .fold(String::new(), |pointer, segment| match segment {
            Segment::Seq { index } => pointer_child(&pointer, &index.to_string()),
            Segment::Map { key } => pointer_child(&pointer, key),
            Segment::Enum { .. } | Segment::Unknown => pointer,
        })
}

/// Joins a parent pointer and one (unescaped) token.
pub fn pointer_child(parent: &str, token: &str) -> String {
    let mut pointer = String::with_capacity(parent.len() + token.len() + 1);
    pointer.push_str(parent);
    pointer.push('/');
    pointer.push_str(&escape_pointer_token(token));
    pointer
}

/// One text seatplan read: its display name, its content and, for documents, the pointer map.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path or label shown in diagnostics (`examples/quickstart/seatplan.yaml`, `<rule>`).
    pub name: String,
    /// The full text.
    pub text: Arc<str>,
    /// Pointer → span map for YAML/JSON documents; `None` for plain texts such as a rule.
    pub pointers: Option<PointerMap>,
}

/// The registry of sources a run has read; diagnostics refer to entries by [`SourceId`].
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    /// An empty registry.
    pub fn new() -> Self {
        Sources::default()
    }

    /// Registers a text and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SourceId {
        let id = SourceId(self.files.len() as u32);
        self.files.push(SourceFile {
            name: name.into(),
            text: text.into(),
            pointers: None,
        });
        id
    }

    /// Attaches the pointer map built by the span pass to a registered source.
    pub fn set_pointers(&mut self, id: SourceId, pointers: PointerMap) {
        if let Some(file) = self.files.get_mut(id.0 as usize) {
            file.pointers = Some(pointers);
        }
    }

    /// Gives a registered source its text (one registered without it, until a diagnostic needs
    /// it).
    pub fn set_text(&mut self, id: SourceId, text: impl Into<Arc<str>>) {
        if let Some(file) = self.files.get_mut(id.0 as usize) {
            file.text = text.into();
        }
    }

    /// Number of registered sources (the next [`Sources::add`] gets this id).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// True when nothing is registered.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The source with the given id.
    pub fn get(&self, id: SourceId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// Resolves a location to a source and a byte range in it. Pointers that the map does not
    /// know resolve to their nearest known ancestor; unknown sources give `None`.
    pub fn resolve(&self, location: &Location) -> Option<(SourceId, Range<usize>)> {
        match location {
            Location::Span { source, range } => {
                let file = self.get(*source)?;
                let end = range.end.min(file.text.len());
                Some((*source, range.start.min(end)..end))
            }
            Location::Node {
                source,
                pointer,
                within,
                key,
            } => {
                let file = self.get(*source)?;
                let map = file.pointers.as_ref()?;
                let (found, span) = map.nearest(pointer)?;
                let exact = found.len() == pointer.len();
                if *key && exact {
                    if let Some(key_span) = &span.key {
                        return Some((*source, key_span.clone()));
                    }
                }
                match within {
                    Some(inner) if exact => Some((
                        *source,
                        map_within(
                            &file.text,
                            &span.value,
                            span.decoded.as_deref(),
                            inner.clone(),
                        ),
                    )),
                    _ => Some((*source, span.value.clone())),
                }
            }
        }
    }
}

/// Maps a byte range of a scalar's *value* to the bytes of its *source notation*: quotes, escapes
/// and line folding make the two differ. `decoded` is the value when it differs from the source
/// body (see [`NodeSpan::decoded`]). Characters that cannot be aligned fall back to the whole node.
pub fn map_within(
    text: &str,
    node: &Range<usize>,
    decoded: Option<&str>,
    inner: Range<usize>,
) -> Range<usize> {
    let Some(raw) = text.get(node.clone()) else {
        return node.clone();
    };
    let (body, offset) = scalar_body(raw);
    let base = node.start + offset;
    let Some(value) = decoded else {
        if inner.end <= body.len() {
            return base + inner.start..base + inner.end;
        }
        return node.clone();
    };
    match align(body, value) {
        Some(positions) => {
            let at = |index: usize| positions.get(index).copied();
            match (at(inner.start), at(inner.end)) {
                (Some(start), Some(end)) if start <= end => base + start..base + end.max(start),
                _ => node.clone(),
            }
        }
        None => node.clone(),
    }
}

/// For every byte index of `value` (and one past its end), the byte index in `body` where that
/// character is written. Escapes, doubled quotes and folded line breaks are skipped over.
fn align(body: &str, value: &str) -> Option<Vec<usize>> {
    let mut positions = vec![0; value.len() + 1];
    let mut cursor = 0;
    for (index, character) in value.char_indices() {
        let rest = body.get(cursor..)?;
        let found = rest.char_indices().take(16).find(|(_, candidate)| {
            *candidate == character || (character == ' ' && *candidate == '\n')
        });
        let (skip, candidate) = found?;
        // An escape (`\"`, `''`) belongs to the character it writes.
        let escape = matches!(rest.get(..skip), Some("\\") | Some("'"));
        positions[index] = if escape { cursor } else { cursor + skip };
        cursor += skip + candidate.len_utf8();
        for slot in positions
            .iter_mut()
            .take(index + character.len_utf8())
            .skip(index + 1)
        {
            *slot = cursor;
        }
    }
    positions[value.len()] = cursor;
    Some(positions)
}

/// The part of a scalar's source that holds its text, and where it starts: without quotes, or
/// after a block scalar's indicator line and indentation.
fn scalar_body(raw: &str) -> (&str, usize) {
    match raw.as_bytes().first() {
        Some(b'"') | Some(b'\'') if raw.len() >= 2 => (&raw[1..raw.len() - 1], 1),
        Some(b'|') | Some(b'>') => match raw.find('\n') {
            Some(newline) => {
                let rest = &raw[newline + 1..];
                let indent = rest.len() - rest.trim_start_matches(' ').len();
                (&rest[indent..], newline + 1 + indent)
            }
            None => (raw, 0),
        },
        _ => (raw, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_child("/groups", "a/b~c"), "/groups/a~1b~0c");
    }

    #[test]
    fn nearest_falls_back_to_ancestor() {
        let mut map = PointerMap::default();
        map.insert(
            "/groups".into(),
            NodeSpan {
                value: 3..9,
                key: Some(0..2),
                decoded: None,
            },
        );
        let (found, span) = map.nearest("/groups/x/licenses").unwrap();
        assert_eq!(found, "/groups");
        assert_eq!(span.value, 3..9);
    }

    #[test]
    fn within_plain_and_quoted_scalars() {
        let text = r#"rule: user.department -eq "Sales""#;
        let node = 6..text.len();
        assert_eq!(&text[map_within(text, &node, None, 5..15)], "department");
        let text = r#"rule: "user.department -eq \"Sales\"""#;
        let node = 6..text.len();
        let decoded = r#"user.department -eq "Sales""#;
        let range = map_within(text, &node, Some(decoded), 20..27);
        assert_eq!(&text[range], r#"\"Sales\""#);
    }

    #[test]
    fn within_folded_scalar() {
        let text = "rule: >\n  (user.a -eq 1)\n  -and (user.b -eq 2)\n";
        let node = 6..text.len();
        let decoded = "(user.a -eq 1) -and (user.b -eq 2)\n";
        let range = map_within(text, &node, Some(decoded), 15..19);
        assert_eq!(&text[range], "-and");
    }
}
