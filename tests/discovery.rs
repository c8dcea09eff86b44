//! Which files the commands read (issue 15, part 1): directory search with
//! `.gitignore`, CI documents recognised by content, the `ci/`/`.gitlab/`
//! rule relative to the project root, standard input's project root, a
//! missing `--root`, and a file that is both named and included.

use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::{Run, k2b, project, run, run_in};

const KANIKO_TEMPLATE: &str = "\
.kaniko:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";

const INCLUDES_TEMPLATE: &str = "\
include:
  - local: ci/templates.yml
build:
  extends: .kaniko
";

const KANIKO_JOB: &str = "\
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";

/// `check --color never --output-format concise ARGS` in `dir`.
fn concise(dir: &Path, args: &[&str]) -> Run {
    let mut all = vec!["--color", "never", "check", "--output-format", "concise"];
    all.extend_from_slice(args);
    run_in(dir, &all)
}

/// The files concise output reports something in, with the rule codes.
fn reported(out: &Run) -> Vec<String> {
    let mut lines: Vec<String> = out
        .stdout
        .lines()
        .filter(|line| {
            line.contains(": error[") || line.contains(": info[") || line.contains(": warning[")
        })
        .map(|line| {
            let file = line.split(':').next().unwrap();
            let rule = line.split('[').nth(1).unwrap().split(']').next().unwrap();
            format!("{file} {rule}")
        })
        .collect();
    lines.sort();
    lines.dedup();
    lines
}

/// `check ci/ .gitlab-ci.yml`, `check .gitlab` and `cd ci && check .`: the
/// `ci/`/`.gitlab/` rule holds relative to the project root, wherever the
/// search starts, even for a file of templates only.
#[test]
fn ci_directories_are_found_from_any_starting_point() {
    let dir = project(&[
        (".gitlab-ci.yml", INCLUDES_TEMPLATE),
        ("ci/templates.yml", KANIKO_TEMPLATE),
        (".gitlab/more.yml", "variables:\n  A: b\n"),
    ]);
    let out = concise(dir.path(), &["ci/", ".gitlab-ci.yml"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("ci/templates.yml:"), "{out:?}");
    assert!(!out.stderr.contains("no CI files"), "{out:?}");

    let out = concise(dir.path(), &[".gitlab"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");

    let out = concise(&dir.path().join("ci"), &["."]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("ci/templates.yml:"), "{out:?}");
}

/// Directory search reads every YAML file not ignored: CI documents by
/// content wherever they live, other YAML only for a Kaniko image (info);
/// ignored trees, hidden or not, are skipped; unparsable YAML (a Helm
/// template) is not CI and not an error.
#[test]
fn directory_search_reads_every_yaml_file_not_ignored() {
    let dir = project(&[
        (".gitignore", "build/\n.venv/\n"),
        (".gitlab-ci.yml", "test:\n  script: [make]\n"),
        ("templates/kaniko.yml", KANIKO_TEMPLATE),
        ("jobs/docker/build.yml", KANIKO_JOB),
        ("docker/images.yml", KANIKO_JOB),
        ("gitlab-ci.yml", KANIKO_JOB),
        (".images-ci.yml", KANIKO_JOB),
        (
            "chart/values.yaml",
            "include: broken.yml\nbuilder:\n  repository: gcr.io/kaniko-project/executor:debug\n",
        ),
        ("broken.yml", "a: [\n"),
        (
            "chart/templates/deploy.yaml",
            "{{- if .Values.x }}\nkind: Pod\n{{- end }}\n",
        ),
        ("docs/mkdocs.yml", "site_name: x\nnav:\n  - a.md\n"),
        ("build/generated.yml", KANIKO_JOB),
        (".venv/lib/x.yml", KANIKO_JOB),
    ]);
    let out = concise(dir.path(), &["."]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let reported = reported(&out);
    for expected in [
        "templates/kaniko.yml kaniko/job",
        "jobs/docker/build.yml kaniko/job",
        "docker/images.yml kaniko/job",
        "gitlab-ci.yml kaniko/job",
        ".images-ci.yml kaniko/job",
        "chart/values.yaml kaniko/image-reference",
    ] {
        assert!(
            reported.contains(&expected.to_string()),
            "{expected}: {out:?}"
        );
    }
    for absent in ["build/", ".venv/", "deploy.yaml", "mkdocs.yml"] {
        assert!(!out.stdout.contains(absent), "{absent}: {out:?}");
    }
    assert!(
        out.stdout
            .contains("chart/values.yaml:3:15: info[kaniko/image-reference]"),
        "{out:?}"
    );
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// The project root's `.gitignore` applies to a search of a subdirectory,
/// and a `.gitignore` above the project root does not.
#[test]
fn only_the_project_s_ignore_files_apply() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(outer.path().join(".gitignore"), "*.yml\n").unwrap();
    let root = outer.path().join("repo");
    for (name, text) in [
        (".git/HEAD", ""),
        (".gitignore", "ci/generated/\n"),
        ("ci/templates.yml", KANIKO_TEMPLATE),
        ("ci/generated/x.yml", KANIKO_JOB),
    ] {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    for (cwd, arg) in [(&root, "ci"), (&root.join("ci"), ".")] {
        let out = concise(cwd, &[arg]);
        assert_eq!(out.code, Some(1), "{arg}: {out:?}");
        assert!(out.stdout.contains("ci/templates.yml:"), "{arg}: {out:?}");
        assert!(!out.stdout.contains("generated"), "{arg}: {out:?}");
    }
}

/// A directory holding only YAML that is not CI and names no Kaniko image
/// is still "no CI files" (exit 2); one naming Kaniko gets its info.
#[test]
fn non_ci_yaml_alone() {
    let dir = project(&[("k8s/pod.yaml", "kind: Pod\nspec:\n  containers: []\n")]);
    let out = concise(dir.path(), &["k8s"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("no CI files"), "{out:?}");

    let dir = project(&[(
        "k8s/pod.yaml",
        "kind: Pod\nspec:\n  containers:\n    - image: gcr.io/kaniko-project/executor:v1.23.0\n",
    )]);
    let out = concise(dir.path(), &["k8s"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains("info[kaniko/image-reference]"),
        "{out:?}"
    );
}

/// Standard input's project root is the nearest `.git` above the working
/// directory, so a local include resolves from a subdirectory too.
#[test]
fn stdin_root_is_the_repository_above_the_working_directory() {
    let dir = project(&[("ci/templates.yml", KANIKO_TEMPLATE), ("sub/keep", "")]);
    for (cwd, extra) in [
        (dir.path().to_path_buf(), &[][..]),
        (dir.path().join("sub"), &["--stdin-filename", "x.yml"][..]),
    ] {
        let mut args = vec![
            "--color",
            "never",
            "check",
            "--output-format",
            "concise",
            "-",
        ];
        args.extend_from_slice(extra);
        let out = run(k2b(&cwd).args(&args).write_stdin(INCLUDES_TEMPLATE));
        assert_eq!(out.code, Some(1), "{out:?}");
        assert!(out.stdout.contains("ci/templates.yml:"), "{out:?}");
        assert!(!out.stdout.contains("include/"), "{out:?}");
    }
}

/// A `--root` that does not exist is an error (exit 2) on every command.
#[test]
fn missing_root_is_an_error() {
    let dir = project(&[(".gitlab-ci.yml", INCLUDES_TEMPLATE)]);
    for command in ["check", "diff", "fix", "audit"] {
        let out = run_in(dir.path(), &[command, "--root", "no/such/dir"]);
        assert_eq!(out.code, Some(2), "{command}: {out:?}");
        assert!(out.stderr.contains("no/such/dir"), "{command}: {out:?}");
        assert!(out.stderr.contains("not a directory"), "{command}: {out:?}");
    }
}

/// A file named on the command line that another named file includes is
/// analysed and migrated once, in whichever order they are named.
#[test]
fn a_named_file_that_is_also_included_counts_once() {
    for order in [
        ["ci/templates.yml", ".gitlab-ci.yml"],
        [".gitlab-ci.yml", "ci/templates.yml"],
    ] {
        let files = [
            (".gitlab-ci.yml", INCLUDES_TEMPLATE),
            ("ci/templates.yml", KANIKO_TEMPLATE),
        ];
        let dir = project(&files);
        let out = concise(dir.path(), &order);
        assert_eq!(out.code, Some(1), "{out:?}");
        assert_eq!(out.stdout.matches("kaniko/executor]").count(), 1, "{out:?}");
        assert!(
            out.stdout.contains("Found 2 Kaniko jobs in 2 files"),
            "{out:?}"
        );

        let out = run_in(
            dir.path(),
            &["--color", "never", "diff", order[0], order[1]],
        );
        assert_eq!(out.code, Some(1), "{out:?}");
        assert_eq!(
            out.stdout.matches("+++ b/ci/templates.yml").count(),
            1,
            "{out:?}"
        );

        let out = run_in(dir.path(), &["--color", "never", "fix", order[0], order[1]]);
        assert_eq!(out.code, Some(0), "{out:?}");
        assert!(!out.stderr.contains("changed on disk"), "{out:?}");
        assert_eq!(
            out.stderr.matches("Migrated ci/templates.yml").count(),
            1,
            "{out:?}"
        );
        assert!(
            out.stderr.contains("Migrated 2 Kaniko jobs in 1 file."),
            "{out:?}"
        );
        let migrated = std::fs::read_to_string(dir.path().join("ci/templates.yml")).unwrap();
        assert!(migrated.contains("buildctl-daemonless.sh"), "{migrated}");
    }
}

/// Two entry files that include one template: its findings are reported
/// once, its hunk shown once, and `fix` writes it once.
#[test]
fn a_template_shared_by_two_entry_files_is_handled_once() {
    let other = "include:\n  - local: ci/templates.yml\nrelease:\n  extends: .kaniko\n";
    let dir = project(&[
        (".gitlab-ci.yml", INCLUDES_TEMPLATE),
        ("release.gitlab-ci.yml", other),
        ("ci/templates.yml", KANIKO_TEMPLATE),
    ]);
    let out = concise(dir.path(), &["."]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(
        out.stdout.matches("ci/templates.yml:4:").count(),
        1,
        "{out:?}"
    );

    let out = run_in(dir.path(), &["--color", "never", "diff", "."]);
    assert_eq!(
        out.stdout.matches("+++ b/ci/templates.yml").count(),
        1,
        "{out:?}"
    );

    let out = run_in(dir.path(), &["--color", "never", "fix", "."]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stderr.contains("changed on disk"), "{out:?}");
}

const BUILDKITE_KANIKO: &str = "\
steps:
  - label: build
    command: /kaniko/executor --context . --destination registry.example.com/app:1
";

/// A file named on the command line is told apart by its content up to
/// `--max-file-size`, not only up to the 2 MiB a directory search reads.
#[test]
fn a_large_named_file_is_told_apart_by_its_content() {
    let mut text = String::from(BUILDKITE_KANIKO);
    let filler = "  - label: other\n    command: make test\n";
    while text.len() < 2 * 1024 * 1024 + 4096 {
        text.push_str(filler);
    }
    let dir = project(&[("pipelines/big.yml", &text)]);
    let out = concise(dir.path(), &["pipelines/big.yml"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("kaniko/job"), "{out:?}");
}
