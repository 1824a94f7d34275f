//! The store conformance suite: every test runs against SQLite and PostgreSQL.

mod append;
mod append_only;
mod control;
mod dedup;
mod erased_bytes;
mod evidence;
mod invites;
mod maintenance;
mod merkle;
mod query;
mod speculation;
mod text_index;
mod tokens_and_users;
mod workers;

use dezky_core::{Action, ActorType, NewAuditEvent, Source, Timestamp};
use dezky_store::Store;
use dezky_testkit::TestDatabase;
use std::sync::Arc;

pub async fn open(db: &TestDatabase) -> Arc<dyn Store> {
    let store = dezky_store::open(&db.url).await.expect("open store");
    store.migrate().await.expect("migrate");
    store
}

pub fn event(action: &str, at_millis: i64) -> NewAuditEvent {
    NewAuditEvent::new(
        Timestamp::from_millis(at_millis),
        ActorType::User,
        Action::parse(action).unwrap(),
        Source::platform(),
    )
}

pub fn ingested(source: &str, external_id: &str) -> NewAuditEvent {
    let mut event = NewAuditEvent::new(
        Timestamp::from_millis(1_000),
        ActorType::Service,
        Action::parse(&format!("{source}.something_happened")).unwrap(),
        Source::parse(source).unwrap(),
    );
    event.external_id = Some(external_id.to_owned());
    event
}

/// Runs one raw SQL statement against the test database, outside the store.
pub async fn raw_execute(db: &TestDatabase, statement: &str) -> Result<u64, sqlx::Error> {
    match db.backend {
        dezky_testkit::TestBackend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await?;
            let result = sqlx::query(statement)
                .execute(&pool)
                .await
                .map(|done| done.rows_affected());
            pool.close().await;
            result
        }
        dezky_testkit::TestBackend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await?;
            let result = sqlx::query(statement)
                .execute(&pool)
                .await
                .map(|done| done.rows_affected());
            pool.close().await;
            result
        }
    }
}

/// Records seqs 0..=3 as archive batch "batch-0" (its digests and keys are placeholders: these
/// tests never read the archive) and deletes them from hot storage; returns how many went.
pub async fn archive_first_four(store: &Arc<dyn Store>) -> u64 {
    let batch = dezky_store::ArchiveBatch {
        id: "batch-0".into(),
        archived_at: Timestamp::from_millis(3_000),
        start_seq: 0,
        end_seq: 3,
        event_count: 4,
        erased_events: 0,
        bytes_compressed: 1,
        bytes_uncompressed: 1,
        data_sha256: "d".into(),
        manifest_sha256: "m".into(),
        data_key: "k/data".into(),
        manifest_key: "k/manifest".into(),
        original_manifest_sha256: "m".into(),
        revision: 0,
    };
    store.record_archive_batch(batch).await.unwrap();
    let archived = |_: &dezky_store::ArchiveBatch, _: u64| event("audit.archived", 3_000);
    store
        .delete_archived_events("batch-0", &archived, Timestamp::from_millis(3_000))
        .await
        .unwrap()
}
