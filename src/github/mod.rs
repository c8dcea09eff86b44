//! The GitHub Actions front-end: Kaniko in workflows and composite actions.
//!
//! [`workflow`] reads the document (jobs, `container:`, steps), [`detect`]
//! finds the four patterns (the Kaniko actions of the marketplace, `docker
//! run` of a Kaniko image, `run:` steps that call the executor, in a Kaniko
//! `container:` or by path), [`analyse`] turns them into findings and
//! [`migrate()`] into verified edits. `${{ … }}` expressions are values the
//! tool cannot see: they are carried as they are, like shell variables.

mod action_call;
pub mod actions;
mod build_push;
mod container_job;
pub mod detect;
mod docker_build;
mod findings;
pub mod migrate;
pub mod pins;
pub mod workflow;

use crate::analysis::Analysis;
use crate::config::Config;
use crate::gitlab::Pipeline;
use crate::mapping::command::CiVariables;

/// What GitHub's variables mean to the shared translation: a step starts in
/// the checkout, `$GITHUB_WORKSPACE`.
pub static CI_VARIABLES: CiVariables = CiVariables {
    project_dir: &[
        "$GITHUB_WORKSPACE",
        "${GITHUB_WORKSPACE}",
        "${{ github.workspace }}",
    ],
    absolute: &[
        "$GITHUB_WORKSPACE",
        "${GITHUB_WORKSPACE}",
        "${{ github.workspace }}",
        "$RUNNER_TEMP",
        "${RUNNER_TEMP}",
        "$HOME",
        "${HOME}",
    ],
    untagged_image: &[],
};

pub use migrate::migrate;

/// `check`: a finding for every step that builds with Kaniko, its executor
/// calls and flags, and the Kaniko-only paths its scripts use.
pub fn analyse(pipeline: &Pipeline, config: &Config) -> Analysis {
    let mut findings = pipeline.findings.clone();
    let Some(source) = pipeline.files.first() else {
        return Analysis {
            findings,
            kaniko_jobs: 0,
        };
    };
    let document = workflow::read(&source.tree, &source.text);
    let detection = detect::detect(pipeline, &document, config);
    let (found, kaniko_jobs) = findings::of(pipeline, &document, &detection);
    findings.extend(found);
    findings.sort_by_key(|f| (f.file, f.span.start(), f.rule));
    Analysis {
        findings,
        kaniko_jobs,
    }
}
