//! Hostile input: every case exits with the documented code, says what is
//! wrong, never panics, and leaves the file byte-identical after `fix`.

use assert_cmd::Command;

const KANIKO: &str = "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - /kaniko/executor --context . --destination registry.example.com/app:1\n";

/// Runs `k2b ARGS FILE` in a scratch project holding `bytes` as `ci.yml`.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(bytes: &[u8]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        std::fs::write(dir.path().join("ci.yml"), bytes).unwrap();
        Case { dir }
    }

    fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("ci.yml")
    }

    fn run(&self, command: &str) -> (Option<i32>, String) {
        let out = Command::cargo_bin("kaniko2buildkit")
            .unwrap()
            .current_dir(self.dir.path())
            .args(["--color", "never", command, "ci.yml"])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains("panicked"), "{text}");
        (out.status.code(), text)
    }

    /// `check` and `fix` both exit with `code`, say `message`, and `fix`
    /// leaves the bytes alone.
    fn expect(&self, code: i32, message: &str) {
        let before = std::fs::read(self.path()).unwrap();
        for command in ["check", "fix"] {
            let (status, text) = self.run(command);
            assert_eq!(status, Some(code), "{command}: {text}");
            assert!(
                text.contains(message),
                "{command}: expected `{message}` in:\n{text}"
            );
        }
        assert_eq!(
            std::fs::read(self.path()).unwrap(),
            before,
            "fix changed the file"
        );
    }
}

#[test]
fn invalid_yaml_points_at_the_error() {
    Case::new(b"build:\n  script: \"unclosed\n").expect(2, "invalid YAML");
    Case::new(b"a: 1\n b: 2\n").expect(2, "invalid YAML");
    let (_, text) = Case::new(b"a: 1\n b: 2\n").run("check");
    assert!(text.contains("ci.yml:2:"), "the position is shown: {text}");
    Case::new(b"a:\n\tb: 1\n").expect(2, "tabs");
}

#[test]
fn encodings_and_binary_files() {
    Case::new(b"a: \xff\xfe\n").expect(2, "not UTF-8");
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain("a: 1\n".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    Case::new(&utf16).expect(2, "UTF-16");
    Case::new(b"a: 1\0\nb: 2\n").expect(2, "NUL byte");
    Case::new(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0]).expect(2, "NUL byte");
}

#[test]
fn a_utf8_byte_order_mark_is_valid_and_kept() {
    let case = Case::new(format!("\u{feff}{KANIKO}").as_bytes());
    let (status, _) = case.run("fix");
    assert_eq!(status, Some(0));
    let fixed = std::fs::read_to_string(case.path()).unwrap();
    assert!(fixed.starts_with('\u{feff}') && fixed.contains("buildctl-daemonless.sh"));
}

#[test]
fn empty_files_and_comments_are_not_errors() {
    Case::new(b"").expect(0, "No Kaniko found");
    Case::new(b"# nothing here\n# at all\n").expect(0, "No Kaniko found");
}

#[test]
fn a_top_level_scalar_or_list_is_refused() {
    Case::new(b"just text\n").expect(2, "a single value");
    Case::new(b"- a\n- b\n").expect(2, "holds a list");
}

#[test]
fn duplicate_keys_follow_gitlab_and_warn() {
    let text = format!("build:\n  image: alpine\n  script: [echo]\n{KANIKO}");
    let case = Case::new(text.as_bytes());
    let (status, output) = case.run("check");
    assert_eq!(status, Some(1), "the later `build` (Kaniko) wins: {output}");
    assert!(output.contains("yaml/duplicate-key"), "{output}");
    // Both verifications read a repeated key as GitLab does, so the later
    // job is migrated and the earlier one kept as written.
    let (status, output) = case.run("fix");
    assert_eq!(status, Some(0), "{output}");
    let fixed = std::fs::read_to_string(case.path()).unwrap();
    assert!(
        fixed.starts_with("build:\n  image: alpine\n  script: [echo]\n")
            && fixed.contains("buildctl-daemonless.sh")
            && !fixed.contains("/kaniko/executor"),
        "{fixed}"
    );
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // Ten thousand nested block sequences, on one line.
    let block = format!("deep:\n  {}x\n", "- ".repeat(10_000));
    Case::new(block.as_bytes()).expect(0, "No Kaniko found");
    let with_kaniko = format!("{KANIKO}{block}");
    let case = Case::new(with_kaniko.as_bytes());
    // Both verifications read without recursion (serde_yaml's limit of 128
    // levels once refused this): the job is migrated, the nesting kept.
    let (status, output) = case.run("fix");
    assert_eq!(status, Some(0), "{output}");
    let fixed = std::fs::read_to_string(case.path()).unwrap();
    assert!(
        fixed.ends_with(&block) && fixed.contains("buildctl-daemonless.sh"),
        "{output}"
    );
    let flow = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    Case::new(flow.as_bytes()).expect(2, "recursion limit");
}

#[test]
fn an_alias_bomb_is_bounded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        text += &format!("a{level}: &a{level} [{refs}]\n");
    }
    text += "job:\n  image: gcr.io/kaniko-project/executor:debug\n  script: *a9\n";
    let case = Case::new(text.as_bytes());
    let (status, output) = case.run("check");
    assert_eq!(status, Some(1));
    assert!(output.contains("yaml/too-complex"), "{output}");
    let (status, output) = case.run("fix");
    assert!(matches!(status, Some(1) | Some(2)), "{output}");
    assert_eq!(std::fs::read_to_string(case.path()).unwrap(), text);
}

#[test]
fn paths_that_cannot_be_read() {
    let case = Case::new(b"a: 1\n");
    let missing = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args(["check", "does-not-exist.yml"])
        .current_dir(case.dir.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    #[cfg(unix)]
    {
        let dir = case.dir.path();
        std::os::unix::fs::symlink("loop-b.yml", dir.join("loop-a.yml")).unwrap();
        std::os::unix::fs::symlink("loop-a.yml", dir.join("loop-b.yml")).unwrap();
        let out = Command::cargo_bin("kaniko2buildkit")
            .unwrap()
            .args(["fix", "loop-a.yml"])
            .current_dir(dir)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Permissions only bind a process that is not root. CI runs as root, so
/// there the commands run as `nobody` through `setpriv` (util-linux); the
/// test fails rather than skips when that is not possible.
#[cfg(unix)]
#[test]
fn unreadable_and_unwritable_files() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let case = Case::new(KANIKO.as_bytes());
    let dir = case.dir.path();
    let root = std::fs::metadata(dir).unwrap().uid() == 0;
    let run = |command: &str| {
        let binary = assert_cmd::cargo::cargo_bin("kaniko2buildkit");
        let mut process = if root {
            let mut setpriv = std::process::Command::new("setpriv");
            setpriv.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
            setpriv.arg(binary);
            setpriv
        } else {
            std::process::Command::new(binary)
        };
        let out = process
            .current_dir(dir)
            .args(["--color", "never", command, "ci.yml"])
            .output()
            .expect("running as root needs `setpriv` (util-linux) to drop privileges");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!stderr.contains("panicked"), "{stderr}");
        (out.status.code(), stderr)
    };
    // `nobody` must reach the directory for the file's own mode to matter.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(case.path(), std::fs::Permissions::from_mode(0o000)).unwrap();
    let (status, stderr) = run("check");
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("ermission denied"), "{stderr}");
    std::fs::set_permissions(case.path(), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let (status, stderr) = run("fix");
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("temporary file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(case.path()).unwrap(), KANIKO);
}

/// A crash between writing the new text and renaming it over the file
/// leaves the original whole: the original or the new file, never a mix.
#[test]
fn a_crash_during_fix_leaves_the_original() {
    let case = Case::new(KANIKO.as_bytes());
    let out = Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .current_dir(case.dir.path())
        .env("KANIKO2BUILDKIT_FAILPOINT", "before-rename")
        .args(["fix", "ci.yml"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "the process was killed");
    assert_eq!(std::fs::read_to_string(case.path()).unwrap(), KANIKO);
    let (status, _) = case.run("fix");
    assert_eq!(status, Some(0), "a later run still works");
    let fixed = std::fs::read_to_string(case.path()).unwrap();
    assert!(fixed.contains("buildctl-daemonless.sh") && !fixed.contains("/kaniko/executor"));
}

/// Nothing of a file outside the project appears in any output.
#[test]
fn includes_outside_the_root_are_never_read() {
    let outer = tempfile::tempdir().unwrap();
    std::fs::write(
        outer.path().join("secret.yml"),
        "SECRET_MARKER_42: {script: [x]}\n",
    )
    .unwrap();
    let inner = outer.path().join("repo");
    std::fs::create_dir_all(inner.join(".git")).unwrap();
    std::fs::write(
        inner.join("ci.yml"),
        format!(
            "include:\n  - local: ../secret.yml\n  - local: {}\n{KANIKO}",
            outer.path().join("secret.yml").display()
        ),
    )
    .unwrap();
    for command in ["check", "diff", "fix"] {
        let out = Command::cargo_bin("kaniko2buildkit")
            .unwrap()
            .current_dir(&inner)
            .args([command, "ci.yml"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(!text.contains("SECRET_MARKER_42"), "{command}: {text}");
    }
}

/// Found by fuzzing: a mapping that merges itself, and very long `extends`
/// chains, end with a finding instead of exhausting the stack.
#[test]
fn self_merges_and_long_extends_chains_are_bounded() {
    let recursive = b".a: &a\n  image: gcr.io/kaniko-project/executor:debug\n  <<: *a\njob:\n  <<: *a\n  script: [echo]\n";
    let case = Case::new(recursive);
    let (status, output) = case.run("check");
    assert_eq!(status, Some(1), "{output}");
    let (status, output) = case.run("fix");
    assert_eq!(
        status,
        Some(2),
        "a recursive structure cannot be verified: {output}"
    );
    assert_eq!(std::fs::read(case.path()).unwrap(), recursive);
    let chain: String = (0..5_000)
        .map(|i| format!(".t{i}:\n  extends: .t{}\n", i + 1))
        .collect::<String>()
        + ".t5000:\n  image: gcr.io/kaniko-project/executor:debug\nbuild:\n  extends: .t0\n  script: [make]\n";
    let (status, output) = Case::new(chain.as_bytes()).run("check");
    assert_eq!(status, Some(1));
    assert!(output.contains("yaml/too-complex"), "{output}");
}

/// Inputs the fuzzer found crashes with; each must now run to an exit code.
#[test]
fn fuzz_regressions() {
    let inputs: [&[u8]; 3] = [
        // A lone carriage return ends a line for yaml-rust2.
        b"build:\r\n  image: gcr.io/kaniko-project/executor:debug\r\n  script:\r \n   - |\r\n     /kaniko/executor \\\r\n",
        // A mapping that merges itself.
        b".a: &a\n  <<: *a\n  image: gcr.io/kaniko-project/executor:debug\nb:\n  <<: *a\n  script: [x]\n",
        // A program word that is both a busybox path and the executor.
        b"j:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - '/busybox//kaniko/executor --context . --destination registry.example.com/b:1'\n",
    ];
    for input in inputs {
        let case = Case::new(input);
        for command in ["check", "diff", "fix"] {
            let (status, output) = case.run(command);
            assert!(matches!(status, Some(0..=2)), "{command}: {output}");
        }
    }
}
