//! The span-aware YAML pass: parses one YAML document into a `serde_json::Value` (what the JSON
//! schema validates) and a [`PointerMap`] (where each node is), rejecting duplicate keys, alias
//! bombs, deep nesting and multi-document streams. The typed models (config, tenant state) are
//! deserialized from that value, so each file is parsed once; serde_yaml only writes YAML. (It
//! would keep the last of duplicate keys silently and has no spans for valid-but-wrong values.)

use std::collections::HashMap;
use std::ops::Range;

use serde_json::{Map, Number, Value};
use serde_saphyr::granit_parser::{Event, Parser, ScalarStyle, Tag};

use crate::diag::{Code, Diagnostic, Location};
use crate::source::{pointer_child, NodeSpan, PointerMap, SourceId};

/// Limits of the YAML pass; inputs beyond them are rejected with a `yaml-limit` diagnostic.
#[derive(Debug, Clone, Copy)]
pub struct YamlLimits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes in the document, counting every alias expansion in full.
    pub max_nodes: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_depth: 64,
            max_nodes: 2_000_000,
        }
    }
}

/// The most nodes alias expansions may add to a document, whatever its node limit.
pub const MAX_ALIAS_NODES: usize = 2_000_000;

/// The most bytes of scalars (keys and values) alias expansions may copy into a document: a few
/// aliases of one large scalar would otherwise build gigabytes while staying far below the node
/// limit.
pub const MAX_ALIAS_BYTES: usize = 16 * 1024 * 1024;

/// A parsed document: its value (for schema validation) and its node spans.
#[derive(Debug, Clone)]
pub struct SpannedDocument {
    /// The document as JSON data; `Value::Null` for an empty document.
    pub value: Value,
    /// Where each node is in the source text.
    pub pointers: PointerMap,
}

enum Frame {
    Mapping {
        pointer: String,
        start: usize,
        map: Map<String, Value>,
        keys: HashMap<String, Range<usize>>,
        pending_key: Option<(String, Range<usize>)>,
        anchor: usize,
        nodes_at_start: usize,
        bytes_at_start: usize,
        last_end: usize,
    },
    Sequence {
        pointer: String,
        start: usize,
        items: Vec<Value>,
        anchor: usize,
        nodes_at_start: usize,
        bytes_at_start: usize,
        last_end: usize,
    },
}

/// Parses `text` (registered as `source`) into a [`SpannedDocument`].
pub fn parse_document(
    source: SourceId,
    text: &str,
    limits: YamlLimits,
) -> Result<SpannedDocument, Diagnostic> {
    // A byte-order mark is not content; skip it and shift every offset by its length.
    let (body, base) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest, '\u{feff}'.len_utf8()),
        None => (text, 0),
    };
    let mut pass = Pass {
        source,
        base,
        limits,
        stack: Vec::new(),
        pointers: PointerMap::default(),
        anchors: HashMap::new(),
        nodes: 0,
        aliased: 0,
        bytes: 0,
        aliased_bytes: 0,
        root: None,
        documents: 0,
    };
    let mut parser = Parser::new_from_str(body);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|error| {
            let offset = base + error.marker().byte_offset().unwrap_or(0);
            let at = offset.min(text.len());
            Diagnostic::new(Code::YamlSyntax, format!("invalid YAML: {}", error.info()))
                .with_label(Location::span(source, at..at), "here")
                .with_help(
                    "check indentation (spaces only, no tabs), quoting and the `key: value` form",
                )
        })?;
        let range = base + span.start.byte_offset().unwrap_or(0)
            ..base + span.end.byte_offset().unwrap_or(0);
        pass.event(event, range, body)?;
    }
    Ok(SpannedDocument {
        value: pass.root.unwrap_or(Value::Null),
        pointers: pass.pointers,
    })
}

struct Pass {
    source: SourceId,
    base: usize,
    limits: YamlLimits,
    stack: Vec<Frame>,
    pointers: PointerMap,
    /// Anchor id → (value, node count of the value, scalar bytes of the value).
    anchors: HashMap<usize, (Value, usize, usize)>,
    nodes: usize,
    /// Nodes copied by alias expansions (part of `nodes`).
    aliased: usize,
    /// Bytes of scalars (keys and values) in the document, alias expansions included.
    bytes: usize,
    /// Scalar bytes copied by alias expansions (part of `bytes`).
    aliased_bytes: usize,
    root: Option<Value>,
    documents: usize,
}

impl Pass {
    fn event(
        &mut self,
        event: Event<'_>,
        range: Range<usize>,
        body: &str,
    ) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(Diagnostic::new(
                        Code::YamlLimit,
                        "the file holds more than one YAML document",
                    )
                    .with_label(
                        Location::span(self.source, range),
                        "a second document starts here",
                    )
                    .with_help(
                        "put each document in its own file, or remove the `---` separator",
                    ));
                }
                Ok(())
            }
            Event::Scalar(value, style, anchor, tag) => {
                let is_key = matches!(
                    self.stack.last(),
                    Some(Frame::Mapping {
                        pending_key: None,
                        ..
                    })
                );
                self.check_tag(tag.as_deref(), &range)?;
                self.bytes = self.bytes.saturating_add(value.len());
                if is_key {
                    if matches!(style, ScalarStyle::Plain)
                        && matches!(value.as_ref(), "" | "~" | "null" | "Null" | "NULL")
                    {
                        return Err(Diagnostic::new(
                            Code::NullKey,
                            format!(
                                "a mapping key is null (`{}`)",
                                if value.is_empty() { "" } else { value.as_ref() }
                            ),
                        )
                        .with_label(Location::span(self.source, range), "null key")
                        .with_help("give the entry a name; quote it (`\"~\"`) if the name really is `~` or `null`"));
                    }
                    return self.key(value.into_owned(), range);
                }
                self.count(1, &range)?;
                let plain = matches!(style, ScalarStyle::Plain);
                let tagged_string = tag
                    .as_ref()
                    .is_some_and(|tag| tag.suffix() == "str" || tag.suffix().ends_with(":str"));
                let json = if plain && !tagged_string {
                    plain_scalar(&value)
                } else {
                    Value::String(value.to_string())
                };
                let raw = body
                    .get(range.start - self.base..range.end - self.base)
                    .unwrap_or("");
                let decoded = match style {
                    ScalarStyle::Plain if raw == value.as_ref() => None,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted
                        if raw.len() >= 2 && &raw[1..raw.len() - 1] == value.as_ref() =>
                    {
                        None
                    }
                    _ => Some(value.to_string().into_boxed_str()),
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, (json.clone(), 1, value.len()));
                }
                self.value(json, range, decoded)
            }
            Event::Alias(anchor) => {
                if matches!(
                    self.stack.last(),
                    Some(Frame::Mapping {
                        pending_key: None,
                        ..
                    })
                ) {
                    return Err(Diagnostic::new(
                        Code::YamlSyntax,
                        "an alias cannot be used as a mapping key",
                    )
                    .with_label(Location::span(self.source, range), "alias used as a key")
                    .with_help("write the key out in full"));
                }
                let (count, bytes) = self
                    .anchors
                    .get(&anchor)
                    .map(|(_, count, bytes)| (*count, *bytes))
                    .ok_or_else(|| {
                        Diagnostic::new(Code::YamlSyntax, "alias refers to an unknown anchor")
                            .with_label(
                                Location::span(self.source, range.clone()),
                                "unknown anchor",
                            )
                            .with_help("define the anchor (`&name`) before using it (`*name`)")
                    })?;
                // Counted before the copy, so that a bomb is stopped before it is built.
                self.count(count, &range)?;
                self.count_aliased(count, &range)?;
                self.count_aliased_bytes(bytes, &range)?;
                let value = self
                    .anchors
                    .get(&anchor)
                    .map(|(value, ..)| value.clone())
                    .unwrap_or(Value::Null);
                self.value(value, range, None)
            }
            Event::MappingStart(_, anchor, tag) => {
                self.check_tag(tag.as_deref(), &range)?;
                self.open(&range)?;
                let pointer = self.child_pointer(&range)?;
                self.stack.push(Frame::Mapping {
                    pointer,
                    start: range.start,
                    map: Map::new(),
                    keys: HashMap::new(),
                    pending_key: None,
                    anchor,
                    nodes_at_start: self.nodes,
                    bytes_at_start: self.bytes,
                    last_end: range.end,
                });
                Ok(())
            }
            Event::SequenceStart(_, anchor, tag) => {
                self.check_tag(tag.as_deref(), &range)?;
                self.open(&range)?;
                let pointer = self.child_pointer(&range)?;
                self.stack.push(Frame::Sequence {
                    pointer,
                    start: range.start,
                    items: Vec::new(),
                    anchor,
                    nodes_at_start: self.nodes,
                    bytes_at_start: self.bytes,
                    last_end: range.end,
                });
                Ok(())
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, start, anchor, (nodes_at_start, bytes_at_start), pointer, last_end) =
                    match frame {
                        Frame::Mapping {
                            map,
                            start,
                            anchor,
                            nodes_at_start,
                            bytes_at_start,
                            pointer,
                            last_end,
                            ..
                        } => (
                            Value::Object(map),
                            start,
                            anchor,
                            (nodes_at_start, bytes_at_start),
                            pointer,
                            last_end,
                        ),
                        Frame::Sequence {
                            items,
                            start,
                            anchor,
                            nodes_at_start,
                            bytes_at_start,
                            pointer,
                            last_end,
                        } => (
                            Value::Array(items),
                            start,
                            anchor,
                            (nodes_at_start, bytes_at_start),
                            pointer,
                            last_end,
                        ),
                    };
                if anchor != 0 {
                    self.anchors.insert(
                        anchor,
                        (
                            value.clone(),
                            self.nodes - nodes_at_start + 1,
                            self.bytes - bytes_at_start,
                        ),
                    );
                }
                // A flow collection's end event covers its closing bracket; a block collection's is
                // empty and sits at the next token, so the node ends with its last child instead.
                let end = if range.is_empty() {
                    last_end
                } else {
                    range.end
                }
                .max(start);
                self.bump(end);
                let key = self.pending_key_span();
                self.pointers.insert(
                    pointer,
                    NodeSpan {
                        value: start..end,
                        key,
                        decoded: None,
                    },
                );
                self.attach(value);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Tags are refused: seatplan's files are plain data, and a tag such as `!!binary` or
    /// `!!python/object` would otherwise be dropped silently and its value read as text. Only
    /// `!!str` (a value that must stay a string) is allowed.
    fn check_tag(&self, tag: Option<&Tag>, range: &Range<usize>) -> Result<(), Diagnostic> {
        let Some(tag) = tag else {
            return Ok(());
        };
        if tag.handle() == "tag:yaml.org,2002:" && tag.suffix() == "str" {
            return Ok(());
        }
        Err(Diagnostic::new(
            Code::YamlTag,
            format!(
                "the YAML tag `{}{}` is not supported",
                tag.original_handle(),
                tag.suffix()
            ),
        )
        .with_label(Location::span(self.source, range.clone()), "tagged here")
        .with_help("remove the tag: seatplan's files hold plain data (only `!!str` is accepted, to keep a value a string)"))
    }

    /// Counts scalar bytes an alias copies against [`MAX_ALIAS_BYTES`].
    fn count_aliased_bytes(
        &mut self,
        bytes: usize,
        range: &Range<usize>,
    ) -> Result<(), Diagnostic> {
        self.bytes = self.bytes.saturating_add(bytes);
        self.aliased_bytes = self.aliased_bytes.saturating_add(bytes);
        if self.aliased_bytes > MAX_ALIAS_BYTES {
            return Err(Diagnostic::new(
                Code::YamlLimit,
                format!("aliases expand to more than {MAX_ALIAS_BYTES} bytes of text"),
            )
            .with_label(
                Location::span(self.source, range.clone()),
                "expansion passes the limit here",
            )
            .with_help("an alias copies its anchor's whole value; write the data out instead"));
        }
        Ok(())
    }

    fn count(&mut self, nodes: usize, range: &Range<usize>) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > self.limits.max_nodes {
            return Err(Diagnostic::new(
                Code::YamlLimit,
                format!("the document expands to more than {} nodes", self.limits.max_nodes),
            )
            .with_label(Location::span(self.source, range.clone()), "expansion passes the limit here")
            .with_help("aliases that refer to aliases multiply (a \"billion laughs\" document); write the data out instead"));
        }
        Ok(())
    }

    /// Alias expansions have their own budget, far below the node limit of large state files:
    /// data written out needs no aliases, and a few kilobytes of aliases must not build a tree of
    /// millions of nodes before the node limit stops it.
    fn count_aliased(&mut self, nodes: usize, range: &Range<usize>) -> Result<(), Diagnostic> {
        self.aliased = self.aliased.saturating_add(nodes);
        if self.aliased > MAX_ALIAS_NODES {
            return Err(Diagnostic::new(
                Code::YamlLimit,
                format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
            )
            .with_label(Location::span(self.source, range.clone()), "expansion passes the limit here")
            .with_help("aliases that refer to aliases multiply (a \"billion laughs\" document); write the data out instead"));
        }
        Ok(())
    }

    fn open(&mut self, range: &Range<usize>) -> Result<(), Diagnostic> {
        if matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                pending_key: None,
                ..
            })
        ) {
            return Err(Diagnostic::new(
                Code::YamlSyntax,
                "a mapping key must be a plain value, not a list or mapping",
            )
            .with_label(Location::span(self.source, range.clone()), "complex key")
            .with_help("use a string as the key"));
        }
        if self.stack.len() >= self.limits.max_depth {
            return Err(Diagnostic::new(
                Code::YamlLimit,
                format!("nesting is deeper than {} levels", self.limits.max_depth),
            )
            .with_label(
                Location::span(self.source, range.start..range.start),
                "too deep here",
            )
            .with_help(
                "seatplan files are a few levels deep; check for runaway brackets or indentation",
            ));
        }
        self.count(1, range)
    }

    fn key(&mut self, key: String, range: Range<usize>) -> Result<(), Diagnostic> {
        let source = self.source;
        let Some(Frame::Mapping {
            keys,
            pending_key,
            pointer,
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(());
        };
        if let Some(first) = keys.get(&key) {
            return Err(Diagnostic::new(Code::DuplicateKey, format!("the key `{key}` appears twice in one mapping"))
                .with_label(Location::span(source, range), "second definition")
                .with_label(Location::span(source, first.clone()), "first defined here")
                .with_help(format!("merge the two entries of `{key}` into one (YAML would silently keep only the last)"))
                .with_note(format!("in {}", if pointer.is_empty() { "/" } else { pointer })));
        }
        keys.insert(key.clone(), range.clone());
        *pending_key = Some((key, range));
        Ok(())
    }

    fn child_pointer(&self, _range: &Range<usize>) -> Result<String, Diagnostic> {
        Ok(match self.stack.last() {
            None => String::new(),
            Some(Frame::Mapping {
                pointer,
                pending_key,
                ..
            }) => pointer_child(
                pointer,
                pending_key
                    .as_ref()
                    .map(|(key, _)| key.as_str())
                    .unwrap_or(""),
            ),
            Some(Frame::Sequence { pointer, items, .. }) => {
                pointer_child(pointer, &items.len().to_string())
            }
        })
    }

    fn pending_key_span(&self) -> Option<Range<usize>> {
        match self.stack.last() {
            Some(Frame::Mapping {
                pending_key: Some((_, span)),
                ..
            }) => Some(span.clone()),
            _ => None,
        }
    }

    /// Records that the innermost open collection extends at least to `end`.
    fn bump(&mut self, end: usize) {
        match self.stack.last_mut() {
            Some(Frame::Mapping { last_end, .. }) | Some(Frame::Sequence { last_end, .. }) => {
                *last_end = (*last_end).max(end);
            }
            None => {}
        }
    }

    fn value(
        &mut self,
        value: Value,
        range: Range<usize>,
        decoded: Option<Box<str>>,
    ) -> Result<(), Diagnostic> {
        let pointer = self.child_pointer(&range)?;
        let key = self.pending_key_span();
        self.bump(range.end);
        self.pointers.insert(
            pointer,
            NodeSpan {
                value: range,
                key,
                decoded,
            },
        );
        self.attach(value);
        Ok(())
    }

    fn attach(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Mapping {
                map, pending_key, ..
            }) => {
                if let Some((key, _)) = pending_key.take() {
                    map.insert(key, value);
                }
            }
            Some(Frame::Sequence { items, .. }) => items.push(value),
        }
    }
}

/// Types a plain scalar the way the YAML 1.2 core schema does, but strictly: only `true`/`false`
/// are booleans (so the country code `NO` stays a string) and numbers with leading zeros stay
/// strings (`0123`).
fn plain_scalar(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let leading_zero = digits.len() > 1 && digits.starts_with('0') && !digits.starts_with("0.");
    if !leading_zero && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(integer) = text.parse::<i64>() {
            return Value::Number(integer.into());
        }
    }
    let looks_numeric = !digits.is_empty()
        && digits
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_numeric && !leading_zero {
        if let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(number);
        }
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SpannedDocument, Diagnostic> {
        parse_document(SourceId(0), text, YamlLimits::default())
    }

    #[test]
    fn values_and_spans() {
        let text = "groups:\n  \"Sales - E3\":\n    licenses:\n      - sku: ENTERPRISEPACK\n";
        let document = parse(text).unwrap();
        assert_eq!(
            document.value["groups"]["Sales - E3"]["licenses"][0]["sku"],
            "ENTERPRISEPACK"
        );
        let span = document
            .pointers
            .get("/groups/Sales - E3/licenses/0/sku")
            .unwrap();
        assert_eq!(&text[span.value.clone()], "ENTERPRISEPACK");
        assert_eq!(&text[span.key.clone().unwrap()], "sku");
        let group = document.pointers.get("/groups/Sales - E3").unwrap();
        assert_eq!(&text[group.key.clone().unwrap()], "\"Sales - E3\"");
        assert_eq!(
            &text[group.value.clone()],
            "licenses:\n      - sku: ENTERPRISEPACK",
            "a block mapping ends with its last child"
        );
        let flow = parse("a: [x, y]\nb: 1\n").unwrap();
        assert_eq!(
            flow.pointers.get("/a").unwrap().value,
            3..9,
            "a flow sequence ends at `]`"
        );
    }

    #[test]
    fn strict_scalars() {
        let document = parse("a: NO\nb: 0123\nc: 12\nd: true\ne: ~\nf: 1.5\ng: yes\n").unwrap();
        assert_eq!(document.value["a"], "NO");
        assert_eq!(document.value["b"], "0123");
        assert_eq!(document.value["c"], 12);
        assert_eq!(document.value["d"], true);
        assert_eq!(document.value["e"], Value::Null);
        assert_eq!(document.value["f"], 1.5);
        assert_eq!(document.value["g"], "yes");
    }

    #[test]
    fn duplicate_keys_show_both_places() {
        let error = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.code, Code::DuplicateKey);
        assert_eq!(error.labels.len(), 2);
    }

    #[test]
    fn alias_bomb_is_limited() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..12 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let error = parse(&text).unwrap_err();
        assert_eq!(error.code, Code::YamlLimit);
    }

    #[test]
    fn alias_expansion_has_its_own_budget_under_a_large_node_limit() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        let limits = YamlLimits {
            max_depth: 32,
            max_nodes: 50_000_000,
        };
        let error = parse_document(SourceId(0), &text, limits).unwrap_err();
        assert_eq!(error.code, Code::YamlLimit);
        assert!(
            error.message.starts_with("aliases expand"),
            "{}",
            error.message
        );
    }

    #[test]
    fn aliases_of_a_large_scalar_are_limited_by_bytes() {
        let text = format!(
            "big: &big \"{}\"\ncopies: [{}]\n",
            "s".repeat(1024 * 1024),
            ["*big"; 17].join(", ")
        );
        let error = parse(&text).unwrap_err();
        assert_eq!(error.code, Code::YamlLimit);
        assert!(error.message.contains("bytes"), "{}", error.message);
        let few = format!(
            "big: &big \"{}\"\ncopies: [{}]\n",
            "s".repeat(1024 * 1024),
            ["*big"; 15].join(", ")
        );
        assert!(parse(&few).is_ok());
    }

    #[test]
    fn tags_other_than_str_are_refused() {
        for text in [
            "a: !!binary aGVsbG8=\n",
            "a: !!python/object:os.system {}\n",
            "a: !custom [1]\n",
            "a: !!int 3\n",
        ] {
            assert_eq!(parse(text).unwrap_err().code, Code::YamlTag, "{text}");
        }
        assert_eq!(
            parse("a: !!str 0123\n").unwrap().value["a"],
            serde_json::json!("0123")
        );
    }

    #[test]
    fn null_keys_are_refused_and_quoted_ones_kept() {
        for text in ["~: 1\n", "null: 1\n", ": 1\n", "a:\n  NULL: 1\n"] {
            assert_eq!(parse(text).unwrap_err().code, Code::NullKey, "{text:?}");
        }
        let quoted = parse("\"~\": 1\n'null': 2\n").unwrap().value;
        assert_eq!(quoted["~"], serde_json::json!(1));
        assert_eq!(quoted["null"], serde_json::json!(2));
    }

    #[test]
    fn deep_nesting_is_limited() {
        let text = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
        let error = parse(&text).unwrap_err();
        assert!(matches!(error.code, Code::YamlLimit | Code::YamlSyntax));
    }

    #[test]
    fn tabs_are_syntax_errors() {
        let error = parse("groups:\n\tx: 1\n").unwrap_err();
        assert_eq!(error.code, Code::YamlSyntax);
    }

    #[test]
    fn bom_shifts_offsets() {
        let text = "\u{feff}a: b\n";
        let document = parse(text).unwrap();
        let span = document.pointers.get("/a").unwrap();
        assert_eq!(&text[span.value.clone()], "b");
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(parse("# only a comment\n").unwrap().value, Value::Null);
    }

    #[test]
    fn second_document_is_rejected() {
        let error = parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(error.code, Code::YamlLimit);
    }
}
