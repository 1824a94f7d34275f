//! `cargo build --release -p dezky -p dezky-bench && ./target/release/dezky-bench all`
//!
//! `all` runs the whole suite on SQLite and PostgreSQL in one run (see docs/PERFORMANCE.md):
//! physical limits (SHA-256, fsync), durable append throughput through the real sequencer with
//! 1, 8 and 64 writers beside the original design's append on the same database, query latency
//! over logs of growing size, a CSV export and the resident memory of the real `dezky serve`,
//! checkpoint latency, verification speed, proof latency and ingest. It writes JSON (`--json`),
//! a Markdown report (`--markdown`, or into docs/PERFORMANCE.md between markers with
//! `--update-doc`) and an SVG plot (`--svg`). `render` redraws the report from a saved JSON.
//!
//! Without a subcommand, the earlier single measurements run from flags (`--events`, `--batch`,
//! `--writers`, `--ingest`, `--markdown`).
//! Not a test: timings depend on the machine, so nothing here asserts a number.

mod archive;
mod backend_run;
mod baseline;
mod classic;
mod events;
mod ingest;
mod limits;
mod machine;
mod measure;
mod plot;
mod queries;
mod querylog;
mod report;
mod results;
mod server;
mod stats;
mod suite;
mod targets;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

dezky_server::install_allocator!();

#[derive(Parser)]
#[command(
    name = "dezky-bench",
    about = "dezky's benchmark command",
    args_conflicts_with_subcommands = true
)]
struct Arguments {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    classic: classic::ClassicArguments,
}

#[derive(Subcommand)]
enum Command {
    /// The whole suite on every backend, with the original design and physical limits beside it
    All(Box<suite::SuiteArguments>),
    /// Write the report and plot again from a JSON result of `all`
    Render(suite::RenderArguments),
}

#[tokio::main]
async fn main() -> ExitCode {
    let arguments = Arguments::parse();
    let outcome = match arguments.command {
        Some(Command::All(suite)) => suite::run(*suite).await,
        Some(Command::Render(render)) => suite::render(render),
        None => classic::run(&arguments.classic).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        // Nobody reads the report any more (`dezky-bench | head`): end as SIGPIPE would, quietly.
        Err(error) if is_closed_pipe(&error) => ExitCode::from(CLOSED_PIPE_EXIT),
        Err(error) => {
            // One line naming the problem and its causes, never a backtrace.
            eprintln!("dezky-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit status of a run whose report nobody reads any more (128 + SIGPIPE).
const CLOSED_PIPE_EXIT: u8 = 141;

/// Prints the report on standard output. Unlike `println!`, which panics when the reader has
/// gone away, a failed write is an error for `main` to answer.
fn print_report(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
