//! The first step of planning: which jobs use Kaniko. Every job is
//! resolved and detected once, in name order; the Kaniko jobs are kept for
//! the plan, and of the others only what the plan's blockers ask of them
//! (the shared image defaults and `DOCKER_CONFIG` values they use). Holding
//! every resolved job of a pipeline, most of which run no Kaniko, took more
//! memory than the plan itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::Options;
use crate::gitlab::jobs::{self, Job};
use crate::gitlab::value::At;
use crate::gitlab::{FileId, Pipeline};

use crate::kaniko::{self, LineUse};
use crate::span::Span;

/// The pipeline's jobs, resolved and detected in one pass: the Kaniko jobs
/// are kept whole, with what detection found in their script lines; of the
/// others only what the blockers ask.
pub(super) struct Survey {
    pub(super) kaniko_jobs: Vec<Job>,
    /// For each Kaniko job: whether its image is a Kaniko image, and the
    /// script lines that use Kaniko.
    pub(super) detected: Vec<(bool, Vec<Arc<LineUse>>)>,
    pub(super) others: OtherJobs,
}

/// What the jobs that do not use Kaniko share with those that do.
#[derive(Default)]
pub(super) struct OtherJobs {
    /// Where each file's shared defaults are written: the values of its
    /// top-level `image:` and `default:` keys.
    defaults: Vec<(FileId, Span)>,
    /// The image sites they take from inside those values: a shared default
    /// is not edited in place when they use it. Only such sites are asked
    /// about; a set of every job's own site took 5 MB for 200,000 jobs.
    pub(super) default_image_sites: BTreeSet<At>,
    /// Each `DOCKER_CONFIG` value a job (not a template) keeps, and the
    /// first such job by name.
    pub(super) docker_configs: BTreeMap<At, String>,
}

impl Survey {
    pub(super) fn of(pipeline: &Pipeline, options: &Options) -> Survey {
        let defaults = default_values(pipeline);
        let start = || Survey {
            kaniko_jobs: Vec::new(),
            detected: Vec::new(),
            others: OtherJobs {
                defaults: defaults.clone(),
                ..OtherJobs::default()
            },
        };
        // Resolution findings are the analysis's to report.
        let (parts, _) = jobs::resolve_in_parts(
            pipeline,
            || (kaniko::Detector::new(&options.config), start()),
            |(detector, survey), job| survey.add(pipeline, detector, job),
        );
        let mut parts = parts.into_iter().map(|(_, survey)| survey);
        let mut survey = parts.next().unwrap_or_else(start);
        for later in parts {
            survey.join(later);
        }
        survey
    }

    /// Detects Kaniko in `job`, and keeps it or notes what it shares.
    fn add(&mut self, pipeline: &Pipeline, detector: &mut kaniko::Detector, job: Job) {
        let usage = detector.detect(pipeline, &job);
        if usage.uses_kaniko() {
            let in_kaniko_image = usage.image.is_some();
            self.detected.push((in_kaniko_image, usage.lines));
            self.kaniko_jobs.push(job);
        } else {
            self.others.note(pipeline, &job);
        }
    }

    /// Adds the survey of the jobs named after this one's.
    fn join(&mut self, later: Survey) {
        self.kaniko_jobs.extend(later.kaniko_jobs);
        self.detected.extend(later.detected);
        let others = later.others;
        self.others
            .default_image_sites
            .extend(others.default_image_sites);
        for (at, job) in others.docker_configs {
            // The first job by name keeps it.
            self.others.docker_configs.entry(at).or_insert(job);
        }
    }
}

impl OtherJobs {
    fn note(&mut self, pipeline: &Pipeline, job: &Job) {
        if let Some(image) = &job.image {
            // Within a default's value, by its span: asking the tree for
            // each node's parent would build its table of parents for a
            // pipeline that may have no Kaniko job at all. Deeper sites than
            // `is_default_site` accepts are kept too, and never asked about.
            let file = &pipeline.files[image.at.file];
            let span = file.tree.node(image.at.node).span;
            let in_default = self.defaults.iter().any(|&(file, default)| {
                file == image.at.file
                    && default.start() <= span.start()
                    && span.end() <= default.end()
            });
            if in_default {
                self.default_image_sites.insert(image.at);
            }
        }
        if job.hidden {
            return;
        }
        let docker_config = job
            .variables
            .iter()
            .find(|(name, _)| name == "DOCKER_CONFIG");
        if let Some((_, at)) = docker_config {
            self.docker_configs
                .entry(*at)
                .or_insert_with(|| job.name.clone());
        }
    }
}

/// The values of every file's top-level `image:` and `default:` keys.
fn default_values(pipeline: &Pipeline) -> Vec<(FileId, Span)> {
    let mut values = Vec::new();
    for (file, source) in pipeline.files.iter().enumerate() {
        let (tree, text) = (&source.tree, source.text.as_str());
        let Some(root) = tree.root() else {
            continue;
        };
        for (key, value) in tree.pairs(root) {
            if matches!(tree.key(text, key), Some("image" | "default")) {
                values.push((file, tree.node(value).span));
            }
        }
    }
    values
}
