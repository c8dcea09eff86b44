//! Helpers shared by the fixture-driven tests. Each test file uses the
//! part it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// A fixture: its name, the file to open, and the project root to use.
pub struct Fixture {
    pub name: String,
    pub path: PathBuf,
    pub root: PathBuf,
}

/// Every fixture under `fixtures/<group>/`: a `.yml` file (its root is the
/// group folder), or a folder holding a `.gitlab-ci.yml` and its includes
/// (the folder is the root). Fails when fewer than `at_least` are found, so
/// a moved folder cannot make the tests pass by testing nothing.
pub fn fixtures(group: &str, at_least: usize) -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(group);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() && path.join(".gitlab-ci.yml").exists() {
            found.push(Fixture {
                name,
                path: path.join(".gitlab-ci.yml"),
                root: path,
            });
        } else if let Some(stem) = name.strip_suffix(".yml") {
            found.push(Fixture {
                name: stem.to_string(),
                path,
                root: dir.clone(),
            });
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(found.len() >= at_least, "fixtures/{group} went missing");
    found
}

/// Runs `check` on `path` in process, as the CLI would, without colour:
/// the exit code, stdout and stderr.
pub fn check(
    path: &Path,
    root: &Path,
    format: kaniko2buildkit::cli::OutputFormat,
) -> (u8, String, String) {
    let args = kaniko2buildkit::cli::CheckArgs {
        paths: vec![path.to_path_buf()],
        root: Some(root.to_path_buf()),
        output_format: format,
        ..Default::default()
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut output = kaniko2buildkit::check::Output {
        stdout: &mut stdout,
        stderr: &mut stderr,
        colors: Default::default(),
        quiet: false,
    };
    let code = kaniko2buildkit::check::run(&args, &mut output);
    (
        code,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// Snapshots kept in `dir`, named without the test module.
pub fn snapshot_settings(dir: &Path) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings
}
