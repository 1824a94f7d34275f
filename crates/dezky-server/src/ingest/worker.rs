//! The loop every polling ingest worker runs: on each tick, take (or renew) the worker's lease
//! in the database, and only the holder works. With several instances on one database exactly
//! one of them polls a source; if it dies, another takes over when the lease expires.

use crate::clock::Clock;
use crate::ingest::Ingest;
use dezky_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// After a wake-up, how long the worker lets a burst of writes settle before it ticks: the
/// writes of that burst are read in one tick (one lease renewal, one transaction).
const WAKE_SETTLE: Duration = Duration::from_millis(100);

/// A lease outlives a few missed ticks, so a slow tick does not hand the source to another
/// instance, and a dead holder is replaced within about a minute past that.
fn lease_ttl(interval: Duration) -> Duration {
    interval * 3 + Duration::from_secs(30)
}

/// The wait after `failures` failed ticks in a row (0 after a good one): the interval, doubled
/// per failure after the first, at most `MAX_BACKOFF` (a source that is down is not hammered;
/// one that recovers is back soon).
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.saturating_sub(1).min(10);
    (interval * factor).min(MAX_BACKOFF).max(interval)
}

const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);

pub struct LeasedWorker {
    pub name: &'static str,
    pub holder: String,
    pub interval: Duration,
    /// Ticks early when notified (the oCIS tail's inotify watch); the interval still runs.
    pub wake: Option<Arc<Notify>>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub ingest: Arc<Ingest>,
}

impl LeasedWorker {
    /// Runs `tick` every `interval`, and soon after each `wake` notification, while this
    /// instance holds the lease, until `shutdown`. After failed ticks (or a failed lease) the
    /// wait grows per [`backoff`] and wake-ups are ignored, so a source that is down is not
    /// hammered; the first good tick returns to the interval.
    pub async fn run<F, Fut>(self, mut tick: F, shutdown: impl Future<Output = ()>)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let ttl_ms = lease_ttl(self.interval).as_millis() as i64;
        let mut failures = 0u32;
        let mut next = tokio::time::Instant::now(); // the first tick at once
        tokio::pin!(shutdown);
        loop {
            let woken = async {
                match (&self.wake, failures) {
                    (Some(wake), 0) => wake.notified().await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep_until(next) => {}
                () = woken => tokio::time::sleep(WAKE_SETTLE).await,
            }
            let succeeded = match self
                .store
                .try_lease(self.name, &self.holder, ttl_ms, self.clock.now())
                .await
            {
                Ok(true) => match tick().await {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::warn!(worker = self.name, error = format!("{error:#}"), "ingest tick failed");
                        self.ingest
                            .status
                            .record_error(self.name, self.clock.now(), format!("{error:#}"));
                        false
                    }
                },
                Ok(false) => {
                    self.ingest.status.set_detail(
                        self.name,
                        Some("standby: another instance holds this worker's lease".into()),
                    );
                    true
                }
                Err(error) => {
                    tracing::warn!(worker = self.name, %error, "cannot take the worker lease");
                    self.ingest.status.record_error(self.name, self.clock.now(), error);
                    false
                }
            };
            failures = if succeeded { 0 } else { failures.saturating_add(1) };
            // Measured from the end of this tick: a slow tick never queues the next at once.
            next = tokio::time::Instant::now() + backoff(self.interval, failures);
        }
        let _ = self.store.release_lease(self.name, &self.holder).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_double_the_wait_up_to_a_ceiling() {
        let interval = Duration::from_secs(60);
        assert_eq!(backoff(interval, 1), Duration::from_secs(60));
        assert_eq!(backoff(interval, 2), Duration::from_secs(120));
        assert_eq!(backoff(interval, 4), Duration::from_secs(480));
        assert_eq!(backoff(interval, 30), MAX_BACKOFF);
        assert_eq!(
            backoff(Duration::from_secs(3600), 3),
            Duration::from_secs(3600),
            "never below the interval"
        );
    }
}
