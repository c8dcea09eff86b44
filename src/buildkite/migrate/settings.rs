//! The settings each runner gets for BuildKit: the k8s plugin's keys and
//! jsonnet `patch`, a kubernetes container's `securityContext`, `env`,
//! `volumeMounts` and pod `volumes`, the docker plugin's `privileged`, and
//! the registry credentials moved from Kaniko's `/kaniko/.docker`.

use super::{Planner, Runner};
use crate::buildkite::edit::Value;
use crate::buildkite::model::{self, value};
use crate::kaniko;
use crate::mapping::flavor::Flavor;
use crate::rewrite;
use crate::rules::Rule;
use crate::yaml::NodeId;

/// Where the rootless image keeps BuildKit's state, and its home.
const ROOTLESS_STATE: &str = "/home/user/.local/share/buildkit";
pub(super) const ROOTLESS_HOME: &str = "/home/user";
const ROOT_STATE: &str = "/var/lib/buildkit";
pub(super) const ROOT_HOME: &str = "/root";

impl Planner<'_, '_> {
    pub(super) fn insert(&mut self, mapping: NodeId, key: &str, value: Value) {
        if self.editor.insert_key(mapping, key, value).is_none() {
            let span = self.tree.node(mapping).span;
            self.block(
                span,
                format!("`{key}:` cannot be added to a mapping written in flow style (`{{...}}`)"),
            );
        }
    }

    pub(super) fn append(&mut self, sequence: NodeId, items: Vec<Value>) {
        if self.editor.append_items(sequence, items).is_none() {
            let span = self.tree.node(sequence).span;
            self.block(
                span,
                "an item cannot be added to a list written in flow style (`[...]`)",
            );
        }
    }

    /// Registry credentials: Kaniko read `/kaniko/.docker/config.json`;
    /// buildctl reads `$HOME/.docker/config.json`. A mounted secret moves
    /// to the new home; `DOCKER_CONFIG=/kaniko/.docker` goes.
    pub(super) fn move_docker_config(&mut self, runner: &Runner, config: NodeId, home: &str) {
        let target = format!("{home}/.docker");
        let mut moved = Vec::new();
        let keys: &[&str] = match runner {
            Runner::K8s(_) => &["mount-secret", "mount-hostpath"],
            Runner::Docker(_) => &["volumes"],
            Runner::Container { .. } => &[],
        };
        for key in keys {
            let items: Vec<NodeId> = match value(self.tree, self.text, config, key) {
                Some(v) if self.tree.is_sequence(v) => {
                    self.tree.items(v).map(|i| self.tree.deref(i)).collect()
                }
                Some(v) => vec![v],
                None => Vec::new(),
            };
            for item in items {
                let Some(written) = self.tree.scalar(self.text, item) else {
                    continue;
                };
                let Some((source, rest)) = written.split_once(':') else {
                    continue;
                };
                let (path, options) = match rest.split_once(':') {
                    Some((path, options)) => (path, format!(":{options}")),
                    None => (rest, String::new()),
                };
                if let Some(under) = path.strip_prefix("/kaniko/.docker") {
                    let new = format!("{source}:{target}{under}{options}");
                    self.editor.set_scalar(item, &new);
                    moved.push(self.tree.node(item).span);
                } else if kaniko::image_path(path, false) {
                    let span = self.tree.node(item).span;
                    self.block(span, format!("`{path}` is a Kaniko path with no BuildKit counterpart: mount it elsewhere"));
                }
            }
        }
        if let Runner::Container { container, .. } = runner
            && let Some(mounts) = value(self.tree, self.text, *container, "volumeMounts")
        {
            for mount in self.tree.items(mounts) {
                let mount = self.tree.deref(mount);
                let Some(path) = value(self.tree, self.text, mount, "mountPath") else {
                    continue;
                };
                let written = self
                    .tree
                    .scalar(self.text, path)
                    .unwrap_or_default()
                    .to_string();
                if let Some(under) = written.strip_prefix("/kaniko/.docker") {
                    self.editor.set_scalar(path, &format!("{target}{under}"));
                    moved.push(self.tree.node(path).span);
                } else if kaniko::image_path(&written, false) {
                    let span = self.tree.node(path).span;
                    self.block(span, format!("`{written}` is a Kaniko path with no BuildKit counterpart: mount it elsewhere"));
                }
            }
        }
        let environment = match runner {
            Runner::K8s(_) | Runner::Docker(_) => {
                value(self.tree, self.text, config, "environment")
            }
            Runner::Container { .. } => None,
        };
        if let Some(environment) = environment {
            for item in self.tree.items(environment) {
                let written = self.tree.scalar(self.text, item).unwrap_or_default();
                if let Some(("DOCKER_CONFIG", v)) = written.split_once('=')
                    && kaniko::image_path(v, false)
                {
                    let span = self.tree.node(item).span;
                    if v.trim_end_matches('/') == "/kaniko/.docker" {
                        self.editor
                            .set_scalar(item, &format!("DOCKER_CONFIG={target}"));
                        moved.push(span);
                    } else {
                        self.block(
                            span,
                            format!("`{written}` names a Kaniko path: set DOCKER_CONFIG elsewhere"),
                        );
                    }
                }
            }
        }
        for (name, node) in &self.step().env {
            let node = self.tree.deref(*node);
            let written = self
                .tree
                .scalar(self.text, node)
                .unwrap_or_default()
                .to_string();
            let (prefix, value) = match written.strip_prefix("DOCKER_CONFIG=") {
                Some(value) => ("DOCKER_CONFIG=", value),
                None => ("", written.as_str()),
            };
            if name == "DOCKER_CONFIG" && value.trim_end_matches('/') == "/kaniko/.docker" {
                self.editor.set_scalar(node, &format!("{prefix}{target}"));
                moved.push(self.tree.node(node).span);
            }
        }
        for span in moved {
            self.note(
                Rule::MigrationNote,
                span,
                format!(
                    "registry credentials move from /kaniko/.docker (Kaniko's DOCKER_CONFIG) to {target}: buildctl reads \
                     $HOME/.docker/config.json, and HOME is {home} in the BuildKit image; the secret must hold `config.json`"
                ),
            );
        }
        for (span, path) in &self.usage.paths {
            let handled = self
                .editor
                .spans()
                .any(|s| s.start() <= span.start() && span.end() <= s.end());
            if !handled {
                self.block(
                    *span,
                    format!("`{path}` is a Kaniko path this version does not move: write it under \"${{DOCKER_CONFIG:-$HOME/.docker}}\""),
                );
            }
        }
    }

    /// The k8s plugin: `environment` for BUILDKITD_FLAGS, `privileged` for
    /// the privileged flavour, and a jsonnet `patch` for what the plugin
    /// has no key for (the user, seccomp and AppArmor, emptyDir volumes).
    pub(super) fn k8s_settings(&mut self, config: NodeId) {
        if let Some((key, _)) = model::entry(self.tree, self.text, config, "patch") {
            let span = self.tree.node(key).span;
            self.block(span, "the step has a `patch:` of its own, which the BuildKit settings would have to be merged into by hand");
            return;
        }
        match self.flavor() {
            Flavor::Privileged => {
                match model::entry(self.tree, self.text, config, "privileged") {
                    Some((_, node))
                        if self.tree.scalar(self.text, node).as_deref() == Some("true") => {}
                    Some((_, node)) => {
                        let span = self.tree.node(node).span;
                        self.editor.push(rewrite::Edit::replace(span, "true"), 0);
                        self.editor.changes.push(rewrite::verify::Change::Set {
                            node,
                            value: rewrite::verify::Expected::Plain("true".into()),
                        });
                    }
                    None => self.insert(config, "privileged", Value::Plain("true".into())),
                }
                self.insert(config, "patch", Value::Block(k8s_patch(false)));
            }
            _ => {
                let flag = format!("BUILDKITD_FLAGS={}", crate::migrate::BUILDKITD_FLAGS);
                match value(self.tree, self.text, config, "environment") {
                    Some(list) if self.tree.is_sequence(list) => {
                        self.append(list, vec![Value::Str(flag)])
                    }
                    Some(other) => {
                        let span = self.tree.node(other).span;
                        self.block(span, "`environment:` is not a list");
                    }
                    None => self.insert(config, "environment", Value::Seq(vec![flag])),
                }
                self.insert(config, "patch", Value::Block(k8s_patch(true)));
            }
        }
    }

    /// A kubernetes plugin container: its `securityContext`, `env` and
    /// `volumeMounts`, and `emptyDir` volumes in the pod spec.
    pub(super) fn container_settings(&mut self, spec: NodeId, container: NodeId) {
        let rootless = self.flavor() == Flavor::Rootless;
        if let Some((key, _)) = model::entry(self.tree, self.text, container, "securityContext") {
            let span = self.tree.node(key).span;
            self.block(span, "the container has a `securityContext` of its own, which the BuildKit settings would have to be merged into by hand");
            return;
        }
        let security = if rootless {
            Value::Map(vec![
                ("runAsNonRoot".into(), Value::Plain("true".into())),
                ("runAsUser".into(), Value::Plain("1000".into())),
                ("runAsGroup".into(), Value::Plain("1000".into())),
                (
                    "seccompProfile".into(),
                    Value::Map(vec![("type".into(), Value::Str("Unconfined".into()))]),
                ),
                (
                    "appArmorProfile".into(),
                    Value::Map(vec![("type".into(), Value::Str("Unconfined".into()))]),
                ),
            ])
        } else {
            Value::Map(vec![("privileged".into(), Value::Plain("true".into()))])
        };
        let state = if rootless { ROOTLESS_STATE } else { ROOT_STATE };
        for (name, _) in VOLUMES {
            let taken = value(self.tree, self.text, spec, "volumes").is_some_and(|volumes| {
                self.tree.items(volumes).any(|v| {
                    value(self.tree, self.text, self.tree.deref(v), "name")
                        .and_then(|n| self.tree.scalar(self.text, n))
                        .as_deref()
                        == Some(name)
                })
            });
            if taken {
                let span = self.tree.node(spec).span;
                self.block(span, format!("the pod already has a volume named `{name}`"));
                return;
            }
        }
        self.insert(container, "securityContext", security);
        if rootless {
            let env = Value::Flow(vec![
                ("name".into(), Value::Str("BUILDKITD_FLAGS".into())),
                (
                    "value".into(),
                    Value::Str(crate::migrate::BUILDKITD_FLAGS.into()),
                ),
            ]);
            match value(self.tree, self.text, container, "env") {
                Some(list) => self.append(list, vec![env]),
                None => self.insert_list(container, "env", vec![env]),
            }
        }
        let mounts: Vec<Value> = VOLUMES
            .iter()
            .map(|(name, path)| {
                Value::Flow(vec![
                    ("name".into(), Value::Str((*name).into())),
                    (
                        "mountPath".into(),
                        Value::Str(if *path == STATE {
                            state.into()
                        } else {
                            (*path).into()
                        }),
                    ),
                ])
            })
            .collect();
        match value(self.tree, self.text, container, "volumeMounts") {
            Some(list) => self.append(list, mounts),
            None => self.insert_list(container, "volumeMounts", mounts),
        }
        let volumes: Vec<Value> = VOLUMES
            .iter()
            .map(|(name, _)| {
                Value::Flow(vec![
                    ("name".into(), Value::Str((*name).into())),
                    ("emptyDir".into(), Value::Flow(Vec::new())),
                ])
            })
            .collect();
        match value(self.tree, self.text, spec, "volumes") {
            Some(list) => self.append(list, volumes),
            None => self.insert_list(spec, "volumes", volumes),
        }
    }

    /// A new key holding a block list of flow items.
    pub(super) fn insert_list(&mut self, mapping: NodeId, key: &str, items: Vec<Value>) {
        self.insert(mapping, key, Value::Items(items));
    }

    /// The docker plugin (privileged flavour only): `privileged: true`.
    pub(super) fn docker_settings(&mut self, config: NodeId) {
        match model::entry(self.tree, self.text, config, "privileged") {
            Some((_, node)) if self.tree.scalar(self.text, node).as_deref() == Some("true") => {}
            Some((key, _)) => {
                let span = self.tree.node(key).span;
                self.block(span, "`privileged:` is set to something other than true");
            }
            None => self.insert(config, "privileged", Value::Plain("true".into())),
        }
    }
}

/// What the cluster must allow for the migrated steps, said once per file.
pub(super) fn runner_note(flavor: Flavor) -> String {
    match flavor {
        Flavor::Privileged => "the migrated steps run BuildKit as root in a privileged container \
             (`--flavor privileged`): the cluster must allow privileged pods; Kaniko needed no privileges"
            .to_string(),
        _ => "the migrated steps run rootless BuildKit as uid 1000 with unconfined seccomp and AppArmor \
             profiles and BUILDKITD_FLAGS=--oci-worker-no-process-sandbox (Buildkite's \"Rootless (strict)\" \
             setup): the cluster must admit such pods (Kubernetes 1.19 for seccomp, 1.30 for appArmorProfile) \
             and allow user namespaces; Kaniko needed neither"
            .to_string(),
    }
}

/// The emptyDir volumes: BuildKit's state and `/tmp`.
const STATE: &str = "state";
const VOLUMES: [(&str, &str); 2] = [("buildkit-state", STATE), ("buildkit-tmp", "/tmp")];

/// The k8s plugin's jsonnet patch: the step container runs as uid 1000 with
/// unconfined profiles (rootless), and gets emptyDir volumes for BuildKit's
/// state and `/tmp`.
fn k8s_patch(rootless: bool) -> String {
    let mut lines = vec![
        "function(job) job {",
        "  spec+: { template+: { spec+: {",
        "    containers: [",
        "      c {",
    ];
    if rootless {
        lines.extend([
            "        securityContext+: {",
            "          runAsNonRoot: true,",
            "          runAsUser: 1000,",
            "          runAsGroup: 1000,",
            "          seccompProfile: { type: 'Unconfined' },",
            "          appArmorProfile: { type: 'Unconfined' },",
            "        },",
        ]);
    }
    let state = format!(
        "          {{ name: 'buildkit-state', mountPath: '{}' }},",
        if rootless { ROOTLESS_STATE } else { ROOT_STATE }
    );
    lines.extend(["        volumeMounts+: [", state.as_str()]);
    lines.extend([
        "          { name: 'buildkit-tmp', mountPath: '/tmp' },",
        "        ],",
        "      }",
        "      for c in super.containers",
        "    ],",
        "    volumes+: [",
        "      { name: 'buildkit-state', emptyDir: {} },",
        "      { name: 'buildkit-tmp', emptyDir: {} },",
        "    ],",
        "  } } },",
        "}",
    ]);
    lines.join("\n")
}
