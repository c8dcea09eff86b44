//! YAML edits for the Buildkite migration, each paired with the change
//! verification expects: set a scalar, replace a sequence, append an item,
//! add a key at the end of a block mapping. Everything outside the edited
//! spans stays byte for byte.

use crate::migrate::text::{self, line_end};
use crate::rewrite::Edit;
use crate::rewrite::encode::double_quoted;
use crate::rewrite::verify::{Change, Expected};
use crate::span::Span;
use crate::yaml::{NodeId, NodeKind, ScalarStyle, Tree};

/// A new value, as YAML text at a given indentation and as its reading.
#[derive(Clone, Debug)]
pub enum Value {
    Str(String),
    /// A plain scalar YAML reads as a boolean or a number (`true`, `1000`).
    Plain(String),
    /// A sequence of strings.
    Seq(Vec<String>),
    /// A literal block scalar (`|`), which reads as the text plus a newline.
    Block(String),
    /// A mapping, written in block style.
    Map(Vec<(String, Value)>),
    /// A sequence written in block style, each item in flow style.
    Items(Vec<Value>),
    /// An item written as a flow mapping of strings (`{name: a, value: b}`).
    Flow(Vec<(String, Value)>),
}

impl Value {
    pub fn expected(&self) -> Expected {
        match self {
            Value::Str(s) => Expected::string(s),
            Value::Plain(s) => Expected::Plain(s.clone()),
            Value::Seq(items) => Expected::Seq(items.iter().map(|i| Expected::string(i)).collect()),
            Value::Block(s) => Expected::string(&format!("{s}\n")),
            Value::Items(items) => Expected::Seq(items.iter().map(Value::expected).collect()),
            Value::Map(pairs) | Value::Flow(pairs) => Expected::Map(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.expected()))
                    .collect(),
            ),
        }
    }

    /// The text after `key:` (with its leading space or line break), for a
    /// key at `indent` spaces.
    fn after_key(&self, indent: usize, eol: &str) -> String {
        let inner = " ".repeat(indent + 2);
        match self {
            Value::Str(s) => format!(" {}", scalar(s)),
            Value::Plain(s) => format!(" {s}"),
            Value::Seq(items) => items
                .iter()
                .map(|i| format!("{eol}{inner}- {}", scalar(i)))
                .collect(),
            Value::Block(s) => {
                let mut out = " |".to_string();
                for line in s.lines() {
                    out.push_str(eol);
                    if !line.is_empty() {
                        out.push_str(&inner);
                        out.push_str(line);
                    }
                }
                out
            }
            Value::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| format!("{eol}{inner}{k}:{}", v.after_key(indent + 2, eol)))
                .collect(),
            Value::Flow(_) => format!(" {}", self.flow()),
            Value::Items(items) => items
                .iter()
                .map(|i| format!("{eol}{inner}- {}", i.flow()))
                .collect(),
        }
    }

    /// The value in flow style, on one line.
    pub fn flow(&self) -> String {
        match self {
            Value::Str(s) => scalar(s),
            Value::Plain(s) => s.clone(),
            Value::Seq(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| double_quoted(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Value::Block(s) => double_quoted(&format!("{s}\n")),
            Value::Items(items) => format!(
                "[{}]",
                items.iter().map(Value::flow).collect::<Vec<_>>().join(", ")
            ),
            Value::Map(pairs) | Value::Flow(pairs) if pairs.is_empty() => "{}".to_string(),
            Value::Map(pairs) | Value::Flow(pairs) => format!(
                "{{ {} }}",
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", v.flow()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A string as a YAML scalar: plain when it reads back as the same string,
/// else double-quoted.
pub fn scalar(value: &str) -> String {
    let safe = !value.is_empty()
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b',' | b'@' | b'+' | b'%' | b'~'
                )
        })
        && !value.starts_with(['-', ':', '~', '@', '%', ','])
        && !value.ends_with(':')
        && !value.contains(": ")
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && value.parse::<f64>().is_err()
        && !value.starts_with("0x")
        && !value.starts_with("0o");
    let flag = value.starts_with("--")
        && value.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'_' | b'.' | b'/' | b':' | b'=' | b',' | b'@' | b'+'
                )
        })
        && !value.ends_with(':');
    if safe || flag {
        value.to_string()
    } else {
        double_quoted(value)
    }
}

/// A sequence item: a script of several lines as a literal block (`|-`,
/// which reads back without a final newline), anything else as a scalar.
fn block_item(value: &str, indent: &str, eol: &str) -> String {
    let literal = value.contains('\n')
        && !value.starts_with([' ', '\t'])
        && !value.ends_with('\n')
        && !value.contains('\r')
        && value
            .lines()
            .all(|line| line.chars().all(|c| !c.is_control() || c == '\t'));
    if !literal {
        return scalar(value);
    }
    let inner = format!("{indent}  ");
    let mut out = "|-".to_string();
    for line in value.split('\n') {
        out.push_str(eol);
        if !line.is_empty() {
            out.push_str(&inner);
            out.push_str(line);
        }
    }
    out
}

/// Edits and their intended changes, on one file.
pub struct Editor<'a> {
    pub tree: &'a Tree,
    pub text: &'a str,
    /// Each edit with its rank among insertions at the same offset.
    edits: Vec<(Edit, usize)>,
    pub changes: Vec<Change>,
}

impl<'a> Editor<'a> {
    pub fn new(tree: &'a Tree, text: &'a str) -> Self {
        Editor {
            tree,
            text,
            edits: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// Adds an edit. Insertions at one offset land by `rank`, lowest first:
    /// items appended to a list before keys added after it, keys of a
    /// deeper mapping before those of the mapping that holds it.
    pub fn push(&mut self, edit: Edit, rank: usize) {
        self.edits.push((edit, rank));
    }

    /// The edits in the order they apply.
    pub fn edits(&self) -> Vec<Edit> {
        let mut edits = self.edits.clone();
        edits.sort_by_key(|(e, rank)| (e.span.start(), e.span.end(), *rank));
        edits.into_iter().map(|(e, _)| e).collect()
    }

    /// How many collections hold `node`.
    fn depth(&self, mut node: NodeId) -> usize {
        let mut depth = 0;
        while let Some(parent) = self
            .tree
            .owner(node)
            .map(|(m, _)| m)
            .or_else(|| self.tree.item_of(node).map(|(s, _)| s))
        {
            depth += 1;
            node = parent;
        }
        depth
    }

    fn eol(&self) -> &'static str {
        text::line_ending(self.text)
    }

    fn column(&self, at: usize) -> usize {
        self.text[text::line_start(self.text, at)..at]
            .chars()
            .count()
    }

    /// A scalar gets a new value, in its own quoting style where it can.
    pub fn set_scalar(&mut self, node: NodeId, value: &str) {
        let span = self.tree.node(node).span;
        let written = match self.tree.node(node).kind() {
            NodeKind::Scalar {
                style: ScalarStyle::SingleQuoted,
                ..
            } if !value.contains('\n') => format!("'{}'", value.replace('\'', "''")),
            NodeKind::Scalar {
                style: ScalarStyle::DoubleQuoted,
                ..
            } => double_quoted(value),
            _ if text::is_flow(self.tree, self.parent(node)) => double_quoted(value),
            _ => scalar(value),
        };
        self.push(Edit::replace(span, written), 0);
        self.changes.push(Change::Set {
            node,
            value: Expected::string(value),
        });
    }

    fn parent(&self, node: NodeId) -> NodeId {
        self.tree
            .owner(node)
            .map(|(m, _)| m)
            .or_else(|| self.tree.item_of(node).map(|(s, _)| s))
            .unwrap_or(node)
    }

    /// Replaces a node (a sequence, usually) with a sequence of strings, in
    /// the style the node was written in.
    pub fn set_seq(&mut self, node: NodeId, items: &[String]) {
        let span = self.tree.node(node).span;
        let value = Value::Seq(items.to_vec());
        let block =
            self.tree.is_sequence(node) && !text::is_flow(self.tree, node) && !items.is_empty();
        let written = if block {
            let indent = " ".repeat(self.column(span.start()));
            let eol = self.eol();
            items
                .iter()
                .map(|i| format!("- {}", block_item(i, &indent, eol)))
                .collect::<Vec<_>>()
                .join(&format!("{eol}{indent}"))
        } else {
            value.flow()
        };
        self.push(Edit::replace(span, written), 0);
        self.changes.push(Change::Set {
            node,
            value: value.expected(),
        });
    }

    /// Adds `key: value` at the end of a block mapping. `None` when the
    /// mapping is written in flow style or is empty.
    pub fn insert_key(&mut self, mapping: NodeId, key: &str, value: Value) -> Option<()> {
        if text::is_flow(self.tree, mapping) {
            return None;
        }
        let (first_key, _) = self.tree.pairs(mapping).next()?;
        let indent = self.column(self.tree.node(first_key).span.start());
        let end = self.mapping_end(mapping);
        let eol = self.eol();
        let written = format!(
            "{eol}{}{key}:{}",
            " ".repeat(indent),
            value.after_key(indent, eol)
        );
        let rank = 1000 - self.depth(mapping).min(999);
        self.push(Edit::insert(end, written), rank);
        self.changes.push(Change::Insert {
            mapping,
            key: key.to_string(),
            value: value.expected(),
        });
        Some(())
    }

    /// Where a new entry goes: the end of the line holding the mapping's
    /// last value (after a comment on that line).
    fn mapping_end(&self, mapping: NodeId) -> usize {
        let end = self.tree.node(mapping).span.end();
        line_end(
            self.text,
            end.saturating_sub(1)
                .max(self.tree.node(mapping).span.start()),
        )
    }

    /// Appends items to a block sequence. `None` for a flow or empty one.
    pub fn append_items(&mut self, sequence: NodeId, values: Vec<Value>) -> Option<()> {
        if text::is_flow(self.tree, sequence) {
            return None;
        }
        let items = self.tree.items(sequence);
        let first = items.clone().next()?;
        let dash = self.text[..self.tree.node(first).span.start()].rfind('-')?;
        let indent = " ".repeat(self.column(dash));
        let end = line_end(
            self.text,
            self.tree.node(sequence).span.end().saturating_sub(1),
        );
        let eol = self.eol();
        let mut written = String::new();
        for value in &values {
            let body = match value {
                Value::Str(s) => scalar(s),
                other => other.flow(),
            };
            written.push_str(&format!("{eol}{indent}- {body}"));
        }
        self.push(Edit::insert(end, written), 0);
        // Insertions at one index apply last-given first (see
        // `verify::Edits`): the last item is given first.
        for value in values.iter().rev() {
            self.changes.push(Change::InsertItem {
                sequence,
                index: items.clone().count(),
                value: value.expected(),
            });
        }
        Some(())
    }

    /// The span every edit touches, to keep them inside one step.
    pub fn spans(&self) -> impl Iterator<Item = Span> + '_ {
        self.edits.iter().map(|(e, _)| e.span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_read_back_as_written() {
        assert_eq!(scalar("--context=."), "--context=.");
        assert_eq!(scalar("build"), "build");
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("a b"), "\"a b\"");
        assert_eq!(scalar("${X}"), "\"${X}\"");
        assert_eq!(scalar("-c"), "\"-c\"");
        assert_eq!(scalar("1000"), "\"1000\"");
    }

    #[test]
    fn keys_and_items_are_added_at_the_end() {
        let text = "a:\n  b: 1 # note\n  c:\n    - x\nd: 2\n";
        let tree = Tree::parse(text).unwrap();
        let root = tree.root().unwrap();
        let a = tree.pairs(root).next().unwrap().1;
        let c = tree.pairs(a).nth(1).unwrap().1;
        let mut editor = Editor::new(&tree, text);
        editor
            .append_items(c, vec![Value::Str("y z".into())])
            .unwrap();
        editor
            .insert_key(
                a,
                "e",
                Value::Map(vec![("f".into(), Value::Seq(vec!["g".into()]))]),
            )
            .unwrap();
        let out = crate::rewrite::apply(text, &editor.edits()).unwrap();
        assert_eq!(
            out,
            "a:\n  b: 1 # note\n  c:\n    - x\n    - \"y z\"\n  e:\n    f:\n      - g\nd: 2\n"
        );
    }
}
