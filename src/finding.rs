//! What the analysis reports: findings with a rule, a place and a message.

use crate::gitlab::FileId;
use crate::rules::{Rule, Severity};
use crate::span::Span;

/// A secondary place in the same file as the finding.
#[derive(Clone, Debug)]
pub struct Label {
    pub span: Span,
    pub text: String,
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
    pub message: String,
    pub file: FileId,
    pub span: Span,
    /// A narrower part of `span` for the diagnostic snippet to point at,
    /// when other labels sit inside `span`.
    pub focus: Option<Span>,
    /// Text shown at the primary span.
    pub label: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// The jobs this finding concerns; empty for file-level findings.
    pub jobs: Vec<String>,
    /// The proposed change, when one was computed (JSON output).
    pub fix: Option<Fix>,
}

impl Finding {
    pub fn new(rule: Rule, file: FileId, span: Span, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            message: message.into(),
            file,
            span,
            focus: None,
            label: String::new(),
            labels: Vec::new(),
            help: None,
            jobs: Vec::new(),
            fix: None,
        }
    }

    pub fn label(mut self, text: impl Into<String>) -> Finding {
        self.label = text.into();
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Finding {
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

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Finding {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }
}
