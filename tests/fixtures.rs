//! Snapshot tests: every fixture under `fixtures/check/` (a file, or a folder
//! holding a `.gitlab-ci.yml` and its includes) is checked, and the rendered
//! diagnostics plus the exit code are compared with `fixtures/check/expected/`.

mod common;

use std::path::{Path, PathBuf};

use kaniko2buildkit::check::{self, Output};
use kaniko2buildkit::cli::{CheckArgs, OutputFormat};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check")
}

/// Runs `check` on `path` the way the CLI would, without colour.
fn check(path: &Path, root: &Path, format: OutputFormat) -> (u8, String, String) {
    let args = CheckArgs {
        paths: vec![path.to_path_buf()],
        root: Some(root.to_path_buf()),
        stdin_filename: None,
        output_format: format,
        exit_zero: false,
        ..Default::default()
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut output = Output {
        stdout: &mut stdout,
        stderr: &mut stderr,
        colors: Default::default(),
        quiet: false,
    };
    let code = check::run(&args, &mut output);
    (
        code,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn fixtures() -> Vec<(String, PathBuf, PathBuf)> {
    common::fixtures("check", 20)
        .into_iter()
        .map(|f| (f.name, f.path, f.root))
        .collect()
}

#[test]
fn rendered_diagnostics_match_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(fixtures_dir().join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, path, root) in fixtures() {
            let (code, stdout, stderr) = check(&path, &root, OutputFormat::Full);
            insta::assert_snapshot!(name, format!("exit code: {code}\n{stderr}{stdout}"));
        }
    });
}

#[test]
fn json_findings_match_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(fixtures_dir().join("expected"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, path, root) in fixtures() {
            let (_, stdout, _) = check(&path, &root, OutputFormat::Concise);
            insta::assert_snapshot!(format!("{name}.concise"), stdout);
        }
    });
}

#[test]
fn negative_fixtures_exit_zero_and_positive_exit_one() {
    for (name, path, root) in fixtures() {
        let (code, _, _) = check(&path, &root, OutputFormat::Concise);
        let expected = if name.starts_with("negative") { 0 } else { 1 };
        assert_eq!(code, expected, "{name}");
    }
}
