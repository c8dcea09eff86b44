//! The Dockerfile, parsed: the binary the image copies is the one the build
//! stage's `cargo build --release` makes, and `.dockerignore` lets in what
//! that build reads.

use regex::Regex;

use crate::{
    field, files_under, minor_version, name, read, repository, root, rust_version, version,
};

/// One Dockerfile instruction, continuation lines joined.
struct Instruction {
    keyword: String,
    arguments: String,
}

/// A build stage: its base image (global `ARG`s substituted), its name and
/// its instructions.
struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &str> {
        self.instructions
            .iter()
            .filter(move |instruction| instruction.keyword == keyword)
            .map(|instruction| instruction.arguments.as_str())
    }
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (keyword, arguments) = line.split_once(char::is_whitespace).unwrap_or((&line, ""));
            Instruction {
                keyword: keyword.to_ascii_uppercase(),
                arguments: arguments.trim().to_string(),
            }
        })
        .collect()
}

/// `NAME=default` of an `ARG`, or `None` for `ARG NAME`.
fn arg_default(arguments: &str) -> (String, Option<String>) {
    match arguments.split_once('=') {
        Some((name, value)) => (name.to_string(), Some(value.trim_matches('"').to_string())),
        None => (arguments.to_string(), None),
    }
}

fn stages(text: &str) -> Vec<Stage> {
    let mut globals: Vec<(String, String)> = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions(text) {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction.arguments.split_whitespace().collect();
            let mut base = words[0].to_string();
            for (name, value) in &globals {
                base = base.replace(&format!("${{{name}}}"), value);
            }
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push(Stage {
                base,
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        } else if instruction.keyword == "ARG"
            && let (name, Some(value)) = arg_default(&instruction.arguments)
        {
            globals.push((name, value));
        }
    }
    stages
}

/// `KEY="value"` pairs of the `LABEL` instructions.
fn labels(stage: &Stage) -> Vec<(String, String)> {
    let pair = Regex::new(r#"([\w.-]+)="([^"]*)""#).unwrap();
    stage
        .all("LABEL")
        .flat_map(|arguments| {
            pair.captures_iter(arguments)
                .map(|c| (c[1].to_string(), c[2].to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The image's binary is the one `cargo build --release` makes in the build
/// stage, statically linked (musl), in a small image with a shell, run as a
/// user other than root, labelled with the version, source and license.
#[test]
fn dockerfile_copies_the_release_binary_into_a_small_non_root_image() {
    let stages = stages(&read("Dockerfile"));
    assert_eq!(stages.len(), 2, "a build stage and the final image");
    let (build, last) = (&stages[0], &stages[1]);

    // Alpine's Rust targets *-linux-musl, whose binaries are static.
    let rust = Regex::new(r"^rust:(\d+\.\d+)-alpine[\d.]*$").unwrap();
    let toolchain = rust
        .captures(&build.base)
        .unwrap_or_else(|| panic!("the build stage is not rust:X.Y-alpine: {}", build.base));
    assert!(
        minor_version(&toolchain[1]) >= rust_version(),
        "older than rust-version"
    );

    let workdir = build
        .all("WORKDIR")
        .last()
        .expect("the build stage sets WORKDIR");
    let cargo = build
        .all("RUN")
        .find(|run| run.contains("cargo build"))
        .expect("the build stage runs cargo build");
    assert!(cargo.contains("cargo build --release --locked"), "{cargo}");
    for env in build.all("ENV") {
        assert!(
            !env.contains("CARGO_TARGET_DIR") && !env.contains("CARGO_BUILD_TARGET"),
            "{env}"
        );
    }
    let target = Regex::new(r"--target[= ](\S+)").unwrap();
    let triple = target
        .captures(cargo)
        .map(|c| format!("{}/", &c[1]))
        .unwrap_or_default();
    let binary = format!("{workdir}/target/{triple}release/{}", name());

    let stage_name = build.name.as_deref().expect("the build stage is named");
    let copy = format!("--from={stage_name} {binary} /usr/local/bin/{}", name());
    assert!(
        last.all("COPY").any(|arguments| arguments == copy),
        "no `COPY {copy}`"
    );
    assert_eq!(
        last.all("ENTRYPOINT").last(),
        Some(format!(r#"["{}"]"#, name()).as_str())
    );

    // GitLab runs job scripts with sh: the final image needs one.
    assert!(
        last.base.starts_with("alpine:"),
        "final image {}",
        last.base
    );
    let user = last.all("USER").last().expect("the image sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "root" && uid != "0", "the image runs as {user}");
    assert!(
        last.instructions.iter().rposition(|i| i.keyword == "USER")
            > last.instructions.iter().rposition(|i| i.keyword == "RUN"),
        "a RUN after USER would run as the user, before it as root: USER comes last"
    );

    let labels = labels(last);
    let label = |key: &str| {
        labels
            .iter()
            .find(|(name, _)| name == &format!("org.opencontainers.image.{key}"))
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("no org.opencontainers.image.{key} label"))
    };
    assert_eq!(label("version"), "${VERSION}");
    let version_arg = last
        .all("ARG")
        .map(arg_default)
        .find(|(name, _)| name == "VERSION")
        .and_then(|(_, value)| value);
    assert_eq!(
        version_arg,
        Some(version()),
        "ARG VERSION defaults to the crate's version"
    );
    assert_eq!(label("source"), repository());
    assert_eq!(label("licenses"), field("license"));
}

/// `.dockerignore` lets in everything the build reads, and only that.
#[test]
fn dockerignore_lets_in_what_the_build_reads() {
    let text = read(".dockerignore");
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    assert_eq!(lines.next(), Some("*"), "everything is excluded first");
    let allowed: Vec<&str> = lines
        .map(|l| l.strip_prefix('!').expect("then only `!` lines"))
        .collect();
    let mut needed = vec![
        "Cargo.toml".to_string(),
        "Cargo.lock".to_string(),
        "src/".to_string(),
        "LICENSE-MIT".to_string(),
        "LICENSE-APACHE".to_string(),
    ];
    // Files compiled in with include_str! outside src/.
    let include = Regex::new(r#"include_str!\("((?:\.\./)+)([^"]+)"\)"#).unwrap();
    for file in files_under(&root().join("src")) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for captures in include.captures_iter(&text) {
            let dir = file.parent().unwrap().join(&captures[1]).join(&captures[2]);
            let relative = dir.canonicalize().unwrap();
            let relative = relative
                .strip_prefix(root().canonicalize().unwrap())
                .unwrap();
            if !relative.starts_with("src") {
                needed.push(format!(
                    "{}/",
                    relative.iter().next().unwrap().to_string_lossy()
                ));
            }
        }
    }
    // Cargo refuses a manifest whose [[bench]] file is missing.
    let manifest: toml::Table = toml::from_str(&read("Cargo.toml")).unwrap();
    for bench in manifest
        .get("bench")
        .and_then(|b| b.as_array())
        .into_iter()
        .flatten()
    {
        let path = bench
            .get("path")
            .and_then(|p| p.as_str())
            .map(str::to_owned)
            .unwrap_or_else(|| format!("benches/{}.rs", bench["name"].as_str().unwrap()));
        needed.push(format!("{}/", path.split('/').next().unwrap()));
    }
    for path in needed {
        assert!(
            allowed.contains(&path.as_str()),
            ".dockerignore keeps out {path}"
        );
    }
}
