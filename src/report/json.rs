//! `--output-format json` (schema `json-v1`): a JSON array with one object
//! per finding.
//!
//! The shape is documented in `docs/json.md`. Within `json-v1` fields are
//! only ever added; a change that renames or removes one gets a new format
//! name (`json-v2`), as zizmor does, so consumers that pin `json-v1` keep
//! working.

use serde::Serialize;

use super::{Checked, Position, each, range, report_path};
use crate::rules::Severity;

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    severity: Severity,
    message: &'a str,
    help: Option<&'a str>,
    path: String,
    /// The first job the finding concerns, or null for file-level findings.
    job: Option<&'a str>,
    jobs: &'a [String],
    start: Position,
    end: Position,
    /// Byte offsets into the file, end exclusive.
    range: [usize; 2],
    /// For `kaniko/job`: the change `fix` would make, and whether it applies it.
    fix: Option<JsonFix>,
}

#[derive(Serialize)]
struct JsonFix {
    applicability: crate::finding::Applicability,
    message: String,
    edits: Vec<JsonEdit>,
}

#[derive(Serialize)]
struct JsonEdit {
    path: String,
    start: Position,
    end: Position,
    range: [usize; 2],
    content: String,
}

/// Renders the findings of every pipeline as one JSON array.
pub fn render_json(checked: &[Checked]) -> String {
    let rows: Vec<JsonFinding> = each(checked)
        .map(|(pipeline, finding)| {
            let (start, end) = range(pipeline, finding);
            JsonFinding {
                rule: finding.rule.code(),
                severity: finding.severity,
                message: &finding.message,
                help: finding.help.as_deref(),
                path: report_path(&pipeline.files[finding.file].name),
                job: finding.jobs.first().map(String::as_str),
                jobs: &finding.jobs,
                start,
                end,
                range: [finding.span.start(), finding.span.end()],
                fix: finding.fix.as_ref().map(|fix| JsonFix {
                    applicability: fix.applicability,
                    message: fix.message.clone(),
                    edits: fix
                        .edits
                        .iter()
                        .map(|(file, span, content)| {
                            let source = &pipeline.files[*file];
                            JsonEdit {
                                path: report_path(&source.name),
                                start: source.position(span.start()),
                                end: source.position(span.end()),
                                range: [span.start(), span.end()],
                                content: content.clone(),
                            }
                        })
                        .collect(),
                }),
            }
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}
