//! Line-level helpers for placing new text in a YAML file.

use crate::rewrite::encode::Layout;
use crate::span::Span;
use crate::yaml::{NodeId, NodeKind, ScalarStyle, Tree};
pub(crate) use crate::yaml::{line_end, line_start, next_line};

/// The line break the file uses.
/// Read from the first line, as editors do: scanning the whole file for
/// every edit made large rewrites quadratic.
pub fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(end) if text[..end].ends_with('\r') => "\r\n",
        _ => "\n",
    }
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
    let NodeKind::Scalar { style, .. } = scalar.kind() else {
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
        .find(|&(k, _)| tree.scalar(text, tree.deref(k)).as_deref() == Some(key))
}

/// True when the mapping is written in flow style (`{a: b}`).
pub fn is_flow(tree: &Tree, node: NodeId) -> bool {
    matches!(
        tree.node(node).kind(),
        NodeKind::Mapping { flow: true, .. } | NodeKind::Sequence { flow: true, .. }
    )
}

/// True when the mapping takes keys from `<<` merges.
pub fn has_merge_key(tree: &Tree, text: &str, mapping: NodeId) -> bool {
    get(tree, text, mapping, "<<").is_some()
}

/// True when the node sits inside a flow collection.
fn in_flow(tree: &Tree, node: NodeId) -> bool {
    let parent = tree
        .item_of(node)
        .map(|(sequence, _)| sequence)
        .or_else(|| tree.owner(node).map(|(mapping, _)| mapping));
    parent.is_some_and(|parent| is_flow(tree, parent))
}
