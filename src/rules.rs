//! Every rule the tool reports, with its stable code, severity and help.
//!
//! Codes are part of the public interface (JSON output, suppressions in later
//! versions), so they never change once released.

use serde::{Deserialize, Serialize};

/// Where users read about the rules: the `helpUri` of SARIF output and the
/// base of [`Rule::url`]. Built from `repository` in Cargo.toml, the one place
/// the project's address is written (tests/packaging/ checks the docs).
pub const RULES_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/-/blob/main/docs/rules.md");

/// `docs/rules.md`, the one place where each rule is described at length.
const RULES_DOC: &str = include_str!("../docs/rules.md");

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    DuplicateKey = "yaml/duplicate-key", Warning, "a key written twice in one mapping";
    NotMigrated = "migrate/not-migrated", Error, "a Kaniko job the rewrite leaves as it is";
    DroppedFlag = "migrate/dropped-flag", Info, "an executor flag BuildKit needs nothing for";
    UnsafeFlag = "migrate/unsafe-flag", Warning, "an executor flag whose removal changes behaviour";
    MigrationNote = "migrate/note", Info, "something to know about a migrated job";
    SuppressionUnused = "suppression/unused", Warning, "an ignore comment that suppresses nothing";
    SuppressionInvalid = "suppression/invalid", Warning, "an ignore comment that cannot be read";
    KanikoImageReference = "kaniko/image-reference", Info, "a Kaniko image named in YAML that is not GitLab CI";
    LoadError = "load/error", Error, "a file the tool could not read or parse (exit 2)";
    UnknownAction = "kaniko/unknown-action", Info, "a GitHub step uses a Kaniko action the tool does not know";
}

impl Rule {
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|rule| rule.code() == code)
    }

    /// The code nearest to a misspelt one, for "did you mean" hints.
    pub fn closest(code: &str) -> Option<Rule> {
        let nearest = crate::suggest::closest(code, Rule::ALL.iter().map(|rule| rule.code()))?;
        Rule::from_code(nearest)
    }

    /// The rule's row of `docs/rules.md` (its "finds" column), so that SARIF
    /// and other reports carry the same text as the docs without a copy.
    pub fn description(self) -> &'static str {
        let cell = format!("| `{}` | {} | ", self.code(), self.severity().as_str());
        RULES_DOC
            .lines()
            .find_map(|line| line.strip_prefix(cell.as_str()))
            .map_or(self.summary(), |rest| rest.trim_end_matches('|').trim())
    }

    /// The docs section that lists the rule: `docs/rules.md#kaniko-usage`.
    pub fn url(self) -> String {
        let cell = format!("| `{}` |", self.code());
        let section = RULES_DOC
            .lines()
            .take_while(|line| !line.starts_with(&cell))
            .filter_map(|line| line.strip_prefix("## "))
            .last();
        match section {
            Some(title) => format!("{RULES_URL}#{}", anchor(title)),
            None => RULES_URL.to_string(),
        }
    }
}

/// The anchor GitHub and GitLab give a heading: lower case, spaces to `-`,
/// punctuation dropped.
fn anchor(title: &str) -> String {
    title
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
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

    /// Reports take each rule's long text and docs link from `docs/rules.md`.
    #[test]
    fn every_rule_has_a_description_and_a_section() {
        for &rule in Rule::ALL {
            assert_ne!(rule.description(), rule.summary(), "{}", rule.code());
            assert!(rule.url().contains(".md#"), "{}", rule.url());
        }
        assert!(Rule::KanikoJob.url().ends_with("#kaniko-usage"));
        assert!(
            Rule::IncludeCycle
                .url()
                .ends_with("#includes-and-templates")
        );
    }

    #[test]
    fn misspelt_codes_suggest_the_nearest() {
        assert_eq!(Rule::closest("kaniko/pth"), Some(Rule::KanikoPath));
        assert_eq!(Rule::closest("kaniko/jobs"), Some(Rule::KanikoJob));
        assert_eq!(Rule::closest("nothing-like-it"), None);
    }

    #[test]
    fn codes_round_trip() {
        for &rule in Rule::ALL {
            assert_eq!(Rule::from_code(rule.code()), Some(rule));
        }
    }
}
