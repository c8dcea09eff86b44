//! `docker run … <Kaniko image> …` on a host that has a Docker daemon (a
//! GitLab `docker:dind` job, a GitHub runner, a Buildkite agent) becomes
//! `docker buildx build …` in place: the job keeps its image and services,
//! and the build keeps the run-time contract the container had. Paths
//! Kaniko saw inside the container are mapped through the mounts to the
//! host's own; the registry credentials it read from a mounted
//! `config.json` reach buildx through `DOCKER_CONFIG`; the `-e` variables it
//! saw are exported for the command; `--network` carries over to the `RUN`
//! steps. What cannot be carried keeps the job as it is (a blocked note).
//!
//! CI-neutral: what differs per system comes in as parameters (the CI
//! variables on [`Workspace`], the [`Builder`] the host can use); how the
//! new command is written into the file, and escaped, is each front-end's.

use crate::kaniko::docker_run::{DockerRun, Mount, deepest};
use crate::kaniko::in_docker::{DockerUse, Runs};
use crate::kaniko::invocation::{FlagUse, Invocation, Problem, Program};
use crate::kaniko::{image_path, is_kaniko_setting};
use crate::mapping::command::{self, CallText, Fate, FlagNote, Translation, Workspace};
use crate::mapping::flavor::Flavor;
use crate::mapping::quote;
use crate::mapping::table::{self, EXECUTOR_FLAGS};
use crate::span::Span;

/// The executor image's working directory and default context.
const KANIKO_WORKDIR: &str = "/workspace";

/// The new command, or why there is none (blocked notes), with the notes a
/// migrated job reports.
pub struct Planned {
    pub call: Option<CallText>,
    pub notes: Vec<FlagNote>,
    pub translation: Option<Translation>,
    /// A `config.json` reached Kaniko through a mount.
    pub mounted_credentials: bool,
}

/// The `docker-container` builder [`Builder::Own`] makes once per daemon.
pub const OWN_BUILDER: &str = "kaniko2buildkit";

/// Which buildx builder the new command builds with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builder {
    /// The daemon's default builder, and `docker buildx create --use` first
    /// when the build needs a `docker-container` builder (a registry cache,
    /// several destinations): for a daemon the job owns (a `docker:dind`
    /// service), which nothing after the job uses.
    WhenNeeded,
    /// Always a `docker-container` builder of the command's own, not made
    /// the default: for a daemon later steps share (a GitHub runner's), so
    /// that a later `docker build` still loads its image into Docker.
    Own,
}

/// Options of the job's environment the docker client reads itself: the
/// container had them for Kaniko, the new command would hand them to the
/// client.
fn is_client_variable(name: &str) -> bool {
    name.starts_with("DOCKER_") || name.starts_with("BUILDX_") || matches!(name, "HOME" | "PATH")
}

/// Plans one `docker run`. `workspace` is the job's (its flavour is
/// ignored: the job builds with buildx, on the daemon it already has);
/// `job_docker_config` is true when the job sets `DOCKER_CONFIG` itself.
pub fn plan(
    docker: &DockerUse,
    workspace: &Workspace,
    builder: Builder,
    job_docker_config: bool,
) -> Planned {
    let mut notes = Vec::new();
    let blocked = |span: Span, message: String| FlagNote {
        fate: Fate::Blocked,
        span,
        message,
    };
    let mut planned = Planned {
        call: None,
        notes: Vec::new(),
        translation: None,
        mounted_credentials: false,
    };
    let (call, container_expands) = match &docker.runs {
        Runs::Program(call) => (call, &[][..]),
        Runs::Shell {
            call,
            container_expands,
            ..
        } => (call, container_expands.as_slice()),
        Runs::Other { message, span } => {
            planned.notes.push(blocked(*span, message.clone()));
            return planned;
        }
    };
    if call.program == Program::Warmer {
        let message = "`/kaniko/warmer` has no BuildKit counterpart: remove the warming step";
        planned
            .notes
            .push(blocked(call.program_span, message.into()));
        return planned;
    }
    let run = &docker.run;
    if run.program.starts_with("sudo ") {
        notes.push(blocked(
            docker.image_span,
            format!(
                "Kaniko ran with `{} run`: the new build needs the host's Docker with buildx, as the user the \
                 job runs as",
                run.program
            ),
        ));
    }
    if docker.client == "podman" {
        notes.push(blocked(
            docker.span,
            "podman has no `buildx build` with registry outputs: build with `podman build` and `podman push` by hand"
                .into(),
        ));
    }
    let mut variable_mounts = Vec::new();
    for ((option, range), span) in run.unhandled.iter().zip(&docker.unhandled_spans) {
        if let Some(mount) = variable_mount(option, range) {
            variable_mounts.push(mount);
            continue;
        }
        notes.push(blocked(
            *span,
            format!("`{option}` changes what the Kaniko container sees; a build on the job's daemon has no counterpart"),
        ));
    }
    for span in &docker.inner_redirects {
        notes.push(blocked(
            *span,
            "a redirection inside the `docker run` options would be lost".into(),
        ));
    }
    let passed: Vec<&str> = run.env.iter().map(|e| e.name.as_str()).collect();
    for name in container_expands {
        if !passed.contains(&name.as_str()) && !matches!(name.as_str(), "HOME" | "PATH" | "PWD") {
            notes.push(blocked(
                call.span,
                format!(
                    "the container's shell expanded `${name}` itself, where no `-e {name}` set it; in the job it has the \
                     job's value: pass it with `-e` or write the value, then rerun"
                ),
            ));
        }
    }
    let network = match docker.network.as_ref() {
        None => None,
        Some((value, _)) if matches!(value.as_str(), "bridge" | "default") => None,
        Some((value, span)) if matches!(value.as_str(), "host" | "none") => {
            notes.push(FlagNote {
                fate: Fate::Note,
                span: *span,
                message: format!(
                    "the build's `RUN` steps ran in the container, on the `{value}` network: \
                     `docker buildx build --network {value}` keeps them there"
                ),
            });
            Some(value.clone())
        }
        Some((value, span)) => {
            notes.push(blocked(
                *span,
                format!(
                    "the build's `RUN` steps ran on the container's network `{value}`; `docker buildx build --network` \
                     knows only `default`, `host` and `none`"
                ),
            ));
            None
        }
    };
    let mut call = call.clone();
    let custom_platform = call.flags.iter().any(|f| f.spec.name == "custom-platform");
    let platform = docker
        .platform
        .as_ref()
        .filter(|_| !custom_platform)
        .map(|(value, span)| {
            notes.push(FlagNote {
                fate: Fate::Note,
                span: *span,
                message: format!(
                    "Kaniko built for the platform its container ran on (`{value}`): `--platform {value}` keeps it"
                ),
            });
            value.clone()
        });
    let mut assignments = docker.prefixes.clone();
    for ((env, span), raw) in run.env.iter().zip(&docker.env_spans).zip(&docker.env_raw) {
        // `container` is int128/kaniko-action's workaround for Kaniko 1.8
        // (it told Kaniko it ran in a container): nothing to buildx.
        if env.name == "DOCKER_CONFIG" || env.name == "container" {
            continue;
        }
        let Some(value) = &env.value else {
            continue;
        };
        if is_client_variable(&env.name) {
            notes.push(blocked(
                *span,
                format!(
                    "`-e {}` set the variable for Kaniko; exported for `docker buildx build` it would configure the client",
                    env.name
                ),
            ));
            continue;
        }
        if is_kaniko_setting(&env.name) {
            call.problems.push(Problem::Setting {
                name: env.name.clone(),
                value: value.clone(),
                span: *span,
            });
        }
        match assignment(&env.name, raw) {
            Some(text) => assignments.push(text),
            None => notes.push(blocked(
                *span,
                format!("cannot read `-e {}` as one assignment", env.name),
            )),
        }
    }
    let exported = assignments.len() > docker.prefixes.len();
    if exported {
        notes.push(FlagNote {
            fate: Fate::Note,
            span: docker.env_spans.first().copied().unwrap_or(docker.span),
            message: "the `-e` variables Kaniko saw are exported for the new command, so build arguments \
                      that read them get the same values"
                .into(),
        });
    }
    let variables = workspace
        .variables
        .iter()
        .filter(|(name, _)| !is_kaniko_setting(name))
        .cloned()
        .collect();
    let buildx = Workspace {
        root: workspace.root,
        variables,
        flavor: Flavor::Buildx,
        ci: workspace.ci,
    };
    call.assignments = assignments;
    let mapper = Mapper::new(run, variable_mounts);
    // `executor version` prints and builds nothing: no path to map.
    let informational = call.flags.is_empty() && command::translate(&call, &buildx).informational;
    if !informational && !map_paths(&mut call, &mapper, &mut notes) {
        // Without the context nothing else can be said about the build.
        planned.notes = notes;
        return planned;
    }
    for flag in &call.flags {
        let bare = flag.spec.name == "build-arg" && !flag.value.contains('=');
        if bare && !flag.value.starts_with('$') && !passed.contains(&flag.value.as_str()) {
            notes.push(blocked(
                flag.span,
                format!(
                    "`--build-arg {0}` read `{0}` from the container's environment, where no `-e {0}` set it; in the \
                     job it would read the job's: pass it with `-e` or give its value, then rerun",
                    flag.value
                ),
            ));
        }
    }
    let translation = command::translate(&call, &buildx);
    let (config_assignment, config_steps) =
        credentials(docker, &mapper, job_docker_config, &mut notes);
    planned.mounted_credentials = config_assignment.is_some() || mounted_own(docker, &mapper);
    let mut text = translation.call_text();
    if !translation.informational {
        let global: String = translation.global.iter().map(|g| format!(" {g}")).collect();
        let mut lines = translation.lines.clone();
        if let Some(network) = &network {
            lines.insert(
                lines.len().saturating_sub(1),
                format!("--network {network}"),
            );
        }
        if let Some(platform) = &platform {
            if quote::is_plain(platform) {
                lines.insert(0, format!("--platform {platform}"));
            } else {
                notes.push(blocked(
                    docker.span,
                    format!("the container's platform `{platform}` cannot be told here"),
                ));
            }
        }
        let needed = needs_container_builder(&lines);
        let container_builder = needed || builder == Builder::Own;
        if container_builder && network.as_deref() == Some("host") {
            notes.push(blocked(
                docker.span,
                "`--network host` for `RUN` steps needs the `network.host` entitlement, which a `docker-container` \
                 builder (needed here for the cache or several destinations) only has when created for it"
                    .into(),
            ));
        }
        let client = &docker.client;
        let mut command = Vec::new();
        match builder {
            Builder::Own => {
                // One builder by name, made once per daemon and reused: a
                // builder per build would leave a container on a
                // long-lived runner each time. A job that lost the race to
                // create it finds it made.
                command.push(format!(
                    "{{ {client} buildx inspect {OWN_BUILDER} >/dev/null 2>&1 \
                     || {client} buildx create --name {OWN_BUILDER} --driver docker-container >/dev/null \
                     || {client} buildx inspect {OWN_BUILDER} >/dev/null; }} &&"
                ));
                command.push(format!(
                    "{client} buildx{global} build --builder {OWN_BUILDER}"
                ));
            }
            Builder::WhenNeeded => {
                if needed {
                    command.push(format!("{client} buildx create --use >/dev/null &&"));
                }
                command.push(format!("{client} buildx{global} build"));
            }
        }
        command.extend(lines);
        text.command = command;
        if needed && builder == Builder::WhenNeeded {
            notes.push(FlagNote {
                fate: Fate::Note,
                span: docker.image_span,
                message:
                    "a registry cache or several destinations need a `docker-container` builder: \
                          `docker buildx create --use` comes first"
                        .into(),
            });
        }
    }
    if let Some(assignment) = config_assignment {
        text.assignments.push(assignment);
    }
    text.steps.splice(0..0, config_steps);
    planned.call = Some(text);
    planned.notes = notes;
    planned.translation = Some(translation);
    planned
}

/// `NAME=value` as a shell assignment, keeping the value's quoting:
/// `"NAME=$X"` → `NAME="$X"`.
fn assignment(name: &str, raw: &str) -> Option<String> {
    let prefix = format!("{name}=");
    if let Some(rest) = raw.strip_prefix(&prefix) {
        return Some(format!("{prefix}{rest}"));
    }
    let quote = raw.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let rest = raw[1..].strip_prefix(&prefix)?;
    Some(format!("{prefix}{quote}{rest}"))
}

/// A registry cache, an output other than one image, or several names need
/// a `docker-container` builder: the default `docker` driver exports only
/// inline caches and one image.
fn needs_container_builder(lines: &[String]) -> bool {
    let outputs: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("--output "))
        .collect();
    let several_names = outputs.iter().any(|line| {
        line.split("name=")
            .nth(1)
            .and_then(|rest| rest.split("\\\"").next())
            .is_some_and(|names| names.contains(','))
    });
    lines
        .iter()
        .any(|l| l.starts_with("--cache-to ") || l.starts_with("--cache-from "))
        || outputs.len() > 1
        || outputs.iter().any(|l| !l.contains("type=image"))
        || several_names
}

/// `-v HOST:$DIR`: a bind mount to a container path held in a variable,
/// which the `docker run` reading leaves aside (it takes only absolute
/// container paths). The path is matched as written.
fn variable_mount(option: &str, range: &std::ops::Range<usize>) -> Option<Mount> {
    let value = option
        .strip_prefix("-v ")
        .or_else(|| option.strip_prefix("--volume "))?;
    let mut parts = value.split(':');
    let (host, container) = (parts.next()?, parts.next()?);
    let read_only = match parts.next() {
        None => false,
        Some(options) => options.split(',').any(|o| o == "ro"),
    };
    let plain_variable = container.starts_with('$') && !container.contains(['{', '(', '`']);
    let host_ok = host.starts_with(['/', '.', '~', '$']) && !host.contains(['{', '(', '`']);
    (plain_variable && host_ok && parts.next().is_none()).then(|| Mount {
        host: host.to_string(),
        host_raw: format!("\"{host}\""),
        container: container.trim_end_matches('/').to_string(),
        read_only,
        range: range.clone(),
    })
}

/// Container paths to the job's: through the deepest mount, with the job's
/// working directory (`$PWD`, `$(pwd)`, `.`) written as a relative path.
struct Mapper {
    /// The bind mounts, those to a container path held in a variable
    /// (`-v $CI_PROJECT_DIR:$CI_PROJECT_DIR`) included.
    mounts: Vec<Mount>,
    /// The container's working directory.
    cwd: String,
}

/// How a mount's host side names the job's working directory.
const CWD_FORMS: [&str; 5] = ["$PWD", "${PWD}", "$(pwd)", "`pwd`", "."];

impl Mapper {
    fn new(run: &DockerRun, variable_mounts: Vec<Mount>) -> Self {
        let cwd = run
            .workdir
            .as_ref()
            .map_or(KANIKO_WORKDIR.to_string(), |(w, _)| w.clone());
        let mut mounts = run.mounts.clone();
        mounts.extend(variable_mounts);
        Mapper { mounts, cwd }
    }

    /// A container path, relative ones taken from the working directory.
    fn absolute(&self, path: &str) -> String {
        let path = path.strip_prefix("./").unwrap_or(path);
        if path.starts_with('/') || path.starts_with('$') {
            path.to_string()
        } else if path == "." || path.is_empty() {
            self.cwd.clone()
        } else {
            format!("{}/{path}", self.cwd.trim_end_matches('/'))
        }
    }

    /// The job's path (shell text, and its value) for a container path:
    /// through the deepest mount that holds it.
    fn host(&self, container: &str) -> Option<(String, String)> {
        let (mount, suffix) = deepest(&self.mounts, container)?;
        if !suffix.is_empty() && !quote::is_plain(&suffix) {
            return None;
        }
        // A single-quoted host is literal text, not the job's directory.
        let literal = mount.host_raw.contains('\'');
        if let Some(relative) = relative_to_job(&mount.host, &suffix).filter(|_| !literal) {
            return Some((relative.clone(), relative));
        }
        Some((
            format!("{}{suffix}", mount.host_raw),
            format!("{}{suffix}", mount.host),
        ))
    }
}

/// `$PWD/x` → `x`, `$PWD` → `.`: the job's working directory is where the
/// new command runs, as `docker run` did. `host` is the mount's host path
/// after quote removal.
fn relative_to_job(host: &str, suffix: &str) -> Option<String> {
    let host = host.trim_end_matches('/');
    let (base, rest) = CWD_FORMS.iter().find_map(|form| {
        if host == *form {
            Some((*form, ""))
        } else {
            host.strip_prefix(&format!("{form}/"))
                .map(|rest| (*form, rest))
        }
    })?;
    let _ = base;
    let joined = format!("{rest}{suffix}");
    let joined = joined.trim_start_matches('/');
    if joined.is_empty() {
        return Some(".".to_string());
    }
    quote::is_plain(joined).then(|| joined.to_string())
}

/// Flags whose value is a file or directory Kaniko read or wrote.
const PATH_FLAGS: [&str; 5] = [
    "digest-file",
    "image-name-with-digest-file",
    "image-name-tag-with-digest-file",
    "tar-path",
    "oci-layout-path",
];

/// Flags whose paths were inside the build, not files of the container's.
const BUILD_PATHS: [&str; 3] = ["ignore-path", "kaniko-dir", "cache-dir"];

/// Maps the call's paths to the job's; false when the context has no
/// mount behind it.
fn map_paths(call: &mut Invocation, mapper: &Mapper, notes: &mut Vec<FlagNote>) -> bool {
    let blocked = |span: Span, message: String| FlagNote {
        fate: Fate::Blocked,
        span,
        message,
    };
    let unmounted = |span: Span, path: &str| blocked(span, unmounted_reason(path));
    let context_at = call.flags.iter().rposition(|f| f.spec.name == "context");
    // Kaniko's default context is the container's /workspace.
    let context_dir = match context_at {
        Some(index) => {
            let flag = &call.flags[index];
            local_context(&flag.value).map(|(scheme, path)| (index, scheme, mapper.absolute(path)))
        }
        None => {
            let spec = table::by_name(EXECUTOR_FLAGS, "context").expect("--context is a flag");
            call.flags.push(FlagUse {
                spec,
                name_span: call.program_span,
                span: call.program_span,
                value: KANIKO_WORKDIR.to_string(),
                raw: KANIKO_WORKDIR.to_string(),
            });
            Some((call.flags.len() - 1, "", KANIKO_WORKDIR.to_string()))
        }
    };
    let context_host = match &context_dir {
        Some((index, scheme, path)) => match mapper.host(path) {
            Some((raw, value)) => {
                let flag = &mut call.flags[*index];
                flag.raw = quote::prefixed(scheme, &raw);
                flag.value = format!("{scheme}{value}");
                Some(value)
            }
            None => {
                notes.push(unmounted(call.flags[*index].span, path));
                return false;
            }
        },
        None => None,
    };
    let cwd_host = mapper.host(&mapper.cwd).map(|(_, value)| value);
    let context_path = context_dir.map(|(_, _, path)| path);
    // Kaniko's default `Dockerfile` is relative too: outside the job's own
    // working directory it is named where Kaniko found it.
    let named = call.flags.iter().any(|f| f.spec.name == "dockerfile");
    if !named && cwd_host.as_deref() != Some(".") && context_path.is_some() {
        let spec = table::by_name(EXECUTOR_FLAGS, "dockerfile").expect("--dockerfile is a flag");
        call.flags.push(FlagUse {
            spec,
            name_span: call.program_span,
            span: call.program_span,
            value: "Dockerfile".into(),
            raw: "Dockerfile".into(),
        });
    }
    for flag in call.flags.iter_mut() {
        let name = flag.spec.name;
        if name == "context" || BUILD_PATHS.contains(&name) {
            continue;
        }
        let mapped = if name == "dockerfile" {
            dockerfile(
                flag,
                mapper,
                cwd_host.as_deref(),
                context_path.as_deref(),
                context_host.as_deref(),
            )
        } else if PATH_FLAGS.contains(&name) {
            let path = mapper.absolute(&flag.value);
            mapper.host(&path).ok_or(unmounted_reason(&path)).map(Some)
        } else if image_path(&flag.value, true) || flag.value.contains("=/workspace") {
            Err(unmounted_reason(&flag.value))
        } else {
            Ok(None)
        };
        match mapped {
            Ok(Some((raw, value))) => {
                flag.raw = raw;
                flag.value = value;
            }
            Ok(None) => {}
            Err(message) => notes.push(blocked(flag.span, message)),
        }
    }
    true
}

fn unmounted_reason(path: &str) -> String {
    format!(
        "`{path}` is a path inside the Kaniko container that no `-v` mount fills (was it copied into an \
         image?): mount it from the job, or build from the job's own directory"
    )
}

/// A local context's scheme to keep (`tar://`) and its container path.
fn local_context(value: &str) -> Option<(&'static str, &str)> {
    if let Some(path) = value.strip_prefix("dir://") {
        return Some(("", path));
    }
    if let Some(path) = value.strip_prefix("tar://") {
        return (path != "stdin").then_some(("tar://", path));
    }
    (!value.contains("://")).then_some(("", value))
}

/// Where the Dockerfile is for the job. Kaniko took a relative name from
/// its working directory first, then from the context: when the working
/// directory is the job's, the name stays relative and the new command
/// looks in the same places; otherwise the one place it can be is named.
fn dockerfile(
    flag: &FlagUse,
    mapper: &Mapper,
    cwd_host: Option<&str>,
    context_path: Option<&str>,
    context_host: Option<&str>,
) -> Result<Option<(String, String)>, String> {
    let value = flag.value.as_str();
    if value.contains("://") || value == "/dev/stdin" {
        return Ok(None);
    }
    let found = |path: String| mapper.host(&path).map(Some).ok_or(unmounted_reason(&path));
    if value.starts_with('/') || value.starts_with('$') {
        return found(value.to_string());
    }
    match (cwd_host, context_path) {
        (Some("."), _) => Ok(None),
        (Some(cwd), _) if context_host == Some(cwd) => found(mapper.absolute(value)),
        (None, Some(context)) => found(format!(
            "{}/{}",
            context.trim_end_matches('/'),
            value.trim_start_matches("./")
        )),
        _ => Err(format!(
            "Kaniko looked for the Dockerfile `{value}` in its working directory `{}` first, then in the context, \
             which are different directories of the job: name the Dockerfile with its full path, then rerun",
            mapper.cwd
        )),
    }
}

/// The job's own registry credentials: `${DOCKER_CONFIG:-$HOME/.docker}`.
fn is_own_config(dir: &str, job_docker_config: bool) -> bool {
    let dir = dir.trim_matches('"').trim_end_matches('/');
    let by_config = matches!(
        dir,
        "$DOCKER_CONFIG" | "${DOCKER_CONFIG}" | "${DOCKER_CONFIG:-$HOME/.docker}"
    );
    let by_home = matches!(
        dir,
        "$HOME/.docker" | "${HOME}/.docker" | "~/.docker" | "$HOME\"/.docker"
    );
    by_config || (by_home && !job_docker_config)
}

/// Kaniko's `config.json` in the container: `$DOCKER_CONFIG/config.json`
/// (the image sets `/kaniko/.docker`).
fn container_config(docker: &DockerUse) -> String {
    let dir = docker
        .run
        .docker_config_env()
        .and_then(|e| e.value.clone())
        .unwrap_or_else(|| "/kaniko/.docker".to_string());
    format!("{}/config.json", dir.trim_end_matches('/'))
}

fn mounted_own(docker: &DockerUse, mapper: &Mapper) -> bool {
    mapper.host(&container_config(docker)).is_some()
}

/// How the credentials Kaniko read reach buildx: nothing when the mounted
/// file is the job's own; `DOCKER_CONFIG` set to its directory for the
/// command when it is another; a copy named `config.json` when the file has
/// another name.
fn credentials(
    docker: &DockerUse,
    mapper: &Mapper,
    job_docker_config: bool,
    notes: &mut Vec<FlagNote>,
) -> (Option<String>, Vec<String>) {
    let file = container_config(docker);
    let span = docker
        .run
        .mounts
        .iter()
        .zip(&docker.mount_spans)
        .find(|(m, _)| file == m.container || file.starts_with(&format!("{}/", m.container)))
        .map_or(docker.image_span, |(_, span)| *span);
    let Some((raw, _)) = mapper.host(&file) else {
        return (None, Vec::new());
    };
    let note = |message: String| FlagNote {
        fate: Fate::Note,
        span,
        message,
    };
    let directory = match quote::split_path(&raw) {
        Some((dir, name)) if name == "config.json" => Some(dir),
        _ if raw == "config.json" => Some(".".to_string()),
        _ => None,
    };
    if let Some(dir) = directory {
        let dir = dir.as_str();
        if is_own_config(dir, job_docker_config) {
            return (None, Vec::new());
        }
        notes.push(note(format!(
            "Kaniko read registry credentials from `{raw}`; buildx reads `$DOCKER_CONFIG/config.json`, so \
             `DOCKER_CONFIG={dir}` is set for the command"
        )));
        return (Some(format!("DOCKER_CONFIG={dir}")), Vec::new());
    }
    notes.push(note(format!(
        "Kaniko read registry credentials from `{raw}`, which buildx cannot read under that name: the command \
         copies it to `config.json` in a new temporary directory and sets `DOCKER_CONFIG` to it"
    )));
    (
        Some("DOCKER_CONFIG=\"$(mktemp -d)\"".into()),
        vec![format!("cp {raw} \"$DOCKER_CONFIG/config.json\"")],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_words_become_assignments_with_their_quoting() {
        assert_eq!(assignment("A", "A=1").as_deref(), Some("A=1"));
        assert_eq!(assignment("A", "\"A=$B\"").as_deref(), Some("A=\"$B\""));
        assert_eq!(assignment("A", "'A=$B'").as_deref(), Some("A='$B'"));
        assert_eq!(assignment("A", "A\"=x\""), None);
    }

    #[test]
    fn caches_and_several_names_need_a_container_builder() {
        let one = ["--output \"type=image,\\\"name=r/a:1\\\",push=true\"".to_string()];
        assert!(!needs_container_builder(&one));
        let two = ["--output \"type=image,\\\"name=r/a:1,r/a:2\\\",push=true\"".to_string()];
        assert!(needs_container_builder(&two));
        let cache = [
            one[0].clone(),
            "--cache-to \"type=registry,ref=r/cache\"".to_string(),
        ];
        assert!(needs_container_builder(&cache));
    }

    #[test]
    fn the_jobs_working_directory_stays_relative() {
        assert_eq!(
            relative_to_job("$PWD", "/app/Dockerfile").as_deref(),
            Some("app/Dockerfile")
        );
        assert_eq!(relative_to_job("$(pwd)/", "").as_deref(), Some("."));
        assert_eq!(
            relative_to_job("$PWD/.auth", "/config.json").as_deref(),
            Some(".auth/config.json")
        );
        assert_eq!(relative_to_job("$CI_PROJECT_DIR", ""), None);
    }
}
