//! Verification across tiers: from seq 0 through every archive batch into the hot tail, with
//! one streaming verifier, so the chain, the Merkle tree and every checkpoint are checked as
//! if the log had never been split.
//!
//! Per batch: the manifest object is the one the database recorded (SHA-256), its signature
//! verifies, it chains to the previous manifest, the data object has the signed size and
//! hashes, and every archived event is pushed through the same checks as a hot one.

use crate::archive::cold::{ColdError, ColdStorage};
use crate::archive::encode::{decompress, parse_lines};
use crate::verification::{finish_with_head, push_events, stored_checkpoints, walk_hot};
use dezky_chain::manifest::{Manifest, sha256_hex, verify_manifest};
use dezky_chain::verify::{Break, BreakKind, CheckpointKeys, Report, Verifier};
use dezky_store::{ArchiveBatch, Store, StoreError};
use serde::Serialize;

/// The verification report with the tier boundary.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TieredReport {
    #[serde(flatten)]
    pub report: Report,
    /// The lowest seq in hot storage (`null` when the hot table is empty).
    pub oldest_hot_seq: Option<u64>,
    /// The last seq of the last archive batch (`null` when nothing was archived).
    pub highest_archived_seq: Option<u64>,
    pub archive_batches_verified: u64,
}

fn batch_break(kind: BreakKind, seq: u64, expected: impl Into<String>, actual: impl Into<String>) -> Break {
    Break {
        kind,
        seq: Some(seq),
        tree_size: None,
        expected: Some(expected.into()),
        actual: Some(actual.into()),
    }
}

/// Verifies both tiers. `cold` is `None` when no cold storage is configured: then every
/// recorded batch is reported missing.
pub async fn verify_across_tiers(
    store: &dyn Store,
    cold: Option<&ColdStorage>,
    keys: Option<CheckpointKeys<'_>>,
) -> Result<TieredReport, StoreError> {
    let manifest_keys = keys.as_ref().map(|keys| (keys.verifier.clone(), keys.hmac));
    let mut verifier = Verifier::new(stored_checkpoints(store).await?, keys);
    let head = store.chain_head().await?;
    let batches = store.list_archive_batches().await?;
    let mut expected_start = 0;
    let mut previous_batch: Option<&ArchiveBatch> = None;
    let mut verified_batches = 0;
    for batch in &batches {
        if batch.start_seq != expected_start {
            verifier.report_break(batch_break(
                BreakKind::ArchiveSeqDiscontinuity,
                expected_start.min(batch.start_seq),
                format!("a batch starting at seq {expected_start}"),
                format!("batch {} covers {}..={}", batch.id, batch.start_seq, batch.end_seq),
            ));
        }
        let check = BatchCheck {
            batch,
            cold,
            keys: manifest_keys.as_ref().map(|(verifier, hmac)| (verifier, *hmac)),
            previous_batch,
        };
        check.run(&mut verifier).await;
        verified_batches += 1;
        expected_start = batch.end_seq + 1;
        previous_batch = Some(batch);
    }
    let highest_archived_seq = batches.last().map(|batch| batch.end_seq);
    let oldest_hot_seq = store.oldest_hot_seq().await?;
    // Rows of the last batch may still be hot (a run stopped between recording and deleting):
    // they are verified from the archive and skipped here. Hot rows starting after the archive
    // ends mean events are in neither tier.
    if let (Some(highest), Some(oldest)) = (highest_archived_seq, oldest_hot_seq)
        && oldest > highest + 1
    {
        verifier.report_break(batch_break(
            BreakKind::ArchiveSeqDiscontinuity,
            highest + 1,
            format!("seq {} in hot storage or in an archive batch", highest + 1),
            format!("hot storage starts at seq {oldest}"),
        ));
    }
    if highest_archived_seq.is_none()
        && let Some(oldest) = oldest_hot_seq.filter(|oldest| *oldest > 0)
    {
        verifier.report_break(batch_break(
            BreakKind::ArchiveSeqDiscontinuity,
            0,
            "seq 0 in hot storage or in an archive batch",
            format!("no batch is recorded and hot storage starts at seq {oldest}"),
        ));
    }
    let last_hash = walk_hot(store, &mut verifier, highest_archived_seq).await?;
    let report = finish_with_head(store, verifier, &head, last_hash).await?;
    Ok(TieredReport {
        report,
        oldest_hot_seq,
        highest_archived_seq,
        archive_batches_verified: verified_batches,
    })
}

/// The HMAC key name and secret, when manifests carry an HMAC line.
type HmacKey<'a> = Option<(&'a str, &'a [u8])>;

struct BatchCheck<'a> {
    batch: &'a ArchiveBatch,
    cold: Option<&'a ColdStorage>,
    keys: Option<(&'a dezky_chain::checkpoint::NoteVerifier, HmacKey<'a>)>,
    /// The batch before this one: this manifest links to its first manifest (or, before any
    /// rewrite, its only one).
    previous_batch: Option<&'a ArchiveBatch>,
}

impl BatchCheck<'_> {
    async fn fetch(&self, key: &str) -> Result<bytes::Bytes, String> {
        let Some(cold) = self.cold else {
            return Err(ColdError::NotConfigured.to_string());
        };
        cold.get(key).await.map_err(|error| error.to_string())
    }

    /// Checks one batch; pushes its events when the data can be read at all.
    async fn run(&self, verifier: &mut Verifier<'_>) {
        let batch = self.batch;
        let at = batch.start_seq;
        let manifest = match self.fetch(&batch.manifest_key).await {
            Ok(bytes) => self.check_manifest(&bytes, verifier),
            Err(reason) => {
                verifier.report_break(batch_break(
                    BreakKind::ArchiveMissing,
                    at,
                    batch.manifest_key.clone(),
                    reason,
                ));
                None
            }
        };
        let data = match self.fetch(&batch.data_key).await {
            Ok(bytes) => bytes,
            Err(reason) => {
                verifier.report_break(batch_break(
                    BreakKind::ArchiveMissing,
                    at,
                    batch.data_key.clone(),
                    reason,
                ));
                return;
            }
        };
        let data_sha256 = sha256_hex(&data);
        let signed_sha = manifest
            .as_ref()
            .map_or(&batch.data_sha256, |manifest| &manifest.data_sha256);
        if &data_sha256 != signed_sha || data_sha256 != batch.data_sha256 || data.len() as u64 != batch.bytes_compressed
        {
            verifier.report_break(batch_break(
                BreakKind::ArchiveDataHashMismatch,
                at,
                format!(
                    "{} with SHA-256 {signed_sha} ({} bytes)",
                    batch.data_key, batch.bytes_compressed
                ),
                format!("SHA-256 {data_sha256} ({} bytes)", data.len()),
            ));
        }
        let events = decompress(&data).and_then(|lines| {
            let lines_sha = sha256_hex(&lines);
            if let Some(manifest) = manifest
                .as_ref()
                .filter(|manifest| manifest.uncompressed_sha256 != lines_sha)
            {
                verifier.report_break(batch_break(
                    BreakKind::ArchiveDataHashMismatch,
                    at,
                    format!("uncompressed SHA-256 {}", manifest.uncompressed_sha256),
                    format!("uncompressed SHA-256 {lines_sha}"),
                ));
            }
            // The events are still checked one by one, so a changed event is named.
            parse_lines(&lines)
        });
        let events = match events {
            Ok(events) => events,
            Err(reason) => {
                verifier.report_break(batch_break(
                    BreakKind::ArchiveDataHashMismatch,
                    at,
                    "the signed JSON Lines of the batch",
                    reason,
                ));
                return;
            }
        };
        if events.len() as u64 != batch.event_count
            || events.first().map(|event| event.seq) != Some(batch.start_seq)
            || events.last().map(|event| event.seq) != Some(batch.end_seq)
        {
            verifier.report_break(batch_break(
                BreakKind::ArchiveSeqDiscontinuity,
                at,
                format!(
                    "{} events, seqs {}..={}",
                    batch.event_count, batch.start_seq, batch.end_seq
                ),
                format!(
                    "{} events, seqs {:?}..={:?}",
                    events.len(),
                    events.first().map(|event| event.seq),
                    events.last().map(|event| event.seq)
                ),
            ));
        }
        push_events(verifier, &events);
    }

    /// The manifest is the recorded one, signed, and chained; returns it when it can be read.
    fn check_manifest(&self, bytes: &[u8], verifier: &mut Verifier<'_>) -> Option<Manifest> {
        let batch = self.batch;
        let at = batch.start_seq;
        let mismatch = |verifier: &mut Verifier<'_>, expected: String, actual: String| {
            verifier.report_break(batch_break(BreakKind::ManifestSignatureMismatch, at, expected, actual));
        };
        let sha = sha256_hex(bytes);
        if sha != batch.manifest_sha256 {
            mismatch(
                verifier,
                format!("manifest {} with SHA-256 {}", batch.manifest_key, batch.manifest_sha256),
                format!("SHA-256 {sha}"),
            );
        }
        let Ok(note) = std::str::from_utf8(bytes) else {
            mismatch(verifier, "a signed manifest".into(), "bytes that are not UTF-8".into());
            return None;
        };
        let manifest = match self.keys {
            Some((note_verifier, hmac)) => match verify_manifest(note, note_verifier, hmac) {
                Ok(manifest) => manifest,
                Err(error) => {
                    mismatch(
                        verifier,
                        format!("a manifest signed by {}", note_verifier.to_vkey()),
                        error.to_string(),
                    );
                    return None;
                }
            },
            None => {
                let text = note
                    .split_once("\n\n")
                    .map(|(text, _)| format!("{text}\n"))
                    .unwrap_or_default();
                match dezky_chain::manifest::parse_manifest_text(&text) {
                    Ok(manifest) => manifest,
                    Err(error) => {
                        mismatch(verifier, "a manifest".into(), error.to_string());
                        return None;
                    }
                }
            }
        };
        // The link names the previous batch's first manifest; its current manifest (checked
        // when that batch was) supersedes exactly that one, so both hashes are vouched for.
        let link = manifest.previous_manifest_sha256.as_deref();
        let linked = match self.previous_batch {
            None => link.is_none(),
            Some(previous) => {
                link == Some(previous.original_manifest_sha256.as_str())
                    || link == Some(previous.manifest_sha256.as_str())
            }
        };
        if !linked {
            mismatch(
                verifier,
                format!(
                    "a manifest chained to {:?}",
                    self.previous_batch.map(|previous| &previous.original_manifest_sha256)
                ),
                format!("chained to {:?}", manifest.previous_manifest_sha256),
            );
        }
        // A rewritten batch's manifest must say which first manifest it replaces; an original
        // one must not claim to replace anything.
        let expected_supersedes = (batch.revision > 0).then_some(batch.original_manifest_sha256.as_str());
        if manifest.supersedes_manifest_sha256.as_deref() != expected_supersedes {
            mismatch(
                verifier,
                format!("a manifest superseding {expected_supersedes:?}"),
                format!("superseding {:?}", manifest.supersedes_manifest_sha256),
            );
        }
        if manifest.start_seq != batch.start_seq
            || manifest.end_seq != batch.end_seq
            || manifest.data_key != batch.data_key
            || manifest.data_sha256 != batch.data_sha256
        {
            mismatch(
                verifier,
                format!(
                    "a manifest of seqs {}..={} in {}",
                    batch.start_seq, batch.end_seq, batch.data_key
                ),
                format!(
                    "seqs {}..={} in {}",
                    manifest.start_seq, manifest.end_seq, manifest.data_key
                ),
            );
        }
        Some(manifest)
    }
}
