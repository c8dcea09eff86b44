//! End-to-end tests of the `kaniko2buildkit` binary: exit codes, file
//! discovery, standard input, error reporting, output formats, colour,
//! help, and include handling (resolution, safety and cycles).
//!
//! Every test works in its own temporary directory and writes the small
//! YAML files it needs, so nothing depends on the test runner's cwd.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use regex::Regex;
use serde_json::Value;
use tempfile::TempDir;

/// Exit codes of the tool (see `check::EXIT_*`).
const CLEAN: i32 = 0;
const FOUND: i32 = 1;
const ERROR: i32 = 2;

/// A job that builds with Kaniko: the executor image and one executor call.
const KANIKO_JOB: &str = "\
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example/app:1
";

/// Mentions `/kaniko/executor` only inside a string that is echoed: not Kaniko.
const DIND_JOB: &str = "\
test:
  image: docker:dind
  script:
    - echo \"/kaniko/executor\"
";

/// Marker placed in files outside the project root; it must never be printed.
const MARKER: &str = "SECRET_OUTSIDE_MARKER";

/// What one run of the binary produced.
struct Run {
    /// `None` when the process was killed (e.g. by a timeout) or crashed.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn both(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn tempdir() -> TempDir {
    tempfile::tempdir().expect("create a temporary directory")
}

/// A temporary directory with an empty `.git`, so that it is the project
/// root (and file names are shown relative to it) wherever the system's
/// temporary directory lives, even inside another repository.
fn project() -> TempDir {
    let tmp = tempdir();
    std::fs::create_dir(tmp.path().join(".git")).unwrap();
    tmp
}

/// Writes `text` to `dir/relative`, creating parent directories.
fn write(dir: &Path, relative: &str, text: impl AsRef<[u8]>) {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The binary, run in `dir`, with a timeout so a hang fails instead of stalling.
fn k2b(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kaniko2buildkit").unwrap();
    cmd.current_dir(dir).timeout(Duration::from_secs(10));
    cmd
}

/// Whether `dir` or a parent holds `.git`, which would make it a project root.
fn inside_a_repository(dir: &Path) -> bool {
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// Runs the binary in `dir` with `args`.
fn run_in(dir: &Path, args: &[&str]) -> Run {
    run(k2b(dir).args(args))
}

fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().expect("run kaniko2buildkit");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `check --color never --output-format concise ARGS...` in `dir`.
fn concise(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["check", "--color", "never", "--output-format", "concise"];
    all.extend_from_slice(args);
    run_in(dir, &all)
}

/// The finding lines of concise output (every line but the summary).
fn finding_lines(stdout: &str) -> Vec<&str> {
    let lines: Vec<&str> = stdout.lines().collect();
    let (summary, findings) = lines.split_last().expect("a summary line");
    assert!(
        summary.starts_with("Found ") || summary.starts_with("No Kaniko found"),
        "last line is not a summary: {summary}"
    );
    findings.to_vec()
}

/// The `path` part of every concise finding line.
fn reported_paths(stdout: &str) -> BTreeSet<String> {
    finding_lines(stdout)
        .iter()
        .map(|line| line.split(':').next().unwrap().to_string())
        .collect()
}

fn has_escape(text: &str) -> bool {
    text.contains("\x1b[")
}

/// The findings of `--output-format json` output.
fn json_findings(stdout: &str) -> Vec<Value> {
    let value: Value = serde_json::from_str(stdout).expect("stdout is JSON");
    value.as_array().expect("a JSON array").clone()
}

fn usize_at(value: &Value, pointer: &str) -> usize {
    let number = value
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("no number at {pointer} in {value}"));
    usize::try_from(number).unwrap()
}

// --- exit codes --------------------------------------------------------------

/// A file with a Kaniko job fails the lint gate (exit 1) and says so.
#[test]
fn kaniko_file_exits_one_and_reports_the_job() {
    let tmp = project();
    write(tmp.path(), "ci.yml", KANIKO_JOB);
    let out = run_in(tmp.path(), &["check", "--color", "never", "ci.yml"]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert!(out.stdout.contains("kaniko/job"), "{out:?}");
    assert!(out.stdout.contains("Found 1 Kaniko job"), "{out:?}");
}

/// Docker-in-docker that merely echoes the executor path is not Kaniko.
#[test]
fn file_without_kaniko_exits_zero() {
    let tmp = project();
    write(tmp.path(), "ci.yml", DIND_JOB);
    let out = run_in(tmp.path(), &["check", "--color", "never", "ci.yml"]);
    assert_eq!(out.code, Some(CLEAN), "{out:?}");
    assert!(out.stdout.contains("No Kaniko found"), "{out:?}");
    assert!(!out.stdout.contains("kaniko/"), "{out:?}");
}

/// `--exit-zero` reports Kaniko but does not fail.
#[test]
fn exit_zero_turns_found_into_success() {
    let tmp = project();
    write(tmp.path(), "ci.yml", KANIKO_JOB);
    let out = run_in(
        tmp.path(),
        &["check", "--color", "never", "--exit-zero", "ci.yml"],
    );
    assert_eq!(out.code, Some(CLEAN), "{out:?}");
    assert!(out.stdout.contains("kaniko/job"), "{out:?}");
}

// --- which files are read ----------------------------------------------------

/// Without a path, `.gitlab-ci.yml` in the current directory is checked.
#[test]
fn no_path_checks_gitlab_ci_yml_in_current_dir() {
    let tmp = project();
    write(tmp.path(), ".gitlab-ci.yml", KANIKO_JOB);
    let out = concise(tmp.path(), &[]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert_eq!(
        reported_paths(&out.stdout),
        BTreeSet::from([".gitlab-ci.yml".to_string()]),
        "{out:?}"
    );
}

/// Without a path and without `.gitlab-ci.yml`, the tool cannot run (exit 2).
#[test]
fn no_path_and_no_gitlab_ci_yml_exits_two() {
    let tmp = project();
    let out = concise(tmp.path(), &[]);
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(out.stderr.contains(".gitlab-ci.yml"), "{out:?}");
}

/// A directory is searched at any depth for `.gitlab-ci.yml`,
/// `*.gitlab-ci.yml`, YAML under `ci/` or `.gitlab/`, and any other YAML
/// that holds jobs (tests/discovery.rs covers the rest).
#[test]
fn directory_discovers_ci_files() {
    let tmp = project();
    for file in [
        ".gitlab-ci.yml",
        "y.gitlab-ci.yml",
        "deep/er/x.gitlab-ci.yml",
        "ci/a.yml",
        ".gitlab/b.yaml",
        "other/c.yml",
    ] {
        write(tmp.path(), file, KANIKO_JOB);
    }
    let root = tmp.path().to_str().unwrap();
    let out = concise(tmp.path(), &["--root", root, "."]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    let expected: BTreeSet<String> = [
        ".gitlab-ci.yml",
        "y.gitlab-ci.yml",
        "deep/er/x.gitlab-ci.yml",
        "ci/a.yml",
        ".gitlab/b.yaml",
        "other/c.yml",
    ]
    .map(String::from)
    .into();
    assert_eq!(reported_paths(&out.stdout), expected, "{out:?}");
}

/// A directory without CI files is an error, not a clean pass.
#[test]
fn directory_without_ci_files_exits_two() {
    let tmp = project();
    write(tmp.path(), "other/c.yml", "key: value\nlist: [a, b]\n");
    let out = concise(tmp.path(), &["."]);
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(!out.stderr.is_empty(), "{out:?}");
}

// --- standard input ----------------------------------------------------------

/// `-` reads standard input; `--stdin-filename` names it in the output.
#[test]
fn stdin_uses_stdin_filename() {
    let tmp = project();
    let out = run(k2b(tmp.path())
        .args(["check", "--color", "never", "--output-format", "concise"])
        .args(["-", "--stdin-filename", ".gitlab-ci.yml"])
        .write_stdin(KANIKO_JOB));
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    let lines = finding_lines(&out.stdout);
    assert!(!lines.is_empty(), "{out:?}");
    for line in lines {
        assert!(line.starts_with(".gitlab-ci.yml:"), "{line}");
    }
}

/// Without `--stdin-filename`, standard input is called `<stdin>`.
#[test]
fn stdin_is_named_stdin_by_default() {
    let tmp = project();
    let out = run(k2b(tmp.path())
        .args([
            "check",
            "--color",
            "never",
            "--output-format",
            "concise",
            "-",
        ])
        .write_stdin(KANIKO_JOB));
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    let lines = finding_lines(&out.stdout);
    assert!(!lines.is_empty(), "{out:?}");
    for line in lines {
        assert!(line.starts_with("<stdin>:"), "{line}");
    }
}

/// Standard input without Kaniko passes.
#[test]
fn stdin_without_kaniko_exits_zero() {
    let tmp = project();
    let out = run(k2b(tmp.path())
        .args(["check", "--color", "never", "-"])
        .write_stdin(DIND_JOB));
    assert_eq!(out.code, Some(CLEAN), "{out:?}");
    assert!(out.stdout.contains("No Kaniko found"), "{out:?}");
}

/// Standard input that is not UTF-8 is an error.
#[test]
fn stdin_not_utf8_exits_two() {
    let tmp = project();
    let out = run(k2b(tmp.path())
        .args(["check", "--color", "never", "-"])
        .write_stdin(&b"a: \xff\xfe\n"[..]));
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(out.stderr.contains("not UTF-8"), "{out:?}");
}

// --- files the tool cannot read ----------------------------------------------

/// Broken YAML is reported on stderr with the file name, and exits 2.
#[test]
fn invalid_yaml_exits_two() {
    let tmp = project();
    write(tmp.path(), "bad.yml", "build:\n  script: \"unterminated\n");
    let out = run_in(tmp.path(), &["check", "--color", "never", "bad.yml"]);
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(out.stderr.contains("invalid YAML"), "{out:?}");
    assert!(out.stderr.contains("bad.yml"), "{out:?}");
}

/// One unreadable file does not hide findings in the others, and still
/// makes the run exit 2.
#[test]
fn invalid_yaml_does_not_hide_other_files() {
    let tmp = project();
    write(tmp.path(), "bad.yml", "build:\n  script: \"unterminated\n");
    write(tmp.path(), "good.yml", KANIKO_JOB);
    let out = concise(tmp.path(), &["bad.yml", "good.yml"]);
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(out.stderr.contains("invalid YAML"), "{out:?}");
    assert!(
        out.stdout.contains("good.yml:1:1: error[kaniko/job]"),
        "{out:?}"
    );
}

/// A file that is not UTF-8 is an error.
#[test]
fn non_utf8_file_exits_two() {
    let tmp = project();
    write(tmp.path(), "binary.yml", b"a: \xff\xfe\n");
    let out = run_in(tmp.path(), &["check", "--color", "never", "binary.yml"]);
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(out.stderr.contains("not UTF-8"), "{out:?}");
}

/// A path that does not exist is an error naming the path.
#[test]
fn missing_path_exits_two() {
    let tmp = project();
    let out = run_in(tmp.path(), &["check", "--color", "never", "missing.yml"]);
    assert_eq!(out.code, Some(ERROR), "{out:?}");
    assert!(out.stderr.contains("missing.yml"), "{out:?}");
}

/// Usage errors exit with clap's code 2.
#[test]
fn bad_arguments_exit_two() {
    let tmp = project();
    for args in [
        &["check", "--output-format", "nope"][..],
        &["frobnicate"],
        &["check", "--no-such-flag"],
        &[],
    ] {
        let out = run_in(tmp.path(), args);
        assert_eq!(out.code, Some(ERROR), "{args:?}: {out:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: {out:?}");
    }
}

// --- output formats ----------------------------------------------------------

/// A Kaniko file with multi-byte text before the executor call, on earlier
/// lines and on its own line, so byte offsets and character columns differ.
const UNICODE_FILE: &str = "\
# Grüße 🚀
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - echo ü; /kaniko/executor --context . --destination reg/x:1
";
const EXECUTOR_CALL: &str = "/kaniko/executor --context . --destination reg/x:1";

/// JSON output is an array of objects with the documented keys; positions
/// are 1-based with columns in characters, and `range` holds byte offsets.
#[test]
fn json_output_has_documented_shape_and_positions() {
    let tmp = project();
    write(tmp.path(), "ci.yml", UNICODE_FILE);
    let out = run_in(
        tmp.path(),
        &[
            "check",
            "--color",
            "never",
            "--output-format",
            "json",
            "ci.yml",
        ],
    );
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    let findings = json_findings(&out.stdout);
    let executor = findings
        .iter()
        .find(|f| f["rule"] == "kaniko/executor")
        .unwrap_or_else(|| panic!("no kaniko/executor finding: {out:?}"));

    for key in [
        "rule", "severity", "message", "help", "path", "job", "jobs", "start", "end", "range",
    ] {
        assert!(executor.get(key).is_some(), "missing `{key}` in {executor}");
    }
    assert_eq!(executor["severity"], "error");
    assert_eq!(executor["path"], "ci.yml");
    assert_eq!(executor["job"], "build");
    assert_eq!(executor["jobs"], serde_json::json!(["build"]));
    assert!(executor["help"].is_string(), "{executor}");
    let message = executor["message"].as_str().unwrap();
    assert!(message.contains("--destination"), "{message}");
    assert!(message.contains("--context"), "{message}");

    // `range` slices the file's bytes to exactly the executor call.
    let range = executor["range"].as_array().expect("range is an array");
    assert_eq!(range.len(), 2, "{executor}");
    let (start, end) = (
        usize_at(executor, "/range/0"),
        usize_at(executor, "/range/1"),
    );
    let bytes = UNICODE_FILE.as_bytes();
    assert_eq!(&bytes[start..end], EXECUTOR_CALL.as_bytes(), "{executor}");
    assert_eq!(start, UNICODE_FILE.find(EXECUTOR_CALL).unwrap());

    // Line 5; `    - echo ü; ` is 14 characters (15 bytes) before the call.
    assert_eq!(usize_at(executor, "/start/line"), 5, "{executor}");
    assert_eq!(usize_at(executor, "/start/column"), 15, "{executor}");
    assert_eq!(usize_at(executor, "/end/line"), 5, "{executor}");
    assert_eq!(
        usize_at(executor, "/end/column"),
        15 + EXECUTOR_CALL.chars().count(),
        "{executor}"
    );
}

/// Every finding's `range` lies on character boundaries and agrees with its
/// `start` position.
#[test]
fn json_ranges_agree_with_positions() {
    let tmp = project();
    write(tmp.path(), "ci.yml", UNICODE_FILE);
    let out = run_in(
        tmp.path(),
        &[
            "check",
            "--color",
            "never",
            "--output-format",
            "json",
            "ci.yml",
        ],
    );
    let findings = json_findings(&out.stdout);
    assert!(!findings.is_empty(), "{out:?}");
    for finding in &findings {
        let (start, end) = (usize_at(finding, "/range/0"), usize_at(finding, "/range/1"));
        assert!(start <= end && end <= UNICODE_FILE.len(), "{finding}");
        assert!(UNICODE_FILE.is_char_boundary(start), "{finding}");
        assert!(UNICODE_FILE.is_char_boundary(end), "{finding}");
        let before = &UNICODE_FILE[..start];
        let line = before.matches('\n').count() + 1;
        let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
            .chars()
            .count()
            + 1;
        assert_eq!(usize_at(finding, "/start/line"), line, "{finding}");
        assert_eq!(usize_at(finding, "/start/column"), column, "{finding}");
    }
}

/// Concise output is one `path:line:col: severity[rule] message` line per
/// finding, then the summary.
#[test]
fn concise_lines_have_the_documented_shape() {
    let tmp = project();
    write(tmp.path(), "ci.yml", UNICODE_FILE);
    let out = concise(tmp.path(), &["ci.yml"]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    let shape = Regex::new(
        r"^ci\.yml:[1-9][0-9]*:[1-9][0-9]*: (error|warning|info)\[[a-z-]+/[a-z-]+\] \S.*$",
    )
    .unwrap();
    let lines = finding_lines(&out.stdout);
    assert!(lines.len() >= 2, "{out:?}");
    for line in &lines {
        assert!(shape.is_match(line), "bad concise line: {line}");
    }
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ci.yml:5:15: error[kaniko/executor] ")),
        "{out:?}"
    );
}

/// The `path:line:col` locations the full format shows above each snippet
/// (`╭─[path:line:col]`) are the same as those of the concise format.
#[test]

fn full_and_concise_show_the_same_positions() {
    let tmp = project();
    write(tmp.path(), "ci.yml", UNICODE_FILE);
    let full = run_in(tmp.path(), &["check", "--color", "never", "ci.yml"]);
    let headers: Vec<String> = Regex::new(r"╭─\[([^\]]+:\d+:\d+)\]")
        .unwrap()
        .captures_iter(&full.stdout)
        .map(|c| c[1].to_string())
        .collect();
    let short = concise(tmp.path(), &["ci.yml"]);
    let locations: Vec<String> = finding_lines(&short.stdout)
        .iter()
        .map(|line| line.split(": ").next().unwrap().to_string())
        .collect();
    assert!(!locations.is_empty(), "{short:?}");
    assert_eq!(headers, locations, "{full:?}");
}

// --- colour ------------------------------------------------------------------

/// The binary on a Kaniko file in full format, with colour variables cleared
/// and then `env` set, so the test runner's environment does not leak in.
fn colour_run(color: Option<&str>, env: &[(&str, &str)]) -> Run {
    let tmp = project();
    write(tmp.path(), "ci.yml", KANIKO_JOB);
    let mut cmd = k2b(tmp.path());
    cmd.env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("GITLAB_CI")
        .envs(env.iter().copied())
        .arg("check");
    if let Some(color) = color {
        cmd.args(["--color", color]);
    }
    let out = run(cmd.arg("ci.yml"));
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    out
}

/// `--color never` wins over every variable that would force colour.
#[test]
fn color_never_has_no_escapes() {
    let out = colour_run(
        Some("never"),
        &[("CLICOLOR_FORCE", "1"), ("GITLAB_CI", "true")],
    );
    assert!(!has_escape(&out.both()), "{out:?}");
}

/// `--color always` colours even when stdout is a pipe and NO_COLOR is set.
#[test]
fn color_always_has_escapes() {
    let out = colour_run(Some("always"), &[("NO_COLOR", "1")]);
    assert!(has_escape(&out.stdout), "{out:?}");
}

/// With `auto` (the default) and stdout a pipe, there is no colour.
#[test]
fn color_auto_on_a_pipe_has_no_escapes() {
    let out = colour_run(None, &[]);
    assert!(!has_escape(&out.both()), "{out:?}");
}

/// NO_COLOR beats CLICOLOR_FORCE under `auto`.
#[test]
fn no_color_beats_clicolor_force() {
    let out = colour_run(None, &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]);
    assert!(!has_escape(&out.both()), "{out:?}");
    let out = colour_run(
        Some("auto"),
        &[
            ("NO_COLOR", "1"),
            ("CLICOLOR_FORCE", "1"),
            ("GITLAB_CI", "true"),
        ],
    );
    assert!(!has_escape(&out.both()), "{out:?}");
}

/// CLICOLOR_FORCE alone forces colour under `auto`.
#[test]
fn clicolor_force_gives_colour() {
    let out = colour_run(None, &[("CLICOLOR_FORCE", "1")]);
    assert!(has_escape(&out.stdout), "{out:?}");
}

/// GitLab job logs render ANSI, so GITLAB_CI alone gives colour under `auto`.
#[test]
fn gitlab_ci_gives_colour() {
    let out = colour_run(None, &[("GITLAB_CI", "true")]);
    assert!(has_escape(&out.stdout), "{out:?}");
}

// --- help --------------------------------------------------------------------

/// Both help screens succeed and show examples.
#[test]
fn help_shows_examples() {
    let tmp = project();
    for args in [&["--help"][..], &["check", "--help"]] {
        let out = run_in(tmp.path(), args);
        assert_eq!(out.code, Some(CLEAN), "{args:?}: {out:?}");
        assert!(out.stdout.contains("Examples"), "{args:?}: {out:?}");
    }
}

// --- includes ----------------------------------------------------------------

/// A hidden template with the Kaniko image and executor call.
const KANIKO_TEMPLATE: &str = "\
.kaniko:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example/app:1
";

/// A job that gets Kaniko only from the included template.
const EXTENDS_INCLUDED: &str = "\
include: {local: ci/kaniko.yml}
build:
  extends: .kaniko
";

/// A local include is followed and its findings name the included file.
#[test]
fn local_include_is_followed() {
    let tmp = project();
    write(tmp.path(), ".gitlab-ci.yml", EXTENDS_INCLUDED);
    write(tmp.path(), "ci/kaniko.yml", KANIKO_TEMPLATE);
    let out = concise(tmp.path(), &[]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert!(out.stdout.contains("ci/kaniko.yml:"), "{out:?}");
    assert!(
        out.stdout
            .contains(".gitlab-ci.yml:2:1: error[kaniko/job] job `build`"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("include/"), "{out:?}");
}

/// Run from a subdirectory on `../.gitlab-ci.yml` without `--root`: the
/// `.git` directory marks the root and includes still resolve.
#[test]
fn root_is_found_from_a_subdirectory() {
    let tmp = tempdir();
    std::fs::create_dir(tmp.path().join(".git")).unwrap();
    std::fs::create_dir_all(tmp.path().join("sub")).unwrap();
    write(tmp.path(), ".gitlab-ci.yml", EXTENDS_INCLUDED);
    write(tmp.path(), "ci/kaniko.yml", KANIKO_TEMPLATE);
    let out = concise(&tmp.path().join("sub"), &["../.gitlab-ci.yml"]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert!(out.stdout.contains("ci/kaniko.yml:"), "{out:?}");
    assert!(!out.stdout.contains("include/"), "{out:?}");
}

/// The `.git` directory, not the file's own directory, is the root: a CI
/// file in a subfolder includes `ci/kaniko.yml` relative to the repository.
/// Without `.git` the same include is not found, which shows that `.git`
/// made the difference.
#[test]
fn git_directory_marks_the_root_for_nested_ci_files() {
    let with_git = tempdir();
    let without_git = tempdir();
    for tmp in [&with_git, &without_git] {
        write(tmp.path(), "pipelines/main.gitlab-ci.yml", EXTENDS_INCLUDED);
        write(tmp.path(), "ci/kaniko.yml", KANIKO_TEMPLATE);
        std::fs::create_dir_all(tmp.path().join("sub")).unwrap();
    }
    std::fs::create_dir(with_git.path().join(".git")).unwrap();

    let file = "../pipelines/main.gitlab-ci.yml";
    let out = concise(&with_git.path().join("sub"), &[file]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert!(out.stdout.contains("ci/kaniko.yml:"), "{out:?}");
    assert!(
        out.stdout.contains("pipelines/main.gitlab-ci.yml:"),
        "{out:?}"
    );

    if inside_a_repository(without_git.path()) {
        eprintln!("skipped the control: the temporary directory is inside a git repository");
        return;
    }
    let out = concise(&without_git.path().join("sub"), &[file]);
    assert!(out.stdout.contains("include/not-found"), "{out:?}");
    assert!(!out.stdout.contains("ci/kaniko.yml:"), "{out:?}");
}

/// A project `repo/` inside the temporary directory, with `outside.yml`
/// (holding [`MARKER`]) next to it, outside the root.
fn project_with_outside_file(gitlab_ci: &str) -> TempDir {
    let tmp = project();
    let outside =
        KANIKO_JOB.replace("build:", &format!("{MARKER}:")) + &format!("    - echo {MARKER}\n");
    write(tmp.path(), "outside.yml", outside);
    write(tmp.path(), "repo/.gitlab-ci.yml", gitlab_ci);
    tmp
}

/// Runs `check --root repo repo/.gitlab-ci.yml` in every output format and
/// asserts that nothing of the outside file is shown and, when
/// `expect_outside_root`, that the include is reported as leaving the root.
fn assert_outside_file_not_read(tmp: &TempDir, expect_outside_root: bool) {
    for format in ["full", "concise", "json"] {
        let out = run_in(
            tmp.path(),
            &[
                "check",
                "--color",
                "never",
                "--output-format",
                format,
                "--root",
                "repo",
                "repo/.gitlab-ci.yml",
            ],
        );
        assert!(!out.both().contains(MARKER), "{format}: {out:?}");
        assert!(!out.both().contains("kaniko/executor"), "{format}: {out:?}");
        if expect_outside_root {
            assert_eq!(out.code, Some(FOUND), "{format}: {out:?}");
            assert!(
                out.stdout.contains("include/outside-root"),
                "{format}: {out:?}"
            );
        }
    }
}

/// Links `repo/ci/evil.yml` to the file outside the project root.
#[cfg(unix)]
fn link_outside_file_into_repo(tmp: &TempDir) {
    std::fs::create_dir_all(tmp.path().join("repo/ci")).unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join("outside.yml"),
        tmp.path().join("repo/ci/evil.yml"),
    )
    .unwrap();
}

/// A symlink inside the project that points outside it is never read.
#[cfg(unix)]
#[test]
fn include_through_symlink_out_of_root_is_refused() {
    let tmp = project_with_outside_file("include: ci/evil.yml\n");
    link_outside_file_into_repo(&tmp);
    assert_outside_file_not_read(&tmp, true);
}

/// A wildcard include that matches a symlink leading outside does not read it.
#[cfg(unix)]
#[test]
fn wildcard_include_skips_symlink_out_of_root() {
    let tmp = project_with_outside_file("include: 'ci/*.yml'\n");
    link_outside_file_into_repo(&tmp);
    assert_outside_file_not_read(&tmp, false);
}

/// Searching a directory does not follow a symlinked CI file out of it.
#[cfg(unix)]
#[test]
fn directory_search_skips_symlink_out_of_the_directory() {
    let tmp = project_with_outside_file("clean:\n  script: [make]\n");
    link_outside_file_into_repo(&tmp);
    let out = run_in(tmp.path(), &["check", "--color", "never", "repo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.both().contains(MARKER), "{out:?}");
}

/// `..` that climbs out of the project root is never read, however spelt.
#[test]
fn include_with_parent_dir_out_of_root_is_refused() {
    for include in [
        "include: ../outside.yml\n",
        "include: {local: /../outside.yml}\n",
        "include:\n  - local: ci/../../outside.yml\n",
    ] {
        let tmp = project_with_outside_file(include);
        std::fs::create_dir_all(tmp.path().join("repo/ci")).unwrap();
        assert_outside_file_not_read(&tmp, true);
    }
}

/// Files that include each other terminate and report `include/cycle`.
#[test]
fn include_cycle_terminates() {
    let tmp = project();
    write(
        tmp.path(),
        "a.yml",
        "include: b.yml\na:\n  script: [echo a]\n",
    );
    write(
        tmp.path(),
        "b.yml",
        "include: a.yml\nb:\n  script: [echo b]\n",
    );
    let root = tmp.path().to_str().unwrap();
    let out = concise(tmp.path(), &["--root", root, "a.yml"]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert!(out.stdout.contains("include/cycle"), "{out:?}");
}

/// Jobs that extend each other terminate and report `extends/cycle`.
#[test]
fn extends_cycle_terminates() {
    let tmp = project();
    write(
        tmp.path(),
        "ci.yml",
        "one:\n  extends: two\n  image: gcr.io/kaniko-project/executor:debug\ntwo:\n  extends: one\n",
    );
    let out = concise(tmp.path(), &["ci.yml"]);
    assert_eq!(out.code, Some(FOUND), "{out:?}");
    assert!(out.stdout.contains("extends/cycle"), "{out:?}");
}
