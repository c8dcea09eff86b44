//! What a CLI of this ecosystem is expected to have (issue 15, part 5):
//! shell completions, a manual page, `-q`, and the README's claims, each
//! checked against the binary.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use kaniko2buildkit::mapping::flavor::Flavor;
use regex::Regex;
use serde_json::Value;

#[path = "common/cli.rs"]
mod cli;
use cli::{k2b, project, run, run_in};

const KANIKO_JOB: &str = "\
build:
  image: gcr.io/kaniko-project/executor:debug
  script:
    - /kaniko/executor --context . --destination registry.example.com/app:1
";

const CLEAN_JOB: &str = "test:\n  image: python:3.12\n  script:\n    - pytest\n";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

/// The body of the first fenced block of `language` after `marker`.
fn fenced<'a>(text: &'a str, marker: &str, language: &str) -> &'a str {
    let after = &text[text.find(marker).unwrap_or_else(|| panic!("no `{marker}`"))..];
    let open = format!("```{language}\n");
    let start = after.find(&open).unwrap() + open.len();
    let end = after[start..].find("```").unwrap();
    &after[start..start + end]
}

#[test]
fn completions_for_every_shell() {
    let dir = project(&[]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run_in(dir.path(), &["completions", shell]);
        assert_eq!(out.code, Some(0), "{shell}: {out:?}");
        for word in ["check", "audit", "output-format"] {
            assert!(out.stdout.contains(word), "{shell} {word}: {out:?}");
        }
    }
    let out = run_in(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.code, Some(2), "{out:?}");
}

/// `man` prints the page; `docs/kaniko2buildkit.1` is that page
/// (`KANIKO2BUILDKIT_UPDATE_DOCS=1` rewrites it).
#[test]
fn the_man_page_is_generated_and_up_to_date() {
    let out = run_in(repo(), &["man"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains(".TH kaniko2buildkit 1"),
        "{}",
        out.stdout
    );
    for section in ["CHECK", "DIFF", "FIX", "AUDIT", "EXPLAIN", "COMPLETIONS"] {
        assert!(
            out.stdout
                .contains(&format!(".SH \"KANIKO2BUILDKIT {section}\"")),
            "{section}"
        );
    }
    assert!(
        out.stdout.contains("\\-\\-output\\-format"),
        "{}",
        out.stdout
    );
    let file = repo().join("docs/kaniko2buildkit.1");
    if std::env::var_os("KANIKO2BUILDKIT_UPDATE_DOCS").is_some() {
        std::fs::write(&file, &out.stdout).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        out.stdout,
        "docs/kaniko2buildkit.1 is stale: run KANIKO2BUILDKIT_UPDATE_DOCS=1 cargo test --test cli_surface"
    );
}

/// `-q` keeps the findings and drops the summary and notes.
#[test]
fn quiet_prints_findings_only() {
    let dir = project(&[(".gitlab-ci.yml", KANIKO_JOB)]);
    let out = run_in(dir.path(), &["-q", "check", "--output-format", "concise"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
    assert!(!out.stdout.contains("Found"), "{out:?}");
    let out = run_in(dir.path(), &["diff", "--quiet"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stdout.contains("+++ b/.gitlab-ci.yml"), "{out:?}");
    // The migration's own diagnostics stay (the registry login's note);
    // the run notes and the summary go.
    assert!(!out.stderr.contains("note: "), "{out:?}");
    assert!(!out.stderr.contains("Would migrate"), "{out:?}");
    let out = run_in(dir.path(), &["fix", "-q"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(!out.stderr.contains("note: "), "{out:?}");
    assert!(!out.stderr.contains("Migrated"), "{out:?}");
}

/// The README's exit-code table is what the binary does.
#[test]
fn readme_exit_codes_hold() {
    let readme = read("README.md");
    let rows: Vec<(i32, String)> = Regex::new(r"(?m)^\| ([0-9]) \| (.+) \|$")
        .unwrap()
        .captures_iter(&readme)
        .map(|c| (c[1].parse().unwrap(), c[2].to_string()))
        .collect();
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(
        readme.contains("actionlint differs"),
        "README must say how actionlint differs"
    );
    let dir = project(&[
        ("clean.yml", CLEAN_JOB),
        ("kaniko.yml", KANIKO_JOB),
        ("invalid.yml", "a: [\n"),
    ]);
    let cases: [(&[&str], i32); 6] = [
        (&["check", "clean.yml"], 0),
        (&["check", "kaniko.yml"], 1),
        (&["check", "--exit-zero", "kaniko.yml"], 0),
        (&["check", "invalid.yml"], 2),
        (&["check", "missing.yml"], 2),
        (&["check", "--no-such-option"], 2),
    ];
    for (args, code) in cases {
        assert_eq!(run_in(dir.path(), args).code, Some(code), "{args:?}");
    }
    assert!(
        rows[2]
            .1
            .contains("invalid YAML, unreadable file, bad arguments")
    );
}

/// Every command in the README's "Use" block runs (exit 0 or 1, never a
/// usage error) on a project with a Kaniko job.
#[test]
fn readme_commands_run() {
    let readme = read("README.md");
    let block = fenced(&readme, "## Use", "sh");
    let mut count = 0;
    for line in block.lines().filter(|l| l.starts_with("kaniko2buildkit ")) {
        let command = line
            .split(" # ")
            .next()
            .unwrap()
            .split(" | ")
            .next()
            .unwrap();
        let (command, stdin) = match command.split_once(" < ") {
            Some((command, file)) => (command, Some(file.trim())),
            None => (command, None),
        };
        let words = shlex::split(command).expect("shell words");
        let dir = project(&[
            (".gitlab-ci.yml", KANIKO_JOB),
            ("ci/templates.yml", KANIKO_JOB),
        ]);
        let mut cmd = k2b(dir.path());
        cmd.args(&words[1..]);
        if let Some(file) = stdin {
            cmd.write_stdin(std::fs::read(dir.path().join(file)).unwrap());
        }
        let out = run(&mut cmd);
        assert!(matches!(out.code, Some(0 | 1)), "{line}: {out:?}");
        count += 1;
    }
    assert!(count >= 10, "the README's Use block went missing");
}

/// The README's description of directory search: `.gitlab/` and `ci/`,
/// the template layouts it names, and `.gitignore`.
#[test]
fn readme_searched_paths_hold() {
    let readme = read("README.md");
    let paragraph = &readme[readme.find("A directory is searched").unwrap()..];
    let paragraph = &paragraph[..paragraph.find("\n\n").unwrap()];
    assert!(paragraph.contains("`.gitignore`"), "{paragraph}");
    let globs: Vec<String> = Regex::new(r"`([a-z/.*-]+\.yml)`")
        .unwrap()
        .captures_iter(paragraph)
        .map(|c| c[1].replace('*', "x"))
        .collect();
    assert!(globs.len() >= 4, "{globs:?}");
    let mut files: Vec<(String, &str)> = globs.iter().map(|g| (g.clone(), KANIKO_JOB)).collect();
    files.push((".gitlab/a.yml".into(), KANIKO_JOB));
    files.push(("ci/b.yml".into(), KANIKO_JOB));
    files.push(("ignored/c.yml".into(), KANIKO_JOB));
    files.push((".gitignore".into(), "ignored/\n"));
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let dir = project(&refs);
    let out = run_in(dir.path(), &["check", "--output-format", "concise", "."]);
    for (name, _) in files
        .iter()
        .filter(|(n, _)| n.ends_with(".yml") && !n.starts_with("ignored"))
    {
        assert!(out.stdout.contains(&format!("{name}:")), "{name}: {out:?}");
    }
    assert!(!out.stdout.contains("ignored/"), "{out:?}");
}

/// The comment above `flavor` in docs/config.md names every flavour.
#[test]
fn config_doc_names_every_flavour() {
    let doc = read("docs/config.md");
    let toml = fenced(&doc, "## `.kaniko2buildkit.toml`", "toml");
    let comment: String = toml[..toml.find("\nflavor = ").unwrap()]
        .lines()
        .rev()
        .take_while(|l| l.starts_with('#'))
        .collect();
    for flavor in Flavor::value_variants() {
        let name = flavor.as_str();
        assert!(
            comment.contains(&format!("\"{name}\"")),
            "{name}: {comment}"
        );
    }
}

/// docs/json.md's example is what `check --output-format json` prints, and
/// applying its edits from the last to the first gives what `fix` writes.
#[test]
fn json_doc_example_holds() {
    let doc = read("docs/json.md");
    let yaml = fenced(&doc, "Example: for this", "yaml");
    let expected: Value = serde_json::from_str(fenced(&doc, "Example: for this", "json")).unwrap();
    let dir = project(&[(".gitlab-ci.yml", yaml)]);
    let out = run_in(dir.path(), &["check", "--output-format", "json"]);
    let actual: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(actual, expected, "docs/json.md's example is stale");

    let mut text = yaml.to_string();
    let edits = expected[0]["fix"]["edits"].as_array().unwrap();
    for edit in edits.iter().rev() {
        let range = &edit["range"];
        let (start, end) = (
            range[0].as_u64().unwrap() as usize,
            range[1].as_u64().unwrap() as usize,
        );
        text.replace_range(start..end, edit["content"].as_str().unwrap());
    }
    let out = run_in(dir.path(), &["fix"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let written = std::fs::read_to_string(dir.path().join(".gitlab-ci.yml")).unwrap();
    assert_eq!(written, text);
}

/// shlex is for tests only.
#[test]
fn shlex_is_a_dev_dependency() {
    let manifest: PathBuf = repo().join("Cargo.toml");
    let manifest = std::fs::read_to_string(manifest).unwrap();
    let dev = manifest.find("[dev-dependencies]").unwrap();
    let shlex = manifest.find("\nshlex").unwrap();
    assert!(shlex > dev, "shlex must be under [dev-dependencies]");
}
