//! The `dezky` command: a thin layer over dezky-server that parses arguments, loads the
//! configuration and reports errors as one readable line (never a panic or a backtrace).

mod admin;
mod bundle;
mod cli;
mod output;
mod tamper;

use clap::Parser;
use cli::{ArchiveCommand, Cli, Command, ConfigCommand, TokenCommand};
use dezky_server::config::{Config, FlagOverrides};
use std::process::ExitCode;

dezky_server::install_allocator!();

fn main() -> ExitCode {
    let cli = Cli::parse();
    let flags = FlagOverrides {
        listen: cli.listen_flag(),
        data_dir: cli.data_dir.clone(),
    };
    let config = match Config::from_environment(flags) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("dezky: invalid configuration: {error}");
            return ExitCode::from(2);
        }
    };
    dezky_server::logging::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("dezky: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if output::is_closed_pipe(&error) => ExitCode::from(output::CLOSED_PIPE_EXIT),
        Err(error) => {
            eprintln!("dezky: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { .. } => dezky_server::serve::run(config).await,
        Command::Migrate => {
            dezky_server::serve::open_store(&config).await?;
            eprintln!("migrations applied to {}", config.database_url_for_display());
            Ok(())
        }
        Command::Config {
            command: ConfigCommand::Check { .. },
        } => admin::config_check(&config).await,
        Command::Token { command } => match command {
            TokenCommand::Create(request) => admin::token_create(&config, request).await,
            TokenCommand::List => admin::token_list(&config).await,
            TokenCommand::Revoke { id } => admin::token_revoke(&config, &id).await,
        },
        Command::Admin { command } => admin::platform_admin(&config, command).await,
        Command::Keygen { origin, out } => tamper::keygen(&config, origin, out),
        Command::Verify {
            bundle: Some(bundle),
            key,
            ..
        } => bundle::verify(&bundle, key),
        Command::Verify {
            jsonl,
            key,
            checkpoints,
            bundle: None,
        } => tamper::verify(&config, jsonl, key, checkpoints).await,
        Command::Archive {
            command: ArchiveCommand::Bundle { from, to, out, key },
        } => bundle::write(&config, (from, to), &out, key).await,
    }
}
