//! The tree's nodes as they are stored: 8 bytes each, where a [`Node`]
//! takes 12.
//!
//! A pipeline holds a node per 8 to 14 bytes of YAML, so the nodes are
//! most of what a parse keeps: at 12 bytes a node they were 1.5 times the
//! text of a file of small jobs. Nearly every node is short (a scalar
//! under 256 KiB, a collection under 64 KiB with fewer than 4,096
//! descendants), so its length and the rest of its kind fit in one word
//! beside its start. The few that do not are kept whole in a side list
//! that the word points into. An alias' target takes the whole word: its
//! length is its anchor's (`*name` and `&name`), which the tree reads from
//! the anchor ([`Nodes::push_alias`]).

use super::{ALIAS, MAPPING, Node, NodeId, NodeKind, SCALAR, SEQUENCE};
use crate::span::Span;

/// A node's start, and a word: the kind in the low two bits, then the
/// [`WIDE`] bit, then either the index of the whole node in
/// [`Nodes::wide`] or
/// - an alias' target (29 bits);
/// - a scalar's style and where its value is read (11 bits, as in
///   [`Node`]), then its length (18 bits);
/// - a collection's flow bit, its number of descendants (12 bits), then
///   its length (16 bits).
#[derive(Clone, Copy, Debug)]
struct Packed {
    start: u32,
    word: u32,
}

/// The node is kept whole in the side list.
const WIDE: u32 = 1 << 2;
/// A scalar's style and value bits: bits 2 to 12 of a [`Node`]'s word.
const SCALAR_BITS: u32 = 0x7ff << 2;
const SCALAR_LEN_SHIFT: u32 = 14;
const COLLECTION_LEN_SHIFT: u32 = 16;
const DESCENDANTS: u32 = 0xfff;

/// The nodes of a parsed tree, by id.
#[derive(Clone, Debug, Default)]
pub(super) struct Nodes {
    packed: Vec<Packed>,
    /// The nodes that do not fit in 8 bytes.
    wide: Vec<Node>,
}

impl Nodes {
    pub(super) fn with_capacity(capacity: usize) -> Nodes {
        Nodes {
            packed: Vec::with_capacity(capacity),
            wide: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.packed.len()
    }

    /// The node at `index`, when there is one.
    #[inline(always)]
    pub(super) fn get(&self, index: usize) -> Option<Node> {
        let packed = *self.packed.get(index)?;
        let word = packed.word;
        if word & WIDE != 0 {
            return Some(self.wide[(word >> 3) as usize]);
        }
        let start = packed.start as usize;
        Some(if word & 3 == SCALAR {
            Node {
                span: Span::new(start, start + (word >> SCALAR_LEN_SHIFT) as usize),
                bits: word >> 1 & SCALAR_BITS,
            }
        } else if word & 3 == ALIAS {
            // Its length is its anchor's, which the tree adds.
            Node::alias(Span::empty(start), NodeId(word >> 3))
        } else {
            let after = index as u32 + 1 + (word >> 4 & DESCENDANTS);
            Node {
                span: Span::new(start, start + (word >> COLLECTION_LEN_SHIFT) as usize),
                bits: word & 3 | (word >> 3 & 1) << 2 | after << 3,
            }
        })
    }

    pub(super) fn push(&mut self, node: Node) {
        let index = self.packed.len();
        let packed = match word(index, node) {
            Some(word) => packed(node, word),
            None => self.widen(node, None),
        };
        self.packed.push(packed);
    }

    /// Pushes an alias whose length is that of its target's anchor, as
    /// written: its span is then read as empty, for the tree to complete
    /// (the parse checks the lengths agree before it calls this).
    pub(super) fn push_alias(&mut self, alias: Node) {
        let NodeKind::Alias { target } = alias.kind() else {
            unreachable!("only an alias is pushed as one");
        };
        self.packed.push(Packed {
            start: alias.span.start() as u32,
            word: ALIAS | target.0 << 3,
        });
    }

    /// Replaces the node at `index`: a collection once it closes, a plain
    /// scalar once its end is known.
    pub(super) fn set(&mut self, index: usize, node: Node) {
        self.packed[index] = match word(index, node) {
            Some(word) => packed(node, word),
            None => {
                let old = self.packed[index].word;
                self.widen(node, (old & WIDE != 0).then_some(old >> 3))
            }
        };
    }

    /// `node` kept whole in the side list, at `slot` when it was there
    /// already.
    #[cold]
    fn widen(&mut self, node: Node, slot: Option<u32>) -> Packed {
        let slot = slot.unwrap_or_else(|| {
            self.wide.push(node);
            self.wide.len() as u32 - 1
        });
        self.wide[slot as usize] = node;
        packed(node, node.bits & 3 | WIDE | slot << 3)
    }

    /// How many nodes are kept whole in the side list.
    #[cfg(test)]
    pub(super) fn wide(&self) -> usize {
        self.wide.len()
    }

    /// Moves every node `by` bytes further into the text.
    pub(super) fn shift(&mut self, by: usize) {
        for packed in &mut self.packed {
            packed.start += by as u32;
        }
        for node in &mut self.wide {
            node.span = Span::new(node.span.start() + by, node.span.end() + by);
        }
    }
}

fn packed(node: Node, word: u32) -> Packed {
    Packed {
        start: node.span.start() as u32,
        word,
    }
}

/// The word of `node`, at `index`, when it fits in 8 bytes.
#[inline]
fn word(index: usize, node: Node) -> Option<u32> {
    let len = node.span.len() as u32;
    match node.bits & 3 {
        SCALAR => (len < 1 << (32 - SCALAR_LEN_SHIFT))
            .then_some((node.bits & SCALAR_BITS) << 1 | len << SCALAR_LEN_SHIFT),
        SEQUENCE | MAPPING => {
            // A collection still open has no end yet (0): it is written
            // again when it closes.
            let descendants = (node.bits >> 3).saturating_sub(index as u32 + 1);
            let flow = node.bits >> 2 & 1;
            (descendants <= DESCENDANTS && len < 1 << (32 - COLLECTION_LEN_SHIFT)).then_some(
                node.bits & 3 | flow << 3 | descendants << 4 | len << COLLECTION_LEN_SHIFT,
            )
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{Chomping, ScalarStyle, Value};

    fn same(a: Node, b: Node) -> bool {
        a.span == b.span && a.bits == b.bits
    }

    #[test]
    fn nodes_take_eight_bytes() {
        assert_eq!(std::mem::size_of::<Packed>(), 8);
    }

    /// Each kind, at the largest size that fits in 8 bytes and the first
    /// that does not, reads back as it was stored.
    #[test]
    fn every_node_reads_back_as_stored() {
        let style = ScalarStyle::Folded {
            chomping: Chomping::Keep,
            indent: Some(9),
        };
        let nodes = [
            Node::scalar(Span::new(7, 7 + (1 << 18) - 1), style, Value::Stored),
            Node::scalar(Span::new(7, 7 + (1 << 18)), style, Value::InsideQuotes),
            Node::scalar(
                Span::new(u32::MAX as usize - 3, u32::MAX as usize),
                style,
                Value::Source,
            ),
            // At index 3, 4,095 descendants; then one too long, and one
            // with a descendant too many.
            Node::collection(Span::new(5, 5 + (1 << 16) - 1), true, true, 4 + 4095),
            Node::collection(Span::new(5, 5 + (1 << 16)), false, true, 5 + 10),
            Node::collection(Span::new(5, 6), false, false, 6 + 4096),
            Node::alias(Span::new(9, 12), NodeId((1 << 29) - 1)),
        ];
        let mut stored = Nodes::default();
        for node in nodes {
            stored.push(node);
        }
        for (index, node) in nodes.into_iter().enumerate() {
            let read = stored.get(index).unwrap();
            assert!(same(read, node), "{index}: {read:?} != {node:?}");
        }
        assert_eq!(stored.wide.len(), 4);
        // Written again, a wide node keeps its slot.
        stored.set(6, Node::alias(Span::new(1, 2), NodeId(3)));
        stored.set(1, Node::scalar(Span::new(1, 2), style, Value::Source));
        assert_eq!(stored.wide.len(), 4);
        assert_eq!(
            stored.get(6).unwrap().kind(),
            Node::alias(Span::new(1, 2), NodeId(3)).kind()
        );
        assert!(same(
            stored.get(1).unwrap(),
            Node::scalar(Span::new(1, 2), style, Value::Source)
        ));
        // An alias packed in 8 bytes keeps its start and target, not its
        // length (its anchor's).
        let target = NodeId((1 << 29) - 1);
        stored.push_alias(Node::alias(Span::new(40, 43), target));
        let alias = stored.get(7).unwrap();
        assert_eq!(alias.span, Span::empty(40));
        assert_eq!(alias.kind(), NodeKind::Alias { target });
        assert_eq!(stored.wide.len(), 4);
    }
}
