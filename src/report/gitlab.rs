//! `--output-format gitlab`: a GitLab Code Quality report, the JSON array that
//! `artifacts:reports:codequality` feeds into the merge-request widget.
//!
//! GitLab compares the fingerprints of the target branch's report with the
//! merge request's to say which findings are new and which are fixed, and
//! shows findings with one fingerprint as one entry. So a fingerprint must
//! survive lines moving (no line numbers in it) and differ between any two
//! findings of one report.

use hashbrown::{HashMap, HashSet};

use serde::Serialize;

use super::{Checked, each, range, report_path};
use crate::finding::Finding;
use crate::gitlab::{Pipeline, SourceFile};
use crate::rules::{Rule, Severity};
use crate::suppress::Block;

#[derive(Serialize)]
struct Issue {
    /// GitLab shows this, not `check_name`, so it starts with the rule code.
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

/// Renders every finding as a Code Quality issue.
pub fn render_gitlab(checked: &[Checked]) -> String {
    let issues: Vec<Issue> = each(checked)
        .zip(fingerprints(checked))
        .map(|((pipeline, finding), fingerprint)| {
            let (start, _) = range(pipeline, finding);
            Issue {
                description: format!("{}: {}", finding.rule.code(), finding.message),
                check_name: finding.rule.code(),
                fingerprint,
                // A file that was not analysed blocks the merge like nothing else.
                severity: if finding.rule == Rule::LoadError {
                    "blocker"
                } else {
                    severity(finding.severity)
                },
                location: Location {
                    path: report_path(&pipeline.files[finding.file].name),
                    lines: Lines {
                        begin: start.line,
                        end: end_line(pipeline, finding),
                    },
                },
            }
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

/// Code Quality's scale is info, minor, major, critical, blocker; ruff maps
/// its levels the same way.
fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "minor",
        Severity::Error => "major",
    }
}

/// The line of the finding's last character (a span that ends with a line
/// break does not reach into the next line).
fn end_line(pipeline: &Pipeline, finding: &Finding) -> usize {
    let file = &pipeline.files[finding.file];
    let last = finding
        .span
        .end()
        .saturating_sub(1)
        .max(finding.span.start());
    file.lines().line_of(last) + 1
}

/// One fingerprint per finding, in report order: a hash of the rule, the
/// file, the top-level block (job) that holds the finding, and the finding's
/// own text with whitespace collapsed (the flag, the path, the call), but
/// never its position. Equal inputs (the same flag twice in one job) are
/// told apart by hashing again with the previous hash as salt, as ruff does;
/// the order of findings is stable, so the salted values are too.
///
/// The salt chain of each input goes on from where its last finding left
/// it, so n equal findings cost n hashes, not n²/2; and each file's
/// top-level blocks are listed once, not once per finding.
pub fn fingerprints(checked: &[Checked]) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut chain_ends: HashMap<u64, u64> = HashMap::new();
    let mut blocks: HashMap<*const SourceFile, Vec<Block>> = HashMap::new();
    each(checked)
        .map(|(pipeline, finding)| {
            let file = &pipeline.files[finding.file];
            let blocks = blocks
                .entry(std::ptr::from_ref(file))
                .or_insert_with(|| crate::suppress::blocks(file));
            let line = file.lines().line_of(finding.span.start());
            let block = block_holding(blocks, line);
            // A span is checked, not trusted: a report must not panic.
            let subject = file
                .text
                .get(finding.span.range())
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let path = report_path(&file.name);
            let parts = [finding.rule.code(), path.as_str(), block, subject.as_str()];
            let first = hash_parts(&parts, None);
            let mut hash = chain_ends
                .get(&first)
                .map_or(first, |&last| hash_parts(&parts, Some(last)));
            while !seen.insert(hash) {
                hash = hash_parts(&parts, Some(hash));
            }
            chain_ends.insert(first, hash);
            format!("{hash:016x}")
        })
        .collect()
}

/// The first of the blocks (in source order) that holds `line`: the first
/// of those starting on the last start line at or before it.
fn block_holding<'a>(blocks: &[Block<'a>], line: usize) -> &'a str {
    let after = blocks.partition_point(|block| *block.lines.start() <= line);
    let Some(last) = after.checked_sub(1) else {
        return "";
    };
    let start = *blocks[last].lines.start();
    let first = blocks.partition_point(|block| *block.lines.start() < start);
    blocks[first..after]
        .iter()
        .find(|block| block.lines.contains(&line))
        .map_or("", |block| block.name)
}

/// The hash of some strings, each length-prefixed so that `("ab", "c")` and
/// `("a", "bc")` differ, then the salt.
fn hash_parts(parts: &[&str], salt: Option<u64>) -> u64 {
    let mut bytes = Vec::new();
    for part in parts {
        bytes.extend((part.len() as u64).to_le_bytes());
        bytes.extend(part.as_bytes());
    }
    bytes.extend(salt.map(u64::to_le_bytes).unwrap_or_default());
    fnv1a(&bytes)
}

/// FNV-1a, 64 bits: tiny, stable across platforms and releases, and enough
/// to tell the findings of one report apart. Not a defence against anyone.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a 64 test vectors.
    #[test]
    fn fnv1a_matches_the_reference() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn parts_and_salts_change_the_hash() {
        assert_ne!(
            hash_parts(&["ab", "c"], None),
            hash_parts(&["a", "bc"], None)
        );
        let plain = hash_parts(&["x"], None);
        assert_ne!(plain, hash_parts(&["x"], Some(plain)));
    }
}
