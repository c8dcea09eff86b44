//! Snapshot tests: every fixture under `fixtures/check/` (a file, or a folder
//! holding a `.gitlab-ci.yml` and its includes) is checked, and the rendered
//! diagnostics plus the exit code are compared with `fixtures/check/expected/`.

mod common;

use std::path::{Path, PathBuf};

use kaniko2buildkit::cli::OutputFormat;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check")
}

fn fixtures() -> Vec<(String, PathBuf, PathBuf)> {
    common::fixtures("check", 20)
        .into_iter()
        .map(|f| (f.name, f.path, f.root))
        .collect()
}

#[test]
fn rendered_diagnostics_match_snapshots() {
    common::snapshot_settings(&fixtures_dir().join("expected")).bind(|| {
        for (name, path, root) in fixtures() {
            let (code, stdout, stderr) = common::check(&path, &root, OutputFormat::Full);
            insta::assert_snapshot!(name, format!("exit code: {code}\n{stderr}{stdout}"));
        }
    });
}

#[test]
fn json_findings_match_snapshots() {
    common::snapshot_settings(&fixtures_dir().join("expected")).bind(|| {
        for (name, path, root) in fixtures() {
            let (_, stdout, _) = common::check(&path, &root, OutputFormat::Concise);
            insta::assert_snapshot!(format!("{name}.concise"), stdout);
        }
    });
}

#[test]
fn negative_fixtures_exit_zero_and_positive_exit_one() {
    for (name, path, root) in fixtures() {
        let (code, _, _) = common::check(&path, &root, OutputFormat::Concise);
        let expected = if name.starts_with("negative") { 0 } else { 1 };
        assert_eq!(code, expected, "{name}");
    }
}
