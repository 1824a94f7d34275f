//! The leased worker loop against a real store: a failing source is retried with a growing
//! wait (not every interval), a recovered one returns to the interval, and a wake-up is ignored
//! while the source is failing. Margins are wide: a slow machine only makes fewer ticks.

use dezky_server::clock::SystemClock;
use dezky_server::ingest::Ingest;
use dezky_server::ingest::config::IngestConfig;
use dezky_server::ingest::worker::LeasedWorker;
use dezky_testkit::{TestBackend, TestDatabase};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

const INTERVAL: Duration = Duration::from_millis(50);
const RUN_FOR: Duration = Duration::from_millis(1_200);

/// Runs a worker for `RUN_FOR` whose tick fails while `fail(tick number)`; returns the ticks.
async fn ticks_while(fail: fn(u32) -> bool, wake: Option<Arc<Notify>>) -> u32 {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = dezky_store::open(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    let worker = LeasedWorker {
        name: "test-worker",
        holder: "this-instance".into(),
        interval: INTERVAL,
        wake,
        store,
        clock: Arc::new(SystemClock),
        ingest: Arc::new(Ingest::new(IngestConfig::from_lookup(&|_| None).unwrap())),
    };
    let ticks = Arc::new(AtomicU32::new(0));
    let counter = ticks.clone();
    let tick = move || {
        let number = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if fail(number) {
                anyhow::bail!("source down (tick {number})")
            }
            Ok(())
        }
    };
    worker.run(tick, tokio::time::sleep(RUN_FOR)).await;
    ticks.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_failing_source_is_retried_with_a_growing_wait() {
    // Ticks at 0, 50, 150, 350 and 750 ms; the next would be at 1,550 ms.
    let failing = ticks_while(|_| true, None).await;
    assert!(
        (2..=6).contains(&failing),
        "{failing} ticks in 1.2 s of a failing source"
    );
    // The same loop, healthy: about one tick per 50 ms.
    let healthy = ticks_while(|_| false, None).await;
    assert!(healthy >= 10, "{healthy} ticks in 1.2 s of a healthy source");
}

#[tokio::test]
async fn a_recovered_source_returns_to_the_interval() {
    let recovered = ticks_while(|number| number < 3, None).await;
    assert!(recovered >= 8, "{recovered} ticks after three failures");
}

#[tokio::test]
async fn wake_ups_do_not_bypass_the_backoff() {
    let wake = Arc::new(Notify::new());
    let waker = wake.clone();
    let nagging = tokio::spawn(async move {
        loop {
            waker.notify_one();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let failing = ticks_while(|_| true, Some(wake)).await;
    nagging.abort();
    assert!(
        (2..=6).contains(&failing),
        "{failing} ticks of a failing source woken every 10 ms"
    );
}
