//! Verifying the stored log end to end with the pure verifier, page by page (constant memory).

use crate::signing::AuditSigner;
use dezky_chain::leaf::parse_hash;
use dezky_chain::merkle::{Hash, fold_range, range_nodes};
use dezky_chain::verify::{Break, BreakKind, CheckpointKeys, Report, StoredCheckpoint, Verifier};
use dezky_core::AuditEvent;
use dezky_store::{Store, StoreError};

const PAGE: u32 = 5_000;

/// A hex hash from a row; unparseable text verifies as zeros, which then fails loudly.
fn hash_or_zero(text: Option<&str>) -> [u8; 32] {
    text.and_then(parse_hash).unwrap_or([0; 32])
}

pub fn push_event(verifier: &mut Verifier<'_>, event: &AuditEvent) {
    dezky_chain::verify::push_stored_event(verifier, event);
}

/// The hashes of the given leaf ranges, each folded from its stored perfect subtrees, fetched
/// in one call (proofs of every kind are lists of such ranges).
pub async fn range_hashes(store: &dyn Store, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, StoreError> {
    let pieces: Vec<_> = ranges.iter().map(|&(start, end)| range_nodes(start, end)).collect();
    let all: Vec<_> = pieces.iter().flatten().copied().collect();
    let hashes = store.merkle_node_hashes(&all).await?;
    let mut offset = 0;
    Ok(pieces
        .iter()
        .map(|nodes| {
            let folded = fold_range(&hashes[offset..offset + nodes.len()]);
            offset += nodes.len();
            folded
        })
        .collect())
}

/// Verifies with the log's own signer (the server's view).
pub async fn verify_with_signer(store: &dyn Store, signer: &AuditSigner) -> Result<Report, StoreError> {
    let verifier = signer.verifier();
    verify_store(
        store,
        Some(CheckpointKeys {
            verifier: &verifier,
            hmac: signer.hmac(),
        }),
    )
    .await
}

/// The stored checkpoints, as the verifier takes them.
pub async fn stored_checkpoints(store: &dyn Store) -> Result<Vec<StoredCheckpoint>, StoreError> {
    Ok(store
        .list_checkpoints()
        .await?
        .into_iter()
        .map(|record| StoredCheckpoint {
            tree_size: record.tree_size,
            root_hash: hash_or_zero(Some(&record.root_hash)),
            note: record.note,
        })
        .collect())
}

/// Verifies every event and every stored checkpoint; without keys, checkpoint signatures are
/// not checked (their roots still are).
pub async fn verify_store(store: &dyn Store, keys: Option<CheckpointKeys<'_>>) -> Result<Report, StoreError> {
    let mut verifier = Verifier::new(stored_checkpoints(store).await?, keys);
    let head = store.chain_head().await?;
    let last_hash = walk_hot(store, &mut verifier, None).await?;
    finish_with_head(store, verifier, &head, last_hash).await
}

/// Pushes the hot events with `seq > after` into the verifier; returns the last one's hash.
pub async fn walk_hot(
    store: &dyn Store,
    verifier: &mut Verifier<'_>,
    mut after: Option<u64>,
) -> Result<Option<String>, StoreError> {
    let mut last_hash = None;
    loop {
        let page = store.events_in_order(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        last_hash = last.hash.clone();
        for event in &page {
            push_event(verifier, event);
        }
    }
    Ok(last_hash)
}

/// Ends the walk: the report, plus the comparison of the last event with the chain head `head`
/// (read before the walk began).
pub async fn finish_with_head(
    store: &dyn Store,
    verifier: Verifier<'_>,
    head: &dezky_store::ChainHead,
    last_hash: Option<String>,
) -> Result<Report, StoreError> {
    let mut report = verifier.finish();
    // The chain head records how long the log was and how it ended: a missing tail (rows
    // deleted from the end) shows here even before a checkpoint covers it. Events appended
    // while the walk ran make the head longer than what was read; only a shorter log is a break.
    let read = report.head_seq.map_or(0, |seq| seq + 1);
    if head.tree_size == read && last_hash.as_deref().is_some_and(|hash| hash != head.head_hash) {
        report.breaks.push(Break {
            kind: BreakKind::EventHashMismatch,
            seq: report.head_seq,
            tree_size: None,
            expected: Some(head.head_hash.clone()),
            actual: last_hash,
        });
    }
    if head.tree_size > read && store.get_event(read).await?.is_none() {
        report.breaks.push(Break {
            kind: BreakKind::SeqGap,
            seq: Some(read),
            tree_size: None,
            expected: format!("events up to seq {} (the chain head)", head.tree_size - 1).into(),
            actual: Some(format!("the log ends at {read} events")),
        });
    }
    report.ok = report.breaks.is_empty();
    Ok(report)
}
