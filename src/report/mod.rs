//! Renderers: miette diagnostics (`full`), one line per finding (`concise`),
//! versioned JSON, and the formats CI systems read (GitLab Code Quality,
//! SARIF, JUnit, GitHub workflow commands). All read the same [`Finding`]s.

mod github;
mod gitlab;
mod json;
mod junit;
pub mod load;
mod sarif;

use std::fmt::Write as _;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, SourceCode,
    SpanContents,
};

use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline};
use crate::rules::Severity;
use crate::span::LineIndex;

pub use github::render_github;
pub use gitlab::{fingerprints, render_gitlab};
pub use json::render_json;
pub use junit::render_junit;
pub use sarif::render_sarif;

/// One pipeline and the findings to report in it, as every machine-readable
/// renderer reads them.
#[derive(Clone, Copy)]
pub struct Checked<'a> {
    pub pipeline: &'a Pipeline,
    pub findings: &'a [Finding],
}

/// Every finding of a run, with the pipeline it belongs to, in report order.
pub fn each<'a>(checked: &'a [Checked<'a>]) -> impl Iterator<Item = (&'a Pipeline, &'a Finding)> {
    checked
        .iter()
        .flat_map(|c| c.findings.iter().map(move |finding| (c.pipeline, finding)))
}

/// The path a report names a file by. Names are already relative to the
/// project root; an absolute one (a file outside the root) is made relative
/// to `$CI_PROJECT_DIR` when it lies inside, because GitLab matches report
/// paths against the repository.
fn report_path(name: &str) -> String {
    let project_dir = std::env::var_os("CI_PROJECT_DIR").map(std::path::PathBuf::from);
    relative_to(name, project_dir.as_deref())
}

fn relative_to(name: &str, dir: Option<&std::path::Path>) -> String {
    let path = std::path::Path::new(name);
    match dir.and_then(|dir| path.strip_prefix(dir).ok()) {
        Some(relative) if path.is_absolute() => relative.to_string_lossy().into_owned(),
        _ => name.to_string(),
    }
}

/// Where a finding starts and ends (end exclusive), 1-based.
fn range(pipeline: &Pipeline, finding: &Finding) -> (Position, Position) {
    let file = &pipeline.files[finding.file];
    (
        file.position(finding.span.start()),
        file.position(finding.span.end()),
    )
}

/// A 1-based line and column (in characters) of a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

/// A file as miette sees it: named, and read through its line index.
///
/// miette's own `read_span` on a string scans from the start of the file and
/// counts columns in bytes. Here it only sees a window of the lines around
/// the span, and columns are counted in characters, as everywhere else.
struct NamedText<'a> {
    name: &'a str,
    text: &'a str,
    lines: &'a LineIndex,
}

impl SourceCode for NamedText<'_> {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset().min(self.text.len());
        let end = (start + span.len()).min(self.text.len());
        let first_line = self.lines.line_of(start).saturating_sub(before);
        let last_line = self.lines.line_of(end.saturating_sub(1).max(start)) + after + 1;
        let window_start = self.lines.line_start(first_line, self.text);
        let window_end = self
            .lines
            .line_start(last_line.min(self.lines.line_count()), self.text);
        let window = &self.text[window_start..window_end.max(end)];
        let local = miette::SourceSpan::from((start - window_start, end - start));
        let contents = window.read_span(&local, before, after)?;
        let data_start = window_start + contents.span().offset();
        let line = first_line + contents.line();
        let column = if contents.column() == 0 {
            0
        } else {
            let line_start = self
                .lines
                .line_start(self.lines.line_of(data_start), self.text);
            self.text[line_start..data_start].chars().count()
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.to_string(),
            contents.data(),
            (data_start, contents.span().len()).into(),
            line,
            column,
            first_line + contents.line_count(),
        )))
    }
}

/// A finding seen through miette's `Diagnostic` trait.
struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    source: NamedText<'a>,
}

impl std::fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.finding.message)
    }
}

impl std::error::Error for FindingDiagnostic<'_> {}

impl Diagnostic for FindingDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.finding.rule.code()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.finding.severity {
            Severity::Info => miette::Severity::Advice,
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.finding
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let finding = self.finding;
        let primary = LabeledSpan::new_primary_with_span(
            non_empty(&finding.label),
            finding.focus.unwrap_or(finding.span),
        );
        let secondary = finding
            .labels
            .iter()
            .map(|label| LabeledSpan::new_with_span(non_empty(&label.text), label.span));
        Some(Box::new(std::iter::once(primary).chain(secondary)))
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// An unreadable or unparsable file, as a miette diagnostic.
struct LoadDiagnostic<'a> {
    error: &'a LoadError,
    source: Option<NamedText<'a>>,
}

impl std::fmt::Debug for LoadDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error.message)
    }
}

impl std::fmt::Display for LoadDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error.name, self.error.message)
    }
}

impl std::error::Error for LoadDiagnostic<'_> {}

impl Diagnostic for LoadDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("error/load"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.error
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.error.span?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some("here".into()), span),
        )))
    }
}

/// Miette's graphical renderer, with or without colour.
pub struct Renderer {
    handler: GraphicalReportHandler,
}

impl Renderer {
    pub fn new(color: bool) -> Renderer {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        Renderer {
            handler: GraphicalReportHandler::new_themed(theme)
                .with_links(false)
                .with_width(110),
        }
    }

    pub fn finding(&self, pipeline: &Pipeline, finding: &Finding) -> String {
        let file = &pipeline.files[finding.file];
        let source = NamedText {
            name: &file.name,
            text: &file.text,
            lines: &file.lines,
        };
        self.render(&FindingDiagnostic { finding, source })
    }

    pub fn load_error(&self, error: &LoadError) -> String {
        let lines = error
            .text
            .as_deref()
            .map(LineIndex::new)
            .unwrap_or_default();
        let source = error.text.as_deref().map(|text| NamedText {
            name: &error.name,
            text,
            lines: &lines,
        });
        self.render(&LoadDiagnostic { error, source })
    }

    fn render(&self, diagnostic: &dyn Diagnostic) -> String {
        let mut out = String::new();
        if self.handler.render_report(&mut out, diagnostic).is_err() {
            // Rendering only fails on a span outside the text: say it plainly.
            out.clear();
            let _ = writeln!(out, "{diagnostic}");
        }
        out
    }
}

/// [`concise`], with the place bold, the severity in its colour and the
/// rule code dimmed when `color` is on.
pub fn concise_styled(pipeline: &Pipeline, finding: &Finding, color: bool) -> String {
    use crate::style::{self, paint};
    if !color {
        return concise(pipeline, finding);
    }
    let file = &pipeline.files[finding.file];
    let at = file.position(finding.span.start());
    format!(
        "{}: {}{} {}",
        paint(
            true,
            style::BOLD,
            &format!("{}:{}:{}", file.name, at.line, at.column)
        ),
        paint(
            true,
            style::severity(finding.severity),
            finding.severity.as_str()
        ),
        paint(true, style::DIM, &format!("[{}]", finding.rule.code())),
        finding.message
    )
}

/// `path:line:col: severity[rule] message`, one line per finding.
pub fn concise(pipeline: &Pipeline, finding: &Finding) -> String {
    let file = &pipeline.files[finding.file];
    let at = file.position(finding.span.start());
    format!(
        "{}:{}:{}: {}[{}] {}",
        file.name,
        at.line,
        at.column,
        finding.severity.as_str(),
        finding.rule.code(),
        finding.message
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_paths_inside_the_project_dir_become_relative() {
        let dir = std::path::Path::new("/builds/group/app");
        assert_eq!(
            relative_to("/builds/group/app/ci/build.yml", Some(dir)),
            "ci/build.yml"
        );
        assert_eq!(
            relative_to("/elsewhere/x.yml", Some(dir)),
            "/elsewhere/x.yml"
        );
        assert_eq!(relative_to("ci/build.yml", Some(dir)), "ci/build.yml");
        assert_eq!(relative_to("/builds/x.yml", None), "/builds/x.yml");
    }
}
