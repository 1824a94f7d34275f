//! The single measurements from flags, as before `all` existed:
//! `dezky-bench [--events N] [--batch B] [--writers 1,8,64] [--backends sqlite,postgres] [--markdown]`
//! measures appends per writer count on a fresh database, then checkpoint latency, verification
//! and proofs on the last one (kept with `--keep-database`); `--ingest` measures oCIS parsing, the oCIS tail and the Stalwart
//! webhook instead. Prints JSON, or a Markdown table with `--markdown`.

use crate::suite::backend_named;
use crate::{ingest, measure};
use clap::Args;
use dezky_testkit::TestDatabase;
use serde_json::json;

#[derive(Args, Debug)]
pub struct ClassicArguments {
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
    /// Keep the last database instead of dropping it, and print its URL (to examine a large
    /// log afterwards: query plans, file sizes). Removing it is then up to you.
    #[arg(long)]
    keep_database: bool,
    /// Measure ingest instead: oCIS line parsing (MiB/s), the oCIS tail into each backend
    /// (lines/s) and the Stalwart webhook over HTTP (events/s, signed batches of 100).
    #[arg(long)]
    ingest: bool,
    /// Measure SQLite's indexer alone instead: copy the SQLite database FILE (one kept with
    /// `--keep-database`, say) beside itself without its index file, open the copy as the
    /// server does and time the indexer until it has caught up (events/s). The copy is removed.
    #[arg(long, value_name = "FILE")]
    reindex: Option<std::path::PathBuf>,
}

pub async fn run(arguments: &ClassicArguments) -> anyhow::Result<()> {
    if arguments.ingest {
        return ingest_benchmark(arguments).await;
    }
    if let Some(file) = &arguments.reindex {
        return reindex(file).await;
    }
    let mut results = vec![];
    for backend in &arguments.backends {
        let backend = backend_named(backend)?;
        for &writers in &arguments.writers {
            let database = TestDatabase::create(backend).await;
            let store = dezky_store::open(&database.url).await?;
            store.migrate().await?;
            let append = measure::append_throughput(store.clone(), writers, arguments.events, arguments.batch).await?;
            let catch_up = measure::index_catch_up(store.as_ref()).await?;
            eprintln!(
                "{backend:?} writers={writers}: {:.0} events/s",
                append.events_per_second
            );
            if let Some(speculation) = store.speculation_stats() {
                eprintln!(
                    "{backend:?} writers={writers}: {} group commits speculative, {} given up",
                    speculation.committed, speculation.given_up
                );
            }
            let mut result = json!({
                "backend": format!("{backend:?}").to_lowercase(),
                "writers": writers,
                "batch": arguments.batch,
                "events": arguments.events,
                "appendEventsPerSecond": append.events_per_second,
                "appendLatencyP50Ms": append.p50_ms,
                "appendLatencyP99Ms": append.p99_ms,
            });
            if let Some(catch_up) = catch_up {
                // The rate counting the time until the last event was also searchable through
                // the index (the appends alone count until the last commit).
                let indexed_rate =
                    arguments.events as f64 / (arguments.events as f64 / append.events_per_second + catch_up.seconds);
                eprintln!(
                    "{backend:?} writers={writers}: the index was {} events behind at the end and caught up \
                     {:.2} s later: {indexed_rate:.0} events/s appended and indexed",
                    catch_up.lag_events, catch_up.seconds
                );
                result["indexLagAtEndEvents"] = json!(catch_up.lag_events);
                result["indexCatchUpSeconds"] = json!(catch_up.seconds);
                result["appendAndIndexEventsPerSecond"] = json!(indexed_rate);
            }
            // The slower measurements once per backend, on the largest log.
            if writers == *arguments.writers.last().unwrap_or(&1) {
                let checkpoint = measure::append_to_checkpoint(store.clone()).await?;
                let speeds = if arguments.skip_verify {
                    None
                } else {
                    Some((
                        measure::verification_speed(store.as_ref()).await?,
                        measure::pure_verification_speed(store.as_ref(), usize::MAX).await?,
                    ))
                };
                let proofs = measure::proof_latency(store.as_ref(), 2_000).await?;
                result["appendToCheckpointMs"] = json!(checkpoint);
                result["verifyEventsPerSecond"] = json!(speeds.map(|(verify, _)| verify));
                result["verifyPureEventsPerSecond"] = json!(speeds.map(|(_, pure)| pure));
                result["inclusionProofP50Ms"] = json!(proofs.0);
                result["inclusionProofP99Ms"] = json!(proofs.1);
                let verification = match speeds {
                    Some((verify, pure)) => format!("verify {verify:.0} events/s (pure {pure:.0})"),
                    None => "verification skipped".to_owned(),
                };
                eprintln!(
                    "{backend:?}: checkpoint {checkpoint:.1} ms, {verification}, proof p99 {:.2} ms",
                    proofs.1
                );
            }
            results.push(result);
            if arguments.keep_database && writers == *arguments.writers.last().unwrap_or(&1) {
                eprintln!("{backend:?}: database kept at {}", database.url);
                std::mem::forget(database);
            }
        }
    }
    if arguments.markdown {
        crate::print_report(&measure::markdown(&results))?;
    } else {
        crate::print_report(&serde_json::to_string_pretty(&results)?)?;
    }
    Ok(())
}

/// `--reindex FILE`: the indexer's rate over a whole log, from an empty index file.
async fn reindex(file: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(file.is_file(), "--reindex: {} is not a file", file.display());
    let copy = std::path::PathBuf::from(format!("{}.reindex", file.display()));
    let remove_copy = || {
        for suffix in ["", "-wal", "-shm", "-text", "-text-wal", "-text-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", copy.display()));
        }
    };
    remove_copy();
    let measured = async {
        // VACUUM INTO copies the database with what its WAL holds, and writes nothing to it.
        let source = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(file).read_only(true))
            .await?;
        sqlx::query("VACUUM INTO ?")
            .bind(copy.display().to_string())
            .execute(&source)
            .await?;
        source.close().await;
        let started = std::time::Instant::now();
        let store = dezky_store::open(&copy.display().to_string()).await?;
        let events = store.next_seq().await?;
        let caught_up = measure::index_catch_up(store.as_ref()).await?;
        anyhow::ensure!(
            caught_up.is_some(),
            "{} is not a SQLite database of dezky",
            file.display()
        );
        anyhow::Ok((events, started.elapsed().as_secs_f64()))
    }
    .await;
    // The store (and its indexer) is gone with the block; the copy goes whether or not the
    // measurement worked.
    remove_copy();
    let (events, seconds) = measured?;
    eprintln!(
        "indexed {events} events in {seconds:.2} s: {:.0} events/s",
        events as f64 / seconds
    );
    Ok(())
}

/// `--ingest`: the ingest issue's numbers, as JSON (or a Markdown table with `--markdown`).
async fn ingest_benchmark(arguments: &ClassicArguments) -> anyhow::Result<()> {
    let lines = arguments.events.max(1_000);
    let (mib_per_second, lines_per_second) = ingest::parse_throughput(lines);
    eprintln!("oCIS lines parsed and filtered: {mib_per_second:.0} MiB/s, {lines_per_second:.0} lines/s");
    let mut rows = vec![
        json!({ "measurement": "ocis-parse", "mibPerSecond": mib_per_second, "linesPerSecond": lines_per_second }),
    ];
    for backend in &arguments.backends {
        let backend = backend_named(backend)?;
        let name = format!("{backend:?}").to_lowercase();
        let database = TestDatabase::create(backend).await;
        let store = dezky_store::open(&database.url).await?;
        store.migrate().await?;
        let tail = ingest::tail_throughput(store, lines).await?;
        eprintln!("{name}: oCIS tail {tail:.0} lines/s");
        rows.push(json!({ "measurement": "ocis-tail", "backend": name, "linesPerSecond": tail }));
        for &senders in &arguments.writers {
            let database = TestDatabase::create(backend).await;
            let webhook = ingest::webhook_throughput(&database.url, arguments.events, 100, senders).await?;
            eprintln!("{name}: Stalwart webhook, {senders} senders: {webhook:.0} events/s");
            rows.push(json!({ "measurement": "stalwart-webhook", "backend": name, "senders": senders, "eventsPerSecond": webhook }));
        }
    }
    if arguments.markdown {
        let mut table = String::from("| measurement | backend | senders | result |\n|---|---|---|---|");
        for row in &rows {
            let result = match row["measurement"].as_str() {
                Some("ocis-parse") => format!(
                    "{:.0} MiB/s ({:.0} lines/s)",
                    row["mibPerSecond"].as_f64().unwrap_or_default(),
                    row["linesPerSecond"].as_f64().unwrap_or_default()
                ),
                Some("ocis-tail") => format!("{:.0} lines/s", row["linesPerSecond"].as_f64().unwrap_or_default()),
                _ => format!("{:.0} events/s", row["eventsPerSecond"].as_f64().unwrap_or_default()),
            };
            table.push_str(&format!(
                "\n| {} | {} | {} | {result} |",
                row["measurement"].as_str().unwrap_or_default(),
                row["backend"].as_str().unwrap_or("—"),
                row["senders"]
                    .as_u64()
                    .map_or("—".to_owned(), |senders| senders.to_string()),
            ));
        }
        crate::print_report(&table)?;
    } else {
        crate::print_report(&serde_json::to_string_pretty(&rows)?)?;
    }
    Ok(())
}
