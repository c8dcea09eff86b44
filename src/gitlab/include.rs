//! `include:` entries: which files they name, and whether we may read them.
//!
//! Only local includes are followed. A local path is read relative to the
//! project root, as GitLab does (a leading `/` means the root, not the
//! filesystem root), and is never read when it would leave the root: `..`
//! that climbs out, or a symlink whose target lies outside.

use std::path::{Component, Path, PathBuf};

use regex::Regex;

use crate::span::Span;
use crate::yaml::{NodeId, Tree};

/// What an include entry points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Local(String),
    /// `remote`, `project`, `template` or `component`: named for the message.
    External {
        kind: &'static str,
        name: String,
    },
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub target: Target,
    /// The scalar that names the file, for diagnostics.
    pub span: Span,
}

/// Reads the `include:` value of a file: a string, a mapping, or a list of both.
pub fn entries(tree: &Tree, text: &str, include: NodeId) -> Vec<Entry> {
    let include = tree.deref(include);
    if tree.is_sequence(include) {
        tree.items(include)
            .filter_map(|item| entry(tree, text, item))
            .collect()
    } else {
        entry(tree, text, include).into_iter().collect()
    }
}

fn entry(tree: &Tree, text: &str, node: NodeId) -> Option<Entry> {
    let node = tree.deref(node);
    if let Some(value) = tree.scalar(text, node) {
        let target = if value.starts_with("https://") || value.starts_with("http://") {
            Target::External {
                kind: "remote",
                name: value.to_string(),
            }
        } else {
            Target::Local(value.to_string())
        };
        return Some(Entry {
            target,
            span: tree.node(node).span,
        });
    }
    for (key, value) in tree.pairs(node) {
        let kind = match tree.key(text, key)? {
            "local" => None,
            "remote" => Some("remote"),
            "project" => Some("project"),
            "template" => Some("template"),
            "component" => Some("component"),
            _ => continue,
        };
        let value = tree.deref(value);
        let name = tree.scalar(text, value).unwrap_or_default().to_string();
        let span = tree.node(value).span;
        let target = match kind {
            None => Target::Local(name),
            Some(kind) => Target::External { kind, name },
        };
        return Some(Entry { target, span });
    }
    None
}

/// Why a local include could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum Problem {
    NotFound,
    OutsideRoot,
    /// The path uses CI variables that only exist at run time.
    Dynamic,
}

/// Resolves a local include path or wildcard to files under `root`.
///
/// `root` must be canonical. The returned paths are canonical and inside it.
pub fn resolve_local(root: &Path, pattern: &str) -> Result<Vec<PathBuf>, Problem> {
    if pattern.contains('$') {
        return Err(Problem::Dynamic);
    }
    let relative = pattern.trim_start_matches('/');
    if climbs_out(relative) {
        return Err(Problem::OutsideRoot);
    }
    if relative.contains('*') {
        let matches = glob(root, relative);
        return if matches.is_empty() {
            Err(Problem::NotFound)
        } else {
            Ok(matches)
        };
    }
    let candidate = root.join(relative);
    let real = candidate.canonicalize().map_err(|_| {
        // A dangling symlink may still point outside: never follow it.
        if candidate.symlink_metadata().is_ok() {
            Problem::OutsideRoot
        } else {
            Problem::NotFound
        }
    })?;
    if !real.starts_with(root) {
        return Err(Problem::OutsideRoot);
    }
    if real.is_file() {
        Ok(vec![real])
    } else {
        Err(Problem::NotFound)
    }
}

/// True when `..` components take the path above its starting directory.
fn climbs_out(relative: &str) -> bool {
    let mut depth: i32 = 0;
    for component in Path::new(relative).components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::RootDir | Component::Prefix(_) => return true,
            Component::CurDir => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// Files under `root` whose relative path matches a GitLab wildcard: `*`
/// stays within one directory, `**` crosses directories. Symlinks are
/// neither followed into directories nor returned when they lead outside.
fn glob(root: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(matcher) = Regex::new(&glob_regex(pattern)) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let name = entry.file_name();
            if kind.is_dir() {
                if name != ".git" && name != "node_modules" && name != "target" {
                    pending.push(path);
                }
                continue;
            }
            let Ok(relative) = path.strip_prefix(root) else {
                continue;
            };
            let relative = relative.to_string_lossy().replace('\\', "/");
            if !matcher.is_match(&relative) {
                continue;
            }
            if let Ok(real) = path.canonicalize()
                && real.starts_with(root)
                && real.is_file()
            {
                found.push(real);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn glob_regex(pattern: &str) -> String {
    let mut regex = String::from("^");
    let mut rest = pattern;
    while let Some(ch) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("**/") {
            regex.push_str("(?:.*/)?");
            rest = after;
        } else if let Some(after) = rest.strip_prefix("**") {
            regex.push_str(".*");
            rest = after;
        } else {
            match ch {
                '*' => regex.push_str("[^/]*"),
                '?' => regex.push_str("[^/]"),
                _ => regex.push_str(&regex::escape(&ch.to_string())),
            }
            rest = &rest[ch.len_utf8()..];
        }
    }
    regex.push('$');
    regex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_gitlab_rules() {
        let single = Regex::new(&glob_regex("ci/*.yml")).unwrap();
        assert!(single.is_match("ci/a.yml"));
        assert!(!single.is_match("ci/sub/a.yml"));
        let deep = Regex::new(&glob_regex("ci/**/*.yml")).unwrap();
        assert!(deep.is_match("ci/a.yml"));
        assert!(deep.is_match("ci/x/y/a.yml"));
        assert!(!deep.is_match("other/a.yml"));
    }

    #[test]
    fn parent_components_that_leave_are_refused() {
        assert!(climbs_out("../x.yml"));
        assert!(climbs_out("ci/../../x.yml"));
        assert!(!climbs_out("ci/../x.yml"));
        assert!(!climbs_out("./ci/x.yml"));
    }
}
