//! Where a Buildkite step builds with Kaniko: the image its container runs
//! (the k8s, kubernetes and docker plugins, or the step's own `image:`),
//! executor calls in exec-form lists and in shell text (`command:`,
//! `commands:`, a container's `command`/`args`, `docker run … <kaniko
//! image>`), and the paths only a Kaniko image had (`/kaniko/.docker`
//! mounts, `DOCKER_CONFIG`).

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::interpolate::{AgentText, unmark};
use super::model::{Document, PluginKind, Step, entry, value};
use super::script::Script;
use crate::config::Config;
use crate::kaniko::{self, in_docker, invocation::Invocation, invocation::Program, shell};
use crate::span::Span;
use crate::yaml::scalar::SourceMap;
use crate::yaml::{NodeId, Tree};

/// How a step uses Kaniko.
#[derive(Debug)]
pub struct StepUse<'d> {
    pub step: &'d Step,
    /// Kaniko images the step's build runs in.
    pub images: Vec<NodeId>,
    pub calls: Vec<Call>,
    /// Paths only a Kaniko image had: (span, path, what names it).
    pub paths: Vec<(Span, String)>,
    /// Kaniko images named elsewhere in the step: where, and the name.
    pub references: Vec<(Span, String)>,
}

impl StepUse<'_> {
    pub fn uses_kaniko(&self) -> bool {
        !self.images.is_empty() || !self.calls.is_empty() || !self.paths.is_empty()
    }
}

#[derive(Debug)]
pub struct Call {
    pub invocation: Invocation,
    pub form: Form,
    /// For [`Form::DockerRun`]: the `docker run` as the shared reading
    /// read it, which the migration on the agent translates.
    pub docker: Option<Box<in_docker::DockerUse>>,
    /// Where the call is written: a scalar and the call's range in its
    /// decoded value, when it lies in one shell value.
    pub origin: Option<super::script::Origin>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// `/kaniko/executor …` in shell text.
    Shell,
    /// `docker run … <kaniko image> …` in shell text.
    DockerRun,
    /// An exec-form list: the image's entrypoint gets each item as one
    /// argument. `list` is the `command:` (or `args:`) sequence.
    Exec { list: NodeId },
}

/// Kaniko images named outside every step (the pipeline's `env:`, a block
/// of anchors): where, and the name.
pub fn outside_steps(
    tree: &Tree,
    text: &str,
    document: &Document,
    config: &Config,
    usages: &[StepUse],
) -> Vec<(Span, String)> {
    // Images and calls the steps use through an anchor are theirs.
    let known: BTreeSet<NodeId> = usages
        .iter()
        .flat_map(|u| u.images.iter().copied())
        .collect();
    let mut calls: Vec<Span> = usages
        .iter()
        .flat_map(|u| u.calls.iter().map(|c| c.invocation.span))
        .collect();
    calls.sort();
    // Steps are disjoint and in file order: one binary search per mention.
    let mut steps: Vec<Span> = document
        .steps
        .iter()
        .map(|s| tree.node(s.node).span)
        .collect();
    steps.sort();
    let in_step = |span: Span| {
        let index = steps.partition_point(|s| s.start() <= span.start());
        index > 0 && span.end() <= steps[index - 1].end()
    };
    let mut found = Vec::new();
    for id in tree.node_ids() {
        let node = tree.node(id);
        let Some(written) = tree
            .scalar(text, id)
            .filter(|w| w.len() <= 4096 && w.contains("kaniko"))
        else {
            continue;
        };
        let written: &str = &written;
        let in_call = || {
            let index = calls.partition_point(|c| c.start() <= node.span.start());
            index > 0 && node.span.end() <= calls[index - 1].end()
        };
        if in_step(node.span) || known.contains(&id) || in_call() {
            continue;
        }
        for (at, word) in words_of(written) {
            let name = word.trim_matches(['"', '\'']);
            if is_kaniko(name, config) {
                let span = SourceMap::of_node(text, node, written)
                    .map_or(node.span, |map| map.span_of(at, at + word.len()));
                found.push((span, name.to_string()));
            }
        }
    }
    found
}

/// Looks at every step of a document.
pub fn detect<'d>(
    tree: &Tree,
    text: &str,
    document: &'d Document,
    config: &Config,
) -> Vec<StepUse<'d>> {
    // Scalars that mention Kaniko, by where they start: each step looks up
    // its own range, so the file is walked once whatever its step count.
    let mut mentions: Vec<(usize, NodeId)> = tree
        .node_ids()
        .filter(|&id| tree.scalar(text, id).is_some_and(|s| s.contains("kaniko")))
        .map(|id| (tree.node(id).span.start(), id))
        .collect();
    mentions.sort();
    let detector = Detector {
        tree,
        text,
        config,
        mentions: &mentions,
    };
    document
        .steps
        .iter()
        .map(|step| detector.step(step))
        .collect()
}

/// Whether a written image (as the agent gets it) is a Kaniko image.
pub fn is_kaniko(written: &str, config: &Config) -> bool {
    let image = unmark(&AgentText::new(written).text);
    kaniko::image::is_kaniko_image(&image) || config.is_extra_kaniko_image(&image)
}

struct Detector<'a> {
    tree: &'a Tree,
    text: &'a str,
    config: &'a Config,
    /// Scalars holding `kaniko`, sorted by their start.
    mentions: &'a [(usize, NodeId)],
}

impl Detector<'_> {
    fn scalar(&self, node: NodeId) -> Option<Cow<'_, str>> {
        self.tree.scalar(self.text, self.tree.deref(node))
    }

    fn kaniko_image(&self, node: Option<NodeId>) -> Option<NodeId> {
        let node = self.tree.deref(node?);
        is_kaniko(&self.scalar(node)?, self.config).then_some(node)
    }

    fn step<'d>(&self, step: &'d Step) -> StepUse<'d> {
        let mut found = StepUse {
            step,
            images: Vec::new(),
            calls: Vec::new(),
            paths: Vec::new(),
            references: Vec::new(),
        };
        // `env: {DOCKER_CONFIG: /kaniko/.docker}` reaches the container.
        for (name, node) in &step.env {
            let node = self.tree.deref(*node);
            let written = self.scalar(node).unwrap_or_default();
            let written: &str = &written;
            let value = written.strip_prefix("DOCKER_CONFIG=").unwrap_or(written);
            if name == "DOCKER_CONFIG" && kaniko::image_path(value, false) {
                found
                    .paths
                    .push((self.tree.node(node).span, value.to_string()));
            }
        }
        let mut step_script = Script::default();
        for &command in &step.commands {
            step_script.push_shell(self.tree, self.text, command, "\n");
        }
        // The step's commands run in the first container plugin's image.
        let mut commands_image: Option<bool> = None;
        for plugin in &step.plugins {
            let Some(config) = plugin.config else {
                continue;
            };
            match plugin.kind {
                PluginKind::K8s | PluginKind::Docker => {
                    let image = self.kaniko_image(value(self.tree, self.text, config, "image"));
                    found.images.extend(image);
                    if step_script.is_empty() {
                        self.exec_plugin(config, image.is_some(), &mut found);
                    } else {
                        commands_image.get_or_insert(image.is_some());
                    }
                    self.plugin_paths(config, plugin.kind, &mut found);
                }
                PluginKind::Kubernetes => {
                    for key in ["podSpec", "podSpecPatch"] {
                        if let Some(spec) = value(self.tree, self.text, config, key) {
                            let interposer =
                                match value(self.tree, self.text, config, "commandParams")
                                    .and_then(|p| value(self.tree, self.text, p, "interposer"))
                                    .and_then(|i| self.scalar(i))
                                    .as_deref()
                                {
                                    Some("vector") => Interposer::Vector,
                                    Some("legacy") => Interposer::Legacy,
                                    _ => Interposer::Buildkite,
                                };
                            self.pod_spec(
                                spec,
                                interposer,
                                !step_script.is_empty(),
                                &mut commands_image,
                                &mut found,
                            );
                        }
                    }
                }
                PluginKind::Other => {}
            }
        }
        if let Some(image) = self.kaniko_image(step.image) {
            found.images.push(image);
            commands_image = Some(true);
        }
        if !step_script.is_empty() {
            self.scan(&step_script, commands_image.unwrap_or(false), &mut found);
        }
        self.references(step, &mut found);
        found
    }

    /// The k8s and docker plugins without step commands: the plugin's
    /// `command:` list goes to the image's entrypoint (or `entrypoint:`).
    fn exec_plugin(&self, config: NodeId, in_kaniko_image: bool, found: &mut StepUse) {
        let (tree, text) = (self.tree, self.text);
        let Some(list) = value(tree, text, config, "command") else {
            return;
        };
        let entrypoint: Vec<NodeId> = match value(tree, text, config, "entrypoint") {
            Some(e) if tree.is_sequence(e) => tree.items(e).collect(),
            Some(e) => vec![e],
            None => Vec::new(),
        };
        let items: Vec<NodeId> = if tree.is_sequence(list) {
            tree.items(list).map(|i| tree.deref(i)).collect()
        } else {
            vec![list]
        };
        self.exec(&entrypoint, &items, list, in_kaniko_image, found);
    }

    /// An exec vector: `entrypoint` (empty: the image's own) then `items`.
    fn exec(
        &self,
        entrypoint: &[NodeId],
        items: &[NodeId],
        list: NodeId,
        in_kaniko_image: bool,
        found: &mut StepUse,
    ) {
        let program = entrypoint
            .first()
            .and_then(|&e| self.scalar(e))
            .map(|p| unmark(&AgentText::new(&p).text));
        let executor = match program.as_deref() {
            None => in_kaniko_image,
            Some(p) => kaniko::program_of(p, in_kaniko_image) == Some(Program::Executor),
        };
        let shell_program = program.as_deref().is_some_and(is_shell);
        if executor && entrypoint.len() <= 1 {
            let mut script = Script::default();
            for &item in items {
                script.push_argument(self.tree, self.text, item);
            }
            let commands = shell::commands(&script.text);
            let words = commands
                .first()
                .map(|c| c.words.as_slice())
                .unwrap_or_default();
            let to_source = |range: std::ops::Range<usize>| script.span_of(range);
            let (flags, problems) =
                kaniko::invocation::parse(Program::Executor, &script.text, words, &to_source);
            let list_span = self.tree.node(list).span;
            let key_span = self
                .tree
                .owner(list)
                .map_or(list_span, |(_, key)| self.tree.node(key).span);
            found.calls.push(Call {
                invocation: Invocation {
                    program: Program::Executor,
                    span: list_span,
                    flags,
                    problems,
                    script_range: 0..script.text.len(),
                    assignments: Vec::new(),
                    program_span: key_span,
                },
                form: Form::Exec { list },
                docker: None,
                origin: None,
            });
            return;
        }
        // `sh -c SCRIPT`: the script is shell text.
        let all: Vec<NodeId> = entrypoint.iter().chain(items).copied().collect();
        if shell_program || (program.is_none() && in_kaniko_image) {
            let start = if shell_program { entrypoint.len() } else { 0 };
            let rest = &all[start..];
            if let Some(position) = rest
                .iter()
                .position(|&n| self.scalar(n).as_deref() == Some("-c"))
                && let Some(&body) = rest.get(position + 1)
            {
                let mut script = Script::default();
                script.push_shell(self.tree, self.text, body, "\n");
                self.scan(&script, in_kaniko_image, found);
            }
        }
    }

    /// Containers of a `podSpec` or `podSpecPatch`.
    fn pod_spec(
        &self,
        spec: NodeId,
        interposer: Interposer,
        has_commands: bool,
        commands_image: &mut Option<bool>,
        found: &mut StepUse,
    ) {
        let (tree, text) = (self.tree, self.text);
        let Some(containers) = value(tree, text, spec, "containers") else {
            return;
        };
        for container in tree.items(containers) {
            let container = tree.deref(container);
            if !tree.is_mapping(container) {
                continue;
            }
            let image = self.kaniko_image(value(tree, text, container, "image"));
            found.images.extend(image);
            let list = |key: &str| -> Vec<NodeId> {
                match value(tree, text, container, key) {
                    Some(v) if tree.is_sequence(v) => {
                        tree.items(v).map(|i| tree.deref(i)).collect()
                    }
                    Some(v) if tree.scalar(text, v).is_some() => vec![v],
                    _ => Vec::new(),
                }
            };
            let (command, args) = (list("command"), list("args"));
            let shell_c = command.len() == 1
                && is_shell(&self.scalar(command[0]).unwrap_or_default())
                && args.first().and_then(|&a| self.scalar(a)).as_deref() == Some("-c");
            if command.is_empty() && args.is_empty() {
                if has_commands {
                    commands_image.get_or_insert(image.is_some());
                }
            } else if interposer == Interposer::Vector || shell_c {
                let list_node = value(tree, text, container, "args")
                    .or_else(|| value(tree, text, container, "command"))
                    .unwrap_or(container);
                let program: Vec<NodeId> = command.first().copied().into_iter().collect();
                let rest: Vec<NodeId> = command.iter().skip(1).chain(&args).copied().collect();
                self.exec(&program, &rest, list_node, image.is_some(), found);
            } else {
                // `buildkite` (the default): the `command` items are command
                // lines, joined with newlines; `args` are appended to the
                // last one, each shell-quoted. `legacy`: all joined with
                // spaces, unquoted.
                let mut script = Script::default();
                for &line in &command {
                    script.push_shell(tree, text, line, "\n");
                }
                for &arg in &args {
                    match interposer {
                        Interposer::Legacy => script.push_shell(tree, text, arg, " "),
                        _ => script.push_argument(tree, text, arg),
                    }
                }
                self.scan(&script, image.is_some(), found);
            }
            if let Some(mounts) = value(tree, text, container, "volumeMounts") {
                for mount in tree.items(mounts) {
                    let mount = tree.deref(mount);
                    if let Some(path) = value(tree, text, mount, "mountPath") {
                        self.path_value(path, found);
                    }
                }
            }
            if let Some(env) = value(tree, text, container, "env") {
                for item in tree.items(env) {
                    let item = tree.deref(item);
                    let named = value(tree, text, item, "name").and_then(|n| self.scalar(n));
                    if named.as_deref() == Some("DOCKER_CONFIG")
                        && let Some(v) = value(tree, text, item, "value")
                    {
                        self.path_value(v, found);
                    }
                }
            }
        }
    }

    /// `mount-secret`, `mount-hostpath`, `volumes` (`src:/kaniko/.docker`)
    /// and `environment` (`DOCKER_CONFIG=/kaniko/.docker`).
    fn plugin_paths(&self, config: NodeId, kind: PluginKind, found: &mut StepUse) {
        let (tree, text) = (self.tree, self.text);
        let keys: &[&str] = match kind {
            PluginKind::K8s => &["mount-secret", "mount-hostpath"],
            _ => &["volumes"],
        };
        let items = |key: &str| -> Vec<NodeId> {
            match value(tree, text, config, key) {
                Some(v) if tree.is_sequence(v) => tree.items(v).map(|i| tree.deref(i)).collect(),
                Some(v) => vec![v],
                None => Vec::new(),
            }
        };
        for key in keys {
            for item in items(key) {
                let Some(written) = self.scalar(item) else {
                    continue;
                };
                let written: &str = &written;
                let Some((_, target)) = written.split_once(':') else {
                    continue;
                };
                let target = target.split(':').next().unwrap_or(target);
                if kaniko::image_path(target, false) {
                    found.paths.push((tree.node(item).span, target.to_string()));
                }
            }
        }
        for item in items("environment") {
            let Some(written) = self.scalar(item) else {
                continue;
            };
            let written: &str = &written;
            if let Some(("DOCKER_CONFIG", v)) = written.split_once('=')
                && kaniko::image_path(v, false)
            {
                found.paths.push((tree.node(item).span, v.to_string()));
            }
        }
    }

    fn path_value(&self, node: NodeId, found: &mut StepUse) {
        if let Some(path) = self.scalar(node).filter(|p| kaniko::image_path(p, false)) {
            found
                .paths
                .push((self.tree.node(node).span, path.to_string()));
        }
    }

    /// Executor calls, `docker run` of a Kaniko image and `/kaniko/` paths
    /// in shell text.
    fn scan(&self, script: &Script, in_kaniko_image: bool, found: &mut StepUse) {
        let relevant = script.text.contains("kaniko")
            || in_kaniko_image
                && (script.text.contains("executor") || script.text.contains("DOCKER_CONFIG"));
        if !relevant {
            return;
        }
        let to_source = |range: std::ops::Range<usize>| script.span_of(range);
        for command in shell::commands(&script.text) {
            let Some(first) = command.words.first() else {
                continue;
            };
            if let Some(program) = kaniko::program_of(&first.value, in_kaniko_image) {
                let invocation = kaniko::read_call(program, &script.text, &command, &to_source);
                let origin = script.origin(invocation.script_range.clone());
                found.calls.push(Call {
                    invocation,
                    form: Form::Shell,
                    docker: None,
                    origin,
                });
                continue;
            }
            let is_kaniko_word = |word: &str| is_kaniko(&unmark(word), self.config);
            if let Some(docker) =
                in_docker::read(&script.text, &command, &is_kaniko_word, &to_source)
            {
                let words = &command.words;
                let image = docker.run.image;
                let end = words.last().map_or(first.range.end, |w| w.range.end);
                let range = command.range.start..end;
                // The executor's flags, after the image or in the debug
                // image's `sh -c` script; none when the container runs
                // another program (which the migration reports).
                let (program, flags, problems) = match docker.invocation() {
                    Some(call) => (call.program, call.flags.clone(), call.problems.clone()),
                    None => (Program::Executor, Vec::new(), Vec::new()),
                };
                let invocation = Invocation {
                    program,
                    span: to_source(first.range.start..end),
                    flags,
                    problems,
                    script_range: range.clone(),
                    assignments: Vec::new(),
                    program_span: docker.image_span,
                };
                found.calls.push(Call {
                    invocation,
                    form: Form::DockerRun,
                    docker: Some(Box::new(docker)),
                    origin: script.origin(range),
                });
                for word in &words[1..image] {
                    let target = word.value.split(':').nth(1).unwrap_or_default();
                    if kaniko::image_path(target, false) {
                        found
                            .paths
                            .push((to_source(word.range.clone()), target.to_string()));
                    }
                }
                continue;
            }
            if matches!(first.value.as_str(), "echo" | "printf") {
                continue;
            }
            for word in command.words.iter().skip(1).chain(&command.redirects) {
                if kaniko::image_path(&word.value, false) {
                    found
                        .paths
                        .push((to_source(word.range.clone()), word.value.clone()));
                }
            }
        }
    }

    /// Kaniko images named anywhere else in the step: an info each, at
    /// the word that names it.
    fn references(&self, step: &Step, found: &mut StepUse) {
        let span = self.tree.node(step.node).span;
        let known: BTreeSet<NodeId> = found.images.iter().copied().collect();
        let calls: Vec<Span> = found.calls.iter().map(|c| c.invocation.span).collect();
        let first = self
            .mentions
            .partition_point(|(start, _)| *start < span.start());
        let last = self
            .mentions
            .partition_point(|(start, _)| *start < span.end());
        for &(_, id) in &self.mentions[first..last] {
            let node = self.tree.node(id);
            if node.span.end() > span.end() || known.contains(&id) {
                continue;
            }
            let Some(written) = self.tree.scalar(self.text, id) else {
                continue;
            };
            let written: &str = &written;
            if written.len() > 4096 || !written.contains("kaniko") {
                continue;
            }
            for (at, word) in words_of(written) {
                let name = word.trim_matches(['"', '\'']);
                if !is_kaniko(name, self.config) {
                    continue;
                }
                let span = match SourceMap::of_node(self.text, node, written) {
                    Some(map) => map.span_of(at, at + word.len()),
                    None => node.span,
                };
                if calls
                    .iter()
                    .any(|c| c.start() <= span.start() && span.end() <= c.end())
                {
                    continue;
                }
                found.references.push((span, name.to_string()));
            }
        }
    }
}

/// Words of a value (split at whitespace and `=`) that may name an image
/// (a path: a bare `kaniko` is a word, not an image), with their offsets.
fn words_of(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split(|c: char| c.is_whitespace() || c == '=')
        .scan(0, |offset, word| {
            let at = *offset;
            *offset += word.len() + 1;
            Some((at, word))
        })
        .filter(|(_, word)| word.contains('/'))
}

/// How the kubernetes plugin turns a container's `command` and `args`
/// into the command the agent runs (`commandParams.interposer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Interposer {
    Buildkite,
    Vector,
    Legacy,
}

/// `sh`, `/bin/sh`, `/busybox/sh`, `bash`, `ash`.
fn is_shell(program: &str) -> bool {
    matches!(
        program.rsplit('/').next(),
        Some("sh" | "bash" | "ash" | "dash")
    )
}

/// The entry named `key` in a mapping, for callers outside this module.
pub fn config_entry(
    tree: &Tree,
    text: &str,
    config: NodeId,
    key: &str,
) -> Option<(NodeId, NodeId)> {
    entry(tree, text, config, key)
}
