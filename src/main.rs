use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = kaniko2buildkit::cli::Cli::parse();
    kaniko2buildkit::run(cli)
}
