//! SQLite's free-text index lives in a file of its own and is filled after appends commit
//! (dezky-store's `text_index`): every way of appending must be searchable at once (through the
//! scan of the events the index has not reached) and, once the indexer caught up, through the
//! index, which then holds exactly the hot events with their current fields. PostgreSQL merges
//! its GIN pending list after each group commit.

use crate::{archive_first_four, event, ingested, open};
use dezky_core::query::{QueryPurpose, RawAuditQuery};
use dezky_core::{ApiTokenSecret, AuditQuery, Timestamp, TokenScope};
use dezky_store::{ColdErasure, CursorWrite, ErasureSubject, NewApiToken, Store};
use dezky_testkit::{TestBackend, TestDatabase};
use sqlx::Connection;
use std::sync::Arc;
use std::time::Duration;

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

/// The seqs of the newest page (at most `limit`) for a raw query.
async fn found(store: &Arc<dyn Store>, raw: RawAuditQuery) -> Vec<u64> {
    let query = AuditQuery::parse(&raw, QueryPurpose::Page).unwrap();
    let page = store.query_events(&query).await.unwrap();
    page.events.iter().map(|event| event.seq).collect()
}

/// The seqs `event_keys` holds, in order.
async fn keyed(db: &TestDatabase) -> Vec<i64> {
    let mut index = text_index_file(db).await;
    sqlx::query_scalar("SELECT seq FROM event_keys ORDER BY seq")
        .fetch_all(&mut index)
        .await
        .unwrap()
}

/// A connection to the index file beside the test database.
async fn text_index_file(db: &TestDatabase) -> sqlx::SqliteConnection {
    let database = db.url.strip_prefix("sqlite://").expect("a SQLite test database");
    sqlx::SqliteConnection::connect(&format!("sqlite://{database}-text"))
        .await
        .expect("the index file exists once the store is open")
}

async fn indexed_next_seq(index: &mut sqlx::SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT next_seq FROM text_index_state")
        .fetch_one(index)
        .await
        .unwrap()
}

/// Waits (at most ten seconds) until `done` holds for the index file.
async fn wait_for_index<F>(db: &TestDatabase, what: &str, mut done: F)
where
    F: for<'c> FnMut(
        &'c mut sqlx::SqliteConnection,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + 'c>>,
{
    let mut index = text_index_file(db).await;
    for _ in 0..200 {
        if done(&mut index).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the text index never got there: {what}");
}

pub(crate) async fn wait_until_indexed(db: &TestDatabase, next_seq: i64) {
    wait_for_index(db, &format!("next_seq {next_seq}"), |index| {
        Box::pin(async move { indexed_next_seq(index).await == next_seq })
    })
    .await;
}

/// Appends `events` in one call and waits until the index file holds them.
pub(crate) async fn append_and_index(
    db: &TestDatabase,
    store: &Arc<dyn Store>,
    events: Vec<dezky_core::NewAuditEvent>,
) {
    store
        .append_events(events, Timestamp::from_millis(2_000))
        .await
        .unwrap();
    let next_seq = store.next_seq().await.unwrap();
    wait_until_indexed(db, i64::try_from(next_seq).unwrap()).await;
}

/// A SQLite store opened as the read-only commands open it: no indexer runs.
async fn unindexed_store() -> (TestDatabase, Arc<dyn Store>) {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = dezky_store::open_with(&db.url, dezky_store::Indexing::Off)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (db, store)
}

/// `count` uploads of files named `Akte-<index>.pdf`.
fn akte_files(count: i64) -> Vec<dezky_core::NewAuditEvent> {
    (0..count)
        .map(|index| named("file.uploaded", &format!("Akte-{index}.pdf")))
        .collect()
}

/// A store with `count` events named `Akte-<index>.pdf`, all in the index file.
async fn indexed_files(count: i64) -> (TestDatabase, Arc<dyn Store>) {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    append_and_index(&db, &store, akte_files(count)).await;
    (db, store)
}

/// Erases `subject` in hot storage, with the record the server writes.
pub(crate) async fn erase(store: &Arc<dyn Store>, subject: ErasureSubject) -> dezky_store::ErasureOutcome {
    store
        .erase_personal_data(
            &subject,
            &ColdErasure::default(),
            &erasure_record,
            Timestamp::from_millis(3_000),
        )
        .await
        .unwrap()
}

/// The `audit.erased` record of an erasure, as the server writes it (`erasedSeqs` ranges).
fn erasure_record(seqs: &[u64]) -> dezky_core::NewAuditEvent {
    let mut event = event("audit.erased", 3_000);
    event.metadata.insert(
        "erasedSeqs".into(),
        serde_json::json!(dezky_chain::verify::to_ranges(seqs)),
    );
    event
}

/// The events the index file holds for the FTS5 query `expression`.
async fn index_rows(db: &TestDatabase, expression: &str) -> Vec<i64> {
    let mut index = text_index_file(db).await;
    sqlx::query_scalar("SELECT rowid FROM audit_events_text WHERE audit_events_text MATCH ? ORDER BY rowid")
        .bind(expression)
        .fetch_all(&mut index)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_append_path_is_searchable_at_once_and_then_through_the_index() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;

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

    // Whether or not the indexer got there yet, every path is searchable at once.
    let searches = [("Bericht-7-24", 1), ("Zebra", 1), ("Quokka", 1), ("Bericht", 100)];
    for (text, expected) in searches {
        assert_eq!(matching(&store, text).await.len(), expected, "{text} at once");
    }
    wait_until_indexed(&db, 203).await;
    // Now through the index; it holds every event once (each has `.` in its action).
    assert_eq!(matching(&store, "Zebra").await, vec![201]);
    assert_eq!(matching(&store, "Quokka").await, vec![202]);
    for (text, expected) in searches {
        assert_eq!(matching(&store, text).await.len(), expected, "{text} indexed");
    }
    let mut index = text_index_file(&db).await;
    let indexed: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM audit_events_text ORDER BY rowid")
        .fetch_all(&mut index)
        .await
        .unwrap();
    assert_eq!(indexed, (0..203).collect::<Vec<i64>>(), "every event once");

    // The searches really go through the index below its next_seq: an event taken out of it
    // behind the store's back is no longer found.
    sqlx::query("DELETE FROM audit_events_text WHERE rowid = 201")
        .execute(&mut index)
        .await
        .unwrap();
    assert_eq!(matching(&store, "Zebra").await, Vec::<u64>::new());
    assert_eq!(matching(&store, "Quokka").await, vec![202]);
}

/// Filters on fields are answered by the query indexes in the index file for the events it
/// holds and by a scan of the rest: the same answers before and after the indexer caught up,
/// and pages cut in the right place across the two.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_filters_answer_alike_before_and_after_indexing() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    let mut events = vec![];
    for index in 0..60 {
        let mut event = named(
            if index % 3 == 0 { "file.uploaded" } else { "mail.sent" },
            &format!("Datei-{index}"),
        );
        event.tenant_slug = Some(dezky_core::Slug::parse(if index % 2 == 0 { "acme" } else { "globex" }).unwrap());
        event.actor_email = Some(format!("User{}@Example.org", index % 4));
        events.push(event);
    }
    store
        .append_events(events, Timestamp::from_millis(2_000))
        .await
        .unwrap();
    let queries = || {
        vec![
            RawAuditQuery {
                tenant_slug: Some("acme".into()),
                limit: Some("7".into()),
                ..RawAuditQuery::default()
            },
            RawAuditQuery {
                action: Some("file.".into()),
                before: Some("40".into()),
                limit: Some("5".into()),
                ..RawAuditQuery::default()
            },
            RawAuditQuery {
                actor_email: Some("user1@example.org".into()),
                tenant_slug: Some("globex".into()),
                ..RawAuditQuery::default()
            },
            RawAuditQuery {
                tenant_slug: Some("acme".into()),
                q: Some("Datei-1".into()),
                ..RawAuditQuery::default()
            },
        ]
    };
    let expected: Vec<Vec<u64>> = vec![
        vec![58, 56, 54, 52, 50, 48, 46],
        vec![39, 36, 33, 30, 27],
        (0..60).rev().filter(|index| index % 4 == 1).collect(),
        vec![18, 16, 14, 12, 10],
    ];
    for (raw, expected) in queries().into_iter().zip(&expected) {
        assert_eq!(&found(&store, raw).await, expected, "at once");
    }
    wait_until_indexed(&db, 60).await;
    assert_eq!(keyed(&db).await, (0..60).collect::<Vec<i64>>());
    for (raw, expected) in queries().into_iter().zip(&expected) {
        assert_eq!(&found(&store, raw).await, expected, "indexed");
    }
    // Events appended now are beyond the index until the indexer gets to them; a page that
    // spans both is cut in the right place. (Whether the indexer got there already or not, the
    // answer is the same.)
    let newer = (0..4)
        .map(|index| {
            let mut event = named("file.uploaded", &format!("Neu-{index}"));
            event.tenant_slug = Some(dezky_core::Slug::parse("acme").unwrap());
            event
        })
        .collect();
    store.append_events(newer, Timestamp::from_millis(3_000)).await.unwrap();
    let acme_page = || RawAuditQuery {
        tenant_slug: Some("acme".into()),
        limit: Some("7".into()),
        ..RawAuditQuery::default()
    };
    assert_eq!(found(&store, acme_page()).await, vec![63, 62, 61, 60, 58, 56, 54]);

    // The filters really read the index file below its next_seq: an event taken out of it
    // behind the store's back is no longer found.
    wait_until_indexed(&db, 64).await;
    let mut index = text_index_file(&db).await;
    sqlx::query("DELETE FROM event_keys WHERE seq = 62")
        .execute(&mut index)
        .await
        .unwrap();
    assert_eq!(found(&store, acme_page()).await, vec![63, 61, 60, 58, 56, 54, 52]);
}

/// An erasure reaches the index file (erased e-mails must not stay there, not even as
/// trigrams), and a search never matches an erased field meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erasure_takes_the_erased_fields_out_of_the_index_file() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    let mut events = vec![];
    for name in ["Quartalsbericht.pdf", "Notizen.txt"] {
        let mut event = named("file.uploaded", name);
        event.actor_email = Some("zoe.quast@example.org".into());
        events.push(event);
    }
    events.push(named("file.uploaded", "Quastenflosser.png"));
    append_and_index(&db, &store, events).await;
    assert_eq!(index_rows(&db, "\"zoe\" AND \"oe.\"").await, vec![0, 1]);
    assert_eq!(matching(&store, "zoe.quast").await, vec![1, 0]);

    let outcome = erase(&store, ErasureSubject::ActorEmail("Zoe.Quast@example.org".into())).await;
    assert_eq!(outcome.erased_seqs, vec![0, 1]);
    // At once, whether or not the indexer reached the record: the candidates are checked.
    assert_eq!(matching(&store, "zoe.quast").await, Vec::<u64>::new());
    let by_email = || RawAuditQuery {
        actor_email: Some("zoe.quast@example.org".into()),
        ..RawAuditQuery::default()
    };
    assert_eq!(found(&store, by_email()).await, Vec::<u64>::new());
    assert_eq!(matching(&store, "Quartalsbericht").await, Vec::<u64>::new());

    wait_until_indexed(&db, 4).await;
    assert_eq!(index_rows(&db, "\"zoe\"").await, Vec::<i64>::new());
    assert_eq!(
        index_rows(&db, "\"rta\"").await,
        Vec::<i64>::new(),
        "resource names too"
    );
    // What erasure keeps (the action) is still indexed, and the untouched event still is.
    assert_eq!(index_rows(&db, "\"upl\"").await, vec![0, 1, 2]);
    assert_eq!(matching(&store, "quast").await, vec![2]);
    let mut index = text_index_file(&db).await;
    let emails: Vec<Option<String>> = sqlx::query_scalar("SELECT actor_email FROM event_keys ORDER BY seq")
        .fetch_all(&mut index)
        .await
        .unwrap();
    assert_eq!(
        emails,
        vec![None, None, None, None],
        "erased, and never set on the others"
    );
    assert_eq!(found(&store, by_email()).await, Vec::<u64>::new());
}

/// Erasure by actor id removes an e-mail the index file still holds for a moment: the stale
/// copies must not take the page's places (one event of the address survives the erasure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_erased_emails_do_not_crowd_out_a_page() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    let events = (0..10)
        .map(|index| {
            let mut event = named("mail.sent", &format!("Brief-{index}"));
            event.actor_email = Some("a@x.example".into());
            event.actor_id = Some(if index == 3 { "someone-else" } else { "u" }.into());
            event
        })
        .collect();
    append_and_index(&db, &store, events).await;
    erase(&store, ErasureSubject::ActorId("u".into())).await;
    let by_email = || RawAuditQuery {
        actor_email: Some("A@X.example".into()),
        limit: Some("1".into()),
        ..RawAuditQuery::default()
    };
    assert_eq!(found(&store, by_email()).await, vec![3]);
    wait_until_indexed(&db, 11).await;
    assert_eq!(found(&store, by_email()).await, vec![3]);
}

/// An index file that does not belong to the database beside it (here: its newest hash was
/// altered and an entry removed) is rebuilt when the store opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_index_file_is_rebuilt() {
    let (db, store) = indexed_files(5).await;
    drop(store);
    let mut index = text_index_file(&db).await;
    sqlx::query("DELETE FROM audit_events_text WHERE rowid = 3")
        .execute(&mut index)
        .await
        .unwrap();
    sqlx::query("DELETE FROM event_keys WHERE seq = 3")
        .execute(&mut index)
        .await
        .unwrap();
    sqlx::query("UPDATE text_index_state SET last_hash = 'another database'")
        .execute(&mut index)
        .await
        .unwrap();
    assert_eq!(index_rows(&db, "\"kte\"").await, vec![0, 1, 2, 4]);

    let _reopened = open(&db).await;
    wait_for_index(&db, "event 3 back in the index", |index| {
        Box::pin(async move {
            let rows: Vec<i64> =
                sqlx::query_scalar("SELECT rowid FROM audit_events_text WHERE audit_events_text MATCH '\"kte\"'")
                    .fetch_all(&mut *index)
                    .await
                    .unwrap();
            rows.len() == 5 && indexed_next_seq(index).await == 5
        })
    })
    .await;
    assert_eq!(keyed(&db).await, (0..5).collect::<Vec<i64>>());
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

/// Archived events leave the index file (they are searched in their restored batches).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_events_leave_the_index_file() {
    let (db, store) = indexed_files(10).await;
    assert_eq!(archive_first_four(&store).await, 4);
    wait_for_index(&db, "the archived events pruned", |index| {
        Box::pin(async move {
            let rows: Vec<i64> = sqlx::query_scalar("SELECT rowid FROM audit_events_text ORDER BY rowid")
                .fetch_all(&mut *index)
                .await
                .unwrap();
            rows == (4..11).collect::<Vec<i64>>()
        })
    })
    .await;
    assert_eq!(keyed(&db).await, (4..11).collect::<Vec<i64>>());
    assert_eq!(matching(&store, "Akte-").await, vec![9, 8, 7, 6, 5, 4]);
}

/// The lag counts the hot events the index has not reached: archived events are never indexed
/// (nor scanned by searches), so they are not part of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_lag_leaves_archived_events_out() {
    let (_db, store) = unindexed_store().await;
    store
        .append_events(akte_files(10), Timestamp::from_millis(2_000))
        .await
        .unwrap();
    assert_eq!(store.text_index_lag().await.unwrap(), Some(10));
    assert_eq!(archive_first_four(&store).await, 4);
    // Seqs 4..=9 and the archival record 10 are hot and not indexed; 0..=3 are gone.
    assert_eq!(store.text_index_lag().await.unwrap(), Some(7));
}

/// A command that only reads opens the store without an indexer: the index file does not move
/// (the indexer would have run within its one-second poll), and queries still find every event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_without_indexing_leaves_the_index_file_alone() {
    let (db, store) = unindexed_store().await;
    store
        .append_events(
            vec![
                named("file.uploaded", "Akte-1.pdf"),
                named("file.uploaded", "Akte-2.pdf"),
            ],
            Timestamp::from_millis(2_000),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut index = text_index_file(&db).await;
    assert_eq!(indexed_next_seq(&mut index).await, 0);
    assert_eq!(store.text_index_lag().await.unwrap(), Some(2));
    assert_eq!(matching(&store, "Akte-2").await, vec![1]);
    assert_eq!(matching(&store, "akte").await, vec![1, 0]);

    // The same database opened as the server opens it is indexed.
    drop(store);
    let server = open(&db).await;
    wait_until_indexed(&db, 2).await;
    assert_eq!(server.text_index_lag().await.unwrap(), Some(0));
}

/// PostgreSQL's text index is written by the append itself: it reports no lag at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reports_no_text_index_lag() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let store = open(&db).await;
    store
        .append_events(
            vec![named("file.uploaded", "Akte-1.pdf")],
            Timestamp::from_millis(2_000),
        )
        .await
        .unwrap();
    assert_eq!(store.text_index_lag().await.unwrap(), None);
}
