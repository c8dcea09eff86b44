//! kaniko2buildkit: find Kaniko in GitLab CI files and migrate it to BuildKit.
//!
//! Data flows one way: load ([`gitlab::Pipeline`]) → parse ([`yaml`])
//! → resolve jobs ([`gitlab::jobs`]) → detect ([`kaniko`]) → findings
//! ([`analysis`]) → render ([`report`]). `main.rs` only parses arguments and
//! calls [`run`].

pub mod allocator;
pub mod analysis;
pub mod audit;
pub mod buildkite;
pub mod causes;
pub mod check;
pub mod cli;
pub mod config;
pub mod discover;
pub mod explain;
pub mod finding;
pub mod fix;
pub mod frontend;
pub mod github;
pub mod gitlab;
pub mod index_table;
pub mod kaniko;
pub mod manual;
pub mod mapping;
pub mod migrate;
pub mod parallel;
pub mod report;
pub mod rewrite;
pub mod rules;
pub mod scripts;
pub mod span;
pub mod style;
pub mod suggest;
pub mod suppress;
pub mod system;
pub mod write;
pub mod yaml;

use std::process::ExitCode;

/// Runs one command and returns the process exit code.
pub fn run(cli: cli::Cli) -> ExitCode {
    let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let mut output = check::Output {
        stdout: &mut stdout,
        stderr: &mut stderr,
        colors: style::Colors::decide(cli.color),
        quiet: cli.quiet,
    };
    let code = match &cli.command {
        cli::Command::Check(args) => check::run(args, &mut output),
        cli::Command::Diff(args) => fix::run_diff(&args.fix, args.format, &mut output),
        cli::Command::Fix(args) => fix::run_fix(args, &mut output),
        cli::Command::Audit(args) => audit::run(&args.fix, args.format, &mut output),
        cli::Command::Explain(args) => explain::run(&args.topic, &mut output),
        cli::Command::Completions(args) => manual::completions(args.shell, &mut output),
        cli::Command::Man => manual::man_page(&mut output),
    };
    ExitCode::from(code)
}
