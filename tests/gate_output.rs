//! The gate's output when it matters (issue 15, part 3): the job log beside
//! a `-o` report, load errors in every report format, `--statistics` in the
//! chosen format and file, colour decided per stream, and `audit`'s counts.

use serde_json::Value;

#[path = "common/cli.rs"]
mod cli;
use cli::{k2b, project, run, run_in};

const KANIKO_JOB: &str = "\
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";

const INVALID: &str = "build:\n  script: [unclosed\n";

fn has_escape(text: &str) -> bool {
    text.contains("\x1b[")
}

/// With `-o`, the log still names the job, file and line of each finding.
#[test]
fn the_log_names_the_findings_beside_a_report_file() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO_JOB)]);
    let out = run_in(
        dir.path(),
        &["check", "--output-format", "gitlab", "-o", "report.json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stdout
            .contains(".gitlab-ci.yml:1:1: error[kaniko/job] job `build` uses Kaniko"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(".gitlab-ci.yml:4:7: error[kaniko/executor]"),
        "{out:?}"
    );
    assert!(out.stdout.trim_end().ends_with("findings."), "{out:?}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report.as_array().unwrap().len(), 2);
    // -q keeps the findings and drops the summary.
    let out = run_in(
        dir.path(),
        &["-q", "check", "--output-format", "gitlab", "-o", "r.json"],
    );
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
}

/// Invalid YAML appears in every report format, and no "No Kaniko found"
/// precedes the exit 2.
#[test]
fn load_errors_are_in_every_report_format() {
    let dir = project(&[(".gitlab-ci.yml", INVALID)]);
    let check = |format: &str| {
        let out = run_in(dir.path(), &["check", "--output-format", format]);
        assert_eq!(out.code, Some(2), "{format}: {out:?}");
        assert!(!out.stdout.contains("No Kaniko found"), "{format}: {out:?}");
        assert!(out.stderr.contains("invalid YAML"), "{format}: {out:?}");
        out.stdout
    };
    let gitlab: Value = serde_json::from_str(&check("gitlab")).unwrap();
    let issue = &gitlab[0];
    assert_eq!(issue["severity"], "blocker", "{gitlab}");
    assert_eq!(issue["location"]["path"], ".gitlab-ci.yml", "{gitlab}");
    assert_eq!(issue["check_name"], "load/error", "{gitlab}");

    let sarif: Value = serde_json::from_str(&check("sarif")).unwrap();
    let run = &sarif["runs"][0];
    assert_eq!(run["results"].as_array().unwrap().len(), 0, "{sarif}");
    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false, "{sarif}");
    let notification = &invocation["toolExecutionNotifications"][0];
    assert_eq!(notification["level"], "error", "{sarif}");
    assert!(
        notification["message"]["text"]
            .as_str()
            .unwrap()
            .contains("invalid YAML")
    );
    assert_eq!(
        notification["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".gitlab-ci.yml"
    );

    let junit = check("junit");
    let xml = roxmltree::Document::parse(&junit).unwrap();
    let failing: Vec<_> = xml
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .filter(|n| n.children().any(|c| c.has_tag_name("failure")))
        .collect();
    assert_eq!(failing.len(), 1, "{junit}");
    assert_eq!(failing[0].attribute("classname"), Some(".gitlab-ci.yml"));

    let github = check("github");
    assert!(
        github.starts_with("::error file=.gitlab-ci.yml,line=3,"),
        "{github}"
    );

    let json: Value = serde_json::from_str(&check("json")).unwrap();
    assert_eq!(json[0]["rule"], "load/error", "{json}");

    for format in ["full", "concise"] {
        let out = check(format);
        assert!(out.is_empty(), "{format}: {out}");
    }

    // The same with -o: the file holds the error.
    let out = run_in(
        dir.path(),
        &["check", "--output-format", "gitlab", "-o", "cq.json"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    let written = std::fs::read_to_string(dir.path().join("cq.json")).unwrap();
    assert!(written.contains("blocker"), "{written}");
}

/// A config error is a load error like any other in the reports.
#[test]
fn config_errors_reach_the_report() {
    let dir = project(&[
        (".gitlab-ci.yml", KANIKO_JOB),
        (".kaniko2buildkit.toml", "flavour = \"rootless\"\n"),
    ]);
    let out = run_in(dir.path(), &["check", "--output-format", "gitlab"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        report[0]["location"]["path"], ".kaniko2buildkit.toml",
        "{report}"
    );
}

/// `--statistics` follows the output format and `-o`.
#[test]
fn statistics_follow_the_format_and_the_output_file() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO_JOB)]);
    let out = run_in(
        dir.path(),
        &["check", "--statistics", "--output-format", "json"],
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    let rows: Value = serde_json::from_str(&out.stdout).unwrap();
    let codes: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["kaniko/job", "kaniko/executor"], "{rows}");
    assert_eq!(rows[0]["count"], 1);

    let out = run_in(dir.path(), &["check", "--statistics", "-o", "stats.txt"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let written = std::fs::read_to_string(dir.path().join("stats.txt")).unwrap();
    assert!(written.contains("    1  kaniko/job"), "{written}");
    assert!(!out.stdout.contains("    1  kaniko/job"), "{out:?}");
    assert!(out.stdout.contains("Found 1 Kaniko job"), "{out:?}");

    let out = run_in(
        dir.path(),
        &["check", "--statistics", "--output-format", "sarif"],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--statistics"), "{out:?}");
}

/// Concise output is coloured when colour is on, and never otherwise;
/// TERM=dumb turns automatic colour off even in a GitLab job log.
#[test]
fn concise_colour_follows_the_choice() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO_JOB)]);
    let concise = |color: &str, env: &[(&str, &str)]| {
        let mut cmd = k2b(dir.path());
        cmd.args(["--color", color, "check", "--output-format", "concise"]);
        for (key, value) in env {
            cmd.env(key, value);
        }
        run(&mut cmd)
    };
    let out = concise("always", &[]);
    assert!(has_escape(&out.stdout), "{out:?}");
    assert!(out.stdout.contains("error"), "{out:?}");
    assert!(!has_escape(&concise("never", &[]).stdout));
    assert!(!has_escape(&concise("auto", &[]).stdout));
    assert!(has_escape(
        &concise("auto", &[("GITLAB_CI", "true")]).stdout
    ));
    let dumb = concise("auto", &[("GITLAB_CI", "true"), ("TERM", "dumb")]);
    assert!(!has_escape(&dumb.stdout), "{dumb:?}");
    let forced = concise("auto", &[("TERM", "dumb"), ("CLICOLOR_FORCE", "1")]);
    assert!(has_escape(&forced.stdout), "{forced:?}");
}

/// `explain` and `audit` honour `--color`; `diff` colours its diagnostics
/// on stderr and its diff on stdout, each only when asked.
#[test]
fn explain_audit_and_diff_honour_color() {
    let dir = project(&[(
        ".gitlab-ci.yml",
        &KANIKO_JOB.replace("app:1", "app:1 --single-snapshot"),
    )]);
    for args in [&["explain", "--cache-ttl"][..], &["audit", "."]] {
        let always = run_in(dir.path(), &[&["--color", "always"][..], args].concat());
        assert!(has_escape(&always.stdout), "{args:?}: {always:?}");
        let never = run_in(dir.path(), &[&["--color", "never"][..], args].concat());
        assert!(!has_escape(&never.stdout), "{args:?}: {never:?}");
    }
    let error = run_in(dir.path(), &["--color", "always", "explain", "--nope"]);
    assert!(has_escape(&error.stderr), "{error:?}");

    let both = project(&[
        (".gitlab-ci.yml", KANIKO_JOB),
        (
            "ci/x.yml",
            &KANIKO_JOB
                .replace("build:", "other:")
                .replace("app:1", "app:1 --single-snapshot"),
        ),
    ]);
    let out = run_in(both.path(), &["--color", "always", "diff", "."]);
    assert!(has_escape(&out.stdout), "{out:?}");
    assert!(has_escape(&out.stderr), "{out:?}");
    let out = run_in(both.path(), &["--color", "never", "diff", "."]);
    assert!(
        !has_escape(&out.stdout) && !has_escape(&out.stderr),
        "{out:?}"
    );
}

/// `audit` counts the files jobs are defined in, lists a template under its
/// own file, and says "1 file".
#[test]
fn audit_counts_files_and_lists_templates_where_they_are() {
    let template = "\
.kaniko:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";
    let main =
        "include:\n  - local: ci/templates.yml\na:\n  extends: .kaniko\nb:\n  extends: .kaniko\n";
    let dir = project(&[(".gitlab-ci.yml", main), ("ci/templates.yml", template)]);
    let out = run_in(dir.path(), &["--color", "never", "audit"]);
    assert!(
        out.stdout.starts_with("3 Kaniko jobs in 2 files\n"),
        "{out:?}"
    );
    let out = run_in(
        dir.path(),
        &["--color", "never", "audit", "--output-format", "markdown"],
    );
    assert!(
        out.stdout.contains("| `ci/templates.yml` | `.kaniko` |"),
        "{out:?}"
    );
    assert!(out.stdout.contains("| `.gitlab-ci.yml` | `a` |"), "{out:?}");

    let one = project(&[(".gitlab-ci.yml", KANIKO_JOB)]);
    let out = run_in(one.path(), &["--color", "never", "audit"]);
    assert!(
        out.stdout.starts_with("1 Kaniko job in 1 file\n"),
        "{out:?}"
    );
}
