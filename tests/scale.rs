//! Size is no reason to refuse a rewrite: files past the bounds the
//! verification once had (a thousand places for an edited node, a million
//! nodes visited) are migrated and verified. Not timed: performance is
//! shown by `cargo bench --bench check`.

#[path = "../benches/support/gen.rs"]
mod generate;

use assert_cmd::Command;

/// Runs `fix` on `text` in a scratch project; returns the exit code, the
/// output and the file afterwards.
fn fix(text: &str) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let path = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&path, text).unwrap();
    let out = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .current_dir(dir.path())
        .args(["--color", "never", "fix", ".gitlab-ci.yml"])
        .output()
        .unwrap();
    let output =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.code(),
        output,
        std::fs::read_to_string(&path).unwrap(),
    )
}

#[test]
fn an_anchor_merged_into_thousands_of_jobs_is_migrated_once() {
    let mut text = String::from(
        ".kaniko: &kaniko\n  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\n  script:\n    - /kaniko/executor --context . --destination \"$CI_REGISTRY_IMAGE:$CI_JOB_NAME\"\n\n",
    );
    for i in 0..2_500 {
        text += &format!("build-{i}:\n  <<: *kaniko\n  stage: build\n\n");
    }
    let (status, output, fixed) = fix(&text);
    assert_eq!(status, Some(0), "{output}");
    assert!(!fixed.contains("/kaniko/executor"), "{output}");
    assert_eq!(fixed.matches("buildctl-daemonless.sh").count(), 1);
    assert!(fixed.ends_with("build-2499:\n  <<: *kaniko\n  stage: build\n\n"));
}

#[test]
fn a_file_of_more_than_a_million_nodes_is_migrated() {
    let numbers = vec!["0"; 1_100_000].join(",");
    let text = format!(
        "variables:\n  LIST: x\nnumbers: [{numbers}]\n{}",
        generate::flat(1_000)
    );
    let (status, output, fixed) = fix(&text);
    assert_eq!(status, Some(0), "{output}");
    assert!(!fixed.contains("/kaniko/executor"), "{output}");
    assert!(fixed.contains(&numbers));
}

#[test]
fn a_generated_pipeline_is_migrated_whole() {
    let text = generate::pipeline(300_000);
    let (status, output, fixed) = fix(&text);
    assert_eq!(status, Some(0), "{output}");
    assert!(!fixed.contains("/kaniko/executor"), "{output}");
    assert!(fixed.contains("rules: *rules-main"));
}
