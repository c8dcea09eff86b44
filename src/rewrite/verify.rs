//! Proves a rewrite changed only what it meant to.
//!
//! The original and the rewritten text are parsed by two independent
//! parsers: serde_yaml (libyaml, the parser family GitLab itself uses) and
//! yaml-rust2's loader. The intended changes are applied to the parsed
//! original, at every path where the edited node appears (anchors make one
//! node appear in several places), and the result must equal the parsed
//! rewrite exactly. Anything else means an edit leaked, and the rewrite is
//! refused.

use std::collections::{HashMap, HashSet};

use serde_yaml::Value as SerdeValue;
use yaml_rust2::Yaml;

use crate::gitlab::yaml::{NodeId, NodeKind, Tree};

/// A value the rewrite puts into the document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expected {
    Str(String),
    Seq(Vec<Expected>),
    Map(Vec<(String, Expected)>),
}

/// One intended change, addressed by nodes of the original tree.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// The node's value becomes `value`.
    Set { node: NodeId, value: Expected },
    /// The mapping gains (or replaces) `key`.
    Insert {
        mapping: NodeId,
        key: String,
        value: Expected,
    },
    /// The mapping loses `key`.
    Remove { mapping: NodeId, key: String },
    /// The sequence gains an item before `index`.
    InsertItem {
        sequence: NodeId,
        index: usize,
        value: Expected,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Places one edited node may appear in (through aliases) before
/// verification gives up.
const MAX_PLACES: usize = 1_000;

/// Visits allowed when listing the paths of edited nodes (alias bombs).
const MAX_VISITS: usize = 1_000_000;

/// Checks that `rewritten` is `original` with exactly `changes` applied.
pub fn verify(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    changes: &[Change],
) -> Result<(), String> {
    let paths = node_paths(original, tree, changes)?;
    let content = tree.document();
    verify_with_serde(original, rewritten, changes, &paths, content)?;
    verify_with_yaml_rust2(original, rewritten, changes, &paths, content)
}

fn node_paths(
    text: &str,
    tree: &Tree,
    changes: &[Change],
) -> Result<HashMap<NodeId, Vec<Vec<Segment>>>, String> {
    let targets: HashSet<NodeId> = changes
        .iter()
        .map(|change| match change {
            Change::Set { node, .. } => *node,
            Change::Insert { mapping, .. } | Change::Remove { mapping, .. } => *mapping,
            Change::InsertItem { sequence, .. } => *sequence,
        })
        .collect();
    let mut found: HashMap<NodeId, Vec<Vec<Segment>>> = HashMap::new();
    let Some(root) = tree.root() else {
        return Ok(found);
    };
    // Steps point at their parent step, so a path is only built when a
    // target is reached: copying it at every node would cost depth × size.
    let mut steps: Vec<(Option<usize>, Option<Segment>)> = vec![(None, None)];
    let mut stack = vec![(root, 0usize)];
    while let Some((node, step)) = stack.pop() {
        if steps.len() > MAX_VISITS {
            return Err("too many aliases to verify the rewrite".into());
        }
        let node = tree.deref(node);
        if targets.contains(&node) {
            let places = found.entry(node).or_default();
            // A recursive alias puts a node at ever deeper paths.
            if places.len() >= MAX_PLACES {
                return Err(
                    "an edited node appears in too many places to verify the rewrite".into(),
                );
            }
            places.push(path_of(&steps, step));
        }
        let children: Vec<(NodeId, Segment)> = match tree.node(node).kind {
            NodeKind::Mapping { .. } => tree
                .pairs(node)
                .filter_map(|(key, value)| {
                    tree.scalar(text, tree.deref(key))
                        .map(|key| (value, Segment::Key(key.to_string())))
                })
                .collect(),
            NodeKind::Sequence { .. } => tree
                .items(node)
                .iter()
                .enumerate()
                .map(|(index, &item)| (item, Segment::Index(index)))
                .collect(),
            _ => Vec::new(),
        };
        for (child, segment) in children {
            steps.push((Some(step), Some(segment)));
            stack.push((child, steps.len() - 1));
        }
    }
    for target in &targets {
        if !found.contains_key(target) {
            return Err("an edited node is not reachable from the document root".into());
        }
    }
    Ok(found)
}

/// The segments from the root to `step`.
fn path_of(steps: &[(Option<usize>, Option<Segment>)], mut step: usize) -> Vec<Segment> {
    let mut path = Vec::new();
    while let (Some(parent), Some(segment)) = &steps[step] {
        path.push(segment.clone());
        step = *parent;
    }
    path.reverse();
    path
}

/// Item insertions last and from the back, so indices stay those of the original.
fn ordered(changes: &[Change]) -> Vec<&Change> {
    let mut ordered: Vec<&Change> = changes
        .iter()
        .filter(|c| !matches!(c, Change::InsertItem { .. }))
        .collect();
    let mut items: Vec<&Change> = changes
        .iter()
        .filter(|c| matches!(c, Change::InsertItem { .. }))
        .collect();
    items.sort_by_key(|c| match c {
        Change::InsertItem { index, .. } => std::cmp::Reverse(*index),
        _ => std::cmp::Reverse(0),
    });
    ordered.extend(items);
    // Jobs that share a definition ask for the same change: apply it once.
    let mut seen = HashSet::new();
    ordered.retain(|change| seen.insert(*change));
    ordered
}

/// A parser's document model, as far as verification needs it.
trait Doc: Sized + Clone + PartialEq + std::fmt::Debug {
    fn from_expected(value: &Expected) -> Self;
    fn child_mut(&mut self, segment: &Segment) -> Option<&mut Self>;
    fn insert_key(&mut self, key: &str, value: Self) -> bool;
    fn remove_key(&mut self, key: &str) -> bool;
    fn insert_item(&mut self, index: usize, value: Self) -> bool;
    /// Children with a printable path segment; `None` for a scalar.
    fn children(&self) -> Option<Vec<(String, &Self)>>;
}

/// The first path where two documents differ, for the refusal message.
fn difference<D: Doc>(expected: &D, actual: &D, path: &str) -> String {
    match (expected.children(), actual.children()) {
        (Some(a), Some(b)) if a.len() == b.len() => a
            .iter()
            .zip(&b)
            .find(|((ka, va), (kb, vb))| ka != kb || va != vb)
            .map(|((ka, va), (kb, vb))| {
                if ka == kb {
                    difference(*va, *vb, &format!("{path}.{ka}"))
                } else {
                    format!("{path} (key {ka} vs {kb})")
                }
            })
            .unwrap_or_else(|| path.to_string()),
        _ => format!("{path}: expected {expected:?}, found {actual:?}"),
    }
}

fn apply_changes<D: Doc>(
    doc: &mut D,
    changes: &[Change],
    paths: &HashMap<NodeId, Vec<Vec<Segment>>>,
) -> Result<(), String> {
    for change in ordered(changes) {
        let (node, result): (NodeId, &dyn Fn(&mut D) -> bool) = match change {
            Change::Set { node, value } => (*node, &|d: &mut D| {
                *d = D::from_expected(value);
                true
            }),
            Change::Insert {
                mapping,
                key,
                value,
            } => (*mapping, &|d: &mut D| {
                d.insert_key(key, D::from_expected(value))
            }),
            Change::Remove { mapping, key } => (*mapping, &|d: &mut D| d.remove_key(key)),
            Change::InsertItem {
                sequence,
                index,
                value,
            } => (*sequence, &|d: &mut D| {
                d.insert_item(*index, D::from_expected(value))
            }),
        };
        for path in &paths[&node] {
            let target = path
                .iter()
                .try_fold(&mut *doc, |d, segment| d.child_mut(segment));
            let applied = target.is_some_and(result);
            if !applied {
                return Err("an intended change does not fit the parsed document".into());
            }
        }
    }
    Ok(())
}

fn compare<D: Doc>(
    parser: &str,
    mut expected: Vec<D>,
    actual: Vec<D>,
    content: usize,
    changes: &[Change],
    paths: &HashMap<NodeId, Vec<Vec<Segment>>>,
) -> Result<(), String> {
    let doc = expected
        .get_mut(content)
        .ok_or_else(|| format!("{parser}: the document is missing"))?;
    apply_changes(doc, changes, paths)?;
    if expected == actual {
        return Ok(());
    }
    let at = match (expected.get(content), actual.get(content)) {
        (Some(e), Some(a)) => difference(e, a, ""),
        _ => "the number of documents".to_string(),
    };
    Err(format!(
        "{parser} reads the rewritten file differently from what the edits intended, at {at}"
    ))
}

fn verify_with_serde(
    original: &str,
    rewritten: &str,
    changes: &[Change],
    paths: &HashMap<NodeId, Vec<Vec<Segment>>>,
    content: usize,
) -> Result<(), String> {
    let parse = |text: &str, what: &str| -> Result<Vec<SerdeValue>, String> {
        serde_yaml::Deserializer::from_str(text)
            .map(|doc| {
                serde::Deserialize::deserialize(doc)
                    .map_err(|e| format!("serde_yaml cannot read the {what} file: {e}"))
            })
            .collect()
    };
    compare(
        "serde_yaml",
        parse(original, "original")?,
        parse(rewritten, "rewritten")?,
        content,
        changes,
        paths,
    )
}

fn verify_with_yaml_rust2(
    original: &str,
    rewritten: &str,
    changes: &[Change],
    paths: &HashMap<NodeId, Vec<Vec<Segment>>>,
    content: usize,
) -> Result<(), String> {
    // yaml-rust2 would read a byte order mark as content.
    let parse = |text: &str, what: &str| {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        yaml_rust2::YamlLoader::load_from_str(text)
            .map_err(|e| format!("yaml-rust2 cannot read the {what} file: {e}"))
    };
    let sorted = |docs: Vec<Yaml>| docs.into_iter().map(sort_keys).collect::<Vec<_>>();
    let (mut expected, actual) = (parse(original, "original")?, parse(rewritten, "rewritten")?);
    // Apply the changes before sorting, then compare with keys in one order:
    // a new key may be written anywhere in its mapping.
    if let Some(doc) = expected.get_mut(content) {
        apply_changes(doc, changes, paths)?;
    }
    compare(
        "yaml-rust2",
        sorted(expected),
        sorted(actual),
        content,
        &[],
        paths,
    )
}

fn serde_key_is(key: &SerdeValue, wanted: &str) -> bool {
    match key {
        SerdeValue::String(s) => s == wanted,
        SerdeValue::Number(n) => n.to_string() == wanted,
        SerdeValue::Bool(b) => b.to_string() == wanted,
        _ => false,
    }
}

impl Doc for SerdeValue {
    fn from_expected(value: &Expected) -> Self {
        match value {
            Expected::Str(s) => SerdeValue::String(s.clone()),
            Expected::Seq(items) => {
                SerdeValue::Sequence(items.iter().map(Self::from_expected).collect())
            }
            Expected::Map(entries) => SerdeValue::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (SerdeValue::String(k.clone()), Self::from_expected(v)))
                    .collect(),
            ),
        }
    }

    fn child_mut(&mut self, segment: &Segment) -> Option<&mut Self> {
        let value = match self {
            SerdeValue::Tagged(tagged) => &mut tagged.value,
            other => other,
        };
        match (value, segment) {
            // A hashed lookup first: scanning the top-level mapping for every
            // change made verifying large files quadratic.
            (SerdeValue::Mapping(map), Segment::Key(key)) => {
                if map.contains_key(key.as_str()) {
                    return map.get_mut(key.as_str());
                }
                map.iter_mut()
                    .find(|(k, _)| serde_key_is(k, key))
                    .map(|(_, v)| v)
            }
            (SerdeValue::Sequence(items), Segment::Index(index)) => items.get_mut(*index),
            _ => None,
        }
    }

    fn insert_key(&mut self, key: &str, value: Self) -> bool {
        let SerdeValue::Mapping(map) = self else {
            return false;
        };
        map.insert(SerdeValue::String(key.to_string()), value);
        true
    }

    fn remove_key(&mut self, key: &str) -> bool {
        let SerdeValue::Mapping(map) = self else {
            return false;
        };
        map.remove(key).is_some()
    }

    fn insert_item(&mut self, index: usize, value: Self) -> bool {
        let SerdeValue::Sequence(items) = self else {
            return false;
        };
        if index > items.len() {
            return false;
        }
        items.insert(index, value);
        true
    }

    fn children(&self) -> Option<Vec<(String, &Self)>> {
        match self {
            SerdeValue::Mapping(map) => {
                Some(map.iter().map(|(k, v)| (format!("{k:?}"), v)).collect())
            }
            SerdeValue::Sequence(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
            ),
            SerdeValue::Tagged(tagged) => tagged.value.children(),
            _ => None,
        }
    }
}

/// Yaml's hashes compare in insertion order; this puts keys in one order.
fn sort_keys(value: Yaml) -> Yaml {
    match value {
        Yaml::Hash(map) => {
            let mut entries: Vec<(Yaml, Yaml)> =
                map.into_iter().map(|(k, v)| (k, sort_keys(v))).collect();
            entries.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
            Yaml::Hash(entries.into_iter().collect())
        }
        Yaml::Array(items) => Yaml::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn yaml_key_is(key: &Yaml, wanted: &str) -> bool {
    match key {
        Yaml::String(s) | Yaml::Real(s) => s == wanted,
        Yaml::Integer(i) => i.to_string() == wanted,
        Yaml::Boolean(b) => b.to_string() == wanted,
        _ => false,
    }
}

impl Doc for Yaml {
    fn from_expected(value: &Expected) -> Self {
        match value {
            Expected::Str(s) => Yaml::String(s.clone()),
            Expected::Seq(items) => Yaml::Array(items.iter().map(Self::from_expected).collect()),
            Expected::Map(entries) => Yaml::Hash(
                entries
                    .iter()
                    .map(|(k, v)| (Yaml::String(k.clone()), Self::from_expected(v)))
                    .collect(),
            ),
        }
    }

    fn child_mut(&mut self, segment: &Segment) -> Option<&mut Self> {
        match (self, segment) {
            // A hashed lookup first, as for serde_yaml above.
            (Yaml::Hash(map), Segment::Key(key)) => {
                let wanted = Yaml::String(key.clone());
                if map.contains_key(&wanted) {
                    return map.get_mut(&wanted);
                }
                map.iter_mut()
                    .find(|(k, _)| yaml_key_is(k, key))
                    .map(|(_, v)| v)
            }
            (Yaml::Array(items), Segment::Index(index)) => items.get_mut(*index),
            _ => None,
        }
    }

    fn insert_key(&mut self, key: &str, value: Self) -> bool {
        let Yaml::Hash(map) = self else { return false };
        map.insert(Yaml::String(key.to_string()), value);
        true
    }

    fn remove_key(&mut self, key: &str) -> bool {
        let Yaml::Hash(map) = self else { return false };
        map.remove(&Yaml::String(key.to_string())).is_some()
    }

    fn insert_item(&mut self, index: usize, value: Self) -> bool {
        let Yaml::Array(items) = self else {
            return false;
        };
        if index > items.len() {
            return false;
        }
        items.insert(index, value);
        true
    }

    fn children(&self) -> Option<Vec<(String, &Self)>> {
        match self {
            Yaml::Hash(map) => Some(map.iter().map(|(k, v)| (format!("{k:?}"), v)).collect()),
            Yaml::Array(items) => Some(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar_at(tree: &Tree, text: &str, wanted: &str) -> NodeId {
        tree.node_ids()
            .find(|&id| tree.scalar(text, id) == Some(wanted))
            .unwrap()
    }

    #[test]
    fn an_intended_change_verifies() {
        let original = "a: &x old\nb: *x\nc: 1 # note\n";
        let rewritten = "a: &x new\nb: *x\nc: 1 # note\n";
        let tree = Tree::parse(original).unwrap();
        let node = scalar_at(&tree, original, "old");
        let changes = [Change::Set {
            node,
            value: Expected::Str("new".into()),
        }];
        verify(original, &tree, rewritten, &changes).unwrap();
    }

    #[test]
    fn a_change_outside_the_edits_is_refused() {
        let original = "a: old\nc: 1\n";
        let rewritten = "a: new\nc: 2\n";
        let tree = Tree::parse(original).unwrap();
        let node = scalar_at(&tree, original, "old");
        let changes = [Change::Set {
            node,
            value: Expected::Str("new".into()),
        }];
        assert!(verify(original, &tree, rewritten, &changes).is_err());
    }

    #[test]
    fn broken_yaml_is_refused() {
        let original = "a: old\n";
        let tree = Tree::parse(original).unwrap();
        let node = scalar_at(&tree, original, "old");
        let changes = [Change::Set {
            node,
            value: Expected::Str("new: [".into()),
        }];
        assert!(verify(original, &tree, "a: new: [\n", &changes).is_err());
    }

    #[test]
    fn insertions_and_removals() {
        let original =
            "job:\n  variables:\n    DOCKER_CONFIG: /kaniko/.docker\n    A: b\n  script: [x]\n";
        let rewritten = "job:\n  variables:\n    A: b\n    BUILDKITD_FLAGS: --oci-worker-no-process-sandbox\n  script: [y, x]\n";
        let tree = Tree::parse(original).unwrap();
        let variables = tree
            .node_ids()
            .find(|&id| {
                tree.is_mapping(id)
                    && tree
                        .pairs(id)
                        .any(|(k, _)| tree.scalar(original, k) == Some("A"))
            })
            .unwrap();
        let sequence = tree.node_ids().find(|&id| tree.is_sequence(id)).unwrap();
        let changes = [
            Change::Remove {
                mapping: variables,
                key: "DOCKER_CONFIG".into(),
            },
            Change::Insert {
                mapping: variables,
                key: "BUILDKITD_FLAGS".into(),
                value: Expected::Str("--oci-worker-no-process-sandbox".into()),
            },
            Change::InsertItem {
                sequence,
                index: 0,
                value: Expected::Str("y".into()),
            },
        ];
        verify(original, &tree, rewritten, &changes).unwrap();
    }
}
