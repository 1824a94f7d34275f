//! SIGKILL `dezky serve` in the middle of archive runs, again and again: whatever step of a
//! batch the kill lands on (upload, confirm, record, delete, or inside a transaction), every
//! event stays in exactly one place — hot, or in a recorded batch — and after a restart the
//! next run finishes the job and verification across the tiers is green.
//!
//! The deterministic stop after each step is `dezky-server`'s
//! `a_run_stopped_after_any_step_loses_and_duplicates_nothing`; this test adds real process
//! death at points nobody chose.

use crate::support::{Server, filled_log_and_operator_token, folder_cold, s3_cold};
use dezky_testkit::{TestBackend, TestDatabase, temp_folder};
use serde_json::Value;
use std::time::{Duration, Instant};

const EVENTS: u64 = 20_000;
const BATCH_EVENTS: &str = "500";
const KILLS: u64 = 4;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every seq below the head is in exactly one tier: the batches tile 0..=highest, hot rows run
/// contiguously from at most highest + 1 to the head (rows of a batch recorded but not yet
/// deleted are counted once, in the batch). Returns the number of recorded batches.
async fn assert_nothing_lost_or_duplicated(database_url: &str) -> usize {
    let store = dezky_store::open(database_url).await.unwrap();
    let size = store.next_seq().await.unwrap();
    let batches = store.list_archive_batches().await.unwrap();
    let mut next = 0;
    for batch in &batches {
        assert_eq!(batch.start_seq, next, "batches are contiguous from seq 0");
        next = batch.end_seq + 1;
    }
    let oldest_hot = store.oldest_hot_seq().await.unwrap().unwrap_or(size);
    assert!(oldest_hot <= next, "seqs {next}..{oldest_hot} are in neither tier");
    let hot = store
        .events_in_order(oldest_hot.checked_sub(1), u32::MAX)
        .await
        .unwrap();
    assert_eq!(
        hot.len() as u64,
        size - oldest_hot,
        "hot rows are contiguous up to the head"
    );
    assert!(hot.iter().zip(oldest_hot..).all(|(event, seq)| event.seq == seq));
    batches.len()
}

async fn batches_listed(client: &reqwest::Client, base: &str, token: &str) -> usize {
    let body: Value = client
        .get(format!("{base}/api/v1/audit/archives"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["batches"].as_array().unwrap().len()
}

async fn archive_runs_survive_repeated_sigkill(database: TestDatabase, cold: Vec<(String, String)>) {
    let data_dir = temp_folder("crash-archive");
    let mut environment: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", database.url.as_str()),
        ("AUDIT_HOT_RETENTION", "0s"),
        ("AUDIT_ARCHIVE_BATCH_EVENTS", BATCH_EVENTS),
        ("RUST_LOG", "error"),
    ];
    environment.extend(cold.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    let token = filled_log_and_operator_token(&environment, &database.url, EVENTS).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();

    let mut interrupted = 0;
    for kill in 0..KILLS {
        // Each start signs a checkpoint covering the log, so every run has work to do.
        let server = Server::start_on(&environment, &data_dir, &listen);
        let before = batches_listed(&client, &base, &token).await;
        let request = tokio::spawn(
            client
                .post(format!("{base}/api/v1/audit/archive/run"))
                .bearer_auth(token.clone())
                .send(),
        );
        // Once this run has recorded a batch, it is somewhere in the next one; a growing
        // pause moves the kill to other steps.
        let deadline = Instant::now() + Duration::from_secs(120);
        while batches_listed(&client, &base, &token).await <= before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(17 * kill)).await;
        server.kill();
        // No answer: the run was cut off, not finished.
        if request.await.unwrap().is_err() {
            interrupted += 1;
        }
        let recorded = assert_nothing_lost_or_duplicated(&database.url).await;
        assert!(recorded > before, "kill {kill}: the run recorded a batch before it");
    }
    assert!(interrupted > 0, "at least one kill cut a run short");

    // After a restart the next run finishes what the killed ones left, and both tiers verify.
    let server = Server::start_on(&environment, &data_dir, &listen);
    let result: Value = client
        .post(format!("{base}/api/v1/audit/archive/run"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(result["ok"], true, "{result}");
    let report: Value = client
        .get(format!("{base}/api/v1/audit/verify"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(server);
    assert_eq!(report["ok"], true, "{report}");
    let store = dezky_store::open(&database.url).await.unwrap();
    assert_eq!(report["verifiedEvents"], store.next_seq().await.unwrap(), "{report}");
    assert!(report["highestArchivedSeq"].as_u64().unwrap() >= EVENTS, "{report}");
    assert_nothing_lost_or_duplicated(&database.url).await;
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_with_a_folder() {
    let (settings, cold) = folder_cold();
    let database = TestDatabase::create(TestBackend::Sqlite).await;
    archive_runs_survive_repeated_sigkill(database, settings).await;
    let _ = std::fs::remove_dir_all(&cold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_s3() {
    let database = TestDatabase::create(TestBackend::Postgres).await;
    archive_runs_survive_repeated_sigkill(database, s3_cold().await).await;
}
