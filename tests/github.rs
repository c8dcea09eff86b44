//! The GitHub Actions front-end: every fixture under `fixtures/github/` (a
//! workflow, or a folder holding a composite `action.yml`) is checked, and
//! its diagnostics are compared with `fixtures/github/expected/`; the
//! GitHub files of `../shared/corpus-other/` are all detected (or all
//! clean) as `MANIFEST.tsv` says.

mod common;

use std::path::{Path, PathBuf};

use kaniko2buildkit::cli::OutputFormat;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/github")
}

/// (name, file, root) of every fixture: `NAME.yml`, `NAME/action.yml`, and
/// one workflow per input of each known action, `inputs/NAME.yml` (named
/// `input-NAME`).
fn fixtures() -> Vec<(String, PathBuf, PathBuf)> {
    let dir = fixtures_dir();
    let mut found = Vec::new();
    for (folder, prefix) in [(dir.clone(), ""), (dir.join("inputs"), "input-")] {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() && path.join("action.yml").exists() {
                found.push((name, path.join("action.yml"), path));
            } else if let Some(stem) = name.strip_suffix(".yml") {
                found.push((format!("{prefix}{stem}"), path, folder.clone()));
            }
        }
    }
    found.sort();
    assert!(found.len() >= 45, "fixtures/github went missing");
    found
}

#[test]
fn diagnostics_match_snapshots() {
    common::snapshot_settings(&fixtures_dir().join("expected")).bind(|| {
        for (name, path, root) in fixtures() {
            let (code, stdout, stderr) = common::check(&path, &root, OutputFormat::Full);
            insta::assert_snapshot!(name, format!("exit code: {code}\n{stderr}{stdout}"));
        }
    });
}

#[test]
fn every_kaniko_fixture_fails_the_check() {
    for (name, path, root) in fixtures() {
        let (code, stdout, _) = common::check(&path, &root, OutputFormat::Concise);
        let expected = if name.starts_with("negative") {
            0
        } else if name == "unknown-action" {
            // Only info findings: nothing the gate fails on.
            assert!(stdout.contains("kaniko/unknown-action"), "{name}: {stdout}");
            0
        } else {
            assert!(stdout.contains("kaniko/job"), "{name}: {stdout}");
            1
        };
        assert_eq!(code, expected, "{name}: {stdout}");
        if name.starts_with("negative") {
            assert_eq!(
                stdout.trim(),
                "No Kaniko found in 1 file; 0 findings.",
                "{name}"
            );
        }
    }
}

/// One GitHub workflow of the other-CI corpus.
struct CorpusFile {
    name: String,
    path: PathBuf,
    kaniko: bool,
}

/// The GitHub workflows `../shared/corpus-other/MANIFEST.tsv` lists. Under
/// `CI=true` a missing corpus fails: CI has `../shared` beside its clone.
fn corpus() -> Option<(PathBuf, Vec<CorpusFile>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus-other");
    let manifest = dir.join("MANIFEST.tsv");
    if !manifest.is_file() {
        let ci = std::env::var("CI").is_ok_and(|value| value == "true");
        assert!(!ci, "{} is missing, and CI=true", manifest.display());
        eprintln!("corpus-other: skipped ({} not found)", manifest.display());
        return None;
    }
    let text = std::fs::read_to_string(&manifest).unwrap();
    let files: Vec<CorpusFile> = text
        .lines()
        .skip(1)
        .filter(|line| line.contains(".github_workflows_"))
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            CorpusFile {
                name: Path::new(columns[0])
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                path: dir.join(columns[0]),
                kaniko: columns[4] == "yes",
            }
        })
        .collect();
    assert!(files.len() >= 16, "MANIFEST.tsv lists too few GitHub files");
    Some((dir, files))
}

#[test]
fn corpus_workflows_are_detected_with_exact_spans() {
    let Some((dir, files)) = corpus() else {
        return;
    };
    let mut settings = common::snapshot_settings(&fixtures_dir().join("expected"));
    settings.set_snapshot_path(fixtures_dir().join("expected/corpus"));
    settings.bind(|| {
        for file in &files {
            let (code, stdout, stderr) = common::check(&file.path, &dir, OutputFormat::Full);
            if file.kaniko {
                assert_eq!(code, 1, "{}: {stdout}{stderr}", file.name);
                assert!(stdout.contains("kaniko/job"), "{}: {stdout}", file.name);
                insta::assert_snapshot!(file.name.clone(), stdout);
                // The migration of each: written, or left with reasons,
                // never refused by its own verification (exit 2).
                let (code, stdout, stderr) = tool(
                    &dir,
                    &[
                        "diff",
                        "--unsafe",
                        "--color",
                        "never",
                        file.path.to_str().unwrap(),
                    ],
                );
                assert_ne!(code, Some(2), "{}: {stderr}", file.name);
                insta::assert_snapshot!(
                    format!("{}.diff", file.name),
                    format!("exit code: {code:?}\n{stdout}\n--- stderr ---\n{stderr}")
                );
            } else {
                assert_eq!(code, 0, "{}: {stdout}{stderr}", file.name);
                assert!(
                    stdout
                        .trim()
                        .ends_with("No Kaniko found in 1 file; 0 findings."),
                    "{}: {stdout}",
                    file.name
                );
            }
        }
    });
    assert_eq!(files.iter().filter(|f| f.kaniko).count(), 11);
}

/// Runs the binary with `args` in `dir`; (exit code, stdout, stderr).
fn tool(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = assert_cmd::Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A copy of one fixture in a scratch project, under the name GitHub
/// gives it (`.github/workflows/NAME.yml`, or `action.yml`).
fn scratch(name: &str, path: &Path) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let relative = if path.ends_with("action.yml") {
        PathBuf::from("action.yml")
    } else {
        PathBuf::from(format!(".github/workflows/{name}.yml"))
    };
    let target = dir.path().join(&relative);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::copy(path, &target).unwrap();
    (dir, relative)
}

/// `diff` of every fixture: the rewrite, and the notes and reasons at
/// their spans.
#[test]
fn migrations_match_snapshots() {
    common::snapshot_settings(&fixtures_dir().join("expected")).bind(|| {
        for (name, path, _) in fixtures() {
            let (dir, relative) = scratch(&name, &path);
            let file = relative.to_str().unwrap();
            let (code, stdout, stderr) = tool(dir.path(), &["diff", file]);
            insta::assert_snapshot!(
                format!("{name}.diff"),
                format!("exit code: {code:?}\n{stdout}\n--- stderr ---\n{stderr}")
            );
            let (_, unsafe_out, _) = tool(dir.path(), &["diff", "--unsafe", file]);
            if unsafe_out != stdout {
                insta::assert_snapshot!(format!("{name}.unsafe.diff"), unsafe_out);
            }
        }
    });
}

/// A job that runs in the Kaniko image migrates only with a flavour chosen
/// on the command line or in `.kaniko2buildkit.toml`: each `container-job*`
/// fixture with `--flavor rootless` and `--flavor privileged` (snapshots),
/// the config file's flavour doing what the flag does, the default leaving
/// the job, and a second `fix` changing nothing.
#[test]
fn container_jobs_migrate_with_an_explicit_flavour() {
    common::snapshot_settings(&fixtures_dir().join("expected")).bind(|| {
        let containers: Vec<_> = fixtures()
            .into_iter()
            .filter(|(name, _, _)| name.starts_with("container-job"))
            .collect();
        assert!(containers.len() >= 5, "container fixtures went missing");
        for (name, path, _) in containers {
            let (dir, relative) = scratch(&name, &path);
            let file = relative.to_str().unwrap();
            let (_, default, _) = tool(dir.path(), &["diff", file]);
            assert_eq!(default, "", "{name}: migrated without a flavour");
            for flavor in ["rootless", "privileged"] {
                let (code, stdout, stderr) = tool(dir.path(), &["diff", "--flavor", flavor, file]);
                insta::assert_snapshot!(
                    format!("{name}.{flavor}.diff"),
                    format!("exit code: {code:?}\n{stdout}\n--- stderr ---\n{stderr}")
                );
                std::fs::write(
                    dir.path().join(".kaniko2buildkit.toml"),
                    format!("flavor = \"{flavor}\"\n"),
                )
                .unwrap();
                let (_, configured, _) = tool(dir.path(), &["diff", file]);
                assert_eq!(
                    configured, stdout,
                    "{name}: the config's flavour differs from --flavor"
                );
                std::fs::remove_file(dir.path().join(".kaniko2buildkit.toml")).unwrap();
                let before = std::fs::read_to_string(dir.path().join(&relative)).unwrap();
                tool(dir.path(), &["fix", "--flavor", flavor, file]);
                let once = std::fs::read_to_string(dir.path().join(&relative)).unwrap();
                assert_eq!(
                    once != before,
                    !stdout.is_empty(),
                    "{name}: fix and diff disagree"
                );
                tool(dir.path(), &["fix", "--flavor", flavor, file]);
                let twice = std::fs::read_to_string(dir.path().join(&relative)).unwrap();
                assert_eq!(once, twice, "{name}: a second fix changed the file");
                if once != before {
                    let (code, stdout, _) =
                        tool(dir.path(), &["check", "--output-format", "concise", file]);
                    assert_eq!(code, Some(0), "{name}: Kaniko left after fix:\n{stdout}");
                }
                std::fs::write(dir.path().join(&relative), &before).unwrap();
            }
        }
    });
}

/// `fix` then `fix` again: the second run changes nothing, and `check`
/// finds Kaniko only in the steps the first run left, with a reason.
#[test]
fn a_second_fix_changes_nothing() {
    for (name, path, _) in fixtures() {
        let (dir, relative) = scratch(&name, &path);
        let file = relative.to_str().unwrap();
        let before = std::fs::read_to_string(dir.path().join(&relative)).unwrap();
        let (_, _, first) = tool(dir.path(), &["fix", "--unsafe", "--color", "never", file]);
        let once = std::fs::read_to_string(dir.path().join(&relative)).unwrap();
        tool(dir.path(), &["fix", "--unsafe", file]);
        let twice = std::fs::read_to_string(dir.path().join(&relative)).unwrap();
        assert_eq!(once, twice, "{name}: a second fix changed the file");
        if once != before {
            let left = first.matches(" is not migrated: ").count();
            let (_, stdout, _) = tool(dir.path(), &["check", "--output-format", "concise", file]);
            let builds = stdout.matches("error[kaniko/executor]").count();
            assert!(
                builds <= left,
                "{name}: {builds} Kaniko calls left after fix, {left} reasons given:\n{stdout}\n{first}"
            );
        }
    }
}

/// Every fixture cut after each of its lines, and with each line dropped:
/// `check` and the migration read whatever is left without panicking, and
/// every rewrite they plan passes its verification.
#[test]
fn truncated_and_damaged_workflows_never_panic() {
    use kaniko2buildkit::config::Config;
    use kaniko2buildkit::gitlab::{Input, Pipeline};
    use kaniko2buildkit::migrate::Options;
    use kaniko2buildkit::system::System;
    let root = fixtures_dir();
    for (name, path, _) in fixtures() {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut variants: Vec<String> = (0..lines.len()).map(|n| lines[..n].concat()).collect();
        variants.extend((0..lines.len()).map(|skip| {
            lines
                .iter()
                .enumerate()
                .filter(|(index, _)| *index != skip)
                .map(|(_, line)| *line)
                .collect()
        }));
        for variant in variants {
            let input = Input::Stdin {
                text: variant,
                name: format!("{name}.yml"),
            };
            let mut pipeline = Pipeline::load_system(&root, input, 1 << 20, System::GitHubActions);
            if !pipeline.errors.is_empty() {
                continue;
            }
            kaniko2buildkit::frontend::analyse(&mut pipeline, &Config::default());
            // A step the tool cannot map is left with a reason; a rewrite
            // that fails its own verification would be a bug.
            if let Err(refused) = kaniko2buildkit::frontend::migrate(&pipeline, &Options::default())
            {
                panic!(
                    "{name}: a variant's rewrite was refused: {}",
                    refused.message
                );
            }
        }
    }
}
