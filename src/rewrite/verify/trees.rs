//! The yaml-rust2 reading: the original's [`Tree`] with the changes applied
//! must equal the rewritten text's [`Tree`], node by node.
//!
//! The two trees are walked in step from their roots. An alias is followed
//! to its anchored node, and each pair of nodes is compared once: a template
//! merged into hundreds of jobs costs one comparison, not one per job. A node
//! with intended changes is compared with what the changes make of it, once.

use hashbrown::{HashMap, HashSet};
use std::borrow::Cow;

use yaml_rust2::Yaml;

use super::{Change, Edits, Expected, path_of};
use crate::rewrite::window::{Window, window_of};
use crate::yaml::{NodeId, NodeKind, ScalarStyle, Tree};

/// One side of the comparison: a tree and its text.
#[derive(Clone, Copy)]
struct Side<'a> {
    tree: &'a Tree,
    text: &'a str,
}

impl<'a> Side<'a> {
    fn scalar(&self, node: NodeId) -> Option<Cow<'a, str>> {
        self.tree.scalar(self.text, node)
    }

    fn is_plain(&self, node: NodeId) -> bool {
        matches!(
            self.tree.node(node).kind(),
            NodeKind::Scalar {
                style: ScalarStyle::Plain,
                ..
            }
        )
    }

    /// The node's anchor name as written (`&name`).
    fn anchor(&self, node: NodeId) -> Option<&'a str> {
        self.tree.anchor(node).map(|span| span.slice(self.text))
    }

    fn tag(&self, node: NodeId) -> Option<&'a str> {
        self.tree.tag(node).map(|span| span.slice(self.text))
    }

    /// A mapping key as a lookup key: a scalar by its value, any other node
    /// by its text (unchanged keys keep their text).
    fn key(&self, key: NodeId) -> Cow<'a, str> {
        let key = self.tree.deref(key);
        match self.scalar(key) {
            Some(value) => value,
            None => Cow::Owned(format!("\0{}", self.tree.node(key).span.slice(self.text))),
        }
    }

    /// The mapping's entries as GitLab reads them: a repeated key's last
    /// value wins.
    fn entries(&self, mapping: NodeId) -> HashMap<String, NodeId> {
        self.tree
            .pairs(mapping)
            .map(|(key, value)| (self.key(key).into_owned(), value))
            .collect()
    }
}

/// What a child of the expected document is: an original node, or a value
/// an intended change put there.
enum Child<'c> {
    Old(NodeId),
    New(&'c Expected),
}

struct Walk<'a, 'c> {
    old: Side<'a>,
    new: Side<'a>,
    edits: &'a Edits<'c>,
    /// Anchored nodes already compared, with their rewritten counterparts.
    compared: HashSet<(NodeId, NodeId)>,
    stack: Vec<(NodeId, NodeId)>,
    reached: HashSet<NodeId>,
}

pub(super) fn verify(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    new_tree: &Tree,
    edits: &Edits,
    windows: Option<&[Window]>,
) -> Result<(), String> {
    if tree.document() != new_tree.document() {
        return Err(
            "the rewrite changes which document of the file holds the configuration".into(),
        );
    }
    let walk = || Walk {
        old: Side {
            tree,
            text: original,
        },
        new: Side {
            tree: new_tree,
            text: rewritten,
        },
        edits,
        compared: HashSet::new(),
        stack: Vec::new(),
        reached: HashSet::new(),
    };
    if let Some(windows) = windows {
        let mut walk = walk();
        if walk.windows(windows)? {
            return Ok(());
        }
    }
    let mut walk = walk();
    match (tree.root(), new_tree.root()) {
        (Some(old), Some(new)) => walk.stack.push((old, new)),
        (None, None) => {}
        _ => return Err("yaml-rust2 reads the rewritten file as a different document".into()),
    }
    walk.run()?;
    if edits.nodes().any(|node| !walk.reached.contains(&node)) {
        return Err("an edited node is not reachable from the document root".into());
    }
    Ok(())
}

impl Walk<'_, '_> {
    /// Compares the queued pairs and everything below them.
    fn run(&mut self) -> Result<(), String> {
        let (tree, new_tree) = (self.old.tree, self.new.tree);
        while let Some((old, new)) = self.stack.pop() {
            if self.old.anchor(old) != self.new.anchor(new) {
                return Err(self.refusal(old, "an anchor changed".into()));
            }
            let (old, new) = (tree.deref(old), new_tree.deref(new));
            // Only an anchored node can be reached twice: through its aliases.
            if tree.anchor(old).is_some() && !self.compared.insert((old, new)) {
                continue;
            }
            self.pair(old, new)
                .map_err(|what| self.refusal(old, what))?;
        }
        Ok(())
    }

    fn refusal(&self, old: NodeId, what: String) -> String {
        format!(
            "yaml-rust2 reads the rewritten file differently from what the edits intended, at {}: {what}",
            path_of(self.old.tree, self.old.text, old)
        )
    }

    /// Compares the windows' entries only: outside them the rewritten tree
    /// is the original's, copied. An alias outside names the anchored node
    /// of the same name, so every anchored node in a window must be paired
    /// with one of the same name, and the windows must hold as many: when an
    /// anchored node lies inside a replaced value, the whole tree is walked
    /// instead (`Ok(false)`).
    fn windows(&mut self, windows: &[Window]) -> Result<bool, String> {
        let (old_tree, new_tree) = (self.old.tree, self.new.tree);
        if old_tree.root().is_none() || new_tree.root().is_none() {
            return Ok(false);
        }
        // The root's entries by index, from the keys each tree keeps (a
        // list of the pairs took 8 bytes an entry on each side).
        let (old_keys, new_keys) = (old_tree.entry_keys(), new_tree.entry_keys());
        if old_keys.len() != new_keys.len() {
            return Ok(false);
        }
        let (mut old_anchors, mut new_anchors) = (Vec::new(), 0);
        for window in windows {
            for entry in window.entries.clone() {
                let (old_key, new_key) = (old_keys[entry], new_keys[entry]);
                self.stack
                    .push((old_tree.after(old_key), new_tree.after(new_key)));
                self.stack.push((old_key, new_key));
            }
            let new_end = new_keys
                .get(window.entries.end)
                .map_or(new_tree.end_id(), |&key| key);
            old_anchors.extend(anchored(
                old_tree,
                window.nodes.start.up_to(window.nodes.end),
            ));
            new_anchors +=
                anchored(new_tree, new_keys[window.entries.start].up_to(new_end)).count();
        }
        self.run()?;
        let all_reached = self
            .edits
            .nodes()
            .all(|node| self.reached.contains(&node) || window_of(windows, node).is_none());
        let paired: HashSet<NodeId> = self.compared.iter().map(|(old, _)| *old).collect();
        let anchors_paired = old_anchors.len() == new_anchors
            && old_anchors.iter().all(|node| paired.contains(node));
        Ok(all_reached && anchors_paired)
    }
}

/// The nodes among `nodes` that carry an anchor.
fn anchored(tree: &Tree, nodes: impl Iterator<Item = NodeId>) -> impl Iterator<Item = NodeId> {
    nodes.filter(|&node| tree.anchor(node).is_some())
}

impl<'c> Walk<'_, 'c> {
    /// Compares one original node with the rewritten node at its place,
    /// queueing their children.
    fn pair(&mut self, old: NodeId, new: NodeId) -> Result<(), String> {
        let Some(changes) = self.edits.of(old) else {
            return self.unchanged(old, new);
        };
        self.reached.insert(old);
        if let [Change::Set { value, .. }] = changes {
            return self.expected(value, new);
        }
        if self.old.tag(old) != self.new.tag(new) {
            return Err("a tag changed".into());
        }
        let mut children: Vec<(String, Child<'c>)> = match self.old.tree.node(old).kind() {
            NodeKind::Mapping { .. } => self
                .old
                .entries(old)
                .into_iter()
                .map(|(key, value)| (key, Child::Old(value)))
                .collect(),
            NodeKind::Sequence { .. } => self
                .old
                .tree
                .items(old)
                .map(|item| (String::new(), Child::Old(item)))
                .collect(),
            _ => Vec::new(),
        };
        for change in changes {
            apply(self.old.tree, old, &mut children, change)?;
        }
        if self.old.tree.is_mapping(old) {
            self.mapping(children, new)
        } else {
            self.sequence(children, new)
        }
    }

    fn unchanged(&mut self, old: NodeId, new: NodeId) -> Result<(), String> {
        if self.old.tag(old) != self.new.tag(new) {
            return Err("a tag changed".into());
        }
        match (
            &self.old.tree.node(old).kind(),
            &self.new.tree.node(new).kind(),
        ) {
            (NodeKind::Scalar { .. }, NodeKind::Scalar { .. }) => {
                if self.old.scalar(old) == self.new.scalar(new)
                    && self.old.is_plain(old) == self.new.is_plain(new)
                {
                    Ok(())
                } else {
                    Err(format!(
                        "{:?} became {:?}",
                        self.old.scalar(old).unwrap_or_default(),
                        self.new.scalar(new).unwrap_or_default()
                    ))
                }
            }
            (NodeKind::Sequence { .. }, NodeKind::Sequence { .. }) => {
                let (a, b) = (self.old.tree.items(old), self.new.tree.items(new));
                let (len_a, len_b) = (a.clone().count(), b.clone().count());
                if len_a != len_b {
                    return Err(format!("{len_a} items became {len_b}"));
                }
                self.stack.extend(a.zip(b));
                Ok(())
            }
            (NodeKind::Mapping { .. }, NodeKind::Mapping { .. }) => {
                // Unchanged text keeps its keys in order: pair them by
                // position, and by key only when that fails.
                let a: Vec<_> = self.old.tree.pairs(old).collect();
                let b: Vec<_> = self.new.tree.pairs(new).collect();
                let in_order = a.len() == b.len()
                    && a.iter()
                        .zip(&b)
                        .all(|((ka, _), (kb, _))| self.old.key(*ka) == self.new.key(*kb));
                if in_order {
                    self.stack
                        .extend(a.iter().zip(&b).map(|((_, va), (_, vb))| (*va, *vb)));
                    return Ok(());
                }
                let children = self
                    .old
                    .entries(old)
                    .into_iter()
                    .map(|(key, value)| (key, Child::Old(value)))
                    .collect();
                self.mapping(children, new)
            }
            _ => Err("the kind of node changed".into()),
        }
    }

    fn mapping(&mut self, expected: Vec<(String, Child<'c>)>, new: NodeId) -> Result<(), String> {
        if !self.new.tree.is_mapping(new) {
            return Err("a mapping became something else".into());
        }
        let mut actual = self.new.entries(new);
        if actual.len() != expected.len() {
            return Err(format!("{} keys became {}", expected.len(), actual.len()));
        }
        for (key, child) in expected {
            let value = actual
                .remove(&key)
                .ok_or_else(|| format!("key {key:?} is missing"))?;
            self.child(child, value)
                .map_err(|e| format!(".{key}: {e}"))?;
        }
        Ok(())
    }

    fn sequence(&mut self, expected: Vec<(String, Child<'c>)>, new: NodeId) -> Result<(), String> {
        if !self.new.tree.is_sequence(new) {
            return Err("a sequence became something else".into());
        }
        let actual = self.new.tree.items(new);
        let len = actual.clone().count();
        if len != expected.len() {
            return Err(format!("{} items became {len}", expected.len()));
        }
        for (index, ((_, child), item)) in expected.into_iter().zip(actual).enumerate() {
            self.child(child, item)
                .map_err(|e| format!("[{index}]: {e}"))?;
        }
        Ok(())
    }

    fn child(&mut self, child: Child<'c>, new: NodeId) -> Result<(), String> {
        match child {
            Child::Old(old) => {
                self.stack.push((old, new));
                Ok(())
            }
            Child::New(value) => self.expected(value, new),
        }
    }

    /// Compares a value a change puts into the document with the rewritten
    /// node: untagged, strings where strings were meant.
    fn expected(&self, value: &Expected, new: NodeId) -> Result<(), String> {
        let new = self.new.tree.deref(new);
        if self.new.tag(new).is_some() {
            return Err("a written value has a tag".into());
        }
        match value {
            Expected::Str(wanted) => {
                let found = self.new.scalar(new).ok_or_else(|| {
                    format!(
                        "expected a string of {} bytes, found a collection",
                        wanted.len()
                    )
                })?;
                let found: &str = &found;
                let string =
                    !self.new.is_plain(new) || matches!(Yaml::from_str(found), Yaml::String(_));
                if wanted.is(found) && string {
                    Ok(())
                } else {
                    Err(format!(
                        "expected another string of {} bytes, found {:?}",
                        wanted.len(),
                        super::brief(found)
                    ))
                }
            }
            Expected::Plain(wanted) => match self.new.scalar(new) {
                Some(found) if *found == **wanted && self.new.is_plain(new) => Ok(()),
                found => Err(format!(
                    "expected the plain scalar {wanted:?}, found {found:?}"
                )),
            },
            Expected::Seq(items) => {
                let actual = self.new.tree.items(new);
                if !self.new.tree.is_sequence(new) || actual.clone().count() != items.len() {
                    return Err(format!("expected a sequence of {} items", items.len()));
                }
                items
                    .iter()
                    .zip(actual)
                    .enumerate()
                    .try_for_each(|(index, (item, node))| {
                        self.expected(item, node)
                            .map_err(|e| format!("[{index}]: {e}"))
                    })
            }
            Expected::Map(entries) => {
                let mut actual = self.new.entries(new);
                if !self.new.tree.is_mapping(new) || actual.len() != entries.len() {
                    return Err(format!("expected a mapping of {} keys", entries.len()));
                }
                entries.iter().try_for_each(|(key, value)| {
                    let node = actual
                        .remove(key)
                        .ok_or_else(|| format!("key {key:?} is missing"))?;
                    self.expected(value, node)
                        .map_err(|e| format!(".{key}: {e}"))
                })
            }
        }
    }
}

/// Applies one change to the children of the original node it edits.
fn apply<'c>(
    tree: &Tree,
    node: NodeId,
    children: &mut Vec<(String, Child<'c>)>,
    change: &'c Change,
) -> Result<(), String> {
    let fits = match change {
        Change::Insert { key, value, .. } if tree.is_mapping(node) => {
            children.retain(|(k, _)| k != key);
            children.push((key.clone(), Child::New(value)));
            true
        }
        Change::Remove { key, .. } if tree.is_mapping(node) => {
            let before = children.len();
            children.retain(|(k, _)| k != key);
            children.len() < before
        }
        Change::InsertItem { index, value, .. }
            if tree.is_sequence(node) && *index <= children.len() =>
        {
            children.insert(*index, (String::new(), Child::New(value)));
            true
        }
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err("an intended change does not fit the parsed document".into())
    }
}
