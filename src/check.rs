//! The `check` command: find the CI files, analyse each pipeline, render.

use std::io::{IsTerminal, Write};

use crate::analysis::{Analysis, analyse};
use crate::cli::{CheckArgs, ColorChoice, OutputFormat};
use crate::config::Config;
use crate::discover::{self, load_config};
use crate::gitlab::{LoadError, Pipeline};
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
    let request = args.request();
    let config = match load_config(&request) {
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
    let loaded = discover::load(&request, &config);
    let mut errors = loaded.errors;
    let mut suppressed = 0;
    let mut filter = |pipeline: &Pipeline, findings: Vec<crate::finding::Finding>| {
        let outcome = suppress::apply(pipeline, findings);
        suppressed += outcome.suppressed;
        config.apply(pipeline, outcome.findings)
    };
    let mut analyses: Vec<(Pipeline, Analysis)> = Vec::new();
    let mut kept_jobs = Vec::new();
    for pipeline in loaded.pipelines {
        let mut analysis = analyse(&pipeline, &config);
        kept_jobs.push(suppress::kept_jobs(&pipeline, &config, &analysis.findings));
        analysis.findings = filter(&pipeline, std::mem::take(&mut analysis.findings));
        analyses.push((pipeline, analysis));
    }
    for mut pipeline in loaded.mentions {
        let mentioned = std::mem::take(&mut pipeline.findings);
        let findings = filter(&pipeline, mentioned);
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
    let mut analyses = analyses;
    if args.output_format == OutputFormat::Json {
        for ((pipeline, analysis), kept) in analyses.iter_mut().zip(kept_jobs) {
            attach_fixes(pipeline, analysis, &config, kept);
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
            if let Err(error) = std::fs::write(path, report) {
                errors.push(LoadError {
                    name: path.display().to_string(),
                    text: None,
                    span: None,
                    message: format!("cannot write the report: {error}"),
                    help: Some("check that its directory exists and is writable".into()),
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

/// A file that two pipelines include (two entry files sharing a template)
/// is analysed with each; what it says the same way twice is reported once.
fn drop_repeated_findings(analyses: &mut [(Pipeline, Analysis)]) {
    let mut seen = std::collections::HashSet::new();
    for (pipeline, analysis) in analyses {
        analysis.findings.retain(|finding| {
            let Some(path) = &pipeline.files[finding.file].path else {
                return true;
            };
            seen.insert((
                path.clone(),
                finding.span,
                finding.rule,
                finding.message.clone(),
            ))
        });
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
