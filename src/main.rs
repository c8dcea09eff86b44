use clap::Parser;

fn main() -> std::process::ExitCode {
    kaniko2buildkit::allocator::configure();
    let cli = kaniko2buildkit::cli::Cli::parse();
    kaniko2buildkit::run(cli)
}
