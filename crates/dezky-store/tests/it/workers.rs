use crate::{ingested, open, raw_execute};
use dezky_core::Timestamp;
use dezky_store::CursorWrite;
use dezky_testkit::{TestDatabase, on_both_backends};

fn cursor(value: &str) -> CursorWrite {
    CursorWrite {
        name: "ocis-audit".into(),
        value: value.into(),
    }
}

async fn a_cursor_commits_with_its_events(db: TestDatabase) {
    let store = open(&db).await;
    assert_eq!(store.cursor("ocis-audit").await.unwrap(), None);
    let now = Timestamp::from_millis(5_000);
    let receipt = store
        .append_with_cursor(
            vec![ingested("ocis", "a"), ingested("ocis", "b")],
            cursor("offset=2"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(receipt.appended_seqs().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(store.cursor("ocis-audit").await.unwrap().as_deref(), Some("offset=2"));

    // Redelivered events are skipped as duplicates, and the cursor still moves.
    let receipt = store
        .append_with_cursor(
            vec![ingested("ocis", "b"), ingested("ocis", "c")],
            cursor("offset=3"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(receipt.duplicates(), 1);
    assert_eq!(receipt.appended_seqs().collect::<Vec<_>>(), vec![2]);
    assert_eq!(store.cursor("ocis-audit").await.unwrap().as_deref(), Some("offset=3"));
    assert_eq!(store.next_seq().await.unwrap(), 3);
}

async fn a_failed_cursor_write_takes_its_events_with_it(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(5_000);
    store
        .append_with_cursor(vec![ingested("ocis", "a")], cursor("offset=1"), now)
        .await
        .unwrap();
    // Make the cursor write fail after the events were inserted in the same transaction.
    raw_execute(&db, "DROP TABLE ingest_cursors").await.unwrap();
    let error = store
        .append_with_cursor(vec![ingested("ocis", "b")], cursor("offset=2"), now)
        .await;
    assert!(error.is_err());
    assert_eq!(
        store.next_seq().await.unwrap(),
        1,
        "the event rolled back with the cursor"
    );
    let head = store.chain_head().await.unwrap();
    assert_eq!(head.tree_size, 1);
    // The chain continues correctly afterwards (the cached Merkle frontier was not corrupted).
    store.append_events(vec![ingested("ocis", "b")], now).await.unwrap();
    assert_eq!(store.next_seq().await.unwrap(), 2);
}

async fn one_holder_has_a_lease_until_it_expires(db: TestDatabase) {
    let store = open(&db).await;
    let at = Timestamp::from_millis;
    assert!(store.try_lease("authentik", "instance-a", 1_000, at(0)).await.unwrap());
    assert!(
        !store
            .try_lease("authentik", "instance-b", 1_000, at(500))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("authentik", "instance-a", 1_000, at(900))
            .await
            .unwrap(),
        "renewal"
    );
    assert!(
        !store
            .try_lease("authentik", "instance-b", 1_000, at(1_800))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("authentik", "instance-b", 1_000, at(1_900))
            .await
            .unwrap(),
        "expired"
    );
    assert!(
        !store
            .try_lease("authentik", "instance-a", 1_000, at(2_000))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_lease("archive", "instance-a", 1_000, at(2_000))
            .await
            .unwrap(),
        "leases are per name"
    );
    store.release_lease("authentik", "instance-a").await.unwrap();
    assert!(
        !store
            .try_lease("authentik", "instance-a", 1_000, at(2_100))
            .await
            .unwrap(),
        "not a's to release"
    );
    store.release_lease("authentik", "instance-b").await.unwrap();
    assert!(
        store
            .try_lease("authentik", "instance-a", 1_000, at(2_100))
            .await
            .unwrap()
    );
}

on_both_backends!(
    a_cursor_commits_with_its_events,
    a_failed_cursor_write_takes_its_events_with_it,
    one_holder_has_a_lease_until_it_expires
);
