//! The unified diff `diff` prints, computed where the texts differ only.
//!
//! A migration edits a few lines per job and leaves the rest of the file
//! byte for byte: a diff algorithm run over the whole file (Myers or
//! Patience, which runs Myers between its anchors) spends its time on the
//! long equal stretches and on lines repeated in every job (`script:`,
//! `- make`). So the two texts are first walked line by line in step, and
//! each place where they part is followed until three lines agree again.
//! similar then diffs only those places, each with a margin of equal lines,
//! and its hunks are printed with their line numbers in the whole file:
//! the same hunks as a whole-file diff, in time linear in the file.

use std::fmt::Write;
use std::hash::{BuildHasher, Hash, Hasher};
use std::ops::Range;

use similar::DiffOp;
use similar::udiff::UnifiedHunkHeader;

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Equal lines kept on each side of a place that differs: more than the
/// context, so that similar sees every hunk's context whole, and places
/// closer than twice this are diffed together.
const MARGIN: usize = CONTEXT + 5;
/// Lines that must agree for the texts to be back in step.
const RESYNC: usize = 3;
/// How far (lines on both sides together) a place that differs is followed
/// before the rest of the files is left to similar as a whole.
const REACH: usize = 512;

/// Diff text gathered before it is handed on: a few hunks.
const CHUNK: usize = 64 * 1024;

/// A unified diff with three lines of context and `a/` `b/` headers.
#[cfg(test)]
pub(super) fn unified_diff(name: &str, old: &str, new: &str) -> String {
    let mut text = String::new();
    write_unified_diff(name, old, new, &mut |chunk| text.push_str(chunk));
    text
}

/// Hands the unified diff of `old` and `new` to `out` a few hunks at a
/// time (about [`CHUNK`] bytes, ending with a `\n`): a 50 MB pipeline's diff is
/// 22 MB, and held whole in a buffer grown by doubling it was the peak of
/// the `diff` command, 19 MiB above the rest.
pub(super) fn write_unified_diff(name: &str, old: &str, new: &str, out: &mut dyn FnMut(&str)) {
    // The deadline bounds the worst case: similar falls back to a coarser
    // diff once it passes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let old_lines = Lines::new(old);
    let new_lines = Lines::new(new);
    let hasher = hashbrown::DefaultHashBuilder::default();
    let mut text = String::new();
    let mut started = false;
    let mut flushed = false;
    for (old_range, new_range) in slices(&old_lines, &new_lines) {
        // The lines are cut once, for the whole files: similar's own
        // `diff_lines` would cut every slice again.
        let old_part = old_lines.hashed(old_range.clone(), &hasher);
        let new_part = new_lines.hashed(new_range.clone(), &hasher);
        let ops = similar::capture_diff_slices_deadline(
            similar::Algorithm::Patience,
            &old_part,
            &new_part,
            Some(deadline),
        );
        for hunk in similar::group_diff_ops(ops, CONTEXT) {
            // The ops count lines from the slices' starts; the header and
            // the lines are those of the whole files.
            let shifted: Vec<DiffOp> = hunk
                .iter()
                .map(|op| shift(op, old_range.start, new_range.start))
                .collect();
            if !started {
                let _ = write!(text, "--- a/{name}\n+++ b/{name}\n");
                started = true;
            }
            let _ = writeln!(text, "{}", UnifiedHunkHeader::new(&shifted));
            for op in &shifted {
                write_op(&mut text, op, &old_lines, &new_lines);
            }
            // Handed on at a `\n` only (not inside a file of `\r` line
            // ends), so that colouring, line by line, sees whole lines.
            if text.len() >= CHUNK && text.ends_with('\n') {
                out(&text);
                text.clear();
                flushed = true;
            }
        }
    }
    // The diff ends with a line break (a diff without hunks is one).
    let ended = match text.is_empty() {
        true => flushed,
        false => text.ends_with('\n'),
    };
    if !ended {
        text.push('\n');
    }
    if !text.is_empty() {
        out(&text);
    }
}

/// Writes an op's lines as similar's hunks print them: a `-` line for each
/// line it removes, then a `+` line for each it adds, or a ` ` line for
/// each equal one; a last line without a break is followed by one and the
/// hint that it had none. (Written here rather than by similar's `Display`,
/// whose formatting machinery cost a third of the diff.)
fn write_op(text: &mut String, op: &DiffOp, old: &Lines, new: &Lines) {
    let mut write = |tag: char, line: &str| {
        text.push(tag);
        text.push_str(line);
        if !line.ends_with(['\r', '\n']) {
            text.push_str("\n\\ No newline at end of file\n");
        }
    };
    match *op {
        DiffOp::Equal { old_index, len, .. } => {
            (old_index..old_index + len).for_each(|line| write(' ', old.line(line)));
        }
        _ => {
            op.old_range().for_each(|line| write('-', old.line(line)));
            op.new_range().for_each(|line| write('+', new.line(line)));
        }
    }
}

/// A line with its hash, taken once: Patience hashes every line of a
/// slice to find those that occur once, and SipHash (similar's) over a
/// whole line cost a third of the diff. The hash is seeded per process, so
/// that a file cannot be written to make many lines collide.
#[derive(Clone, Copy, Debug)]
struct HashedLine<'t> {
    text: &'t str,
    hash: u64,
}

impl<'t> HashedLine<'t> {
    fn new(text: &'t str, hasher: &impl BuildHasher) -> HashedLine<'t> {
        HashedLine {
            text,
            hash: hasher.hash_one(text),
        }
    }
}

impl PartialEq for HashedLine<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for HashedLine<'_> {}

impl Hash for HashedLine<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl PartialOrd for HashedLine<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HashedLine<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(other.text)
    }
}

/// A text cut into lines, each with its line break, split as similar
/// splits them (`\n`, `\r\n`, or a `\r` alone).
///
/// Ends take 4 bytes: a text the tool reads or writes is under 4 GiB
/// (`Tree::parse`, `rewrite::reread_verified`), and the two texts' lines
/// are most of the diff's memory (34 MB of 74 for 200,000 jobs with 8-byte
/// ends).
struct Lines<'t> {
    text: &'t str,
    ends: Vec<u32>,
}

impl<'t> Lines<'t> {
    fn new(text: &'t str) -> Lines<'t> {
        let bytes = text.as_bytes();
        let mut ends = Vec::new();
        // One search over the whole text: set up per line, it cost more
        // than it saved on lines of a few dozen bytes.
        let mut breaks = memchr::memchr2_iter(b'\n', b'\r', bytes);
        while let Some(at) = breaks.next() {
            if bytes[at] == b'\r' && bytes.get(at + 1) == Some(&b'\n') {
                breaks.next();
                ends.push(offset(at + 2));
            } else {
                ends.push(offset(at + 1));
            }
        }
        if ends.last().map_or(0, |&end| end as usize) < bytes.len() {
            ends.push(offset(bytes.len()));
        }
        Lines { text, ends }
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn start(&self, line: usize) -> usize {
        if line == 0 {
            0
        } else {
            self.ends[line - 1] as usize
        }
    }

    fn line(&self, line: usize) -> &'t str {
        &self.text[self.start(line)..self.ends[line] as usize]
    }

    /// Lines `range`, each with its hash.
    fn hashed(&self, range: Range<usize>, hasher: &impl BuildHasher) -> Vec<HashedLine<'t>> {
        range
            .map(|line| HashedLine::new(self.line(line), hasher))
            .collect()
    }
}

/// A line's end, in 4 bytes ([`Lines`]).
fn offset(at: usize) -> u32 {
    u32::try_from(at).expect("a text under 4 GiB")
}

/// Pairs of line ranges, old and new, that hold every difference between
/// the texts, each with up to [`MARGIN`] equal lines around it; between
/// two pairs the texts agree line for line.
fn slices(old: &Lines, new: &Lines) -> Vec<(Range<usize>, Range<usize>)> {
    let mut merged: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for (o, n) in differences(old, new) {
        match merged.last_mut() {
            Some((last_o, last_n)) if o.start - last_o.end <= 2 * MARGIN => {
                last_o.end = o.end;
                last_n.end = n.end;
            }
            _ => merged.push((o, n)),
        }
    }
    // Between two places the texts agree, so a margin is taken alike on
    // both sides.
    let mut slices = Vec::with_capacity(merged.len());
    let mut previous_end = 0;
    for (index, (o, n)) in merged.iter().enumerate() {
        let before = MARGIN.min(o.start - previous_end);
        let next_start = merged
            .get(index + 1)
            .map_or(old.len(), |(next, _)| next.start);
        let after = MARGIN.min(next_start - o.end);
        slices.push((
            o.start - before..o.end + after,
            n.start - before..n.end + after,
        ));
        previous_end = o.end;
    }
    slices
}

/// Where the texts differ: walked in step, each place they part followed
/// until [`RESYNC`] lines agree again, nearest first.
fn differences(old: &Lines, new: &Lines) -> Vec<(Range<usize>, Range<usize>)> {
    let (n, m) = (old.len(), new.len());
    let mut places = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let equal = equal_lines(old, new, i, j);
        (i, j) = (i + equal, j + equal);
        while i < n && j < m && old.line(i) == new.line(j) {
            i += 1;
            j += 1;
        }
        if i == n && j == m {
            return places;
        }
        let Some((x, y)) = back_in_step(old, new, i, j) else {
            places.push((i..n, j..m));
            return places;
        };
        places.push((i..x, j..y));
        (i, j) = (x, y);
    }
}

/// How many lines from `i` and `j` on lie wholly in the texts' common
/// bytes: a migration leaves most of a file as it was, and comparing it
/// by blocks of bytes costs less than comparing it line by line. A line
/// ending in `\r` at the last common byte may split differently in the two
/// texts (as `\r\n` in one): it is left out, for the line-by-line walk.
fn equal_lines(old: &Lines, new: &Lines, i: usize, j: usize) -> usize {
    if i >= old.len() || j >= new.len() {
        return 0;
    }
    let (from_old, from_new) = (old.start(i), new.start(j));
    let common = common_prefix(
        &old.text.as_bytes()[from_old..],
        &new.text.as_bytes()[from_new..],
    );
    let within = |lines: &Lines, from: usize, first: usize| {
        lines.ends[first..].partition_point(|&end| (end as usize) < from + common)
    };
    within(old, from_old, i).min(within(new, from_new, j))
}

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    const BLOCK: usize = 64;
    let len = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= len && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    while at < len && a[at] == b[at] {
        at += 1;
    }
    at
}

/// The nearest lines after `i` and `j` from which the texts agree for
/// [`RESYNC`] lines (or to both ends), within [`REACH`].
fn back_in_step(old: &Lines, new: &Lines, i: usize, j: usize) -> Option<(usize, usize)> {
    let agree = |x: usize, y: usize| {
        (0..RESYNC).all(|k| {
            let (a, b) = (x + k, y + k);
            match (a < old.len(), b < new.len()) {
                (true, true) => old.line(a) == new.line(b),
                (false, false) => true,
                _ => false,
            }
        })
    };
    (1..=REACH).find_map(|reach| {
        (0..=reach)
            .map(|skipped_old| (i + skipped_old, j + reach - skipped_old))
            .filter(|&(x, y)| x <= old.len() && y <= new.len())
            .find(|&(x, y)| agree(x, y))
    })
}

fn shift(op: &DiffOp, old: usize, new: usize) -> DiffOp {
    match *op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => DiffOp::Equal {
            old_index: old_index + old,
            new_index: new_index + new,
            len,
        },
        DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } => DiffOp::Delete {
            old_index: old_index + old,
            old_len,
            new_index: new_index + new,
        },
        DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        } => DiffOp::Insert {
            old_index: old_index + old,
            new_index: new_index + new,
            new_len,
        },
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => DiffOp::Replace {
            old_index: old_index + old,
            old_len,
            new_index: new_index + new,
            new_len,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// similar's diff of the whole texts, as `diff` printed it before.
    fn whole(name: &str, old: &str, new: &str) -> String {
        let mut text = similar::TextDiff::configure()
            .algorithm(similar::Algorithm::Patience)
            .diff_lines(old, new)
            .unified_diff()
            .context_radius(CONTEXT)
            .missing_newline_hint(true)
            .header(&format!("a/{name}"), &format!("b/{name}"))
            .to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        text
    }

    /// A pipeline of `jobs` Kaniko jobs, each with its repeated lines.
    fn pipeline(jobs: usize) -> String {
        (0..jobs)
            .map(|n| {
                format!(
                    "job-{n}:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - make\n    - /kaniko/executor --destination r/{n}\n  tags: [docker]\n\n"
                )
            })
            .collect()
    }

    #[test]
    fn the_same_hunks_as_a_whole_file_diff() {
        let old = pipeline(200);
        let migrated = old
            .replace(
                "gcr.io/kaniko-project/executor:debug",
                "moby/buildkit:rootless\n  variables:\n    BUILDKITD_FLAGS: --oci-worker-no-process-sandbox",
            )
            .replace("/kaniko/executor --destination", "buildctl-daemonless.sh build --output");
        let mut cases = vec![
            (old.clone(), migrated.clone()),
            (
                old.clone(),
                migrated.replacen("job-0:\n", "job-0:\n  stage: x\n", 1),
            ),
            (format!("{old}end"), format!("{migrated}end\n")),
            (format!("{old}end\n"), format!("{migrated}end")),
            (old.replace('\n', "\r\n"), migrated.replace('\n', "\r\n")),
            (old.replace('\n', "\r"), migrated.replace('\n', "\r")),
            (String::new(), migrated.clone()),
            (old.clone(), String::new()),
            (old.clone(), old.clone()),
            (String::new(), String::new()),
        ];
        // One job edited, or every tenth, or one line far from the others.
        let lines: Vec<&str> = old.split_inclusive('\n').collect();
        for step in [7, 10, 97, 600] {
            let edited: String = lines
                .iter()
                .enumerate()
                .map(|(n, line)| match n % step {
                    0 => format!("changed {n}\n"),
                    3 => String::new(),
                    5 => format!("{line}added\nadded\n"),
                    _ => line.to_string(),
                })
                .collect();
            cases.push((old.clone(), edited));
        }
        for (old, new) in cases {
            assert_eq!(
                unified_diff("f.yml", &old, &new),
                whole("f.yml", &old, &new)
            );
        }
    }

    /// A long diff is handed on in pieces of whole lines, which together
    /// are the whole-file diff; one of `\r` line ends is never cut.
    #[test]
    fn a_long_diff_is_handed_on_in_pieces_of_whole_lines() {
        let old = pipeline(2_000);
        // Every 20th line: hunks of their own, over 64 KiB of them.
        let new: String = old
            .split_inclusive('\n')
            .enumerate()
            .map(|(n, line)| match n % 20 {
                0 => format!("changed {n}\n"),
                _ => line.to_string(),
            })
            .collect();
        for (old, new, pieces) in [
            (old.clone(), new.clone(), 2..usize::MAX),
            (old.replace('\n', "\r"), new.replace('\n', "\r"), 1..2),
        ] {
            let mut chunks = Vec::new();
            write_unified_diff("f.yml", &old, &new, &mut |chunk| {
                chunks.push(chunk.to_string())
            });
            assert!(pieces.contains(&chunks.len()), "{} pieces", chunks.len());
            assert!(chunks.iter().all(|chunk| chunk.ends_with('\n')));
            assert_eq!(chunks.concat(), whole("f.yml", &old, &new));
        }
    }

    #[test]
    fn lines_split_as_similar_splits_them() {
        let text = "a\nb\r\nc\rd";
        let lines = Lines::new(text);
        let ours: Vec<&str> = (0..lines.len()).map(|n| lines.line(n)).collect();
        assert_eq!(ours, ["a\n", "b\r\n", "c\r", "d"]);
        assert_eq!(Lines::new("").len(), 0);
    }

    /// Applies a unified diff to `old`, checking its context lines.
    fn patch(old: &str, diff: &str) -> String {
        let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
        let mut out = String::new();
        let mut next = 0;
        let mut lines = diff.split_inclusive('\n').skip(2).peekable();
        while let Some(header) = lines.next() {
            let start: usize = header[4..]
                .split([',', ' '])
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let start = if header.starts_with(&format!("@@ -{start},0 ")) {
                start
            } else {
                start - 1
            };
            out.extend(old_lines[next..start].iter().copied());
            next = start;
            while let Some(line) = lines.next_if(|line| !line.starts_with("@@")) {
                let body = &line[1..];
                let body = if lines.peek().is_some_and(|l| l.starts_with('\\')) {
                    lines.next();
                    body.strip_suffix('\n').unwrap()
                } else {
                    body
                };
                match &line[..1] {
                    " " | "-" => {
                        assert_eq!(old_lines[next], body);
                        next += 1;
                        if line.starts_with(' ') {
                            out.push_str(body);
                        }
                    }
                    _ => out.push_str(body),
                }
            }
        }
        out.extend(old_lines[next..].iter().copied());
        out
    }

    proptest! {
        #[test]
        fn the_diff_turns_the_old_text_into_the_new(
            old in proptest::collection::vec("[abc]{0,2}\n", 0..60),
            edits in proptest::collection::vec((0usize..60, 0usize..3, "[abd]{0,2}\n"), 0..8),
        ) {
            let mut new = old.clone();
            for (at, kind, line) in edits {
                let at = at.min(new.len());
                match kind {
                    0 => new.insert(at, line),
                    1 if at < new.len() => { new.remove(at); }
                    _ if at < new.len() => new[at] = line,
                    _ => {}
                }
            }
            let (old, new) = (old.concat(), new.concat());
            let diff = unified_diff("f", &old, &new);
            if old != new {
                prop_assert_eq!(patch(&old, &diff), new);
            }
        }
    }
}
