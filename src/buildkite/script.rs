//! Shell text assembled from one or more YAML values, with every byte
//! traceable to its place in the file.
//!
//! A step's `commands:` list is one script (Buildkite joins the items with
//! newlines); a container's `command:` lines take its `args:` at the end of
//! the last line; an exec-form list (the k8s and docker plugins' `command:`)
//! is one argument per item, written here as one shell word per item so
//! that the shared Kaniko flag reader reads it.

use std::ops::Range;

use super::interpolate::{AgentText, UPLOAD_PREFIX};
use crate::span::Span;
use crate::yaml::scalar::SourceMap;
use crate::yaml::{NodeId, Tree};

#[derive(Debug, Default)]
pub struct Script {
    pub text: String,
    pieces: Vec<Piece>,
}

#[derive(Debug)]
struct Piece {
    range: Range<usize>,
    node: NodeId,
    span: Span,
    /// For shell text: the value as the agent reads it, and where its
    /// decoded bytes are in the file. `None` for an exec-form item, which
    /// maps to the item as a whole.
    agent: Option<(AgentText, Option<SourceMap>)>,
}

/// Where a range of the script comes from.
#[derive(Debug, PartialEq, Eq)]
pub struct Origin {
    pub node: NodeId,
    /// The range in the node's decoded value.
    pub decoded: Range<usize>,
}

impl Script {
    /// Appends a scalar's value as shell text, after `separator`.
    pub fn push_shell(&mut self, tree: &Tree, text: &str, node: NodeId, separator: &str) {
        let Some(decoded) = tree.scalar(text, node) else {
            return;
        };
        if !self.text.is_empty() {
            self.text.push_str(separator);
        }
        let agent = AgentText::new(&decoded);
        let map = SourceMap::of_node(text, tree.node(node), &decoded);
        let start = self.text.len();
        self.text.push_str(&agent.text);
        self.pieces.push(Piece {
            range: start..self.text.len(),
            node,
            span: tree.node(node).span,
            agent: Some((agent, map)),
        });
    }

    /// Appends an exec-form item as one shell word whose value is the item
    /// as the program receives it; upload-time variables stay variables.
    pub fn push_argument(&mut self, tree: &Tree, text: &str, node: NodeId) {
        let Some(decoded) = tree.scalar(text, node) else {
            return;
        };
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        let start = self.text.len();
        self.text
            .push_str(&argument_word(&AgentText::new(&decoded).text));
        self.pieces.push(Piece {
            range: start..self.text.len(),
            node,
            span: tree.node(node).span,
            agent: None,
        });
    }

    /// The file span of a range of the script.
    pub fn span_of(&self, range: Range<usize>) -> Span {
        let Some(first) = self.piece_at(range.start) else {
            return Span::default();
        };
        let last = self
            .piece_at(range.end.saturating_sub(1).max(range.start))
            .unwrap_or(first);
        let start = self.local_span(first, range.start..range.end.min(first.range.end));
        let end = self.local_span(last, range.start.max(last.range.start)..range.end);
        Span::new(start.start(), end.end().max(start.start()))
    }

    fn piece_at(&self, at: usize) -> Option<&Piece> {
        self.pieces
            .iter()
            .rev()
            .find(|p| p.range.start <= at)
            .or(self.pieces.first())
    }

    fn local_span(&self, piece: &Piece, range: Range<usize>) -> Span {
        let Some((agent, Some(map))) = &piece.agent else {
            return piece.span;
        };
        let local = range.start.saturating_sub(piece.range.start)
            ..range
                .end
                .min(piece.range.end)
                .saturating_sub(piece.range.start);
        let decoded = agent.decoded_range(local.start..local.end.max(local.start));
        map.span_of(decoded.start, decoded.end)
    }

    /// The one shell value a range lies in, and the range in its decoded
    /// text; `None` when it spans several values or an exec-form item.
    pub fn origin(&self, range: Range<usize>) -> Option<Origin> {
        let piece = self
            .pieces
            .iter()
            .find(|p| p.range.start <= range.start && range.end <= p.range.end)?;
        let (agent, _) = piece.agent.as_ref()?;
        let local = range.start - piece.range.start..range.end - piece.range.start;
        Some(Origin {
            node: piece.node,
            decoded: agent.decoded_range(local),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.pieces.is_empty()
    }
}

/// One shell word whose value is `agent`, with `${__k2b_upload_X}` kept as
/// an expansion: plain text as it is, anything else in single quotes.
fn argument_word(agent: &str) -> String {
    let mut word = String::new();
    let mut rest = agent;
    while !rest.is_empty() {
        let upload = rest
            .find(&format!("${{{UPLOAD_PREFIX}"))
            .into_iter()
            .chain(rest.find(&format!("${UPLOAD_PREFIX}")))
            .min();
        let (literal, tail) = match upload {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        word.push_str(&literal_word(literal));
        if tail.is_empty() {
            break;
        }
        let len = variable_len(tail);
        word.push('"');
        word.push_str(&tail[..len]);
        word.push('"');
        rest = &tail[len..];
    }
    if word.is_empty() {
        word.push_str("''");
    }
    word
}

/// Literal text as shell text: its plain start as it is (so that a
/// `--flag=` stays readable to the flag reader), the rest in single quotes.
fn literal_word(text: &str) -> String {
    let plain = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b',' | b'@' | b'+' | b'%'
            )
    };
    let cut = text.bytes().position(|b| !plain(b)).unwrap_or(text.len());
    let (head, rest) = text.split_at(cut);
    if rest.is_empty() {
        head.to_string()
    } else {
        format!("{head}'{}'", rest.replace('\'', "'\\''"))
    }
}

/// `$__k2b_upload_NAME` or `${__k2b_upload_NAME...}` at the start of text.
fn variable_len(text: &str) -> usize {
    if text.starts_with("${") {
        return text.find('}').map_or(text.len(), |end| end + 1);
    }
    1 + text[1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kaniko::shell;

    #[test]
    fn exec_items_are_one_word_each() {
        let text = "- --destination=x/y:$TAG\n- --label=a b\n- ''\n- --cache-dir=$$HOME/c\n";
        let tree = Tree::parse(text).unwrap();
        let mut script = Script::default();
        let list = tree.root().unwrap();
        for item in tree.items(list) {
            script.push_argument(&tree, text, item);
        }
        let commands = shell::commands(&script.text);
        let values: Vec<&str> = commands[0].words.iter().map(|w| w.value.as_str()).collect();
        assert_eq!(
            values,
            [
                "--destination=x/y:$__k2b_upload_TAG",
                "--label=a b",
                "",
                "--cache-dir=$HOME/c"
            ]
        );
        let second = &commands[0].words[1];
        assert_eq!(
            script.span_of(second.range.clone()).slice(text),
            "--label=a b"
        );
    }

    #[test]
    fn shell_pieces_map_to_their_values() {
        let text = "- echo a\n- |\n  /kaniko/executor --destination \"$$R\"\n";
        let tree = Tree::parse(text).unwrap();
        let mut script = Script::default();
        for item in tree.items(tree.root().unwrap()) {
            script.push_shell(&tree, text, item, "\n");
        }
        let at = script.text.find("--destination").unwrap();
        let end = script.text.len() - 1;
        assert_eq!(script.span_of(at..end).slice(text), "--destination \"$$R\"");
        let origin = script.origin(at..end).unwrap();
        assert_eq!(origin.decoded, 17..36);
    }
}
