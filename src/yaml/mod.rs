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

use hashbrown::HashMap;
use std::borrow::Cow;
use std::sync::OnceLock;

use crate::span::Span;
pub(crate) use extent::{line_end, line_start, next_line};

mod build;
mod extent;
mod holder;
mod nodes;
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

    /// The node after this one when this one is a leaf (a scalar or an
    /// alias, which has no descendants): a mapping key's value.
    pub fn after_leaf(self) -> NodeId {
        NodeId(self.0 + 1)
    }

    /// How many ids lie from this one up to `end`, not included.
    pub fn count_to(self, end: NodeId) -> usize {
        end.0.saturating_sub(self.0) as usize
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
    Scalar {
        style: ScalarStyle,
    },
    /// Its items follow it in id order, up to [`Tree::after`].
    Sequence {
        flow: bool,
    },
    /// Its keys and values alternate after it, up to [`Tree::after`].
    Mapping {
        flow: bool,
    },
    Alias {
        target: NodeId,
    },
}

/// A node: its span, and its kind packed into one word (stored in 8 bytes,
/// [`nodes`]). A pipeline holds a node per 8 to 14 bytes of YAML and the
/// tree is most of `check`'s memory, so a collection keeps no list of its
/// children: ids are given in document order, its children follow it, and
/// it keeps only the id after its last descendant, where its next sibling
/// starts.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    /// The node's own text: for a block scalar from the `|`/`>` header to the
    /// end of its last content line; anchors and tags are not included.
    pub span: Span,
    /// The kind in the low two bits; then a scalar's style and where its
    /// value is read, a collection's flow bit and end, an alias' target.
    bits: u32,
}

const SCALAR: u32 = 0;
const SEQUENCE: u32 = 1;
const MAPPING: u32 = 2;
const ALIAS: u32 = 3;

/// Where a scalar's value is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// Its source text: most scalars.
    Source,
    /// The text between its quotes: most quoted scalars, which need no copy.
    InsideQuotes,
    /// The tree's stored values (escapes, folded lines).
    Stored,
    /// Decoded from its source text when asked ([`scalar::decode`]): a
    /// value over several lines, or with escapes, that decodes back to
    /// yaml-rust2's value. Storing those took 14 MB of a 50 MB pipeline's
    /// peak. Never a mapping key, whose name is borrowed ([`Tree::key`]).
    Lines,
}

/// Mappings up to this many pairs look for duplicate keys without a table.
const SMALL_MAPPING: usize = 16;

/// The most nodes a tree holds: a collection's end takes 29 bits of its
/// word. A node takes at least two bytes (`[a,a,…]`), so only a file of
/// more than a gigabyte can hold that many.
pub const MAX_NODES: usize = (1 << 29) - 1;

impl Node {
    fn scalar(span: Span, style: ScalarStyle, value: Value) -> Node {
        let bits = SCALAR | pack_style(style) << 2 | (value as u32) << 11;
        Node { span, bits }
    }

    /// A collection whose descendants end before id `after`.
    fn collection(span: Span, mapping: bool, flow: bool, after: u32) -> Node {
        debug_assert!(after as usize <= MAX_NODES);
        let kind = if mapping { MAPPING } else { SEQUENCE };
        Node {
            span,
            bits: kind | u32::from(flow) << 2 | after << 3,
        }
    }

    fn alias(span: Span, target: NodeId) -> Node {
        Node {
            span,
            bits: ALIAS | target.0 << 2,
        }
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
        let flow = self.bits & 4 != 0;
        match self.bits & 3 {
            SCALAR => NodeKind::Scalar {
                style: unpack_style(self.bits >> 2),
            },
            SEQUENCE => NodeKind::Sequence { flow },
            MAPPING => NodeKind::Mapping { flow },
            _ => NodeKind::Alias {
                target: NodeId(self.bits >> 2),
            },
        }
    }

    fn value(&self) -> Value {
        match self.bits >> 11 & 3 {
            0 => Value::Source,
            1 => Value::InsideQuotes,
            2 => Value::Stored,
            _ => Value::Lines,
        }
    }

    fn is_collection(&self) -> bool {
        matches!(self.bits & 3, SEQUENCE | MAPPING)
    }

    fn is_mapping(&self) -> bool {
        self.bits & 3 == MAPPING
    }

    /// The id after the node's last descendant, the node `id` itself.
    fn after(&self, id: NodeId) -> u32 {
        if self.is_collection() {
            self.bits >> 3
        } else {
            id.0 + 1
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

/// A node as [`nodes`] reads it, made whole: an alias packed in 8 bytes
/// (read with an empty span; one kept whole has its span) is as long as
/// its target's anchor (`*name`, `&name`).
#[inline]
fn completed(decorations: &HashMap<NodeId, Decoration>, node: Node) -> Node {
    match node.kind() {
        NodeKind::Alias { target } if node.span.is_empty() => {
            with_anchor_length(decorations, node.span.start(), target)
        }
        _ => node,
    }
}

/// The alias at `start` to `target`, as long as the target's anchor.
#[inline(never)]
fn with_anchor_length(
    decorations: &HashMap<NodeId, Decoration>,
    start: usize,
    target: NodeId,
) -> Node {
    let length = decorations
        .get(&target)
        .and_then(|decoration| decoration.anchor)
        .map_or(0, Span::len);
    Node::alias(Span::new(start, start + length), target)
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
    /// In document order: a collection's descendants follow it.
    nodes: nodes::Nodes,
    root: Option<NodeId>,
    /// Which document of the stream `root` is: 1 after a `spec:` header.
    document: usize,
    /// Keys written twice in one mapping: (first, later).
    duplicates: Vec<(NodeId, NodeId)>,
    /// Scalar values that differ from their source text.
    values: Values,
    decorations: HashMap<NodeId, Decoration>,
    /// The root mapping's keys; indexed on first use, since windows and
    /// splices look thousands of entries up by position.
    entries: OnceLock<Vec<NodeId>>,
    /// Wide collections' children, for finding which collection holds a
    /// node (`holder`).
    child_index: holder::ChildIndex,
    /// For a tree spliced from another (a rewrite's), its nodes: its own
    /// and those it shares with that tree. `nodes` is then empty.
    shared: Option<Box<splice::Shared>>,
}

/// Decoded scalar values that differ from their source text, in one
/// buffer rather than an allocation each, found by their node's id.
#[derive(Clone, Debug, Default)]
struct Values {
    text: String,
    /// Where each value ends in `text`; it starts where the previous ends.
    /// In 4 bytes: a tree whose values would pass 4 GiB is refused.
    ends: Vec<u32>,
    /// Which nodes have a value stored, to count those before a node.
    stored: StoredIds,
}

/// A set of node ids, added in increasing order, that tells in constant
/// time how many of its ids are below a given one: a bit per node, and per
/// block of 64 nodes the count before it, 0.19 bytes a node. A sorted list
/// of the ids, searched by halves, took 4 bytes a value and the most time
/// of any lookup in the tree (a 50 MB pipeline stores a million values).
#[derive(Clone, Debug, Default)]
struct StoredIds {
    bits: Vec<u64>,
    /// How many ids lie in the blocks before each block.
    before: Vec<u32>,
}

impl StoredIds {
    /// Adds `id`, above every id added.
    fn push(&mut self, id: NodeId) {
        let block = id.0 as usize / 64;
        while self.bits.len() <= block {
            let count = self.before.last().copied().unwrap_or(0)
                + self.bits.last().map_or(0, |bits| bits.count_ones());
            self.before.push(count);
            self.bits.push(0);
        }
        self.bits[block] |= 1 << (id.0 % 64);
    }

    /// How many ids added are below `id`.
    fn rank(&self, id: NodeId) -> usize {
        let block = id.0 as usize / 64;
        let below = self.bits[block] & ((1u64 << (id.0 % 64)) - 1);
        self.before[block] as usize + below.count_ones() as usize
    }

    fn last(&self) -> Option<NodeId> {
        let block = self.bits.iter().rposition(|&bits| bits != 0)?;
        let bit = 63 - self.bits[block].leading_zeros();
        Some(NodeId(block as u32 * 64 + bit))
    }
}

impl Values {
    /// Stores the value of node `id`, which comes after every node stored;
    /// `false`, storing nothing, when the values would pass 4 GiB (decoded,
    /// a value may be half as long again as its source: `"\L"`).
    #[must_use]
    fn push(&mut self, id: NodeId, value: &str) -> bool {
        debug_assert!(self.stored.last().is_none_or(|last| last < id));
        let Ok(end) = u32::try_from(self.text.len() + value.len()) else {
            return false;
        };
        self.text.push_str(value);
        self.ends.push(end);
        self.stored.push(id);
        true
    }

    /// The value of scalar `node`, whose id is `id`, in `source`, when the
    /// text or the tree holds it: `None` for a value decoded when asked.
    fn of<'t>(&'t self, source: &'t str, id: NodeId, node: &Node) -> Option<&'t str> {
        let span = node.span;
        match node.value() {
            Value::Source => Some(span.slice(source)),
            Value::InsideQuotes => Some(&source[span.start() + 1..span.end() - 1]),
            Value::Stored => Some(self.stored(id)),
            Value::Lines => None,
        }
    }

    /// The stored value of node `id`.
    fn stored(&self, id: NodeId) -> &str {
        let index = self.stored.rank(id);
        let start = index.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start as usize..self.ends[index] as usize]
    }
}

/// The children of a collection, in order: each one's next sibling
/// starts at the id after its descendants.
#[derive(Clone, Debug)]
pub struct Children<'t> {
    tree: &'t Tree,
    next: u32,
    end: u32,
}

impl Iterator for Children<'_> {
    type Item = NodeId;

    #[inline]
    fn next(&mut self) -> Option<NodeId> {
        if self.next >= self.end {
            return None;
        }
        let id = NodeId(self.next);
        self.next = self.tree.stored_node(id).after(id);
        Some(id)
    }
}

impl std::iter::FusedIterator for Children<'_> {}

/// The key/value pairs of a mapping, in order.
#[derive(Clone, Debug)]
pub struct Pairs<'t>(Children<'t>);

impl Iterator for Pairs<'_> {
    type Item = (NodeId, NodeId);

    #[inline]
    fn next(&mut self) -> Option<(NodeId, NodeId)> {
        Some((self.0.next()?, self.0.next()?))
    }
}

impl std::iter::FusedIterator for Pairs<'_> {}

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
        if text.len() >= u32::MAX as usize {
            return Err(SyntaxError {
                offset: 0,
                message: "file is larger than 4 GiB".into(),
            });
        }
        match text.strip_prefix('\u{feff}') {
            Some(body) => {
                let bom = text.len() - body.len();
                let mut tree = build::parse_body(body, MAX_NODES).map_err(|mut err| {
                    err.offset += bom;
                    err
                })?;
                tree.shift(bom);
                Ok(tree)
            }
            None => build::parse_body(text, MAX_NODES),
        }
    }

    fn shift(&mut self, by: usize) {
        let moved = |span: Span| Span::new(span.start() + by, span.end() + by);
        self.nodes.shift(by);
        for decoration in self.decorations.values_mut() {
            decoration.anchor = decoration.anchor.map(moved);
            decoration.tag = decoration.tag.map(moved);
        }
    }

    /// The tree of an empty text: no document.
    pub fn empty() -> Tree {
        Tree {
            nodes: nodes::Nodes::default(),
            root: None,
            document: 0,
            duplicates: Vec::new(),
            values: Values::default(),
            decorations: HashMap::new(),
            entries: OnceLock::new(),
            child_index: holder::ChildIndex::default(),
            shared: None,
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

    /// The node `id`, its span whole. A spliced tree's shared nodes are
    /// read from the tree they are shared with, moved to where they lie in
    /// this one; an alias packed in 8 bytes gets its anchor's length.
    #[inline]
    pub fn node(&self, id: NodeId) -> Node {
        completed(&self.decorations, self.stored_node(id))
    }

    /// The node `id` as stored, where an alias packed in 8 bytes has no
    /// length yet: for the questions about its kind, its target or its
    /// children, which the hottest loops ask (`deref`, `pairs`).
    #[inline(always)]
    fn stored_node(&self, id: NodeId) -> Node {
        match self.nodes.get(id.0 as usize) {
            Some(node) => node,
            None => self.shared_node(id),
        }
    }

    /// A spliced tree's node (its `nodes` are empty): the branch a bounds
    /// check takes anyway, so that the parse's own trees pay nothing.
    #[cold]
    #[inline(never)]
    fn shared_node(&self, id: NodeId) -> Node {
        match &self.shared {
            Some(shared) => shared.node(id),
            None => panic!("{id:?} is not a node of the tree"),
        }
    }

    /// Follows alias nodes to the node they name.
    #[inline]
    pub fn deref(&self, mut id: NodeId) -> NodeId {
        // Aliases always point backwards, so this terminates.
        while let NodeKind::Alias { target } = self.stored_node(id).kind() {
            id = target;
        }
        id
    }

    /// The id after `id`'s last descendant: where its next sibling starts.
    #[inline]
    pub fn after(&self, id: NodeId) -> NodeId {
        NodeId(self.stored_node(id).after(id))
    }

    /// The children of a collection; none for any other node, or for
    /// [`Tree::end_id`].
    fn children(&self, id: NodeId) -> Children<'_> {
        let end = (id < self.end_id())
            .then(|| self.stored_node(id))
            .filter(Node::is_collection)
            .map_or(0, |node| node.after(id));
        Children {
            tree: self,
            next: id.0 + 1,
            end,
        }
    }

    /// Items of a sequence; none for any other node.
    pub fn items(&self, id: NodeId) -> Children<'_> {
        match self.stored_node(id).kind() {
            NodeKind::Sequence { .. } => self.children(id),
            _ => self.children(self.end_id()),
        }
    }

    /// Key/value pairs of a mapping, in source order; none for any other node.
    pub fn pairs(&self, id: NodeId) -> Pairs<'_> {
        match self.stored_node(id).kind() {
            NodeKind::Mapping { .. } => Pairs(self.children(id)),
            _ => Pairs(self.children(self.end_id())),
        }
    }

    /// The keys of the root mapping's entries, in order; none when the
    /// root is not a mapping.
    pub fn entry_keys(&self) -> &[NodeId] {
        self.entries.get_or_init(|| match self.root {
            Some(root) => self.pairs(root).map(|(key, _)| key).collect(),
            None => Vec::new(),
        })
    }

    /// The key and value of the root mapping's entry `index`.
    pub fn entry(&self, index: usize) -> Option<(NodeId, NodeId)> {
        let key = *self.entry_keys().get(index)?;
        Some((key, self.after(key)))
    }

    /// The value of a scalar node, decoded; `None` for collections and
    /// aliases. Borrowed, but for a value over several lines or with
    /// escapes ([`Value::Lines`]), decoded again from `text` on each call.
    #[inline]
    pub fn scalar<'t>(&'t self, text: &'t str, id: NodeId) -> Option<Cow<'t, str>> {
        let node = self.stored_node(id);
        if node.bits & 3 != SCALAR {
            return None;
        }
        Some(match self.borrowed(text, id, &node) {
            Some(value) => Cow::Borrowed(value),
            None => Cow::Owned(self.decoded(text, node)),
        })
    }

    /// A mapping key's name, borrowed from `text` or the tree: a key's value
    /// is never decoded when asked. `None` for collections and aliases (and
    /// for any other scalar decoded when asked, which a debug build refuses).
    #[inline]
    pub fn key<'t>(&'t self, text: &'t str, id: NodeId) -> Option<&'t str> {
        let node = self.stored_node(id);
        if node.bits & 3 != SCALAR {
            return None;
        }
        let name = self.borrowed(text, id, &node);
        debug_assert!(
            name.is_some(),
            "{id:?} is a value decoded when asked, not a key"
        );
        name
    }

    /// The source a value decoded when asked is decoded from, where a
    /// filter can look for its words (no whitespace, quote or backslash)
    /// without decoding it: every such word of the value is in it, since
    /// its lines are joined with a space or a line break and `''` becomes
    /// `'`. `None` for any other node (its value is at hand), and for a
    /// double-quoted value, whose escapes make words.
    #[inline]
    pub fn undecoded<'t>(&self, text: &'t str, id: NodeId) -> Option<&'t str> {
        let node = self.stored_node(id);
        let double = matches!(
            node.kind(),
            NodeKind::Scalar {
                style: ScalarStyle::DoubleQuoted
            }
        );
        (node.bits & 3 == SCALAR && node.value() == Value::Lines && !double)
            .then(|| node.span.slice(text))
    }

    /// The value of scalar `node` (`id`) when the text or the tree holds
    /// it; `None` for a value decoded when asked. A spliced tree's stored
    /// values are read through [`Tree::stored`].
    #[inline]
    fn borrowed<'t>(&'t self, text: &'t str, id: NodeId, node: &Node) -> Option<&'t str> {
        match node.value() {
            Value::Stored => Some(self.stored(id)),
            _ => self.values.of(text, id, node),
        }
    }

    /// The value of a scalar marked [`Value::Lines`], which decoded from
    /// these bytes when the tree was parsed: a spliced tree's shared node
    /// lies over the same bytes, moved.
    fn decoded(&self, text: &str, node: Node) -> String {
        let NodeKind::Scalar { style } = node.kind() else {
            unreachable!("only a scalar has a value");
        };
        scalar::decode(text, node.span, style)
            .expect("a value decoded from its source when the tree was parsed decodes again")
    }

    /// The stored value of scalar `id`: a shared node's is the other tree's.
    fn stored(&self, id: NodeId) -> &str {
        if let Some(shared) = &self.shared
            && let Some(old) = shared.shared_id(id)
        {
            return shared.base().stored(old);
        }
        self.values.stored(id)
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
        matches!(self.stored_node(id).kind(), NodeKind::Mapping { .. })
    }

    pub fn is_sequence(&self, id: NodeId) -> bool {
        matches!(self.stored_node(id).kind(), NodeKind::Sequence { .. })
    }

    /// True for a plain empty scalar or `~`/`null`: YAML's null.
    pub fn is_null(&self, text: &str, id: NodeId) -> bool {
        let node = self.stored_node(id);
        match node.kind() {
            NodeKind::Scalar {
                style: ScalarStyle::Plain,
            } => {
                // A plain value decoded when asked spans lines: not null.
                matches!(
                    self.borrowed(text, id, &node),
                    Some("" | "~" | "null" | "Null" | "NULL")
                )
            }
            _ => false,
        }
    }

    pub fn tag_is(&self, text: &str, id: NodeId, tag: &str) -> bool {
        self.tag(id).is_some_and(|span| span.slice(text) == tag)
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.shared
            .as_ref()
            .map_or(self.nodes.len(), |shared| shared.len())
    }

    /// The id after the last node's.
    pub fn end_id(&self) -> NodeId {
        NodeId(self.len() as u32)
    }

    /// Every node, in the order the parser produced them.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<> {
        (0..self.len() as u32).map(NodeId)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests;
