//! Detection: which jobs use Kaniko, through which image, command or path,
//! and which executor flags each invocation passes.

pub mod image;
pub mod invocation;
pub mod shell;

use crate::gitlab::jobs::{Job, ScriptLine};
use crate::gitlab::scalar::SourceMap;
use crate::gitlab::value::At;
use crate::gitlab::yaml::NodeKind;
use crate::gitlab::{FileId, Pipeline};
use crate::span::Span;
use invocation::{Invocation, Program};

/// A script word that names a path only Kaniko images have.
#[derive(Clone, Debug)]
pub struct PathUse {
    pub file: FileId,
    pub span: Span,
    pub path: String,
}

/// Invocations found in one script line, for every job that runs it.
#[derive(Clone, Debug)]
pub struct LineUse {
    pub file: FileId,
    pub invocations: Vec<Invocation>,
    pub paths: Vec<PathUse>,
}

/// How one job uses Kaniko.
#[derive(Debug)]
pub struct Usage<'j> {
    pub job: &'j Job,
    /// The job's image, when it is a Kaniko image.
    pub image: Option<&'j crate::gitlab::jobs::Image>,
    pub lines: Vec<LineUse>,
}

impl Usage<'_> {
    pub fn uses_kaniko(&self) -> bool {
        self.image.is_some() || !self.lines.is_empty()
    }

    pub fn invocations(&self) -> impl Iterator<Item = (FileId, &Invocation)> {
        self.lines
            .iter()
            .flat_map(|line| line.invocations.iter().map(move |inv| (line.file, inv)))
    }

    pub fn paths(&self) -> impl Iterator<Item = &PathUse> {
        self.lines.iter().flat_map(|line| line.paths.iter())
    }
}

/// Looks at one job: its image and every script line it runs.
pub fn detect<'j>(pipeline: &Pipeline, job: &'j Job) -> Usage<'j> {
    let image = job
        .image
        .as_ref()
        .filter(|image| image::is_kaniko_image(&image.name));
    let in_kaniko_image = image.is_some();
    let lines = job
        .scripts
        .iter()
        .filter_map(|line| scan_line(pipeline, line, in_kaniko_image))
        .collect();
    Usage { job, image, lines }
}

/// Commands that only print their arguments: a `/kaniko/` path there is text.
const PRINTERS: &[&str] = &["echo", "printf"];

fn scan_line(pipeline: &Pipeline, line: &ScriptLine, in_kaniko_image: bool) -> Option<LineUse> {
    let At { file, node } = line.at;
    let source = &pipeline.files[file];
    let node = source.tree.deref(node);
    let script = source.tree.scalar(&source.text, node)?;
    // Cheap filter first: most script lines never mention Kaniko.
    if !script.contains("kaniko")
        && !(in_kaniko_image && (script.contains("executor") || script.contains("warmer")))
    {
        return None;
    }
    let scalar = source.tree.node(node);
    let map = match scalar.kind {
        NodeKind::Scalar { style, .. } => SourceMap::new(&source.text, scalar.span, style, script),
        _ => None,
    };
    let to_source = |range: std::ops::Range<usize>| match &map {
        Some(map) => map.span_of(range.start, range.end),
        None => scalar.span,
    };
    let mut found = LineUse {
        file,
        invocations: Vec::new(),
        paths: Vec::new(),
    };
    for command in shell::commands(script) {
        collect_assigned_paths(&command.assignments, file, &to_source, &mut found.paths);
        let Some(first) = command.words.first() else {
            collect_paths(&command.redirects, file, &to_source, &mut found.paths);
            continue;
        };
        match program(&first.value, in_kaniko_image) {
            Some(program) => {
                let (flags, problems) = invocation::parse(program, &command.words[1..], &to_source);
                let last = command
                    .words
                    .last()
                    .map_or(first.range.end, |w| w.range.end);
                let span = to_source(first.range.start..last);
                found.invocations.push(Invocation {
                    program,
                    span,
                    flags,
                    problems,
                });
            }
            None if PRINTERS.contains(&first.value.as_str()) => {}
            None => collect_paths(&command.words[1..], file, &to_source, &mut found.paths),
        }
        collect_paths(&command.redirects, file, &to_source, &mut found.paths);
    }
    (!found.invocations.is_empty() || !found.paths.is_empty()).then_some(found)
}

/// Which Kaniko program a command name runs. A bare `executor` counts only
/// inside a Kaniko image, where `/kaniko` is on `PATH`.
fn program(name: &str, in_kaniko_image: bool) -> Option<Program> {
    let name = name
        .trim_start_matches("${KANIKO_DIR:-/kaniko}")
        .trim_start_matches("$KANIKO_DIR");
    if name.ends_with("/kaniko/executor")
        || name == "/executor"
        || (in_kaniko_image && name == "executor")
    {
        Some(Program::Executor)
    } else if name.ends_with("/kaniko/warmer")
        || name == "/warmer"
        || (in_kaniko_image && name == "warmer")
    {
        Some(Program::Warmer)
    } else {
        None
    }
}

/// `SSL_CERT_DIR=/kaniko/ssl/certs cmd`: the value names a Kaniko path.
fn collect_assigned_paths(
    words: &[shell::Word],
    file: FileId,
    to_source: &dyn Fn(std::ops::Range<usize>) -> Span,
    out: &mut Vec<PathUse>,
) {
    for word in words {
        if let Some((_, value)) = word
            .value
            .split_once('=')
            .filter(|(_, v)| v.starts_with("/kaniko/"))
        {
            out.push(PathUse {
                file,
                span: to_source(word.range.clone()),
                path: value.to_string(),
            });
        }
    }
}

fn collect_paths(
    words: &[shell::Word],
    file: FileId,
    to_source: &dyn Fn(std::ops::Range<usize>) -> Span,
    out: &mut Vec<PathUse>,
) {
    for word in words {
        if word.value.starts_with("/kaniko/") {
            out.push(PathUse {
                file,
                span: to_source(word.range.clone()),
                path: word.value.clone(),
            });
        }
    }
}
