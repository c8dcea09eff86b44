//! Every rule the tool reports, with its stable code, severity and help.
//!
//! Codes are part of the public interface (JSON output, suppressions in later
//! versions), so they never change once released.

use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! rules {
    ($($variant:ident = $code:literal, $severity:ident, $summary:literal;)*) => {
        /// A rule: what kind of finding this is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Rule { $($variant,)* }

        impl Rule {
            pub const ALL: &[Rule] = &[$(Rule::$variant,)*];

            /// The stable code, e.g. `kaniko/job`.
            pub fn code(self) -> &'static str {
                match self { $(Rule::$variant => $code,)* }
            }

            pub fn severity(self) -> Severity {
                match self { $(Rule::$variant => Severity::$severity,)* }
            }

            /// One line saying what the rule finds.
            pub fn summary(self) -> &'static str {
                match self { $(Rule::$variant => $summary,)* }
            }
        }
    };
}

rules! {
    KanikoJob = "kaniko/job", Error, "a job builds with Kaniko";
    KanikoExecutor = "kaniko/executor", Error, "a script calls the Kaniko executor";
    KanikoWarmer = "kaniko/warmer", Error, "a script calls the Kaniko cache warmer";
    KanikoPath = "kaniko/path", Warning, "a script uses a path that exists only in Kaniko images";
    UnknownFlag = "kaniko/unknown-flag", Error, "an executor flag that Kaniko does not define";
    MissingValue = "kaniko/missing-value", Error, "an executor flag without its value";
    StrayArgument = "kaniko/stray-argument", Warning, "an executor argument that is not a flag";
    VariableArgs = "kaniko/variable-args", Warning, "executor flags hidden in a variable";
    IncludeNotFound = "include/not-found", Warning, "a local include names no file";
    IncludeOutsideRoot = "include/outside-root", Error, "a local include leaves the repository";
    IncludeCycle = "include/cycle", Error, "files include each other";
    IncludeNotFollowed = "include/not-followed", Info, "a remote, project, template or component include";
    ExtendsNotFound = "extends/not-found", Error, "`extends` names no job or template";
    ExtendsCycle = "extends/cycle", Error, "jobs extend each other";
    ReferenceNotFound = "reference/not-found", Error, "`!reference` names no key";
    YamlDepth = "yaml/too-complex", Error, "aliases or nesting too deep to resolve";
}

impl Rule {
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|rule| rule.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `docs/rules.md` must document every rule code.
    #[test]
    fn every_rule_is_documented() {
        let docs = include_str!("../docs/rules.md");
        for rule in Rule::ALL {
            let cell = format!("| `{}` | {} |", rule.code(), rule.severity().as_str());
            assert!(docs.contains(&cell), "docs/rules.md lacks `{cell}`");
        }
    }

    #[test]
    fn codes_round_trip() {
        for &rule in Rule::ALL {
            assert_eq!(Rule::from_code(rule.code()), Some(rule));
        }
    }
}
