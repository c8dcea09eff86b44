//! The Buildkite front-end: every fixture under `fixtures/buildkite/` is
//! checked (diagnostics and the exact text of each finding's span) and
//! migrated (the new file, its notes, and a second `fix` that changes
//! nothing), with the rootless and privileged flavours; the Buildkite files
//! of `../shared/corpus-other/` likewise; and every migrated file is checked
//! against Buildkite's schema with `check-jsonschema` where it is installed
//! (`.ci/run` installs it; under `CI=true` it must be there).

#[path = "common/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;
use cli::{Run, run};
use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/buildkite")
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The fixture files, by name.
fn fixtures() -> Vec<(String, PathBuf)> {
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    found.sort();
    assert!(found.len() >= 8, "fixtures/buildkite/ lost its fixtures");
    found
}

fn tool(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("kaniko2buildkit").unwrap();
    cmd.current_dir(dir).env("NO_COLOR", "1").env_remove("CI");
    cmd
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(fixtures_dir().join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Each finding as `rule line:col-line:col` and the exact text its range
/// covers, from the JSON output.
fn spans(json: &str, text: &str) -> String {
    let findings: Vec<Value> = serde_json::from_str(json).unwrap();
    findings
        .iter()
        .map(|f| {
            let range = f["range"].as_array().unwrap();
            let (start, end) = (
                range[0].as_u64().unwrap() as usize,
                range[1].as_u64().unwrap() as usize,
            );
            format!(
                "{} {}:{}-{}:{} {:?}",
                f["rule"].as_str().unwrap(),
                f["start"]["line"],
                f["start"]["column"],
                f["end"]["line"],
                f["end"]["column"],
                &text[start..end]
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A project holding `text` as `.buildkite/pipeline.yml`.
fn project(text: &str) -> tempfile::TempDir {
    cli::project(&[(".buildkite/pipeline.yml", text)])
}

const PIPELINE: &str = ".buildkite/pipeline.yml";

/// `fix` (with `flags`) in a project: the new text and what was printed;
/// a second `fix` must leave the file as it is.
fn fix(text: &str, flags: &[&str]) -> (String, Run) {
    let dir = project(text);
    let first = run(tool(dir.path()).arg("fix").args(flags).arg(PIPELINE));
    assert!(matches!(first.code, Some(0 | 1)), "{first:?}");
    let fixed = std::fs::read_to_string(dir.path().join(PIPELINE)).unwrap();
    let second = run(tool(dir.path()).arg("fix").args(flags).arg(PIPELINE));
    let again = std::fs::read_to_string(dir.path().join(PIPELINE)).unwrap();
    assert_eq!(fixed, again, "a second fix changed the file:\n{second:?}");
    (fixed, first)
}

#[test]
fn check_reports_every_pattern_at_its_span() {
    settings().bind(|| {
        for (name, path) in fixtures() {
            let text = std::fs::read_to_string(&path).unwrap();
            let dir = project(&text);
            let full = run(tool(dir.path()).args(["check", PIPELINE]));
            let json = run(tool(dir.path()).args(["check", "--output-format", "json", PIPELINE]));
            let expected = if name == "reference" || name.starts_with("negative") {
                0
            } else {
                1
            };
            assert_eq!(full.code, Some(expected), "{name}: {full:?}");
            insta::assert_snapshot!(
                format!("{name}.check"),
                format!("{}{}", full.stderr, full.stdout)
            );
            insta::assert_snapshot!(format!("{name}.spans"), spans(&json.stdout, &text));
        }
    });
}

#[test]
fn fix_migrates_each_pattern_and_a_second_fix_changes_nothing() {
    settings().bind(|| {
        for (name, path) in fixtures() {
            let text = std::fs::read_to_string(&path).unwrap();
            let (fixed, printed) = fix(&text, &[]);
            insta::assert_snapshot!(format!("{name}.fixed"), fixed);
            insta::assert_snapshot!(format!("{name}.fix-output"), printed.stderr);
        }
    });
}

#[test]
fn the_privileged_flavour_gives_the_privileged_shape() {
    settings().bind(|| {
        for name in ["k8s-exec", "kubernetes-podspec", "docker-plugin"] {
            let text = std::fs::read_to_string(fixtures_dir().join(format!("{name}.yml"))).unwrap();
            let (fixed, _) = fix(&text, &["--flavor", "privileged"]);
            insta::assert_snapshot!(format!("{name}.privileged"), fixed);
        }
    });
}

#[test]
fn buildkit_image_is_honoured() {
    let text = std::fs::read_to_string(fixtures_dir().join("k8s-exec.yml")).unwrap();
    let (fixed, _) = fix(
        &text,
        &[
            "--buildkit-image",
            "mirror.example.com/moby/buildkit:v0.32.2-rootless",
        ],
    );
    assert!(
        fixed.contains("image: mirror.example.com/moby/buildkit:v0.32.2-rootless"),
        "{fixed}"
    );
}

/// A `$` for run time is written `$$`; upload-time variables stay as written.
#[test]
fn run_time_dollars_are_escaped_for_upload() {
    let text = "env:\n  REG: r.example\nsteps:\n  - label: b\n    command: /kaniko/executor --context . --destination \"$REG/app:$$BUILDKITE_COMMIT\" --digest-file=/tmp/d\n    plugins:\n      - EmbarkStudios/k8s:\n          image: gcr.io/kaniko-project/executor:debug\n";
    let (fixed, printed) = fix(text, &[]);
    assert!(
        fixed.contains("$REG/app:$$BUILDKITE_COMMIT"),
        "{fixed}\n{printed:?}"
    );
    // Every `$` the migration wrote for run time is doubled.
    let command = fixed.lines().find(|l| l.contains("command:")).unwrap();
    let stripped = command.replace("$$", "").replace("$REG", "");
    assert!(!stripped.contains('$'), "{command}");
}

#[test]
fn an_ignore_comment_keeps_a_step() {
    let text = std::fs::read_to_string(fixtures_dir().join("k8s-exec.yml")).unwrap();
    let kept = text.replace(
        "  - label: \":docker: build\"\n",
        "  # kaniko2buildkit: ignore[kaniko/job] -- migrated by the platform team\n  - label: \":docker: build\"\n",
    );
    assert_ne!(kept, text);
    let dir = project(&kept);
    let printed = run(tool(dir.path()).args(["fix", PIPELINE]));
    let after = std::fs::read_to_string(dir.path().join(PIPELINE)).unwrap();
    assert_eq!(after, kept, "{printed:?}");
}

/// The files `check-jsonschema` validates: `CHECK_JSONSCHEMA` or the one
/// on `PATH`. Missing under `CI=true` is a failure.
fn schema_checker() -> Option<PathBuf> {
    let named = std::env::var_os("CHECK_JSONSCHEMA").map(PathBuf::from);
    let found = named.or_else(|| {
        Process::new("check-jsonschema")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| PathBuf::from("check-jsonschema"))
    });
    assert!(
        found.is_some() || !ci(),
        "check-jsonschema is not installed and CI=true: .ci/run installs it (CHECK_JSONSCHEMA)"
    );
    if found.is_none() {
        eprintln!("buildkite: schema check skipped (no check-jsonschema; with CI=true this fails)");
    }
    found
}

fn assert_schema_valid(checker: &Path, files: &[PathBuf]) {
    let output = Process::new(checker)
        .args(["--builtin-schema", "vendor.buildkite"])
        .args(files)
        .output()
        .expect("run check-jsonschema");
    assert!(
        output.status.success(),
        "check-jsonschema --builtin-schema vendor.buildkite failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn migrated_fixtures_pass_the_buildkite_schema() {
    let Some(checker) = schema_checker() else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for flags in [&[][..], &["--flavor", "privileged"][..]] {
        for (name, path) in fixtures() {
            let (fixed, _) = fix(&std::fs::read_to_string(&path).unwrap(), flags);
            let file = scratch.path().join(format!("{name}-{}.yml", flags.len()));
            std::fs::write(&file, fixed).unwrap();
            files.push(file);
        }
    }
    assert_schema_valid(&checker, &files);
}

/// `../shared/corpus-other/`'s Buildkite files (`.buildkite_` in the name):
/// `None` (after saying so) when it is missing, a failure under `CI=true`.
fn corpus() -> Option<Vec<(String, PathBuf, bool)>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus-other");
    let manifest = dir.join("MANIFEST.tsv");
    if !manifest.is_file() {
        assert!(!ci(), "{} is missing, and CI=true", manifest.display());
        eprintln!(
            "buildkite corpus: skipped ({} not found)",
            manifest.display()
        );
        return None;
    }
    let mut entries: Vec<(String, PathBuf, bool)> = std::fs::read_to_string(&manifest)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|line| line.contains(".buildkite_"))
        .map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            let name = columns[0].to_string();
            (name.clone(), dir.join(&name), columns[4] == "yes")
        })
        .collect();
    entries.sort();
    entries.dedup();
    assert!(entries.len() >= 5, "the corpus lost its Buildkite files");
    Some(entries)
}

#[test]
fn corpus_files_are_detected_at_exact_spans_and_migrate() {
    let Some(entries) = corpus() else {
        return;
    };
    let checker = schema_checker();
    let scratch = tempfile::tempdir().unwrap();
    let mut migrated = Vec::new();
    settings().bind(|| {
        for (name, path, kaniko) in entries {
            let text = std::fs::read_to_string(&path).unwrap();
            let dir = project(&text);
            let json = run(tool(dir.path()).args(["check", "--output-format", "json", PIPELINE]));
            let findings: Vec<Value> = serde_json::from_str(&json.stdout).unwrap();
            let stem = name
                .trim_start_matches("other-ci/")
                .trim_end_matches(".yaml")
                .trim_end_matches(".yml");
            if !kaniko {
                assert_eq!(json.code, Some(0), "{name}: {json:?}");
                assert!(
                    findings.is_empty(),
                    "{name} is not a Kaniko file, yet:\n{}",
                    json.stdout
                );
                continue;
            }
            assert_eq!(json.code, Some(1), "{name}: {json:?}");
            insta::assert_snapshot!(format!("corpus-{stem}.spans"), spans(&json.stdout, &text));
            let (fixed, printed) = fix(&text, &[]);
            assert!(printed.stderr.contains("Migrated"), "{name}: {printed:?}");
            insta::assert_snapshot!(format!("corpus-{stem}.fixed"), fixed);
            let file = scratch.path().join(format!("{stem}.yml"));
            std::fs::write(&file, fixed).unwrap();
            migrated.push(file);
        }
    });
    if let Some(checker) = checker {
        assert_schema_valid(&checker, &migrated);
    }
}

/// The k8s plugin's `patch:` the migration writes is jsonnet the plugin
/// evaluates against its Job: evaluated here against a Job of the plugin's
/// shape, with the python `jsonnet` bindings (`JSONNET_PYTHON`; `.ci/run`
/// installs them, and under `CI=true` they must be there).
#[test]
fn k8s_patches_evaluate_to_the_intended_pod() {
    let python = std::env::var_os("JSONNET_PYTHON").map(PathBuf::from);
    assert!(
        python.is_some() || !ci(),
        "JSONNET_PYTHON is not set and CI=true: .ci/run sets it"
    );
    let Some(python) = python else {
        eprintln!(
            "buildkite: jsonnet check skipped (JSONNET_PYTHON unset; with CI=true this fails)"
        );
        return;
    };
    const EVALUATE: &str = r#"
import _jsonnet, json, re, sys
text = sys.stdin.read()
block = re.search(r"patch: \|\n((?:            .*\n|\n)+)", text).group(1)
patch = "\n".join(line[12:] for line in block.splitlines())
job = "{spec: {template: {spec: {containers: [{name: 'step', image: 'x', volumeMounts: [{name: 'build', mountPath: '/build'}]}], volumes: [{name: 'build', emptyDir: {}}]}}}}"
spec = json.loads(_jsonnet.evaluate_snippet("patch", "local patch = " + patch + ";\npatch(" + job + ")"))["spec"]["template"]["spec"]
print(json.dumps(spec, sort_keys=True))
"#;
    for (flags, state) in [
        (&[][..], "/home/user/.local/share/buildkit"),
        (&["--flavor", "privileged"][..], "/var/lib/buildkit"),
    ] {
        let text = std::fs::read_to_string(fixtures_dir().join("k8s-exec.yml")).unwrap();
        let (fixed, _) = fix(&text, flags);
        let mut child = Process::new(&python)
            .args(["-c", EVALUATE])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), fixed.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let spec: Value = serde_json::from_slice(&output.stdout).unwrap();
        let container = &spec["containers"][0];
        let mounts: Vec<&str> = container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(mounts, ["/build", state, "/tmp"], "{spec}");
        let volumes = spec["volumes"].as_array().unwrap();
        assert_eq!(volumes.len(), 3, "{spec}");
        assert!(
            volumes[1]["emptyDir"].is_object() && volumes[2]["emptyDir"].is_object(),
            "{spec}"
        );
        let security = &container["securityContext"];
        if flags.is_empty() {
            assert_eq!(security["runAsUser"], 1000, "{spec}");
            assert_eq!(security["runAsGroup"], 1000, "{spec}");
            assert_eq!(security["seccompProfile"]["type"], "Unconfined", "{spec}");
            assert_eq!(security["appArmorProfile"]["type"], "Unconfined", "{spec}");
        } else {
            assert!(security.is_null(), "{spec}");
        }
    }
}

/// Every shell script the migration writes (a step's `command`, an
/// `sh -c` body) parses with `sh -n` once Buildkite has turned `$$` into `$`.
#[test]
fn migrated_scripts_parse_as_shell() {
    fn scripts(value: &serde_yaml::Value, out: &mut Vec<String>) {
        match value {
            serde_yaml::Value::Mapping(map) => {
                for (key, value) in map {
                    let key = key.as_str().unwrap_or_default();
                    match value {
                        serde_yaml::Value::String(s) if key == "command" || key == "commands" => {
                            out.push(s.clone())
                        }
                        serde_yaml::Value::Sequence(items)
                            if ["command", "commands", "args"].contains(&key) =>
                        {
                            let strings: Vec<&str> =
                                items.iter().filter_map(|i| i.as_str()).collect();
                            match strings.as_slice() {
                                ["-c", body, ..] => out.push(body.to_string()),
                                lines if key == "commands" => out.push(lines.join("\n")),
                                _ => {}
                            }
                        }
                        _ => {}
                    }
                    scripts(value, out);
                }
            }
            serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| scripts(i, out)),
            _ => {}
        }
    }
    let mut checked = 0;
    for flags in [&[][..], &["--flavor", "privileged"][..]] {
        for (name, path) in fixtures() {
            let (fixed, _) = fix(&std::fs::read_to_string(&path).unwrap(), flags);
            let document: serde_yaml::Value = serde_yaml::from_str(&fixed).unwrap();
            let mut found = Vec::new();
            scripts(&document, &mut found);
            for script in found.iter().filter(|s| s.contains("buildctl")) {
                let uploaded = script.replace("$$", "$");
                let output = Process::new("sh")
                    .args(["-n", "-c", &uploaded])
                    .output()
                    .unwrap();
                assert!(
                    output.status.success(),
                    "{name}: sh -n fails: {}\n{uploaded}",
                    String::from_utf8_lossy(&output.stderr)
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} scripts were checked");
}
