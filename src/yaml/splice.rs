//! A tree assembled from the top-level entries of other trees.
//!
//! A rewrite changes a few top-level entries (jobs) of a pipeline. The
//! rewritten file's tree is then the original's tree outside those entries,
//! moved by the length the edits added before them, and the trees of the
//! rewritten entries, each parsed on its own (`rewrite::window`): copying
//! nodes costs a fraction of parsing the whole file again. Why the pieces
//! read as the whole file would is argued, and checked, where the windows
//! are cut; this module only copies.
//!
//! An alias is bound by name as the copy goes, in document order, exactly
//! as a parser binds it: to the latest node anchored with that name. That
//! is what lets a piece parsed on its own (whose aliases named stand-in
//! anchors) point at the real anchored nodes of the whole.

use std::collections::HashMap;
use std::ops::Range;

use super::{Decoration, Node, NodeId, NodeKind, Tree, Values};
use crate::span::Span;

/// A run of top-level entries of `tree` (whose text is `text`), placed in
/// the new text `shift` bytes from where they are in `text`.
pub struct Piece<'a> {
    pub tree: &'a Tree,
    pub text: &'a str,
    pub entries: Range<usize>,
    pub shift: isize,
}

/// Why a splice could not be made: an alias whose anchor is not bound
/// where it stands. The caller then parses the whole text.
#[derive(Debug)]
pub struct Unbound;

impl Tree {
    /// The tree of `text`, whose root is a block mapping holding the
    /// `pieces`' entries in order, starting at `root_start`.
    pub fn splice(text: &str, pieces: &[Piece], root_start: usize) -> Result<Tree, Unbound> {
        let mut copy = Copy::default();
        let total: usize = pieces.iter().map(|piece| 2 * piece.entries.len()).sum();
        let root = copy.push(Node::new(
            Span::empty(root_start),
            NodeKind::Scalar {
                style: super::ScalarStyle::Plain,
                decoded: 0,
            },
        ));
        let first = copy.reserve(total);
        let mut slot = first;
        // Each source tree's nodes under their new ids, for its repeated keys.
        let mut ids: Vec<(&Tree, &str, Vec<u32>)> = Vec::new();
        for piece in pieces {
            let root_of_piece = piece.tree.root.ok_or(Unbound)?;
            let at = match ids
                .iter()
                .position(|(tree, ..)| std::ptr::eq(*tree, piece.tree))
            {
                Some(at) => at,
                None => {
                    ids.push((piece.tree, piece.text, Vec::new()));
                    ids.len() - 1
                }
            };
            let pairs = piece
                .tree
                .pairs(root_of_piece)
                .skip(piece.entries.start)
                .take(piece.entries.len());
            for (key, value) in pairs {
                copy.subtree(piece, key, slot, &mut ids[at].2)?;
                copy.subtree(piece, value, slot + 1, &mut ids[at].2)?;
                slot += 2;
            }
        }
        let root_keys: Vec<NodeId> = copy.children[first..first + total]
            .iter()
            .step_by(2)
            .copied()
            .collect();
        for (tree, _, ids) in &ids {
            copy.nested_duplicates(tree, ids);
        }
        copy.root_duplicates(&root_keys, text);
        let end = copy.children[first..first + total]
            .last()
            .map_or(root_start, |last| copy.nodes[last.0 as usize].span.end());
        copy.nodes[root.0 as usize] = Node::new(
            Span::new(root_start, end.max(root_start)),
            NodeKind::Mapping {
                first: first as u32,
                len: (total / 2) as u32,
                flow: false,
            },
        );
        Ok(Tree {
            nodes: copy.nodes,
            children: copy.children,
            root: Some(root),
            document: 0,
            duplicates: copy.duplicate_pairs,
            values: copy.values,
            decorations: copy.decorations,
            parents: std::sync::OnceLock::new(),
        })
    }
}

#[derive(Default)]
struct Copy {
    nodes: Vec<Node>,
    children: Vec<NodeId>,
    values: Values,
    decorations: HashMap<NodeId, Decoration>,
    duplicate_pairs: Vec<(NodeId, NodeId)>,
    /// Each anchor name's latest node, as a parser binds it.
    bindings: HashMap<Box<str>, NodeId>,
}

impl Copy {
    fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        NodeId(self.nodes.len() as u32 - 1)
    }

    /// Room for `count` children, filled as they are copied.
    fn reserve(&mut self, count: usize) -> usize {
        let first = self.children.len();
        self.children.resize(first + count, NodeId(0));
        first
    }

    /// Copies the subtree at `source` into `slot` of `children`, in
    /// document order (so ids stay in the order a parser gives them),
    /// recording each copied node's new id in `ids`.
    fn subtree(
        &mut self,
        piece: &Piece,
        source: NodeId,
        slot: usize,
        ids: &mut Vec<u32>,
    ) -> Result<(), Unbound> {
        // An explicit stack: a deeply nested document must not overflow.
        let mut work = vec![(source, slot)];
        while let Some((source, slot)) = work.pop() {
            let id = self.node(piece, source, &mut work)?;
            self.children[slot] = id;
            let index = source.0 as usize;
            if ids.len() <= index {
                ids.resize(index + 1, u32::MAX);
            }
            ids[index] = id.0;
        }
        Ok(())
    }

    /// Copies one node; a collection's children are queued on `work`.
    fn node(
        &mut self,
        piece: &Piece,
        source: NodeId,
        work: &mut Vec<(NodeId, usize)>,
    ) -> Result<NodeId, Unbound> {
        let tree = piece.tree;
        let old = tree.node(source);
        let span = moved(old.span, piece.shift);
        let kind = match old.kind() {
            NodeKind::Scalar { style, decoded } => {
                let decoded = match decoded {
                    0 | super::INSIDE_QUOTES => decoded,
                    _ => self
                        .values
                        .push(tree.values.of(piece.text, old.span, decoded)),
                };
                NodeKind::Scalar { style, decoded }
            }
            NodeKind::Alias { target } => {
                let name = tree.anchor(target).ok_or(Unbound)?.slice(piece.text);
                let bound = self.bindings.get(name).ok_or(Unbound)?;
                NodeKind::Alias { target: *bound }
            }
            NodeKind::Sequence { len, flow, .. } => NodeKind::Sequence {
                first: self.queue(tree, source, len as usize, work),
                len,
                flow,
            },
            NodeKind::Mapping { len, flow, .. } => NodeKind::Mapping {
                first: self.queue(tree, source, 2 * len as usize, work),
                len,
                flow,
            },
        };
        let id = self.push(Node::new(span, kind));
        if let Some(decoration) = tree.decorations.get(&source) {
            let decoration = Decoration {
                anchor: decoration.anchor.map(|span| moved(span, piece.shift)),
                tag: decoration.tag.map(|span| moved(span, piece.shift)),
            };
            if let Some(anchor) = tree.anchor(source) {
                self.bindings.insert(anchor.slice(piece.text).into(), id);
            }
            self.decorations.insert(id, decoration);
        }
        Ok(id)
    }

    /// Reserves a collection's children and queues them, first on top.
    fn queue(
        &mut self,
        tree: &Tree,
        source: NodeId,
        count: usize,
        work: &mut Vec<(NodeId, usize)>,
    ) -> u32 {
        let first = self.reserve(count);
        let children: &[NodeId] = match tree.node(source).kind() {
            NodeKind::Sequence { first, .. } | NodeKind::Mapping { first, .. } => {
                &tree.children[first as usize..first as usize + count]
            }
            _ => &[],
        };
        work.extend(
            children
                .iter()
                .enumerate()
                .rev()
                .map(|(offset, &child)| (child, first + offset)),
        );
        first as u32
    }

    /// A source tree's repeated keys below its root that were copied,
    /// under their new ids.
    fn nested_duplicates(&mut self, tree: &Tree, ids: &[u32]) {
        let new = |id: NodeId| {
            ids.get(id.0 as usize)
                .filter(|&&new| new != u32::MAX)
                .map(|&new| NodeId(new))
        };
        let root_keys: std::collections::HashSet<NodeId> = tree
            .root
            .map(|root| tree.pairs(root).map(|(key, _)| key).collect())
            .unwrap_or_default();
        for &(first, later) in &tree.duplicates {
            if root_keys.contains(&first) {
                continue;
            }
            if let (Some(first), Some(later)) = (new(first), new(later)) {
                self.duplicate_pairs.push((first, later));
            }
        }
    }

    /// The new root's repeated keys, found again: its entries come from
    /// several trees. As the parser pairs them: each with the one before.
    fn root_duplicates(&mut self, keys: &[NodeId], text: &str) {
        let mut seen: HashMap<&str, NodeId> = HashMap::new();
        let mut pairs = Vec::new();
        for &key in keys {
            let node = &self.nodes[key.0 as usize];
            let NodeKind::Scalar { decoded, .. } = node.kind() else {
                continue;
            };
            let name = self.values.of(text, node.span, decoded);
            if name == "<<" {
                continue;
            }
            if let Some(earlier) = seen.insert(name, key) {
                pairs.push((earlier, key));
            }
        }
        self.duplicate_pairs.extend(pairs);
    }
}

fn moved(span: Span, shift: isize) -> Span {
    let at = |offset: usize| offset.checked_add_signed(shift).unwrap_or(0);
    Span::new(at(span.start()), at(span.end()))
}

/// Panics unless `spliced` is the tree `parsed` of the same `text`: the
/// same nodes under the same ids, with the same spans, values, anchors,
/// tags, children and repeated keys. Every rewrite in a debug build (the
/// test suite) checks its splice with it.
#[cfg(debug_assertions)]
pub fn assert_same(spliced: &Tree, parsed: &Tree, text: &str) {
    let differ = |what: String| -> ! {
        let excerpt: String = text.chars().take(2_000).collect();
        panic!("the spliced tree differs from the parse of the rewritten text: {what}\n{excerpt}")
    };
    if spliced.nodes.len() != parsed.nodes.len() || spliced.root != parsed.root {
        differ(format!(
            "{} nodes, root {:?}; parsed {} nodes, root {:?}",
            spliced.nodes.len(),
            spliced.root,
            parsed.nodes.len(),
            parsed.root
        ));
    }
    for id in spliced.node_ids() {
        let (a, b) = (spliced.node(id), parsed.node(id));
        let same_kind = match (a.kind(), b.kind()) {
            (NodeKind::Scalar { style: x, .. }, NodeKind::Scalar { style: y, .. }) => {
                x == y && spliced.scalar(text, id) == parsed.scalar(text, id)
            }
            (NodeKind::Alias { target: x }, NodeKind::Alias { target: y }) => x == y,
            (NodeKind::Sequence { .. }, NodeKind::Sequence { .. }) => {
                spliced.items(id) == parsed.items(id)
            }
            (NodeKind::Mapping { flow: x, .. }, NodeKind::Mapping { flow: y, .. }) => {
                x == y && spliced.pairs(id).eq(parsed.pairs(id))
            }
            _ => false,
        };
        if a.span != b.span || !same_kind {
            differ(format!("{id:?}: {a:?} against {b:?}"));
        }
        if spliced.anchor(id) != parsed.anchor(id) || spliced.tag(id) != parsed.tag(id) {
            differ(format!("the anchor or tag of {id:?}"));
        }
    }
    let sorted = |tree: &Tree| {
        let mut pairs = tree.duplicates.clone();
        pairs.sort();
        pairs
    };
    if sorted(spliced) != sorted(parsed) {
        differ("the repeated keys".into());
    }
}
