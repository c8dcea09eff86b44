//! A job whose `container:` is a Kaniko image and whose `run:` steps call
//! the executor: with an explicit flavour (`--flavor rootless`, for
//! self-hosted runners that allow user namespaces, or `--flavor
//! privileged`), the container becomes the BuildKit image with the
//! options the flavour needs, and each executor call the flavour's
//! `buildctl-daemonless.sh build`, in the step's own YAML style.
//!
//! Without a flavour chosen the job is left with the reason: GitHub-hosted
//! runners block the user namespaces rootless BuildKit needs, and a
//! privileged container is a choice only the user can make.
//!
//! GitHub runs the steps with `docker exec`, `HOME=/github/home` (a mount
//! of the runner's temporary directory) and the checkout under
//! `/__w/<repo>/<repo>`. The Kaniko-only paths are moved as the GitLab
//! front-end moves them (`/kaniko/.docker` → `${DOCKER_CONFIG:-$HOME/.docker}`,
//! which is `/github/home/.docker` in every step of the job); `/workspace`
//! and the rest of `/kaniko` keep the job.

use std::ops::Range;

use super::build_push::Refusal;
use super::detect::{Found, Kind};
use super::migrate::{StepPlan, scalar_text};
use super::workflow::{self, Job, Step};
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::LineUse;
use crate::kaniko::invocation::{Invocation, Program};
use crate::mapping::command::{self, Workspace};
use crate::mapping::flavor::Flavor;
use crate::migrate::text::{self, indentation, line_end, line_ending, line_start};
use crate::migrate::{Options, busybox_replacement, mkdir_around, path_replacement};
use crate::rewrite::Edit;
use crate::rewrite::encode;
use crate::rewrite::verify::{Change, Expected};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::NodeId;
use crate::yaml::scalar::SourceMap;

/// The Docker options a flavour's container needs, or `None` when the
/// flavour does not run BuildKit inside the job's container.
fn container_options(flavor: Flavor) -> Option<&'static [&'static str]> {
    match flavor {
        Flavor::Rootless => Some(&[
            "--security-opt seccomp=unconfined",
            "--security-opt apparmor=unconfined",
        ]),
        Flavor::RootlessSandboxed => Some(&[
            "--security-opt seccomp=unconfined",
            "--security-opt apparmor=unconfined",
            "--security-opt systempaths=unconfined",
        ]),
        Flavor::Privileged => Some(&["--privileged"]),
        Flavor::Daemon | Flavor::Buildx => None,
    }
}

/// Why a container job stays on Kaniko when no flavour was chosen.
pub const NEEDS_FLAVOR: &str = "the job runs in the Kaniko image (`container:`): GitHub-hosted runners do not \
     allow the user namespaces rootless BuildKit needs, so such a job migrates only with an explicit flavour: \
     `--flavor rootless` for self-hosted runners that allow user namespaces, `--flavor privileged` for runners \
     that allow privileged containers (or `flavor` in .kaniko2buildkit.toml); else move it to \
     docker/setup-buildx-action and docker/build-push-action by hand (see docs/github-actions.md)";

/// The edits of a whole container job, or why it stays.
pub fn plan(
    pipeline: &Pipeline,
    job: &Job,
    steps: &[&Found],
    options: &Options,
) -> Result<StepPlan, Refusal> {
    let source = &pipeline.files[0];
    let tree = &source.tree;
    let image = job
        .container
        .as_ref()
        .expect("a Kaniko container job has an image");
    let image_span = tree.node(image.node).span;
    let refuse = |span: Span, message: String| Refusal { span, message };
    let flavor = options.config.flavor;
    if !options.config.flavor_explicit {
        return Err(refuse(image_span, NEEDS_FLAVOR.into()));
    }
    let Some(docker_options) = container_options(flavor) else {
        return Err(refuse(
            image_span,
            format!(
                "the `{}` flavour runs BuildKit in a service, which a GitHub container job does not get from this \
                 tool: use `--flavor rootless` or `--flavor privileged`",
                flavor.as_str()
            ),
        ));
    };
    if let Some((name, _)) = job.env.iter().find(|(_, value)| value.contains("/kaniko")) {
        return Err(refuse(
            tree.node(job.key).span,
            format!(
                "`{name}` in `env:` names a path of the Kaniko image, which the BuildKit image does not have"
            ),
        ));
    }
    let mut plan = StepPlan {
        edits: Vec::new(),
        changes: Vec::new(),
        findings: Vec::new(),
    };
    let calls = steps
        .iter()
        .filter_map(|f| match &f.kind {
            Kind::Executor { line } => Some(line.invocations.len()),
            _ => None,
        })
        .sum::<usize>();
    if calls == 0 {
        return Err(refuse(
            image_span,
            "the job runs in the Kaniko image but no `run:` step calls the executor where the tool can see it (a \
             script file may): changing the image alone would break such a build; migrate it by hand"
                .into(),
        ));
    }
    let made = made_directories(steps);
    for found in steps {
        let Kind::Executor { line } = &found.kind else {
            let step = &job.steps[found.step];
            return Err(refuse(
                step_span(pipeline, step),
                format!(
                    "{} builds with Kaniko in another way inside the Kaniko container: migrate it by hand first",
                    step.label()
                ),
            ));
        };
        let step = &job.steps[found.step];
        script_plan(pipeline, job, step, line, &made, options, &mut plan)?;
    }
    container_plan(pipeline, job, docker_options, options, &mut plan)?;
    plan.findings
        .push(runner_note(flavor, &options.buildkit_image, image_span));
    Ok(plan)
}

fn step_span(pipeline: &Pipeline, step: &Step) -> Span {
    let tree = &pipeline.files[0].tree;
    match (&step.run, &step.uses) {
        (Some((key, _)), _) | (None, Some((key, _))) => tree.node(*key).span,
        (None, None) => tree.node(step.node).span,
    }
}

/// Directories some command of the job creates (`mkdir -p /kaniko/.docker`).
fn made_directories(steps: &[&Found]) -> Vec<String> {
    steps
        .iter()
        .filter_map(|f| match &f.kind {
            Kind::Executor { line } => Some(line),
            _ => None,
        })
        .flat_map(|line| line.paths.iter())
        .filter(|p| p.in_mkdir)
        .map(|p| p.path.trim_end_matches('/').to_string())
        .collect()
}

/// What the runner must allow and what changes for the job's steps.
fn runner_note(flavor: Flavor, image: &str, span: Span) -> Finding {
    let message = match flavor {
        Flavor::Privileged => format!(
            "the job now runs in `{image}` with `--privileged`: the runner must allow privileged containers \
             (Kaniko needed no privileges); every step of the job runs in the BuildKit image (Alpine, busybox `sh`)"
        ),
        _ => format!(
            "the job now runs in `{image}` as uid 1000 with the profiles unconfined: the self-hosted runner must \
             allow user namespaces (GitHub-hosted runners do not), and uid 1000 must be able to write `$HOME` \
             (`/github/home`, the runner's `_temp/_github_home`), where rootless BuildKit keeps its state and \
             `$HOME/.docker` the credentials; Kaniko ran as root. Every step of the job runs in the BuildKit image \
             (Alpine, busybox `sh`)"
        ),
    };
    Finding::new(Rule::MigrationNote, 0, span, message).label("BuildKit image")
}

/// A step's script with its executor calls, Kaniko paths and busybox words
/// rewritten.
fn script_plan(
    pipeline: &Pipeline,
    job: &Job,
    step: &Step,
    line: &LineUse,
    made: &[String],
    options: &Options,
    plan: &mut StepPlan,
) -> Result<(), Refusal> {
    let source = &pipeline.files[0];
    let (text, tree) = (source.text.as_str(), &source.tree);
    let (run_key, run) = step.run.as_ref().expect("an executor step has `run:`");
    let refuse = |span: Span, message: &str| Refusal {
        span,
        message: message.to_string(),
    };
    check_shell(pipeline, job, step)?;
    if let Some(entry) = step.env.iter().find(|e| {
        tree.scalar(text, e.value)
            .is_some_and(|v| v.contains("/kaniko"))
    }) {
        return Err(refuse(
            tree.node(entry.key).span,
            &format!(
                "`{}` names a path of the Kaniko image, which the BuildKit image does not have",
                entry.name
            ),
        ));
    }
    let script = run.value.as_str();
    let node = tree.node(run.node);
    let map = SourceMap::of_node(text, node, script);
    let to_source = |range: Range<usize>| match &map {
        Some(map) => map.span_of(range.start, range.end),
        None => node.span,
    };
    let layout = text::layout(text, tree, run.node)
        .ok_or_else(|| refuse(tree.node(*run_key).span, "the script is not a scalar"))?;
    let mut variables = job.env.clone();
    variables.extend(
        step.env
            .iter()
            .filter_map(|e| Some((e.name.clone(), tree.scalar(text, e.value)?.to_string()))),
    );
    let workspace = Workspace {
        root: options.root.as_deref(),
        variables,
        flavor: options.config.flavor,
        ci: &super::CI_VARIABLES,
    };
    let mut replacements: Vec<(Range<usize>, Vec<String>)> = Vec::new();
    for call in &line.invocations {
        if call.program == Program::Warmer {
            return Err(refuse(
                call.program_span,
                "`/kaniko/warmer` has no BuildKit counterpart: remove the warming step",
            ));
        }
        let rootless = options.config.flavor != Flavor::Privileged;
        if let Some(flag) = call
            .flags
            .iter()
            .find(|f| rootless && (f.value == "/workspace" || f.value.starts_with("/workspace/")))
        {
            return Err(refuse(flag.span, &unmovable_path_reason(&flag.value)));
        }
        if let Some(flag) = call.flags.iter().find(|f| f.raw.contains("DOCKER_CONFIG")) {
            return Err(refuse(
                flag.span,
                "`$DOCKER_CONFIG` was `/kaniko/.docker/` in the Kaniko image, which the BuildKit image neither sets \
                 nor has: put the files under $GITHUB_WORKSPACE or $RUNNER_TEMP and name that path",
            ));
        }
        let (call, repository_url) = with_repository_url(call);
        if let Some(span) = repository_url {
            plan.findings.push(
                Finding::new(
                    Rule::MigrationNote,
                    0,
                    span,
                    "`${{ github.repositoryUrl }}` is read as `git://github.com/${{ github.repository }}.git`, the \
                     repository Kaniko cloned over HTTPS; on GitHub Enterprise Server write your host's URL",
                )
                .label("git context"),
            );
        }
        let translation = command::translate(&call, &workspace);
        for note in &translation.notes {
            plan.findings
                .push(super::build_push::note_finding(note, options)?);
        }
        let lines = translation
            .call_text()
            .lines()
            .into_iter()
            .map(|line| line.replace(REPOSITORY_MARK, "${{ github.repository }}"))
            .collect();
        replacements.push((call.script_range.clone(), lines));
    }
    for path in &line.paths {
        let Some((replacement, directory)) = path_replacement(path) else {
            return Err(refuse(path.span, &unmovable_path_reason(&path.path)));
        };
        if directory.needed && !made.iter().any(|m| m == directory.kaniko) {
            for (at, inserted) in mkdir_around(path, directory.buildkit) {
                replacements.push((at..at, vec![inserted]));
            }
        }
        replacements.push((path.script_range.clone(), vec![replacement]));
    }
    for word in &line.busybox {
        replacements.push((word.script_range.clone(), vec![busybox_replacement(word)]));
    }
    replacements.sort_by_key(|(range, _)| (range.start, range.end));
    let mut new_script = String::new();
    let mut cursor = 0;
    for (range, lines) in replacements {
        if range.start < cursor {
            return Err(refuse(
                to_source(range),
                "two rewrites of the script overlap",
            ));
        }
        let line_indent = indentation(script, range.start);
        let encoded = encode::encode(&layout, &lines, &line_indent).ok_or_else(|| {
            refuse(
                to_source(range.clone()),
                "the script's YAML style cannot hold the new command",
            )
        })?;
        new_script.push_str(&script[cursor..range.start]);
        new_script.push_str(&encoded.decoded);
        cursor = range.end;
        let span = to_source(range);
        // A block scalar that ends the file without a line break: YAML
        // parsers disagree on its final line break, so the new text ends
        // its line.
        let source_text =
            if span.end() == text.len() && !text.ends_with('\n') && span.end() > span.start() {
                format!("{}{}", encoded.source, layout.line_end)
            } else {
                encoded.source
            };
        plan.edits.push(Edit::replace(span, source_text));
    }
    new_script.push_str(&script[cursor..]);
    plan.changes.push(Change::Set {
        node: run.node,
        value: Expected::string(&new_script),
    });
    Ok(())
}

/// Stands for `${{ github.repository }}` while the shared translation reads
/// the URL (it does not keep expressions in a URL's path).
const REPOSITORY_MARK: &str = "kaniko2buildkit-github-repository";

/// GitHub's `${{ github.repositoryUrl }}` (`git://github.com/OWNER/REPO.git`
/// on github.com) spelt so that the shared translation sees a `git://`
/// context, with the span of the flag that had it.
fn with_repository_url(call: &Invocation) -> (Invocation, Option<Span>) {
    let url = format!("git://github.com/{REPOSITORY_MARK}.git");
    let pattern = regex::Regex::new(r"\$\{\{\s*github\.repositoryUrl\s*\}\}")
        .expect("the expression pattern is valid");
    let mut call = call.clone();
    let mut at = None;
    for flag in call.flags.iter_mut().filter(|f| {
        f.spec.name == "context" && pattern.is_match(f.value.trim_start_matches(['"', '\'']))
    }) {
        if pattern.find(&flag.value).is_some_and(|m| m.start() == 0) {
            flag.value = pattern.replace(&flag.value, url.as_str()).into_owned();
            flag.raw = pattern.replace(&flag.raw, url.as_str()).into_owned();
            at = Some(flag.span);
        }
    }
    (call, at)
}

/// The BuildKit image has busybox `sh` and no bash (nor had the Kaniko
/// debug image): a step that names another shell keeps the job.
fn check_shell(pipeline: &Pipeline, job: &Job, step: &Step) -> Result<(), Refusal> {
    let tree = &pipeline.files[0].tree;
    let (shell, span) = match (&step.shell, &job.shell) {
        (Some(shell), _) => (shell.value.clone(), tree.node(shell.node).span),
        (None, Some(shell)) => (shell.clone(), tree.node(job.key).span),
        (None, None) => return Ok(()),
    };
    let program = shell.split_whitespace().next().unwrap_or_default();
    if program == "sh" {
        return Ok(());
    }
    Err(Refusal {
        span,
        message: format!(
            "the step runs with `shell: {shell}`; the BuildKit image has only busybox `sh` (nor did the Kaniko image \
             have bash): use `shell: sh`"
        ),
    })
}

/// Why a path of the Kaniko image keeps the job, and what to do instead.
fn unmovable_path_reason(path: &str) -> String {
    let under = |dir: &str| path == dir || path.starts_with(&format!("{dir}/"));
    let why = if under("/workspace") {
        "the BuildKit image has no /workspace (Kaniko's working directory), and its uid 1000 cannot create one: \
         write under $GITHUB_WORKSPACE or $RUNNER_TEMP"
    } else if path.starts_with('$') {
        "the path relies on the Kaniko image's DOCKER_CONFIG, and cannot be told here: write it under \
         \"${DOCKER_CONFIG:-$HOME/.docker}\""
    } else {
        "the BuildKit image has no /kaniko, and its uid 1000 cannot create it: use a directory under \
         $GITHUB_WORKSPACE or $RUNNER_TEMP"
    };
    format!("`{path}`: {why}")
}

/// `container:` becomes the BuildKit image with the flavour's options and
/// `BUILDKITD_FLAGS`.
fn container_plan(
    pipeline: &Pipeline,
    job: &Job,
    docker_options: &[&str],
    options: &Options,
    plan: &mut StepPlan,
) -> Result<(), Refusal> {
    let source = &pipeline.files[0];
    let (text, tree) = (source.text.as_str(), &source.tree);
    let image = job
        .container
        .as_ref()
        .expect("a Kaniko container job has an image");
    let image_span = tree.node(image.node).span;
    let refuse = |span: Span, message: &str| Refusal {
        span,
        message: message.to_string(),
    };
    let (_, container) = workflow::get(tree, text, job.node, "container")
        .ok_or_else(|| refuse(image_span, "the job's `container:` could not be read"))?;
    let daemon_flags = options.config.flavor.daemon_flags();
    let new_image = options.buildkit_image.clone();
    if !tree.is_mapping(container) {
        // `container: IMAGE` becomes a flow mapping in the same place.
        let mut entries = vec![
            ("image".to_string(), Expected::string(&new_image)),
            (
                "options".to_string(),
                Expected::string(&docker_options.join(" ")),
            ),
        ];
        let mut written = format!(
            "{{ image: {}, options: {}",
            scalar_text(&new_image),
            scalar_text(&docker_options.join(" "))
        );
        if let Some(flags) = daemon_flags {
            written.push_str(&format!(
                ", env: {{ BUILDKITD_FLAGS: {} }}",
                scalar_text(flags)
            ));
            entries.push((
                "env".to_string(),
                Expected::Map(vec![(
                    "BUILDKITD_FLAGS".to_string(),
                    Expected::string(flags),
                )]),
            ));
        }
        written.push_str(" }");
        plan.edits.push(Edit::replace(image_span, written));
        plan.changes.push(Change::Set {
            node: container,
            value: Expected::Map(entries),
        });
        return Ok(());
    }
    if text::is_flow(tree, container) || text::has_merge_key(tree, text, container) {
        return Err(refuse(
            image_span,
            "`container:` is a flow mapping or merges another: change its image by hand",
        ));
    }
    plan.edits
        .push(Edit::replace(image_span, scalar_text(&new_image)));
    plan.changes.push(Change::Set {
        node: image.node,
        value: Expected::string(&new_image),
    });
    let eol = line_ending(text);
    let (image_key, _) = workflow::get(tree, text, container, "image").expect("the image was read");
    let key_start = tree.node(image_key).span.start();
    if line_start(text, key_start) + indentation(text, key_start).len() != key_start {
        return Err(refuse(image_span, "`image:` does not start its line"));
    }
    let indent = indentation(text, key_start);
    let mut after_image = String::new();
    match workflow::get(tree, text, container, "options") {
        None => {
            let value = docker_options.join(" ");
            after_image.push_str(&format!("{eol}{indent}options: {}", scalar_text(&value)));
            plan.changes.push(Change::Insert {
                mapping: container,
                key: "options".into(),
                value: Expected::string(&value),
            });
        }
        Some((_, node)) => {
            let old = tree.scalar(text, node).ok_or_else(|| {
                refuse(tree.node(node).span, "`container.options` is not a string")
            })?;
            let missing: Vec<&str> = docker_options
                .iter()
                .copied()
                .filter(|o| !old.contains(o))
                .collect();
            if !missing.is_empty() {
                let value = if old.trim().is_empty() {
                    missing.join(" ")
                } else {
                    format!("{} {}", old.trim_end(), missing.join(" "))
                };
                plan.edits
                    .push(Edit::replace(tree.node(node).span, scalar_text(&value)));
                plan.changes.push(Change::Set {
                    node,
                    value: Expected::string(&value),
                });
            }
        }
    }
    if let Some(flags) = daemon_flags {
        env_plan(pipeline, container, &indent, flags, &mut after_image, plan)?;
    }
    if !after_image.is_empty() {
        plan.edits
            .push(Edit::insert(line_end(text, image_span.end()), after_image));
    }
    Ok(())
}

/// `BUILDKITD_FLAGS` in `container.env`: a new `env:` after the image, or
/// an entry at the top of the existing block mapping.
fn env_plan(
    pipeline: &Pipeline,
    container: NodeId,
    indent: &str,
    flags: &str,
    after_image: &mut String,
    plan: &mut StepPlan,
) -> Result<(), Refusal> {
    let source = &pipeline.files[0];
    let (text, tree) = (source.text.as_str(), &source.tree);
    let eol = line_ending(text);
    let Some((env_key, env)) = workflow::get(tree, text, container, "env") else {
        after_image.push_str(&format!(
            "{eol}{indent}env:{eol}{indent}  BUILDKITD_FLAGS: {}",
            scalar_text(flags)
        ));
        plan.changes.push(Change::Insert {
            mapping: container,
            key: "env".into(),
            value: Expected::Map(vec![("BUILDKITD_FLAGS".into(), Expected::string(flags))]),
        });
        return Ok(());
    };
    let refuse = |message: String| Refusal {
        span: tree.node(env_key).span,
        message,
    };
    if let Some((_, value)) = workflow::get(tree, text, env, "BUILDKITD_FLAGS") {
        return match tree.scalar(text, value) {
            Some(v) if v.contains(flags) => Ok(()),
            _ => Err(refuse(format!(
                "`BUILDKITD_FLAGS` is set already: add `{flags}` to it by hand"
            ))),
        };
    }
    let first = tree.pairs(env).next().map(|(key, _)| key);
    let Some(first) = first.filter(|_| !text::is_flow(tree, env)) else {
        return Err(refuse(format!(
            "`container.env` is not a block mapping: add `BUILDKITD_FLAGS: {flags}` by hand"
        )));
    };
    let at = tree.node(first).span.start();
    let entry_indent = indentation(text, at);
    if line_start(text, at) + entry_indent.len() != at {
        return Err(refuse(format!(
            "`container.env` is not one entry per line: add `BUILDKITD_FLAGS: {flags}` by hand"
        )));
    }
    plan.edits.push(Edit::insert(
        line_start(text, at),
        format!("{entry_indent}BUILDKITD_FLAGS: {}{eol}", scalar_text(flags)),
    ));
    plan.changes.push(Change::Insert {
        mapping: env,
        key: "BUILDKITD_FLAGS".into(),
        value: Expected::string(flags),
    });
    Ok(())
}
