//! `explain` and `docs/flags.md`: entries for flags, aliases and rules, the
//! error for an unknown topic, every table example being a real flag use,
//! and the generated doc being current.

use std::path::Path;

use kaniko2buildkit::analysis::analyse;
use kaniko2buildkit::check::Output;
use kaniko2buildkit::config::Config;
use kaniko2buildkit::explain::{self, example_pipeline, kaniko_line};
use kaniko2buildkit::kaniko::invocation::Program;
use kaniko2buildkit::mapping::table::FlagSpec;
use kaniko2buildkit::rules::Rule;

/// Set to `1` to rewrite `docs/flags.md` instead of comparing it.
const UPDATE_DOCS: &str = "KANIKO2BUILDKIT_UPDATE_DOCS";

/// The example's outcome is whatever the current mapping gives, so tests only
/// ask that there is one: a BuildKit command or the reason there is none.
fn assert_has_outcome(text: &str) {
    assert!(
        text.contains("buildctl-daemonless.sh build") || text.contains("migrate/not-migrated"),
        "{text}"
    );
}

#[test]
fn a_long_flag_shows_kaniko_buildkit_and_a_live_example() {
    let text = explain::explain("--cache-ttl").unwrap();
    assert!(
        text.starts_with("--cache-ttl (/kaniko/executor)\n"),
        "{text}"
    );
    for expected in [
        "Class:    unsafe",
        "Origin:   upstream Kaniko",
        "Kaniko:   How long layers in the cache repository",
        "BuildKit: none: BuildKit's registry cache has no expiry",
        "- /kaniko/executor --context . --destination registry.example.com/app:1 --cache-ttl=24h\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert_has_outcome(&text);
    assert_eq!(explain::explain("cache-ttl"), Ok(text.clone()));
    assert_eq!(explain::explain("--cache-ttl=24h"), Ok(text));
}

#[test]
fn a_short_flag_names_its_long_form_and_is_not_given_twice() {
    let text = explain::explain("-d").unwrap();
    assert!(
        text.starts_with("--destination, -d (/kaniko/executor)\n"),
        "{text}"
    );
    assert!(
        text.contains("- /kaniko/executor --context . --destination=registry.example.com/app:1\n"),
        "{text}"
    );
    assert!(text.contains("--output \"type=image,"), "{text}");
}

#[test]
fn a_deprecated_alias_names_the_flag_it_stands_for_and_back() {
    let alias = explain::explain("snapshotMode").unwrap();
    assert!(
        alias.starts_with("--snapshotMode (/kaniko/executor)\n"),
        "{alias}"
    );
    assert!(
        alias.contains("Alias of: --snapshot-mode (deprecated spelling)"),
        "{alias}"
    );
    let target = explain::explain("--snapshot-mode").unwrap();
    assert!(
        target.contains("Deprecated alias: --snapshotMode"),
        "{target}"
    );
}

#[test]
fn a_warmer_only_flag_is_explained_as_the_warmers() {
    let text = explain::explain("-i").unwrap();
    assert!(text.starts_with("--image, -i (/kaniko/warmer)\n"), "{text}");
    assert!(
        text.contains("- /kaniko/warmer --image=alpine:3.20\n"),
        "{text}"
    );
}

#[test]
fn a_rule_code_shows_severity_summary_and_description() {
    let text = explain::explain("migrate/not-migrated").unwrap();
    let rule = Rule::NotMigrated;
    assert!(text.starts_with("migrate/not-migrated\n"), "{text}");
    for expected in [rule.severity().as_str(), rule.summary(), rule.description()] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn an_unknown_topic_is_an_error_with_the_nearest_one() {
    let flag = explain::explain("--destinaton").unwrap_err();
    assert!(flag.contains("did you mean `--destination`?"), "{flag}");
    let rule = explain::explain("kaniko/jbo").unwrap_err();
    assert!(rule.contains("did you mean `kaniko/job`?"), "{rule}");
    let nothing = explain::explain("frobnicate").unwrap_err();
    assert!(!nothing.contains("did you mean"), "{nothing}");
}

#[test]
fn run_exits_0_with_the_entry_and_2_with_the_error() {
    let run = |topic: &str| {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let code = explain::run(
            topic,
            &mut Output {
                stdout: &mut stdout,
                stderr: &mut stderr,
                colors: Default::default(),
                quiet: false,
            },
        );
        (
            code,
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    };
    let (code, stdout, stderr) = run("-d");
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(stdout.starts_with("--destination, -d"), "{stdout}");
    let (code, stdout, stderr) = run("--destinaton");
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(stderr.starts_with("error: `--destinaton`"), "{stderr}");
}

#[test]
fn the_cli_takes_a_flag_as_the_topic() {
    let output = assert_cmd::Command::cargo_bin("kaniko2buildkit")
        .unwrap()
        .args(["explain", "--cache-ttl"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("--cache-ttl (/kaniko/executor)"));
}

/// Each example must be the flag itself, long form, and read by the parser
/// as a known flag with its value: no finding that says otherwise.
fn assert_example_parses(program: Program, flag: &FlagSpec) {
    let example = flag.example;
    let after_name = example.strip_prefix(&format!("--{}", flag.name));
    assert!(
        matches!(after_name, Some(rest) if rest.is_empty() || rest.starts_with('=')),
        "--{}: example {example:?} is not the long flag",
        flag.name
    );
    assert!(
        !example.contains([' ', '"', '\'']),
        "--{}: example {example:?} is not plain",
        flag.name
    );
    let pipeline = example_pipeline(&kaniko_line(program, flag));
    assert!(
        pipeline.errors.is_empty(),
        "--{}: {:?}",
        flag.name,
        pipeline.errors
    );
    let bad: Vec<String> = analyse(&pipeline, &Config::default())
        .findings
        .iter()
        .filter(|f| [Rule::UnknownFlag, Rule::MissingValue, Rule::StrayArgument].contains(&f.rule))
        .map(|f| format!("{}: {}", f.rule.code(), f.message))
        .collect();
    assert!(bad.is_empty(), "--{}: {bad:?}", flag.name);
}

#[test]
fn every_example_is_a_known_flag_with_its_value() {
    for program in [Program::Executor, Program::Warmer] {
        for flag in program.flags() {
            assert_example_parses(program, flag);
        }
    }
}

/// `docs/flags.md` is `flags_markdown()`; with `KANIKO2BUILDKIT_UPDATE_DOCS=1`
/// the test writes it instead, since mapping changes alter the examples.
#[test]
fn docs_flags_md_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/flags.md");
    let generated = explain::flags_markdown();
    if std::env::var_os(UPDATE_DOCS).is_some_and(|value| value == "1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if current != generated {
        let (line, old, new) = first_difference(&current, &generated);
        panic!(
            "docs/flags.md is stale at line {line}:\n  file:      {old}\n  generated: {new}\n\
             run `{UPDATE_DOCS}=1 cargo test --test explain docs_flags_md_is_current`"
        );
    }
}

/// The first line (1-based) where two texts differ, and each side's text there.
fn first_difference<'a>(old: &'a str, new: &'a str) -> (usize, &'a str, &'a str) {
    let padded = |text: &'a str| text.lines().chain(std::iter::repeat("<end of text>"));
    let lines = old.lines().count().max(new.lines().count()) + 1;
    padded(old)
        .zip(padded(new))
        .take(lines)
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map_or((lines, "", ""), |(at, (a, b))| (at + 1, a, b))
}
