//! Which files a command line stands for, and the project they belong to.
//!
//! A file named on the command line is checked whatever it is called. A
//! directory is walked with the `ignore` crate (what ripgrep, ruff and
//! zizmor use), so `.gitignore`d trees such as `build/` or `.venv/` are not
//! read. Every YAML file found is a candidate: GitLab can include any YAML
//! file of the repository, and real projects keep templates in
//! `templates/*.yml`, `jobs/*/*.yml` or `docker/*.yml`. A candidate is
//! analysed when its name says it is CI (`.gitlab-ci.yml`, `*.gitlab-ci.yml`,
//! anything under `ci/` or `.gitlab/` of the project root) or when its
//! content is a GitLab CI document; any other YAML that names a Kaniko image
//! gets an info finding (`kaniko/image-reference`), since something may
//! still build with it.
//!
//! A file that another loaded file includes is analysed once, as part of the
//! pipeline that includes it, however many times it is named ([`load`]).
//! Files are sniffed and pipelines loaded on `--threads` threads, with the
//! results of one thread (see [`crate::parallel`]).

mod load;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::finding::Finding;
use crate::gitlab::{Input, LoadError, Pipeline, display_name};
use crate::rules::Rule;
use crate::system::System;
use crate::yaml::Tree;

pub use load::{Loaded, load};

/// GitLab's default limit on one CI file (`max_yaml_size_bytes`): a larger
/// YAML file found by a search cannot be CI and is not read.
const MAX_CANDIDATE_BYTES: u64 = 2 * 1024 * 1024;

/// Keys whose presence in a top-level mapping makes it a job or template.
const JOB_KEYS: &[&str] = &["script", "image", "extends"];

/// What a command names: its paths and how to find the project.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    pub paths: &'a [PathBuf],
    pub root: Option<&'a Path>,
    pub stdin_filename: Option<&'a str>,
    pub config: &'a [String],
    pub no_config: bool,
    /// The largest file read (`--max-file-size`).
    pub max_file_size: u64,
    /// How many files are read and worked on at once (`--threads`).
    pub threads: usize,
}

/// The config for a run: `--config`/`--no-config`, else
/// `.kaniko2buildkit.toml` at the project root of the first path. A
/// `--root` that is not a directory is an error here, before anything runs.
pub fn load_config(request: &Request) -> Result<Config, LoadError> {
    if let Some(root) = request.root
        && !root.is_dir()
    {
        return Err(LoadError {
            name: "--root".into(),
            text: None,
            span: None,
            message: format!("`{}` is not a directory", root.display()),
            help: Some("pass the project root: the directory that holds .git".into()),
        });
    }
    let first = match request.paths.first() {
        Some(path) if path.as_os_str() == "-" => stdin_path(request),
        // The root of a directory is that of a file inside it.
        Some(path) if path.is_dir() => path.join(".gitlab-ci.yml"),
        Some(path) => path.clone(),
        None => PathBuf::from(".gitlab-ci.yml"),
    };
    let root = project_root(request.root, &first);
    Config::load(&root, request.config, request.no_config)
}

/// `--root`, else the nearest parent of `file` holding `.git`, else the
/// file's own directory; canonical, as include checks require. `file` need
/// not exist (standard input is named after a file that may not).
pub fn project_root(explicit: Option<&Path>, file: &Path) -> PathBuf {
    if let Some(root) = explicit {
        return canonical(root);
    }
    // The parents of the path as written, not of where a symlink at its end
    // leads: a committed `.gitlab-ci.yml -> ../other/ci.yml` must not move
    // the root out of the repository.
    let absolute =
        lexically_normal(&std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()));
    let start = absolute.parent().unwrap_or(&absolute).to_path_buf();
    let found = start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .unwrap_or(&start);
    canonical(found)
}

/// `path` with `.` dropped and `..` taken back, as a shell's `cd` reads it.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    normal
}

/// The real path, or the nearest real ancestor joined with the rest.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) if !parent.as_os_str().is_empty() => {
            canonical(parent).join(name)
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Where standard input is taken to be: `--stdin-filename` (relative to the
/// working directory), else a `.gitlab-ci.yml` there, so that the project
/// root is the nearest `.git` above the working directory.
fn stdin_path(request: &Request) -> PathBuf {
    let name = request.stdin_filename.unwrap_or(".gitlab-ci.yml");
    let here = std::env::current_dir().unwrap_or_default();
    here.join(name)
}

fn read_stdin(request: &Request) -> Result<Pipeline, LoadError> {
    let name = request.stdin_filename.unwrap_or("<stdin>").to_string();
    let mut bytes = Vec::new();
    let failed = |message: String| LoadError {
        name: name.clone(),
        text: None,
        span: None,
        message,
        help: None,
    };
    let limit = request.max_file_size;
    std::io::stdin()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|err| failed(format!("cannot read standard input: {err}")))?;
    if bytes.len() as u64 > limit {
        return Err(failed(format!(
            "standard input is more than {limit} bytes (`--max-file-size` raises the limit)"
        )));
    }
    let text = crate::gitlab::decode_text(bytes)
        .map_err(|problem| failed(format!("standard input {problem}")))?;
    let path = stdin_path(request);
    let root = project_root(request.root, &path);
    let input = Input::Stdin { text, name };
    Ok(match system_by_name(&path) {
        Some(system) => Pipeline::load_system(&root, input, limit, system),
        None => Pipeline::load_by_content(&root, input, limit),
    })
}

/// What a path on the command line stands for.
#[derive(Default)]
struct Found {
    /// CI files and their system, `.gitlab-ci.yml` first; `None` for a
    /// file named on the command line that its content must tell.
    ci: Vec<(PathBuf, Option<System>)>,
    /// Other YAML that names a Kaniko image, with where it does.
    mentions: Vec<(PathBuf, Mention)>,
}

/// A Kaniko image named in a YAML file that is not GitLab CI.
struct Mention {
    image: String,
    span: crate::span::Span,
}

/// The file itself, or what a directory holds (see the module docs).
fn discover(path: &Path, request: &Request, config: &Config) -> Result<Found, LoadError> {
    let missing = |message: String| LoadError {
        name: path.display().to_string(),
        text: None,
        span: None,
        message,
        help: Some("pass a CI file or a directory that holds one".into()),
    };
    let metadata = std::fs::metadata(path).map_err(|err| missing(format!("cannot read: {err}")))?;
    if !metadata.is_dir() {
        let system = system_by_name(path);
        return Ok(Found {
            ci: vec![(path.to_path_buf(), system)],
            ..Found::default()
        });
    }
    let base = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let root = project_root(request.root, &base.join(".gitlab-ci.yml"));
    let files = yaml_files(&base, &root);
    let sorted = crate::parallel::map(files, request.threads, |_, file| {
        sort_out(&root, config, file)
    });
    let mut found = Found::default();
    for (file, sniffed) in sorted {
        match sniffed {
            Sniffed::Ci(system) => found.ci.push((file, Some(system))),
            Sniffed::Mentions(mention) => found.mentions.push((file, mention)),
            Sniffed::Other => {}
        }
    }
    found.ci.sort_by_key(|(file, _)| {
        (
            file.file_name().is_none_or(|n| n != ".gitlab-ci.yml"),
            file.clone(),
        )
    });
    if found.ci.is_empty() && found.mentions.is_empty() {
        return Err(missing(
            "no CI files in this directory (GitLab CI, GitHub Actions or Buildkite YAML)".into(),
        ));
    }
    Ok(found)
}

/// What a YAML file found by a search is: CI by its path when that says,
/// else by its content; a file the config excludes is nothing. (Its name,
/// a real path, is not asked for when nothing is excluded.)
fn sort_out(root: &Path, config: &Config, file: PathBuf) -> (PathBuf, Sniffed) {
    let excluded = config.excludes_any() && config.is_excluded(&display_name(root, &file));
    let sniffed = if excluded {
        Sniffed::Other
    } else if let Some(system) = System::by_path(&file) {
        Sniffed::Ci(system)
    } else if is_named_ci(root, &file) {
        Sniffed::Ci(System::GitLab)
    } else {
        sniff(&file)
    };
    (file, sniffed)
}

/// Every YAML file under `base` that no ignore file excludes. Hidden files
/// count (`.gitlab-ci.yml`, `.gitlab/`); `.git` does not.
///
/// The walk starts at the project root when `base` lies inside it, and
/// enters only the directories leading down to `base`: so the repository's
/// own `.gitignore` files apply (`check ci/` honours the root's), and none
/// outside the root is read (the global git excludes neither, which would
/// make a run differ between machines). Symlinked directories are not
/// entered, and a symlinked file counts only when it resolves inside the
/// directory searched: a search never reads files outside what it was
/// asked to read.
fn yaml_files(base: &Path, root: &Path) -> Vec<PathBuf> {
    let start = if base.starts_with(root) { root } else { base };
    let on_the_way = base.to_path_buf();
    let walker = ignore::WalkBuilder::new(start)
        .hidden(false)
        .parents(false)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(move |entry| {
            let path = entry.path();
            entry.file_name() != ".git"
                && (path.starts_with(&on_the_way) || on_the_way.starts_with(path))
        })
        .build();
    let mut files = Vec::new();
    for entry in walker.flatten() {
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() || !is_yaml(path) || !path.starts_with(base) {
            continue;
        }
        let inside = !kind.is_symlink()
            || path
                .canonicalize()
                .is_ok_and(|real| real.is_file() && real.starts_with(base));
        if inside {
            files.push(entry.into_path());
        }
    }
    files
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext == "yml" || ext == "yaml")
}

/// `.gitlab-ci.yml`, `*.gitlab-ci.yml`, or YAML under `ci/`, `.gitlab/` or
/// `.gitlab-ci/` of the project root, wherever the search started.
fn is_named_ci(root: &Path, path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if name == ".gitlab-ci.yml" || name == ".gitlab-ci.yaml" || name.ends_with(".gitlab-ci.yml") {
        return true;
    }
    let real = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let Ok(relative) = real.strip_prefix(root) else {
        return false;
    };
    let mut dirs = relative.components().rev().skip(1);
    dirs.any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some(".gitlab" | "ci" | ".gitlab-ci")
        )
    })
}

enum Sniffed {
    Ci(System),
    Mentions(Mention),
    Other,
}

/// The system of a file named on the command line (or standard input's
/// `--stdin-filename`) by its path, if that tells it: `None` leaves it to
/// the file's content when that is another system's, else GitLab CI,
/// whatever the file is called (see [`Pipeline::load_by_content`]).
fn system_by_name(path: &Path) -> Option<System> {
    if let Some(system) = System::by_path(path) {
        return Some(system);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    (name.ends_with(".gitlab-ci.yml") || name.ends_with(".gitlab-ci.yaml"))
        .then_some(System::GitLab)
}

/// Reads a YAML file found by a search to tell CI from other YAML. A file
/// that is too large, unreadable or not YAML (a Helm template) is not CI.
fn sniff(path: &Path) -> Sniffed {
    // Only a regular file, read up to the limit: a FIFO or device in the
    // repository must not hang or flood the search.
    let Ok(text) = crate::gitlab::read_text_limited(path, MAX_CANDIDATE_BYTES) else {
        return Sniffed::Other;
    };
    let Ok(tree) = Tree::parse(&text) else {
        return Sniffed::Other;
    };
    if let Some(system) = System::by_content(&tree, &text) {
        return Sniffed::Ci(system);
    }
    if is_ci_document(&tree, &text) {
        return Sniffed::Ci(System::GitLab);
    }
    kaniko_image_in(&tree, &text).map_or(Sniffed::Other, Sniffed::Mentions)
}

/// A top-level mapping with a job or hidden template: an entry whose value
/// is a mapping holding `script`, `image` or `extends`.
fn is_ci_document(tree: &Tree, text: &str) -> bool {
    let Some(root) = tree.root().map(|r| tree.deref(r)) else {
        return false;
    };
    if !tree.is_mapping(root) {
        return false;
    }
    tree.pairs(root).any(|(_, value)| {
        let value = tree.deref(value);
        tree.is_mapping(value)
            && tree
                .pairs(value)
                .any(|(key, _)| tree.key(text, key).is_some_and(|k| JOB_KEYS.contains(&k)))
    })
}

/// The first scalar that is a Kaniko image.
fn kaniko_image_in(tree: &Tree, text: &str) -> Option<Mention> {
    tree.node_ids().find_map(|id| {
        let value = tree.scalar(text, id)?;
        crate::kaniko::image::is_kaniko_image(&value).then(|| Mention {
            image: value.trim().to_string(),
            span: tree.node(id).span,
        })
    })
}

/// A pipeline holding only the non-CI file, with its one info finding.
/// Whatever the file calls `include` is not GitLab's: nothing it names is
/// read or reported.
fn mention_pipeline(root: &Path, file: PathBuf, mention: &Mention, limit: u64) -> Pipeline {
    let mut pipeline = Pipeline::load_limited(root, Input::Path(file), limit);
    pipeline.files.truncate(1);
    if let Some(entry) = pipeline.files.first_mut() {
        entry.includes.clear();
    }
    pipeline.errors.clear();
    pipeline.has_unfollowed_includes = false;
    let finding = Finding::new(
        Rule::KanikoImageReference,
        0,
        mention.span,
        format!(
            "`{}` is a Kaniko image, in a file that is not GitLab CI",
            mention.image
        ),
    )
    .label("Kaniko image")
    .help(
        "something may still build with Kaniko from here (a script, another CI system, a \
         Helm value); move it to moby/buildkit:rootless too",
    );
    pipeline.findings = vec![finding];
    pipeline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(text: &str) -> bool {
        is_ci_document(&Tree::parse(text).unwrap(), text)
    }

    #[test]
    fn ci_documents_have_jobs_or_templates() {
        assert!(ci("build:\n  script: [make]\n"));
        assert!(ci(
            ".kaniko:\n  image: gcr.io/kaniko-project/executor:debug\n"
        ));
        assert!(ci("job:\n  extends: .base\n"));
        assert!(!ci("services:\n  web:\n    image: nginx\n"));
        assert!(!ci("image:\n  repository: nginx\n  tag: 1\n"));
        assert!(!ci("- a\n- b\n"));
        assert!(!ci("key: value\n"));
    }

    #[test]
    fn ci_directories_are_relative_to_the_root() {
        let root = Path::new("/nonexistent/project");
        assert!(is_named_ci(root, &root.join("ci/templates.yml")));
        assert!(is_named_ci(root, &root.join(".gitlab/x/y.yaml")));
        assert!(is_named_ci(root, &root.join("sub/.gitlab-ci.yml")));
        assert!(!is_named_ci(root, &root.join("templates/ci.yml")));
        assert!(!is_named_ci(root, &root.join("docker/build.yml")));
    }
}
