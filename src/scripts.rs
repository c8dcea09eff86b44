//! Shell scripts of the repository that jobs run (`./ci/build.sh`,
//! `sh scripts/build.sh`): a build there is Kaniko usage the YAML does not
//! show, so `check` reads them and reports each executor call at its place
//! in the script, for the lint gate.
//!
//! A script is read as an include is (`gitlab::read_inside`): only a
//! regular file whose real path stays inside the project root, and at most
//! [`SCRIPT_LIMIT`] bytes.

use std::collections::BTreeMap;

use crate::finding::Finding;
use crate::gitlab::jobs::Job;
use crate::gitlab::{Pipeline, SourceFile};
use crate::kaniko::{self, shell};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::Tree;

/// The largest script read.
pub const SCRIPT_LIMIT: u64 = 1 << 20;

/// The repository scripts that jobs run, with the jobs that run each,
/// gathered one job at a time (see [`Runners::record`]).
#[derive(Default)]
pub struct Runners {
    runners: BTreeMap<String, Vec<String>>,
}

impl Runners {
    /// Notes the scripts a job runs (templates run nothing by themselves).
    pub fn record(&mut self, pipeline: &Pipeline, job: &Job) {
        if job.hidden {
            return;
        }
        for line in &job.scripts {
            let file = &pipeline.files[line.at.file];
            // A value decoded when asked is first looked at in its source.
            if let Some(raw) = file.tree.undecoded(&file.text, line.at.node)
                && !may_name_a_script(raw)
            {
                continue;
            }
            let Some(text) = file.tree.scalar(&file.text, line.at.node) else {
                continue;
            };
            let text: &str = &text;
            if !may_name_a_script(text) {
                continue;
            }
            for command in shell::commands(text) {
                if let Some(path) = shell::script_path(&command.words) {
                    let names = self.runners.entry(normalise(&path)).or_default();
                    if !names.contains(&job.name) {
                        names.push(job.name.clone());
                    }
                }
            }
        }
    }

    /// Reads the recorded scripts, adds those that call the executor to the
    /// pipeline's files, and returns a finding per call.
    pub fn follow(self, pipeline: &mut Pipeline) -> Vec<Finding> {
        let runners = self.runners;
        let mut findings = Vec::new();
        for (path, jobs) in runners {
            let full = pipeline.root.join(&path);
            let Ok((_, text)) = crate::gitlab::read_inside(&pipeline.root, &full, SCRIPT_LIMIT)
            else {
                continue;
            };
            let calls = kaniko::executor_calls(&text);
            let docker_runs = kaniko::docker_runs(&text);
            if calls.is_empty() && docker_runs.is_empty() {
                continue;
            }
            let file = pipeline.files.len();
            pipeline.files.push(SourceFile::new(
                path.clone(),
                Some(full),
                text,
                Tree::empty(),
            ));
            let runs = jobs
                .iter()
                .map(|j| format!("`{j}`"))
                .collect::<Vec<_>>()
                .join(", ");
            for call in calls {
                findings.push(
                Finding::new(
                    Rule::KanikoJob,
                    file,
                    Span::new(call.start, call.end),
                    format!("`{path}`, run by {runs}, calls the Kaniko executor"),
                )
                .label("Kaniko build in a script")
                .help(
                    "migrate the script by hand (see docs/rewrite.md), then the jobs that run it: their image \
                     change alone would break the build",
                )
                .jobs(jobs.clone()),
            );
            }
            for run in docker_runs {
                findings.push(
                Finding::new(
                    Rule::KanikoJob,
                    file,
                    Span::new(run.start, run.end),
                    format!("`{path}`, run by {runs}, runs a Kaniko image with `docker run`"),
                )
                .label("Kaniko build in a script")
                .help(
                    "replace the `docker run` with `docker buildx build` in the script by hand (docs/rewrite.md \
                     shows what each option becomes)",
                )
                .jobs(jobs.clone()),
            );
            }
        }
        findings
    }
}

/// Whether a script line can run a repository script, before lexing it:
/// [`shell::script_path`] wants a word with a `/` or one ending in `.sh`,
/// and the lexer only removes quotes and backslashes, so the line holds
/// a `/`, or a `.` and an `h`. Most lines (`echo`, `make`, `pip install`)
/// hold neither, and lexing each was a tenth of `check` over a fleet.
fn may_name_a_script(line: &str) -> bool {
    line.contains('/') || line.contains('.') && line.contains('h')
}

/// `./ci/build.sh` and `ci/build.sh` are one file.
fn normalise(path: &str) -> String {
    path.trim_start_matches("./").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_passes_every_line_that_names_a_script() {
        let names_a_script = |line: &str| {
            shell::commands(line)
                .iter()
                .any(|c| shell::script_path(&c.words).is_some())
        };
        for line in [
            "./build.sh",
            "sh build.sh --fast",
            "bash 'ci'/run",
            "b\\uild.\"s\"h",
            "source env.sh",
            "echo go && ci/release",
        ] {
            assert!(names_a_script(line), "{line}");
            assert!(may_name_a_script(line), "{line}");
        }
        for line in [
            "echo \"building service 0\"",
            "make test ARGS='-k 1'",
            "pip install -r requirements.txt",
        ] {
            assert!(!names_a_script(line), "{line}");
            assert!(!may_name_a_script(line), "{line}");
        }
    }
}
