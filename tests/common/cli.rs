//! Helpers for the tests that run the command line: a scratch project and
//! what one run printed. Each test file uses the part it needs.
#![allow(dead_code)]

use assert_cmd::Command;

/// What one run of the tool left: its exit code and output.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The binary, run in `dir`, with a timeout so that a hang fails instead
/// of stalling, and without the settings of the CI system or terminal the
/// tests run in (`GITLAB_CI`, `CLICOLOR_FORCE`, `NO_COLOR`, `TERM`).
pub fn k2b(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("kaniko2buildkit").unwrap();
    cmd.current_dir(dir)
        .env_remove("GITLAB_CI")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("NO_COLOR")
        .env_remove("TERM")
        .timeout(std::time::Duration::from_secs(20));
    cmd
}

/// Runs the binary in `dir` with `args`.
pub fn run_in(dir: &std::path::Path, args: &[&str]) -> Run {
    run(k2b(dir).args(args))
}

/// [`run_in`] with `--color never` first.
pub fn run_plain(dir: &std::path::Path, args: &[&str]) -> Run {
    run(k2b(dir).args(["--color", "never"]).args(args))
}

pub fn run(cmd: &mut Command) -> Run {
    let output = cmd.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A project in a temporary directory: a `.git` folder and `files`.
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}
