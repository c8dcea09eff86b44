//! A Buildkite pipeline as the tool reads it: its steps (groups flattened),
//! each with its label, key, commands, plugins and `env:`, every value a
//! node of the span-aware [`Tree`] so that findings and edits point at the
//! text that holds it.
//!
//! A pipeline is a mapping with a `steps:` list (and an optional `env:`), or
//! a bare list of steps. `wait`, `block`, `input` and `trigger` steps run no
//! command and are skipped; a `group:` step's own `steps:` are read in its
//! place.

use crate::span::Span;
use crate::yaml::{NodeId, Tree};

/// Groups nest only one level in Buildkite; deeper nesting is read up to
/// this depth, so a hostile file cannot recurse without bound.
const MAX_GROUP_DEPTH: usize = 8;

#[derive(Debug, Default)]
pub struct Document {
    /// The pipeline-level `env:` entries: name, value node.
    pub env: Vec<(String, NodeId)>,
    pub steps: Vec<Step>,
}

/// One command step.
#[derive(Debug)]
pub struct Step {
    /// The step's mapping.
    pub node: NodeId,
    /// How findings name the step: its `key`, `label` (or `name`), else its
    /// position (`steps[3]`). Unique within the file.
    pub name: String,
    /// Where step-level findings point: the label (or key) value, else the
    /// step's first key.
    pub name_span: Span,
    /// The step's `env:` entries: name, value node.
    pub env: Vec<(String, NodeId)>,
    /// The `command:`/`commands:` scalars: the value itself, or each item of
    /// a list (Buildkite joins them with newlines into one script).
    pub commands: Vec<NodeId>,
    pub plugins: Vec<Plugin>,
    /// `image:` on the step itself (Agent Stack for Kubernetes 0.30 and later).
    pub image: Option<NodeId>,
}

/// One entry of `plugins:`: `owner/name#version: {config}` or a bare string.
#[derive(Debug)]
pub struct Plugin {
    /// The plugin's reference as written, `#version` removed.
    pub source: String,
    pub version: Option<String>,
    pub kind: PluginKind,
    /// The key (or the bare string) naming the plugin.
    pub key: NodeId,
    /// Its configuration mapping, when it has one.
    pub config: Option<NodeId>,
}

/// The plugins the tool knows how Kaniko runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PluginKind {
    /// `EmbarkStudios/k8s` and its forks: one Kubernetes Job per step.
    K8s,
    /// `kubernetes`: the Agent Stack for Kubernetes `podSpec`/`podSpecPatch`.
    Kubernetes,
    /// `docker`: the step runs in a container on the agent.
    Docker,
    Other,
}

impl PluginKind {
    /// Reads a plugin reference: `EmbarkStudios/k8s#1.2.6`,
    /// `docker#v5.12.0`, `https://github.com/o/k8s-buildkite-plugin.git#v1`.
    fn of(source: &str) -> PluginKind {
        let last = source
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(source)
            .trim_end_matches(".git")
            .trim_end_matches("-buildkite-plugin");
        match last {
            "kubernetes" if !source.contains('/') => PluginKind::Kubernetes,
            "k8s" => PluginKind::K8s,
            "docker" => PluginKind::Docker,
            _ => PluginKind::Other,
        }
    }
}

impl Step {
    pub fn plugins_of(&self, kind: PluginKind) -> impl Iterator<Item = &Plugin> {
        self.plugins.iter().filter(move |p| p.kind == kind)
    }
}

/// Reads the steps of a pipeline; anything that is not a pipeline gives none.
pub fn read(tree: &Tree, text: &str) -> Document {
    let mut document = Document::default();
    let Some(root) = tree.root().map(|r| tree.deref(r)) else {
        return document;
    };
    let steps = if tree.is_sequence(root) {
        Some(root)
    } else if tree.is_mapping(root) {
        if let Some(env) = value(tree, text, root, "env") {
            document.env = env_entries(tree, text, env);
        }
        value(tree, text, root, "steps")
    } else {
        None
    };
    let mut reader = Reader {
        tree,
        text,
        steps: Vec::new(),
    };
    if let Some(steps) = steps {
        reader.list(steps, "steps", 0);
    }
    document.steps = reader.steps;
    unique_names(&mut document.steps);
    document
}

/// The value of `key` in a mapping, aliases followed.
pub fn value(tree: &Tree, text: &str, mapping: NodeId, key: &str) -> Option<NodeId> {
    tree.pairs(mapping)
        .find(|&(k, _)| tree.scalar(text, tree.deref(k)).as_deref() == Some(key))
        .map(|(_, v)| tree.deref(v))
}

/// The key node and value node of `key` in a mapping.
pub fn entry(tree: &Tree, text: &str, mapping: NodeId, key: &str) -> Option<(NodeId, NodeId)> {
    tree.pairs(mapping)
        .find(|&(k, _)| tree.scalar(text, tree.deref(k)).as_deref() == Some(key))
}

/// `env:` as a mapping (`NAME: value`) or a list of `NAME=value` strings.
fn env_entries(tree: &Tree, text: &str, env: NodeId) -> Vec<(String, NodeId)> {
    if tree.is_mapping(env) {
        return tree
            .pairs(env)
            .filter_map(|(k, v)| Some((tree.scalar(text, tree.deref(k))?.to_string(), v)))
            .collect();
    }
    tree.items(env)
        .filter_map(|item| {
            let written = tree.scalar(text, tree.deref(item))?;
            let (name, _) = written.split_once('=')?;
            Some((name.to_string(), item))
        })
        .collect()
}

struct Reader<'t> {
    tree: &'t Tree,
    text: &'t str,
    steps: Vec<Step>,
}

impl Reader<'_> {
    fn list(&mut self, list: NodeId, path: &str, depth: usize) {
        if depth > MAX_GROUP_DEPTH || !self.tree.is_sequence(list) {
            return;
        }
        for (index, item) in self.tree.items(list).enumerate() {
            let item = self.tree.deref(item);
            if !self.tree.is_mapping(item) {
                continue;
            }
            let place = format!("{path}[{index}]");
            if self.has(item, "group")
                && let Some(inner) = value(self.tree, self.text, item, "steps")
            {
                self.list(inner, &format!("{place}.steps"), depth + 1);
                continue;
            }
            if let Some(step) = self.step(item, place) {
                self.steps.push(step);
            }
        }
    }

    fn has(&self, mapping: NodeId, key: &str) -> bool {
        value(self.tree, self.text, mapping, key).is_some()
    }

    /// A command step; `None` for `wait`, `block`, `input` and `trigger`.
    fn step(&self, node: NodeId, place: String) -> Option<Step> {
        let (tree, text) = (self.tree, self.text);
        if ["wait", "block", "input", "trigger"]
            .iter()
            .any(|key| self.has(node, key))
        {
            return None;
        }
        let named = ["key", "label", "name", "identifier", "id"]
            .iter()
            .find_map(|key| {
                let v = value(tree, text, node, key)?;
                let written = tree.scalar(text, v)?;
                let written = written.trim();
                (!written.is_empty()).then(|| (written.to_string(), tree.node(v).span))
            });
        let first_key = tree.pairs(node).next().map(|(k, _)| tree.node(k).span);
        let (name, name_span) = match named {
            Some(found) => found,
            None => (place, first_key.unwrap_or(tree.node(node).span)),
        };
        let mut commands = Vec::new();
        for key in ["command", "commands"] {
            if let Some(v) = value(tree, text, node, key) {
                if tree.is_sequence(v) {
                    commands.extend(tree.items(v).map(|i| tree.deref(i)));
                } else if tree.scalar(text, v).is_some() && !tree.is_null(text, v) {
                    commands.push(v);
                }
            }
        }
        let plugins = value(tree, text, node, "plugins")
            .map(|p| plugins(tree, text, p))
            .unwrap_or_default();
        Some(Step {
            node,
            name,
            name_span,
            env: value(tree, text, node, "env")
                .map(|env| env_entries(tree, text, env))
                .unwrap_or_default(),
            commands,
            plugins,
            image: value(tree, text, node, "image").filter(|&v| tree.scalar(text, v).is_some()),
        })
    }
}

/// `plugins:` as a list of single-key mappings or bare strings, or (the
/// older form) one mapping of several plugins.
fn plugins(tree: &Tree, text: &str, node: NodeId) -> Vec<Plugin> {
    let mut found = Vec::new();
    let mut add = |key: NodeId, config: Option<NodeId>| {
        let Some(written) = tree.scalar(text, tree.deref(key)) else {
            return;
        };
        let written: &str = &written;
        let (source, version) = match written.split_once('#') {
            Some((source, version)) => (source, Some(version.to_string())),
            None => (written, None),
        };
        found.push(Plugin {
            source: source.to_string(),
            version,
            kind: PluginKind::of(source),
            key,
            config: config
                .map(|c| tree.deref(c))
                .filter(|&c| tree.is_mapping(c)),
        });
    };
    if tree.is_mapping(node) {
        for (key, config) in tree.pairs(node) {
            add(key, Some(config));
        }
        return found;
    }
    for item in tree.items(node) {
        let item = tree.deref(item);
        if tree.is_mapping(item) {
            for (key, config) in tree.pairs(item) {
                add(key, Some(config));
            }
        } else {
            add(item, None);
        }
    }
    found
}

/// Two steps with the same label are told apart by their position.
fn unique_names(steps: &mut [Step]) {
    let mut seen: hashbrown::HashMap<String, usize> = hashbrown::HashMap::new();
    for step in steps.iter_mut() {
        let count = seen.entry(step.name.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            step.name = format!("{} ({count})", step.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> (Tree, Document) {
        let tree = Tree::parse(text).unwrap();
        let document = read(&tree, text);
        (tree, document)
    }

    #[test]
    fn steps_groups_and_plugins() {
        let text = "env:\n  REG: r.example\nsteps:\n  - label: a\n    command: make\n  - wait\n  - group: g\n    steps:\n      - key: b\n        commands: [x, y]\n        plugins:\n          - EmbarkStudios/k8s#1.2.6:\n              image: alpine\n          - docker#v5.12.0: {image: alpine}\n          - kubernetes:\n              podSpec: {}\n          - https://github.com/o/k8s-buildkite-plugin.git#v1: ~\n          - bare-plugin\n  - block: stop\n";
        let (tree, doc) = read_text(text);
        assert_eq!(doc.env.len(), 1);
        assert_eq!(doc.steps.len(), 2);
        assert_eq!(doc.steps[0].name, "a");
        assert_eq!(doc.steps[0].commands.len(), 1);
        let b = &doc.steps[1];
        assert_eq!(b.name, "b");
        assert_eq!(b.commands.len(), 2);
        let kinds: Vec<PluginKind> = b.plugins.iter().map(|p| p.kind).collect();
        assert_eq!(
            kinds,
            [
                PluginKind::K8s,
                PluginKind::Docker,
                PluginKind::Kubernetes,
                PluginKind::K8s,
                PluginKind::Other
            ]
        );
        assert_eq!(b.plugins[0].version.as_deref(), Some("1.2.6"));
        assert_eq!(b.plugins[0].source, "EmbarkStudios/k8s");
        assert!(b.plugins[0].config.is_some());
        assert!(b.plugins[3].config.is_none());
        assert_eq!(tree.node(b.plugins[4].key).span.slice(text), "bare-plugin");
    }

    #[test]
    fn a_bare_list_and_unnamed_steps() {
        let (_, doc) = read_text(
            "- command: a\n- command: b\n- label: x\n  command: c\n- label: x\n  command: d\n",
        );
        let names: Vec<&str> = doc.steps.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["steps[0]", "steps[1]", "x", "x (2)"]);
    }
}
