//! One `/kaniko/executor` call translated into `buildctl-daemonless.sh build`.
//!
//! Every flag ends in exactly one place: a buildctl argument, a note saying
//! why it was dropped, or a blocker that keeps the job as it is.

use std::path::Path;

use super::flavor::{self, Flavor};
use super::quote::{self, in_double_quotes, lone_variable, prefixed, suffixed};
use super::table::{Class, FlagSpec};
use crate::kaniko::invocation::{FlagUse, Invocation, Problem};
use crate::span::Span;

/// The script that starts an ephemeral rootless daemon and runs buildctl.
pub const BUILDCTL: &str = "buildctl-daemonless.sh";

/// What happened to a flag that produced no buildctl argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Safe to drop: BuildKit needs nothing in its place.
    Dropped,
    /// Dropping it changes behaviour: only with `--unsafe`.
    Unsafe,
    /// Not translated by this version: the job stays as it is.
    Blocked,
    /// Translated, with something the user should know.
    Note,
}

#[derive(Clone, Debug)]
pub struct FlagNote {
    pub fate: Fate,
    pub span: Span,
    pub message: String,
}

/// The translated command: global options, then one `build` argument group
/// per line.
#[derive(Clone, Debug)]
pub struct Translation {
    pub global: Vec<String>,
    pub lines: Vec<String>,
    pub notes: Vec<FlagNote>,
    /// Destinations as written, for the registry login decision.
    pub destinations: Vec<String>,
    pub pushes: bool,
    /// Steps that run after a successful build (`&& ...`), such as writing
    /// the digest file Kaniko wrote.
    pub after: Vec<String>,
    /// `buildkitd.toml` lines (inside double quotes) for registry settings
    /// that live in the daemon's configuration.
    pub daemon_config: Vec<String>,
    /// Steps that must run before the build, such as unpacking a `tar://`
    /// context.
    pub before: Vec<String>,
    /// Steps before the build that handle credentials (git's).
    pub secret_before: Vec<String>,
    /// The call's prefix assignments, as written.
    pub assignments: Vec<String>,
    /// The call only printed Kaniko's version or help (`executor version`,
    /// `--help`): the client's version takes its place, and nothing builds.
    pub informational: bool,
    /// The attributes an image output carried in a variable takes (push,
    /// registry and compression settings), or why it cannot have one.
    pub carried_output: Result<String, String>,
    /// How the job runs BuildKit, which decides the command's shape.
    pub flavor: Flavor,
}

impl Translation {
    /// Writes `buildkitd.toml` where the flavour's daemon reads it, before
    /// the build, one `printf` argument per line so that hosts held in
    /// variables still expand.
    fn config_steps(&self) -> Vec<String> {
        let Some(dir) = self.flavor.config_dir() else {
            return Vec::new();
        };
        if self.daemon_config.is_empty() {
            return Vec::new();
        }
        let lines: Vec<String> = self
            .daemon_config
            .iter()
            .map(|line| format!("\"{line}\""))
            .collect();
        vec![
            format!("mkdir -p \"{dir}\""),
            format!(
                "printf '%s\\n' {} > \"{dir}/buildkitd.toml\"",
                lines.join(" ")
            ),
        ]
    }

    /// The new command, in parts that [`CallText::lines`] puts together.
    pub fn call_text(&self) -> CallText {
        if self.informational {
            return CallText {
                assignments: self.assignments.clone(),
                command: vec![self.flavor.version_command().to_string()],
                ..CallText::default()
            };
        }
        let mut steps = self.config_steps();
        steps.extend(self.before.iter().cloned());
        CallText {
            assignments: self.assignments.clone(),
            secret: self.secret_before.clone(),
            steps,
            command: self
                .flavor
                .build_command(&self.global)
                .into_iter()
                .chain(self.lines.iter().cloned())
                .collect(),
            after: self.after.clone(),
        }
    }
}

/// The text that replaces one executor call, in parts, so that the plan can
/// add a registry login or a `BUILDKITD_FLAGS` prefix before it is joined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallText {
    /// The call's `NAME=value` prefixes: Kaniko's environment.
    pub assignments: Vec<String>,
    /// Steps that handle credentials: they run with tracing off.
    pub secret: Vec<String>,
    /// Steps that prepare the build.
    pub steps: Vec<String>,
    /// The program line, then one argument group per line. A line ending in
    /// `&&` is a step of the flavour's own (buildx's `create`).
    pub command: Vec<String>,
    /// Steps after a successful build (the digest files).
    pub after: Vec<String>,
}

impl CallText {
    /// More than one command, or a command with an environment of its own.
    fn needs_subshell(&self) -> bool {
        !self.assignments.is_empty()
            || !self.secret.is_empty()
            || !self.steps.is_empty()
            || !self.after.is_empty()
            || self.command.iter().any(|line| line.ends_with("&&"))
    }

    /// The logical lines of the new text. A lone command stands as it is.
    /// Several commands are joined with `&&` inside `( ... )`: the list's
    /// status is the first failure's, and a subshell, unlike a `{ }` group
    /// or a bare `a && b`, ends a `set -e` script (gitlab-runner's) when it
    /// fails, while keeping the call's meaning after `||`, `if` or a pipe.
    /// Prefix assignments become exported variables of the subshell, so
    /// that the build sees them as Kaniko did and `${NAME}` in the new
    /// arguments expands to them. Credential steps run with tracing off
    /// (`set -x` would print the password), and tracing comes back after.
    pub fn lines(&self) -> Vec<String> {
        if !self.needs_subshell() {
            return self.command.clone();
        }
        let mut opening = vec!["(".to_string()];
        if !self.secret.is_empty() {
            opening.push(format!(
                "case $- in *x*) {TRACE_FLAG}=1;; esac; {{ set +x; }} 2>/dev/null;"
            ));
        }
        if !self.assignments.is_empty() {
            let names: Vec<&str> = self
                .assignments
                .iter()
                .map(|a| a.split('=').next().unwrap_or_default())
                .collect();
            opening.push(format!(
                "{}; export {};",
                self.assignments.join(" "),
                names.join(" ")
            ));
        }
        let mut steps: Vec<String> = self.secret.iter().map(|s| format!("{s} &&")).collect();
        if let Some(last) = steps.last_mut() {
            last.push_str(&format!(
                " {{ [ -z \"${{{TRACE_FLAG}:-}}\" ] || set -x; }} &&"
            ));
        }
        steps.extend(self.steps.iter().map(|s| format!("{s} &&")));
        let mut lines: Vec<String> = steps
            .into_iter()
            .chain(self.command.iter().cloned())
            .chain(self.after.iter().map(|s| format!("&& {s}")))
            .collect();
        lines[0] = format!("{} {}", opening.join(" "), lines[0]);
        if let Some(last) = lines.last_mut() {
            last.push_str(" )");
        }
        lines
    }
}

/// Set in the subshell when the job traced its commands (`set -x`), so that
/// tracing resumes after the credential steps.
const TRACE_FLAG: &str = "_k2b_x";

/// Where the job's files are, to resolve a relative Dockerfile the way Kaniko
/// does: the working directory first, then the context.
pub struct Workspace<'a> {
    /// The project root on disk, when the file comes from one.
    pub root: Option<&'a Path>,
    /// The job's variables as written in the pipeline, name and value.
    pub variables: Vec<(String, String)>,
    pub flavor: Flavor,
}

/// Values of the flags that combine into one BuildKit argument.
#[derive(Default)]
struct Collected<'f> {
    context: Option<&'f FlagUse>,
    dockerfile: Option<&'f FlagUse>,
    destinations: Vec<&'f FlagUse>,
    cache: Option<&'f FlagUse>,
    cache_repo: Option<&'f FlagUse>,
    no_push: Option<&'f FlagUse>,
    tar_path: Option<&'f FlagUse>,
    oci_layout: Option<&'f FlagUse>,
    digest_file: Option<&'f FlagUse>,
    /// `--image-name-with-digest-file`.
    name_digest_file: Option<&'f FlagUse>,
    /// `--image-name-tag-with-digest-file`.
    name_tag_digest_file: Option<&'f FlagUse>,
    context_sub_path: Option<&'f FlagUse>,
    /// `--git key=value` uses, for a `git://` context.
    git: Vec<&'f FlagUse>,
    opts: Vec<String>,
    /// Attributes of the image output, as text inside its double quotes.
    image_attrs: Vec<String>,
    /// Attributes every registry output and cache takes (`registry.insecure`).
    registry_attrs: Vec<String>,
    /// `rewrite-timestamp=true` on every output, for `--reproducible`.
    reproducible: bool,
    /// `--no-push-cache`: import the cache but never export it.
    no_push_cache: bool,
    /// Per-registry daemon settings, by host as written (double-quote text).
    registries: Vec<(String, HostSettings)>,
    skip_tls_verify: Option<&'f FlagUse>,
    /// `KANIKO_NO_PUSH=true`, which `--no-push` overrides.
    no_push_setting: bool,
    /// The keys the Dockerfile's own `LABEL`s set, when it could be read.
    dockerfile_labels: Option<Vec<String>>,
}

/// One `[registry."host"]` table of `buildkitd.toml`.
#[derive(Default)]
struct HostSettings {
    mirrors: Vec<String>,
    http: bool,
    insecure: bool,
    ca: Vec<String>,
    keypairs: Vec<(String, String)>,
}

impl Collected<'_> {
    fn host(&mut self, name: &str) -> &mut HostSettings {
        let index = match self.registries.iter().position(|(host, _)| host == name) {
            Some(index) => index,
            None => {
                self.registries
                    .push((name.to_string(), HostSettings::default()));
                self.registries.len() - 1
            }
        };
        &mut self.registries[index].1
    }
}

impl Default for Translation {
    fn default() -> Self {
        Translation {
            global: Vec::new(),
            lines: Vec::new(),
            notes: Vec::new(),
            destinations: Vec::new(),
            pushes: false,
            after: Vec::new(),
            daemon_config: Vec::new(),
            before: Vec::new(),
            secret_before: Vec::new(),
            assignments: Vec::new(),
            informational: false,
            carried_output: Err("the call has no --destination of its own".into()),
            flavor: Flavor::default(),
        }
    }
}

/// Translates one call. A `$VAR` among its arguments is passed on as it is:
/// the plan finds where the variable is defined and maps its flags there
/// (see [`translate_carried`]), or keeps the job as it is.
pub fn translate(call: &Invocation, workspace: &Workspace) -> Translation {
    let mut out = Translation {
        assignments: call.assignments.clone(),
        ..Translation::default()
    };
    if is_informational(call) {
        out.informational = true;
        out.flavor = workspace.flavor;
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span: call.span,
            message: format!(
                "this line printed Kaniko's version or help; it now prints the BuildKit client's (`{}`)",
                workspace.flavor.version_command()
            ),
        });
        return out;
    }
    let mut collected = Collected::default();
    for problem in &call.problems {
        match problem {
            Problem::Setting { name, .. } if MAPPED_SETTINGS.contains(&name.as_str()) => {}
            Problem::Setting { name, span, .. } if DROPPED_SETTINGS.contains(&name.as_str()) => {
                out.notes.push(FlagNote {
                    fate: Fate::Dropped,
                    span: *span,
                    message: dropped_setting_reason(name),
                });
            }
            Problem::Variable { .. } => {}
            _ => out.notes.push(problem_note(problem)),
        }
    }
    // Reading the Dockerfile is I/O on every call: only a `--label` needs it.
    if call.flags.iter().any(|f| canonical(f.spec).name == "label") {
        collected.dockerfile_labels = dockerfile_labels(call, workspace);
    }
    apply_settings(call, workspace, &mut collected, &mut out);
    for (index, flag) in call.flags.iter().enumerate() {
        if overridden(&call.flags, index) {
            out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: flag.span,
                message: format!(
                    "--{} is given again later: the last one wins, as in Kaniko",
                    flag.spec.name
                ),
            });
            continue;
        }
        collect(flag, &mut collected, &mut out);
    }
    out.destinations = collected
        .destinations
        .iter()
        .map(|f| f.raw.clone())
        .collect();
    let no_push = match collected.no_push {
        Some(flag) => is_true(&flag.value),
        None => collected.no_push_setting,
    };
    out.pushes = !no_push && !collected.destinations.is_empty();
    out.flavor = workspace.flavor;
    private_registry_notes(&collected, &mut out);
    if workspace
        .variables
        .iter()
        .any(|(name, _)| name == "SOURCE_DATE_EPOCH")
    {
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span: call.program_span,
            message: "the job sets SOURCE_DATE_EPOCH: buildctl passes it to the build as a build argument, so the \
                      image's creation times follow it, which Kaniko's did not"
                .into(),
        });
    }
    build_lines(call, &collected, no_push, workspace, &mut out);
    fit_flavor(call, &mut out);
    out
}

/// `executor version`, `executor --help` and `executor -h`: lines that print
/// and build nothing.
fn is_informational(call: &Invocation) -> bool {
    let [problem] = call.problems.as_slice() else {
        return false;
    };
    call.flags.is_empty()
        && match problem {
            Problem::Stray { word, .. } => word == "version" || word == "help",
            Problem::Unknown { name, .. } => name == "--help" || name == "-h",
            _ => false,
        }
}

/// What the flavour cannot carry: daemon settings when the daemon is a
/// service, and, for buildx, the buildctl options rewritten as its own.
fn fit_flavor(call: &Invocation, out: &mut Translation) {
    let blocked = |message: String| FlagNote {
        fate: Fate::Blocked,
        span: call.span,
        message,
    };
    let flavor = out.flavor;
    if !out.daemon_config.is_empty() && flavor.config_dir().is_none() {
        out.notes.push(blocked(format!(
            "registry settings go into buildkitd.toml, which a job cannot write for the `{}` flavour's service: \
             use `--flavor rootless` or `privileged`, or configure the service by hand",
            flavor.as_str()
        )));
    }
    if flavor == Flavor::Buildx {
        match flavor::buildx_arguments(&out.lines) {
            Ok(arguments) => out.lines = arguments,
            Err(message) => out
                .notes
                .push(blocked(format!("--flavor buildx: {message}"))),
        }
    }
}

/// The environment switches of Kaniko's that have a BuildKit counterpart.
pub const MAPPED_SETTINGS: [&str; 2] = ["KANIKO_NO_PUSH", "KANIKO_REGISTRY_MIRROR"];

/// The environment switches of Kaniko's that BuildKit needs nothing for.
pub const DROPPED_SETTINGS: [&str; 1] = ["KANIKO_DIR"];

/// Why a dropped switch goes, as `--kaniko-dir` goes.
pub fn dropped_setting_reason(name: &str) -> String {
    format!(
        "`{name}` dropped: it moved Kaniko's own working directory, which BuildKit does not have; BuildKit ignores the variable"
    )
}

/// `KANIKO_NO_PUSH` and `KANIKO_REGISTRY_MIRROR`, from the job's variables
/// or a prefix of the call (which wins): `push=false`, and one more Docker
/// Hub mirror.
fn apply_settings(
    call: &Invocation,
    workspace: &Workspace,
    collected: &mut Collected,
    out: &mut Translation,
) {
    let prefixes = call.problems.iter().filter_map(|problem| match problem {
        Problem::Setting { name, value, span } => Some((name.as_str(), value.as_str(), *span)),
        _ => None,
    });
    let variables = workspace
        .variables
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str(), call.program_span));
    let mut settings: Vec<(&str, &str, Span)> = variables.chain(prefixes).collect();
    settings.retain(|(name, _, _)| MAPPED_SETTINGS.contains(name));
    for (index, (name, value, span)) in settings.iter().enumerate() {
        let later = settings[index + 1..]
            .iter()
            .any(|(other, _, _)| other == name);
        if later {
            continue;
        }
        let note = |fate: Fate, message: String| FlagNote {
            fate,
            span: *span,
            message,
        };
        // A mirror held in a variable expands when the job writes
        // buildkitd.toml; whether to push has to be known now.
        let hidden = value.contains('`') || (*name == "KANIKO_NO_PUSH" && value.contains('$'));
        if hidden {
            let message = format!("`{name}` is set from a variable here: its value cannot be seen");
            out.notes.push(note(Fate::Blocked, message));
            continue;
        }
        if *name == "KANIKO_NO_PUSH" {
            collected.no_push_setting = is_true(value) && !value.is_empty();
        } else if !value.is_empty() {
            add_mirror(collected, "docker.io", value);
        }
        let message = format!(
            "`{name}` is carried over into the build; BuildKit itself ignores the variable"
        );
        out.notes.push(note(Fate::Note, message));
    }
}

/// Kaniko (go-containerregistry) fell back to plain HTTP by itself for
/// registries on private addresses; BuildKit only does so for loopback.
fn private_registry_notes(c: &Collected, out: &mut Translation) {
    let declared: Vec<&str> = c
        .registries
        .iter()
        .filter(|(_, settings)| settings.http)
        .map(|(host, _)| host.as_str())
        .collect();
    for destination in &c.destinations {
        let host = destination.value.split('/').next().unwrap_or_default();
        if is_private_address(host) && !declared.contains(&host) {
            out.notes.push(FlagNote {
                fate: Fate::Note,
                span: destination.span,
                message: format!(
                    "`{host}` is a private address: Kaniko fell back to plain HTTP for it by itself, BuildKit does not; \
                     if it serves plain HTTP, add `--insecure-registry {host}` before migrating"
                ),
            });
        }
    }
}

/// An RFC 1918 IPv4 address, with or without a port.
fn is_private_address(host: &str) -> bool {
    let address = host.split(':').next().unwrap_or_default();
    let Ok(ip) = address.parse::<std::net::Ipv4Addr>() else {
        return false;
    };
    ip.is_private()
}

/// Whether a later use of the same single-valued flag replaces this one
/// (pflag: the last occurrence wins; only repeatable flags add up).
fn overridden(flags: &[FlagUse], index: usize) -> bool {
    let spec = canonical(flags[index].spec);
    spec.kind != super::table::ValueKind::Repeated
        && flags[index + 1..]
            .iter()
            .any(|later| std::ptr::eq(canonical(later.spec), spec))
}

/// Why a word of the call keeps the job as it is.
pub fn problem_note(problem: &Problem) -> FlagNote {
    let (span, message) = match problem {
        Problem::Unknown { name, span } => (*span, format!("`{name}` is not a Kaniko flag")),
        Problem::MissingValue { flag, span } => (*span, format!("`--{}` has no value", flag.name)),
        Problem::Stray { word, span } => (*span, format!("`{word}` is not a flag")),
        Problem::Variable { word, span, .. } => (
            *span,
            format!("`{word}` may hold flags that cannot be seen here"),
        ),
        Problem::Redirect { span } => (*span, "a redirection between the arguments".to_string()),
        Problem::Unreadable { message, span } => (*span, message.clone()),
        Problem::Setting { name, span, .. } => (
            *span,
            format!("`{name}` configures Kaniko; BuildKit would ignore it"),
        ),
    };
    FlagNote {
        fate: Fate::Blocked,
        span,
        message,
    }
}

/// The keys of the `LABEL` instructions of the call's Dockerfile, when it
/// can be found and read now: a plain relative path, looked up as Kaniko
/// did (the working directory, then the context), a regular file inside
/// the project root, at most 1 MiB. `None` otherwise.
fn dockerfile_labels(call: &Invocation, workspace: &Workspace) -> Option<Vec<String>> {
    let root = workspace.root?;
    let value_of = |name: &str| {
        call.flags
            .iter()
            .rev()
            .find(|f| canonical(f.spec).name == name)
            .map(|f| f.value.as_str())
    };
    let dockerfile = value_of("dockerfile").unwrap_or("Dockerfile");
    let context = value_of("context").unwrap_or(".");
    let plain =
        |text: &str| !text.contains(['$', '`']) && !text.starts_with('/') && !text.contains("://");
    if !plain(dockerfile) || !plain(context.trim_start_matches("dir://")) {
        return None;
    }
    let candidates = [
        root.join(dockerfile),
        root.join(context.trim_start_matches("dir://"))
            .join(dockerfile),
    ];
    let path = candidates.iter().find(|p| p.is_file())?;
    let root = root.canonicalize().ok()?;
    let (_, text) = crate::gitlab::read_inside(&root, path, 1 << 20).ok()?;
    Some(label_keys(&text))
}

/// The keys set by `LABEL` instructions (`LABEL a=1 "b c"=2`, and the old
/// `LABEL key value` form), continuation lines joined.
fn label_keys(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\r\n", " ").replace("\\\n", " ");
    let mut keys = Vec::new();
    for line in joined.lines() {
        let line = line.trim_start();
        let Some(rest) = line
            .get(..6)
            .filter(|word| word.eq_ignore_ascii_case("label "))
            .map(|_| &line[6..])
        else {
            continue;
        };
        let words = shlex_words(rest);
        if words.len() >= 2 && !words[0].contains('=') {
            keys.push(words[0].clone());
            continue;
        }
        keys.extend(
            words
                .iter()
                .filter_map(|w| w.split_once('=').map(|(k, _)| k.to_string())),
        );
    }
    keys
}

/// Words split on blanks with `"..."` and `'...'` quotes removed, as a
/// Dockerfile's `LABEL` reads them.
fn shlex_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for ch in text.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(ch);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Sorts one flag into the value it feeds, or notes its fate.
fn collect<'f>(flag: &'f FlagUse, collected: &mut Collected<'f>, out: &mut Translation) {
    let spec = canonical(flag.spec);
    let note = |fate: Fate, message: String| FlagNote {
        fate,
        span: flag.span,
        message,
    };
    match spec.name {
        "context" => collected.context = Some(flag),
        "dockerfile" => collected.dockerfile = Some(flag),
        "destination" => collected.destinations.push(flag),
        "cache" => collected.cache = Some(flag),
        "cache-repo" => collected.cache_repo = Some(flag),
        "no-push" => collected.no_push = Some(flag),
        "tar-path" => collected.tar_path = Some(flag),
        "oci-layout-path" => collected.oci_layout = Some(flag),
        "digest-file" => collected.digest_file = Some(flag),
        "image-name-with-digest-file" => collected.name_digest_file = Some(flag),
        "image-name-tag-with-digest-file" => collected.name_tag_digest_file = Some(flag),
        "registry-mirror" | "insecure-registry" | "skip-tls-verify-registry" | "registry-certificate"
        | "registry-client-cert" | "registry-map" => {
            if let Err(message) = registry_setting(spec.name, flag, collected) {
                out.notes.push(note(Fate::Blocked, message));
            }
        }
        "skip-tls-verify" if is_true(&flag.value) => collected.skip_tls_verify = Some(flag),
        "skip-tls-verify" => {}
        "insecure-pull" => out.notes.push(note(
            Fate::Blocked,
            "--insecure-pull: BuildKit needs each pulled registry by name (`http = true` in buildkitd.toml): \
             replace it with `--insecure-registry HOST` for each registry the Dockerfile pulls from".into(),
        )),
        "context-sub-path" => collected.context_sub_path = Some(flag),
        "git" => collected.git.push(flag),
        "no-push-cache" => collected.no_push_cache = is_true(&flag.value),
        "insecure" if is_true(&flag.value) => {
            collected
                .registry_attrs
                .push("registry.insecure=true".into());
            out.notes.push(note(
                Fate::Note,
                "BuildKit tries HTTPS without verification first, then plain HTTP, where Kaniko went straight to HTTP".into(),
            ));
        }
        "insecure" => {}
        "compression" => match flag.value.as_str() {
            "gzip" | "zstd" => collected
                .image_attrs
                .push(format!("compression={}", flag.value)),
            other => out.notes.push(note(
                Fate::Blocked,
                format!("--compression={other}: Kaniko accepts only gzip or zstd"),
            )),
        },
        "compression-level" => match flag.value.parse::<i32>() {
            Ok(-1) => out.notes.push(note(
                Fate::Dropped,
                "--compression-level=-1 dropped: it is the default".into(),
            )),
            Ok(level) => collected
                .image_attrs
                .push(format!("compression-level={level}")),
            Err(_) => out.notes.push(note(
                Fate::Blocked,
                format!("--compression-level={}: not a number", flag.value),
            )),
        },
        "image-format" => match flag.value.as_str() {
            "oci" => collected.image_attrs.push("oci-mediatypes=true".into()),
            "docker" => collected.image_attrs.push("oci-mediatypes=false".into()),
            other => out.notes.push(note(
                Fate::Blocked,
                format!("--image-format={other}: expected docker or oci"),
            )),
        },
        "annotation" => match in_double_quotes(&flag.raw) {
            // A value with a comma needs CSV quotes inside the shell quotes.
            Some(text) if text.contains(',') => collected
                .image_attrs
                .push(format!("\\\"annotation.{text}\\\"")),
            Some(text) => collected.image_attrs.push(format!("annotation.{text}")),
            None => out.notes.push(note(
                Fate::Blocked,
                "--annotation has an unclosed quote".into(),
            )),
        },
        "secret" => collected.opts.push(format!("--secret {}", flag.raw)),
        "reproducible" if is_true(&flag.value) => {
            collected.reproducible = true;
            collected
                .opts
                .push("--opt build-arg:SOURCE_DATE_EPOCH=0".into());
            out.notes.push(note(
                Fate::Note,
                "BuildKit clamps the timestamps of new layers to SOURCE_DATE_EPOCH but leaves base layers as they are: \
                 digests are reproducible, yet differ from Kaniko's, and the image's `created` is 1970-01-01 where \
                 Kaniko wrote 0001-01-01"
                    .into(),
            ));
        }
        "reproducible" => {}
        "build-arg" => {
            match build_arg(flag) {
                Ok(option) => collected.opts.push(option),
                Err(message) => out.notes.push(note(Fate::Blocked, message)),
            }
            if looks_secret(&flag.value) {
                out.notes.push(note(
                    Fate::Note,
                    "this build argument looks like a secret: build arguments stay in the image history; \
                     pass it with `--secret id=NAME,env=NAME` and `RUN --mount=type=secret` instead"
                        .into(),
                ));
            }
        }
        "target" => collected
            .opts
            .push(format!("--opt {}", prefixed("target=", &flag.raw))),
        "label" => {
            let key = flag.value.split('=').next().unwrap_or_default();
            match &collected.dockerfile_labels {
                Some(keys) if keys.iter().any(|k| k == key) => out.notes.push(note(
                    Fate::Dropped,
                    format!(
                        "--label {key} dropped: the Dockerfile sets `{key}` too, and in Kaniko the Dockerfile's \
                         value won; BuildKit's `--opt label:` would override it"
                    ),
                )),
                Some(_) => collected
                    .opts
                    .push(format!("--opt {}", prefixed("label:", &flag.raw))),
                None => {
                    collected
                        .opts
                        .push(format!("--opt {}", prefixed("label:", &flag.raw)));
                    out.notes.push(note(
                        Fate::Note,
                        "the Dockerfile could not be read here: if it sets a `LABEL` with this key, Kaniko kept \
                         the Dockerfile's value and BuildKit keeps this one"
                            .into(),
                    ));
                }
            }
        }
        "custom-platform" => {
            collected
                .opts
                .push(format!("--opt {}", prefixed("platform=", &flag.raw)));
            out.notes.push(note(
                Fate::Note,
                "BuildKit really runs `RUN` steps for this platform: a foreign one needs QEMU on the runner".into(),
            ));
        }
        "verbosity" if matches!(flag.value.as_str(), "debug" | "trace") => {
            out.global.push("--debug".to_string())
        }
        _ => {
            let (fate, message) = without_argument(flag)
                .unwrap_or_else(|| (Fate::Blocked, unmappable_reason(flag.spec.name)));
            out.notes.push(note(fate, message));
        }
    }
}

/// The note for a flag that leaves nothing in the build command: a no-op
/// (or a value that changes nothing), dropped with the reason, or a flag
/// dropped only with `--unsafe`. `None` for every other flag.
fn without_argument(flag: &FlagUse) -> Option<(Fate, String)> {
    let spec = canonical(flag.spec);
    match spec.name {
        "verbosity" => Some((
            Fate::Dropped,
            format!("--verbosity={}: BuildKit's default output", flag.value),
        )),
        "skip-tls-verify-pull" => Some((
            Fate::Dropped,
            "--skip-tls-verify-pull dropped: Kaniko itself has not read it since 2020".into(),
        )),
        _ if spec.class == Class::Unsafe => Some((Fate::Unsafe, unsafe_reason(spec))),
        _ if spec.class == Class::NoOp => {
            let why = spec
                .buildkit
                .trim_start_matches("none")
                .trim_start_matches(": ")
                .trim_start_matches(" ");
            let why = if why.is_empty() {
                "BuildKit needs nothing in its place"
            } else {
                why
            };
            Some((
                Fate::Dropped,
                format!("--{} dropped: {why}", flag.spec.name),
            ))
        }
        _ => None,
    }
}

/// Why an unmappable flag keeps its job, and what to do instead.
fn unmappable_reason(name: &str) -> String {
    let advice = match name {
        "push-ignore-immutable-tag-errors" => {
            "BuildKit fails a push to an immutable tag; skip the build when the tag exists (`regctl image digest` or `crane digest` in an earlier step), or allow the job to fail"
        }
        "skip-default-registry-fallback" => {
            "BuildKit always falls back to the original registry; block it at the network level if pulls must only use the mirrors"
        }
        "bucket" => {
            "download the context archive from the bucket in an earlier step or job, unpack it and build that directory"
        }
        "materialize" => {
            "BuildKit never unpacks the image into the job; export it with `--output type=local,dest=DIR` if a later step needs its files"
        }
        "dryrun" => {
            "BuildKit has no dry run; `--opt requestid=frontend.outline` prints the build's outline without building"
        }
        "credential-helpers" => {
            "the BuildKit image has no credential helpers; write the registry credentials into `config.json` before the build"
        }
        _ => "this version has no mapping for it",
    };
    format!("--{name} has no BuildKit counterpart: {advice}")
}

/// Deprecated spellings behave as the flag they stand for.
fn canonical(spec: &'static FlagSpec) -> &'static FlagSpec {
    spec.alias_of
        .and_then(|name| super::table::by_name(super::table::EXECUTOR_FLAGS, name))
        .unwrap_or(spec)
}

/// The table's BuildKit text, which says what is lost.
fn unsafe_reason(spec: &FlagSpec) -> String {
    let why = spec.buildkit.trim_start_matches("none: ");
    format!("--{} dropped: {why}", spec.name)
}

fn is_true(value: &str) -> bool {
    !matches!(value, "false" | "0" | "f" | "F" | "FALSE" | "False")
}

/// Build argument names that usually carry credentials.
fn looks_secret(argument: &str) -> bool {
    let name = argument
        .split('=')
        .next()
        .unwrap_or(argument)
        .to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "SECRET",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "API_KEY",
        "AUTH",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// `--build-arg K=V` keeps its quoting; a bare `K` takes the job's
/// environment value, as Kaniko did (empty when unset). A bare name no
/// shell variable can have (`'B C'`) was never in the environment: Kaniko
/// gave it an empty value, and so does the new argument.
fn build_arg(flag: &FlagUse) -> Result<String, String> {
    if flag.value.contains('=') || flag.value.starts_with('$') {
        return Ok(format!("--opt {}", prefixed("build-arg:", &flag.raw)));
    }
    let name = &flag.value;
    if name.is_empty() {
        return Err("`--build-arg ''` names no argument: remove it".into());
    }
    if quote::lone_variable(&format!("${name}")).is_some() {
        return Ok(format!("--opt \"build-arg:{name}=${{{name}}}\""));
    }
    let text = in_double_quotes(&flag.raw).ok_or("--build-arg has an unclosed quote")?;
    Ok(format!("--opt \"build-arg:{text}=\""))
}

fn build_lines(
    call: &Invocation,
    c: &Collected,
    no_push: bool,
    workspace: &Workspace,
    out: &mut Translation,
) {
    out.lines.push("--frontend dockerfile.v0".to_string());
    match context_source(call, c, out) {
        Some(Context::Local(directory)) => {
            out.lines
                .push(format!("--local {}", prefixed("context=", &directory)));
            dockerfile_lines(c, &directory, workspace, out);
        }
        Some(Context::Remote(url)) => {
            out.lines.push(format!("--opt \"context={url}\""));
            remote_dockerfile_line(c, out);
        }
        None => {}
    }
    git_options(c, out);
    out.lines.extend(c.opts.iter().cloned());
    out.lines
        .extend(call.problems.iter().filter_map(|problem| match problem {
            Problem::Variable { raw, .. } => Some(raw.clone()),
            _ => None,
        }));
    cache_lines(c, no_push, workspace, out);
    digest_lines(c, out);
    name_digest_lines(c, out);
    daemon_config(c, out);
    let names = c
        .destinations
        .iter()
        .map(|d| in_double_quotes(&d.raw))
        .collect::<Option<Vec<_>>>();
    let Some(names) = names else {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: call.span,
            message: "a destination has an unclosed quote".into(),
        });
        return;
    };
    let stamp = if c.reproducible {
        ",rewrite-timestamp=true"
    } else {
        ""
    };
    if let Some(layout) = c.oci_layout {
        let dest = in_double_quotes(&layout.raw).unwrap_or_else(|| layout.value.clone());
        out.lines.push(format!(
            "--output \"type=oci,dest={dest},tar=false{stamp}\""
        ));
    }
    if let Some(tar) = c.tar_path {
        let names = if names.is_empty() {
            "unset-repo/unset-image-name".to_string()
        } else {
            names.join(",")
        };
        let dest = in_double_quotes(&tar.raw).unwrap_or_else(|| tar.value.clone());
        out.lines.push(format!(
            "--output \"type=docker,dest={dest},\\\"name={names}\\\"{stamp}\""
        ));
    }
    // The image output comes last: exporters' results merge last-wins into
    // the metadata file, and a digest must come from the image.
    let push = if no_push { "false" } else { "true" };
    let mut attrs = vec![format!("push={push}")];
    attrs.extend(c.registry_attrs.iter().cloned());
    attrs.extend(c.image_attrs.iter().cloned());
    if c.reproducible {
        attrs.push("rewrite-timestamp=true".into());
    }
    // Destinations held in a variable become image outputs of their own,
    // with the same settings, whether or not the call names any itself.
    out.carried_output = carried_output(c, &attrs);
    let carries_flags = call
        .problems
        .iter()
        .any(|p| matches!(p, Problem::Variable { .. }));
    if !names.is_empty() {
        let name = format!("type=image,\\\"name={}\\\"", names.join(","));
        attrs.insert(0, name);
        out.lines.push(format!("--output \"{}\"", attrs.join(",")));
    } else if carries_flags {
        // Whatever the variable holds decides; its flags are mapped where
        // it is set.
    } else if !c.image_attrs.is_empty() {
        out.notes.push(FlagNote {
            fate: Fate::Dropped,
            span: call.span,
            message: "image output options dropped: with no destination there is no image output"
                .into(),
        });
    } else if !no_push && c.tar_path.is_none() {
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span: call.span,
            message: "no --destination and no --no-push: Kaniko refused this; BuildKit only builds"
                .into(),
        });
    }
}

/// The attributes of an extra image output for destinations carried in a
/// variable. A variable's value is split on blanks and never unquoted, so
/// they must read as one word without quotes; and the outputs that list
/// every destination (a tarball, the digest files) cannot take more.
fn carried_output(c: &Collected, attrs: &[String]) -> Result<String, String> {
    if c.tar_path.is_some() {
        return Err("the --tar-path tarball names every destination".into());
    }
    let joined = attrs.join(",");
    if joined.contains(['"', '\\', '\'', ' ']) {
        return Err("the image output's settings need quotes".into());
    }
    Ok(joined)
}

/// Sorts one registry flag into the daemon settings of its host.
fn registry_setting(name: &str, flag: &FlagUse, c: &mut Collected) -> Result<(), String> {
    let text =
        in_double_quotes(&flag.raw).ok_or_else(|| format!("--{name} has an unclosed quote"))?;
    // The text lands in a TOML string inside a double-quoted `printf`
    // argument: a quote or a backslash in it would end one or the other.
    if text.contains(['"', '\\']) {
        return Err(format!(
            "--{name} `{}` holds a quote or a backslash, which buildkitd.toml cannot take as written: write the registry's name plainly",
            flag.value
        ));
    }
    match name {
        "registry-mirror" => add_mirror(c, "docker.io", &text),
        "insecure-registry" => c.host(&text).http = true,
        "skip-tls-verify-registry" => c.host(&text).insecure = true,
        "registry-certificate" => {
            let (host, path) = text
                .split_once('=')
                .ok_or("--registry-certificate wants HOST=PATH")?;
            c.host(host).ca.push(path.to_string());
        }
        "registry-client-cert" => {
            let (host, pair) = text
                .split_once('=')
                .ok_or("--registry-client-cert wants HOST=CERT,KEY")?;
            let (cert, key) = pair
                .split_once(',')
                .ok_or("--registry-client-cert wants HOST=CERT,KEY")?;
            c.host(host)
                .keypairs
                .push((cert.to_string(), key.to_string()));
        }
        _ => {
            for entry in text.split(';').filter(|e| !e.is_empty()) {
                let (original, mirrors) = entry
                    .split_once('=')
                    .ok_or("--registry-map wants FROM=TO")?;
                // Kaniko names Docker Hub `index.docker.io`; BuildKit `docker.io`.
                let original = if original == "index.docker.io" {
                    "docker.io"
                } else {
                    original
                };
                for mirror in mirrors.split(',') {
                    add_mirror(c, original, mirror);
                }
            }
        }
    }
    Ok(())
}

/// A mirror without its scheme, as BuildKit wants it; a plain-HTTP mirror
/// also gets `http = true`.
fn add_mirror(c: &mut Collected, registry: &str, mirror: &str) {
    let bare = mirror.trim_start_matches("https://");
    let plain_http = bare.starts_with("http://");
    let bare = bare
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    if plain_http {
        let host = bare.split('/').next().unwrap_or(&bare).to_string();
        c.host(&host).http = true;
    }
    c.host(registry).mirrors.push(bare);
}

/// The `buildkitd.toml` lines for the collected registry settings.
/// `--skip-tls-verify` covers the registries the job pushes to; base images
/// from other registries are the user's to list.
fn daemon_config(c: &Collected, out: &mut Translation) {
    let mut tables: Vec<(String, &HostSettings)> =
        c.registries.iter().map(|(h, s)| (h.clone(), s)).collect();
    let insecure_everywhere = HostSettings {
        insecure: true,
        ..HostSettings::default()
    };
    if let Some(flag) = c.skip_tls_verify {
        for destination in c
            .destinations
            .iter()
            .filter_map(|d| in_double_quotes(&d.raw))
        {
            let host = if destination.contains('$') {
                format!("$(printf '%s' \"{destination}\" | cut -d/ -f1)")
            } else {
                destination
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            if !tables.iter().any(|(h, _)| *h == host) {
                tables.push((host, &insecure_everywhere));
            }
        }
        // Kaniko skipped verification for its mirrors too.
        let mirror_hosts: Vec<String> = c
            .registries
            .iter()
            .flat_map(|(_, settings)| settings.mirrors.iter())
            .map(|mirror| mirror.split('/').next().unwrap_or_default().to_string())
            .collect();
        for host in mirror_hosts {
            if !tables.iter().any(|(h, _)| *h == host) {
                tables.push((host, &insecure_everywhere));
            }
        }
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span: flag.span,
            message: "--skip-tls-verify now covers the registries the job pushes to and its mirrors; list registries of base images in buildkitd.toml by hand".into(),
        });
    }
    for (host, settings) in &tables {
        token_tls_lines(host, settings, c.skip_tls_verify.is_some(), out);
    }
    for (host, settings) in tables {
        let quote = |value: &str| format!("\\\"{value}\\\"");
        let list = |values: &[String]| {
            values
                .iter()
                .map(|v| quote(v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.daemon_config
            .push(format!("[registry.{}]", quote(&host)));
        if !settings.mirrors.is_empty() {
            out.daemon_config
                .push(format!("  mirrors = [{}]", list(&settings.mirrors)));
        }
        if settings.http {
            out.daemon_config.push("  http = true".into());
        }
        if settings.insecure || c.skip_tls_verify.is_some() {
            out.daemon_config.push("  insecure = true".into());
        }
        if !settings.ca.is_empty() {
            out.daemon_config
                .push(format!("  ca = [{}]", list(&settings.ca)));
        }
        for (cert, key) in &settings.keypairs {
            out.daemon_config
                .push(format!("  [[registry.{}.keypair]]", quote(&host)));
            out.daemon_config
                .push(format!("    cert = {}", quote(cert)));
            out.daemon_config.push(format!("    key = {}", quote(key)));
        }
    }
}

/// buildctl fetches registry tokens itself, outside the daemon: the TLS
/// settings Kaniko applied to a registry also go on
/// `--registry-auth-tlscontext`, one per CA (buildctl adds them up).
fn token_tls_lines(host: &str, settings: &HostSettings, skip_all: bool, out: &mut Translation) {
    let mut fields: Vec<String> = Vec::new();
    if settings.insecure || skip_all {
        fields.push("insecure=true".into());
    }
    if let Some((cert, key)) = settings.keypairs.first() {
        fields.push(format!("cert={cert},key={key}"));
    }
    let mut cas = settings.ca.iter();
    if let Some(ca) = cas.next() {
        fields.push(format!("ca={ca}"));
    }
    if !fields.is_empty() {
        out.lines.push(format!(
            "--registry-auth-tlscontext \"host={host},{}\"",
            fields.join(",")
        ));
    }
    for ca in cas {
        out.lines.push(format!(
            "--registry-auth-tlscontext \"host={host},ca={ca}\""
        ));
    }
}

/// Where buildctl writes the build's metadata, for the digest file.
const METADATA_FILE: &str = "\"${TMPDIR:-/tmp}/kaniko2buildkit-metadata.json\"";

/// `--digest-file F`: buildctl writes the digest into its metadata file, and
/// a busybox-only step copies it to F as Kaniko wrote it: the bare
/// `sha256:...`, no line break, parent directories created.
fn digest_lines(c: &Collected, out: &mut Translation) {
    let Some(flag) = c.digest_file else { return };
    let Some(file) = digest_target(flag, c, out) else {
        return;
    };
    metadata_line(out);
    out.after
        .push(format!("mkdir -p \"$(dirname \"{file}\")\""));
    out.after.push(format!(
        "sed -n {DIGEST_SED} {METADATA_FILE} | tr -d '\\n' > \"{file}\""
    ));
}

/// Reads `containerimage.digest` out of the metadata file with busybox `sed`.
const DIGEST_SED: &str = r#"'s/.*"containerimage\.digest":[[:space:]]*"\([^"]*\)".*/\1/p'"#;

/// The file a digest flag names, as text for double quotes; `None`, with a
/// blocker, when there is nothing to take a digest of or the path cannot
/// be read.
fn digest_target(flag: &FlagUse, c: &Collected, out: &mut Translation) -> Option<String> {
    let blocked = |message: String| FlagNote {
        fate: Fate::Blocked,
        span: flag.span,
        message,
    };
    if flag.value.starts_with("https://") || flag.value.starts_with("http://") {
        let message = format!(
            "--{} to a URL: Kaniko sent it with HTTP PUT, which the BuildKit image cannot do",
            flag.spec.name
        );
        out.notes.push(blocked(message));
        return None;
    }
    if c.destinations.is_empty() {
        let message = format!("--{} needs a --destination", flag.spec.name);
        out.notes.push(blocked(message));
        return None;
    }
    let file = in_double_quotes(&flag.raw);
    if file.is_none() {
        let message = format!("--{} has an unclosed quote", flag.spec.name);
        out.notes.push(blocked(message));
    }
    file
}

fn metadata_line(out: &mut Translation) {
    let line = format!("--metadata-file {METADATA_FILE}");
    if !out.lines.contains(&line) {
        out.lines.push(line);
    }
}

/// Turns an image reference in `$_k2b_r` into go-containerregistry's full
/// repository (`$_k2b_n`) and tag (`$_k2b_t`), as Kaniko named images in its digest
/// files: a first part without `.` or `:` is a Docker Hub repository,
/// `docker.io` is `index.docker.io`, a one-part Hub name gets `library/`,
/// and the tag defaults to `latest`. Busybox `sh` only.
const NORMALISE_REFERENCE: &str = concat!(
    r#"_k2b_n="${_k2b_r%%@*}"; _k2b_l="${_k2b_n##*/}"; "#,
    r#"case "$_k2b_l" in *:*) _k2b_t="${_k2b_l##*:}"; _k2b_n="${_k2b_n%:*}";; *) _k2b_t=latest;; esac; "#,
    r#"case "$_k2b_n" in */*) case "${_k2b_n%%/*}" in *.*|*:*) ;; *) _k2b_n="index.docker.io/$_k2b_n";; esac;; *) _k2b_n="index.docker.io/$_k2b_n";; esac; "#,
    r#"case "$_k2b_n" in docker.io/*) _k2b_n="index.docker.io/${_k2b_n#docker.io/}";; esac; "#,
    r#"case "$_k2b_n" in index.docker.io/*/*) ;; index.docker.io/*) _k2b_n="index.docker.io/library/${_k2b_n#index.docker.io/}";; esac"#,
);

/// `--image-name-with-digest-file` and `--image-name-tag-with-digest-file`:
/// one `REPOSITORY@DIGEST` (or `REPOSITORY:TAG@DIGEST`) line per
/// destination, in order, written from the metadata file's digest. When
/// both flags are given Kaniko put tags in both files; so does this.
fn name_digest_lines(c: &Collected, out: &mut Translation) {
    let both = c.name_digest_file.is_some() && c.name_tag_digest_file.is_some();
    let files = [(c.name_digest_file, both), (c.name_tag_digest_file, true)];
    for (flag, with_tag) in files {
        let Some(flag) = flag else { continue };
        let Some(file) = digest_target(flag, c, out) else {
            continue;
        };
        let Some(names) = c
            .destinations
            .iter()
            .map(|d| in_double_quotes(&d.raw).map(|text| format!("\"{text}\"")))
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        metadata_line(out);
        let line = if with_tag { "%s:%s@%s\\n" } else { "%s@%s\\n" };
        let fields = if with_tag {
            "\"$_k2b_n\" \"$_k2b_t\" \"$_k2b_d\""
        } else {
            "\"$_k2b_n\" \"$_k2b_d\""
        };
        out.after
            .push(format!("mkdir -p \"$(dirname \"{file}\")\""));
        out.after.push(format!(
            "_k2b_d=\"$(sed -n {DIGEST_SED} {METADATA_FILE})\" && for _k2b_r in {}; do {NORMALISE_REFERENCE}; printf '{line}' {fields}; done > \"{file}\"",
            names.join(" ")
        ));
        if both && flag.spec.name == "image-name-with-digest-file" {
            out.notes.push(FlagNote {
                fate: Fate::Note,
                span: flag.span,
                message: "with --image-name-tag-with-digest-file also given, Kaniko wrote tags into this file too; so does the new step".into(),
            });
        }
    }
}

/// Where the build context comes from.
enum Context {
    /// A directory in the job, as shell text for `--local context=`.
    Local(String),
    /// A git or HTTPS URL the daemon fetches, as text for double quotes.
    Remote(String),
}

/// `--context`: a directory (plain or `dir://`), a `git://` repository, an
/// HTTPS tarball, or a `tar://` archive unpacked first. Cloud buckets and
/// standard input have no BuildKit counterpart.
fn context_source(call: &Invocation, c: &Collected, out: &mut Translation) -> Option<Context> {
    let Some(flag) = c.context else {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: call.span,
            message: "no --context: Kaniko used /workspace/, which BuildKit images do not have"
                .into(),
        });
        return None;
    };
    let blocked = |out: &mut Translation, message: String| {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: flag.span,
            message,
        });
        None
    };
    let Some(text) = in_double_quotes(&flag.raw) else {
        return blocked(out, "--context has an unclosed quote".into());
    };
    let sub_path = c.context_sub_path.and_then(|f| in_double_quotes(&f.raw));
    match text.split_once("://") {
        None | Some(("dir", _)) if crate::kaniko::image_path(text.trim_start_matches("dir://"), true) => blocked(
            out,
            format!(
                "the context `{text}` is a directory of the Kaniko image, which the BuildKit image does not have: \
                 build from a directory under $CI_PROJECT_DIR or ${{TMPDIR:-/tmp}}"
            ),
        ),
        None | Some(("dir", _)) => Some(Context::Local(plain_directory(flag, c, out))),
        Some(("git", rest)) => git_context(rest, sub_path.as_deref(), c, out),
        Some(("https", rest)) if is_azure_blob(rest) => blocked(
            out,
            "an Azure Blob Storage context has no BuildKit counterpart: download and unpack the archive in an \
             earlier step (or job, passed on as an artifact) and build that directory"
                .into(),
        ),
        Some(("https", _)) => {
            if let Some(sub) = &sub_path {
                out.lines.push(format!("--opt \"contextsubdir={sub}\""));
            }
            out.notes.push(FlagNote {
                fate: Fate::Note,
                span: flag.span,
                message: "an HTTPS context is fetched by the BuildKit daemon, which reads the Dockerfile from the archive's root".into(),
            });
            Some(Context::Remote(text))
        }
        Some(("tar", "stdin")) => blocked(
            out,
            "a context read from standard input (`tar://stdin`) has no buildctl counterpart: write the archive to a file and use `tar://FILE`".into(),
        ),
        Some(("tar", archive)) => {
            let directory = "${TMPDIR:-/tmp}/kaniko2buildkit-context";
            out.before.push(format!(
                "mkdir -p \"{directory}\" && tar -xzf \"{archive}\" -C \"{directory}\""
            ));
            let directory = match &sub_path {
                Some(sub) => format!("{directory}/{sub}"),
                None => directory.to_string(),
            };
            Some(Context::Local(format!("\"{directory}\"")))
        }
        Some((scheme @ ("gs" | "s3"), _)) => blocked(
            out,
            format!(
                "a bucket context (`{scheme}://`) has no BuildKit counterpart: download the archive in an earlier \
                 step (or job, passed on as an artifact), unpack it, and build that directory"
            ),
        ),
        Some((scheme, _)) => blocked(out, format!("Kaniko does not know `{scheme}://` contexts")),
    }
}

/// The Azure Blob Storage hosts Kaniko recognised in an `https://` context.
fn is_azure_blob(rest: &str) -> bool {
    let host = rest.split('/').next().unwrap_or_default();
    [
        ".blob.core.windows.net",
        ".blob.core.chinacloudapi.cn",
        ".blob.core.cloudapi.de",
        ".blob.core.usgovcloudapi.net",
    ]
    .iter()
    .any(|suffix| host.ends_with(suffix))
}

/// A directory context as written; `--context-sub-path` is joined on only
/// for `dir://`, since Kaniko ignores it for a plain path.
fn plain_directory(flag: &FlagUse, c: &Collected, out: &mut Translation) -> String {
    let directory = flag.raw.replacen("dir://", "", 1);
    match c.context_sub_path {
        Some(sub) if flag.value.starts_with("dir://") => match in_double_quotes(&directory) {
            Some(base) => format!(
                "\"{}/{}\"",
                base.trim_end_matches('/'),
                in_double_quotes(&sub.raw).unwrap_or_default()
            ),
            None => directory,
        },
        Some(sub) => {
            out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: sub.span,
                message:
                    "--context-sub-path dropped: Kaniko ignores it for a plain directory context"
                        .into(),
            });
            directory
        }
        None => directory,
    }
}

/// `git://HOST/PATH[#REF[#COMMIT]]`: Kaniko cloned it over HTTPS. BuildKit
/// takes an `https://` URL ending in `.git` (else it downloads the page)
/// with the ref, sub-directory and submodule choice as query parameters
/// (BuildKit v0.24 and later).
fn git_context(
    rest: &str,
    sub_path: Option<&str>,
    c: &Collected,
    out: &mut Translation,
) -> Option<Context> {
    let mut parts = rest.split('#');
    let repository = parts.next().unwrap_or_default();
    let (reference, commit) = (parts.next(), parts.next());
    let mut branch = None;
    let mut submodules = false;
    for flag in &c.git {
        if let Some(message) = git_option_problem(&flag.value) {
            out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: flag.span,
                message,
            });
            continue;
        }
        let (key, value) = flag.value.split_once('=').unwrap_or_default();
        match key {
            "branch" => branch = Some(value.to_string()),
            "recurse-submodules" => submodules = is_true(value),
            "single-branch" | "depth" => out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: flag.span,
                message: format!("--git {key} dropped: BuildKit fetches only the ref it builds"),
            }),
            "insecure-skip-tls" if is_true(value) => out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: flag.span,
                message: "--git insecure-skip-tls=true: BuildKit's git source always checks TLS"
                    .into(),
            }),
            "insecure-skip-tls" => {}
            other => out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: flag.span,
                message: format!("--git {other}: Kaniko does not know this option"),
            }),
        }
    }
    let mut url = format!("https://{repository}");
    if !repository.ends_with(".git") {
        url.push_str(".git");
    }
    let mut query = Vec::new();
    if let Some(reference) = commit.or(reference).or(branch.as_deref()) {
        query.push(format!("ref={reference}"));
    }
    if let Some(sub) = sub_path {
        query.push(format!("subdir={}", sub.trim_matches('/')));
    }
    if !submodules {
        query.push("submodules=false".into());
    }
    url.push('?');
    url.push_str(&query.join("&"));
    let host = repository.split('/').next().unwrap_or_default();
    out.secret_before.push(git_credentials_step(host));
    out.lines.push(format!("${GIT_SECRET}"));
    Some(Context::Remote(url))
}

/// Why Kaniko would not have read a `--git` value as the job meant. Its
/// setter takes one `key=value` per flag, split at the first `=`: with no
/// `=` Kaniko stopped, a comma-separated list became one branch name
/// (which no repository has), and the boolean keys take Go's `ParseBool`.
fn git_option_problem(value: &str) -> Option<String> {
    let Some((key, rest)) = value.split_once('=') else {
        return Some(format!(
            "Kaniko refuses `--git {value}`: it takes `key=value`"
        ));
    };
    if key == "branch" && rest.contains(',') && rest.contains('=') {
        return Some(format!(
            "Kaniko reads one option per `--git`: `--git {value}` asks for the branch `{rest}`, which the clone \
             cannot find; write each option as a `--git` flag of its own (`--git {}`) and migrate again",
            value.replace(',', " --git ")
        ));
    }
    let boolean = matches!(
        key,
        "single-branch" | "recurse-submodules" | "insecure-skip-tls"
    );
    if boolean && !crate::kaniko::invocation::is_parse_bool(rest) {
        return Some(format!(
            "Kaniko refuses `--git {value}`: `{key}` takes 1, t, T, TRUE, true, True, 0, f, F, FALSE, false or False"
        ));
    }
    None
}

/// The shell variable that holds the `--secret` option for git credentials,
/// empty when the job has none.
const GIT_SECRET: &str = "KANIKO2BUILDKIT_GIT_SECRET";

/// Kaniko cloned with `GIT_TOKEN` as the user name, else `GIT_USERNAME` and
/// `GIT_PASSWORD`, when the job had them. BuildKit takes the same basic
/// credentials as the `GIT_AUTH_HEADER.HOST` secret; a public repository
/// gets no secret at all.
fn git_credentials_step(host: &str) -> String {
    format!(
        "{GIT_SECRET}= && \
         if [ -n \"${{GIT_TOKEN:-}}\" ]; then GIT_AUTH_HEADER=\"basic $(printf '%s:' \"$GIT_TOKEN\" | base64 | tr -d '\\n')\"; \
         elif [ -n \"${{GIT_USERNAME:-}}\" ]; then GIT_AUTH_HEADER=\"basic $(printf '%s:%s' \"$GIT_USERNAME\" \"${{GIT_PASSWORD:-}}\" | base64 | tr -d '\\n')\"; fi && \
         if [ -n \"${{GIT_AUTH_HEADER:-}}\" ]; then export GIT_AUTH_HEADER; {GIT_SECRET}=\"--secret id=GIT_AUTH_HEADER.{host},env=GIT_AUTH_HEADER\"; fi"
    )
}

/// `--git` only matters for a `git://` context.
fn git_options(c: &Collected, out: &mut Translation) {
    let is_git = c.context.is_some_and(|f| f.value.starts_with("git://"));
    if is_git {
        return;
    }
    for flag in &c.git {
        out.notes.push(FlagNote {
            fate: Fate::Dropped,
            span: flag.span,
            message: "--git dropped: Kaniko reads it only for a git:// context".into(),
        });
    }
}

/// With a remote context the Dockerfile is read from it: only its path
/// inside the context is passed. A Dockerfile in the job's own files would
/// need a second source, which this version does not write.
fn remote_dockerfile_line(c: &Collected, out: &mut Translation) {
    let Some(flag) = c.dockerfile else { return };
    let Some(path) = in_double_quotes(&flag.raw) else {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: flag.span,
            message: "--dockerfile has an unclosed quote".into(),
        });
        return;
    };
    if path.starts_with('/') || path.starts_with('$') || path.contains("://") {
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span: flag.span,
            message: "a Dockerfile outside a remote context: keep it in the repository, or clone the repository in the job and build it as a directory".into(),
        });
        return;
    }
    let path = path.trim_start_matches("./");
    if path != "Dockerfile" {
        out.lines.push(format!("--opt \"filename={path}\""));
    }
}

/// `--local dockerfile=DIR --opt filename=NAME`, resolved as Kaniko resolves
/// the path: absolute as it is; relative, from the working directory
/// (`$CI_PROJECT_DIR`) when the file is there, else from the context.
fn dockerfile_lines(c: &Collected, context: &str, workspace: &Workspace, out: &mut Translation) {
    let (raw, value, span) = match c.dockerfile {
        Some(flag) => (flag.raw.as_str(), flag.value.as_str(), Some(flag.span)),
        None => ("Dockerfile", "Dockerfile", None),
    };
    if value.starts_with("https://") || value.starts_with("http://") {
        match in_double_quotes(raw) {
            Some(url) => downloaded_dockerfile(&url, out),
            None => out.notes.push(FlagNote {
                fate: Fate::Blocked,
                span: span.unwrap_or_default(),
                message: "--dockerfile has an unclosed quote".into(),
            }),
        }
        return;
    }
    if value == "/dev/stdin" {
        stdin_dockerfile(out);
        return;
    }
    let absolute =
        value.starts_with('/') || ABSOLUTE_VARIABLES.iter().any(|v| value.starts_with(v));
    let lone_expansion = value.starts_with('$') && quote::split_path(raw).is_none();
    let (dir, name) = match quote::split_path(raw) {
        Some((dir, name)) if absolute => (dir, name),
        // The name is only known at run time: split it there, looking in
        // the working directory, then in the context, as Kaniko did.
        None if absolute || lone_expansion => match in_double_quotes(raw) {
            Some(path) => (
                runtime_dockerfile_dir(&path, context, absolute),
                format!("\"$(basename \"{path}\")\""),
            ),
            None => {
                let message = format!("cannot tell the directory of the Dockerfile `{raw}`");
                out.notes.push(FlagNote {
                    fate: Fate::Blocked,
                    span: span.unwrap_or_default(),
                    message,
                });
                return;
            }
        },
        _ => match relative_dockerfile(raw, value, context, workspace) {
            Ok(resolved) => resolved,
            Err(message) => {
                out.notes.push(FlagNote {
                    fate: Fate::Blocked,
                    span: span.unwrap_or_default(),
                    message,
                });
                return;
            }
        },
    };
    out.lines
        .push(format!("--local {}", prefixed("dockerfile=", &dir)));
    if name != "Dockerfile" {
        out.lines.push(format!("--opt filename={name}"));
    }
}

/// Variables that always hold an absolute path in a GitLab job.
const ABSOLUTE_VARIABLES: [&str; 6] = [
    "$CI_PROJECT_DIR",
    "${CI_PROJECT_DIR}",
    "$CI_BUILDS_DIR",
    "${CI_BUILDS_DIR}",
    "$HOME",
    "${HOME}",
];

/// The Dockerfile's directory, chosen when the job runs: the path from the
/// working directory when the file is there, else from the context.
fn runtime_dockerfile_dir(path: &str, context: &str, absolute: bool) -> String {
    let context = in_double_quotes(context).unwrap_or_default();
    if absolute || is_project_dir(&context) {
        return format!("\"$(dirname \"{path}\")\"");
    }
    let in_context = format!("{}/{path}", context.trim_end_matches('/'));
    format!(
        "\"$(if [ -f \"{path}\" ]; then dirname \"{path}\"; else dirname \"{in_context}\"; fi)\""
    )
}

/// `--dockerfile /dev/stdin` (`echo "FROM x" | /kaniko/executor ...`):
/// buildctl wants a directory, so the text read from standard input is
/// written into one first; in the call's subshell `cat` reads the pipe.
fn stdin_dockerfile(out: &mut Translation) {
    let dir = "${TMPDIR:-/tmp}/kaniko2buildkit-stdin";
    out.before
        .push(format!("mkdir -p \"{dir}\" && cat > \"{dir}/Dockerfile\""));
    out.lines.push(format!("--local \"dockerfile={dir}\""));
}

/// A Dockerfile given by URL: Kaniko fetched it with a plain GET. The job
/// downloads it with busybox `wget` into a directory of its own first.
fn downloaded_dockerfile(url: &str, out: &mut Translation) {
    let dir = "${TMPDIR:-/tmp}/kaniko2buildkit-dockerfile";
    out.before.push(format!(
        "mkdir -p \"{dir}\" && wget -q -O \"{dir}/Dockerfile\" \"{url}\""
    ));
    out.lines.push(format!("--local \"dockerfile={dir}\""));
}

fn relative_dockerfile(
    raw: &str,
    value: &str,
    context: &str,
    workspace: &Workspace,
) -> Result<(String, String), String> {
    let (dir, name) = match quote::split_path(raw) {
        Some(split) => split,
        None if quote::is_plain(raw) => (".".to_string(), raw.to_string()),
        None => {
            return Err(format!(
                "cannot tell the directory of the Dockerfile `{raw}`"
            ));
        }
    };
    let Some(context_value) = in_double_quotes(context) else {
        return Err(format!("cannot tell where the Dockerfile `{raw}` is"));
    };
    let context_value = context_value.as_str();
    if is_project_dir(context_value) {
        return Ok((dir, name));
    }
    // Kaniko looks in the working directory first, then in the context.
    // Where neither can be checked now (a name in a variable, a file an
    // earlier line writes), the job makes the same choice when it runs.
    let on_disk = |path: &str| {
        // `$CI_PROJECT_DIR` is the project root, which is on disk here.
        let relative = ["$CI_PROJECT_DIR/", "${CI_PROJECT_DIR}/"]
            .iter()
            .find_map(|prefix| path.strip_prefix(prefix))
            .unwrap_or(path);
        let known = !relative.contains(['$', '`']) && !relative.starts_with('/');
        workspace
            .root
            .filter(|_| known)
            .is_some_and(|root| root.join(relative).is_file())
    };
    if on_disk(value) {
        return Ok((dir, name));
    }
    let Some(path) = in_double_quotes(raw) else {
        return Err(format!("cannot tell where the Dockerfile `{raw}` is"));
    };
    let in_context = format!("{}/{path}", context_value.trim_end_matches('/'));
    if !on_disk(&in_context) {
        return Ok((runtime_dockerfile_dir(&path, context, false), name));
    }
    let joined = if dir == "." {
        context_value.to_string()
    } else {
        let Some(dir) = in_double_quotes(&dir) else {
            return Err(format!("cannot tell where the Dockerfile `{raw}` is"));
        };
        format!("{context_value}/{dir}")
    };
    let joined = joined.trim_end_matches('/').to_string();
    let quoted = if quote::is_plain(&joined) {
        joined
    } else {
        format!("\"{joined}\"")
    };
    Ok((quoted, name))
}

/// The job's working directory: `.`, `$CI_PROJECT_DIR` and spellings of it.
fn is_project_dir(context: &str) -> bool {
    matches!(
        context.trim_end_matches('/'),
        "" | "." | "$CI_PROJECT_DIR" | "${CI_PROJECT_DIR}" | "/builds/$CI_PROJECT_PATH"
    )
}

/// `--cache=true` with `--cache-repo R` (or, without it, the first
/// destination's repository + `/cache`) becomes a registry cache import and
/// export. `mode=max` caches every stage as Kaniko did, and `ignore-error`
/// keeps a failed upload a warning, as it was.
fn cache_lines(c: &Collected, no_push: bool, workspace: &Workspace, out: &mut Translation) {
    let enabled = c.cache.is_some_and(|f| is_true(&f.value));
    if !enabled {
        if let Some(repo) = c.cache_repo {
            out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: repo.span,
                message: "--cache-repo dropped: Kaniko ignores it without --cache=true".into(),
            });
        }
        return;
    }
    let span = c.cache.map(|f| f.span).unwrap_or_default();
    if no_push && c.cache_repo.is_none() {
        let message =
            "--cache with --no-push needs --cache-repo (Kaniko refuses it too)".to_string();
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span,
            message,
        });
        return;
    }
    let reference = match (c.cache_repo, c.destinations.first()) {
        (Some(repo), _) if repo.value.starts_with("oci:") => None,
        (Some(repo), _) => in_double_quotes(&suffixed(&repo.raw, ":buildcache")),
        (None, Some(destination)) => repository(&destination.raw, &workspace.variables)
            .and_then(|repo| in_double_quotes(&suffixed(&repo, "/cache:buildcache")))
            .or_else(|| runtime_cache_reference(&destination.raw)),
        (None, None) => None,
    };
    let Some(reference) = reference else {
        let message = if no_push && c.cache_repo.is_none() {
            "--cache with --no-push needs --cache-repo".to_string()
        } else {
            "cannot tell which repository holds the cache: pass --cache-repo".to_string()
        };
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span,
            message,
        });
        return;
    };
    let registry: String = c
        .registry_attrs
        .iter()
        .map(|attr| format!(",{attr}"))
        .collect();
    out.lines.push(format!(
        "--import-cache \"type=registry,ref={reference}{registry}\""
    ));
    if c.no_push_cache {
        let span = c.cache.map(|f| f.span).unwrap_or_default();
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span,
            message: "--no-push-cache: the cache is read, never written".into(),
        });
    } else {
        out.lines.push(format!(
            "--export-cache \"type=registry,ref={reference},mode=max,ignore-error=true{registry}\""
        ));
    }
    out.notes.push(FlagNote {
        fate: Fate::Note,
        span,
        message: "the first BuildKit build starts with a cold cache: Kaniko's layer cache is not reusable".into(),
    });
}

/// The repository of a destination as written: the tag after the last `/`
/// removed. A lone `$VAR` is looked through when the pipeline defines it;
/// `$CI_REGISTRY_IMAGE` never has a tag. `None` when the text hides whether
/// there is a tag.
fn repository(raw: &str, variables: &[(String, String)]) -> Option<String> {
    let inner = raw.trim_matches(['"', '\'']);
    if let Some(name) = lone_variable(inner) {
        if name == "CI_REGISTRY_IMAGE" {
            return Some(raw.to_string());
        }
        let value = variables.iter().rev().find(|(k, _)| k == name)?.1.clone();
        return (lone_variable(&value).is_none())
            .then(|| repository(&value, &[]))
            .flatten();
    }
    let after_slash = quote::last_top_level(inner, b'/').map_or(0, |slash| slash + 1);
    let colon = quote::last_top_level(&inner[after_slash..], b':')? + after_slash;
    let repo = &inner[..colon];
    Some(match raw.chars().next() {
        Some(q @ ('"' | '\'')) => format!("{q}{repo}{q}"),
        _ => repo.to_string(),
    })
}

/// The cache reference Kaniko derived from a destination that is only known
/// when the job runs: its repository (the tag after the last `/` cut off by
/// busybox `sed`) plus `/cache`.
fn runtime_cache_reference(raw: &str) -> Option<String> {
    let destination = in_double_quotes(raw)?;
    Some(format!(
        "$(printf '%s' \"{destination}\" | sed 's|:[^/]*$||')/cache:buildcache"
    ))
}

/// `--custom-platform` changes meaning: Kaniko only recorded it.
const EMULATION_NOTE: &str =
    "BuildKit really runs `RUN` steps for this platform: a foreign one needs QEMU on the runner";

/// What became of one flag written in a variable's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Carried {
    /// The buildctl word that takes its place; `None` when it goes.
    pub word: Option<String>,
    pub note: Option<(Fate, String)>,
}

/// Maps a flag found in a variable's value (`KANIKO_ARGS: --build-arg A=1`)
/// to one buildctl word that means the same wherever the variable expands.
/// Only flags that stand alone can: the rest combine with the call's other
/// flags into one option (`--destination` with `--no-push`, `--cache` with
/// the destinations) and must be written in the call.
///
/// The word copies the value as written, so it keeps whatever quoting
/// context the value sits in; `call` is the translation of the call that
/// passes the variable on.
pub fn translate_carried(flag: &FlagUse, call: &Translation) -> Carried {
    let image_output = &call.carried_output;
    let buildx = call.flavor == Flavor::Buildx;
    let spec = canonical(flag.spec);
    let value = &flag.raw;
    let mapped = |word: String| Carried {
        word: Some(word),
        note: None,
    };
    let gone = |fate: Fate, message: String| Carried {
        word: None,
        note: Some((fate, message)),
    };
    match spec.name {
        "build-arg" | "label" | "target" | "custom-platform" | "secret" if buildx => {
            let option = match spec.name {
                "custom-platform" => "platform",
                name => name,
            };
            let word = match spec.name {
                "build-arg" if !value.contains('=') && !value.starts_with('$') => {
                    format!("--build-arg={value}=${{{value}}}")
                }
                _ => format!("--{option}={value}"),
            };
            Carried {
                word: Some(word),
                note: (spec.name == "custom-platform").then(|| (Fate::Note, EMULATION_NOTE.into())),
            }
        }
        "build-arg" if value.contains('=') || value.starts_with('$') => {
            mapped(format!("--opt=build-arg:{value}"))
        }
        "build-arg" => mapped(format!("--opt=build-arg:{value}=${{{value}}}")),
        "label" => mapped(format!("--opt=label:{value}")),
        "target" => mapped(format!("--opt=target={value}")),
        "secret" => mapped(format!("--secret={value}")),
        "custom-platform" => Carried {
            word: Some(format!("--opt=platform={value}")),
            note: Some((Fate::Note, EMULATION_NOTE.into())),
        },
        "destination" => match image_output {
            Ok(attrs) if !value.contains(',') => {
                mapped(format!("--output=type=image,name={value},{attrs}"))
            }
            Ok(_) => gone(
                Fate::Blocked,
                "a destination with a comma cannot be an output of its own".into(),
            ),
            Err(why) => gone(
                Fate::Blocked,
                format!(
                    "--destination in a variable becomes an image output of its own, but {why}"
                ),
            ),
        },
        "verbosity" if matches!(flag.value.as_str(), "debug" | "trace") => gone(
            Fate::Blocked,
            "--verbosity=debug becomes `--debug`, which goes before `build`: write it in the call"
                .into(),
        ),
        _ if without_argument(flag).is_some() => Carried {
            word: None,
            note: without_argument(flag),
        },
        _ if spec.class == Class::Unmappable => gone(Fate::Blocked, unmappable_reason(spec.name)),
        _ => gone(
            Fate::Blocked,
            format!(
                "--{} combines with the call's other flags into one buildctl option: write it in the call itself",
                flag.spec.name
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The credentials step gives BuildKit what Kaniko sent: the token as
    /// the user name, else user and password; nothing without either.
    #[test]
    fn git_credentials_step_builds_the_auth_header() {
        let run = |env: &[(&str, &str)]| {
            let script = format!(
                "{} && printf '%s|%s' \"${GIT_SECRET}\" \"${{GIT_AUTH_HEADER:-}}\"",
                git_credentials_step("gitlab.example.com")
            );
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .env_remove("GIT_TOKEN")
                .env_remove("GIT_USERNAME")
                .env_remove("GIT_PASSWORD")
                .envs(env.iter().copied())
                .output()
                .unwrap();
            String::from_utf8(output.stdout).unwrap()
        };
        let secret = "--secret id=GIT_AUTH_HEADER.gitlab.example.com,env=GIT_AUTH_HEADER";
        // base64("tok:") and base64("me:pw")
        assert_eq!(
            run(&[("GIT_TOKEN", "tok")]),
            format!("{secret}|basic dG9rOg==")
        );
        assert_eq!(
            run(&[("GIT_USERNAME", "me"), ("GIT_PASSWORD", "pw")]),
            format!("{secret}|basic bWU6cHc=")
        );
        assert_eq!(run(&[]), "|");
    }

    #[test]
    fn label_keys_are_read_as_docker_reads_them() {
        let dockerfile =
            "FROM x\nLABEL a=1 \"b c\"=2 \\\n  d='x y'\nlabel old value here\nRUN echo LABEL z=1\n";
        assert_eq!(label_keys(dockerfile), ["a", "b c", "d", "old"]);
    }

    #[test]
    fn repository_strips_the_tag_only() {
        assert_eq!(
            repository("\"${CI_REGISTRY_IMAGE}/app:${TAG}\"", &[]).unwrap(),
            "\"${CI_REGISTRY_IMAGE}/app\""
        );
        assert_eq!(
            repository("registry:5000/x/app:1", &[]).unwrap(),
            "registry:5000/x/app"
        );
        assert_eq!(repository("$IMAGE", &[]), None);
        assert_eq!(
            repository("$CI_REGISTRY_IMAGE:${TAG:-latest}", &[]).unwrap(),
            "$CI_REGISTRY_IMAGE"
        );
        assert_eq!(
            repository("${CI_REGISTRY_IMAGE}", &[]).unwrap(),
            "${CI_REGISTRY_IMAGE}"
        );
        let variables = [(
            "IMAGE".to_string(),
            "$CI_REGISTRY_IMAGE/app:$CI_COMMIT_SHA".to_string(),
        )];
        assert_eq!(
            repository("\"$IMAGE\"", &variables).unwrap(),
            "$CI_REGISTRY_IMAGE/app"
        );
    }
}
