//! The measurements.

use crate::events::synthetic;
use crate::stats::percentile;
use dezky_chain::merkle::{fold_range, inclusion_ranges, range_nodes};
use dezky_core::{NewAuditEvent, Timestamp};
use dezky_server::clock::{Clock, SystemClock};
use dezky_store::Store;
use rand::Rng;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

pub struct AppendResult {
    pub events_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// How far SQLite's index file was behind when a run of appends ended, and how long it took
/// to catch up from there: an append rate is only sustainable if the indexer keeps pace.
pub struct IndexCatchUp {
    pub lag_events: u64,
    pub seconds: f64,
}

/// Called right after the appends: `None` on PostgreSQL (no index file). Gives up after ten
/// minutes.
pub async fn index_catch_up(store: &dyn Store) -> anyhow::Result<Option<IndexCatchUp>> {
    let started = Instant::now();
    let Some(lag_events) = store.text_index_lag().await? else {
        return Ok(None);
    };
    while store.text_index_lag().await? != Some(0) {
        anyhow::ensure!(
            started.elapsed().as_secs() < 600,
            "the index file was still behind ten minutes after the appends"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    Ok(Some(IndexCatchUp {
        lag_events,
        seconds: started.elapsed().as_secs_f64(),
    }))
}

/// `writers` tasks append `total` events between them, `batch` per call, each call waiting for
/// its durable commit (as an ingest request does).
pub async fn append_throughput(
    store: Arc<dyn Store>,
    writers: usize,
    total: usize,
    batch: usize,
) -> anyhow::Result<AppendResult> {
    concurrent_appends(writers, total, batch, move |events, now| {
        let store = store.clone();
        async move {
            store.append_events(events, now).await?;
            Ok(())
        }
    })
    .await
}

/// `writers` tasks call `append` with `batch` events at a time until `total` events are in,
/// each waiting for the call to finish before the next: throughput and per-call latency.
pub async fn concurrent_appends<Append, Call>(
    writers: usize,
    total: usize,
    batch: usize,
    append: Append,
) -> anyhow::Result<AppendResult>
where
    Append: Fn(Vec<NewAuditEvent>, Timestamp) -> Call + Clone + Send + 'static,
    Call: Future<Output = anyhow::Result<()>> + Send,
{
    let per_writer = total / writers;
    let started = Instant::now();
    let mut tasks = vec![];
    for writer in 0..writers {
        let append = append.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_writer / batch + 1);
            let mut index = 0;
            while index < per_writer {
                let now = SystemClock.now();
                let events = (index..(index + batch).min(per_writer))
                    .map(|i| synthetic(writer, i, now))
                    .collect();
                let call = Instant::now();
                append(events, now).await?;
                latencies.push(call.elapsed().as_secs_f64() * 1_000.0);
                index += batch;
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = vec![];
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    Ok(AppendResult {
        events_per_second: (per_writer * writers) as f64 / elapsed,
        p50_ms: percentile(&latencies, 0.5),
        p99_ms: percentile(&latencies, 0.99),
    })
}

/// From appending one event to holding a signed checkpoint that includes it.
pub async fn append_to_checkpoint(store: Arc<dyn Store>) -> anyhow::Result<f64> {
    let signer = dezky_chain::checkpoint::NoteSigner::from_seed("bench.dezky/audit", [7; 32])?;
    let signer = Arc::new(dezky_server::signing::AuditSigner::new(signer, None));
    let checkpointer = dezky_server::checkpoints::Checkpointer::new(store.clone(), signer, Arc::new(SystemClock));
    let started = Instant::now();
    let now = SystemClock.now();
    store.append_events(vec![synthetic(0, usize::MAX, now)], now).await?;
    checkpointer.make(dezky_server::checkpoints::Reason::Manual).await?;
    Ok(started.elapsed().as_secs_f64() * 1_000.0)
}

pub async fn verification_speed(store: &dyn Store) -> anyhow::Result<f64> {
    let started = Instant::now();
    let report = dezky_server::verification::verify_store(store, None).await?;
    anyhow::ensure!(
        report.ok,
        "the benchmark log does not verify: {:?}",
        report.breaks.first()
    );
    Ok(report.verified_events as f64 / started.elapsed().as_secs_f64())
}

/// The pure verifier alone over the first `limit` events (read into memory first, as the
/// pages the verifier reads): what the hashing and checking cost without the database reads.
pub async fn pure_verification_speed(store: &dyn Store, limit: usize) -> anyhow::Result<f64> {
    let mut pages = vec![];
    let mut events = 0;
    let mut after = None;
    while events < limit {
        let page_size = (limit - events).min(10_000) as u32;
        let page = store.evidence_page(after, page_size).await?;
        let Some(last_seq) = page.last_seq() else { break };
        after = Some(u64::try_from(last_seq)?);
        events += page.len();
        pages.push(page);
    }
    let started = Instant::now();
    let mut verifier = dezky_chain::verify::Verifier::new(vec![], None);
    for page in &pages {
        dezky_server::verification::push_page(&mut verifier, page)?;
    }
    // Without checkpoints and without the chain-head comparison, a prefix of the log verifies.
    let report = verifier.finish();
    anyhow::ensure!(
        report.ok,
        "the benchmark log does not verify: {:?}",
        report.breaks.first()
    );
    Ok(events as f64 / started.elapsed().as_secs_f64())
}

/// p50 and p99 of serving an inclusion proof (all node reads and folding) for random seqs.
pub async fn proof_latency(store: &dyn Store, samples: usize) -> anyhow::Result<(f64, f64)> {
    let size = store.next_seq().await?;
    let mut latencies = Vec::with_capacity(samples);
    for _ in 0..samples {
        let seq = rand::thread_rng().gen_range(0..size);
        let started = Instant::now();
        let ranges = inclusion_ranges(seq, size)?;
        let nodes: Vec<_> = ranges
            .iter()
            .flat_map(|&(start, end)| range_nodes(start, end))
            .collect();
        let hashes = store.merkle_node_hashes(&nodes).await?;
        std::hint::black_box(fold_range(&hashes));
        latencies.push(started.elapsed().as_secs_f64() * 1_000.0);
    }
    latencies.sort_by(f64::total_cmp);
    Ok((percentile(&latencies, 0.5), percentile(&latencies, 0.99)))
}

pub fn markdown(results: &[Value]) -> String {
    let mut table = String::from(
        "| backend | writers | batch | events | append events/s | append p50 ms | append p99 ms | append→checkpoint ms | verify events/s (from DB) | verify events/s (pure) | proof p50 ms | proof p99 ms |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let number = |value: &Value, digits: usize| value.as_f64().map_or("–".to_owned(), |n| format!("{n:.digits$}"));
    for result in results {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            result["backend"].as_str().unwrap_or(""),
            result["writers"],
            result["batch"],
            result["events"],
            number(&result["appendEventsPerSecond"], 0),
            number(&result["appendLatencyP50Ms"], 2),
            number(&result["appendLatencyP99Ms"], 2),
            number(&result["appendToCheckpointMs"], 1),
            number(&result["verifyEventsPerSecond"], 0),
            number(&result["verifyPureEventsPerSecond"], 0),
            number(&result["inclusionProofP50Ms"], 3),
            number(&result["inclusionProofP99Ms"], 3),
        ));
    }
    table
}
