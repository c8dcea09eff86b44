//! Real-world GitLab CI files from `../shared/corpus` (when present): the
//! verdict of `check` must agree with the hand-made label in `MANIFEST.tsv`,
//! the tool must never panic, and JSON ranges must point into the files.
//!
//! `MANIFEST.tsv` is tab-separated with a header; column 1 is the file
//! (relative to the corpus directory) and column 5 is `kaniko` (`yes`/`no`).
//! A file inside a `NAME.d/` folder belongs to a project rooted at that folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

/// One labelled corpus file.
struct Entry {
    /// As written in the manifest, for messages.
    name: String,
    file: PathBuf,
    root: PathBuf,
    kaniko: bool,
}

/// What one run of the binary produced.
struct Run {
    /// `None` when the process was killed by the timeout or a signal.
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// The corpus directory, or `None` (after saying so) when it is missing on
/// a developer's machine. Under `CI=true` a missing corpus fails the test:
/// CI has `../shared` beside its clone, and a test that passes by testing
/// nothing would hide that it went missing.
fn corpus() -> Option<PathBuf> {
    let dir = corpus_dir();
    if dir.join("MANIFEST.tsv").is_file() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        !ci,
        "{} is missing, and CI=true: the corpus tests need ../shared beside the clone",
        dir.display()
    );
    eprintln!(
        "corpus: skipped ({} not found; with CI=true this fails)",
        dir.display()
    );
    None
}

/// The manifest entries, or `None` when there is no corpus (see [`corpus`]).
fn entries() -> Option<Vec<Entry>> {
    let dir = corpus()?;
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).unwrap();
    let entries: Vec<Entry> = manifest
        .lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| parse_line(&dir, line))
        .collect();
    assert!(!entries.is_empty(), "MANIFEST.tsv lists no files");
    Some(entries)
}

fn parse_line(dir: &Path, line: &str) -> Entry {
    let columns: Vec<&str> = line.split('\t').collect();
    assert!(columns.len() >= 5, "short manifest line: {line}");
    let name = columns[0].to_string();
    let kaniko = match columns[4] {
        "yes" => true,
        "no" => false,
        other => panic!("`kaniko` column is `{other}` in: {line}"),
    };
    let file = dir.join(&name);
    let root = match name.find(".d/") {
        Some(index) => dir.join(&name[..index + 2]),
        None => file.parent().unwrap().to_path_buf(),
    };
    Entry {
        name,
        file,
        root,
        kaniko,
    }
}

/// `check --color never --output-format FORMAT --root ROOT FILE`, with a
/// 20 s timeout.
fn check(entry: &Entry, format: &str) -> Run {
    let output = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args(["check", "--color", "never", "--output-format", format])
        .arg("--root")
        .arg(&entry.root)
        .arg(&entry.file)
        .timeout(Duration::from_secs(20))
        .output()
        .expect("run kaniko2buildkit");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Fails once, listing every problem, when there are any.
fn fail_on(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// Every labelled file gets the expected exit code (1 for Kaniko, 0 for
/// none) within the timeout, and no run panics.
#[test]
fn verdicts_agree_with_the_manifest() {
    let Some(entries) = entries() else {
        return;
    };
    let mut problems = Vec::new();
    for entry in &entries {
        let run = check(entry, "concise");
        let expected = if entry.kaniko { 1 } else { 0 };
        if run.stderr.contains("panicked") {
            problems.push(format!("{}: panicked\n{}", entry.name, run.stderr));
        } else if run.code != Some(expected) {
            problems.push(format!(
                "{}: expected exit {expected}, got {:?}\n{}{}",
                entry.name, run.code, run.stdout, run.stderr
            ));
        }
    }
    eprintln!(
        "corpus: {} agree, {} disagree",
        entries.len() - problems.len(),
        problems.len()
    );
    fail_on(&problems);
}

/// For each Kaniko file, every JSON finding's `range` lies within the file
/// it names, on character boundaries, and agrees with its `start` position.
#[test]
fn json_ranges_point_into_the_files() {
    let Some(entries) = entries() else {
        return;
    };
    let mut problems = Vec::new();
    let (mut files, mut checked) = (0, 0);
    for entry in entries.iter().filter(|e| e.kaniko) {
        files += 1;
        let run = check(entry, "json");
        if run.code != Some(1) || run.stderr.contains("panicked") {
            problems.push(format!(
                "{}: exit {:?}\n{}",
                entry.name, run.code, run.stderr
            ));
            continue;
        }
        let findings: Value = match serde_json::from_str(&run.stdout) {
            Ok(value) => value,
            Err(err) => {
                problems.push(format!("{}: stdout is not JSON: {err}", entry.name));
                continue;
            }
        };
        let Some(findings) = findings.as_array() else {
            problems.push(format!("{}: JSON is not an array", entry.name));
            continue;
        };
        checked += findings.len();
        for finding in findings {
            if let Err(problem) = check_range(&entry.root, finding) {
                problems.push(format!("{}: {problem}: {finding}", entry.name));
            }
        }
    }
    eprintln!(
        "corpus: {checked} JSON ranges in {files} files, {} bad",
        problems.len()
    );
    fail_on(&problems);
}

/// Checks one finding's `range` against the file named by its `path`
/// (relative to the project root).
fn check_range(root: &Path, finding: &Value) -> Result<(), String> {
    let number = |pointer: &str| {
        finding
            .pointer(pointer)
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| format!("no number at {pointer}"))
    };
    let path = finding["path"].as_str().ok_or("no path")?;
    let text = std::fs::read_to_string(root.join(path))
        .map_err(|err| format!("cannot read `{path}`: {err}"))?;
    let (start, end) = (number("/range/0")?, number("/range/1")?);
    if start > end || end > text.len() {
        return Err(format!("range {start}..{end} outside 0..{}", text.len()));
    }
    if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
        return Err(format!("range {start}..{end} splits a character"));
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let reported = (number("/start/line")?, number("/start/column")?);
    if reported != (line, column) {
        return Err(format!(
            "start {reported:?} but range starts at {:?}",
            (line, column)
        ));
    }
    Ok(())
}

/// Every YAML file of the corpus, whatever its manifest entry.
fn corpus_yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            corpus_yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
}

/// The span of every node of every corpus file lies on character boundaries,
/// and every scalar's decoded value can be mapped back to its source bytes:
/// a strong check that node ends are derived right on real-world files.
#[test]
fn every_corpus_scalar_maps_back_to_its_source() {
    use kaniko2buildkit::yaml::scalar::SourceMap;
    use kaniko2buildkit::yaml::{NodeKind, Tree};
    let Some(dir) = corpus() else {
        return;
    };
    let mut files = Vec::new();
    corpus_yaml_files(&dir, &mut files);
    assert!(!files.is_empty(), "no YAML files in {}", dir.display());
    let (mut scalars, mut failures, mut unparsed) = (0, Vec::new(), Vec::new());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let tree = match Tree::parse(&text) {
            Ok(tree) => tree,
            Err(error) => {
                unparsed.push(format!("{}: {}", path.display(), error.message));
                continue;
            }
        };
        for id in tree.node_ids() {
            let node = tree.node(id);
            let span = node.span;
            assert!(
                span.end() <= text.len()
                    && text.is_char_boundary(span.start())
                    && text.is_char_boundary(span.end())
            );
            if let NodeKind::Scalar { style, .. } = node.kind() {
                scalars += 1;
                let value = tree.scalar(&text, id).unwrap();
                if SourceMap::new(&text, span, style, &value).is_none() {
                    failures.push(format!(
                        "{}: {style:?} {:?}",
                        path.display(),
                        span.slice(&text)
                    ));
                }
            }
        }
    }
    eprintln!(
        "corpus: {scalars} scalars in {} files, {} without a source map, {} files that do not parse",
        files.len(),
        failures.len(),
        unparsed.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every corpus file is valid YAML: one that stops parsing is a parser
    // regression, not a file to pass over.
    assert!(unparsed.is_empty(), "{}", unparsed.join("\n"));
}
