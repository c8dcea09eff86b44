//! The `check` command: find the CI files, analyse each pipeline, render.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

use crate::analysis::{Analysis, analyse};
use crate::cli::{CheckArgs, ColorChoice, OutputFormat};
use crate::config::Config;
use crate::gitlab::{Input, LoadError, Pipeline, display_name};
use crate::report::{self, Checked, Renderer};
use crate::rules::{Rule, Severity};
use crate::suppress;

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
    let config = match load_config(args) {
        Ok(config) => config,
        Err(error) => {
            let _ = write!(
                out.stderr,
                "{}",
                Renderer::new(out.color).load_error(&error)
            );
            return EXIT_ERROR;
        }
    };
    let (pipelines, mut errors) = load_with(args, &config);
    let mut suppressed = 0;
    let analyses: Vec<(Pipeline, Analysis)> = pipelines
        .into_iter()
        .map(|pipeline| {
            let mut analysis = analyse(&pipeline, &config);
            let outcome = suppress::apply(&pipeline, std::mem::take(&mut analysis.findings));
            suppressed += outcome.suppressed;
            analysis.findings = config.apply(&pipeline, outcome.findings);
            (pipeline, analysis)
        })
        .collect();
    for (pipeline, _) in &analyses {
        errors.extend(pipeline.errors.iter().cloned());
    }
    let mut analyses = analyses;
    if args.output_format == OutputFormat::Json {
        for (pipeline, analysis) in &mut analyses {
            attach_fixes(pipeline, analysis, &config);
        }
    }
    let summary = summary(&analyses, suppressed);
    let checked: Vec<Checked> = analyses
        .iter()
        .map(|(pipeline, analysis)| Checked {
            pipeline,
            findings: &analysis.findings,
        })
        .collect();
    let written = match &args.output_file {
        None => {
            let report = if args.statistics {
                format!("{}{summary}\n", statistics(&checked))
            } else {
                render(args.output_format, &checked, out.color, Some(&summary))
            };
            out.stdout
                .write_all(report.as_bytes())
                .and_then(|()| out.stdout.flush())
        }
        Some(path) => {
            let report = render(args.output_format, &checked, false, None);
            if let Err(error) = crate::write::write_report(path, &report) {
                errors.push(LoadError {
                    name: path.display().to_string(),
                    text: None,
                    span: None,
                    message: format!("cannot write the report: {error}"),
                    help: Some(
                        "pass a path to a regular file, or none, in a writable directory".into(),
                    ),
                });
            }
            writeln!(out.stdout, "{summary}")
        }
    };
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

/// `--statistics`: one line per rule, most frequent first, as ruff prints it.
fn statistics(checked: &[Checked]) -> String {
    let mut counts: std::collections::BTreeMap<crate::rules::Rule, usize> =
        std::collections::BTreeMap::new();
    for (_, finding) in report::each(checked) {
        *counts.entry(finding.rule).or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows.iter()
        .map(|(rule, count)| format!("{count:>5}  {:<24} {}\n", rule.code(), rule.summary()))
        .collect()
}

/// Gives each `kaniko/job` finding the fix `fix` would make for the job,
/// with its applicability, for the JSON report.
fn attach_fixes(pipeline: &Pipeline, analysis: &mut Analysis, config: &Config) {
    if analysis.kaniko_jobs == 0 {
        return;
    }
    let options = crate::migrate::Options {
        root: Some(pipeline.root.clone()),
        config: config.clone(),
        buildkit_image: config
            .buildkit_image
            .clone()
            .unwrap_or_else(|| config.flavor.default_image()),
        ..Default::default()
    };
    let fixes = crate::migrate::proposed_fixes(pipeline, &options);
    for finding in analysis
        .findings
        .iter_mut()
        .filter(|f| f.rule == crate::rules::Rule::KanikoJob)
    {
        finding.fix = finding.jobs.first().and_then(|job| fixes.get(job)).cloned();
    }
}

/// The report in `format`. Machine formats are the report alone; the human
/// ones end with the summary when it goes to the same place.
fn render(format: OutputFormat, checked: &[Checked], color: bool, summary: Option<&str>) -> String {
    let findings = || report::each(checked);
    let mut text = match format {
        OutputFormat::Json => return report::render_json(checked),
        OutputFormat::Gitlab => return report::render_gitlab(checked),
        OutputFormat::Sarif => return report::render_sarif(checked),
        OutputFormat::Junit => return report::render_junit(checked),
        OutputFormat::Github => return report::render_github(checked),
        OutputFormat::Concise => findings()
            .map(|(pipeline, finding)| report::concise(pipeline, finding) + "\n")
            .collect::<String>(),
        OutputFormat::Full => {
            let renderer = Renderer::new(color);
            findings()
                .map(|(pipeline, finding)| renderer.finding(pipeline, finding))
                .collect()
        }
    };
    if let Some(summary) = summary {
        text.push_str(summary);
        text.push('\n');
    }
    text
}

/// `Found 3 Kaniko jobs in 2 files (of 5 checked); 9 findings (1 suppressed).`
/// Jobs are counted by their remaining `kaniko/job` findings, so a job
/// whose finding is suppressed or ignored no longer counts.
fn summary(analyses: &[(Pipeline, Analysis)], suppressed: usize) -> String {
    let jobs: usize = analyses
        .iter()
        .flat_map(|(_, a)| &a.findings)
        .filter(|f| f.rule == Rule::KanikoJob)
        .count();
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
    let findings = match suppressed {
        0 => plural(findings, "finding"),
        n => format!("{} ({n} suppressed)", plural(findings, "finding")),
    };
    if jobs == 0 {
        format!("No Kaniko found in {}; {findings}.", plural(files, "file"))
    } else {
        format!(
            "Found {} in {} (of {} checked); {findings}.",
            plural(jobs, "Kaniko job"),
            plural(with_kaniko, "file"),
            files,
        )
    }
}

/// The config for a run: `--config`/`--no-config`, else
/// `.kaniko2buildkit.toml` at the project root of the first path.
pub(crate) fn load_config(args: &CheckArgs) -> Result<Config, LoadError> {
    let first = match args.paths.first() {
        Some(path) if path.as_os_str() == "-" => {
            PathBuf::from(args.stdin_filename.as_deref().unwrap_or("<stdin>"))
        }
        // The root of a directory is that of a file inside it.
        Some(path) if path.is_dir() => path.join(".gitlab-ci.yml"),
        Some(path) => path.clone(),
        None => PathBuf::from(".gitlab-ci.yml"),
    };
    let first = std::path::absolute(&first).unwrap_or(first);
    let root = project_root(args.root.as_deref(), &first);
    Config::load(&root, &args.config, args.no_config)
}

/// Loads every pipeline named on the command line. A file already loaded as
/// an include of an earlier one is not analysed again on its own, and a
/// file found in a directory is skipped when the config excludes it.
pub(crate) fn load_with(args: &CheckArgs, config: &Config) -> (Vec<Pipeline>, Vec<LoadError>) {
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
        let searched = path.is_dir();
        for file in files {
            let root = project_root(args.root.as_deref(), &file);
            if searched && config.is_excluded(&display_name(&root, &file)) {
                continue;
            }
            let canonical = file.canonicalize().ok();
            let seen = pipelines.iter().any(|p| {
                p.files
                    .iter()
                    .any(|f| f.path.is_some() && f.path == canonical)
            });
            if seen {
                continue;
            }
            pipelines.push(Pipeline::load_limited(
                &root,
                Input::Path(file),
                max_file_size(args),
            ));
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
    let limit = max_file_size(args);
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
    let here = PathBuf::from(".");
    let root = project_root(args.root.as_deref(), &here.join(&name));
    Ok(Pipeline::load_limited(
        &root,
        Input::Stdin { text, name },
        limit,
    ))
}

/// `--max-file-size`, or the default.
fn max_file_size(args: &CheckArgs) -> u64 {
    args.max_file_size
        .unwrap_or(crate::gitlab::DEFAULT_MAX_FILE_SIZE)
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
/// file's own directory; canonical, as include checks require. Parents are
/// those of the path as written, not of where a symlink at its end leads:
/// a committed `.gitlab-ci.yml -> ../other/ci.yml` must not move the root
/// out of the repository.
fn project_root(explicit: Option<&Path>, file: &Path) -> PathBuf {
    let canonical = |path: &Path| path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    if let Some(root) = explicit {
        return canonical(root);
    }
    let absolute =
        lexically_normal(&std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()));
    let start = absolute.parent().unwrap_or(&absolute).to_path_buf();
    let mut dir = Some(start.as_path());
    while let Some(current) = dir {
        if current.join(".git").exists() {
            return canonical(current);
        }
        dir = current.parent();
    }
    canonical(&start)
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
