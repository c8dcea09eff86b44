//! `docker run … <Kaniko image> <flags>` in a `run:` script becomes
//! `docker buildx build` on the runner's own Docker, in the same place.
//!
//! The paths Kaniko saw in its container (`/workspace/...`) are mapped back
//! to the host paths mounted there, so the translated flags name the
//! runner's files; the credentials Kaniko was given (a `/kaniko/.docker`
//! mount) become the `DOCKER_CONFIG` the build reads.

use super::build_push::Refusal;
use super::detect::DockerCall;
use super::migrate::StepPlan;
use super::workflow::Step;
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::invocation::{FlagUse, Invocation, Problem};
use crate::mapping::command::{self, CallText, Fate, Workspace};
use crate::mapping::flavor::Flavor;
use crate::migrate::Options;
use crate::migrate::text;
use crate::rewrite::Edit;
use crate::rewrite::encode;
use crate::rewrite::verify::{Change, Expected};
use crate::rules::Rule;
use crate::yaml::scalar::SourceMap;

/// Flags whose value is a path in the Kaniko container.
const PATH_FLAGS: [&str; 7] = [
    "context",
    "dockerfile",
    "tar-path",
    "digest-file",
    "image-name-with-digest-file",
    "image-name-tag-with-digest-file",
    "oci-layout-path",
];

/// Kaniko's working directory in its image, where relative paths start.
const KANIKO_WORKDIR: &str = "/workspace";

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
        let line_indent = text::indentation(script, call.range.start);
        let encoded = encode::encode(&layout, &lines, &line_indent).ok_or_else(|| Refusal {
            span: call.image_span,
            message: "the script's YAML style cannot hold the new command".into(),
        })?;
        new_script.push_str(&script[cursor..call.range.start]);
        new_script.push_str(&encoded.decoded);
        cursor = call.range.end;
        let span = to_source(call.range.clone());
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
        calls[0].image_span,
        "the build runs on the runner's Docker with buildx, in a docker-container builder of its own (registry \
         caches need one; the runner's default builder stays the default); Kaniko ran in a container of its own",
    ));
    Ok(StepPlan {
        edits,
        changes: vec![Change::Set {
            node: run.node,
            value: Expected::Str(new_script),
        }],
        findings,
    })
}

/// The lines of the new command for one call.
fn call_lines(
    call: &DockerCall,
    options: &Options,
    findings: &mut Vec<Finding>,
) -> Result<Vec<String>, Refusal> {
    let Some(invocation) = &call.invocation else {
        let (entrypoint, _) = call.docker.entrypoint.clone().unwrap_or_default();
        return Err(Refusal {
            span: call.image_span,
            message: format!(
                "the container runs `{entrypoint}`, not the executor: the tool cannot read what it builds"
            ),
        });
    };
    if call.docker.program != "docker" {
        return Err(Refusal {
            span: call.image_span,
            message: format!(
                "Kaniko ran with `{} run`: the new build needs the runner's Docker with buildx, as the user the \
                 step runs as",
                call.docker.program
            ),
        });
    }
    if invocation.program == crate::kaniko::invocation::Program::Warmer {
        return Err(Refusal {
            span: call.image_span,
            message: "the warmer filled Kaniko's base-image cache, which BuildKit has no use for: remove the step".into(),
        });
    }
    if let Some((option, _)) = call.docker.unhandled.first() {
        return Err(Refusal {
            span: call.image_span,
            message: format!(
                "the `docker run` option `{}` has no counterpart in a build on the runner",
                option.trim_start_matches('-')
            ),
        });
    }
    if let Some((dir, _)) = &call.docker.workdir
        && dir.trim_end_matches('/') != KANIKO_WORKDIR
    {
        return Err(Refusal {
            span: call.image_span,
            message: format!(
                "the container's working directory `{dir}` changes where Kaniko read relative paths"
            ),
        });
    }
    if let Some(mount) = call
        .docker
        .mounts
        .iter()
        .find(|m| m.host.contains(['"', '\'', '\\']) || m.host.trim().is_empty())
    {
        return Err(Refusal {
            span: call.image_span,
            message: format!(
                "the host path `{}` cannot be carried into the new command",
                mount.host
            ),
        });
    }
    let mut assignments = Vec::new();
    for env in &call.docker.env {
        match (env.name.as_str(), env.value.as_deref()) {
            // int128/kaniko-action's workaround for Kaniko 1.8: nothing to BuildKit.
            ("container", _) => {}
            ("DOCKER_CONFIG", Some(dir)) if dir.trim_end_matches('/') == "/kaniko/.docker" => {}
            (name, _) => {
                return Err(Refusal {
                    span: call.image_span,
                    message: format!(
                        "the container's environment variable `{name}` was Kaniko's, which a build on the runner does not take"
                    ),
                });
            }
        }
    }
    if let Some(mount) = call.docker.docker_config_mount() {
        let dir = if mount.container == "/kaniko/.docker" {
            Some(format!("\"{}\"", mount.host))
        } else {
            mount
                .host
                .strip_suffix("/config.json")
                .filter(|dir| !matches!(*dir, "$HOME/.docker" | "${HOME}/.docker" | "~/.docker"))
                .map(|dir| format!("\"{dir}\""))
        };
        if let Some(dir) = dir {
            assignments.push(format!("DOCKER_CONFIG={dir}"));
        }
    }
    let workspace = Workspace {
        root: options.root.as_deref(),
        variables: Vec::new(),
        flavor: Flavor::Buildx,
        ci: &super::CI_VARIABLES,
    };
    // `executor version` builds nothing: no path of it needs a mount.
    let informational = command::translate(invocation, &workspace).informational;
    let mapped = if informational {
        invocation.clone()
    } else {
        on_host(invocation, call)?
    };
    let translation = command::translate(&mapped, &workspace);
    if let Some(note) = unreadable_word(&mapped) {
        return Err(Refusal {
            span: note.span,
            message: note.message,
        });
    }
    if informational {
        findings.push(Finding::new(
            Rule::MigrationNote,
            0,
            call.image_span,
            "this line printed Kaniko's version or help; it now prints buildx's (`docker buildx version`)",
        ));
        return Ok(vec!["docker buildx version".to_string()]);
    }
    if !translation.daemon_config.is_empty() {
        return Err(Refusal {
            span: call.image_span,
            message: "registry settings go into the builder's buildkitd.toml: create the builder with `--config` by hand"
                .into(),
        });
    }
    for note in &translation.notes {
        let finding = match note.fate {
            Fate::Blocked => {
                return Err(Refusal {
                    span: note.span,
                    message: note.message.clone(),
                });
            }
            Fate::Unsafe if !options.unsafe_fixes => {
                return Err(Refusal {
                    span: note.span,
                    message: format!("{} (applied only with --unsafe)", note.message),
                });
            }
            Fate::Unsafe => Finding::new(
                Rule::UnsafeFlag,
                0,
                note.span,
                format!("applied with --unsafe: {}", note.message),
            ),
            Fate::Dropped => Finding::new(Rule::DroppedFlag, 0, note.span, note.message.clone()),
            Fate::Note => Finding::new(Rule::MigrationNote, 0, note.span, note.message.clone()),
        };
        findings.push(finding);
    }
    // The buildx flavour's lines are buildx options.
    let arguments = translation.lines.clone();
    // A builder of its own, not made the default: a later `docker build`
    // in the script still loads its image into Docker.
    let command: Vec<String> = [
        "_k2b_builder=\"$(docker buildx create --driver docker-container)\" &&".to_string(),
        "docker buildx build --builder \"$_k2b_builder\"".to_string(),
    ]
    .into_iter()
    .chain(arguments)
    .collect();
    let mut text = CallText {
        assignments: translation.assignments.clone(),
        secret: translation.secret_before.clone(),
        steps: translation.before.clone(),
        command,
        after: translation.after.clone(),
    };
    text.assignments.extend(assignments);
    let lines: Vec<String> = text.lines().iter().map(|line| unmark(line, call)).collect();
    if lines
        .iter()
        .any(|line| line.contains("__kaniko2buildkit_mount_"))
    {
        return Err(Refusal {
            span: call.image_span,
            message: "a mounted path could not be placed in the new command".into(),
        });
    }
    Ok(lines)
}

/// The call with every container path replaced by the host path mounted
/// there. A path no mount holds is inside the Kaniko container: refused.
fn on_host(invocation: &Invocation, call: &DockerCall) -> Result<Invocation, Refusal> {
    let mut mapped = invocation.clone();
    let has_context = mapped.flags.iter().any(|f| canonical(f) == "context");
    for flag in &mut mapped.flags {
        let name = canonical(flag);
        if !PATH_FLAGS.contains(&name) {
            if flag.value.starts_with('/') {
                return Err(Refusal {
                    span: flag.span,
                    message: format!(
                        "`--{name}` names `{}` inside the Kaniko container",
                        flag.value
                    ),
                });
            }
            continue;
        }
        let (scheme, path) = match flag.value.split_once("://") {
            Some(("dir", path)) => ("", path.to_string()),
            Some(_) => continue,
            None => ("", flag.value.clone()),
        };
        let _ = scheme;
        if !path.starts_with('/') && name == "dockerfile" {
            let (value, raw) = relative_dockerfile(call, invocation, &path, flag.span)?;
            flag.value = value;
            flag.raw = raw;
            continue;
        }
        let absolute = if path.starts_with('/') {
            path
        } else {
            format!("{KANIKO_WORKDIR}/{path}")
        };
        let Some(marked) = marked_path(call, &absolute) else {
            return Err(Refusal {
                span: flag.span,
                message: format!(
                    "`{absolute}` is inside the Kaniko container: no mount brings it from the runner"
                ),
            });
        };
        flag.value = marked.clone();
        flag.raw = marked;
    }
    if !has_context {
        let Some(marked) = marked_path(call, KANIKO_WORKDIR) else {
            return Err(Refusal {
                span: call.image_span,
                message: "Kaniko built `/workspace`, its default context, and no mount brings it from the runner".into(),
            });
        };
        let (value, raw) = (marked.clone(), marked);
        let spec = crate::mapping::table::by_name(crate::mapping::table::EXECUTOR_FLAGS, "context")
            .expect("the table has --context");
        mapped.flags.insert(
            0,
            FlagUse {
                spec,
                name_span: call.image_span,
                span: call.image_span,
                value,
                raw,
            },
        );
    }
    if !mapped.flags.iter().any(|f| canonical(f) == "dockerfile") {
        let (value, raw) = relative_dockerfile(call, invocation, "Dockerfile", call.image_span)?;
        let spec =
            crate::mapping::table::by_name(crate::mapping::table::EXECUTOR_FLAGS, "dockerfile")
                .expect("the table has --dockerfile");
        mapped.flags.push(FlagUse {
            spec,
            name_span: call.image_span,
            span: call.image_span,
            value,
            raw,
        });
    }
    Ok(mapped)
}

/// A relative Dockerfile: Kaniko looked in its working directory
/// (`/workspace`) first, then in the context. On the host that is one
/// place when the two are the same mount or only the context is mounted.
fn relative_dockerfile(
    call: &DockerCall,
    invocation: &Invocation,
    path: &str,
    span: crate::span::Span,
) -> Result<(String, String), Refusal> {
    let context = invocation
        .flags
        .iter()
        .find(|f| canonical(f) == "context")
        .map_or(KANIKO_WORKDIR.to_string(), |f| {
            f.value
                .strip_prefix("dir://")
                .unwrap_or(&f.value)
                .to_string()
        });
    let context = context.trim_end_matches('/');
    let context = if context.is_empty() { "/" } else { context };
    let path = path.trim_start_matches("./");
    let in_workdir = marked_path(call, &format!("{KANIKO_WORKDIR}/{path}"));
    let in_context = marked_path(call, &format!("{context}/{path}"));
    let chosen = match (in_workdir, in_context) {
        (Some(a), Some(b)) if a == b || context == KANIKO_WORKDIR => a,
        (None, Some(b)) => b,
        (Some(_), Some(_)) => {
            return Err(Refusal {
                span,
                message: format!(
                    "Kaniko looked for `{path}` in /workspace first, then in the context `{context}`: which one it \
                     found is known only when the job runs; give --dockerfile as an absolute path"
                ),
            });
        }
        (_, None) => {
            return Err(Refusal {
                span,
                message: format!(
                    "the Dockerfile `{path}` is not in a directory mounted from the runner"
                ),
            });
        }
    };
    Ok((chosen.clone(), chosen))
}

/// A container path as the same path under a marker of its mount: an
/// absolute path the translation places as it is, which
/// [`unmark`] turns into the host path afterwards.
fn marked_path(call: &DockerCall, container_path: &str) -> Option<String> {
    let path = container_path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let (index, mount) = call
        .docker
        .mounts
        .iter()
        .enumerate()
        .filter(|(_, m)| path == m.container || path.starts_with(&format!("{}/", m.container)))
        .max_by_key(|(_, m)| m.container.len())?;
    Some(format!(
        "{}{}",
        marker(index),
        &path[mount.container.len()..]
    ))
}

fn marker(index: usize) -> String {
    format!("/__kaniko2buildkit_mount_{index}__")
}

/// The translated text with each mount's marker replaced by the host path
/// (its value: the new text quotes it where the old one was quoted).
fn unmark(line: &str, call: &DockerCall) -> String {
    let mut line = line.to_string();
    for (index, mount) in call.docker.mounts.iter().enumerate() {
        let marker = marker(index);
        while let Some(at) = line.find(&marker) {
            let quoted = line[..at].matches('"').count() - line[..at].matches("\\\"").count();
            let host = if quoted % 2 == 1 {
                mount.host.clone()
            } else {
                format!("\"{}\"", mount.host)
            };
            line.replace_range(at..at + marker.len(), &host);
        }
    }
    line
}

fn canonical(flag: &FlagUse) -> &'static str {
    flag.spec.alias_of.unwrap_or(flag.spec.name)
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
