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

use crate::span::{LineIndex, Span};
pub(crate) use extent::{line_end, line_start, next_line};

mod build;
mod extent;
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
                let (mut tree, _) = build::parse_body(body).map_err(|mut err| {
                    err.offset += bom;
                    err
                })?;
                tree.shift(bom);
                Ok((tree, LineIndex::new(text)))
            }
            None => {
                let (tree, starts) = build::parse_body(text)?;
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

#[cfg(test)]
mod tests;
