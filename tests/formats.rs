//! Report formats, suppression comments and the config file, end to end
//! through `check::run`:
//!
//! - every output format rendered on one fixture set and compared with
//!   `fixtures/formats/expected/`;
//! - the structure each consumer requires: SARIF 2.1.0, GitLab Code Quality,
//!   JUnit as GitLab reads it, GitHub workflow commands;
//! - fingerprints that survive moved lines and tell findings on one line apart;
//! - `fixtures/suppress/` and `fixtures/config/`, each with its snapshots.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use kaniko2buildkit::check::{self, Output};
use kaniko2buildkit::cli::{CheckArgs, OutputFormat};
use kaniko2buildkit::rules::Rule;
use regex::Regex;
use serde_json::Value;

/// What one run of `check` produced.
struct Run {
    code: u8,
    stdout: String,
    stderr: String,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `check` as the CLI would, without colour.
fn run(args: &CheckArgs) -> Run {
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut output = Output {
        stdout: &mut stdout,
        stderr: &mut stderr,
        colors: Default::default(),
        quiet: false,
    };
    let code = check::run(args, &mut output);
    Run {
        code,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

fn args(path: &Path, root: &Path, format: OutputFormat) -> CheckArgs {
    CheckArgs {
        paths: vec![path.to_path_buf()],
        root: Some(root.to_path_buf()),
        output_format: format,
        ..Default::default()
    }
}

/// The fixture set every format is rendered on: many findings on one line,
/// every severity, included files and templates, file-level findings, and
/// text each format must escape. `(name, file, project root)`.
fn format_fixtures() -> Vec<(&'static str, PathBuf, PathBuf)> {
    let check = repo().join("fixtures/check");
    vec![
        (
            "flag-problems",
            check.join("flag-problems.yml"),
            check.clone(),
        ),
        (
            "include-wildcard",
            check.join("include-wildcard/.gitlab-ci.yml"),
            check.join("include-wildcard"),
        ),
        (
            "include-problems",
            check.join("include-problems/.gitlab-ci.yml"),
            check.join("include-problems"),
        ),
        (
            "escaping",
            repo().join("fixtures/formats/escaping.yml"),
            repo().join("fixtures/formats"),
        ),
    ]
}

const FORMATS: &[(OutputFormat, &str)] = &[
    (OutputFormat::Full, "full"),
    (OutputFormat::Concise, "concise"),
    (OutputFormat::Json, "json"),
    (OutputFormat::Gitlab, "gitlab"),
    (OutputFormat::Sarif, "sarif"),
    (OutputFormat::Junit, "junit"),
    (OutputFormat::Github, "github"),
];

/// The report of one fixture in one format.
fn report(file: &Path, root: &Path, format: OutputFormat) -> String {
    let out = run(&args(file, root, format));
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    out.stdout
}

/// Runs `body` with snapshots read from `dir/expected`.
fn with_snapshots(dir: &str, body: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(repo().join(dir).join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(body);
}

/// SARIF with the parts that change for reasons unrelated to the fixture
/// (the tool's version, the rule list as rules are added) replaced; those
/// are checked by [`sarif_has_the_structure_of_sarif_2_1_0`].
fn redact_sarif(sarif: &str) -> String {
    let mut log: Value = serde_json::from_str(sarif).unwrap();
    let driver = log.pointer_mut("/runs/0/tool/driver").unwrap();
    driver["version"] = "[version]".into();
    driver["rules"] = "[every rule, see sarif_has_the_structure_of_sarif_2_1_0]".into();
    serde_json::to_string_pretty(&log).unwrap()
}

// --- snapshots ----------------------------------------------------------------

#[test]
fn every_format_matches_its_snapshot() {
    with_snapshots("fixtures/formats", || {
        for (name, file, root) in format_fixtures() {
            for &(format, suffix) in FORMATS {
                let mut out = report(&file, &root, format);
                if format == OutputFormat::Sarif {
                    out = redact_sarif(&out);
                }
                insta::assert_snapshot!(format!("{name}.{suffix}"), out);
            }
        }
    });
}

#[test]
fn suppression_fixtures_match_snapshots() {
    let dir = repo().join("fixtures/suppress");
    with_snapshots("fixtures/suppress", || {
        for file in yaml_files(&dir) {
            let out = run(&args(&file, &dir, OutputFormat::Full));
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            insta::assert_snapshot!(name, format!("exit code: {}\n{}", out.code, out.stdout));
        }
    });
}

/// Each folder is a project with a `.kaniko2buildkit.toml`, checked as a
/// directory so that `exclude` applies.
#[test]
fn config_fixtures_match_snapshots() {
    let dir = repo().join("fixtures/config");
    let mut projects: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join(".kaniko2buildkit.toml").is_file())
        .collect();
    projects.sort();
    assert!(projects.len() >= 4, "config fixtures went missing");
    with_snapshots("fixtures/config", || {
        for project in projects {
            let out = run(&args(&project, &project, OutputFormat::Concise));
            let name = project.file_name().unwrap().to_string_lossy().into_owned();
            insta::assert_snapshot!(
                name,
                format!("exit code: {}\n{}{}", out.code, out.stderr, out.stdout)
            );
        }
    });
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    files
}

// --- SARIF --------------------------------------------------------------------

/// Checks a SARIF log against the parts of the 2.1.0 schema this tool
/// emits: required properties, enums, value ranges, and no property the
/// schema does not define for the object (it sets `additionalProperties:
/// false` on all of them). The output was also validated once against the
/// official schema with check-jsonschema; this test keeps it that way
/// without the network.
fn check_sarif(log: &Value) -> Result<(), String> {
    only_keys(log, "sarifLog", &["$schema", "version", "runs"])?;
    expect(log["version"] == "2.1.0", "version must be 2.1.0")?;
    let runs = array(log, "runs")?;
    expect(runs.len() == 1, "one run")?;
    let run = &runs[0];
    only_keys(run, "run", &["tool", "columnKind", "results"])?;
    one_of(run, "columnKind", &["utf16CodeUnits", "unicodeCodePoints"])?;
    only_keys(&run["tool"], "tool", &["driver"])?;
    let driver = &run["tool"]["driver"];
    only_keys(
        driver,
        "toolComponent",
        &["name", "version", "informationUri", "rules"],
    )?;
    string(driver, "name")?;
    string(driver, "version")?;
    absolute_uri(string(driver, "informationUri")?)?;
    let rules = array(driver, "rules")?;
    for rule in rules {
        check_rule(rule)?;
    }
    for result in array(run, "results")? {
        check_result(result, rules)?;
    }
    Ok(())
}

fn check_rule(rule: &Value) -> Result<(), String> {
    let keys = [
        "id",
        "shortDescription",
        "fullDescription",
        "help",
        "helpUri",
        "defaultConfiguration",
    ];
    only_keys(rule, "reportingDescriptor", &keys)?;
    string(rule, "id")?;
    for message in ["shortDescription", "fullDescription", "help"] {
        only_keys(
            &rule[message],
            "multiformatMessageString",
            &["text", "markdown"],
        )?;
        expect(
            !string(&rule[message], "text")?.is_empty(),
            "empty rule text",
        )?;
    }
    absolute_uri(string(rule, "helpUri")?)?;
    only_keys(
        &rule["defaultConfiguration"],
        "reportingConfiguration",
        &["level"],
    )?;
    one_of(
        &rule["defaultConfiguration"],
        "level",
        &["none", "note", "warning", "error"],
    )
}

fn check_result(result: &Value, rules: &[Value]) -> Result<(), String> {
    let keys = [
        "ruleId",
        "ruleIndex",
        "level",
        "message",
        "locations",
        "partialFingerprints",
    ];
    only_keys(result, "result", &keys)?;
    let id = string(result, "ruleId")?;
    let index = result["ruleIndex"].as_u64().ok_or("ruleIndex")? as usize;
    expect(
        rules.get(index).is_some_and(|rule| rule["id"] == id),
        "ruleIndex must point at the rule with ruleId",
    )?;
    one_of(result, "level", &["none", "note", "warning", "error"])?;
    only_keys(&result["message"], "message", &["text"])?;
    string(&result["message"], "text")?;
    for value in result["partialFingerprints"]
        .as_object()
        .ok_or("partialFingerprints")?
        .values()
    {
        expect(value.is_string(), "fingerprints are strings")?;
    }
    for location in array(result, "locations")? {
        only_keys(location, "location", &["physicalLocation"])?;
        let physical = &location["physicalLocation"];
        only_keys(
            physical,
            "physicalLocation",
            &["artifactLocation", "region"],
        )?;
        only_keys(&physical["artifactLocation"], "artifactLocation", &["uri"])?;
        let uri = string(&physical["artifactLocation"], "uri")?;
        expect(
            !uri.contains([' ', '\\']) && !uri.starts_with('/'),
            "uri must be a relative URI reference",
        )?;
        check_region(&physical["region"])?;
    }
    Ok(())
}

fn check_region(region: &Value) -> Result<(), String> {
    let keys = ["startLine", "startColumn", "endLine", "endColumn"];
    only_keys(region, "region", &keys)?;
    let number = |key: &str| {
        region[key]
            .as_u64()
            .filter(|&n| n >= 1)
            .ok_or(format!("region.{key} must be an integer >= 1"))
    };
    let (start, end) = (
        (number("startLine")?, number("startColumn")?),
        (number("endLine")?, number("endColumn")?),
    );
    expect(start <= end, "a region ends after it starts")
}

fn only_keys(value: &Value, kind: &str, allowed: &[&str]) -> Result<(), String> {
    let object = value
        .as_object()
        .ok_or(format!("{kind} is not an object"))?;
    match object.keys().find(|key| !allowed.contains(&key.as_str())) {
        Some(key) => Err(format!("{kind} has no property `{key}` in SARIF 2.1.0")),
        None => Ok(()),
    }
}

fn string<'v>(value: &'v Value, key: &str) -> Result<&'v str, String> {
    value[key]
        .as_str()
        .ok_or(format!("`{key}` must be a string"))
}

fn array<'v>(value: &'v Value, key: &str) -> Result<&'v [Value], String> {
    value[key]
        .as_array()
        .map(Vec::as_slice)
        .ok_or(format!("`{key}` must be an array"))
}

fn one_of(value: &Value, key: &str, allowed: &[&str]) -> Result<(), String> {
    let text = string(value, key)?;
    expect(allowed.contains(&text), &format!("`{key}` = {text}"))
}

fn absolute_uri(uri: &str) -> Result<(), String> {
    expect(
        uri.starts_with("https://") && !uri.contains(' '),
        &format!("{uri} is not an absolute URI"),
    )
}

fn expect(condition: bool, message: &str) -> Result<(), String> {
    if condition {
        Ok(())
    } else {
        Err(message.to_string())
    }
}

#[test]
fn sarif_has_the_structure_of_sarif_2_1_0() {
    for (name, file, root) in format_fixtures() {
        let log: Value = serde_json::from_str(&report(&file, &root, OutputFormat::Sarif)).unwrap();
        if let Err(problem) = check_sarif(&log) {
            panic!("{name}: {problem}\n{log:#}");
        }
        let rules = log.pointer("/runs/0/tool/driver/rules").unwrap();
        let ids: Vec<&str> = rules
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| rule["id"].as_str().unwrap())
            .collect();
        let codes: Vec<&str> = Rule::ALL.iter().map(|rule| rule.code()).collect();
        assert_eq!(ids, codes, "every rule is described, in order");
    }
}

/// The checker itself catches what it is there to catch.
#[test]
fn sarif_checker_rejects_broken_logs() {
    let (_, file, root) = &format_fixtures()[0];
    let good: Value = serde_json::from_str(&report(file, root, OutputFormat::Sarif)).unwrap();
    let breakages: &[(&str, Value)] = &[
        ("/version", "2.0.0".into()),
        ("/runs/0/results/0/level", "fatal".into()),
        ("/runs/0/results/0/ruleIndex", 999.into()),
        (
            "/runs/0/results/0/locations/0/physicalLocation/region/startLine",
            0.into(),
        ),
        (
            "/runs/0/tool/driver/rules/0/helpUri",
            "docs/rules.md".into(),
        ),
        ("/runs/0/results/0/extra", true.into()),
    ];
    for (pointer, value) in breakages {
        let mut broken = good.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        broken.pointer_mut(parent).unwrap()[key] = value.clone();
        assert!(check_sarif(&broken).is_err(), "{pointer} = {value}");
    }
    assert!(check_sarif(&good).is_ok());
}

// --- GitLab Code Quality ------------------------------------------------------

/// The fields GitLab's Code Quality report format requires, with their
/// types and values (doc/ci/testing/code_quality.md).
#[test]
fn code_quality_reports_have_the_fields_gitlab_requires() {
    for (name, file, root) in format_fixtures() {
        let text = report(&file, &root, OutputFormat::Gitlab);
        assert!(!text.starts_with('\u{feff}'), "{name}: no byte order mark");
        let issues: Value = serde_json::from_str(&text).unwrap();
        let issues = issues.as_array().expect("a JSON array");
        assert!(!issues.is_empty(), "{name}");
        let mut fingerprints = HashSet::new();
        for issue in issues {
            let field = |pointer: &str| {
                issue
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{name}: no {pointer} in {issue}"))
            };
            let description = field("/description").as_str().unwrap();
            let check_name = field("/check_name").as_str().unwrap();
            assert!(
                description.starts_with(&format!("{check_name}: ")),
                "{issue}"
            );
            assert!(Rule::from_code(check_name).is_some(), "{issue}");
            let fingerprint = field("/fingerprint").as_str().unwrap();
            assert!(
                fingerprints.insert(fingerprint.to_string()),
                "{name}: duplicate {issue}"
            );
            let severity = field("/severity").as_str().unwrap();
            assert!(
                ["info", "minor", "major", "critical", "blocker"].contains(&severity),
                "{issue}"
            );
            let path = field("/location/path").as_str().unwrap();
            assert!(
                !path.is_empty() && !Path::new(path).is_absolute(),
                "{issue}"
            );
            assert!(
                field("/location/lines/begin").as_u64().unwrap() >= 1,
                "{issue}"
            );
        }
    }
}

/// Code Quality fingerprints of a file's findings, by rule and message.
fn fingerprints_of(text: &str) -> HashMap<(String, String), (String, u64)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitlab-ci.yml"), text).unwrap();
    let out = report(
        &dir.path().join(".gitlab-ci.yml"),
        dir.path(),
        OutputFormat::Gitlab,
    );
    let issues: Value = serde_json::from_str(&out).unwrap();
    issues
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| {
            let key = (
                issue["check_name"].as_str().unwrap().to_string(),
                issue["description"].as_str().unwrap().to_string(),
            );
            let value = (
                issue["fingerprint"].as_str().unwrap().to_string(),
                issue
                    .pointer("/location/lines/begin")
                    .unwrap()
                    .as_u64()
                    .unwrap(),
            );
            (key, value)
        })
        .collect()
}

const FINGERPRINTED: &str = "\
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destinaton reg/x:1 --frobnicate --bogus --bogus
";

/// Inserting lines above a finding moves it but keeps its fingerprint, so
/// GitLab does not report it as fixed and new again.
#[test]
fn fingerprints_survive_lines_inserted_above() {
    let before = fingerprints_of(FINGERPRINTED);
    let moved = format!(
        "# A new comment\nvariables:\n  A: b\n\ntest:\n  script: [pytest]\n\n{FINGERPRINTED}"
    );
    let after = fingerprints_of(&moved);
    assert_eq!(before.len(), after.len());
    assert!(before.len() >= 5, "{before:?}");
    for (key, (fingerprint, line)) in &before {
        let (moved_fingerprint, moved_line) = &after[key];
        assert_eq!(fingerprint, moved_fingerprint, "{key:?}");
        assert_eq!(*moved_line, line + 7, "{key:?} moved down");
    }
}

/// Two findings on one line, even of one rule with the same text
/// (`--bogus --bogus`), have different fingerprints.
#[test]
fn fingerprints_differ_between_findings_on_one_line() {
    let found = fingerprints_of(FINGERPRINTED);
    let on_line_4: Vec<&String> = found
        .values()
        .filter(|(_, line)| *line == 4)
        .map(|(fingerprint, _)| fingerprint)
        .collect();
    assert!(on_line_4.len() >= 4, "{found:?}");
    let unique: HashSet<_> = on_line_4.iter().collect();
    assert_eq!(unique.len(), on_line_4.len(), "{found:?}");

    let text = report(
        &repo().join("fixtures/formats/escaping.yml"),
        &repo().join("fixtures/formats"),
        OutputFormat::Gitlab,
    );
    let issues: Value = serde_json::from_str(&text).unwrap();
    let bogus: HashSet<&str> = issues
        .as_array()
        .unwrap()
        .iter()
        .filter(|issue| issue["check_name"] == "kaniko/unknown-flag")
        .map(|issue| issue["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(bogus.len(), 2, "`--bogus` twice is two findings");
}

// --- JUnit and GitHub ---------------------------------------------------------

/// Well-formed XML; one test case per job, unique by classname + name (the
/// key GitLab uses); counts that add up; escaped names that read back.
#[test]
fn junit_has_one_unique_case_per_job() {
    for (name, file, root) in format_fixtures() {
        let xml = report(&file, &root, OutputFormat::Junit);
        let document =
            roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{name}: {e}\n{xml}"));
        let cases: Vec<roxmltree::Node> = document
            .descendants()
            .filter(|node| node.has_tag_name("testcase"))
            .collect();
        let keys: BTreeSet<(&str, &str)> = cases
            .iter()
            .map(|case| {
                (
                    case.attribute("classname").unwrap(),
                    case.attribute("name").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            keys.len(),
            cases.len(),
            "{name}: duplicate test cases\n{xml}"
        );
        let root = document.root_element();
        let count = |attribute: &str| root.attribute(attribute).unwrap().parse::<usize>().unwrap();
        assert_eq!(count("tests"), cases.len(), "{name}");
        let failed = cases
            .iter()
            .filter(|case| case.children().any(|c| c.has_tag_name("failure")))
            .count();
        assert_eq!(count("failures"), failed, "{name}");
    }
    let xml = report(
        &repo().join("fixtures/formats/escaping.yml"),
        &repo().join("fixtures/formats"),
        OutputFormat::Junit,
    );
    let document = roxmltree::Document::parse(&xml).unwrap();
    assert!(
        document
            .descendants()
            .any(|node| node.attribute("name") == Some("build <app> & \"docs\", 100%: ü")),
        "{xml}"
    );
}

/// A GitHub workflow's and a Buildkite pipeline's test cases are its jobs
/// and steps, as their front-ends name them, not GitLab's reading of their
/// top-level keys (`on`, `jobs`, `steps`).
#[test]
fn junit_cases_are_the_jobs_of_each_ci_system() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let workflow = workflows.join("ci.yml");
    std::fs::write(
        &workflow,
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - run: /kaniko/executor --context . --no-push\n  lint:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make lint\n",
    )
    .unwrap();
    let pipeline = dir.path().join("buildkite.yml");
    std::fs::write(
        &pipeline,
        "steps:\n  - label: build\n    command: /kaniko/executor --context . --no-push\n  - label: test\n    command: make test\n",
    )
    .unwrap();
    for (file, expected) in [
        (&workflow, ["build", "lint"]),
        (&pipeline, ["build", "test"]),
    ] {
        let xml = report(file, dir.path(), OutputFormat::Junit);
        let document = roxmltree::Document::parse(&xml).unwrap();
        let names: Vec<&str> = document
            .descendants()
            .filter(|node| node.has_tag_name("testcase"))
            .filter_map(|case| case.attribute("name"))
            .collect();
        assert_eq!(names, expected, "{xml}");
    }
}

/// Every line is one workflow command with the documented properties, and
/// the level follows the severity.
#[test]
fn github_commands_have_the_documented_shape() {
    let shape = Regex::new(
        r"^::(error|warning|notice) file=[^,:]+,line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=[^,:]+::[^\r\n]+$",
    )
    .unwrap();
    for (name, file, root) in format_fixtures() {
        let out = report(&file, &root, OutputFormat::Github);
        assert!(!out.is_empty(), "{name}");
        for line in out.lines() {
            assert!(shape.is_match(line), "{name}: {line}");
        }
    }
    let out = report(
        &repo().join("fixtures/check/include-wildcard/.gitlab-ci.yml"),
        &repo().join("fixtures/check/include-wildcard"),
        OutputFormat::Github,
    );
    assert!(
        out.contains("::notice file=.gitlab-ci.yml,line=4,"),
        "{out}"
    );
}

// --- output file --------------------------------------------------------------

/// `-o FILE` writes the report there, and the concise findings and the
/// summary to the terminal.
#[test]
fn output_file_gets_the_report_and_the_terminal_the_findings() {
    let dir = tempfile::tempdir().unwrap();
    let (_, file, root) = &format_fixtures()[0];
    let target = dir.path().join("gl-code-quality-report.json");
    let mut arguments = args(file, root, OutputFormat::Gitlab);
    arguments.output_file = Some(target.clone());
    let out = run(&arguments);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.last().unwrap().starts_with("Found 1 Kaniko job"),
        "{}",
        out.stdout
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(written.as_array().unwrap().len(), 7);
    // The log names every finding as well, one concise line each (issue 15).
    assert_eq!(lines.len(), 7 + 1, "{}", out.stdout);
    assert!(lines[0].contains(": error[kaniko/"), "{}", out.stdout);

    arguments.output_file = Some(dir.path().join("missing/dir/report.json"));
    let out = run(&arguments);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot write the report"),
        "{}",
        out.stderr
    );
}

/// `json-v1` names the current JSON schema, so consumers can pin it.
#[test]
fn json_v1_is_the_json_format() {
    use clap::ValueEnum;
    assert_eq!(
        OutputFormat::from_str("json-v1", false),
        Ok(OutputFormat::Json)
    );
}

// --- config options -----------------------------------------------------------

fn severity_project() -> PathBuf {
    repo().join("fixtures/config/severity-override")
}

#[test]
fn no_config_ignores_the_file() {
    let project = severity_project();
    let mut arguments = args(&project, &project, OutputFormat::Concise);
    assert_eq!(run(&arguments).code, 0, "the file lowers every error");
    arguments.no_config = true;
    let out = run(&arguments);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("error[kaniko/job]"), "{}", out.stdout);
}

/// `--config KEY=VALUE` wins over the file, key by key.
#[test]
fn config_options_override_the_file() {
    let project = severity_project();
    let mut arguments = args(&project, &project, OutputFormat::Concise);
    arguments.config = vec![r#"rules."kaniko/job".severity = "error""#.into()];
    let out = run(&arguments);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("error[kaniko/job]"), "{}", out.stdout);
    assert!(
        out.stdout.contains("warning[kaniko/executor]"),
        "{}",
        out.stdout
    );
}

/// `--config FILE` reads that file instead of the one at the root.
#[test]
fn config_file_option_replaces_the_discovered_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("strict.toml");
    std::fs::write(&file, "[rules.\"kaniko/path\"]\nseverity = \"error\"\n").unwrap();
    let project = severity_project();
    let mut arguments = args(&project, &project, OutputFormat::Concise);
    arguments.config = vec![file.display().to_string()];
    let out = run(&arguments);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains("error[kaniko/path]"), "{}", out.stdout);
    assert!(out.stdout.contains("error[kaniko/job]"), "{}", out.stdout);
}

#[test]
fn bad_config_options_exit_two() {
    let project = severity_project();
    for (options, expected) in [
        (vec!["flavour = \"rootless\""], "--config option 1"),
        (vec!["a.toml", "b.toml"], "more than one config file"),
    ] {
        let mut arguments = args(&project, &project, OutputFormat::Concise);
        arguments.config = options.iter().map(|o| o.to_string()).collect();
        let out = run(&arguments);
        assert_eq!(out.code, 2, "{options:?}");
        assert!(out.stderr.contains(expected), "{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
    }
}

// --- the ready-made gate --------------------------------------------------------

/// The component's jobs and the adoption example hold no Kaniko themselves,
/// so the gate passes on the files that set it up.
#[test]
fn gate_files_pass_their_own_check() {
    for file in [
        "templates/kaniko-gate.yml",
        "examples/lint-gate.gitlab-ci.yml",
    ] {
        let out = run(&args(&repo().join(file), repo(), OutputFormat::Concise));
        assert_eq!(out.code, 0, "{file}:\n{}{}", out.stdout, out.stderr);
        assert!(!out.stdout.contains("kaniko/"), "{file}:\n{}", out.stdout);
    }
}

/// Every `$[[ inputs.NAME ]]` in the component is declared under
/// `spec: inputs:`, and every declared input is used: GitLab rejects the
/// first at include time, and the second is an option that does nothing.
#[test]
fn component_inputs_are_declared_and_used() {
    let text = std::fs::read_to_string(repo().join("templates/kaniko-gate.yml")).unwrap();
    let (header, body) = text.split_once("\n---\n").expect("a spec header document");
    let spec: serde_yaml::Value = serde_yaml::from_str(header).unwrap();
    let declared: BTreeSet<String> = spec["spec"]["inputs"]
        .as_mapping()
        .expect("spec: inputs:")
        .keys()
        .map(|key| key.as_str().unwrap().to_string())
        .collect();
    let used: BTreeSet<String> = Regex::new(r"\$\[\[\s*inputs\.([\w-]+)\s*\]\]")
        .unwrap()
        .captures_iter(body)
        .map(|c| c[1].to_string())
        .collect();
    assert_eq!(declared, used);
    let jobs: serde_yaml::Value = serde_yaml::from_str(body).unwrap();
    assert_eq!(
        jobs["kaniko-gate"]["artifacts"]["reports"]["codequality"],
        "gl-code-quality-report.json"
    );
}

/// The new options as the binary parses them: `-o`, `--config KEY=VALUE`
/// with `--no-config`, and the `json-v1` name.
#[test]
fn binary_accepts_the_report_and_config_options() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.sarif");
    let (_, file, root) = &format_fixtures()[0];
    let output = assert_cmd::Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args([
            "check",
            "--color",
            "never",
            "--output-format",
            "sarif",
            "-o",
        ])
        .arg(&report)
        .args([
            "--no-config",
            "--config",
            "flavor = \"privileged\"",
            "--root",
        ])
        .arg(root)
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(log["version"], "2.1.0");

    let output = assert_cmd::Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args(["check", "--output-format", "json-v1", "--root"])
        .arg(root)
        .arg(file)
        .output()
        .unwrap();
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(findings.as_array().is_some_and(|f| !f.is_empty()));
}
