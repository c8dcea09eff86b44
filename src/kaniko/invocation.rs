//! One `/kaniko/executor` (or warmer) command line, read flag by flag with
//! cobra/pflag's rules, every flag and value at its span in the YAML source.

use super::shell::Word;
use crate::mapping::quote;
use crate::mapping::table::{self, FlagSpec, ValueKind};
use crate::span::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Program {
    Executor,
    Warmer,
}

impl Program {
    pub fn path(self) -> &'static str {
        match self {
            Program::Executor => "/kaniko/executor",
            Program::Warmer => "/kaniko/warmer",
        }
    }

    pub fn flags(self) -> &'static [FlagSpec] {
        match self {
            Program::Executor => table::EXECUTOR_FLAGS,
            Program::Warmer => table::WARMER_FLAGS,
        }
    }
}

/// A flag as written: `--destination "$IMAGE"`, `-d=x`, `--no-push`.
#[derive(Clone, Debug)]
pub struct FlagUse {
    pub spec: &'static FlagSpec,
    /// The flag's own word (or the part before `=`).
    pub name_span: Span,
    /// The flag and its value.
    pub span: Span,
    /// The value after quote removal; `true` for a bare boolean flag.
    pub value: String,
    /// The value's shell text as written, quotes and `$VARS` included, so a
    /// rewrite can keep the quoting that decides how it expands.
    pub raw: String,
}

/// Something in the command line that is not a known flag.
#[derive(Clone, Debug)]
pub enum Problem {
    Unknown {
        name: String,
        span: Span,
    },
    MissingValue {
        flag: &'static FlagSpec,
        span: Span,
    },
    Stray {
        word: String,
        span: Span,
    },
    /// A `$VAR` (or `$(...)`) that may expand to one or, unquoted, several
    /// flags.
    Variable {
        word: String,
        /// The word as written, quotes included.
        raw: String,
        /// Any part was quoted: the expansion stays one argument.
        quoted: bool,
        span: Span,
    },
    /// A redirection written between the arguments (`--a x 2>&1 --b y`).
    Redirect {
        span: Span,
    },
    /// A value the rewrite cannot carry with what Kaniko received (a glob,
    /// `$'...'` quoting, an open quote), or one Kaniko itself read in a way
    /// the job most likely did not mean (a flag name taken as a value).
    Unreadable {
        message: String,
        span: Span,
    },
    /// `KANIKO_NO_PUSH=true /kaniko/executor`: an environment switch of Kaniko's.
    Setting {
        name: String,
        /// The value after quote removal.
        value: String,
        span: Span,
    },
}

#[derive(Clone, Debug)]
pub struct Invocation {
    pub program: Program,
    /// The whole command, from the program word to its last argument.
    pub span: Span,
    pub flags: Vec<FlagUse>,
    pub problems: Vec<Problem>,
    /// The command's byte range in the decoded script line, prefix
    /// assignments included: a rewrite replaces them with the command.
    pub script_range: std::ops::Range<usize>,
    /// `NAME=value` words before the program, as written: the environment
    /// Kaniko ran with, which the new command must run with too.
    pub assignments: Vec<String>,
    /// The program word (`/kaniko/executor`), where diagnostics point.
    pub program_span: Span,
}

/// Reads the arguments after the program word. `to_source` maps a word's
/// range in the script text to its span in the YAML source.
pub fn parse(
    program: Program,
    script: &str,
    args: &[Word],
    to_source: &dyn Fn(std::ops::Range<usize>) -> Span,
) -> (Vec<FlagUse>, Vec<Problem>) {
    let table = program.flags();
    let mut flags = Vec::new();
    let mut problems = Vec::new();
    let mut index = 0;
    let mut only_positional = false;
    while index < args.len() {
        let word = &args[index];
        let span = to_source(word.range.clone());
        index += 1;
        if is_dynamic(word) {
            problems.push(Problem::Variable {
                word: word.value.clone(),
                raw: script[word.range.clone()].to_string(),
                quoted: word.quoted,
                span,
            });
            continue;
        }
        if only_positional || !word.value.starts_with('-') || word.value == "-" {
            problems.push(Problem::Stray {
                word: word.value.clone(),
                span,
            });
            continue;
        }
        if word.value == "--" {
            only_positional = true;
            continue;
        }
        let (spec, inline, name) = match lookup(table, &word.value) {
            Ok(found) => found,
            Err(name) => {
                // Kaniko stops at the first unknown flag; the word after a
                // `--name` without `=` is most likely its value, not a finding.
                let next_is_value = !word.value.contains('=')
                    && args
                        .get(index)
                        .is_some_and(|next| !next.value.starts_with('-'));
                if next_is_value {
                    index += 1;
                }
                problems.push(Problem::Unknown { name, span });
                continue;
            }
        };
        let name_span = match inline {
            Some(_) => to_source(word.range.start..word.range.start + name.len()),
            None => span,
        };
        let (value, raw, span) = match (inline, spec.kind) {
            (Some((value, _)), ValueKind::Bool) if !is_parse_bool(&value) => {
                problems.push(Problem::Unreadable {
                    message: format!(
                        "Kaniko refuses `{}={value}`: a boolean flag takes 1, t, T, TRUE, true, True, 0, f, F, FALSE, false or False",
                        name
                    ),
                    span,
                });
                continue;
            }
            (Some((value, offset)), _) => {
                let raw = script[word.range.start + offset..word.range.end].to_string();
                (value, raw, span)
            }
            // A boolean flag never takes the next word as its value.
            (None, ValueKind::Bool) => ("true".to_string(), "true".to_string(), span),
            (None, _) => match args.get(index) {
                Some(value_word) => {
                    index += 1;
                    if value_word.value.starts_with("--")
                        && lookup(table, &value_word.value).is_ok()
                    {
                        problems.push(Problem::Unreadable {
                            message: format!(
                                "Kaniko takes `{}` as the value of `{name}`, not as a flag: the job most likely lost a value here; fix the call before migrating",
                                value_word.value
                            ),
                            span: to_source(word.range.start..value_word.range.end),
                        });
                        continue;
                    }
                    let written = to_source(value_word.range.clone());
                    let raw = script[value_word.range.clone()].to_string();
                    let span = Span::new(span.start(), written.end().max(span.end()));
                    (value_word.value.clone(), raw, span)
                }
                None => {
                    problems.push(Problem::MissingValue { flag: spec, span });
                    continue;
                }
            },
        };
        if let Some(message) = quote::hazard(&raw) {
            problems.push(Problem::Unreadable { message, span });
            continue;
        }
        let (value, raw) = home_for_tilde(value, raw);
        flags.push(FlagUse {
            spec,
            name_span,
            span,
            value,
            raw,
        });
    }
    (flags, problems)
}

/// Go's `strconv.ParseBool`, which pflag uses for boolean flags.
pub fn is_parse_bool(value: &str) -> bool {
    matches!(
        value,
        "1" | "t" | "T" | "TRUE" | "true" | "True" | "0" | "f" | "F" | "FALSE" | "false" | "False"
    )
}

/// An unquoted leading `~` was the job's home directory when Kaniko ran;
/// inside the quotes a rewrite adds it would stay a literal `~`, so it is
/// spelled `$HOME`, which the new image sets to its own home.
fn home_for_tilde(value: String, raw: String) -> (String, String) {
    let home = |text: &str, quoted: bool| match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => Some(if quoted {
            format!("\"$HOME\"{rest}")
        } else {
            format!("$HOME{rest}")
        }),
        _ => None,
    };
    match (home(&raw, true), home(&value, false)) {
        (Some(raw), Some(value)) => (value, raw),
        _ => (value, raw),
    }
}

/// A word that starts with an expansion holds flags nobody can see here:
/// unquoted it may become several words, quoted exactly one.
fn is_dynamic(word: &Word) -> bool {
    word.expansion || word.value.starts_with('$') || word.value.starts_with('`')
}

/// Finds the flag a word names. Returns the spec, the inline value with its
/// byte offset in the word (`--flag=value`, `-cvalue`), and the name part as
/// written; or the unknown name.
#[allow(clippy::type_complexity)]
fn lookup(
    table: &'static [FlagSpec],
    word: &str,
) -> Result<(&'static FlagSpec, Option<(String, usize)>, String), String> {
    if let Some(long) = word.strip_prefix("--") {
        let (name, inline) = match long.split_once('=') {
            Some((name, value)) => (name, Some((value.to_string(), 2 + name.len() + 1))),
            None => (long, None),
        };
        let spec = table::by_name(table, name).ok_or_else(|| format!("--{name}"))?;
        return Ok((spec, inline, format!("--{name}")));
    }
    let short = word[1..].chars().next().ok_or_else(|| word.to_string())?;
    let spec = table::by_short(table, short).ok_or_else(|| format!("-{short}"))?;
    let rest = &word[1 + short.len_utf8()..];
    let name = format!("-{short}");
    if rest.is_empty() {
        return Ok((spec, None, name));
    }
    let (value, offset) = match rest.strip_prefix('=') {
        Some(value) => (value, 1 + short.len_utf8() + 1),
        None => (rest, 1 + short.len_utf8()),
    };
    Ok((spec, Some((value.to_string(), offset)), name))
}
