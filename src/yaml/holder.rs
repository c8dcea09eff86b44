//! The collection that holds a node, found by descending from its root.
//!
//! Only the rewrite asks which collection holds a node (to name a key, to
//! edit a sequence), a few times per edit. A table of every node's parent
//! cost 8 bytes a node, for the life of the tree; descending from the root
//! costs a walk over the siblings on the way down, and a collection with
//! many children (the root mapping's jobs, a long list) is indexed once, so
//! that each step down stays short whatever the file.

use hashbrown::HashMap;
use std::sync::Mutex;

use super::{NodeId, Tree};

/// Children looked at one by one before a collection is indexed.
const SCAN: usize = 16;

/// The children of each wide collection that a descent went through,
/// built when first needed.
#[derive(Default)]
pub(super) struct ChildIndex(Mutex<HashMap<NodeId, Vec<NodeId>>>);

impl Clone for ChildIndex {
    /// A copy starts empty: the index is a cache.
    fn clone(&self) -> Self {
        ChildIndex::default()
    }
}

impl std::fmt::Debug for ChildIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChildIndex")
    }
}

impl Tree {
    /// The mapping and key whose value is `value`, if any.
    pub fn owner(&self, value: NodeId) -> Option<(NodeId, NodeId)> {
        let (mapping, step) = self.holder(value)?;
        if !self.is_mapping(mapping) || step.position % 2 == 0 {
            return None;
        }
        Some((mapping, step.previous?))
    }

    /// The sequence that holds `node` as an item, and its index.
    pub fn item_of(&self, node: NodeId) -> Option<(NodeId, usize)> {
        let (sequence, step) = self.holder(node)?;
        self.is_sequence(sequence)
            .then_some((sequence, step.position))
    }

    /// The collection that holds `id` directly, and where `id` sits in it;
    /// `None` for a document's root.
    fn holder(&self, id: NodeId) -> Option<(NodeId, Step)> {
        let mut collection = self.document_root_of(id)?;
        loop {
            let step = self.child_holding(collection, id)?;
            if step.child == id {
                return Some((collection, step));
            }
            collection = step.child;
        }
    }

    /// The root of the document whose nodes include `id`: the content root
    /// first, then the stream's documents in order (a `spec:` header).
    fn document_root_of(&self, id: NodeId) -> Option<NodeId> {
        let holds = |root: NodeId| root <= id && id < self.after(root);
        if let Some(root) = self.root.filter(|&root| holds(root)) {
            return Some(root);
        }
        let mut root = NodeId(0);
        while root < self.end_id() {
            if holds(root) {
                return Some(root);
            }
            root = self.after(root);
        }
        None
    }

    /// The child of `collection` that is or holds `id`.
    fn child_holding(&self, collection: NodeId, id: NodeId) -> Option<Step> {
        let mut previous = None;
        for (position, child) in self.children(collection).enumerate().take(SCAN) {
            if id < self.after(child) {
                return (child <= id).then_some(Step {
                    child,
                    position,
                    previous,
                });
            }
            previous = Some(child);
        }
        if Some(collection) == self.root && self.is_mapping(collection) {
            return self.entry_holding(id);
        }
        let mut index = self
            .child_index
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let children = index
            .entry(collection)
            .or_insert_with(|| self.children(collection).collect());
        // Children are in id order: the last one at or before `id`.
        let position = children
            .partition_point(|&child| child <= id)
            .checked_sub(1)?;
        let child = children[position];
        (id < self.after(child)).then(|| Step {
            child,
            position,
            previous: position.checked_sub(1).map(|before| children[before]),
        })
    }
}

impl Tree {
    /// The key or value of the root's entries that is or holds `id`, found
    /// among the root's keys (which the tree keeps) rather than in an
    /// index of its children: a pipeline's root has hundreds of thousands.
    fn entry_holding(&self, id: NodeId) -> Option<Step> {
        let keys = self.entry_keys();
        let entry = keys.partition_point(|&key| key <= id).checked_sub(1)?;
        let key = keys[entry];
        let value = self.after(key);
        let step = if id < value {
            Step {
                child: key,
                position: 2 * entry,
                previous: entry.checked_sub(1).map(|before| self.after(keys[before])),
            }
        } else {
            Step {
                child: value,
                position: 2 * entry + 1,
                previous: Some(key),
            }
        };
        (id < self.after(step.child)).then_some(step)
    }
}

/// One step of a descent: the child taken, its position among the
/// collection's children (keys and values alternate in a mapping), and the
/// child before it (in a mapping, a value's key).
struct Step {
    child: NodeId,
    position: usize,
    previous: Option<NodeId>,
}
