//! Group commits written beside each other (PostgreSQL's speculative group commit,
//! `postgres::speculation`), and the log they leave: one gapless chain, every key once.

use crate::{ingested, open};
use dezky_chain::merkle::{fold_range, range_nodes};
use dezky_chain::verify::{Verifier, push_stored_event};
use dezky_core::Timestamp;
use dezky_store::{AppendOutcome, CursorWrite, SpeculationStats, Store};
use dezky_testkit::{TestBackend, TestDatabase, on_both_backends};
use std::collections::HashSet;
use std::sync::Arc;

/// Verifies the whole log: the chain from its events, and that the stored Merkle nodes fold to
/// the root of those events. Returns every event's (source, externalId).
async fn verified_keys(store: &Arc<dyn Store>) -> Vec<(String, String)> {
    let mut verifier = Verifier::new(vec![], None);
    let mut keys = vec![];
    let mut after = None;
    loop {
        let events = store.events_in_order(after, 1_000).await.unwrap();
        let Some(last) = events.last() else { break };
        after = Some(last.seq);
        for event in &events {
            push_stored_event(&mut verifier, event);
            keys.push((
                event.source.as_str().to_owned(),
                event.external_id.clone().unwrap_or_default(),
            ));
        }
    }
    let root = verifier.root();
    let report = verifier.finish();
    assert!(report.ok, "{:?}", report.breaks);
    let size = keys.len() as u64;
    assert_eq!(store.next_seq().await.unwrap(), size);
    let stored = store.merkle_node_hashes(&range_nodes(0, size)).await.unwrap();
    assert_eq!(
        fold_range(&stored),
        root,
        "the stored Merkle nodes fold to the events' root"
    );
    keys
}

/// Writers on two instances, pairs of them sending the same keys at once (duplicates across
/// groups in flight together), and appends inside other transactions (the ingest cursor path)
/// between the groups. On PostgreSQL groups are written beside each other and some attempts
/// give up; either way every key is in the log exactly once, in one verifiable chain.
async fn groups_beside_other_appends_keep_one_chain_and_every_key_once(db: TestDatabase) {
    let first = open(&db).await;
    let second = open(&db).await;
    let mut tasks = vec![];
    for writer in 0..12u32 {
        let store = if writer % 4 == 3 { second.clone() } else { first.clone() };
        tasks.push(tokio::spawn(async move {
            for round in 0..15u32 {
                let batch = (0..40)
                    .map(|event| ingested("portal", &format!("{}-{round}-{event}", writer / 2)))
                    .collect();
                store.append_events(batch, Timestamp::from_millis(1)).await.unwrap();
            }
        }));
    }
    let cursor_writer = first.clone();
    tasks.push(tokio::spawn(async move {
        for round in 0..30u32 {
            let cursor = CursorWrite {
                name: "ocis-audit".into(),
                value: round.to_string(),
            };
            cursor_writer
                .append_with_cursor(
                    vec![ingested("ocis", &format!("c-{round}"))],
                    cursor,
                    Timestamp::from_millis(1),
                )
                .await
                .unwrap();
        }
    }));
    for task in tasks {
        task.await.unwrap();
    }
    let keys = verified_keys(&first).await;
    assert_eq!(keys.len(), 6 * 15 * 40 + 30);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len(), "no key twice");
}

on_both_backends!(groups_beside_other_appends_keep_one_chain_and_every_key_once);

fn stats(store: &Arc<dyn Store>) -> SpeculationStats {
    store.speculation_stats().expect("PostgreSQL reports its speculation")
}

/// PostgreSQL: a group after the first starts from the cached tip and commits without waiting
/// for the lock first; a tip gone stale (another instance appended) makes the attempt give up
/// and the group is written under the lock, continuing the other instance's chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_speculates_from_its_tip_and_gives_up_when_another_instance_moved_the_head() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let first = open(&db).await;
    let second = open(&db).await;
    let append = |store: &Arc<dyn Store>, id: &str| {
        let store = store.clone();
        let event = ingested("portal", id);
        async move {
            store
                .append_events(vec![event], Timestamp::from_millis(1))
                .await
                .unwrap()
        }
    };
    append(&first, "a").await;
    assert_eq!(stats(&first), SpeculationStats::default(), "no tip yet: under the lock");
    append(&first, "b").await;
    assert_eq!(stats(&first).committed, 1, "from the tip the first group left");
    append(&second, "c").await;
    let receipt = append(&first, "d").await;
    assert_eq!(receipt.outcomes, vec![AppendOutcome::Appended { seq: 3 }]);
    assert_eq!(
        stats(&first),
        SpeculationStats {
            committed: 1,
            given_up: 1
        },
        "the head had moved past the tip"
    );
    let keys: Vec<String> = verified_keys(&first).await.into_iter().map(|(_, id)| id).collect();
    assert_eq!(keys, ["a", "b", "c", "d"]);
    assert_eq!(
        stats(&second),
        SpeculationStats::default(),
        "its one group found no tip"
    );
}

/// PostgreSQL: a key the tip's own group wrote is not written speculatively (that group may not
/// have committed it yet); the group goes under the lock, where the key is found stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_writes_a_key_of_the_tips_group_under_the_lock() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let store = open(&db).await;
    let append = |id: &str| store.append_events(vec![ingested("portal", id)], Timestamp::from_millis(1));
    append("a").await.unwrap();
    append("b").await.unwrap();
    assert_eq!(stats(&store).committed, 1);
    let again = append("b").await.unwrap();
    assert_eq!(again.outcomes, vec![AppendOutcome::Duplicate]);
    assert_eq!(
        stats(&store),
        SpeculationStats {
            committed: 1,
            given_up: 0
        },
        "not attempted"
    );
    assert_eq!(store.next_seq().await.unwrap(), 2);
    append("c").await.unwrap();
    assert_eq!(stats(&store).committed, 2, "the next group speculates again");
    assert_eq!(verified_keys(&store).await.len(), 3);
}

/// PostgreSQL, one instance, nothing else appending: writers in pairs sending the same keys at
/// once. A group holding a key of the group before it waits for that group to settle and then
/// goes under the lock, so no attempt has to give up, and every key is in the log once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_groups_sharing_keys_with_the_group_before_never_give_up() {
    let db = TestDatabase::create(TestBackend::Postgres).await;
    let store = open(&db).await;
    let mut tasks = vec![];
    for writer in 0..8u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for round in 0..25u32 {
                let batch = (0..20)
                    .map(|event| ingested("portal", &format!("{}-{round}-{event}", writer / 2)))
                    .collect();
                store.append_events(batch, Timestamp::from_millis(1)).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let keys = verified_keys(&store).await;
    assert_eq!(keys.len(), 4 * 25 * 20);
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), keys.len(), "no key twice");
    let stats = stats(&store);
    assert_eq!(stats.given_up, 0, "{stats:?}");
    assert!(stats.committed > 0, "{stats:?}");
}
