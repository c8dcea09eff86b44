//! How a flag reaches the build: the one decision per flag, written on its
//! row of the flag table ([`super::table`]).
//!
//! Most flags share a behaviour and say so with a variant that holds its
//! text (a no-op, dropped with a reason, dropped only with `--unsafe`,
//! unmappable with advice, blocked); the others name a [`Handler`] of
//! [`super::handlers`] that files the flag into what it feeds. Nothing else
//! in `mapping` matches on a flag's name to decide what it becomes.

use std::fmt::Debug;

use super::command::collected::Collected;
use super::command::{Carried, Fate, FlagNote, Translation};
use super::table;
use crate::kaniko::invocation::FlagUse;

/// What becomes of a flag when its call moves to BuildKit.
#[derive(Debug)]
pub(crate) enum Carry {
    /// Filed into the build by its own handler.
    Build(&'static dyn Handler),
    /// Safe to drop: the note gives the row's BuildKit text as the reason
    /// ("BuildKit needs nothing in its place" when it is a bare "none").
    NoOp,
    /// Dropped, for the reason given (which the BuildKit text does not say).
    Dropped(&'static str),
    /// Dropped only with `--unsafe`: the row's BuildKit text says what is lost.
    Unsafe,
    /// No BuildKit counterpart: the job keeps Kaniko, with this advice.
    Unmappable(&'static str),
    /// A counterpart exists but cannot be written from the flag alone: the
    /// job keeps Kaniko, with this message.
    Blocked(&'static str),
    /// An old spelling: carried as the flag it stands for (`alias_of`).
    Alias,
}

/// A flag with a BuildKit counterpart of its own: how one use of it feeds
/// the build, and how it reads when a variable carries it.
pub(crate) trait Handler: Debug + Sync {
    /// Files one use of the flag into what it feeds, or notes its fate.
    fn collect<'f>(&self, flag: &'f FlagUse, c: &mut Collected<'f>, out: &mut Translation);

    /// The flag written in a variable's value that the call passes on. By
    /// default it combines with the call's other flags into one option, so
    /// it must be written in the call.
    fn in_variable(&self, flag: &FlagUse, _call: &Translation) -> Carried {
        combines(flag)
    }
}

impl Carry {
    /// Files one use of the flag, or notes its fate.
    pub(crate) fn collect<'f>(
        &self,
        flag: &'f FlagUse,
        c: &mut Collected<'f>,
        out: &mut Translation,
    ) {
        match self {
            Carry::Build(handler) => handler.collect(flag, c, out),
            Carry::Alias => table::canonical(flag.spec).carry.collect(flag, c, out),
            Carry::Unmappable(advice) => {
                out.notes
                    .push(note(flag, Fate::Blocked, unmappable(flag, advice)));
            }
            Carry::Blocked(message) => {
                let message = format!("--{}: {message}", flag.spec.name);
                out.notes.push(note(flag, Fate::Blocked, message));
            }
            Carry::NoOp | Carry::Dropped(_) | Carry::Unsafe => {
                if let Some((fate, message)) = self.without_argument(flag) {
                    out.notes.push(note(flag, fate, message));
                }
            }
        }
    }

    /// The flag found in a variable's value: one buildctl word, or why it
    /// goes or keeps the job.
    pub(crate) fn in_variable(&self, flag: &FlagUse, call: &Translation) -> Carried {
        match self {
            Carry::Build(handler) => handler.in_variable(flag, call),
            Carry::Alias => table::canonical(flag.spec).carry.in_variable(flag, call),
            Carry::NoOp | Carry::Dropped(_) | Carry::Unsafe => Carried {
                word: None,
                note: self.without_argument(flag),
            },
            Carry::Unmappable(advice) => gone(Fate::Blocked, unmappable(flag, advice)),
            Carry::Blocked(_) => combines(flag),
        }
    }

    /// The note for a flag that leaves nothing in the build command.
    fn without_argument(&self, flag: &FlagUse) -> Option<(Fate, String)> {
        let spec = table::canonical(flag.spec);
        match self {
            Carry::NoOp => {
                let why = spec
                    .buildkit
                    .trim_start_matches("none")
                    .trim_start_matches(": ")
                    .trim_start_matches(" ");
                let why = if why.is_empty() {
                    "BuildKit needs nothing in its place"
                } else {
                    why
                };
                Some((
                    Fate::Dropped,
                    format!("--{} dropped: {why}", flag.spec.name),
                ))
            }
            Carry::Dropped(why) => Some((
                Fate::Dropped,
                format!("--{} dropped: {why}", flag.spec.name),
            )),
            Carry::Unsafe => {
                let why = spec.buildkit.trim_start_matches("none: ");
                Some((Fate::Unsafe, format!("--{} dropped: {why}", spec.name)))
            }
            _ => None,
        }
    }
}

/// A note at the flag's span.
pub(crate) fn note(flag: &FlagUse, fate: Fate, message: impl Into<String>) -> FlagNote {
    FlagNote {
        fate,
        span: flag.span,
        message: message.into(),
    }
}

/// A flag in a variable that becomes this word.
pub(crate) fn mapped(word: String) -> Carried {
    Carried {
        word: Some(word),
        note: None,
    }
}

/// A flag in a variable that leaves no word, with its fate.
pub(crate) fn gone(fate: Fate, message: String) -> Carried {
    Carried {
        word: None,
        note: Some((fate, message)),
    }
}

/// Why a flag held in a variable cannot be mapped there.
fn combines(flag: &FlagUse) -> Carried {
    gone(
        Fate::Blocked,
        format!(
            "--{} combines with the call's other flags into one buildctl option: write it in the call itself",
            flag.spec.name
        ),
    )
}

/// Why an unmappable flag keeps its job, and what to do instead.
fn unmappable(flag: &FlagUse, advice: &str) -> String {
    format!("--{} has no BuildKit counterpart: {advice}", flag.spec.name)
}
