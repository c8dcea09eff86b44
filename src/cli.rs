//! Command-line arguments. `main.rs` parses them and hands them to [`crate::run`].

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "kaniko2buildkit",
    version,
    about = "Find Kaniko in GitLab CI files and migrate the jobs to BuildKit rootless",
    after_help = "Examples:\n  \
        kaniko2buildkit check                      # .gitlab-ci.yml here and what it includes\n  \
        kaniko2buildkit check ci/ .gitlab-ci.yml   # directories are searched for CI files\n  \
        kaniko2buildkit check --output-format json > findings.json\n  \
        cat .gitlab-ci.yml | kaniko2buildkit check - --stdin-filename .gitlab-ci.yml\n\n\
        Exit codes: 0 no Kaniko, 1 Kaniko found (or another error-level finding), 2 the tool could not run."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// When to colour output. With `auto`, NO_COLOR, CLICOLOR_FORCE and
    /// TERM=dumb are honoured, and each stream is decided on its own.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    /// Print the findings and errors only: no summary line, no notes.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Report every Kaniko job, executor call and flag (the CI lint gate).
    #[command(after_help = "Examples:\n  \
        kaniko2buildkit check\n  \
        kaniko2buildkit check --output-format concise path/to/.gitlab-ci.yml\n  \
        kaniko2buildkit check --exit-zero --output-format json . > kaniko.json\n  \
        kaniko2buildkit check - --stdin-filename .gitlab-ci.yml < .gitlab-ci.yml")]
    Check(CheckArgs),

    /// Show the migration to BuildKit as a unified diff; write nothing.
    #[command(after_help = "Examples:\n  \
        kaniko2buildkit diff\n  \
        kaniko2buildkit diff --output-format markdown > migration.md   # for a merge-request comment\n  \
        kaniko2buildkit diff --unsafe ci/\n\n\
        Exit codes: 0 nothing to change, 1 a diff was printed, 2 the tool could not run.")]
    Diff(DiffArgs),

    /// Migrate the Kaniko jobs in place (verified, atomic writes).
    #[command(after_help = "Examples:\n  \
        kaniko2buildkit fix\n  \
        kaniko2buildkit fix --unsafe .gitlab-ci.yml ci/\n  \
        kaniko2buildkit fix - < .gitlab-ci.yml > migrated.yml\n\n\
        Exit codes: 0 no Kaniko left, 1 some jobs could not be migrated, 2 the tool could not run.")]
    Fix(FixArgs),

    /// Count the Kaniko jobs that migrate fully, with notes, or not at all,
    /// with the reasons: the fleet view for a tracking issue.
    #[command(after_help = "Examples:\n  \
        kaniko2buildkit audit .\n  \
        kaniko2buildkit audit --output-format markdown . > kaniko-audit.md\n\n\
        Exit codes: 0 every job migrates, 1 some cannot, 2 the tool could not run.")]
    Audit(DiffArgs),

    /// Explain a Kaniko flag or a rule code: what Kaniko did, what BuildKit
    /// does instead, and an example migrated live.
    #[command(after_help = "Examples:\n  \
        kaniko2buildkit explain --cache-ttl\n  \
        kaniko2buildkit explain -d\n  \
        kaniko2buildkit explain migrate/not-migrated\n\n\
        Exit codes: 0 explained, 2 unknown topic.")]
    Explain(ExplainArgs),

    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  \
        kaniko2buildkit completions bash > ~/.local/share/bash-completion/completions/kaniko2buildkit\n  \
        kaniko2buildkit completions zsh > \"${fpath[1]}/_kaniko2buildkit\"\n  \
        kaniko2buildkit completions fish > ~/.config/fish/completions/kaniko2buildkit.fish")]
    Completions(CompletionsArgs),

    /// Print the manual page (roff), e.g. `kaniko2buildkit man | man -l -`.
    Man,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A flag (`--cache-ttl`, `cache-ttl`, `-d`, `snapshotMode`) or a rule
    /// code (`kaniko/job`).
    #[arg(allow_hyphen_values = true, value_name = "FLAG | RULE")]
    pub topic: String,
}

/// What `diff` and `fix` share.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// Files or directories to migrate; `-` reads standard input (and `fix`
    /// writes the result to standard output).
    pub paths: Vec<PathBuf>,

    /// Project root that local includes are read from.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The name to show for standard input.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,

    /// Also apply changes that alter behaviour (e.g. dropping --cache-ttl).
    #[arg(long = "unsafe")]
    pub unsafe_fixes: bool,

    /// The BuildKit image jobs move to [default: the config file's
    /// `buildkit-image`, else the flavour's image, e.g.
    /// moby/buildkit:v0.32.2-rootless].
    #[arg(long, value_name = "IMAGE")]
    pub buildkit_image: Option<String>,

    /// How migrated jobs run BuildKit [default: the config file's `flavor`,
    /// else rootless]. See docs/flavours.md for the security trade-offs.
    #[arg(long, value_enum, value_name = "FLAVOR")]
    pub flavor: Option<crate::mapping::flavor::Flavor>,

    /// Exit 0 even when a change is shown or a job is left on Kaniko (2
    /// still means the tool failed).
    #[arg(long)]
    pub exit_zero: bool,

    /// A config file to use instead of `.kaniko2buildkit.toml` at the project
    /// root, or a `KEY = VALUE` TOML line that overrides one setting.
    /// Repeatable.
    #[arg(long, value_name = "FILE | KEY=VALUE")]
    pub config: Vec<String>,

    /// Read no config file (`--config KEY=VALUE` overrides still apply).
    #[arg(long)]
    pub no_config: bool,

    /// The largest file read, in bytes, or with a K, M or G suffix
    /// (binary units) [default: 10M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// How many files to read and migrate at once [default: one per core].
    /// The output does not depend on it.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
}

/// The options `check`, `diff`, `fix` and `audit` share, as one request.
macro_rules! request {
    ($args:ty) => {
        impl $args {
            /// The files and project this command works on.
            pub fn request(&self) -> crate::discover::Request<'_> {
                crate::discover::Request {
                    paths: &self.paths,
                    root: self.root.as_deref(),
                    stdin_filename: self.stdin_filename.as_deref(),
                    config: &self.config,
                    no_config: self.no_config,
                    max_file_size: self
                        .max_file_size
                        .unwrap_or(crate::gitlab::DEFAULT_MAX_FILE_SIZE),
                    threads: self
                        .threads
                        .map_or_else(crate::parallel::default_threads, |n| n.get()),
                }
            }
        }
    };
}

request!(FixArgs);
request!(CheckArgs);

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(flatten)]
    pub fix: FixArgs,

    /// `unified` (coloured when the terminal allows) or `markdown` for a
    /// merge-request comment.
    #[arg(long = "output-format", alias = "format", value_enum, default_value_t = DiffFormat::Unified)]
    pub format: DiffFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Unified,
    Markdown,
}

/// `Default` gives what an empty command line gives, so tests can build
/// arguments with `..Default::default()`.
#[derive(Debug, Default, Args)]
pub struct CheckArgs {
    /// Files or directories to check; `-` reads standard input.
    /// Default: `.gitlab-ci.yml` in the current directory.
    pub paths: Vec<PathBuf>,

    /// Project root that local includes are read from.
    /// Default: the nearest parent with `.git`, else the file's directory.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The name to show for standard input (and to resolve includes from).
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,

    /// How to report the findings (see docs/formats.md).
    #[arg(long, alias = "format", value_enum, default_value_t = OutputFormat::Full)]
    pub output_format: OutputFormat,

    /// Write the report to FILE; the summary still goes to the terminal.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,

    /// Exit 0 even when Kaniko is found (2 still means the tool failed).
    #[arg(long)]
    pub exit_zero: bool,

    /// Print a count per rule instead of the findings.
    #[arg(long)]
    pub statistics: bool,

    /// A config file to use instead of `.kaniko2buildkit.toml` at the project
    /// root, or a `KEY = VALUE` TOML line that overrides one setting
    /// (e.g. `--config 'exclude = ["ci/old/**"]'`). Repeatable.
    #[arg(long, value_name = "FILE | KEY=VALUE")]
    pub config: Vec<String>,

    /// Read no config file (`--config KEY=VALUE` overrides still apply).
    #[arg(long)]
    pub no_config: bool,

    /// The BuildKit image the fixes in `--output-format json` move jobs to
    /// (as `fix --buildkit-image`).
    #[arg(long, value_name = "IMAGE")]
    pub buildkit_image: Option<String>,

    /// How the fixes in `--output-format json` run BuildKit (as `fix --flavor`).
    #[arg(long, value_enum, value_name = "FLAVOR")]
    pub flavor: Option<crate::mapping::flavor::Flavor>,
    /// The largest file read, in bytes, or with a K, M or G suffix
    /// (binary units) [default: 10M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,

    /// How many files to read and check at once [default: one per core].
    /// The output does not depend on it.
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
}

/// `4096`, `512K`, `10M`, `1G` (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.trim().char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text.trim()[..at], c.to_ascii_uppercase()),
        _ => (text.trim(), 'B'),
    };
    let shift = match unit {
        'B' => 0,
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => return Err(format!("unknown unit `{unit}`: use K, M or G")),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 10M"))?;
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Diagnostics with source snippets, labels and help.
    #[default]
    Full,
    /// One line per finding: `path:line:col: severity[rule] message`.
    Concise,
    /// A JSON array, one object per finding (schema `json-v1`, see docs/json.md).
    #[value(alias = "json-v1")]
    Json,
    /// A GitLab Code Quality report (`artifacts:reports:codequality`).
    Gitlab,
    /// SARIF 2.1.0, for code scanning tools and `artifacts:reports:sarif`.
    Sarif,
    /// JUnit XML with one test case per job (`artifacts:reports:junit`).
    Junit,
    /// GitHub Actions workflow commands (`::error file=...`).
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
