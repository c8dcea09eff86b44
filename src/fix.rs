//! The `diff` and `fix` commands: migrate, verify, then show or write.

mod udiff;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::check::{EXIT_CLEAN, EXIT_ERROR, EXIT_FOUND, Output};
use crate::cli::{DiffFormat, FixArgs};
use crate::config::Config;
use crate::discover::load_config;
use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline, SourceFile};
use crate::mapping::flavor::Flavor;
use crate::migrate::{Migration, Options};
use crate::report::Renderer;
use crate::suppress;
use udiff::write_unified_diff;

/// A pipeline with its migration, or why it was refused.
pub(crate) struct Outcome {
    pub(crate) pipeline: Pipeline,
    pub(crate) result: Result<Migration, LoadError>,
    /// How the migrated jobs run BuildKit, for the run's notes.
    pub(crate) flavor: Flavor,
    /// Jobs an ignore comment or the config keeps on Kaniko.
    pub(crate) kept: Vec<String>,
}

/// What `check` hides, `diff` and `fix` hide too: findings a comment
/// suppresses or the config ignores. Jobs kept on purpose are not "left"
/// (they do not fail the run), and the finding that says so is dropped;
/// jobs that share a definition with them still say why they stay.
fn honour_suppressions(
    pipeline: &Pipeline,
    options: &Options,
    migration: &mut Migration,
) -> Vec<String> {
    let kept = &options.kept_jobs;
    let is_kept_reason = |finding: &Finding| {
        finding.rule == crate::rules::Rule::NotMigrated
            && finding.jobs.iter().all(|job| {
                kept.get(job)
                    .is_some_and(|reason| finding.message.ends_with(reason.as_str()))
            })
    };
    let findings = std::mem::take(&mut migration.findings);
    let findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| !is_kept_reason(f))
        .map(|finding| name_kept_cause(finding, kept))
        .collect();
    migration.findings = options
        .config
        .apply(pipeline, suppress::shown(pipeline, findings));
    let (kept_jobs, remaining): (Vec<String>, Vec<String>) =
        std::mem::take(&mut migration.remaining_jobs)
            .into_iter()
            .partition(|job| kept.contains_key(job));
    migration.remaining_jobs = remaining;
    kept_jobs
}

/// Loads and migrates every pipeline of the run. Each is migrated on the
/// thread that loaded it, and its trees are freed there unless `keep_trees`
/// (`audit` lists each job under the file that defines it; `diff` and
/// `fix` need only the texts).
pub(crate) fn migrate_all(args: &FixArgs, keep_trees: bool) -> (Vec<Outcome>, Vec<LoadError>) {
    let request = args.request();
    let mut config = match load_config(&request) {
        Ok(config) => config,
        Err(error) => return (Vec::new(), vec![error]),
    };
    if let Some(flavor) = args.flavor {
        config.flavor = flavor;
        config.flavor_explicit = true;
    }
    let buildkit_image = args
        .buildkit_image
        .clone()
        .or_else(|| config.buildkit_image.clone())
        .unwrap_or_else(|| config.flavor.default_image());
    let loaded = crate::discover::load(&request, &config, |pipeline| {
        if !pipeline.errors.is_empty() {
            return (pipeline.errors, None);
        }
        let mut outcome = migrate_one(pipeline, args, &config, &buildkit_image);
        if !keep_trees {
            outcome.pipeline.drop_trees();
        }
        (Vec::new(), Some(outcome))
    });
    let mut errors = loaded.errors;
    let mut outcomes = Vec::new();
    for (failed, outcome) in loaded.pipelines {
        errors.extend(failed);
        outcomes.extend(outcome);
    }
    (outcomes, errors)
}

/// The migration of one pipeline that loaded without error.
fn migrate_one(
    pipeline: Pipeline,
    args: &FixArgs,
    config: &Config,
    buildkit_image: &str,
) -> Outcome {
    let kept_jobs = if suppress::may_keep_jobs(&pipeline, config) {
        let analysis = crate::frontend::findings(&pipeline, config);
        suppress::kept_jobs(&pipeline, config, &analysis.findings)
    } else {
        BTreeMap::new()
    };
    let options = Options {
        unsafe_fixes: args.unsafe_fixes,
        buildkit_image: buildkit_image.to_string(),
        root: Some(pipeline.root.clone()),
        config: config.clone(),
        kept_jobs,
    };
    let mut result = crate::frontend::migrate(&pipeline, &options).map_err(|refused| {
        let file = &pipeline.files[refused.file];
        LoadError {
            name: file.name.clone(),
            text: None,
            span: None,
            message: refused.message,
            help: Some("nothing was written; please report this with the file".into()),
        }
    });
    let mut kept = Vec::new();
    if let Ok(migration) = &mut result {
        kept = honour_suppressions(&pipeline, &options, migration);
    }
    Outcome {
        pipeline,
        result,
        flavor: config.flavor,
        kept,
    }
}

/// "…shares a definition with job `X`, which cannot be migrated" is not
/// true of a job kept on purpose: say what holds.
fn name_kept_cause(mut finding: Finding, kept: &BTreeMap<String, String>) -> Finding {
    for job in kept.keys() {
        let blocked = format!("with job `{job}`, which cannot be migrated");
        if let Some(start) = finding.message.strip_suffix(&blocked).map(str::len) {
            let message = finding.message.to_mut();
            message.truncate(start);
            message.push_str(&format!(
                "with job `{job}`, which is kept on Kaniko on purpose"
            ));
        }
    }
    finding
}

/// Writes each rewritten file's diff to `out` as it is made, in the
/// requested format, and returns whether any file changes; files that
/// cannot be diffed add to `errors`. A 50 MB pipeline's diff is 22 MB:
/// gathered into one report (and copied once more to colour it or not),
/// it was the peak of `diff`'s memory.
fn write_diffs(
    outcomes: &[Outcome],
    format: DiffFormat,
    color: bool,
    out: &mut dyn std::io::Write,
    errors: &mut Vec<LoadError>,
) -> bool {
    let mut changed = false;
    let mut shared = SharedFiles::default();
    for outcome in outcomes {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        for rewrite in &migration.rewrites {
            let file = &outcome.pipeline.files[rewrite.file];
            match shared.first(file, &rewrite.text) {
                Ok(true) => changed = true,
                Ok(false) => continue,
                Err(error) => {
                    errors.push(error);
                    continue;
                }
            }
            if format == DiffFormat::Markdown {
                let _ = write!(
                    out,
                    "\n<details open><summary><code>{}</code></summary>\n\n```diff\n",
                    file.name
                );
            }
            let colored = color && format == DiffFormat::Unified;
            write_unified_diff(&file.name, &file.text, &rewrite.text, &mut |chunk| {
                let _ = match colored {
                    true => out.write_all(colorize(chunk).as_bytes()),
                    false => out.write_all(chunk.as_bytes()),
                };
            });
            if format == DiffFormat::Markdown {
                let _ = out.write_all(b"```\n\n</details>\n");
            }
        }
    }
    changed
}

/// `diff`: prints what `fix` would change; exit 1 when there is a change.
pub fn run_diff(args: &FixArgs, format: DiffFormat, out: &mut Output) -> u8 {
    let (outcomes, errors) = migrate_all(args, false);
    // Diagnostics go to stderr: its colour is decided apart from the diff's.
    let renderer = Renderer::new(out.colors.stderr);
    let mut errors = errors;
    // The findings are rendered beside the diffs, on a second thread, and
    // printed after them as before.
    if format == DiffFormat::Markdown {
        let _ = out.stdout.write_all(markdown_summary(&outcomes).as_bytes());
    }
    let color = out.colors.stdout;
    let (changed, findings) = std::thread::scope(|scope| {
        let findings = (format == DiffFormat::Unified)
            .then(|| scope.spawn(|| rendered_findings(&outcomes, &renderer)));
        let changed = write_diffs(&outcomes, format, color, &mut *out.stdout, &mut errors);
        let findings = findings.map(|rendering| {
            rendering
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (changed, findings)
    });
    if let Some(findings) = findings {
        write_all(out.stderr, &findings);
        if !out.quiet {
            print_run_notes(&outcomes, &|_| true, out);
            let failures = errors.len() + refused(&outcomes);
            let _ = writeln!(
                out.stderr,
                "{}",
                summary(&outcomes, "Would migrate", &|_| true, failures)
            );
        }
    }
    finish(
        errors,
        &outcomes,
        &renderer,
        out,
        if changed && !args.exit_zero {
            EXIT_FOUND
        } else {
            EXIT_CLEAN
        },
    )
}

/// `fix`: writes the migrated files; exit 1 when Kaniko remains.
///
/// The files of one pipeline are written together: each new text is first
/// written beside its file, and only when every one of them could be are
/// they renamed into place, so that a template and the jobs that use it
/// are not left half migrated.
pub fn run_fix(args: &FixArgs, out: &mut Output) -> u8 {
    let (outcomes, errors) = migrate_all(args, false);
    let renderer = Renderer::new(out.colors.stderr);
    let mut write_errors = Vec::new();
    let mut written = vec![false; outcomes.len()];
    let mut shared = SharedFiles::default();
    for (index, outcome) in outcomes.iter().enumerate() {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        let mut rewrites = Vec::new();
        for rewrite in &migration.rewrites {
            match shared.first(&outcome.pipeline.files[rewrite.file], &rewrite.text) {
                Ok(true) => rewrites.push(rewrite),
                Ok(false) => {}
                Err(error) => write_errors.push(error),
            }
        }
        match write_migration(&outcome.pipeline, &rewrites, out) {
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
    if !out.quiet {
        print_run_notes(&outcomes, &|index| written[index], out);
        let failures = errors.len() + write_errors.len() + refused(&outcomes);
        let _ = writeln!(
            out.stderr,
            "{}",
            summary(&outcomes, "Migrated", &|index| written[index], failures)
        );
    }
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
        if remaining && !args.exit_zero {
            EXIT_FOUND
        } else {
            EXIT_CLEAN
        },
    )
}

/// Files that more than one pipeline includes (two entry files sharing a
/// template) are migrated with each; the first rewrite is the one shown and
/// written, an identical later one is the same change.
#[derive(Default)]
struct SharedFiles<'a> {
    rewritten: BTreeMap<PathBuf, &'a str>,
}

impl<'a> SharedFiles<'a> {
    /// True for the first rewrite of a file, false for the same rewrite
    /// again, an error for a different one.
    fn first(&mut self, file: &SourceFile, text: &'a str) -> Result<bool, LoadError> {
        let Some(path) = &file.path else {
            return Ok(true);
        };
        match self.rewritten.get(path) {
            None => {
                self.rewritten.insert(path.clone(), text);
                Ok(true)
            }
            Some(&first) if first == text => Ok(false),
            Some(_) => Err(LoadError {
                name: file.name.clone(),
                text: None,
                span: None,
                message: "two pipelines that include this file migrate it differently; \
                          the first migration is the one used"
                    .into(),
                help: Some("run the command again: it then sees the migrated file".into()),
            }),
        }
    }
}

/// Writes the rewrites of one pipeline: all of them or, when one cannot be
/// prepared, none.
fn write_migration(
    pipeline: &Pipeline,
    rewrites: &[&crate::migrate::Rewrite],
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
    for rewrite in rewrites {
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
            Ok(()) if out.quiet => {}
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
    write_all(out.stderr, &rendered_findings(outcomes, renderer));
}

fn write_all(out: &mut dyn std::io::Write, texts: &[String]) {
    for text in texts {
        let _ = out.write_all(text.as_bytes());
    }
}

/// The migrations' findings, by root cause, as `diff` and `fix` print
/// them: one string each, since one buffer for all of them (8 MB for a
/// 50 MB pipeline), grown by doubling, set the peak of `diff`.
fn rendered_findings(outcomes: &[Outcome], renderer: &Renderer) -> Vec<String> {
    let mut texts = Vec::new();
    for outcome in outcomes {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        for finding in &crate::causes::by_root_cause(&migration.findings) {
            texts.push(renderer.finding(&outcome.pipeline, finding).to_string());
        }
    }
    texts
}

/// What holds for every migrated job, said once per run rather than once
/// per job: what the runner must allow, and the media types pushed.
fn run_notes<'a>(outcomes: impl IntoIterator<Item = &'a Outcome>) -> Vec<String> {
    let migrated: Vec<&Outcome> = outcomes
        .into_iter()
        .filter(|o| o.result.as_ref().is_ok_and(|m| !m.migrated_jobs.is_empty()))
        .collect();
    if migrated.is_empty() {
        return Vec::new();
    }
    // The runner and checkout notes are GitLab's: GitHub and Buildkite
    // migrations carry their own. Jobs rewritten in place to `docker buildx
    // build` keep their runner: the flavour's requirements concern the
    // others only.
    let gitlab: Vec<&&Outcome> = migrated
        .iter()
        .filter(|o| o.pipeline.system == crate::system::System::GitLab)
        .collect();
    let flavoured = gitlab.iter().find(|o| {
        o.result.as_ref().is_ok_and(|m| {
            m.migrated_jobs
                .iter()
                .any(|job| !m.in_place_jobs.contains(job))
        })
    });
    let mut notes: Vec<String> = flavoured
        .map(|o| o.flavor.runner_note().to_string())
        .into_iter()
        .collect();
    notes.push(
        "images are pushed with OCI media types (BuildKit v0.31 and later) where Kaniko kept the base image's, \
         usually Docker's: add `oci-mediatypes=false` to an image output if a consumer needs Docker media types"
            .to_string(),
    );
    notes.push(
        "BuildKit builds only the stages the target (by default the last stage) needs, where Kaniko without \
         --skip-unused-stages built every stage before it: a stage that only runs tests no longer runs unless \
         it is the target or a later stage depends on it"
            .to_string(),
    );
    if !gitlab.is_empty() {
        notes.push(
            "GitLab's Docker executor checks out with umask 0000: Kaniko gave a directory made by `COPY` the mode \
             of its source (often 0777), BuildKit gives it 0755; a process that writes into a copied directory \
             as another user needs a `chmod` in the Dockerfile"
                .to_string(),
        );
    }
    notes
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
/// happen, nor that there is no Kaniko where a file was not checked. A file
/// two pipelines include is one file.
fn summary(
    outcomes: &[Outcome],
    verb: &str,
    applied: &dyn Fn(usize) -> bool,
    failures: usize,
) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let (mut jobs, mut left) = (0, 0);
    let mut files = std::collections::BTreeSet::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        left += migration.remaining_jobs.len();
        if applied(index) {
            jobs += migration.migrated_jobs.len();
            files.extend(migration.rewrites.iter().map(|r| {
                let file = &outcome.pipeline.files[r.file];
                (file.path.clone(), file.name.clone())
            }));
        } else {
            left += migration.migrated_jobs.len();
        }
    }
    let files = files.len();
    let kept: usize = outcomes.iter().map(|o| o.kept.len()).sum();
    if jobs == 0 && left == 0 && failures == 0 && kept > 0 {
        return format!(
            "Nothing to migrate; {} kept on Kaniko by ignore comments or the config.",
            plural(kept, "job")
        );
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
    if kept > 0 {
        let _ = write!(
            line,
            "; {} kept on Kaniko by ignore comments or the config",
            plural(kept, "job")
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
    let notes: Vec<Finding> = migrations
        .iter()
        .flat_map(|m| crate::causes::by_root_cause(&m.findings))
        .collect();
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

/// Red removals, green additions, cyan hunk headers.
fn colorize(diff: &str) -> String {
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
