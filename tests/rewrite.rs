//! Fixture pairs for the rewrite: every `fixtures/fix/*.yml` (or folder with
//! a `.gitlab-ci.yml` and its includes) is migrated, and the rewritten files
//! plus the diagnostics are compared with `fixtures/fix/expected/`. Each
//! rewrite must also be a fixed point: migrating the result changes nothing.

use std::collections::BTreeMap;
mod common;

use std::path::{Path, PathBuf};

use kaniko2buildkit::gitlab::{Input, Pipeline};
use kaniko2buildkit::mapping::flavor::Flavor;
use kaniko2buildkit::mapping::table;
use kaniko2buildkit::migrate::{self, Migration, Options};
use kaniko2buildkit::report;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fix")
}

fn fixtures() -> Vec<(String, PathBuf, PathBuf)> {
    common::fixtures("fix", 15)
        .into_iter()
        .map(|f| (f.name, f.path, f.root))
        .collect()
}

fn load(path: &Path, root: &Path) -> Pipeline {
    let pipeline = Pipeline::load(
        &root.canonicalize().unwrap(),
        Input::Path(path.to_path_buf()),
    );
    assert!(pipeline.errors.is_empty(), "{:?}", pipeline.errors);
    pipeline
}

fn options(root: &Path, unsafe_fixes: bool) -> Options {
    Options {
        unsafe_fixes,
        root: Some(root.canonicalize().unwrap()),
        ..Options::default()
    }
}

/// The rewritten files and the diagnostics, as one reviewable text.
fn render(pipeline: &Pipeline, migration: &Migration) -> String {
    let mut out = String::new();
    for rewrite in &migration.rewrites {
        out += &format!(
            "===== {} =====\n{}",
            pipeline.files[rewrite.file].name, rewrite.text
        );
        if !rewrite.text.ends_with('\n') {
            out += "\n[no final newline]\n";
        }
    }
    if migration.rewrites.is_empty() {
        out += "===== (no file changed) =====\n";
    }
    out += "===== diagnostics =====\n";
    for finding in &migration.findings {
        out += &report::concise(pipeline, finding);
        out.push('\n');
    }
    out += &format!(
        "migrated: {:?}\nleft: {:?}\n",
        migration.migrated_jobs, migration.remaining_jobs
    );
    out
}

#[test]
fn rewrites_match_snapshots() {
    common::snapshot_settings(&fixtures_dir().join("expected")).bind(|| {
        for (name, path, root) in fixtures() {
            let pipeline = load(&path, &root);
            let migration = migrate::migrate(&pipeline, &options(&root, false)).unwrap();
            insta::assert_snapshot!(name.clone(), render(&pipeline, &migration));
            if name.contains("unsafe") {
                let migration = migrate::migrate(&pipeline, &options(&root, true)).unwrap();
                insta::assert_snapshot!(
                    format!("{name}.with-unsafe"),
                    render(&pipeline, &migration)
                );
            }
        }
    });
}

/// One fixture per row of the flag table (`fixtures/flags/NAME.yml`, the
/// warmer's flags in `warmer.yml`), each migrated and snapshotted; a flag
/// whose job needs `--unsafe` is snapshotted with it too.
#[test]
fn every_flag_has_a_fixture_that_matches_its_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/flags");
    for flag in table::EXECUTOR_FLAGS {
        let path = dir.join(format!("{}.yml", flag.name));
        assert!(path.exists(), "no fixture for --{}", flag.name);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("--{}", flag.name)),
            "{} does not use its flag",
            path.display()
        );
    }
    let warmer = std::fs::read_to_string(dir.join("warmer.yml")).unwrap();
    for flag in table::WARMER_FLAGS {
        assert!(
            warmer.contains(&format!("--{}", flag.name)),
            "warmer.yml lacks --{}",
            flag.name
        );
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for fixture in common::fixtures("flags", table::EXECUTOR_FLAGS.len() + 1) {
            let pipeline = load(&fixture.path, &fixture.root);
            let migration = migrate::migrate(&pipeline, &options(&fixture.root, false)).unwrap();
            let rendered = render(&pipeline, &migration);
            insta::assert_snapshot!(fixture.name.clone(), rendered);
            if rendered.contains("(applied only with --unsafe)") {
                let migration = migrate::migrate(&pipeline, &options(&fixture.root, true)).unwrap();
                insta::assert_snapshot!(
                    format!("{}.with-unsafe", fixture.name),
                    render(&pipeline, &migration)
                );
            }
        }
    });
}

/// Every file under `fixtures/flavours/` migrated with every flavour, one
/// snapshot each, and a second run changes nothing.
#[test]
fn flavours_match_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/flavours");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir.join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    let mut inputs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yml"))
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    settings.bind(|| {
        for path in &inputs {
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            for flavor in Flavor::ALL {
                let mut options = options(&dir, false);
                options.config.flavor = flavor;
                options.buildkit_image = flavor.default_image();
                let pipeline = load(path, &dir);
                let migration = migrate::migrate(&pipeline, &options).unwrap();
                insta::assert_snapshot!(
                    format!("{stem}.{}", flavor.as_str()),
                    render(&pipeline, &migration)
                );
                let texts: BTreeMap<_, _> = migration
                    .rewrites
                    .iter()
                    .map(|r| (r.file, r.text.clone()))
                    .collect();
                let again = pipeline.with_texts(&texts).unwrap();
                let second = migrate::migrate(&again, &options).unwrap();
                assert!(second.rewrites.is_empty(), "{stem} {flavor:?}");
            }
        }
    });
}

/// A second migration of a migrated file changes nothing.
#[test]
fn migrating_twice_changes_nothing() {
    for (name, path, root) in fixtures() {
        for unsafe_fixes in [false, true] {
            let pipeline = load(&path, &root);
            let first = migrate::migrate(&pipeline, &options(&root, unsafe_fixes)).unwrap();
            let texts: BTreeMap<_, _> = first
                .rewrites
                .iter()
                .map(|r| (r.file, r.text.clone()))
                .collect();
            let again = pipeline.with_texts(&texts).unwrap();
            let second = migrate::migrate(&again, &options(&root, unsafe_fixes)).unwrap();
            assert!(
                second.rewrites.is_empty(),
                "{name}: second run changed {:?}",
                second.rewrites
            );
        }
    }
}

/// Bytes outside the edited jobs stay: every line of a file without Kaniko,
/// and the BOM, CRLF line ends and missing final newline of files with it.
#[test]
fn untouched_bytes_stay() {
    let dir = fixtures_dir();
    let rewrite_of = |name: &str| {
        let pipeline = load(&dir.join(name), &dir);
        let migration = migrate::migrate(&pipeline, &options(&dir, false)).unwrap();
        (
            pipeline.files[0].text.clone(),
            migration.rewrites.first().map(|r| r.text.clone()),
        )
    };
    assert_eq!(rewrite_of("no-kaniko.yml").1, None);
    let (_, bom) = rewrite_of("bom.yml");
    assert!(
        bom.unwrap()
            .starts_with("\u{feff}# file with a byte order mark\n")
    );
    let (_, crlf) = rewrite_of("crlf.yml");
    let crlf = crlf.unwrap();
    assert_eq!(
        crlf.matches('\n').count(),
        crlf.matches("\r\n").count(),
        "a bare LF crept in"
    );
    let (_, last) = rewrite_of("no-final-newline.yml");
    assert!(!last.unwrap().ends_with('\n'));
}

/// Every negative `check` fixture comes out of `fix` byte-identical.
#[test]
fn files_without_kaniko_are_not_touched() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("negative")
        {
            let pipeline = load(&path, &dir);
            let migration = migrate::migrate(&pipeline, &options(&dir, true)).unwrap();
            assert!(migration.rewrites.is_empty(), "{}", path.display());
        }
    }
}

/// A cache repository derived at run time strips exactly the tag, as Kaniko
/// did: run the generated shell fragment with a real `sh`.
#[test]
fn runtime_cache_reference_strips_the_tag() {
    let text = "b:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination \"$IMAGE\" --cache\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ci.yml"), text).unwrap();
    let pipeline = load(&dir.path().join("ci.yml"), dir.path());
    let migration = migrate::migrate(&pipeline, &options(dir.path(), false)).unwrap();
    let rewritten = &migration.rewrites[0].text;
    let line = rewritten
        .lines()
        .find(|l| l.contains("--import-cache"))
        .unwrap()
        .trim();
    let argument = line.trim_start_matches("--import-cache ");
    for (image, expected) in [
        ("registry:5000/group/app:1.2", "registry:5000/group/app"),
        ("registry.example.com/app", "registry.example.com/app"),
    ] {
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {argument}"))
            .env("IMAGE", image)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            format!("type=registry,ref={expected}/cache:buildcache")
        );
    }
}

/// Migrates a one-job pipeline running `command`, then runs the steps the
/// migration put after the build (`&& ...` lines) with a real `sh`, against
/// `metadata` as buildctl's metadata file; `$OUT` is a folder in the
/// returned directory. Returns the directory and how many steps ran.
fn run_after_steps(
    command: &str,
    metadata: &str,
    env: &[(&str, &str)],
) -> (tempfile::TempDir, usize) {
    let text =
        format!("b:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - {command}\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ci.yml"), text).unwrap();
    let pipeline = load(&dir.path().join("ci.yml"), dir.path());
    let migration = migrate::migrate(&pipeline, &options(dir.path(), false)).unwrap();
    let rewritten = &migration.rewrites[0].text;
    // The steps after the build, inside the call's subshell.
    let steps: Vec<&str> = rewritten
        .lines()
        .filter_map(|l| l.trim().strip_prefix("&& "))
        .map(|step| step.strip_suffix(" )").unwrap_or(step))
        .collect();
    std::fs::write(dir.path().join("kaniko2buildkit-metadata.json"), metadata).unwrap();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(steps.join(" && "))
        .env("TMPDIR", dir.path())
        .env("OUT", dir.path().join("out"))
        .envs(env.iter().copied())
        .status()
        .unwrap();
    assert!(status.success(), "{rewritten}");
    (dir, steps.len())
}

/// The digest step writes exactly what Kaniko wrote: the bare digest, no
/// line break, into a directory it creates.
#[test]
fn digest_file_step_writes_what_kaniko_wrote() {
    let (dir, steps) = run_after_steps(
        "/kaniko/executor --context . --destination r.example.com/x:1 --digest-file \"$OUT/sub/image.digest\"",
        "{\n  \"containerimage.config.digest\": \"sha256:aaaa\",\n  \"containerimage.descriptor\": {\n    \"digest\": \"sha256:bbbb\"\n  },\n  \"containerimage.digest\": \"sha256:cccc\",\n  \"image.name\": \"r.example.com/x:1\"\n}\n",
        &[],
    );
    assert_eq!(steps, 2);
    let digest = std::fs::read_to_string(dir.path().join("out/sub/image.digest")).unwrap();
    assert_eq!(digest, "sha256:cccc");
}

/// The name files list every destination as go-containerregistry names it
/// (Docker Hub expanded, `latest` by default), one line each, with the
/// digest from the metadata file.
#[test]
fn name_digest_steps_write_what_kaniko_wrote() {
    let (dir, steps) = run_after_steps(
        "/kaniko/executor --context . --destination alpine --destination docker.io/foo/bar:1 \
         --destination registry.example.com:5000/a/b --destination localhost/x:y \
         --destination \"$CI_REGISTRY_IMAGE:$TAG\" --destination quay.io/o/r@sha256:feed \
         --image-name-with-digest-file \"$OUT/names\" --image-name-tag-with-digest-file \"$OUT/sub/tags\"",
        "{\n  \"containerimage.digest\": \"sha256:cccc\",\n  \"image.name\": \"x\"\n}\n",
        &[
            ("CI_REGISTRY_IMAGE", "registry.gitlab.com/group/project"),
            ("TAG", "v1"),
        ],
    );
    assert_eq!(steps, 4);
    let expected = [
        "index.docker.io/library/alpine:latest@sha256:cccc",
        "index.docker.io/foo/bar:1@sha256:cccc",
        "registry.example.com:5000/a/b:latest@sha256:cccc",
        "index.docker.io/localhost/x:y@sha256:cccc",
        "registry.gitlab.com/group/project:v1@sha256:cccc",
        "quay.io/o/r:latest@sha256:cccc",
    ];
    let tags = std::fs::read_to_string(dir.path().join("out/sub/tags")).unwrap();
    assert_eq!(tags, expected.map(|l| format!("{l}\n")).concat());
    // Both flags given: Kaniko wrote tags into the name file too.
    let names = std::fs::read_to_string(dir.path().join("out/names")).unwrap();
    assert_eq!(names, tags);
}

/// Without the tag file, the name file holds `REPOSITORY@DIGEST` lines.
#[test]
fn name_digest_file_alone_has_no_tags() {
    let (dir, _) = run_after_steps(
        "/kaniko/executor --context . --destination alpine:3 --destination r.example.com/x --image-name-with-digest-file \"$OUT/names\"",
        "{\"containerimage.digest\":\"sha256:dddd\"}",
        &[],
    );
    let names = std::fs::read_to_string(dir.path().join("out/names")).unwrap();
    assert_eq!(
        names,
        "index.docker.io/library/alpine@sha256:dddd\nr.example.com/x@sha256:dddd\n"
    );
}

/// The `buildkitd.toml` the job writes is valid TOML with the settings
/// Kaniko's flags gave, hosts in variables expanded: run with a real `sh`.
#[test]
fn daemon_config_step_writes_valid_toml() {
    let dir = fixtures_dir();
    let pipeline = load(&dir.join("flags-registries.yml"), &dir);
    let migration = migrate::migrate(&pipeline, &options(&dir, false)).unwrap();
    let document: serde_yaml::Value = serde_yaml::from_str(&migration.rewrites[0].text).unwrap();
    for (job, expected_host) in [
        ("mirrors", "registry.example.com"),
        ("everything-insecure", "registry.example.com"),
    ] {
        let script = document[job]["script"]
            .as_sequence()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap();
        let setup = script
            .split("buildctl-daemonless.sh")
            .next()
            .unwrap()
            .trim_end();
        let setup = setup
            .trim_end_matches('\\')
            .trim_end()
            .trim_end_matches("&&")
            .trim_start_matches("( ");
        let home = tempfile::tempdir().unwrap();
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(setup)
            .env("HOME", home.path())
            .env("CI_REGISTRY_IMAGE", "registry.example.com/group/app")
            .env("CI_COMMIT_SHA", "abc")
            .status()
            .unwrap();
        assert!(status.success(), "{setup}");
        let written =
            std::fs::read_to_string(home.path().join(".config/buildkit/buildkitd.toml")).unwrap();
        let config: toml::Table = written.parse().unwrap_or_else(|e| panic!("{e}\n{written}"));
        let host = &config["registry"][expected_host];
        assert_eq!(host["insecure"].as_bool(), Some(true), "{written}");
        if job == "mirrors" {
            let mirrors = config["registry"]["docker.io"]["mirrors"]
                .as_array()
                .unwrap();
            assert_eq!(mirrors.len(), 3, "{written}");
            assert_eq!(
                config["registry"]["harbor.internal"]["http"].as_bool(),
                Some(true)
            );
            assert_eq!(
                host["keypair"][0]["key"].as_str(),
                Some("/certs/client.key")
            );
        }
    }
}

/// Boolean flags read their value as pflag does (Go's `ParseBool`): every
/// true and false spelling has its effect, anything else keeps the job.
#[test]
fn boolean_values_follow_parse_bool() {
    let migrate_one = |flag: &str| {
        let text = format!(
            "b:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination r.example.com/x:1 --cache-repo r.example.com/cache {flag}\n"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ci.yml"), text).unwrap();
        let pipeline = load(&dir.path().join("ci.yml"), dir.path());
        let migration = migrate::migrate(&pipeline, &options(dir.path(), false)).unwrap();
        migration.rewrites.first().map(|r| r.text.clone())
    };
    let falses = ["0", "f", "F", "FALSE", "false", "False"];
    let trues = ["1", "t", "T", "TRUE", "true", "True"];
    for (flag, effect) in [
        ("no-push", "push=false"),
        ("reproducible", "rewrite-timestamp=true"),
        ("cache", "--import-cache"),
        ("insecure", "registry.insecure=true"),
    ] {
        for spelling in falses {
            let text = migrate_one(&format!("--{flag}={spelling}")).unwrap();
            assert!(!text.contains(effect), "--{flag}={spelling}:\n{text}");
        }
        for spelling in trues {
            let text = migrate_one(&format!("--{flag}={spelling}")).unwrap();
            assert!(text.contains(effect), "--{flag}={spelling}:\n{text}");
        }
        assert_eq!(migrate_one(&format!("--{flag}=yes")), None, "--{flag}=yes");
    }
}
