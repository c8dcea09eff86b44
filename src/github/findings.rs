//! Findings for the Kaniko usage [`super::detect`] found, with the rules
//! the GitLab front-end uses where the meaning is the same.

use std::ops::Range;

use super::actions::{self, Known};
use super::detect::{Detection, Found, Kind};
use super::workflow::{Document, Entry, Job, Step};
use crate::analysis::call_findings;
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::invocation::{self, Invocation, Program};
use crate::kaniko::shell::{self, Word};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;

const CONTAINER_HELP: &str = "Kaniko was archived in June 2025; a job that runs in the Kaniko image migrates only with \
                              an explicit `--flavor`, since GitHub-hosted runners do not allow the user namespaces \
                              rootless BuildKit needs (see docs/github-actions.md)";

const HELP: &str = "Kaniko was archived in June 2025; `kaniko2buildkit fix` moves this step to \
                    docker/setup-buildx-action and docker/build-push-action (see docs/github-actions.md)";

/// The findings of a document, and how many jobs use Kaniko: one
/// `kaniko/job` per job at its key, labelling each step that builds, then
/// the findings of each step (the action and its inputs, the executor
/// calls and their flags, Kaniko-only paths).
pub fn of(
    pipeline: &Pipeline,
    document: &Document,
    detection: &Detection,
) -> (Vec<Finding>, usize) {
    let mut findings = Vec::new();
    let mut kaniko_jobs = 0;
    for (index, job) in document.jobs.iter().enumerate() {
        let steps: Vec<&Found> = detection.in_job(index).collect();
        let in_container = detection.kaniko_containers.contains(&index);
        let builds = steps
            .iter()
            .any(|f| !matches!(f.kind, Kind::UnknownAction { .. }));
        if in_container || builds {
            kaniko_jobs += 1;
            findings.push(job_finding(pipeline, job, in_container, &steps));
        }
        for found in steps {
            findings.extend(step_findings(pipeline, job, found));
        }
    }
    for finding in &mut findings {
        explain_expression(finding);
    }
    (findings, kaniko_jobs)
}

fn span(pipeline: &Pipeline, node: crate::yaml::NodeId) -> Span {
    pipeline.files[0].tree.node(node).span
}

fn step_findings(pipeline: &Pipeline, job: &Job, found: &Found) -> Vec<Finding> {
    let step = &job.steps[found.step];
    let jobs = vec![job.id.clone()];
    match &found.kind {
        Kind::Action { known, action } => action_findings(pipeline, job, step, *known, action),
        Kind::UnknownAction { name } => {
            let (_, uses) = step.uses.as_ref().expect("an action step has `uses:`");
            vec![
                Finding::new(
                    Rule::UnknownAction,
                    0,
                    span(pipeline, uses.node),
                    format!(
                        "{} of job `{}` uses `{name}`, which looks like Kaniko but is not an action the tool knows",
                        step.label(),
                        job.id
                    ),
                )
                .label("unknown Kaniko action")
                .help(
                    "check whether it builds with Kaniko; if so, move it to docker/build-push-action by hand \
                     (docs/github-actions.md shows the inputs of the known actions)",
                )
                .jobs(jobs),
            ]
        }
        Kind::DockerRun { calls } => calls
            .iter()
            .flat_map(|call| match call.docker.invocation() {
                Some(invocation) => call_findings(0, std::slice::from_ref(invocation), &[], &jobs),
                None => Vec::new(),
            })
            .collect(),
        Kind::Executor { line } => call_findings(0, &line.invocations, &line.paths, &jobs),
    }
}

/// `kaniko/job` at the job's key, with what makes it a Kaniko job: its
/// `container:` image and each step that builds, labelled.
fn job_finding(pipeline: &Pipeline, job: &Job, in_container: bool, steps: &[&Found]) -> Finding {
    let mut reasons = Vec::new();
    let mut finding = Finding::new(Rule::KanikoJob, 0, span(pipeline, job.key), "")
        .label(if job.id == "runs" {
            "composite action"
        } else {
            "job"
        })
        .help(HELP)
        .jobs(vec![job.id.clone()]);
    if let (true, Some(image)) = (in_container, &job.container) {
        reasons.push(format!("container `{}`", image.value));
        finding = finding.with_label(span(pipeline, image.node), "Kaniko image");
        finding.help = Some(CONTAINER_HELP.into());
    }
    for found in steps {
        let step = &job.steps[found.step];
        let (node, text) = match &found.kind {
            Kind::Action { .. } => {
                let (_, uses) = step.uses.as_ref().expect("an action step has `uses:`");
                reasons.push(format!("{} runs `{}`", step.label(), uses.value.trim()));
                (uses.node, "Kaniko action".to_string())
            }
            Kind::UnknownAction { .. } => continue,
            Kind::DockerRun { calls } => {
                let (key, _) = step.run.as_ref().expect("a run step has `run:`");
                reasons.push(format!(
                    "{} runs `{}` with `docker run`",
                    step.label(),
                    calls[0].image
                ));
                for call in calls {
                    if let Some((entrypoint, _)) = &call.docker.run.entrypoint {
                        finding = finding.with_label(
                            call.docker.image_span,
                            format!("Kaniko image, entrypoint `{entrypoint}`"),
                        );
                    }
                }
                (*key, "docker run of a Kaniko image".to_string())
            }
            Kind::Executor { line } => {
                let (key, _) = step.run.as_ref().expect("a run step has `run:`");
                let text = if line.invocations.is_empty() {
                    reasons.push(format!("{} uses Kaniko-only paths", step.label()));
                    "Kaniko-only paths"
                } else {
                    reasons.push(format!("{} calls the executor", step.label()));
                    "calls the executor"
                };
                (*key, text.to_string())
            }
        };
        finding = finding.with_label(span(pipeline, node), text);
    }
    let kind = if job.id == "runs" {
        "composite action"
    } else {
        "job"
    };
    let name = if job.id == "runs" {
        String::new()
    } else {
        format!(" `{}`", job.id)
    };
    finding.message = format!("{kind}{name} uses Kaniko: {}", reasons.join(", ")).into();
    finding
}

fn action_findings(
    pipeline: &Pipeline,
    job: &Job,
    step: &Step,
    known: Known,
    action: &actions::ActionRef,
) -> Vec<Finding> {
    let (_, uses) = step.uses.as_ref().expect("an action step has `uses:`");
    let jobs = vec![job.id.clone()];
    let version = match known {
        Known::Aevea => actions::aevea_version(&action.reference).ok().flatten(),
        Known::Int128 => None,
    };
    let mut finding = Finding::new(
        Rule::KanikoExecutor,
        0,
        span(pipeline, uses.node),
        format!(
            "`{}` calls `/kaniko/executor` with {}",
            uses.value.trim(),
            if step.inputs.is_empty() { "its defaults".to_string() } else { "arguments made of its inputs".to_string() }
        ),
    )
    .label("Kaniko action")
    .help("`kaniko2buildkit fix` replaces it with docker/build-push-action; each input is labelled with what it becomes")
    .jobs(jobs.clone());
    let mut out = Vec::new();
    for entry in &step.inputs {
        let text = match known.input(&entry.name) {
            Some(input) if version.is_some_and(|v| v < input.since) => {
                format!(
                    "not an input of this release (since {}): ignored",
                    input.since
                )
            }
            Some(input) => input.becomes.to_string(),
            None => "not an input of this action: GitHub warns and ignores it".to_string(),
        };
        finding = finding.with_label(span(pipeline, entry.key), text);
        let arguments = match (known, entry.name.as_str()) {
            (Known::Aevea, "extra_args") => Some(false),
            (Known::Int128, "kaniko-args") => Some(true),
            _ => None,
        };
        if let Some(per_line) = arguments
            && let Some(call) = arguments_of(pipeline, entry, per_line)
        {
            out.extend(
                call_findings(0, std::slice::from_ref(&call), &[], &jobs)
                    .into_iter()
                    .filter(|f| f.rule != Rule::KanikoExecutor),
            );
        }
    }
    out.insert(0, finding);
    out
}

/// The executor flags an input passes on: shell words (`extra_args`, which
/// the action's script splits), or one argument per line (`kaniko-args`,
/// read with `getMultilineInput`), each at its span.
pub fn arguments_of(pipeline: &Pipeline, entry: &Entry, per_line: bool) -> Option<Invocation> {
    let source = &pipeline.files[0];
    let value = source.tree.scalar(&source.text, entry.value)?;
    let value: &str = &value;
    let node = source.tree.node(entry.value);
    let map = SourceMap::of_node(&source.text, node, value);
    let to_source = |range: Range<usize>| match &map {
        Some(map) => map.span_of(range.start, range.end),
        None => node.span,
    };
    let words: Vec<Word> = if per_line {
        lines(value)
    } else {
        shell::commands(value)
            .into_iter()
            .flat_map(|c| c.assignments.into_iter().chain(c.words))
            .collect()
    };
    let (flags, problems) = invocation::parse(Program::Executor, value, &words, &to_source);
    let whole = node.span;
    Some(Invocation {
        program: Program::Executor,
        span: whole,
        flags,
        problems,
        script_range: 0..value.len(),
        assignments: Vec::new(),
        program_span: span(pipeline, entry.key),
    })
}

/// One word per non-empty line, trimmed: how `core.getMultilineInput`
/// splits an input.
pub(super) fn lines(value: &str) -> Vec<Word> {
    let mut words = Vec::new();
    let mut offset = 0;
    for line in value.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        if !trimmed.is_empty() {
            let start = offset + (content.len() - content.trim_start().len());
            words.push(Word {
                range: start..start + trimmed.len(),
                value: trimmed.to_string(),
                quoted: false,
                expansion: false,
            });
        }
        offset += line.len();
    }
    words
}

/// A `${{ … }}` word is a GitHub expression, not a shell variable: say so
/// instead of looking for a pipeline variable of that name.
fn explain_expression(finding: &mut Finding) {
    if finding.rule == Rule::VariableArgs && finding.message.starts_with("`${{") {
        finding.help = Some(
            "a GitHub expression: its value is known only when the workflow runs; check which executor \
             flags it holds"
                .into(),
        );
    }
}
