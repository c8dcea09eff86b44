//! Kaniko's environment switches (`KANIKO_NO_PUSH`, `KANIKO_REGISTRY_MIRROR`,
//! `KANIKO_DIR`): carried over, or dropped with a reason.

use super::collected::Collected;
use super::registries::add_mirror;
use super::{Fate, FlagNote, Translation, Workspace, is_true};
use crate::kaniko::invocation::{Invocation, Problem};
use crate::span::Span;

/// The environment switches of Kaniko's that have a BuildKit counterpart.
pub const MAPPED_SETTINGS: [&str; 2] = ["KANIKO_NO_PUSH", "KANIKO_REGISTRY_MIRROR"];

/// The environment switches of Kaniko's that BuildKit needs nothing for.
pub const DROPPED_SETTINGS: [&str; 1] = ["KANIKO_DIR"];

/// Why a dropped switch goes, as `--kaniko-dir` goes.
pub fn dropped_setting_reason(name: &str) -> String {
    format!(
        "`{name}` dropped: it moved Kaniko's own working directory, which BuildKit does not have; BuildKit ignores the variable"
    )
}

/// `KANIKO_NO_PUSH` and `KANIKO_REGISTRY_MIRROR`, from the job's variables
/// or a prefix of the call (which wins): `push=false`, and one more Docker
/// Hub mirror.
pub(super) fn apply_settings(
    call: &Invocation,
    workspace: &Workspace,
    collected: &mut Collected,
    out: &mut Translation,
) {
    let prefixes = call.problems.iter().filter_map(|problem| match problem {
        Problem::Setting { name, value, span } => Some((name.as_str(), value.as_str(), *span)),
        _ => None,
    });
    let variables = workspace
        .variables
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str(), call.program_span));
    let mut settings: Vec<(&str, &str, Span)> = variables.chain(prefixes).collect();
    settings.retain(|(name, _, _)| MAPPED_SETTINGS.contains(name));
    for (index, (name, value, span)) in settings.iter().enumerate() {
        let later = settings[index + 1..]
            .iter()
            .any(|(other, _, _)| other == name);
        if later {
            continue;
        }
        let note = |fate: Fate, message: String| FlagNote {
            fate,
            span: *span,
            message,
        };
        // A mirror held in a variable expands when the job writes
        // buildkitd.toml; whether to push has to be known now.
        let hidden = value.contains('`') || (*name == "KANIKO_NO_PUSH" && value.contains('$'));
        if hidden {
            let message = format!("`{name}` is set from a variable here: its value cannot be seen");
            out.notes.push(note(Fate::Blocked, message));
            continue;
        }
        if *name == "KANIKO_NO_PUSH" {
            collected.no_push_setting = is_true(value) && !value.is_empty();
        } else if !value.is_empty() {
            add_mirror(collected, "docker.io", value);
        }
        let message = format!(
            "`{name}` is carried over into the build; BuildKit itself ignores the variable"
        );
        out.notes.push(note(Fate::Note, message));
    }
}
