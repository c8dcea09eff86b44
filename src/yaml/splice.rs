//! A tree assembled from the top-level entries of other trees.
//!
//! A rewrite changes a few top-level entries (jobs) of a pipeline. The
//! rewritten file's tree is then the original's tree outside those entries,
//! moved by the length the edits added before them, and the trees of the
//! rewritten entries, each parsed on its own (`rewrite::window`): copying
//! nodes costs a fraction of parsing the whole file again. Why the pieces
//! read as the whole file would is argued, and checked, where the windows
//! are cut; this module only assembles.
//!
//! The original's nodes are not copied but shared ([`Shared`]): the spliced
//! tree reads them from the original, moved on the fly. A copy of every
//! node outside the windows held as many bytes as the original's tree for
//! as long as the rewrite was checked.
//!
//! An alias is bound by name as the splice goes, in document order, exactly
//! as a parser binds it: to the latest node anchored with that name. That
//! is what lets a piece parsed on its own (whose aliases named stand-in
//! anchors) point at the real anchored nodes of the whole.

use hashbrown::HashMap;
use std::ops::Range;
use std::sync::Arc;

use super::nodes::Nodes;
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

/// Where a spliced tree's nodes are: runs of consecutive ids, each either
/// its own (a window's nodes, copied) or the original's (shared, and moved
/// as they are read).
#[derive(Clone, Debug)]
pub(super) struct Shared {
    /// The tree's own nodes: the root's, then the windows', stored as a
    /// parse stores its nodes; a collection's end counts positions in this
    /// list, as the run that holds it does.
    own: Nodes,
    /// The tree the shared runs are read from.
    base: Arc<Tree>,
    runs: Vec<Run>,
    /// For each block of [`BLOCK`] ids, the run that holds its first id:
    /// a node is found in a step or two, whatever the number of runs.
    blocks: Vec<u32>,
    /// Where the aliases of the shared runs point now, by alias id, in id
    /// order: an alias binds to the latest anchor of its name, which may
    /// now be a window's. A sorted list takes half the room of a table
    /// (300,000 aliases at 50 MB), for a search by halves when an alias is
    /// read.
    aliases: Vec<(NodeId, NodeId)>,
    len: u32,
}

/// Ids per entry of [`Shared::blocks`].
const BLOCK: u32 = 64;

/// Ids from `start` on, read from `from` on: in the base tree when
/// `shared`, else in the tree's own nodes. A shared node's text lies
/// `shift` bytes from where it lies in the base.
#[derive(Clone, Copy, Debug)]
struct Run {
    start: u32,
    from: u32,
    shift: isize,
    shared: bool,
}

impl Shared {
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    pub(super) fn base(&self) -> &Tree {
        &self.base
    }

    fn run(&self, id: NodeId) -> &Run {
        let mut at = self.blocks[(id.0 / BLOCK) as usize] as usize;
        while self.runs.get(at + 1).is_some_and(|next| next.start <= id.0) {
            at += 1;
        }
        &self.runs[at]
    }

    /// The node `id`, its own or the base's, moved.
    pub(super) fn node(&self, id: NodeId) -> Node {
        let run = self.run(id);
        let from = run.from + (id.0 - run.start);
        let old = if run.shared {
            self.base.node(NodeId(from))
        } else {
            self.own.get(from as usize).expect("an own run's node")
        };
        let span = moved(old.span, run.shift);
        match old.kind() {
            NodeKind::Alias { .. } if !run.shared => old,
            NodeKind::Alias { .. } => {
                let at = self.aliases.binary_search_by_key(&id, |&(alias, _)| alias);
                Node::alias(span, self.aliases[at.expect("a shared alias is bound")].1)
            }
            // A collection's descendants are in its run: its end moves as
            // its id does.
            NodeKind::Sequence { flow } | NodeKind::Mapping { flow } => {
                let after = old.after(NodeId(from)) - run.from + run.start;
                Node::collection(span, old.is_mapping(), flow, after)
            }
            NodeKind::Scalar { .. } => Node { span, ..old },
        }
    }

    /// The base tree's id of node `id`, when it is shared.
    pub(super) fn shared_id(&self, id: NodeId) -> Option<NodeId> {
        let run = self.run(id);
        run.shared.then(|| NodeId(run.from + (id.0 - run.start)))
    }
}

/// Builds a tree piece by piece, in document order: a piece's tree (a
/// window's, parsed on its own) may be dropped once it is copied, so that
/// the windows' texts and trees are never all held at once.
///
/// A run of whole entries is a run of consecutive ids (ids follow document
/// order), and so is its place in the result: each node's new id is its
/// old one plus the piece's offset. The main tree's pieces are shared; a
/// window's nodes are copied, each in a few steps, with no walk of the
/// tree.
pub struct Splicer {
    copy: Copy,
    root_keys: Vec<NodeId>,
    /// The tree most pieces come from (the original), whose sorted lists
    /// are made once.
    main: Source,
    main_tree: Arc<Tree>,
}

impl Splicer {
    /// A splice whose pieces come mostly from `main`, shared; `own` is
    /// about how many nodes its other pieces have (room is reserved for
    /// them).
    pub fn new(main: &Arc<Tree>, own: usize) -> Splicer {
        let mut copy = Copy {
            nodes: Nodes::with_capacity(1 + own),
            ..Copy::default()
        };
        // The root, written once its end is known.
        copy.nodes
            .push(Node::collection(Span::empty(0), true, false, 0));
        copy.runs.push(Run {
            start: 0,
            from: 0,
            shift: 0,
            shared: false,
        });
        copy.next_id = 1;
        Splicer {
            copy,
            // As many entries as the original, about: a list grown by
            // doubling held twice the room at its peak.
            root_keys: Vec::with_capacity(main.entry_keys().len() + 16),
            main: Source::shared(main),
            main_tree: Arc::clone(main),
        }
    }

    /// Adds a piece's entries after those added so far.
    pub fn add(&mut self, piece: &Piece) -> Result<(), Unspliceable> {
        let range = node_range(piece).ok_or(Unspliceable)?;
        let place = Place {
            offset: i64::from(self.copy.next_id) - i64::from(range.start),
            range,
        };
        let keys = &piece.tree.entry_keys()[piece.entries.clone()];
        self.root_keys.extend(keys.iter().map(|&key| place.id(key)));
        if std::ptr::eq(piece.tree, &*self.main_tree) {
            self.copy.share(piece, &self.main, &place)?;
            self.copy.nested_duplicates(piece, &self.main, &place);
        } else {
            let source = Source::new(piece.tree);
            self.copy.piece(piece, &source, &place)?;
            self.copy.nested_duplicates(piece, &source, &place);
        }
        Ok(())
    }

    /// The tree of `text`, whose root is a block mapping holding the
    /// pieces' entries in order, starting at `root_start`.
    pub fn finish(self, text: &str, root_start: usize) -> Tree {
        let Splicer {
            copy,
            root_keys,
            main_tree,
            ..
        } = self;
        let len = copy.next_id;
        let mut shared = Shared {
            own: copy.nodes,
            blocks: blocks(&copy.runs, len),
            base: main_tree,
            runs: copy.runs,
            aliases: copy.aliases,
            len,
        };
        let end = match root_keys.last() {
            Some(&key) => shared.node(NodeId(shared.node(key).after(key))).span.end(),
            None => root_start,
        };
        let root = Node::collection(Span::new(root_start, end.max(root_start)), true, false, len);
        shared.own.set(0, root);
        let mut tree = Tree {
            nodes: Default::default(),
            root: Some(NodeId(0)),
            document: 0,
            duplicates: copy.duplicate_pairs,
            values: copy.values,
            decorations: copy.decorations,
            entries: Default::default(),
            child_index: super::holder::ChildIndex::default(),
            shared: Some(Box::new(shared)),
        };
        let repeated = root_duplicates(&tree, &root_keys, text);
        tree.duplicates.extend(repeated);
        tree.entries = root_keys.into();
        tree
    }
}

/// For each block of [`BLOCK`] ids up to `len`, the run holding its first.
fn blocks(runs: &[Run], len: u32) -> Vec<u32> {
    let mut at = 0;
    (0..len.div_ceil(BLOCK))
        .map(|block| {
            while runs
                .get(at + 1)
                .is_some_and(|next| next.start <= block * BLOCK)
            {
                at += 1;
            }
            at as u32
        })
        .collect()
}

/// The new root's repeated keys, found again: its entries come from
/// several trees.
fn root_duplicates(tree: &Tree, keys: &[NodeId], text: &str) -> Vec<(NodeId, NodeId)> {
    super::build::repeated_keys(
        keys.len(),
        |at| keys[at as usize],
        |key| tree.key(text, key).filter(|name| *name != "<<"),
    )
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
/// gives: its decorated nodes, aliases and repeated keys in id order. (Its
/// root keys are the tree's own list, in id order too.)
struct Source {
    decorated: Vec<NodeId>,
    /// Only for the tree whose pieces are shared ([`Source::shared`]).
    aliases: Vec<NodeId>,
    duplicates: Vec<(NodeId, NodeId)>,
}

impl Source {
    fn new(tree: &Tree) -> Source {
        let mut decorated: Vec<NodeId> = tree.decorations.keys().copied().collect();
        decorated.sort_unstable();
        let mut duplicates = tree.duplicates.clone();
        duplicates.sort_unstable();
        Source {
            decorated,
            aliases: Vec::new(),
            duplicates,
        }
    }

    /// [`Source::new`] for the tree whose pieces are shared, not copied:
    /// with its aliases, which a shared piece binds again (a copied piece
    /// meets them as it copies).
    fn shared(tree: &Tree) -> Source {
        let aliases = tree
            .node_ids()
            .filter(|&id| matches!(tree.node(id).kind(), NodeKind::Alias { .. }))
            .collect();
        Source {
            aliases,
            ..Source::new(tree)
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
    /// The nodes copied from windows (and the root, first).
    nodes: Nodes,
    runs: Vec<Run>,
    /// The id the next piece starts at.
    next_id: u32,
    aliases: Vec<(NodeId, NodeId)>,
    values: Values,
    decorations: HashMap<NodeId, Decoration>,
    duplicate_pairs: Vec<(NodeId, NodeId)>,
    /// Each anchor name's latest node, as a parser binds it.
    bindings: HashMap<Box<str>, NodeId>,
}

/// A piece's nodes, by id, and how far their ids move in the splice.
struct Place {
    range: Range<u32>,
    offset: i64,
}

impl Place {
    /// The new id of the piece's node `id`.
    fn id(&self, id: NodeId) -> NodeId {
        NodeId((i64::from(id.0) + self.offset) as u32)
    }
}

impl Copy {
    /// Shares the nodes of a piece of the main tree at `place`: only its
    /// anchors are bound and its aliases bound again, in document order.
    fn share(&mut self, piece: &Piece, source: &Source, place: &Place) -> Result<(), Unspliceable> {
        let range = &place.range;
        if range.is_empty() {
            return Ok(());
        }
        let tree = piece.tree;
        self.run(range.start, range.len(), piece.shift, true);
        let mut decorated = Source::within(&source.decorated, range, |id| id.0)
            .iter()
            .peekable();
        for &alias in Source::within(&source.aliases, range, |id| id.0) {
            while let Some(&node) = decorated.next_if(|node| **node < alias) {
                self.decorate(piece, node, place.id(node));
            }
            if let NodeKind::Alias { target } = tree.node(alias).kind() {
                let bound = self.bound(piece, target)?;
                // Pieces come in document order, and their aliases too.
                debug_assert!(
                    self.aliases
                        .last()
                        .is_none_or(|&(last, _)| last < place.id(alias))
                );
                self.aliases.push((place.id(alias), bound));
            }
        }
        for &node in decorated {
            self.decorate(piece, node, place.id(node));
        }
        Ok(())
    }

    /// Copies the nodes of a piece to `place`, in order.
    fn piece(&mut self, piece: &Piece, source: &Source, place: &Place) -> Result<(), Unspliceable> {
        let range = place.range.clone();
        let tree = piece.tree;
        let new = |id: u32| place.id(NodeId(id));
        if !range.is_empty() {
            self.run(self.nodes.len() as u32, range.len(), 0, false);
        }
        let mut decorated = Source::within(&source.decorated, &range, |id| id.0)
            .iter()
            .peekable();
        for id in range {
            let old = tree.node(NodeId(id));
            let span = moved(old.span, piece.shift);
            let node = match old.kind() {
                NodeKind::Scalar { style } => {
                    let value = old.value();
                    if value == Value::Stored {
                        let text = tree.stored(NodeId(id));
                        if !self.values.push(new(id), text) {
                            return Err(Unspliceable);
                        }
                    }
                    Node::scalar(span, style, value)
                }
                NodeKind::Alias { target } => Node::alias(span, self.bound(piece, target)?),
                // Its end is kept as a position in the list, which its id
                // is read back from (`Shared::node`).
                NodeKind::Sequence { flow } | NodeKind::Mapping { flow } => {
                    let position = self.nodes.len() as u32;
                    let after = new(old.after(NodeId(id))).0 - new(id).0 + position;
                    Node::collection(span, old.is_mapping(), flow, after)
                }
            };
            self.nodes.push(node);
            if decorated.next_if(|node| node.0 == id).is_some() {
                self.decorate(piece, NodeId(id), new(id));
            }
        }
        Ok(())
    }

    /// Starts a run of `len` ids at the next id, read from `from` on (in
    /// the main tree when `shared`, else in the nodes copied).
    fn run(&mut self, from: u32, len: usize, shift: isize, shared: bool) {
        self.runs.push(Run {
            start: self.next_id,
            from,
            shift,
            shared,
        });
        self.next_id += len as u32;
    }

    /// The node an alias to a piece's `target` names here: the latest
    /// anchored with the target's name, as a parser binds it.
    fn bound(&self, piece: &Piece, target: NodeId) -> Result<NodeId, Unspliceable> {
        let name = piece
            .tree
            .anchor(target)
            .ok_or(Unspliceable)?
            .slice(piece.text);
        self.bindings.get(name).copied().ok_or(Unspliceable)
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
    fn nested_duplicates(&mut self, piece: &Piece, source: &Source, place: &Place) {
        let (range, new) = (&place.range, |id: NodeId| place.id(id));
        let root_keys = piece.tree.entry_keys();
        for &(first, later) in Source::within(&source.duplicates, range, |pair| pair.0.0) {
            if root_keys.binary_search(&first).is_err() && range.contains(&later.0) {
                self.duplicate_pairs.push((new(first), new(later)));
            }
        }
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
    if spliced.len() != parsed.len() || spliced.root != parsed.root {
        differ(format!(
            "{} nodes, root {:?}; parsed {} nodes, root {:?}",
            spliced.len(),
            spliced.root,
            parsed.len(),
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
