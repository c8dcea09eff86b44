//! Load errors in the machine formats. A file that could not be read or
//! parsed ends the run with exit 2; a report that left it out would show an
//! empty merge-request widget for a broken CI file. So each error becomes a
//! `load/error` finding in a one-file pipeline of its own, which every
//! renderer already knows how to place: a failing JUnit case, a Code
//! Quality blocker, a GitHub `::error`, a JSON object, and in SARIF a tool
//! execution notification instead of a result.

use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline, SourceFile};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::Tree;

/// The error as a pipeline holding its file (or just its name), and the
/// finding that reports it there.
pub fn as_finding(error: &LoadError) -> (Pipeline, Vec<Finding>) {
    let text = error.text.clone().unwrap_or_default();
    let span = error
        .span
        .filter(|span| span.end() <= text.len())
        .unwrap_or_else(|| Span::empty(0));
    let tree = Tree::empty();
    let file = SourceFile::new(error.name.clone(), None, text, tree);
    let pipeline = Pipeline {
        files: vec![file],
        ..Pipeline::default()
    };
    let mut finding =
        Finding::new(Rule::LoadError, 0, span, error.message.clone()).label("not analysed");
    finding.help = error.help.clone().map(Into::into);
    (pipeline, vec![finding])
}
