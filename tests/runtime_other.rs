//! The run-time suite for the Buildkite and GitHub Actions front-ends: the
//! fixtures `fixtures/runtime/buildkite.yml` and `github.yml` are migrated
//! with `fix`, the new command text is turned into what the agent or runner
//! executes (Buildkite's upload-time `$$` un-escaped; GitHub's `run:` as
//! written), and it runs with the fakes of `runtime/harness.rs` under
//! busybox `sh -e` (and `bash -e` where `/bin/bash` exists).

// Only some of the harness serves these front-ends.
#[allow(dead_code)]
#[path = "runtime/harness.rs"]
mod harness;

use std::path::Path;

use assert_cmd::Command;
use harness::{Build, Run, Setup, run_script};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/runtime")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// `text` at `relative` in a fresh project, migrated with `fix`: the new
/// text of that file.
fn fix(text: &str, relative: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(relative);
    std::fs::create_dir_all(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    let output = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("CI")
        .arg("fix")
        .arg(relative)
        .output()
        .unwrap();
    let fixed = std::fs::read_to_string(&path).unwrap();
    assert_ne!(
        fixed,
        text,
        "fix changed nothing:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    fixed
}

/// What the Buildkite agent receives for `$$` and `\$` after
/// `pipeline upload`: a literal `$` (see `src/buildkite/interpolate.rs`).
/// An upload-time `$VAR` would take the uploader's value; the fixture has
/// none, and one left over fails here rather than run as something else.
fn unescape_upload(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('$', Some('$')) | ('\\', Some('$')) => {
                chars.next();
                out.push('$');
            }
            ('$', Some(next)) if next.is_ascii_alphabetic() || *next == '_' || *next == '{' => {
                panic!("an upload-time variable in the migrated command:\n{value}")
            }
            _ => out.push(c),
        }
    }
    out
}

/// The migrated step `label`'s commands as the agent runs them: one line a
/// command, under `-e`.
fn buildkite_command(migrated: &str, label: &str) -> String {
    let document: serde_yaml::Value = serde_yaml::from_str(migrated).unwrap();
    let step = document["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["label"].as_str() == Some(label))
        .unwrap_or_else(|| panic!("no step `{label}`:\n{migrated}"));
    let commands: Vec<String> = match &step["commands"] {
        serde_yaml::Value::Sequence(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect(),
        _ => vec![step["command"].as_str().unwrap().to_string()],
    };
    let text = commands.join("\n");
    assert!(
        !text.contains("kaniko/executor"),
        "not migrated:\n{migrated}"
    );
    format!("set -e\n{}\n", unescape_upload(&text))
}

fn buildkite_run(label: &str, fail_build: bool) -> Option<Run> {
    let migrated = fix(&fixture("buildkite.yml"), ".buildkite/pipeline.yml");
    let script = buildkite_command(&migrated, label);
    let setup = Setup {
        env: vec![("BUILDKITE", "true"), ("BUILDKITE_BUILD_NUMBER", "42")],
        files: vec![
            ("Dockerfile", "FROM scratch\n"),
            ("sub/app.Dockerfile", "FROM scratch\n"),
        ],
        fail_build,
        ..Setup::default()
    };
    run_script(&script, &migrated, &setup)
}

fn assert_passed(run: &Run) {
    assert_eq!(
        run.status,
        Some(0),
        "{}\n{}\n{}",
        run.stdout,
        run.stderr,
        run.migrated
    );
    assert!(run.read("deployed").is_some(), "{}", run.migrated);
}

/// A failed build failed the step: non-zero, and the next command (which
/// writes `deployed`) did not run.
fn assert_stopped_at_build(run: &Run) {
    assert_ne!(run.status, Some(0), "the step passed\n{}", run.migrated);
    assert!(
        run.read("deployed").is_none(),
        "the command after the build ran\n{}",
        run.migrated
    );
}

/// The one call of the fake `docker` that is `buildx build`, after the
/// builder was set up by an earlier call.
fn buildx_build(run: &Run) -> &Build {
    let position = run
        .builds
        .iter()
        .position(|b| {
            b.program == "docker" && b.args.starts_with(&["buildx".into(), "build".into()])
        })
        .unwrap_or_else(|| {
            panic!(
                "no `docker buildx build`: {:?}\n{}",
                run.builds, run.migrated
            )
        });
    assert!(
        run.builds[..position]
            .iter()
            .any(|b| b.args.starts_with(&["buildx".into(), "inspect".into()])),
        "the builder step did not run before the build: {:?}",
        run.builds
    );
    let builds = run
        .builds
        .iter()
        .filter(|b| b.args.starts_with(&["buildx".into(), "build".into()]))
        .count();
    assert_eq!(builds, 1, "{:?}", run.builds);
    &run.builds[position]
}

/// A plain `command:` of the Kaniko executor reaches
/// `buildctl-daemonless.sh` with the context, the Dockerfile's directory,
/// and the destination with the run-time build number, pushed.
#[test]
fn a_buildkite_command_builds_and_pushes() {
    let Some(run) = buildkite_run("plain", false) else {
        return;
    };
    assert_passed(&run);
    let build = run.only_build();
    assert_eq!(build.program, "buildctl-daemonless.sh", "{}", run.migrated);
    let locals = build.values("--local");
    assert!(locals.contains(&"context=.".to_string()), "{locals:?}");
    assert!(
        locals.contains(&"dockerfile=.".to_string()),
        "{locals:?}\n{}",
        run.migrated
    );
    assert!(build.missing.is_empty(), "{:?}", build.missing);
    let outputs = build.values("--output");
    assert_eq!(outputs.len(), 1, "{outputs:?}");
    assert!(
        outputs[0].contains("name=registry.example.com/app:42") && outputs[0].contains("push=true"),
        "{outputs:?}"
    );
}

/// An agent `docker run` of Kaniko becomes `docker buildx build` with the
/// mounted context mapped back to the checkout, its Dockerfile, the build
/// argument from `-e`, and both tags pushed; the builder is made first.
#[test]
fn a_buildkite_docker_run_builds_with_buildx() {
    let Some(run) = buildkite_run("docker run", false) else {
        return;
    };
    assert_passed(&run);
    let build = buildx_build(&run);
    assert_eq!(
        build.args.last().map(String::as_str),
        Some("sub"),
        "{:?}",
        build.args
    );
    assert_eq!(
        build.values("--file"),
        ["sub/app.Dockerfile"],
        "{:?}",
        build.args
    );
    assert_eq!(
        build.values("--build-arg"),
        ["VERSION=1.2.3"],
        "{:?}",
        build.args
    );
    assert_eq!(build.env.get("VERSION").map(String::as_str), Some("1.2.3"));
    let outputs = build.values("--output").join(" ");
    for tag in [
        "registry.example.com/app:42",
        "registry.example.com/app:latest",
    ] {
        assert!(outputs.contains(tag), "{tag}: {outputs}");
    }
    assert!(outputs.contains("push=true"), "{outputs}");
}

/// In both Buildkite steps a failed build fails the command.
#[test]
fn a_failed_buildkite_build_fails_the_step() {
    for label in ["plain", "docker run"] {
        let Some(run) = buildkite_run(label, true) else {
            return;
        };
        assert_stopped_at_build(&run);
    }
}

/// The migrated `run:` of the workflow's Kaniko step.
fn github_run_text(migrated: &str) -> String {
    let document: serde_yaml::Value = serde_yaml::from_str(migrated).unwrap();
    let step = document["jobs"]["build"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Build with Kaniko"))
        .unwrap();
    let text = step["run"].as_str().unwrap().to_string();
    assert!(
        !text.contains("kaniko-project"),
        "not migrated:\n{migrated}"
    );
    assert!(
        !text.contains("${{"),
        "an expression to substitute:\n{text}"
    );
    text
}

/// The shells GitHub runs `run:` with: `shell: sh` (`sh -e {0}`), and the
/// default `bash -e {0}` where bash is installed.
fn github_shells() -> Vec<Option<&'static str>> {
    let mut shells = vec![None];
    if Path::new("/bin/bash").is_file() {
        shells.push(Some("/bin/bash"));
    }
    shells
}

fn github_run(shell: Option<&str>, fail_build: bool) -> Option<Run> {
    let migrated = fix(&fixture("github.yml"), ".github/workflows/build.yml");
    let script = format!("set -e\n{}", github_run_text(&migrated));
    let setup = Setup {
        env: vec![("GITHUB_ACTIONS", "true")],
        files: vec![("Dockerfile", "FROM scratch\n")],
        fail_build,
        shell,
        ..Setup::default()
    };
    run_script(&script, &migrated, &setup)
}

/// The workflow's `docker run` of Kaniko, as `docker buildx build`: the
/// checkout as context, its Dockerfile, `--build-arg V=1.2.3` with V also
/// in the build's environment, the tag pushed.
#[test]
fn a_github_run_step_builds_with_buildx() {
    for shell in github_shells() {
        let Some(run) = github_run(shell, false) else {
            return;
        };
        assert_passed(&run);
        let build = buildx_build(&run);
        let context = build.args.last().map(String::as_str);
        assert!(
            matches!(context, Some("." | "./")),
            "{shell:?}: {:?}",
            build.args
        );
        let file = build.values("--file");
        assert!(
            matches!(file.as_slice(), [f] if f == "Dockerfile" || f == "./Dockerfile"),
            "{shell:?}: {:?}",
            build.args
        );
        assert_eq!(
            build.values("--build-arg"),
            ["V=1.2.3"],
            "{shell:?}: {:?}",
            build.args
        );
        assert_eq!(
            build.env.get("V").map(String::as_str),
            Some("1.2.3"),
            "{shell:?}"
        );
        let outputs = build.values("--output").join(" ");
        assert!(
            outputs.contains("name=ghcr.io/o/app:1") && outputs.contains("push=true"),
            "{shell:?}: {outputs}"
        );
    }
}

/// A failed build fails the `run:` step under both shells.
#[test]
fn a_failed_github_build_fails_the_step() {
    for shell in github_shells() {
        let Some(run) = github_run(shell, true) else {
            return;
        };
        assert_stopped_at_build(&run);
    }
}
