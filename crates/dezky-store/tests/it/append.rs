use crate::{event, ingested, open};
use dezky_core::{AuditQuery, Limit, Timestamp};
use dezky_store::AppendOutcome;
use dezky_testkit::{TestDatabase, on_both_backends};

async fn seq_starts_at_zero_and_has_no_gaps(db: TestDatabase) {
    let store = open(&db).await;
    assert_eq!(store.next_seq().await.unwrap(), 0);
    let receipt = store
        .append_events(
            vec![event("tenant.created", 1), event("tenant.updated", 2)],
            Timestamp::from_millis(10),
        )
        .await
        .unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![AppendOutcome::Appended { seq: 0 }, AppendOutcome::Appended { seq: 1 }]
    );
    let receipt = store
        .append_events(vec![event("tenant.deleted", 3)], Timestamp::from_millis(11))
        .await
        .unwrap();
    assert_eq!(receipt.first_seq(), Some(2));
    assert_eq!(store.next_seq().await.unwrap(), 3);
    let stored = store.get_event(1).await.unwrap().unwrap();
    assert_eq!(stored.action.as_str(), "tenant.updated");
    assert_eq!(stored.at, Timestamp::from_millis(2));
    assert_eq!(stored.recorded_at, Timestamp::from_millis(10));
    let first = store.get_event(0).await.unwrap().unwrap();
    assert_eq!(
        first.prev_hash.as_deref(),
        Some("0000000000000000000000000000000000000000000000000000000000000000")
    );
    assert_eq!(stored.prev_hash, first.hash, "each event chains to the one before");
    assert!(!stored.erased);
    assert_eq!(stored.personal_salt.as_ref().map(String::len), Some(64));
    assert!(store.get_event(3).await.unwrap().is_none());
}

async fn duplicates_are_skipped_without_burning_a_seq(db: TestDatabase) {
    let store = open(&db).await;
    let now = Timestamp::from_millis(100);
    store
        .append_events(vec![ingested("portal", "a"), ingested("portal", "b")], now)
        .await
        .unwrap();
    let receipt = store
        .append_events(
            vec![
                ingested("portal", "a"),    // stored before
                ingested("portal", "c"),    // new
                ingested("portal", "c"),    // repeated within the batch
                ingested("booking", "a"),   // same id, other source: distinct
                event("tenant.created", 5), // no external id: never deduplicated
            ],
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        receipt.outcomes,
        vec![
            AppendOutcome::Duplicate,
            AppendOutcome::Appended { seq: 2 },
            AppendOutcome::Duplicate,
            AppendOutcome::Appended { seq: 3 },
            AppendOutcome::Appended { seq: 4 },
        ]
    );
    assert_eq!(receipt.duplicates(), 2);
    assert_eq!(store.next_seq().await.unwrap(), 5);
}

async fn recorded_at_never_decreases_along_seq(db: TestDatabase) {
    let store = open(&db).await;
    store
        .append_events(vec![event("a.b", 1)], Timestamp::from_millis(5_000))
        .await
        .unwrap();
    // A clock that stepped backwards must not make recordedAt go backwards.
    store
        .append_events(vec![event("a.b", 1)], Timestamp::from_millis(4_000))
        .await
        .unwrap();
    let second = store.get_event(1).await.unwrap().unwrap();
    assert_eq!(second.recorded_at, Timestamp::from_millis(5_000));
}

async fn concurrent_appenders_on_two_handles_stay_gapless(db: TestDatabase) {
    // Two independently opened stores on one database stand in for two dezky instances.
    let first = open(&db).await;
    let second = open(&db).await;
    let mut tasks = vec![];
    for writer in 0..8 {
        let store = if writer % 2 == 0 { first.clone() } else { second.clone() };
        tasks.push(tokio::spawn(async move {
            for round in 0..10 {
                let batch = (0..5)
                    .map(|i| crate::ingested("portal", &format!("{writer}-{round}-{i}")))
                    .collect();
                store.append_events(batch, Timestamp::from_millis(1)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(first.next_seq().await.unwrap(), 400);
    let mut seen = vec![];
    let mut query = AuditQuery {
        limit: Limit::new(500).unwrap(),
        ..AuditQuery::default()
    };
    query.limit = Limit::new(500).unwrap();
    let page = first.query_events(&query).await.unwrap();
    seen.extend(page.events.iter().map(|event| event.seq));
    assert_eq!(seen, (0..400).rev().collect::<Vec<_>>());
}

on_both_backends!(
    seq_starts_at_zero_and_has_no_gaps,
    duplicates_are_skipped_without_burning_a_seq,
    recorded_at_never_decreases_along_seq,
    concurrent_appenders_on_two_handles_stay_gapless,
);
