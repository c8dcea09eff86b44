//! `kaniko2buildkit explain`: one executor flag or rule code, in words and by
//! example, and `docs/flags.md`, which is the same text for every flag.
//!
//! The words come from the flag table ([`crate::mapping::table`]) and the rule
//! list. The example is not stored: the flag's `example` is put in a small
//! job and migrated the way `fix --unsafe` would, so what is shown is what
//! this version of the tool does, and it follows every change to a mapping.

use crate::check::{EXIT_CLEAN, EXIT_ERROR, Output};
use crate::gitlab::{Input, Pipeline};
use crate::kaniko::invocation::Program;
use crate::mapping::table::{self, FlagSpec, Origin};
use crate::migrate::{self, BUILDKITD_FLAGS, Options};
use crate::rules::Rule;
use crate::style;
use crate::yaml::{NodeId, Tree};

/// The job every example runs in.
const JOB: &str = "build";

/// The arguments every executor example starts from: a build that pushes,
/// as most jobs are. An example of one of these flags takes its place.
const BASE_ARGUMENTS: [(&str, &str); 2] = [
    ("context", "--context ."),
    ("destination", "--destination registry.example.com/app:1"),
];

/// How the examples are migrated, for the reader.
const FIX_COMMAND: &str = "kaniko2buildkit fix --unsafe";

/// What a query names.
enum Topic {
    Flag(Program, &'static FlagSpec),
    Rule(Rule),
}

/// The entry for `query`: a flag (`--cache-ttl`, `cache-ttl`, `-d`,
/// `snapshotMode`, or `--cache-ttl=24h` as pasted from a job) or a rule code
/// (`kaniko/job`). An unknown query gives an error with the nearest topic.
pub fn explain(query: &str) -> Result<String, String> {
    let query = query.trim();
    match topic(query) {
        Some(Topic::Flag(program, flag)) => Ok(flag_text(program, flag)),
        Some(Topic::Rule(rule)) => Ok(rule_text(rule)),
        None => Err(unknown(query)),
    }
}

/// `kaniko2buildkit explain TOPIC`: the entry on standard output (exit 0),
/// or an error with a suggestion on standard error (exit 2).
pub fn run(topic: &str, out: &mut Output) -> u8 {
    match explain(topic) {
        Ok(text) => match out
            .stdout
            .write_all(styled(&text, out.colors.stdout).as_bytes())
            .and_then(|()| out.stdout.flush())
        {
            Ok(()) => EXIT_CLEAN,
            Err(_) => EXIT_ERROR,
        },
        Err(message) => {
            let error = style::paint(out.colors.stderr, style::RED.bold(), "error:");
            let _ = writeln!(out.stderr, "{error} {message}");
            EXIT_ERROR
        }
    }
}

/// The entry for a terminal: the title and the labels bold, the example's
/// comments dimmed. The text itself (and `docs/flags.md`) stays plain.
fn styled(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let label = body
            .strip_prefix("  ")
            .and_then(|rest| rest.split_once(':'))
            .filter(|(label, _)| {
                label.starts_with(|c: char| c.is_ascii_uppercase())
                    && label.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
            });
        let styled = if index == 0 || body == "Example:" {
            style::paint(true, style::BOLD, body)
        } else if let Some((label, rest)) = label {
            format!(
                "  {}{rest}",
                style::paint(true, style::BOLD, &format!("{label}:"))
            )
        } else if body.trim_start().starts_with("# ") {
            style::paint(true, style::DIM, body)
        } else {
            body.to_string()
        };
        out.push_str(&styled);
        out.push_str(end);
    }
    out
}

/// A rule code, else a flag: the executor's first, then the warmer's. The
/// two programs give the short letters `-c`, `-d` and `-f` different meanings,
/// and a user asking about `-d` almost always means the executor's.
fn topic(query: &str) -> Option<Topic> {
    if let Some(rule) = Rule::from_code(query) {
        return Some(Topic::Rule(rule));
    }
    let bare = flag_name(query);
    let mut letters = bare.chars();
    let short = match (letters.next(), letters.next()) {
        (Some(letter), None) => Some(letter),
        _ => None,
    };
    [Program::Executor, Program::Warmer]
        .into_iter()
        .find_map(|program| {
            let flag = match short {
                Some(letter) => table::by_short(program.flags(), letter),
                None => table::by_name(program.flags(), bare),
            }?;
            Some(Topic::Flag(program, flag))
        })
}

/// The flag a query names, without dashes or a pasted `=VALUE`.
fn flag_name(query: &str) -> &str {
    let word = query.split('=').next().unwrap_or(query);
    word.trim_start_matches('-')
}

/// The error for an unknown topic, with the nearest rule code or flag.
fn unknown(query: &str) -> String {
    let nearest = if query.contains('/') {
        Rule::closest(query).map(|rule| rule.code().to_string())
    } else {
        let names = [Program::Executor, Program::Warmer]
            .into_iter()
            .flat_map(|program| program.flags().iter().map(|flag| flag.name));
        crate::suggest::closest(flag_name(query), names).map(|name| format!("--{name}"))
    };
    let mut message = format!("`{query}` is neither a Kaniko flag nor a rule code");
    match nearest {
        Some(nearest) => message.push_str(&format!("; did you mean `{nearest}`?")),
        None => message.push_str(" (docs/flags.md and docs/rules.md list them all)"),
    }
    message
}

fn rule_text(rule: Rule) -> String {
    let facts = [
        ("Severity", rule.severity().as_str().to_string()),
        ("Summary", rule.summary().to_string()),
        ("Description", rule.description().to_string()),
    ];
    format!("{}\n{}", rule.code(), facts_text(&facts))
}

fn flag_text(program: Program, flag: &FlagSpec) -> String {
    let example = migrate_example(&kaniko_line(program, flag));
    format!(
        "{} ({})\n{}\nExample:\n{}",
        title(flag),
        program.path(),
        facts_text(&facts(program, flag)),
        indent(&example_text(&example))
    )
}

/// `--destination, -d`: the names a job can write.
fn title(flag: &FlagSpec) -> String {
    names(flag).join(", ")
}

/// The same in Markdown: `` `--destination`, `-d` ``.
fn title_markdown(flag: &FlagSpec) -> String {
    let names: Vec<String> = names(flag).iter().map(|name| format!("`{name}`")).collect();
    names.join(", ")
}

fn names(flag: &FlagSpec) -> Vec<String> {
    let long = format!("--{}", flag.name);
    match flag.short {
        Some(letter) => vec![long, format!("-{letter}")],
        None => vec![long],
    }
}

/// What is known about a flag, as labelled lines for both renderings.
fn facts(program: Program, flag: &FlagSpec) -> Vec<(&'static str, String)> {
    let mut facts = Vec::new();
    if let Some(target) = flag.alias_of {
        facts.push(("Alias of", format!("--{target} (deprecated spelling)")));
    }
    let aliases: Vec<String> = program
        .flags()
        .iter()
        .filter(|other| other.alias_of == Some(flag.name))
        .map(|other| format!("--{}", other.name))
        .collect();
    if !aliases.is_empty() {
        facts.push(("Deprecated alias", aliases.join(", ")));
    }
    facts.extend([
        (
            "Class",
            format!("{} ({})", flag.class.as_str(), flag.class.meaning()),
        ),
        ("Origin", origin(flag.origin).to_string()),
        ("Kaniko", flag.kaniko.to_string()),
        ("BuildKit", flag.buildkit.to_string()),
    ]);
    facts
}

fn origin(origin: Origin) -> &'static str {
    match origin {
        Origin::Upstream => "upstream Kaniko (v1.24.0)",
        Origin::Fork => "fork-only (osscontainertools or Chainguard), not in upstream Kaniko",
    }
}

/// Labelled lines with the values aligned, indented under a title.
fn facts_text(facts: &[(&str, String)]) -> String {
    let width = facts
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0)
        + 1;
    facts
        .iter()
        .map(|(label, value)| format!("  {:width$} {value}\n", format!("{label}:")))
        .collect()
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| match line {
            "" => "\n".to_string(),
            _ => format!("  {line}\n"),
        })
        .collect()
}

/// A flag's example, migrated the way `fix --unsafe` would migrate it.
struct Example {
    /// The Kaniko call, as a script item would hold it.
    kaniko: String,
    /// The migrated job as YAML, without the image and the daemon flags
    /// variable that every migration adds; `None` when it keeps Kaniko.
    buildkit: Option<String>,
    /// What the migration reported: rule code and message.
    messages: Vec<(&'static str, String)>,
}

/// The call that shows `flag`: its example after the base executor
/// arguments, or alone after the warmer.
pub fn kaniko_line(program: Program, flag: &FlagSpec) -> String {
    call_line(program, flag.name, flag.example)
}

/// An example of flag `name` in a call: after the base arguments, or in place
/// of `--context`/`--destination` when it is one of them, so neither is
/// given twice. The warmer takes no base arguments.
fn call_line(program: Program, name: &str, example: &str) -> String {
    let mut words = vec![program.path()];
    let mut replaced = false;
    if program == Program::Executor {
        for &(base, argument) in &BASE_ARGUMENTS {
            replaced |= base == name;
            words.push(if base == name { example } else { argument });
        }
    }
    if !replaced {
        words.push(example);
    }
    words.join(" ")
}

/// The one-job pipeline that runs `line`.
fn pipeline_text(line: &str) -> String {
    format!("{JOB}:\n  image: gcr.io/kaniko-project/executor:debug\n  script:\n    - {line}\n")
}

/// The example pipeline, loaded as `check` and `fix` would load it.
pub fn example_pipeline(line: &str) -> Pipeline {
    Pipeline::load(
        &std::env::temp_dir(),
        Input::Stdin {
            text: pipeline_text(line),
            name: ".gitlab-ci.yml".into(),
        },
    )
}

/// Runs the real migration on the example job.
fn migrate_example(line: &str) -> Example {
    let pipeline = example_pipeline(line);
    let options = Options {
        unsafe_fixes: true,
        ..Default::default()
    };
    let mut example = Example {
        kaniko: line.to_string(),
        buildkit: None,
        messages: Vec::new(),
    };
    match migrate::migrate(&pipeline, &options) {
        Ok(migration) => {
            example.messages = migration
                .findings
                .iter()
                .map(|finding| (finding.rule.code(), finding.message.to_string()))
                .collect();
            if migration.migrated_jobs.iter().any(|job| job == JOB) {
                example.buildkit = migration
                    .rewrites
                    .first()
                    .and_then(|rewrite| migrated_job(&rewrite.text));
            }
        }
        Err(refused) => example.messages.push(("refused", refused.message)),
    }
    example
}

/// The job's entries in the rewritten text, as written there, except the
/// ones every migration adds alike: the BuildKit image and a `variables:`
/// holding only `BUILDKITD_FLAGS`.
fn migrated_job(text: &str) -> Option<String> {
    let tree = Tree::parse(text).ok()?;
    let (_, job) = tree
        .pairs(tree.root()?)
        .find(|&(key, _)| tree.key(text, key) == Some(JOB))?;
    let lines: Vec<&str> = tree
        .pairs(job)
        .filter(|&(key, value)| !added_by_every_migration(&tree, text, key, value))
        .flat_map(|(key, value)| entry_lines(&tree, text, key, value))
        .collect();
    Some(lines.join("\n"))
}

fn added_by_every_migration(tree: &Tree, text: &str, key: NodeId, value: NodeId) -> bool {
    match tree.key(text, key) {
        Some("image") => true,
        Some("variables") => {
            let entries: Vec<_> = tree.pairs(value).collect();
            matches!(entries[..], [(name, flags)]
                if tree.key(text, name) == Some("BUILDKITD_FLAGS")
                    && tree.scalar(text, flags).as_deref() == Some(BUILDKITD_FLAGS))
        }
        _ => false,
    }
}

/// The source lines of one `key: value` entry, moved left to the key's column.
fn entry_lines<'t>(tree: &Tree, text: &'t str, key: NodeId, value: NodeId) -> Vec<&'t str> {
    let start = tree.node(key).span.start();
    let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
    let end = tree.node(value).span.end();
    let line_end = text[end..].find('\n').map_or(text.len(), |at| end + at);
    let column = start - line_start;
    text[line_start..line_end]
        .lines()
        .map(|line| line.get(column..).unwrap_or_else(|| line.trim_start()))
        .collect()
}

/// The example as commented YAML (before, after) and then the messages.
fn example_text(example: &Example) -> String {
    let mut text = format!(
        "{}\n{}",
        example_yaml(example),
        messages_text(&example.messages)
    );
    text.truncate(text.trim_end().len());
    text.push('\n');
    text
}

fn example_yaml(example: &Example) -> String {
    let before = format!("# before\nscript:\n  - {}\n", example.kaniko);
    match &example.buildkit {
        Some(job) => format!("{before}# after `{FIX_COMMAND}`\n{job}\n"),
        None => format!("{before}# after `{FIX_COMMAND}`: not migrated\n"),
    }
}

fn messages_text(messages: &[(&str, String)]) -> String {
    messages
        .iter()
        .map(|(code, message)| format!("{code}: {message}\n"))
        .collect()
}

/// `docs/flags.md`: every executor flag in table order, then the warmer.
/// A test compares the file with this and rewrites it on request.
pub fn flags_markdown() -> String {
    let mut doc = markdown_intro();
    doc.push_str("## Executor flags\n");
    for flag in table::EXECUTOR_FLAGS {
        doc.push_str(&flag_markdown(flag));
    }
    doc.push_str(&warmer_markdown());
    doc
}

fn markdown_intro() -> String {
    let classes: String = table::Class::ALL
        .iter()
        .map(|class| format!("- `{}`: {}.\n", class.as_str(), class.meaning()))
        .collect();
    format!(
        "# Kaniko flags\n\n\
         Generated from the flag table (`src/mapping/table.rs`) and the migration\n\
         itself by `src/explain.rs`; do not edit it by hand. `cargo test` fails\n\
         while it is stale, and `KANIKO2BUILDKIT_UPDATE_DOCS=1 cargo test --test explain`\n\
         rewrites it. `kaniko2buildkit explain FLAG` prints one flag's entry.\n\n\
         Each example adds the flag to the job below (in place of `--context` or\n\
         `--destination` for those two) and shows what `{FIX_COMMAND}` makes of it\n\
         in this version. What every migration changes alike is left out: the\n\
         image (`moby/buildkit` rootless with `entrypoint: [\"\"]`) and the\n\
         `BUILDKITD_FLAGS` variable.\n\n\
         ```yaml\n{}```\n\n\
         Classes:\n\n{classes}\n",
        pipeline_text(&call_line(Program::Executor, "", "EXAMPLE"))
    )
}

fn flag_markdown(flag: &FlagSpec) -> String {
    let program = Program::Executor;
    let bullets: String = facts(program, flag)
        .iter()
        .map(|(label, value)| format!("- {label}: {value}\n"))
        .collect();
    let example = migrate_example(&kaniko_line(program, flag));
    format!(
        "\n### {}\n\n{bullets}\n```yaml\n{}```\n{}",
        title_markdown(flag),
        example_yaml(&example),
        messages_markdown(&example.messages)
    )
}

fn messages_markdown(messages: &[(&str, String)]) -> String {
    if messages.is_empty() {
        return String::new();
    }
    let items: String = messages
        .iter()
        .map(|(code, message)| format!("- `{code}`: {message}\n"))
        .collect();
    format!("\n{items}")
}

/// The warmer in short: every flag is unmappable alike, so one example and
/// a table.
fn warmer_markdown() -> String {
    let first = &table::WARMER_FLAGS[0];
    let example = migrate_example(&kaniko_line(Program::Warmer, first));
    let rows: String = table::WARMER_FLAGS
        .iter()
        .map(|flag| {
            format!(
                "| {} | {} | `{}` |\n",
                title_markdown(flag),
                cell(flag.kaniko),
                flag.example
            )
        })
        .collect();
    format!(
        "\n## Warmer flags\n\n\
         `/kaniko/warmer` filled a local base-image cache for the executor's\n\
         `--cache-dir`. BuildKit's store lives for one job, so there is nothing to\n\
         fill and the step can go. What this version makes of a warmer call:\n\n\
         ```yaml\n{}```\n{}\n\
         | flag | what it did | example |\n|---|---|---|\n{rows}",
        example_yaml(&example),
        messages_markdown(&example.messages)
    )
}

/// Text safe inside a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
