//! Helpers shared by the fixture-driven tests.

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
