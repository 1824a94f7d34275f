//! Verifying the stored log end to end with the pure verifier, page by page (constant memory).

use crate::signing::AuditSigner;
use dezky_chain::leaf::parse_hash;
use dezky_chain::verify::{CheckpointKeys, EventEvidence, Report, StoredCheckpoint, Verifier};
use dezky_core::AuditEvent;
use dezky_store::{Store, StoreError};

const PAGE: u32 = 5_000;

/// A hex hash from a row; unparseable text verifies as zeros, which then fails loudly.
fn hash_or_zero(text: Option<&str>) -> [u8; 32] {
    text.and_then(parse_hash).unwrap_or([0; 32])
}

pub fn push_event(verifier: &mut Verifier<'_>, event: &AuditEvent) {
    let salt = event.personal_salt.as_deref().map(|text| hash_or_zero(Some(text)));
    let commitment = hash_or_zero(event.personal_commitment.as_deref());
    let leaf = hash_or_zero(event.leaf_hash.as_deref());
    verifier.push(EventEvidence {
        event,
        salt: salt.as_ref(),
        commitment: &commitment,
        leaf_hash: &leaf,
    });
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

/// Verifies every event and every stored checkpoint; without keys, checkpoint signatures are
/// not checked (their roots still are).
pub async fn verify_store(store: &dyn Store, keys: Option<CheckpointKeys<'_>>) -> Result<Report, StoreError> {
    let checkpoints = store
        .list_checkpoints()
        .await?
        .into_iter()
        .map(|record| StoredCheckpoint {
            tree_size: record.tree_size,
            root_hash: hash_or_zero(Some(&record.root_hash)),
            note: record.note,
        })
        .collect();
    let mut verifier = Verifier::new(checkpoints, keys);
    let mut after = None;
    loop {
        let page = store.events_in_order(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.seq);
        for event in &page {
            push_event(&mut verifier, event);
        }
    }
    Ok(verifier.finish())
}
