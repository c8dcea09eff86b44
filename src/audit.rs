//! The `audit` command: the fleet view of a migration. Over every file it
//! counts the Kaniko jobs that migrate fully, those that migrate with notes,
//! and those that cannot, with the reasons, as GitHub Actions Importer's
//! audit does for its own migrations.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::check::{EXIT_CLEAN, EXIT_ERROR, EXIT_FOUND, Output};
use crate::cli::{DiffFormat, FixArgs};
use crate::finding::Finding;
use crate::fix::{Outcome, migrate_all};
use crate::report::Renderer;
use crate::rules::Rule;
use crate::style::{self, paint};

/// How one job fares.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Fully,
    WithNotes,
    Cannot,
}

struct JobRow {
    file: String,
    job: String,
    verdict: Verdict,
    reasons: Vec<String>,
}

pub fn run(args: &FixArgs, format: DiffFormat, out: &mut Output) -> u8 {
    let (outcomes, errors) = migrate_all(args, true);
    let rows = rows(&outcomes);
    let text = match format {
        DiffFormat::Unified => text_report(&rows, out.colors.stdout),
        DiffFormat::Markdown => markdown_report(&rows),
    };
    let _ = std::io::Write::write_all(out.stdout, text.as_bytes());
    let renderer = Renderer::new(out.colors.stderr);
    let refused = outcomes.iter().filter_map(|o| o.result.as_ref().err());
    let mut failed = false;
    for error in errors.iter().chain(refused) {
        failed = true;
        let _ = std::io::Write::write_all(out.stderr, renderer.load_error(error).as_bytes());
    }
    match (failed, rows.iter().any(|r| r.verdict == Verdict::Cannot)) {
        (true, _) => EXIT_ERROR,
        (false, true) if !args.exit_zero => EXIT_FOUND,
        (false, _) => EXIT_CLEAN,
    }
}

/// One row per Kaniko job, with what the migration would say about it.
fn rows(outcomes: &[Outcome]) -> Vec<JobRow> {
    let mut rows = Vec::new();
    for outcome in outcomes {
        let Ok(migration) = &outcome.result else {
            continue;
        };
        // Each job is listed under the file that defines it (a template's
        // own file, not the file that includes it).
        let pipeline = &outcome.pipeline;
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        crate::frontend::each_job(pipeline, |file, name| {
            files.insert(name, pipeline.files[file].name.clone());
        });
        let entry = pipeline
            .files
            .first()
            .map_or(String::new(), |f| f.name.clone());
        let file_of = |job: &String| files.get(job).cloned().unwrap_or_else(|| entry.clone());
        let by_job = Finding::by_job(&migration.findings);
        let about = |job: &String| -> Vec<&Finding> {
            by_job.get(job.as_str()).cloned().unwrap_or_default()
        };
        for job in &migration.migrated_jobs {
            let notes: Vec<String> = about(job).iter().map(|f| f.message.to_string()).collect();
            let verdict = if notes.is_empty() {
                Verdict::Fully
            } else {
                Verdict::WithNotes
            };
            rows.push(JobRow {
                file: file_of(job),
                job: job.clone(),
                verdict,
                reasons: notes,
            });
        }
        for job in &migration.remaining_jobs {
            let prefix = format!("job `{job}` is not migrated: ");
            let reasons = about(job)
                .iter()
                .filter(|f| f.rule == Rule::NotMigrated)
                .map(|f| {
                    f.message
                        .strip_prefix(&prefix)
                        .unwrap_or(&f.message)
                        .to_string()
                })
                .collect();
            rows.push(JobRow {
                file: file_of(job),
                job: job.clone(),
                verdict: Verdict::Cannot,
                reasons,
            });
        }
    }
    rows.sort_by(|a, b| (&a.verdict, &a.file, &a.job).cmp(&(&b.verdict, &b.file, &b.job)));
    rows
}

fn count(rows: &[JobRow], verdict: Verdict) -> usize {
    rows.iter().filter(|r| r.verdict == verdict).count()
}

/// Reasons jobs cannot migrate, most frequent first.
fn reasons(rows: &[JobRow]) -> Vec<(usize, &str)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in rows
        .iter()
        .filter(|r| r.verdict == Verdict::Cannot)
        .flat_map(|r| &r.reasons)
    {
        *counts.entry(reason).or_default() += 1;
    }
    let mut sorted: Vec<(usize, &str)> =
        counts.into_iter().map(|(reason, n)| (n, reason)).collect();
    sorted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    sorted
}

fn text_report(rows: &[JobRow], color: bool) -> String {
    let files = rows
        .iter()
        .map(|r| &r.file)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let title = format!(
        "{} in {}",
        plural(rows.len(), "Kaniko job"),
        plural(files, "file")
    );
    let mut out = format!("{}\n", paint(color, style::BOLD, &title));
    for (label, verdict, colour) in [
        ("migrate fully:     ", Verdict::Fully, style::GREEN),
        ("migrate with notes:", Verdict::WithNotes, style::YELLOW),
        ("cannot migrate:    ", Verdict::Cannot, style::RED),
    ] {
        let n = count(rows, verdict);
        let number = paint(color && n > 0, colour.bold(), &n.to_string());
        let _ = writeln!(out, "  {label} {number}");
    }
    let reasons = reasons(rows);
    if !reasons.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            paint(color, style::BOLD, "Why jobs cannot migrate:")
        );
        for (n, reason) in reasons {
            let _ = writeln!(out, "  {n:>4}  {reason}");
        }
    }
    out
}

fn markdown_report(rows: &[JobRow]) -> String {
    let mut out = String::from("## Kaniko → BuildKit audit\n\n| | jobs |\n|---|---|\n");
    let _ = writeln!(out, "| migrate fully | {} |", count(rows, Verdict::Fully));
    let _ = writeln!(
        out,
        "| migrate with notes | {} |",
        count(rows, Verdict::WithNotes)
    );
    let _ = writeln!(out, "| cannot migrate | {} |", count(rows, Verdict::Cannot));
    let reasons = reasons(rows);
    if !reasons.is_empty() {
        out.push_str("\n### Why jobs cannot migrate\n\n| jobs | reason |\n|---|---|\n");
        for (n, reason) in reasons {
            let _ = writeln!(out, "| {n} | {} |", reason.replace('|', "\\|"));
        }
    }
    out.push_str("\n### Jobs\n\n| file | job | verdict |\n|---|---|---|\n");
    for row in rows {
        let verdict = match row.verdict {
            Verdict::Fully => "migrates",
            Verdict::WithNotes => "migrates with notes",
            Verdict::Cannot => "cannot migrate",
        };
        let _ = writeln!(out, "| `{}` | `{}` | {verdict} |", row.file, row.job);
    }
    out
}
