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

use hashbrown::HashMap;
use std::ops::Range;

use super::{Decoration, Node, NodeId, NodeKind, Tree, Value, Values};
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
/// where it stands, a piece whose tree has no root mapping, or values that
/// would pass 4 GiB together. The caller then parses the whole text.
#[derive(Debug)]
pub struct Unspliceable;

/// Builds a tree piece by piece, in document order: a piece's tree (a
/// window's, parsed on its own) may be dropped once it is copied, so that
/// the windows' texts and trees are never all held at once.
///
/// A run of whole entries is a run of consecutive ids (ids follow document
/// order), and so is its copy: each node's new id is its old one plus the
/// piece's offset, and a node is copied in a few steps, with no walk of the
/// tree.
pub struct Splicer<'m> {
    copy: Copy,
    root_keys: Vec<NodeId>,
    /// The tree most pieces come from (the original), whose sorted lists
    /// are made once.
    main: Source,
    main_tree: &'m Tree,
}

impl<'m> Splicer<'m> {
    /// A splice whose pieces come mostly from `main`; `nodes` is about how
    /// many nodes the result has (room is reserved for them).
    pub fn new(main: &'m Tree, nodes: usize) -> Splicer<'m> {
        let mut copy = Copy {
            nodes: Vec::with_capacity(1 + nodes),
            ..Copy::default()
        };
        // The root, written once its end is known.
        copy.nodes
            .push(Node::collection(Span::empty(0), true, false, 0));
        Splicer {
            copy,
            root_keys: Vec::new(),
            main: Source::new(main),
            main_tree: main,
        }
    }

    /// Copies a piece's entries after those copied so far.
    pub fn add(&mut self, piece: &Piece) -> Result<(), Unspliceable> {
        let range = node_range(piece).ok_or(Unspliceable)?;
        let own;
        let source = if std::ptr::eq(piece.tree, self.main_tree) {
            &self.main
        } else {
            own = Source::new(piece.tree);
            &own
        };
        let offset = self.copy.nodes.len() as i64 - i64::from(range.start);
        let new = |id: NodeId| NodeId((i64::from(id.0) + offset) as u32);
        let keys = &piece.tree.entry_keys()[piece.entries.clone()];
        self.root_keys.extend(keys.iter().map(|&key| new(key)));
        self.copy.piece(piece, source, range.clone(), offset)?;
        self.copy.nested_duplicates(source, range, offset);
        Ok(())
    }

    /// The tree of `text`, whose root is a block mapping holding the
    /// pieces' entries in order, starting at `root_start`.
    pub fn finish(self, text: &str, root_start: usize) -> Tree {
        let Splicer {
            mut copy,
            root_keys,
            ..
        } = self;
        copy.root_duplicates(&root_keys, text);
        let end = match root_keys.last() {
            Some(&key) => copy.nodes[copy.after(key) as usize].span.end(),
            None => root_start,
        };
        let after = copy.nodes.len() as u32;
        copy.nodes[0] = Node::collection(
            Span::new(root_start, end.max(root_start)),
            true,
            false,
            after,
        );
        Tree {
            nodes: copy.nodes,
            root: Some(NodeId(0)),
            document: 0,
            duplicates: copy.duplicate_pairs,
            values: copy.values,
            decorations: copy.decorations,
            entries: root_keys.into(),
            child_index: super::holder::ChildIndex::default(),
        }
    }
}

/// The ids of a piece's entries: from its first key to the next entry's
/// key, or to the end of the root's descendants.
fn node_range(piece: &Piece) -> Option<Range<u32>> {
    let tree = piece.tree;
    let keys = tree.entry_keys();
    let start = keys.get(piece.entries.start)?.0;
    let end = match piece.entries.len() {
        0 => start,
        _ => match keys.get(piece.entries.end) {
            Some(key) => key.0,
            None => tree.after(tree.root?).0,
        },
    };
    Some(start..end)
}

/// What a source tree is asked for, found once however many pieces it
/// gives: its decorated nodes and repeated keys in id order, its root keys.
struct Source {
    decorated: Vec<NodeId>,
    duplicates: Vec<(NodeId, NodeId)>,
    root_keys: hashbrown::HashSet<NodeId>,
}

impl Source {
    fn new(tree: &Tree) -> Source {
        let mut decorated: Vec<NodeId> = tree.decorations.keys().copied().collect();
        decorated.sort_unstable();
        let mut duplicates = tree.duplicates.clone();
        duplicates.sort_unstable();
        let root_keys = tree.entry_keys().iter().copied().collect();
        Source {
            decorated,
            duplicates,
            root_keys,
        }
    }

    /// The entries of `sorted` whose (first) id lies in `range`.
    fn within<'s, T>(sorted: &'s [T], range: &Range<u32>, id: impl Fn(&T) -> u32) -> &'s [T] {
        let from = sorted.partition_point(|item| id(item) < range.start);
        let to = sorted.partition_point(|item| id(item) < range.end);
        &sorted[from..to]
    }
}

#[derive(Default)]
struct Copy {
    nodes: Vec<Node>,
    values: Values,
    decorations: HashMap<NodeId, Decoration>,
    duplicate_pairs: Vec<(NodeId, NodeId)>,
    /// Each anchor name's latest node, as a parser binds it.
    bindings: HashMap<Box<str>, NodeId>,
}

impl Copy {
    /// Copies the nodes `range` of a piece, in order, `offset` ids on.
    fn piece(
        &mut self,
        piece: &Piece,
        source: &Source,
        range: Range<u32>,
        offset: i64,
    ) -> Result<(), Unspliceable> {
        let tree = piece.tree;
        let new = |id: u32| NodeId((i64::from(id) + offset) as u32);
        let mut decorated = Source::within(&source.decorated, &range, |id| id.0)
            .iter()
            .peekable();
        for id in range {
            let old = &tree.nodes[id as usize];
            let span = moved(old.span, piece.shift);
            let node = match old.kind() {
                NodeKind::Scalar { style } => {
                    let value = old.value();
                    if value == Value::Stored {
                        let text = tree.values.of(piece.text, NodeId(id), old);
                        if !self.values.push(new(id), text) {
                            return Err(Unspliceable);
                        }
                    }
                    Node::scalar(span, style, value)
                }
                NodeKind::Alias { target } => {
                    let name = tree.anchor(target).ok_or(Unspliceable)?.slice(piece.text);
                    let bound = self.bindings.get(name).ok_or(Unspliceable)?;
                    Node::alias(span, *bound)
                }
                NodeKind::Sequence { flow } | NodeKind::Mapping { flow } => {
                    let after = new(old.after(NodeId(id))).0;
                    Node::collection(span, tree.is_mapping(NodeId(id)), flow, after)
                }
            };
            self.nodes.push(node);
            if decorated.next_if(|node| node.0 == id).is_some() {
                self.decorate(piece, NodeId(id), new(id));
            }
        }
        Ok(())
    }

    /// The id after the copied node `id`'s descendants.
    fn after(&self, id: NodeId) -> u32 {
        self.nodes[id.0 as usize].after(id)
    }

    /// Copies a node's anchor and tag; an anchor binds its name.
    fn decorate(&mut self, piece: &Piece, old: NodeId, new: NodeId) {
        let Some(decoration) = piece.tree.decorations.get(&old) else {
            return;
        };
        if let Some(anchor) = decoration.anchor {
            self.bindings.insert(anchor.slice(piece.text).into(), new);
        }
        self.decorations.insert(
            new,
            Decoration {
                anchor: decoration.anchor.map(|span| moved(span, piece.shift)),
                tag: decoration.tag.map(|span| moved(span, piece.shift)),
            },
        );
    }

    /// A piece's repeated keys below the root, under their new ids.
    fn nested_duplicates(&mut self, source: &Source, range: Range<u32>, offset: i64) {
        let new = |id: NodeId| NodeId((i64::from(id.0) + offset) as u32);
        for &(first, later) in Source::within(&source.duplicates, &range, |pair| pair.0.0) {
            if !source.root_keys.contains(&first) && range.contains(&later.0) {
                self.duplicate_pairs.push((new(first), new(later)));
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
            if !matches!(node.kind(), NodeKind::Scalar { .. }) {
                continue;
            }
            let name = self.values.of(text, key, node);
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
            (NodeKind::Sequence { flow: x }, NodeKind::Sequence { flow: y }) => {
                x == y && spliced.items(id).eq(parsed.items(id))
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
