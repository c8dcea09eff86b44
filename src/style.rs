//! Colour: decided per output stream, and the few styles text output uses.
//!
//! Each stream gets its own decision (`diff | less` keeps its diagnostics on
//! a terminal coloured, and a log file stays plain), made by `anstream` the
//! way most CLIs do: `NO_COLOR` wins, then `CLICOLOR_FORCE`, then `TERM=dumb`
//! turns colour off; then GitLab job logs (not a terminal, but they render
//! ANSI), then whether the stream is a terminal.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style};

use crate::cli::ColorChoice;
use crate::rules::Severity;

/// Whether each stream gets colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

impl Colors {
    /// The decision for the process's real stdout and stderr.
    pub fn decide(choice: ColorChoice) -> Colors {
        Colors {
            stdout: decide(choice, &std::io::stdout()),
            stderr: decide(choice, &std::io::stderr()),
        }
    }
}

fn decide<S: anstream::stream::RawStream + IsTerminal>(choice: ColorChoice, stream: &S) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => auto(stream),
    }
}

fn auto<S: anstream::stream::RawStream + IsTerminal>(stream: &S) -> bool {
    if anstyle_query::no_color() {
        return false;
    }
    if anstyle_query::clicolor_force() {
        return true;
    }
    if std::env::var_os("TERM").is_some_and(|term| term == "dumb") {
        return false;
    }
    if std::env::var_os("GITLAB_CI").is_some_and(|v| !v.is_empty()) {
        return true;
    }
    anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

/// `text` in `style` when `on`, else as it is.
pub fn paint(on: bool, style: Style, text: &str) -> String {
    if on {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

pub const BOLD: Style = Style::new().bold();
pub const DIM: Style = Style::new().dimmed();
pub const GREEN: Style = AnsiColor::Green.on_default();
pub const YELLOW: Style = AnsiColor::Yellow.on_default();
pub const RED: Style = AnsiColor::Red.on_default();
pub const CYAN: Style = AnsiColor::Cyan.on_default();

/// The colour of a severity, as the full format draws it.
pub fn severity(severity: Severity) -> Style {
    match severity {
        Severity::Error => RED.bold(),
        Severity::Warning => YELLOW.bold(),
        Severity::Info => CYAN.bold(),
    }
}
