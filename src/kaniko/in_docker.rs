//! Kaniko started with `docker run` from a job that has a Docker daemon (a
//! GitLab `docker:dind` job, a GitHub runner, a Buildkite agent): which
//! program the container runs, and the
//! executor's flags at their spans. The `docker run` options themselves
//! (mounts, environment) are read by [`super::docker_run`].
//!
//! The executor image's entrypoint is `/kaniko/executor`, so the words after
//! the image are its flags. `--entrypoint ""` makes the first of them the
//! program (`/kaniko/executor …`, or the debug image's `/busybox/sh -c
//! "…"`); an `--entrypoint` that is a shell takes `-c "…"`; any other
//! entrypoint runs something that is not the executor.

use std::ops::Range;

use super::docker_run::{self, DockerRun};
use super::invocation::{Invocation, Program};
use super::shell::{self, Command, Word};
use crate::span::Span;

/// One `docker run` of a Kaniko image in a script.
#[derive(Clone, Debug)]
pub struct DockerUse {
    pub run: DockerRun,
    /// The image as written (quotes removed).
    pub image: String,
    pub image_span: Span,
    /// The client word (`docker`, `/usr/bin/docker`, `podman`).
    pub client: String,
    /// The whole command in the decoded script, prefix assignments
    /// included: what a rewrite replaces.
    pub script_range: Range<usize>,
    /// The whole command in the file.
    pub span: Span,
    /// The command's own `NAME=value` prefixes, as written: the client's
    /// environment.
    pub prefixes: Vec<String>,
    /// Spans of `run.mounts`, `run.env` and `run.unhandled`, in their order.
    pub mount_spans: Vec<Span>,
    pub env_spans: Vec<Span>,
    /// The `-e` values' shell text as written, in `run.env`'s order.
    pub env_raw: Vec<String>,
    pub unhandled_spans: Vec<Span>,
    /// `--network`/`--net` and its value, which decides the network of the
    /// build's `RUN` steps (they ran in the container).
    pub network: Option<(String, Span)>,
    /// `--platform`: the container's platform, which Kaniko built for
    /// unless `--custom-platform` said otherwise.
    pub platform: Option<(String, Span)>,
    /// Redirections written before the image, inside the replaced range.
    pub inner_redirects: Vec<Span>,
    pub runs: Runs,
}

/// What the container runs.
#[derive(Clone, Debug)]
pub enum Runs {
    /// The executor or the warmer, with its flags.
    Program(Invocation),
    /// A shell script whose one command is the executor: `sh -c "…"`.
    /// `exact` is false when the spans inside it fall back to the script
    /// word's (escapes changed the offsets); `container_expands` lists the
    /// `$NAME`s the container's shell expanded itself (a single-quoted
    /// script), which only `-e` variables fill.
    Shell {
        call: Invocation,
        exact: bool,
        container_expands: Vec<String>,
    },
    /// Not the executor, or nothing this reading can follow: why, and where.
    Other { message: String, span: Span },
}

impl DockerUse {
    /// The executor (or warmer) call, when the container runs one.
    pub fn invocation(&self) -> Option<&Invocation> {
        match &self.runs {
            Runs::Program(call) | Runs::Shell { call, .. } => Some(call),
            Runs::Other { .. } => None,
        }
    }
}

/// Every `docker run` of a Kaniko image in `script`, in order.
pub fn scan(
    script: &str,
    commands: &[Command],
    is_kaniko: &dyn Fn(&str) -> bool,
    to_source: &dyn Fn(Range<usize>) -> Span,
) -> Vec<DockerUse> {
    commands
        .iter()
        .filter_map(|command| read(script, command, is_kaniko, to_source))
        .collect()
}

/// One command, when it is a `docker run` of a Kaniko image.
pub fn read(
    script: &str,
    command: &Command,
    is_kaniko: &dyn Fn(&str) -> bool,
    to_source: &dyn Fn(Range<usize>) -> Span,
) -> Option<DockerUse> {
    let run = docker_run::read(script, &command.words)?;
    let words = &command.words;
    let image_word = &words[run.image];
    if !is_kaniko(&image_word.value) {
        return None;
    }
    let start = command
        .assignments
        .first()
        .map_or(words[0].range.start, |w| w.range.start);
    let end = words.last().map_or(words[0].range.end, |w| w.range.end);
    let image_at = image_word.range.start;
    let spans = |ranges: &mut dyn Iterator<Item = Range<usize>>| -> Vec<Span> {
        ranges.map(to_source).collect()
    };
    let runs = runs(
        script,
        command,
        &run,
        is_warmer(&image_word.value),
        to_source,
    );
    Some(DockerUse {
        image: image_word.value.clone(),
        image_span: to_source(image_word.range.clone()),
        client: words[0].value.clone(),
        script_range: start..end,
        span: to_source(start..end),
        prefixes: command
            .assignments
            .iter()
            .map(|w| script[w.range.clone()].to_string())
            .collect(),
        mount_spans: spans(&mut run.mounts.iter().map(|m| m.range.clone())),
        env_spans: spans(&mut run.env.iter().map(|e| e.range.clone())),
        env_raw: run
            .env
            .iter()
            .map(|e| script[e.range.clone()].to_string())
            .collect(),
        unhandled_spans: spans(&mut run.unhandled.iter().map(|(_, r)| r.clone())),
        network: option_value(&words[..run.image], &["--network", "--net"], to_source),
        platform: option_value(&words[..run.image], &["--platform"], to_source),
        inner_redirects: command
            .redirects
            .iter()
            .filter(|r| r.range.start > start && r.range.end < image_at)
            .map(|r| to_source(r.range.clone()))
            .collect(),
        runs,
        run,
    })
}

fn is_warmer(image: &str) -> bool {
    image.contains("warmer")
}

/// `--network VALUE`, `--network=VALUE`, `--net …` (the option `names`)
/// before the image: the last one wins, as in Docker.
fn option_value(
    words: &[Word],
    names: &[&str],
    to_source: &dyn Fn(Range<usize>) -> Span,
) -> Option<(String, Span)> {
    let mut found = None;
    for (index, word) in words.iter().enumerate() {
        for name in names {
            if word.value == *name {
                if let Some(value) = words.get(index + 1) {
                    let span = to_source(word.range.start..value.range.end);
                    found = Some((value.value.clone(), span));
                }
            } else if let Some(value) = word.value.strip_prefix(&format!("{name}=")) {
                found = Some((value.to_string(), to_source(word.range.clone())));
            }
        }
    }
    found
}

/// Shells the Kaniko debug image has (and a plain `sh` on its `PATH`).
fn is_shell(program: &str) -> bool {
    matches!(program, "/busybox/sh" | "sh" | "/bin/sh" | "/busybox/ash")
}

fn executor_program(program: &str) -> Option<Program> {
    let name = program.trim_start_matches("${KANIKO_DIR:-/kaniko}");
    if name.ends_with("/kaniko/executor") || name == "executor" {
        Some(Program::Executor)
    } else if name.ends_with("/kaniko/warmer") || name == "warmer" {
        Some(Program::Warmer)
    } else {
        None
    }
}

fn runs(
    script: &str,
    command: &Command,
    run: &DockerRun,
    warmer_image: bool,
    to_source: &dyn Fn(Range<usize>) -> Span,
) -> Runs {
    let words = &command.words;
    let image = run.image;
    let default_program = if warmer_image {
        Program::Warmer
    } else {
        Program::Executor
    };
    // The program word and its arguments, as a command of their own.
    let call_from = |program: Program, first: usize| {
        let executor = Command {
            assignments: Vec::new(),
            words: words[first..].to_vec(),
            redirects: command.redirects.clone(),
            range: command.range.clone(),
        };
        super::invocation(program, script, &executor, to_source)
    };
    let Some((entrypoint, range)) = &run.entrypoint else {
        return Runs::Program(call_from(default_program, image));
    };
    let entrypoint_span = to_source(range.clone());
    if let Some(program) = executor_program(entrypoint) {
        return Runs::Program(call_from(program, image));
    }
    if entrypoint.is_empty() {
        let Some(program_word) = words.get(image + 1) else {
            return Runs::Other {
                message: "`--entrypoint \"\"` with no command: the container runs nothing".into(),
                span: entrypoint_span,
            };
        };
        if let Some(program) = executor_program(&program_word.value) {
            return Runs::Program(call_from(program, image + 1));
        }
        if is_shell(&program_word.value) {
            return shell_script(script, words, image + 2, to_source, entrypoint_span);
        }
        return Runs::Other {
            message: format!(
                "the container runs `{}`, not the executor",
                program_word.value
            ),
            span: to_source(program_word.range.clone()),
        };
    }
    if is_shell(entrypoint) {
        return shell_script(script, words, image + 1, to_source, entrypoint_span);
    }
    Runs::Other {
        message: format!("`--entrypoint {entrypoint}` runs something other than the executor"),
        span: entrypoint_span,
    }
}

/// `sh -c "SCRIPT"`: the script's one command must be the executor.
fn shell_script(
    script: &str,
    words: &[Word],
    first: usize,
    to_source: &dyn Fn(Range<usize>) -> Span,
    entrypoint_span: Span,
) -> Runs {
    let (Some(flag), Some(body), None) =
        (words.get(first), words.get(first + 1), words.get(first + 2))
    else {
        return Runs::Other {
            message: "the container's shell does not run one `-c` script".into(),
            span: words
                .get(first)
                .map_or(entrypoint_span, |w| to_source(w.range.clone())),
        };
    };
    if flag.value != "-c" {
        return Runs::Other {
            message: format!(
                "the container's shell runs `{}`, not a `-c` script",
                flag.value
            ),
            span: to_source(flag.range.clone()),
        };
    }
    let inner = body.value.as_str();
    let raw = &script[body.range.clone()];
    let body_span = to_source(body.range.clone());
    // Offsets inside the script map back one to one when the word is the
    // script between a pair of quotes, with nothing escaped.
    let quote = raw.chars().next().filter(|c| *c == '"' || *c == '\'');
    let exact = match quote {
        Some(q) => {
            raw.len() == inner.len() + 2 && raw.ends_with(q) && &raw[1..raw.len() - 1] == inner
        }
        None => raw == inner,
    };
    // In double quotes the job's shell expands `$` before the container's
    // shell reads its own quotes: `'$IMAGE'` inside was the value, while
    // the same text as a command of the job would stay literal.
    if quote == Some('"') && inner.contains('\'') {
        return Runs::Other {
            message: "the container's shell script has single quotes inside double quotes: the job expanded what \
                      they hold before the container read them, which a command of the job's own cannot repeat"
                .into(),
            span: body_span,
        };
    }
    let offset = body.range.start + usize::from(quote.is_some());
    let inner_source = |range: Range<usize>| {
        if exact {
            to_source(range.start + offset..range.end + offset)
        } else {
            body_span
        }
    };
    let commands = shell::commands(inner);
    let [command] = commands.as_slice() else {
        let what = if commands.is_empty() {
            "nothing".to_string()
        } else {
            format!("{} commands", commands.len())
        };
        return Runs::Other {
            message: format!(
                "the container's shell script runs {what}, not one executor call: migrate what it does by hand"
            ),
            span: body_span,
        };
    };
    let Some(program) = command
        .words
        .first()
        .and_then(|w| executor_program(&w.value))
    else {
        return Runs::Other {
            message: "the container's shell script does not call the executor".into(),
            span: body_span,
        };
    };
    if !command.assignments.is_empty() || !command.redirects.is_empty() {
        return Runs::Other {
            message: "the executor call in the container's shell script has prefixes or redirections of its own"
                .into(),
            span: body_span,
        };
    }
    let call = super::invocation(program, inner, command, &inner_source);
    let container_expands = if quote == Some('\'') {
        expanded_names(inner)
    } else {
        Vec::new()
    };
    Runs::Shell {
        call,
        exact,
        container_expands,
    }
}

/// The `$NAME` and `${NAME…}` expansions of a script, in order, once each.
fn expanded_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let bytes = text.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'$' {
            let rest = &text[index + 1..];
            let rest = rest.strip_prefix('{').unwrap_or(rest);
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
        index += 1;
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kaniko::image::is_kaniko_image;

    fn scan_text(script: &str) -> Vec<DockerUse> {
        let commands = shell::commands(script);
        scan(script, &commands, &is_kaniko_image, &|r| {
            Span::new(r.start, r.end)
        })
    }

    fn flags(call: &Invocation) -> Vec<(&str, &str)> {
        call.flags
            .iter()
            .map(|f| (f.spec.name, f.value.as_str()))
            .collect()
    }

    #[test]
    fn the_words_after_the_image_are_the_executor_flags() {
        let script = "docker run --rm -v \"$PWD\":/workspace gcr.io/kaniko-project/executor:v1.23.2 --context dir:///workspace --destination \"$IMAGE\"";
        let uses = scan_text(script);
        assert_eq!(uses.len(), 1);
        let Runs::Program(call) = &uses[0].runs else {
            panic!("{:?}", uses[0].runs)
        };
        assert_eq!(
            flags(call),
            [("context", "dir:///workspace"), ("destination", "$IMAGE")]
        );
        let span = call.flags[1].span;
        assert_eq!(span.slice(script), "--destination \"$IMAGE\"");
        assert_eq!(
            uses[0].image_span.slice(script),
            "gcr.io/kaniko-project/executor:v1.23.2"
        );
        assert_eq!(uses[0].span.slice(script), script);
    }

    #[test]
    fn entrypoint_rules() {
        let empty = scan_text(
            "docker run --entrypoint \"\" gcr.io/kaniko-project/executor:debug /kaniko/executor --no-push",
        );
        assert!(
            matches!(&empty[0].runs, Runs::Program(call) if flags(call) == [("no-push", "true")])
        );
        let other = scan_text(
            "docker run --entrypoint /busybox/cat gcr.io/kaniko-project/executor:debug x",
        );
        assert!(matches!(&other[0].runs, Runs::Other { .. }));
        let warmer = scan_text("docker run gcr.io/kaniko-project/warmer:latest --image alpine");
        assert!(matches!(&warmer[0].runs, Runs::Program(call) if call.program == Program::Warmer));
    }

    #[test]
    fn a_debug_shell_script_with_one_executor_call_is_read_at_its_spans() {
        let script = "docker run --entrypoint \"\" gcr.io/kaniko-project/executor:debug /busybox/sh -c \"/kaniko/executor --context /workspace --no-push\"";
        let uses = scan_text(script);
        let Runs::Shell { call, exact, .. } = &uses[0].runs else {
            panic!("{:?}", uses[0].runs)
        };
        assert!(exact);
        assert_eq!(call.flags[0].span.slice(script), "--context /workspace");
        let two = scan_text(
            "docker run --entrypoint /busybox/sh gcr.io/kaniko-project/executor:debug -c 'echo hi; /kaniko/executor --no-push'",
        );
        assert!(
            matches!(&two[0].runs, Runs::Other { message, .. } if message.contains("2 commands"))
        );
        let single = scan_text(
            "docker run --entrypoint sh gcr.io/kaniko-project/executor:debug -c '/kaniko/executor --destination $IMAGE'",
        );
        assert!(
            matches!(&single[0].runs, Runs::Shell { container_expands, .. } if container_expands == &["IMAGE"])
        );
    }

    #[test]
    fn single_quotes_inside_a_double_quoted_script_are_reported() {
        let uses = scan_text(
            "docker run --entrypoint sh gcr.io/kaniko-project/executor:debug -c \"/kaniko/executor --destination '$IMAGE'\"",
        );
        assert!(
            matches!(&uses[0].runs, Runs::Other { message, .. } if message.contains("single quotes"))
        );
    }

    #[test]
    fn other_images_and_commands_are_not_kaniko() {
        assert!(scan_text("docker run --rm alpine:3 echo /kaniko/executor").is_empty());
        assert!(scan_text("docker pull gcr.io/kaniko-project/executor:latest").is_empty());
    }

    #[test]
    fn network_and_redirects_before_the_image_are_kept() {
        let script = "docker run --network=host 2>err.log gcr.io/kaniko-project/executor --no-push";
        let uses = scan_text(script);
        assert_eq!(uses[0].network.as_ref().unwrap().0, "host");
        assert_eq!(uses[0].inner_redirects.len(), 1);
    }
}
