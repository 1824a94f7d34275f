//! What background workers keep in the database: ingest cursors that commit atomically with the
//! events they cover, and leases that let one instance of several run a worker at a time.

use crate::error::StoreError;
use crate::records::AppendReceipt;
use async_trait::async_trait;
use dezky_core::{NewAuditEvent, Timestamp};

/// A source's position, written in the same transaction as the events read up to it: a crash can
/// neither skip events nor leave the cursor behind its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CursorWrite {
    /// The reader's name, e.g. `ocis-audit` or `authentik`.
    pub name: String,
    /// Opaque to the store (each reader serialises its own position).
    pub value: String,
}

#[async_trait]
pub trait WorkerStore: Send + Sync {
    /// Appends `events` (deduplicated like `append_events`) and stores `cursor`, in one
    /// transaction. Bypasses the group-commit sequencer: each reader commits its own batches.
    async fn append_with_cursor(
        &self,
        events: Vec<NewAuditEvent>,
        cursor: CursorWrite,
        now: Timestamp,
    ) -> Result<AppendReceipt, StoreError>;

    /// The stored cursor of a reader, if it has committed one.
    async fn cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl_ms`. True when `holder`
    /// holds it afterwards: it was free, expired, or already `holder`'s.
    async fn try_lease(&self, name: &str, holder: &str, ttl_ms: i64, now: Timestamp) -> Result<bool, StoreError>;

    /// Gives the lease up early (on shutdown) so another instance need not wait for it to expire.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
