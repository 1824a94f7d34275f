//! Cold-storage bookkeeping: recorded archive batches and the one audited path that removes
//! archived events from the hot table.
//!
//! The archiver (dezky-server) uploads a batch, confirms it, and only then calls
//! [`ArchiveStore::record_archive_batch`] and [`ArchiveStore::delete_archived_events`]. Both
//! take the chain-head lock, so two instances (and appends, and erasure) take turns; a batch
//! must start right after the previous one and a range is recorded at most once (unique
//! `start_seq`/`end_seq`). The delete copies the rows' leaf hashes into `merkle_nodes` at level 0
//! first, so inclusion proofs keep working, and records its audit event in the same transaction.

use crate::error::StoreError;
use async_trait::async_trait;
use dezky_core::{NewAuditEvent, Timestamp};

/// A confirmed batch as recorded in the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveBatch {
    pub id: String,
    pub archived_at: Timestamp,
    pub start_seq: u64,
    pub end_seq: u64,
    pub event_count: u64,
    /// How many of the batch's events had their personal data erased when it was archived.
    pub erased_events: u64,
    pub bytes_compressed: u64,
    pub bytes_uncompressed: u64,
    pub data_sha256: String,
    pub manifest_sha256: String,
    pub data_key: String,
    pub manifest_key: String,
    /// SHA-256 of the batch's first manifest (the next batch's manifest links to it); equal to
    /// `manifest_sha256` until an erasure rewrites the batch.
    pub original_manifest_sha256: String,
    /// 0 for the objects written by the archive run; n after the n-th rewrite by an erasure.
    pub revision: u64,
}

/// New objects for a recorded batch, written by an erasure (the batch's next revision).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveRevision {
    pub batch_id: String,
    /// The batch's current revision plus one: the erasure that wrote it saw that revision.
    pub revision: u64,
    pub erased_events: u64,
    pub bytes_compressed: u64,
    pub bytes_uncompressed: u64,
    pub data_sha256: String,
    pub manifest_sha256: String,
    pub data_key: String,
    pub manifest_key: String,
}

/// What recording a batch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordBatchOutcome {
    Recorded,
    /// A batch starting at the same seq was already recorded (by an earlier, interrupted run or
    /// by another instance); it is returned and the new one was not recorded.
    AlreadyRecorded(Box<ArchiveBatch>),
}

/// The builder of the `audit.archived` event: gets the batch and how many rows were deleted.
pub type ArchivedEventBuilder = dyn Fn(&ArchiveBatch, u64) -> NewAuditEvent + Sync;

#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Every recorded batch, in seq order.
    async fn list_archive_batches(&self) -> Result<Vec<ArchiveBatch>, StoreError>;

    async fn get_archive_batch(&self, id: &str) -> Result<Option<ArchiveBatch>, StoreError>;

    /// The lowest seq still in the hot table (`None` when it is empty).
    async fn oldest_hot_seq(&self) -> Result<Option<u64>, StoreError>;

    /// The first seq recorded at or after `since` (`None` when every event is older).
    async fn first_seq_recorded_since(&self, since: Timestamp) -> Result<Option<u64>, StoreError>;

    /// Records a confirmed batch. It must start at seq 0 or right after the last recorded batch;
    /// a batch at an already-recorded start seq is not recorded ([`RecordBatchOutcome::AlreadyRecorded`]),
    /// any other start is a [`StoreError::Conflict`].
    async fn record_archive_batch(&self, batch: ArchiveBatch) -> Result<RecordBatchOutcome, StoreError>;

    /// Deletes the hot rows of a recorded batch — the only DELETE the triggers let through —
    /// after copying their leaf hashes to `merkle_nodes` (level 0), and appends the event
    /// `audit` builds in the same transaction. Idempotent: returns 0 (and records nothing) when
    /// the rows are already gone. Refuses ([`StoreError::Conflict`]) when only part of the
    /// range is hot or when rows were erased after the batch was made (the archive would still
    /// hold their personal data).
    async fn delete_archived_events(
        &self,
        batch_id: &str,
        audit: &ArchivedEventBuilder,
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Object keys of batches that later revisions replaced (the first objects and every
    /// revision but the current one): cold storage should no longer hold them.
    async fn superseded_object_keys(&self) -> Result<Vec<String>, StoreError>;
}

#[derive(sqlx::FromRow)]
pub(crate) struct ArchiveBatchRow {
    id: String,
    start_seq: i64,
    end_seq: i64,
    event_count: i64,
    erased_events: i64,
    bytes_compressed: i64,
    bytes_uncompressed: i64,
    data_sha256: String,
    manifest_sha256: String,
    data_key: String,
    manifest_key: String,
    archived_at_ms: i64,
    original_manifest_sha256: String,
    revision: i64,
}

/// The columns a batch is recorded with (in `archive_batches`).
pub(crate) const ARCHIVE_BATCH_COLUMNS: &str = "id, start_seq, end_seq, event_count, erased_events, \
    bytes_compressed, bytes_uncompressed, data_sha256, manifest_sha256, data_key, manifest_key, archived_at_ms";

/// The columns a batch is read with, from the `archive_batches_current` view (current objects).
pub(crate) const ARCHIVE_BATCH_SELECT: &str = "id, start_seq, end_seq, event_count, erased_events, \
    bytes_compressed, bytes_uncompressed, data_sha256, manifest_sha256, data_key, manifest_key, archived_at_ms, \
    original_manifest_sha256, revision";

impl From<ArchiveBatchRow> for ArchiveBatch {
    fn from(row: ArchiveBatchRow) -> ArchiveBatch {
        ArchiveBatch {
            id: row.id,
            archived_at: Timestamp::from_millis(row.archived_at_ms),
            start_seq: row.start_seq as u64,
            end_seq: row.end_seq as u64,
            event_count: row.event_count as u64,
            erased_events: row.erased_events as u64,
            bytes_compressed: row.bytes_compressed as u64,
            bytes_uncompressed: row.bytes_uncompressed as u64,
            data_sha256: row.data_sha256,
            manifest_sha256: row.manifest_sha256,
            data_key: row.data_key,
            manifest_key: row.manifest_key,
            original_manifest_sha256: row.original_manifest_sha256,
            revision: row.revision as u64,
        }
    }
}
