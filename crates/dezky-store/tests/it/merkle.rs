//! Merkle node reads: every perfect subtree the store hands out folds to the root computed from
//! the events' own leaf hashes, in the order asked, however many nodes one call asks for.

use crate::{event, open, raw_execute};
use dezky_chain::merkle::{
    Hash, NodeId, consistency_ranges, fold_range, inclusion_ranges, range_nodes, root_of_leaves,
};
use dezky_core::Timestamp;
use dezky_store::{Store, StoreError};
use dezky_testkit::{TestDatabase, on_both_backends};

const EVENTS: u64 = 300;

async fn filled(db: &TestDatabase) -> (std::sync::Arc<dyn Store>, Vec<Hash>) {
    let store = open(db).await;
    // Uneven batches, so subtrees complete inside batches and across them.
    for (batch, size) in [1u64, 6, 57, 100, 136].into_iter().enumerate() {
        let events = (0..size)
            .map(|n| event("tenant.updated", (batch as i64) * 1_000 + n as i64))
            .collect();
        store.append_events(events, Timestamp::from_millis(10)).await.unwrap();
    }
    let leaves = store
        .events_in_order(None, EVENTS as u32)
        .await
        .unwrap()
        .iter()
        .map(|stored| {
            let text = stored.leaf_hash.as_deref().expect("leaf hash");
            hex::decode(text).unwrap().try_into().unwrap()
        })
        .collect::<Vec<Hash>>();
    assert_eq!(leaves.len() as u64, EVENTS);
    (store, leaves)
}

async fn every_proof_range_folds_to_the_root_of_its_leaves(db: TestDatabase) {
    let (store, leaves) = filled(&db).await;
    for size in [1, 2, 3, 7, 64, 100, 255, 256, 257, EVENTS] {
        let mut ranges = vec![(0, size)];
        for index in [0, 1, size / 2, size - 1].into_iter().filter(|&index| index < size) {
            ranges.extend(inclusion_ranges(index, size).unwrap());
        }
        for from in [1, size / 3, size - 1]
            .into_iter()
            .filter(|&from| from > 0 && from < size)
        {
            ranges.extend(consistency_ranges(from, size).unwrap());
        }
        for (start, end) in ranges {
            let hashes = store.merkle_node_hashes(&range_nodes(start, end)).await.unwrap();
            assert_eq!(
                fold_range(&hashes),
                root_of_leaves(&leaves[start as usize..end as usize]),
                "range [{start}, {end}) of tree size {size}"
            );
        }
    }
}

async fn many_nodes_in_one_call_come_back_in_the_order_asked(db: TestDatabase) {
    let (store, leaves) = filled(&db).await;
    // More nodes than one statement reads, leaves and inner nodes mixed, a repeat included.
    let mut nodes: Vec<NodeId> = (0..EVENTS).rev().map(|index| NodeId { level: 0, index }).collect();
    nodes.extend((0..EVENTS / 2).map(|index| NodeId { level: 1, index }));
    nodes.push(NodeId { level: 0, index: 7 });
    let hashes = store.merkle_node_hashes(&nodes).await.unwrap();
    assert_eq!(hashes.len(), nodes.len());
    for (node, hash) in nodes.iter().zip(&hashes) {
        let first = (node.index << node.level) as usize;
        let expected = root_of_leaves(&leaves[first..first + (1 << node.level)]);
        assert_eq!(*hash, expected, "node {node:?}");
    }
}

async fn a_missing_node_is_reported_as_corruption(db: TestDatabase) {
    let (store, _) = filled(&db).await;
    // Beyond the tree: nothing stored at either level.
    for node in [
        NodeId {
            level: 0,
            index: EVENTS,
        },
        NodeId { level: 3, index: 1_000 },
    ] {
        let error = store
            .merkle_node_hashes(&[NodeId { level: 0, index: 0 }, node])
            .await
            .unwrap_err();
        match error {
            StoreError::Corrupt(message) => assert!(
                message.contains(&format!("level {} index {}", node.level, node.index)),
                "{message}"
            ),
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    // A stored node whose hash is not 64 hex digits.
    let tampered = raw_execute(
        &db,
        "INSERT INTO merkle_nodes (level, idx, hash) VALUES (9, 99, 'not hex')",
    )
    .await;
    assert_eq!(tampered.unwrap(), 1);
    let error = store
        .merkle_node_hashes(&[NodeId { level: 9, index: 99 }])
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error:?}");
}

on_both_backends!(
    every_proof_range_folds_to_the_root_of_its_leaves,
    many_nodes_in_one_call_come_back_in_the_order_asked,
    a_missing_node_is_reported_as_corruption
);
