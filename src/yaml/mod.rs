//! A span-aware YAML tree built from yaml-rust2 events.
//!
//! yaml-rust2 reports one *start* marker per event, counted in characters. Every
//! later stage (diagnostics, edits at the definition site) needs exact *byte*
//! ranges with both ends, so this module converts markers to bytes and derives
//! each node's end from the source text and the style of the node.
//!
//! The tree is lean on purpose: nodes live in one arena, point into the one
//! source buffer by byte range, and keep a decoded copy of a scalar only when
//! it differs from its source text (quoted, folded or multi-line scalars).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::span::{LineIndex, Span};

pub mod scalar;
pub mod splice;

/// Index of a node inside a [`Tree`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The ids from this one up to `end`, not included: the nodes of a run
    /// of whole entries, since ids follow document order.
    pub fn up_to(self, end: NodeId) -> impl Iterator<Item = NodeId> + Clone {
        (self.0..end.0).map(NodeId)
    }
}

/// How a block scalar treats its final line breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chomping {
    Clip,
    Strip,
    Keep,
}

/// The presentation style of a scalar, as written in the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|` with its chomping indicator and optional explicit indentation.
    Literal {
        chomping: Chomping,
        indent: Option<u8>,
    },
    /// `>` with its chomping indicator and optional explicit indentation.
    Folded {
        chomping: Chomping,
        indent: Option<u8>,
    },
}

impl ScalarStyle {
    pub fn is_block(self) -> bool {
        matches!(self, Self::Literal { .. } | Self::Folded { .. })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// `decoded` is 0 when the value equals the source text of the span,
    /// [`INSIDE_QUOTES`] when it equals the text between its quotes, else
    /// one more than its index in the tree's decoded values.
    Scalar {
        style: ScalarStyle,
        decoded: u32,
    },
    /// Children are `children[first..first + len]`.
    Sequence {
        first: u32,
        len: u32,
        flow: bool,
    },
    /// Keys and values alternate in `children[first..first + 2 * len]`.
    Mapping {
        first: u32,
        len: u32,
        flow: bool,
    },
    Alias {
        target: NodeId,
    },
}

/// A node in 16 bytes: its span and its [`NodeKind`] packed into two words,
/// since a pipeline holds a node per 9 to 14 bytes of YAML and the tree is
/// most of `check`'s memory.
#[derive(Clone, Debug)]
pub struct Node {
    /// The node's own text: for a block scalar from the `|`/`>` header to the
    /// end of its last content line; anchors and tags are not included.
    pub span: Span,
    /// A scalar's decoded index, a collection's first child, an alias' target.
    data: u32,
    /// The kind in the low two bits; then a collection's flow bit and its
    /// length, or a scalar's style, chomping and indentation indicator.
    bits: u32,
}

const SCALAR: u32 = 0;
const SEQUENCE: u32 = 1;
const MAPPING: u32 = 2;
const ALIAS: u32 = 3;

/// A quoted scalar's `decoded` when its value is its source text without
/// the quotes: most quoted scalars, which need no copy then.
pub const INSIDE_QUOTES: u32 = u32::MAX;

/// Mappings up to this many pairs look for duplicate keys without a table.
const SMALL_MAPPING: usize = 16;

/// The most items (or pairs) a collection can hold in a packed node.
const MAX_ITEMS: u32 = (1 << 29) - 1;

impl Node {
    /// Packs `kind`; a collection's length must not exceed [`MAX_ITEMS`].
    fn new(span: Span, kind: NodeKind) -> Node {
        let (data, bits) = match kind {
            NodeKind::Scalar { style, decoded } => (decoded, SCALAR | pack_style(style) << 2),
            NodeKind::Sequence { first, len, flow } => (
                first,
                SEQUENCE | u32::from(flow) << 2 | len.min(MAX_ITEMS) << 3,
            ),
            NodeKind::Mapping { first, len, flow } => (
                first,
                MAPPING | u32::from(flow) << 2 | len.min(MAX_ITEMS) << 3,
            ),
            NodeKind::Alias { target } => (target.0, ALIAS),
        };
        Node { span, data, bits }
    }

    /// Where the node starts, with its `decoration` (anchor, tag) if any.
    fn start(&self, decoration: Option<&Decoration>) -> usize {
        let decoration = decoration.copied().unwrap_or_default();
        [decoration.anchor, decoration.tag]
            .into_iter()
            .flatten()
            .map(|span| span.start())
            .fold(self.span.start(), usize::min)
    }

    pub fn kind(&self) -> NodeKind {
        let (first, len, flow) = (self.data, self.bits >> 3, self.bits & 4 != 0);
        match self.bits & 3 {
            SCALAR => NodeKind::Scalar {
                style: unpack_style(self.bits >> 2),
                decoded: self.data,
            },
            SEQUENCE => NodeKind::Sequence { first, len, flow },
            MAPPING => NodeKind::Mapping { first, len, flow },
            _ => NodeKind::Alias {
                target: NodeId(self.data),
            },
        }
    }
}

/// A scalar style in 9 bits: the style (3), the chomping (2), the
/// indentation indicator (4, 0 for none).
fn pack_style(style: ScalarStyle) -> u32 {
    let block = |code: u32, chomping: Chomping, indent: Option<u8>| {
        let chomping = match chomping {
            Chomping::Clip => 0,
            Chomping::Strip => 1,
            Chomping::Keep => 2,
        };
        code | chomping << 3 | u32::from(indent.unwrap_or(0) & 15) << 5
    };
    match style {
        ScalarStyle::Plain => 0,
        ScalarStyle::SingleQuoted => 1,
        ScalarStyle::DoubleQuoted => 2,
        ScalarStyle::Literal { chomping, indent } => block(3, chomping, indent),
        ScalarStyle::Folded { chomping, indent } => block(4, chomping, indent),
    }
}

fn unpack_style(bits: u32) -> ScalarStyle {
    let chomping = match bits >> 3 & 3 {
        0 => Chomping::Clip,
        1 => Chomping::Strip,
        _ => Chomping::Keep,
    };
    let indent = match (bits >> 5 & 15) as u8 {
        0 => None,
        indent => Some(indent),
    };
    match bits & 7 {
        0 => ScalarStyle::Plain,
        1 => ScalarStyle::SingleQuoted,
        2 => ScalarStyle::DoubleQuoted,
        3 => ScalarStyle::Literal { chomping, indent },
        _ => ScalarStyle::Folded { chomping, indent },
    }
}

/// `&name` and `!tag` as written before a node. Few nodes have them, so they
/// live in a side table rather than in every node.
#[derive(Clone, Copy, Debug, Default)]
struct Decoration {
    anchor: Option<Span>,
    tag: Option<Span>,
}

/// A parsed YAML document.
#[derive(Clone, Debug)]
pub struct Tree {
    nodes: Vec<Node>,
    children: Vec<NodeId>,
    root: Option<NodeId>,
    /// Which document of the stream `root` is: 1 after a `spec:` header.
    document: usize,
    /// Keys written twice in one mapping: (first, later).
    duplicates: Vec<(NodeId, NodeId)>,
    /// Scalar values that differ from their source text.
    values: Values,
    decorations: HashMap<NodeId, Decoration>,
    /// Each node's collection and position in it; built on first use, since
    /// only the rewrite walks upwards.
    parents: std::sync::OnceLock<Vec<Option<(NodeId, u32)>>>,
}

/// Decoded scalar values that differ from their source text, in one
/// buffer rather than an allocation each.
#[derive(Clone, Debug, Default)]
struct Values {
    text: String,
    /// Where each value ends in `text`; it starts where the previous ends.
    ends: Vec<usize>,
}

impl Values {
    /// Stores `value`; returns its `decoded` number (one more than its index).
    fn push(&mut self, value: &str) -> u32 {
        self.text.push_str(value);
        self.ends.push(self.text.len());
        self.ends.len() as u32
    }

    /// The value of a scalar node with this span and `decoded` number.
    fn of<'t>(&'t self, source: &'t str, span: Span, decoded: u32) -> &'t str {
        match decoded {
            0 => span.slice(source),
            INSIDE_QUOTES => &source[span.start() + 1..span.end() - 1],
            number => {
                let index = number as usize - 1;
                let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
                &self.text[start..self.ends[index]]
            }
        }
    }
}

/// A YAML syntax error, with the byte offset where the parser stopped.
#[derive(Debug, Clone)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

impl Tree {
    /// Parses `text`. A GitLab file holds one document, or two when the first
    /// is a `spec:` header (components and includes with inputs): then the
    /// second document is the configuration.
    ///
    /// A UTF-8 byte order mark is not content: yaml-rust2 would make it part
    /// of the first key, so the body after it is parsed and offsets are
    /// shifted back to the whole text.
    pub fn parse(text: &str) -> Result<Tree, SyntaxError> {
        Tree::parse_with_lines(text).map(|(tree, _)| tree)
    }

    /// Parses `text` and returns its line index too: the parse finds the
    /// line starts anyway, and a second scan of the text cost `check` 2%.
    pub fn parse_with_lines(text: &str) -> Result<(Tree, LineIndex), SyntaxError> {
        if text.len() >= u32::MAX as usize {
            return Err(SyntaxError {
                offset: 0,
                message: "file is larger than 4 GiB".into(),
            });
        }
        match text.strip_prefix('\u{feff}') {
            Some(body) => {
                let bom = text.len() - body.len();
                let (mut tree, _) = Tree::parse_body(body).map_err(|mut err| {
                    err.offset += bom;
                    err
                })?;
                tree.shift(bom);
                Ok((tree, LineIndex::new(text)))
            }
            None => {
                let (tree, starts) = Tree::parse_body(text)?;
                // yaml-rust2 also breaks lines at a lone `\r`; the index
                // only at `\n`.
                let lines = if text.contains('\r') {
                    LineIndex::new(text)
                } else {
                    LineIndex::from_starts(starts)
                };
                Ok((tree, lines))
            }
        }
    }

    fn shift(&mut self, by: usize) {
        let moved = |span: Span| Span::new(span.start() + by, span.end() + by);
        for node in &mut self.nodes {
            node.span = moved(node.span);
        }
        for decoration in self.decorations.values_mut() {
            decoration.anchor = decoration.anchor.map(moved);
            decoration.tag = decoration.tag.map(moved);
        }
    }

    /// The tree of `text`, and where its lines start.
    fn parse_body(text: &str) -> Result<(Tree, Vec<u32>), SyntaxError> {
        let index = CharIndex::new(text);
        let mut builder = Builder::new(text, &index);
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
        let tree = builder.finish();
        Ok((tree, index.line_starts))
    }

    /// The tree of an empty text: no document.
    pub fn empty() -> Tree {
        Tree {
            nodes: Vec::new(),
            children: Vec::new(),
            root: None,
            document: 0,
            duplicates: Vec::new(),
            values: Values::default(),
            decorations: HashMap::new(),
            parents: std::sync::OnceLock::new(),
        }
    }

    pub fn root(&self) -> Option<NodeId> {
        self.root
    }

    /// Keys written twice in one mapping, as (first, later) pairs. YAML
    /// forbids them; GitLab takes the later one.
    pub fn duplicate_keys(&self) -> &[(NodeId, NodeId)] {
        &self.duplicates
    }

    /// The index, in the YAML stream, of the document that holds `root`.
    pub fn document(&self) -> usize {
        self.document
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// Follows alias nodes to the node they name.
    pub fn deref(&self, mut id: NodeId) -> NodeId {
        // Aliases always point backwards, so this terminates.
        while let NodeKind::Alias { target } = self.node(id).kind() {
            id = target;
        }
        id
    }

    /// Items of a sequence, or an empty slice for any other node.
    pub fn items(&self, id: NodeId) -> &[NodeId] {
        match self.node(id).kind() {
            NodeKind::Sequence { first, len, .. } => {
                &self.children[first as usize..(first + len) as usize]
            }
            _ => &[],
        }
    }

    /// Key/value pairs of a mapping, in source order.
    pub fn pairs(&self, id: NodeId) -> impl Iterator<Item = (NodeId, NodeId)> + '_ {
        let slice: &[NodeId] = match self.node(id).kind() {
            NodeKind::Mapping { first, len, .. } => {
                &self.children[first as usize..(first + 2 * len) as usize]
            }
            _ => &[],
        };
        slice.chunks_exact(2).map(|kv| (kv[0], kv[1]))
    }

    /// The value of a scalar node, decoded; `None` for collections and aliases.
    pub fn scalar<'t>(&'t self, text: &'t str, id: NodeId) -> Option<&'t str> {
        let node = self.node(id);
        match node.kind() {
            NodeKind::Scalar { decoded, .. } => Some(self.values.of(text, node.span, decoded)),
            _ => None,
        }
    }

    /// Where `id` starts in the source, its anchor and tag included.
    pub fn start(&self, id: NodeId) -> usize {
        self.node(id).start(self.decorations.get(&id))
    }

    /// `&name` as written, when the node has an anchor.
    pub fn anchor(&self, id: NodeId) -> Option<Span> {
        self.decorations.get(&id).and_then(|d| d.anchor)
    }

    /// `!tag` as written, when the node has a tag.
    pub fn tag(&self, id: NodeId) -> Option<Span> {
        self.decorations.get(&id).and_then(|d| d.tag)
    }

    pub fn is_mapping(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind(), NodeKind::Mapping { .. })
    }

    pub fn is_sequence(&self, id: NodeId) -> bool {
        matches!(self.node(id).kind(), NodeKind::Sequence { .. })
    }

    /// True for a plain empty scalar or `~`/`null`: YAML's null.
    pub fn is_null(&self, text: &str, id: NodeId) -> bool {
        match self.node(id).kind() {
            NodeKind::Scalar {
                style: ScalarStyle::Plain,
                ..
            } => {
                matches!(
                    self.scalar(text, id),
                    Some("" | "~" | "null" | "Null" | "NULL")
                )
            }
            _ => false,
        }
    }

    pub fn tag_is(&self, text: &str, id: NodeId, tag: &str) -> bool {
        self.tag(id).is_some_and(|span| span.slice(text) == tag)
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// The collection that holds `id` directly, and its position among the
    /// collection's children (keys and values alternate in a mapping).
    fn parent(&self, id: NodeId) -> Option<(NodeId, usize)> {
        let parents = self.parents.get_or_init(|| {
            let mut parents = vec![None; self.nodes.len()];
            for (index, node) in self.nodes.iter().enumerate() {
                let (first, count) = match node.kind() {
                    NodeKind::Sequence { first, len, .. } => (first, len),
                    NodeKind::Mapping { first, len, .. } => (first, 2 * len),
                    _ => continue,
                };
                for (position, child) in self.children[first as usize..(first + count) as usize]
                    .iter()
                    .enumerate()
                {
                    parents[child.0 as usize] = Some((NodeId(index as u32), position as u32));
                }
            }
            parents
        });
        parents[id.0 as usize].map(|(parent, position)| (parent, position as usize))
    }

    /// The mapping and key whose value is `value`, if any.
    pub fn owner(&self, value: NodeId) -> Option<(NodeId, NodeId)> {
        let (mapping, position) = self
            .parent(value)
            .filter(|(p, pos)| self.is_mapping(*p) && pos % 2 == 1)?;
        let NodeKind::Mapping { first, .. } = self.node(mapping).kind() else {
            return None;
        };
        Some((mapping, self.children[first as usize + position - 1]))
    }

    /// The sequence that holds `node` as an item, and its index.
    pub fn item_of(&self, node: NodeId) -> Option<(NodeId, usize)> {
        self.parent(node)
            .filter(|(parent, _)| self.is_sequence(*parent))
    }

    /// The id after the last node's.
    pub fn end_id(&self) -> NodeId {
        NodeId(self.nodes.len() as u32)
    }

    /// Every node, in the order the parser produced them.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.nodes.len() as u32).map(NodeId)
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// The document that holds the configuration: the second one when the first
/// is only a `spec:` header.
fn content_root(tree: &Tree, text: &str, roots: &[NodeId]) -> Option<(usize, NodeId)> {
    let first = *roots.first()?;
    let is_header = tree.is_mapping(first)
        && tree
            .pairs(first)
            .all(|(key, _)| tree.scalar(text, key) == Some("spec"))
        && tree.pairs(first).next().is_some();
    match roots.get(1) {
        Some(&second) if is_header => Some((1, second)),
        _ => Some((0, first)),
    }
}

fn syntax_error(index: &CharIndex, err: &ScanError) -> SyntaxError {
    SyntaxError {
        offset: index.byte_of(err.marker()),
        message: err.info().to_string(),
    }
}

/// Converts yaml-rust2 markers into byte offsets.
///
/// `Marker::index()` counts characters, and after a block scalar with CRLF
/// line ends it is one too far, while the marker's line and column stay right.
/// So offsets come from a table of line starts plus the column, walked in
/// characters on lines that are not ASCII.
struct CharIndex<'a> {
    text: &'a str,
    line_starts: Vec<u32>,
    ascii: bool,
}

impl<'a> CharIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        if text.as_bytes().contains(&b'\r') {
            line_starts.extend(line_breaks(text).map(|pos| pos as u32 + 1));
        } else {
            push_line_starts(text.as_bytes(), &mut line_starts);
        }
        CharIndex {
            text,
            line_starts,
            ascii: text.is_ascii(),
        }
    }

    fn byte_of(&self, mark: &Marker) -> usize {
        let Some(&start) = self.line_starts.get(mark.line().saturating_sub(1)) else {
            return self.text.len();
        };
        let line = &self.text[start as usize..];
        // A line whose start is ASCII up to the column needs no walk: in a
        // file with a few accented words, nearly every line.
        let ascii_before = || {
            line.as_bytes()
                .get(..mark.col())
                .is_some_and(<[u8]>::is_ascii)
        };
        let column = if self.ascii || ascii_before() {
            mark.col()
        } else {
            line.char_indices()
                .nth(mark.col())
                .map_or(line.len(), |(offset, _)| offset)
        };
        (start as usize + column).min(self.text.len())
    }
}

/// Pushes one past each `\n` of `bytes`, eight bytes at a time: most
/// words of a pipeline hold no line break, and its lines are too short
/// for memchr's set-up per line to pay off.
fn push_line_starts(bytes: &[u8], starts: &mut Vec<u32>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default()) ^ NEWLINES;
        // The high bit of each byte that was `\n` (now 0): exact per byte,
        // since `(byte & 0x7f) + 0x7f` cannot carry into the next one.
        let mut found = !(((word & LOW7) + LOW7) | word | LOW7);
        while found != 0 {
            let at = base + found.trailing_zeros() as usize / 8;
            starts.push(at as u32 + 1);
            found &= found - 1;
        }
        base += 8;
    }
    for (offset, &byte) in chunks.remainder().iter().enumerate() {
        if byte == b'\n' {
            starts.push((base + offset) as u32 + 1);
        }
    }
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
    /// The decoded value, stored once the end shows whether it differs
    /// from the source text.
    value: String,
}

struct Builder<'a> {
    text: &'a str,
    index: &'a CharIndex<'a>,
    nodes: Vec<Node>,
    children: Vec<NodeId>,
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
}

impl<'a> Builder<'a> {
    fn new(text: &'a str, index: &'a CharIndex<'a>) -> Self {
        Builder {
            text,
            index,
            nodes: Vec::new(),
            children: Vec::new(),
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
        }
    }

    fn finish(self) -> Tree {
        let mut tree = Tree {
            nodes: self.nodes,
            children: self.children,
            root: None,
            document: 0,
            duplicates: self.duplicates,
            values: self.values,
            decorations: self.decorations,
            parents: std::sync::OnceLock::new(),
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

    fn push_node(&mut self, node: Node, anchor_id: usize) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node);
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
        let start = self.nodes[pending.node.0 as usize].span.start();
        let end = plain_scalar_end(self.text, start, bound, pending.in_flow);
        let span = Span::new(start, end);
        let decoded = self.store_value(&pending.value, span);
        let kind = NodeKind::Scalar {
            style: ScalarStyle::Plain,
            decoded,
        };
        self.nodes[pending.node.0 as usize] = Node::new(span, kind);
        self.last_end = end;
    }

    /// Keeps a decoded value only when it differs from its source text,
    /// and from the text between its quotes.
    fn store_value(&mut self, value: &str, span: Span) -> u32 {
        let source = span.slice(self.text);
        if value == source {
            return 0;
        }
        let quoted = matches!(source.as_bytes(), [b'"' | b'\'', .., b'"' | b'\''])
            && source.as_bytes()[0] == source.as_bytes()[source.len() - 1];
        if quoted && value == &source[1..source.len() - 1] {
            return INSIDE_QUOTES;
        }
        self.values.push(value)
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
        let (decoded, value) = if awaits_end {
            (0, Some(value))
        } else {
            (self.store_value(&value, span), None)
        };
        let id = self.push_node(
            Node::new(span, NodeKind::Scalar { style, decoded }),
            anchor_id,
        );
        self.decorate(id, decoration);
        if let Some(value) = value {
            let in_flow = self.in_flow();
            self.pending = Some(PendingPlain {
                node: id,
                in_flow,
                value,
            });
        } else {
            self.last_end = span.end();
        }
    }

    fn start_collection(&mut self, is_mapping: bool, anchor_id: usize, has_tag: bool, at: usize) {
        let flow = matches!(self.text.as_bytes().get(at), Some(b'[' | b'{'));
        let kind = if is_mapping {
            NodeKind::Mapping {
                first: 0,
                len: 0,
                flow,
            }
        } else {
            NodeKind::Sequence {
                first: 0,
                len: 0,
                flow,
            }
        };
        let node = Node::new(Span::empty(at), kind);
        let id = self.push_node(node, anchor_id);
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
        let first = self.children.len() as u32;
        let children = &self.open_children[frame.children_from..];
        let count = children.len() as u32;
        // A block sequence's marker is its first `-`, a block mapping's may
        // lie inside its first key: the earlier of marker and first child wins.
        let marker = self.nodes[frame.node.0 as usize].span.start();
        let start = match children.first() {
            Some(&child) if !frame.flow => marker.min(self.node_start(child)),
            _ => marker,
        };
        let end = if frame.flow {
            (at + 1).min(self.text.len())
        } else {
            children
                .last()
                .map_or(start, |&child| self.nodes[child.0 as usize].span.end())
        };
        if frame.is_mapping {
            let duplicates = self.duplicate_keys(children);
            self.duplicates.extend(duplicates);
        }
        self.children
            .extend_from_slice(&self.open_children[frame.children_from..]);
        self.open_children.truncate(frame.children_from);
        let decoration = decorations(self.text, start, frame.has_anchor, frame.has_tag);
        self.decorate(frame.node, decoration);
        if count / 2 > MAX_ITEMS || !frame.is_mapping && count > MAX_ITEMS {
            self.error = Some(SyntaxError {
                offset: start,
                message: format!("a collection holds more than {MAX_ITEMS} items"),
            });
        }
        let kind = if frame.is_mapping {
            NodeKind::Mapping {
                first,
                len: count / 2,
                flow: frame.flow,
            }
        } else {
            NodeKind::Sequence {
                first,
                len: count,
                flow: frame.flow,
            }
        };
        let span = Span::new(start, end.max(start));
        self.nodes[frame.node.0 as usize] = Node::new(span, kind);
        self.last_end = span.end();
    }

    /// Keys written twice in one mapping (scalar keys only).
    fn duplicate_keys(&self, children: &[NodeId]) -> Vec<(NodeId, NodeId)> {
        let mut duplicates = Vec::new();
        if children.len() < 4 {
            return duplicates;
        }
        let name = |key: NodeId| {
            let node = &self.nodes[key.0 as usize];
            match node.kind() {
                NodeKind::Scalar { decoded, .. } => {
                    Some(self.values.of(self.text, node.span, decoded)).filter(|name| *name != "<<")
                }
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
                // As with the table below, a later duplicate pairs with
                // the one before it.
                match seen[..count].iter_mut().find(|(seen, _)| *seen == name) {
                    Some(earlier) => duplicates.push((std::mem::replace(&mut earlier.1, key), key)),
                    None => seen[count] = (name, key),
                }
            }
            return duplicates;
        }
        let mut seen: HashMap<&str, NodeId> = HashMap::with_capacity(children.len() / 2);
        for key in keys {
            let Some(name) = name(key) else {
                continue;
            };
            if let Some(first) = seen.insert(name, key) {
                duplicates.push((first, key));
            }
        }
        duplicates
    }

    /// Where a node starts in the source, including its anchor and tag.
    fn node_start(&self, id: NodeId) -> usize {
        self.nodes[id.0 as usize].start(self.decorations.get(&id))
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
        let node = Node::new(Span::new(at, end), NodeKind::Alias { target });
        self.push_node(node, 0);
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

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

pub(crate) fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |pos| pos + 1)
}

/// End of the line holding `at`, before its `\r\n` or `\n`.
pub(crate) fn line_end(text: &str, at: usize) -> usize {
    let end = text[at..].find('\n').map_or(text.len(), |pos| at + pos);
    if end > at && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Offset after the next line break following `at`, or the text length.
pub(crate) fn next_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |pos| at + pos + 1)
}

/// Characters allowed in an anchor or alias name stop at space and flow indicators.
fn name_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = from;
    while end < bytes.len()
        && !is_space(bytes[end])
        && !matches!(bytes[end], b',' | b'[' | b']' | b'{' | b'}')
    {
        end += 1;
    }
    end
}

/// End (exclusive) of a quoted scalar that opens at `at`.
fn quoted_end(text: &str, at: usize, quote: u8) -> usize {
    let bytes = text.as_bytes();
    let mut pos = at + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' if quote == b'"' => pos += 2,
            b'\'' if quote == b'\'' && bytes.get(pos + 1) == Some(&b'\'') => pos += 2,
            byte if byte == quote => return pos + 1,
            _ => pos += 1,
        }
    }
    bytes.len()
}

/// Why a plain scalar stopped on a line.
#[derive(PartialEq)]
enum PlainStop {
    /// The line ended: the scalar may continue on the next line.
    LineEnd,
    /// A comment, a `: ` value indicator or a flow indicator: it cannot.
    Indicator,
}

/// Where a plain scalar on one line stops: a comment, a `: ` value indicator,
/// a flow indicator inside a flow collection, or the end of the line.
fn plain_line_end(text: &str, from: usize, in_flow: bool) -> (usize, PlainStop) {
    let bytes = text.as_bytes();
    // One pass up to the first stop, never to the end of the line first:
    // many scalars on one long line (a flow sequence) made that quadratic.
    // A `\r` before the line break is trimmed with the trailing blanks.
    let mut pos = from;
    while pos < bytes.len() && bytes[pos] != b'\n' {
        let byte = bytes[pos];
        let next = bytes.get(pos + 1).copied();
        let ends_here = match byte {
            b'#' => pos > from && is_blank(bytes[pos - 1]),
            b':' => next.is_none_or(|n| is_space(n) || in_flow && matches!(n, b',' | b']' | b'}')),
            b',' | b']' | b'}' | b'[' | b'{' => in_flow,
            _ => false,
        };
        if ends_here {
            return (trim_end(bytes, from, pos), PlainStop::Indicator);
        }
        pos += 1;
    }
    (trim_end(bytes, from, pos), PlainStop::LineEnd)
}

fn trim_end(bytes: &[u8], from: usize, mut end: usize) -> usize {
    while end > from && is_space(bytes[end - 1]) {
        end -= 1;
    }
    end
}

/// True when a line starts with a block indicator (`- `, `? `, `: `).
fn starts_with_indicator(bytes: &[u8]) -> bool {
    matches!(
        bytes,
        [b'-' | b'?' | b':'] | [b'-' | b'?' | b':', b' ' | b'\t' | b'\r', ..]
    )
}

/// Derives the end of a plain scalar from its start and the start of the
/// next event. Continuation lines count until a blank-only tail, a comment
/// line, a line that reaches the next event, a line that starts with a block
/// indicator or holds a key, or the first line stopping at an indicator
/// (a key is always one line).
fn plain_scalar_end(text: &str, start: usize, bound: usize, in_flow: bool) -> usize {
    let bytes = text.as_bytes();
    let bound = if bound > start { bound } else { text.len() };
    let (first_end, stop) = plain_line_end(text, start, in_flow);
    let mut end = first_end.min(bound).max(start);
    if stop == PlainStop::Indicator {
        return end;
    }
    let mut line = next_line(text, start);
    while line < bound && line < text.len() {
        let first = (line..bytes.len())
            .find(|&p| !is_blank(bytes[p]))
            .unwrap_or(bytes.len());
        if first >= bound {
            break;
        }
        if first >= line_end(text, line) {
            line = next_line(text, line);
            continue;
        }
        if bytes[first] == b'#' || starts_with_indicator(&bytes[first..]) {
            break;
        }
        let (content_end, stop) = plain_line_end(text, first, in_flow);
        let is_key = stop == PlainStop::Indicator
            && bytes
                .get(content_end..)
                .is_some_and(|rest| rest.iter().find(|b| !is_blank(**b)) == Some(&b':'));
        if is_key {
            break;
        }
        end = content_end.min(bound);
        if stop == PlainStop::Indicator {
            break;
        }
        line = next_line(text, line);
    }
    end
}

/// Span and style of a block scalar whose first content starts at `at`.
///
/// The header (`|`, `>-`, `|2+` …) sits on the nearest non-blank line above
/// the content, because leading content lines can only be blank.
///
/// An empty block scalar has no content line to measure, and its marker is the
/// next token's: its span is the header line alone.
fn block_scalar_span(
    text: &str,
    at: usize,
    literal: bool,
    has_content: bool,
) -> (Span, ScalarStyle) {
    let header_line = header_line_start(text, at);
    let header = find_block_header(text, header_line).unwrap_or(line_start(text, at));
    let (chomping, indent) = header_indicators(text, header + 1);
    let style = if literal {
        ScalarStyle::Literal { chomping, indent }
    } else {
        ScalarStyle::Folded { chomping, indent }
    };
    let header_end = line_end(text, header);
    if !has_content {
        return (Span::new(header, header_end), style);
    }
    let content_indent = at - line_start(text, at);
    let end =
        block_content_end(text, next_line(text, header), content_indent, chomping).max(header_end);
    (Span::new(header, end), style)
}

/// Start of the nearest line above `at` that is not blank.
fn header_line_start(text: &str, at: usize) -> usize {
    let mut line = line_start(text, at);
    while line > 0 {
        let previous = line_start(text, line - 1);
        let blank = text[previous..line].bytes().all(is_space);
        line = previous;
        if !blank {
            break;
        }
    }
    line
}

/// The offset of the `|` or `>` that opens a block scalar on a header line.
fn find_block_header(text: &str, line: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let stop = line_end(text, line);
    let mut found = None;
    for pos in line..stop {
        if bytes[pos] == b'#' && pos > line && is_blank(bytes[pos - 1]) {
            break;
        }
        let opens = matches!(bytes[pos], b'|' | b'>')
            && (pos == line || is_blank(bytes[pos - 1]))
            && header_tail_is_valid(&bytes[pos + 1..stop]);
        if opens {
            found = Some(pos);
        }
    }
    found
}

fn header_tail_is_valid(tail: &[u8]) -> bool {
    let indicators = tail
        .iter()
        .take_while(|b| matches!(b, b'1'..=b'9' | b'+' | b'-'))
        .count();
    indicators <= 2
        && tail
            .get(indicators)
            .is_none_or(|&b| is_blank(b) || b == b'\r')
}

fn header_indicators(text: &str, from: usize) -> (Chomping, Option<u8>) {
    let mut chomping = Chomping::Clip;
    let mut indent = None;
    for byte in text
        .as_bytes()
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take(2)
    {
        match byte {
            b'+' => chomping = Chomping::Keep,
            b'-' => chomping = Chomping::Strip,
            b'1'..=b'9' => indent = Some(byte - b'0'),
            _ => break,
        }
    }
    (chomping, indent)
}

/// End of the block content that starts at `first_line`: the end of its last
/// non-blank line, or, with keep chomping, after its trailing blank lines.
fn block_content_end(text: &str, first_line: usize, indent: usize, chomping: Chomping) -> usize {
    let bytes = text.as_bytes();
    let mut line = first_line;
    let mut end = 0;
    let mut after_blank_lines = 0;
    while line < text.len() {
        let stop = line_end(text, line);
        let first = (line..stop).find(|&p| !is_blank(bytes[p]));
        match first {
            None => after_blank_lines = next_line(text, line),
            Some(first) if first - line < indent => break,
            Some(_) => {
                end = stop;
                after_blank_lines = 0;
            }
        }
        line = next_line(text, line);
    }
    if chomping == Chomping::Keep && after_blank_lines > end {
        // Keep the line breaks that belong to the value, but not the
        // indentation of the line that follows the scalar.
        return after_blank_lines;
    }
    end
}

/// Where an empty plain scalar (a missing value) sits: right after the
/// indicator or node that precedes it.
fn empty_scalar_position(text: &str, at: usize, last_end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut pos = at.min(bytes.len());
    while pos > last_end && is_space(bytes[pos - 1]) {
        pos -= 1;
    }
    pos
}

/// Finds the `&anchor` and `!tag` written before a node that starts at `start`.
fn decorations(
    text: &str,
    start: usize,
    has_anchor: bool,
    has_tag: bool,
) -> (Option<Span>, Option<Span>) {
    let (mut anchor, mut tag) = (None, None);
    let bytes = text.as_bytes();
    let mut end = start;
    for _ in 0..2 {
        if anchor.is_some() == has_anchor && tag.is_some() == has_tag {
            break;
        }
        while end > 0 && is_space(bytes[end - 1]) {
            end -= 1;
        }
        let begin = text[..end]
            .rfind(|c: char| c.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        let token = Span::new(begin, end);
        match bytes.get(begin) {
            Some(b'&') if has_anchor && anchor.is_none() => anchor = Some(token),
            Some(b'!') if has_tag && tag.is_none() => tag = Some(token),
            _ => break,
        }
        end = begin;
    }
    (anchor, tag)
}

#[cfg(test)]
mod tests;
