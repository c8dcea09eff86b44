//! Migration of Buildkite steps to BuildKit, keeping the plugin the step
//! runs in: the k8s plugin's own keys where it has them (`image`,
//! `entrypoint`, `command`, `environment`, `mount-secret`, `privileged`) and
//! its jsonnet `patch` for the rest; a kubernetes plugin container's
//! `image`, `env`, `securityContext` and `volumeMounts`, with `emptyDir`
//! volumes in its pod spec. The shape is Buildkite's "Rootless (strict)"
//! BuildKit setup, or its privileged one with `--flavor privileged`
//! (`docs/buildkite.md`).

use std::collections::BTreeSet;

use super::detect::{self, Call, Form, StepUse};
use super::edit::{Editor, Value};
use super::interpolate::{self, to_pipeline};
use super::model::{self, Plugin, PluginKind, Step, value};
use crate::finding::Finding;
use crate::gitlab::Pipeline;
use crate::kaniko::{self, shell};
use crate::mapping::command::{self, Fate, FlagNote, Workspace};
use crate::mapping::docker_run::{self, Builder};
use crate::mapping::flavor::Flavor;
use crate::migrate::{Migration, Options, Refused};
use crate::rewrite::{self, encode};
use crate::rules::Rule;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;
use crate::yaml::{NodeId, Tree};

mod settings;

use settings::{ROOT_HOME, ROOTLESS_HOME, runner_note};

/// Plans, applies and verifies the migration of one Buildkite file.
pub fn migrate(pipeline: &Pipeline, options: &Options) -> Result<Migration, Refused> {
    let Some(file) = pipeline.files.first() else {
        return Ok(Migration::default());
    };
    let (tree, text) = (&file.tree, file.text.as_str());
    let document = model::read(tree, text);
    let usages = detect::detect(tree, text, &document, &options.config);
    let mut migration = Migration::default();
    let mut all_edits = Vec::new();
    let mut all_changes = Vec::new();
    // Each migrated step's edits, by index into `all_edits`.
    let mut job_edits = std::collections::BTreeMap::new();
    let pipeline_env: Vec<(String, String)> = env_values(tree, text, &document.env);
    for usage in usages.iter().filter(|u| u.uses_kaniko()) {
        let name = usage.step.name.clone();
        let planner = Planner {
            tree,
            text,
            options,
            usage,
            pipeline_env: &pipeline_env,
            editor: Editor::new(tree, text),
            blockers: Vec::new(),
            notes: Vec::new(),
        };
        match planner.plan() {
            Ok((editor, notes)) => {
                let edits = editor.edits();
                let indices = (all_edits.len()..all_edits.len() + edits.len()).map(|at| (0, at));
                job_edits.insert(name.clone(), indices.collect());
                all_edits.extend(edits);
                all_changes.extend(editor.changes);
                migration
                    .findings
                    .extend(notes.into_iter().map(|f| f.jobs(vec![name.clone()])));
                migration.migrated_jobs.push(name);
            }
            Err(blockers) => {
                for (span, reason) in blockers {
                    migration.findings.push(
                        Finding::new(
                            Rule::NotMigrated,
                            0,
                            span,
                            format!("step `{name}` is not migrated: {}", interpolate::unmark(&reason)),
                        )
                        .label("kept as it is")
                        .help("fix this by hand, or wait for a version that maps it; the rest of the file is migrated")
                        .jobs(vec![name.clone()]),
                    );
                }
                migration.remaining_jobs.push(name);
            }
        }
    }
    // Steps that now run BuildKit in a container (not `docker buildx` on
    // the agent) ask the cluster for its settings.
    let in_containers: Vec<&StepUse> = usages
        .iter()
        .filter(|u| migration.migrated_jobs.contains(&u.step.name) && !on_agent(u))
        .collect();
    if let Some(first) = in_containers.first() {
        migration.findings.push(
            Finding::new(
                Rule::MigrationNote,
                0,
                first.step.name_span,
                runner_note(options.config.flavor),
            )
            .jobs(in_containers.iter().map(|u| u.step.name.clone()).collect()),
        );
    }
    migration.findings.sort_by_key(|f| (f.span.start(), f.rule));
    if all_edits.is_empty() {
        return Ok(migration);
    }
    let (rewritten, new_tree, applied) =
        rewrite::apply_verified(text, tree, &all_edits, &all_changes)
            .map_err(|message| Refused { file: 0, message })?;
    migration.job_edits = crate::migrate::JobEdits::indexed(
        std::collections::BTreeMap::from([(0, applied)]),
        job_edits,
    );
    let again = model::read(&new_tree, &rewritten);
    let migrated: BTreeSet<&String> = migration.migrated_jobs.iter().collect();
    for usage in detect::detect(&new_tree, &rewritten, &again, &options.config) {
        if usage.uses_kaniko() && migrated.contains(&usage.step.name) {
            return Err(Refused {
                file: 0,
                message: format!(
                    "step `{}` would still use Kaniko after the rewrite",
                    usage.step.name
                ),
            });
        }
    }
    migration.rewrites.push(crate::migrate::Rewrite {
        file: 0,
        text: rewritten,
    });
    Ok(migration)
}

fn env_values(tree: &Tree, text: &str, env: &[(String, NodeId)]) -> Vec<(String, String)> {
    env.iter()
        .filter_map(|(name, node)| {
            let written = tree.scalar(text, tree.deref(*node))?;
            let written: &str = &written;
            let value = written
                .split_once('=')
                .filter(|(n, _)| n == name)
                .map_or(written, |(_, v)| v);
            Some((name.clone(), value.to_string()))
        })
        .collect()
}

type Blockers = Vec<(Span, String)>;

struct Planner<'a, 'd> {
    tree: &'a Tree,
    text: &'a str,
    options: &'a Options,
    usage: &'a StepUse<'d>,
    pipeline_env: &'a [(String, String)],
    editor: Editor<'a>,
    blockers: Blockers,
    notes: Vec<Finding>,
}

/// Where the step's build runs, which decides what is edited.
enum Runner<'d> {
    /// The k8s plugin's Job container.
    K8s(&'d Plugin),
    /// A kubernetes plugin container (in `podSpec` or `podSpecPatch`).
    Container {
        spec: NodeId,
        container: NodeId,
    },
    Docker(&'d Plugin),
}

impl<'a, 'd> Planner<'a, 'd> {
    fn step(&self) -> &'d Step {
        self.usage.step
    }

    fn block(&mut self, span: Span, reason: impl Into<String>) {
        self.blockers.push((span, reason.into()));
    }

    fn note(&mut self, rule: Rule, span: Span, message: impl Into<String>) {
        self.notes.push(Finding::new(rule, 0, span, message.into()));
    }

    fn flavor(&self) -> Flavor {
        self.options.config.flavor
    }

    fn plan(mut self) -> Result<(Editor<'a>, Vec<Finding>), Blockers> {
        let step = self.step();
        if let Some(reason) = self.options.kept_jobs.get(&step.name) {
            return Err(vec![(
                step.name_span,
                format!("kept on Kaniko by an ignore comment ({reason})"),
            )]);
        }
        // A `docker run` on the agent becomes `docker buildx build` there,
        // whatever the flavour.
        if !self.runs_on_agent() && !matches!(self.flavor(), Flavor::Rootless | Flavor::Privileged)
        {
            return Err(vec![(
                step.name_span,
                format!(
                    "the `{}` flavour needs a daemon or service beside the build, which a Buildkite step's pod does not have: \
                     use `--flavor rootless` (the default) or `privileged`",
                    self.flavor().as_str()
                ),
            )]);
        }
        if let Some((_, value)) = self
            .pipeline_env
            .iter()
            .find(|(name, value)| name == "DOCKER_CONFIG" && kaniko::image_path(value, false))
        {
            return Err(vec![(
                step.name_span,
                format!(
                    "the pipeline's `env:` sets DOCKER_CONFIG={value} for every step: buildctl would look for \
                     credentials there; remove it (the BuildKit image reads $HOME/.docker) before migrating"
                ),
            )]);
        }
        let on_agent = self.runs_on_agent();
        match self.runner() {
            Some(runner) => self.plan_runner(runner),
            None if on_agent => self.plan_docker_runs(),
            None => {
                let reason = if self.usage.calls.iter().any(|c| c.form == Form::DockerRun) {
                    "`docker run` of a Kaniko image on the agent is not rewritten by this version: run the build in a \
                     kubernetes or k8s plugin container, or with `docker buildx build`"
                } else if step.image.is_some() {
                    "the step's own `image:` cannot carry the security settings rootless BuildKit needs: add a \
                     `kubernetes` plugin `podSpecPatch` for its container (see docs/buildkite.md)"
                } else {
                    "the step runs Kaniko without a container plugin this version migrates (k8s, kubernetes, docker)"
                };
                self.block(step.name_span, reason);
            }
        }
        for call in &self.usage.calls {
            if call.form == Form::DockerRun && !on_agent {
                self.block(
                    call.invocation.program_span,
                    "`docker run` of a Kaniko image is not rewritten by this version",
                );
            }
        }
        if self.blockers.is_empty() {
            self.check_inside_step();
        }
        if self.blockers.is_empty() {
            Ok((self.editor, self.notes))
        } else {
            Err(self.blockers)
        }
    }

    /// The step's Kaniko is all `docker run` in its own commands, on the
    /// agent: no container image or plugin runs the commands elsewhere.
    fn runs_on_agent(&self) -> bool {
        on_agent(self.usage)
    }

    /// Each `docker run` of a Kaniko image on the agent becomes `docker
    /// buildx build` on the agent's Docker, in place (the shared
    /// [`docker_run`] translation), written with run-time `$` as `$$`.
    fn plan_docker_runs(&mut self) {
        let mut variables: Vec<(String, String)> = self.pipeline_env.to_vec();
        variables.extend(env_values(self.tree, self.text, &self.step().env));
        let job_docker_config = variables.iter().any(|(name, _)| name == "DOCKER_CONFIG");
        let workspace = Workspace {
            root: self.options.root.as_deref(),
            variables,
            flavor: Flavor::Buildx,
            ci: &super::CI_VARIABLES,
        };
        let usage = self.usage;
        for call in &usage.calls {
            let Some(docker) = &call.docker else {
                continue;
            };
            self.block_variable_flags(&call.invocation);
            let planned = docker_run::plan(docker, &workspace, Builder::Own, job_docker_config);
            let translated = planned.translation.iter().flat_map(|t| &t.notes);
            for note in planned.notes.iter().chain(translated) {
                self.collect(note);
            }
            if let Some(text) = planned.call {
                self.shell_command(call, &text.lines());
            }
        }
        if let Some(call) = usage.calls.first() {
            self.note(
                Rule::MigrationNote,
                call.invocation.program_span,
                "the build runs on the agent's Docker with buildx, in a docker-container builder named `kaniko2buildkit` \
                 (registry caches need one; the agent's default builder stays the default), made once per agent and \
                 reused by every migrated step",
            );
        }
    }

    /// A `$VAR` word that may hold several executor flags cannot be read.
    fn block_variable_flags(&mut self, invocation: &kaniko::invocation::Invocation) {
        for problem in &invocation.problems {
            if let kaniko::invocation::Problem::Variable { word, span, .. } = problem {
                self.block(
                    *span,
                    format!("`{word}` may hold executor flags that cannot be seen here: write them out before migrating"),
                );
            }
        }
    }

    /// Edits must stay inside the step, and touch nothing another step
    /// shares through an anchor.
    fn check_inside_step(&mut self) {
        let span = self.tree.node(self.step().node).span;
        let outside = self
            .editor
            .spans()
            .any(|e| e.start() < span.start() || e.end() > span.end());
        let anchored = self
            .editor
            .changes
            .iter()
            .any(|c| self.anchored_between(change_node(c)));
        if outside || anchored {
            self.block(
                self.step().name_span,
                "the step's plugin settings are shared with other steps through a YAML anchor: migrate them by hand",
            );
        }
    }

    fn anchored_between(&self, mut node: NodeId) -> bool {
        let step = self.step().node;
        loop {
            if self.tree.anchor(node).is_some() {
                return true;
            }
            if node == step {
                return false;
            }
            match self
                .tree
                .owner(node)
                .map(|(m, _)| m)
                .or_else(|| self.tree.item_of(node).map(|(s, _)| s))
            {
                Some(parent) => node = parent,
                None => return false,
            }
        }
    }

    /// The container the build runs in: a plugin whose image is Kaniko, or
    /// the one running the calls.
    fn runner(&self) -> Option<Runner<'d>> {
        let step = self.step();
        let images: BTreeSet<NodeId> = self.usage.images.iter().copied().collect();
        for plugin in &step.plugins {
            let Some(config) = plugin.config else {
                continue;
            };
            match plugin.kind {
                PluginKind::K8s | PluginKind::Docker => {
                    let image = value(self.tree, self.text, config, "image");
                    if image.is_some_and(|i| images.contains(&i)) {
                        return Some(match plugin.kind {
                            PluginKind::K8s => Runner::K8s(plugin),
                            _ => Runner::Docker(plugin),
                        });
                    }
                }
                PluginKind::Kubernetes => {
                    for key in ["podSpec", "podSpecPatch"] {
                        let Some(spec) = value(self.tree, self.text, config, key) else {
                            continue;
                        };
                        let Some(containers) = value(self.tree, self.text, spec, "containers")
                        else {
                            continue;
                        };
                        for container in self.tree.items(containers) {
                            let container = self.tree.deref(container);
                            let image = value(self.tree, self.text, container, "image");
                            if image.is_some_and(|i| images.contains(&i)) {
                                return Some(Runner::Container { spec, container });
                            }
                        }
                    }
                }
                PluginKind::Other => {}
            }
        }
        None
    }

    fn plan_runner(&mut self, runner: Runner<'d>) {
        let calls: Vec<&Call> = self.usage.calls.iter().collect();
        if calls.is_empty() {
            let span = self.step().name_span;
            self.block(
                span,
                "the step runs in a Kaniko image but no executor call can be seen (an entrypoint or script of its \
                 own): the image change alone would break it",
            );
            return;
        }
        let (image_node, config) = match &runner {
            Runner::K8s(plugin) | Runner::Docker(plugin) => {
                let config = plugin.config.expect("a runner plugin has a configuration");
                (value(self.tree, self.text, config, "image"), config)
            }
            Runner::Container { container, .. } => {
                (value(self.tree, self.text, *container, "image"), *container)
            }
        };
        let Some(image_node) = image_node else { return };
        let written = self
            .tree
            .scalar(self.text, image_node)
            .unwrap_or_default()
            .to_string();
        let image = self.buildkit_image(&written, image_node);
        self.editor.set_scalar(image_node, &image);
        if let Runner::Docker(_) = runner
            && self.flavor() == Flavor::Rootless
        {
            let span = self.tree.node(image_node).span;
            self.block(
                span,
                "the docker plugin cannot set the unconfined seccomp and AppArmor profiles rootless BuildKit needs: \
                 use `--flavor privileged` (the plugin's `privileged: true`), or move the step to a Kubernetes plugin",
            );
            return;
        }
        let home = match self.flavor() {
            Flavor::Privileged => ROOT_HOME,
            _ => ROOTLESS_HOME,
        };
        for call in calls {
            self.rewrite_call(call, &runner, config);
        }
        self.move_docker_config(&runner, config, home);
        let exec = self
            .usage
            .calls
            .iter()
            .any(|c| matches!(c.form, Form::Exec { .. }));
        if let (Runner::K8s(_) | Runner::Docker(_), false) = (&runner, exec)
            && let Some(entrypoint) = value(self.tree, self.text, config, "entrypoint")
        {
            self.busybox(entrypoint);
        }
        match runner {
            Runner::K8s(_) => self.k8s_settings(config),
            Runner::Container { spec, container } => self.container_settings(spec, container),
            Runner::Docker(_) => self.docker_settings(config),
        }
    }

    /// The flavour's image (or `--buildkit-image`), behind the same mirror
    /// the Kaniko image came through; notes for what changes.
    fn buildkit_image(&mut self, kaniko_image: &str, node: NodeId) -> String {
        let chosen = self.options.buildkit_image.clone();
        let span = self.tree.node(node).span;
        if chosen != self.flavor().default_image() {
            return chosen;
        }
        let agent = interpolate::unmark(&interpolate::AgentText::new(kaniko_image).text);
        match kaniko::image::mirror_prefix(&agent) {
            Some(_) => {
                let prefix = kaniko::image::mirror_prefix(kaniko_image)
                    .unwrap_or_default()
                    .to_string();
                let image = format!("{prefix}/{chosen}");
                self.note(
                    Rule::MigrationNote,
                    span,
                    format!(
                        "the Kaniko image came through `{prefix}`; the BuildKit image is pulled through it too (`{image}`): \
                         the mirror must carry `moby/buildkit`, or name another image with --buildkit-image"
                    ),
                );
                image
            }
            None => chosen,
        }
    }

    /// Translates one call and writes it where it was.
    fn rewrite_call(&mut self, call: &Call, runner: &Runner, config: NodeId) {
        let mut variables: Vec<(String, String)> = self.pipeline_env.to_vec();
        variables.extend(env_values(self.tree, self.text, &self.step().env));
        let workspace = Workspace {
            root: self.options.root.as_deref(),
            variables,
            flavor: self.flavor(),
            ci: &super::CI_VARIABLES,
        };
        if call.invocation.program == kaniko::invocation::Program::Warmer {
            self.block(
                call.invocation.span,
                "`/kaniko/warmer` has no BuildKit counterpart: remove the warming step",
            );
            return;
        }
        let translation = command::translate(&call.invocation, &workspace);
        self.block_variable_flags(&call.invocation);
        for note in &translation.notes {
            self.collect(note);
        }
        let mounts_credentials = self
            .usage
            .paths
            .iter()
            .any(|(_, p)| p.starts_with("/kaniko/.docker"));
        if !mounts_credentials
            && let Some(cloud) = translation
                .destinations
                .iter()
                .find_map(|d| crate::kaniko::image::cloud_registry(d))
        {
            let (registry, how) = (cloud.name, cloud.token);
            self.block(
                call.invocation.program_span,
                format!(
                    "Kaniko logged in to {registry} through the credential helper bundled in its image (with the \
                     pod's cloud identity), which the BuildKit image does not have: {how}, write it into \
                     $HOME/.docker/config.json (or a mounted secret) before the build, then migrate"
                ),
            );
        }
        let mut text = translation.call_text();
        if !translation.informational {
            text.command.push("--progress=plain".to_string());
        }
        let lines = text.lines();
        match call.form {
            Form::Exec { list } => self.exec_command(list, &lines, runner, config),
            Form::Shell => self.shell_command(call, &lines),
            Form::DockerRun => {}
        }
    }

    fn collect(&mut self, note: &FlagNote) {
        match note.fate {
            Fate::Blocked => self.block(note.span, note.message.clone()),
            Fate::Unsafe if !self.options.unsafe_fixes => {
                self.block(
                    note.span,
                    format!("{} (applied only with --unsafe)", note.message),
                );
            }
            Fate::Unsafe => self.note(
                Rule::UnsafeFlag,
                note.span,
                format!("applied with --unsafe: {}", note.message),
            ),
            Fate::Dropped => self.note(Rule::DroppedFlag, note.span, note.message.clone()),
            Fate::Note => self.note(Rule::MigrationNote, note.span, note.message.clone()),
        }
    }

    /// An exec-form `command:` list: `buildctl-daemonless.sh` as the
    /// entrypoint and the build's arguments as items when the translation
    /// is one command whose values need no shell; else `sh -c` with the
    /// script (see docs/buildkite.md).
    fn exec_command(&mut self, list: NodeId, lines: &[String], runner: &Runner, config: NodeId) {
        let script = lines.join(" ");
        let (entrypoint, items) = match exec_words(&script) {
            Some(words) => (vec![words[0].clone()], words[1..].to_vec()),
            None => {
                let Some(body) = to_pipeline(&lines.join(" \\\n  ")) else {
                    self.block(
                        self.tree.node(list).span,
                        "the new command holds `\\$`, which Buildkite would read as an escape",
                    );
                    return;
                };
                (vec!["/bin/sh".to_string()], vec!["-c".to_string(), body])
            }
        };
        match runner {
            Runner::K8s(_) | Runner::Docker(_) => {
                let docker = matches!(runner, Runner::Docker(_));
                match model::entry(self.tree, self.text, config, "entrypoint") {
                    Some((_, node)) if docker => self.editor.set_scalar(node, &entrypoint[0]),
                    Some((_, node)) => self.editor.set_seq(node, &entrypoint),
                    None => {
                        let value = if docker {
                            Value::Str(entrypoint[0].clone())
                        } else {
                            Value::Seq(entrypoint.clone())
                        };
                        self.insert(config, "entrypoint", value);
                    }
                }
                self.editor.set_seq(list, &items);
            }
            Runner::Container { container, .. } => {
                // A vector container: `command` is the program, `args` the rest.
                let command = value(self.tree, self.text, *container, "command");
                let args = value(self.tree, self.text, *container, "args");
                match (command, args) {
                    (Some(command), Some(args)) if args == list => {
                        self.editor.set_seq(command, &entrypoint);
                        self.editor.set_seq(args, &items);
                    }
                    (Some(command), None) if command == list => {
                        let all: Vec<String> = entrypoint.iter().chain(&items).cloned().collect();
                        self.editor.set_seq(command, &all);
                    }
                    _ => {
                        let span = self.tree.node(list).span;
                        self.block(
                            span,
                            "the container's command and args could not be told apart",
                        );
                    }
                }
            }
        }
    }

    /// A call in shell text: the call's range in its scalar gets the new
    /// lines, escaped for upload, in the scalar's style.
    fn shell_command(&mut self, call: &Call, lines: &[String]) {
        let span = call.invocation.span;
        let Some(origin) = &call.origin else {
            self.block(span, "the call is spread over several values (a command and its args): rewrite it by hand");
            return;
        };
        let escaped: Option<Vec<String>> = lines.iter().map(|l| to_pipeline(l)).collect();
        let Some(escaped) = escaped else {
            self.block(
                span,
                "the new command holds `\\$`, which Buildkite would read as an escape",
            );
            return;
        };
        let node = origin.node;
        let decoded = self
            .tree
            .scalar(self.text, node)
            .unwrap_or_default()
            .to_string();
        let (Some(map), Some(layout)) = (
            SourceMap::of_node(self.text, self.tree.node(node), &decoded),
            crate::migrate::text::layout(self.text, self.tree, node),
        ) else {
            self.block(span, "the command could not be mapped to its source");
            return;
        };
        let start = origin.decoded.start;
        let line_start = decoded[..start].rfind('\n').map_or(0, |p| p + 1);
        let indent: String = decoded[line_start..start]
            .chars()
            .take_while(|c| *c == ' ' || *c == '\t')
            .collect();
        let Some(encoded) = encode::encode(&layout, &escaped, &indent) else {
            self.block(span, "the new command does not fit this scalar's style");
            return;
        };
        let mut new_value = decoded[..origin.decoded.start].to_string();
        new_value.push_str(&encoded.decoded);
        new_value.push_str(&decoded[origin.decoded.end..]);
        self.editor.push(
            rewrite::Edit::replace(
                map.span_of(origin.decoded.start, origin.decoded.end),
                encoded.source,
            ),
            0,
        );
        self.editor.changes.push(rewrite::verify::Change::Set {
            node,
            value: rewrite::verify::Expected::string(&new_value),
        });
        // `/busybox/sh` ran the script in the Kaniko debug image.
        if let Runner::Container { .. } = self.runner_kind()
            && let Some(container) = self.container_of(node)
            && let Some(command) = value(self.tree, self.text, container, "command")
        {
            self.busybox(command);
        }
    }

    /// `/busybox/sh` (the Kaniko debug image's shell) becomes `/bin/sh`,
    /// other busybox tools their bare names, in a program list or string.
    fn busybox(&mut self, node: NodeId) {
        let items: Vec<NodeId> = if self.tree.is_sequence(node) {
            self.tree.items(node).collect()
        } else {
            vec![node]
        };
        for item in items {
            let Some(tool) = self
                .tree
                .scalar(self.text, item)
                .and_then(|p| Some(p.strip_prefix("/busybox/")?.to_string()))
            else {
                continue;
            };
            let replacement = if tool == "sh" {
                "/bin/sh".to_string()
            } else {
                tool.to_string()
            };
            self.editor.set_scalar(item, &replacement);
        }
    }

    fn runner_kind(&self) -> Runner<'d> {
        self.runner().unwrap_or(Runner::Container {
            spec: self.step().node,
            container: self.step().node,
        })
    }

    /// The container mapping holding a node, if any.
    fn container_of(&self, mut node: NodeId) -> Option<NodeId> {
        loop {
            let parent = self
                .tree
                .owner(node)
                .map(|(m, _)| m)
                .or_else(|| self.tree.item_of(node).map(|(s, _)| s))?;
            if self.tree.is_mapping(parent)
                && value(self.tree, self.text, parent, "image").is_some()
            {
                return Some(parent);
            }
            node = parent;
        }
    }
}

/// The words of one command whose values need no shell (no run-time
/// expansion, no second command), with upload-time variables as written.
fn exec_words(script: &str) -> Option<Vec<String>> {
    let commands = shell::commands(script);
    let [command] = commands.as_slice() else {
        return None;
    };
    if !command.assignments.is_empty()
        || !command.redirects.is_empty()
        || script.contains(['&', '|', ';', '(', '`'])
    {
        return None;
    }
    command
        .words
        .iter()
        .map(|word| {
            let value = to_pipeline(&word.value)?;
            (!value.contains("$$")).then_some(value)
        })
        .collect()
}

/// The step's Kaniko is all `docker run` in its own commands, on the
/// agent: no container image or plugin runs the commands elsewhere.
fn on_agent(usage: &StepUse) -> bool {
    let wraps = |plugin: &Plugin| {
        plugin.kind != PluginKind::Other || plugin.source.contains("docker-compose")
    };
    !usage.calls.is_empty()
        && usage.calls.iter().all(|c| c.form == Form::DockerRun)
        && usage.step.image.is_none()
        && !usage.step.plugins.iter().any(wraps)
}

fn change_node(change: &rewrite::verify::Change) -> NodeId {
    use rewrite::verify::Change;
    match change {
        Change::Set { node, .. } => *node,
        Change::Insert { mapping, .. } | Change::Remove { mapping, .. } => *mapping,
        Change::InsertItem { sequence, .. } => *sequence,
    }
}
