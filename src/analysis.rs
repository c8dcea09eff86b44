//! Turns detected Kaniko usage into findings: one per Kaniko job, one per
//! executor call site (shared by every job that runs it), and one per flag or
//! path that needs attention.

use std::collections::BTreeMap;

use crate::config::Config;
use crate::finding::{Finding, Text};
use crate::gitlab::jobs::{self, Job};
use crate::gitlab::value::At;
use crate::gitlab::{FileId, Pipeline};
use crate::kaniko::invocation::{Invocation, Problem, Program};
use crate::kaniko::{self, PathUse, Usage};
use crate::mapping::table::{self, FlagSpec};
use crate::rules::Rule;
use crate::span::Span;

/// Everything found in one pipeline.
#[derive(Debug, Default)]
pub struct Analysis {
    pub findings: Vec<Finding>,
    /// Jobs (templates included) that use Kaniko.
    pub kaniko_jobs: usize,
}

pub fn analyse(pipeline: &Pipeline, config: &Config) -> Analysis {
    let mut analyser = Analyser::new(pipeline, config);
    let resolving = jobs::resolve_each(pipeline, |job| analyser.add(&job));
    analyser.finish(resolving)
}

/// Analyses jobs one at a time as they are resolved, so that no caller
/// needs every resolved job at once (`check` follows scripts alongside).
pub struct Analyser<'p> {
    pipeline: &'p Pipeline,
    /// Shared by the jobs: a template's script is read once.
    detector: kaniko::Detector<'p>,
    job_findings: Vec<Finding>,
    sites: CallSites,
    kaniko_jobs: usize,
}

impl<'p> Analyser<'p> {
    pub fn new(pipeline: &'p Pipeline, config: &'p Config) -> Self {
        Analyser {
            pipeline,
            detector: kaniko::Detector::new(config),
            job_findings: Vec::new(),
            sites: CallSites::default(),
            kaniko_jobs: 0,
        }
    }

    pub fn add(&mut self, job: &Job) {
        let usage = self.detector.detect(self.pipeline, job);
        if !usage.uses_kaniko() {
            return;
        }
        self.kaniko_jobs += 1;
        self.job_findings.push(job_finding(self.pipeline, &usage));
        self.sites.record(&usage);
    }

    /// The findings, in order: the pipeline's own, those of resolving its
    /// jobs (`resolving`), then the jobs', call sites' and paths'.
    pub fn finish(self, resolving: Vec<Finding>) -> Analysis {
        // The jobs' findings are most of them: the others join them in
        // their buffer rather than all moving to a new one, and the sort
        // orders keys, not findings (a stable sort's buffer of findings was
        // the peak of `check` on a 50 MB pipeline).
        let mut findings = self.job_findings;
        let before: Vec<Finding> = self
            .pipeline
            .findings
            .iter()
            .cloned()
            .chain(resolving)
            .collect();
        findings.reserve_exact(before.len() + self.sites.most_findings());
        findings.splice(0..0, before);
        self.sites.push_findings(&mut findings);
        findings.sort_by_cached_key(|f| (f.file, f.span.start(), f.rule));
        Analysis {
            findings,
            kaniko_jobs: self.kaniko_jobs,
        }
    }
}

/// `kaniko/job`: the job, at its key, with what makes it a Kaniko job. Only
/// the key and the image are underlined.
fn job_finding(pipeline: &Pipeline, usage: &Usage) -> Finding {
    let job = usage.job;
    let mut reasons = Vec::new();
    let mut finding = Finding::new(Rule::KanikoJob, job.key.file, span(pipeline, job.key), "")
        .label(if job.hidden { "template" } else { "job" })
        .jobs(vec![job.name.clone()]);
    if let Some(image) = usage.image {
        reasons.push(format!("image `{}`", image.name));
        finding = place(pipeline, finding, image.at, "Kaniko image");
    }
    for program in [Program::Executor, Program::Warmer] {
        let calls: Vec<_> = usage
            .invocations()
            .filter(|(_, inv)| inv.program == program)
            .collect();
        if calls.is_empty() {
            continue;
        }
        // The call has its own `kaniko/executor` finding: labelling it here
        // too would stretch this snippet over the whole job body.
        reasons.push(format!("calls `{}`", program.path()));
    }
    if let Some(path) = usage.paths().next() {
        reasons.push(format!("uses `{}`", path.path));
    }
    let mut images: Vec<&str> = Vec::new();
    for (line, docker) in usage.docker_uses() {
        if !images.contains(&docker.image.as_str()) {
            images.push(&docker.image);
        }
        if line.file == finding.file {
            finding = finding.with_label(docker.image_span, "Kaniko image run by `docker run`");
        }
    }
    if !images.is_empty() {
        let images: Vec<String> = images.iter().map(|i| format!("`{i}`")).collect();
        reasons.push(format!("runs {} through `docker run`", images.join(", ")));
    }
    let kind = if job.hidden { "template" } else { "job" };
    finding.message = format!("{kind} `{}` uses Kaniko: {}", job.name, reasons.join(", ")).into();
    finding.help = Some(Text::Borrowed(if usage.only_in_docker() {
        "Kaniko was archived in June 2025; the job has a Docker daemon already: build with \
         `docker buildx build` in place of `docker run` (`kaniko2buildkit fix` does it)"
    } else if job.hidden {
        "Kaniko was archived in June 2025; every job that extends this template inherits it. \
         Move it to BuildKit rootless (moby/buildkit:rootless, buildctl-daemonless.sh)"
    } else {
        "Kaniko was archived in June 2025; move this job to BuildKit rootless \
         (moby/buildkit:rootless, buildctl-daemonless.sh)"
    }));
    finding
}

/// Adds a label when `at` is in the finding's file, else says where it is.
fn place(pipeline: &Pipeline, finding: Finding, at: At, text: &'static str) -> Finding {
    let span = span(pipeline, at);
    if at.file == finding.file {
        return finding.with_label(span, text);
    }
    let file = &pipeline.files[at.file];
    let position = file.position(span.start());
    let mut finding = finding;
    let note = format!("{text} defined in {}:{}", file.name, position.line);
    finding.label = if finding.label.is_empty() {
        note.into()
    } else {
        format!("{}; {note}", finding.label).into()
    };
    finding
}

fn span(pipeline: &Pipeline, at: At) -> Span {
    pipeline.files[at.file].tree.node(at.node).span
}

/// The `variables` that a `$VAR` argument of `call` names.
fn named_by(call: &Invocation, variables: &[(String, At)]) -> Vec<(String, At)> {
    let named = |name: &str| {
        call.problems.iter().any(
            |problem| matches!(problem, Problem::Variable { word, .. } if variable_name(word) == name),
        )
    };
    variables
        .iter()
        .filter(|(name, _)| named(name))
        .cloned()
        .collect()
}

/// One executor call, the jobs that run it, and those variables of the
/// first such job that its `$VAR` arguments name (to say whether they are
/// defined): a copy of every variable per call site was a fifth of what
/// `check` held for the jobs of a 50 MB pipeline.
struct CallSite {
    call: CallShape,
    /// The call runs in a container that `docker run` starts.
    in_docker: bool,
    jobs: Vec<String>,
    variables: Vec<(String, At)>,
}

/// Call sites and paths, keyed by where they are written, with the jobs that
/// run them: a template used by ten jobs is reported once, naming all ten.
#[derive(Default)]
struct CallSites {
    calls: BTreeMap<(FileId, Span), CallSite>,
    paths: BTreeMap<(FileId, Span), (PathUse, Vec<String>)>,
}

impl CallSites {
    fn record(&mut self, usage: &Usage) {
        let job: &Job = usage.job;
        let in_docker = usage
            .docker_uses()
            .filter_map(|(line, docker)| Some((line.file, docker.invocation()?, true)));
        let direct = usage.invocations().map(|(file, call)| (file, call, false));
        for (file, call, in_docker) in direct.chain(in_docker) {
            let entry = self
                .calls
                .entry((file, call.span))
                .or_insert_with(|| CallSite {
                    call: CallShape::of(call),
                    in_docker,
                    jobs: Vec::new(),
                    variables: named_by(call, &job.variables),
                });
            entry.jobs.push(job.name.clone());
        }
        for path in usage.paths() {
            let entry = self
                .paths
                .entry((path.file, path.span))
                .or_insert_with(|| (path.clone(), Vec::new()));
            entry.1.push(job.name.clone());
        }
    }

    /// How many findings [`Self::push_findings`] adds at most.
    fn most_findings(&self) -> usize {
        let calls: usize = self
            .calls
            .values()
            .map(|site| 1 + site.call.problems.len())
            .sum();
        calls + self.paths.len()
    }

    /// Adds the sites' findings to `findings`, freeing each site as it goes.
    fn push_findings(self, findings: &mut Vec<Finding>) {
        for (
            (file, _),
            CallSite {
                call,
                in_docker,
                jobs,
                variables,
            },
        ) in self.calls
        {
            let mut finding = call_finding(file, &call, jobs.clone());
            if in_docker && call.program == Program::Executor {
                finding.help = Some(
                    "run through `docker run`: replace it with `docker buildx build` on the same daemon; each flag \
                     is labelled with how it maps"
                        .into(),
                );
            }
            findings.push(finding);
            findings.extend(
                call.problems
                    .iter()
                    .filter_map(|p| problem_finding(file, call.program, p, &jobs, &variables)),
            );
        }
        for ((file, span), (path, jobs)) in self.paths {
            findings.push(path_finding(file, span, &path, jobs));
        }
    }
}

/// The findings of executor calls and Kaniko-only paths that another CI
/// system's front-end found (a GitHub `run:` step, a Buildkite command):
/// the same findings, at the same places, as for a GitLab job.
pub fn call_findings(
    file: FileId,
    calls: &[Invocation],
    paths: &[PathUse],
    jobs: &[String],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for call in calls {
        findings.push(call_finding(file, &CallShape::of(call), jobs.to_vec()));
        findings.extend(
            call.problems
                .iter()
                .filter_map(|p| problem_finding(file, call.program, p, jobs, &[])),
        );
    }
    for path in paths {
        findings.push(path_finding(file, path.span, path, jobs.to_vec()));
    }
    findings
}

/// `kaniko/executor` or `kaniko/warmer`: the call, each flag labelled with
/// what becomes of it under BuildKit.
pub(crate) fn call_finding(file: FileId, call: &CallShape, jobs: Vec<String>) -> Finding {
    let mut names: Vec<&str> = Vec::new();
    for (spec, _) in &call.flags {
        if !names.contains(&spec.name) {
            names.push(spec.name);
        }
    }
    let flags = if names.is_empty() {
        "no flags".to_string()
    } else {
        names
            .iter()
            .map(|n| format!("--{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (rule, help) = match call.program {
        Program::Executor => (
            Rule::KanikoExecutor,
            "replace it with `buildctl-daemonless.sh build`; each flag is labelled with how it maps",
        ),
        Program::Warmer => (
            Rule::KanikoWarmer,
            "BuildKit keeps no base-image cache between jobs, so the warmer has no counterpart: remove the step",
        ),
    };
    let mut finding = Finding::new(
        rule,
        file,
        call.span,
        format!("`{}` with {flags}", call.program.path()),
    )
    .label(call.program.path())
    .help(help)
    .jobs(jobs);
    // The snippet points at the program word: labels nested inside a
    // label that spans the whole command would be drawn past the line.
    finding.focus = Some(call.program_span);
    for &(spec, name_span) in &call.flags {
        finding = finding.with_label(name_span, flag_label(spec));
    }
    finding
}

/// What a call's findings read of it: its program, its places, its flags'
/// names and its problems, not the flags' values. A call site keeps this
/// rather than a copy of the call, whose values were a third of what
/// `check` held for the jobs of a 50 MB pipeline.
pub(crate) struct CallShape {
    program: Program,
    span: Span,
    program_span: Span,
    flags: Vec<(&'static FlagSpec, Span)>,
    problems: Vec<Problem>,
}

impl CallShape {
    pub(crate) fn of(call: &Invocation) -> CallShape {
        CallShape {
            program: call.program,
            span: call.span,
            program_span: call.program_span,
            flags: call.flags.iter().map(|f| (f.spec, f.name_span)).collect(),
            problems: call.problems.clone(),
        }
    }
}

fn flag_label(spec: &FlagSpec) -> String {
    match spec.alias_of {
        Some(of) => format!("deprecated alias of --{of}: {}", spec.class.as_str()),
        None => spec.class.as_str().to_string(),
    }
}

pub(crate) fn problem_finding(
    file: FileId,
    program: Program,
    problem: &Problem,
    jobs: &[String],
    variables: &[(String, At)],
) -> Option<Finding> {
    let jobs = jobs.to_vec();
    let finding = match problem {
        Problem::Unknown { name, span } => {
            let mut finding = Finding::new(
                Rule::UnknownFlag,
                file,
                *span,
                format!("`{name}` is not a flag of `{}`", program.path()),
            )
            .label("unknown flag")
            .jobs(jobs);
            finding.help = Some(match closest_flag(program, name) {
                Some(close) => format!("did you mean `--{close}`? Kaniko would stop with `unknown flag: {name}`").into(),
                None => format!("Kaniko would stop with `unknown flag: {name}`; remove it").into(),
            });
            finding
        }
        Problem::MissingValue { flag, span } => Finding::new(
            Rule::MissingValue,
            file,
            *span,
            format!("`--{}` needs a value", flag.name),
        )
        .label("no value follows")
        .help("Kaniko would stop with `flag needs an argument`")
        .jobs(jobs),
        Problem::Stray { word, span } => Finding::new(
            Rule::StrayArgument,
            file,
            *span,
            format!("`{word}` is not a flag of `{}`", program.path()),
        )
        .label("not a flag")
        .help("the executor takes no positional arguments; a boolean flag takes its value as `--flag=false`")
        .jobs(jobs),
        Problem::Variable { word, span, .. } => {
            let name = variable_name(word);
            let defined = variables.iter().any(|(k, _)| k == name);
            let help = if defined {
                format!("`{name}` is defined in this pipeline; its flags are checked when it is migrated")
            } else {
                format!("`{name}` is not defined in these files; check which executor flags it holds")
            };
            Finding::new(Rule::VariableArgs, file, *span, format!("`{word}` may hold executor flags"))
                .label("expands at run time")
                .help(help)
                .jobs(jobs)
        }
            // A redirection between the arguments only matters to a rewrite.
                Problem::Redirect { .. } | Problem::Setting { .. } | Problem::Unreadable { .. } => return None,
    };
    Some(finding)
}

/// `$NAME`, `${NAME}`, `${NAME:-x}` → `NAME`.
fn variable_name(word: &str) -> &str {
    let inner = word.trim_start_matches('$').trim_start_matches('{');
    let end = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(inner.len());
    &inner[..end]
}

fn path_finding(file: FileId, span: Span, path: &PathUse, jobs: Vec<String>) -> Finding {
    let help = if path.path.starts_with("/kaniko/.docker") {
        "BuildKit reads registry credentials from ${DOCKER_CONFIG:-$HOME/.docker}/config.json"
    } else if path.path.starts_with("/kaniko/ssl") {
        "BuildKit takes extra CA certificates from buildkitd.toml (`ca = [...]`) or SSL_CERT_FILE"
    } else {
        "this path does not exist in BuildKit images"
    };
    Finding::new(
        Rule::KanikoPath,
        file,
        span,
        format!("`{}` exists only in Kaniko images", path.path),
    )
    .label("Kaniko-only path")
    .help(help)
    .jobs(jobs)
}

/// The known flag nearest to an unknown one, when it is close enough to be a typo.
fn closest_flag(program: Program, written: &str) -> Option<&'static str> {
    let name = written.trim_start_matches('-');
    let name = name.split('=').next().unwrap_or(name);
    if table::by_name(program.flags(), name).is_some() {
        return None;
    }
    crate::suggest::closest(name, program.flags().iter().map(|flag| flag.name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_suggest_the_nearest_flag() {
        assert_eq!(
            closest_flag(Program::Executor, "--destinaton"),
            Some("destination")
        );
        assert_eq!(closest_flag(Program::Executor, "--frobnicate"), None);
    }

    #[test]
    fn a_variable_argument_says_whether_the_pipeline_defines_it() {
        let text = "variables:\n  KANIKO_ARGS: --cache=true\n  OTHER: x\n\
                    build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n\
                    \x20   - /kaniko/executor $KANIKO_ARGS $EXTRA --destination r/i\n";
        let input = crate::gitlab::Input::Stdin {
            text: text.into(),
            name: ".gitlab-ci.yml".into(),
        };
        let pipeline = Pipeline::load(std::path::Path::new("."), input);
        let analysis = analyse(&pipeline, &Config::default());
        let helps: Vec<&str> = analysis
            .findings
            .iter()
            .filter(|f| f.rule == Rule::VariableArgs)
            .filter_map(|f| f.help.as_deref())
            .collect();
        assert_eq!(
            helps,
            [
                "`KANIKO_ARGS` is defined in this pipeline; its flags are checked when it is migrated",
                "`EXTRA` is not defined in these files; check which executor flags it holds",
            ]
        );
    }

    #[test]
    fn variable_names_from_expansions() {
        assert_eq!(variable_name("${KANIKO_ARGS:-}"), "KANIKO_ARGS");
        assert_eq!(variable_name("$EXTRA"), "EXTRA");
    }
}
