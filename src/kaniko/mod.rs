//! Detection: which jobs use Kaniko, through which image, command or path,
//! and which executor flags each invocation passes.

pub mod docker_run;
pub mod image;
pub mod in_docker;
pub mod invocation;
pub mod shell;

use hashbrown::{HashMap, HashSet};
use std::cell::Cell;
use std::sync::Arc;

use crate::config::Config;
use crate::gitlab::jobs::{Job, ScriptLine};
use crate::gitlab::value::At;
use crate::gitlab::{FileId, Pipeline};
use crate::span::Span;
use crate::yaml::scalar::SourceMap;
use invocation::{Invocation, Program};

/// A script word that names a path only Kaniko images have.
#[derive(Clone, Debug)]
pub struct PathUse {
    pub file: FileId,
    pub span: Span,
    /// The path itself (for an assignment, its value).
    pub path: String,
    /// The word's range in the decoded script line, and its text there.
    pub script_range: std::ops::Range<usize>,
    pub raw: String,
    /// Where the command holding the word starts and ends in the decoded
    /// script.
    pub command_start: usize,
    pub command_end: usize,
    /// The command creates the directory (`mkdir`).
    pub in_mkdir: bool,
    /// The command is a builtin that changes the job's own shell (`cd`,
    /// `export`, an assignment alone), so it cannot run in a subshell.
    pub in_shell_builtin: bool,
}

/// What one script line does with Kaniko, for every job that runs it.
#[derive(Clone, Debug)]
pub struct LineUse {
    pub file: FileId,
    /// The script scalar.
    pub at: At,
    pub invocations: Vec<Invocation>,
    pub paths: Vec<PathUse>,
    /// `/busybox/...` words: the Kaniko debug image's shell and tools.
    pub busybox: Vec<PathUse>,
    /// `docker run` of a Kaniko image (a `docker:dind` job).
    pub docker: Vec<in_docker::DockerUse>,
}

/// How one job uses Kaniko.
#[derive(Debug)]
pub struct Usage<'j> {
    pub job: &'j Job,
    /// The job's image, when it is a Kaniko image.
    pub image: Option<&'j crate::gitlab::jobs::Image>,
    /// Shared: a template's script line is the same reading in every job
    /// that runs it (a copy each held 8 MB for a 50 MB pipeline's jobs).
    pub lines: Vec<Arc<LineUse>>,
}

impl Usage<'_> {
    pub fn uses_kaniko(&self) -> bool {
        self.image.is_some()
            || self
                .lines
                .iter()
                .any(|l| !l.invocations.is_empty() || !l.paths.is_empty() || !l.docker.is_empty())
    }

    /// The `docker run`s of a Kaniko image, with the file of their line.
    pub fn docker_uses(&self) -> impl Iterator<Item = (&LineUse, &in_docker::DockerUse)> {
        self.lines
            .iter()
            .flat_map(|line| line.docker.iter().map(move |docker| (&**line, docker)))
    }

    /// Kaniko runs only through `docker run`: the job keeps its image.
    pub fn only_in_docker(&self) -> bool {
        self.image.is_none()
            && self.docker_uses().next().is_some()
            && self
                .lines
                .iter()
                .all(|l| l.invocations.is_empty() && l.paths.is_empty())
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
///
/// `config` adds the project's own Kaniko images (private mirrors) to the
/// built-in patterns.
pub fn detect<'j>(pipeline: &Pipeline, job: &'j Job, config: &Config) -> Usage<'j> {
    Detector::new(config).detect(pipeline, job)
}

/// Detection over the jobs of one pipeline, reading a script scalar that
/// uses Kaniko at most twice: a template's script runs in every job that
/// extends or references it, and lexing it again for each was half of
/// detection on a pipeline of such jobs.
pub struct Detector<'c> {
    config: &'c Config,
    /// Script scalars that use Kaniko, read once, by scalar and by whether
    /// the job runs in a Kaniko image. A job's own script is read once in
    /// all: only a scalar met again has its reading kept.
    seen: HashSet<(At, bool)>,
    /// What a scalar met twice holds, when its reading does not depend on
    /// the job's variables. Lines without Kaniko are in neither: a
    /// substring test dismisses them, cheaper than a lookup kept for each.
    lines: HashMap<(At, bool), Arc<LineUse>>,
}

impl<'c> Detector<'c> {
    pub fn new(config: &'c Config) -> Detector<'c> {
        Detector {
            config,
            seen: HashSet::new(),
            lines: HashMap::new(),
        }
    }

    /// [`detect`], with the script lines read before taken as read.
    pub fn detect<'j>(&mut self, pipeline: &Pipeline, job: &'j Job) -> Usage<'j> {
        let config = self.config;
        // A job that runs no script (a trigger, a job only for `needs:`)
        // never runs Kaniko, whatever image it inherits; a template may
        // still give its image to jobs that do.
        let runs_script = job.hidden || !job.scripts.is_empty();
        let is_kaniko =
            |name: &str| image::is_kaniko_image(name) || config.is_extra_kaniko_image(name);
        let image = job
            .image
            .as_ref()
            .filter(|image| runs_script && is_kaniko(&image.name));
        let in_kaniko_image = image.is_some();
        // `docker run $KANIKO_IMAGE …`: an image named by one of the job's
        // variables counts by the variable's value; such a reading is the
        // job's own and is not kept.
        let read_variables = Cell::new(false);
        let run_image = |name: &str| {
            is_kaniko(name)
                || crate::mapping::quote::lone_variable(name).is_some_and(|variable| {
                    read_variables.set(true);
                    job.variables
                        .iter()
                        .filter(|(key, _)| key == variable)
                        .filter_map(|(_, at)| {
                            let file = &pipeline.files[at.file];
                            file.tree.scalar(&file.text, file.tree.deref(at.node))
                        })
                        .next_back()
                        .is_some_and(|value| is_kaniko(&value))
                })
        };
        let mut lines = Vec::new();
        for line in &job.scripts {
            let key = (line.at, in_kaniko_image);
            if let Some(known) = self.lines.get(&key) {
                lines.push(Arc::clone(known));
                continue;
            }
            read_variables.set(false);
            let Some(found) = scan_line(pipeline, line, in_kaniko_image, &run_image) else {
                continue;
            };
            let found = Arc::new(found);
            if !read_variables.get() && !self.seen.insert(key) {
                self.lines.insert(key, Arc::clone(&found));
            }
            lines.push(found);
        }
        Usage { job, image, lines }
    }
}

/// A path that only the Kaniko image had, or that only worked there:
/// `/kaniko` and everything under it anywhere; inside a Kaniko image also
/// `/workspace` (Kaniko's default context), `/root` (its `HOME`, not
/// writable for the BuildKit image's uid 1000) and `$DOCKER_CONFIG/...`,
/// which the Kaniko image set to `/kaniko/.docker` and the BuildKit image
/// leaves unset.
pub fn image_path(value: &str, in_kaniko_image: bool) -> bool {
    let under = |dir: &str| value == dir || value.starts_with(&format!("{dir}/"));
    under("/kaniko")
        || in_kaniko_image
            && (under("/workspace")
                || under("/root")
                || value.starts_with("$DOCKER_CONFIG/")
                || value.starts_with("${DOCKER_CONFIG}/"))
}

/// Commands that only print their arguments: a `/kaniko/` path there is text.
const PRINTERS: &[&str] = &["echo", "printf"];

fn scan_line(
    pipeline: &Pipeline,
    line: &ScriptLine,
    in_kaniko_image: bool,
    is_kaniko: &dyn Fn(&str) -> bool,
) -> Option<LineUse> {
    scan_script_with(pipeline, line.at, in_kaniko_image, is_kaniko)
}

/// The executor calls and Kaniko-only paths of one shell script held in a
/// YAML scalar (a GitLab `script:` item, a GitHub `run:` value).
pub fn scan_script(pipeline: &Pipeline, at: At, in_kaniko_image: bool) -> Option<LineUse> {
    scan_script_with(pipeline, at, in_kaniko_image, &image::is_kaniko_image)
}

/// Whether a script line mentions Kaniko, a `docker run` (`run`), or in a
/// Kaniko image one of the paths and programs the scan looks for.
fn mentions_kaniko(script: &str, run: &str, in_kaniko_image: bool) -> bool {
    script.contains("kaniko")
        || script.contains(run)
        || in_kaniko_image
            && (script.contains("executor")
                || script.contains("warmer")
                || script.contains("/busybox/")
                || script.contains("/workspace")
                || script.contains("/root")
                || script.contains("DOCKER_CONFIG"))
}

/// [`scan_script`], with `docker run`s of the images `is_kaniko` accepts
/// read as Kaniko calls (and their words left to that reading).
pub fn scan_script_with(
    pipeline: &Pipeline,
    at: At,
    in_kaniko_image: bool,
    is_kaniko: &dyn Fn(&str) -> bool,
) -> Option<LineUse> {
    let At { file, node } = at;
    let source = &pipeline.files[file];
    let node = source.tree.deref(node);
    // Cheap filters first: most script lines never mention Kaniko. A
    // value decoded when asked is first looked at in its source
    // (`Tree::undecoded`: words only, so `run` for ` run `).
    if let Some(raw) = source.tree.undecoded(&source.text, node)
        && !mentions_kaniko(raw, "run", in_kaniko_image)
    {
        return None;
    }
    let script = source.tree.scalar(&source.text, node)?;
    let script: &str = &script;
    if !mentions_kaniko(script, " run ", in_kaniko_image) {
        return None;
    }
    let scalar = source.tree.node(node);
    let map = SourceMap::of_node(&source.text, scalar, script);
    let to_source = |range: std::ops::Range<usize>| match &map {
        Some(map) => map.span_of(range.start, range.end),
        None => scalar.span,
    };
    let mut found = LineUse {
        file,
        at: At { file, node },
        invocations: Vec::new(),
        paths: Vec::new(),
        busybox: Vec::new(),
        docker: Vec::new(),
    };
    let word_use = |word: &shell::Word, path: &str, command: &shell::Command| PathUse {
        file,
        span: to_source(word.range.clone()),
        path: path.to_string(),
        script_range: word.range.clone(),
        raw: script[word.range.clone()].to_string(),
        command_start: command.range.start,
        command_end: command.range.end,
        in_mkdir: command.words.first().is_some_and(|w| w.value == "mkdir"),
        in_shell_builtin: command
            .words
            .first()
            .is_none_or(|w| SHELL_BUILTINS.contains(&w.value.as_str())),
    };
    for command in shell::commands(script) {
        // A `docker run` of a Kaniko image is read whole; its words are the
        // container's, not the job's.
        if let Some(docker) = in_docker::read(script, &command, is_kaniko, &to_source) {
            found.docker.push(docker);
            continue;
        }
        let invoked = command
            .words
            .first()
            .is_some_and(|w| program(&w.value, in_kaniko_image).is_some());
        // `NAME=/kaniko/...`, as a prefix or a command of its own, and as
        // the argument of `export` or `readonly`. A call's prefixes are
        // rewritten with the call.
        let declared: &[shell::Word] = match command.words.first() {
            Some(first) if matches!(first.value.as_str(), "export" | "readonly") => {
                &command.words[1..]
            }
            _ => &[],
        };
        let assignments: &[shell::Word] = if invoked { &[] } else { &command.assignments };
        for word in assignments.iter().chain(declared) {
            if let Some((_, value)) = word
                .value
                .split_once('=')
                .filter(|(_, v)| image_path(v, in_kaniko_image))
            {
                found.paths.push(word_use(word, value, &command));
            }
        }
        let arguments: &[shell::Word] = match command.words.first() {
            Some(first) => match program(&first.value, in_kaniko_image) {
                Some(program) => {
                    found
                        .invocations
                        .push(invocation(program, script, &command, &to_source));
                    &[]
                }
                None if PRINTERS.contains(&first.value.as_str()) => &[],
                None if declared.is_empty() => &command.words[1..],
                None => &[],
            },
            None => &[],
        };
        for word in arguments.iter().chain(&command.redirects) {
            if image_path(&word.value, in_kaniko_image) {
                found.paths.push(word_use(word, &word.value, &command));
            }
        }
        // An executor call is replaced whole: its own words need no edit.
        let words: &[shell::Word] = if invoked { &[] } else { &command.words };
        for word in words.iter().chain(&command.redirects) {
            if word.value.starts_with("/busybox/") {
                found.busybox.push(word_use(word, &word.value, &command));
            }
        }
    }
    (!found.invocations.is_empty()
        || !found.paths.is_empty()
        || !found.busybox.is_empty()
        || !found.docker.is_empty())
    .then_some(found)
}

/// Where a shell script calls the executor or the warmer: the byte range of
/// each call, program word to last argument.
pub fn executor_calls(script: &str) -> Vec<std::ops::Range<usize>> {
    shell::commands(script)
        .iter()
        .filter(|command| {
            command
                .words
                .first()
                .is_some_and(|w| program(&w.value, false).is_some())
        })
        .map(|command| {
            let start = command.words[0].range.start;
            let end = command.words.last().map_or(start, |w| w.range.end);
            start..end
        })
        .collect()
}

/// Where a shell script runs a Kaniko image with `docker run`: the byte
/// range of each command, `docker` to its last argument.
pub fn docker_runs(script: &str) -> Vec<std::ops::Range<usize>> {
    shell::commands(script)
        .iter()
        .filter_map(|command| {
            let run = docker_run::read(script, &command.words)?;
            image::is_kaniko_image(&command.words[run.image].value).then(|| {
                let start = command.words[0].range.start;
                start..command.words.last().map_or(start, |w| w.range.end)
            })
        })
        .collect()
}

/// Which Kaniko program a command name runs, for the front-ends that read
/// shell text of their own (Buildkite's commands).
pub fn program_of(name: &str, in_kaniko_image: bool) -> Option<Program> {
    program(name, in_kaniko_image)
}

/// Reads one executor command of a shell script, as [`detect`] does, for
/// the front-ends that read shell text of their own.
pub fn read_call(
    program: Program,
    script: &str,
    command: &shell::Command,
    to_source: &dyn Fn(std::ops::Range<usize>) -> Span,
) -> Invocation {
    invocation(program, script, command, to_source)
}

/// Builtins whose effect is on the shell itself: a subshell would lose it.
const SHELL_BUILTINS: [&str; 9] = [
    "cd", "export", "readonly", "unset", ".", "source", "read", "set", "eval",
];

/// Reads one executor or warmer command. A redirection written between its
/// arguments would sit inside the range a rewrite replaces: it is reported.
/// `command.words[0]` is the program word (for `docker run`, the image).
pub fn invocation(
    program: Program,
    script: &str,
    command: &shell::Command,
    to_source: &dyn Fn(std::ops::Range<usize>) -> Span,
) -> Invocation {
    let words = &command.words;
    let (flags, mut problems) = invocation::parse(program, script, &words[1..], to_source);
    let start = words[0].range.start;
    let end = words.last().map_or(words[0].range.end, |w| w.range.end);
    for redirect in command
        .redirects
        .iter()
        .filter(|r| r.range.start > start && r.range.end < end)
    {
        problems.push(invocation::Problem::Redirect {
            span: to_source(redirect.range.clone()),
        });
    }
    for assignment in &command.assignments {
        let (name, value) = assignment.value.split_once('=').unwrap_or_default();
        if is_kaniko_setting(name) {
            let span = to_source(assignment.range.clone());
            problems.push(invocation::Problem::Setting {
                name: name.to_string(),
                value: value.to_string(),
                span,
            });
        }
    }
    let mut assignments = Vec::new();
    for word in &command.assignments {
        let value = word.value.split_once('=').map_or("", |(_, v)| v);
        // Kaniko's own config directory is where the new command looks by
        // default (`${DOCKER_CONFIG:-$HOME/.docker}`): the prefix goes.
        if word.value.starts_with("DOCKER_CONFIG=")
            && value.trim_end_matches('/') == "/kaniko/.docker"
        {
            continue;
        }
        if image_path(value, true) {
            problems.push(invocation::Problem::Unreadable {
                message: format!(
                    "the prefix `{}` names a path the BuildKit image does not have",
                    word.value
                ),
                span: to_source(word.range.clone()),
            });
        }
        assignments.push(script[word.range.clone()].to_string());
    }
    let first = command.assignments.first().map_or(start, |w| w.range.start);
    Invocation {
        program,
        span: to_source(start..end),
        flags,
        problems,
        script_range: first..end,
        assignments,
        program_span: to_source(words[0].range.clone()),
    }
}

/// Environment variables that change what Kaniko does (`KANIKO_NO_PUSH`,
/// `KANIKO_REGISTRY_MIRROR`, the forks' `FF_KANIKO_*` feature flags).
/// Pipelines' own names such as `KANIKO_ARGS` or `KANIKO_IMAGE` are not.
pub fn is_kaniko_setting(name: &str) -> bool {
    const SETTINGS: &[&str] = &[
        "KANIKO_NO_PUSH",
        "KANIKO_REGISTRY_MIRROR",
        "KANIKO_REGISTRY_MAP",
        "KANIKO_DIR",
        "KANIKO_CLEANUP",
        "KANIKO_PRE_CLEANUP",
        "KANIKO_PRESERVE_CONTEXT",
    ];
    SETTINGS.contains(&name) || name.starts_with("FF_KANIKO_")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gitlab::{Input, jobs};

    /// A template run by several jobs: one through a Kaniko image named by a
    /// job variable (`docker run $BUILDER`), one calling the executor.
    const SHARED: &str = r#"
.run:
  image: docker:27
  script:
    - docker run --rm $BUILDER --context . --destination registry.example/app:1
.build:
  image:
    name: gcr.io/kaniko-project/executor:v1.23.2-debug
    entrypoint: [""]
  script:
    - /kaniko/executor --context . --destination registry.example/app:1
a-kaniko:
  extends: .run
  variables:
    BUILDER: gcr.io/kaniko-project/executor:v1.23.2
b-kaniko:
  extends: .run
  variables:
    BUILDER: gcr.io/kaniko-project/executor:v1.23.2
c-alpine:
  extends: .run
  variables:
    BUILDER: alpine:3.20
d-build:
  extends: .build
e-build:
  extends: .build
"#;

    fn pipeline() -> Pipeline {
        let input = Input::Stdin {
            text: SHARED.to_string(),
            name: ".gitlab-ci.yml".to_string(),
        };
        Pipeline::load(std::path::Path::new("."), input)
    }

    /// Each job's usage, read by one detector over the pipeline.
    fn shared_readings(pipeline: &Pipeline) -> Vec<(String, String)> {
        let config = Config::default();
        let mut detector = Detector::new(&config);
        let mut readings = Vec::new();
        let _ = jobs::resolve_each(pipeline, |job| {
            let usage = detector.detect(pipeline, &job);
            readings.push((job.name.clone(), format!("{:?}", usage.lines)));
        });
        readings
    }

    #[test]
    fn a_shared_detector_reads_every_job_as_a_fresh_one_does() {
        let pipeline = pipeline();
        let config = Config::default();
        let mut fresh = Vec::new();
        let _ = jobs::resolve_each(&pipeline, |job| {
            let usage = detect(&pipeline, &job, &config);
            fresh.push((job.name.clone(), format!("{:?}", usage.lines)));
        });
        assert_eq!(shared_readings(&pipeline), fresh);
    }

    /// A line read through a job's variable is that job's reading: a job
    /// after two that read it as Kaniko, whose variable names another image,
    /// must not be handed it.
    #[test]
    fn a_reading_through_a_job_variable_is_not_shared() {
        let pipeline = pipeline();
        let uses: Vec<(String, bool)> = shared_readings(&pipeline)
            .into_iter()
            .map(|(name, lines)| (name, lines.contains("DockerUse")))
            .collect();
        let expected = [
            (".build", false),
            (".run", false),
            ("a-kaniko", true),
            ("b-kaniko", true),
            ("c-alpine", false),
            ("d-build", false),
            ("e-build", false),
        ];
        let expected: Vec<(String, bool)> = expected
            .iter()
            .map(|(name, uses)| (name.to_string(), *uses))
            .collect();
        assert_eq!(uses, expected);
    }
}
