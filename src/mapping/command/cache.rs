//! `--cache`, `--cache-repo` and `--no-push-cache` as a registry cache
//! import and export.

use super::collected::Collected;
use super::groups::Group;
use super::{Fate, FlagNote, Translation, Workspace, is_true};
use crate::mapping::quote::{self, in_double_quotes, lone_variable, suffixed};

/// `--cache=true` with `--cache-repo R` (or, without it, the first
/// destination's repository + `/cache`) becomes a registry cache import and
/// export. `mode=max` caches every stage as Kaniko did, and `ignore-error`
/// keeps a failed upload a warning, as it was.
pub(super) fn cache_lines(
    c: &Collected,
    no_push: bool,
    workspace: &Workspace,
    out: &mut Translation,
) {
    let enabled = c.cache.is_some_and(|f| is_true(&f.value));
    if !enabled {
        if let Some(repo) = c.cache_repo {
            out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: repo.span,
                message: "--cache-repo dropped: Kaniko ignores it without --cache=true".into(),
            });
        }
        if let Some(flag) = c.no_push_cache_flag {
            out.notes.push(FlagNote {
                fate: Fate::Dropped,
                span: flag.span,
                message: "--no-push-cache dropped: without --cache=true there is no cache to push"
                    .into(),
            });
        }
        return;
    }
    let span = c.cache.map(|f| f.span).unwrap_or_default();
    if no_push && c.cache_repo.is_none() {
        let message =
            "--cache with --no-push needs --cache-repo (Kaniko refuses it too)".to_string();
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span,
            message,
        });
        return;
    }
    let reference = match (c.cache_repo, c.destinations.first()) {
        (Some(repo), _) if repo.value.starts_with("oci:") => None,
        (Some(repo), _) => in_double_quotes(&suffixed(&repo.raw, ":buildcache")),
        (None, Some(destination)) => repository(&destination.raw, workspace)
            .and_then(|repo| in_double_quotes(&suffixed(&repo, "/cache:buildcache")))
            .or_else(|| runtime_cache_reference(&destination.raw)),
        (None, None) => None,
    };
    let Some(reference) = reference else {
        let message = if no_push && c.cache_repo.is_none() {
            "--cache with --no-push needs --cache-repo".to_string()
        } else {
            "cannot tell which repository holds the cache: pass --cache-repo".to_string()
        };
        out.notes.push(FlagNote {
            fate: Fate::Blocked,
            span,
            message,
        });
        return;
    };
    let registry: String = c
        .registry_attrs
        .iter()
        .map(|attr| format!(",{attr}"))
        .collect();
    out.groups.push(Group::ImportCache(format!(
        "\"type=registry,ref={reference}{registry}\""
    )));
    if c.no_push_cache {
        let span = c.cache.map(|f| f.span).unwrap_or_default();
        out.notes.push(FlagNote {
            fate: Fate::Note,
            span,
            message: "--no-push-cache: the cache is read, never written".into(),
        });
    } else {
        out.groups.push(Group::ExportCache(format!(
            "\"type=registry,ref={reference},mode=max,ignore-error=true{registry}\""
        )));
    }
    out.notes.push(FlagNote {
        fate: Fate::Note,
        span,
        message: "the first BuildKit build starts with a cold cache: Kaniko's layer cache is not reusable".into(),
    });
}

/// The repository of a destination as written: the tag after the last `/`
/// removed. A lone `$VAR` is looked through when the pipeline defines it;
/// the CI system's image variable (GitLab's `$CI_REGISTRY_IMAGE`) never has
/// a tag. `None` when the text hides whether there is a tag.
fn repository(raw: &str, workspace: &Workspace) -> Option<String> {
    let inner = raw.trim_matches(['"', '\'']);
    if let Some(name) = lone_variable(inner) {
        if workspace.ci.untagged_image.contains(&name) {
            return Some(raw.to_string());
        }
        let variables = &workspace.variables;
        let value = variables.iter().rev().find(|(k, _)| k == name)?.1.clone();
        let plain = Workspace {
            variables: Vec::new(),
            ..*workspace
        };
        return (lone_variable(&value).is_none())
            .then(|| repository(&value, &plain))
            .flatten();
    }
    let after_slash = quote::last_top_level(inner, b'/').map_or(0, |slash| slash + 1);
    let colon = quote::last_top_level(&inner[after_slash..], b':')? + after_slash;
    let repo = &inner[..colon];
    Some(match raw.chars().next() {
        Some(q @ ('"' | '\'')) => format!("{q}{repo}{q}"),
        _ => repo.to_string(),
    })
}

/// The cache reference Kaniko derived from a destination that is only known
/// when the job runs: its repository (the tag after the last `/` cut off by
/// busybox `sed`) plus `/cache`.
fn runtime_cache_reference(raw: &str) -> Option<String> {
    let destination = in_double_quotes(raw)?;
    Some(format!(
        "$(printf '%s' \"{destination}\" | sed 's|:[^/]*$||')/cache:buildcache"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GitLab job's workspace with `variables`.
    fn gitlab(variables: &[(String, String)]) -> Workspace<'static> {
        Workspace {
            root: None,
            variables: variables.to_vec(),
            flavor: crate::mapping::flavor::Flavor::default(),
            ci: &crate::gitlab::CI_VARIABLES,
        }
    }

    #[test]
    fn repository_strips_the_tag_only() {
        assert_eq!(
            repository("\"${CI_REGISTRY_IMAGE}/app:${TAG}\"", &gitlab(&[])).unwrap(),
            "\"${CI_REGISTRY_IMAGE}/app\""
        );
        assert_eq!(
            repository("registry:5000/x/app:1", &gitlab(&[])).unwrap(),
            "registry:5000/x/app"
        );
        assert_eq!(repository("$IMAGE", &gitlab(&[])), None);
        assert_eq!(
            repository("$CI_REGISTRY_IMAGE:${TAG:-latest}", &gitlab(&[])).unwrap(),
            "$CI_REGISTRY_IMAGE"
        );
        assert_eq!(
            repository("${CI_REGISTRY_IMAGE}", &gitlab(&[])).unwrap(),
            "${CI_REGISTRY_IMAGE}"
        );
        let variables = [(
            "IMAGE".to_string(),
            "$CI_REGISTRY_IMAGE/app:$CI_COMMIT_SHA".to_string(),
        )];
        assert_eq!(
            repository("\"$IMAGE\"", &gitlab(&variables)).unwrap(),
            "$CI_REGISTRY_IMAGE/app"
        );
    }
}
