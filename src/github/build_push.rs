//! A Kaniko action's step as docker/build-push-action inputs.
//!
//! The action's inputs are first written as the executor call the action
//! itself would make (read from its entrypoint or `run.ts`, see
//! [`super::actions`]), every argument at the span of the input it comes
//! from. That call goes through the shared translation, the one place a
//! flag's meaning is decided, and its buildx options become the inputs of
//! build-push-action by a small closed table of buildx options.

use std::ops::Range;

use super::actions::{self, AEVEA_SUPPORTED, Known, Version};
use super::workflow::{Entry, Step};
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::invocation::{self, Invocation, Program};
use crate::kaniko::shell;
use crate::mapping::command::{self, Fate, Translation, Workspace};
use crate::mapping::flavor::{self, Flavor};
use crate::migrate::Options;
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;

/// Why a step stays as it is, at the place that decides it.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub span: Span,
    pub message: String,
}

fn refuse<T>(span: Span, message: impl Into<String>) -> Result<T, Refusal> {
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

/// The executor call an action would make, as shell text, with the span
/// each piece comes from.
#[derive(Default)]
struct Synth {
    script: String,
    spans: Vec<(Range<usize>, Span)>,
    /// Source maps of inputs whose own text was appended (`extra_args`).
    maps: Vec<(Range<usize>, SourceMap, Span)>,
}

impl Synth {
    fn raw(&mut self, text: &str, span: Span) {
        if !self.script.is_empty() {
            self.script.push(' ');
        }
        let start = self.script.len();
        self.script.push_str(text);
        self.spans.push((start..self.script.len(), span));
    }

    fn flag(&mut self, flag: &str, span: Span) {
        self.raw(flag, span);
    }

    fn value(&mut self, flag: &str, value: &str, span: Span) {
        self.raw(&format!("{flag}={}", quote(value)), span);
    }

    /// Shell words written by the user, mapped through their scalar.
    fn words(&mut self, text: &str, map: Option<SourceMap>, span: Span) {
        if !self.script.is_empty() {
            self.script.push(' ');
        }
        let start = self.script.len();
        self.script.push_str(text);
        match map {
            Some(map) => self.maps.push((start..self.script.len(), map, span)),
            None => self.spans.push((start..self.script.len(), span)),
        }
    }

    fn to_source(&self, range: Range<usize>) -> Span {
        for (at, map, _) in &self.maps {
            if at.start <= range.start && range.end <= at.end {
                return map.span_of(range.start - at.start, range.end - at.start);
            }
        }
        self.spans
            .iter()
            .find(|(at, _)| at.start <= range.start && range.start < at.end.max(at.start + 1))
            .map_or_else(
                || self.spans.first().map_or(Span::default(), |s| s.1),
                |s| s.1,
            )
    }

    fn invocation(&self, program_span: Span) -> Invocation {
        let words: Vec<shell::Word> = shell::commands(&self.script)
            .into_iter()
            .flat_map(|c| c.assignments.into_iter().chain(c.words))
            .collect();
        let to_source = |range: Range<usize>| self.to_source(range);
        let (flags, problems) =
            invocation::parse(Program::Executor, &self.script, &words, &to_source);
        Invocation {
            program: Program::Executor,
            span: program_span,
            flags,
            problems,
            script_range: 0..self.script.len(),
            assignments: Vec::new(),
            program_span,
        }
    }
}

/// Double quotes that keep the text as one word; `$` stays, so that
/// `${{ … }}` and variables are carried as written.
fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// One argument as shell text that reads back as that one argument, the
/// flag name left unquoted so that the parser finds it.
fn one_argument(argument: &str) -> String {
    let plain = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=./:,@+%".contains(c))
    };
    if plain(argument) {
        return argument.to_string();
    }
    match argument.split_once('=') {
        Some((name, value)) if name.starts_with("--") && plain(name) => {
            format!("{name}={}", quote(value))
        }
        _ => quote(argument),
    }
}

/// Where the workspace is in the synthesized call: where a Docker action
/// (aevea's) sees it, an absolute path, so that the translation places the
/// Dockerfile without a run-time lookup. Stripped again from the buildx
/// options, since build-push-action reads paths relative to the workspace.
const WORKSPACE: &str = "/github/workspace";

fn in_workspace(path: &str) -> String {
    let path = path.trim();
    match path {
        "" | "." | "./" => WORKSPACE.to_string(),
        path if path.starts_with('/') => path.to_string(),
        path => format!("{WORKSPACE}/{}", path.trim_end_matches('/')),
    }
}

/// One input of the step: its value (a scalar) and the span of the value.
struct Reader<'p> {
    pipeline: &'p Pipeline,
    step: &'p Step,
}

impl Reader<'_> {
    fn entry(&self, name: &str) -> Option<&Entry> {
        self.step.input(name)
    }

    fn get(&self, name: &str) -> Result<Option<(String, Span)>, Refusal> {
        let Some(entry) = self.entry(name) else {
            return Ok(None);
        };
        let source = &self.pipeline.files[0];
        let span = source.tree.node(entry.value).span;
        if source.tree.is_null(&source.text, entry.value) {
            return Ok(None);
        }
        match source.tree.scalar(&source.text, entry.value) {
            Some(value) => Ok(Some((value.to_string(), span))),
            None => refuse(span, format!("`{name}` is not a plain value")),
        }
    }

    fn key_span(&self, name: &str) -> Option<Span> {
        self.entry(name)
            .map(|e| self.pipeline.files[0].tree.node(e.key).span)
    }

    fn map(&self, name: &str) -> Option<SourceMap> {
        let entry = self.entry(name)?;
        let source = &self.pipeline.files[0];
        let value = source.tree.scalar(&source.text, entry.value)?;
        SourceMap::of_node(&source.text, source.tree.node(entry.value), value)
    }
}

/// Plans one known action's step.
pub fn plan(
    pipeline: &Pipeline,
    step: &Step,
    known: Known,
    action: &actions::ActionRef,
    options: &Options,
) -> Result<Planned, Refusal> {
    let source = &pipeline.files[0];
    let (_, uses) = step.uses.as_ref().expect("an action step has `uses:`");
    let uses_span = source.tree.node(uses.node).span;
    let reader = Reader { pipeline, step };
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
        Known::Aevea => aevea(&reader, action, uses_span, &mut findings)?,
        Known::Int128 => (int128(&reader, uses_span, &mut findings)?, None),
    };
    let call = synth.invocation(uses_span);
    let workspace = Workspace {
        root: options.root.as_deref(),
        variables: Vec::new(),
        flavor: Flavor::Rootless,
    };
    let translation = command::translate(&call, &workspace);
    findings.extend(notes(&translation, options)?);
    if !translation.daemon_config.is_empty() {
        return refuse(
            uses_span,
            "registry settings (mirrors, insecure or private-CA registries) go into buildkitd.toml: give them to \
             docker/setup-buildx-action's `buildkitd-config-inline` by hand",
        );
    }
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
    let arguments = flavor::buildx_arguments(&translation.lines).map_err(|message| Refusal {
        span: uses_span,
        message,
    })?;
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
        match note.fate {
            Fate::Blocked => return refuse(note.span, note.message.clone()),
            Fate::Unsafe if !options.unsafe_fixes => {
                return refuse(
                    note.span,
                    format!("{} (applied only with --unsafe)", note.message),
                );
            }
            Fate::Unsafe => findings.push(
                Finding::new(
                    Rule::UnsafeFlag,
                    0,
                    note.span,
                    format!("applied with --unsafe: {}", note.message),
                )
                .label("dropped"),
            ),
            Fate::Dropped => findings.push(
                Finding::new(Rule::DroppedFlag, 0, note.span, note.message.clone())
                    .label("dropped"),
            ),
            Fate::Note => findings.push(Finding::new(
                Rule::MigrationNote,
                0,
                note.span,
                note.message.clone(),
            )),
        }
    }
    Ok(findings)
}

/// aevea/action-kaniko's call, as its `entrypoint.sh` builds it
/// (v0.6.0 to v0.14.0).
fn aevea(
    reader: &Reader,
    action: &actions::ActionRef,
    uses_span: Span,
    findings: &mut Vec<Finding>,
) -> Result<(Synth, Option<Login>), Refusal> {
    let version = actions::aevea_version(&action.reference).map_err(|message| Refusal {
        span: uses_span,
        message,
    })?;
    if let Some(version) = version
        && (version < AEVEA_SUPPORTED.0 || version > AEVEA_SUPPORTED.1)
    {
        return refuse(
            uses_span,
            format!(
                "aevea/action-kaniko {version} is not a release the migration reads ({} to {}): before v0.6.0 the \
                 action built from the whole workspace with no `path`; move the step to a supported release first",
                AEVEA_SUPPORTED.0, AEVEA_SUPPORTED.1
            ),
        );
    }
    let at_least = |v: Version| version.is_none_or(|own| own >= v);
    for name in ["skip_unchanged_digest", "cache_directory"] {
        if let Some((_, span)) = reader.get(name)? {
            return refuse(
                span,
                format!(
                    "`{name}` has no build-push-action counterpart: compare digests or keep a local cache by hand"
                ),
            );
        }
    }
    let registry = reader.get("registry")?;
    let registry_span = registry.as_ref().map_or(uses_span, |r| r.1);
    let registry = registry.map_or_else(|| "docker.io".to_string(), |r| r.0);
    if registry.contains("${{") {
        return refuse(
            registry_span,
            "the registry is an expression: the action treats `ghcr.io` and `docker.io` apart (it prefixes ghcr.io \
             images with the repository), which the tool cannot decide; write the registry as text",
        );
    }
    if registry == "ghcr.io" && at_least(Version(0, 7, 0))
        || registry == "docker.pkg.github.com" && !at_least(Version(0, 7, 0))
    {
        return refuse(
            registry_span,
            format!(
                "on {registry} the action prefixed the image with the lower-cased repository name, which a workflow \
                 expression cannot compute; write the full image name in lower case"
            ),
        );
    }
    let Some((image, image_span)) = reader.get("image")? else {
        return refuse(uses_span, "the step has no `image`: the action would stop");
    };
    let Some((mut tag, tag_span)) = reader.get("tag")? else {
        return refuse(
            uses_span,
            "without `tag` the action tagged the image with the branch or tag name, `/` replaced by `-` (`latest` on \
             master), which a workflow expression cannot compute; set `tag:`",
        );
    };
    if let Some((prefix, span)) = reader.get("strip_tag_prefix")? {
        if tag.contains("${{") || prefix.contains(['*', '?', '[', '$']) {
            return refuse(
                span,
                "`strip_tag_prefix` applies to a tag known only at run time",
            );
        }
        tag = tag.strip_prefix(&prefix).unwrap_or(&tag).to_string();
    }
    let latest = match reader.get("tag_with_latest")? {
        Some((value, span)) if value.contains("${{") => {
            return refuse(
                span,
                "`tag_with_latest` is an expression: the tool cannot tell whether it adds `:latest`",
            );
        }
        Some((value, _)) if at_least(Version(0, 6, 2)) => value == "true",
        Some((value, _)) => !value.is_empty(),
        None => false,
    };
    let prefix = if registry == "docker.io" {
        String::new()
    } else {
        format!("{registry}/")
    };
    let username = match reader.get("username")? {
        Some((value, _)) => value,
        None => "${{ github.actor }}".to_string(),
    };
    let password = match reader.get("password")? {
        Some((value, _)) => value,
        None if reader.step.env.iter().any(|e| e.name == "GITHUB_TOKEN") => {
            "${{ env.GITHUB_TOKEN }}".to_string()
        }
        None => {
            return refuse(
                uses_span,
                "the step has no `password` (nor GITHUB_TOKEN in its env): the action would stop",
            );
        }
    };
    let login = Login {
        registry: (registry != "docker.io").then(|| registry.clone()),
        username,
        password,
    };
    findings.push(
        Finding::new(
            Rule::MigrationNote,
            0,
            reader.key_span("password").or(reader.key_span("username")).unwrap_or(uses_span),
            "the action logged in to the registry by itself: docker/login-action does it now, for this and later \
             steps of the job (it logs out when the job ends)",
        )
        .label("login"),
    );
    let mut synth = Synth::default();
    if let Some((value, span)) = reader.get("cache")? {
        {
            if value == "false" {
                findings.push(Finding::new(
                    Rule::MigrationNote,
                    0,
                    span,
                    "`cache: false` turned the cache on: the action checks only that the input is set; the cache stays on",
                ));
            }
            synth.flag("--cache=true", span);
        }
    }
    if let Some((value, span)) = reader.get("cache_ttl")? {
        synth.value("--cache-ttl", &value, span);
    }
    if let Some((value, span)) = reader.get("cache_registry")? {
        synth.value("--cache-repo", &value, span);
    }
    let (path, path_span) = reader
        .get("path")?
        .unwrap_or_else(|| (".".into(), uses_span));
    synth.value("--context", &in_workspace(&path), path_span);
    let (file, file_span) = reader
        .get("build_file")?
        .unwrap_or_else(|| ("Dockerfile".into(), uses_span));
    let dockerfile = format!("{}/{file}", in_workspace(&path));
    synth.value("--dockerfile", &dockerfile, file_span);
    if let Some((value, span)) = reader.get("target")? {
        synth.value("--target", &value, span);
    }
    let destination_span = Span::new(
        image_span.start().min(tag_span.start()),
        image_span.end().max(tag_span.end()),
    );
    synth.value(
        "--destination",
        &format!("{prefix}{image}:{tag}"),
        destination_span,
    );
    if latest {
        synth.value(
            "--destination",
            &format!("{prefix}{image}:latest"),
            destination_span,
        );
    }
    if let Some((value, span)) = reader.get("extra_args")? {
        if !at_least(Version(0, 11, 0)) && value.contains(['"', '\'', '\\']) {
            return refuse(
                span,
                "before v0.11.0 the action split `extra_args` at spaces without reading quotes: the tool cannot tell \
                 which arguments Kaniko received",
            );
        }
        synth.words(&value, reader.map("extra_args"), span);
    }
    synth.flag("--reproducible", uses_span);
    synth.flag("--force", uses_span);
    Ok((synth, Some(login)))
}

/// int128/kaniko-action's call, as its `run.ts` builds it (v1.69.0).
fn int128(reader: &Reader, uses_span: Span, findings: &mut Vec<Finding>) -> Result<Synth, Refusal> {
    let mut synth = Synth::default();
    for name in ["docker-run-args"] {
        if let Some((_, span)) = reader.get(name)? {
            return refuse(
                span,
                "arguments of the Kaniko container have no build-push-action counterpart",
            );
        }
    }
    if let Some((image, span)) = reader.get("executor")? {
        findings.push(
            Finding::new(
                Rule::DroppedFlag,
                0,
                span,
                format!("`executor: {image}` dropped: BuildKit builds instead"),
            )
            .label("dropped"),
        );
    }
    let (context, context_span) = reader
        .get("context")?
        .unwrap_or_else(|| (".".into(), uses_span));
    synth.value("--context", &in_workspace(&context), context_span);
    // Kaniko found a relative (or the default) Dockerfile in the context:
    // its own working directory is empty.
    match reader.get("file")? {
        Some((file, span)) => synth.value("--dockerfile", &in_workspace(&file), span),
        None => synth.value(
            "--dockerfile",
            &format!("{}/Dockerfile", in_workspace(&context)),
            context_span,
        ),
    }
    for (name, flag) in [("build-args", "--build-arg"), ("labels", "--label")] {
        for (line, span) in lines(reader, name)? {
            synth.value(flag, &line, span);
        }
    }
    let boolean = |name: &str| -> Result<Option<(bool, Span)>, Refusal> {
        match reader.get(name)? {
            None => Ok(None),
            Some((value, span)) => match value.as_str() {
                "true" | "True" | "TRUE" => Ok(Some((true, span))),
                "false" | "False" | "FALSE" => Ok(Some((false, span))),
                _ => refuse(
                    span,
                    format!("`{name}` is not a boolean the tool can read (`{value}`)"),
                ),
            },
        }
    };
    match boolean("push")? {
        Some((true, _)) => {}
        Some((false, span)) => synth.flag("--no-push", span),
        None => synth.flag("--no-push", uses_span),
    }
    for (line, span) in lines(reader, "tags")? {
        synth.value("--destination", &line, span);
    }
    if let Some((value, span)) = reader.get("target")? {
        synth.value("--target", &value, span);
    }
    if let Some((true, span)) = boolean("cache")? {
        synth.flag("--cache=true", span);
        if let Some((value, span)) = reader.get("cache-repository")? {
            synth.value("--cache-repo", &value, span);
        }
    }
    for (name, flag) in [
        ("cache-ttl", "--cache-ttl"),
        ("push-retry", "--push-retry"),
        ("verbosity", "--verbosity"),
    ] {
        if let Some((value, span)) = reader.get(name)? {
            synth.value(flag, &value, span);
        }
    }
    for (line, span) in lines(reader, "registry-mirror")? {
        synth.value("--registry-mirror", &line, span);
    }
    for (line, span) in lines(reader, "kaniko-args")? {
        synth.raw(&one_argument(&line), span);
    }
    Ok(synth)
}

/// A list input read as `core.getMultilineInput` does: one value per
/// non-empty line, trimmed, each at its span.
fn lines(reader: &Reader, name: &str) -> Result<Vec<(String, Span)>, Refusal> {
    let Some((value, span)) = reader.get(name)? else {
        return Ok(Vec::new());
    };
    let map = reader.map(name);
    let mut out = Vec::new();
    let mut offset = 0;
    for line in value.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        if !trimmed.is_empty() {
            let start = offset + (content.len() - content.trim_start().len());
            let at = map
                .as_ref()
                .map_or(span, |m| m.span_of(start, start + trimmed.len()));
            out.push((trimmed.to_string(), at));
        }
        offset += line.len();
    }
    Ok(out)
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
        assert_eq!(in_workspace("."), "/github/workspace");
        assert_eq!(in_workspace("./app/"), "/github/workspace/./app");
        assert_eq!(relative("/github/workspace"), ".");
        assert_eq!(relative("/github/workspace/./app"), "./app");
    }
}
