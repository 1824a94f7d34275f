//! SQLite finds duplicates through compact keys (`audit_dedup`, dezky-store's `dedup_key`):
//! a database from before them adopts them when migrated, a key shared by two pairs is confirmed
//! against the event itself, and archived events take their keys with them.

use crate::{archive_first_four, ingested, open, raw_execute};
use dezky_core::Timestamp;
use dezky_store::AppendOutcome;
use dezky_store::dedup_key::dedup_key;
use dezky_testkit::{TestBackend, TestDatabase};

async fn scalar(db: &TestDatabase, select: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let value = sqlx::query_scalar(select).fetch_one(&pool).await.unwrap();
    pool.close().await;
    value
}

async fn appended(db: &TestDatabase, pairs: &[(&str, &str)]) -> Vec<AppendOutcome> {
    let store = open(db).await;
    let events = pairs.iter().map(|(source, id)| ingested(source, id)).collect();
    let receipt = store.append_events(events, Timestamp::from_millis(100)).await.unwrap();
    receipt.outcomes
}

/// More events than one round of the adoption's backfill reads, every third without an id.
const OLD_LOG_EVENTS: usize = 25_000;

#[tokio::test]
async fn a_database_from_before_compact_keys_adopts_them_when_migrated() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    for first in (0..OLD_LOG_EVENTS).step_by(5_000) {
        let events = (first..first + 5_000)
            .map(|index| match index % 3 {
                0 => crate::event("tenant.updated", 1_000),
                _ => ingested("portal", &format!("id-{index}")),
            })
            .collect();
        store.append_events(events, Timestamp::from_millis(100)).await.unwrap();
    }
    drop(store);
    // The state such a database is in once the migration that adds the table has run.
    raw_execute(&db, "DELETE FROM audit_dedup").await.unwrap();
    raw_execute(
        &db,
        "CREATE UNIQUE INDEX audit_events_source_external_id ON audit_events (source, external_id)",
    )
    .await
    .unwrap();

    let outcomes = appended(&db, &[("portal", "id-1"), ("portal", "id-24998"), ("portal", "new")]).await;

    let head = OLD_LOG_EVENTS as u64;
    assert_eq!(
        outcomes,
        vec![
            AppendOutcome::Duplicate,
            AppendOutcome::Duplicate,
            AppendOutcome::Appended { seq: head }
        ]
    );
    let legacy = "SELECT count(*) FROM sqlite_master WHERE name = 'audit_events_source_external_id'";
    assert_eq!(scalar(&db, legacy).await, 0);
    let with_ids = "SELECT count(*) FROM audit_events WHERE external_id IS NOT NULL";
    assert_eq!(scalar(&db, with_ids).await, 16_666 + 1);
    assert_eq!(scalar(&db, "SELECT count(*) FROM audit_dedup").await, 16_666 + 1);
    let key_of = format!(
        "SELECT seq FROM audit_dedup WHERE key = {}",
        dedup_key("portal", "id-24998")
    );
    assert_eq!(scalar(&db, &key_of).await, 24_998);
    let key_index = "SELECT count(*) FROM sqlite_master WHERE name = 'audit_dedup_key'";
    assert_eq!(scalar(&db, key_index).await, 1);
}

#[tokio::test]
async fn a_key_shared_by_two_pairs_is_not_taken_for_a_duplicate() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    appended(&db, &[("portal", "a")]).await;
    // As if ("portal", "a") and ("portal", "b") had the same 64-bit key.
    let collide = format!(
        "UPDATE audit_dedup SET key = {} WHERE seq = 0",
        dedup_key("portal", "b")
    );
    assert_eq!(raw_execute(&db, &collide).await.unwrap(), 1);

    assert_eq!(
        appended(&db, &[("portal", "b")]).await,
        vec![AppendOutcome::Appended { seq: 1 }]
    );
    // Now two stored events share the key; the lookup still finds the one that matches.
    assert_eq!(appended(&db, &[("portal", "b")]).await, vec![AppendOutcome::Duplicate]);
    let keys_of_b = format!(
        "SELECT count(*) FROM audit_dedup WHERE key = {}",
        dedup_key("portal", "b")
    );
    assert_eq!(scalar(&db, &keys_of_b).await, 2);
}

#[tokio::test]
async fn archived_events_take_their_keys_with_them() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let ids: Vec<String> = (0..6).map(|index| format!("id-{index}")).collect();
    let pairs: Vec<(&str, &str)> = ids.iter().map(|id| ("portal", id.as_str())).collect();
    appended(&db, &pairs).await;
    assert_eq!(scalar(&db, "SELECT count(*) FROM audit_dedup").await, 6);

    assert_eq!(archive_first_four(&open(&db).await).await, 4);

    assert_eq!(scalar(&db, "SELECT min(seq) FROM audit_dedup").await, 4);
    assert_eq!(scalar(&db, "SELECT count(*) FROM audit_dedup").await, 2);
    let outcomes = appended(&db, &[("portal", "id-5")]).await;
    assert_eq!(outcomes, vec![AppendOutcome::Duplicate]);
}
