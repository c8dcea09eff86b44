//! What the analysis reports: findings with a rule, a place and a message.

use std::borrow::Cow;

use crate::gitlab::FileId;
use crate::rules::{Rule, Severity};
use crate::span::Span;

/// Text that is most often the same literal for every finding that
/// carries it (a label, a help): borrowed then, not copied into each. A
/// finding is held per Kaniko job, and a copy of the help each took 4 MB
/// of a 50 MB pipeline's `check`.
pub type Text = Cow<'static, str>;

/// A secondary place in the same file as the finding.
#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub text: Text,
}

/// Whether `fix` applies a proposed change, as ruff's applicability levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// `fix` applies it: behaviour stays the same.
    Safe,
    /// Only `fix --unsafe` applies it: it changes behaviour.
    Unsafe,
    /// No automatic change: the finding says why.
    Unavailable,
}

/// The change that would resolve a finding: edits on the original files.
#[derive(Clone, Debug)]
pub struct Fix {
    pub applicability: Applicability,
    pub message: String,
    /// (file, byte range, replacement), in file order.
    pub edits: Vec<(FileId, Span, String)>,
}

#[derive(Clone, Debug)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub message: Text,
    pub file: FileId,
    pub span: Span,
    /// A narrower part of `span` for the diagnostic snippet to point at,
    /// when other labels sit inside `span`.
    pub focus: Option<Span>,
    /// Text shown at the primary span.
    pub label: Text,
    pub labels: Vec<Label>,
    pub help: Option<Text>,
    /// The jobs this finding concerns; empty for file-level findings.
    pub jobs: Vec<String>,
    /// The proposed change, when one was computed (JSON output). Boxed:
    /// few findings carry one, and a finding is held per job.
    pub fix: Option<Box<Fix>>,
}

impl Finding {
    /// Each job's findings, in the findings' order: asked of every job of a
    /// file, a scan of all findings per job was quadratic.
    pub fn by_job(findings: &[Finding]) -> hashbrown::HashMap<&str, Vec<&Finding>> {
        let mut by_job: hashbrown::HashMap<&str, Vec<&Finding>> = hashbrown::HashMap::new();
        for finding in findings {
            for job in &finding.jobs {
                let list = by_job.entry(job.as_str()).or_default();
                if !list.last().is_some_and(|last| std::ptr::eq(*last, finding)) {
                    list.push(finding);
                }
            }
        }
        by_job
    }

    /// Merges each run of findings (sorted by place) with the same rule,
    /// place and message into its first, which then names every job of the
    /// run once, in the order met: a definition shared by several jobs is
    /// one finding naming them all. The names seen are kept in a set: a
    /// template merged into thirty thousand jobs made a scan of the list
    /// per name quadratic.
    pub fn merge_repeated(findings: Vec<Finding>) -> Vec<Finding> {
        let mut merged: Vec<Finding> = Vec::with_capacity(findings.len());
        // The names of the run being merged, filled when a run has a second
        // finding. A fresh set per run: clearing a set costs its capacity,
        // and one template's run of 30,000 jobs made every later clear cost
        // that much.
        let mut named: hashbrown::HashSet<String> = hashbrown::HashSet::new();
        for finding in findings {
            match merged.last_mut() {
                Some(kept)
                    if kept.rule == finding.rule
                        && kept.file == finding.file
                        && kept.span == finding.span
                        && kept.message == finding.message =>
                {
                    if named.is_empty() {
                        named.extend(kept.jobs.iter().cloned());
                    }
                    for job in finding.jobs {
                        if named.insert(job.clone()) {
                            kept.jobs.push(job);
                        }
                    }
                }
                _ => {
                    if !named.is_empty() {
                        named = hashbrown::HashSet::new();
                    }
                    merged.push(finding);
                }
            }
        }
        merged
    }

    pub fn new(rule: Rule, file: FileId, span: Span, message: impl Into<Text>) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            message: message.into(),
            file,
            span,
            focus: None,
            label: Text::Borrowed(""),
            labels: Vec::new(),
            help: None,
            jobs: Vec::new(),
            fix: None,
        }
    }

    pub fn label(mut self, text: impl Into<Text>) -> Finding {
        self.label = text.into();
        self
    }

    pub fn help(mut self, text: impl Into<Text>) -> Finding {
        self.help = Some(text.into());
        self
    }

    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    pub fn jobs(mut self, jobs: Vec<String>) -> Finding {
        self.jobs = jobs;
        self
    }

    pub fn with_label(mut self, span: Span, text: impl Into<Text>) -> Finding {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }
}
