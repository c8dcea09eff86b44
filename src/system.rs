//! Which CI system a file belongs to, told by its path or its content.
//!
//! What is Kaniko- or BuildKit-specific (the YAML tree, the executor's
//! flags, their translation, edits and their verification, findings and
//! reports) is shared; what a CI system defines (its files, its document
//! model, how jobs resolve, how a login is written, the planner) lives in
//! that system's front-end: [`crate::gitlab`], [`crate::github`],
//! [`crate::buildkite`]. [`crate::frontend`] sends each loaded file to its
//! front-end.

use std::path::Path;

use crate::yaml::{NodeId, Tree};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    #[default]
    GitLab,
    GitHubActions,
    Buildkite,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            System::GitLab => "GitLab CI",
            System::GitHubActions => "GitHub Actions",
            System::Buildkite => "Buildkite",
        }
    }

    /// By the directories the file is in: `.github/workflows/*.y{a,}ml` and
    /// `action.y{a,}ml` are GitHub's, `.buildkite/*.y{a,}ml` and
    /// `buildkite.y{a,}ml` Buildkite's. Only the nearest directories count,
    /// so this holds whatever the project root turns out to be (a checkout
    /// without `.git` has `.buildkite/` itself as its root). `None` leaves it
    /// to the content.
    pub fn by_path(path: &Path) -> Option<System> {
        let name = path.file_name()?.to_str()?;
        let parents: Vec<&str> = path
            .parent()
            .map(|p| p.iter().filter_map(|c| c.to_str()).collect())
            .unwrap_or_default();
        let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
        if !yaml {
            return None;
        }
        if parents.ends_with(&[".github", "workflows"])
            || matches!(name, "action.yml" | "action.yaml")
        {
            return Some(System::GitHubActions);
        }
        if parents.last() == Some(&".buildkite")
            || matches!(name, "buildkite.yml" | "buildkite.yaml")
        {
            return Some(System::Buildkite);
        }
        None
    }

    /// By what the document holds, for a file whose path says nothing: a
    /// GitHub workflow has `on:` and a `jobs:` mapping (an action, `runs:`
    /// with `using:`); a Buildkite pipeline is a `steps:` list, or a list of
    /// steps. `None` for anything else (GitLab CI is told apart by
    /// `discover`).
    pub fn by_content(tree: &Tree, text: &str) -> Option<System> {
        let root = tree.deref(tree.root()?);
        if tree.is_sequence(root) {
            let mut steps = tree.items(root).peekable();
            let all_steps =
                steps.peek().is_some() && steps.all(|s| is_buildkite_step(tree, text, s));
            return all_steps.then_some(System::Buildkite);
        }
        if !tree.is_mapping(root) {
            return None;
        }
        let value = |key: &str| {
            tree.pairs(root)
                .find(|&(k, _)| tree.key(text, k) == Some(key))
                .map(|(_, v)| tree.deref(v))
        };
        if let Some(jobs) = value("jobs")
            && value("on").is_some()
            && tree.is_mapping(jobs)
        {
            return Some(System::GitHubActions);
        }
        if let Some(runs) = value("runs")
            && tree.is_mapping(runs)
            && tree
                .pairs(runs)
                .any(|(k, _)| tree.key(text, k) == Some("using"))
        {
            return Some(System::GitHubActions);
        }
        if let Some(steps) = value("steps")
            && tree.is_sequence(steps)
        {
            return Some(System::Buildkite);
        }
        None
    }
}

/// A Buildkite step: `wait`, or a mapping with one of a step's keys.
fn is_buildkite_step(tree: &Tree, text: &str, step: NodeId) -> bool {
    const STEP_KEYS: &[&str] = &[
        "command", "commands", "plugins", "label", "wait", "block", "trigger", "group", "input",
    ];
    let step = tree.deref(step);
    if let Some(word) = tree.scalar(text, step) {
        return word == "wait" || word == "block";
    }
    tree.is_mapping(step)
        && tree
            .pairs(step)
            .any(|(k, _)| tree.key(text, k).is_some_and(|k| STEP_KEYS.contains(&k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_content(text: &str) -> Option<System> {
        System::by_content(&Tree::parse(text).unwrap(), text)
    }

    #[test]
    fn paths_name_the_system() {
        let of = |p: &str| System::by_path(&Path::new("/p").join(p));
        assert_eq!(of(".github/workflows/ci.yml"), Some(System::GitHubActions));
        assert_eq!(of("actions/build/action.yaml"), Some(System::GitHubActions));
        assert_eq!(of(".buildkite/pipeline.yml"), Some(System::Buildkite));
        assert_eq!(of("buildkite.yaml"), Some(System::Buildkite));
        assert_eq!(of(".gitlab-ci.yml"), None);
        assert_eq!(of(".github/workflows/README.md"), None);
        assert_eq!(of("ci/workflows/x.yml"), None);
        assert_eq!(
            System::by_path(Path::new(".buildkite/a.yml")),
            Some(System::Buildkite)
        );
        assert_eq!(System::by_path(Path::new("pipeline.yml")), None);
    }

    #[test]
    fn content_names_the_system() {
        let workflow = "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n";
        assert_eq!(by_content(workflow), Some(System::GitHubActions));
        let action = "name: x\nruns:\n  using: composite\n  steps: []\n";
        assert_eq!(by_content(action), Some(System::GitHubActions));
        assert_eq!(
            by_content("steps:\n  - command: make\n"),
            Some(System::Buildkite)
        );
        assert_eq!(
            by_content("- label: a\n  command: make\n- wait\n"),
            Some(System::Buildkite)
        );
        assert_eq!(by_content("build:\n  script: make\n"), None);
        assert_eq!(by_content("- 1\n- 2\n"), None);
        // A GitLab job called `steps` is a mapping, not a list.
        assert_eq!(by_content("steps:\n  script: make\n"), None);
    }
}
