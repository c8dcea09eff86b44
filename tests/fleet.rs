//! A fleet of small pipelines checked on several threads (issue 14): the
//! output, exit code and order are those of one thread, and the include
//! de-duplication (a file analysed once, in the pipeline that includes it)
//! is the sequential run's. Not timed: performance is shown by `cargo bench
//! --bench check -- --fleet`.

use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::{Run, project, run_plain};

const KANIKO_TEMPLATE: &str = "\
.kaniko:
  image:
    name: gcr.io/kaniko-project/executor:debug
    entrypoint: [\"\"]
  script:
    - /kaniko/executor --context . --destination \"$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG\" --cache=true
";

fn kaniko_job(name: &str, flags: &str) -> String {
    format!(
        "{name}:\n  image:\n    name: gcr.io/kaniko-project/executor:v1.23.2-debug\n    entrypoint: [\"\"]\n  script:\n    - /kaniko/executor --context \"$CI_PROJECT_DIR\" --dockerfile Dockerfile --destination registry.example.com/{name}:1 {flags}\n"
    )
}

/// Forty repositories and their shared files, one project: pipelines that
/// include a shared template (found on its own too), one another's entry
/// files, each other (mutually), broken YAML, pipelines without Kaniko,
/// nesting ten thousand levels deep (read on a helper thread's stack), a
/// GitHub workflow, and other YAML naming a Kaniko image, one of them
/// included by a pipeline.
fn fleet() -> tempfile::TempDir {
    let mut files: Vec<(String, String)> = vec![
        ("ci/kaniko.yml".into(), KANIKO_TEMPLATE.into()),
        (
            "shared/images.yml".into(),
            "builder: gcr.io/kaniko-project/executor:debug\n".into(),
        ),
        (
            "deploy/values.yaml".into(),
            "image:\n  repository: gcr.io/kaniko-project/executor\n  tag: v1.23.2\n".into(),
        ),
        (
            "helm/values.yaml".into(),
            "builder: gcr.io/kaniko-project/warmer:latest\n".into(),
        ),
        ("jobs/a.yml".into(), kaniko_job("from-a", "--cleanup")),
        (
            "jobs/z.yml".into(),
            format!(
                "include:\n  - local: /jobs/a.yml\n{}",
                kaniko_job("from-z", "")
            ),
        ),
        (
            "mutual/x.yml".into(),
            format!(
                "include: /mutual/y.yml\n{}",
                kaniko_job("from-x", "--cache-ttl=24h")
            ),
        ),
        (
            "mutual/y.yml".into(),
            format!("include: /mutual/x.yml\n{}", kaniko_job("from-y", "")),
        ),
        (
            ".github/workflows/image.yml".into(),
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/github/aevea-action.yml"),
            )
            .unwrap(),
        ),
    ];
    for n in 0..40 {
        let text = match n % 5 {
            0 => format!(
                "include:\n  - local: /ci/kaniko.yml\n  - local: /shared/images.yml\nbuild-{n}:\n  extends: .kaniko\n  stage: build\n"
            ),
            1 => {
                kaniko_job(&format!("image-{n}"), "--snapshot-mode=redo --use-new-run")
                    + &kaniko_job(&format!("other-{n}"), "--reproducible")
            }
            2 => format!(
                "test-{n}:\n  image: alpine:3.20\n  script:\n    - echo {n}\n    - make test\n"
            ),
            3 => format!("build-{n}:\n  script: [unclosed\n  image: alpine\n"),
            _ => {
                format!(
                    "include:\n  - local: /repo-{:02}/.gitlab-ci.yml\nrelease-{n}:\n  extends: .kaniko\n",
                    n - 3
                ) + KANIKO_TEMPLATE
            }
        };
        files.push((format!("repo-{n:02}/.gitlab-ci.yml"), text));
    }
    for n in 0..3 {
        files.push((
            format!("deep-{n}/.gitlab-ci.yml"),
            format!("deep:\n  {}x\n", "- ".repeat(10_000)),
        ));
    }
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(name, text)| (name.as_str(), text.as_str()))
        .collect();
    project(&files)
}

fn with_threads(dir: &Path, threads: &str, args: &[&str]) -> Run {
    let mut all = vec![args[0], "--threads", threads];
    all.extend(&args[1..]);
    run_plain(dir, &all)
}

/// Every report of `check`, and `diff` and `audit`, is the same on one
/// thread and on several.
#[test]
fn the_output_does_not_depend_on_the_threads() {
    let dir = fleet();
    let commands: &[&[&str]] = &[
        &["check", "."],
        &["check", ".", "--output-format", "concise"],
        &["check", ".", "--output-format", "json"],
        &["check", ".", "--output-format", "sarif"],
        &["check", ".", "--output-format", "junit"],
        &["check", ".", "--output-format", "gitlab"],
        &["check", ".", "--statistics"],
        &["check", "repo-04", "repo-01", "ci", "."],
        &["diff", "."],
        &["audit", "."],
    ];
    for args in commands {
        let one = with_threads(dir.path(), "1", args);
        assert_eq!(one.code, Some(2), "{args:?}: {one:?}");
        for threads in ["2", "3", "8"] {
            let several = with_threads(dir.path(), threads, args);
            assert_eq!(
                (several.code, &several.stdout, &several.stderr),
                (one.code, &one.stdout, &one.stderr),
                "{args:?} on {threads} threads"
            );
        }
    }
    // The default (one thread per core) too.
    let default = run_plain(dir.path(), &["check", ".", "--output-format", "concise"]);
    let one = with_threads(
        dir.path(),
        "1",
        &["check", ".", "--output-format", "concise"],
    );
    assert_eq!(
        (default.code, default.stdout, default.stderr),
        (one.code, one.stdout, one.stderr)
    );
}

/// What the fleet reports: each file once, in the pipeline that includes
/// it; the errors in the order of the files.
#[test]
fn a_fleet_is_checked_as_one_thread_checks_it() {
    let dir = fleet();
    let out = with_threads(
        dir.path(),
        "4",
        &["check", ".", "--output-format", "concise"],
    );
    insta::assert_snapshot!(
        "fleet_concise",
        format!(
            "exit code {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            out.code, out.stdout, out.stderr
        )
    );
}

/// `fix` writes the same files, and says the same, on any number of threads.
#[test]
fn fix_writes_the_same_files_on_any_number_of_threads() {
    let written = |threads: &str| {
        let dir = fleet();
        let out = with_threads(dir.path(), threads, &["fix", "."]);
        let mut files = Vec::new();
        collect_files(dir.path(), dir.path(), &mut files);
        files.sort();
        (out.code, out.stdout, out.stderr, files)
    };
    let one = written("1");
    assert!(
        one.3
            .iter()
            .any(|(_, text)| text.contains("buildctl-daemonless.sh")),
        "nothing was migrated: {}",
        one.2
    );
    assert_eq!(written("4"), one);
}

/// Every file under `dir` but `.git`, by its path from `root`, and its text.
fn collect_files(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if !path.ends_with(".git") {
                collect_files(root, &path, files);
            }
        } else {
            let name = path.strip_prefix(root).unwrap().display().to_string();
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn zero_threads_is_refused() {
    let dir = fleet();
    let out = run_plain(dir.path(), &["check", "--threads", "0", "."]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--threads"), "{out:?}");
}
