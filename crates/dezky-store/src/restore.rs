//! Restored archive batches: a read-only copy of a batch's events in the database, so reads
//! with `includeArchived=true` use SQL instead of fetching the batch from cold storage.
//!
//! The copy is derived data, never evidence: verification reads the archive objects. Rows get in
//! and out only through [`RestoreStore::restore_archive_batch`] and
//! [`RestoreStore::drop_restored_batch`], which open the restore gate inside their own
//! transaction (triggers reject every other INSERT, UPDATE and DELETE) and append their audit
//! event in that same transaction.

use crate::error::StoreError;
use async_trait::async_trait;
use dezky_core::{AuditEvent, AuditQuery, NewAuditEvent, Timestamp};

/// A batch with a restored copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredBatch {
    pub batch_id: String,
    pub restored_at: Timestamp,
    pub event_count: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RestoreOutcome {
    Restored,
    UnknownBatch,
    AlreadyRestored,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DropRestoredOutcome {
    /// The copy is gone; this many rows were removed.
    Dropped(u64),
    UnknownBatch,
    NotRestored,
}

#[async_trait]
pub trait RestoreStore: Send + Sync {
    /// Every restored batch, by batch id.
    async fn list_restored_batches(&self) -> Result<Vec<RestoredBatch>, StoreError>;

    /// Copies `events` (exactly the batch's range, read back from cold storage and checked by
    /// the caller) into the restored table and records `audit` in the same transaction.
    /// Refuses events that are not the recorded batch's seqs ([`StoreError::Conflict`]).
    async fn restore_archive_batch(
        &self,
        batch_id: &str,
        events: &[AuditEvent],
        audit: NewAuditEvent,
        now: Timestamp,
    ) -> Result<RestoreOutcome, StoreError>;

    /// Removes a batch's restored copy and records `audit` in the same transaction.
    async fn drop_restored_batch(
        &self,
        batch_id: &str,
        audit: NewAuditEvent,
        now: Timestamp,
    ) -> Result<DropRestoredOutcome, StoreError>;

    /// Restored events matching the query (filters, `before`, `min_seq`), newest first, at most
    /// `limit`.
    async fn query_restored_events(&self, query: &AuditQuery, limit: u32) -> Result<Vec<AuditEvent>, StoreError>;
}
