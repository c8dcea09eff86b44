//! The `check` command: find the CI files, analyse each pipeline, render.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::analysis::{Analysis, analyse};
use crate::cli::{CheckArgs, ColorChoice, OutputFormat};
use crate::gitlab::{Input, LoadError, Pipeline};
use crate::report::{self, Renderer};
use crate::rules::Severity;

/// Exit codes, as ruff and actionlint use them.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FOUND: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Where output goes and how it looks: the real terminal, or buffers in tests.
pub struct Output<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    pub color: bool,
}

/// Decides colour for `auto` the way most CLIs do: NO_COLOR wins, then
/// CLICOLOR_FORCE, then GitLab job logs (which render ANSI), then a TTY.
pub fn use_color(choice: ColorChoice) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("NO_COLOR") => false,
        ColorChoice::Auto if set("CLICOLOR_FORCE") || set("GITLAB_CI") => true,
        ColorChoice::Auto => std::io::stdout().is_terminal(),
    }
}

pub fn run(args: &CheckArgs, out: &mut Output) -> u8 {
    let (pipelines, mut errors) = load_all(args);
    let analyses: Vec<(Pipeline, Analysis)> = pipelines
        .into_iter()
        .map(|pipeline| {
            let analysis = analyse(&pipeline);
            (pipeline, analysis)
        })
        .collect();
    for (pipeline, _) in &analyses {
        errors.extend(pipeline.errors.iter().map(|e| LoadError {
            name: e.name.clone(),
            text: e.text.clone(),
            span: e.span,
            message: e.message.clone(),
            help: e.help.clone(),
        }));
    }
    let written = render(args.output_format, &analyses, out);
    let renderer = Renderer::new(out.color);
    for error in &errors {
        let _ = write!(out.stderr, "{}", renderer.load_error(error));
    }
    if written.is_err() {
        return EXIT_ERROR;
    }
    if !errors.is_empty() {
        return EXIT_ERROR;
    }
    let failed = analyses
        .iter()
        .flat_map(|(_, a)| &a.findings)
        .any(|f| f.severity == Severity::Error);
    if failed && !args.exit_zero {
        EXIT_FOUND
    } else {
        EXIT_CLEAN
    }
}

fn render(
    format: OutputFormat,
    analyses: &[(Pipeline, Analysis)],
    out: &mut Output,
) -> std::io::Result<()> {
    let findings = || {
        analyses
            .iter()
            .flat_map(|(p, a)| a.findings.iter().map(move |f| (p, f)))
    };
    match format {
        OutputFormat::Json => out
            .stdout
            .write_all(report::render_json(findings()).as_bytes())?,
        OutputFormat::Concise => {
            for (pipeline, finding) in findings() {
                writeln!(out.stdout, "{}", report::concise(pipeline, finding))?;
            }
            writeln!(out.stdout, "{}", summary(analyses))?;
        }
        OutputFormat::Full => {
            let renderer = Renderer::new(out.color);
            for (pipeline, finding) in findings() {
                write!(out.stdout, "{}", renderer.finding(pipeline, finding))?;
            }
            writeln!(out.stdout, "{}", summary(analyses))?;
        }
    }
    out.stdout.flush()
}

/// `Found 3 Kaniko jobs (1 template) in 2 files.`
fn summary(analyses: &[(Pipeline, Analysis)]) -> String {
    let jobs: usize = analyses.iter().map(|(_, a)| a.kaniko_jobs).sum();
    let files: usize = analyses.iter().map(|(p, _)| p.files.len()).sum();
    let with_kaniko: usize = analyses
        .iter()
        .map(|(_, a)| {
            let mut files: Vec<_> = a
                .findings
                .iter()
                .filter(|f| f.rule.code().starts_with("kaniko/"))
                .map(|f| f.file)
                .collect();
            files.sort_unstable();
            files.dedup();
            files.len()
        })
        .sum();
    let findings: usize = analyses.iter().map(|(_, a)| a.findings.len()).sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    if jobs == 0 {
        format!(
            "No Kaniko found in {}; {}.",
            plural(files, "file"),
            plural(findings, "finding")
        )
    } else {
        format!(
            "Found {} in {} (of {} checked); {}.",
            plural(jobs, "Kaniko job"),
            plural(with_kaniko, "file"),
            files,
            plural(findings, "finding")
        )
    }
}

/// Loads every pipeline named on the command line. A file already loaded as
/// an include of an earlier one is not analysed again on its own.
fn load_all(args: &CheckArgs) -> (Vec<Pipeline>, Vec<LoadError>) {
    let mut pipelines: Vec<Pipeline> = Vec::new();
    let mut errors = Vec::new();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".gitlab-ci.yml")]
    } else {
        args.paths.clone()
    };
    for path in paths {
        if path.as_os_str() == "-" {
            match read_stdin(args) {
                Ok(pipeline) => pipelines.push(pipeline),
                Err(error) => errors.push(error),
            }
            continue;
        }
        let files = match discover(&path) {
            Ok(files) => files,
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        for file in files {
            let canonical = file.canonicalize().ok();
            let seen = pipelines.iter().any(|p| {
                p.files
                    .iter()
                    .any(|f| f.path.is_some() && f.path == canonical)
            });
            if seen {
                continue;
            }
            let root = project_root(args.root.as_deref(), &file);
            pipelines.push(Pipeline::load(&root, Input::Path(file)));
        }
    }
    (pipelines, errors)
}

fn read_stdin(args: &CheckArgs) -> Result<Pipeline, LoadError> {
    let name = args
        .stdin_filename
        .clone()
        .unwrap_or_else(|| "<stdin>".to_string());
    let mut bytes = Vec::new();
    let failed = |message: String| LoadError {
        name: name.clone(),
        text: None,
        span: None,
        message,
        help: None,
    };
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|err| failed(format!("cannot read standard input: {err}")))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        failed(format!(
            "standard input is not UTF-8 (invalid byte at offset {})",
            err.utf8_error().valid_up_to()
        ))
    })?;
    let here = PathBuf::from(".");
    let root = project_root(args.root.as_deref(), &here.join(&name));
    Ok(Pipeline::load(&root, Input::Stdin { text, name }))
}

/// The CI files a path stands for: the file itself, or the CI files found
/// in a directory.
fn discover(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let missing = |message: String| LoadError {
        name: path.display().to_string(),
        text: None,
        span: None,
        message,
        help: Some("pass a GitLab CI file or a directory that holds one".into()),
    };
    let metadata = std::fs::metadata(path).map_err(|err| missing(format!("cannot read: {err}")))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    let base = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    walk(&base, &base, &mut found);
    found.sort_by_key(|file| {
        (
            file.file_name().is_none_or(|n| n != ".gitlab-ci.yml"),
            file.clone(),
        )
    });
    if found.is_empty() {
        return Err(missing("no GitLab CI files in this directory".into()));
    }
    Ok(found)
}

/// Collects `.gitlab-ci.yml`, `*.gitlab-ci.yml`, and YAML under `.gitlab/` or
/// `ci/`. Symlinked directories are not entered, and a symlinked file counts
/// only when it resolves inside the directory searched: a search of one
/// project never reads files of another.
fn walk(base: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        if kind.is_dir() {
            if !matches!(name.as_str(), ".git" | "node_modules" | "target") {
                walk(base, &path, found);
            }
            continue;
        }
        let inside =
            !kind.is_symlink() || path.canonicalize().is_ok_and(|real| real.starts_with(base));
        if inside && is_ci_file(base, &path, &name) {
            found.push(path);
        }
    }
}

fn is_ci_file(base: &Path, path: &Path, name: &str) -> bool {
    if name == ".gitlab-ci.yml" || name == ".gitlab-ci.yaml" || name.ends_with(".gitlab-ci.yml") {
        return true;
    }
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    let relative = path.strip_prefix(base).unwrap_or(path);
    yaml && relative.components().any(|c| {
        matches!(
            c.as_os_str().to_str(),
            Some(".gitlab" | "ci" | ".gitlab-ci")
        )
    })
}

/// `--root`, else the nearest parent of `file` holding `.git`, else the
/// file's own directory; canonical, as include checks require.
fn project_root(explicit: Option<&Path>, file: &Path) -> PathBuf {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(root) = explicit {
        return canonical(root);
    }
    let absolute = canonical(file);
    let start = absolute.parent().unwrap_or(&absolute).to_path_buf();
    let mut dir = Some(start.as_path());
    while let Some(current) = dir {
        if current.join(".git").exists() {
            return current.to_path_buf();
        }
        dir = current.parent();
    }
    start
}
