use crate::{event, open, raw_execute};
use dezky_core::Timestamp;
use dezky_testkit::{TestDatabase, on_both_backends};

async fn database_rejects_update_and_delete_of_events(db: TestDatabase) {
    let store = open(&db).await;
    store
        .append_events(vec![event("tenant.created", 1)], Timestamp::from_millis(1))
        .await
        .unwrap();
    for statement in [
        "UPDATE audit_events SET action = 'tenant.deleted' WHERE seq = 0",
        "DELETE FROM audit_events WHERE seq = 0",
        "DELETE FROM audit_events",
    ] {
        let error = raw_execute(&db, statement).await.expect_err(statement).to_string();
        assert!(error.contains("append-only"), "{statement}: {error}");
    }
    if db.backend == dezky_testkit::TestBackend::Postgres {
        let error = raw_execute(&db, "TRUNCATE audit_events")
            .await
            .expect_err("truncate")
            .to_string();
        assert!(error.contains("append-only"), "{error}");
    }
    let unchanged = store.get_event(0).await.unwrap().unwrap();
    assert_eq!(unchanged.action.as_str(), "tenant.created");
}

async fn migrations_are_idempotent(db: TestDatabase) {
    let store = open(&db).await;
    store.migrate().await.unwrap();
    let again = dezky_store::open(&db.url).await.unwrap();
    again.migrate().await.unwrap();
}

on_both_backends!(database_rejects_update_and_delete_of_events, migrations_are_idempotent);
