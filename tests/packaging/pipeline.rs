//! The project's own `.gitlab-ci.yml`, the CI/CD component and the
//! pre-commit hooks: what they run, and that the release they make is the
//! one `cargo binstall`, the component and the hooks ask for.

use assert_cmd::Command;
use regex::Regex;
use serde_yaml::Value;

use crate::{get, image, name, read, repository, root, script, string, version, yaml};

/// The pipeline runs the same checks as `.ci/run`, and passes the tool's own
/// gate.
#[test]
fn pipeline_tests_lints_and_passes_its_own_check() {
    let pipeline = yaml(".gitlab-ci.yml");
    for (job, command) in [
        ("fmt", "cargo fmt --check"),
        (
            "clippy",
            "cargo clippy --locked --all-targets -- -D warnings",
        ),
        ("test", "cargo test --locked"),
        ("msrv", "cargo test --locked"),
        ("package", "cargo package --locked"),
    ] {
        assert!(
            script(&pipeline[job]).iter().any(|line| line == command),
            "{job}: {command}"
        );
    }
    let out = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args(["check", "--color", "never", ".gitlab-ci.yml"])
        .current_dir(root())
        .env_remove("GITLAB_CI")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(" 0 findings"), "{stdout}");
}

/// The job the tool writes for a Kaniko build of this repository's image.
fn migrated_reference_job() -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let kaniko = r#"container-image:
  image:
    name: gcr.io/kaniko-project/executor:v1.23.2-debug
    entrypoint: [""]
  script:
    - echo "{\"auths\":{\"$CI_REGISTRY\":{\"username\":\"$CI_REGISTRY_USER\",\"password\":\"$CI_REGISTRY_PASSWORD\"}}}" > /kaniko/.docker/config.json
    - /kaniko/executor --context . --dockerfile Dockerfile --destination "$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG"
"#;
    let file = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&file, kaniko).unwrap();
    let out = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args(["fix", "--color", "never", ".gitlab-ci.yml"])
        .current_dir(dir.path())
        .env_remove("GITLAB_CI")
        .output()
        .unwrap();
    assert!(
        out.status.code().unwrap_or(2) < 2,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let migrated: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    migrated["container-image"].clone()
}

/// The image job is the reference a user reads: rootless BuildKit in the
/// image, entrypoint and daemon flags the tool's own migration uses, the
/// registry login where BuildKit reads it, and no password in the log.
#[test]
fn image_job_is_built_as_the_tool_migrates_jobs() {
    let pipeline = yaml(".gitlab-ci.yml");
    let ours = &pipeline["container-image"];
    let reference = migrated_reference_job();
    assert_eq!(ours["image"], reference["image"], "image and entrypoint");
    assert_eq!(
        ours["variables"]["BUILDKITD_FLAGS"],
        reference["variables"]["BUILDKITD_FLAGS"]
    );
    let config = r#""${DOCKER_CONFIG:-$HOME/.docker}/config.json""#;
    let writes_config = |lines: &[String]| {
        lines
            .iter()
            .any(|line| line.ends_with(&format!("> {config}")))
    };
    // The tool's own login step merges into an existing file; it writes
    // the same file for the same registry.
    let tool_login = script(&reference).into_iter().any(|line| {
        line.contains("${DOCKER_CONFIG:-$HOME/.docker}/config.json")
            && line.contains("$CI_REGISTRY_USER")
            && line.contains("$CI_REGISTRY_PASSWORD")
    });
    assert!(tool_login, "the tool writes the login to {config}");
    let lines = script(&pipeline["container-image"]);
    assert!(
        writes_config(&lines),
        "the login is written to {config}, as the tool writes it"
    );
    for line in &lines {
        assert!(
            !(line.contains("echo") && line.contains("CI_REGISTRY_PASSWORD")),
            "the password would be echoed: {line}"
        );
    }
    let build = lines
        .iter()
        .find(|line| line.starts_with("buildctl-daemonless.sh build"))
        .expect("a buildctl-daemonless.sh build command");
    let words: Vec<&str> = build.split_whitespace().collect();
    for pair in [
        ["--frontend", "dockerfile.v0"],
        ["--local", "context=."],
        ["--local", "dockerfile=."],
    ] {
        assert!(
            words.windows(2).any(|w| w == pair),
            "{build} lacks {}",
            pair.join(" ")
        );
    }
    assert!(build.contains("--output \"type=image,"), "{build}");
    assert!(build.contains("push="), "{build}");
    let tag_rule = get(ours, &["rules"])
        .as_sequence()
        .unwrap()
        .iter()
        .find(|rule| rule["if"].as_str() == Some("$CI_COMMIT_TAG"));
    let tag_rule = tag_rule.expect("the image is pushed on tags");
    assert_eq!(tag_rule["variables"]["IMAGE_PUSH"].as_str(), Some("true"));
    assert!(
        tag_rule["variables"]["IMAGE_NAMES"]
            .as_str()
            .unwrap()
            .contains("$CI_REGISTRY_IMAGE:$CI_COMMIT_TAG"),
        "tagged with the release"
    );
}

/// `[package.metadata.binstall]` asks for the archive the tag pipeline
/// uploads and links from the release, and finds the binary inside it.
#[test]
fn binstall_finds_the_release_archives() {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    let binstall = &manifest["package"]["metadata"]["binstall"];
    assert_eq!(binstall["pkg-fmt"].as_str(), Some("tgz"));
    let pipeline = yaml(".gitlab-ci.yml");
    let job = &pipeline["release-binaries"];
    let dist = string(job, &["variables", "DIST"]);
    let lines = script(&pipeline["release-binaries"]);
    assert!(lines.iter().any(|l| l == "cargo build --release --locked"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("cp target/release/{} ", name()))
                && l.ends_with("\"$DIST/\""))
    );
    assert!(
        lines
            .iter()
            .any(|l| l == r#"tar -czf "$DIST.tar.gz" "$DIST""#)
    );

    let links = get(&pipeline, &["release", "release", "assets", "links"])
        .as_sequence()
        .unwrap();
    let targets: Vec<String> = get(job, &["parallel", "matrix"])
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| entry["TARGET"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        targets,
        ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]
    );
    let version = version();
    for target in &targets {
        let render = |template: &str| {
            template
                .replace("{ repo }", &repository())
                .replace("{ version }", &version)
                .replace("{ name }", &name())
                .replace("{ target }", target)
                .replace("{ bin }", &name())
                .replace("{ binary-ext }", "")
        };
        let folder = dist
            .replace("$CI_COMMIT_TAG", &version)
            .replace("$TARGET", target);
        let wanted = render(binstall["pkg-url"].as_str().unwrap());
        let downloads = format!("{}/-/releases/{version}/downloads", repository());
        let linked = links.iter().any(|link| {
            let path = link["filepath"]
                .as_str()
                .unwrap_or_default()
                .replace("$CI_COMMIT_TAG", &version);
            format!("{downloads}{path}") == wanted
                && link["url"]
                    .as_str()
                    .unwrap()
                    .replace("$CI_COMMIT_TAG", &version)
                    .ends_with(&format!("/{folder}.tar.gz"))
        });
        assert!(linked, "the release links no {wanted}");
        assert_eq!(
            render(binstall["bin-dir"].as_str().unwrap()),
            format!("{folder}/{}", name())
        );
    }
    let release_rule = string(&pipeline["release"]["rules"][0], &["if"]);
    assert_eq!(
        release_rule,
        r"$CI_COMMIT_TAG =~ /^[0-9]+\.[0-9]+\.[0-9]+$/"
    );
    assert_eq!(
        string(&pipeline, &["release", "release", "tag_name"]),
        "$CI_COMMIT_TAG"
    );
}

// --- the component and the hooks -----------------------------------------------

/// The component runs the released image (nothing compiled), tagged with
/// the component's own version unless told otherwise, without waiting for
/// earlier stages.
#[test]
fn component_runs_the_image_of_its_own_release() {
    let text = read("templates/kaniko-gate.yml");
    let (header, jobs) = text.split_once("\n---\n").expect("spec, then the jobs");
    let spec: Value = serde_yaml::from_str(header).unwrap();
    let inputs = get(&spec, &["spec", "inputs"]);
    assert_eq!(string(inputs, &["version", "default"]), version());
    assert_eq!(string(inputs, &["image", "default"]), image());
    let jobs: Value = serde_yaml::from_str(jobs).unwrap();
    let base = &jobs[".kaniko2buildkit"];
    assert_eq!(
        string(base, &["image", "name"]),
        "$[[ inputs.image ]]:$[[ inputs.version ]]"
    );
    assert_eq!(
        get(base, &["image", "entrypoint"]),
        &serde_yaml::from_str::<Value>(r#"[""]"#).unwrap()
    );
    assert_eq!(get(base, &["needs"]), &Value::Sequence(Vec::new()));
    for job in ["kaniko-gate", "kaniko-migration-diff"] {
        assert_eq!(string(&jobs, &[job, "extends"]), ".kaniko2buildkit");
        assert!(
            jobs[job].get("image").is_none() && jobs[job].get("needs").is_none(),
            "{job}"
        );
    }
    assert!(
        !text.contains("cargo install"),
        "the component compiles nothing"
    );
}

/// Three hooks, one check: from source, from the image, from PATH.
#[test]
fn pre_commit_hooks_run_the_same_check_three_ways() {
    let hooks = yaml(".pre-commit-hooks.yaml");
    let hooks = hooks.as_sequence().unwrap();
    let by_id = |id: &str| {
        hooks
            .iter()
            .find(|hook| hook["id"].as_str() == Some(id))
            .unwrap_or_else(|| panic!("no hook {id}"))
    };
    let check = "kaniko2buildkit check --output-format concise .";
    let rust = by_id("kaniko2buildkit-check");
    assert_eq!(string(rust, &["language"]), "rust");
    assert_eq!(string(rust, &["entry"]), check);
    let docker = by_id("kaniko2buildkit-check-docker");
    assert_eq!(string(docker, &["language"]), "docker_image");
    assert_eq!(
        string(docker, &["entry"]),
        check.replacen("kaniko2buildkit", &format!("{}:{}", image(), version()), 1)
    );
    let system = by_id("kaniko2buildkit-check-system");
    assert_eq!(string(system, &["language"]), "system");
    assert_eq!(string(system, &["entry"]), check);

    for hook in hooks {
        assert_eq!(
            hook["pass_filenames"].as_bool(),
            Some(false),
            "the whole project is checked"
        );
        let files = Regex::new(string(hook, &["files"])).unwrap();
        for path in [
            ".gitlab-ci.yml",
            "app/.gitlab-ci.yml",
            "ci/build.yml",
            ".gitlab/ci/x.yaml",
            ".kaniko2buildkit.toml",
        ] {
            assert!(files.is_match(path), "{path}");
        }
        for path in ["src/main.rs", "docs/ci.yml.md", "values.yaml"] {
            assert!(!files.is_match(path), "{path}");
        }
    }
}
