//! Maps positions inside a decoded scalar back to the source bytes.
//!
//! A shell word inside `- |` block content, a folded `>-` command or an escaped
//! double-quoted string has one position in the decoded value and another in
//! the file. Diagnostics and edits need the file position, so this module
//! decodes the scalar again, recording for every decoded byte where it came
//! from. The result is checked against yaml-rust2's own decoding: when the
//! two disagree the map is refused and callers fall back to the whole span.
//!
//! The same decoder, without the map, gives the values a tree leaves to be
//! decoded when asked ([`decode`]).

use super::{Chomping, Node, NodeKind, ScalarStyle};
use crate::span::Span;

/// For each byte of a decoded scalar, the source byte it was decoded from.
#[derive(Debug)]
pub struct SourceMap {
    offsets: Vec<u32>,
    /// The source offset just past the value, for ranges that end at its end.
    end: u32,
    /// The length of the source: the line break a clipped block scalar
    /// ends with is not in the file when the file ends without one.
    limit: u32,
}

impl SourceMap {
    /// Builds the map for a scalar with `style` at `span`, whose decoded value
    /// is `decoded`. Returns `None` when the decoding cannot be reproduced.
    pub fn new(text: &str, span: Span, style: ScalarStyle, decoded: &str) -> Option<SourceMap> {
        let mut out = Decoder {
            source: text,
            text: String::new(),
            offsets: Some(Vec::new()),
        };
        decode_into(&mut out, text, span, style)?;
        (out.text == decoded).then(|| SourceMap {
            offsets: out.offsets.unwrap_or_default(),
            end: span.end() as u32,
            limit: text.len() as u32,
        })
    }

    /// The map of a scalar node whose decoded value is `decoded`; `None`
    /// for any other node.
    pub fn of_node(text: &str, node: Node, decoded: &str) -> Option<SourceMap> {
        match node.kind() {
            NodeKind::Scalar { style, .. } => SourceMap::new(text, node.span, style, decoded),
            _ => None,
        }
    }

    /// The source range of the decoded range `start..end`.
    pub fn span_of(&self, start: usize, end: usize) -> Span {
        let limit = self.limit as usize;
        let source_start = (self.offsets.get(start).map_or(self.end, |&o| o) as usize).min(limit);
        let source_end = if end == 0 || end <= start {
            source_start
        } else {
            self.offsets
                .get(end - 1)
                .map_or(self.end as usize, |&o| o as usize + 1)
        };
        Span::new(source_start, source_end.clamp(source_start, limit))
    }
}

/// The value of a scalar with `style` at `span`, decoded from its source
/// text as yaml-rust2 decodes it: for the values a tree does not store
/// (`Value::Lines`), checked against yaml-rust2's own when parsed. `None`
/// when an escape cannot be read.
pub(super) fn decode(text: &str, span: Span, style: ScalarStyle) -> Option<String> {
    let mut out = Decoder {
        source: text,
        text: String::with_capacity(span.len()),
        offsets: None,
    };
    decode_into(&mut out, text, span, style)?;
    Some(out.text)
}

fn decode_into(out: &mut Decoder, text: &str, span: Span, style: ScalarStyle) -> Option<()> {
    let raw = span.slice(text);
    match style {
        ScalarStyle::Plain => decode_flow(out, raw, span.start(), None)?,
        ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
            let quote = if style == ScalarStyle::SingleQuoted {
                b'\''
            } else {
                b'"'
            };
            let inside = raw.get(1..raw.len().checked_sub(1)?)?;
            decode_flow(out, inside, span.start() + 1, Some(quote))?
        }
        ScalarStyle::Literal { chomping, indent } => {
            decode_block(out, text, span, indent, chomping, false)
        }
        ScalarStyle::Folded { chomping, indent } => {
            decode_block(out, text, span, indent, chomping, true)
        }
    }
    Some(())
}

struct Decoder<'s> {
    source: &'s str,
    text: String,
    /// For each byte of `text`, where it came from; `None` when only the
    /// value is wanted.
    offsets: Option<Vec<u32>>,
}

impl Decoder<'_> {
    /// Pushes `ch`, decoded from the source at `at`. A character copied as is
    /// maps byte for byte; one produced by an escape or a fold maps every
    /// byte to where it came from.
    fn push(&mut self, ch: char, at: usize) {
        self.text.push(ch);
        let Some(offsets) = &mut self.offsets else {
            return;
        };
        let copied = self
            .source
            .get(at..)
            .is_some_and(|rest| rest.starts_with(ch));
        let len = ch.len_utf8();
        offsets.extend((0..len).map(|i| (at + if copied { i } else { 0 }) as u32));
    }

    /// Pushes the source text `part` starting at source offset `at`, one to one.
    fn push_str(&mut self, part: &str, at: usize) {
        self.text.push_str(part);
        if let Some(offsets) = &mut self.offsets {
            offsets.extend((0..part.len()).map(|i| (at + i) as u32));
        }
    }
}

/// Decodes a plain or quoted scalar body: line folding plus, for quoted
/// styles, the quote's own escapes. Returns `None` on an escape it cannot read.
fn decode_flow(out: &mut Decoder, raw: &str, base: usize, quote: Option<u8>) -> Option<()> {
    let last = memchr::memchr_iter(b'\n', raw.as_bytes()).count();
    let mut pending_break: Option<usize> = None;
    let mut blank_lines = 0;
    let mut joined_by_escape = false;
    for (index, (offset, line)) in split_lines(raw).enumerate() {
        let mut body = line;
        let mut body_at = base + offset;
        if index > 0 {
            let trimmed = body.trim_start_matches([' ', '\t']);
            body_at += body.len() - trimmed.len();
            body = trimmed;
        }
        if index < last {
            body = body.trim_end_matches([' ', '\t', '\r']);
        }
        if index > 0 && body.is_empty() && index < last {
            blank_lines += 1;
            continue;
        }
        if let Some(at) = pending_break.take() {
            if blank_lines > 0 {
                for _ in 0..blank_lines {
                    out.push('\n', at);
                }
            } else if !joined_by_escape {
                out.push(' ', at);
            }
        }
        blank_lines = 0;
        joined_by_escape = false;
        let consumed = match quote {
            Some(b'"') => decode_double(out, body, body_at)?,
            Some(_) => decode_single(out, body, body_at),
            None => {
                out.push_str(body, body_at);
                body.len()
            }
        };
        if quote == Some(b'"') && consumed < body.len() {
            // A trailing `\` escapes the line break: join without a space.
            joined_by_escape = true;
            // Keep the whitespace that preceded the escaped break.
        }
        if index < last {
            pending_break = Some(base + offset + line.trim_end_matches(['\r']).len());
        }
    }
    Some(())
}

/// Decodes one line of a double-quoted scalar. Returns how many bytes of
/// `body` were consumed: all of them, unless it ends in an escaped line break.
fn decode_double(out: &mut Decoder, body: &str, at: usize) -> Option<usize> {
    let mut chars = body.char_indices().peekable();
    while let Some((pos, ch)) = chars.next() {
        if ch != '\\' {
            out.push(ch, at + pos);
            continue;
        }
        let Some((_, escape)) = chars.next() else {
            return Some(pos);
        };
        let simple = match escape {
            '0' => Some('\0'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            't' | '\t' => Some('\t'),
            'n' => Some('\n'),
            'v' => Some('\u{b}'),
            'f' => Some('\u{c}'),
            'r' => Some('\r'),
            'e' => Some('\u{1b}'),
            ' ' => Some(' '),
            '"' => Some('"'),
            '/' => Some('/'),
            '\\' => Some('\\'),
            'N' => Some('\u{85}'),
            '_' => Some('\u{a0}'),
            'L' => Some('\u{2028}'),
            'P' => Some('\u{2029}'),
            _ => None,
        };
        if let Some(decoded) = simple {
            out.push(decoded, at + pos);
            continue;
        }
        let digits = match escape {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => return None,
        };
        let mut code = 0u32;
        for _ in 0..digits {
            let (_, digit) = chars.next()?;
            code = code * 16 + digit.to_digit(16)?;
        }
        out.push(char::from_u32(code)?, at + pos);
    }
    Some(body.len())
}

fn decode_single(out: &mut Decoder, body: &str, at: usize) -> usize {
    let mut chars = body.char_indices().peekable();
    while let Some((pos, ch)) = chars.next() {
        if ch == '\'' && chars.peek().is_some_and(|&(_, next)| next == '\'') {
            chars.next();
        }
        out.push(ch, at + pos);
    }
    body.len()
}

/// Decodes the content of a `|` or `>` block scalar.
fn decode_block(
    out: &mut Decoder,
    text: &str,
    span: Span,
    explicit: Option<u8>,
    chomping: Chomping,
    folded: bool,
) {
    let header_end = memchr::memchr(b'\n', &text.as_bytes()[span.start()..])
        .map_or(span.end(), |p| span.start() + p + 1);
    let content = &text[header_end.min(span.end())..span.end()];
    // With keep chomping the span ends after the last line break: that break
    // ends a line, it does not start one.
    let lines = || split_lines(content.strip_suffix('\n').unwrap_or(content));
    let indent = match explicit {
        Some(n) => parent_indent(text, span.start()) + n as usize,
        None => lines()
            .find(|(_, line)| {
                !line
                    .trim_end_matches('\r')
                    .trim_start_matches(' ')
                    .is_empty()
            })
            .map_or(0, |(_, line)| {
                line.len() - line.trim_start_matches(' ').len()
            }),
    };
    let mut breaks = Breaks::default();
    let mut previous_normal: Option<bool> = None;
    for (offset, line) in lines() {
        let line = line.trim_end_matches('\r');
        let at = header_end + offset;
        let body = line.get(indent..).unwrap_or("");
        if line.len() <= indent && line.trim_start_matches(' ').is_empty() {
            breaks.push(at + line.len());
            continue;
        }
        let normal = !body.starts_with([' ', '\t']);
        if let Some(previous) = previous_normal {
            let fold = folded && previous && normal;
            emit_breaks(out, &breaks, fold);
        } else {
            // Leading blank lines are kept as line breaks.
            for &position in &breaks.more {
                out.push('\n', position);
            }
            if let Some(first) = breaks.first {
                out.push('\n', first);
            }
        }
        breaks.clear();
        out.push_str(body, at + indent);
        breaks.push(at + line.len());
        previous_normal = Some(normal);
    }
    // The final line break of a clipped value sits just after the span.
    match chomping {
        Chomping::Strip => {}
        Chomping::Clip if previous_normal.is_some() => {
            out.push('\n', breaks.first.unwrap_or(span.end()));
        }
        Chomping::Clip => {}
        Chomping::Keep => breaks.iter().for_each(|at| out.push('\n', at)),
    }
}

/// The line breaks pending between two content lines, where each is (for
/// a source map's offsets). Most gaps hold one, kept inline: a vector
/// allocated for every block cost more than the rest of its decoding.
#[derive(Default)]
struct Breaks {
    first: Option<usize>,
    more: Vec<usize>,
}

impl Breaks {
    fn push(&mut self, at: usize) {
        match self.first {
            None => self.first = Some(at),
            Some(_) => self.more.push(at),
        }
    }

    fn clear(&mut self) {
        self.first = None;
        self.more.clear();
    }

    fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.first.into_iter().chain(self.more.iter().copied())
    }
}

/// Emits the line breaks between two content lines, folded or kept.
fn emit_breaks(out: &mut Decoder, breaks: &Breaks, fold: bool) {
    match (fold, breaks.first) {
        (true, Some(only)) if breaks.more.is_empty() => out.push(' ', only),
        (true, _) => breaks.more.iter().for_each(|&at| out.push('\n', at)),
        (false, _) => breaks.iter().for_each(|at| out.push('\n', at)),
    }
}

/// Indentation of the line that holds a block scalar's header.
fn parent_indent(text: &str, header: usize) -> usize {
    let line = &text[super::extent::line_start(text, header)..];
    let indent = line.len() - line.trim_start_matches(' ').len();
    // `- |2` inside a sequence: the item's content is indented past the dash.
    let rest = &line[indent..];
    match rest.strip_prefix("- ") {
        Some(item) => indent + 2 + (item.len() - item.trim_start_matches(' ').len()),
        None => indent,
    }
}

/// Splits into lines, each with its byte offset; line breaks are dropped.
/// (memchr: `str::split` cost more per line than a short line's decoding.)
fn split_lines(raw: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut next = Some(0);
    std::iter::from_fn(move || {
        let at = next?;
        let end = match memchr::memchr(b'\n', &raw.as_bytes()[at..]) {
            Some(length) => {
                next = Some(at + length + 1);
                at + length
            }
            None => {
                next = None;
                raw.len()
            }
        };
        Some((at, &raw[at..end]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{NodeKind, Tree};

    /// Decodes every scalar of `text` and checks each byte maps to a source
    /// byte holding the same character, except for folding and escapes.
    fn maps(text: &str) -> Vec<(String, String)> {
        let tree = Tree::parse(text).unwrap();
        let mut out = Vec::new();
        for id in tree.node_ids() {
            let node = tree.node(id);
            if let NodeKind::Scalar { style, .. } = node.kind() {
                let value = tree.scalar(text, id).unwrap();
                let map = SourceMap::new(text, node.span, style, &value)
                    .unwrap_or_else(|| panic!("no map for {value:?} ({style:?})"));
                let mapped: String = value
                    .char_indices()
                    .map(|(i, ch)| map.span_of(i, i + ch.len_utf8()))
                    .map(|span| text[span.start()..].chars().next().unwrap_or('∅'))
                    .collect();
                out.push((value.to_string(), mapped));
            }
        }
        out
    }

    #[test]
    fn plain_and_quoted_styles_map_back() {
        let text = "a: plain é\nb: 'it''s'\nc: \"x\\ty\\u00e9\"\nd: one\n  two\n\n  three\n";
        let got = maps(text);
        assert_eq!(got[1], ("plain é".into(), "plain é".into()));
        assert_eq!(got[3], ("it's".into(), "it's".into()));
        assert_eq!(got[5], ("x\ty\u{e9}".into(), "x\\y\\".into()));
        assert_eq!(got[7], ("one two\nthree".into(), "one\ntwo\nthree".into()));
    }

    #[test]
    fn block_styles_map_back() {
        let text = "a: |\n  x \\\n  y\nb: >-\n  f1\n  f2\n\n  f3\nc: |+\n  k\n\nd: |2\n   sp\n";
        let got = maps(text);
        assert_eq!(got[1], ("x \\\ny\n".into(), "x \\\ny\n".into()));
        assert_eq!(got[3], ("f1 f2\nf3".into(), "f1\nf2\nf3".into()));
        assert_eq!(got[5].0, "k\n\n");
        assert_eq!(got[7].0, " sp\n");
    }

    /// Found by fuzzing: a `|` block at the end of a file without a final
    /// line break maps its last word one byte past the end of the file.
    #[test]
    fn a_block_at_the_end_of_a_file_without_a_line_break_stays_inside_it() {
        for text in ["a: |\n  x y", "a: |\r\n  x y", "a: >\n  x\n  y"] {
            let tree = crate::yaml::Tree::parse(text).unwrap();
            let root = tree.root().unwrap();
            let (_, value) = tree.pairs(root).next().unwrap();
            let decoded = tree.scalar(text, value).unwrap();
            let map = SourceMap::of_node(text, tree.node(value), &decoded).unwrap();
            let span = map.span_of(0, decoded.len());
            assert_eq!(span.end(), text.len(), "{text:?}: {span:?}");
        }
    }

    #[test]
    fn escaped_line_break_joins_without_space() {
        let text = "a: \"one \\\n   two\"\n";
        let got = maps(text);
        assert_eq!(got[1].0, "one two");
    }
}
