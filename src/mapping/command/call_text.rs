//! The text that replaces one executor call: the translation's parts put
//! together as shell, with the daemon's configuration written first and
//! several commands run as one subshell.

use super::Translation;

impl Translation {
    /// Writes `buildkitd.toml` where the flavour's daemon reads it, before
    /// the build, one `printf` argument per line so that hosts held in
    /// variables still expand.
    fn config_steps(&self) -> Vec<String> {
        let Some(dir) = self.flavor.config_dir() else {
            return Vec::new();
        };
        if self.daemon_config.is_empty() {
            return Vec::new();
        }
        let lines: Vec<String> = self
            .daemon_config
            .iter()
            .map(|line| format!("\"{line}\""))
            .collect();
        vec![
            format!("mkdir -p \"{dir}\""),
            format!(
                "printf '%s\\n' {} > \"{dir}/buildkitd.toml\"",
                lines.join(" ")
            ),
        ]
    }

    /// The new command, in parts that [`CallText::lines`] puts together.
    pub fn call_text(&self) -> CallText {
        if self.informational {
            return CallText {
                assignments: self.assignments.clone(),
                command: vec![self.flavor.version_command().to_string()],
                ..CallText::default()
            };
        }
        let mut steps = self.config_steps();
        steps.extend(self.before.iter().cloned());
        CallText {
            assignments: self.assignments.clone(),
            secret: self.secret_before.clone(),
            steps,
            command: self
                .flavor
                .build_command(&self.global)
                .into_iter()
                .chain(self.lines.iter().cloned())
                .collect(),
            after: self.after.clone(),
        }
    }
}

/// The text that replaces one executor call, in parts, so that the plan can
/// add a registry login or a `BUILDKITD_FLAGS` prefix before it is joined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallText {
    /// The call's `NAME=value` prefixes: Kaniko's environment.
    pub assignments: Vec<String>,
    /// Steps that handle credentials: they run with tracing off.
    pub secret: Vec<String>,
    /// Steps that prepare the build.
    pub steps: Vec<String>,
    /// The program line, then one argument group per line. A line ending in
    /// `&&` is a step of the flavour's own (buildx's `create`).
    pub command: Vec<String>,
    /// Steps after a successful build (the digest files).
    pub after: Vec<String>,
}

impl CallText {
    /// More than one command, or a command with an environment of its own.
    fn needs_subshell(&self) -> bool {
        !self.assignments.is_empty()
            || !self.secret.is_empty()
            || !self.steps.is_empty()
            || !self.after.is_empty()
            || self.command.iter().any(|line| line.ends_with("&&"))
    }

    /// The logical lines of the new text. A lone command stands as it is.
    /// Several commands are joined with `&&` inside `( ... )`: the list's
    /// status is the first failure's, and a subshell, unlike a `{ }` group
    /// or a bare `a && b`, ends a `set -e` script (gitlab-runner's) when it
    /// fails, while keeping the call's meaning after `||`, `if` or a pipe.
    /// Prefix assignments become exported variables of the subshell, so
    /// that the build sees them as Kaniko did and `${NAME}` in the new
    /// arguments expands to them. Credential steps run with tracing off
    /// (`set -x` would print the password), and tracing comes back after.
    pub fn lines(&self) -> Vec<String> {
        if !self.needs_subshell() {
            return self.command.clone();
        }
        let mut opening = vec!["(".to_string()];
        if !self.secret.is_empty() {
            opening.push(format!(
                "case $- in *x*) {TRACE_FLAG}=1;; esac; {{ set +x; }} 2>/dev/null;"
            ));
        }
        if !self.assignments.is_empty() {
            let names: Vec<&str> = self
                .assignments
                .iter()
                .map(|a| a.split('=').next().unwrap_or_default())
                .collect();
            opening.push(format!(
                "{}; export {};",
                self.assignments.join(" "),
                names.join(" ")
            ));
        }
        let mut steps: Vec<String> = self.secret.iter().map(|s| format!("{s} &&")).collect();
        if let Some(last) = steps.last_mut() {
            last.push_str(&format!(
                " {{ [ -z \"${{{TRACE_FLAG}:-}}\" ] || set -x; }} &&"
            ));
        }
        steps.extend(self.steps.iter().map(|s| format!("{s} &&")));
        let mut lines: Vec<String> = steps
            .into_iter()
            .chain(self.command.iter().cloned())
            .chain(self.after.iter().map(|s| format!("&& {s}")))
            .collect();
        lines[0] = format!("{} {}", opening.join(" "), lines[0]);
        if let Some(last) = lines.last_mut() {
            last.push_str(" )");
        }
        lines
    }
}

/// Set in the subshell when the job traced its commands (`set -x`), so that
/// tracing resumes after the credential steps.
const TRACE_FLAG: &str = "_k2b_x";
