//! One module per command. Each returns the process exit code.

mod broker;
mod canary;
mod chaos;
mod check;
mod completions;
mod contract;
mod contract_broker;
mod diff;
mod doctor;
mod gate;
mod init;
mod load;
mod merge;
mod model;
mod openapi;

use crate::cli::{
    CanaryCommand, ChaosCommand, Cli, Command, ContractCommand, ModelCommand, ReportCommand,
    SchemaKind,
};

/// Runs a parsed command line.
pub fn dispatch(cli: Cli) -> u8 {
    match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Contract(ContractCommand::Verify(args)) => contract::verify(&args),
        Command::Contract(ContractCommand::Mock(args)) => contract::mock(&args),
        Command::Contract(ContractCommand::Test(args)) => openapi::test(&args),
        Command::Contract(ContractCommand::Validate(args)) => openapi::validate(&args),
        Command::Contract(ContractCommand::Diff(args)) => diff::run(&args),
        Command::Contract(ContractCommand::Publish(args)) => broker::publish(&args),
        Command::Contract(ContractCommand::CanIDeploy(args)) => broker::can_i_deploy(&args),
        Command::Contract(ContractCommand::RecordDeployment(args)) => {
            broker::record_deployment(&args)
        }
        Command::Contract(ContractCommand::RecordRelease(args)) => broker::record_release(&args),
        Command::Model(ModelCommand::Inspect(args)) => model::inspect(&args),
        Command::Model(ModelCommand::Test(args)) => model::test(&args),
        Command::Model(ModelCommand::Record(args)) => model::record(&args),
        Command::Gate(args) => gate::run(&args),
        Command::Load(args) => load::run(&args),
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
        Command::Man(args) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            match crate::docs::write_man_pages(&cmd, &args.dir) {
                Ok(written) => {
                    crate::output::stdout(&format!(
                        "wrote {} man page(s) to {}\n",
                        written.len(),
                        args.dir.display()
                    ));
                    0
                }
                Err(message) => {
                    crate::output::error(&message, None);
                    2
                }
            }
        }
        Command::Completions(args) => completions::run(&args),
        Command::Chaos(ChaosCommand::Proxy(args)) => chaos::proxy(&args),
        Command::Canary(CanaryCommand::Judge(args)) => canary::judge(&args),
        Command::Canary(CanaryCommand::Serve(args)) => canary::serve(&args),
        Command::Canary(CanaryCommand::Shadow(args)) => canary::shadow(&args),
    }
}

/// The options of a run: `jobs` worker threads (default: the number of CPUs), and a
/// cancellation flag that the first Ctrl-C sets (stop starting cases, report what finished,
/// write the reports); a second Ctrl-C exits at once.
pub(crate) fn run_options(jobs: Option<usize>) -> modelci_runner::RunOptions {
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    install_interrupt_handler(&cancel);
    modelci_runner::RunOptions {
        only: Vec::new(),
        shard: None,
        jobs: jobs.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
        }),
        cancel,
        version: env!("CARGO_PKG_VERSION").into(),
    }
}

/// First Ctrl-C: stop starting cases, report what finished. Second: exit at once.
fn install_interrupt_handler(cancel: &std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::Ordering;
    let cancel = std::sync::Arc::clone(cancel);
    let _ = ctrlc::set_handler(move || {
        if cancel.swap(true, Ordering::SeqCst) {
            // Exiting at once skips every destructor: stop the service's processes first.
            modelci_runner::service::kill_active();
            std::process::exit(130);
        }
        eprintln!(
            "\ninterrupted: finishing the cases in flight and writing reports \
             (press Ctrl-C again to quit at once)"
        );
    });
}
