//! The GitLab CI document model: span-aware YAML, includes and job resolution.
//!
//! A [`Pipeline`] is one entry file plus every local file it includes, each
//! parsed once. Jobs are resolved over all of them ([`jobs`]), and every value
//! keeps the file and node that define it, so later stages can point at, and
//! edit, the definition site rather than the job that inherits it.

pub mod include;
pub mod jobs;
mod names;
pub mod value;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::finding::Finding;
use crate::mapping::command::CiVariables;
use crate::rules::{Rule, Severity};
use crate::span::{LineIndex, Span};
use crate::system::System;
use crate::yaml::Tree;

/// Index of a file inside a [`Pipeline`].
pub type FileId = usize;

/// One parsed file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to users: relative to the project root when inside it.
    pub name: String,
    /// Where it was read from; `None` for standard input.
    pub path: Option<PathBuf>,
    pub text: String,
    /// Shared: the tree of a rewrite of this file reads the nodes the
    /// rewrite left alone from this one ([`crate::yaml::splice`]).
    pub tree: Arc<Tree>,
    /// Where lines start; built when first asked (by a report, mostly):
    /// while the tree is held it would add 4 bytes per line.
    lines: OnceLock<LineIndex>,
    /// Files this one includes, in the order they are listed.
    pub includes: Vec<FileId>,
}

/// A file that could not be read or parsed: the run ends with exit code 2.
#[derive(Clone, Debug)]
pub struct LoadError {
    pub name: String,
    /// The text, when the error has a place in it.
    pub text: Option<String>,
    pub span: Option<Span>,
    pub message: String,
    pub help: Option<String>,
}

/// Where the bytes of the entry file come from.
pub enum Input {
    Path(PathBuf),
    Stdin { text: String, name: String },
}

/// An entry file and the local files it includes.
#[derive(Debug, Default)]
pub struct Pipeline {
    pub files: Vec<SourceFile>,
    /// Include problems found while loading.
    pub findings: Vec<Finding>,
    pub errors: Vec<LoadError>,
    /// Whether some include could not be followed: names it defines are unknown.
    pub has_unfollowed_includes: bool,
    /// The project root the files were read from.
    pub root: PathBuf,
    /// The largest file read, in bytes.
    pub max_file_size: u64,
    /// The CI system the entry file belongs to; only GitLab files follow
    /// includes (see [`crate::system`]).
    pub system: System,
}

/// What GitLab's predefined variables mean to the shared translation.
pub static CI_VARIABLES: CiVariables = CiVariables {
    project_dir: &[
        "$CI_PROJECT_DIR",
        "${CI_PROJECT_DIR}",
        "/builds/$CI_PROJECT_PATH",
    ],
    absolute: &[
        "$CI_PROJECT_DIR",
        "${CI_PROJECT_DIR}",
        "$CI_BUILDS_DIR",
        "${CI_BUILDS_DIR}",
        "$HOME",
        "${HOME}",
    ],
    untagged_image: &["CI_REGISTRY_IMAGE"],
};

/// GitLab's limit on included files per pipeline.
const MAX_INCLUDES: usize = 150;

/// The largest file read by default (`--max-file-size`): five times GitLab's
/// own default limit on one CI file (`max_yaml_size_bytes`, 2 MB), and
/// small enough that every stage stays within a few seconds.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

impl Pipeline {
    /// Frees each file's tree once nothing walks it again: the reports but
    /// JUnit's need only the texts and spans, and the tree of a pipeline
    /// holds twice its text.
    pub fn drop_trees(&mut self) {
        for file in &mut self.files {
            file.tree = Arc::new(Tree::empty());
        }
    }

    /// Loads `input` and, recursively, the local files it includes, reading
    /// files of at most [`DEFAULT_MAX_FILE_SIZE`] bytes.
    /// `root` is the project root (canonical).
    pub fn load(root: &Path, input: Input) -> Pipeline {
        Pipeline::load_limited(root, input, DEFAULT_MAX_FILE_SIZE)
    }

    /// [`Pipeline::load`] with another limit on the size of each file. A
    /// file whose real path is outside `root` (a symlink out of the
    /// project) is an error, and is never opened.
    pub fn load_limited(root: &Path, input: Input, max_file_size: u64) -> Pipeline {
        Pipeline::load_system(root, input, max_file_size, System::GitLab)
    }

    /// [`Pipeline::load_limited`] for a file of any CI system: a GitHub
    /// workflow or a Buildkite pipeline is one file, with no includes to
    /// follow.
    pub fn load_system(root: &Path, input: Input, max_file_size: u64, system: System) -> Pipeline {
        Pipeline::load_entry(root, input, max_file_size, system, false)
    }

    /// [`Self::load_system`] for an entry file whose path does not tell its
    /// system: its content does ([`System::by_content`], GitLab CI when it
    /// names no other), read from the tree the load parses anyway, whatever
    /// the file's size up to `max_file_size`. Deciding before loading parsed
    /// a file twice.
    pub fn load_by_content(root: &Path, input: Input, max_file_size: u64) -> Pipeline {
        Pipeline::load_entry(root, input, max_file_size, System::GitLab, true)
    }

    fn load_entry(
        root: &Path,
        input: Input,
        max_file_size: u64,
        system: System,
        by_content: bool,
    ) -> Pipeline {
        let mut pipeline = Pipeline {
            root: root.to_path_buf(),
            max_file_size,
            system,
            ..Pipeline::default()
        };
        let (name, path, text) = match input {
            Input::Stdin { text, name } => (name, None, text),
            Input::Path(path) => {
                let name = display_name(root, &path);
                match read_inside(root, &path, max_file_size) {
                    Ok((real, text)) => (name, Some(real), text),
                    Err(message) => {
                        pipeline.errors.push(LoadError {
                            name,
                            text: None,
                            span: None,
                            message,
                            help: None,
                        });
                        return pipeline;
                    }
                }
            }
        };
        if let Some(entry) = pipeline.add_file(name, path, text, by_content)
            && pipeline.system == System::GitLab
        {
            let mut chain = vec![entry];
            pipeline.follow_includes(root, entry, &mut chain);
        }
        pipeline
    }

    /// Parses and stores a file; a parse error is recorded instead. With
    /// `by_content`, the file is the entry file and its content decides the
    /// pipeline's system (see [`Self::load_by_content`]).
    fn add_file(
        &mut self,
        name: String,
        path: Option<PathBuf>,
        text: String,
        by_content: bool,
    ) -> Option<FileId> {
        let tree = match Tree::parse(&text) {
            Ok(tree) if by_content => {
                self.system = System::by_content(&tree, &text).unwrap_or_default();
                tree
            }
            Ok(parsed) => parsed,
            Err(err) => {
                let offset = err.offset.min(text.len());
                self.errors.push(LoadError {
                    name,
                    span: Some(Span::empty(offset)),
                    text: Some(text),
                    message: format!("invalid YAML: {}", err.message),
                    help: Some("fix the syntax error; the file was not analysed".into()),
                });
                return None;
            }
        };
        if let Some(root) = tree
            .root()
            .filter(|&root| self.system == System::GitLab && !tree.is_mapping(tree.deref(root)))
        {
            let kind = if tree.is_sequence(root) {
                "a list"
            } else {
                "a single value"
            };
            self.errors.push(LoadError {
                name,
                span: Some(tree.node(root).span),
                message: format!(
                    "a GitLab CI file is a mapping of jobs and keywords, but this one holds {kind}"
                ),
                text: Some(text),
                help: Some("the file was not analysed".into()),
            });
            return None;
        }
        let file = self.files.len();
        let source = SourceFile::new(name, path, text, tree);
        let (text, tree) = (&source.text, &source.tree);
        for &(first, later) in tree.duplicate_keys() {
            let key = tree.scalar(text, later).unwrap_or_default();
            let line = source.lines().line_of(tree.node(first).span.start()) + 1;
            let finding = Finding::new(
                Rule::DuplicateKey,
                file,
                tree.node(later).span,
                format!("`{key}` is written twice in one mapping (first on line {line})"),
            )
            .label("this one wins")
            .help("YAML forbids duplicate keys; GitLab keeps the last one, and so does this tool. Remove the other");
            self.findings.push(finding);
        }
        self.files.push(source);
        Some(file)
    }

    fn follow_includes(&mut self, root: &Path, file: FileId, chain: &mut Vec<FileId>) {
        for entry in self.include_entries(file) {
            match entry.target {
                include::Target::External { kind, name } => {
                    self.has_unfollowed_includes = true;
                    let finding = Finding::new(
                        Rule::IncludeNotFollowed,
                        file,
                        entry.span,
                        format!("{kind} include `{name}` is not followed"),
                    )
                    .label("not read")
                    .help("Kaniko jobs defined there are not checked; run the tool in that project too");
                    self.findings.push(finding);
                }
                include::Target::Local(pattern) => {
                    self.follow_local(root, file, &pattern, entry.span, chain)
                }
            }
        }
    }

    fn follow_local(
        &mut self,
        root: &Path,
        file: FileId,
        pattern: &str,
        span: Span,
        chain: &mut Vec<FileId>,
    ) {
        let paths = match include::resolve_local(root, pattern) {
            Ok(paths) => paths,
            Err(problem) => {
                self.report_include_problem(file, pattern, span, problem);
                return;
            }
        };
        for path in paths {
            if let Some(existing) = self
                .files
                .iter()
                .position(|f| f.path.as_deref() == Some(&path))
            {
                if chain.contains(&existing) {
                    let message = format!(
                        "include `{pattern}` leads back to `{}`",
                        self.files[existing].name
                    );
                    let finding = Finding::new(Rule::IncludeCycle, file, span, message)
                        .label("include cycle")
                        .help("remove one of the includes; GitLab rejects cyclic includes");
                    self.findings.push(finding);
                } else {
                    self.files[file].includes.push(existing);
                }
                continue;
            }
            if self.files.len() >= MAX_INCLUDES {
                self.has_unfollowed_includes = true;
                let finding = Finding::new(
                    Rule::IncludeNotFollowed,
                    file,
                    span,
                    "more than 150 included files",
                )
                .label("not read")
                .help("GitLab itself refuses pipelines with more than 150 includes");
                self.findings.push(finding);
                return;
            }
            let name = display_name(root, &path);
            let text = match read_text_limited(&path, self.max_file_size) {
                Ok(text) => text,
                Err(message) => {
                    self.errors.push(LoadError {
                        name,
                        text: None,
                        span: None,
                        message,
                        help: None,
                    });
                    continue;
                }
            };
            if let Some(included) = self.add_file(name, Some(path), text, false) {
                self.files[file].includes.push(included);
                chain.push(included);
                self.follow_includes(root, included, chain);
                chain.pop();
            }
        }
    }

    fn report_include_problem(
        &mut self,
        file: FileId,
        pattern: &str,
        span: Span,
        problem: include::Problem,
    ) {
        // Whatever the include would have defined is unknown from here on.
        self.has_unfollowed_includes = true;
        let finding = match problem {
            include::Problem::NotFound => Finding::new(
                Rule::IncludeNotFound,
                file,
                span,
                format!("local include `{pattern}` matches no file"),
            )
            .label("no such file under the project root")
            .help("check the path, or pass --root when the project root is not the git root"),
            include::Problem::OutsideRoot => Finding::new(
                Rule::IncludeOutsideRoot,
                file,
                span,
                format!("local include `{pattern}` points outside the project root"),
            )
            .label("not read")
            .help("GitLab reads local includes from the repository only; move the file into it"),
            include::Problem::Dynamic => Finding::new(
                Rule::IncludeNotFollowed,
                file,
                span,
                format!("local include `{pattern}` uses variables known only at run time"),
            )
            .label("not read")
            .severity(Severity::Info),
        };
        self.findings.push(finding);
    }

    fn include_entries(&self, file: FileId) -> Vec<include::Entry> {
        let source = &self.files[file];
        let Some(root) = source.tree.root() else {
            return Vec::new();
        };
        source
            .tree
            .pairs(root)
            .find(|&(key, _)| source.tree.key(&source.text, key) == Some("include"))
            .map(|(_, value)| include::entries(&source.tree, &source.text, value))
            .unwrap_or_default()
    }

    /// The same pipeline with some files' text replaced: used to check a
    /// rewrite by resolving its jobs again. Fails on text that does not parse.
    pub fn with_texts(
        &self,
        texts: &std::collections::BTreeMap<FileId, String>,
    ) -> Result<Pipeline, String> {
        let mut rewritten = std::collections::BTreeMap::new();
        for (&id, text) in texts {
            let tree =
                Tree::parse(text).map_err(|e| format!("{}: {}", self.files[id].name, e.message))?;
            rewritten.insert(id, (text.clone(), tree));
        }
        Ok(self.with_rewrites(rewritten))
    }

    /// The same pipeline with some files rewritten, each with its tree
    /// (read and verified by the rewrite): used to check a rewrite by
    /// resolving its jobs again. The other files keep their trees.
    pub fn with_rewrites(
        &self,
        mut rewritten: std::collections::BTreeMap<FileId, (String, Tree)>,
    ) -> Pipeline {
        let files = self
            .files
            .iter()
            .enumerate()
            .map(|(id, file)| {
                let (text, tree) = rewritten
                    .remove(&id)
                    .map(|(text, tree)| (text, Arc::new(tree)))
                    .unwrap_or_else(|| (file.text.clone(), Arc::clone(&file.tree)));
                SourceFile {
                    includes: file.includes.clone(),
                    ..SourceFile::new(file.name.clone(), file.path.clone(), text, tree)
                }
            })
            .collect();
        Pipeline {
            files,
            has_unfollowed_includes: self.has_unfollowed_includes,
            root: self.root.clone(),
            max_file_size: self.max_file_size,
            system: self.system,
            ..Pipeline::default()
        }
    }

    /// Files in GitLab's merge order: included files before the file that
    /// includes them, so that later files override earlier ones.
    pub fn merge_order(&self) -> Vec<FileId> {
        let mut order = Vec::new();
        let mut seen = vec![false; self.files.len()];
        if !self.files.is_empty() {
            self.post_order(0, &mut seen, &mut order);
        }
        order
    }

    fn post_order(&self, file: FileId, seen: &mut [bool], order: &mut Vec<FileId>) {
        if std::mem::replace(&mut seen[file], true) {
            return;
        }
        for &included in &self.files[file].includes {
            self.post_order(included, seen, order);
        }
        order.push(file);
    }
}

impl SourceFile {
    /// A file that includes nothing (yet).
    pub fn new(
        name: String,
        path: Option<PathBuf>,
        text: String,
        tree: impl Into<Arc<Tree>>,
    ) -> SourceFile {
        SourceFile {
            name,
            path,
            text,
            tree: tree.into(),
            lines: OnceLock::new(),
            includes: Vec::new(),
        }
    }

    /// Where the lines of the text start.
    pub fn lines(&self) -> &LineIndex {
        self.lines.get_or_init(|| LineIndex::new(&self.text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn position(&self, offset: usize) -> crate::report::Position {
        let (line, column) = self.lines().position(&self.text, offset);
        crate::report::Position { line, column }
    }
}

/// Reads `path` when its real location is inside `root`, with that real
/// path. A committed symlink to `/etc/passwd` or to another checkout is
/// refused before it is opened: nothing of it is read or shown.
pub fn read_inside(root: &Path, path: &Path, limit: u64) -> Result<(PathBuf, String), String> {
    let real = path
        .canonicalize()
        .map_err(|err| format!("cannot read `{}`: {err}", path.display()))?;
    if !real.starts_with(root) {
        return Err(format!(
            "`{}` leads outside the project root `{}`; it was not read",
            path.display(),
            root.display()
        ));
    }
    read_text_limited(&real, limit).map(|text| (real, text))
}

/// Reads a regular file of at most `limit` bytes as UTF-8. Anything else
/// (a FIFO, which would block, a device such as `/dev/zero`, which never
/// ends, a directory) is refused before a byte is read.
pub fn read_text_limited(path: &Path, limit: u64) -> Result<String, String> {
    use std::io::Read;
    let failed = |err: std::io::Error| format!("cannot read `{}`: {err}", path.display());
    let not_regular = || {
        format!(
            "`{}` is not a regular file (a FIFO, device or directory); it was not read",
            path.display()
        )
    };
    // Checked before opening, because opening a FIFO blocks, and again on
    // the open file, which is what is read.
    if !std::fs::metadata(path).map_err(failed)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path).map_err(failed)?;
    let metadata = file.metadata().map_err(failed)?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    let too_big = |size: u64| {
        format!(
            "`{}` is {size} bytes, more than the limit of {limit}; it was not read \
             (`--max-file-size` raises the limit)",
            path.display()
        )
    };
    if metadata.len() > limit {
        return Err(too_big(metadata.len()));
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > limit {
        return Err(too_big(bytes.len() as u64));
    }
    decode_text(bytes).map_err(|problem| format!("`{}` {problem}", path.display()))
}

/// UTF-8 text, or what is wrong with the bytes, phrased to follow a name.
/// A UTF-8 byte order mark is fine (and kept); UTF-16 and NUL bytes are not.
pub fn decode_text(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return Err("is UTF-16 text: save it as UTF-8, which GitLab expects".to_string());
    }
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(format!(
            "holds a NUL byte at offset {offset}: it is not a text file"
        ));
    }
    String::from_utf8(bytes).map_err(|err| {
        format!(
            "is not UTF-8 text (invalid byte at offset {})",
            err.utf8_error().valid_up_to()
        )
    })
}

/// `path` relative to `root` when it lies inside, else as given.
pub fn display_name(root: &Path, path: &Path) -> String {
    let absolute = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    absolute
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}
