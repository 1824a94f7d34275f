//! The daily archive worker of `dezky serve`: with `ARCHIVE_ENABLED=true` it archives on its
//! own, without a forced run, from `ARCHIVE_RUN_HOUR_UTC` on (0 here, so it is due whenever the
//! test runs); with two instances on one PostgreSQL database both workers start at once and
//! every range is still recorded exactly once. (When a run is due is tested in
//! `archive::worker`; this is the wiring.)

use crate::support::{Server, filled_log_and_operator_token, folder_cold, s3_cold, temp_database_and_key};
use dezky_testkit::{TestBackend, temp_folder};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const EVENTS: u64 = 2_000;

async fn get(client: &reqwest::Client, base: &str, path: &str, token: &str) -> Value {
    let response = client
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}: {}", response.status());
    response.json().await.unwrap()
}

async fn the_daily_worker_archives_on_its_own(backend: TestBackend, cold: Vec<(String, String)>, instances: usize) {
    let (database, key_file, _) = temp_database_and_key(backend).await;
    let key_file = key_file.display().to_string();
    let mut environment: Vec<(&str, &str)> = vec![
        ("DATABASE_URL", database.url.as_str()),
        ("AUDIT_SIGNING_KEY_FILE", key_file.as_str()),
        ("AUDIT_HOT_RETENTION", "0s"),
        ("AUDIT_ARCHIVE_BATCH_EVENTS", "300"),
        ("ARCHIVE_RUN_HOUR_UTC", "0"),
        ("RUST_LOG", "error"),
    ];
    environment.extend(cold.iter().map(|(name, value)| (name.as_str(), value.as_str())));
    let token = filled_log_and_operator_token(&environment, &database.url, EVENTS).await;
    let client = reqwest::Client::new();

    // A server without ARCHIVE_ENABLED signs a checkpoint: archiving needs one covering the
    // events, and the workers below must not depend on their own start-up checkpoint.
    let data_dirs: Vec<_> = (0..instances).map(|_| temp_folder("archive-daily")).collect();
    let disabled = Server::start(&environment, &data_dirs[0]);
    let response = client
        .post(format!("{}/api/v1/audit/checkpoint", disabled.base))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let size = response.json::<Value>().await.unwrap()["treeSize"].as_u64().unwrap();
    assert!(size > EVENTS);
    drop(disabled);

    environment.push(("ARCHIVE_ENABLED", "true"));
    let servers: Vec<Server> = data_dirs
        .iter()
        .map(|data_dir| Server::start(&environment, data_dir))
        .collect();
    let base = servers[0].base.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut archived = 0;
    while archived < size && Instant::now() < deadline {
        let body = get(&client, &base, "/api/v1/audit/archives", &token).await;
        archived = body["batches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|batch| batch["endSeq"].as_u64().unwrap() + 1)
            .max()
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // (A second instance started later may also archive what its start-up checkpoint covers.)
    assert!(archived >= size, "the worker archived everything the checkpoint covers");
    drop(servers);

    // Each range once, tiling the log from seq 0; the tiers verify.
    let store = dezky_store::open(&database.url).await.unwrap();
    let batches = store.list_archive_batches().await.unwrap();
    let mut next = 0;
    for batch in &batches {
        assert_eq!(batch.start_seq, next, "{batches:?}");
        next = batch.end_seq + 1;
    }
    assert!(next >= size, "{batches:?}");
    let server = Server::start(&environment, &data_dirs[0]);
    let report = get(&client, &server.base, "/api/v1/audit/verify", &token).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["highestArchivedSeq"], next - 1, "{report}");
    drop(server);
    for data_dir in data_dirs {
        let _ = std::fs::remove_dir_all(data_dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_with_a_folder() {
    let (settings, cold) = folder_cold();
    the_daily_worker_archives_on_its_own(TestBackend::Sqlite, settings, 1).await;
    let _ = std::fs::remove_dir_all(&cold);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_with_s3_and_two_instances() {
    the_daily_worker_archives_on_its_own(TestBackend::Postgres, s3_cold().await, 2).await;
}
