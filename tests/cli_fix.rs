//! CLI tests for `diff` and `fix`: exit codes, standard input, the Markdown
//! format, atomic in-place writes, permissions, symlinks and refusals.

use std::path::Path;

use assert_cmd::Command;

const KANIKO: &str = "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination registry.example.com/app:1\n";
const UNMAPPED: &str = "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination registry.example.com/app:1 --skip-default-registry-fallback\n";
const CLEAN: &str = "test:\n  image: python:3.12\n  script:\n    - pytest\n";

fn k2b(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kaniko2buildkit").unwrap();
    cmd.current_dir(dir)
        .env_remove("GITLAB_CI")
        .env_remove("CLICOLOR_FORCE")
        .arg("--color")
        .arg("never");
    cmd.timeout(std::time::Duration::from_secs(20));
    cmd
}

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn diff_exits_one_with_a_diff_and_writes_nothing() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let out = k2b(dir.path()).arg("diff").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("--- a/.gitlab-ci.yml\n+++ b/.gitlab-ci.yml\n"),
        "{stdout}"
    );
    assert!(stdout.contains("+    - buildctl-daemonless.sh build"));
    assert!(!stdout.contains("\x1b["));
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), KANIKO);
}

#[test]
fn diff_exits_zero_without_kaniko() {
    let dir = project(&[(".gitlab-ci.yml", CLEAN)]);
    let out = k2b(dir.path()).arg("diff").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn diff_is_coloured_on_request() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let mut cmd = Command::cargo_bin("kaniko2buildkit").unwrap();
    let out = cmd
        .current_dir(dir.path())
        .args(["--color", "always", "diff"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("\x1b[32m+    - buildctl-daemonless.sh build\x1b[0m"),
        "{stdout}"
    );
}

#[test]
fn markdown_diff_is_ready_for_a_merge_request() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let mut cmd = Command::cargo_bin("kaniko2buildkit").unwrap();
    let out = cmd
        .current_dir(dir.path())
        .args(["--color", "always", "diff", "--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("| jobs migrated | 1 `build` |"), "{stdout}");
    assert!(stdout.contains("| jobs left | 0  |"), "{stdout}");
    assert!(stdout.contains("```diff\n--- a/.gitlab-ci.yml"), "{stdout}");
    assert!(!stdout.contains("\x1b["), "markdown is never coloured");
}

#[test]
fn fix_writes_in_place_and_a_second_run_is_clean() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fixed = read(dir.path(), ".gitlab-ci.yml");
    assert!(fixed.contains("buildctl-daemonless.sh build") && !fixed.contains("/kaniko/executor"));
    let again = k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), fixed);
    let check = k2b(dir.path()).arg("check").output().unwrap();
    assert_eq!(check.status.code(), Some(0), "no Kaniko is left");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".kaniko2buildkit-")
        })
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn fix_exits_one_when_kaniko_remains() {
    let dir = project(&[(".gitlab-ci.yml", UNMAPPED)]);
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("migrate/not-migrated")
            && stderr.contains("--skip-default-registry-fallback"),
        "{stderr}"
    );
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), UNMAPPED);
}

#[test]
fn fix_reads_stdin_and_writes_stdout() {
    let dir = project(&[]);
    let out = k2b(dir.path())
        .args(["fix", "-"])
        .write_stdin(KANIKO)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("buildctl-daemonless.sh build"), "{stdout}");
    let clean = k2b(dir.path())
        .args(["fix", "-"])
        .write_stdin(CLEAN)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(clean.stdout).unwrap(),
        CLEAN,
        "unchanged input is echoed"
    );
}

#[test]
fn diff_reads_stdin() {
    let dir = project(&[]);
    let out = k2b(dir.path())
        .args(["diff", "-", "--stdin-filename", "ci.yml"])
        .write_stdin(KANIKO)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .starts_with("--- a/ci.yml")
    );
}

#[cfg(unix)]
#[test]
fn fix_keeps_the_file_mode_and_follows_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(&[("real.yml", KANIKO)]);
    let real = dir.path().join("real.yml");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    std::os::unix::fs::symlink("real.yml", dir.path().join(".gitlab-ci.yml")).unwrap();
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let link = dir.path().join(".gitlab-ci.yml");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link stays a link"
    );
    assert!(read(dir.path(), "real.yml").contains("buildctl-daemonless.sh"));
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

#[test]
fn fix_refuses_a_file_that_changed_since_it_was_read() {
    let dir = project(&[(".gitlab-ci.yml", "changed on disk\n")]);
    let path = dir.path().join(".gitlab-ci.yml");
    let result = kaniko2buildkit::write::prepare(&path, KANIKO, "new text").map(|_| ());
    assert!(result.unwrap_err().contains("changed on disk"));
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), "changed on disk\n");
}

#[test]
fn fix_on_invalid_yaml_exits_two_and_keeps_the_file() {
    let bad = "build:\n  script: \"unterminated\n";
    let dir = project(&[(".gitlab-ci.yml", bad)]);
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), bad);
}

#[test]
fn unsafe_changes_need_the_flag() {
    let ttl = KANIKO.replace("app:1", "app:1 --cache-ttl 24h");
    let dir = project(&[(".gitlab-ci.yml", &ttl)]);
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(read(dir.path(), ".gitlab-ci.yml"), ttl);
    let out = k2b(dir.path()).args(["fix", "--unsafe"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("applied with --unsafe")
    );
}

#[test]
fn the_buildkit_image_can_be_chosen() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let out = k2b(dir.path())
        .args([
            "diff",
            "--buildkit-image",
            "registry.example.com/mirror/buildkit:v0.32.2-rootless",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("name: registry.example.com/mirror/buildkit:v0.32.2-rootless")
    );
}

#[test]
fn audit_counts_jobs_by_verdict_with_reasons() {
    let dir = project(&[("a.gitlab-ci.yml", KANIKO), ("b.gitlab-ci.yml", UNMAPPED)]);
    let out = k2b(dir.path()).args(["audit", "."]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a job cannot migrate");
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Every migrated GitLab job gains a registry login, which is a note.
    assert!(stdout.contains("migrate with notes: 1"), "{stdout}");
    assert!(stdout.contains("migrate fully:      0"), "{stdout}");
    assert!(stdout.contains("cannot migrate:     1"), "{stdout}");
    assert!(
        stdout.contains("--skip-default-registry-fallback has no BuildKit counterpart"),
        "{stdout}"
    );
    let markdown = k2b(dir.path())
        .args(["audit", "--format", "markdown", "."])
        .output()
        .unwrap();
    let markdown = String::from_utf8(markdown.stdout).unwrap();
    assert!(
        markdown.contains("| migrate with notes | 1 |")
            && markdown.contains("| `b.gitlab-ci.yml` | `build` | cannot migrate |"),
        "{markdown}"
    );
}

#[test]
fn statistics_count_findings_per_rule() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let out = k2b(dir.path())
        .args(["check", "--statistics"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("    1  kaniko/job "), "{stdout}");
    assert!(stdout.contains("    1  kaniko/executor "), "{stdout}");
    assert!(!stdout.contains("╭"), "no diagnostics with --statistics");
}

/// The edits in the JSON report are exactly what `fix` applies.
#[test]
fn json_fixes_reproduce_what_fix_writes() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let out = k2b(dir.path())
        .args(["check", "--output-format", "json"])
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "kaniko/job")
        .unwrap();
    assert_eq!(job["fix"]["applicability"], "safe", "{job}");
    let mut text = KANIKO.to_string();
    let mut edits: Vec<(usize, usize, String)> = job["fix"]["edits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let range = e["range"].as_array().unwrap();
            (
                range[0].as_u64().unwrap() as usize,
                range[1].as_u64().unwrap() as usize,
                e["content"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|(start, end, _)| std::cmp::Reverse((*start, *end)));
    for (start, end, content) in edits {
        text.replace_range(start..end, &content);
    }
    k2b(dir.path()).arg("fix").output().unwrap();
    assert_eq!(text, read(dir.path(), ".gitlab-ci.yml"));
    let unmapped = project(&[(".gitlab-ci.yml", UNMAPPED)]);
    let out = k2b(unmapped.path())
        .args(["check", "--output-format", "json"])
        .output()
        .unwrap();
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let job = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "kaniko/job")
        .unwrap();
    assert_eq!(job["fix"]["applicability"], "unavailable");
    assert!(
        job["fix"]["message"]
            .as_str()
            .unwrap()
            .contains("--skip-default-registry-fallback")
    );
}

#[test]
fn the_flavour_shapes_the_job_and_the_runner_note() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO)]);
    let out = k2b(dir.path())
        .args(["diff", "--flavor", "daemon"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(
        stdout.contains("buildctl --addr tcp://buildkitd:1234 build"),
        "{stdout}"
    );
    assert!(
        stdout.contains("services: [{ name: moby/buildkit:v0.32.2, alias: buildkitd"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: this flavour runs BuildKit as root"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("note: ").count(), 4, "{stderr}");

    let out = k2b(dir.path()).arg("diff").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("note: rootless BuildKit needs the runner"),
        "{stderr}"
    );
}

#[test]
fn the_config_file_chooses_the_flavour() {
    let dir = project(&[
        (".gitlab-ci.yml", KANIKO),
        (".kaniko2buildkit.toml", "flavor = \"buildx\"\n"),
    ]);
    let out = k2b(dir.path()).arg("diff").output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("docker -H tcp://docker:2375 buildx build"),
        "{stdout}"
    );
    assert!(stdout.contains("name: docker:27"), "{stdout}");
    let out = k2b(dir.path())
        .args(["diff", "--flavor", "privileged"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("name: moby/buildkit:v0.32.2,"), "{stdout}");
}

/// A `docker run` of Kaniko rewritten in place keeps its runner: the
/// flavour's runner requirements are said only when a job moves to it.
#[test]
fn in_place_docker_rewrites_keep_the_runner_note_out() {
    const DIND: &str = "build:\n  image: docker:27\n  services: [docker:27-dind]\n  script:\n    - docker run --rm -v \"$PWD\":/workspace gcr.io/kaniko-project/executor:v1.23.2 --context /workspace --no-push\n";
    let dir = project(&[(".gitlab-ci.yml", DIND)]);
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(read(dir.path(), ".gitlab-ci.yml").contains("- docker buildx build"));
    assert!(!stderr.contains("user namespaces"), "{stderr}");
    let both = format!("{DIND}{}", KANIKO.replace("build:", "kaniko:"));
    let dir = project(&[(".gitlab-ci.yml", &both)]);
    let out = k2b(dir.path()).arg("fix").output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("user namespaces"), "{stderr}");
}
