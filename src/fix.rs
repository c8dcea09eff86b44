//! The `diff` and `fix` commands: migrate, verify, then show or write.

use std::fmt::Write as _;

use crate::check::{EXIT_CLEAN, EXIT_ERROR, EXIT_FOUND, Output, load_config, load_with};
use crate::cli::{CheckArgs, DiffFormat, FixArgs};
use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline};
use crate::mapping::flavor::Flavor;
use crate::migrate::{self, Migration, Options};
use crate::report::Renderer;

/// A pipeline with its migration, or why it was refused.
pub(crate) struct Outcome {
    pub(crate) pipeline: Pipeline,
    pub(crate) result: Result<Migration, LoadError>,
    /// How the migrated jobs run BuildKit, for the run's notes.
    pub(crate) flavor: Flavor,
}

pub(crate) fn migrate_all(args: &FixArgs) -> (Vec<Outcome>, Vec<LoadError>) {
    let check_args = CheckArgs {
        paths: args.paths.clone(),
        root: args.root.clone(),
        stdin_filename: args.stdin_filename.clone(),
        max_file_size: args.max_file_size,
        ..Default::default()
    };
    let mut config = match load_config(&check_args) {
        Ok(config) => config,
        Err(error) => return (Vec::new(), vec![error]),
    };
    if let Some(flavor) = args.flavor {
        config.flavor = flavor;
    }
    let (pipelines, mut errors) = load_with(&check_args, &config);
    let buildkit_image = args
        .buildkit_image
        .clone()
        .or_else(|| config.buildkit_image.clone())
        .unwrap_or_else(|| config.flavor.default_image());
    let mut outcomes = Vec::new();
    for pipeline in pipelines {
        errors.extend(pipeline.errors.iter().cloned());
        if !pipeline.errors.is_empty() {
            continue;
        }
        let options = Options {
            unsafe_fixes: args.unsafe_fixes,
            buildkit_image: buildkit_image.clone(),
            root: Some(pipeline.root.clone()),
            config: config.clone(),
        };
        let result = migrate::migrate(&pipeline, &options).map_err(|refused| {
            let file = &pipeline.files[refused.file];
            LoadError {
                name: file.name.clone(),
                text: None,
                span: None,
                message: refused.message,
                help: Some("nothing was written; please report this with the file".into()),
            }
        });
        outcomes.push(Outcome {
            pipeline,
            result,
            flavor: config.flavor,
        });
    }
    (outcomes, errors)
}

/// `diff`: prints what `fix` would change; exit 1 when there is a change.
pub fn run_diff(args: &FixArgs, format: DiffFormat, out: &mut Output) -> u8 {
    let (outcomes, errors) = migrate_all(args);
    let renderer = Renderer::new(out.color && format == DiffFormat::Unified);
    let mut changed = false;
    let mut report = String::new();
    for outcome in &outcomes {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        for rewrite in &migration.rewrites {
            changed = true;
            let file = &outcome.pipeline.files[rewrite.file];
            let diff = unified_diff(&file.name, &file.text, &rewrite.text);
            match format {
                DiffFormat::Unified => report.push_str(&colorize(&diff, out.color)),
                DiffFormat::Markdown => {
                    let _ = write!(
                        report,
                        "\n<details open><summary><code>{}</code></summary>\n\n```diff\n{diff}```\n\n</details>\n",
                        file.name
                    );
                }
            }
        }
    }
    if format == DiffFormat::Markdown {
        report = format!("{}{report}", markdown_summary(&outcomes));
    }
    let _ = out.stdout.write_all(report.as_bytes());
    if format == DiffFormat::Unified {
        print_findings(&outcomes, &renderer, out);
        print_run_notes(&outcomes, &|_| true, out);
        let failures = errors.len() + refused(&outcomes);
        let _ = writeln!(
            out.stderr,
            "{}",
            summary(&outcomes, "Would migrate", &|_| true, failures)
        );
    }
    finish(
        errors,
        &outcomes,
        &renderer,
        out,
        if changed { EXIT_FOUND } else { EXIT_CLEAN },
    )
}

/// `fix`: writes the migrated files; exit 1 when Kaniko remains.
///
/// The files of one pipeline are written together: each new text is first
/// written beside its file, and only when every one of them could be are
/// they renamed into place, so that a template and the jobs that use it
/// are not left half migrated.
pub fn run_fix(args: &FixArgs, out: &mut Output) -> u8 {
    let (outcomes, errors) = migrate_all(args);
    let renderer = Renderer::new(out.color);
    let mut write_errors = Vec::new();
    let mut written = vec![false; outcomes.len()];
    for (index, outcome) in outcomes.iter().enumerate() {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        match write_migration(&outcome.pipeline, migration, out) {
            Ok(()) => written[index] = true,
            Err(errors) => write_errors.extend(errors),
        }
        // Standard input that needed no change is echoed unchanged.
        let unchanged_stdin = outcome.pipeline.files.first().filter(|f| f.path.is_none());
        if let (true, Some(entry)) = (migration.rewrites.is_empty(), unchanged_stdin) {
            let _ = out.stdout.write_all(entry.text.as_bytes());
        }
    }
    print_findings(&outcomes, &renderer, out);
    print_run_notes(&outcomes, &|index| written[index], out);
    let failures = errors.len() + write_errors.len() + refused(&outcomes);
    let _ = writeln!(
        out.stderr,
        "{}",
        summary(&outcomes, "Migrated", &|index| written[index], failures)
    );
    let remaining = outcomes.iter().enumerate().any(|(index, o)| {
        o.result.as_ref().is_ok_and(|m| {
            !m.remaining_jobs.is_empty() || (!written[index] && !m.migrated_jobs.is_empty())
        })
    });
    let mut errors = errors;
    errors.extend(write_errors);
    finish(
        errors,
        &outcomes,
        &renderer,
        out,
        if remaining { EXIT_FOUND } else { EXIT_CLEAN },
    )
}

/// Writes the rewrites of one pipeline: all of them or, when one cannot be
/// prepared, none.
fn write_migration(
    pipeline: &Pipeline,
    migration: &Migration,
    out: &mut Output,
) -> Result<(), Vec<LoadError>> {
    let failed = |name: &str, message: String| LoadError {
        name: name.to_string(),
        text: None,
        span: None,
        message,
        help: None,
    };
    let mut prepared = Vec::new();
    let mut errors = Vec::new();
    for rewrite in &migration.rewrites {
        let file = &pipeline.files[rewrite.file];
        match &file.path {
            Some(path) => match crate::write::prepare(path, &file.text, &rewrite.text) {
                Ok(ready) => prepared.push((file, ready)),
                Err(message) => errors.push(failed(&file.name, message)),
            },
            None => {
                if let Err(error) = out.stdout.write_all(rewrite.text.as_bytes()) {
                    errors.push(failed(&file.name, error.to_string()));
                }
            }
        }
    }
    if !errors.is_empty() {
        if !prepared.is_empty() {
            let names: Vec<&str> = prepared.iter().map(|(f, _)| f.name.as_str()).collect();
            let _ = writeln!(
                out.stderr,
                "Not written either, to keep the pipeline consistent: {}",
                names.join(", ")
            );
        }
        return Err(errors);
    }
    for (file, ready) in prepared {
        for warning in &ready.warnings {
            let _ = writeln!(out.stderr, "warning: {warning}");
        }
        match ready.commit() {
            Ok(()) => {
                let _ = writeln!(out.stderr, "Migrated {}", file.name);
            }
            Err(message) => errors.push(failed(&file.name, message)),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Pipelines whose migration was refused (the verifier's safety net).
fn refused(outcomes: &[Outcome]) -> usize {
    outcomes.iter().filter(|o| o.result.is_err()).count()
}

fn finish(
    errors: Vec<LoadError>,
    outcomes: &[Outcome],
    renderer: &Renderer,
    out: &mut Output,
    code: u8,
) -> u8 {
    let refused: Vec<&LoadError> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().err())
        .collect();
    for error in errors.iter().chain(refused.iter().copied()) {
        let _ = write!(out.stderr, "{}", renderer.load_error(error));
    }
    if errors.is_empty() && refused.is_empty() {
        code
    } else {
        EXIT_ERROR
    }
}

fn print_findings(outcomes: &[Outcome], renderer: &Renderer, out: &mut Output) {
    for outcome in outcomes {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        for finding in &migration.findings {
            let _ = write!(
                out.stderr,
                "{}",
                renderer.finding(&outcome.pipeline, finding)
            );
        }
    }
}

/// What holds for every migrated job, said once per run rather than once
/// per job: what the runner must allow, and the media types pushed.
fn run_notes<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Vec<String> {
    let migrated = outcomes
        .into_iter()
        .find(|o| o.result.as_ref().is_ok_and(|m| !m.migrated_jobs.is_empty()));
    let Some(outcome) = migrated else {
        return Vec::new();
    };
    vec![
        outcome.flavor.runner_note().to_string(),
        "images are pushed with OCI media types (BuildKit v0.31 and later) where Kaniko kept the base image's, \
         usually Docker's: add `oci-mediatypes=false` to an image output if a consumer needs Docker media types"
            .to_string(),
        "BuildKit builds only the stages the target (by default the last stage) needs, where Kaniko without \
         --skip-unused-stages built every stage before it: a stage that only runs tests no longer runs unless \
         it is the target or a later stage depends on it"
            .to_string(),
    ]
}

/// The run notes, when some pipeline was `applied` (written, for `fix`).
fn print_run_notes(outcomes: &[Outcome], applied: &dyn Fn(usize) -> bool, out: &mut Output) {
    let written = (0..outcomes.len())
        .filter(|&index| applied(index))
        .map(|index| &outcomes[index]);
    for note in run_notes(written) {
        let _ = writeln!(out.stderr, "note: {note}");
    }
}

/// `Migrated 3 Kaniko jobs in 2 files; 1 job left as it is (see the
/// diagnostics).` Only pipelines whose files were `applied` count as
/// migrated; `failures` (files that could not be read, verified or written)
/// are named too, so that the line never claims a migration that did not
/// happen, nor that there is no Kaniko where a file was not checked.
fn summary(
    outcomes: &[Outcome],
    verb: &str,
    applied: &dyn Fn(usize) -> bool,
    failures: usize,
) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (mut jobs, mut files, mut left) = (0, 0, 0);
    for (index, outcome) in outcomes.iter().enumerate() {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        left += migration.remaining_jobs.len();
        if applied(index) {
            jobs += migration.migrated_jobs.len();
            files += migration.rewrites.len();
        } else {
            left += migration.migrated_jobs.len();
        }
    }
    let failed = format!(
        "{} could not be read, verified or written (see the errors)",
        plural(failures, "file")
    );
    if jobs == 0 && left == 0 {
        return if failures == 0 {
            "No Kaniko found; nothing to migrate.".to_string()
        } else {
            format!("{verb} nothing: {failed}.")
        };
    }
    let mut line = if jobs == 0 && failures > 0 {
        format!("{verb} nothing")
    } else {
        format!(
            "{verb} {} in {}",
            plural(jobs, "Kaniko job"),
            plural(files, "file")
        )
    };
    if left > 0 {
        let _ = write!(
            line,
            "; {} left as {} (see the diagnostics)",
            plural(left, "job"),
            if left == 1 { "it is" } else { "they are" }
        );
    }
    if failures > 0 {
        let _ = write!(line, "; {failed}");
    }
    line.push('.');
    line
}

/// A Markdown block for a merge-request comment: a summary table, then the
/// diffs. No colour, whatever the terminal.
fn markdown_summary(outcomes: &[Outcome]) -> String {
    let mut out = String::from("### kaniko2buildkit: Kaniko → BuildKit\n\n| | |\n|---|---|\n");
    let migrations: Vec<&Migration> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .collect();
    let migrated: Vec<&String> = migrations.iter().flat_map(|m| &m.migrated_jobs).collect();
    let left: Vec<&String> = migrations.iter().flat_map(|m| &m.remaining_jobs).collect();
    let notes: Vec<&Finding> = migrations.iter().flat_map(|m| &m.findings).collect();
    let list = |jobs: &[&String]| {
        jobs.iter()
            .map(|j| format!("`{j}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "| jobs migrated | {} {} |",
        migrated.len(),
        list(&migrated)
    );
    let _ = writeln!(out, "| jobs left | {} {} |", left.len(), list(&left));
    let _ = writeln!(out, "| notes | {} |", notes.len());
    if !notes.is_empty() {
        out.push_str("\n<details><summary>Notes</summary>\n\n");
        for note in notes {
            let _ = writeln!(
                out,
                "- `{}` {}",
                note.rule.code(),
                note.message.replace('|', "\\|")
            );
        }
        out.push_str("\n</details>\n");
    }
    for note in run_notes(outcomes) {
        let _ = write!(out, "\n> **Note:** {}\n", note.replace('|', "\\|"));
    }
    out
}

/// A unified diff with three lines of context and `a/` `b/` headers.
fn unified_diff(name: &str, old: &str, new: &str) -> String {
    // Patience keeps diffs of files with thousands of edited jobs fast (Myers
    // grows with the square of the changes); the deadline bounds the worst case.
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_secs(5))
        .diff_lines(old, new);
    let mut text = diff
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(true)
        .header(&format!("a/{name}"), &format!("b/{name}"))
        .to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// Red removals, green additions, cyan hunk headers.
fn colorize(diff: &str, color: bool) -> String {
    if !color {
        return diff.to_string();
    }
    diff.split_inclusive('\n')
        .map(|line| {
            let code = match line.as_bytes().first() {
                Some(b'+') if !line.starts_with("+++") => "32",
                Some(b'-') if !line.starts_with("---") => "31",
                Some(b'@') => "36",
                _ => return line.to_string(),
            };
            let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            format!("\x1b[{code}m{body}\x1b[0m{end}")
        })
        .collect()
}
