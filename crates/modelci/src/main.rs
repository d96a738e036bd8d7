//! The `modelci` binary: parse the command line, run the command, exit with its code.

mod cli;
mod commands;
mod docs;
mod output;
mod terminal;

fn main() -> std::process::ExitCode {
    let cli = <cli::Cli as clap::Parser>::parse();
    output::init(cli.color, cli.quiet, cli.verbose);
    std::process::ExitCode::from(commands::dispatch(cli))
}
