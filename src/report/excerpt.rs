//! What a diagnostic shows of a file: the lines around its labels, each long
//! line cut down to windows around the labels on it.
//!
//! miette prints every line it is given in full and pads underlines with
//! `format!` widths, which panic past column 65,535. A file may hold a
//! 100 MB line, so the renderer never hands miette the file itself: it
//! builds an excerpt of a bounded size per label, and tells miette the real
//! line numbers and columns through [`SourceCode::read_span`].

use miette::{MietteError, SourceCode, SpanContents};

use crate::span::{LineIndex, Span};

/// Lines shown above and below each label (the renderer's setting too).
pub(super) const CONTEXT_LINES: usize = 1;
/// A line at most this long (in bytes) is shown whole.
const MAX_LINE: usize = 240;
/// On a longer line, bytes kept either side of each label's start and end.
const WINDOW: usize = 60;
/// A label over more lines than this is shown on its first line only.
const MAX_LABEL_LINES: usize = 24;
/// Marks text left out of a long line.
const ELLIPSIS: &str = "…";

/// One line of the excerpt.
struct Line {
    /// The 0-based line of the file it comes from.
    real: usize,
    /// Kept pieces: (start in the excerpt, start in the file, real
    /// character column of that start).
    segments: Vec<Segment>,
    /// The file line before this one is not in the excerpt.
    after_gap: bool,
}

#[derive(Clone, Copy)]
struct Segment {
    excerpt: usize,
    file: usize,
    len: usize,
    column: usize,
}

/// A bounded part of one file, with the real positions of what it holds.
pub(super) struct Excerpt {
    name: String,
    text: String,
    index: LineIndex,
    lines: Vec<Line>,
}

impl Excerpt {
    /// The excerpt of `text` that shows `spans`, and the spans moved into it
    /// (in the same order).
    pub(super) fn new(
        name: &str,
        text: &str,
        index: &LineIndex,
        spans: &[Span],
    ) -> (Excerpt, Vec<Span>) {
        let spans: Vec<Span> = spans
            .iter()
            .map(|&span| shorten(text, index, span))
            .collect();
        let mut wanted: Vec<(usize, usize)> = spans
            .iter()
            .map(|span| {
                let first = index.line_of(span.start());
                let last = index.line_of(span.end().saturating_sub(1).max(span.start()));
                let last_line = index.line_count() - 1;
                (
                    first.saturating_sub(CONTEXT_LINES),
                    (last + CONTEXT_LINES).min(last_line),
                )
            })
            .collect();
        wanted.sort_unstable();
        let mut excerpt = Excerpt {
            name: name.to_string(),
            text: String::new(),
            index: LineIndex::default(),
            lines: Vec::new(),
        };
        let mut previous: Option<usize> = None;
        for (first, last) in merge(wanted) {
            for real in first..=last {
                let points: Vec<usize> = spans
                    .iter()
                    .flat_map(|span| [span.start(), span.end()])
                    .filter(|&at| index.line_of(at) == real)
                    .collect();
                let after_gap = previous.is_none_or(|p| p + 1 != real);
                excerpt.push_line(text, index, real, &points, after_gap);
                previous = Some(real);
            }
        }
        excerpt.index = LineIndex::new(&excerpt.text);
        let moved = spans
            .iter()
            .map(|span| {
                let start = excerpt.locate(index, span.start());
                let end = excerpt.locate(index, span.end()).max(start);
                Span::new(start, end)
            })
            .collect();
        (excerpt, moved)
    }

    /// Appends file line `real`, cut to windows around `points` when long.
    fn push_line(
        &mut self,
        text: &str,
        index: &LineIndex,
        real: usize,
        points: &[usize],
        after_gap: bool,
    ) {
        let start = index.line_start(real, text);
        let next = index.line_start(real + 1, text);
        let end = if text[start..next].ends_with('\n') {
            next - 1
        } else {
            next
        };
        let pieces = if end - start <= MAX_LINE {
            vec![(start, end)]
        } else {
            windows(text, start, end, points)
        };
        let mut segments = Vec::with_capacity(pieces.len());
        let mut shown = start;
        let mut column = 0;
        for (from, to) in pieces {
            if from > shown {
                self.text.push_str(ELLIPSIS);
            }
            column += text[shown..from].chars().count();
            segments.push(Segment {
                excerpt: self.text.len(),
                file: from,
                len: to - from,
                column,
            });
            self.text.push_str(&text[from..to]);
            column += text[from..to].chars().count();
            shown = to;
        }
        if shown < end {
            self.text.push_str(ELLIPSIS);
        }
        self.text.push_str(&text[end..next]);
        self.lines.push(Line {
            real,
            segments,
            after_gap,
        });
    }

    /// Where a file offset landed in the excerpt: in the segment that holds
    /// it, else at the nearest end of its line's segments.
    fn locate(&self, index: &LineIndex, offset: usize) -> usize {
        let real = index.line_of(offset);
        let position = self.lines.partition_point(|line| line.real < real);
        let Some(line) = self.lines.get(position).filter(|l| l.real == real) else {
            return self.text.len().min(self.line_start(position));
        };
        let mut best = self.line_start(position);
        for segment in &line.segments {
            if offset < segment.file {
                break;
            }
            best = segment.excerpt + (offset - segment.file).min(segment.len);
        }
        best
    }

    /// Where excerpt line `line` starts.
    fn line_start(&self, line: usize) -> usize {
        self.index.line_start(line, &self.text)
    }

    /// The real 0-based character column of an excerpt offset.
    fn real_column(&self, offset: usize) -> usize {
        let line = &self.lines[self.index.line_of(offset).min(self.lines.len() - 1)];
        let Some(segment) = line
            .segments
            .iter()
            .rev()
            .find(|segment| segment.excerpt <= offset)
        else {
            return 0;
        };
        let within = (offset - segment.excerpt).min(segment.len);
        let piece = &self.text[segment.excerpt..segment.excerpt + segment.len];
        segment.column + piece[..floor_char(piece, within)].chars().count()
    }
}

impl SourceCode for Excerpt {
    /// Reads within one run of consecutive file lines: a span across a gap
    /// is refused, so miette shows the two places as separate snippets.
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        if self.lines.is_empty() {
            return Err(MietteError::OutOfBounds);
        }
        let last_line = self.lines.len() - 1;
        let start = span.offset().min(self.text.len());
        let end = (start + span.len()).min(self.text.len());
        let first = self.index.line_of(start).min(last_line);
        let last = self
            .index
            .line_of(end.saturating_sub(1).max(start))
            .min(last_line);
        if self.lines[first + 1..=last].iter().any(|l| l.after_gap) {
            return Err(MietteError::OutOfBounds);
        }
        let mut top = first;
        while top > 0 && first - top < before && !self.lines[top].after_gap {
            top -= 1;
        }
        let mut bottom = last;
        while bottom < last_line && bottom - last < after && !self.lines[bottom + 1].after_gap {
            bottom += 1;
        }
        let window_start = self.line_start(top);
        let window_end = self.line_start(bottom + 1).max(end);
        let window = &self.text[window_start..window_end];
        let local = miette::SourceSpan::from((start - window_start, end - start));
        let contents = window.read_span(&local, before, after)?;
        let data_start = window_start + contents.span().offset();
        let column = if contents.column() == 0 {
            0
        } else {
            self.real_column(data_start)
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            contents.data(),
            (data_start, contents.span().len()).into(),
            self.lines[top].real + contents.line(),
            column,
            contents.line_count(),
        )))
    }
}

/// A span on so many lines is cut to the end of its first line; any span
/// is kept within the text and on character boundaries.
fn shorten(text: &str, index: &LineIndex, span: Span) -> Span {
    let start = floor_char(text, span.start());
    let end = floor_char(text, span.end()).max(start);
    let first = index.line_of(start);
    let last = index.line_of(end.saturating_sub(1).max(start));
    if last - first < MAX_LABEL_LINES {
        return Span::new(start, end);
    }
    let next = index.line_start(first + 1, text);
    Span::new(start, (next - 1).max(start))
}

/// Merges sorted, inclusive line ranges that overlap or touch.
fn merge(ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(previous) if first <= previous.1 + 1 => previous.1 = previous.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    merged
}

/// The pieces of the long line `start..end` to show: `WINDOW` bytes either
/// side of each point on it, merged; the line's start when none is.
fn windows(text: &str, start: usize, end: usize, points: &[usize]) -> Vec<(usize, usize)> {
    let mut pieces: Vec<(usize, usize)> = points
        .iter()
        .map(|&at| {
            let at = at.clamp(start, end);
            (
                floor_char(text, at.saturating_sub(WINDOW).max(start)),
                ceil_char(text, (at + WINDOW).min(end)),
            )
        })
        .collect();
    if pieces.is_empty() {
        pieces.push((start, ceil_char(text, start + 2 * WINDOW)));
    }
    pieces.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(pieces.len());
    for (from, to) in pieces {
        match merged.last_mut() {
            // An elision shorter than the mark itself is not worth it.
            Some(previous) if from <= previous.1 + ELLIPSIS.len() => {
                previous.1 = previous.1.max(to);
            }
            _ => merged.push((from, to)),
        }
    }
    merged
}

fn floor_char(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn ceil_char(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excerpt(text: &str, spans: &[Span]) -> (Excerpt, Vec<Span>) {
        Excerpt::new("f.yml", text, &LineIndex::new(text), spans)
    }

    #[test]
    fn short_lines_are_kept_whole_with_their_context() {
        let text = "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n";
        let (excerpt, spans) = excerpt(text, &[Span::new(10, 11)]);
        assert_eq!(excerpt.text, "b: 2\nc: 3\nd: 4\n");
        assert_eq!(spans[0].slice(&excerpt.text), "c");
        let contents = excerpt.read_span(&spans[0].into(), 0, 0).unwrap();
        assert_eq!((contents.line(), contents.column()), (2, 0));
    }

    #[test]
    fn a_long_line_is_cut_around_the_label_and_keeps_its_real_column() {
        let text = format!(
            "k: {} /kaniko/executor {}\n",
            "x".repeat(70_000),
            "y".repeat(500)
        );
        let at = text.find("/kaniko").unwrap();
        let (excerpt, spans) = excerpt(&text, &[Span::new(at, at + 15)]);
        assert!(excerpt.text.len() < 200, "{}", excerpt.text);
        assert!(excerpt.text.starts_with('…') && excerpt.text.ends_with("…\n"));
        assert_eq!(spans[0].slice(&excerpt.text), "/kaniko/executo");
        let contents = excerpt.read_span(&spans[0].into(), 0, 0).unwrap();
        assert_eq!(contents.column(), at);
    }

    #[test]
    fn distant_labels_are_separate_runs() {
        let text: String = (0..100).map(|i| format!("line{i}: x\n")).collect();
        let a = text.find("line3:").unwrap();
        let b = text.find("line90:").unwrap();
        let (excerpt, spans) = excerpt(&text, &[Span::new(a, a + 5), Span::new(b, b + 6)]);
        assert_eq!(excerpt.lines.len(), 6);
        assert!(
            excerpt
                .read_span(&Span::new(spans[0].start(), spans[1].end()).into(), 1, 1)
                .is_err()
        );
        let second = excerpt.read_span(&spans[1].into(), 1, 1).unwrap();
        assert_eq!(second.line(), 89);
        assert_eq!(second.line_count(), 3);
    }

    #[test]
    fn a_label_over_many_lines_is_cut_to_its_first() {
        let text: String = (0..100).map(|i| format!("l{i}\n")).collect();
        let (excerpt, spans) = excerpt(&text, &[Span::new(0, text.len())]);
        assert_eq!(spans[0].slice(&excerpt.text), "l0");
        assert_eq!(excerpt.lines.len(), 2);
    }
}
