//! The Merkle frontier of the last append, kept between transactions.
//!
//! Reloading it costs O(log n) reads per transaction. The cache is used only when the chain
//! head read under the append lock has exactly the size *and head hash* it was stored with, so
//! a rolled-back transaction or another instance's appends simply make it miss.

use dezky_chain::merkle::Frontier;
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct FrontierCache {
    entry: Mutex<Option<(u64, String, Frontier)>>,
}

impl FrontierCache {
    pub(crate) fn take(&self, size: u64, head_hash: &str) -> Option<Frontier> {
        let mut entry = self.entry.lock().ok()?;
        match entry.take() {
            Some((cached_size, cached_hash, frontier)) if cached_size == size && cached_hash == head_hash => {
                Some(frontier)
            }
            _ => None,
        }
    }

    pub(crate) fn put(&self, size: u64, head_hash: String, frontier: Frontier) {
        if let Ok(mut entry) = self.entry.lock() {
            *entry = Some((size, head_hash, frontier));
        }
    }
}
