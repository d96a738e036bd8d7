//! One module per command. Each returns the process exit code.

mod check;
mod contract;
mod diff;
mod doctor;
mod gate;
mod merge;
mod model;
mod openapi;

use crate::cli::{Cli, Command, ContractCommand, ModelCommand, ReportCommand, SchemaKind};

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Contract(ContractCommand::Verify(args)) => contract::verify(&args),
        Command::Contract(ContractCommand::Mock(args)) => contract::mock(&args),
        Command::Contract(ContractCommand::Test(args)) => openapi::test(&args),
        Command::Contract(ContractCommand::Validate(args)) => openapi::validate(&args),
        Command::Contract(ContractCommand::Diff(args)) => diff::run(&args),
        Command::Model(ModelCommand::Inspect(args)) => model::inspect(&args),
        Command::Model(ModelCommand::Test(args)) => model::test(&args),
        Command::Model(ModelCommand::Record(args)) => model::record(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Report(ReportCommand::Merge(args)) => merge::run(&args),
        Command::Schema(args) => {
            let text = match args.which {
                SchemaKind::Config => modelci_config::schema(),
                SchemaKind::Report => modelci_report::json::schema(),
            };
            crate::output::stdout(&text);
            0
        }
        Command::Doctor(args) => doctor::run(&args),
    }
}
