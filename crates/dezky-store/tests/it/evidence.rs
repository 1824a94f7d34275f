//! Verification pages: the raw stored values of each event, in seq order, exactly what the
//! decoded events say, page after page.

use crate::{event, open};
use dezky_core::{AuditEvent, Slug, Timestamp};
use dezky_store::{EvidenceColumn, EvidenceRow};
use dezky_testkit::{TestBackend, TestDatabase, on_both_backends};
use serde_json::json;

const EVENTS: u32 = 25;

fn assert_same(row: &EvidenceRow<'_>, stored: &AuditEvent) {
    let seq = stored.seq;
    assert_eq!(row.seq(), seq as i64);
    assert_eq!(row.at_ms(), stored.at.as_millis(), "seq {seq}");
    assert_eq!(row.recorded_at_ms(), stored.recorded_at.as_millis(), "seq {seq}");
    let expected = [
        (EvidenceColumn::ActorType, Some(stored.actor_type.as_str())),
        (EvidenceColumn::ActorId, stored.actor_id.as_deref()),
        (EvidenceColumn::ActorEmail, stored.actor_email.as_deref()),
        (EvidenceColumn::ActorIp, stored.actor_ip.as_deref()),
        (EvidenceColumn::Action, Some(stored.action.as_str())),
        (EvidenceColumn::Outcome, Some(stored.outcome.as_str())),
        (EvidenceColumn::ResourceType, stored.resource_type.as_deref()),
        (EvidenceColumn::ResourceId, stored.resource_id.as_deref()),
        (EvidenceColumn::ResourceName, stored.resource_name.as_deref()),
        (
            EvidenceColumn::TenantSlug,
            stored.tenant_slug.as_ref().map(|slug| slug.as_str()),
        ),
        (
            EvidenceColumn::PartnerSlug,
            stored.partner_slug.as_ref().map(|slug| slug.as_str()),
        ),
        (EvidenceColumn::Source, Some(stored.source.as_str())),
        (EvidenceColumn::ExternalId, stored.external_id.as_deref()),
        (EvidenceColumn::PrevHash, stored.prev_hash.as_deref()),
        (EvidenceColumn::Hash, stored.hash.as_deref()),
        (EvidenceColumn::LeafHash, stored.leaf_hash.as_deref()),
        (
            EvidenceColumn::PersonalCommitment,
            stored.personal_commitment.as_deref(),
        ),
        (EvidenceColumn::PersonalSalt, stored.personal_salt.as_deref()),
    ];
    for (column, value) in expected {
        assert_eq!(row.text(column), value, "seq {seq}, {column:?}");
    }
    let metadata: serde_json::Map<String, serde_json::Value> = row
        .text(EvidenceColumn::Metadata)
        .map(|text| serde_json::from_str(text).unwrap())
        .unwrap_or_default();
    assert_eq!(metadata, stored.metadata, "seq {seq}");
}

async fn pages_hold_the_stored_values_in_seq_order(db: TestDatabase) {
    let store = open(&db).await;
    let events = (0..EVENTS)
        .map(|n| {
            let mut event = event("tenant.updated", 1_000 + i64::from(n));
            // Every other event fills the optional columns, so NULLs and values alternate.
            if n % 2 == 0 {
                event.actor_id = Some(format!("user-{n}"));
                event.actor_email = Some(format!("ünïcode-{n}@acme.example"));
                event.actor_ip = Some("2001:db8::7".into());
                event.resource_type = Some("tenant".into());
                event.resource_id = Some(format!("t-{n}"));
                event.resource_name = Some("Acme \"Holding\"\n".into());
                event.tenant_slug = Some(Slug::parse("acme").unwrap());
                event.partner_slug = Some(Slug::parse("reseller").unwrap());
                event.external_id = Some(format!("ext-{n}"));
                event.metadata.insert("n".into(), json!(n));
                event
                    .metadata
                    .insert("nested".into(), json!({ "list": [1.5, null, "x"] }));
            }
            event
        })
        .collect();
    store
        .append_events(events, Timestamp::from_millis(5_000))
        .await
        .unwrap();
    let stored = store.events_in_order(None, EVENTS).await.unwrap();

    let mut after = None;
    let mut seen = 0;
    loop {
        let page = store.evidence_page(after, 7).await.unwrap();
        let Some(last_seq) = page.last_seq() else { break };
        assert!(page.len() <= 7);
        for row in page.rows() {
            assert_same(&row.unwrap(), &stored[seen]);
            seen += 1;
        }
        after = Some(last_seq as u64);
    }
    assert_eq!(seen, EVENTS as usize, "every event, once");
    assert!(
        store
            .evidence_page(Some(u64::from(EVENTS)), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

on_both_backends!(pages_hold_the_stored_values_in_seq_order);

/// A PostgreSQL page that cannot be parsed is an error naming the problem, and the connection
/// that read it goes back to the pool in step with the server (the reader finishes the COPY
/// stream before it returns): every statement after it, on every pooled connection, still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_an_unreadable_page_leaves_the_pool_usable() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let store = open(&db).await;
    let events = (0..5).map(|n| event("tenant.updated", 1_000 + n)).collect();
    store
        .append_events(events, Timestamp::from_millis(5_000))
        .await
        .unwrap();
    // A schema the reader does not expect: at_ms as a 4-byte integer.
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("ALTER TABLE audit_events ALTER COLUMN at_ms TYPE integer")
        .execute(&pool)
        .await
        .unwrap();
    for round in 0..40 {
        let error = store
            .evidence_page(None, 10)
            .await
            .expect_err("at_ms is no longer a bigint");
        assert!(error.to_string().contains("expected an 8-byte bigint"), "{error}");
        for _ in 0..4 {
            assert_eq!(store.next_seq().await.unwrap(), 5, "round {round}");
        }
    }
}

/// A SQLite value that is not UTF-8 text (bytes written by hand, or a blob) is an error naming
/// the seq and the column when its row is taken from the page; every other row reads as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_value_that_is_not_text_is_an_error_naming_it() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    let events = (0..5).map(|n| event("tenant.updated", 1_000 + n)).collect();
    store
        .append_events(events, Timestamp::from_millis(5_000))
        .await
        .unwrap();
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    for statement in [
        "DROP TRIGGER audit_events_no_update",
        "UPDATE audit_events SET actor_ip = CAST(X'3130C3' AS TEXT) WHERE seq = 2",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    let page = store.evidence_page(None, 10).await.unwrap();
    assert_eq!(page.len(), 5);
    let error = page.row(2).expect_err("actor_ip ends inside a character").to_string();
    assert!(error.contains("seq 2: its actor_ip is not UTF-8"), "{error}");
    for index in [0, 1, 3, 4] {
        assert_eq!(page.row(index).unwrap().seq(), index as i64);
    }

    sqlx::query("UPDATE audit_events SET outcome = X'00' WHERE seq = 4")
        .execute(&pool)
        .await
        .unwrap();
    let error = store.evidence_page(None, 10).await.expect_err("a blob").to_string();
    assert!(error.contains("seq 4: its outcome is Blob, not text"), "{error}");
}
