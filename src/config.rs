//! `.kaniko2buildkit.toml`: project settings that would otherwise be repeated
//! on every command line (see `docs/config.md`).
//!
//! The file is read with `deny_unknown_fields` and spans, so a misspelt key
//! is an error that points at it (exit 2) rather than a setting that silently
//! does nothing. `--config KEY=VALUE` lines are parsed the same way and win
//! over the file, key by key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use serde::Deserialize;
use toml::Spanned;

use crate::finding::Finding;
use crate::gitlab::{LoadError, Pipeline};
use crate::rules::{Rule, Severity};
use crate::span::Span;

/// The file looked for at the project root.
pub const FILE_NAME: &str = ".kaniko2buildkit.toml";

/// The largest config file read: a few kilobytes is plenty.
const MAX_CONFIG_SIZE: u64 = 1024 * 1024;

pub use crate::mapping::flavor::Flavor;

/// Per-rule settings: `[rules."kaniko/path"]`.
#[derive(Clone, Debug, Default)]
struct RuleSettings {
    severity: Option<Severity>,
    ignore: PathPatterns,
}

/// The settings in force for one run: the file, then `--config` overrides.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The BuildKit image migrated jobs should use, e.g. a mirror of
    /// `moby/buildkit:v0.32.2-rootless`.
    pub buildkit_image: Option<String>,
    pub flavor: Flavor,
    /// The flavour was chosen (`--flavor` or the file's `flavor`), not the
    /// default: GitHub container jobs migrate only then.
    pub flavor_explicit: bool,
    rules: BTreeMap<Rule, RuleSettings>,
    extra_kaniko_images: Vec<ImagePattern>,
    exclude: PathPatterns,
}

/// The file's shape. Every key is optional so that a `--config` line can
/// set one of them and leave the others to the file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    buildkit_image: Option<Spanned<String>>,
    flavor: Option<Flavor>,
    extra_kaniko_images: Option<Vec<Spanned<String>>>,
    exclude: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, RawRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    severity: Option<Severity>,
    ignore: Option<Vec<Spanned<String>>>,
}

/// One TOML text and what to call it in errors.
struct Source<'a> {
    name: String,
    text: &'a str,
}

impl Source<'_> {
    fn error(&self, span: Option<Span>, message: impl Into<String>, help: &str) -> LoadError {
        LoadError {
            name: self.name.clone(),
            text: Some(self.text.to_string()),
            span,
            message: message.into(),
            help: Some(help.to_string()),
        }
    }
}

impl Config {
    /// Reads the config for a run rooted at `root`: the file named by a
    /// `--config FILE` option, else `root/.kaniko2buildkit.toml` unless
    /// `no_config`; then every `--config KEY=VALUE` option, in order.
    pub fn load(root: &Path, options: &[String], no_config: bool) -> Result<Config, LoadError> {
        let (files, overrides): (Vec<&String>, Vec<&String>) =
            options.iter().partition(|option| is_file_option(option));
        let refuse = |message: &str, help: &str| LoadError {
            name: "--config".into(),
            text: None,
            span: None,
            message: message.into(),
            help: Some(help.into()),
        };
        if files.len() > 1 {
            return Err(refuse(
                "more than one config file given",
                "pass one `--config FILE`; other `--config` options must be `KEY = VALUE` lines",
            ));
        }
        if no_config && !files.is_empty() {
            return Err(refuse(
                "`--no-config` and `--config FILE` contradict each other",
                "drop one of them; `--config KEY = VALUE` lines work with `--no-config`",
            ));
        }
        // A file named on the command line is the user's choice; the one at
        // the root comes with the repository, and must stay inside it.
        let (path, committed) = match files.first() {
            Some(file) => (Some(PathBuf::from(file.as_str())), false),
            None => (
                Some(root.join(FILE_NAME))
                    .filter(|path| !no_config && path.symlink_metadata().is_ok()),
                true,
            ),
        };
        let mut config = Config::default();
        if let Some(path) = &path {
            let read = if committed {
                crate::gitlab::read_inside(root, path, MAX_CONFIG_SIZE).map(|(_, text)| text)
            } else {
                crate::gitlab::read_text_limited(path, MAX_CONFIG_SIZE)
            };
            let text = read.map_err(|message| LoadError {
                name: path.display().to_string(),
                text: None,
                span: None,
                message,
                help: committed
                    .then(|| "use --config FILE or --no-config to run without it".into()),
            })?;
            let name = crate::gitlab::display_name(root, path);
            config.merge(&Source { name, text: &text })?;
        }
        for (index, line) in overrides.iter().enumerate() {
            let name = format!("--config option {}", index + 1);
            config.merge(&Source { name, text: line })?;
        }
        Ok(config)
    }

    /// Parses one TOML text and lays its settings over the current ones.
    fn merge(&mut self, source: &Source) -> Result<(), LoadError> {
        let raw: RawConfig = toml::from_str(source.text).map_err(|err| {
            source.error(
                err.span().map(|range| Span::new(range.start, range.end)),
                format!("invalid config: {}", err.message().trim_end()),
                "see docs/config.md for the keys and their values",
            )
        })?;
        if let Some(image) = raw.buildkit_image {
            self.buildkit_image = Some(image_name(source, image)?);
        }
        if let Some(flavor) = raw.flavor {
            self.flavor = flavor;
            self.flavor_explicit = true;
        }
        if let Some(patterns) = raw.extra_kaniko_images {
            self.extra_kaniko_images = image_patterns(source, patterns)?;
        }
        if let Some(patterns) = raw.exclude {
            self.exclude = path_patterns(source, patterns)?;
        }
        for (code, settings) in raw.rules {
            let rule = rule_code(source, &code)?;
            let entry = self.rules.entry(rule).or_default();
            if let Some(severity) = settings.severity {
                entry.severity = Some(severity);
            }
            if let Some(patterns) = settings.ignore {
                entry.ignore = path_patterns(source, patterns)?;
            }
        }
        Ok(())
    }

    /// True when `image` (variables expanded) matches one of the
    /// `extra-kaniko-images` patterns: a private mirror or rebuild whose name
    /// the built-in patterns cannot know. The tag and digest may be left out
    /// of a pattern: `registry.corp/tools/image-builder` matches
    /// `registry.corp/tools/image-builder:1.2@sha256:…`.
    pub fn is_extra_kaniko_image(&self, image: &str) -> bool {
        let image = image.trim();
        let repository = without_tag(image);
        self.extra_kaniko_images
            .iter()
            .any(|glob| glob.matches(image) || glob.matches(repository))
    }

    /// True when directory discovery should skip `path` (relative to the
    /// project root). Files named on the command line are always checked.
    pub fn is_excluded(&self, path: &str) -> bool {
        self.exclude.matches(path)
    }

    /// Whether `exclude` names anything: when not, no path needs a name.
    pub fn excludes_any(&self) -> bool {
        !self.exclude.is_empty()
    }

    /// Whether the settings ignore any of `rules` in some files.
    pub fn ignores_any(&self, rules: &[Rule]) -> bool {
        rules.iter().any(|rule| {
            self.rules
                .get(rule)
                .is_some_and(|settings| !settings.ignore.is_empty())
        })
    }

    /// Drops findings in files a rule ignores and applies severity overrides.
    pub fn apply(&self, pipeline: &Pipeline, findings: Vec<Finding>) -> Vec<Finding> {
        findings
            .into_iter()
            .filter_map(|mut finding| {
                let Some(settings) = self.rules.get(&finding.rule) else {
                    return Some(finding);
                };
                let path = &pipeline.files[finding.file].name;
                if settings.ignore.matches(path) {
                    return None;
                }
                if let Some(severity) = settings.severity {
                    finding.severity = severity;
                }
                Some(finding)
            })
            .collect()
    }
}

/// `--config FILE` when the option is not a `KEY = VALUE` line, as in ruff:
/// a line always has `=`, a path to a TOML file never needs one.
fn is_file_option(option: &str) -> bool {
    !option.contains('=')
}

fn span_of<T>(spanned: &Spanned<T>) -> Option<Span> {
    let range = spanned.span();
    Some(Span::new(range.start, range.end))
}

fn rule_code(source: &Source, code: &Spanned<String>) -> Result<Rule, LoadError> {
    Rule::from_code(code.get_ref()).ok_or_else(|| {
        let help = match Rule::closest(code.get_ref()) {
            Some(close) => format!("did you mean `{}`? See docs/rules.md", close.code()),
            None => "the codes are listed in docs/rules.md".to_string(),
        };
        source.error(
            span_of(code),
            format!("unknown rule `{}`", code.get_ref()),
            &help,
        )
    })
}

fn image_name(source: &Source, image: Spanned<String>) -> Result<String, LoadError> {
    let name = image.get_ref().trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(source.error(
            span_of(&image),
            "`buildkit-image` must be one image reference",
            "e.g. `buildkit-image = \"registry.example.com/mirror/moby/buildkit:v0.32.2-rootless\"`",
        ));
    }
    Ok(name.to_string())
}

/// `registry/name:tag@digest` → `registry/name`. A `:` before the last `/`
/// is a registry port, not a tag.
fn without_tag(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    match name.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => name,
    }
}

/// Path patterns with `.gitignore` semantics, as the `ignore` crate reads
/// them: `*`, `**`, `?`, `[abc]`, `{a,b}`, a pattern without `/` at any
/// depth, a leading `/` anchored, a trailing `/` for directories, and `!`
/// re-including what an earlier pattern excluded. Later patterns win.
#[derive(Clone, Debug)]
struct PathPatterns {
    matcher: Gitignore,
}

impl Default for PathPatterns {
    fn default() -> Self {
        PathPatterns {
            matcher: Gitignore::empty(),
        }
    }
}

impl PathPatterns {
    fn is_empty(&self) -> bool {
        self.matcher.is_empty()
    }

    /// True when `path` (relative to the project root), or a directory
    /// above it, is matched and not re-included. Paths outside the root
    /// match nothing.
    fn matches(&self, path: &str) -> bool {
        let path = Path::new(path.trim_start_matches("./"));
        if self.is_empty() || path.is_absolute() {
            return false;
        }
        self.matcher
            .matched_path_or_any_parents(path, false)
            .is_ignore()
    }
}

/// A pattern for image references, matched as a whole: `*` stops at `/`,
/// `**` crosses it; classes and `{a,b}` as in path patterns.
#[derive(Clone, Debug)]
struct ImagePattern {
    matcher: globset::GlobMatcher,
}

impl ImagePattern {
    fn matches(&self, image: &str) -> bool {
        self.matcher.is_match(image)
    }
}

const PATTERN_HELP: &str = "patterns follow .gitignore: `*`, `**`, `?`, `[abc]`, `{a,b}`, a leading \
                            `/` or `!`, a trailing `/` (see docs/config.md)";

/// Why a pattern cannot be used, for what a glob library would accept but
/// would silently never match (or treat as a comment).
fn unsupported(pattern: &str) -> Option<&'static str> {
    let body = pattern.strip_prefix('!').unwrap_or(pattern);
    if body.trim_matches('/').is_empty() {
        Some("it is empty")
    } else if pattern.starts_with('#') {
        Some("`#` starts a comment in .gitignore; write `\\#` for a file name that starts with `#`")
    } else if body
        .match_indices('[')
        .any(|(at, _)| !body[at + 1..].contains(']'))
    {
        Some("a `[` class is not closed")
    } else if body.split('/').any(|part| part == "..") {
        Some("paths are relative to the project root and cannot climb out of it with `..`")
    } else if body.contains('\\') && !body.contains("\\#") && !body.contains("\\!") {
        Some("use `/` between directories; `\\` only escapes a leading `#` or `!`")
    } else {
        None
    }
}

fn path_patterns(
    source: &Source,
    patterns: Vec<Spanned<String>>,
) -> Result<PathPatterns, LoadError> {
    let mut builder = GitignoreBuilder::new("");
    for pattern in &patterns {
        let text = pattern.get_ref().trim();
        let (negated, body) = match text.strip_prefix('!') {
            Some(body) => ("!", body),
            None => ("", text),
        };
        let line = format!("{negated}{}", body.trim_start_matches("./"));
        let refuse = |why: &str| {
            source.error(
                span_of(pattern),
                format!("`{}` is not a usable pattern: {why}", pattern.get_ref()),
                PATTERN_HELP,
            )
        };
        if let Some(why) = unsupported(&line) {
            return Err(refuse(why));
        }
        builder
            .add_line(None, &line)
            .map_err(|err| refuse(&glob_problem(&err.to_string())))?;
    }
    let matcher = builder
        .build()
        .map_err(|err| source.error(None, format!("unusable patterns: {err}"), PATTERN_HELP))?;
    Ok(PathPatterns { matcher })
}

fn image_patterns(
    source: &Source,
    patterns: Vec<Spanned<String>>,
) -> Result<Vec<ImagePattern>, LoadError> {
    patterns
        .iter()
        .map(|pattern| {
            let text = pattern.get_ref().trim();
            let refuse = |why: &str| {
                source.error(
                    span_of(pattern),
                    format!("`{}` is not a usable pattern: {why}", pattern.get_ref()),
                    "image patterns use `*` (within one path segment), `**`, `?`, `[abc]` and `{a,b}`",
                )
            };
            if text.is_empty() {
                return Err(refuse("it is empty"));
            }
            globset::GlobBuilder::new(text)
                .literal_separator(true)
                .build()
                .map(|glob| ImagePattern {
                    matcher: glob.compile_matcher(),
                })
                .map_err(|err| refuse(&glob_problem(&err.to_string())))
        })
        .collect()
}

/// globset's message without the pattern it repeats.
fn glob_problem(message: &str) -> String {
    message
        .rsplit_once(": ")
        .map_or(message, |(_, why)| why)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, LoadError> {
        let mut config = Config::default();
        config.merge(&Source {
            name: "test.toml".into(),
            text,
        })?;
        Ok(config)
    }

    #[test]
    fn extra_images_match_with_or_without_tag() {
        let config = parse(
            r#"extra-kaniko-images = ["registry.corp.example/tools/image-builder", "mirror.corp/*/kaniko-*:*-debug"]"#,
        )
        .unwrap();
        for image in [
            "registry.corp.example/tools/image-builder",
            "registry.corp.example/tools/image-builder:1.2",
            "registry.corp.example/tools/image-builder:1.2@sha256:0123abcd",
            " mirror.corp/team/kaniko-fork:v1.24.0-debug ",
        ] {
            assert!(config.is_extra_kaniko_image(image), "{image}");
        }
        for image in [
            "registry.corp.example/tools/image-builder-v2:1",
            "registry.corp.example/tools",
            "mirror.corp/team/sub/kaniko-fork:v1-debug",
            "mirror.corp/team/kaniko-fork:v1",
            "gcr.io/kaniko-project/executor:debug",
        ] {
            assert!(!config.is_extra_kaniko_image(image), "{image}");
        }
        assert!(!Config::default().is_extra_kaniko_image("anything"));
    }

    #[test]
    fn registry_ports_are_not_tags() {
        assert_eq!(without_tag("host:5000/app"), "host:5000/app");
        assert_eq!(without_tag("host:5000/app:1@sha256:ab"), "host:5000/app");
    }

    #[test]
    fn path_patterns_are_gitignore_like() {
        let config =
            parse(r#"exclude = ["legacy.yml", "ci/old/", "**/vendor/*.yml", "/top.yml"]"#).unwrap();
        for path in [
            "legacy.yml",
            "ci/legacy.yml",
            "ci/old/a.yml",
            "ci/old/deep/b.yml",
            "x/vendor/c.yml",
            "vendor/c.yml",
            "top.yml",
            "./top.yml",
        ] {
            assert!(config.is_excluded(path), "{path}");
        }
        for path in [
            "ci/older/a.yml",
            "x/vendor/deep/c.yml",
            "ci/top.yml",
            "legacy.yaml",
        ] {
            assert!(!config.is_excluded(path), "{path}");
        }
    }

    /// Braces, classes and `!` re-includes, as in `.gitignore` (issue 15).
    #[test]
    fn path_patterns_have_gitignore_semantics() {
        let config = parse(
            r#"exclude = ["ci/{old,legacy}/**", "jobs/[ol]*/", "vendor/", "!vendor/keep.yml"]"#,
        )
        .unwrap();
        for path in [
            "ci/old/a.yml",
            "ci/legacy/x/b.yml",
            "jobs/old-1/a.yml",
            "jobs/l/b.yml",
            "vendor/c.yml",
        ] {
            assert!(config.is_excluded(path), "{path}");
        }
        for path in [
            "ci/older/a.yml",
            "jobs/new/a.yml",
            "vendor/keep.yml",
            "ci/a.yml",
            "/abs/vendor/c.yml",
        ] {
            assert!(!config.is_excluded(path), "{path}");
        }
        let images =
            parse(r#"extra-kaniko-images = ["mirror.corp/{team,ops}/builder:[0-9]*"]"#).unwrap();
        assert!(images.is_extra_kaniko_image("mirror.corp/ops/builder:1.2"));
        assert!(!images.is_extra_kaniko_image("mirror.corp/dev/builder:1.2"));
        assert!(!images.is_extra_kaniko_image("mirror.corp/ops/builder:latest"));
    }

    /// What a glob library would take but never match is an error with the
    /// pattern's position.
    #[test]
    fn unusable_patterns_are_rejected() {
        for pattern in [
            "ci/{old",
            "ci/[ol",
            "#comment",
            "../outside/*.yml",
            "!",
            "ci\\old",
        ] {
            let text = format!("exclude = [{pattern:?}]");
            let error = parse(&text).expect_err(pattern);
            assert!(
                error.message.contains("not a usable pattern"),
                "{pattern}: {}",
                error.message
            );
            let span = error.span.expect("a position");
            assert_eq!(span.slice(&text), format!("{pattern:?}"), "{pattern}");
        }
        assert!(parse(r#"extra-kaniko-images = ["reg/{a"]"#).is_err());
        assert!(
            parse(
                r#"[rules."kaniko/path"]
ignore = ["x/[a"]"#
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_keys_are_errors_with_a_position() {
        let text = "flavor = \"rootless\"\nbuildkit-imag = \"x\"\n";
        let error = parse(text).unwrap_err();
        assert!(error.message.contains("buildkit-imag"), "{}", error.message);
        let span = error.span.expect("a position");
        assert_eq!(span.slice(text), "buildkit-imag");
    }

    #[test]
    fn unknown_rules_suggest_the_nearest() {
        let text = "[rules.\"kaniko/pth\"]\nseverity = \"info\"\n";
        let error = parse(text).unwrap_err();
        assert!(error.message.contains("unknown rule `kaniko/pth`"));
        assert!(error.help.unwrap().contains("kaniko/path"));
        assert_eq!(error.span.unwrap().slice(text), "\"kaniko/pth\"");
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(parse("flavor = \"fast\"").is_err());
        assert!(parse("[rules.\"kaniko/path\"]\nseverity = \"fatal\"").is_err());
        assert!(parse("buildkit-image = \"a b\"").is_err());
        assert!(parse("exclude = [\"\"]").is_err());
    }

    #[test]
    fn later_sources_override_key_by_key() {
        let mut config = parse(
            "buildkit-image = \"a\"\nflavor = \"privileged\"\n\
             [rules.\"kaniko/path\"]\nseverity = \"info\"\nignore = [\"x.yml\"]\n",
        )
        .unwrap();
        config
            .merge(&Source {
                name: "--config".into(),
                text: "rules.\"kaniko/path\".severity = \"error\"",
            })
            .unwrap();
        assert_eq!(config.buildkit_image.as_deref(), Some("a"));
        assert_eq!(config.flavor, Flavor::Privileged);
        assert!(
            config.flavor_explicit,
            "a flavour the file sets is a choice"
        );
        assert!(!parse("buildkit-image = \"a\"").unwrap().flavor_explicit);
        let settings = &config.rules[&Rule::KanikoPath];
        assert_eq!(settings.severity, Some(Severity::Error));
        assert_eq!(settings.ignore.matcher.len(), 1);
    }

    #[test]
    fn options_with_equals_are_overrides() {
        assert!(is_file_option("ci/kaniko2buildkit.toml"));
        assert!(!is_file_option("flavor = \"privileged\""));
    }
}
