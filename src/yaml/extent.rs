//! Where a node ends in the source text, and what is written before it.
//!
//! yaml-rust2 gives one start marker per event; these functions read the text
//! from there to find a node's end by its style (a plain scalar stops before a
//! comment or an indicator, a block scalar after its last content line) and
//! the `&anchor` and `!tag` that precede it.

use super::{Chomping, ScalarStyle};
use crate::span::Span;

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Start of the line holding `at`.
///
/// The three line helpers search with `memchr` (SIMD), where `str::find`
/// and `rfind` of a `char` searched a word at a time: they were 2% of
/// `diff` (a block scalar's span looks for its header line above it).
pub(crate) fn line_start(text: &str, at: usize) -> usize {
    memchr::memrchr(b'\n', &text.as_bytes()[..at]).map_or(0, |pos| pos + 1)
}

/// End of the line holding `at`, before its `\r\n` or `\n`.
pub(crate) fn line_end(text: &str, at: usize) -> usize {
    let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |pos| at + pos);
    if end > at && text.as_bytes()[end - 1] == b'\r' {
        end - 1
    } else {
        end
    }
}

/// Offset after the next line break following `at`, or the text length.
pub(crate) fn next_line(text: &str, at: usize) -> usize {
    memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |pos| at + pos + 1)
}

/// Characters allowed in an anchor or alias name stop at space and flow indicators.
pub(super) fn name_end(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut end = from;
    while end < bytes.len()
        && !is_space(bytes[end])
        && !matches!(bytes[end], b',' | b'[' | b']' | b'{' | b'}')
    {
        end += 1;
    }
    end
}

/// End (exclusive) of a quoted scalar that opens at `at`.
pub(super) fn quoted_end(text: &str, at: usize, quote: u8) -> usize {
    let bytes = text.as_bytes();
    let mut pos = at + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'\\' if quote == b'"' => pos += 2,
            b'\'' if quote == b'\'' && bytes.get(pos + 1) == Some(&b'\'') => pos += 2,
            byte if byte == quote => return pos + 1,
            _ => pos += 1,
        }
    }
    bytes.len()
}

/// Why a plain scalar stopped on a line.
#[derive(PartialEq)]
enum PlainStop {
    /// The line ended: the scalar may continue on the next line.
    LineEnd,
    /// A comment, a `: ` value indicator or a flow indicator: it cannot.
    Indicator,
}

/// Where a plain scalar on one line stops: a comment, a `: ` value indicator,
/// a flow indicator inside a flow collection, or the end of the line.
fn plain_line_end(text: &str, from: usize, in_flow: bool) -> (usize, PlainStop) {
    let bytes = text.as_bytes();
    // One pass up to the first stop, never to the end of the line first:
    // many scalars on one long line (a flow sequence) made that quadratic.
    // A `\r` before the line break is trimmed with the trailing blanks.
    let mut pos = from;
    while pos < bytes.len() && bytes[pos] != b'\n' {
        let byte = bytes[pos];
        let next = bytes.get(pos + 1).copied();
        let ends_here = match byte {
            b'#' => pos > from && is_blank(bytes[pos - 1]),
            b':' => next.is_none_or(|n| is_space(n) || in_flow && matches!(n, b',' | b']' | b'}')),
            b',' | b']' | b'}' | b'[' | b'{' => in_flow,
            _ => false,
        };
        if ends_here {
            return (trim_end(bytes, from, pos), PlainStop::Indicator);
        }
        pos += 1;
    }
    (trim_end(bytes, from, pos), PlainStop::LineEnd)
}

fn trim_end(bytes: &[u8], from: usize, mut end: usize) -> usize {
    while end > from && is_space(bytes[end - 1]) {
        end -= 1;
    }
    end
}

/// True when a line starts with a block indicator (`- `, `? `, `: `).
fn starts_with_indicator(bytes: &[u8]) -> bool {
    matches!(
        bytes,
        [b'-' | b'?' | b':'] | [b'-' | b'?' | b':', b' ' | b'\t' | b'\r', ..]
    )
}

/// Derives the end of a plain scalar from its start and the start of the
/// next event. Continuation lines count until a blank-only tail, a comment
/// line, a line that reaches the next event, a line that starts with a block
/// indicator or holds a key, or the first line stopping at an indicator
/// (a key is always one line).
pub(super) fn plain_scalar_end(text: &str, start: usize, bound: usize, in_flow: bool) -> usize {
    let bytes = text.as_bytes();
    let bound = if bound > start { bound } else { text.len() };
    let (first_end, stop) = plain_line_end(text, start, in_flow);
    let mut end = first_end.min(bound).max(start);
    if stop == PlainStop::Indicator {
        return end;
    }
    let mut line = next_line(text, start);
    while line < bound && line < text.len() {
        let first = (line..bytes.len())
            .find(|&p| !is_blank(bytes[p]))
            .unwrap_or(bytes.len());
        if first >= bound {
            break;
        }
        if first >= line_end(text, line) {
            line = next_line(text, line);
            continue;
        }
        if bytes[first] == b'#' || starts_with_indicator(&bytes[first..]) {
            break;
        }
        let (content_end, stop) = plain_line_end(text, first, in_flow);
        let is_key = stop == PlainStop::Indicator
            && bytes
                .get(content_end..)
                .is_some_and(|rest| rest.iter().find(|b| !is_blank(**b)) == Some(&b':'));
        if is_key {
            break;
        }
        end = content_end.min(bound);
        if stop == PlainStop::Indicator {
            break;
        }
        line = next_line(text, line);
    }
    end
}

/// Span and style of a block scalar whose first content starts at `at`.
///
/// The header (`|`, `>-`, `|2+` …) sits on the nearest non-blank line above
/// the content, because leading content lines can only be blank.
///
/// An empty block scalar has no content line to measure, and its marker is the
/// next token's: its span is the header line alone.
pub(super) fn block_scalar_span(
    text: &str,
    at: usize,
    literal: bool,
    has_content: bool,
) -> (Span, ScalarStyle) {
    let header_line = header_line_start(text, at);
    let header = find_block_header(text, header_line).unwrap_or(line_start(text, at));
    let (chomping, indent) = header_indicators(text, header + 1);
    let style = if literal {
        ScalarStyle::Literal { chomping, indent }
    } else {
        ScalarStyle::Folded { chomping, indent }
    };
    let header_end = line_end(text, header);
    if !has_content {
        return (Span::new(header, header_end), style);
    }
    let content_indent = at - line_start(text, at);
    let end =
        block_content_end(text, next_line(text, header), content_indent, chomping).max(header_end);
    (Span::new(header, end), style)
}

/// Start of the nearest line above `at` that is not blank.
fn header_line_start(text: &str, at: usize) -> usize {
    let mut line = line_start(text, at);
    while line > 0 {
        let previous = line_start(text, line - 1);
        let blank = text[previous..line].bytes().all(is_space);
        line = previous;
        if !blank {
            break;
        }
    }
    line
}

/// The offset of the `|` or `>` that opens a block scalar on a header line.
fn find_block_header(text: &str, line: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let stop = line_end(text, line);
    let mut found = None;
    for pos in line..stop {
        if bytes[pos] == b'#' && pos > line && is_blank(bytes[pos - 1]) {
            break;
        }
        let opens = matches!(bytes[pos], b'|' | b'>')
            && (pos == line || is_blank(bytes[pos - 1]))
            && header_tail_is_valid(&bytes[pos + 1..stop]);
        if opens {
            found = Some(pos);
        }
    }
    found
}

fn header_tail_is_valid(tail: &[u8]) -> bool {
    let indicators = tail
        .iter()
        .take_while(|b| matches!(b, b'1'..=b'9' | b'+' | b'-'))
        .count();
    indicators <= 2
        && tail
            .get(indicators)
            .is_none_or(|&b| is_blank(b) || b == b'\r')
}

fn header_indicators(text: &str, from: usize) -> (Chomping, Option<u8>) {
    let mut chomping = Chomping::Clip;
    let mut indent = None;
    for byte in text
        .as_bytes()
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take(2)
    {
        match byte {
            b'+' => chomping = Chomping::Keep,
            b'-' => chomping = Chomping::Strip,
            b'1'..=b'9' => indent = Some(byte - b'0'),
            _ => break,
        }
    }
    (chomping, indent)
}

/// End of the block content that starts at `first_line`: the end of its last
/// non-blank line, or, with keep chomping, after its trailing blank lines.
fn block_content_end(text: &str, first_line: usize, indent: usize, chomping: Chomping) -> usize {
    let bytes = text.as_bytes();
    let mut line = first_line;
    let mut end = 0;
    let mut after_blank_lines = 0;
    while line < text.len() {
        // Each line's break is searched once: a pipeline's scripts are
        // most of its lines.
        let newline = memchr::memchr(b'\n', &bytes[line..]).map_or(text.len(), |at| line + at);
        let next = (newline + 1).min(text.len());
        // As `line_end`: before the `\r` of a `\r\n`.
        let stop = if newline > line && bytes[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let first = (line..stop).find(|&p| !is_blank(bytes[p]));
        match first {
            None => after_blank_lines = next,
            Some(first) if first - line < indent => break,
            Some(_) => {
                end = stop;
                after_blank_lines = 0;
            }
        }
        line = next;
    }
    if chomping == Chomping::Keep && after_blank_lines > end {
        // Keep the line breaks that belong to the value, but not the
        // indentation of the line that follows the scalar.
        return after_blank_lines;
    }
    end
}

/// Where an empty plain scalar (a missing value) sits: right after the
/// indicator or node that precedes it.
pub(super) fn empty_scalar_position(text: &str, at: usize, last_end: usize) -> usize {
    let bytes = text.as_bytes();
    let mut pos = at.min(bytes.len());
    while pos > last_end && is_space(bytes[pos - 1]) {
        pos -= 1;
    }
    pos
}

/// Finds the `&anchor` and `!tag` written before a node that starts at `start`.
pub(super) fn decorations(
    text: &str,
    start: usize,
    has_anchor: bool,
    has_tag: bool,
) -> (Option<Span>, Option<Span>) {
    let (mut anchor, mut tag) = (None, None);
    let bytes = text.as_bytes();
    let mut end = start;
    for _ in 0..2 {
        if anchor.is_some() == has_anchor && tag.is_some() == has_tag {
            break;
        }
        while end > 0 && is_space(bytes[end - 1]) {
            end -= 1;
        }
        let begin = text[..end]
            .rfind(|c: char| c.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        let token = Span::new(begin, end);
        match bytes.get(begin) {
            Some(b'&') if has_anchor && anchor.is_none() => anchor = Some(token),
            Some(b'!') if has_tag && tag.is_none() => tag = Some(token),
            _ => break,
        }
        end = begin;
    }
    (anchor, tag)
}
