//! SQLite's free-text index is filled once per append transaction (not by a row trigger): every
//! way of appending must leave it holding exactly the rows of audit_events (the grouped
//! appends, the ingest path, and mutations that append inside their own transaction). FTS5's
//! `integrity-check` with rank 1 compares the index with its content table. PostgreSQL merges its
//! GIN pending list after each group commit.

use crate::{event, ingested, open, raw_execute};
use dezky_core::query::{QueryPurpose, RawAuditQuery};
use dezky_core::{ApiTokenSecret, AuditQuery, Timestamp, TokenScope};
use dezky_store::{CursorWrite, NewApiToken, Store};
use dezky_testkit::{TestBackend, TestDatabase};
use std::sync::Arc;

const INTEGRITY_CHECK: &str = "INSERT INTO audit_events_text (audit_events_text, rank) VALUES ('integrity-check', 1)";

fn named(action: &str, name: &str) -> dezky_core::NewAuditEvent {
    let mut event = event(action, 1_000);
    event.resource_name = Some(name.to_owned());
    event
}

async fn matching(store: &Arc<dyn Store>, text: &str) -> Vec<u64> {
    let raw = RawAuditQuery {
        q: Some(text.to_owned()),
        ..RawAuditQuery::default()
    };
    let query = AuditQuery::parse(&raw, QueryPurpose::Page).unwrap();
    let page = store.query_events(&query).await.unwrap();
    page.events.iter().map(|event| event.seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_append_path_indexes_exactly_its_rows() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    raw_execute(&db, INTEGRITY_CHECK)
        .await
        .expect("an empty index is consistent");

    // Concurrent calls, gathered into group commits by the sequencer; one duplicate.
    let appends = (0..8).map(|writer| {
        let store = store.clone();
        tokio::spawn(async move {
            let events = (0..25)
                .map(|index| named("file.uploaded", &format!("Bericht-{writer}-{index}.pdf")))
                .collect();
            store
                .append_events(events, Timestamp::from_millis(2_000))
                .await
                .unwrap()
        })
    });
    for append in appends {
        append.await.unwrap();
    }
    store
        .append_events(
            vec![ingested("stalwart", "x"), ingested("stalwart", "x")],
            Timestamp::from_millis(3_000),
        )
        .await
        .unwrap();
    // The ingest path, which bypasses the sequencer.
    let cursor = CursorWrite {
        name: "ocis-audit".into(),
        value: "offset=1".into(),
    };
    store
        .append_with_cursor(
            vec![named("ocis.file_created", "Angebot-Zebra.odt")],
            cursor,
            Timestamp::from_millis(4_000),
        )
        .await
        .unwrap();
    // A mutation that records its own audit event in its transaction (`append_in`).
    let token = NewApiToken {
        id: "tok_1".into(),
        name: "ingest".into(),
        hash: ApiTokenSecret::from_random_bytes([7; 32]).hash(),
        scope: TokenScope::Operator,
        created_by: "cli".into(),
    };
    store
        .create_api_token(
            token,
            named("api_token.created", "Token-Quokka"),
            Timestamp::from_millis(5_000),
        )
        .await
        .unwrap();
    assert_eq!(store.next_seq().await.unwrap(), 203);

    raw_execute(&db, INTEGRITY_CHECK)
        .await
        .expect("index matches audit_events");
    assert_eq!(
        matching(&store, "Bericht-7-24").await.len(),
        1,
        "a grouped append is searchable at once"
    );
    assert_eq!(
        matching(&store, "Zebra").await,
        vec![201],
        "an ingested append is searchable at once"
    );
    assert_eq!(
        matching(&store, "Quokka").await,
        vec![202],
        "a mutation's event is searchable at once"
    );

    // The check is real: a row written behind the store's back is not in the index.
    raw_execute(
        &db,
        "INSERT INTO audit_events (seq, at_ms, recorded_at_ms, actor_type, action, outcome, source, \
         resource_name, prev_hash, hash, leaf_hash, personal_commitment) \
         VALUES (203, 1, 1, 'user', 'forged.row', 'success', 'platform', 'Forged', 'x', 'x', 'x', 'x')",
    )
    .await
    .unwrap();
    let error = raw_execute(&db, INTEGRITY_CHECK)
        .await
        .expect_err("a row missing from the index");
    assert!(
        error.to_string().contains("(code: 267)"),
        "SQLITE_CORRUPT_VTAB expected: {error}"
    );
}

/// The GIN index's pending entries left by an append.
async fn pending_text_index_pages(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT pending_pages::bigint FROM pgstatginindex('audit_events_text'::regclass)")
        .fetch_one(pool)
        .await
        .expect("read the GIN index's statistics")
}

/// PostgreSQL: a group commit's entries stay searchable at once (in the GIN pending list), and
/// the store then merges the list into the index on another connection, so the next append
/// does not have to (the migration raised the limit so that a group cannot overflow it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_merges_the_text_index_beside_the_appends() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let store = open(&db).await;
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    for statement in [
        "CREATE EXTENSION IF NOT EXISTS pgstattuple",
        // Autovacuum's analyze would also empty the pending list, at its own moment.
        "ALTER TABLE audit_events SET (autovacuum_enabled = off)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let limit: Option<Vec<String>> =
        sqlx::query_scalar("SELECT reloptions FROM pg_class WHERE relname = 'audit_events_text'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(limit, Some(vec!["gin_pending_list_limit=16384".to_owned()]));

    let rechnungen = |range: std::ops::Range<usize>| {
        range
            .map(|index| named("file.uploaded", &format!("Rechnung-{index}.pdf")))
            .collect::<Vec<_>>()
    };
    // A small append leaves its entries pending (searchable there): a merge follows only once
    // 1,024 events have accumulated since the last one.
    store
        .append_events(rechnungen(0..100), Timestamp::from_millis(2_000))
        .await
        .unwrap();
    assert_eq!(matching(&store, "Rechnung-99.pdf").await.len(), 1, "searchable at once");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        pending_text_index_pages(&pool).await > 0,
        "a small append leaves its entries pending"
    );

    store
        .append_events(rechnungen(100..1_100), Timestamp::from_millis(3_000))
        .await
        .unwrap();
    assert_eq!(matching(&store, "Rechnung-1099").await.len(), 1, "searchable at once");
    assert_eq!(
        pending_after_merge(&pool).await,
        0,
        "the group commit's merge emptied the pending list"
    );
    assert_eq!(
        matching(&store, "Rechnung-7.pdf").await.len(),
        1,
        "still found after the merge"
    );

    // The ingest path (events committed with their cursor) counts towards the next merge too:
    // without it, nothing would merge these 1,100 events' entries (fewer than the limit).
    let cursor = CursorWrite {
        name: "ocis-audit".into(),
        value: "offset=1".into(),
    };
    store
        .append_with_cursor(rechnungen(1_100..2_200), cursor, Timestamp::from_millis(4_000))
        .await
        .unwrap();
    assert_eq!(
        pending_after_merge(&pool).await,
        0,
        "the ingest path's merge emptied the list"
    );
    pool.close().await;
}

/// The pending pages once a merge had time to run (polled for up to five seconds).
async fn pending_after_merge(pool: &sqlx::PgPool) -> i64 {
    let mut pending = pending_text_index_pages(pool).await;
    for _ in 0..100 {
        if pending == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        pending = pending_text_index_pages(pool).await;
    }
    pending
}

/// PostgreSQL: a role that may write the log but does not own the text index (only the owner may
/// merge a GIN pending list) still appends, and its events are searchable: the refused merge
/// only leaves the list to the appends, which merge it themselves when it overflows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_appends_without_owning_the_text_index() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    drop(open(&db).await);
    let admin = sqlx::PgPool::connect(&db.url).await.unwrap();
    let role = format!("dz_writer_{}", std::process::id());
    for statement in [
        format!("DROP ROLE IF EXISTS {role}"),
        format!("CREATE ROLE {role} LOGIN PASSWORD '{role}'"),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
        "CREATE EXTENSION IF NOT EXISTS pgstattuple".to_owned(),
        // Autovacuum's analyze would also empty the pending list, at its own moment.
        "ALTER TABLE audit_events SET (autovacuum_enabled = off)".to_owned(),
    ] {
        sqlx::query(&statement).execute(&admin).await.unwrap();
    }
    let as_role = {
        use sqlx::ConnectOptions;
        use std::str::FromStr;
        sqlx::postgres::PgConnectOptions::from_str(&db.url)
            .unwrap()
            .username(&role)
            .password(&role)
            .to_url_lossy()
            .to_string()
    };
    let store = dezky_store::open(&as_role).await.expect("open as the non-owner role");

    for round in 0..3 {
        let events = (0..1_100)
            .map(|index| named("file.uploaded", &format!("Beleg-{round}-{index}.pdf")))
            .collect();
        store
            .append_events(events, Timestamp::from_millis(2_000))
            .await
            .expect("a non-owner appends");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(store.next_seq().await.unwrap(), 3_300);
    assert_eq!(matching(&store, "Beleg-2-1099").await.len(), 1, "searchable at once");
    assert!(
        pending_text_index_pages(&admin).await > 0,
        "the refused merges left the list pending"
    );

    drop(store);
    for statement in [format!("DROP OWNED BY {role}"), format!("DROP ROLE {role}")] {
        sqlx::query(&statement).execute(&admin).await.unwrap();
    }
    admin.close().await;
}

/// SQLite's free text ignores the case of non-ASCII letters too (`übersicht` finds
/// `Übersicht`), as archived batches are filtered in memory, and GLOB's wildcards in the text
/// match only themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_free_text_folds_unicode_case_and_keeps_wildcards_literal() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    let events = vec![
        named("file.uploaded", "Übersicht-2026.pdf"),
        named("file.uploaded", "uebersicht.txt"),
        named("file.uploaded", "plan[1]*?.ods"),
        named("file.uploaded", "plan[1]xy.ods"),
    ];
    store
        .append_events(events, Timestamp::from_millis(2_000))
        .await
        .unwrap();
    assert_eq!(matching(&store, "übersicht").await, vec![0]);
    assert_eq!(matching(&store, "ÜBERSICHT-2026").await, vec![0]);
    assert_eq!(matching(&store, "UEBERSICHT").await, vec![1]);
    assert_eq!(matching(&store, "[1]*?").await, vec![2]);
    assert_eq!(matching(&store, "PLAN[1]").await, vec![3, 2]);
    assert_eq!(matching(&store, "n[1]??.ods").await, Vec::<u64>::new());
}
