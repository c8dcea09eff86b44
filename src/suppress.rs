//! Inline suppressions: `# kaniko2buildkit: ignore[rule, ...] reason`.
//!
//! A suppression is a YAML comment, never text inside a scalar: a `#` in a
//! quoted string or a `|` script is part of the value, so that a script line
//! cannot switch the gate off by echoing the marker. What a comment covers
//! depends on where it stands:
//!
//! - at the end of a line of code: the findings on that line, precisely, as
//!   ruff's `# noqa` (on a job's key line: the whole job);
//! - on a line of its own, indented under a job's key or right above it:
//!   every finding in that job (any top-level block: a template, `include:`);
//! - on a line of its own anywhere else: the next line of code.
//!
//! Codes that suppress nothing are reported (`suppression/unused`), like
//! ruff's RUF100, so that stale suppressions do not pile up once a job is
//! migrated; unreadable ones too (`suppression/invalid`), since a typo would
//! otherwise look like a suppression that does not work.

use hashbrown::HashSet;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use crate::finding::Finding;
use crate::gitlab::{FileId, Pipeline, SourceFile};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::NodeKind;

/// What the marker starts with, after `#` and optional spaces.
const MARKER: &str = "kaniko2buildkit:";

/// Findings left after suppression, plus the findings about suppressions.
#[derive(Debug, Default)]
pub struct Outcome {
    pub findings: Vec<Finding>,
    /// How many findings the comments hid, for the summary line.
    pub suppressed: usize,
}

/// Removes the findings that comments suppress and reports the comments
/// that suppress nothing or cannot be read.
pub fn apply(pipeline: &Pipeline, findings: Vec<Finding>) -> Outcome {
    let mut directives: Vec<Vec<Directive>> = Vec::new();
    let mut reported = Vec::new();
    for (id, file) in pipeline.files.iter().enumerate() {
        let (found, invalid) = directives_in(id, file);
        directives.push(found);
        reported.extend(invalid);
    }
    // Filtered in place: a copy of 30,000 jobs' findings was the peak of
    // `check` on a 50 MB pipeline.
    let mut findings = findings;
    let mut suppressed = 0;
    findings.retain(|finding| {
        let file = &pipeline.files[finding.file];
        let keep = !suppress(&mut directives[finding.file], file, finding);
        suppressed += usize::from(!keep);
        keep
    });
    let count = findings.len();
    findings.extend(reported);
    findings.extend(directives.iter().flatten().filter_map(Directive::unused));
    // An analysis' findings come sorted: a sort's buffer is needed only
    // when the comments' own findings join them.
    let key = |f: &Finding| (f.file, f.span.start(), f.rule);
    if findings.len() > count || !findings.is_sorted_by_key(key) {
        findings.sort_by_key(key);
    }
    Outcome {
        findings,
        suppressed,
    }
}

/// The findings of `diff` and `fix` that no comment suppresses. Unused and
/// unreadable comments are `check`'s to report: a comment that keeps a job
/// on Kaniko suppresses none of the migration's own findings.
pub fn shown(pipeline: &Pipeline, findings: Vec<Finding>) -> Vec<Finding> {
    let mut directives: Vec<Vec<Directive>> = pipeline
        .files
        .iter()
        .enumerate()
        .map(|(id, file)| directives_in(id, file).0)
        .collect();
    findings
        .into_iter()
        .filter(|finding| {
            let file = &pipeline.files[finding.file];
            !suppress(&mut directives[finding.file], file, finding)
        })
        .collect()
}

/// The findings that keep a job on Kaniko when suppressed or ignored.
const KEEPING: [Rule; 3] = [Rule::KanikoJob, Rule::KanikoExecutor, Rule::KanikoWarmer];

/// Whether [`kept_jobs`] can keep any job: only an ignore comment (which
/// holds the marker) or the config's ignores can. Without them `diff` and
/// `fix` need not analyse the pipeline first (half a parse's time).
pub fn may_keep_jobs(pipeline: &Pipeline, config: &crate::config::Config) -> bool {
    config.ignores_any(&KEEPING) || pipeline.files.iter().any(|file| file.text.contains(MARKER))
}

/// The jobs kept on Kaniko on purpose, with the reason `diff` and `fix`
/// give: those whose `kaniko/job` finding, or whose executor or warmer
/// call's finding, a comment suppresses or the config ignores. Such a job
/// is never rewritten, just as `check` does not report it.
pub fn kept_jobs(
    pipeline: &Pipeline,
    config: &crate::config::Config,
    findings: &[Finding],
) -> BTreeMap<String, String> {
    let mut directives: Vec<Vec<Directive>> = pipeline
        .files
        .iter()
        .enumerate()
        .map(|(id, file)| directives_in(id, file).0)
        .collect();
    let mut kept = BTreeMap::new();
    for finding in findings.iter().filter(|f| KEEPING.contains(&f.rule)) {
        let file = &pipeline.files[finding.file];
        let line = file.position(finding.span.start()).line;
        let reason = if suppress(&mut directives[finding.file], file, finding) {
            format!(
                "an ignore comment suppresses its `{}` finding ({}:{line}), so it stays on Kaniko",
                finding.rule.code(),
                file.name
            )
        } else if config.apply(pipeline, vec![finding.clone()]).is_empty() {
            format!(
                "the config ignores `{}` in {}, so it stays on Kaniko",
                finding.rule.code(),
                file.name
            )
        } else {
            continue;
        };
        for job in &finding.jobs {
            kept.entry(job.clone()).or_insert_with(|| reason.clone());
        }
    }
    kept
}

/// Marks every code that covers `finding` as used; true if there was one.
fn suppress(directives: &mut [Directive], file: &SourceFile, finding: &Finding) -> bool {
    if directives.is_empty() {
        // No line is asked for: the file's line index is not built.
        return false;
    }
    let start = file.lines().line_of(finding.span.start());
    let end = file.lines().line_of(
        finding
            .span
            .end()
            .saturating_sub(1)
            .max(finding.span.start()),
    );
    let mut suppressed = false;
    for directive in directives.iter_mut() {
        let on_line = directive
            .line
            .is_some_and(|line| (start..=end).contains(&line));
        let in_block = directive.block.as_ref().is_some_and(|b| b.contains(&start));
        if !(on_line || in_block) {
            continue;
        }
        for code in directive.codes.iter_mut() {
            if code.target.covers(finding.rule) {
                code.used = true;
                suppressed = true;
            }
        }
    }
    suppressed
}

/// What one entry of an ignore list names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `all`: every rule.
    All,
    Rule(Rule),
}

impl Target {
    fn covers(self, rule: Rule) -> bool {
        self == Target::All || self == Target::Rule(rule)
    }

    fn name(self) -> &'static str {
        match self {
            Target::All => "all",
            Target::Rule(rule) => rule.code(),
        }
    }
}

/// One entry of an ignore list, and whether it suppressed anything.
#[derive(Debug)]
struct Code {
    target: Target,
    span: Span,
    used: bool,
}

/// A readable `ignore[...]` comment and the lines it covers.
#[derive(Debug)]
struct Directive {
    file: FileId,
    /// From `kaniko2buildkit:` to the end of the comment.
    span: Span,
    codes: Vec<Code>,
    /// The 0-based line it applies to on its own.
    line: Option<usize>,
    /// The lines of the top-level block it is written in.
    block: Option<RangeInclusive<usize>>,
}

impl Directive {
    /// `suppression/unused` for the whole comment when no code was used,
    /// else for each unused code, so the fix is always "delete this".
    fn unused(&self) -> Option<Finding> {
        let unused: Vec<&Code> = self.codes.iter().filter(|c| !c.used).collect();
        if unused.is_empty() {
            return None;
        }
        let names = unused
            .iter()
            .map(|c| format!("`{}`", c.target.name()))
            .collect::<Vec<_>>();
        let message = if unused.iter().any(|c| c.target == Target::All) {
            "unused suppression: no finding here".to_string()
        } else {
            format!("unused suppression: no {} finding here", names.join(" or "))
        };
        let names = names.join(", ");
        let finding = if unused.len() == self.codes.len() {
            Finding::new(Rule::SuppressionUnused, self.file, self.span, message)
                .label("suppresses nothing")
                .help(
                    "remove the comment; at the end of a line it covers that line, on a line of \
                 its own the job it is written in (docs/config.md)",
                )
        } else {
            let code = unused[0];
            let mut finding = Finding::new(Rule::SuppressionUnused, self.file, code.span, message)
                .label("suppresses nothing")
                .help(format!("remove {names} from the list"));
            for other in &unused[1..] {
                finding = finding.with_label(other.span, "suppresses nothing");
            }
            finding
        };
        Some(finding)
    }
}

/// A YAML comment: from its `#` to the end of the line.
#[derive(Debug)]
struct Comment {
    line: usize,
    span: Span,
    /// Nothing but spaces before the `#`.
    own_line: bool,
}

/// The suppressions in one file, and findings for the unreadable ones.
fn directives_in(id: FileId, file: &SourceFile) -> (Vec<Directive>, Vec<Finding>) {
    // Every directive and every unreadable one holds the marker: a file
    // without it (nearly all) needs no walk of its comments.
    if !file.text.contains(MARKER) {
        return (Vec::new(), Vec::new());
    }
    let comments = comments(file);
    let blocks = blocks(file);
    let own_lines: HashSet<usize> = comments
        .iter()
        .filter(|c| c.own_line)
        .map(|c| c.line)
        .collect();
    let mut directives = Vec::new();
    let mut invalid = Vec::new();
    for comment in &comments {
        let Some(marker) = marker(&file.text, comment.span) else {
            continue;
        };
        let codes = match parse_codes(&file.text, marker) {
            Ok(codes) => codes,
            Err(problem) => {
                invalid.push(problem.finding(id));
                continue;
            }
        };
        let (codes, unknown): (Vec<_>, Vec<_>) = codes.into_iter().partition(|c| c.1.is_some());
        invalid.extend(
            unknown
                .iter()
                .map(|(span, _)| unknown_code(id, file, *span)),
        );
        if codes.is_empty() {
            continue;
        }
        let (line, block) = scope(file, &blocks, comment, &own_lines);
        directives.push(Directive {
            file: id,
            span: marker,
            codes: codes
                .into_iter()
                .filter_map(|(span, target)| {
                    Some(Code {
                        target: target?,
                        span,
                        used: false,
                    })
                })
                .collect(),
            line,
            block: block.map(|block| block.lines.clone()),
        });
    }
    (directives, invalid)
}

/// The first line after `line` that holds something other than a comment.
fn next_code_line(file: &SourceFile, line: usize, own_lines: &HashSet<usize>) -> Option<usize> {
    (line + 1..file.lines().line_count()).find(|&next| {
        let start = file.lines().line_start(next, &file.text);
        let end = file.lines().line_start(next + 1, &file.text);
        !own_lines.contains(&next) && !file.text[start..end].trim().is_empty()
    })
}

/// The line a comment covers on its own, and the block it covers whole (see
/// the module docs).
fn scope<'b>(
    file: &SourceFile,
    blocks: &'b [Block],
    comment: &Comment,
    own_lines: &HashSet<usize>,
) -> (Option<usize>, Option<&'b Block<'b>>) {
    let keyed = |line: usize| blocks.iter().find(|block| *block.lines.start() == line);
    if !comment.own_line {
        return (Some(comment.line), keyed(comment.line));
    }
    let column = comment.span.start() - file.lines().line_start(comment.line, &file.text);
    let next = next_code_line(file, comment.line, own_lines);
    let indented = blocks
        .iter()
        .find(|block| block.lines.contains(&comment.line) && column > block.column);
    (next, indented.or_else(|| next.and_then(keyed)))
}

/// A top-level entry of a file (a job, a template, `include:`, …).
#[derive(Debug)]
pub struct Block<'a> {
    pub name: &'a str,
    /// From the key's line to the line before the next key (0-based).
    pub lines: RangeInclusive<usize>,
    /// The key's byte column: comments indented deeper belong to the block.
    column: usize,
}

/// The top-level entries of a file in source order. Reports use them too:
/// the block that holds a finding names it stably in fingerprints.
pub fn blocks(file: &SourceFile) -> Vec<Block<'_>> {
    let Some(root) = file.tree.root() else {
        return Vec::new();
    };
    // A GitHub workflow's jobs are the entries of `jobs:`, not the
    // top-level keys: a comment in one job must not cover the others.
    let github = crate::system::System::by_content(&file.tree, &file.text)
        == Some(crate::system::System::GitHubActions);
    let mut entries = Vec::new();
    for (key, value) in file.tree.pairs(root) {
        let value = file.tree.deref(value);
        if github && file.tree.key(&file.text, key) == Some("jobs") && file.tree.is_mapping(value) {
            entries.extend(file.tree.pairs(value).map(|(job, _)| job));
        } else {
            entries.push(key);
        }
    }
    let keys: Vec<(&str, usize, usize)> = entries
        .into_iter()
        .map(|key| {
            let start = file.tree.node(key).span.start();
            let line = file.lines().line_of(start);
            let name = file.tree.key(&file.text, key).unwrap_or_default();
            (
                name,
                line,
                start - file.lines().line_start(line, &file.text),
            )
        })
        .collect();
    let last_line = file.lines().line_count().saturating_sub(1);
    keys.iter()
        .enumerate()
        .map(|(index, &(name, line, column))| {
            let end = keys
                .get(index + 1)
                .map_or(last_line, |next| next.1.saturating_sub(1).max(line));
            Block {
                name,
                lines: line..=end,
                column,
            }
        })
        .collect()
}

/// The name of the top-level block that holds `offset`, if any.
pub fn block_at(file: &SourceFile, offset: usize) -> Option<&str> {
    let line = file.lines().line_of(offset);
    blocks(file)
        .into_iter()
        .find(|block| block.lines.contains(&line))
        .map(|block| block.name)
}

/// Every YAML comment of a file, found by the rule YAML gives: a `#` at the
/// start of a line or after a space or tab, outside any scalar's text.
fn comments(file: &SourceFile) -> Vec<Comment> {
    let regions = scalar_regions(file);
    let text = &file.text;
    let bytes = text.as_bytes();
    let mut comments = Vec::new();
    for line in 0..file.lines().line_count() {
        let start = file.lines().line_start(line, text);
        let end = file.lines().line_start(line + 1, text);
        let hash = (start..end).find(|&at| {
            bytes[at] == b'#'
                && (at == start || matches!(bytes[at - 1], b' ' | b'\t'))
                && !inside(&regions, at)
        });
        if let Some(hash) = hash {
            let content = text[hash..end].trim_end_matches(['\n', '\r']);
            comments.push(Comment {
                line,
                span: Span::new(hash, hash + content.len()),
                own_line: text[start..hash].trim().is_empty(),
            });
        }
    }
    comments
}

/// Byte ranges that are scalar text, sorted. A block scalar's header line
/// (`script: | # note`) may hold a comment, so its text starts on the next line.
fn scalar_regions(file: &SourceFile) -> Vec<(usize, usize)> {
    let tree = &file.tree;
    let mut regions: Vec<(usize, usize)> = tree
        .node_ids()
        .filter_map(|id| {
            let node = tree.node(id);
            let NodeKind::Scalar { style, .. } = node.kind() else {
                return None;
            };
            let start = if style.is_block() {
                let header = file.lines().line_of(node.span.start());
                file.lines().line_start(header + 1, &file.text)
            } else {
                node.span.start()
            };
            (start < node.span.end()).then_some((start, node.span.end()))
        })
        .collect();
    regions.sort_unstable();
    regions
}

fn inside(regions: &[(usize, usize)], at: usize) -> bool {
    let after = regions.partition_point(|&(start, _)| start <= at);
    after > 0 && regions[after - 1].1 > at
}

/// The marker inside a comment, from `kaniko2buildkit:` to the comment's
/// end. It may follow other text (`# TODO … # kaniko2buildkit: …`).
fn marker(text: &str, comment: Span) -> Option<Span> {
    let body = comment.slice(text);
    body.match_indices('#').find_map(|(at, _)| {
        let after = &body[at + 1..];
        let skipped = after.len() - after.trim_start().len();
        after.trim_start().starts_with(MARKER).then(|| {
            let start = comment.start() + at + 1 + skipped;
            Span::new(start, comment.end())
        })
    })
}

/// Why a marker could not be read.
struct Problem {
    span: Span,
    message: String,
    help: &'static str,
}

impl Problem {
    fn finding(self, file: FileId) -> Finding {
        Finding::new(Rule::SuppressionInvalid, file, self.span, self.message)
            .label("not a suppression")
            .help(self.help)
    }
}

/// Reads `kaniko2buildkit: ignore[code, ...] reason` into codes with their
/// spans; an unknown code has no target.
fn parse_codes(text: &str, marker: Span) -> Result<Vec<(Span, Option<Target>)>, Problem> {
    let body = marker.slice(text);
    let rest = body[MARKER.len()..].trim_start();
    let offset = |part: &str| marker.start() + (part.as_ptr() as usize - body.as_ptr() as usize);
    let malformed = |message: &str| Problem {
        span: marker,
        message: message.to_string(),
        help: "write `# kaniko2buildkit: ignore[rule, ...] reason`, with codes from docs/rules.md",
    };
    let Some(list) = rest.strip_prefix("ignore[") else {
        return Err(malformed(
            "a `kaniko2buildkit:` comment must say `ignore[...]`",
        ));
    };
    let Some(close) = list.find(']') else {
        return Err(malformed("`ignore[` is not closed by `]`"));
    };
    let mut codes = Vec::new();
    for part in list[..close].split(',') {
        let code = part.trim();
        if code.is_empty() {
            continue;
        }
        let start = offset(part) + (part.len() - part.trim_start().len());
        let target = match code {
            "all" => Some(Target::All),
            code => Rule::from_code(code).map(Target::Rule),
        };
        codes.push((Span::new(start, start + code.len()), target));
    }
    if codes.is_empty() {
        return Err(malformed("`ignore[]` names no rule"));
    }
    Ok(codes)
}

fn unknown_code(id: FileId, file: &SourceFile, span: Span) -> Finding {
    let code = span.slice(&file.text);
    let help = match Rule::closest(code) {
        Some(rule) => format!("did you mean `{}`?", rule.code()),
        None => "the codes are listed in docs/rules.md; `all` suppresses every rule".into(),
    };
    Finding::new(
        Rule::SuppressionInvalid,
        id,
        span,
        format!("`{code}` is not a rule code"),
    )
    .label("unknown rule")
    .help(help)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitlab::Input;

    fn pipeline(text: &str) -> Pipeline {
        let input = Input::Stdin {
            text: text.to_string(),
            name: "ci.yml".into(),
        };
        Pipeline::load(std::path::Path::new("/nonexistent"), input)
    }

    fn comment_texts(text: &str) -> Vec<String> {
        let pipeline = pipeline(text);
        let file = &pipeline.files[0];
        comments(file)
            .iter()
            .map(|c| c.span.slice(&file.text).to_string())
            .collect()
    }

    #[test]
    fn hashes_in_scalars_are_not_comments() {
        let text = "\
a: 'x # kaniko2buildkit: ignore[all]'
b: \"y #z\" # real
c: | # header comment
  echo # not a comment
  # not one either
d: e#f
# own line
g: [h, i] # flow
";
        assert_eq!(
            comment_texts(text),
            ["# real", "# header comment", "# own line", "# flow"]
        );
    }

    #[test]
    fn markers_are_found_after_other_text() {
        let text = "a: 1 # TODO: migrate # kaniko2buildkit: ignore[kaniko/job] later\n";
        let pipeline = pipeline(text);
        let file = &pipeline.files[0];
        let comment = &comments(file)[0];
        let marker = marker(&file.text, comment.span).unwrap();
        assert_eq!(
            marker.slice(&file.text),
            "kaniko2buildkit: ignore[kaniko/job] later"
        );
        let codes = parse_codes(&file.text, marker).ok().unwrap();
        assert_eq!(codes.len(), 1);
        assert_eq!(codes[0].0.slice(&file.text), "kaniko/job");
        assert_eq!(codes[0].1, Some(Target::Rule(Rule::KanikoJob)));
    }

    #[test]
    fn malformed_markers_are_problems() {
        for body in [
            "kaniko2buildkit: ignore",
            "kaniko2buildkit: ignore[",
            "kaniko2buildkit: ignore[ , ]",
            "kaniko2buildkit: disable[kaniko/job]",
        ] {
            let span = Span::new(0, body.len());
            assert!(parse_codes(body, span).is_err(), "{body}");
        }
    }

    #[test]
    fn blocks_run_to_the_next_key() {
        let text = "a:\n  x: 1\n\nb: 2\n";
        let pipeline = pipeline(text);
        let file = &pipeline.files[0];
        let blocks = blocks(file);
        assert_eq!(blocks.len(), 2);
        assert_eq!((blocks[0].name, blocks[0].lines.clone()), ("a", 0..=2));
        assert_eq!((blocks[1].name, blocks[1].lines.clone()), ("b", 3..=4));
        assert_eq!(block_at(file, text.find("x:").unwrap()), Some("a"));
    }
}
