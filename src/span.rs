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
        push_line_starts(text.as_bytes(), &mut starts);
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

/// Pushes one past each `\n` of `bytes`, eight bytes at a time: most
/// words of a pipeline hold no line break, and its lines are too short
/// for memchr's set-up per line to pay off.
fn push_line_starts(bytes: &[u8], starts: &mut Vec<u32>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut chunks = bytes.chunks_exact(8);
    let mut base = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default()) ^ NEWLINES;
        // The high bit of each byte that was `\n` (now 0): exact per byte,
        // since `(byte & 0x7f) + 0x7f` cannot carry into the next one.
        let mut found = !(((word & LOW7) + LOW7) | word | LOW7);
        while found != 0 {
            let at = base + found.trailing_zeros() as usize / 8;
            starts.push(at as u32 + 1);
            found &= found - 1;
        }
        base += 8;
    }
    for (offset, &byte) in chunks.remainder().iter().enumerate() {
        if byte == b'\n' {
            starts.push((base + offset) as u32 + 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_starts_found_a_word_at_a_time_are_those_of_every_newline() {
        let samples: [&[u8]; 5] = [
            b"",
            b"\n",
            b"a\n\x0b\n\x0b\x0b\n\x8a\n\xff\n\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a",
            b"abcdefg\nabcdefgh\n\n\nxyz",
            b"\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x09\x0b\n\x8b\x0b",
        ];
        for bytes in samples {
            let mut starts = Vec::new();
            push_line_starts(bytes, &mut starts);
            let expected: Vec<u32> = (0..bytes.len())
                .filter(|&pos| bytes[pos] == b'\n')
                .map(|pos| pos as u32 + 1)
                .collect();
            assert_eq!(starts, expected, "{bytes:?}");
        }
    }

    #[test]
    fn positions_count_characters() {
        let text = "a: é\nb: 😀x\n";
        let index = LineIndex::new(text);
        assert_eq!(index.position(text, 0), (1, 1));
        assert_eq!(index.position(text, text.find('x').unwrap()), (2, 5));
        assert_eq!(index.position(text, text.len()), (3, 1));
    }
}
