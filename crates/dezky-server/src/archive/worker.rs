//! The daily archive worker: once a day, at ARCHIVE_RUN_HOUR_UTC, when ARCHIVE_ENABLED=true.
//!
//! Guarded twice against running twice a day: this process remembers the day it ran, and a run
//! is skipped when any batch was already archived that UTC day (by this instance before a
//! restart, or by another instance on the same database). Two instances that start the same
//! minute are still safe: the run itself is serialised by the database (see `run`).

use crate::archive::run::Archiver;
use crate::clock::Clock;
use dezky_core::Timestamp;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

const MILLIS_PER_DAY: i64 = 86_400_000;
const MILLIS_PER_HOUR: i64 = 3_600_000;

/// Days since 1970-01-01 (UTC).
pub fn utc_day(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(MILLIS_PER_DAY)
}

/// Whether a daily run is due now: it is the run hour (or later that day, so a process started
/// after the hour still runs), and no run happened today here or, judging by the newest batch,
/// anywhere.
pub fn run_is_due(
    now: Timestamp,
    run_hour_utc: u32,
    last_run_day: Option<i64>,
    newest_batch: Option<Timestamp>,
) -> bool {
    let today = utc_day(now);
    let hour = now.as_millis().rem_euclid(MILLIS_PER_DAY) / MILLIS_PER_HOUR;
    hour >= i64::from(run_hour_utc) && last_run_day != Some(today) && newest_batch.map(utc_day) != Some(today)
}

/// Runs until `shutdown` completes, checking once a minute.
pub async fn run_daily(
    archiver: Arc<Archiver>,
    clock: Arc<dyn Clock>,
    run_hour_utc: u32,
    shutdown: impl Future<Output = ()>,
) {
    let mut last_run_day = None;
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        let newest_batch = match archiver.newest_batch_time().await {
            Ok(newest) => newest,
            Err(error) => {
                tracing::warn!(%error, "archive worker cannot read the recorded batches");
                continue;
            }
        };
        let now = clock.now();
        if !run_is_due(now, run_hour_utc, last_run_day, newest_batch) {
            continue;
        }
        last_run_day = Some(utc_day(now));
        match archiver.run().await {
            Ok(summary) => tracing::info!(
                batches = summary.batches,
                events = summary.events,
                "daily archive run finished"
            ),
            Err(failure) => tracing::error!(
                error = %failure.error, batches = failure.summary.batches, events = failure.summary.events,
                "daily archive run failed; the events not archived stay in hot storage"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn runs_from_the_configured_hour_once_a_day() {
        assert!(!run_is_due(at("2026-11-25T02:59:59.999Z"), 3, None, None));
        assert!(run_is_due(at("2026-11-25T03:00:00.000Z"), 3, None, None));
        assert!(run_is_due(at("2026-11-25T17:30:00.000Z"), 3, None, None));
        assert!(run_is_due(at("2026-11-25T00:00:00.000Z"), 0, None, None));
    }

    #[test]
    fn never_twice_the_same_utc_day() {
        let now = at("2026-11-25T03:01:00.000Z");
        assert!(!run_is_due(now, 3, Some(utc_day(now)), None));
        assert!(run_is_due(now, 3, Some(utc_day(now) - 1), None));
        // Another instance (or this one before a restart) archived today.
        assert!(!run_is_due(now, 3, None, Some(at("2026-11-25T03:00:10.000Z"))));
        assert!(run_is_due(now, 3, None, Some(at("2026-11-24T03:00:10.000Z"))));
    }

    #[test]
    fn days_are_utc_days() {
        assert_eq!(utc_day(at("1970-01-01T23:59:59.999Z")), 0);
        assert_eq!(utc_day(at("1970-01-02T00:00:00.000Z")), 1);
    }
}
