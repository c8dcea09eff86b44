//! `--output-format junit`: JUnit XML for `artifacts:reports:junit`.
//!
//! One test case per job (templates included), so the merge-request widget
//! reads "3 failed out of 40" the way a team thinks about the migration: job
//! by job. GitLab keys a test case by `classname` + `name` and drops
//! duplicates, so `classname` is the file that defines the job and `name`
//! the job. A job fails when an error-level finding concerns it (as the exit
//! code does); warnings and notes go to its `system-out`. Findings that
//! concern no job (includes, suppressions) get a test case named after
//! their file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Checked, concise, report_path};
use crate::gitlab::jobs;
use crate::rules::Severity;

/// A test case's findings as `concise` lines, split by whether they fail it.
#[derive(Default)]
struct Case {
    failures: Vec<String>,
    notes: Vec<String>,
}

/// Renders one test suite per file, one test case per job.
pub fn render_junit(checked: &[Checked]) -> String {
    let cases = cases(checked);
    let mut suites: BTreeMap<&str, Vec<(&str, &Case)>> = BTreeMap::new();
    for ((classname, name), case) in &cases {
        suites.entry(classname).or_default().push((name, case));
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"kaniko2buildkit\" tests=\"{}\" failures=\"{}\">",
        cases.len(),
        failed(cases.values())
    );
    for (file, cases) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            attribute(file),
            cases.len(),
            failed(cases.iter().map(|(_, case)| *case))
        );
        for (name, case) in cases {
            write_case(&mut out, file, name, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// Every job of every pipeline, keyed by (defining file, job name), with
/// the findings that concern it; then the job-less findings by file.
fn cases(checked: &[Checked]) -> BTreeMap<(String, String), Case> {
    let mut cases: BTreeMap<(String, String), Case> = BTreeMap::new();
    for run in checked {
        let pipeline = run.pipeline;
        let mut job_files = BTreeMap::new();
        jobs::resolve_each(pipeline, |job| {
            let file = report_path(&pipeline.files[job.key.file].name);
            cases.entry((file.clone(), job.name.clone())).or_default();
            job_files.insert(job.name, file);
        });
        for finding in run.findings {
            let file = report_path(&pipeline.files[finding.file].name);
            let keys: Vec<(String, String)> = if finding.jobs.is_empty() {
                vec![(file.clone(), file)]
            } else {
                let file_of = |job: &String| job_files.get(job).cloned().unwrap_or(file.clone());
                finding
                    .jobs
                    .iter()
                    .map(|job| (file_of(job), job.clone()))
                    .collect()
            };
            let line = concise(pipeline, finding);
            for key in keys {
                let case = cases.entry(key).or_default();
                let list = if finding.severity == Severity::Error {
                    &mut case.failures
                } else {
                    &mut case.notes
                };
                // A file included by two checked pipelines reports twice.
                if !list.contains(&line) {
                    list.push(line.clone());
                }
            }
        }
    }
    cases
}

fn failed<'a>(cases: impl Iterator<Item = &'a Case>) -> usize {
    cases.filter(|case| !case.failures.is_empty()).count()
}

fn write_case(out: &mut String, classname: &str, name: &str, case: &Case) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attribute(classname),
        attribute(name)
    );
    if case.failures.is_empty() && case.notes.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if let Some(first) = case.failures.first() {
        let message = match case.failures.len() {
            1 => first.clone(),
            n => format!("{n} error-level findings; the first: {first}"),
        };
        let _ = writeln!(
            out,
            "      <failure type=\"kaniko2buildkit\" message=\"{}\">{}</failure>",
            attribute(&message),
            text(&case.failures.join("\n"))
        );
    }
    if !case.notes.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            text(&case.notes.join("\n"))
        );
    }
    out.push_str("    </testcase>\n");
}

/// An attribute value: quotes escaped, and line breaks and tabs written as
/// character references, since a parser turns literal ones into spaces.
fn attribute(value: &str) -> String {
    escape(value, true)
}

/// Element content: line breaks stay as they are, for readable reports.
fn text(value: &str) -> String {
    escape(value, false)
}

/// Escapes markup; characters XML 1.0 cannot hold (terminal escapes and
/// other controls) become U+FFFD.
fn escape(value: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// XML 1.0's `Char` production.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            attribute("a<b>&\"c\"'\n\u{1b}[31m"),
            "a&lt;b&gt;&amp;&quot;c&quot;'&#10;\u{FFFD}[31m"
        );
        assert_eq!(text("\"x\"\n\ty\r"), "\"x\"\n\ty&#13;");
        assert_eq!(text("ü 😀"), "ü 😀");
    }
}
