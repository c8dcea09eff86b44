//! Diagnostics a person reads to the end (issue 15, part 4): one finding
//! per root cause naming the jobs, `kaniko/job` underlining the key and the
//! image only, a help line specific to each blocker, and no contradictory
//! pairs.

#[path = "common/cli.rs"]
mod cli;
use cli::run_plain as run_in;

const TEMPLATE_WITH_UNSAFE_FLAG: &str = "\
.kaniko:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1 --cache-ttl 24h
a:
  extends: .kaniko
b:
  extends: .kaniko
c:
  extends: .kaniko
d:
  extends: .kaniko
e:
  extends: .kaniko
";

fn project(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".gitlab-ci.yml"), text).unwrap();
    dir
}

/// The diagnostics of one rule in `full` output, one string each.
fn diagnostics(output: &str, rule: &str) -> Vec<String> {
    let header = format!("\n{rule}\n");
    let output = format!("\n{output}");
    output
        .match_indices(&header)
        .map(|(start, _)| {
            let rest = &output[start + header.len()..];
            let end = rest
                .find("\n  help:")
                .and_then(|help| rest[help + 1..].find('\n').map(|n| help + 1 + n))
                .unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect()
}

/// A template with one flag `fix` cannot apply safely and five jobs that
/// extend it: one error naming all six, with the help that fits it.
#[test]
fn one_error_per_root_cause() {
    let dir = project(TEMPLATE_WITH_UNSAFE_FLAG);
    for command in ["diff", "fix"] {
        let out = run_in(dir.path(), &[command]);
        let errors = diagnostics(&out.stderr, "migrate/not-migrated");
        assert_eq!(errors.len(), 1, "{command}: {out:?}");
        let error = &errors[0];
        assert!(
            error.contains("6 jobs `.kaniko`, `a`, `b`, `c`, `d` and 1 more are not migrated"),
            "{error}"
        );
        assert!(
            error.contains("help: rerun with --unsafe to drop it"),
            "{error}"
        );
        assert!(!out.stderr.contains("wait for a version"), "{out:?}");
        assert!(out.stderr.lines().count() < 30, "{out:?}");
    }
    let markdown = run_in(dir.path(), &["diff", "--output-format", "markdown"]);
    assert_eq!(
        markdown.stdout.matches("migrate/not-migrated").count(),
        1,
        "{markdown:?}"
    );
    // The fleet view still counts every job.
    let audit = run_in(dir.path(), &["audit"]);
    assert!(audit.stdout.contains("cannot migrate:     6"), "{audit:?}");
}

/// A typo gets "did you mean", not a generic help line.
#[test]
fn a_typo_gets_the_nearest_flag() {
    let dir = project(
        "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destinaton registry.example.com/app:1\n",
    );
    let out = run_in(dir.path(), &["fix"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    let errors = diagnostics(&out.stderr, "migrate/not-migrated");
    assert_eq!(errors.len(), 1, "{out:?}");
    assert!(
        errors[0].contains("help: did you mean `--destination`?"),
        "{out:?}"
    );
}

/// A flag held in a variable that must be written in the call is not also
/// reported as missing.
#[test]
fn no_contradictory_pair() {
    let dir = project(
        "build:\n  image: gcr.io/kaniko-project/executor:debug\n  variables:\n    ARGS: \"--context $CI_PROJECT_DIR --cache=true\"\n  script:\n    - /kaniko/executor $ARGS --destination registry.example.com/app:1\n",
    );
    let out = run_in(dir.path(), &["fix"]);
    assert!(
        out.stderr
            .contains("--context combines with the call's other flags"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("no --context"), "{out:?}");
    assert!(
        out.stderr
            .contains("help: move --context from the variable into the executor call"),
        "{out:?}"
    );
}

/// `kaniko/job` underlines the job's key and its image; the executor call
/// has a diagnostic of its own, and the job body is not shown.
#[test]
fn kaniko_job_points_at_the_key_and_the_image() {
    let dir = project(
        "build:\n  stage: build\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - echo one\n    - echo two\n    - /kaniko/executor --context . --destination registry.example.com/app:1\n",
    );
    let out = run_in(dir.path(), &["check"]);
    let jobs = diagnostics(&out.stdout, "kaniko/job");
    assert_eq!(jobs.len(), 1, "{out:?}");
    let job = &jobs[0];
    assert!(job.contains("╰── job"), "{job}");
    assert!(job.contains("╰── Kaniko image"), "{job}");
    for body in ["echo two", "--destination", "calls /kaniko/executor"] {
        assert!(!job.contains(body), "{body}: {job}");
    }
    assert_eq!(
        diagnostics(&out.stdout, "kaniko/executor").len(),
        1,
        "{out:?}"
    );
}
