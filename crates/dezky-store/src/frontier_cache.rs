//! The chain's tip after the last append this process computed, kept between transactions.
//!
//! Reloading the Merkle frontier costs O(log n) reads per transaction. An append under the lock
//! uses the cached frontier only when the chain head it read has exactly the size *and head
//! hash* the tip was stored with, so a rolled-back transaction or another instance's appends
//! simply make it miss. A speculative append on PostgreSQL (`postgres::speculation`) starts
//! from the tip before the append that stored it has committed, and checks under the lock that
//! the head is then exactly the tip.

use dezky_chain::merkle::Frontier;
use dezky_core::NewAuditEvent;
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// The chain head row as an append leaves it, and the Merkle frontier at that size.
#[derive(Clone, Debug)]
pub(crate) struct Tip {
    pub size: u64,
    pub head_hash: String,
    pub last_recorded_ms: i64,
    pub frontier: Frontier,
    /// The (source, externalId) pairs the append that left this tip wrote, as `key_digest`s:
    /// until it commits they are not in the database, and a speculative successor must not
    /// write any of them (it would wait for that append, which may be waiting for it).
    pub keys: Arc<HashSet<u64>>,
}

impl Tip {
    pub(crate) fn holds_key_of(&self, event: &NewAuditEvent) -> bool {
        event
            .external_id
            .as_deref()
            .is_some_and(|id| self.keys.contains(&key_digest(event.source.as_str(), id)))
    }
}

/// A digest of a dedup key. Two keys may share one; then `holds_key_of` errs towards "held",
/// which only costs the speculation, never an event.
pub(crate) fn key_digest(source: &str, external_id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (source, external_id).hash(&mut hasher);
    hasher.finish()
}

#[derive(Default)]
pub(crate) struct FrontierCache {
    entry: Mutex<Option<Tip>>,
}

impl FrontierCache {
    /// The frontier, if the tip is exactly this head; the tip is used up either way.
    pub(crate) fn take(&self, size: u64, head_hash: &str) -> Option<Frontier> {
        let mut entry = self.entry.lock().ok()?;
        match entry.take() {
            Some(tip) if tip.size == size && tip.head_hash == head_hash => Some(tip.frontier),
            _ => None,
        }
    }

    /// The tip, left in place (for a speculative append).
    pub(crate) fn peek(&self) -> Option<Tip> {
        self.entry.lock().ok()?.clone()
    }

    pub(crate) fn put(&self, tip: Tip) {
        if let Ok(mut entry) = self.entry.lock() {
            *entry = Some(tip);
        }
    }
}
