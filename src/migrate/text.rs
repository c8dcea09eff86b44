//! Line-level helpers for placing new text in a YAML file.

use crate::gitlab::yaml::{NodeId, NodeKind, ScalarStyle, Tree};
use crate::rewrite::encode::Layout;
use crate::span::Span;

pub fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |p| p + 1)
}

/// End of the line holding `at`, before its line break.
pub fn line_end(text: &str, at: usize) -> usize {
    let end = text[at..].find('\n').map_or(text.len(), |p| at + p);
    if end > at && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// After the line break of the line holding `at`.
pub fn next_line(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |p| at + p + 1)
}

/// The line break the file uses.
pub fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Leading spaces of the line holding `at`.
pub fn indentation(text: &str, at: usize) -> String {
    let start = line_start(text, at);
    text[start..].chars().take_while(|&c| c == ' ').collect()
}

/// True when only spaces stand between the line start and `at`.
pub fn starts_line(text: &str, at: usize) -> bool {
    text[line_start(text, at)..at].bytes().all(|b| b == b' ')
}

/// How to lay out new lines inside a scalar.
pub fn layout(text: &str, tree: &Tree, node: NodeId) -> Option<Layout> {
    let scalar = tree.node(node);
    let NodeKind::Scalar { style, .. } = scalar.kind else {
        return None;
    };
    let span = scalar.span;
    let indent = match style {
        ScalarStyle::Literal { .. } | ScalarStyle::Folded { .. } => block_indent(text, span),
        ScalarStyle::Plain => plain_indent(text, span),
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => String::new(),
    };
    Some(Layout {
        style,
        indent,
        line_end: line_ending(text),
        in_flow: in_flow(tree, node),
    })
}

/// The content indentation of a block scalar: its first non-blank content line's.
fn block_indent(text: &str, span: Span) -> String {
    let mut line = next_line(text, span.start());
    while line < span.end() {
        let end = line_end(text, line);
        if !text[line..end].trim().is_empty() {
            return indentation(text, line);
        }
        line = next_line(text, line);
    }
    String::new()
}

/// Continuation lines of a plain scalar: as its existing ones, or at the
/// column where it starts (deeper than its parent, as YAML requires).
fn plain_indent(text: &str, span: Span) -> String {
    let second = next_line(text, span.start());
    if second < span.end() {
        return indentation(text, second);
    }
    " ".repeat(
        text[line_start(text, span.start())..span.start()]
            .chars()
            .count(),
    )
}

/// The value node of `key` in a mapping.
pub fn get(tree: &Tree, text: &str, mapping: NodeId, key: &str) -> Option<(NodeId, NodeId)> {
    tree.pairs(mapping)
        .find(|&(k, _)| tree.scalar(text, tree.deref(k)) == Some(key))
}

/// True when the mapping is written in flow style (`{a: b}`).
pub fn is_flow(tree: &Tree, node: NodeId) -> bool {
    matches!(
        tree.node(node).kind,
        NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
    )
}

/// True when the mapping takes keys from `<<` merges.
pub fn has_merge_key(tree: &Tree, text: &str, mapping: NodeId) -> bool {
    get(tree, text, mapping, "<<").is_some()
}

/// The block or flow sequence that holds `node` as an item, and its index.
pub fn item_of(tree: &Tree, node: NodeId) -> Option<(NodeId, usize)> {
    tree.node_ids()
        .filter(|&id| tree.is_sequence(id))
        .find_map(|id| {
            tree.items(id)
                .iter()
                .position(|&item| item == node)
                .map(|index| (id, index))
        })
}

/// True when the node sits inside a flow collection.
fn in_flow(tree: &Tree, node: NodeId) -> bool {
    let parent = item_of(tree, node)
        .map(|(sequence, _)| sequence)
        .or_else(|| tree.owner(node).map(|(mapping, _)| mapping));
    parent.is_some_and(|parent| is_flow(tree, parent))
}
