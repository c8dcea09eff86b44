//! The libyaml reading: serde_yaml's view of the original with the changes
//! applied must equal its view of the rewritten text.
//!
//! serde_yaml expands aliases, so a node under an anchor appears once per
//! alias. The original's reading is walked in step with the [`Tree`] (same
//! source order, entry for entry), only down branches that hold an edited
//! node, and each change is applied wherever the walk meets its node: the
//! work is that of the places an edited node appears, which serde_yaml has
//! already paid for by expanding them (it bounds the expansion itself, at a
//! hundred alias jumps per event of the file).
//!
//! The documents are read into [`Value`] rather than `serde_yaml::Value`:
//! a mapping keeps its repeated keys, which serde_yaml's own mapping refuses,
//! and is compared as GitLab reads it, the last value winning.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::de::{
    Deserialize, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};

use super::{Change, Edits, Expected};
use crate::yaml::{NodeId, NodeKind, Tree};

/// A YAML node as serde_yaml reads it. Floats are kept by their bits, so
/// that `.nan` equals itself and values have a total order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Value {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(u64),
    Str(String),
    Seq(Vec<Value>),
    /// Entries in source order, repeated keys included.
    Map(Vec<(Value, Value)>),
    /// Boxed, so that a value stays four words: a large file holds millions.
    Tagged(Box<(String, Value)>),
}

impl Value {
    fn from_expected(value: &Expected) -> Value {
        match value {
            Expected::Str(s) => Value::Str(s.clone()),
            Expected::Plain(s) => serde_yaml::from_str(s).unwrap_or_else(|_| Value::Str(s.clone())),
            Expected::Seq(items) => Value::Seq(items.iter().map(Value::from_expected).collect()),
            Expected::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, v)| (Value::Str(k.clone()), Value::from_expected(v)))
                    .collect(),
            ),
        }
    }

    fn untagged_mut(&mut self) -> &mut Value {
        match self {
            Value::Tagged(tagged) => tagged.1.untagged_mut(),
            other => other,
        }
    }

    /// Whether this mapping key is the string key a change names.
    fn is_key(&self, wanted: &str) -> bool {
        match self {
            Value::Str(s) => s == wanted,
            Value::Int(i) => i.to_string() == wanted,
            Value::UInt(u) => u.to_string() == wanted,
            Value::Bool(b) => b.to_string() == wanted,
            _ => false,
        }
    }

    /// The value as GitLab reads it: in each mapping the last of repeated
    /// keys wins, and entries are sorted, since key order carries no meaning
    /// (a new key may be written anywhere in its mapping).
    fn canonical(self) -> Value {
        match self {
            Value::Map(entries) => {
                let mut entries: Vec<(Value, Value)> = entries
                    .into_iter()
                    .map(|(k, v)| (k.canonical(), v.canonical()))
                    .collect();
                // Stable: repeated keys stay in source order, the last kept.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                let mut last_wins: Vec<(Value, Value)> = Vec::with_capacity(entries.len());
                for entry in entries {
                    match last_wins.last_mut() {
                        Some(last) if last.0 == entry.0 => *last = entry,
                        _ => last_wins.push(entry),
                    }
                }
                Value::Map(last_wins)
            }
            Value::Seq(items) => Value::Seq(items.into_iter().map(Value::canonical).collect()),
            Value::Tagged(tagged) => {
                let (tag, inner) = *tagged;
                Value::Tagged(Box::new((tag, inner.canonical())))
            }
            other => other,
        }
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E>(self, u: u64) -> Result<Value, E> {
        Ok(Value::UInt(u))
    }

    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f.to_bits()))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        entries.shrink_to_fit();
        Ok(Value::Map(entries))
    }

    /// serde_yaml hands a tagged node (`!reference [...]`) over as an enum.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, variant): (String, _) = data.variant()?;
        let inner = variant.newtype_variant()?;
        Ok(Value::Tagged(Box::new((tag, inner))))
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

fn parse(text: &str, what: &str) -> Result<Vec<Value>, String> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| {
            Value::deserialize(document)
                .map_err(|e| format!("serde_yaml cannot read the {what} file: {e}"))
        })
        .collect()
}

pub(super) fn verify(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    edits: &Edits,
) -> Result<(), String> {
    let mut expected = parse(original, "original")?;
    if let Some(document) = expected.get_mut(tree.document()) {
        apply_all(tree, edits, document)?;
    } else if edits.nodes().next().is_some() {
        return Err("serde_yaml: the document is missing".into());
    }
    // The rewritten file is read into digests, never into a second tree:
    // memory stays that of one reading. A keyed 64-bit hash makes a false
    // match a 2⁻⁶⁴ chance that no input can steer.
    let digest = Digest::new();
    let wanted: Vec<u64> = expected.iter().map(|doc| digest.value(doc)).collect();
    drop(expected);
    let found = serde_yaml::Deserializer::from_str(rewritten)
        .map(|document| {
            serde::de::DeserializeSeed::deserialize(&digest, document)
                .map_err(|e| format!("serde_yaml cannot read the rewritten file: {e}"))
        })
        .collect::<Result<Vec<u64>, String>>()?;
    if wanted == found {
        return Ok(());
    }
    Err(explain(original, tree, rewritten, edits))
}

/// Applies the changes to serde_yaml's reading of the original document.
fn apply_all(tree: &Tree, edits: &Edits, document: &mut Value) -> Result<(), String> {
    let Some(root) = tree.root() else {
        return Ok(());
    };
    let mut walk = Walk {
        tree,
        edits,
        holds: holds_edits(tree, edits),
        reached: HashSet::new(),
    };
    walk.node(root, document)?;
    if edits.nodes().any(|node| !walk.reached.contains(&node)) {
        return Err("an edited node is not reachable from the document root".into());
    }
    Ok(())
}

/// Why the rewritten file does not read as intended: both readings kept,
/// this time, to name the first place they differ.
fn explain(original: &str, tree: &Tree, rewritten: &str, edits: &Edits) -> String {
    let (Ok(mut expected), Ok(actual)) =
        (parse(original, "original"), parse(rewritten, "rewritten"))
    else {
        return "serde_yaml cannot read the file again".into();
    };
    if let Some(document) = expected.get_mut(tree.document()) {
        let _ = apply_all(tree, edits, document);
    }
    if expected.len() != actual.len() {
        return "serde_yaml reads a different number of documents in the rewritten file".into();
    }
    let at = expected
        .into_iter()
        .zip(actual)
        .map(|(e, a)| (e.canonical(), a.canonical()))
        .find(|(e, a)| e != a)
        .map_or_else(
            || "the document".to_string(),
            |(e, a)| difference(&e, &a, ""),
        );
    format!("serde_yaml reads the rewritten file differently from what the edits intended, at {at}")
}

/// Digests of values as GitLab reads them: in a mapping the last of
/// repeated keys wins and key order carries no meaning (a new key may be
/// written anywhere in its mapping).
struct Digest {
    state: std::hash::RandomState,
}

impl Digest {
    fn new() -> Digest {
        Digest {
            state: std::hash::RandomState::new(),
        }
    }

    fn of(&self, value: impl std::hash::Hash) -> u64 {
        std::hash::BuildHasher::hash_one(&self.state, value)
    }

    fn sequence(&self, items: Vec<u64>) -> u64 {
        self.of((6u8, items))
    }

    fn mapping(&self, mut entries: Vec<(u64, u64)>) -> u64 {
        // Stable: repeated keys stay in source order, the last kept.
        entries.sort_by_key(|entry| entry.0);
        let mut last_wins: Vec<(u64, u64)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match last_wins.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => last_wins.push(entry),
            }
        }
        self.of((7u8, last_wins))
    }

    fn value(&self, value: &Value) -> u64 {
        match value {
            Value::Null => self.of(0u8),
            Value::Bool(b) => self.of((1u8, b)),
            Value::Int(i) => self.of((2u8, i)),
            Value::UInt(u) => self.of((3u8, u)),
            Value::Float(bits) => self.of((4u8, bits)),
            Value::Str(s) => self.of((5u8, s.as_str())),
            Value::Seq(items) => self.sequence(items.iter().map(|v| self.value(v)).collect()),
            Value::Map(entries) => self.mapping(
                entries
                    .iter()
                    .map(|(k, v)| (self.value(k), self.value(v)))
                    .collect(),
            ),
            Value::Tagged(tagged) => self.of((8u8, tagged.0.as_str(), self.value(&tagged.1))),
        }
    }
}

/// Reads a value straight into its digest, the same as [`Digest::value`]
/// of its [`Value`].
impl<'de> serde::de::DeserializeSeed<'de> for &Digest {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &Digest {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<u64, E> {
        Ok(self.of(0u8))
    }

    fn visit_none<E>(self) -> Result<u64, E> {
        Ok(self.of(0u8))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, b: bool) -> Result<u64, E> {
        Ok(self.of((1u8, &b)))
    }

    fn visit_i64<E>(self, i: i64) -> Result<u64, E> {
        Ok(self.of((2u8, &i)))
    }

    fn visit_u64<E>(self, u: u64) -> Result<u64, E> {
        Ok(self.of((3u8, &u)))
    }

    fn visit_f64<E>(self, f: f64) -> Result<u64, E> {
        Ok(self.of((4u8, &f.to_bits())))
    }

    fn visit_str<E>(self, s: &str) -> Result<u64, E> {
        Ok(self.of((5u8, s)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(self.sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(self)? {
            entries.push((key, map.next_value_seed(self)?));
        }
        Ok(self.mapping(entries))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<u64, A::Error> {
        let (tag, variant): (String, _) = data.variant()?;
        let inner = variant.newtype_variant_seed(self)?;
        Ok(self.of((8u8, tag.as_str(), inner)))
    }
}

/// Marks every node that is edited or leads to one, through its children
/// or as an alias of one: the walk goes down these branches only.
fn holds_edits(tree: &Tree, edits: &Edits) -> HashSet<NodeId> {
    let mut aliases: HashMap<NodeId, Vec<NodeId>> = HashMap::new();
    for id in tree.node_ids() {
        if let NodeKind::Alias { target } = tree.node(id).kind {
            aliases.entry(target).or_default().push(id);
        }
    }
    let mut holds = HashSet::new();
    let mut work: Vec<NodeId> = edits.nodes().collect();
    while let Some(node) = work.pop() {
        if !holds.insert(node) {
            continue;
        }
        if let Some((mapping, _)) = tree.owner(node) {
            work.push(mapping);
        } else if let Some((sequence, _)) = tree.item_of(node) {
            work.push(sequence);
        }
        work.extend(aliases.get(&node).into_iter().flatten().copied());
    }
    holds
}

struct Walk<'a, 'c> {
    tree: &'a Tree,
    edits: &'a Edits<'c>,
    holds: HashSet<NodeId>,
    reached: HashSet<NodeId>,
}

impl Walk<'_, '_> {
    /// Walks `value`, serde_yaml's reading of `node`, down the branches that
    /// hold edits, and applies the node's own changes after its children's,
    /// whose positions they may shift.
    fn node(&mut self, node: NodeId, value: &mut Value) -> Result<(), String> {
        let node = self.tree.deref(node);
        let inner = value.untagged_mut();
        match (&self.tree.node(node).kind, inner) {
            (NodeKind::Mapping { .. }, Value::Map(entries)) => {
                let pairs: Vec<NodeId> = self.tree.pairs(node).map(|(_, v)| v).collect();
                self.children(&pairs, entries.iter_mut().map(|(_, v)| v))?;
            }
            (NodeKind::Sequence { .. }, Value::Seq(items)) => {
                let items_of = self.tree.items(node).to_vec();
                self.children(&items_of, items.iter_mut())?;
            }
            (NodeKind::Scalar { .. }, _) => {}
            _ => return Err(disagree()),
        }
        if let Some(changes) = self.edits.of(node) {
            self.reached.insert(node);
            for change in changes {
                if !apply(value, change) {
                    return Err("an intended change does not fit the parsed document".into());
                }
            }
        }
        Ok(())
    }

    fn children<'v>(
        &mut self,
        nodes: &[NodeId],
        values: impl ExactSizeIterator<Item = &'v mut Value>,
    ) -> Result<(), String> {
        if nodes.len() != values.len() {
            return Err(disagree());
        }
        for (&child, value) in nodes.iter().zip(values) {
            if self.holds.contains(&child) {
                self.node(child, value)?;
            }
        }
        Ok(())
    }
}

fn disagree() -> String {
    "serde_yaml and yaml-rust2 read the original file differently".into()
}

fn apply(value: &mut Value, change: &Change) -> bool {
    if let Change::Set { value: new, .. } = change {
        *value = Value::from_expected(new);
        return true;
    }
    match (value, change) {
        (Value::Map(entries), Change::Insert { key, value, .. }) => {
            entries.retain(|(k, _)| !k.is_key(key));
            entries.push((Value::Str(key.clone()), Value::from_expected(value)));
            true
        }
        (Value::Map(entries), Change::Remove { key, .. }) => {
            let before = entries.len();
            entries.retain(|(k, _)| !k.is_key(key));
            entries.len() < before
        }
        (Value::Seq(items), Change::InsertItem { index, value, .. }) if *index <= items.len() => {
            items.insert(*index, Value::from_expected(value));
            true
        }
        _ => false,
    }
}

/// The first place two canonical documents differ, for the refusal message.
fn difference(expected: &Value, actual: &Value, path: &str) -> String {
    match (expected, actual) {
        (Value::Map(a), Value::Map(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .find(|(x, y)| x != y)
            .map(|((ka, va), (kb, vb))| {
                if ka == kb {
                    difference(va, vb, &format!("{path}.{}", brief(ka)))
                } else {
                    format!("{path} (key {} vs {})", brief(ka), brief(kb))
                }
            })
            .unwrap_or_else(|| path.to_string()),
        (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .map(|(i, (x, y))| difference(x, y, &format!("{path}[{i}]")))
            .unwrap_or_else(|| path.to_string()),
        (Value::Tagged(a), Value::Tagged(b)) if a.0 == b.0 => difference(&a.1, &b.1, path),
        _ => format!(
            "{path}: expected {}, found {}",
            brief(expected),
            brief(actual)
        ),
    }
}

/// A bounded rendering of a value for a message.
fn brief(value: &Value) -> String {
    let text = match value {
        Value::Str(s) => format!("{s:?}"),
        Value::Map(_) => "a mapping".into(),
        Value::Seq(_) => "a sequence".into(),
        other => format!("{other:?}"),
    };
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::Value;

    #[test]
    fn a_value_is_four_words() {
        assert_eq!(std::mem::size_of::<Value>(), 32);
    }
}
