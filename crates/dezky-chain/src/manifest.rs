//! Archive manifests, version 1: what a cold-storage batch commits to, signed like a checkpoint.
//!
//! A batch is a contiguous seq range of events, stored as gzip-compressed JSON Lines. Its
//! manifest says which range, how the chain enters and leaves it (`firstPrevHash`, `lastHash`),
//! which signed checkpoint covers it, and the SHA-256 and size of the data both compressed and
//! uncompressed. The manifest text is one line of dezky canonical JSON, signed as a C2SP signed
//! note with the log's Ed25519 key (and the HMAC line when configured), so the same verifier
//! key checks checkpoints and manifests. Each manifest names the SHA-256 of the previous
//! batch's whole signed manifest (signature lines included), so manifests form a chain the way
//! CloudTrail digest files do: dropping, reordering or replacing one breaks the next link.
//!
//! Version 2 is a *superseding* manifest: when an erasure rewrites a batch (a new data object
//! without the erased personal fields), the new manifest names the SHA-256 of the batch's first
//! manifest in `supersedesManifestSha256`. The next batch's manifest still links to that first
//! manifest, and a verifier accepts the link because the signed successor vouches for it; the
//! event hashes are unchanged (erasure keeps every commitment), so everything else verifies as
//! before. Version 1 manifests never carry the field, so their canonical text is unchanged.

use crate::canonical::to_canonical_string;
use crate::checkpoint::{CheckpointError, NoteSigner, NoteVerifier, sign_note, verify_checkpoint_hmac, verify_note};
use dezky_core::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest format version written in every manifest (`"v": 1`).
pub const MANIFEST_VERSION: u64 = 1;
/// The version of a manifest that supersedes a batch's earlier one (`"v": 2`).
pub const SUPERSEDING_MANIFEST_VERSION: u64 = 2;

/// The signed contents of one archive batch's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub v: u64,
    /// The log's origin (the checkpoint key name), so a manifest names the log it belongs to.
    pub origin: String,
    pub start_seq: u64,
    pub end_seq: u64,
    pub event_count: u64,
    /// `prevHash` of the event at `startSeq` (lowercase hex).
    pub first_prev_hash: String,
    /// `hash` of the event at `endSeq` (lowercase hex).
    pub last_hash: String,
    /// Tree size of the latest checkpoint covering `endSeq` when the batch was made.
    pub checkpoint_tree_size: u64,
    /// That checkpoint's root hash (lowercase hex).
    pub checkpoint_root_hash: String,
    /// Object key of the data (gzip-compressed JSON Lines).
    pub data_key: String,
    pub data_sha256: String,
    pub uncompressed_sha256: String,
    pub bytes_compressed: u64,
    pub bytes_uncompressed: u64,
    pub created_at: Timestamp,
    /// SHA-256 of the previous batch's signed manifest, `null` for the batch starting at seq 0.
    pub previous_manifest_sha256: Option<String>,
    /// Version 2 only: SHA-256 of this batch's first signed manifest, which this one replaces
    /// (the next batch's manifest links to that one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes_manifest_sha256: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest signature: {0}")]
    Signature(#[from] CheckpointError),
    #[error("HMAC line of the manifest is missing (expected one by {0})")]
    MissingHmac(String),
    #[error("manifest text is not a manifest: {0}")]
    Malformed(String),
    #[error("manifest text is not in canonical form")]
    NotCanonical,
    #[error("manifest is inconsistent: {0}")]
    Inconsistent(String),
}

impl Manifest {
    /// The exact text that is signed: canonical JSON on one line, then a newline.
    pub fn text(&self) -> String {
        let value = serde_json::to_value(self).unwrap_or_default();
        let mut text = to_canonical_string(&value);
        text.push('\n');
        text
    }

    /// Internal consistency: a non-empty range whose count matches.
    pub fn check_shape(&self) -> Result<(), ManifestError> {
        match (self.v, &self.supersedes_manifest_sha256) {
            (MANIFEST_VERSION, None) | (SUPERSEDING_MANIFEST_VERSION, Some(_)) => {}
            (MANIFEST_VERSION | SUPERSEDING_MANIFEST_VERSION, _) => {
                return Err(ManifestError::Inconsistent(
                    "exactly the version 2 manifests name the manifest they supersede".into(),
                ));
            }
            (other, _) => return Err(ManifestError::Inconsistent(format!("unsupported version {other}"))),
        }
        if self.end_seq < self.start_seq || self.event_count != self.end_seq - self.start_seq + 1 {
            return Err(ManifestError::Inconsistent(format!(
                "seqs {}..={} do not hold {} events",
                self.start_seq, self.end_seq, self.event_count
            )));
        }
        if self.checkpoint_tree_size <= self.end_seq {
            return Err(ManifestError::Inconsistent(format!(
                "checkpoint of size {} does not cover seq {}",
                self.checkpoint_tree_size, self.end_seq
            )));
        }
        if (self.start_seq == 0) != self.previous_manifest_sha256.is_none() {
            return Err(ManifestError::Inconsistent(
                "only the batch starting at seq 0 has no previous manifest".into(),
            ));
        }
        Ok(())
    }

    /// The signed manifest object: a C2SP signed note over [`Manifest::text`].
    pub fn sign(&self, signer: &NoteSigner, hmac: Option<(&str, &[u8])>) -> Result<String, ManifestError> {
        self.check_shape()?;
        Ok(sign_note(&self.text(), signer, hmac)?)
    }
}

/// Checks a signed manifest's Ed25519 signature (and, with `hmac`, its HMAC line), that its
/// text is canonical, and its shape; returns the manifest.
pub fn verify_manifest(
    note: &str,
    verifier: &NoteVerifier,
    hmac: Option<(&str, &[u8])>,
) -> Result<Manifest, ManifestError> {
    let text = verify_note(note, verifier)?;
    if let Some((name, secret)) = hmac
        && !verify_checkpoint_hmac(note, name, secret)?
    {
        return Err(ManifestError::MissingHmac(name.to_owned()));
    }
    let manifest = parse_manifest_text(text)?;
    manifest.check_shape()?;
    Ok(manifest)
}

/// Parses manifest text (without checking any signature) and insists on its canonical form,
/// so one manifest has exactly one signed spelling.
pub fn parse_manifest_text(text: &str) -> Result<Manifest, ManifestError> {
    let manifest: Manifest = serde_json::from_str(text.trim_end_matches('\n'))
        .map_err(|error| ManifestError::Malformed(error.to_string()))?;
    if manifest.text() != text {
        return Err(ManifestError::NotCanonical);
    }
    Ok(manifest)
}

/// Whether a manifest's `previousManifestSha256` is a valid link to the previous batch, whose
/// current signed manifest has SHA-256 `previous_sha256` and says what it supersedes (the next
/// batch links to a batch's first manifest, which a rewrite replaces).
pub fn links_to(manifest: &Manifest, previous_sha256: &str, previous: Option<&Manifest>) -> bool {
    let Some(link) = manifest.previous_manifest_sha256.as_deref() else {
        return false;
    };
    link == previous_sha256
        || previous
            .and_then(|previous| previous.supersedes_manifest_sha256.as_deref())
            .is_some_and(|first| first == link)
}

/// Lowercase hex SHA-256 of some bytes (manifest and data hashes).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Object key of a batch's data: seq-range named and content-addressed, so a key is never
/// written with two different contents (a retried or concurrent run writes the same bytes or
/// another key).
pub fn data_key(start_seq: u64, end_seq: u64, data_sha256: &str) -> String {
    format!(
        "audit/events/{start_seq:020}-{end_seq:020}-{}.jsonl.gz",
        short(data_sha256)
    )
}

/// Object key of a batch's signed manifest (content-addressed like [`data_key`]).
pub fn manifest_key(start_seq: u64, end_seq: u64, manifest_sha256: &str) -> String {
    format!(
        "audit/manifests/{start_seq:020}-{end_seq:020}-{}.manifest",
        short(manifest_sha256)
    )
}

fn short(sha: &str) -> &str {
    sha.get(..16).unwrap_or(sha)
}

/// An inclusive seq range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    pub start: u64,
    pub end: u64,
}

impl SeqRange {
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The batches one archive run makes: consecutive ranges of at most `max_events` from
/// `first_hot_seq` up to (not including) `archivable_end`, the first seq that must stay hot
/// (the first event recorded within the retention window, or the first one no checkpoint
/// covers yet, whichever is lower).
pub fn plan_batches(first_hot_seq: u64, archivable_end: u64, max_events: u64) -> Vec<SeqRange> {
    let max_events = max_events.max(1);
    let mut batches = vec![];
    let mut start = first_hot_seq;
    while start < archivable_end {
        let end = (start + max_events).min(archivable_end) - 1;
        batches.push(SeqRange { start, end });
        start = end + 1;
    }
    batches
}

#[cfg(test)]
mod tests;
