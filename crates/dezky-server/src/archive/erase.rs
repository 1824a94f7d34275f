//! Erasure reaching the cold tier: every archive batch holding the subject's events is rewritten
//! before the erasure's transaction — a new data object without the erased personal fields and a
//! superseding manifest (version 2, naming the batch's first manifest), both uploaded and
//! confirmed. The transaction then records them as the batch's next revision together with the
//! hot erasure and the `audit.erased` record (which lists the archived seqs too); only after it
//! commits are the old objects deleted. A failure before the commit leaves unreferenced new
//! objects (removed here when possible); a failure after it leaves old objects that the next
//! archive run deletes (`ArchiveStore::superseded_object_keys`).
//!
//! Erased events keep their commitment, leaf and hashes, so the chain, the Merkle tree and every
//! checkpoint verify exactly as before; only the data hashes change, and the superseding
//! manifest signs the new ones.

use crate::archive::cold::{ColdError, ColdStorage};
use crate::archive::encode::encode_events;
use crate::archive::read::{ArchiveReadError, read_batch_events};
use crate::signing::AuditSigner;
use bytes::Bytes;
use dezky_chain::manifest::{
    Manifest, SUPERSEDING_MANIFEST_VERSION, data_key, manifest_key, sha256_hex, verify_manifest,
};
use dezky_chain::verify::ERASURE_ACTION;
use dezky_core::{AuditEvent, Timestamp};
use dezky_store::{ArchiveBatch, ArchiveRevision, ColdErasure, ErasureSubject, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ColdErasureError {
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Read(#[from] ArchiveReadError),
    #[error(transparent)]
    Cold(#[from] ColdError),
    #[error(
        "archived events cannot be erased: no cold storage is configured (set AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT)"
    )]
    NoColdStorage,
    #[error("archive batch {batch}: {reason}")]
    Manifest { batch: String, reason: String },
}

/// The cold part of an erasure, ready for the store, and what to clean up afterwards.
#[derive(Debug, Default)]
pub struct PreparedColdErasure {
    pub cold: ColdErasure,
    /// The objects the new revisions replace: deleted once the erasure committed.
    pub superseded_keys: Vec<String>,
    /// The objects uploaded for the new revisions: deleted if the erasure does not commit.
    pub uploaded_keys: Vec<String>,
}

/// Whether an archived event is one the store's erasure of `subject` would erase in hot storage.
pub fn erasable(subject: &ErasureSubject, event: &AuditEvent) -> bool {
    let matches = match subject {
        ErasureSubject::ActorId(id) => event.actor_id.as_deref() == Some(id.as_str()),
        ErasureSubject::ActorEmail(email) => event
            .actor_email
            .as_deref()
            .is_some_and(|actual| actual.to_lowercase() == email.to_lowercase()),
    };
    matches && event.personal_salt.is_some() && event.action.as_str() != ERASURE_ACTION
}

/// The event as erasure leaves it: the personal fields and the salt gone, everything the hashes
/// commit to unchanged.
pub fn erase_fields(event: &mut AuditEvent) {
    event.actor_id = None;
    event.actor_email = None;
    event.actor_ip = None;
    event.resource_name = None;
    event.metadata = serde_json::Map::new();
    event.personal_salt = None;
    event.erased = true;
}

/// Looks through every batch and rewrites those holding the subject's events.
pub async fn prepare_cold_erasure(
    store: &dyn Store,
    cold: Option<&ColdStorage>,
    signer: &AuditSigner,
    subject: &ErasureSubject,
    now: Timestamp,
) -> Result<PreparedColdErasure, ColdErasureError> {
    let batches = store.list_archive_batches().await?;
    let mut prepared = PreparedColdErasure::default();
    prepared.cold.batches_seen = batches.iter().map(|batch| (batch.id.clone(), batch.revision)).collect();
    if batches.is_empty() {
        return Ok(prepared);
    }
    let cold = cold.ok_or(ColdErasureError::NoColdStorage)?;
    for batch in &batches {
        let mut events = read_batch_events(cold, batch).await?;
        let mut erased_here = vec![];
        for event in events.iter_mut().filter(|event| erasable(subject, event)) {
            erase_fields(event);
            erased_here.push(event.clone());
        }
        if erased_here.is_empty() {
            continue;
        }
        let revision = rewrite(cold, signer, batch, &events, now, &mut prepared.uploaded_keys).await?;
        prepared
            .superseded_keys
            .extend([batch.data_key.clone(), batch.manifest_key.clone()]);
        prepared.cold.revisions.push(revision);
        prepared.cold.erased_events.extend(erased_here);
    }
    Ok(prepared)
}

/// Uploads and confirms the batch's new data object and superseding manifest.
async fn rewrite(
    cold: &ColdStorage,
    signer: &AuditSigner,
    batch: &ArchiveBatch,
    events: &[AuditEvent],
    now: Timestamp,
    uploaded: &mut Vec<String>,
) -> Result<ArchiveRevision, ColdErasureError> {
    let bad = |reason: String| ColdErasureError::Manifest {
        batch: batch.id.clone(),
        reason,
    };
    let note = cold.get(&batch.manifest_key).await?;
    if sha256_hex(&note) != batch.manifest_sha256 {
        return Err(bad(format!("{} is not the recorded manifest", batch.manifest_key)));
    }
    let note = std::str::from_utf8(&note).map_err(|_| bad("the manifest is not UTF-8".into()))?;
    let current = verify_manifest(note, &signer.verifier(), signer.hmac()).map_err(|error| bad(error.to_string()))?;
    let encoded = encode_events(events);
    let new_data_key = data_key(batch.start_seq, batch.end_seq, &encoded.data_sha256);
    let manifest = Manifest {
        v: SUPERSEDING_MANIFEST_VERSION,
        data_key: new_data_key.clone(),
        data_sha256: encoded.data_sha256.clone(),
        uncompressed_sha256: encoded.uncompressed_sha256.clone(),
        bytes_compressed: encoded.compressed.len() as u64,
        bytes_uncompressed: encoded.bytes_uncompressed,
        created_at: now,
        supersedes_manifest_sha256: Some(batch.original_manifest_sha256.clone()),
        ..current
    };
    let new_note = manifest
        .sign(&signer.signer, signer.hmac())
        .map_err(|error| bad(error.to_string()))?;
    let manifest_sha256 = sha256_hex(new_note.as_bytes());
    let new_manifest_key = manifest_key(batch.start_seq, batch.end_seq, &manifest_sha256);
    let bytes_compressed = encoded.compressed.len() as u64;
    cold.put(&new_data_key, Bytes::from(encoded.compressed)).await?;
    uploaded.push(new_data_key.clone());
    cold.put(&new_manifest_key, Bytes::from(new_note)).await?;
    uploaded.push(new_manifest_key.clone());
    // Confirmed like an archive run's objects before anything refers to them.
    if cold.size(&new_data_key).await? != bytes_compressed
        || sha256_hex(&cold.get(&new_manifest_key).await?) != manifest_sha256
    {
        return Err(bad("cold storage does not hold the rewritten objects as written".into()));
    }
    Ok(ArchiveRevision {
        batch_id: batch.id.clone(),
        revision: batch.revision + 1,
        erased_events: events.iter().filter(|event| event.personal_salt.is_none()).count() as u64,
        bytes_compressed,
        bytes_uncompressed: encoded.bytes_uncompressed,
        data_sha256: encoded.data_sha256,
        manifest_sha256,
        data_key: new_data_key,
        manifest_key: new_manifest_key,
    })
}

/// Deletes objects, logging (not failing on) the ones that cannot be deleted now: whatever is
/// left is unreferenced, and superseded objects are deleted again by the next archive run.
pub async fn delete_objects(cold: Option<&ColdStorage>, keys: &[String]) {
    let Some(cold) = cold else { return };
    for key in keys {
        if let Err(error) = cold.delete(key).await {
            tracing::warn!(%error, key, "could not delete a cold-storage object; the next archive run retries");
        }
    }
}
