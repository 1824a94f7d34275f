//! The log the query benchmark reads: grown through the real store (big batches through the
//! sequencer, so every event gets its hashes, Merkle nodes and index entries exactly as in
//! production), with `at` spread over the last 90 days in `seq` order, as a long-running
//! platform's log would be.

use crate::events::{Mix, event};
use dezky_core::Timestamp;
use dezky_store::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Events per `append_events` call while loading (the sequencer groups up to 10,000).
pub const LOAD_BATCH: u64 = 5_000;
/// Concurrent loaders: one builds the next batch while the other's commits.
const LOADERS: usize = 2;
const SPAN_MS: i64 = 90 * 24 * 3_600 * 1_000;

/// When event `index` of a log that will hold `final_size` events happened: evenly spread over
/// the 90 days before `end`, minus up to ten minutes (late deliveries).
#[derive(Clone, Copy, Debug)]
pub struct Timeline {
    pub end: Timestamp,
    pub final_size: u64,
}

impl Timeline {
    pub fn at(&self, index: u64) -> Timestamp {
        let step = SPAN_MS as f64 / self.final_size.max(1) as f64;
        let jitter = Mix::new(index ^ 0x5eed).below(600_000) as i64;
        Timestamp::from_millis(self.end.as_millis() - SPAN_MS + (index as f64 * step) as i64 - jitter)
    }
}

/// Appends workload events `from..to` and returns the rate (events/s).
pub async fn grow(store: Arc<dyn Store>, from: u64, to: u64, timeline: Timeline) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicU64::new(from));
    let started = Instant::now();
    let mut loaders = vec![];
    for _ in 0..LOADERS {
        let (store, next) = (store.clone(), next.clone());
        loaders.push(tokio::spawn(async move {
            loop {
                let start = next.fetch_add(LOAD_BATCH, Ordering::Relaxed);
                if start >= to {
                    return anyhow::Ok(());
                }
                let end = (start + LOAD_BATCH).min(to);
                let events = (start..end).map(|index| event(index, timeline.at(index))).collect();
                let now = dezky_server::clock::Clock::now(&dezky_server::clock::SystemClock);
                let receipt = store.append_events(events, now).await?;
                anyhow::ensure!(
                    receipt.duplicates() == 0,
                    "the workload produced duplicate external ids"
                );
            }
        }));
    }
    for loader in loaders {
        loader.await??;
    }
    Ok((to - from) as f64 / started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_spans_ninety_days_in_order_up_to_the_jitter() {
        let timeline = Timeline {
            end: Timestamp::from_millis(10_000_000_000_000),
            final_size: 1_000,
        };
        let first = timeline.at(0).as_millis();
        let last = timeline.at(999).as_millis();
        assert!(first <= timeline.end.as_millis() - SPAN_MS);
        assert!(first > timeline.end.as_millis() - SPAN_MS - 600_000);
        assert!(last < timeline.end.as_millis());
        assert!(timeline.at(500).as_millis() - 600_000 < timeline.at(501).as_millis());
    }
}
