//! The document model of a GitHub workflow (`jobs.<id>.steps`) and of a
//! composite action (`runs.steps`), on the span-aware [`Tree`]: every value
//! keeps its node, so findings point at it and edits replace it.
//!
//! Only what the Kaniko patterns need is modelled: a job's `container:`,
//! `defaults.run.shell`, and each step's `id`, `name`, `uses`, `with`,
//! `run`, `env` and `shell`. Anchors are followed (GitHub accepts them
//! since 2025); anything else the reading does not know is left as it is.

use std::borrow::Cow;

use crate::yaml::{NodeId, Tree};

/// A scalar value and the node that holds it.
#[derive(Clone, Debug)]
pub struct Scalar {
    pub value: String,
    pub node: NodeId,
}

/// One `with:` (or `env:`) entry.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub key: NodeId,
    pub value: NodeId,
}

#[derive(Clone, Debug)]
pub struct Step {
    /// The step's mapping.
    pub node: NodeId,
    /// Its position in the job's `steps:` sequence.
    pub index: usize,
    pub id: Option<Scalar>,
    pub name: Option<Scalar>,
    /// `uses:` and its key.
    pub uses: Option<(NodeId, Scalar)>,
    /// The `with:` mapping and its entries.
    pub with: Option<NodeId>,
    pub inputs: Vec<Entry>,
    /// `run:` and its key.
    pub run: Option<(NodeId, Scalar)>,
    pub env: Vec<Entry>,
    pub shell: Option<Scalar>,
}

impl Step {
    /// How a message names the step: its `name`, its `id`, or its place.
    pub fn label(&self) -> String {
        match (&self.name, &self.id) {
            (Some(name), _) => format!("step `{}`", name.value),
            (None, Some(id)) => format!("step `{}`", id.value),
            (None, None) => format!("step {}", self.index + 1),
        }
    }

    pub fn input(&self, name: &str) -> Option<&Entry> {
        self.inputs.iter().rev().find(|entry| entry.name == name)
    }
}

#[derive(Clone, Debug)]
pub struct Job {
    /// The job id (`jobs.<id>`), or `runs` for a composite action.
    pub id: String,
    pub key: NodeId,
    /// The job's mapping.
    pub node: NodeId,
    /// `container:` as an image (`container: IMAGE` or `container.image`).
    pub container: Option<Scalar>,
    /// The `steps:` sequence.
    pub steps_node: Option<NodeId>,
    pub steps: Vec<Step>,
    /// `defaults.run.shell` of the job, else of the workflow.
    pub shell: Option<String>,
    /// `env:` of the workflow and the job (the job's win), values that are
    /// plain text.
    pub env: Vec<(String, String)>,
}

impl Job {
    /// What `$NAME`, `${NAME}` or `${{ env.NAME }}` holds in `step`: its
    /// own `env:`, then the job's and the workflow's. `None` for anything
    /// else or a name set nowhere in the file.
    pub fn env_value(&self, tree: &Tree, text: &str, step: &Step, word: &str) -> Option<String> {
        let word = word.trim();
        let name = word
            .strip_prefix("${{")
            .and_then(|w| w.strip_suffix("}}"))
            .and_then(|w| w.trim().strip_prefix("env."))
            .or_else(|| word.strip_prefix("${").and_then(|w| w.strip_suffix('}')))
            .or_else(|| word.strip_prefix('$'))?
            .trim();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return None;
        }
        if let Some(entry) = step.env.iter().rev().find(|e| e.name == name) {
            return tree.scalar(text, entry.value).map(Cow::into_owned);
        }
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

/// A workflow, or a composite action (whose steps form one job, `runs`).
#[derive(Clone, Debug, Default)]
pub struct Document {
    pub jobs: Vec<Job>,
    /// `true` for an `action.yml` with `runs.using: composite`.
    pub is_action: bool,
}

/// Reads the document at the root of `tree`. A file that is neither a
/// workflow nor a composite action gives an empty document.
pub fn read(tree: &Tree, text: &str) -> Document {
    let Some(root) = tree.root().map(|r| tree.deref(r)) else {
        return Document::default();
    };
    if let Some((_, runs)) = get(tree, text, root, "runs") {
        let using = get(tree, text, runs, "using").and_then(|(_, v)| tree.scalar(text, v));
        if using.as_deref() != Some("composite") {
            return Document::default();
        }
        let steps_node = get(tree, text, runs, "steps").map(|(_, v)| v);
        let key = get(tree, text, root, "runs").map_or(root, |(k, _)| k);
        return Document {
            jobs: vec![Job {
                env: Vec::new(),
                id: "runs".into(),
                key,
                node: runs,
                container: None,
                steps: steps_node.map_or_else(Vec::new, |s| steps(tree, text, s)),
                steps_node,
                shell: None,
            }],
            is_action: true,
        };
    }
    let workflow_shell = default_shell(tree, text, root);
    let workflow_env = env_values(tree, text, root);
    let Some((_, jobs)) = get(tree, text, root, "jobs") else {
        return Document::default();
    };
    let jobs = tree
        .pairs(jobs)
        .filter_map(|(key, value)| {
            let id = tree.scalar(text, key)?.to_string();
            let node = tree.deref(value);
            if !tree.is_mapping(node) {
                return None;
            }
            let container = get(tree, text, node, "container").and_then(|(_, c)| {
                let image = if tree.is_mapping(c) {
                    get(tree, text, c, "image")?.1
                } else {
                    c
                };
                scalar(tree, text, image)
            });
            let steps_node = get(tree, text, node, "steps").map(|(_, v)| v);
            let mut env = workflow_env.clone();
            env.extend(env_values(tree, text, node));
            Some(Job {
                env,
                id,
                key,
                node,
                container,
                steps: steps_node.map_or_else(Vec::new, |s| steps(tree, text, s)),
                steps_node,
                shell: default_shell(tree, text, node).or_else(|| workflow_shell.clone()),
            })
        })
        .collect();
    Document {
        jobs,
        is_action: false,
    }
}

fn steps(tree: &Tree, text: &str, sequence: NodeId) -> Vec<Step> {
    tree.items(sequence)
        .enumerate()
        .filter_map(|(index, item)| {
            let node = tree.deref(item);
            tree.is_mapping(node).then(|| step(tree, text, node, index))
        })
        .collect()
}

fn step(tree: &Tree, text: &str, node: NodeId, index: usize) -> Step {
    let keyed = |name: &str| {
        get(tree, text, node, name).and_then(|(k, v)| scalar(tree, text, v).map(|s| (k, s)))
    };
    let with = get(tree, text, node, "with").map(|(_, v)| v);
    Step {
        node,
        index,
        id: keyed("id").map(|(_, s)| s),
        name: keyed("name").map(|(_, s)| s),
        uses: keyed("uses"),
        with,
        inputs: with.map_or_else(Vec::new, |w| entries(tree, text, w)),
        run: keyed("run"),
        env: get(tree, text, node, "env").map_or_else(Vec::new, |(_, e)| entries(tree, text, e)),
        shell: keyed("shell").map(|(_, s)| s),
    }
}

fn entries(tree: &Tree, text: &str, mapping: NodeId) -> Vec<Entry> {
    tree.pairs(mapping)
        .filter_map(|(key, value)| {
            Some(Entry {
                name: tree.scalar(text, key)?.to_string(),
                key,
                value: tree.deref(value),
            })
        })
        .collect()
}

/// The `env:` entries of a workflow or a job whose values are scalars.
fn env_values(tree: &Tree, text: &str, node: NodeId) -> Vec<(String, String)> {
    get(tree, text, node, "env")
        .map(|(_, env)| entries(tree, text, env))
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| Some((entry.name, tree.scalar(text, entry.value)?.to_string())))
        .collect()
}

/// `defaults.run.shell` of a workflow or a job.
fn default_shell(tree: &Tree, text: &str, node: NodeId) -> Option<String> {
    let (_, defaults) = get(tree, text, node, "defaults")?;
    let (_, run) = get(tree, text, defaults, "run")?;
    let (_, shell) = get(tree, text, run, "shell")?;
    tree.scalar(text, shell).map(Cow::into_owned)
}

/// The key and (dereferenced) value of `name` in a mapping; the last one
/// when it is written twice.
pub fn get(tree: &Tree, text: &str, mapping: NodeId, name: &str) -> Option<(NodeId, NodeId)> {
    let mapping = tree.deref(mapping);
    tree.pairs(mapping)
        .filter(|(key, _)| tree.key(text, *key) == Some(name))
        .last()
        .map(|(key, value)| (key, tree.deref(value)))
}

fn scalar(tree: &Tree, text: &str, node: NodeId) -> Option<Scalar> {
    let node = tree.deref(node);
    Some(Scalar {
        value: tree.scalar(text, node)?.to_string(),
        node,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_jobs_containers_and_steps() {
        let text = "defaults:\n  run:\n    shell: bash\njobs:\n  build:\n    container:\n      image: gcr.io/kaniko-project/executor:debug\n    steps:\n      - uses: actions/checkout@v4\n      - id: k\n        uses: aevea/action-kaniko@v0.14.0\n        with:\n          image: a/b\n      - run: echo hi\n        shell: sh\n  other:\n    container: alpine\n    steps: []\n";
        let tree = Tree::parse(text).unwrap();
        let doc = read(&tree, text);
        assert!(!doc.is_action);
        assert_eq!(doc.jobs.len(), 2);
        let build = &doc.jobs[0];
        assert_eq!(
            build.container.as_ref().unwrap().value,
            "gcr.io/kaniko-project/executor:debug"
        );
        assert_eq!(build.shell.as_deref(), Some("bash"));
        assert_eq!(build.steps.len(), 3);
        assert_eq!(build.steps[1].id.as_ref().unwrap().value, "k");
        assert_eq!(
            build.steps[1].input("image").map(|e| e.name.as_str()),
            Some("image")
        );
        assert_eq!(build.steps[2].shell.as_ref().unwrap().value, "sh");
        assert_eq!(build.steps[2].label(), "step 3");
        assert_eq!(doc.jobs[1].container.as_ref().unwrap().value, "alpine");
    }

    #[test]
    fn composite_actions_have_one_job() {
        let text = "name: x\nruns:\n  using: composite\n  steps:\n    - run: /kaniko/executor --no-push\n      shell: sh\n";
        let tree = Tree::parse(text).unwrap();
        let doc = read(&tree, text);
        assert!(doc.is_action);
        assert_eq!(doc.jobs[0].id, "runs");
        assert!(doc.jobs[0].steps[0].run.is_some());
        let docker = "runs:\n  using: docker\n  image: Dockerfile\n";
        let tree = Tree::parse(docker).unwrap();
        assert!(read(&tree, docker).jobs.is_empty());
    }
}
