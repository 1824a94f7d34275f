//! One archive run: every event recorded before the hot-retention cutoff (and covered by a
//! signed checkpoint) goes to cold storage in batches, in the crash-safe order
//! upload → confirm → record → delete.
//!
//! A failure or kill at any step leaves each event either hot, or in a confirmed and recorded
//! batch whose rows are deleted by the next run (a recorded batch always has its objects). Keys
//! are content-addressed, so a retry writes the same bytes to the same key, never different
//! bytes over an existing key. Two instances running at once are serialised by the store:
//! recording takes the chain-head lock and a range can be recorded once.

use crate::archive::cold::{ColdError, ColdStorage};
use crate::archive::encode::encode_events;
use crate::audit::Actor;
use crate::clock::Clock;
use crate::signing::AuditSigner;
use bytes::Bytes;
use dezky_chain::manifest::{MANIFEST_VERSION, Manifest, SeqRange, data_key, manifest_key, plan_batches, sha256_hex};
use dezky_core::{Action, AuditEvent, NewAuditEvent, Timestamp};
use dezky_store::{ArchiveBatch, RecordBatchOutcome, Store, StoreError};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The action of the event that records an archived batch.
pub const ARCHIVED_ACTION: &str = "audit.archived";

/// The steps of a batch, in order. A run can be told to stop right after one of them, which is
/// what a crash at that point leaves behind (the tests use it to show nothing is lost).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Upload,
    Confirm,
    Record,
    Delete,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Cold(#[from] ColdError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("cold storage does not hold what was uploaded: {0}")]
    NotConfirmed(String),
    #[error("the hot log is not what the archive expects: {0}")]
    Integrity(String),
    #[error("the run was stopped after the {0:?} step")]
    Stopped(Step),
    #[error("the manifest cannot be signed: {0}")]
    Signing(String),
}

/// What a run archived (also reported when it failed part-way: the batches before the failure
/// are complete).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub batches: u64,
    pub events: u64,
}

#[derive(Debug)]
pub struct RunFailure {
    pub summary: RunSummary,
    pub error: ArchiveError,
}

pub struct Archiver {
    store: Arc<dyn Store>,
    cold: ColdStorage,
    signer: Arc<AuditSigner>,
    clock: Arc<dyn Clock>,
    hot_retention: Duration,
    batch_events: u64,
    /// One run at a time in this process (other instances are serialised by the database).
    running: tokio::sync::Mutex<()>,
}

/// Events read from the hot table per query while building a batch.
const READ_PAGE: u32 = 10_000;

impl Archiver {
    pub fn new(
        store: Arc<dyn Store>,
        cold: ColdStorage,
        signer: Arc<AuditSigner>,
        clock: Arc<dyn Clock>,
        hot_retention: Duration,
        batch_events: u64,
    ) -> Archiver {
        Archiver {
            store,
            cold,
            signer,
            clock,
            hot_retention,
            batch_events,
            running: tokio::sync::Mutex::new(()),
        }
    }

    pub fn cold(&self) -> &ColdStorage {
        &self.cold
    }

    /// When the newest recorded batch was archived (for the daily guard).
    pub async fn newest_batch_time(&self) -> Result<Option<Timestamp>, StoreError> {
        let batches = self.store.list_archive_batches().await?;
        Ok(batches.iter().map(|batch| batch.archived_at).max())
    }

    pub async fn run(&self) -> Result<RunSummary, RunFailure> {
        self.run_stopping_after(None).await
    }

    /// A run that stops (as if killed) right after `stop_after` of the first batch it touches.
    pub async fn run_stopping_after(&self, stop_after: Option<Step>) -> Result<RunSummary, RunFailure> {
        let _turn = self.running.lock().await;
        let mut summary = RunSummary::default();
        match self.run_inner(stop_after, &mut summary).await {
            Ok(()) => Ok(summary),
            Err(error) => Err(RunFailure { summary, error }),
        }
    }

    async fn run_inner(&self, stop_after: Option<Step>, summary: &mut RunSummary) -> Result<(), ArchiveError> {
        let stop = |step: Step| -> Result<(), ArchiveError> {
            if stop_after == Some(step) {
                Err(ArchiveError::Stopped(step))
            } else {
                Ok(())
            }
        };
        // Objects an erasure replaced but could not delete at the time (idempotent).
        let superseded = self.store.superseded_object_keys().await?;
        crate::archive::erase::delete_objects(Some(&self.cold), &superseded).await;
        let recorded = self.store.list_archive_batches().await?;
        // First finish batches an earlier run recorded but did not delete from hot storage.
        if let Some(oldest_hot) = self.store.oldest_hot_seq().await? {
            for batch in recorded.iter().filter(|batch| batch.end_seq >= oldest_hot) {
                self.confirm(batch).await?;
                self.delete_hot(batch, summary).await?;
            }
        }
        let first_hot = recorded.last().map_or(0, |batch| batch.end_seq + 1);
        let mut previous_manifest = recorded.last().map(|batch| batch.manifest_sha256.clone());
        let now = self.clock.now();
        let cutoff = now.saturating_add_millis(-(self.hot_retention.as_millis().min(i64::MAX as u128) as i64));
        let next_seq = self.store.next_seq().await?;
        let retained_from = self.store.first_seq_recorded_since(cutoff).await?.unwrap_or(next_seq);
        let Some(checkpoint) = self.store.latest_checkpoint().await? else {
            return Ok(());
        };
        let archivable_end = retained_from.min(checkpoint.tree_size);
        for range in plan_batches(first_hot, archivable_end, self.batch_events) {
            let events = match self.read_range(range).await {
                Ok(events) => events,
                // Another instance recorded this range and deleted its rows since this run
                // listed the batches: the race is lost, not the data. Leave the rest of the
                // plan to the next run, as when recording loses the race below.
                Err(ArchiveError::Integrity(_)) if self.recorded_since(range.start).await? => return Ok(()),
                Err(error) => return Err(error),
            };
            let encoded = encode_events(&events);
            let data_key = data_key(range.start, range.end, &encoded.data_sha256);
            let manifest = Manifest {
                v: MANIFEST_VERSION,
                origin: self.signer.origin().to_owned(),
                start_seq: range.start,
                end_seq: range.end,
                event_count: range.len(),
                first_prev_hash: events[0].prev_hash.clone().unwrap_or_default(),
                last_hash: events[events.len() - 1].hash.clone().unwrap_or_default(),
                checkpoint_tree_size: checkpoint.tree_size,
                checkpoint_root_hash: checkpoint.root_hash.clone(),
                data_key: data_key.clone(),
                data_sha256: encoded.data_sha256.clone(),
                uncompressed_sha256: encoded.uncompressed_sha256.clone(),
                bytes_compressed: encoded.compressed.len() as u64,
                bytes_uncompressed: encoded.bytes_uncompressed,
                created_at: now,
                previous_manifest_sha256: previous_manifest.clone(),
                supersedes_manifest_sha256: None,
            };
            let note = manifest
                .sign(&self.signer.signer, self.signer.hmac())
                .map_err(|error| ArchiveError::Signing(error.to_string()))?;
            let manifest_sha256 = sha256_hex(note.as_bytes());
            let manifest_key = manifest_key(range.start, range.end, &manifest_sha256);
            let batch = ArchiveBatch {
                id: crate::ids::archive_batch_id(),
                archived_at: now,
                start_seq: range.start,
                end_seq: range.end,
                event_count: range.len(),
                erased_events: events.iter().filter(|event| event.personal_salt.is_none()).count() as u64,
                bytes_compressed: encoded.compressed.len() as u64,
                bytes_uncompressed: encoded.bytes_uncompressed,
                data_sha256: encoded.data_sha256,
                original_manifest_sha256: manifest_sha256.clone(),
                revision: 0,
                manifest_sha256,
                data_key,
                manifest_key,
            };
            self.cold.put(&batch.data_key, Bytes::from(encoded.compressed)).await?;
            self.cold.put(&batch.manifest_key, Bytes::from(note)).await?;
            stop(Step::Upload)?;
            self.confirm(&batch).await?;
            stop(Step::Confirm)?;
            let recorded = match self.store.record_archive_batch(batch.clone()).await? {
                RecordBatchOutcome::Recorded => batch,
                RecordBatchOutcome::AlreadyRecorded(existing) => {
                    // Another instance recorded this range first: ours are orphans. Finish
                    // theirs and leave the rest of the plan to the next run.
                    self.remove_orphans(&batch, &existing).await;
                    self.confirm(&existing).await?;
                    self.delete_hot(&existing, summary).await?;
                    return Ok(());
                }
            };
            stop(Step::Record)?;
            self.delete_hot(&recorded, summary).await?;
            stop(Step::Delete)?;
            previous_manifest = Some(recorded.manifest_sha256);
        }
        Ok(())
    }

    /// Whether a recorded batch now holds `seq`.
    async fn recorded_since(&self, seq: u64) -> Result<bool, ArchiveError> {
        let recorded = self.store.list_archive_batches().await?;
        Ok(recorded
            .iter()
            .any(|batch| (batch.start_seq..=batch.end_seq).contains(&seq)))
    }

    /// Both objects exist: the data with the recorded size, the manifest byte for byte.
    async fn confirm(&self, batch: &ArchiveBatch) -> Result<(), ArchiveError> {
        let size = self.cold.size(&batch.data_key).await?;
        if size != batch.bytes_compressed {
            return Err(ArchiveError::NotConfirmed(format!(
                "{} has {size} bytes, expected {}",
                batch.data_key, batch.bytes_compressed
            )));
        }
        let manifest = self.cold.get(&batch.manifest_key).await?;
        if sha256_hex(&manifest) != batch.manifest_sha256 {
            return Err(ArchiveError::NotConfirmed(format!(
                "{} does not read back as the manifest that was written",
                batch.manifest_key
            )));
        }
        Ok(())
    }

    async fn delete_hot(&self, batch: &ArchiveBatch, summary: &mut RunSummary) -> Result<(), ArchiveError> {
        let now = self.clock.now();
        let build = move |batch: &ArchiveBatch, deleted: u64| archived_event(batch, deleted, now);
        let deleted = self.store.delete_archived_events(&batch.id, &build, now).await?;
        if deleted > 0 {
            summary.batches += 1;
            summary.events += deleted;
            tracing::info!(
                batch = %batch.id, start_seq = batch.start_seq, end_seq = batch.end_seq, events = deleted,
                "archived a batch to cold storage"
            );
        }
        Ok(())
    }

    /// Objects of a batch that lost the race to record its range. Best effort: an orphan left
    /// behind is unreferenced and harmless.
    async fn remove_orphans(&self, ours: &ArchiveBatch, recorded: &ArchiveBatch) {
        for (mine, theirs) in [
            (&ours.data_key, &recorded.data_key),
            (&ours.manifest_key, &recorded.manifest_key),
        ] {
            if mine != theirs
                && let Err(error) = self.cold.delete(mine).await
            {
                tracing::warn!(%error, "could not remove an unrecorded archive object");
            }
        }
    }

    async fn read_range(&self, range: SeqRange) -> Result<Vec<AuditEvent>, ArchiveError> {
        let mut events: Vec<AuditEvent> = Vec::with_capacity(range.len() as usize);
        let mut after = range.start.checked_sub(1);
        while after.is_none_or(|after| after < range.end) {
            let page = self.store.events_in_order(after, READ_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.seq);
            events.extend(page.into_iter().take_while(|event| event.seq <= range.end));
        }
        let contiguous = events.iter().zip(range.start..).all(|(event, seq)| event.seq == seq);
        if !contiguous || events.len() as u64 != range.len() {
            return Err(ArchiveError::Integrity(format!(
                "seqs {}..={} are not all in hot storage ({} found)",
                range.start,
                range.end,
                events.len()
            )));
        }
        Ok(events)
    }
}

/// The `audit.archived` event: which batch, where it went, how many rows left hot storage.
pub fn archived_event(batch: &ArchiveBatch, deleted: u64, now: Timestamp) -> NewAuditEvent {
    let action = Action::parse(ARCHIVED_ACTION).expect("valid verb");
    let mut event = Actor::system().event(now, action);
    event.resource_type = Some("archive_batch".to_owned());
    event.resource_id = Some(batch.id.clone());
    if let serde_json::Value::Object(metadata) = json!({
        "startSeq": batch.start_seq,
        "endSeq": batch.end_seq,
        "eventCount": batch.event_count,
        "deletedFromHot": deleted,
        "manifestSha256": batch.manifest_sha256,
        "dataKey": batch.data_key,
        "manifestKey": batch.manifest_key,
    }) {
        event.metadata = metadata;
    }
    event
}
