//! One `/kaniko/executor` call translated into `buildctl-daemonless.sh build`.
//!
//! Every flag ends in exactly one place: a buildctl argument, a note saying
//! why it was dropped, or a blocker that keeps the job as it is. Which one is
//! decided by the flag's row in [`super::table`] (its [`Carry`](super::carry::Carry));
//! the modules here hold what several flags feed together: the context, the
//! Dockerfile, the cache, registries, digest files and the outputs, and the
//! call's text.

mod cache;
mod call_text;
pub(crate) mod collected;
mod context;
mod digests;
mod dockerfile;
pub(crate) mod groups;
mod outputs;
pub(crate) mod registries;
mod settings;

use std::path::Path;

pub use call_text::CallText;
use collected::Collected;
use groups::Group;
pub use settings::{DROPPED_SETTINGS, MAPPED_SETTINGS, dropped_setting_reason};

use super::flavor::{self, Flavor};
use super::table::{self, ValueKind};
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
    /// The `build` arguments, one group per line, as the flavour writes them.
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
    /// The argument groups while the call is translated, as data; `lines`
    /// holds them as the flavour's text once it is done.
    pub(crate) groups: Vec<Group>,
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
            groups: Vec::new(),
        }
    }
}

/// Where the job's files are, to resolve a relative Dockerfile the way Kaniko
/// does: the working directory first, then the context.
pub struct Workspace<'a> {
    /// The project root on disk, when the file comes from one.
    pub root: Option<&'a Path>,
    /// The job's variables as written in the pipeline, name and value.
    pub variables: Vec<(String, String)>,
    pub flavor: Flavor,
    /// What the CI system's own variables mean: each front-end passes its own.
    pub ci: &'static CiVariables,
}

/// The variables a CI system sets that the translation must understand,
/// named by the front-end (GitLab's `$CI_PROJECT_DIR`, GitHub's
/// `$GITHUB_WORKSPACE`, Buildkite's `$BUILDKITE_BUILD_CHECKOUT_PATH`): the
/// translation itself knows no CI system.
#[derive(Debug)]
pub struct CiVariables {
    /// Spellings of the checkout directory, where a job starts: a
    /// Dockerfile path relative to it is a path from the working directory.
    pub project_dir: &'static [&'static str],
    /// Variables that always hold an absolute path (the checkout, `$HOME`).
    pub absolute: &'static [&'static str],
    /// Variables that hold an image repository with no tag, so that a cache
    /// repository can be derived from them.
    pub untagged_image: &'static [&'static str],
}

impl CiVariables {
    /// The job's working directory: `.` or a spelling of the checkout.
    pub(crate) fn is_project_dir(&self, context: &str) -> bool {
        let context = context.trim_end_matches('/');
        matches!(context, "" | ".") || self.project_dir.contains(&context)
    }

    /// A path that starts with an absolute variable or `/`.
    pub(crate) fn is_absolute(&self, path: &str) -> bool {
        path.starts_with('/') || self.absolute.iter().any(|v| path.starts_with(v))
    }

    /// `path` relative to the checkout when it starts with a spelling of it.
    pub(crate) fn under_project_dir<'p>(&self, path: &'p str) -> Option<&'p str> {
        self.project_dir
            .iter()
            .find_map(|dir| path.strip_prefix(dir)?.strip_prefix('/'))
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
    let mut collected = Collected::new(call, workspace.root);
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
    settings::apply_settings(call, workspace, &mut collected, &mut out);
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
        flag.spec.carry.collect(flag, &mut collected, &mut out);
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
    registries::private_registry_notes(&collected, &mut out);
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
    outputs::build_lines(call, &collected, no_push, workspace, &mut out);
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
/// The argument groups become the flavour's text here.
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
    let groups = std::mem::take(&mut out.groups);
    out.lines = groups.iter().map(Group::text).collect();
    if flavor == Flavor::Buildx {
        match flavor::buildx_arguments(&groups) {
            Ok(arguments) => out.lines = arguments,
            Err(message) => out
                .notes
                .push(blocked(format!("--flavor buildx: {message}"))),
        }
    }
}

/// Whether a later use of the same single-valued flag replaces this one
/// (pflag: the last occurrence wins; only repeatable flags add up).
fn overridden(flags: &[FlagUse], index: usize) -> bool {
    let spec = table::canonical(flags[index].spec);
    spec.kind != ValueKind::Repeated
        && flags[index + 1..]
            .iter()
            .any(|later| std::ptr::eq(table::canonical(later.spec), spec))
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

pub(crate) fn is_true(value: &str) -> bool {
    !matches!(value, "false" | "0" | "f" | "F" | "FALSE" | "False")
}

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
/// the destinations) and must be written in the call. The flag's row decides
/// which (see [`super::carry::Handler::in_variable`]).
///
/// The word copies the value as written, so it keeps whatever quoting
/// context the value sits in; `call` is the translation of the call that
/// passes the variable on.
pub fn translate_carried(flag: &FlagUse, call: &Translation) -> Carried {
    flag.spec.carry.in_variable(flag, call)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kaniko::invocation::{self, Program};
    use crate::kaniko::shell;
    use crate::mapping::table::EXECUTOR_FLAGS;

    /// The call a script line holds, with spans in the line's coordinates.
    fn call(script: &str) -> Invocation {
        let command = shell::commands(script).remove(0);
        let identity = |range: std::ops::Range<usize>| Span::new(range.start, range.end);
        let (flags, problems) =
            invocation::parse(Program::Executor, script, &command.words[1..], &identity);
        Invocation {
            program: Program::Executor,
            span: Span::new(0, script.len()),
            flags,
            problems,
            script_range: 0..script.len(),
            assignments: Vec::new(),
            program_span: Span::new(0, "/kaniko/executor".len()),
        }
    }

    /// The checkout is named by each CI system's own variable: a Dockerfile
    /// beside a context in the checkout is found from the working
    /// directory, with no run-time lookup; another system's variable is
    /// just a path.
    #[test]
    fn the_checkout_is_named_by_the_front_end() {
        let script = "/kaniko/executor --context $BUILDKITE_BUILD_CHECKOUT_PATH \
                      --dockerfile docker/Dockerfile --destination r.example.com/a:1";
        let lines = |ci: &'static CiVariables| {
            let workspace = Workspace {
                root: None,
                variables: Vec::new(),
                flavor: Flavor::Rootless,
                ci,
            };
            translate(&call(script), &workspace)
                .call_text()
                .lines()
                .join("\n")
        };
        let buildkite = lines(&crate::buildkite::CI_VARIABLES);
        assert!(
            buildkite.contains("--local dockerfile=docker"),
            "{buildkite}"
        );
        let gitlab = lines(&crate::gitlab::CI_VARIABLES);
        assert!(gitlab.contains("if [ -f"), "{gitlab}");
    }

    fn translated(script: &str, flavor: Flavor) -> Translation {
        let workspace = Workspace {
            root: None,
            variables: Vec::new(),
            flavor,
            ci: &crate::gitlab::CI_VARIABLES,
        };
        translate(&call(script), &workspace)
    }

    /// Every row's carry does something with its flag: the example, added
    /// to a plain call, changes the command or gets a note at its own span.
    /// A row whose handler ignored its flag would lose it silently.
    #[test]
    fn every_flag_of_the_table_lands_somewhere() {
        let base = "/kaniko/executor --context . --destination registry.example.com/app:1";
        for flavor in [Flavor::Rootless, Flavor::Buildx] {
            let without = translated(base, flavor);
            for flag in EXECUTOR_FLAGS {
                let script = format!("{base} {}", flag.example);
                let with = translated(&script, flavor);
                let span = Span::new(base.len() + 1, script.len());
                let noted = with.notes.iter().any(|note| note.span == span);
                let changed = with.lines != without.lines
                    || with.global != without.global
                    || with.after != without.after
                    || with.before != without.before
                    || with.daemon_config != without.daemon_config
                    || with.pushes != without.pushes;
                assert!(
                    noted || changed,
                    "--{} ({flavor:?}): {:?}",
                    flag.name,
                    with.notes
                );
            }
        }
    }

    /// Regression: buildx split a passed-on word at its first blank to find
    /// an option, and refused `"$A $B"`; it is passed on as buildctl gets it.
    #[test]
    fn buildx_passes_a_variable_with_a_blank_on() {
        let script = "/kaniko/executor --context . --destination r/app:1 \"$A $B\"";
        let buildx = translated(script, Flavor::Buildx);
        assert!(
            !buildx.notes.iter().any(|n| n.fate == Fate::Blocked),
            "{:?}",
            buildx.notes
        );
        assert!(buildx.lines.contains(&"\"$A $B\"".to_string()));
        assert!(
            translated(script, Flavor::Rootless)
                .lines
                .contains(&"\"$A $B\"".to_string())
        );
    }

    /// A flag in a variable gets a word or a note from its row, never
    /// nothing.
    #[test]
    fn every_flag_in_a_variable_gets_a_word_or_a_note() {
        let call = translated(
            "/kaniko/executor --context . --destination registry.example.com/app:1",
            Flavor::Rootless,
        );
        for flag in EXECUTOR_FLAGS {
            let parsed = super::tests::call(&format!("/kaniko/executor {}", flag.example));
            let carried = translate_carried(&parsed.flags[0], &call);
            assert!(
                carried.word.is_some() || carried.note.is_some(),
                "--{}",
                flag.name
            );
        }
    }
}
