//! Proves a rewrite changed only what it meant to.
//!
//! The rewritten text is read by two independent parsers, and each reading
//! must equal the original's reading with exactly the intended changes
//! applied. Anything else means an edit leaked, and the rewrite is refused.
//!
//! - [`trees`]: yaml-rust2, through the span-aware [`Tree`] the rewrite was
//!   planned on, compared node by node with the tree of the rewritten text.
//!   An anchored node is compared once, however many aliases name it, and
//!   each change is checked once, at the node it edits.
//! - [`libyaml`]: libyaml (the parser family GitLab itself uses), whose
//!   events stream into digests of what serde_yaml would read, the
//!   original's with the changes applied at the nodes they edit.
//!
//! Both work in time linear in the texts: no bound on the size of a file
//! or on the number of places an anchored node appears. Both read a mapping's repeated key as GitLab does (the
//! last one wins), so a duplicate key is no reason to refuse a rewrite.

mod events;
mod libyaml;
mod scalars;
mod trees;

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;

use hashbrown::{HashMap, HashSet};

use super::window::Window;
use crate::yaml::{NodeId, Tree};

/// A value the rewrite puts into the document.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Expected {
    Str(Text),
    /// A plain scalar as YAML's core schema reads it: `true`, `1000`
    /// (a Kubernetes `runAsUser`, which must not be a string).
    Plain(String),
    Seq(Vec<Expected>),
    Map(Vec<(String, Expected)>),
}

impl Expected {
    /// The string `value`.
    pub fn string(value: &str) -> Expected {
        Expected::Str(Text::of(value))
    }
}

/// A string the rewrite writes, kept as a keyed digest of it (and its
/// length): both halves of the verification compare what they read back
/// with the digest, so a new script is not held a second time (its text
/// is in the rewrite) while the rewrite is read again. The key is drawn
/// once per process and never shown, so a false match is a 2⁻⁶⁴ chance
/// that no input can steer, as for the libyaml half's own digests, which
/// digest strings the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Text {
    digest: u64,
    len: usize,
}

impl Text {
    pub fn of(value: &str) -> Text {
        Text {
            digest: digest_key().hash_one((5u8, value)),
            len: value.len(),
        }
    }

    /// The digest, as the libyaml half digests a string.
    fn digest(self) -> u64 {
        self.digest
    }

    fn len(self) -> usize {
        self.len
    }

    fn is(self, value: &str) -> bool {
        value.len() == self.len && Text::of(value) == self
    }
}

/// The key of every digest the verification takes.
fn digest_key() -> &'static RandomState {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    KEY.get_or_init(RandomState::new)
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

impl Change {
    /// The node of the original tree the change edits.
    pub(crate) fn node(&self) -> NodeId {
        match self {
            Change::Set { node, .. } => *node,
            Change::Insert { mapping, .. } | Change::Remove { mapping, .. } => *mapping,
            Change::InsertItem { sequence, .. } => *sequence,
        }
    }
}

/// The intended changes grouped by the node they edit, each group in the
/// order it applies: item insertions last and from the back, so that indices
/// stay those of the original. Jobs that share a definition ask for the same
/// change: it is kept once. Grouped once per rewrite, and read by both
/// halves of the verification (and both threads of libyaml's).
pub struct Edits<'c> {
    by_node: HashMap<NodeId, Vec<&'c Change>>,
}

impl<'c> Edits<'c> {
    pub fn new(changes: &'c [Change]) -> Edits<'c> {
        let mut seen = HashSet::new();
        let mut by_node: HashMap<NodeId, Vec<&Change>> = HashMap::new();
        for change in changes {
            if seen.insert(change) {
                by_node.entry(change.node()).or_default().push(change);
            }
        }
        for group in by_node.values_mut() {
            // A stable sort: other changes keep their order, before the items.
            group.sort_by_key(|change| match change {
                Change::InsertItem { index, .. } => (1, std::cmp::Reverse(*index)),
                _ => (0, std::cmp::Reverse(0)),
            });
        }
        Edits { by_node }
    }

    fn of(&self, node: NodeId) -> Option<&[&'c Change]> {
        self.by_node.get(&node).map(Vec::as_slice)
    }

    fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.by_node.keys().copied()
    }
}

/// Checks that `rewritten` (read as `new_tree`) is `original` (parsed as
/// `tree`) with exactly `changes` applied. With `windows`, libyaml reads
/// only them, and `new_tree` is spliced from them ([`super::window`]).
pub fn verify(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    new_tree: &Tree,
    changes: &[Change],
    windows: Option<&[Window]>,
) -> Result<(), String> {
    let edits = Edits::new(changes);
    verify_trees(original, tree, rewritten, new_tree, &edits, windows)?;
    verify_libyaml(original, tree, rewritten, &edits, windows)
}

/// The yaml-rust2 half of [`verify`].
pub fn verify_trees(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    new_tree: &Tree,
    edits: &Edits,
    windows: Option<&[Window]>,
) -> Result<(), String> {
    trees::verify(original, tree, rewritten, new_tree, edits, windows)
}

/// The libyaml half of [`verify`]: it needs no tree of the rewritten text,
/// so it can run beside the other.
pub fn verify_libyaml(
    original: &str,
    tree: &Tree,
    rewritten: &str,
    edits: &Edits,
    windows: Option<&[Window]>,
) -> Result<(), String> {
    match windows {
        Some(windows) => libyaml::verify_windows(original, tree, rewritten, edits, windows),
        None => libyaml::verify(original, tree, rewritten, edits),
    }
}

/// A bounded rendering of a key or value for a message.
fn brief(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Where `node` sits in its document, for a refusal message: `.a.b[2]`.
fn path_of(tree: &Tree, text: &str, mut node: NodeId) -> String {
    let mut segments = Vec::new();
    loop {
        if let Some((mapping, key)) = tree.owner(node) {
            segments.push(format!(".{}", tree.key(text, key).unwrap_or("?")));
            node = mapping;
        } else if let Some((sequence, index)) = tree.item_of(node) {
            segments.push(format!("[{index}]"));
            node = sequence;
        } else {
            break;
        }
    }
    segments.reverse();
    if segments.is_empty() {
        "the document root".into()
    } else {
        segments.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Verifies as the migration does: the rewritten text parsed first.
    fn check(
        original: &str,
        tree: &Tree,
        rewritten: &str,
        changes: &[Change],
    ) -> Result<(), String> {
        let new_tree = Tree::parse(rewritten).map_err(|e| e.message)?;
        verify(original, tree, rewritten, &new_tree, changes, None)
    }

    fn set(tree: &Tree, text: &str, old: &str, new: &str) -> Vec<Change> {
        vec![Change::Set {
            node: scalar_at(tree, text, old),
            value: Expected::string(new),
        }]
    }

    fn scalar_at(tree: &Tree, text: &str, wanted: &str) -> NodeId {
        tree.node_ids()
            .find(|&id| tree.scalar(text, id).as_deref() == Some(wanted))
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
            value: Expected::string("new"),
        }];
        check(original, &tree, rewritten, &changes).unwrap();
    }

    /// Each half compares a written string with its digest on its own.
    #[test]
    fn each_half_refuses_a_string_other_than_the_intended_one() {
        let original = "a: old\nb: 1\n";
        let tree = Tree::parse(original).unwrap();
        // What is written, what was meant, and how to write what was meant.
        let cases = [
            ("nex", "new", "new"),
            ("newer", "new", "new"),
            ("1", "1", "'1'"),
        ];
        for (written, intended, right) in cases {
            let rewritten = original.replace("old", written);
            let new_tree = Tree::parse(&rewritten).unwrap();
            let changes = set(&tree, original, "old", intended);
            let edits = Edits::new(&changes);
            let trees = verify_trees(original, &tree, &rewritten, &new_tree, &edits, None);
            let libyaml = verify_libyaml(original, &tree, &rewritten, &edits, None);
            assert!(
                trees.is_err() && libyaml.is_err(),
                "{written}: {trees:?} {libyaml:?}"
            );
            let same = original.replace("old", right);
            let same_tree = Tree::parse(&same).unwrap();
            verify_trees(original, &tree, &same, &same_tree, &edits, None).unwrap();
            verify_libyaml(original, &tree, &same, &edits, None).unwrap();
        }
    }

    #[test]
    fn a_change_outside_the_edits_is_refused() {
        let original = "a: old\nc: 1\n";
        let rewritten = "a: new\nc: 2\n";
        let tree = Tree::parse(original).unwrap();
        let node = scalar_at(&tree, original, "old");
        let changes = [Change::Set {
            node,
            value: Expected::string("new"),
        }];
        assert!(check(original, &tree, rewritten, &changes).is_err());
    }

    #[test]
    fn broken_yaml_is_refused() {
        let original = "a: old\n";
        let tree = Tree::parse(original).unwrap();
        let node = scalar_at(&tree, original, "old");
        let changes = [Change::Set {
            node,
            value: Expected::string("new: ["),
        }];
        assert!(check(original, &tree, "a: new: [\n", &changes).is_err());
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
                        .any(|(k, _)| tree.scalar(original, k).as_deref() == Some("A"))
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
                value: Expected::string("--oci-worker-no-process-sandbox"),
            },
            Change::InsertItem {
                sequence,
                index: 0,
                value: Expected::string("y"),
            },
        ];
        check(original, &tree, rewritten, &changes).unwrap();
    }

    #[test]
    fn an_anchor_merged_into_thousands_of_jobs_verifies() {
        let mut original = String::from(".kaniko: &kaniko\n  image: old\n  tags: [docker]\n");
        for i in 0..5_000 {
            original += &format!("job-{i}:\n  <<: *kaniko\n  script: [make]\n");
        }
        let rewritten = original.replacen("image: old", "image: new", 1);
        let tree = Tree::parse(&original).unwrap();
        let changes = set(&tree, &original, "old", "new");
        check(&original, &tree, &rewritten, &changes).unwrap();
    }

    #[test]
    fn a_leak_under_an_alias_is_refused() {
        let original = "a: &x {k: old, l: 1}\nb: *x\n";
        let rewritten = "a: &x {k: new, l: 2}\nb: *x\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "old", "new");
        assert!(check(original, &tree, rewritten, &changes).is_err());
    }

    #[test]
    fn a_change_to_a_plain_value_of_another_type_is_refused() {
        let original = "a: old\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "old", "1");
        let refused = check(original, &tree, "a: 1\n", &changes).unwrap_err();
        assert!(refused.contains("string"), "{refused}");
        check(original, &tree, "a: \"1\"\n", &changes).unwrap();
    }

    #[test]
    fn duplicate_keys_verify_with_the_last_one_winning() {
        let original = "job:\n  image: a\n  image: old\n  script: [x]\n";
        let rewritten = "job:\n  image: a\n  image: new\n  script: [x]\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "old", "new");
        check(original, &tree, rewritten, &changes).unwrap();
        // The shadowed value is not what GitLab reads, but a change to it
        // is still a change outside the edits.
        let leaked = "job:\n  image: b\n  image: new\n  script: [x]\n";
        assert!(check(original, &tree, leaked, &changes).is_err());
    }

    #[test]
    fn tagged_nodes_keep_their_tags() {
        let original = "a: old\nb: !reference [.x, script]\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "old", "new");
        check(
            original,
            &tree,
            "a: new\nb: !reference [.x, script]\n",
            &changes,
        )
        .unwrap();
        assert!(check(original, &tree, "a: new\nb: [.x, script]\n", &changes).is_err());
    }

    #[test]
    fn an_unreachable_edit_is_refused() {
        let original = "a: old\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "a", "b");
        assert!(check(original, &tree, "b: old\n", &changes).is_err());
    }

    #[test]
    fn each_parser_refuses_a_leak_in_a_window_on_its_own() {
        let original = "a: &x {k: old, l: 1}\nb: *x\nc: [1, 2]\nd: 0\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "old", "new");
        let edits = Edits::new(&changes);
        let mapping = tree
            .node_ids()
            .find(|&id| tree.is_mapping(id) && tree.node(id).span.start() > 0)
            .unwrap();
        for (text, refused) in [("{k: new, l: 2}", true), ("{k: new, l: 1}", false)] {
            let edit = crate::rewrite::Edit::replace(tree.node(mapping).span, text);
            let (rewritten, applied) =
                crate::rewrite::apply_placed(original, std::slice::from_ref(&edit)).unwrap();
            let windows =
                super::super::window::cut(original, &tree, &applied, &rewritten, &changes)
                    .expect("windows");
            let shared = std::sync::Arc::new(tree.clone());
            let spliced = super::super::window::splice(original, &shared, &rewritten, &windows)
                .expect("a splice");
            let by_trees = trees::verify(
                original,
                &tree,
                &rewritten,
                &spliced,
                &edits,
                Some(&windows),
            );
            let by_libyaml = libyaml::verify_windows(original, &tree, &rewritten, &edits, &windows);
            assert_eq!(by_trees.is_err(), refused, "{text}: {by_trees:?}");
            assert_eq!(by_libyaml.is_err(), refused, "{text}: {by_libyaml:?}");
        }
    }

    #[test]
    fn each_parser_refuses_a_leak_on_its_own() {
        let original = "a: &x {k: old, l: 1}\nb: *x\nc: [1, 2]\n";
        let tree = Tree::parse(original).unwrap();
        let changes = set(&tree, original, "old", "new");
        let edits = Edits::new(&changes);
        for leaked in [
            "a: &x {k: new, l: 2}\nb: *x\nc: [1, 2]\n",
            "a: &x {k: new, l: 1}\nb: *x\nc: [1]\n",
            "a: &x {k: new, l: 1}\nb: {k: new, l: 1, m: 0}\nc: [1, 2]\n",
        ] {
            let new_tree = Tree::parse(leaked).unwrap();
            assert!(trees::verify(original, &tree, leaked, &new_tree, &edits, None).is_err());
            assert!(libyaml::verify(original, &tree, leaked, &edits).is_err());
        }
        let fine = "a: &x {k: new, l: 1}\nb: *x\nc: [1, 2]\n";
        let new_tree = Tree::parse(fine).unwrap();
        trees::verify(original, &tree, fine, &new_tree, &edits, None).unwrap();
        libyaml::verify(original, &tree, fine, &edits).unwrap();
    }
}
