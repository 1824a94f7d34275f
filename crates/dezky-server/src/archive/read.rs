//! Reading archived batches back from cold storage, for queries, exports, restores and
//! bundles. Nothing is served from a data object until its SHA-256 and size match what the
//! database recorded for the batch (which is what its signed manifest names), so a tampered
//! object is refused here and reported by verification, never passed on as the log.

use crate::archive::cold::{ColdError, ColdStorage};
use crate::archive::encode::{decompress, parse_lines};
use dezky_chain::manifest::sha256_hex;
use dezky_core::AuditEvent;
use dezky_store::ArchiveBatch;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveReadError {
    #[error(transparent)]
    Cold(#[from] ColdError),
    #[error("archive batch {batch} cannot be read: {reason} (run GET /api/v1/audit/verify)")]
    Damaged { batch: String, reason: String },
}

fn damaged(batch: &ArchiveBatch, reason: impl Into<String>) -> ArchiveReadError {
    ArchiveReadError::Damaged {
        batch: batch.id.clone(),
        reason: reason.into(),
    }
}

/// The batch's uncompressed JSON Lines, after checking the data object against the record.
pub async fn read_batch_lines(cold: &ColdStorage, batch: &ArchiveBatch) -> Result<Vec<u8>, ArchiveReadError> {
    let data = cold.get(&batch.data_key).await?;
    let sha = sha256_hex(&data);
    if sha != batch.data_sha256 || data.len() as u64 != batch.bytes_compressed {
        return Err(damaged(
            batch,
            format!(
                "{} has SHA-256 {sha} ({} bytes), the recorded batch {} ({} bytes)",
                batch.data_key,
                data.len(),
                batch.data_sha256,
                batch.bytes_compressed
            ),
        ));
    }
    decompress(&data).map_err(|reason| damaged(batch, reason))
}

/// The non-empty lines of JSON Lines, without their newlines: line `i` is seq `start + i`.
pub fn event_lines(lines: &[u8]) -> impl Iterator<Item = &[u8]> {
    lines.split(|byte| *byte == b'\n').filter(|line| !line.is_empty())
}

/// The batch's events in seq order, checked to be exactly its range.
pub async fn read_batch_events(cold: &ColdStorage, batch: &ArchiveBatch) -> Result<Vec<AuditEvent>, ArchiveReadError> {
    let lines = read_batch_lines(cold, batch).await?;
    let events = parse_lines(&lines).map_err(|reason| damaged(batch, reason))?;
    let exact = events.len() as u64 == batch.event_count
        && events
            .iter()
            .zip(batch.start_seq..)
            .all(|(event, seq)| event.seq == seq);
    if !exact {
        return Err(damaged(
            batch,
            format!(
                "its events are not exactly seqs {}..={}",
                batch.start_seq, batch.end_seq
            ),
        ));
    }
    Ok(events)
}
