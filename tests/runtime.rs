//! The run-time suite: migrated jobs from `fixtures/runtime/` run under
//! busybox `sh` in a layout like the rootless BuildKit image (see
//! `runtime/harness.rs`), and what the fake build saw is compared with what
//! Kaniko would have done for the original job.

#[path = "common/cli.rs"]
mod cli;
#[path = "runtime/harness.rs"]
mod harness;

use cli::project;

use harness::{PASSWORD, REGISTRY, Run, Setup, encode_base64, run_job};

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/runtime")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

const DOCKERFILE: (&str, &str) = ("Dockerfile", "FROM scratch\n");

/// A gzipped tarball holding a Dockerfile, made with the system's tar.
fn context_tarball(dir: &std::path::Path) -> Vec<u8> {
    std::fs::create_dir_all(dir.join("ctx")).unwrap();
    std::fs::write(dir.join("ctx/Dockerfile"), "FROM scratch\n").unwrap();
    let out = dir.join("context.tar.gz");
    let status = std::process::Command::new("tar")
        .arg("-czf")
        .arg(&out)
        .arg("-C")
        .arg(dir.join("ctx"))
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::read(out).unwrap()
}

/// A failed build failed the job: it did not pass, and the script line
/// after the build (which writes `deployed`) did not run.
fn assert_stopped_at_build(failed: &Run, job: &str) {
    assert_ne!(
        failed.status,
        Some(0),
        "{job}: the job passed\n{}",
        failed.migrated
    );
    assert!(
        failed.read("deployed").is_none(),
        "{job}: the line after the build ran\n{}",
        failed.migrated
    );
}

fn run(name: &str, job: &str, setup: &Setup) -> Option<Run> {
    run_job(&fixture(name), job, setup)
}

/// Every multi-command rewrite keeps Kaniko's exit semantics under
/// gitlab-runner's `set -e`: a failed build ends the job with a non-zero
/// status and the next line never runs; a successful one runs it.
#[test]
fn a_failed_build_fails_the_job() {
    let scratch = tempfile::tempdir().unwrap();
    let tarball = context_tarball(scratch.path());
    for job in [
        "digest",
        "names",
        "registries",
        "tarball",
        "git",
        "prefix",
        "literal-block",
    ] {
        let files = vec![DOCKERFILE];
        let binary_files = vec![("context.tar.gz", tarball.clone())];
        let setup = Setup {
            files: files.clone(),
            binary_files: binary_files.clone(),
            fail_build: true,
            env: vec![("GIT_TOKEN", "tok")],
            ..Setup::default()
        };
        let Some(failed) = run("fail-fast.yml", job, &setup) else {
            return;
        };
        assert_stopped_at_build(&failed, job);
        let setup = Setup {
            files,
            binary_files,
            env: vec![("GIT_TOKEN", "tok")],
            ..Setup::default()
        };
        let passed = run("fail-fast.yml", job, &setup).unwrap();
        assert_eq!(
            passed.status,
            Some(0),
            "{job}: {}\n{}",
            passed.stderr,
            passed.migrated
        );
        assert!(passed.read("deployed").is_some(), "{job}");
        assert!(
            passed.only_build().missing.is_empty(),
            "{job}: {:?}",
            passed.only_build().missing
        );
    }
}

/// A preparation step that fails (here the Dockerfile download) ends the
/// job before the build, as Kaniko's own failure to fetch it did.
#[test]
fn a_failed_preparation_step_fails_the_job() {
    let setup = Setup {
        files: vec![DOCKERFILE],
        ..Setup::default()
    };
    let Some(run) = run("fail-fast.yml", "url-dockerfile", &setup) else {
        return;
    };
    assert_ne!(run.status, Some(0), "{}", run.migrated);
    assert!(
        run.builds.is_empty(),
        "the build ran without its Dockerfile"
    );
    assert!(run.read("deployed").is_none());
}

/// With `set -x` in `before_script`, the log shows neither the registry
/// password, nor git's token, nor their base64; the build itself is still
/// traced.
#[test]
fn no_secret_reaches_a_traced_log() {
    let token = "tok-SECRET-git";
    let yaml =
        fixture("fail-fast.yml").replace(".kaniko:\n", ".kaniko:\n  before_script: [set -x]\n");
    let yaml = format!("default:\n  before_script:\n    - set -x\n{yaml}");
    // busybox is the image's shell; bash is what a runner on another image
    // may use.
    let cases = ["digest", "git", "names"]
        .into_iter()
        .flat_map(|job| [(job, None), (job, Some("/bin/bash"))]);
    for (job, shell) in cases {
        let setup = Setup {
            files: vec![DOCKERFILE],
            env: vec![("GIT_TOKEN", token)],
            shell,
            ..Setup::default()
        };
        let Some(run) = run_job(&yaml, job, &setup) else {
            return;
        };
        assert_eq!(run.status, Some(0), "{job} {shell:?}: {}", run.stderr);
        let log = format!("{}{}", run.stdout, run.stderr);
        for secret in [
            PASSWORD.to_string(),
            encode_base64(&format!("gitlab-ci-token:{PASSWORD}")),
            token.to_string(),
            encode_base64(&format!("{token}:")),
        ] {
            assert!(
                !log.contains(&secret),
                "{job}: `{secret}` in the log:\n{log}"
            );
        }
        assert!(log.contains("+ set -x") || log.contains("+ echo"), "{log}");
        assert!(
            log.contains("buildctl-daemonless.sh"),
            "{job}: tracing did not come back:\n{log}"
        );
        assert_eq!(
            run.only_build().credentials(REGISTRY).as_deref(),
            Some(format!("gitlab-ci-token:{PASSWORD}").as_str())
        );
    }
}

/// Kaniko used `$CI_REGISTRY`'s credentials for every job, also one that
/// only pulls; the migrated job has them in config.json when it builds.
#[test]
fn the_gitlab_registry_login_reaches_every_build() {
    for job in ["no-push", "tar-only", "assigned-destination"] {
        let setup = Setup {
            files: vec![DOCKERFILE],
            ..Setup::default()
        };
        let Some(run) = run("credentials.yml", job, &setup) else {
            return;
        };
        assert_eq!(run.status, Some(0), "{job}: {}", run.stderr);
        let build = run.only_build();
        assert_eq!(
            build.credentials(REGISTRY).as_deref(),
            Some(format!("gitlab-ci-token:{PASSWORD}").as_str()),
            "{job}: {:?}\n{}",
            build.config,
            run.migrated
        );
    }
    let run = run(
        "credentials.yml",
        "assigned-destination",
        &Setup {
            files: vec![DOCKERFILE],
            ..Setup::default()
        },
    )
    .unwrap();
    let outputs = run.only_build().values("--output");
    assert!(
        outputs[0].contains(&format!("name={REGISTRY}/group/app/app:1")),
        "{outputs:?}"
    );
}

/// A config.json the job wrote for another registry keeps its entries and
/// gains `$CI_REGISTRY`'s, also pretty-printed; an entry the job wrote for
/// `$CI_REGISTRY` itself is never replaced.
#[test]
fn the_login_merges_into_the_jobs_own_config() {
    let hub = encode_base64("hubuser:hubpass");
    let ghcr = encode_base64("gh:pat");
    let deploy = encode_base64("deploy-token:xyz");
    let cases = [
        (
            "docker-hub-config",
            "https://index.docker.io/v1/",
            "hubuser:hubpass",
            true,
        ),
        ("pretty-config", "ghcr.io", "gh:pat", true),
        ("own-gitlab-entry", REGISTRY, "deploy-token:xyz", false),
    ];
    for (job, registry, credentials, gains_gitlab) in cases {
        let setup = Setup {
            files: vec![DOCKERFILE],
            env: vec![
                ("HUB_AUTH", &hub),
                ("GHCR_AUTH", &ghcr),
                ("DEPLOY_AUTH", &deploy),
            ],
            ..Setup::default()
        };
        let Some(run) = run("credentials.yml", job, &setup) else {
            return;
        };
        assert_eq!(run.status, Some(0), "{job}: {}", run.stderr);
        let build = run.only_build();
        assert_eq!(
            build.credentials(registry).as_deref(),
            Some(credentials),
            "{job}: {:?}",
            build.config
        );
        if gains_gitlab {
            assert_eq!(
                build.credentials(REGISTRY).as_deref(),
                Some(format!("gitlab-ci-token:{PASSWORD}").as_str()),
                "{job}: {:?}",
                build.config
            );
        }
    }
}

/// A pipe into a line whose path moved still feeds the same command.
#[test]
fn a_piped_write_keeps_its_input() {
    let json = r#"{"auths":{"registry.example.com":{"auth":"eDp5"}}}"#;
    let setup = Setup {
        files: vec![DOCKERFILE],
        env: vec![("AUTH_JSON", json)],
        ..Setup::default()
    };
    let Some(run) = run("credentials.yml", "piped-config", &setup) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(
        run.only_build()
            .credentials("registry.example.com")
            .as_deref(),
        Some("x:y"),
        "{:?}\n{}",
        run.only_build().config,
        run.migrated
    );
}

/// Cloud registries whose credentials came from helpers in the Kaniko image
/// keep their jobs, with the steps to take.
#[test]
fn helper_registries_are_refused() {
    let (_, findings) = harness::migrate_with_findings(&fixture("credentials.yml"));
    let stderr = findings.join("\n");
    assert!(
        stderr.contains("job `ecr` is not migrated: Kaniko logged in to Amazon ECR"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "job `cred-helper` is not migrated: the job's config.json names a credential helper"
        ),
        "{stderr}"
    );
}

/// buildctl receives the values Kaniko received.
#[test]
fn values_reach_buildctl_as_kaniko_received_them() {
    let files = vec![DOCKERFILE, ("my ctx/sub/Dockerfile", "FROM scratch\n")];
    let setup = Setup {
        files,
        env: vec![("NOT_EXPANDED", "oops")],
        ..Setup::default()
    };
    let Some(prefix) = run("values.yml", "prefix-assignment", &setup) else {
        return;
    };
    assert_eq!(prefix.status, Some(0), "{}", prefix.stderr);
    let build = prefix.only_build();
    assert_eq!(build.values("--opt"), ["build-arg:VERSION=1.2.3"]);
    assert_eq!(build.env.get("VERSION").map(String::as_str), Some("1.2.3"));

    let escaped = run("values.yml", "escaped-space", &setup).unwrap();
    let build = escaped.only_build();
    assert!(
        build.missing.is_empty(),
        "{:?}\n{}",
        build.missing,
        escaped.migrated
    );
    assert_eq!(
        build.values("--local"),
        ["context=my ctx", "dockerfile=my ctx/sub"]
    );

    let tilde = run("values.yml", "tilde", &setup).unwrap();
    assert_eq!(tilde.status, Some(0), "{}", tilde.stderr);
    let build = tilde.only_build();
    let home = tilde.home().display().to_string();
    assert_eq!(build.values("--local")[0], format!("context={home}/app"));
    assert!(build.missing.is_empty(), "{:?}", build.missing);

    let odd = run("values.yml", "odd-build-args", &setup).unwrap();
    assert_eq!(
        odd.only_build().values("--opt"),
        [
            "build-arg:B C=",
            "build-arg:GREETING=hello world",
            "build-arg:LIT=$NOT_EXPANDED"
        ]
    );

    let booleans = run("values.yml", "booleans", &setup).unwrap();
    let outputs = booleans.only_build().values("--output");
    assert!(outputs[0].ends_with("push=true"), "{outputs:?}");
    assert!(!outputs[0].contains("rewrite-timestamp"), "{outputs:?}");
}

/// The digest files hold what Kaniko wrote: the bare digest without a line
/// break, and `REPOSITORY@DIGEST` lines, in directories created first.
#[test]
fn digest_files_are_written_as_kaniko_wrote_them() {
    let setup = Setup {
        files: vec![DOCKERFILE],
        env: vec![("FAKE_DIGEST", "abc")],
        ..Setup::default()
    };
    let Some(digest) = run("fail-fast.yml", "literal-block", &setup) else {
        return;
    };
    assert_eq!(digest.status, Some(0), "{}", digest.stderr);
    assert_eq!(digest.read("out/digest").as_deref(), Some("sha256:abc"));
    let names = run("fail-fast.yml", "names", &setup).unwrap();
    assert_eq!(
        names.read("names.txt").as_deref(),
        Some(format!("{REGISTRY}/group/app@sha256:abc\n").as_str())
    );
}

/// The `buildkitd.toml` the job writes parses and names the host.
#[test]
fn the_daemon_config_parses_when_the_build_starts() {
    let setup = Setup {
        files: vec![DOCKERFILE],
        ..Setup::default()
    };
    let Some(run) = run("fail-fast.yml", "registries", &setup) else {
        return;
    };
    let written = run
        .only_build()
        .buildkitd_toml
        .clone()
        .expect("buildkitd.toml");
    let config: toml::Table = written.parse().unwrap();
    assert_eq!(
        config["registry"]["registry.internal:5000"]["http"].as_bool(),
        Some(true),
        "{written}"
    );
}

/// The buildx flavour's two commands (`buildx create`, then the build) also
/// fail the job when either fails.
#[test]
fn the_buildx_flavour_keeps_exit_semantics() {
    use kaniko2buildkit::mapping::flavor::Flavor;
    let setup = |fail_build| Setup {
        files: vec![DOCKERFILE],
        fail_build,
        flavor: Some(Flavor::Buildx),
        ..Setup::default()
    };
    let Some(failed) = run("fail-fast.yml", "digest", &setup(true)) else {
        return;
    };
    assert_ne!(failed.status, Some(0), "{}", failed.migrated);
    assert!(failed.read("deployed").is_none());
    let passed = run("fail-fast.yml", "digest", &setup(false)).unwrap();
    assert_eq!(
        passed.status,
        Some(0),
        "{}\n{}",
        passed.stderr,
        passed.migrated
    );
    assert!(passed.builds.iter().all(|b| b.program == "docker"));
    assert_eq!(passed.builds.len(), 2, "buildx create, then the build");
    assert_eq!(passed.read("digest").as_deref(), Some("sha256:feedface"));
}

mod generated_values {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of shell words: plain text, globs, a tilde, escapes, quotes of
    /// each kind, `$'...'`, expansions and empty strings.
    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9._/-]{1,4}",
            Just("*".to_string()),
            Just("?".to_string()),
            Just("[ab]".to_string()),
            Just("~/".to_string()),
            Just("\\ ".to_string()),
            Just("\\$X".to_string()),
            Just("''".to_string()),
            Just("\"\"".to_string()),
            Just("'a b'".to_string()),
            Just("\"$HOME x\"".to_string()),
            Just("'$X'".to_string()),
            Just("$'a\\tb'".to_string()),
            Just("$X".to_string()),
            Just("${X:-d}".to_string()),
            Just("=".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Whatever the value of `--build-arg K=...` or `--label`, the job is
        /// either left alone with a reason, or buildctl receives exactly
        /// the text the job's shell gave Kaniko: the job itself prints the
        /// original word first, with the same shell, files and variables.
        #[test]
        fn buildctl_receives_what_kaniko_received(pieces in proptest::collection::vec(piece(), 1..4), label in any::<bool>()) {
            let word = pieces.concat();
            let (flag, prefix) = if label { ("--label", "label:") } else { ("--build-arg", "build-arg:") };
            let value = format!("K={word}");
            let echo = format!("printf '%s\\0' {value} > expected.txt");
            let call = format!("/kaniko/executor --context . {flag} {value} --destination r.example.com/x:1");
            let yaml = format!(
                "build:\n  image: {{ name: gcr.io/kaniko-project/executor:debug, entrypoint: [\"\"] }}\n  script:\n    - {}\n    - {}\n",
                serde_json::to_string(&echo).unwrap(),
                serde_json::to_string(&call).unwrap(),
            );
            let setup = Setup {
                files: vec![DOCKERFILE, ("a", ""), ("b", "")],
                env: vec![("X", "x y")],
                ..Setup::default()
            };
            let Some(run) = harness::run_if_migrated(&yaml, "build", &setup) else {
                return Ok(());
            };
            prop_assert_eq!(run.status, Some(0), "{}\n{}", run.stderr, run.migrated);
            // An unquoted expansion may split into several words: Kaniko got
            // them all (and refused the extra ones), and so must buildctl.
            let mut expected: Vec<String> = run
                .read("expected.txt")
                .unwrap()
                .split('\0')
                .map(str::to_string)
                .collect();
            expected.pop();
            expected[0] = format!("{prefix}{}", expected[0]);
            let args = &run.only_build().args;
            let at = args.iter().position(|a| a == "--opt").unwrap() + 1;
            let got = &args[at..(at + expected.len()).min(args.len())];
            prop_assert_eq!(got, expected.as_slice(), "{}", run.migrated);
        }
    }
}

/// A job that relied on the Kaniko image's `DOCKER_CONFIG` writes its
/// config where the build reads it, with the directory created first.
#[test]
fn the_kaniko_images_docker_config_is_made_explicit() {
    let json = r#"{"auths":{"registry.example.com":{"auth":"eDp5"}}}"#;
    for job in ["relies-on-docker-config", "prefix-docker-config"] {
        let setup = Setup {
            files: vec![DOCKERFILE],
            env: vec![("AUTH_JSON", json)],
            ..Setup::default()
        };
        let Some(run) = run("image.yml", job, &setup) else {
            return;
        };
        assert_eq!(
            run.status,
            Some(0),
            "{job}: {}\n{}",
            run.stderr,
            run.migrated
        );
        let build = run.only_build();
        assert_eq!(
            build.credentials("registry.example.com").as_deref(),
            Some("x:y"),
            "{job}: {:?}\n{}",
            build.config,
            run.migrated
        );
        assert_eq!(
            build.credentials(REGISTRY).as_deref(),
            Some(format!("gitlab-ci-token:{PASSWORD}").as_str())
        );
    }
}

/// `executor version` prints the client's version; a Dockerfile read from
/// standard input is written to a file the build reads; `KANIKO_DIR` goes.
#[test]
fn version_lines_and_stdin_dockerfiles_work() {
    let setup = Setup {
        files: vec![DOCKERFILE],
        ..Setup::default()
    };
    let Some(run) = run("image.yml", "version-and-stdin", &setup) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{}\n{}", run.stderr, run.migrated);
    assert_eq!(run.builds.len(), 2, "{}", run.migrated);
    assert_eq!(run.builds[0].program, "buildctl");
    assert_eq!(run.builds[0].args, ["--version"]);
    let build = &run.builds[1];
    assert!(build.missing.is_empty(), "{:?}", build.missing);
    let dir = build.values("--local")[1].clone();
    let dir = dir.trim_start_matches("dockerfile=");
    assert_eq!(
        std::fs::read_to_string(format!("{dir}/Dockerfile")).unwrap(),
        "FROM scratch\n"
    );
}

/// Jobs the tool must leave alone, each with its own reason, and jobs that
/// are no Kaniko jobs at all.
#[test]
fn jobs_that_cannot_move_say_why() {
    let (migrated, findings) = harness::migrate_with_findings(&fixture("image.yml"));
    let stderr = findings.join("\n");
    let document: serde_yaml::Value = serde_yaml::from_str(&migrated).unwrap();
    let image = |job: &str| serde_yaml::to_string(&document[job]["image"]).unwrap();
    for (job, reason) in [
        (
            "build-in-script",
            "the job runs `ci/build.sh` (a file of the repository)",
        ),
        (
            "workspace",
            "`/workspace`: the BuildKit image has no /workspace",
        ),
        (
            "root-home",
            "`/root/.docker/config.json`: /root was the Kaniko image's HOME",
        ),
        ("custom-image", "is not a known Kaniko image"),
    ] {
        assert!(
            stderr.contains(&format!("job `{job}` is not migrated: ")) && stderr.contains(reason),
            "{job}: {stderr}"
        );
        assert!(!image(job).contains("buildkit"), "{job} changed image");
    }
    // Not Kaniko jobs: the crane job keeps its image (only the path moves),
    // the trigger job is left alone.
    assert!(image("crane-copy").contains("crane"), "{migrated}");
    assert!(!migrated.contains("/kaniko/.docker"), "{migrated}");
    assert!(image("trigger").contains("kaniko-project"), "{migrated}");
    assert!(!stderr.contains("job `trigger`"), "{stderr}");
}

/// A relative Dockerfile is looked up in the working directory first, then
/// in the context, also when its name is only known when the job runs.
#[test]
fn dockerfiles_are_found_where_kaniko_found_them() {
    let setup = Setup {
        files: vec![("sub/app/Dockerfile", "FROM scratch\n")],
        env: vec![("NAME", "app")],
        ..Setup::default()
    };
    for job in ["dockerfile-in-workdir", "dockerfile-in-context"] {
        let Some(run) = run("paths.yml", job, &setup) else {
            return;
        };
        assert_eq!(run.status, Some(0), "{job}: {}", run.stderr);
        let build = run.only_build();
        assert!(
            build.missing.is_empty(),
            "{job}: {:?}\n{}",
            build.missing,
            run.migrated
        );
        assert!(
            build
                .values("--local")
                .contains(&"dockerfile=sub/app".to_string()),
            "{job}: {:?}",
            build.values("--local")
        );
    }
}

/// Kaniko applied `--label` before the Dockerfile, whose `LABEL` won.
#[test]
fn a_dockerfile_label_wins_as_in_kaniko() {
    let setup = Setup {
        files: vec![("Dockerfile", "FROM scratch\nLABEL maintainer=team\n")],
        ..Setup::default()
    };
    let Some(run) = run("paths.yml", "labels", &setup) else {
        return;
    };
    assert_eq!(run.only_build().values("--opt"), ["label:extra=1"]);
}

/// TLS settings also reach buildctl's own token fetch.
#[test]
fn registry_tls_covers_the_token_fetch() {
    let Some(run) = run(
        "paths.yml",
        "registry-tls",
        &Setup {
            files: vec![DOCKERFILE],
            ..Setup::default()
        },
    ) else {
        return;
    };
    let contexts = run.only_build().values("--registry-auth-tlscontext");
    assert!(
        contexts.contains(&"host=registry.internal:5000,insecure=true".to_string())
            && contexts.contains(&"host=registry.corp.example,ca=/certs/ca.crt".to_string()),
        "{contexts:?}"
    );
    let toml: toml::Table = run
        .only_build()
        .buildkitd_toml
        .clone()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        toml["registry"]["registry.internal:5000"]["insecure"].as_bool(),
        Some(true)
    );
}

/// A Kaniko image pulled through the dependency proxy gives a BuildKit
/// image pulled through it too.
#[test]
fn a_mirrored_image_stays_behind_its_mirror() {
    let (migrated, findings) = harness::migrate_with_findings(&fixture("paths.yml"));
    let document: serde_yaml::Value = serde_yaml::from_str(&migrated).unwrap();
    assert_eq!(
        document["mirrored"]["image"]["name"].as_str(),
        Some("$CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX/moby/buildkit:v0.32.2-rootless")
    );
    assert!(
        findings
            .iter()
            .any(|f| f.contains("the mirror must carry `moby/buildkit`"))
    );
}

/// Destinations held only in a variable become image outputs of their own,
/// pushed with the registry login.
#[test]
fn destinations_held_in_a_variable_are_pushed() {
    let Some(run) = run(
        "credentials.yml",
        "destinations-in-variable",
        &Setup {
            files: vec![DOCKERFILE],
            ..Setup::default()
        },
    ) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    let build = run.only_build();
    assert_eq!(
        build.values("--output"),
        [
            format!("type=image,name={REGISTRY}/group/app:a,push=true"),
            format!("type=image,name={REGISTRY}/group/app:b,push=true"),
        ]
    );
    assert!(build.credentials(REGISTRY).is_some());
}

/// A `--build-arg` and its value held in two variables reach buildctl as
/// one build argument.
#[test]
fn a_flag_split_across_two_variables_keeps_its_value() {
    let Some(run) = run(
        "values.yml",
        "split-build-arg",
        &Setup {
            files: vec![DOCKERFILE],
            ..Setup::default()
        },
    ) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{}", run.stderr);
    assert_eq!(
        run.only_build().values("--opt"),
        ["build-arg:VERSION=1.2.3"]
    );
}

/// `check --output-format concise` in `root`: its exit code and stdout.
fn check_concise(root: &std::path::Path) -> (Option<i32>, String) {
    let out = cli::run(
        assert_cmd::Command::cargo_bin("kaniko2buildkit")
            .unwrap()
            .current_dir(root)
            .args(["check", "--color", "never", "--output-format", "concise"]),
    );
    (out.code, out.stdout)
}

/// `check` follows the repository scripts a job runs and reports an
/// executor call at its place in the script; a script outside the root,
/// or behind a link out of it, is never read.
#[test]
fn check_reports_builds_in_scripts() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("x.sh"),
        "/kaniko/executor --context .\n",
    )
    .unwrap();
    let dir = project(&[
        (
            "ci/build.sh",
            "#!/bin/sh\nset -e\n/kaniko/executor --context . --destination \"$IMAGE\"\n",
        ),
        (
            ".gitlab-ci.yml",
            "build:\n  image: alpine\n  script:\n    - ./ci/build.sh\nlinked:\n  image: alpine\n  script:\n    - sh ci/link.sh\n",
        ),
    ]);
    let root = dir.path();
    std::os::unix::fs::symlink(outside.path().join("x.sh"), root.join("ci/link.sh")).unwrap();
    let (code, stdout) = check_concise(root);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("ci/build.sh:3:1:") && stdout.contains("run by `build`"),
        "{stdout}"
    );
    assert!(!stdout.contains("link.sh"), "{stdout}");
}

/// A repository script that runs a Kaniko image with `docker run` is
/// reported at the command, like an executor call there.
#[test]
fn check_reports_docker_runs_in_scripts() {
    let dir = project(&[
        (
            "ci/build.sh",
            "#!/bin/sh\nset -e\ndocker run --rm -v \"$PWD\":/workspace gcr.io/kaniko-project/executor:v1.23.2 --no-push\ndocker run --rm alpine:3 true\n",
        ),
        (
            ".gitlab-ci.yml",
            "build:\n  image: docker:27\n  services: [docker:27-dind]\n  script:\n    - ./ci/build.sh\n",
        ),
    ]);
    let (code, stdout) = check_concise(dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("ci/build.sh:3:1:") && stdout.contains("with `docker run`"),
        "{stdout}"
    );
    assert!(!stdout.contains("ci/build.sh:4:"), "{stdout}");
}

/// `docker run` of Kaniko in a `docker:dind` job: the `docker buildx
/// build` that replaces it gets the context, Dockerfile, tags, build
/// arguments, push and credentials Kaniko had in its container.
mod docker_run {
    use super::*;

    const APP: (&str, &str) = ("docker/app.Dockerfile", "FROM scratch\n");
    const SUB: (&str, &str) = ("sub/Dockerfile", "FROM scratch\n");

    fn setup(fail_build: bool) -> Setup<'static> {
        Setup {
            files: vec![DOCKERFILE, APP, SUB],
            fail_build,
            ..Setup::default()
        }
    }

    /// The one `docker buildx build` of a run: its arguments after
    /// `buildx build`, with the fake's other calls (`buildx create`) apart.
    fn buildx_build(run: &Run) -> &harness::Build {
        let builds: Vec<_> = run
            .builds
            .iter()
            .filter(|b| {
                b.args
                    .starts_with(&["buildx".to_string(), "build".to_string()])
            })
            .collect();
        assert_eq!(builds.len(), 1, "{}\n{}", run.migrated, run.stderr);
        assert_eq!(builds[0].program, "docker");
        builds[0]
    }

    fn context(build: &harness::Build) -> String {
        build.args.last().unwrap().clone()
    }

    fn ran(job: &str) -> Run {
        let Some(run) = run("docker-run.yml", job, &setup(false)) else {
            panic!("busybox is missing")
        };
        assert_eq!(
            run.status,
            Some(0),
            "{job}: {}\n{}",
            run.stderr,
            run.migrated
        );
        assert!(run.read("deployed").is_some(), "{job}");
        run
    }

    fn skip() -> bool {
        harness::busybox().is_none()
    }

    #[test]
    fn the_build_gets_what_kaniko_got() {
        if skip() {
            return;
        }
        let run = ran("plain");
        let build = buildx_build(&run);
        let project = run.project();
        assert_eq!(context(build), ".");
        let file = build.values("--file");
        assert_eq!(file.len(), 1, "{:?}", build.args);
        assert!(project.join(&file[0]).is_file(), "{file:?}");
        assert!(file[0].ends_with("docker/app.Dockerfile"), "{file:?}");
        assert_eq!(build.values("--build-arg"), ["VERSION=1.2.3"]);
        assert_eq!(build.env.get("VERSION").map(String::as_str), Some("1.2.3"));
        let output = build.values("--output");
        assert_eq!(output.len(), 1, "{:?}", build.args);
        assert!(
            output[0].contains(&format!("name={REGISTRY}/group/app:abc123")),
            "{output:?}"
        );
        assert!(output[0].contains("push=true"), "{output:?}");
        // Kaniko wrote the digest into the mounted directory.
        assert_eq!(run.read("digest.txt").as_deref(), Some("sha256:feedface"));
        assert!(!run.migrated.contains("kaniko-project"), "{}", run.migrated);
    }

    #[test]
    fn a_mount_from_another_directory_is_built_from_there() {
        if skip() {
            return;
        }
        // `"$DIR:/src"`: the colon inside the quotes splits the host's
        // text too (a regression: its quote was left open).
        for job in ["other-dir", "other-dir-quoted"] {
            let run = ran(job);
            let build = buildx_build(&run);
            let project = run.project();
            let context = context(build);
            assert_eq!(std::path::Path::new(&context), project.join("sub"), "{job}");
            let file = build.values("--file");
            assert_eq!(
                std::path::Path::new(&file[0]),
                project.join("sub/Dockerfile"),
                "{job}"
            );
            assert!(build.values("--output")[0].contains("group/app/sub:1"));
        }
    }

    #[test]
    fn a_mount_at_the_same_path_is_built_from_there() {
        if skip() {
            return;
        }
        let run = ran("same-path");
        let build = buildx_build(&run);
        let project = run.project();
        assert_eq!(std::path::Path::new(&context(build)), project);
        let file = build.values("--file");
        assert_eq!(
            std::path::Path::new(&file[0]),
            project.join("docker/app.Dockerfile")
        );
    }

    #[test]
    fn mounted_credentials_reach_buildx() {
        if skip() {
            return;
        }
        let run = ran("credentials");
        let build = buildx_build(&run);
        assert_eq!(
            build.credentials("registry.example.com").as_deref(),
            Some("robot:s3cret")
        );
        let run = ran("own-config");
        let build = buildx_build(&run);
        assert_eq!(
            build.credentials("registry.example.com").as_deref(),
            Some("me:pw")
        );
        assert!(!build.env.contains_key("DOCKER_CONFIG"), "{:?}", build.env);
    }

    #[test]
    fn a_registry_cache_gets_a_container_builder_first() {
        if skip() {
            return;
        }
        let run = ran("registry-cache");
        assert_eq!(run.builds[0].args, ["buildx", "create", "--use"]);
        let build = buildx_build(&run);
        let cache_to = build.values("--cache-to");
        assert!(cache_to[0].contains("type=registry"), "{cache_to:?}");
        let output = &build.values("--output")[0];
        assert!(
            output.contains("group/app:1,") && output.contains("group/app:latest"),
            "{output}"
        );
    }

    #[test]
    fn the_debug_shell_script_is_built_too() {
        if skip() {
            return;
        }
        let run = ran("debug-shell");
        let build = buildx_build(&run);
        assert_eq!(context(build), ".");
        assert!(build.values("--output")[0].contains("group/app:debug"));
    }

    #[test]
    fn a_failed_build_fails_the_job() {
        if skip() {
            return;
        }
        for job in [
            "plain",
            "other-dir",
            "credentials",
            "own-config",
            "registry-cache",
            "debug-shell",
            "same-path",
        ] {
            let failed = run("docker-run.yml", job, &setup(true)).unwrap();
            assert_stopped_at_build(&failed, job);
        }
    }
}
