//! Suppressions and config mean the same thing on every command (issue 15,
//! part 2): `diff` and `fix` honour ignore comments, config patterns have
//! `.gitignore` semantics, and every command has the options that make
//! sense for it, spelt one way.

use std::path::Path;

#[path = "common/cli.rs"]
mod cli;
use cli::project;
use cli::run_plain as run_in;

/// The README's own example: a job kept on Kaniko on purpose, next to one
/// that migrates.
const KEPT_AND_MIGRATED: &str = "\
build-legacy-firmware:
  # kaniko2buildkit: ignore[all] the firmware runner has no user namespaces yet (INFRA-412)
  image: gcr.io/kaniko-project/executor:v1.23.2-debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/firmware:1
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";

const KANIKO_JOB: &str = "\
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// The first `lines` lines of `text`: the kept job's block.
fn head(text: &str, lines: usize) -> String {
    text.lines().take(lines).collect::<Vec<_>>().join("\n")
}

/// `fix` never rewrites a suppressed job, migrates the rest, and the kept
/// job does not fail the run; `diff` shows no hunk in it.
#[test]
fn fix_and_diff_keep_a_suppressed_job() {
    let dir = project(&[(".gitlab-ci.yml", KEPT_AND_MIGRATED)]);
    let out = run_in(dir.path(), &["diff"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        !out.stdout
            .contains("-  image: gcr.io/kaniko-project/executor:v1.23.2-debug"),
        "{out:?}"
    );
    assert!(
        !out.stdout
            .lines()
            .any(|l| l.starts_with('-') && l.contains("firmware")),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("+  image: { name: moby/buildkit"),
        "{out:?}"
    );

    let out = run_in(dir.path(), &["fix"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stderr
            .contains("1 job kept on Kaniko by ignore comments or the config"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("not migrated"), "{out:?}");
    let after = read(dir.path(), ".gitlab-ci.yml");
    assert_eq!(head(&after, 5), head(KEPT_AND_MIGRATED, 5), "{after}");
    assert!(after.contains("buildctl-daemonless.sh"), "{after}");

    let out = run_in(dir.path(), &["check"]);
    assert_eq!(out.code, Some(0), "{out:?}");
}

/// A kept job's template is not rewritten for the jobs that share it:
/// they stay too, and say why.
#[test]
fn a_kept_job_keeps_what_it_shares() {
    let text = "\
.kaniko:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
legacy: # kaniko2buildkit: ignore[kaniko/job] stays until INFRA-412
  extends: .kaniko
other:
  extends: .kaniko
";
    let dir = project(&[(".gitlab-ci.yml", text)]);
    let out = run_in(dir.path(), &["fix"]);
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), text, "{out:?}");
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("2 jobs `.kaniko` and `other` are not migrated: it shares a definition with job `legacy`, which is kept"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("lift `legacy`'s ignore comment"),
        "{out:?}"
    );
}

/// `rules."kaniko/job".ignore` keeps the jobs of those files as well.
#[test]
fn config_ignore_keeps_jobs_too() {
    let dir = project(&[
        (".gitlab-ci.yml", KANIKO_JOB),
        (
            ".kaniko2buildkit.toml",
            "[rules.\"kaniko/job\"]\nignore = [\".gitlab-ci.yml\"]\n",
        ),
    ]);
    let out = run_in(dir.path(), &["fix"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), KANIKO_JOB, "{out:?}");
    // The same project without its config migrates.
    let out = run_in(dir.path(), &["diff", "--no-config"]);
    assert_eq!(out.code, Some(1), "{out:?}");
}

/// Braces, classes and `!` re-includes select what a directory search skips.
#[test]
fn exclude_patterns_follow_gitignore() {
    let config = "exclude = [\"ci/{old,legacy}/**\", \"ci/[ol]*/\", \"!ci/old/keep.yml\"]\n";
    let dir = project(&[
        (".kaniko2buildkit.toml", config),
        ("ci/old/a.yml", KANIKO_JOB),
        ("ci/old/keep.yml", KANIKO_JOB),
        ("ci/legacy/b.yml", KANIKO_JOB),
        ("ci/lib/c.yml", KANIKO_JOB),
        ("ci/new/d.yml", KANIKO_JOB),
    ]);
    let out = run_in(dir.path(), &["check", "--output-format", "concise", "."]);
    assert_eq!(out.code, Some(1), "{out:?}");
    for reported in ["ci/old/keep.yml:", "ci/new/d.yml:"] {
        assert!(out.stdout.contains(reported), "{reported}: {out:?}");
    }
    for skipped in ["ci/old/a.yml", "ci/legacy/b.yml", "ci/lib/c.yml"] {
        assert!(!out.stdout.contains(skipped), "{skipped}: {out:?}");
    }
}

/// A pattern that could never match is an error (exit 2) that points at it.
#[test]
fn unusable_patterns_are_errors() {
    let dir = project(&[
        (".gitlab-ci.yml", KANIKO_JOB),
        (
            ".kaniko2buildkit.toml",
            "exclude = [\"ci/{old,legacy/**\"]\n",
        ),
    ]);
    for command in ["check", "diff", "fix", "audit"] {
        let out = run_in(dir.path(), &[command]);
        assert_eq!(out.code, Some(2), "{command}: {out:?}");
        assert!(
            out.stderr.contains("is not a usable pattern"),
            "{command}: {out:?}"
        );
        assert!(
            out.stderr.contains(".kaniko2buildkit.toml"),
            "{command}: {out:?}"
        );
    }
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), KANIKO_JOB);
}

/// `--config` and `--no-config` work on diff, fix and audit as on check.
#[test]
fn config_options_on_every_command() {
    let dir = project(&[
        (".gitlab-ci.yml", KANIKO_JOB),
        (".kaniko2buildkit.toml", "flavor = \"privileged\"\n"),
    ]);
    let out = run_in(dir.path(), &["diff"]);
    assert!(
        out.stdout.contains("privileged") || out.stderr.contains("privileged"),
        "{out:?}"
    );
    let out = run_in(dir.path(), &["diff", "--no-config"]);
    assert!(out.stdout.contains("-rootless"), "{out:?}");
    let out = run_in(
        dir.path(),
        &[
            "diff",
            "--no-config",
            "--config",
            "buildkit-image = \"mirror.example/buildkit:1-rootless\"",
        ],
    );
    assert!(
        out.stdout.contains("mirror.example/buildkit:1-rootless"),
        "{out:?}"
    );
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "buildkit-image = \"other.example/buildkit:2-rootless\"\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["fix", "--config", other.to_str().unwrap()]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(read(dir.path(), ".gitlab-ci.yml").contains("other.example/buildkit:2-rootless"));
    let out = run_in(
        dir.path(),
        &["audit", "--no-config", "--config", "exclude = [\"[\"]", "."],
    );
    assert_eq!(out.code, Some(2), "{out:?}");
}

/// `--exit-zero` on diff and fix: a change shown or a job left is exit 0,
/// a failure to run is still 2.
#[test]
fn exit_zero_on_diff_and_fix() {
    let unmapped = KANIKO_JOB
        .replace("app:1", "app:1 --single-snapshot")
        .replace("build:", "firmware:");
    let text = format!("{KANIKO_JOB}{unmapped}");
    let dir = project(&[(".gitlab-ci.yml", &text)]);
    assert_eq!(run_in(dir.path(), &["diff"]).code, Some(1));
    assert_eq!(run_in(dir.path(), &["diff", "--exit-zero"]).code, Some(0));
    assert_eq!(run_in(dir.path(), &["audit", "."]).code, Some(1));
    assert_eq!(
        run_in(dir.path(), &["audit", "--exit-zero", "."]).code,
        Some(0)
    );
    let out = run_in(dir.path(), &["fix", "--exit-zero"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stderr.contains("1 job left"), "{out:?}");
    assert_eq!(run_in(dir.path(), &["fix"]).code, Some(1));
    assert_eq!(
        run_in(dir.path(), &["fix", "--exit-zero", "missing.yml"]).code,
        Some(2)
    );
}

/// One spelling, `--output-format`, on every command that has a format;
/// `--format` stays as an alias.
#[test]
fn output_format_is_spelt_one_way() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO_JOB)]);
    for args in [
        &["check", "--output-format", "json"][..],
        &["check", "--format", "json"],
        &["diff", "--output-format", "markdown"],
        &["diff", "--format", "markdown"],
        &["audit", "--output-format", "markdown", "."],
        &["audit", "--format", "markdown", "."],
    ] {
        let out = run_in(dir.path(), args);
        let expected = if args[0] == "audit" { 0 } else { 1 };
        assert_eq!(out.code, Some(expected), "{args:?}: {out:?}");
        assert!(
            out.stdout.starts_with('[') || out.stdout.contains("##"),
            "{args:?}: {out:?}"
        );
    }
    for command in ["check", "diff", "fix", "audit"] {
        let out = run_in(dir.path(), &[command, "--help"]);
        for option in ["--config", "--no-config", "--exit-zero", "--root"] {
            assert!(out.stdout.contains(option), "{command} {option}: {out:?}");
        }
        assert!(!out.stdout.contains("  --format"), "{command}: {out:?}");
    }
    // The fixes `check` proposes follow --flavor and --buildkit-image as `fix` does.
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--output-format",
            "json",
            "--buildkit-image",
            "mirror.example/bk:1-rootless",
        ],
    );
    assert!(
        out.stdout.contains("mirror.example/bk:1-rootless"),
        "{out:?}"
    );
    let out = run_in(
        dir.path(),
        &["check", "--output-format", "json", "--flavor", "buildx"],
    );
    assert!(out.stdout.contains("buildx build"), "{out:?}");
}
