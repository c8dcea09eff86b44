//! The libyaml reading: the original, read by libyaml with the changes
//! applied, must read the same as the rewritten text.
//!
//! Both texts stream through libyaml's parser (the parser family GitLab
//! itself uses) once, event by event, into keyed digests of what serde_yaml
//! would make of them: scalars resolved by its rules ([`scalars`]), a local
//! tag (`!reference`) as its enum, a mapping as GitLab reads it (the last of
//! repeated keys wins, key order carries no meaning: a new key may be
//! written anywhere in its mapping). A keyed 64-bit hash makes a false match
//! a 2⁻⁶⁴ chance that no input can steer.
//!
//! The original's events are matched, node for node, with the [`Tree`] the
//! rewrite was planned on: the two parsers must see the same shape (each
//! node's kind, each collection's size), which ties each event to its
//! [`NodeId`], and each change is applied to the digest of the node it
//! edits. Scalar values may differ between the parsers (YAML 1.1 and 1.2
//! disagree on a few characters): each reading is compared with itself. An alias reads as the digest of its anchored
//! node, changes included, computed once: the work is that of the text, not
//! of the places an anchored node appears, and memory is that of the open
//! collections, not of the document.
//!
//! [`scalars`]: super::scalars

use hashbrown::HashMap;
use std::hash::{BuildHasher, Hash, RandomState};

use super::events::{Event, Events, Properties, Stopped};
use super::scalars::{self, Scalar};
use super::{Change, Edits, Expected, Text, brief, digest_key};
use crate::rewrite::window::{Window, window_of};
use crate::yaml::{NodeId, NodeKind, Tree};

pub(super) fn verify(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    edits: &Edits,
) -> Result<(), String> {
    let digest = Digest(digest_key());
    let content = tree.document();
    let expected = Reader::new(&digest, content, Some(Plan::new(tree, edits)))
        .read(original)
        .map_err(|e| format!("libyaml cannot read the original file: {e}"))?;
    let found = Reader::new(&digest, content, None)
        .read(rewritten)
        .map_err(|e| format!("libyaml cannot read the rewritten file: {e}"))?;
    if expected.documents == found.documents {
        return Ok(());
    }
    if expected.documents.len() != found.documents.len() {
        return Err(
            "libyaml reads a different number of documents in the rewritten file".to_string(),
        );
    }
    Err(format!(
        "libyaml reads the rewritten file differently from what the edits intended, at {}",
        explain(original, tree, rewritten, edits, &digest)
    ))
}

/// The same reading, of each window only: the original's entries there,
/// with the changes applied, must read as the rewritten entries, and the
/// anchors they define must be the same, in the same order (later text
/// names them). Outside the windows the texts are the same bytes, read from
/// the same parser state ([`crate::rewrite::window`]).
pub(super) fn verify_windows(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    edits: &Edits,
    windows: &[Window],
) -> Result<(), String> {
    let digest = Digest(digest_key());
    // How many edited nodes each window holds, counted once.
    let mut edited = vec![0; windows.len()];
    for node in edits.nodes() {
        if let Some(at) = window_of(windows, node) {
            edited[at] += 1;
        }
    }
    for (window, edited) in windows.iter().zip(edited) {
        let plan = Plan::window(tree, edits, window.nodes.clone(), edited);
        let expected = Reader::window(&digest, plan.into(), window.has_prelude())
            .read(&window.document(original, &window.original))
            .map_err(|e| format!("libyaml cannot read the original file: {e}"))?;
        let found = Reader::window(&digest, None, window.has_prelude())
            .read(&window.document(rewritten, &window.rewritten))
            .map_err(|e| format!("libyaml cannot read the rewritten file: {e}"))?;
        if expected.documents.len() != 1 || found.documents.len() != 1 {
            return Err(
                "libyaml reads a different number of documents in the rewritten file".into(),
            );
        }
        if expected.anchors != found.anchors {
            return Err("the rewrite changes which anchors the file defines".into());
        }
        if expected.entries != found.entries {
            let key = window.key_text(tree, original);
            return Err(format!(
                "libyaml reads the rewritten file differently from what the edits intended, at .{key} or the entries after it"
            ));
        }
    }
    Ok(())
}

/// Where the readings differ: the top-level key (the job) whose entry does,
/// read again with the root mapping's keys kept.
fn explain(original: &str, tree: &Tree, rewritten: &str, edits: &Edits, digest: &Digest) -> String {
    let content = tree.document();
    let mut expected = Reader::new(digest, content, Some(Plan::new(tree, edits)));
    expected.record = true;
    let mut found = Reader::new(digest, content, None);
    found.record = true;
    let (Ok(expected), Ok(found)) = (expected.read(original), found.read(rewritten)) else {
        return "the document".into();
    };
    // The last of repeated keys wins, as in the digests.
    let entries = |reading: &Reading| -> HashMap<u64, u64> {
        reading
            .root_entries
            .iter()
            .map(|(key, _, value)| (*key, *value))
            .collect()
    };
    let (wanted, got) = (entries(&expected), entries(&found));
    for (key, text, _) in &expected.root_entries {
        match got.get(key) {
            None => return format!(".{text} (missing)"),
            Some(value) if *value != wanted[key] => return format!(".{text}"),
            _ => {}
        }
    }
    for (key, text, _) in &found.root_entries {
        if !wanted.contains_key(key) {
            return format!(".{text} (not intended)");
        }
    }
    "the document".into()
}

/// What a reading produced.
struct Reading {
    /// One digest per document.
    documents: Vec<u64>,
    /// The content document's root mapping, entry by entry (key digest, key
    /// text, value digest), when recorded for a refusal message.
    root_entries: Vec<(u64, String, u64)>,
    /// A window's entries, its stand-in anchors left out.
    entries: Vec<(u64, u64)>,
    /// The anchors a window defines, in order.
    anchors: Vec<Box<[u8]>>,
}

/// The original's tree and the changes to apply to its reading.
struct Plan<'a> {
    tree: &'a Tree,
    edits: &'a Edits<'a>,
    ids: Box<dyn Iterator<Item = NodeId> + 'a>,
    /// Edited nodes met so far.
    reached: usize,
    /// How many edited nodes the reading must meet.
    edited: usize,
}

impl<'a> Plan<'a> {
    fn new(tree: &'a Tree, edits: &'a Edits<'a>) -> Plan<'a> {
        Plan {
            tree,
            edits,
            ids: Box::new(tree.node_ids()),
            reached: 0,
            edited: edits.nodes().count(),
        }
    }

    /// The plan of a window: its nodes only, and the edits among them.
    fn window(
        tree: &'a Tree,
        edits: &'a Edits<'a>,
        nodes: std::ops::Range<NodeId>,
        edited: usize,
    ) -> Plan<'a> {
        Plan {
            tree,
            edits,
            ids: Box::new(nodes.start.up_to(nodes.end)),
            reached: 0,
            edited,
        }
    }
}

/// A node whose digest is not known yet: an open collection, or a node
/// just read.
struct Open {
    node: Option<NodeId>,
    anchor: Option<Box<[u8]>>,
    /// A local tag: serde_yaml reads the node as an enum of that name.
    tag: Option<Box<str>>,
    body: Body,
}

enum Body {
    Sequence(Vec<u64>),
    Mapping {
        entries: Vec<(u64, u64)>,
        /// Each key's text, kept where a change names keys.
        keys: Option<Vec<Option<String>>>,
        /// The key read, waiting for its value.
        key: Option<(u64, Option<String>)>,
    },
}

/// A node read in full: its digest, and its value when it is a scalar that
/// may serve as a key a change names.
struct Done<'v> {
    digest: u64,
    key: Option<Scalar<'v>>,
}

struct Reader<'a> {
    digest: &'a Digest,
    /// Which document holds the configuration (the changes, the root
    /// mapping recorded for a message).
    content: usize,
    plan: Option<Plan<'a>>,
    record: bool,
    /// Digests of anchored nodes; `None` while the node is still open.
    anchors: HashMap<Box<[u8]>, Option<u64>>,
    stack: Vec<Open>,
    document: usize,
    reading: Reading,
    /// Reading a window: `Some(true)` when it opens with stand-in anchors.
    window: Option<bool>,
}

impl<'a> Reader<'a> {
    fn new(digest: &'a Digest, content: usize, plan: Option<Plan<'a>>) -> Reader<'a> {
        Reader {
            digest,
            content,
            plan,
            record: false,
            anchors: HashMap::new(),
            stack: Vec::new(),
            document: 0,
            reading: Reading {
                documents: Vec::new(),
                root_entries: Vec::new(),
                entries: Vec::new(),
                anchors: Vec::new(),
            },
            window: None,
        }
    }

    /// A reader of a window's document, whose root is no node of the tree.
    fn window(digest: &'a Digest, plan: Option<Plan<'a>>, prelude: bool) -> Reader<'a> {
        let mut reader = Reader::new(digest, 0, plan);
        reader.window = Some(prelude);
        reader
    }

    /// Whether the event read now belongs to no node of the tree: a
    /// window's root, or its stand-in anchors (its first entry).
    fn outside_tree(&self) -> bool {
        let Some(prelude) = self.window else {
            return false;
        };
        match self.stack.first() {
            None => true,
            Some(root) => {
                prelude && matches!(&root.body, Body::Mapping { entries, .. } if entries.is_empty())
            }
        }
    }

    /// Notes an anchor a window defines, outside its stand-ins.
    fn defines(&mut self, anchor: Option<&[u8]>) {
        if let Some(anchor) = anchor
            && self.window.is_some()
            && !self.outside_tree()
        {
            self.reading.anchors.push(Box::from(anchor));
        }
    }

    fn read(mut self, text: &str) -> Result<Reading, String> {
        let mut events = Events::new(text);
        loop {
            let event = events
                .next()
                .map_err(|Stopped| "a syntax error".to_string())?;
            match event {
                Event::StreamEnd => break,
                Event::DocumentStart => self.anchors.clear(),
                Event::DocumentEnd => self.document += 1,
                Event::Alias(name) => {
                    let node = self.node(Kind::Alias)?;
                    if node.is_some_and(|node| self.is_edited(node)) {
                        return Err(unreachable_edit());
                    }
                    let digest = match self.anchors.get(name) {
                        Some(Some(digest)) => *digest,
                        Some(None) => return Err("an alias inside its own anchored node".into()),
                        None => return Err("an alias to an anchor that is not defined".into()),
                    };
                    // An alias is its anchored node: a key it names is that
                    // node's key, which the entry's own text cannot tell.
                    self.close(Done { digest, key: None })?;
                }
                Event::Scalar {
                    properties,
                    value,
                    plain,
                } => {
                    let value = std::str::from_utf8(value)
                        .map_err(|_| "a scalar that is not UTF-8".to_string())?;
                    let node = self.node(Kind::Scalar)?;
                    let done = self.scalar(value, plain, properties.tag)?;
                    self.finish(node, properties, done)?;
                }
                Event::SequenceStart(properties) => {
                    let node = self.node(Kind::Sequence)?;
                    self.open(node, properties, Body::Sequence(Vec::new()));
                }
                Event::MappingStart(properties) => {
                    let node = self.node(Kind::Mapping)?;
                    let wants_keys = node.is_some_and(|node| self.is_edited(node));
                    let body = Body::Mapping {
                        entries: Vec::new(),
                        keys: wants_keys.then(Vec::new),
                        key: None,
                    };
                    self.open(node, properties, body);
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let open = self.stack.pop().ok_or("an unbalanced collection")?;
                    if let (Some(prelude), true) = (self.window, self.stack.is_empty())
                        && let Body::Mapping { entries, .. } = &open.body
                    {
                        self.reading.entries = entries[usize::from(prelude)..].to_vec();
                    }
                    self.same_size(open.node, &open.body)?;
                    let done = self.collection(open.tag.as_deref(), open.body)?;
                    let digest = self.changed(open.node, done)?;
                    if let Some(anchor) = open.anchor {
                        self.anchors.insert(anchor, Some(digest));
                    }
                    self.close(Done { digest, key: None })?;
                }
            }
        }
        if let Some(plan) = &mut self.plan {
            if plan.ids.next().is_some() {
                return Err(disagree());
            }
            if plan.reached != plan.edited {
                return Err(unreachable_edit());
            }
        }
        Ok(self.reading)
    }

    /// The next node of the original's tree, which must be of the same
    /// kind as the event: with [`Self::same_size`], the two parsers see the
    /// same shape, so each change meets the node it names.
    fn node(&mut self, kind: Kind) -> Result<Option<NodeId>, String> {
        if self.outside_tree() {
            return Ok(None);
        }
        let Some(plan) = &mut self.plan else {
            return Ok(None);
        };
        let id = plan.ids.next().ok_or_else(disagree)?;
        let agrees = matches!(
            (kind, &plan.tree.node(id).kind()),
            (Kind::Scalar, NodeKind::Scalar { .. })
                | (Kind::Sequence, NodeKind::Sequence { .. })
                | (Kind::Mapping, NodeKind::Mapping { .. })
                | (Kind::Alias, NodeKind::Alias { .. })
        );
        if !agrees {
            return Err(disagree());
        }
        if plan.edits.of(id).is_some() {
            if self.document != self.content {
                return Err(unreachable_edit());
            }
            plan.reached += 1;
        }
        Ok(Some(id))
    }

    /// A collection of the original holds as many entries in both readings.
    fn same_size(&self, node: Option<NodeId>, body: &Body) -> Result<(), String> {
        let (Some(plan), Some(node)) = (&self.plan, node) else {
            return Ok(());
        };
        let read = match body {
            Body::Sequence(items) => items.len(),
            Body::Mapping { entries, .. } => entries.len(),
        };
        let held = match plan.tree.node(node).kind() {
            NodeKind::Sequence { .. } => plan.tree.items(node).count(),
            NodeKind::Mapping { .. } => plan.tree.pairs(node).count(),
            _ => return Err(disagree()),
        };
        if held == read {
            Ok(())
        } else {
            Err(disagree())
        }
    }

    fn is_edited(&self, node: NodeId) -> bool {
        self.plan
            .as_ref()
            .is_some_and(|plan| plan.edits.of(node).is_some())
    }

    fn open(&mut self, node: Option<NodeId>, properties: Properties, body: Body) {
        self.defines(properties.anchor);
        let anchor: Option<Box<[u8]>> = properties.anchor.map(Box::from);
        if let Some(anchor) = &anchor {
            self.anchors.insert(anchor.clone(), None);
        }
        let tag = scalars::local_tag(properties.tag).map(Box::from);
        self.stack.push(Open {
            node,
            anchor,
            tag,
            body,
        });
    }

    /// A scalar's digest: a local tag makes it serde_yaml's enum, whose
    /// content is then read as if untagged.
    fn scalar<'v>(
        &self,
        value: &'v str,
        plain: bool,
        tag: Option<&[u8]>,
    ) -> Result<Done<'v>, String> {
        let local = scalars::local_tag(tag);
        let resolved = scalars::resolve(value, plain, tag, local.is_some())?;
        let inner = self.digest.scalar(&resolved);
        Ok(match local {
            Some(tag) => Done {
                digest: self.digest.tagged(tag, inner),
                key: None,
            },
            None => Done {
                digest: inner,
                key: Some(resolved),
            },
        })
    }

    /// Completes a scalar node: its changes, its anchor, its place.
    fn finish(
        &mut self,
        node: Option<NodeId>,
        properties: Properties,
        done: Done,
    ) -> Result<(), String> {
        let digest = self.changed(node, Working::Scalar(done.digest))?;
        self.defines(properties.anchor);
        if let Some(anchor) = properties.anchor {
            self.anchors.insert(Box::from(anchor), Some(digest));
        }
        let changed = node.is_some_and(|node| self.is_edited(node));
        self.close(Done {
            digest,
            key: if changed { None } else { done.key },
        })
    }

    /// A collection read in full, before its own changes.
    fn collection(&self, tag: Option<&str>, body: Body) -> Result<Working, String> {
        let working = match body {
            Body::Sequence(items) => Working::Sequence(items),
            Body::Mapping {
                entries,
                keys,
                key: None,
            } => Working::Mapping(entries, keys.unwrap_or_default()),
            Body::Mapping { key: Some(_), .. } => return Err("a key without a value".into()),
        };
        Ok(match tag {
            Some(tag) => Working::Tagged(self.digest.tagged(tag, self.digest.working(working))),
            None => working,
        })
    }

    /// The digest of `node` once its changes are applied, in their order.
    fn changed(&self, node: Option<NodeId>, mut working: Working) -> Result<u64, String> {
        let changes = match (&self.plan, node) {
            (Some(plan), Some(node)) => plan.edits.of(node).unwrap_or_default(),
            _ => &[],
        };
        for change in changes {
            working = apply(working, change, self.digest)
                .ok_or("an intended change does not fit the parsed document")?;
        }
        Ok(self.digest.working(working))
    }

    /// Puts a finished node in its place: an item, a key, a value, or a
    /// document.
    fn close(&mut self, done: Done) -> Result<(), String> {
        let depth = self.stack.len();
        let record = self.record && depth == 1 && self.document == self.content;
        let Some(parent) = self.stack.last_mut() else {
            self.reading.documents.push(done.digest);
            return Ok(());
        };
        match &mut parent.body {
            Body::Sequence(items) => items.push(done.digest),
            Body::Mapping { entries, keys, key } => match key.take() {
                None => {
                    // A key's text is kept only where it is asked for.
                    let text = match &done.key {
                        Some(key) if keys.is_some() || record => key.key_text(),
                        _ => None,
                    };
                    *key = Some((done.digest, text));
                }
                Some((key_digest, key_text)) => {
                    entries.push((key_digest, done.digest));
                    if record {
                        let text = key_text.clone().unwrap_or_else(|| "?".into());
                        self.reading
                            .root_entries
                            .push((key_digest, brief(&text), done.digest));
                    }
                    if let Some(keys) = keys {
                        keys.push(key_text);
                    }
                }
            },
        }
        Ok(())
    }
}

/// What an event is, to match it with the tree's node.
enum Kind {
    Scalar,
    Sequence,
    Mapping,
    Alias,
}

/// A node's reading while its changes apply: a collection stays open to
/// them, anything else is its digest (a tagged collection, which no change
/// but a replacement fits, included).
enum Working {
    Scalar(u64),
    Tagged(u64),
    Sequence(Vec<u64>),
    /// Entries and, where known, each key's text.
    Mapping(Vec<(u64, u64)>, Vec<Option<String>>),
}

fn apply(working: Working, change: &Change, digest: &Digest) -> Option<Working> {
    match (working, change) {
        (_, Change::Set { value, .. }) => Some(digest.expected_working(value)),
        (Working::Mapping(entries, keys), Change::Insert { key, value, .. }) => {
            let (mut entries, mut keys) = without_key(entries, keys, key);
            entries.push((digest.string(key), digest.expected(value)));
            keys.push(Some(key.clone()));
            Some(Working::Mapping(entries, keys))
        }
        (Working::Mapping(entries, keys), Change::Remove { key, .. }) => {
            let before = entries.len();
            let (entries, keys) = without_key(entries, keys, key);
            (entries.len() < before).then_some(Working::Mapping(entries, keys))
        }
        (Working::Sequence(mut items), Change::InsertItem { index, value, .. })
            if *index <= items.len() =>
        {
            items.insert(*index, digest.expected(value));
            Some(Working::Sequence(items))
        }
        _ => None,
    }
}

type Entries = (Vec<(u64, u64)>, Vec<Option<String>>);

fn without_key(entries: Vec<(u64, u64)>, keys: Vec<Option<String>>, key: &str) -> Entries {
    entries
        .into_iter()
        .zip(keys)
        .filter(|(_, text)| text.as_deref() != Some(key))
        .unzip()
}

/// Keyed digests of values as serde_yaml reads them and GitLab compares
/// them.
struct Digest(&'static RandomState);

impl Digest {
    fn of(&self, value: impl Hash) -> u64 {
        self.0.hash_one(value)
    }

    fn scalar(&self, scalar: &Scalar) -> u64 {
        match scalar {
            Scalar::Null => self.of(0u8),
            Scalar::Bool(b) => self.of((1u8, b)),
            Scalar::Int(i) => self.of((2u8, i)),
            Scalar::UInt(u) => self.of((3u8, u)),
            Scalar::Float(bits) => self.of((4u8, bits)),
            Scalar::Str(s) => self.string(s),
            Scalar::Big(text) => self.of((9u8, text)),
        }
    }

    /// As [`Text`] digests the strings the rewrite writes.
    fn string(&self, s: &str) -> u64 {
        Text::of(s).digest()
    }

    fn tagged(&self, tag: &str, inner: u64) -> u64 {
        self.of((8u8, tag, inner))
    }

    fn sequence(&self, items: &[u64]) -> u64 {
        self.of((6u8, items))
    }

    /// In a mapping the last of repeated keys wins and key order carries
    /// no meaning.
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

    fn working(&self, working: Working) -> u64 {
        match working {
            Working::Scalar(digest) | Working::Tagged(digest) => digest,
            Working::Sequence(items) => self.sequence(&items),
            Working::Mapping(entries, _) => self.mapping(entries),
        }
    }

    fn expected(&self, value: &Expected) -> u64 {
        let working = self.expected_working(value);
        self.working(working)
    }

    fn expected_working(&self, value: &Expected) -> Working {
        match value {
            Expected::Str(text) => Working::Scalar(text.digest()),
            // A plain scalar is typed by the same rules as the file's own.
            Expected::Plain(s) => {
                let resolved = scalars::resolve(s, true, None, false).unwrap_or(Scalar::Str(s));
                Working::Scalar(self.scalar(&resolved))
            }
            Expected::Seq(items) => {
                Working::Sequence(items.iter().map(|item| self.expected(item)).collect())
            }
            Expected::Map(entries) => Working::Mapping(
                entries
                    .iter()
                    .map(|(k, v)| (self.string(k), self.expected(v)))
                    .collect(),
                entries.iter().map(|(k, _)| Some(k.clone())).collect(),
            ),
        }
    }
}

fn disagree() -> String {
    "libyaml and yaml-rust2 read the original file differently".into()
}

fn unreachable_edit() -> String {
    "an edited node is not reachable from the document root".into()
}

#[cfg(test)]
mod tests {
    use super::super::{Change, Edits, Expected};
    use super::verify;
    use crate::yaml::Tree;

    fn set(tree: &Tree, text: &str, old: &str, new: &str) -> Vec<Change> {
        let node = tree
            .node_ids()
            .find(|&id| tree.scalar(text, id).as_deref() == Some(old))
            .unwrap();
        vec![Change::Set {
            node,
            value: Expected::string(new),
        }]
    }

    fn check(original: &str, rewritten: &str, old: &str, new: &str) -> Result<(), String> {
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, old, new);
        verify(original, &tree, rewritten, &Edits::new(&changes))
    }

    #[test]
    fn an_alias_bomb_reads_in_linear_time() {
        // Ten levels of ten aliases: 10¹⁰ nodes once expanded.
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let refs = vec![format!("*a{}", level - 1); 10].join(", ");
            text += &format!("a{level}: &a{level} [{refs}]\n");
        }
        text += "job: old\n";
        let rewritten = text.replace("job: old", "job: new");
        check(&text, &rewritten, "old", "new").unwrap();
        let leaked = rewritten.replacen("[x, x,", "[x, y,", 1);
        assert!(check(&text, &leaked, "old", "new").is_err());
    }

    #[test]
    fn nesting_has_no_depth_limit() {
        let text = format!("a: old\nb:\n  {}x\n", "- ".repeat(5_000));
        let rewritten = text.replace("a: old", "a: new");
        check(&text, &rewritten, "old", "new").unwrap();
        let leaked = rewritten.replace("- x", "- y");
        assert!(check(&text, &leaked, "old", "new").is_err());
    }

    #[test]
    fn a_refusal_names_the_job_that_reads_differently() {
        let original = "a: old\nb: {k: 1}\nc: 2\n";
        let refused = check(original, "a: new\nb: {k: 2}\nc: 2\n", "old", "new").unwrap_err();
        assert!(refused.ends_with("at .b"), "{refused}");
        let refused = check(original, "a: new\nc: 2\n", "old", "new").unwrap_err();
        assert!(refused.ends_with("at .b (missing)"), "{refused}");
        let refused = check(original, "a: new\nb: {k: 1}\nc: 2\nd: 3\n", "old", "new").unwrap_err();
        assert!(refused.ends_with("at .d (not intended)"), "{refused}");
    }

    #[test]
    fn values_compare_as_read_not_as_written() {
        let original = "a: old\nb: 0x10\nc: 'x'\nd: !reference [.t, script]\n";
        check(
            original,
            "a: new\nb: 16\nc: \"x\"\nd: !reference [.t, script]\n",
            "old",
            "new",
        )
        .unwrap();
        for leaked in [
            "a: new\nb: '16'\nc: x\nd: !reference [.t, script]\n",
            "a: new\nb: 0x10\nc: x\nd: [.t, script]\n",
            "a: new\nb: 0x10\nc: x\nd: !ref [.t, script]\n",
            "a: new\nb: 0x10\nc: x\nd: !reference [.t, script]\nb: 0x10\na: old\n",
        ] {
            assert!(check(original, leaked, "old", "new").is_err(), "{leaked}");
        }
    }

    #[test]
    fn a_scalar_the_parsers_read_differently_is_compared_within_each() {
        // libyaml (YAML 1.1) folds at a NEL, yaml-rust2 (1.2) keeps it.
        let original = "a: old\nb: x\u{85}  y\n";
        let tree = Tree::parse(original).unwrap();
        let read_by_yaml_rust2 = tree
            .node_ids()
            .find_map(|id| tree.scalar(original, id).filter(|v| v.starts_with('x')))
            .unwrap();
        let mut events = super::Events::new(original);
        let read_by_libyaml = loop {
            match events.next().unwrap() {
                super::Event::Scalar { value, .. } if value.starts_with(b"x") => {
                    break String::from_utf8(value.to_vec()).unwrap();
                }
                super::Event::StreamEnd => panic!("no scalar"),
                _ => {}
            }
        };
        assert_ne!(read_by_yaml_rust2, read_by_libyaml);
        check(original, &original.replace("old", "new"), "old", "new").unwrap();
        let leaked = original.replace("old", "new").replace('y', "z");
        assert!(check(original, &leaked, "old", "new").is_err());
    }

    #[test]
    fn a_byte_order_mark_line_ends_and_a_spec_header_read_as_the_tree_does() {
        for original in [
            "\u{feff}a: old\nb: 1\n",
            "a: old\r\nb: [1, 2]\r\n",
            "spec:\n  inputs:\n    x: {default: old}\n---\na: old\nb: 1\n",
        ] {
            let rewritten = match original.rfind("old") {
                Some(at) => format!("{}new{}", &original[..at], &original[at + 3..]),
                None => unreachable!(),
            };
            let tree = Tree::parse(original).unwrap();
            // The edited node is the content document's `old`.
            let node = tree
                .node_ids()
                .filter(|&id| tree.scalar(original, id).as_deref() == Some("old"))
                .last()
                .unwrap();
            let changes = vec![Change::Set {
                node,
                value: Expected::string("new"),
            }];
            let edits = Edits::new(&changes);
            verify(original, &tree, &rewritten, &edits)
                .unwrap_or_else(|e| panic!("{original:?}: {e}"));
            let leaked = rewritten.replacen("1", "2", 1);
            assert!(
                verify(original, &tree, &leaked, &edits).is_err(),
                "{leaked:?}"
            );
        }
    }

    #[test]
    fn an_undefined_alias_is_refused() {
        let refused = check("a: old\n", "a: new\nb: *nowhere\n", "old", "new").unwrap_err();
        assert!(refused.contains("not defined"), "{refused}");
    }
}
