//! Renderers: miette diagnostics (`full`), one line per finding (`concise`),
//! versioned JSON, and the formats CI systems read (GitLab Code Quality,
//! SARIF, JUnit, GitHub workflow commands). All read the same [`Finding`]s.

mod excerpt;
mod github;
mod gitlab;
mod json;
mod junit;
pub mod load;
mod sarif;

use std::fmt::Write as _;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, SourceCode};

use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline, SourceFile};
use crate::rules::Severity;
use crate::span::{LineIndex, Span};
use excerpt::Excerpt;

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

/// Secondary labels shown per diagnostic; the others are counted in its help.
const MAX_LABELS: usize = 12;
/// Characters of a message, label or help shown; a longer one is cut.
const MAX_TEXT: usize = 1_000;

/// A finding seen through miette's `Diagnostic` trait, over an excerpt of
/// its file.
struct FindingDiagnostic<'a> {
    finding: &'a Finding,
    message: String,
    help: Option<String>,
    source: Excerpt,
    labels: Vec<LabeledSpan>,
}

impl std::fmt::Debug for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Display for FindingDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
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
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

impl<'a> FindingDiagnostic<'a> {
    /// The finding over an excerpt of `file`: the primary label and at most
    /// [`MAX_LABELS`] others, every text cut to [`MAX_TEXT`] characters.
    fn new(file: &SourceFile, finding: &'a Finding) -> FindingDiagnostic<'a> {
        let shown = finding.labels.len().min(MAX_LABELS);
        let texts: Vec<&str> = std::iter::once(finding.label.as_ref())
            .chain(finding.labels[..shown].iter().map(|l| l.text.as_ref()))
            .collect();
        let spans: Vec<Span> = std::iter::once(finding.focus.unwrap_or(finding.span))
            .chain(finding.labels[..shown].iter().map(|l| l.span))
            .collect();
        let (source, spans) = Excerpt::new(&file.name, &file.text, file.lines(), &spans);
        let labels = texts
            .iter()
            .zip(spans)
            .enumerate()
            .map(|(index, (text, span))| {
                let text = (!text.is_empty()).then(|| bounded(text));
                if index == 0 {
                    LabeledSpan::new_primary_with_span(text, span)
                } else {
                    LabeledSpan::new_with_span(text, span)
                }
            })
            .collect();
        let hidden = finding.labels.len() - shown;
        let more = (hidden > 0).then(|| {
            format!("{hidden} more places are not shown here; `--output-format json` lists them")
        });
        let help = match (finding.help.as_deref().map(bounded), more) {
            (Some(help), Some(more)) => Some(format!("{help}\n{more}")),
            (help, more) => help.or(more),
        };
        FindingDiagnostic {
            finding,
            message: bounded(&finding.message),
            help,
            source,
            labels,
        }
    }
}

/// `text`, cut to [`MAX_TEXT`] characters: a message may quote a value of
/// any length from the file.
fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT) {
        None => text.to_string(),
        Some((cut, _)) => format!(
            "{}… ({} more bytes not shown)",
            &text[..cut],
            text.len() - cut
        ),
    }
}

/// An unreadable or unparsable file, as a miette diagnostic.
struct LoadDiagnostic<'a> {
    error: &'a LoadError,
    message: String,
    help: Option<String>,
    /// The excerpt and the error's place in it, when it has one.
    source: Option<(Excerpt, Span)>,
}

impl std::fmt::Debug for LoadDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::fmt::Display for LoadDiagnostic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", bounded(&self.error.name), self.message)
    }
}

impl std::error::Error for LoadDiagnostic<'_> {}

impl Diagnostic for LoadDiagnostic<'_> {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new("error/load"))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|(s, _)| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (_, span) = self.source.as_ref()?;
        Some(Box::new(std::iter::once(
            LabeledSpan::new_primary_with_span(Some("here".into()), *span),
        )))
    }
}

impl<'a> LoadDiagnostic<'a> {
    fn new(error: &'a LoadError) -> LoadDiagnostic<'a> {
        let source = match (&error.text, error.span) {
            (Some(text), Some(span)) => {
                let lines = LineIndex::new(text);
                let (excerpt, spans) = Excerpt::new(&error.name, text, &lines, &[span]);
                Some((excerpt, spans[0]))
            }
            _ => None,
        };
        LoadDiagnostic {
            error,
            message: bounded(&error.message),
            help: error.help.as_deref().map(bounded),
            source,
        }
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
                .with_width(110)
                // Lines break at spaces only, so that a path, an image or
                // a URL stays whole (copyable, searchable), where Unicode
                // line breaking cut `/kaniko/executor` after a slash and
                // hyphenation cut `gcr.io/kaniko-project` after a hyphen.
                // The Unicode breaker was also a quarter of what rendering
                // a finding costs.
                .with_word_separator(textwrap::WordSeparator::AsciiSpace)
                .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
                .with_context_lines(excerpt::CONTEXT_LINES),
        }
    }

    pub fn finding(&self, pipeline: &Pipeline, finding: &Finding) -> String {
        let file = &pipeline.files[finding.file];
        self.render(&FindingDiagnostic::new(file, finding))
    }

    pub fn load_error(&self, error: &LoadError) -> String {
        self.render(&LoadDiagnostic::new(error))
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
        bounded(&finding.message)
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
