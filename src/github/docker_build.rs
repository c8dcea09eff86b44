//! `docker run … <Kaniko image> <flags>` in a `run:` script becomes
//! `docker buildx build` on the runner's own Docker, in the same place: the
//! shared translation ([`crate::mapping::docker_run`]) maps the container's
//! paths, credentials and environment; this module writes its lines into
//! the step's script.

use super::build_push::Refusal;
use super::detect::DockerCall;
use super::migrate::StepPlan;
use super::workflow::Step;
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::invocation::{Invocation, Problem};
use crate::mapping::command::{self, Fate, Workspace};
use crate::mapping::docker_run::{self, Builder};
use crate::mapping::flavor::Flavor;
use crate::migrate::Options;
use crate::migrate::text;
use crate::rewrite::Edit;
use crate::rewrite::encode;
use crate::rewrite::verify::{Change, Expected};
use crate::rules::Rule;
use crate::yaml::scalar::SourceMap;

pub fn plan(
    pipeline: &Pipeline,
    step: &Step,
    calls: &[DockerCall],
    options: &Options,
) -> Result<StepPlan, Refusal> {
    let source = &pipeline.files[0];
    let (_, run) = step.run.as_ref().expect("a docker run step has `run:`");
    let script = run.value.as_str();
    let node = source.tree.node(run.node);
    let map = SourceMap::of_node(&source.text, node, script);
    let to_source = |range: std::ops::Range<usize>| match &map {
        Some(map) => map.span_of(range.start, range.end),
        None => node.span,
    };
    let layout = text::layout(&source.text, &source.tree, run.node).ok_or_else(|| Refusal {
        span: node.span,
        message: "the script is not a scalar".into(),
    })?;
    let mut findings = Vec::new();
    let mut new_script = String::new();
    let mut cursor = 0;
    let mut edits = Vec::new();
    for call in calls {
        let lines = call_lines(call, options, &mut findings)?;
        let range = call.docker.script_range.clone();
        let line_indent = text::indentation(script, range.start);
        let encoded = encode::encode(&layout, &lines, &line_indent).ok_or_else(|| Refusal {
            span: call.docker.image_span,
            message: "the script's YAML style cannot hold the new command".into(),
        })?;
        new_script.push_str(&script[cursor..range.start]);
        new_script.push_str(&encoded.decoded);
        cursor = range.end;
        let span = to_source(range);
        // A block scalar that ends the file without a line break: YAML
        // parsers disagree on its final line break, so the new text ends
        // its line.
        let source_text = if span.end() == source.text.len() && !source.text.ends_with('\n') {
            format!("{}{}", encoded.source, layout.line_end)
        } else {
            encoded.source
        };
        edits.push(Edit::replace(span, source_text));
    }
    new_script.push_str(&script[cursor..]);
    findings.push(Finding::new(
        Rule::MigrationNote,
        0,
        calls[0].docker.image_span,
        "the build runs on the runner's Docker with buildx, in a docker-container builder named `kaniko2buildkit` \
         (registry caches need one; the runner's default builder stays the default), made once per runner and \
         reused; Kaniko ran in a container of its own",
    ));
    Ok(StepPlan {
        edits,
        changes: vec![Change::Set {
            node: run.node,
            value: Expected::string(&new_script),
        }],
        findings,
    })
}

/// The lines of the new command for one call: the shared translation of a
/// `docker run` ([`docker_run::plan`]) with the tool's own named builder
/// (the runner's Docker serves the later steps too); a blocked note refuses the
/// step at its span.
fn call_lines(
    call: &DockerCall,
    options: &Options,
    findings: &mut Vec<Finding>,
) -> Result<Vec<String>, Refusal> {
    if let Some(note) = call.docker.invocation().and_then(unreadable_word) {
        return Err(Refusal {
            span: note.span,
            message: note.message,
        });
    }
    let workspace = Workspace {
        root: options.root.as_deref(),
        variables: Vec::new(),
        flavor: Flavor::Buildx,
        ci: &super::CI_VARIABLES,
    };
    let planned = docker_run::plan(&call.docker, &workspace, Builder::Own, false);
    let translated = planned.translation.iter().flat_map(|t| &t.notes);
    for note in planned.notes.iter().chain(translated) {
        findings.push(super::build_push::note_finding(note, options)?);
    }
    let call = planned.call.ok_or_else(|| Refusal {
        span: call.docker.image_span,
        message: "the `docker run` could not be translated".into(),
    })?;
    Ok(call.lines())
}

/// The first word of the call whose flags cannot be seen (a `$VAR` or an
/// expression passed on as it is): the GitLab front-end maps such a word
/// where the file sets it, but a GitHub step output or expression holds
/// executor flags that `docker buildx build` and build-push-action would
/// not understand.
pub(super) fn unreadable_word(call: &Invocation) -> Option<command::FlagNote> {
    call.problems.iter().find_map(|problem| match problem {
        Problem::Variable { word, span, .. } => Some(command::FlagNote {
            fate: Fate::Blocked,
            span: *span,
            message: format!(
                "`{word}` is passed on as it is and may hold executor flags, which buildx would not \
                 understand: write the flags in the step"
            ),
        }),
        _ => None,
    })
}
