//! `cargo run --release -p dezky-bench -- [--events N] [--backends sqlite,postgres] [--writers 1,8,64]`
//!
//! Measures, on each backend, against a fresh database: durable append throughput through the
//! real sequencer with 1, 8 and 64 concurrent writers (each call waits for its commit), the
//! latency from append to inclusion in a signed checkpoint, verification speed, and inclusion
//! proof latency. Prints JSON; `--markdown` prints the table for docs/PERFORMANCE.md instead.
//! Not a test: timings depend on the machine, so nothing here asserts a number.

mod events;
mod measure;

use clap::Parser;
use dezky_testkit::{TestBackend, TestDatabase};
use serde_json::json;

#[derive(Parser)]
struct Arguments {
    /// Events appended per writer configuration.
    #[arg(long, default_value_t = 100_000)]
    events: usize,
    /// Events per append call (an ingest request's batch size).
    #[arg(long, default_value_t = 1)]
    batch: usize,
    #[arg(long, value_delimiter = ',', default_value = "1,8,64")]
    writers: Vec<usize>,
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Print a Markdown table instead of JSON.
    #[arg(long)]
    markdown: bool,
    /// Skip the verification measurements (for very large logs: the pure-verifier measurement
    /// holds every event in memory).
    #[arg(long)]
    skip_verify: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let arguments = Arguments::parse();
    let mut results = vec![];
    for backend in &arguments.backends {
        let backend = match backend.as_str() {
            "sqlite" => TestBackend::Sqlite,
            "postgres" => TestBackend::Postgres,
            other => anyhow::bail!("--backends: '{other}' is not sqlite or postgres"),
        };
        for &writers in &arguments.writers {
            let database = TestDatabase::create(backend).await;
            let store = dezky_store::open(&database.url).await?;
            store.migrate().await?;
            let append = measure::append_throughput(store.clone(), writers, arguments.events, arguments.batch).await?;
            eprintln!(
                "{backend:?} writers={writers}: {:.0} events/s",
                append.events_per_second
            );
            let mut result = json!({
                "backend": format!("{backend:?}").to_lowercase(),
                "writers": writers,
                "batch": arguments.batch,
                "events": arguments.events,
                "appendEventsPerSecond": append.events_per_second,
                "appendLatencyP50Ms": append.p50_ms,
                "appendLatencyP99Ms": append.p99_ms,
            });
            // The slower measurements once per backend, on the largest log.
            if writers == *arguments.writers.last().unwrap_or(&1) {
                let checkpoint = measure::append_to_checkpoint(store.clone()).await?;
                let (verify, pure) = if arguments.skip_verify {
                    (f64::NAN, f64::NAN)
                } else {
                    (
                        measure::verification_speed(store.as_ref()).await?,
                        measure::pure_verification_speed(store.as_ref()).await?,
                    )
                };
                result["verifyPureEventsPerSecond"] = json!(pure);
                let proofs = measure::proof_latency(store.as_ref(), 2_000).await?;
                result["appendToCheckpointMs"] = json!(checkpoint);
                result["verifyEventsPerSecond"] = json!(verify);
                result["inclusionProofP50Ms"] = json!(proofs.0);
                result["inclusionProofP99Ms"] = json!(proofs.1);
                eprintln!(
                    "{backend:?}: checkpoint {checkpoint:.1} ms, verify {verify:.0} events/s (pure {pure:.0}), proof p99 {:.2} ms",
                    proofs.1
                );
            }
            results.push(result);
        }
    }
    if arguments.markdown {
        println!("{}", measure::markdown(&results));
    } else {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(())
}
