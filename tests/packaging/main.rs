//! The project as users receive it: the crate's metadata and package, the
//! container image's Dockerfile, the project's own pipeline, the CI/CD
//! component, the pre-commit hooks, and the one repository address and the
//! one version they all name.
//!
//! None of this can be built or published here (no Docker, no registry
//! upload), so each test checks the files against what the build would do:
//! the binary path `cargo build --release` makes, the archive name
//! `cargo binstall` asks for, the job shape `kaniko2buildkit fix` writes.

mod dockerfile;
mod pipeline;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use regex::Regex;
use serde_yaml::Value;

// --- reading the project ------------------------------------------------------

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|error| panic!("{relative}: {error}"))
}

fn yaml(relative: &str) -> Value {
    serde_yaml::from_str(&read(relative)).unwrap_or_else(|error| panic!("{relative}: {error}"))
}

/// `[package]` of Cargo.toml.
fn package() -> toml::Table {
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    manifest["package"].as_table().unwrap().clone()
}

fn field(name: &str) -> String {
    match package().get(name) {
        Some(toml::Value::String(value)) => value.clone(),
        other => panic!("Cargo.toml: `package.{name}` is {other:?}, not a string"),
    }
}

fn version() -> String {
    field("version")
}

fn name() -> String {
    field("name")
}

/// `https://HOST/GROUP/NAME`, from `repository` in Cargo.toml.
fn repository() -> String {
    field("repository")
}

/// `HOST/GROUP/NAME` of the repository.
fn repository_path() -> String {
    repository().strip_prefix("https://").unwrap().to_string()
}

/// The container image, without tag: GitLab's registry for the repository.
fn image() -> String {
    format!("registry.{}", repository_path())
}

/// A `major.minor` version as a comparable pair.
fn minor_version(text: &str) -> (u32, u32) {
    let mut parts = text.split('.').map(|part| part.parse::<u32>().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

fn rust_version() -> (u32, u32) {
    minor_version(&field("rust-version"))
}

/// The oldest Rust that knows edition 2024.
const EDITION_2024: (u32, u32) = (1, 85);

fn get<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |node, key| match node.get(*key) {
        Some(next) => next,
        None => panic!("no `{}` in the YAML", path.join(".")),
    })
}

fn string<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    get(value, path)
        .as_str()
        .unwrap_or_else(|| panic!("`{}` is not a string", path.join(".")))
}

/// A job's `script` lines, each a whole string.
fn script(job: &Value) -> Vec<String> {
    job.get("script")
        .and_then(Value::as_sequence)
        .expect("a job with a script list")
        .iter()
        .map(|line| line.as_str().expect("script lines are strings").to_string())
        .collect()
}

// --- the crate ---------------------------------------------------------------

/// What crates.io asks of a package, and what `cargo publish` would refuse.
#[test]
fn cargo_metadata_is_complete() {
    let description = field("description");
    assert!(
        (20..=200).contains(&description.len()),
        "description: {description}"
    );
    assert_eq!(field("license"), "MIT OR Apache-2.0");
    let mit = read("LICENSE-MIT");
    assert!(mit.starts_with("MIT License") && mit.contains("Permission is hereby granted"));
    let apache = read("LICENSE-APACHE");
    assert!(
        apache.contains("Version 2.0, January 2004")
            && apache.contains("END OF TERMS AND CONDITIONS")
    );

    let repository = repository();
    let path_text = repository_path();
    let path: Vec<&str> = path_text.split('/').collect();
    assert_eq!(
        path.len(),
        3,
        "repository is not https://HOST/GROUP/NAME: {repository}"
    );
    assert_eq!(path[2], name(), "the repository is named after the crate");
    for key in ["homepage", "documentation"] {
        assert!(
            field(key).starts_with(&repository),
            "{key} is not under {repository}"
        );
    }
    assert!(root().join(field("readme")).is_file());

    let keywords = package()["keywords"].as_array().unwrap().clone();
    assert!(
        (1..=5).contains(&keywords.len()),
        "crates.io takes at most 5 keywords"
    );
    let keyword = Regex::new(r"^[a-z][a-z0-9_+-]{0,19}$").unwrap();
    for word in &keywords {
        assert!(
            keyword.is_match(word.as_str().unwrap()),
            "crates.io refuses keyword {word:?}"
        );
    }
    // crates.io's category slugs that fit this tool; a new one goes here after
    // checking https://crates.io/category_slugs.
    let known = [
        "command-line-utilities",
        "development-tools",
        "development-tools::build-utils",
        "development-tools::testing",
        "config",
    ];
    let categories = package()["categories"].as_array().unwrap().clone();
    assert!((1..=5).contains(&categories.len()));
    for category in &categories {
        assert!(
            known.contains(&category.as_str().unwrap()),
            "unknown category {category:?}"
        );
    }
    assert!(
        rust_version() >= EDITION_2024,
        "edition 2024 needs Rust 1.85"
    );
}

/// The host's target triple, for `cargo metadata --filter-platform`: the
/// packages of other platforms are not downloaded here.
fn host_triple() -> String {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Process::new(rustc).arg("-vV").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("host: "))
        .expect("rustc -vV names the host")
        .to_string()
}

/// `rust-version` is the floor the locked dependencies and the edition set,
/// no lower (the build would fail there) and no higher (users of older Rust
/// would be turned away for nothing); the `msrv` job tests on it.
#[test]
fn rust_version_is_the_floor_of_the_locked_dependencies() {
    const OWN_CODE: (u32, u32) = (1, 89);
    let out = Process::new(env!("CARGO"))
        .args(["metadata", "--locked", "--offline", "--format-version", "1"])
        .args(["--filter-platform", &host_triple()])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (floor, by) = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|package| package["name"] != name().as_str())
        .filter_map(|package| {
            let version = package["rust_version"].as_str()?;
            Some((
                minor_version(version),
                package["name"].as_str()?.to_string(),
            ))
        })
        .max()
        .unwrap();
    let (floor, by) = if floor > EDITION_2024 {
        (floor, by)
    } else {
        (EDITION_2024, "edition 2024".into())
    };
    // The crate's own code: `File::lock` (src/write.rs) is stable since 1.89.
    let (floor, by) = if floor > OWN_CODE {
        (floor, by)
    } else {
        (OWN_CODE, "`File::lock` in src/write.rs".into())
    };
    assert_eq!(
        rust_version(),
        floor,
        "{by} needs Rust {}.{}: set rust-version to it, with the `msrv` job's image in .gitlab-ci.yml",
        floor.0,
        floor.1
    );
    let pipeline = yaml(".gitlab-ci.yml");
    assert_eq!(
        string(&pipeline, &["msrv", "image"]),
        format!("rust:{}.{}-slim", floor.0, floor.1)
    );
}

/// `cargo package` holds what the build reads and what a reader of the
/// crate expects, and not the fixtures that are most of the repository.
#[test]
fn package_holds_the_sources_and_not_the_fixtures() {
    let out = Process::new(env!("CARGO"))
        .args([
            "package",
            "--list",
            "--locked",
            "--offline",
            "--allow-dirty",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: BTreeSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "README.md",
        "CHANGELOG.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "src/main.rs",
        "src/lib.rs",
        // Compiled in with include_str!.
        "docs/rules.md",
    ] {
        assert!(listed.contains(needed), "the package lacks {needed}");
    }
    for source in files_under(&root().join("src")) {
        let relative = source
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(listed.contains(&relative), "the package lacks {relative}");
    }
    for file in &listed {
        for bulk in [
            "fixtures/",
            "tests/",
            "fuzz/",
            "benches/",
            "target/",
            ".ci/",
        ] {
            assert!(!file.starts_with(bulk), "the package holds {file}");
        }
    }
    let bytes: u64 = listed
        .iter()
        .filter_map(|file| std::fs::metadata(root().join(file)).ok())
        .map(|metadata| metadata.len())
        .sum();
    // Sources and docs of three CI front-ends: well under crates.io's 10 MB,
    // and small next to the fixtures left out.
    assert!(bytes < 1536 * 1024, "the package is {bytes} bytes");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

// --- one address, one version --------------------------------------------------

/// The files that name the project's address or version.
const PUBLIC_FILES: &[&str] = &[
    "README.md",
    "CHANGELOG.md",
    "Dockerfile",
    ".gitlab-ci.yml",
    ".pre-commit-hooks.yaml",
    "templates/kaniko-gate.yml",
    "examples/lint-gate.gitlab-ci.yml",
];

fn public_texts() -> Vec<(String, String)> {
    let mut files: Vec<String> = PUBLIC_FILES.iter().map(|f| f.to_string()).collect();
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    files
        .into_iter()
        .map(|file| {
            let text = read(&file);
            (file, text)
        })
        .collect()
}

/// Every mention of the project's address, image or component path is the
/// one in Cargo.toml: no placeholder or stale address survives anywhere.
#[test]
fn every_address_is_the_repository() {
    let path = repository_path();
    let mention = Regex::new(r"[\w.-]+\.[a-z]{2,}/[\w.-]+/kaniko2buildkit\b").unwrap();
    for (file, text) in public_texts() {
        for found in mention.find_iter(&text) {
            let found = found.as_str();
            assert!(
                found == path || found == format!("registry.{path}"),
                "{file}: {found} is not {path}"
            );
        }
        assert!(
            !text.contains("github.com/kaniko2buildkit"),
            "{file}: a GitHub address"
        );
    }
    assert!(kaniko2buildkit::rules::RULES_URL.starts_with(&repository()));
}

/// Every versioned mention (image tag, component, hook `rev`, archive name)
/// is the crate's version, and CHANGELOG.md has its section.
#[test]
fn every_version_is_the_crates() {
    let version = version();
    let mentions = Regex::new(concat!(
        r"kaniko2buildkit:(\d+\.\d+\.\d+)",
        r"|kaniko-gate@(\d+\.\d+\.\d+)",
        r"|rev: v?(\d+\.\d+\.\d+)",
        r"|releases/(\d+\.\d+\.\d+)/downloads",
        r"|kaniko2buildkit-(\d+\.\d+\.\d+)-",
        r"|kaniko2buildkit --version (\d+\.\d+\.\d+)",
    ))
    .unwrap();
    let mut seen = 0;
    for (file, text) in public_texts() {
        if file == "CHANGELOG.md" {
            continue;
        }
        for captures in mentions.captures_iter(&text) {
            let found = captures.iter().skip(1).flatten().next().unwrap().as_str();
            assert_eq!(found, version, "{file}: {}", &captures[0]);
            seen += 1;
        }
    }
    assert!(
        seen >= 10,
        "only {seen} versioned mentions found: is the pattern stale?"
    );
    let changelog = read("CHANGELOG.md");
    let heading = Regex::new(&format!(
        r"(?m)^## {}( \(unreleased\))?$",
        regex::escape(&version)
    ))
    .unwrap();
    assert!(
        heading.is_match(&changelog),
        "CHANGELOG.md has no `## {version}` section"
    );
}

/// The README says how to install before how to use, and keeps its first
/// two commands.
#[test]
fn readme_says_how_to_install_before_use() {
    let readme = read("README.md");
    assert!(readme.starts_with(
        "# kaniko2buildkit\n\n```sh\n\
         cargo run --release -- diff examples/gitlab-ci.yml    # show the migration of the bundled example\n\
         cargo test --locked                                   # run the test suite\n```\n"
    ));
    let install = readme.find("\n## Install\n").expect("an Install section");
    let usage = readme.find("\n## Use\n").expect("a Use section");
    assert!(install < usage);
    let section = &readme[install..usage];
    for needed in [
        "cargo install --locked kaniko2buildkit",
        "cargo binstall kaniko2buildkit",
        "-unknown-linux-musl.tar.gz",
        &format!(
            r#"docker run --rm -v "$PWD:/src" -w /src {}:{} check"#,
            image(),
            version()
        ),
        &format!(
            "- component: {}/kaniko-gate@{}",
            repository_path(),
            version()
        ),
        &format!("- repo: {}", repository()),
    ] {
        assert!(section.contains(needed), "Install lacks `{needed}`");
    }
}
