//! The rewritten file, read again only where it changed.
//!
//! A migration edits a few top-level entries (jobs, templates) of a file
//! that may hold thousands. Reading the whole rewritten file again with
//! both parsers cost five times a bare parse of it; reading only the
//! entries that hold edits costs in proportion to the edits.
//!
//! Why a window reads as the whole file would. The root of the document is
//! a block mapping whose keys start in column 0, and a window is a run of
//! whole entries: it starts at the first character of a key and ends where
//! the next key starts (or at the end of the file). At such a place a YAML
//! parser is always in the same state: every block is closed but the root
//! mapping, no flow collection or quoted scalar is open, and the next token
//! is a key in column 0. A parser that reads the window as a document of its
//! own is in that state too, so it reads the window's entries as the whole
//! file's parser does, provided that:
//!
//! - the window's text, as rewritten, still ends with a line break before
//!   the next key (an edit did not join the two lines);
//! - no line starts a new document (`---`, `...`) or holds a directive
//!   (`%TAG`, which changes what tags mean), in the original or the window;
//! - the aliases in the window name anchors defined before it: a parser
//!   reading the window alone would not know them, so the window's document
//!   opens with stand-ins of the same names (`- &name ~`) in an entry of its
//!   own, which each reading leaves out;
//! - the anchors the window defines stay the same, in the same order, since
//!   the text after it names them.
//!
//! The texts before, between and after the windows are the same bytes,
//! read from the same state, and so read alike. When a condition does not
//! hold (a flow mapping at the root, an edit of the root mapping itself, a
//! window that does not parse on its own), the whole rewritten file is
//! parsed and verified instead: windows only make a rewrite cheaper to
//! check, never easier to accept.
//!
//! The rewritten file's [`Tree`] is assembled from the original's entries
//! outside the windows and the windows' own trees ([`Tree::splice`]); in a
//! debug build (the test suite), it is compared with a parse of the whole
//! rewritten text at every rewrite.

use std::ops::Range;
use std::sync::Arc;

use super::Applied;
use super::verify::Change;
use crate::yaml::splice::{Piece, Splicer};
use crate::yaml::{NodeId, NodeKind, Tree};

/// A run of whole top-level entries that holds edits.
#[derive(Debug)]
pub struct Window {
    /// The original root mapping's entries in the window.
    pub entries: Range<usize>,
    /// The original tree's nodes in the window: ids are in document order.
    pub nodes: Range<NodeId>,
    /// The window's bytes in the original text.
    pub original: Range<usize>,
    /// The window's bytes in the rewritten text.
    pub rewritten: Range<usize>,
    /// Stand-ins for the anchors defined before the window that it names.
    prelude: String,
}

impl Window {
    pub fn has_prelude(&self) -> bool {
        !self.prelude.is_empty()
    }

    /// The window's document: its stand-in anchors, then its bytes of `text`.
    pub fn document(&self, text: &str, bytes: &Range<usize>) -> String {
        let mut document = String::with_capacity(self.prelude.len() + bytes.len());
        document.push_str(&self.prelude);
        document.push_str(&text[bytes.clone()]);
        document
    }

    /// The key of the window's first entry, bounded, for a message.
    pub fn key_text(&self, tree: &Tree, text: &str) -> String {
        let key = tree
            .entry(self.entries.start)
            .and_then(|(key, _)| tree.key(text, key))
            .unwrap_or("?");
        match key.char_indices().nth(80) {
            Some((at, _)) => format!("{}…", &key[..at]),
            None => key.to_string(),
        }
    }
}

/// The windows of a rewrite, or `None` when the file or the edits do not
/// allow them (see the module's conditions).
pub fn cut(
    original: &str,
    tree: &Tree,
    edits: &[Applied],
    rewritten: &str,
    changes: &[Change],
) -> Option<Vec<Window>> {
    let root = tree.root()?;
    let is_block_mapping = matches!(
        tree.node(root).kind(),
        NodeKind::Mapping { flow: false, .. }
    );
    let plain_root = tree.anchor(root).is_none() && tree.tag(root).is_none();
    if tree.document() != 0 || !is_block_mapping || !plain_root || edits.is_empty() {
        return None;
    }
    let keys = tree.entry_keys();
    let starts = entry_starts(original, tree, keys)?;
    if has_marker_line(&original[starts[0]..]) || has_directive(&original[..starts[0]]) {
        return None;
    }
    let mut sorted: Vec<&Applied> = edits.iter().collect();
    sorted.sort_by_key(|edit| (edit.span.start(), edit.span.end()));
    // Identical edits (jobs sharing a site) were applied once, to one place.
    sorted.dedup_by(|a, b| a == b);
    let runs = entry_runs(&starts, &sorted);
    let mut windows = Vec::with_capacity(runs.len());
    let mut edits = sorted.iter().peekable();
    let mut shift: isize = 0;
    for entries in runs {
        let from = if entries.start == 0 {
            0
        } else {
            starts[entries.start]
        };
        let to = starts.get(entries.end).copied().unwrap_or(original.len());
        let before = shift;
        // An insertion at the end of the file belongs to the last window.
        let at_end = to == original.len();
        while let Some(edit) = edits.next_if(|edit| edit.span.start() < to || at_end) {
            shift += edit.text.len() as isize - edit.span.len() as isize;
        }
        let moved = |at: usize, by: isize| at.checked_add_signed(by);
        let rewritten_bytes = moved(from, before)?..moved(to, shift)?;
        let nodes = node_range(tree, keys, &entries);
        let window = Window {
            prelude: prelude(original, tree, &nodes, from)?,
            entries,
            nodes,
            original: from..to,
            rewritten: rewritten_bytes,
        };
        if !window_holds(original, rewritten, &window) {
            return None;
        }
        windows.push(window);
    }
    // Every change must edit a node inside a window: none edits the root
    // mapping itself (its entries are what the windows are cut from).
    changes
        .iter()
        .all(|change| window_of(&windows, change.node()).is_some())
        .then_some(windows)
}

/// The window holding `node`, found by halving: the windows are in
/// document order and do not overlap.
pub fn window_of(windows: &[Window], node: NodeId) -> Option<usize> {
    let at = windows.partition_point(|window| window.nodes.end <= node);
    windows
        .get(at)
        .filter(|window| window.nodes.contains(&node))
        .map(|_| at)
}

/// Where each top-level entry starts; `None` unless every key is a scalar
/// at the start of a line.
fn entry_starts(text: &str, tree: &Tree, keys: &[NodeId]) -> Option<Vec<usize>> {
    let mut starts = Vec::with_capacity(keys.len());
    for &key in keys {
        let start = tree.start(key);
        let at_line_start = start == 0 || text.as_bytes()[start - 1] == b'\n';
        if !at_line_start || tree.scalar(text, key).is_none() {
            return None;
        }
        starts.push(start);
    }
    (!starts.is_empty()).then_some(starts)
}

/// Runs of entries holding the (sorted) edits, merged when they touch. An
/// edit at the very start of an entry may belong to the one before it (an
/// item appended to it), so it takes both.
fn entry_runs(starts: &[usize], edits: &[&Applied]) -> Vec<Range<usize>> {
    let entry_at = |at: usize| {
        starts
            .partition_point(|&start| start <= at)
            .saturating_sub(1)
    };
    let mut runs: Vec<Range<usize>> = Vec::new();
    for edit in edits {
        let (start, end) = (edit.span.start(), edit.span.end());
        let mut first = entry_at(start);
        if first > 0 && starts[first] == start {
            first -= 1;
        }
        let last = entry_at(if end > start { end - 1 } else { start }).max(first);
        match runs.last_mut() {
            Some(run) if first <= run.end => run.end = run.end.max(last + 1),
            _ => runs.push(first..last + 1),
        }
    }
    runs
}

/// The original tree's nodes of `entries`: from the first key to the node
/// before the next entry's key.
fn node_range(tree: &Tree, keys: &[NodeId], entries: &Range<usize>) -> Range<NodeId> {
    let end = keys.get(entries.end).copied().unwrap_or(tree.end_id());
    keys[entries.start]..end
}

/// Stand-in anchors for the aliases in `nodes` whose anchors come before
/// `from`, as the first entry of the window's document; `None` when a name
/// cannot be written as one.
fn prelude(text: &str, tree: &Tree, nodes: &Range<NodeId>, from: usize) -> Option<String> {
    let mut names: Vec<&str> = Vec::new();
    for id in nodes.start.up_to(nodes.end) {
        let NodeKind::Alias { target } = tree.node(id).kind() else {
            continue;
        };
        if tree.start(target) >= from {
            continue;
        }
        let name = tree.anchor(target)?.slice(text);
        let simple = name.len() > 1 && !name.contains(|c: char| c.is_whitespace());
        if !simple {
            return None;
        }
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return Some(String::new());
    }
    let mut prelude = String::from("kaniko2buildkit-stand-in-anchors:\n");
    for name in names {
        prelude.push_str("- ");
        prelude.push_str(name);
        prelude.push_str(" ~\n");
    }
    Some(prelude)
}

/// The window's rewritten text ends before the next key on a line of its
/// own and starts no document.
fn window_holds(original: &str, rewritten: &str, window: &Window) -> bool {
    let ends_at_key = window.original.end < original.len();
    let ends_in_line_break = !ends_at_key
        || rewritten
            .as_bytes()
            .get(window.rewritten.end.wrapping_sub(1))
            == Some(&b'\n');
    let old = &original[window.original.clone()];
    let new = &rewritten[window.rewritten.clone()];
    ends_in_line_break && count_marker_lines(old) == count_marker_lines(new) && !has_directive(new)
}

/// Splices the rewritten file's tree: the original's entries between the
/// windows, moved, and each window's own parse. `None` when a window does
/// not parse on its own as the same number of entries. In a debug build
/// (the test suite) the splice is compared with a parse of the whole text.
pub fn splice(
    original: &str,
    tree: &Arc<Tree>,
    rewritten: &str,
    windows: &[Window],
) -> Option<Tree> {
    let spliced = splice_windows(original, tree, rewritten, windows)?;
    #[cfg(debug_assertions)]
    if let Ok(parsed) = Tree::parse(rewritten) {
        crate::yaml::splice::assert_same(&spliced, &parsed, rewritten);
    } else {
        panic!("a splice was made of a text that does not parse");
    }
    Some(spliced)
}

fn splice_windows(
    original: &str,
    tree: &Arc<Tree>,
    rewritten: &str,
    windows: &[Window],
) -> Option<Tree> {
    let total = tree.entry_keys().len();
    let mut splicer = Splicer::new(tree, window_nodes(windows));
    // The original's entries outside the windows, `shift` bytes on.
    let between = |entries, shift| Piece {
        tree,
        text: original,
        entries,
        shift,
    };
    let mut root_start = tree.node(tree.root()?).span.start();
    let mut next = 0;
    // Each window's text and tree are dropped once copied.
    for window in windows {
        if next < window.entries.start {
            // The text between windows moved by the edits before it.
            let shift = window.rewritten.start as isize - window.original.start as isize;
            splicer
                .add(&between(next..window.entries.start, shift))
                .ok()?;
        }
        let document = window.document(rewritten, &window.rewritten);
        let parsed = Tree::parse(&document).ok()?;
        let skip = usize::from(window.has_prelude());
        let entries = parsed.entry_keys().len();
        if parsed.document() != 0
            || !has_block_root(&parsed)
            || entries != skip + window.entries.len()
        {
            return None;
        }
        if window.original.start == 0 {
            root_start = parsed.node(parsed.root()?).span.start();
        }
        splicer
            .add(&Piece {
                tree: &parsed,
                text: &document,
                entries: skip..skip + window.entries.len(),
                shift: window.rewritten.start as isize - window.prelude.len() as isize,
            })
            .ok()?;
        next = window.entries.end;
    }
    if next < total {
        let last = windows.last()?;
        let shift = last.rewritten.end as isize - last.original.end as isize;
        splicer.add(&between(next..total, shift)).ok()?;
    }
    Some(splicer.finish(rewritten, root_start))
}

/// About how many nodes the windows' trees have: the original's, grown or
/// shrunk with their bytes. Room a guess leaves unused is never touched,
/// and so never resident.
fn window_nodes(windows: &[Window]) -> usize {
    let count = |nodes: &Range<NodeId>| nodes.start.count_to(nodes.end);
    let inside: usize = windows
        .iter()
        .map(|window| {
            let (before, after) = (window.original.len().max(1), window.rewritten.len());
            (count(&window.nodes) * after).div_ceil(before)
        })
        .sum();
    inside + inside / 8
}

/// Whether the tree's root is a block mapping, whose keys windows are cut
/// at.
fn has_block_root(tree: &Tree) -> bool {
    tree.root().is_some_and(|root| {
        matches!(
            tree.node(root).kind(),
            NodeKind::Mapping { flow: false, .. }
        )
    })
}

/// Whether a line of `text` starts a document or ends one.
fn has_marker_line(text: &str) -> bool {
    count_marker_lines(text) > 0
}

fn count_marker_lines(text: &str) -> usize {
    let is_marker = |line: &&str| line[3..].chars().next().is_none_or(char::is_whitespace);
    lines_starting_with(text, "\n---").filter(is_marker).count()
        + lines_starting_with(text, "\n...").filter(is_marker).count()
}

/// Whether a line of `text` is a directive (`%YAML`, `%TAG`).
fn has_directive(text: &str) -> bool {
    lines_starting_with(text, "\n%").next().is_some()
}

/// The lines of `text` (without their `\n`) that start with what follows
/// the `\n` of `marker`, found by one SIMD search for the line break and
/// the marker together: these ran on both texts of every window, and most
/// hold no such line.
fn lines_starting_with<'t>(text: &'t str, marker: &'static str) -> impl Iterator<Item = &'t str> {
    let first = text.starts_with(&marker[1..]).then_some(0);
    let later = memchr::memmem::find_iter(text.as_bytes(), marker).map(|at| at + 1);
    first.into_iter().chain(later).map(|start| {
        let end =
            memchr::memchr(b'\n', &text.as_bytes()[start..]).map_or(text.len(), |n| start + n);
        &text[start..end]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::verify::{Expected, verify};
    use crate::rewrite::{Edit, apply, apply_placed, reread_verified};
    use crate::span::Span;

    /// Where `edits` land in `original`'s rewrite.
    fn placed(original: &str, edits: &[Edit]) -> Vec<Applied> {
        apply_placed(original, edits).unwrap().1
    }

    /// A pipeline of `jobs` jobs merging an anchor defined at the top.
    fn pipeline(jobs: usize) -> String {
        let mut text = String::from(".base: &base\n  image: alpine\n  tags: [docker]\n\n");
        for i in 0..jobs {
            text += &format!("job-{i}:\n  <<: *base\n  script:\n    - make {i}\n\n");
        }
        text
    }

    /// Replaces the scalar `old` (its first occurrence) with `new`.
    fn set(text: &str, tree: &Tree, old: &str, new: &str) -> (Edit, Change) {
        let node = tree
            .node_ids()
            .find(|&id| tree.scalar(text, id).as_deref() == Some(old))
            .unwrap();
        let edit = Edit::replace(tree.node(node).span, new);
        let change = Change::Set {
            node,
            value: Expected::string(new),
        };
        (edit, change)
    }

    /// Reads and verifies `rewritten` as the migration does; returns the
    /// windows it was cut into, if any.
    fn check(
        original: &str,
        tree: &Arc<Tree>,
        edits: &[Edit],
        rewritten: &str,
        changes: &[Change],
    ) -> Result<Option<Vec<Window>>, String> {
        let applied = placed(original, edits);
        reread_verified(original, tree, &applied, rewritten, changes)?;
        let windows = cut(original, tree, &applied, rewritten, changes);
        Ok(windows.filter(|windows| splice(original, tree, rewritten, windows).is_some()))
    }

    #[test]
    fn one_changed_job_is_read_as_one_window() {
        let original = pipeline(50);
        let tree = Arc::new(Tree::parse(&original).unwrap());
        let (edit, change) = set(&original, &tree, "make 20", "build 20");
        let rewritten = apply(&original, std::slice::from_ref(&edit)).unwrap();
        let windows = check(&original, &tree, &[edit], &rewritten, &[change])
            .unwrap()
            .expect("windows");
        assert_eq!(windows.len(), 1);
        // The job and the one before it: the edit does not touch its start.
        assert_eq!(windows[0].entries, 21..22);
        assert!(windows[0].has_prelude(), "the window names `*base`");
        assert_eq!(windows[0].key_text(&tree, &original), "job-20");
    }

    #[test]
    fn aliases_outside_the_windows_name_the_rewritten_anchor() {
        // The anchored template gains two nodes: every job after it is
        // shared with the original, its ids moved by two, and its `*base`
        // must now name the template's new id.
        let original = pipeline(20);
        let tree = Arc::new(Tree::parse(&original).unwrap());
        let node = tree
            .node_ids()
            .find(|&id| tree.scalar(&original, id).as_deref() == Some("alpine"))
            .unwrap();
        let edit = Edit::replace(tree.node(node).span, "[alpine, busybox]");
        let items = ["alpine", "busybox"].map(Expected::string);
        let change = Change::Set {
            node,
            value: Expected::Seq(items.to_vec()),
        };
        let rewritten = apply(&original, std::slice::from_ref(&edit)).unwrap();
        let applied = placed(&original, std::slice::from_ref(&edit));
        let changes = std::slice::from_ref(&change);
        let windows = cut(&original, &tree, &applied, &rewritten, changes).expect("windows");
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].entries, 0..1);
        let spliced = splice(&original, &tree, &rewritten, &windows).expect("a splice");
        let parsed = Tree::parse(&rewritten).unwrap();
        assert_eq!(spliced.len(), tree.len() + 2);
        assert_eq!(spliced.len(), parsed.len());
        for id in parsed.node_ids() {
            assert_eq!(spliced.node(id).span, parsed.node(id).span, "{id:?}");
            assert_eq!(spliced.deref(id), parsed.deref(id), "{id:?}");
            assert_eq!(spliced.after(id), parsed.after(id), "{id:?}");
            assert_eq!(
                spliced.scalar(&rewritten, id),
                parsed.scalar(&rewritten, id)
            );
        }
        reread_verified(&original, &tree, &applied, &rewritten, changes).unwrap();
    }

    #[test]
    fn a_leak_inside_a_window_is_refused_by_each_parser() {
        let original = pipeline(5);
        let tree = Arc::new(Tree::parse(&original).unwrap());
        let (edit, change) = set(&original, &tree, "make 2", "build 2");
        // The edit's text also changes the job's key: a leak.
        let leaked = Edit::replace(edit.span, "build 2\n  extra: 1");
        let rewritten = apply(&original, std::slice::from_ref(&leaked)).unwrap();
        let changes = std::slice::from_ref(&change);
        let leaked = &placed(&original, std::slice::from_ref(&leaked));
        let windows = cut(&original, &tree, leaked, &rewritten, changes).expect("windows");
        let spliced = splice(&original, &tree, &rewritten, &windows).unwrap();
        let refused = verify(
            &original,
            &tree,
            &rewritten,
            &spliced,
            changes,
            Some(&windows),
        );
        assert!(refused.is_err(), "{refused:?}");
        assert!(reread_verified(&original, &tree, leaked, &rewritten, changes).is_err());
    }

    #[test]
    fn an_edit_that_joins_two_entries_is_read_in_full() {
        let original = "a: old\nb: 1\n";
        let tree = Arc::new(Tree::parse(original).unwrap());
        let node = tree
            .node_ids()
            .find(|&id| tree.scalar(original, id).as_deref() == Some("old"))
            .unwrap();
        // Replaces `old\n`: the next key now continues the line.
        let edit = Edit::replace(Span::new(3, 7), "new ");
        let rewritten = apply(original, std::slice::from_ref(&edit)).unwrap();
        let change = Change::Set {
            node,
            value: Expected::string("new"),
        };
        // `a: new b: 1` is read in full, where it does not parse.
        assert!(
            cut(
                original,
                &tree,
                &placed(original, std::slice::from_ref(&edit)),
                &rewritten,
                std::slice::from_ref(&change)
            )
            .is_none()
        );
        let applied = placed(original, &[edit]);
        assert!(reread_verified(original, &tree, &applied, &rewritten, &[change]).is_err());
    }

    #[test]
    fn files_that_cannot_be_cut_are_read_in_full() {
        for original in [
            "{a: old, b: 1}\n",
            "a: old\n---\nb: 1\n",
            "%YAML 1.2\n---\na: old\n",
            "  a: old\n  b: 1\n",
            "? a\n: old\n",
        ] {
            let tree = Arc::new(Tree::parse(original).unwrap());
            let (edit, change) = set(original, &tree, "old", "new");
            let rewritten = apply(original, std::slice::from_ref(&edit)).unwrap();
            let windows = check(original, &tree, &[edit], &rewritten, &[change])
                .unwrap_or_else(|e| panic!("{original:?}: {e}"));
            assert!(windows.is_none(), "{original:?}");
        }
    }

    #[test]
    fn a_renamed_anchor_the_rest_of_the_file_names_is_refused() {
        let original = "a: &x old\nb: *x\n";
        let tree = Arc::new(Tree::parse(original).unwrap());
        let (_, change) = set(original, &tree, "old", "new");
        // The edit also renames the anchor (its span is before the node's).
        let edit = Edit::replace(Span::new(3, 9), "&y new");
        let rewritten = apply(original, std::slice::from_ref(&edit)).unwrap();
        assert!(check(original, &tree, &[edit], &rewritten, &[change]).is_err());
    }

    #[test]
    fn an_anchor_moved_inside_a_window_is_refused() {
        let original = "a:\n  k: &x old\n  l: 1\nb: *x\n";
        let tree = Arc::new(Tree::parse(original).unwrap());
        let (_, change) = set(original, &tree, "old", "new");
        // `&x` moves from `k` to `l`: `b` would read `1`.
        let rewritten = "a:\n  k: new\n  l: &x 1\nb: *x\n";
        let edit = Edit::replace(Span::new(8, 19), "new\n  l: &x");
        assert_eq!(
            apply(original, std::slice::from_ref(&edit)).unwrap(),
            rewritten
        );
        assert!(check(original, &tree, &[edit], rewritten, &[change]).is_err());
    }

    /// A top-level entry of a generated pipeline: anchors, aliases, flow
    /// and block collections, block scalars, comments.
    fn entry() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let word = "[a-z]{1,6}";
        prop_oneof![
            (word, word)
                .prop_map(|(a, b)| format!(".t-{a}: &t{a}\n  image: {b}\n  tags: [{a}, {b}]\n")),
            (word, word).prop_map(|(a, b)| format!(
                "job-{a}:\n  <<: *base\n  script:\n    - make {b}\n    - |\n      echo {a}\n"
            )),
            (word, word)
                .prop_map(|(a, b)| format!("# {a}\nvars-{a}: {{A: \"{b}\", B: '{a}'}}\n\n")),
            (word, word)
                .prop_map(|(a, b)| format!("list-{a}:\n  - {b}\n  - *base\n  - key: {a} # note\n")),
            (word, word).prop_map(|(a, b)| format!("plain-{a}: {b}\n  continued {a}\n")),
        ]
    }

    /// Text an edit may write: the intended word, or the word with a leak.
    fn replacement() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        let leak = prop_oneof![
            Just(""),
            Just("\nextra: 1"),
            Just("\n---\nx: 1"),
            Just("\n%TAG ! tag:x,2000:"),
            Just(" &base"),
            Just(" *base"),
            Just("\n  - y"),
            Just(" #"),
            Just(": z"),
            Just("\""),
            Just("["),
            Just("\n"),
            Just("\nplain-x: 1"),
        ];
        ("[a-z]{1,6}", leak).prop_map(|(word, leak)| (word.clone(), format!("{word}{leak}")))
    }

    proptest::proptest! {
        #[test]
        fn marker_and_directive_lines_are_those_a_line_by_line_reading_finds(
            text in "[-.%a \\r\\n]{0,40}"
        ) {
            let lines = || text.split('\n');
            let markers = lines()
                .filter(|line| {
                    (line.starts_with("---") || line.starts_with("..."))
                        && line[3..].chars().next().is_none_or(|c| c.is_whitespace())
                })
                .count();
            proptest::prop_assert_eq!(count_marker_lines(&text), markers);
            proptest::prop_assert_eq!(has_directive(&text), lines().any(|line| line.starts_with('%')));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Reading only the windows accepts exactly the rewrites that
        /// reading the whole rewritten text accepts.
        #[test]
        fn windows_agree_with_a_full_reading(
            entries in proptest::collection::vec(entry(), 1..8),
            pick in proptest::prelude::any::<proptest::sample::Index>(),
            (word, written) in replacement(),
        ) {
            let original = format!(".base: &base\n  image: alpine\n{}", entries.concat());
            let Ok(tree) = Tree::parse(&original) else {
                return Ok(());
            };
            let tree = Arc::new(tree);
            let values: Vec<NodeId> = tree
                .node_ids()
                .filter(|&id| tree.scalar(&original, id).is_some() && tree.owner(id).is_some())
                .collect();
            let node = *pick.get(&values);
            let edit = Edit::replace(tree.node(node).span, written);
            let change = Change::Set { node, value: Expected::string(&word) };
            let rewritten = apply(&original, std::slice::from_ref(&edit)).unwrap();
            let applied = placed(&original, std::slice::from_ref(&edit));
            let windowed = reread_verified(&original, &tree, &applied, &rewritten, std::slice::from_ref(&change));
            let full = Tree::parse(&rewritten)
                .map_err(|e| e.message)
                .and_then(|new| verify(&original, &tree, &rewritten, &new, std::slice::from_ref(&change), None));
            proptest::prop_assert_eq!(windowed.is_ok(), full.is_ok(), "{:?}\n{:?}\n{:?}", rewritten, windowed.err(), full.err());
        }
    }
}
