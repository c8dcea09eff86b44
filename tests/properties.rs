//! Property tests: generated pipelines with Kaniko jobs in every scalar style,
//! and generated flag values full of shell metacharacters.

use std::collections::BTreeMap;

use kaniko2buildkit::gitlab::{Input, Pipeline};
use kaniko2buildkit::kaniko::shell;
use kaniko2buildkit::migrate::{self, Options};
use proptest::prelude::*;
use serde_yaml::Value;

/// How the executor call is written in YAML.
#[derive(Clone, Copy, Debug)]
enum Style {
    PlainOneLine,
    PlainMultiLine,
    Literal,
    Folded,
    SingleQuoted,
    DoubleQuoted,
}

fn style() -> impl Strategy<Value = Style> {
    prop_oneof![
        Just(Style::PlainOneLine),
        Just(Style::PlainMultiLine),
        Just(Style::Literal),
        Just(Style::Folded),
        Just(Style::SingleQuoted),
        Just(Style::DoubleQuoted),
    ]
}

/// Mappable flags with values that are plain in every style.
fn flags() -> impl Strategy<Value = Vec<String>> {
    let flag = prop_oneof![
        "[a-z]{1,8}".prop_map(|v| format!("--build-arg A_{v}=v{v}")),
        "[a-z]{1,8}".prop_map(|v| format!("--label org.example.{v}=x")),
        "[a-z]{1,8}".prop_map(|v| format!("--target {v}")),
        "[a-z]{1,8}".prop_map(|v| format!("--destination registry.example.com/{v}:1")),
        Just("--snapshot-mode=redo".to_string()),
        Just("--cleanup".to_string()),
        Just("--no-push".to_string()),
    ];
    prop::collection::vec(flag, 0..5)
}

/// One script item holding `command`, at list-item indentation 4.
fn script_item(style: Style, command: &str) -> String {
    let words: Vec<&str> = command.split(' ').collect();
    match style {
        Style::PlainOneLine => format!("    - {command}\n"),
        Style::PlainMultiLine => format!("    - {}\n", words.join("\n      ")),
        Style::Literal => format!(
            "    - |\n      echo start\n      {}\n",
            words.join(" \\\n        ")
        ),
        Style::Folded => format!("    - >-\n      {}\n", words.join("\n      ")),
        Style::SingleQuoted => format!("    - '{}'\n", command.replace('\'', "''")),
        Style::DoubleQuoted => format!(
            "    - \"{}\"\n",
            command.replace('\\', "\\\\").replace('"', "\\\"")
        ),
    }
}

#[derive(Clone, Debug)]
struct GeneratedJob {
    kaniko: bool,
    style: Style,
    flags: Vec<String>,
    comment: bool,
}

fn job() -> impl Strategy<Value = GeneratedJob> {
    (any::<bool>(), style(), flags(), any::<bool>()).prop_map(|(kaniko, style, flags, comment)| {
        GeneratedJob {
            kaniko,
            style,
            flags,
            comment,
        }
    })
}

fn pipeline_text(jobs: &[GeneratedJob]) -> String {
    let mut text = String::from("stages: [build, test]\n\n");
    for (index, job) in jobs.iter().enumerate() {
        if job.comment {
            text += "# a comment that must survive: /kaniko/executor --context .\n";
        }
        text += &format!("job-{index}:\n");
        if job.kaniko {
            text += "  image:\n    name: gcr.io/kaniko-project/executor:debug\n    entrypoint: [\"\"]\n";
            let mut command = String::from("/kaniko/executor --context .");
            for flag in &job.flags {
                command += " ";
                command += flag;
            }
            text += "  script:\n";
            text += &script_item(job.style, &command);
        } else {
            text += "  image: python:3.12  # not Kaniko\n  script:\n";
            text += &script_item(job.style, "echo build && make test");
        }
        text += "\n";
    }
    text
}

fn migrate_text(text: &str) -> (Pipeline, migrate::Migration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".gitlab-ci.yml");
    std::fs::write(&path, text).unwrap();
    let pipeline = Pipeline::load(&dir.path().canonicalize().unwrap(), Input::Path(path));
    assert!(pipeline.errors.is_empty(), "{:?}\n{text}", pipeline.errors);
    let migration = migrate::migrate(&pipeline, &Options::default())
        .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    (pipeline, migration)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// `fix` output parses, keeps every other job identical, holds no
    /// executor call, and a second `fix` changes nothing.
    #[test]
    fn generated_pipelines_migrate_cleanly(jobs in prop::collection::vec(job(), 1..5)) {
        let text = pipeline_text(&jobs);
        let (pipeline, migration) = migrate_text(&text);
        let new = migration.rewrites.first().map_or(text.clone(), |r| r.text.clone());
        let before: Value = serde_yaml::from_str(&text).unwrap();
        let after: Value = serde_yaml::from_str(&new).unwrap();
        for (index, job) in jobs.iter().enumerate() {
            let key = format!("job-{index}");
            if !job.kaniko {
                prop_assert_eq!(&before[key.as_str()], &after[key.as_str()]);
            }
        }
        prop_assert!(!new.contains("- /kaniko/executor") && !new.contains("      /kaniko/executor"), "{}", new);
        prop_assert_eq!(new.matches("# a comment that must survive").count(), jobs.iter().filter(|j| j.comment).count());
        let texts: BTreeMap<_, _> = migration.rewrites.iter().map(|r| (r.file, r.text.clone())).collect();
        let again = pipeline.with_texts(&texts).unwrap();
        let second = migrate::migrate(&again, &Options::default()).unwrap();
        prop_assert!(second.rewrites.is_empty());
    }
}

/// A value from characters the shell treats specially, and unicode.
fn nasty_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("a".to_string()),
            Just(" ".to_string()),
            Just("$".to_string()),
            Just("$HOME".to_string()),
            Just("${CI_COMMIT_SHA}".to_string()),
            Just("`id`".to_string()),
            Just("$(date)".to_string()),
            Just("\"".to_string()),
            Just("'".to_string()),
            Just("#".to_string()),
            Just("\\".to_string()),
            Just("é🚀".to_string()),
            Just(",".to_string()),
        ],
        1..8,
    )
    .prop_map(|parts| parts.concat())
}

/// Writes a value as one shell word: single quotes keep it literal,
/// double quotes let its expansions expand.
fn quoted(value: &str, single: bool) -> String {
    if single {
        format!("'{}'", value.replace('\'', "'\\''"))
    } else {
        let escaped: String = value
            .chars()
            .map(|c| match c {
                '"' | '\\' => format!("\\{c}"),
                c => c.to_string(),
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

/// What a word means to the shell: each character after quote removal,
/// and whether it is live (unquoted, or a `$`/backquote inside double quotes).
fn meaning(raw: &str) -> Vec<(char, bool)> {
    let mut out = Vec::new();
    let mut chars = raw.chars().peekable();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '\\' if !single => {
                let next = chars.next().unwrap_or('\\');
                let escapes = !double || matches!(next, '$' | '`' | '"' | '\\');
                if !escapes {
                    out.push(('\\', false));
                }
                out.push((next, false));
            }
            c if single => out.push((c, false)),
            c if double => out.push((c, matches!(c, '$' | '`'))),
            c => out.push((c, true)),
        }
    }
    out
}

/// The words of the first command in a script, with their raw text.
fn words(script: &str, program: &str) -> Vec<String> {
    shell::commands(script)
        .into_iter()
        .find(|c| c.words.first().is_some_and(|w| w.value.ends_with(program)))
        .map(|c| {
            c.words
                .iter()
                .map(|w| script[w.range.clone()].to_string())
                .collect()
        })
        .unwrap_or_default()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A build argument or label keeps exactly its meaning: no character
    /// becomes live (expands or splits) that was not, and none stops being.
    #[test]
    fn values_keep_their_shell_meaning(value in nasty_value(), single in any::<bool>(), label in any::<bool>()) {
        let (flag, option) = if label { ("--label", "label:") } else { ("--build-arg", "build-arg:") };
        let word = quoted(&format!("K={value}"), single);
        let command = format!("/kaniko/executor --context . {flag} {word} --no-push");
        let text = format!(
            "build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - |\n      {command}\n"
        );
        let (_, migration) = migrate_text(&text);
        let new = &migration.rewrites[0].text;
        let tree: Value = serde_yaml::from_str(new).unwrap();
        let script = build_line(&tree);
        let generated = words(script, "buildctl-daemonless.sh");
        let at = generated.iter().position(|w| meaning(w).iter().map(|(c, _)| c).collect::<String>().starts_with(option));
        prop_assert!(at.is_some(), "{script}");
        // The prefix sits inside the word's quotes: never live.
        let mut prefix: Vec<(char, bool)> = option.chars().map(|c| (c, false)).collect();
        prefix.extend(meaning(&word));
        let got = meaning(&generated[at.unwrap()]);
        prop_assert_eq!(got, prefix, "{} -> {}", word, generated[at.unwrap()]);
    }

    /// Destinations land in one CSV field of a double-quoted `--output`:
    /// their characters and which of them are live survive.
    #[test]
    fn destinations_keep_their_meaning(repo in "[a-z]{1,6}", tag in prop_oneof![Just("$CI_COMMIT_SHA".to_string()), Just("${TAG:-latest}".to_string()), "[a-z0-9]{1,5}"]) {
        let destination = format!("\"registry.example.com/{repo}:{tag}\"");
        let command = format!("/kaniko/executor --context . --destination {destination}");
        let text = format!("build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - {command}\n");
        let (_, migration) = migrate_text(&text);
        let new = &migration.rewrites[0].text;
        let tree: Value = serde_yaml::from_str(new).unwrap();
        let script = build_line(&tree);
        let generated = words(script, "buildctl-daemonless.sh");
        let output = generated.iter().find(|w| w.contains("type=image")).unwrap();
        let got = meaning(output);
        let expected_inner = meaning(&destination);
        let rendered: Vec<(char, bool)> = got.into_iter().collect();
        let needle_found = rendered.windows(expected_inner.len()).any(|w| w == expected_inner.as_slice());
        prop_assert!(needle_found, "{} not inside {}", destination, output);
    }
}

/// A flag that maps on its own terms, with what buildctl must receive for
/// it: `(option, value)` pairs, or fields of the image output.
#[derive(Clone, Debug)]
struct Mappable {
    kaniko: String,
    buildctl: Vec<(String, String)>,
    output_fields: Vec<String>,
}

fn simple_value() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z][a-z0-9._-]{0,7}", "[a-z]{1,4} [a-z0-9]{1,4}"]
}

/// Written double-quoted when it holds a space, as a user would.
fn shell_word(value: &str) -> String {
    if value.contains(' ') {
        format!("\"{value}\"")
    } else {
        value.to_string()
    }
}

fn mappable() -> impl Strategy<Value = Mappable> {
    let pair = |flag: &'static str, option: &'static str, prefix: &'static str| {
        ("[A-Z][A-Z0-9_]{0,5}", simple_value()).prop_map(move |(key, value)| Mappable {
            kaniko: format!("{flag} {}", shell_word(&format!("{key}={value}"))),
            buildctl: vec![(option.into(), format!("{prefix}{key}={value}"))],
            output_fields: vec![],
        })
    };
    let field = |kaniko: &'static str, field: &'static str| {
        Just(Mappable {
            kaniko: kaniko.into(),
            buildctl: vec![],
            output_fields: vec![field.into()],
        })
    };
    let dropped = prop_oneof![
        Just("--snapshot-mode=redo"),
        Just("--use-new-run"),
        Just("--cleanup"),
        Just("--push-retry 3"),
        Just("--log-format=text"),
        Just("--cache-copy-layers"),
        Just("--skip-unused-stages"),
    ]
    .prop_map(|flag| Mappable {
        kaniko: flag.into(),
        buildctl: vec![],
        output_fields: vec![],
    });
    prop_oneof![
        pair("--build-arg", "--opt", "build-arg:"),
        pair("--label", "--opt", "label:"),
        "[a-z][a-z0-9_-]{0,7}".prop_map(|id| Mappable {
            kaniko: format!("--secret id={id},env=TOKEN"),
            buildctl: vec![("--secret".into(), format!("id={id},env=TOKEN"))],
            output_fields: vec![],
        }),
        field("--compression=zstd", "compression=zstd"),
        field("--compression-level 9", "compression-level=9"),
        field("--image-format=oci", "oci-mediatypes=true"),
        field("--insecure", "registry.insecure=true"),
        dropped,
    ]
}

/// Splits a CSV field list the way buildctl reads `--output`: commas end a
/// field unless they sit inside double quotes, which are removed.
fn csv_fields(text: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Any combination of flags that map on their own, with any target,
    /// platform, destinations and `--no-push`, becomes a command that the
    /// shell splits into exactly the buildctl arguments they mean, with the
    /// image output last.
    #[test]
    fn mappable_flag_combinations_split_into_the_expected_arguments(
        flags in prop::collection::vec(mappable(), 0..8),
        target in prop::option::of("[a-z][a-z0-9-]{0,6}"),
        platform in prop::option::of(prop_oneof![Just("linux/arm64"), Just("linux/amd64")]),
        destinations in prop::collection::vec("[a-z]{1,5}:[a-z0-9]{1,4}", 1..4),
        no_push in any::<bool>(),
        literal in any::<bool>(),
    ) {
        let mut words = vec!["/kaniko/executor --context .".to_string()];
        let mut expected: Vec<(String, String)> = vec![
            ("--frontend".into(), "dockerfile.v0".into()),
            ("--local".into(), "context=.".into()),
            ("--local".into(), "dockerfile=.".into()),
        ];
        let mut fields = vec!["type=image".to_string()];
        for destination in &destinations {
            words.push(format!("--destination registry.example.com/{destination}"));
        }
        let names: Vec<String> = destinations.iter().map(|d| format!("registry.example.com/{d}")).collect();
        fields.push(format!("name={}", names.join(",")));
        fields.push(format!("push={}", !no_push));
        if no_push {
            words.push("--no-push".into());
        }
        if let Some(target) = &target {
            words.push(format!("--target {target}"));
            expected.push(("--opt".into(), format!("target={target}")));
        }
        if let Some(platform) = platform {
            words.push(format!("--custom-platform={platform}"));
            expected.push(("--opt".into(), format!("platform={platform}")));
        }
        for flag in &flags {
            words.push(flag.kaniko.clone());
            expected.extend(flag.buildctl.iter().cloned());
            for field in &flag.output_fields {
                if !fields.contains(field) {
                    fields.push(field.clone());
                }
            }
        }
        let item = if literal {
            format!("    - |\n      {}\n", words.join(" \\\n        "))
        } else {
            format!("    - {}\n", words.join(" "))
        };
        let text = format!("build:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n{item}");
        let (_, migration) = migrate_text(&text);
        prop_assert_eq!(migration.migrated_jobs.len(), 1, "{:?}", migration.findings);
        let new = &migration.rewrites[0].text;
        let tree: Value = serde_yaml::from_str(new).unwrap();
        let script = build_line(&tree);
        // sh removes a backslash-newline outside quotes; shlex does not.
        let arguments = shlex::split(&script.replace("\\\n", "")).unwrap_or_default();
        prop_assert_eq!(arguments.first().map(String::as_str), Some("buildctl-daemonless.sh"), "{}", script);
        prop_assert_eq!(arguments.get(1).map(String::as_str), Some("build"), "{}", script);
        let rest = &arguments[2..];
        prop_assert!(rest.len().is_multiple_of(2), "{:?}", rest);
        let mut pairs: Vec<(String, String)> = rest
            .chunks(2)
            .map(|pair| (pair[0].clone(), pair[1].clone()))
            .collect();
        let (option, output) = pairs.pop().unwrap();
        prop_assert_eq!(option.as_str(), "--output");
        let mut got_fields = csv_fields(&output);
        got_fields.sort();
        fields.sort();
        prop_assert_eq!(got_fields, fields, "{}", output);
        pairs.sort();
        expected.sort();
        prop_assert_eq!(pairs, expected, "{}", script);
    }
}

/// The script item that runs the build (a registry login comes before it).
fn build_line(tree: &Value) -> &str {
    tree["build"]["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|line| line.contains("buildctl-daemonless.sh"))
        .unwrap()
}
