//! Resolved configuration values that remember where each piece is defined.
//!
//! A [`Value`] is what a key means after aliases, `<<` merge keys and (later)
//! `extends` and `!reference` are applied, but every leaf still names its
//! source node ([`At`]), so a finding or an edit lands where the text is.

use super::{FileId, Pipeline};
use crate::yaml::{NodeId, NodeKind, Tree};

/// A node in one file of a pipeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct At {
    pub file: FileId,
    pub node: NodeId,
}

#[derive(Clone, Debug)]
pub enum Value {
    /// A scalar, including null.
    Scalar(At),
    Sequence(At, Vec<Value>),
    Mapping(At, Vec<(String, Value)>),
    /// `!reference [job, key, ...]`, resolved by the job resolver.
    Reference(At, Vec<String>),
    /// Conversion stopped: too deep, or too many nodes (an alias bomb).
    TooComplex(At),
}

impl Value {
    pub fn at(&self) -> At {
        match self {
            Value::Scalar(at)
            | Value::Sequence(at, _)
            | Value::Mapping(at, _)
            | Value::Reference(at, _)
            | Value::TooComplex(at) => *at,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Mapping(_, entries) => {
                entries.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
            }
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Value)] {
        match self {
            Value::Mapping(_, entries) => entries,
            _ => &[],
        }
    }

    /// GitLab's `extends` merge: mappings merge key by key, recursively;
    /// anything else in `over` replaces what `base` had.
    pub fn merge(base: Value, over: Value) -> Value {
        match (base, over) {
            (Value::Mapping(_, mut entries), Value::Mapping(at, over_entries)) => {
                for (key, value) in over_entries {
                    match entries.iter().position(|(k, _)| *k == key) {
                        Some(index) => {
                            let old =
                                std::mem::replace(&mut entries[index].1, Value::TooComplex(at));
                            entries[index].1 = Value::merge(old, value);
                        }
                        None => entries.push((key, value)),
                    }
                }
                Value::Mapping(at, entries)
            }
            (_, over) => over,
        }
    }
}

/// Limits that keep conversion bounded on hostile input (alias bombs).
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

/// Converts YAML nodes into [`Value`]s for one pipeline.
pub struct Converter<'p> {
    pipeline: &'p Pipeline,
    budget: usize,
}

impl<'p> Converter<'p> {
    pub fn new(pipeline: &'p Pipeline) -> Self {
        Converter {
            pipeline,
            budget: MAX_NODES,
        }
    }

    fn tree(&self, file: FileId) -> (&'p Tree, &'p str) {
        let source = &self.pipeline.files[file];
        (&source.tree, &source.text)
    }

    /// The value of a node; `keep` filters mapping keys at the top level only
    /// (jobs need a handful of keys, not their whole body).
    /// Each call may visit at most `MAX_NODES` nodes.
    pub fn convert(&mut self, at: At, keep: Option<&dyn Fn(&str) -> bool>) -> Value {
        self.budget = MAX_NODES;
        self.convert_at(at, keep, 0)
    }

    fn convert_at(&mut self, at: At, keep: Option<&dyn Fn(&str) -> bool>, depth: usize) -> Value {
        let (tree, text) = self.tree(at.file);
        let node = tree.deref(at.node);
        let at = At {
            file: at.file,
            node,
        };
        if depth > MAX_DEPTH || self.budget == 0 {
            return Value::TooComplex(at);
        }
        self.budget -= 1;
        match &tree.node(node).kind() {
            NodeKind::Sequence { .. } if tree.tag_is(text, node, "!reference") => {
                let path = tree
                    .items(node)
                    .filter_map(|i| tree.scalar(text, tree.deref(i)))
                    .map(std::borrow::Cow::into_owned)
                    .collect();
                Value::Reference(at, path)
            }
            NodeKind::Sequence { .. } => {
                let items = tree
                    .items(node)
                    .map(|item| {
                        self.convert_at(
                            At {
                                file: at.file,
                                node: item,
                            },
                            None,
                            depth + 1,
                        )
                    })
                    .collect();
                Value::Sequence(at, items)
            }
            NodeKind::Mapping { .. } => Value::Mapping(at, self.mapping_entries(at, keep, depth)),
            NodeKind::Scalar { .. } | NodeKind::Alias { .. } => Value::Scalar(at),
        }
    }

    /// Entries of a mapping with `<<` merge keys applied: keys written in the
    /// mapping win over merged ones, and of `<<: [*a, *b]` the first wins.
    fn mapping_entries(
        &mut self,
        at: At,
        keep: Option<&dyn Fn(&str) -> bool>,
        depth: usize,
    ) -> Vec<(String, Value)> {
        // A mapping can merge itself (`&a {<<: *a}`): `<<` recursion counts
        // against the same limits as nesting.
        if depth > MAX_DEPTH || self.budget == 0 {
            return Vec::new();
        }
        self.budget -= 1;
        let (tree, text) = self.tree(at.file);
        let mut own: Vec<(String, Value)> = Vec::new();
        let mut merged: Vec<(String, Value)> = Vec::new();
        for (key, value) in tree.pairs(at.node) {
            // An alias key may name any scalar, one decoded when asked too.
            let Some(name) = tree.scalar(text, tree.deref(key)) else {
                continue;
            };
            let name: &str = &name;
            if name == "<<" {
                for source in merge_sources(tree, value) {
                    let source_at = At {
                        file: at.file,
                        node: source,
                    };
                    for (k, v) in self.mapping_entries(source_at, keep, depth + 1) {
                        if !merged.iter().any(|(m, _)| *m == k) {
                            merged.push((k, v));
                        }
                    }
                }
                continue;
            }
            if keep.is_some_and(|keep| !keep(name)) {
                continue;
            }
            let value = self.convert_at(
                At {
                    file: at.file,
                    node: value,
                },
                None,
                depth + 1,
            );
            own.retain(|(k, _)| k != name);
            own.push((name.to_string(), value));
        }
        merged.retain(|(k, _)| !own.iter().any(|(o, _)| o == k));
        merged.extend(own);
        merged
    }
}

/// The mappings named by a `<<` value: one alias, or a list of them.
fn merge_sources(tree: &Tree, value: NodeId) -> Vec<NodeId> {
    let value = tree.deref(value);
    if tree.is_sequence(value) {
        tree.items(value)
            .map(|item| tree.deref(item))
            .filter(|&n| tree.is_mapping(n))
            .collect()
    } else if tree.is_mapping(value) {
        vec![value]
    } else {
        Vec::new()
    }
}
