//! The `check` command: find the CI files, analyse each pipeline, render.

use hashbrown::{HashMap, HashSet};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use crate::analysis::Analysis;
use crate::cli::{CheckArgs, OutputFormat};
use crate::config::Config;
use crate::discover::{self, load_config};
use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline};
use crate::index_table::IndexTable;
use crate::report::{self, Checked, Renderer};
use crate::rules::{Rule, Severity};
use crate::style::Colors;
use crate::suppress;

/// Exit codes, as ruff and actionlint use them.
pub const EXIT_CLEAN: u8 = 0;
pub const EXIT_FOUND: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// Where output goes and how it looks: the real terminal, or buffers in tests.
pub struct Output<'a> {
    pub stdout: &'a mut dyn Write,
    pub stderr: &'a mut dyn Write,
    /// Whether each stream gets colour (see [`crate::style`]).
    pub colors: Colors,
    /// `-q`: the findings and errors only, no summary or notes.
    pub quiet: bool,
}

pub fn run(args: &CheckArgs, out: &mut Output) -> u8 {
    let request = args.request();
    let mut errors = Vec::new();
    let mut analyses = Vec::new();
    let mut suppressed = 0;
    if let Err(error) = statistics_format(args) {
        errors.push(error);
    } else {
        match load_config(&request) {
            Ok(mut config) => {
                if let Some(flavor) = args.flavor {
                    config.flavor = flavor;
                    config.flavor_explicit = true;
                }
                if let Some(image) = &args.buildkit_image {
                    config.buildkit_image = Some(image.clone());
                }
                (analyses, suppressed) = analyse_all(args, &config, &mut errors);
            }
            Err(error) => errors.push(error),
        }
    }
    let summary = summary(&analyses, suppressed, errors.len());
    // Errors go into the machine formats too (see `report::load`).
    let failures: Vec<_> = errors.iter().map(report::load::as_finding).collect();
    let checked: Vec<Checked> = analyses
        .iter()
        .map(|(pipeline, analysis)| (pipeline, &analysis.findings))
        .chain(
            failures
                .iter()
                .map(|(pipeline, findings)| (pipeline, findings)),
        )
        .filter(|(_, findings)| {
            machine(args.output_format) || findings.iter().all(|f| f.rule != Rule::LoadError)
        })
        .map(|(pipeline, findings)| Checked { pipeline, findings })
        .collect();
    let written = match &args.output_file {
        None => {
            let summary = summary.as_deref().filter(|_| !out.quiet);
            write_report(args, &checked, out.colors.stdout, summary, out.stdout)
                .and_then(|()| out.stdout.flush())
        }
        Some(path) => {
            let mut report = Vec::new();
            // Writing to memory cannot fail.
            let _ = write_report(args, &checked, false, None, &mut report);
            let report = String::from_utf8_lossy(&report);
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
            // The job log names what failed the gate, as ruff does.
            let mut log = concise_lines(&checked, out.colors.stdout);
            if let Some(summary) = summary.filter(|_| !out.quiet) {
                log.push_str(&summary);
                log.push('\n');
            }
            out.stdout.write_all(log.as_bytes())
        }
    };
    let renderer = Renderer::new(out.colors.stderr);
    for error in &errors {
        let _ = write!(out.stderr, "{}", renderer.load_error(error));
    }
    if written.is_err() || !errors.is_empty() {
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

/// Loads, analyses and filters every pipeline of the run; load errors are
/// added to `errors`. Returns the analyses and how many findings comments
/// suppressed. Each pipeline is analysed on the thread that loaded it, and
/// its trees are freed there when the report does not read them: a fleet
/// is never held whole in memory.
fn analyse_all(
    args: &CheckArgs,
    config: &Config,
    errors: &mut Vec<LoadError>,
) -> (Vec<(Pipeline, Analysis)>, usize) {
    // Only the JSON report carries fixes: which jobs a comment keeps on
    // Kaniko is asked only then.
    let fixes = args.output_format == OutputFormat::Json && !args.statistics;
    let keep_trees = !args.statistics && report_reads_trees(args.output_format);
    let loaded = discover::load(&args.request(), config, |mut pipeline| {
        let mut analysis = crate::frontend::analyse(&mut pipeline, config);
        let kept_jobs = fixes.then(|| suppress::kept_jobs(&pipeline, config, &analysis.findings));
        let suppressed;
        (analysis.findings, suppressed) =
            filter(&pipeline, std::mem::take(&mut analysis.findings), config);
        if let Some(kept_jobs) = kept_jobs {
            attach_fixes(&pipeline, &mut analysis, config, kept_jobs);
        }
        drop_repeated_within(&pipeline, &mut analysis.findings);
        analysis.findings.shrink_to_fit();
        if !keep_trees {
            pipeline.drop_trees();
        }
        if args.statistics && args.output_file.is_none() {
            // Only counts are printed: no excerpt, no line number (with
            // `-o`, the job log lists the findings).
            for file in &mut pipeline.files {
                file.text = String::new();
            }
        }
        (pipeline, analysis, suppressed)
    });
    errors.extend(loaded.errors);
    let mut suppressed = 0;
    let mut analyses: Vec<(Pipeline, Analysis)> = Vec::new();
    for (pipeline, analysis, count) in loaded.pipelines {
        suppressed += count;
        analyses.push((pipeline, analysis));
    }
    for mut pipeline in loaded.mentions {
        let mentioned = std::mem::take(&mut pipeline.findings);
        let (findings, count) = filter(&pipeline, mentioned, config);
        suppressed += count;
        let analysis = Analysis {
            findings,
            kaniko_jobs: 0,
        };
        analyses.push((pipeline, analysis));
    }
    drop_repeated_findings(&mut analyses);
    for (pipeline, _) in &analyses {
        errors.extend(pipeline.errors.iter().cloned());
    }
    (analyses, suppressed)
}

/// The findings that comments do not suppress nor the config ignore, and
/// how many comments suppressed.
fn filter(pipeline: &Pipeline, findings: Vec<Finding>, config: &Config) -> (Vec<Finding>, usize) {
    let outcome = suppress::apply(pipeline, findings);
    (config.apply(pipeline, outcome.findings), outcome.suppressed)
}

/// Whether the report walks the YAML trees: Code Quality and SARIF
/// fingerprint a finding by its top-level block, JUnit lists every job.
/// The other reports need only the texts and spans, and the trees, twice
/// the size of the texts, are freed before rendering.
fn report_reads_trees(format: OutputFormat) -> bool {
    matches!(
        format,
        OutputFormat::Gitlab | OutputFormat::Sarif | OutputFormat::Junit
    )
}

/// Formats read by programs: the report alone, load errors included.
fn machine(format: OutputFormat) -> bool {
    !matches!(format, OutputFormat::Full | OutputFormat::Concise)
}

/// `--statistics` is a table (full, concise) or JSON; the CI report formats
/// have no place for counts.
fn statistics_format(args: &CheckArgs) -> Result<(), LoadError> {
    if !args.statistics || !machine(args.output_format) || args.output_format == OutputFormat::Json
    {
        return Ok(());
    }
    Err(LoadError {
        name: "--statistics".into(),
        text: None,
        span: None,
        message: "`--statistics` prints a table or JSON, not a CI report".into(),
        help: Some("use `--output-format full`, `concise` or `json` with it, or drop it".into()),
    })
}

/// Writes the report for stdout or `-o` to `sink`: the statistics or the
/// findings.
fn write_report(
    args: &CheckArgs,
    checked: &[Checked],
    color: bool,
    summary: Option<&str>,
    sink: &mut dyn Write,
) -> std::io::Result<()> {
    if !args.statistics {
        let threads = args.request().threads;
        return render(args.output_format, checked, color, summary, threads, sink);
    }
    let counts = statistics(checked);
    if args.output_format == OutputFormat::Json {
        return sink.write_all(statistics_json(&counts).as_bytes());
    }
    let mut text: String = counts
        .iter()
        .map(|(rule, count)| format!("{count:>5}  {:<24} {}\n", rule.code(), rule.summary()))
        .collect();
    if let Some(summary) = summary {
        text.push_str(summary);
        text.push('\n');
    }
    sink.write_all(text.as_bytes())
}

/// The findings as `concise` lines, for the job log beside a `-o` report.
fn concise_lines(checked: &[Checked], color: bool) -> String {
    report::each(checked)
        .filter(|(_, finding)| finding.rule != Rule::LoadError)
        .map(|(pipeline, finding)| report::concise_styled(pipeline, finding, color) + "\n")
        .collect()
}

/// A file that two pipelines include (two entry files sharing a template)
/// is analysed with each; what it says the same way twice is reported once,
/// the first time. Each pipeline has dropped its own repeats on the thread
/// that analysed it ([`drop_repeated_within`]): here only the findings in a
/// file that several pipelines hold are compared, in the run's order.
fn drop_repeated_findings(analyses: &mut [(Pipeline, Analysis)]) {
    let mut holders: HashMap<&Path, usize> = HashMap::new();
    for (pipeline, _) in analyses.iter() {
        for path in pipeline.files.iter().filter_map(|f| f.path.as_deref()) {
            *holders.entry(path).or_default() += 1;
        }
    }
    let mut seen = HashSet::new();
    let repeated: Vec<Vec<usize>> = analyses
        .iter()
        .map(|(pipeline, analysis)| {
            let findings = analysis.findings.iter().enumerate();
            findings
                .filter(|(_, finding)| {
                    let Some(path) = pipeline.files[finding.file].path.as_deref() else {
                        return false;
                    };
                    holders[path] > 1
                        && !seen.insert((
                            path,
                            finding.span,
                            finding.rule,
                            finding.message.as_ref(),
                        ))
                })
                .map(|(at, _)| at)
                .collect()
        })
        .collect();
    // hashbrown's tables, unlike std's, hold their borrows until dropped.
    drop((seen, holders));
    for ((_, analysis), repeated) in analyses.iter_mut().zip(repeated) {
        drop_at(&mut analysis.findings, &repeated);
    }
}

/// Drops the findings of one pipeline that repeat one before them: the
/// same file, place, rule and message.
fn drop_repeated_within(pipeline: &Pipeline, findings: &mut Vec<Finding>) {
    // A file is known by its path: the first file of the pipeline with it.
    let first_with_path: Vec<Option<usize>> = pipeline
        .files
        .iter()
        .map(|file| {
            let path = file.path.as_deref()?;
            pipeline
                .files
                .iter()
                .position(|other| other.path.as_deref() == Some(path))
        })
        .collect();
    // A table of indices, each finding's key read back from the list: a
    // set of keys took 40 bytes a finding (4 MB at the peak of `check` on
    // a 50 MB pipeline).
    let key = |finding| repeat_key(&first_with_path, finding);
    let mut seen = IndexTable::with_capacity(findings.len());
    let mut repeated = Vec::new();
    for (at, finding) in findings.iter().enumerate() {
        let Some(wanted) = key(finding) else {
            continue;
        };
        let key_of = |index: u32| key(&findings[index as usize]);
        if seen.get(Some(wanted), key_of).is_some() {
            repeated.push(at);
        } else {
            seen.insert(Some(wanted), at as u32, key_of);
        }
    }
    drop(seen);
    drop_at(findings, &repeated);
}

/// What makes a finding a repeat of an earlier one: the same file (the
/// first of the pipeline with its path), place, rule and message; `None`
/// for a finding in a file with no path.
fn repeat_key<'f>(
    first_with_path: &[Option<usize>],
    finding: &'f Finding,
) -> Option<(usize, crate::span::Span, crate::rules::Rule, &'f str)> {
    let file = first_with_path[finding.file]?;
    Some((file, finding.span, finding.rule, finding.message.as_ref()))
}

/// Removes the findings at the positions `at`, which are in order.
fn drop_at(findings: &mut Vec<Finding>, at: &[usize]) {
    if at.is_empty() {
        return;
    }
    let mut position = 0;
    let mut dropped = at.iter().peekable();
    findings.retain(|_| {
        let drop = dropped.next_if_eq(&&position).is_some();
        position += 1;
        !drop
    });
}

/// `--statistics`: a count per rule, most frequent first, as ruff prints it.
fn statistics(checked: &[Checked]) -> Vec<(Rule, usize)> {
    let mut counts: std::collections::BTreeMap<Rule, usize> = std::collections::BTreeMap::new();
    for (_, finding) in report::each(checked) {
        *counts.entry(finding.rule).or_default() += 1;
    }
    let mut rows: Vec<_> = counts.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    rows
}

/// `--statistics --output-format json`: `[{"code", "severity", "summary", "count"}]`.
fn statistics_json(counts: &[(Rule, usize)]) -> String {
    let rows: Vec<serde_json::Value> = counts
        .iter()
        .map(|(rule, count)| {
            serde_json::json!({
                "code": rule.code(),
                "severity": rule.severity().as_str(),
                "summary": rule.summary(),
                "count": count,
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_string());
    out.push('\n');
    out
}

/// Gives each `kaniko/job` finding the fix `fix` would make for the job,
/// with its applicability, for the JSON report.
fn attach_fixes(
    pipeline: &Pipeline,
    analysis: &mut Analysis,
    config: &Config,
    kept_jobs: std::collections::BTreeMap<String, String>,
) {
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
        kept_jobs,
        ..Default::default()
    };
    let fixes = crate::migrate::proposed_fixes(pipeline, &options);
    for finding in analysis
        .findings
        .iter_mut()
        .filter(|f| f.rule == crate::rules::Rule::KanikoJob)
    {
        finding.fix = finding
            .jobs
            .first()
            .and_then(|job| fixes.get(job))
            .cloned()
            .map(Box::new);
    }
}

/// Writes the report in `format` to `sink`. Machine formats are the report
/// alone; the human ones end with the summary when it goes to the same place.
fn render(
    format: OutputFormat,
    checked: &[Checked],
    color: bool,
    summary: Option<&str>,
    threads: usize,
    sink: &mut dyn Write,
) -> std::io::Result<()> {
    let document = match format {
        OutputFormat::Json => report::render_json(checked),
        OutputFormat::Gitlab => report::render_gitlab(checked),
        OutputFormat::Sarif => report::render_sarif(checked),
        OutputFormat::Junit => report::render_junit(checked),
        OutputFormat::Github => report::render_github(checked),
        OutputFormat::Concise => {
            each_finding(checked, threads, sink, |pipeline, finding| {
                report::concise_styled(pipeline, finding, color) + "\n"
            })?;
            return write_summary(summary, sink);
        }
        OutputFormat::Full => {
            let renderer = Renderer::new(color);
            each_finding(checked, threads, sink, |pipeline, finding| {
                renderer.finding(pipeline, finding)
            })?;
            return write_summary(summary, sink);
        }
    };
    sink.write_all(document.as_bytes())
}

fn write_summary(summary: Option<&str>, sink: &mut dyn Write) -> std::io::Result<()> {
    match summary {
        Some(summary) => writeln!(sink, "{summary}"),
        None => Ok(()),
    }
}

/// Renders the findings on `threads` threads (a diagnostic with its excerpt
/// costs about what analysing its job did) and writes them in the report's
/// order, a window at a time: the report is never held whole, which for a
/// 50 MB pipeline with 30,000 Kaniko jobs is 43 MB of text.
fn each_finding(
    checked: &[Checked],
    threads: usize,
    sink: &mut dyn Write,
    render: impl Fn(&Pipeline, &Finding) -> String + Sync,
) -> std::io::Result<()> {
    /// Findings rendered by one thread at a time.
    const CHUNK: usize = 64;
    let findings: Vec<(&Pipeline, &Finding)> = report::each(checked).collect();
    for window in findings.chunks(CHUNK * 4 * threads.max(1)) {
        let parts = crate::parallel::map(window.chunks(CHUNK).collect(), threads, |_, chunk| {
            chunk
                .iter()
                .map(|(pipeline, finding)| render(pipeline, finding))
                .collect::<String>()
        });
        for part in parts {
            sink.write_all(part.as_bytes())?;
        }
    }
    Ok(())
}

/// `Found 3 Kaniko jobs in 2 files (of 5 checked); 9 findings (1 suppressed).`
/// Jobs are counted by their remaining `kaniko/job` findings, so a job
/// whose finding is suppressed or ignored no longer counts; a file two
/// pipelines include is one file. With errors, the line says what was not
/// checked rather than claiming a clean result, and when nothing was
/// checked there is no summary: the errors say it all.
fn summary(analyses: &[(Pipeline, Analysis)], suppressed: usize, errors: usize) -> Option<String> {
    let jobs: usize = analyses
        .iter()
        .flat_map(|(_, a)| &a.findings)
        .filter(|f| f.rule == Rule::KanikoJob)
        .count();
    fn key(pipeline: &Pipeline, file: usize) -> (Option<&Path>, &str) {
        let file = &pipeline.files[file];
        (file.path.as_deref(), file.name.as_str())
    }
    let files: BTreeSet<_> = analyses
        .iter()
        .flat_map(|(p, _)| (0..p.files.len()).map(move |file| key(p, file)))
        .collect();
    let with_kaniko: BTreeSet<_> = analyses
        .iter()
        .flat_map(|(p, a)| a.findings.iter().map(move |f| (p, f)))
        .filter(|(_, f)| {
            f.rule.code().starts_with("kaniko/") && f.rule != Rule::KanikoImageReference
        })
        .map(|(p, f)| key(p, f.file))
        .collect();
    let findings: usize = analyses.iter().map(|(_, a)| a.findings.len()).sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let findings = match suppressed {
        0 => plural(findings, "finding"),
        n => format!("{} ({n} suppressed)", plural(findings, "finding")),
    };
    let failed = plural(errors, "error");
    Some(match (errors, jobs, files.len()) {
        (0, 0, n) => format!("No Kaniko found in {}; {findings}.", plural(n, "file")),
        (0, _, n) => format!(
            "Found {} in {} (of {n} checked); {findings}.",
            plural(jobs, "Kaniko job"),
            plural(with_kaniko.len(), "file"),
        ),
        (_, _, 0) => return None,
        (_, _, n) => format!(
            "Checked {} with {failed} (see below): {} found; {findings}.",
            plural(n, "file"),
            plural(jobs, "Kaniko job"),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    #[test]
    fn findings_are_dropped_at_the_positions_given() {
        let finding = |n: usize| Finding::new(Rule::KanikoJob, 0, Span::new(n, n), "");
        let mut findings: Vec<Finding> = (0..6).map(finding).collect();
        drop_at(&mut findings, &[0, 2, 5]);
        let left: Vec<usize> = findings.iter().map(|f| f.span.start()).collect();
        assert_eq!(left, [1, 3, 4]);
        drop_at(&mut findings, &[]);
        assert_eq!(findings.len(), 3);
    }
}
