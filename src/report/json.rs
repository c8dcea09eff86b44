//! `--output-format json`: a JSON array with one object per finding.
//!
//! The shape is documented in `docs/json.md`; fields are only ever added.

use serde::Serialize;

use super::Position;
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::rules::Severity;

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    path: &'a str,
    /// The first job the finding concerns, or null for file-level findings.
    job: Option<&'a str>,
    jobs: &'a [String],
    start: Position,
    end: Position,
    /// Byte offsets into the file, end exclusive.
    range: [usize; 2],
}

/// Renders findings of several pipelines as one JSON array.
pub fn render_json<'a>(findings: impl Iterator<Item = (&'a Pipeline, &'a Finding)>) -> String {
    let rows: Vec<JsonFinding> = findings
        .map(|(pipeline, finding)| {
            let file = &pipeline.files[finding.file];
            let (start, end) = (
                file.position(finding.span.start()),
                file.position(finding.span.end()),
            );
            JsonFinding {
                rule: finding.rule.code(),
                severity: finding.severity,
                message: &finding.message,
                help: finding.help.as_deref(),
                path: &file.name,
                job: finding.jobs.first().map(String::as_str),
                jobs: &finding.jobs,
                start,
                end,
                range: [finding.span.start(), finding.span.end()],
            }
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}
