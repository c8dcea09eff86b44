//! The whole pipeline on arbitrary bytes: parse, resolve, detect, map,
//! rewrite and verify. Any panic is a bug; a refused rewrite is not.
#![no_main]

use kaniko2buildkit::analysis::analyse;
use kaniko2buildkit::config::Config;
use kaniko2buildkit::gitlab::yaml::Tree;
use kaniko2buildkit::gitlab::{Input, Pipeline, decode_text};
use kaniko2buildkit::migrate::{self, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = decode_text(data.to_vec()) else { return };
    // An empty directory as the project root: includes find nothing.
    let root = std::env::temp_dir().join("kaniko2buildkit-fuzz-root");
    let _ = std::fs::create_dir_all(&root);
    let pipeline = Pipeline::load(&root, Input::Stdin { text, name: ".gitlab-ci.yml".into() });
    if !pipeline.errors.is_empty() {
        return;
    }
    let _ = analyse(&pipeline, &Config::default());
    if let Ok(migration) = migrate::migrate(&pipeline, &Options::default()) {
        for rewrite in &migration.rewrites {
            assert!(Tree::parse(&rewrite.text).is_ok(), "a verified rewrite must parse");
        }
    }
});
