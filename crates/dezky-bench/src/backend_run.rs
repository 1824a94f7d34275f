//! The suite on one backend: the disk's fsync rate, appends (dezky and the original design,
//! interleaved per writer count so both see the same machine), the query log grown size by size
//! with queries, the real server's memory and a CSV export at each size, then checkpoints,
//! verification and proofs on the largest log, and ingest.

use crate::archive;
use crate::baseline::{self, Baseline};
use crate::measure::{self, AppendResult};
use crate::queries;
use crate::querylog::{self, Timeline};
use crate::results::{AppendRun, BackendResult, Ingest, Integrity, QueryLog, ServerMemory, Sizes, Webhook};
use crate::server::Server;
use dezky_core::TokenScope;
use dezky_server::clock::{Clock, SystemClock};
use dezky_store::Store;
use dezky_testkit::{TestBackend, TestDatabase};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn name(backend: TestBackend) -> &'static str {
    match backend {
        TestBackend::Sqlite => "sqlite",
        TestBackend::Postgres => "postgres",
    }
}

fn append_run(
    writers: usize,
    batch: usize,
    events: usize,
    measured: AppendResult,
    catch_up: Option<measure::IndexCatchUp>,
) -> AppendRun {
    AppendRun {
        writers,
        batch,
        events: events / writers * writers,
        events_per_second: measured.events_per_second,
        p50_ms: measured.p50_ms,
        p99_ms: measured.p99_ms,
        index_catch_up_seconds: catch_up.map(|catch_up| catch_up.seconds),
    }
}

/// Measures the index file catching up (SQLite) and says how far behind it was.
async fn catch_up(store: &dyn Store, label: &str) -> anyhow::Result<Option<measure::IndexCatchUp>> {
    let catch_up = measure::index_catch_up(store).await?;
    if let Some(catch_up) = &catch_up {
        eprintln!(
            "{label}: the index file was {} events behind and caught up {:.2} s after the last append",
            catch_up.lag_events, catch_up.seconds
        );
    }
    Ok(catch_up)
}

async fn fresh_store(backend: TestBackend) -> anyhow::Result<(TestDatabase, Arc<dyn Store>)> {
    let database = TestDatabase::create(backend).await;
    let store = dezky_store::open(&database.url).await?;
    store.migrate().await?;
    Ok((database, store))
}

pub async fn run(backend: TestBackend, sizes: &Sizes, dezky_bin: &Path) -> anyhow::Result<BackendResult> {
    let label = name(backend);
    let mut result = BackendResult {
        backend: label.to_owned(),
        ..BackendResult::default()
    };
    let (database, _store) = fresh_store(backend).await?;
    result.database_version = database_version(&database.url).await?;
    let fsync_folder = fsync_directory(&database).await?;
    let fsync = crate::limits::fsync_rate(&fsync_folder, 4_096, Duration::from_secs_f64(sizes.limit_seconds))?;
    eprintln!("{label}: fsync {:.0}/s in {}", fsync.fsyncs_per_second, fsync.directory);
    result.fsync = Some(fsync);
    drop(database);

    for &writers in &sizes.writers {
        let (database, store) = fresh_store(backend).await?;
        let dezky = measure::append_throughput(store.clone(), writers, sizes.append_events, 1).await?;
        eprintln!(
            "{label}: dezky, {writers} writers × 1: {:.0} events/s",
            dezky.events_per_second
        );
        let caught_up = catch_up(store.as_ref(), label).await?;
        // Closed before the original design runs on the same database (its indexer polls).
        drop(store);
        result
            .append
            .push(append_run(writers, 1, sizes.append_events, dezky, caught_up));
        let original = Baseline::create(&database.url).await?;
        let appender = original.clone();
        let measured = measure::concurrent_appends(writers, sizes.baseline_events, 1, move |events, _now| {
            let appender = appender.clone();
            async move { appender.append(events).await }
        })
        .await?;
        let expected = (sizes.baseline_events / writers * writers) as i64;
        anyhow::ensure!(
            original.count().await? == expected && baseline::chain_is_intact(&database.url).await?,
            "the original design's reproduction did not write one intact chain of {expected} events"
        );
        eprintln!(
            "{label}: original design, {writers} writers: {:.0} events/s",
            measured.events_per_second
        );
        result
            .baseline
            .push(append_run(writers, 1, sizes.baseline_events, measured, None));
    }
    for &writers in &sizes.writers {
        let (_database, store) = fresh_store(backend).await?;
        let dezky = measure::append_throughput(store.clone(), writers, sizes.batch_events, sizes.batch).await?;
        eprintln!(
            "{label}: dezky, {writers} writers × {}: {:.0} events/s",
            sizes.batch, dezky.events_per_second
        );
        let caught_up = catch_up(store.as_ref(), label).await?;
        result
            .append
            .push(append_run(writers, sizes.batch, sizes.batch_events, dezky, caught_up));
    }

    let (database, store) = fresh_store(backend).await?;
    let (query_logs, integrity) = query_logs(&database, store, sizes, dezky_bin, label).await?;
    result.query_logs = query_logs;
    result.integrity = Some(integrity);
    drop(database);

    if sizes.ingest_events > 0 {
        result.ingest = Some(ingest(backend, sizes.ingest_events, label).await?);
    }
    if sizes.archive_events > 0 {
        let mut destinations = vec![archive::Destination::Folder];
        if let Some(endpoint) = &sizes.s3_endpoint {
            destinations.push(archive::Destination::S3 {
                endpoint: endpoint.clone(),
            });
        }
        for destination in &destinations {
            let run = archive::measure(backend, sizes.archive_events, destination).await?;
            eprintln!(
                "{label}: archive to {} {:.0} events/s ({:.1} MiB/s), verified across tiers {:.0} events/s",
                run.destination,
                run.archive_events_per_second,
                run.archive_mib_per_second,
                run.verify_events_per_second
            );
            result.archive.push(run);
        }
    }
    Ok(result)
}

async fn query_logs(
    database: &TestDatabase,
    store: Arc<dyn Store>,
    sizes: &Sizes,
    dezky_bin: &Path,
    label: &str,
) -> anyhow::Result<(Vec<QueryLog>, Integrity)> {
    let final_size = sizes.query_events.last().copied().unwrap_or(2);
    let timeline = Timeline {
        end: SystemClock.now(),
        final_size,
    };
    let (_, secret) = dezky_server::tokens::create_token(
        store.as_ref(),
        &dezky_server::audit::Actor::system(),
        TokenScope::Operator,
        Some("dezky-bench".to_owned()),
        SystemClock.now(),
    )
    .await?;
    let token = secret.expose().to_owned();
    let budget = Duration::from_secs_f64(sizes.query_budget_seconds);
    let mut logs = vec![];
    let mut loaded = 0;
    for &size in &sizes.query_events {
        let load_events_per_second = grow_with_statistics(&database.url, store.clone(), loaded, size, timeline).await?;
        loaded = size;
        let events = store.next_seq().await?;
        eprintln!("{label}: log grown to {events} events at {load_events_per_second:.0} events/s");
        // The queries are measured on the log as it stands once SQLite's index file has caught
        // up with the load: until then every query also scans the events the index has not
        // reached, and shares the cores with the indexer (docs/PERFORMANCE.md, "Twelfth
        // session"). The catch-up is reported beside the load rate.
        let catch_up = catch_up(store.as_ref(), label).await?;
        let mut queries = queries::measure_store(store.as_ref(), size, timeline, sizes.query_samples, budget).await?;
        let worst = queries.iter().map(|query| query.p99_ms).fold(0.0, f64::max);
        eprintln!("{label}: queries at {size}: slowest p99 {worst:.1} ms");
        let server = Server::start(dezky_bin, &database.url, token.clone()).await?;
        let (rss_after_start_mib, _) = server.memory_mib()?;
        server
            .measure_queries(&mut queries, size, timeline, (sizes.query_samples / 2).max(1), budget)
            .await?;
        let (rss_after_queries_mib, peak_before_export) = server.memory_mib()?;
        let export = server.export_csv().await?;
        server.stop().await;
        anyhow::ensure!(
            export.rows >= size,
            "the export returned {} rows from a log of {events} events",
            export.rows
        );
        eprintln!(
            "{label}: CSV export of {} rows at {:.0} rows/s, server peak {:.0} MiB",
            export.rows, export.rows_per_second, export.server_peak_rss_mib
        );
        logs.push(QueryLog {
            events,
            load_events_per_second,
            index_catch_up_seconds: catch_up.map(|catch_up| catch_up.seconds),
            database_bytes: database_bytes(database).await.ok(),
            queries,
            server: Some(ServerMemory {
                rss_after_start_mib,
                rss_after_queries_mib,
                peak_rss_mib: peak_before_export.max(export.server_peak_rss_mib),
            }),
            export: Some(export),
        });
    }
    let append_to_checkpoint_ms = measure::append_to_checkpoint(store.clone()).await?;
    let verify_events_per_second = measure::verification_speed(store.as_ref()).await?;
    let pure_verify_events_per_second =
        measure::pure_verification_speed(store.as_ref(), sizes.pure_verify_events).await?;
    let (inclusion_proof_p50_ms, inclusion_proof_p99_ms) =
        measure::proof_latency(store.as_ref(), sizes.proof_samples).await?;
    let integrity = Integrity {
        events: store.next_seq().await?,
        append_to_checkpoint_ms,
        verify_events_per_second,
        pure_verify_events: sizes.pure_verify_events.min(loaded as usize),
        pure_verify_events_per_second,
        proof_samples: sizes.proof_samples,
        inclusion_proof_p50_ms,
        inclusion_proof_p99_ms,
    };
    eprintln!(
        "{label}: checkpoint {append_to_checkpoint_ms:.1} ms, verify {verify_events_per_second:.0} events/s \
         (pure {pure_verify_events_per_second:.0}), proof p99 {inclusion_proof_p99_ms:.2} ms"
    );
    Ok((logs, integrity))
}

/// Grows the log, keeping PostgreSQL's planner statistics fresh on the way. A production
/// PostgreSQL refreshes them by autovacuum; this machine's runs with `autovacuum = off`, and
/// without statistics the planner treats the audit table as empty and its plans stop matching
/// the data. So on PostgreSQL the benchmark runs `ANALYZE` every 10 s while loading and once
/// at the end, standing in for autovacuum (the report states the server's settings). SQLite
/// gets nothing: dezky never runs `ANALYZE` there, so neither does the benchmark.
async fn grow_with_statistics(
    url: &str,
    store: Arc<dyn Store>,
    from: u64,
    to: u64,
    timeline: Timeline,
) -> anyhow::Result<f64> {
    if !url.starts_with("postgres") {
        return querylog::grow(store, from, to, timeline).await;
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    let analyzer_pool = pool.clone();
    let analyzer = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            if let Err(error) = sqlx::query("ANALYZE").execute(&analyzer_pool).await {
                eprintln!("postgres: ANALYZE while loading failed: {error}");
            }
        }
    });
    let grown = querylog::grow(store, from, to, timeline).await;
    analyzer.abort();
    sqlx::query("ANALYZE").execute(&pool).await?;
    grown
}

async fn ingest(backend: TestBackend, events: usize, label: &str) -> anyhow::Result<Ingest> {
    let lines = events.max(1_000);
    let (_database, store) = fresh_store(backend).await?;
    let tail_lines_per_second = crate::ingest::tail_throughput(store, lines).await?;
    eprintln!("{label}: oCIS tail {tail_lines_per_second:.0} lines/s");
    let mut webhook = vec![];
    for senders in [1, 8] {
        let database = TestDatabase::create(backend).await;
        let events = (events / 100).max(senders) * 100;
        let events_per_second = crate::ingest::webhook_throughput(&database.url, events, 100, senders).await?;
        eprintln!("{label}: Stalwart webhook, {senders} senders: {events_per_second:.0} events/s");
        webhook.push(Webhook {
            senders,
            events,
            events_per_second,
        });
    }
    Ok(Ingest {
        tail_lines: lines,
        tail_lines_per_second,
        webhook,
    })
}

async fn database_version(url: &str) -> anyhow::Result<String> {
    if url.starts_with("postgres") {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        let mut described = vec![];
        for setting in ["server_version", "autovacuum", "shared_buffers", "synchronous_commit"] {
            let value: String = sqlx::query_scalar(&format!("SHOW {setting}")).fetch_one(&pool).await?;
            described.push(if setting == "server_version" {
                value
            } else {
                format!("{setting}={value}")
            });
        }
        // Said in the report, because the benchmark stands in for autovacuum when it is off.
        if described.iter().any(|setting| setting == "autovacuum=off") {
            described.push("ANALYZE every 10 s while loading".to_owned());
        }
        Ok(described.join(", "))
    } else {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await?;
        Ok(sqlx::query_scalar::<_, String>("SELECT sqlite_version()")
            .fetch_one(&pool)
            .await?)
    }
}

fn sqlite_file(url: &str) -> PathBuf {
    PathBuf::from(url.trim_start_matches("sqlite://"))
}

/// Where the database's writes land: the SQLite file's folder, or the folder holding
/// PostgreSQL's data directory (same file system; the data directory itself is left alone).
async fn fsync_directory(database: &TestDatabase) -> anyhow::Result<PathBuf> {
    if database.backend == TestBackend::Sqlite {
        let file = sqlite_file(&database.url);
        return Ok(file.parent().map(Path::to_path_buf).unwrap_or_default());
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&database.url)
        .await?;
    let data: String = sqlx::query_scalar("SHOW data_directory").fetch_one(&pool).await?;
    let data = PathBuf::from(data);
    let parent = data.parent().map(Path::to_path_buf);
    match (std::fs::metadata(&data), parent) {
        (Ok(data_meta), Some(parent)) if std::fs::metadata(&parent).is_ok_and(|meta| meta.dev() == data_meta.dev()) => {
            Ok(parent)
        }
        // A PostgreSQL on another machine (or unreadable here): measure where SQLite would write.
        _ => Ok(std::env::temp_dir()),
    }
}

async fn database_bytes(database: &TestDatabase) -> anyhow::Result<u64> {
    if database.backend == TestBackend::Postgres {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&database.url)
            .await?;
        let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
            .fetch_one(&pool)
            .await?;
        return Ok(bytes as u64);
    }
    // The database, its free-text index file beside it, and their write-ahead logs.
    let file = sqlite_file(&database.url);
    let size = |suffix: &str| std::fs::metadata(format!("{}{suffix}", file.display())).map_or(0, |meta| meta.len());
    Ok(std::fs::metadata(&file)?.len() + size("-wal") + size("-text") + size("-text-wal"))
}
