//! Where a workflow (or a composite action) builds with Kaniko: the four
//! patterns of GitHub Actions, each with the nodes and spans a finding or
//! an edit needs.

use std::ops::Range;

use super::actions::{self, ActionRef, Known};
use super::workflow::{Document, Job, Scalar, Step};
use crate::config::Config;
use crate::gitlab::Pipeline;
use crate::gitlab::value::At;
use crate::kaniko::in_docker::{self, DockerUse};
use crate::kaniko::{self, LineUse, image, shell};
use crate::yaml::scalar::SourceMap;

/// One `docker run <Kaniko image> …` in a `run:` script.
#[derive(Clone, Debug)]
pub struct DockerCall {
    /// The `docker run` and what its container runs, read by the shared
    /// reading ([`in_docker`]).
    pub docker: DockerUse,
    /// The image, read from the variable the file sets when it is one.
    pub image: String,
}

#[derive(Clone, Debug)]
pub enum Kind {
    /// A known Kaniko action (`uses:`).
    Action { known: Known, action: ActionRef },
    /// `uses:` names an action with `kaniko` in its name the tool does not
    /// know, or runs a Kaniko image as a container action.
    UnknownAction { name: String },
    /// `docker run … <Kaniko image> …` in a `run:` script.
    DockerRun { calls: Vec<DockerCall> },
    /// A `run:` step that calls the executor: in a job whose `container:`
    /// is a Kaniko image, or by its `/kaniko/executor` path.
    Executor { line: LineUse },
}

/// One step that builds with Kaniko.
#[derive(Clone, Debug)]
pub struct Found {
    /// Index into [`Document::jobs`].
    pub job: usize,
    /// Index into the job's steps.
    pub step: usize,
    pub kind: Kind,
}

/// The Kaniko usage of one document, step by step, with the jobs whose
/// `container:` is a Kaniko image.
#[derive(Clone, Debug, Default)]
pub struct Detection {
    pub found: Vec<Found>,
    /// Jobs (by index) that run in a Kaniko image.
    pub kaniko_containers: Vec<usize>,
}

pub fn detect(pipeline: &Pipeline, document: &Document, config: &Config) -> Detection {
    let mut detection = Detection::default();
    let is_kaniko = |name: &str| image::is_kaniko_image(name) || config.is_extra_kaniko_image(name);
    for (job_index, job) in document.jobs.iter().enumerate() {
        let in_kaniko = job
            .container
            .as_ref()
            .is_some_and(|image| is_kaniko(&image.value));
        let mut job_found = Vec::new();
        for (step_index, step) in job.steps.iter().enumerate() {
            if let Some(kind) = step_kind(pipeline, job, step, in_kaniko, &is_kaniko) {
                job_found.push(Found {
                    job: job_index,
                    step: step_index,
                    kind,
                });
            }
        }
        let runs_scripts = job.steps.iter().any(|s| s.run.is_some());
        if in_kaniko && runs_scripts {
            detection.kaniko_containers.push(job_index);
        }
        detection.found.extend(job_found);
    }
    detection
}

fn step_kind(
    pipeline: &Pipeline,
    job: &Job,
    step: &Step,
    in_kaniko: bool,
    is_kaniko: &dyn Fn(&str) -> bool,
) -> Option<Kind> {
    if let Some((_, uses)) = &step.uses {
        return uses_kind(&uses.value, is_kaniko);
    }
    let (_, run) = step.run.as_ref()?;
    let source = &pipeline.files[0];
    let image_of = |word: &str| {
        job.env_value(&source.tree, &source.text, step, word)
            .unwrap_or_else(|| word.to_string())
    };
    let calls = docker_calls(pipeline, run, is_kaniko, &image_of);
    if !calls.is_empty() {
        return Some(Kind::DockerRun { calls });
    }
    let line = kaniko::scan_script(
        pipeline,
        At {
            file: 0,
            node: run.node,
        },
        in_kaniko,
    )?;
    (!line.invocations.is_empty() || !line.paths.is_empty() || !line.busybox.is_empty())
        .then_some(Kind::Executor { line })
}

fn uses_kind(uses: &str, is_kaniko: &dyn Fn(&str) -> bool) -> Option<Kind> {
    if let Some(image) = uses.trim().strip_prefix("docker://") {
        return is_kaniko(image).then(|| Kind::UnknownAction {
            name: uses.trim().to_string(),
        });
    }
    let action = actions::parse_uses(uses)?;
    match Known::of(&action) {
        Some(known) => Some(Kind::Action { known, action }),
        None if action.repo.to_ascii_lowercase().contains("kaniko") => Some(Kind::UnknownAction {
            name: action.repo.clone(),
        }),
        None => None,
    }
}

/// Every `docker run` of a Kaniko image in a `run:` script.
fn docker_calls(
    pipeline: &Pipeline,
    run: &Scalar,
    is_kaniko: &dyn Fn(&str) -> bool,
    image_of: &dyn Fn(&str) -> String,
) -> Vec<DockerCall> {
    let source = &pipeline.files[0];
    let script = run.value.as_str();
    if !script.contains("docker") && !script.contains("podman") {
        return Vec::new();
    }
    let node = source.tree.node(run.node);
    let map = SourceMap::of_node(&source.text, node, script);
    let to_source = |range: Range<usize>| match &map {
        Some(map) => map.span_of(range.start, range.end),
        None => node.span,
    };
    let is_kaniko_word = |word: &str| is_kaniko(&image_of(word));
    shell::commands(script)
        .iter()
        .filter_map(|command| in_docker::read(script, command, &is_kaniko_word, &to_source))
        .map(|docker| DockerCall {
            image: image_of(&docker.image),
            docker,
        })
        .collect()
}

impl Detection {
    /// The steps of `job` that use Kaniko.
    pub fn in_job(&self, job: usize) -> impl Iterator<Item = &Found> {
        self.found.iter().filter(move |f| f.job == job)
    }
}

/// The job a finding names: its id.
pub fn job_name(job: &Job) -> String {
    job.id.clone()
}
