//! Writing offline bundles (format: `dezky_chain::bundle`): a seq range from both tiers with
//! the manifests of the batches it touches, the checkpoints that prove it (each with a range
//! proof from the stored Merkle nodes) and the public verifier key.
//!
//! Archived events are copied byte for byte from their data objects (after the object's
//! SHA-256 is checked against the record), so the verifier can recompute the data hash of every
//! batch the range covers entirely; hot events are written exactly as the JSONL export writes
//! them.

use crate::archive::cold::ColdStorage;
use crate::archive::read::{ArchiveReadError, event_lines, read_batch_lines};
use crate::verification::range_hashes;
use dezky_chain::bundle::{BUNDLE_FORMAT, BUNDLE_VERSION, BundleCheckpoint, BundleHeader};
use dezky_chain::checkpoint::NoteVerifier;
use dezky_chain::manifest::{parse_manifest_text, sha256_hex};
use dezky_chain::range_proof::range_proof_ranges;
use dezky_core::Timestamp;
use dezky_store::{CheckpointRecord, Store, StoreError};
use std::collections::BTreeSet;
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum BundleWriteError {
    /// The request cannot be served as asked (the message names the option).
    #[error("{0}")]
    Input(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Archive(#[from] ArchiveReadError),
    #[error(
        "the range reaches archived events but no cold storage is configured (set AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT)"
    )]
    NoColdStorage,
    #[error("the log is not whole: {0} (run dezky verify)")]
    Incomplete(String),
    #[error("writing the bundle: {0}")]
    Io(#[from] std::io::Error),
}

/// What a bundle holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleSummary {
    pub events: u64,
    pub manifests: u64,
    pub checkpoints: u64,
}

/// Events read from the hot table per query.
const HOT_PAGE: u32 = 5_000;

/// Writes the bundle of seqs `from..=to` to `out`.
pub async fn write_bundle(
    store: &dyn Store,
    cold: Option<&ColdStorage>,
    key: &NoteVerifier,
    (from, to): (u64, u64),
    now: Timestamp,
    out: &mut dyn Write,
) -> Result<BundleSummary, BundleWriteError> {
    if from > to {
        return Err(BundleWriteError::Input(format!("--from {from} is above --to {to}")));
    }
    let size = store.next_seq().await?;
    if to >= size {
        return Err(BundleWriteError::Input(match size {
            0 => "the log is empty".to_owned(),
            _ => format!("--to {to} is beyond the log's last seq {}", size - 1),
        }));
    }
    let checkpoints = store.list_checkpoints().await?;
    let covering = checkpoints
        .iter()
        .find(|checkpoint| checkpoint.tree_size > to)
        .ok_or_else(|| {
            BundleWriteError::Input(format!(
                "seq {to} is not covered by a signed checkpoint yet (the latest covers seqs below {}); \
                 make one with POST /api/v1/audit/checkpoint and try again",
                checkpoints.last().map_or(0, |checkpoint| checkpoint.tree_size)
            ))
        })?;
    let batches: Vec<_> = store
        .list_archive_batches()
        .await?
        .into_iter()
        .filter(|batch| batch.end_seq >= from && batch.start_seq <= to)
        .collect();
    let cold = match (batches.is_empty(), cold) {
        (true, _) => None,
        (false, Some(cold)) => Some(cold),
        (false, None) => return Err(BundleWriteError::NoColdStorage),
    };
    let mut manifests = vec![];
    let mut sizes = BTreeSet::from([covering.tree_size]);
    for batch in &batches {
        let note = cold
            .ok_or(BundleWriteError::NoColdStorage)?
            .get(&batch.manifest_key)
            .await
            .map_err(ArchiveReadError::from)?;
        if sha256_hex(&note) != batch.manifest_sha256 {
            return Err(ArchiveReadError::Damaged {
                batch: batch.id.clone(),
                reason: format!("{} is not the recorded manifest", batch.manifest_key),
            }
            .into());
        }
        let note = String::from_utf8_lossy(&note).into_owned();
        // The manifest names the checkpoint that covered its batch; carrying it lets the
        // auditor check that root too.
        let text = note
            .split_once("\n\n")
            .map(|(text, _)| format!("{text}\n"))
            .unwrap_or_default();
        if let Ok(manifest) = parse_manifest_text(&text) {
            sizes.insert(manifest.checkpoint_tree_size);
        }
        manifests.push(note);
    }
    let mut bundle_checkpoints = vec![];
    for checkpoint in checkpoints
        .iter()
        .filter(|checkpoint| checkpoint.tree_size > from && sizes.contains(&checkpoint.tree_size))
    {
        bundle_checkpoints.push(bundle_checkpoint(store, checkpoint, from, to).await?);
    }
    let header = BundleHeader {
        format: BUNDLE_FORMAT.to_owned(),
        v: BUNDLE_VERSION,
        origin: key.name().to_owned(),
        verifier_key: key.to_vkey(),
        from_seq: from,
        to_seq: to,
        created_at: now,
        manifests,
        checkpoints: bundle_checkpoints,
    };
    let summary = BundleSummary {
        events: to - from + 1,
        manifests: header.manifests.len() as u64,
        checkpoints: header.checkpoints.len() as u64,
    };
    serde_json::to_writer(&mut *out, &header).map_err(std::io::Error::other)?;
    out.write_all(b"\n")?;

    let mut next = from;
    for batch in &batches {
        let Some(cold) = cold else { break };
        let lines = read_batch_lines(cold, batch).await?;
        for (line, seq) in event_lines(&lines).zip(batch.start_seq..) {
            if seq < from || seq > to {
                continue;
            }
            if seq != next {
                return Err(BundleWriteError::Incomplete(format!(
                    "seq {next} is missing from {}",
                    batch.data_key
                )));
            }
            out.write_all(line)?;
            out.write_all(b"\n")?;
            next += 1;
        }
    }
    while next <= to {
        let page = store.events_in_order(next.checked_sub(1), HOT_PAGE).await?;
        if page.first().map(|event| event.seq) != Some(next) {
            return Err(BundleWriteError::Incomplete(format!(
                "seq {next} is neither archived nor in hot storage"
            )));
        }
        for event in page.iter().take_while(|event| event.seq <= to) {
            serde_json::to_writer(&mut *out, event).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
            next = event.seq + 1;
        }
    }
    out.flush()?;
    Ok(summary)
}

async fn bundle_checkpoint(
    store: &dyn Store,
    checkpoint: &CheckpointRecord,
    from: u64,
    to: u64,
) -> Result<BundleCheckpoint, BundleWriteError> {
    let run_end = (to + 1).min(checkpoint.tree_size);
    let ranges = range_proof_ranges(from, run_end, checkpoint.tree_size)
        .map_err(|error| BundleWriteError::Incomplete(format!("checkpoint {}: {error}", checkpoint.tree_size)))?;
    let hashes = range_hashes(store, &ranges).await?;
    Ok(BundleCheckpoint {
        note: checkpoint.note.clone(),
        range_proof: hashes.iter().map(hex::encode).collect(),
    })
}
