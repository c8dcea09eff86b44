//! A Kaniko action's step as docker/build-push-action inputs.
//!
//! The action's inputs are first written as the executor call the action
//! itself would make ([`super::action_call`]). That call goes through the
//! shared translation, the one place a flag's meaning is decided, and its
//! buildx options become the inputs of build-push-action by a small closed
//! table of buildx options.

use super::action_call::{self, Reader, WORKSPACE};
use super::actions::{self, Known};
use super::workflow::{Job, Step};
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::shell;
use crate::mapping::command::{self, Fate, FlagNote, Translation, Workspace};
use crate::mapping::flavor::Flavor;
use crate::migrate::Options;
use crate::rules::Rule;
use crate::span::Span;

/// Why a step stays as it is, at the place that decides it.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub span: Span,
    pub message: String,
}

pub(super) fn refuse<T>(span: Span, message: impl Into<String>) -> Result<T, Refusal> {
    Err(Refusal {
        span,
        message: message.into(),
    })
}

/// A `docker/login-action` step the Kaniko action's own login becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// `None` for Docker Hub (the action's default).
    pub registry: Option<String>,
    pub username: String,
    pub password: String,
}

/// build-push-action's inputs, in the order they are written; a value of
/// several lines is a list input.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    pub entries: Vec<(&'static str, Vec<String>)>,
}

impl Inputs {
    fn push(&mut self, key: &'static str, value: String) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => values.push(value),
            None => self.entries.push((key, vec![value])),
        }
    }

    fn set(&mut self, key: &'static str, value: String) {
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, vec![value]));
    }
}

/// What the step becomes.
#[derive(Clone, Debug)]
pub struct Planned {
    pub inputs: Inputs,
    pub login: Option<Login>,
    pub findings: Vec<Finding>,
}

/// Plans one known action's step.
pub fn plan(
    pipeline: &Pipeline,
    job: &Job,
    step: &Step,
    known: Known,
    action: &actions::ActionRef,
    options: &Options,
) -> Result<Planned, Refusal> {
    let source = &pipeline.files[0];
    let (_, uses) = step.uses.as_ref().expect("an action step has `uses:`");
    let uses_span = source.tree.node(uses.node).span;
    let reader = Reader {
        pipeline,
        job,
        step,
    };
    let mut findings = Vec::new();
    for entry in &step.inputs {
        if known.input(&entry.name).is_none() {
            let span = source.tree.node(entry.key).span;
            return refuse(
                span,
                format!(
                    "`{}` is not an input of {}: the tool cannot tell what it was meant to do",
                    entry.name, action.repo
                ),
            );
        }
    }
    let (synth, login) = match known {
        Known::Aevea => action_call::aevea(&reader, action, uses_span, &mut findings)?,
        Known::Int128 => (
            action_call::int128(&reader, uses_span, &mut findings)?,
            None,
        ),
    };
    let call = synth.invocation(uses_span);
    let workspace = Workspace {
        root: options.root.as_deref(),
        variables: Vec::new(),
        flavor: Flavor::Buildx,
        ci: &super::CI_VARIABLES,
    };
    let translation = command::translate(&call, &workspace);
    // A word the tool cannot read (`${{ steps.x.outputs.flags }}`) may
    // hold executor flags, which build-push-action would not understand.
    if let Some(note) = super::docker_build::unreadable_word(&call) {
        return refuse(note.span, note.message);
    }
    // Before the notes: the buildx flavour's own note on registry settings
    // speaks of GitLab services.
    if !translation.daemon_config.is_empty() {
        return refuse(
            uses_span,
            "registry settings (mirrors, insecure or private-CA registries) go into buildkitd.toml: give them to \
             docker/setup-buildx-action's `buildkitd-config-inline` by hand",
        );
    }
    findings.extend(notes(&translation, options)?);
    if !(translation.before.is_empty()
        && translation.secret_before.is_empty()
        && translation.after.is_empty())
    {
        return refuse(
            uses_span,
            "the arguments need steps before or after the build (digest files, a packed context), which \
             build-push-action has no input for",
        );
    }
    // The buildx flavour's lines are buildx options.
    let arguments = translation.lines.clone();
    let mut inputs = to_inputs(&arguments).map_err(|message| Refusal {
        span: uses_span,
        message,
    })?;
    inputs.set("provenance", "false".into());
    findings.push(
        Finding::new(
            Rule::MigrationNote,
            0,
            uses_span,
            "`provenance: false`: Kaniko pushed one image manifest, build-push-action would add a provenance \
             attestation and push an image index",
        )
        .label("no attestation, as with Kaniko"),
    );
    Ok(Planned {
        inputs,
        login,
        findings,
    })
}

/// The notes of the translation as findings; a blocked or (without
/// `--unsafe`) unsafe flag keeps the step as it is.
fn notes(translation: &Translation, options: &Options) -> Result<Vec<Finding>, Refusal> {
    let mut findings = Vec::new();
    for note in &translation.notes {
        let finding = note_finding(note, options)?;
        findings.push(match note.fate {
            Fate::Unsafe | Fate::Dropped => finding.label("dropped"),
            _ => finding,
        });
    }
    Ok(findings)
}

/// A translation note as a finding, or the refusal it stands for: a
/// blocked note, or an unsafe one without `--unsafe`.
pub(super) fn note_finding(note: &FlagNote, options: &Options) -> Result<Finding, Refusal> {
    let message = note.message.clone();
    Ok(match note.fate {
        Fate::Blocked => return refuse(note.span, message),
        Fate::Unsafe if !options.unsafe_fixes => {
            return refuse(note.span, format!("{message} (applied only with --unsafe)"));
        }
        Fate::Unsafe => Finding::new(
            Rule::UnsafeFlag,
            0,
            note.span,
            format!("applied with --unsafe: {message}"),
        ),
        Fate::Dropped => Finding::new(Rule::DroppedFlag, 0, note.span, message),
        Fate::Note => Finding::new(Rule::MigrationNote, 0, note.span, message),
    })
}

/// buildx options as build-push-action inputs: the closed table of the
/// options the translation writes.
fn to_inputs(arguments: &[String]) -> Result<Inputs, String> {
    let mut inputs = Inputs::default();
    let mut context = None;
    for group in arguments {
        let Some((option, value)) = group.split_once(' ') else {
            if group.starts_with('-') {
                return Err(format!("`{group}` has no build-push-action input"));
            }
            context = Some(unquote(group)?);
            continue;
        };
        let value = unquote(value)?;
        if value.contains("$(") || value.contains('`') || shell_variable(&value) {
            return Err(format!(
                "`{group}` is computed by the shell, which build-push-action's inputs are not"
            ));
        }
        match option {
            "--target" => inputs.set("target", value),
            "--build-arg" => inputs.push("build-args", value),
            "--label" => inputs.push("labels", value),
            "--cache-from" => inputs.push("cache-from", value),
            "--cache-to" => inputs.push("cache-to", value),
            "--platform" => inputs.set("platforms", value),
            "--file" => inputs.set("file", relative(&value)),
            "--opt" => return Err(format!("`{group}` has no build-push-action input")),
            "--metadata-file" => {}
            "--output" => output(&value, &mut inputs)?,
            _ => return Err(format!("`{group}` has no build-push-action input")),
        }
    }
    let context = relative(&context.ok_or("the build has no context")?);
    if context.contains("$(") || context.contains('`') || shell_variable(&context) {
        return Err(format!("the context `{context}` is computed by the shell"));
    }
    // build-push-action's own default: `{context}/Dockerfile`.
    let normal = |path: &str| {
        let path = path.trim_start_matches("./").trim_end_matches('/');
        if path.is_empty() {
            ".".to_string()
        } else {
            path.to_string()
        }
    };
    let default_file = normal(&format!("{}/Dockerfile", normal(&context)));
    inputs.entries.retain(|(key, values)| {
        !(*key == "file"
            && values.len() == 1
            && normal(&values[0]).trim_start_matches("./") == default_file.trim_start_matches("./"))
    });
    let mut ordered = Inputs::default();
    ordered.set("context", context);
    ordered.entries.extend(inputs.entries);
    Ok(ordered)
}

/// `type=image,"name=a,b",push=true,…`: the names become `tags`, `push`
/// its input, and other attributes stay in `outputs` (buildx gives an
/// image output without `name` the step's tags).
fn output(value: &str, inputs: &mut Inputs) -> Result<(), String> {
    let mut rest = Vec::new();
    let mut push = None;
    for field in csv_fields(value) {
        let (key, val) = field.split_once('=').unwrap_or((field.as_str(), ""));
        match key {
            "type" if val == "image" => {}
            "type" => {
                return Err(format!(
                    "an output of type `{val}` has no build-push-action input"
                ));
            }
            "name" => {
                for name in csv_fields(val) {
                    inputs.push("tags", name);
                }
            }
            "push" => push = Some(val.to_string()),
            _ => rest.push(field.clone()),
        }
    }
    if rest.is_empty() {
        inputs.set("push", push.unwrap_or_else(|| "false".into()));
    } else {
        let mut attributes = vec!["type=image".to_string()];
        if let Some(push) = push {
            attributes.push(format!("push={push}"));
        }
        attributes.extend(rest);
        inputs.set("outputs", attributes.join(","));
    }
    Ok(())
}

/// Splits at commas outside double quotes, removing the quotes.
fn csv_fields(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    fields.push(current);
    fields.retain(|f| !f.is_empty());
    fields
}

/// The value of one shell word (quotes removed, `$…` kept).
fn unquote(word: &str) -> Result<String, String> {
    let commands = shell::commands(word);
    match commands.as_slice() {
        [command] if command.words.len() == 1 && command.assignments.is_empty() => {
            Ok(command.words[0].value.clone())
        }
        [command] if command.words.is_empty() && command.assignments.len() == 1 => {
            Ok(command.assignments[0].value.clone())
        }
        _ => Err(format!("`{word}` is not one argument")),
    }
}

/// A `$NAME` the shell would expand (a GitHub `${{ … }}` is not one).
fn shell_variable(value: &str) -> bool {
    value
        .match_indices('$')
        .any(|(at, _)| !value[at + 1..].starts_with("{{"))
}

/// A path of the synthesized call relative to the workspace again.
fn relative(path: &str) -> String {
    match path.strip_prefix(WORKSPACE) {
        Some("") => ".".into(),
        Some(rest) if rest.starts_with('/') => rest[1..].to_string(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildx_options_become_inputs() {
        let arguments: Vec<String> = [
            "--target runtime",
            "--build-arg \"VERSION=${{ github.ref_name }}\"",
            "--build-arg SOURCE_DATE_EPOCH=0",
            "--cache-from \"type=registry,ref=r/c:buildcache\"",
            "--output \"type=image,\\\"name=r/a:1,r/a:latest\\\",push=true,rewrite-timestamp=true\"",
            "--file \"/github/workspace/app/build\"/Dockerfile",
            "\"/github/workspace/app\"",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let inputs = to_inputs(&arguments).unwrap();
        let get = |k: &str| {
            inputs
                .entries
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("context").unwrap(), ["app"]);
        assert_eq!(get("file").unwrap(), ["app/build/Dockerfile"]);
        assert_eq!(
            get("build-args").unwrap(),
            ["VERSION=${{ github.ref_name }}", "SOURCE_DATE_EPOCH=0"]
        );
        assert_eq!(get("tags").unwrap(), ["r/a:1", "r/a:latest"]);
        assert_eq!(
            get("outputs").unwrap(),
            ["type=image,push=true,rewrite-timestamp=true"]
        );
        assert!(get("push").is_none());
        assert!(to_inputs(&["--secret id=a".to_string(), ".".to_string()]).is_err());
        // build-push-action's own default is not written.
        let default = to_inputs(&["--file ./Dockerfile".to_string(), ".".to_string()]).unwrap();
        assert!(default.entries.iter().all(|(key, _)| *key != "file"));
    }

    #[test]
    fn paths_are_relative_to_the_workspace() {
        assert_eq!(relative("/github/workspace"), ".");
        assert_eq!(relative("/github/workspace/./app"), "./app");
    }
}
