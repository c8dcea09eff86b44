//! Flags a call takes from a variable: `/kaniko/executor $KANIKO_ARGS`.
//!
//! The call passes the variable on to buildctl as before, and the variable's
//! flags are mapped where the file defines it: the job's effective entry in
//! `variables:`, and every assignment in the job's scripts
//! (`ARGS="$ARGS --build-arg A=1"`). Each flag becomes one buildctl word
//! that means the same wherever the value expands. A flag that cannot stand
//! alone, or a value this module cannot read, keeps the job as it is.

use std::borrow::Cow;
use std::ops::Range;

use crate::gitlab::jobs::Job;
use crate::gitlab::value::At;
use crate::gitlab::{FileId, Pipeline};
use crate::kaniko::invocation::{self, Invocation, Problem, Program};
use crate::kaniko::shell::{self, Word};
use crate::mapping::command::{self, Fate, FlagNote, Translation};
use crate::mapping::quote::lone_variable;
use crate::span::Span;
use crate::yaml::scalar::SourceMap;

/// How a definition's text reaches the shell, which decides what a mapped
/// word may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quoting {
    /// A `variables:` value: GitLab expands `$VAR` in it, the shell only
    /// splits it.
    Yaml,
    /// `ARGS="..."`: `$` stays live.
    Double,
    /// `ARGS='...'`: nothing expands.
    Single,
    /// `ARGS=--flag`: one unquoted word.
    Bare,
}

/// One place the file gives the variable a value.
struct Definition {
    /// The scalar holding it.
    at: At,
    /// The value's range in the scalar's decoded text, quotes excluded.
    range: Range<usize>,
    quoting: Quoting,
}

/// What the variables of one call need.
#[derive(Default)]
pub struct Outcome {
    /// Replacements in decoded scalar text: scalar, range, new text.
    pub edits: Vec<(At, Range<usize>, String)>,
    pub notes: Vec<(FileId, FlagNote)>,
    /// The `variables:` values edited, by name: another job that uses the
    /// same value must be able to take the change.
    pub yaml_sites: Vec<(String, At)>,
}

impl Outcome {
    fn blocker_count(&self) -> usize {
        self.notes
            .iter()
            .filter(|(_, note)| note.fate == Fate::Blocked)
            .count()
    }

    fn note(&mut self, file: FileId, fate: Fate, span: Span, message: String) {
        self.notes.push((
            file,
            FlagNote {
                fate,
                span,
                message,
            },
        ));
    }
}

/// Finds and maps the definitions of every variable among the call's
/// arguments. `file` is the file of the call.
pub fn resolve(
    pipeline: &Pipeline,
    job: &Job,
    file: FileId,
    call: &Invocation,
    translation: &Translation,
) -> Outcome {
    let mut outcome = Outcome::default();
    let splits = split_flags(pipeline, job, call, translation);
    for problem in &call.problems {
        let Problem::Variable {
            word,
            raw,
            quoted,
            span,
        } = problem
        else {
            continue;
        };
        let Some(name) = lone_variable(word) else {
            let message = format!("`{word}` may hold flags that cannot be seen here");
            outcome.note(file, Fate::Blocked, *span, message);
            continue;
        };
        let in_yaml = yaml_definition(pipeline, job, name);
        let in_scripts = shell_definitions(pipeline, job, name, &mut outcome);
        // A template never runs: the jobs that extend it set the variable,
        // and each of them is judged on its own value.
        if in_yaml.is_none() && in_scripts.is_empty() && job.hidden {
            continue;
        }
        if in_yaml.is_none() && in_scripts.is_empty() {
            let message = format!(
                "`{raw}` is not set in this file, so its flags cannot be seen: it is passed on to the build command \
                 as it is, and must hold that command's options now"
            );
            outcome.note(file, Fate::Unsafe, *span, message);
            continue;
        }
        let set_afresh = in_scripts
            .iter()
            .any(|d| !mentions_itself(pipeline, d, name));
        for definition in in_yaml.iter().chain(&in_scripts) {
            let split = splits.iter().find(|(n, _)| n == name).map(|(_, s)| s);
            let edited = map_definition(
                pipeline,
                definition,
                (name, split),
                *quoted,
                translation,
                &mut outcome,
            );
            if edited && definition.quoting == Quoting::Yaml {
                outcome.yaml_sites.push((name.to_string(), definition.at));
            }
        }
        if !set_afresh {
            let message = format!(
                "`{raw}` is passed on to the build command, its flags in this file mapped where they are set: \
                 a value set outside this file (CI/CD settings, a pipeline that includes it) must hold the build command's options now"
            );
            outcome.note(file, Fate::Note, *span, message);
        }
    }
    outcome
}

/// The job's effective `variables:` entry for `name`.
fn yaml_definition(pipeline: &Pipeline, job: &Job, name: &str) -> Option<Definition> {
    let (_, at) = job.variables.iter().rev().find(|(n, _)| n == name)?;
    let tree = &pipeline.files[at.file].tree;
    let node = tree.deref(at.node);
    let decoded = tree.scalar(&pipeline.files[at.file].text, node)?;
    Some(Definition {
        at: At {
            file: at.file,
            node,
        },
        range: 0..decoded.len(),
        quoting: Quoting::Yaml,
    })
}

/// Every `NAME=...` and `export NAME=...` in the job's scripts. An
/// assignment whose quoting this module cannot follow is a blocker.
fn shell_definitions(
    pipeline: &Pipeline,
    job: &Job,
    name: &str,
    outcome: &mut Outcome,
) -> Vec<Definition> {
    let prefix = format!("{name}=");
    let mut found = Vec::new();
    for line in &job.scripts {
        let Some(script) = decoded(pipeline, line.at) else {
            continue;
        };
        if !script.contains(&prefix) {
            continue;
        }
        for command in shell::commands(&script) {
            let exported = match command.words.first() {
                Some(first) if first.value == "export" => &command.words[1..],
                _ => &[],
            };
            for word in command.assignments.iter().chain(exported) {
                if !script[word.range.clone()].starts_with(&prefix) {
                    continue;
                }
                let value = word.range.start + prefix.len()..word.range.end;
                match quoting(&script[value.clone()]) {
                    Some((quoting, trim)) => found.push(Definition {
                        at: line.at,
                        range: value.start + trim..value.end - trim,
                        quoting,
                    }),
                    None => {
                        let map = scalar_map(pipeline, line.at);
                        let span = span_in(pipeline, line.at, map.as_ref(), word.range.clone());
                        let message = format!(
                            "cannot read what this assignment puts in `${name}`: write it as NAME=\"...\""
                        );
                        outcome.note(line.at.file, Fate::Blocked, span, message);
                    }
                }
            }
        }
    }
    found
}

/// How an assignment's value is quoted, and how many bytes of quote
/// surround it: one quoted string, or one word with no quotes at all.
fn quoting(raw: &str) -> Option<(Quoting, usize)> {
    let inner = |quote: char| {
        raw.strip_prefix(quote)
            .and_then(|r| r.strip_suffix(quote))
            .filter(|inner| !inner.contains(quote))
    };
    if let Some(inner) = inner('"') {
        return (!inner.contains(['\\', '`'])).then_some((Quoting::Double, 1));
    }
    if inner('\'').is_some() {
        return Some((Quoting::Single, 1));
    }
    (!raw.contains(['"', '\'', '\\', '`'])).then_some((Quoting::Bare, 0))
}

fn decoded(pipeline: &Pipeline, at: At) -> Option<Cow<'_, str>> {
    let file = &pipeline.files[at.file];
    file.tree.scalar(&file.text, at.node)
}

/// The map from a scalar's decoded text back to the file, when it can be
/// built; spans fall back to the whole scalar otherwise.
fn scalar_map(pipeline: &Pipeline, at: At) -> Option<SourceMap> {
    let file = &pipeline.files[at.file];
    SourceMap::of_node(&file.text, file.tree.node(at.node), &decoded(pipeline, at)?)
}

fn span_in(pipeline: &Pipeline, at: At, map: Option<&SourceMap>, range: Range<usize>) -> Span {
    map.map_or(pipeline.files[at.file].tree.node(at.node).span, |map| {
        map.span_of(range.start, range.end)
    })
}

/// The value's words: split on blanks, as an unquoted expansion is.
fn words(text: &str) -> Vec<Range<usize>> {
    let mut words = Vec::new();
    let mut start = None;
    for (index, byte) in text.bytes().enumerate() {
        match (byte.is_ascii_whitespace(), start) {
            (true, Some(from)) => {
                words.push(from..index);
                start = None;
            }
            (false, None) => start = Some(index),
            _ => {}
        }
    }
    if let Some(from) = start {
        words.push(from..text.len());
    }
    words
}

fn is_self_reference(word: &str, name: &str) -> bool {
    lone_variable(word) == Some(name)
}

fn mentions_itself(pipeline: &Pipeline, definition: &Definition, name: &str) -> bool {
    let Some(text) = decoded(pipeline, definition.at) else {
        return true;
    };
    let value = &text[definition.range.clone()];
    words(value)
        .into_iter()
        .any(|w| is_self_reference(&value[w], name))
}

/// A flag split across two variables (`$ARG_FLAG $ARG_VALUE`, with
/// `ARG_FLAG=--build-arg` and `ARG_VALUE=VERSION=1`): the first variable's
/// last word is the flag, the second's first word its value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Split {
    /// The buildctl option that replaces the flag word (`--opt`).
    FlagAtEnd(&'static str),
    /// What goes before the value word (`build-arg:`).
    ValueAtStart(&'static str),
}

/// The buildctl option and value prefix of a flag that can be split.
fn split_form(flag: &str) -> Option<(&'static str, &'static str)> {
    match flag {
        "--build-arg" => Some(("--opt", "build-arg:")),
        "--label" => Some(("--opt", "label:")),
        "--target" => Some(("--opt", "target=")),
        "--custom-platform" => Some(("--opt", "platform=")),
        "--secret" => Some(("--secret", "")),
        _ => None,
    }
}

/// Finds the variables of `call` that hold a flag and its value apart:
/// two variables next to each other in the call, every definition of the
/// first ending with a flag that takes a value, every definition of the
/// second starting with a word that is no flag.
fn split_flags(
    pipeline: &Pipeline,
    job: &Job,
    call: &Invocation,
    translation: &Translation,
) -> Vec<(String, Split)> {
    if translation.flavor == crate::mapping::flavor::Flavor::Buildx {
        return Vec::new();
    }
    let variables: Vec<(&str, Span)> = call
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::Variable {
                word,
                span,
                quoted: false,
                ..
            } => lone_variable(word).map(|name| (name, *span)),
            _ => None,
        })
        .collect();
    let mut splits = Vec::new();
    for pair in variables.windows(2) {
        let [(first, first_span), (second, second_span)] = pair else {
            continue;
        };
        let between = call
            .flags
            .iter()
            .any(|f| f.span.start() >= first_span.end() && f.span.end() <= second_span.start());
        if between || first == second {
            continue;
        }
        let values = |name: &str| -> Vec<String> {
            let mut scratch = Outcome::default();
            let defined = yaml_definition(pipeline, job, name)
                .into_iter()
                .chain(shell_definitions(pipeline, job, name, &mut scratch));
            defined
                .filter_map(|d| decoded(pipeline, d.at).map(|t| t[d.range].to_string()))
                .collect()
        };
        let (flag_values, value_values) = (values(first), values(second));
        let last_words: Vec<&str> = flag_values
            .iter()
            .filter_map(|v| v.split_whitespace().last())
            .collect();
        let Some(form) = last_words.first().and_then(|w| split_form(w)) else {
            continue;
        };
        let same_flag = last_words.len() == flag_values.len()
            && last_words.iter().all(|w| split_form(w) == Some(form));
        let values_fit = !value_values.is_empty()
            && value_values.iter().all(|v| {
                v.split_whitespace().next().is_some_and(|w| {
                    !w.starts_with('-') && (form.1 != "build-arg:" || w.contains('='))
                })
            });
        if same_flag && values_fit {
            splits.push((first.to_string(), Split::FlagAtEnd(form.0)));
            splits.push((second.to_string(), Split::ValueAtStart(form.1)));
        }
    }
    splits
}

/// Maps the flags of one definition in place; whether it changed.
fn map_definition(
    pipeline: &Pipeline,
    definition: &Definition,
    (name, split): (&str, Option<&Split>),
    quoted_use: bool,
    translation: &Translation,
    outcome: &mut Outcome,
) -> bool {
    let at = definition.at;
    let Some(text) = decoded(pipeline, at) else {
        return false;
    };
    let value = &text[definition.range.clone()];
    let base = definition.range.start;
    let map = scalar_map(pipeline, at);
    let span_of = |range: Range<usize>| {
        span_in(
            pipeline,
            at,
            map.as_ref(),
            base + range.start..base + range.end,
        )
    };
    let all = words(value);
    let (kept, flag_words): (Vec<_>, Vec<_>) = all
        .iter()
        .cloned()
        .partition(|w| is_self_reference(&value[w.clone()], name));
    if quoted_use && flag_words.len() > 1 {
        let message = format!(
            "`\"${name}\"` passes this value as one argument, which Kaniko could not read as several flags"
        );
        outcome.note(at.file, Fate::Blocked, span_of(0..value.len()), message);
        return false;
    }
    // A flag split across two variables: its part here is mapped on its own.
    let mut flag_words = flag_words;
    let mut split_piece = None;
    match split {
        Some(Split::FlagAtEnd(option)) => {
            if let Some(word) = flag_words.pop() {
                split_piece = Some((word.start, Some(option.to_string())));
            }
        }
        Some(Split::ValueAtStart(prefix)) if !flag_words.is_empty() => {
            let word = flag_words.remove(0);
            split_piece = Some((word.start, Some(format!("{prefix}{}", &value[word]))));
        }
        _ => {}
    }
    let flag_words: Vec<Word> = flag_words
        .into_iter()
        .map(|range| Word {
            value: value[range.clone()].to_string(),
            quoted: false,
            expansion: false,
            range,
        })
        .collect();
    // Spans stay in the value's own coordinates until a note needs one.
    let identity = |range: Range<usize>| Span::new(range.start, range.end);
    let (flags, problems) = invocation::parse(Program::Executor, value, &flag_words, &identity);
    let blockers_before = outcome.blocker_count();
    for problem in &problems {
        let note = command::problem_note(problem);
        let range = note.span.start()..note.span.end();
        let message = format!("in `${name}`: {}", note.message);
        outcome.note(at.file, Fate::Blocked, span_of(range), message);
    }
    let mut pieces: Vec<(usize, Option<String>)> = kept
        .into_iter()
        .map(|w| (w.start, Some(value[w].to_string())))
        .chain(split_piece)
        .collect();
    for flag in &flags {
        let range = flag.span.start()..flag.span.end();
        let carried = command::translate_carried(flag, translation);
        if let Some((fate, message)) = carried.note {
            outcome.note(at.file, fate, span_of(range.clone()), message);
        }
        let literal_only = definition.quoting == Quoting::Single;
        let expands = carried
            .word
            .as_ref()
            .is_some_and(|word| word.contains('$') && !flag.raw.contains('$'));
        if literal_only && expands {
            let message = "a word that must expand cannot go inside single quotes".to_string();
            outcome.note(at.file, Fate::Blocked, span_of(range.clone()), message);
        }
        pieces.push((range.start, carried.word));
    }
    if outcome.blocker_count() > blockers_before {
        return false;
    }
    pieces.sort_by_key(|(start, _)| *start);
    let rebuilt: Vec<String> = pieces.into_iter().filter_map(|(_, word)| word).collect();
    let rebuilt = rebuilt.join(" ");
    let (Some(first), Some(last)) = (all.first(), all.last()) else {
        return false;
    };
    if rebuilt == value[first.start..last.end] {
        return false;
    }
    if rebuilt.is_empty() && definition.quoting == Quoting::Yaml {
        let message = format!("every flag in `{name}` goes: empty its value by hand");
        outcome.note(at.file, Fate::Blocked, span_of(0..value.len()), message);
        return false;
    }
    outcome
        .edits
        .push((at, base + first.start..base + last.end, rebuilt));
    true
}

/// Whether a job's scripts expand `$name` or `${name...}`.
pub fn uses_variable(pipeline: &Pipeline, job: &Job, name: &str) -> bool {
    let plain = format!("${name}");
    let braced = format!("${{{name}");
    job.scripts
        .iter()
        .filter_map(|line| decoded(pipeline, line.at))
        .any(|script| {
            script.contains(&braced)
                || script.match_indices(&plain).any(|(at, _)| {
                    let next = script[at + plain.len()..].bytes().next();
                    !next.is_some_and(|b| b == b'_' || b.is_ascii_alphanumeric())
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_split_on_blanks_only() {
        let text = " --a  b\t'c d' ";
        let split: Vec<&str> = words(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(split, ["--a", "b", "'c", "d'"]);
    }

    #[test]
    fn assignments_are_read_in_three_quotings() {
        assert_eq!(quoting("\"$A --b\""), Some((Quoting::Double, 1)));
        assert_eq!(quoting("'--b c'"), Some((Quoting::Single, 1)));
        assert_eq!(quoting("--b"), Some((Quoting::Bare, 0)));
        assert_eq!(quoting("\"a\"'b'"), None);
        assert_eq!(quoting("\"a \\\" b\""), None);
        assert_eq!(quoting("\"$(cat x)\"").map(|q| q.0), Some(Quoting::Double));
    }
}
