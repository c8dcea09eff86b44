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

    /// When to colour output. NO_COLOR and CLICOLOR_FORCE are honoured with `auto`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
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
}

#[derive(Debug, Args)]
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

    #[arg(long, value_enum, default_value_t = OutputFormat::Full)]
    pub output_format: OutputFormat,

    /// Exit 0 even when Kaniko is found (2 still means the tool failed).
    #[arg(long)]
    pub exit_zero: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Diagnostics with source snippets, labels and help.
    Full,
    /// One line per finding: `path:line:col: severity[rule] message`.
    Concise,
    /// A JSON array, one object per finding (see docs/json.md).
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}
