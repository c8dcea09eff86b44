//! The executor call a Kaniko action made, written from the step's inputs
//! the way the action's own code wrote it (aevea's `entrypoint.sh`,
//! int128's `run.ts`, see [`super::actions`]), each argument at the span of
//! the input it comes from, so that the shared translation reports every
//! flag where the user wrote it.

use std::ops::Range;

use super::actions::{self, AEVEA_SUPPORTED, Version};
use super::build_push::{Login, Refusal, refuse};
use super::workflow::{Entry, Job, Step};
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::invocation::{self, Invocation, Program};
use crate::kaniko::shell;
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;

/// The executor call an action would make, as shell text, with the span
/// each piece comes from.
#[derive(Default)]
pub struct Synth {
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

    pub fn invocation(&self, program_span: Span) -> Invocation {
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
pub const WORKSPACE: &str = "/github/workspace";

pub fn in_workspace(path: &str) -> String {
    let path = path.trim();
    match path {
        "" | "." | "./" => WORKSPACE.to_string(),
        path if path.starts_with('/') => path.to_string(),
        path => format!("{WORKSPACE}/{}", path.trim_end_matches('/')),
    }
}

/// One input of the step: its value (a scalar) and the span of the value.
pub struct Reader<'p> {
    pub pipeline: &'p Pipeline,
    pub job: &'p Job,
    pub step: &'p Step,
}

/// `${{ env.NAME }}`, which GitHub replaces before the action starts.
const ENV_EXPRESSION: &str = r"\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}";
/// `$NAME` or `${NAME}`, which a shell in the action expands.
const SHELL_VARIABLE: &str = r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))";

/// An input's value with the `env` values the file sets put in, and the
/// names that were.
pub struct Resolved {
    pub value: String,
    pub names: Vec<String>,
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

    /// What `env.NAME` holds at this step, as the file sets it (the step's,
    /// the job's or the workflow's `env:`). `None` when set nowhere, or when
    /// an earlier step of the job writes `$GITHUB_ENV`, which may change it.
    fn env(&self, name: &str) -> Option<String> {
        let source = &self.pipeline.files[0];
        let rewritten = self.job.steps.iter().any(|s| {
            s.index < self.step.index
                && s.run
                    .as_ref()
                    .is_some_and(|(_, run)| run.value.contains("GITHUB_ENV"))
        });
        if rewritten {
            return None;
        }
        self.job.env_value(
            &source.tree,
            &source.text,
            self.step,
            &format!("${{{{ env.{name} }}}}"),
        )
    }

    /// `value` with each `${{ env.NAME }}` the file sets replaced by its
    /// text, as GitHub does before the action reads its inputs; with
    /// `shell`, also each `$NAME` whose value a shell's word splitting
    /// reads as written (no quotes, no expansions), for an input the
    /// action `eval`s. Anything else stays as written.
    pub fn resolve(&self, value: &str, shell: bool) -> Resolved {
        let mut names = Vec::new();
        let expression = regex::Regex::new(ENV_EXPRESSION).expect("the pattern is valid");
        let mut out = expression
            .replace_all(value, |c: &regex::Captures| match self.env(&c[1]) {
                Some(text) => {
                    names.push(c[1].to_string());
                    text
                }
                None => c[0].to_string(),
            })
            .into_owned();
        if shell && !out.contains(['\'', '"', '\\']) {
            let variable = regex::Regex::new(SHELL_VARIABLE).expect("the pattern is valid");
            out = variable
                .replace_all(&out, |c: &regex::Captures| {
                    let name = c.get(1).or(c.get(2)).map_or("", |m| m.as_str());
                    match self.env(name).filter(|text| {
                        text.chars()
                            .all(|ch| ch.is_ascii_alphanumeric() || " -_=./:,@+%".contains(ch))
                    }) {
                        Some(text) => {
                            names.push(name.to_string());
                            text
                        }
                        None => c[0].to_string(),
                    }
                })
                .into_owned();
        }
        Resolved { value: out, names }
    }

    /// An input's value, with the `env` values the file sets put in.
    fn get_resolved(&self, name: &str) -> Result<Option<(Resolved, Span)>, Refusal> {
        Ok(self
            .get(name)?
            .map(|(value, span)| (self.resolve(&value, false), span)))
    }

    fn key_span(&self, name: &str) -> Option<Span> {
        self.entry(name)
            .map(|e| self.pipeline.files[0].tree.node(e.key).span)
    }

    fn map(&self, name: &str) -> Option<SourceMap> {
        let entry = self.entry(name)?;
        let source = &self.pipeline.files[0];
        let value = source.tree.scalar(&source.text, entry.value)?;
        SourceMap::of_node(&source.text, source.tree.node(entry.value), &value)
    }
}

/// aevea/action-kaniko's call, as its `entrypoint.sh` builds it
/// (v0.6.0 to v0.14.0).
pub fn aevea(
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
    if let Some((value, span)) = reader.get("debug")? {
        findings.push(
            Finding::new(
                Rule::DroppedFlag,
                0,
                span,
                format!("`debug: {value}` dropped: it traced the action's own script"),
            )
            .label("dropped"),
        );
    }
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
    let written_registry = reader.get("registry")?;
    let registry_span = written_registry.as_ref().map_or(uses_span, |r| r.1);
    let written_registry = written_registry.map_or_else(|| "docker.io".to_string(), |r| r.0);
    // The action's choices depend on the registry's value: one the file
    // sets in `env:` is read from there; the step keeps the expression.
    let resolved = reader.resolve(&written_registry, false);
    env_note(&resolved, "registry", registry_span, findings);
    let registry = resolved.value;
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
        let resolved = reader.resolve(&tag, false);
        let prefix = reader.resolve(&prefix, false);
        if !resolved.names.is_empty() || !prefix.names.is_empty() {
            let mut both = resolved.names.clone();
            both.extend(prefix.names.iter().cloned());
            env_note(
                &Resolved {
                    value: String::new(),
                    names: both,
                },
                "tag",
                span,
                findings,
            );
        }
        tag = resolved.value;
        let prefix = prefix.value;
        if tag.contains("${{") || prefix.contains(['*', '?', '[', '$']) {
            return refuse(
                span,
                "`strip_tag_prefix` applies to a tag known only at run time",
            );
        }
        tag = tag.strip_prefix(&prefix).unwrap_or(&tag).to_string();
    }
    let latest = match reader.get_resolved("tag_with_latest")? {
        Some((resolved, span)) => {
            env_note(&resolved, "tag_with_latest", span, findings);
            Some((resolved.value, span))
        }
        None => None,
    };
    let latest = match latest {
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
        format!("{written_registry}/")
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
        registry: (registry != "docker.io").then(|| written_registry.clone()),
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
        // v0.11.0 and later `eval` the text: `$NAME` is the action's
        // environment, which the file's `env:` sets.
        let resolved = reader.resolve(&value, at_least(Version(0, 11, 0)));
        env_note(&resolved, "extra_args", span, findings);
        if resolved.names.is_empty() {
            synth.words(&value, reader.map("extra_args"), span);
        } else {
            synth.words(&resolved.value, None, span);
        }
    }
    synth.flag("--reproducible", uses_span);
    synth.flag("--force", uses_span);
    Ok((synth, Some(login)))
}

/// int128/kaniko-action's call, as its `run.ts` builds it (v1.69.0).
pub fn int128(
    reader: &Reader,
    uses_span: Span,
    findings: &mut Vec<Finding>,
) -> Result<Synth, Refusal> {
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
        for (line, span) in lines(reader, name, false)? {
            synth.value(flag, &line, span);
        }
    }
    let mut notes = Vec::new();
    let mut boolean = |name: &str| -> Result<Option<(bool, Span)>, Refusal> {
        match reader.get_resolved(name)? {
            None => Ok(None),
            Some((resolved, span)) => {
                env_note(&resolved, name, span, &mut notes);
                boolean_value(name, &resolved.value, span)
            }
        }
    };
    match boolean("push")? {
        Some((true, _)) => {}
        Some((false, span)) => synth.flag("--no-push", span),
        None => synth.flag("--no-push", uses_span),
    }
    for (line, span) in lines(reader, "tags", false)? {
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
    for (line, span) in lines(reader, "registry-mirror", false)? {
        synth.value("--registry-mirror", &line, span);
    }
    if let Some((resolved, span)) = reader.get_resolved("kaniko-args")? {
        env_note(&resolved, "kaniko-args", span, findings);
    }
    for (line, span) in lines(reader, "kaniko-args", true)? {
        synth.raw(&one_argument(&line), span);
    }
    findings.extend(notes);
    Ok(synth)
}

/// A boolean input as the action's `core.getBooleanInput` reads it.
fn boolean_value(name: &str, value: &str, span: Span) -> Result<Option<(bool, Span)>, Refusal> {
    match value {
        "true" | "True" | "TRUE" => Ok(Some((true, span))),
        "false" | "False" | "FALSE" => Ok(Some((false, span))),
        value => refuse(
            span,
            format!("`{name}` is not a boolean the tool can read (`{value}`)"),
        ),
    }
}

/// Says which `env` values an input's value was read with.
fn env_note(resolved: &Resolved, input: &str, span: Span, findings: &mut Vec<Finding>) {
    if resolved.names.is_empty() {
        return;
    }
    let names: Vec<String> = resolved.names.iter().map(|n| format!("`{n}`")).collect();
    findings.push(
        Finding::new(
            Rule::MigrationNote,
            0,
            span,
            format!(
                "`{input}` was read with the value the file's `env:` gives {}",
                names.join(", ")
            ),
        )
        .label("env"),
    );
}

/// A list input read as `core.getMultilineInput` does: one value per
/// non-empty line, trimmed, each at its span. With `resolve`, the file's
/// `env` values are put in first (for lines read as executor flags; a
/// value build-push-action takes as it is keeps its expression).
fn lines(reader: &Reader, name: &str, resolve: bool) -> Result<Vec<(String, Span)>, Refusal> {
    let Some((written, span)) = reader.get(name)? else {
        return Ok(Vec::new());
    };
    // GitHub puts the expression's value in before the action splits the
    // lines; the values then point at the whole input.
    let resolved = if resolve {
        reader.resolve(&written, false)
    } else {
        Resolved {
            value: written,
            names: Vec::new(),
        }
    };
    let map = reader.map(name).filter(|_| resolved.names.is_empty());
    let words = super::findings::lines(&resolved.value);
    Ok(words
        .into_iter()
        .map(|word| {
            let at = map
                .as_ref()
                .map_or(span, |m| m.span_of(word.range.start, word.range.end));
            (word.value, at)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_go_under_the_workspace() {
        assert_eq!(in_workspace("."), "/github/workspace");
        assert_eq!(in_workspace("./app/"), "/github/workspace/./app");
        assert_eq!(one_argument("--snapshot-mode=redo"), "--snapshot-mode=redo");
        assert_eq!(
            one_argument("--build-arg=A=two words"),
            "--build-arg=\"A=two words\""
        );
    }
}
