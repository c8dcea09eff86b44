//! Generated GitLab CI pipelines shaped like real ones, for the benchmarks
//! and the scale tests: anyone can rebuild the inputs the figures in
//! docs/design.md (Performance) were measured on.
//!
//! Shared by `benches/check.rs` and `tests/scale.rs` through `#[path]`;
//! `cargo bench --bench check -- --write DIR` writes the inputs to DIR.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

/// The head of every generated pipeline: stages, global variables, hidden
/// templates, and the `.kaniko: &kaniko` anchor that Kaniko jobs merge.
const HEADER: &str = r#"# Generated pipeline (benches/gen.rs): templates, anchors, extends,
# block scripts and comments, as in a platform team's monorepo.
stages: [lint, build, test, deploy]

variables:
  GLOBAL: "1"
  DOCKER_DRIVER: overlay2
  GIT_DEPTH: "20"

default:
  interruptible: true

.rules-main: &rules-main
  - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
  - if: $CI_MERGE_REQUEST_IID

.kaniko: &kaniko
  stage: build
  image:
    name: gcr.io/kaniko-project/executor:v1.23.2-debug
    entrypoint: [""]
  tags: [docker]
  retry: 2

.kaniko-build:
  <<: *kaniko
  script:
    - /kaniko/executor
      --context "${CI_PROJECT_DIR}/${APP}"
      --dockerfile "${CI_PROJECT_DIR}/${APP}/Dockerfile"
      --destination "${CI_REGISTRY_IMAGE}/${APP}:${CI_COMMIT_SHA}"

.python: &python
  image: python:3.12-slim # pinned by the platform team
  before_script:
    - pip install -r requirements.txt
  cache:
    key: pip
    paths: [.cache/pip]

"#;

/// One Kaniko job in `kaniko_every` jobs; half of them merge the anchor and
/// call the executor themselves, half `extends` the template.
fn job(text: &mut String, i: usize, kaniko_every: usize) {
    let _ = match i % kaniko_every {
        0 => write!(
            text,
            r#"build-{i}:
  <<: *kaniko
  # image for service {i}
  script:
    - echo "building service {i}"
    - /kaniko/executor
      --context "${{CI_PROJECT_DIR}}/services/s{i}"
      --dockerfile "${{CI_PROJECT_DIR}}/services/s{i}/Dockerfile"
      --destination "${{CI_REGISTRY_IMAGE}}/s{i}:${{CI_COMMIT_SHA}}"
      --build-arg "SERVICE=s{i}"
  rules: *rules-main

"#
        ),
        5 => write!(
            text,
            r#"image-{i}:
  extends: .kaniko-build
  variables:
    APP: app-{i}

"#
        ),
        _ => write!(
            text,
            r#"test-{i}:
  <<: *python
  stage: test
  needs: []
  variables:
    SERVICE: "s{i} é"
    PYTEST_ADDOPTS: "-k 'not slow' --maxfail=1"
  script:
    - |
      echo "testing {i}"
      make test ARGS='-k {i}'
    - >-
      python -m pytest
      --junitxml=report-{i}.xml
  artifacts:
    reports:
      junit: report-{i}.xml
  rules: *rules-main

"#
        ),
    };
}

/// A pipeline of about `bytes` bytes, one Kaniko job in ten.
pub fn pipeline(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 1024);
    text.push_str(HEADER);
    let mut i = 0;
    while text.len() < bytes {
        job(&mut text, i, 10);
        i += 1;
    }
    text
}

/// `jobs` plain jobs with no anchor at all, and one Kaniko job at the end.
pub fn flat(jobs: usize) -> String {
    let mut text = String::with_capacity(jobs * 90);
    text.push_str("stages: [build, test]\n\n");
    for i in 0..jobs {
        let _ = write!(
            text,
            "job-{i}:\n  stage: test\n  image: alpine:3.20\n  script:\n    - echo \"job {i}\"\n\n"
        );
    }
    text.push_str(
        "kaniko:\n  stage: build\n  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\n  script:\n    - /kaniko/executor --context \"$CI_PROJECT_DIR\" --destination \"$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA\"\n",
    );
    text
}

/// A fleet: `count` repositories under `dir`, each with a small
/// `.gitlab-ci.yml` of about 8 KB (one or two Kaniko jobs).
pub fn fleet(dir: &Path, count: usize) -> std::io::Result<()> {
    for n in 0..count {
        let repo = dir.join(format!("repo-{n:05}"));
        std::fs::create_dir_all(&repo)?;
        std::fs::write(repo.join(".gitlab-ci.yml"), pipeline(8_000))?;
    }
    Ok(())
}
