//! Builds a [`Tree`] from yaml-rust2's events: markers become byte offsets,
//! each node gets its end from the source text, anchors and tags are found
//! before their nodes, and repeated keys are noted as mappings close.

use hashbrown::HashMap;
use std::cell::Cell;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::extent::{
    block_scalar_span, decorations, empty_scalar_position, name_end, plain_scalar_end, quoted_end,
};
use super::*;
use crate::index_table::IndexTable;

/// The tree of `text`, refused when it would hold more than `max_nodes`
/// nodes ([`MAX_NODES`] but in a test).
pub(super) fn parse_body(text: &str, max_nodes: usize) -> Result<Tree, SyntaxError> {
    let index = CharIndex::new(text);
    let mut builder = Builder::new(text, &index);
    builder.max_nodes = max_nodes;
    // Events are pulled one by one: `Parser::load` recurses once per
    // nesting level and overflows the stack on deeply nested input.
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|err| syntax_error(&index, &err))?;
        let end = event == Event::StreamEnd;
        builder.on_event(event, mark);
        if end || builder.error.is_some() {
            break;
        }
    }
    if let Some(err) = builder.error.take() {
        return Err(err);
    }
    Ok(builder.finish())
}

/// The document that holds the configuration: the second one when the first
/// is only a `spec:` header.
fn content_root(tree: &Tree, text: &str, roots: &[NodeId]) -> Option<(usize, NodeId)> {
    let first = *roots.first()?;
    let is_header = tree.is_mapping(first)
        && tree
            .pairs(first)
            .all(|(key, _)| tree.key(text, key) == Some("spec"))
        && tree.pairs(first).next().is_some();
    match roots.get(1) {
        Some(&second) if is_header => Some((1, second)),
        _ => Some((0, first)),
    }
}

/// The repeated keys among `count` keys of one mapping (`key(i)` the i-th;
/// `name` a key's name, `None` for one that cannot repeat: not a scalar,
/// or `<<`), each later one paired with the one before it, as the parser
/// pairs them. The keys seen are kept as 4-byte positions, names read
/// again when compared ([`IndexTable`]): a map of the root's 300,000 names
/// took 6.5 MB, allocated and freed as the parse ended, after which glibc
/// kept later allocations of that size on its fragmenting heap. A splice
/// finds its new root's repeated keys with it too.
pub(super) fn repeated_keys<'t>(
    count: usize,
    key: impl Fn(u32) -> NodeId,
    name: impl Fn(NodeId) -> Option<&'t str>,
) -> Vec<(NodeId, NodeId)> {
    let name_at = |position: u32| name(key(position)).unwrap_or_default();
    let mut seen = IndexTable::with_capacity(count);
    let mut pairs = Vec::new();
    for position in 0..count as u32 {
        let later = key(position);
        let Some(written) = name(later) else {
            continue;
        };
        match seen.get_mut(written, name_at) {
            Some(earlier) => {
                pairs.push((key(*earlier), later));
                *earlier = position;
            }
            None => seen.insert(written, position, name_at),
        }
    }
    pairs
}

fn syntax_error(index: &CharIndex, err: &ScanError) -> SyntaxError {
    SyntaxError {
        offset: index.byte_of(err.marker()),
        message: err.info().to_string(),
    }
}

/// Converts yaml-rust2 markers into byte offsets.
///
/// In ASCII text a marker's `index()` is its byte offset. Elsewhere it is
/// not to be trusted (characters skipped in a comment may be counted as
/// bytes), while its line and column are: the column is counted in
/// characters from the line's start. The line is found by walking lines
/// from the previous marker's: markers come nearly in document order, so
/// the walks add up to about one pass over the text, and no table of lines
/// is kept while the tree is built (the file's line index is built when a
/// report first asks for it). After a block scalar with CRLF line ends the
/// index is one too far too; a text with `\r` keeps a table of line
/// starts, since yaml-rust2 also breaks lines at a lone `\r`.
struct CharIndex<'a> {
    text: &'a str,
    ascii: bool,
    /// Where lines start, for a text with `\r` only.
    line_starts: Option<Vec<u32>>,
    /// The previous marker's line (0-based) and where that line starts.
    cursor: Cell<(usize, usize)>,
}

impl<'a> CharIndex<'a> {
    fn new(text: &'a str) -> Self {
        let line_starts = text.as_bytes().contains(&b'\r').then(|| {
            std::iter::once(0)
                .chain(line_breaks(text).map(|pos| pos as u32 + 1))
                .collect()
        });
        CharIndex {
            text,
            ascii: text.is_ascii(),
            line_starts,
            cursor: Cell::new((0, 0)),
        }
    }

    fn byte_of(&self, mark: &Marker) -> usize {
        let line = mark.line().saturating_sub(1);
        let start = match &self.line_starts {
            Some(starts) => match starts.get(line) {
                Some(&start) => start as usize,
                None => return self.text.len(),
            },
            None if self.ascii => return mark.index().min(self.text.len()),
            None => match self.line_start(line) {
                Some(start) => start,
                None => return self.text.len(),
            },
        };
        self.column(start, mark.col())
    }

    /// Where 0-based `line` starts, walked from the cursor's line; `None`
    /// past the last line.
    fn line_start(&self, line: usize) -> Option<usize> {
        let (mut at_line, mut start) = self.cursor.get();
        if at_line == line {
            // Most markers share their line with the one before.
            return Some(start);
        }
        let bytes = self.text.as_bytes();
        while at_line < line {
            start += memchr::memchr(b'\n', &bytes[start..])? + 1;
            at_line += 1;
        }
        while at_line > line {
            start = memchr::memrchr(b'\n', &bytes[..start - 1]).map_or(0, |pos| pos + 1);
            at_line -= 1;
        }
        self.cursor.set((at_line, start));
        Some(start)
    }

    /// The byte offset of character `column` of the line starting at `start`.
    fn column(&self, start: usize, column: usize) -> usize {
        let line = &self.text[start..];
        // A line whose start is ASCII up to the column needs no walk: in a
        // file with a few accented words, nearly every line.
        let ascii_before = || line.as_bytes().get(..column).is_some_and(<[u8]>::is_ascii);
        let column = if self.ascii || ascii_before() {
            column
        } else {
            line.char_indices()
                .nth(column)
                .map_or(line.len(), |(offset, _)| offset)
        };
        (start + column).min(self.text.len())
    }
}

/// Whether a scalar of `style` decodes from its own span: a block scalar
/// with an indentation indicator counts it from its parent's indentation,
/// on a line a splice may not share.
fn decodes_alone(style: ScalarStyle) -> bool {
    !matches!(
        style,
        ScalarStyle::Literal {
            indent: Some(_),
            ..
        } | ScalarStyle::Folded {
            indent: Some(_),
            ..
        }
    )
}

/// Ends of YAML line breaks: `\n`, and a `\r` not followed by `\n` (old
/// Mac line ends), which yaml-rust2 counts as a line of its own.
fn line_breaks(text: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(move |&(pos, &b)| b == b'\n' || b == b'\r' && bytes.get(pos + 1) != Some(&b'\n'))
        .map(|(pos, _)| pos)
}

/// An open collection while events stream in.
struct Frame {
    node: NodeId,
    flow: bool,
    is_mapping: bool,
    /// Anchor and tag of a block collection are found when it ends, from the
    /// start of its first child: a block mapping's start marker is unreliable.
    has_anchor: bool,
    has_tag: bool,
    /// Where its children start in the builder's `open_children`: one
    /// stack for every open collection, not a vector each.
    children_from: usize,
}

/// A plain scalar whose end is only known once the next event arrives.
struct PendingPlain {
    node: NodeId,
    in_flow: bool,
    is_key: bool,
    /// The decoded value, stored once the end shows whether it differs
    /// from the source text.
    value: String,
}

struct Builder<'a> {
    text: &'a str,
    index: &'a CharIndex<'a>,
    nodes: super::nodes::Nodes,
    stack: Vec<Frame>,
    /// Children of the open collections, innermost last.
    open_children: Vec<NodeId>,
    anchors: HashMap<usize, NodeId>,
    roots: Vec<NodeId>,
    duplicates: Vec<(NodeId, NodeId)>,
    values: Values,
    decorations: HashMap<NodeId, Decoration>,
    pending: Option<PendingPlain>,
    /// End of the most recent node: where a following empty scalar sits.
    last_end: usize,
    error: Option<SyntaxError>,
    /// A node id takes 29 bits of a collection's word.
    max_nodes: usize,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, index: &'a CharIndex<'a>) -> Self {
        Builder {
            text,
            index,
            nodes: Default::default(),
            stack: Vec::new(),
            open_children: Vec::new(),
            anchors: HashMap::new(),
            roots: Vec::new(),
            duplicates: Vec::new(),
            values: Values::default(),
            decorations: HashMap::new(),
            pending: None,
            last_end: 0,
            error: None,
            max_nodes: MAX_NODES,
        }
    }

    fn finish(self) -> Tree {
        let mut tree = Tree {
            nodes: self.nodes,
            root: None,
            document: 0,
            duplicates: self.duplicates,
            values: self.values,
            decorations: self.decorations,
            entries: OnceLock::new(),
            child_index: super::holder::ChildIndex::default(),
            shared: None,
        };
        if let Some((document, root)) = content_root(&tree, self.text, &self.roots) {
            tree.root = Some(root);
            tree.document = document;
        }
        tree
    }

    fn in_flow(&self) -> bool {
        self.stack.last().is_some_and(|frame| frame.flow)
    }

    /// Whether the next node is a mapping's key: its open mapping holds
    /// as many keys as values.
    fn next_is_key(&self) -> bool {
        self.stack.last().is_some_and(|frame| {
            frame.is_mapping && (self.open_children.len() - frame.children_from).is_multiple_of(2)
        })
    }

    /// Adds `node`; an alias is `packed` without its length, which its
    /// anchor gives.
    fn push_node(&mut self, node: Node, anchor_id: usize, packed: bool) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        if self.nodes.len() == self.max_nodes {
            self.error = Some(SyntaxError {
                offset: node.span.start(),
                message: format!("the file holds more than {} YAML nodes", self.max_nodes),
            });
        }
        if packed {
            self.nodes.push_alias(node);
        } else {
            self.nodes.push(node);
        }
        if anchor_id != 0 {
            self.anchors.insert(anchor_id, id);
        }
        if self.stack.is_empty() {
            self.roots.push(id);
        } else {
            self.open_children.push(id);
        }
        id
    }

    /// Ends the pending plain scalar now that the next event starts at `bound`.
    fn settle_pending(&mut self, bound: usize) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let start = self.node(pending.node).span.start();
        // A plain scalar written on one line is its value, as written: only
        // one folded over lines needs its end found in the text.
        let end = if self.text[start..].starts_with(pending.value.as_str()) {
            start + pending.value.len()
        } else {
            plain_scalar_end(self.text, start, bound, pending.in_flow)
        };
        let span = Span::new(start, end);
        let decodable = (!pending.is_key).then_some(ScalarStyle::Plain);
        let value = self.store_value(pending.node, &pending.value, span, decodable);
        self.nodes.set(
            pending.node.0 as usize,
            Node::scalar(span, ScalarStyle::Plain, value),
        );
        self.last_end = end;
    }

    /// Keeps node `id`'s decoded value only when it differs from its source
    /// text, and from the text between its quotes, and (for a value, not a
    /// key: `decodable` gives its style) when decoding its source again
    /// would not give it.
    fn store_value(
        &mut self,
        id: NodeId,
        value: &str,
        span: Span,
        decodable: Option<ScalarStyle>,
    ) -> Value {
        let source = span.slice(self.text);
        if value == source {
            return Value::Source;
        }
        let quoted = matches!(source.as_bytes(), [b'"' | b'\'', .., b'"' | b'\''])
            && source.as_bytes()[0] == source.as_bytes()[source.len() - 1];
        if quoted && value == &source[1..source.len() - 1] {
            return Value::InsideQuotes;
        }
        if let Some(style) = decodable
            && decodes_alone(style)
            && super::scalar::decode(self.text, span, style).as_deref() == Some(value)
        {
            return Value::Lines;
        }
        if !self.values.push(id, value) {
            self.error = Some(SyntaxError {
                offset: span.start(),
                message: "the file's decoded scalar values pass 4 GiB".into(),
            });
        }
        Value::Stored
    }

    fn decorate(&mut self, id: NodeId, (anchor, tag): (Option<Span>, Option<Span>)) {
        if anchor.is_some() || tag.is_some() {
            self.decorations.insert(id, Decoration { anchor, tag });
        }
    }

    fn scalar(
        &mut self,
        value: String,
        style: TScalarStyle,
        anchor_id: usize,
        has_tag: bool,
        at: usize,
    ) {
        let text = self.text;
        let (span, style) = match style {
            TScalarStyle::Plain if value.is_empty() => (
                Span::empty(empty_scalar_position(text, at, self.last_end)),
                ScalarStyle::Plain,
            ),
            TScalarStyle::Plain => (Span::new(at, at), ScalarStyle::Plain),
            TScalarStyle::SingleQuoted => (
                Span::new(at, quoted_end(text, at, b'\'')),
                ScalarStyle::SingleQuoted,
            ),
            TScalarStyle::DoubleQuoted => (
                Span::new(at, quoted_end(text, at, b'"')),
                ScalarStyle::DoubleQuoted,
            ),
            TScalarStyle::Literal | TScalarStyle::Folded => {
                let has_content = !value.trim_matches('\n').is_empty();
                block_scalar_span(text, at, style == TScalarStyle::Literal, has_content)
            }
        };
        // A non-empty plain scalar's end depends on the next event, so its
        // decoded value is kept until `settle_pending` can compare it.
        let awaits_end = style == ScalarStyle::Plain && !value.is_empty();
        let decoration = decorations(text, span.start(), anchor_id != 0, has_tag);
        let is_key = self.next_is_key();
        let (stored, value) = if awaits_end {
            (Value::Source, Some(value))
        } else {
            let next = NodeId(self.nodes.len() as u32);
            let decodable = (!is_key).then_some(style);
            (self.store_value(next, &value, span, decodable), None)
        };
        let id = self.push_node(Node::scalar(span, style, stored), anchor_id, false);
        self.decorate(id, decoration);
        if let Some(value) = value {
            let in_flow = self.in_flow();
            self.pending = Some(PendingPlain {
                node: id,
                in_flow,
                is_key,
                value,
            });
        } else {
            self.last_end = span.end();
        }
    }

    fn start_collection(&mut self, is_mapping: bool, anchor_id: usize, has_tag: bool, at: usize) {
        let flow = matches!(self.text.as_bytes().get(at), Some(b'[' | b'{'));
        // Its end is written when it closes.
        let node = Node::collection(Span::empty(at), is_mapping, flow, 0);
        let id = self.push_node(node, anchor_id, false);
        let frame = Frame {
            node: id,
            flow,
            is_mapping,
            has_anchor: anchor_id != 0,
            has_tag,
            children_from: self.open_children.len(),
        };
        self.stack.push(frame);
    }

    fn end_collection(&mut self, at: usize) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let children = &self.open_children[frame.children_from..];
        // A block sequence's marker is its first `-`, a block mapping's may
        // lie inside its first key: the earlier of marker and first child wins.
        let marker = self.node(frame.node).span.start();
        let start = match children.first() {
            Some(&child) if !frame.flow => marker.min(self.node_start(child)),
            _ => marker,
        };
        let end = if frame.flow {
            (at + 1).min(self.text.len())
        } else {
            children
                .last()
                .map_or(start, |&child| self.node(child).span.end())
        };
        if frame.is_mapping {
            let duplicates = self.duplicate_keys(children);
            self.duplicates.extend(duplicates);
        }
        self.open_children.truncate(frame.children_from);
        let decoration = decorations(self.text, start, frame.has_anchor, frame.has_tag);
        self.decorate(frame.node, decoration);
        let span = Span::new(start, end.max(start));
        let after = self.nodes.len() as u32;
        let node = Node::collection(span, frame.is_mapping, frame.flow, after);
        self.nodes.set(frame.node.0 as usize, node);
        self.last_end = span.end();
    }

    /// Keys written twice in one mapping (scalar keys only).
    fn duplicate_keys(&self, children: &[NodeId]) -> Vec<(NodeId, NodeId)> {
        let mut duplicates = Vec::new();
        if children.len() < 4 {
            return duplicates;
        }
        let name = |key: NodeId| {
            let node = self.node(key);
            match node.kind() {
                NodeKind::Scalar { .. } => self
                    .values
                    .of(self.text, key, &node)
                    .filter(|name| *name != "<<"),
                _ => None,
            }
        };
        let keys = children.iter().step_by(2).copied();
        // Most mappings are small: comparing each key with the ones before
        // it costs less than hashing every key into a table of its own.
        if children.len() <= 2 * SMALL_MAPPING {
            let mut seen: [(&str, NodeId); SMALL_MAPPING] = [("", NodeId(0)); SMALL_MAPPING];
            for (count, key) in keys.enumerate() {
                // "<<" is never a name here: it marks a slot to skip.
                seen[count] = ("<<", key);
                let Some(name) = name(key) else {
                    continue;
                };
                // As in [`repeated_keys`], a later duplicate pairs with
                // the one before it.
                match seen[..count].iter_mut().find(|(seen, _)| *seen == name) {
                    Some(earlier) => duplicates.push((std::mem::replace(&mut earlier.1, key), key)),
                    None => seen[count] = (name, key),
                }
            }
            return duplicates;
        }
        repeated_keys(
            children.len() / 2,
            |position| children[2 * position as usize],
            name,
        )
    }

    /// The node `id`, written already.
    #[inline]
    fn node(&self, id: NodeId) -> Node {
        let node = self
            .nodes
            .get(id.0 as usize)
            .expect("a node written already");
        super::completed(&self.decorations, node)
    }

    /// Where a node starts in the source, including its anchor and tag.
    fn node_start(&self, id: NodeId) -> usize {
        self.node(id).start(self.decorations.get(&id))
    }

    fn alias(&mut self, anchor_id: usize, at: usize) {
        let Some(&target) = self.anchors.get(&anchor_id) else {
            self.error = Some(SyntaxError {
                offset: at,
                message: "alias to an unknown anchor".into(),
            });
            return;
        };
        let end = name_end(self.text, at + 1);
        let node = Node::alias(Span::new(at, end), target);
        let anchor = self.decorations.get(&target).and_then(|d| d.anchor);
        // Packed in 8 bytes when its anchor, as found, tells its length.
        let packed = anchor.is_some_and(|anchor| anchor.len() == end - at);
        self.push_node(node, 0, packed);
        self.last_end = end;
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let at = self.index.byte_of(&mark);
        if !matches!(event, Event::Nothing | Event::StreamStart) {
            self.settle_pending(at);
        }
        match event {
            Event::Scalar(value, style, anchor_id, tag) => {
                self.scalar(value, style, anchor_id, tag.is_some(), at)
            }
            Event::SequenceStart(anchor_id, tag) => {
                self.start_collection(false, anchor_id, tag.is_some(), at)
            }
            Event::MappingStart(anchor_id, tag) => {
                self.start_collection(true, anchor_id, tag.is_some(), at)
            }
            Event::SequenceEnd | Event::MappingEnd => self.end_collection(at),
            Event::Alias(anchor_id) => self.alias(anchor_id, at),
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}
