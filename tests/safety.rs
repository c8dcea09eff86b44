//! A repository may be hostile (the gate runs on merge requests from forks):
//! nothing is read or written outside the project root, no edit is lost,
//! and the work and the output stay bounded whatever the files hold.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

const KANIKO: &str = "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination registry.example.com/app:1\n";

/// A scratch directory holding a project (`repo/`, with `.git`) and a
/// place outside it (`outside/`).
struct Scratch {
    dir: tempfile::TempDir,
}

/// What one run printed.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Standard error with the renderer's line wrapping undone.
    fn said(&self, words: &str) -> bool {
        let flat = |text: &str| {
            text.replace('│', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        flat(&self.stderr).contains(&flat(words))
    }
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        Scratch { dir }
    }

    fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }

    fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(relative);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(relative)).unwrap()
    }

    /// `kaniko2buildkit --color never ARGS` in `repo/`, with `env` set.
    fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::cargo_bin("kaniko2buildkit").unwrap();
        command
            .current_dir(self.repo())
            .arg("--color")
            .arg("never")
            .args(args)
            .timeout(Duration::from_secs(60));
        for (key, value) in env {
            command.env(key, value);
        }
        let out = command.output().unwrap();
        let run = Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        run
    }

    fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[])
    }
}

#[cfg(unix)]
fn symlink(target: impl AsRef<Path>, link: impl AsRef<Path>) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

// 1. Never write outside the repository.

#[cfg(unix)]
#[test]
fn a_report_is_not_written_through_a_symlink() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    scratch.write("outside/victim", "precious\n");
    symlink(
        "../outside/victim",
        scratch.repo().join("gl-code-quality-report.json"),
    );
    symlink("../outside/created", scratch.repo().join("dangling.json"));
    symlink("../outside", scratch.repo().join("reports"));
    for target in [
        "gl-code-quality-report.json",
        "dangling.json",
        "reports/r.json",
    ] {
        let run = scratch.run(&["check", "--output-format", "gitlab", "-o", target]);
        assert_eq!(run.code, Some(2), "{target}: {}", run.text());
        assert!(run.said("is a symlink"), "{target}: {}", run.stderr);
    }
    assert_eq!(scratch.read("outside/victim"), "precious\n");
    let outside: Vec<_> = std::fs::read_dir(scratch.outside()).unwrap().collect();
    assert_eq!(outside.len(), 1, "nothing was created outside");
}

#[cfg(unix)]
#[test]
fn a_report_is_not_written_to_a_fifo_or_a_directory() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    let fifo = scratch.repo().join("report.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::fs::create_dir(scratch.repo().join("dir.json")).unwrap();
    for target in ["report.json", "dir.json"] {
        let run = scratch.run(&["check", "--output-format", "gitlab", "-o", target]);
        assert_eq!(run.code, Some(2), "{target}: {}", run.text());
        assert!(run.said("not a regular file"), "{}", run.stderr);
    }
}

#[test]
fn a_report_replaces_a_regular_file_whole() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    scratch.write("repo/report.json", &"x".repeat(100_000));
    let run = scratch.run(&["check", "--output-format", "gitlab", "-o", "report.json"]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    let report: serde_json::Value =
        serde_json::from_str(&scratch.read("repo/report.json")).unwrap();
    assert!(!report.as_array().unwrap().is_empty());
    let leftovers = temporary_files(&scratch.repo());
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

// 2. Never read outside the repository.

#[cfg(unix)]
#[test]
fn an_entry_file_that_leads_outside_is_not_read() {
    let scratch = Scratch::new();
    scratch.write(
        "outside/ci.yml",
        &format!("SECRET_MARKER_7: {{script: [x]}}\n{KANIKO}"),
    );
    symlink("../outside/ci.yml", scratch.repo().join(".gitlab-ci.yml"));
    for args in [
        &["check"][..],
        &["check", "."],
        &["check", ".gitlab-ci.yml"],
        &["diff"],
        &["fix"],
    ] {
        let run = scratch.run(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.text());
        assert!(
            !run.text().contains("SECRET_MARKER_7"),
            "{args:?}: {}",
            run.text()
        );
        // A directory search does not list a link out of the directory.
        let expected = if args.len() == 2 && args[1] == "." {
            "no CI files in this directory"
        } else {
            "outside the project root"
        };
        assert!(run.said(expected), "{args:?}: {}", run.stderr);
    }
    assert!(
        scratch.read("outside/ci.yml").contains("/kaniko/executor"),
        "fix left it alone"
    );
    std::fs::remove_file(scratch.repo().join(".gitlab-ci.yml")).unwrap();
    symlink("/etc/passwd", scratch.repo().join(".gitlab-ci.yml"));
    let run = scratch.run(&["check"]);
    assert_eq!(run.code, Some(2));
    assert!(!run.text().contains("root:"), "{}", run.text());
}

#[cfg(unix)]
#[test]
fn a_config_file_that_leads_outside_is_not_read() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    scratch.write("outside/token.toml", "TOKEN=SECRET_MARKER_9\n");
    symlink(
        "../outside/token.toml",
        scratch.repo().join(".kaniko2buildkit.toml"),
    );
    for args in [&["check"][..], &["check", "."], &["fix"]] {
        let run = scratch.run(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.text());
        assert!(
            !run.text().contains("SECRET_MARKER_9"),
            "{args:?}: {}",
            run.text()
        );
        assert!(run.said("outside the project root"), "{}", run.stderr);
    }
    let run = scratch.run(&["check", "--no-config"]);
    assert_eq!(
        run.code,
        Some(1),
        "--no-config runs without it: {}",
        run.text()
    );
}

#[test]
fn error_messages_show_a_bounded_excerpt() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    let long = format!("buildkit-image = {}\n", "A".repeat(200_000));
    scratch.write("repo/.kaniko2buildkit.toml", &long);
    let run = scratch.run(&["check"]);
    assert_eq!(run.code, Some(2));
    assert!(run.text().len() < 4_000, "{} bytes", run.text().len());
    std::fs::remove_file(scratch.repo().join(".kaniko2buildkit.toml")).unwrap();
    // An 11 MB value on one line, read with a raised limit.
    let value = "x".repeat(11_000_000);
    scratch.write("repo/big.yml", &format!("a: \"{value}\n"));
    let run = scratch.run(&["check", "--max-file-size", "64M", "big.yml"]);
    assert_eq!(run.code, Some(2));
    assert!(run.text().len() < 4_000, "{} bytes", run.text().len());
    scratch.write("repo/big.yml", &format!("build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination r.example.com/a:1 --frobnicate-{value}\n"));
    for format in ["full", "concise"] {
        let run = scratch.run(&[
            "check",
            "--max-file-size",
            "64M",
            "--output-format",
            format,
            "big.yml",
        ]);
        assert_eq!(run.code, Some(1), "{format}");
        assert!(
            run.text().len() < 20_000,
            "{format}: {} bytes",
            run.text().len()
        );
    }
}

// 3. Never lose an edit.

#[test]
fn an_edit_saved_during_fix_is_kept() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    let run = scratch.run_with(
        &["fix"],
        &[("KANIKO2BUILDKIT_FAILPOINT", "edit-before-rename")],
    );
    assert_eq!(run.code, Some(2), "{}", run.text());
    assert!(run.said("changed on disk"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("Migrated .gitlab-ci.yml"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Migrated 1"), "{}", run.stderr);
    assert_eq!(
        scratch.read("repo/.gitlab-ci.yml"),
        format!("{KANIKO}# saved meanwhile\n")
    );
    assert!(temporary_files(&scratch.repo()).is_empty());
}

#[cfg(unix)]
#[test]
fn a_hard_linked_file_is_refused() {
    let scratch = Scratch::new();
    let path = scratch.write("repo/.gitlab-ci.yml", KANIKO);
    std::fs::hard_link(&path, scratch.repo().join("other-name.yml")).unwrap();
    let run = scratch.run(&["fix", ".gitlab-ci.yml"]);
    assert_eq!(run.code, Some(2), "{}", run.text());
    assert!(run.said("hard link"), "{}", run.stderr);
    assert!(run.stderr.contains("Migrated nothing"), "{}", run.stderr);
    assert_eq!(scratch.read("repo/.gitlab-ci.yml"), KANIKO);
    assert_eq!(scratch.read("repo/other-name.yml"), KANIKO);
}

/// A template and the job that uses it live in two files: when one of them
/// cannot be written, neither is.
#[cfg(unix)]
#[test]
fn the_files_of_one_pipeline_are_written_together() {
    let scratch = Scratch::new();
    let template = ".kaniko:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination registry.example.com/app:1\n";
    scratch.write("repo/template.yml", template);
    let entry = "include: template.yml\nbuild:\n  extends: .kaniko\n  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\n";
    let path = scratch.write("repo/.gitlab-ci.yml", entry);
    std::fs::hard_link(&path, scratch.outside().join("link.yml")).unwrap();
    let run = scratch.run(&["fix"]);
    assert_eq!(run.code, Some(2), "{}", run.text());
    assert_eq!(scratch.read("repo/template.yml"), template);
    assert_eq!(scratch.read("repo/.gitlab-ci.yml"), entry);
}

#[cfg(unix)]
#[test]
fn owner_group_and_mode_are_kept() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let scratch = Scratch::new();
    let path = scratch.write("repo/.gitlab-ci.yml", KANIKO);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = std::fs::metadata(&path).unwrap();
    // As root (as in CI), give the file to another user first: `fix` must
    // hand it back to that user, not to root.
    let root = before.uid() == 0;
    if root {
        std::os::unix::fs::chown(&path, Some(4242), Some(4343)).unwrap();
    }
    let run = scratch.run(&["fix"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    let after = std::fs::metadata(&path).unwrap();
    assert!(
        scratch
            .read("repo/.gitlab-ci.yml")
            .contains("buildctl-daemonless.sh")
    );
    assert_eq!(after.permissions().mode() & 0o7777, 0o640);
    let expected = if root {
        (4242, 4343)
    } else {
        (before.uid(), before.gid())
    };
    assert_eq!((after.uid(), after.gid()), expected);
}

#[test]
fn stale_temporary_files_of_a_crash_are_removed_by_the_next_run() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    let run = scratch.run_with(&["fix"], &[("KANIKO2BUILDKIT_FAILPOINT", "before-rename")]);
    assert_ne!(run.code, Some(0));
    let left = temporary_files(&scratch.repo());
    assert_eq!(
        left.len(),
        1,
        "the crash leaves its temporary file: {left:?}"
    );
    let name = left[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(".gitlab-ci.yml.kaniko2buildkit-") && name.ends_with(".tmp"),
        "{name}"
    );
    // A fresh one may belong to a run in progress: it stays until it is old.
    let run = scratch.run(&["fix"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert_eq!(temporary_files(&scratch.repo()), left);
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&left[0])
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    let run = scratch.run(&["fix"]);
    assert_eq!(run.code, Some(0), "{}", run.text());
    assert!(temporary_files(&scratch.repo()).is_empty());
}

#[test]
fn a_refused_rewrite_is_not_summarised_as_no_kaniko() {
    let scratch = Scratch::new();
    // A file with another hard link is refused when it would be written.
    scratch.write("repo/.gitlab-ci.yml", KANIKO);
    std::fs::hard_link(
        scratch.repo().join(".gitlab-ci.yml"),
        scratch.repo().join("second-name.yml"),
    )
    .unwrap();
    let check = scratch.run(&["check", ".gitlab-ci.yml"]);
    assert_eq!(check.code, Some(1), "{}", check.text());
    let fix = scratch.run(&["fix", ".gitlab-ci.yml"]);
    assert_eq!(fix.code, Some(2), "{}", fix.text());
    assert!(!fix.stderr.contains("No Kaniko found"), "{}", fix.stderr);
    assert!(
        fix.stderr
            .contains("could not be read, verified or written"),
        "{}",
        fix.stderr
    );
}

/// This tool's temporary files in `dir`.
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().contains(".kaniko2buildkit-"))
        .collect();
    found.sort();
    found
}

// 4. Bounded work on hostile input.

#[cfg(unix)]
#[test]
fn fifos_and_devices_are_not_read() {
    let scratch = Scratch::new();
    let fifo = scratch.repo().join(".gitlab-ci.yml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    for command in ["check", "fix"] {
        let run = scratch.run(&[command]);
        assert_eq!(run.code, Some(2), "{command}: {}", run.text());
        assert!(run.said("not a regular file"), "{}", run.stderr);
    }
    std::fs::remove_file(&fifo).unwrap();
    symlink("/dev/zero", &fifo);
    for args in [&["check"][..], &["check", "--root", "/", ".gitlab-ci.yml"]] {
        let run = scratch.run(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.text());
    }
}

#[test]
fn files_over_the_size_limit_are_not_read() {
    let scratch = Scratch::new();
    let big = format!("{KANIKO}{}", "# padding\n".repeat(200));
    scratch.write("repo/.gitlab-ci.yml", &big);
    let run = scratch.run(&["check", "--max-file-size", "1K"]);
    assert_eq!(run.code, Some(2), "{}", run.text());
    assert!(run.said("more than the limit of 1024"), "{}", run.stderr);
    assert!(run.stderr.contains("--max-file-size"), "{}", run.stderr);
    assert_eq!(
        scratch.run(&["check", "--max-file-size", "4K"]).code,
        Some(1)
    );
    let run = scratch.run(&["fix", "--max-file-size", "1K"]);
    assert_eq!(run.code, Some(2));
    assert_eq!(scratch.read("repo/.gitlab-ci.yml"), big);
    scratch.write("repo/inc.yml", &big);
    scratch.write("repo/.gitlab-ci.yml", "include: inc.yml\n");
    let run = scratch.run(&["check", "--max-file-size", "1K"]);
    assert_eq!(
        run.code,
        Some(2),
        "an include is limited too: {}",
        run.text()
    );
    assert_eq!(
        scratch.run(&["check", "--max-file-size", "banana"]).code,
        Some(2)
    );
}

#[test]
fn diagnostics_past_column_65535_render() {
    let scratch = Scratch::new();
    let key = format!("{}: 1\n b: 2\n", "k".repeat(65_536));
    scratch.write("repo/.gitlab-ci.yml", &key);
    let run = scratch.run(&["check"]);
    assert_eq!(run.code, Some(2), "{}", run.text());
    assert!(run.stderr.contains(":1:65537]"), "{}", run.stderr);
    assert!(run.text().len() < 2_000, "{} bytes", run.text().len());
    let word = format!(
        "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - {} /kaniko/executor --context . --destination r.example.com/a:1\n",
        "x".repeat(66_000)
    );
    scratch.write("repo/.gitlab-ci.yml", &word);
    for command in ["check", "diff"] {
        let run = scratch.run(&[command]);
        // Not migrated (the long word is the program), so `diff` may show nothing.
        assert!(matches!(run.code, Some(0 | 1)), "{command}: {}", run.text());
        assert!(run.stderr.len() + run.stdout.len() < 300_000, "{command}");
    }
    let run = scratch.run(&["check"]);
    assert!(
        run.stdout.contains(":4:66008]"),
        "the real column: {}",
        run.stdout
    );
    assert!(run.stdout.len() < 5_000, "{} bytes", run.stdout.len());
}

#[test]
fn many_labels_on_one_line_render_a_bounded_diagnostic() {
    let scratch = Scratch::new();
    let destinations: String = (0..10_000)
        .map(|i| format!(" --destination r.example.com/a:{i}"))
        .collect();
    scratch.write(
        "repo/.gitlab-ci.yml",
        &format!("build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context .{destinations}\n"),
    );
    let run = scratch.run(&["check"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stdout.len() < 20_000, "{} bytes", run.stdout.len());
    assert!(
        run.stdout.contains("more places are not shown"),
        "{}",
        run.stdout
    );
}

#[test]
fn reference_fan_out_is_bounded() {
    let scratch = Scratch::new();
    scratch.write("repo/.gitlab-ci.yml", &fan_out(4));
    let run = scratch.run(&["check", "--output-format", "concise"]);
    assert_eq!(run.code, Some(1));
    assert!(
        !run.stdout.contains("too-complex"),
        "ten thousand lines are fine: {}",
        run.stdout
    );
    let run = scratch.run(&["diff"]);
    assert_eq!(run.code, Some(1), "{}", run.text());
    scratch.write("repo/.gitlab-ci.yml", &fan_out(7));
    for command in ["check", "diff", "fix"] {
        let run = scratch.run(&[command]);
        assert!(matches!(run.code, Some(0..=2)), "{command}: {}", run.text());
    }
    scratch.write("repo/.gitlab-ci.yml", &fan_out(7));
    let run = scratch.run(&["check", "--output-format", "concise"]);
    assert!(
        run.stdout.contains("expands to more than 200000 values"),
        "{}",
        run.stdout
    );
}

/// `levels` levels of ten `!reference`s each, under a Kaniko job.
fn fan_out(levels: usize) -> String {
    let mut text = String::from(
        ".l0:\n  script:\n    - /kaniko/executor --context . --destination r.example.com/a:1\n",
    );
    for level in 1..=levels {
        text += &format!(".l{level}:\n  script:\n");
        for _ in 0..10 {
            text += &format!("    - !reference [.l{}, script]\n", level - 1);
        }
    }
    text + &format!(
        "job:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - !reference [.l{levels}, script]\n"
    )
}

#[test]
fn many_identical_findings_and_duplicate_keys_finish() {
    let scratch = Scratch::new();
    let includes = "  - local: missing.yml\n".repeat(10_000);
    scratch.write(
        "repo/.gitlab-ci.yml",
        &format!("include:\n{includes}{KANIKO}"),
    );
    let run = scratch.run(&["check", "--output-format", "gitlab"]);
    assert_eq!(run.code, Some(1));
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let mut fingerprints: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|issue| issue["fingerprint"].as_str().unwrap())
        .collect();
    let count = fingerprints.len();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), count, "every fingerprint differs");
    scratch.write(
        "repo/.gitlab-ci.yml",
        &format!("{}{KANIKO}", "a: 1\n".repeat(100_000)),
    );
    let run = scratch.run(&["check", "--output-format", "concise"]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.stdout.matches("yaml/duplicate-key").count(), 99_999);
}

/// Found by fuzzing the renderers: a `|` block at the end of a file without
/// a final line break gave a span one byte past the end, and the Code
/// Quality and SARIF reports panicked on it.
#[test]
fn every_format_renders_a_block_at_the_end_of_a_file() {
    let scratch = Scratch::new();
    scratch.write(
        "repo/.gitlab-ci.yml",
        "build:\r\n  image: gcr.io/kaniko-project/executor:debug\r\n  script:\r\n    - |\r\n      /kaniko/executor --context . --conte:\"$IMAGEcon",
    );
    for format in [
        "full", "concise", "json", "gitlab", "sarif", "junit", "github",
    ] {
        let run = scratch.run(&["check", "--output-format", format]);
        assert_eq!(run.code, Some(1), "{format}: {}", run.text());
    }
}
