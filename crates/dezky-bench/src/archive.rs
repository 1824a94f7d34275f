//! Archive throughput (issue 5): a log grown through the real sequencer goes to cold storage
//! through the real archive run (encode, gzip, sign, upload, confirm, record, delete), to a local
//! folder and, when an S3 endpoint is given, to that S3-compatible server; then the whole log is
//! verified across both tiers with the real verifier (manifest signatures and chain, data
//! hashes, every event, every checkpoint).

use crate::querylog::{self, Timeline};
use crate::results::ArchiveRun;
use dezky_chain::checkpoint::NoteSigner;
use dezky_chain::verify::CheckpointKeys;
use dezky_server::archive::cold::ColdStorage;
use dezky_server::archive::config::{ColdTarget, DEFAULT_BATCH_EVENTS, S3Target};
use dezky_server::archive::run::Archiver;
use dezky_server::archive::verify::verify_across_tiers;
use dezky_server::checkpoints::{Checkpointer, Reason};
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::signing::AuditSigner;
use dezky_testkit::{TestBackend, TestDatabase, temp_folder};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: f64 = 1_048_576.0;

/// Where a measured run writes: a fresh folder, or a fresh bucket on the S3 server at `endpoint`.
pub enum Destination {
    Folder,
    S3 { endpoint: String },
}

impl Destination {
    fn label(&self) -> &'static str {
        match self {
            Destination::Folder => "folder",
            Destination::S3 { .. } => "s3",
        }
    }

    async fn target(&self) -> anyhow::Result<ColdTarget> {
        match self {
            Destination::Folder => Ok(ColdTarget::Directory(temp_folder("bench-cold"))),
            Destination::S3 { endpoint } => {
                let bucket = format!("dezky-bench-{:016x}", rand::random::<u64>());
                // Path-style bucket creation, as MinIO and moto accept without signing.
                let response = reqwest::Client::new()
                    .put(format!("{}/{bucket}", endpoint.trim_end_matches('/')))
                    .send()
                    .await
                    .map_err(|error| {
                        anyhow::anyhow!("--s3-endpoint {endpoint}: the server does not answer: {error}")
                    })?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "--s3-endpoint {endpoint}: creating bucket {bucket} answered {}",
                    response.status()
                );
                Ok(ColdTarget::S3(S3Target {
                    endpoint: endpoint.clone(),
                    region: "us-east-1".into(),
                    bucket,
                    access_key: "dezky-bench".into(),
                    secret_key: "dezky-bench-secret".into(),
                    server_side_encryption: false,
                }))
            }
        }
    }
}

/// Grows a fresh log of `events` events, archives all of it to `destination` and verifies both
/// tiers.
pub async fn measure(backend: TestBackend, events: u64, destination: &Destination) -> anyhow::Result<ArchiveRun> {
    let database = TestDatabase::create(backend).await;
    let store = dezky_store::open(&database.url).await?;
    store.migrate().await?;
    let timeline = Timeline {
        end: SystemClock.now(),
        final_size: events,
    };
    querylog::grow(store.clone(), 0, events, timeline).await?;
    let signer = Arc::new(AuditSigner::new(
        NoteSigner::from_seed("bench.dezky/audit", [7; 32])?,
        None,
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    // Only events covered by a signed checkpoint are archived.
    Checkpointer::new(store.clone(), signer.clone(), clock.clone())
        .make(Reason::Manual)
        .await?;
    let target = destination.target().await?;
    let cold = ColdStorage::open(&target)?;
    let archiver = Archiver::new(
        store.clone(),
        cold,
        signer.clone(),
        clock,
        Duration::ZERO,
        DEFAULT_BATCH_EVENTS,
    );
    let started = Instant::now();
    let summary = archiver
        .run()
        .await
        .map_err(|failure| anyhow::anyhow!("the archive run failed: {}", failure.error))?;
    let archive_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        summary.events >= events,
        "the archive run moved {} of {events} events",
        summary.events
    );
    let batches = store.list_archive_batches().await?;
    let bytes_compressed: u64 = batches.iter().map(|batch| batch.bytes_compressed).sum();
    let bytes_uncompressed: u64 = batches.iter().map(|batch| batch.bytes_uncompressed).sum();

    let verifier = signer.verifier();
    let keys = CheckpointKeys {
        verifier: &verifier,
        hmac: signer.hmac(),
    };
    let started = Instant::now();
    let report = verify_across_tiers(store.as_ref(), Some(archiver.cold()), Some(keys)).await?;
    let verify_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        report.report.ok,
        "the archived log does not verify: {:?}",
        report.report.breaks.first()
    );
    if let ColdTarget::Directory(folder) = &target {
        std::fs::remove_dir_all(folder).ok();
    }
    Ok(ArchiveRun {
        destination: destination.label().to_owned(),
        events: summary.events,
        batches: summary.batches,
        bytes_compressed,
        bytes_uncompressed,
        archive_events_per_second: summary.events as f64 / archive_seconds,
        archive_mib_per_second: bytes_compressed as f64 / MIB / archive_seconds,
        verified_events: report.report.verified_events,
        verify_events_per_second: report.report.verified_events as f64 / verify_seconds,
    })
}
