//! The whole pipeline on arbitrary bytes: parse, resolve, detect, map,
//! rewrite and verify, then every report format, the graphical diagnostics
//! included (that is where a panic past column 65,535 hid). Any panic is a
//! bug; a refused rewrite is not.
#![no_main]

use kaniko2buildkit::analysis::analyse;
use kaniko2buildkit::config::Config;
use kaniko2buildkit::yaml::Tree;
use kaniko2buildkit::gitlab::{Input, Pipeline, decode_text};
use kaniko2buildkit::migrate::{self, Options};
use kaniko2buildkit::report::{self, Checked, Renderer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = decode_text(data.to_vec()) else { return };
    // An empty directory as the project root: includes find nothing.
    let root = std::env::temp_dir().join("kaniko2buildkit-fuzz-root");
    let _ = std::fs::create_dir_all(&root);
    let pipeline = Pipeline::load(&root, Input::Stdin { text, name: ".gitlab-ci.yml".into() });
    let renderer = Renderer::new(false);
    for error in &pipeline.errors {
        let _ = renderer.load_error(error);
    }
    if !pipeline.errors.is_empty() {
        return;
    }
    let analysis = analyse(&pipeline, &Config::default());
    render_all(&renderer, &pipeline, &analysis.findings);
    if let Ok(migration) = migrate::migrate(&pipeline, &Options::default()) {
        render_all(&renderer, &pipeline, &migration.findings);
        for rewrite in &migration.rewrites {
            assert!(Tree::parse(&rewrite.text).is_ok(), "a verified rewrite must parse");
        }
    }
});

/// Every format `check` writes, for these findings.
fn render_all(renderer: &Renderer, pipeline: &Pipeline, findings: &[kaniko2buildkit::finding::Finding]) {
    for finding in findings {
        let _ = renderer.finding(pipeline, finding);
        let _ = report::concise(pipeline, finding);
    }
    let checked = [Checked { pipeline, findings }];
    let _ = report::render_json(&checked);
    let _ = report::render_gitlab(&checked);
    let _ = report::render_sarif(&checked);
    let _ = report::render_junit(&checked);
    let _ = report::render_github(&checked);
}
