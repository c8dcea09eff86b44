//! Byte ranges into one source buffer.

/// A half-open byte range `start..end` in a source text.
///
/// Stored as `u32` pairs to keep tree nodes small; files over 4 GiB are refused
/// when parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end, "span {start}..{end} is reversed");
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    pub fn empty(at: usize) -> Self {
        Span::new(at, at)
    }

    pub fn start(self) -> usize {
        self.start as usize
    }

    pub fn end(self) -> usize {
        self.end as usize
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    pub fn slice(self, text: &str) -> &str {
        &text[self.start()..self.end()]
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start()..self.end()
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start(), span.len()).into()
    }
}

/// Line starts of a text, for turning offsets into lines and columns
/// without scanning from the start of the file each time.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|pos| pos as u32 + 1));
        LineIndex { starts }
    }

    /// The index of line starts found by another scan of the text: 0
    /// first, then one past each `\n`.
    pub fn from_starts(starts: Vec<u32>) -> Self {
        debug_assert_eq!(starts.first(), Some(&0));
        LineIndex { starts }
    }

    /// The 0-based line that holds `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|&start| start as usize <= offset)
            - 1
    }

    /// Where 0-based `line` starts; the text length past the last line.
    pub fn line_start(&self, line: usize, text: &str) -> usize {
        self.starts.get(line).map_or(text.len(), |&s| s as usize)
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_of(offset);
        let start = self.line_start(line, text);
        (line + 1, text[start..offset].chars().count() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters() {
        let text = "a: é\nb: 😀x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        assert_eq!(index.position(text, text.find('x').unwrap()), (2, 5));
        assert_eq!(index.position(text, text.len()), (3, 1));
    }
}
