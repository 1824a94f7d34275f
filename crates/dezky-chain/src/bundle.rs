//! Offline bundles, format version 1: a seq range of the log that an auditor verifies on
//! another machine with nothing but the bundle (no network, no database, no object paths).
//!
//! A bundle is a JSON Lines file. Line 1 is the [`BundleHeader`]: the range, the log's origin
//! and public verifier key, the signed manifests of every archive batch overlapping the range
//! (in seq order), and signed checkpoints, each with a range proof for the bundle's events.
//! Every further line is one event of the range in seq order, byte for byte as the JSONL
//! export and the archive's data objects write it, so `tail -n +2` of a bundle is an export.
//!
//! What verification proves (see [`BundleVerifier`]):
//! - every event's content hashes to its leaf and chain hash, and the chain links within the
//!   range (the first event's prevHash is taken as given unless the range starts at seq 0);
//! - every checkpoint's Ed25519 signature, and that the events' recomputed leaves sit at their
//!   seqs in that checkpoint's tree: the root is rebuilt from the leaves plus the O(log n)
//!   subtree hashes left and right of the range ([`crate::range_proof`]). For a range starting
//!   at 0 and a checkpoint no larger than it, the proof is empty: the tree is fully covered;
//! - at least one checkpoint covers the whole range (its tree size is above `toSeq`);
//! - every manifest's signature, the chain between consecutive manifests (a link to the first
//!   manifest of a batch rewritten by an erasure counts when its superseding manifest names it),
//!   contiguous batches,
//!   and the manifest's checkpoint root against the bundle's checkpoint of that size;
//! - for every batch entirely inside the range: the SHA-256 of its uncompressed data,
//!   recomputed from the event lines; for a batch cut by the range, the manifest's
//!   `firstPrevHash` / `lastHash` where they fall inside (the events themselves are proven by
//!   the checkpoint range proof, which does not depend on batches).
//!
//! What it cannot prove: that the verifier key is the log's (pin it with a key obtained
//! elsewhere), anything outside the range, the HMAC lines (the secret is not in the bundle),
//! or why an erased event inside the range was erased when its `audit.erased` record lies
//! outside it (such seqs are listed, not reported as breaks: the leaf still verifies).

use crate::checkpoint::{Checkpoint, NoteVerifier, verify_checkpoint};
use crate::leaf::parse_hash;
use crate::manifest::{Manifest, links_to, parse_manifest_text, sha256_hex, verify_manifest};
use crate::merkle::Hash;
use crate::range_proof::RangeRootBuilder;
use crate::verify::{Break, BreakKind, ErasureAccounting, Report, Verifier, push_stored_event};
use dezky_core::{AuditEvent, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `format` value of every bundle header.
pub const BUNDLE_FORMAT: &str = "dezky-audit-bundle";
/// The bundle format version this code writes and reads.
pub const BUNDLE_VERSION: u64 = 1;

/// Line 1 of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleHeader {
    pub format: String,
    pub v: u64,
    /// The log's origin (the checkpoint key name).
    pub origin: String,
    /// The public Ed25519 verifier key (`name+keyid+base64`) the notes are signed with.
    pub verifier_key: String,
    pub from_seq: u64,
    pub to_seq: u64,
    pub created_at: Timestamp,
    /// Signed manifests of the archive batches that overlap the range, in seq order.
    pub manifests: Vec<String>,
    pub checkpoints: Vec<BundleCheckpoint>,
}

/// A signed checkpoint and the proof that the bundle's events are in its tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleCheckpoint {
    pub note: String,
    /// Lowercase hex hashes of the subtrees outside the range, in the order of
    /// [`crate::range_proof::range_proof_ranges`] for the run `fromSeq ..
    /// min(toSeq + 1, treeSize)`.
    pub range_proof: Vec<String>,
}

/// A bundle that cannot be verified at all (as opposed to one that verifies with breaks).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BundleError {
    #[error("not a dezky audit bundle: {0}")]
    NotABundle(String),
    #[error("bundle format version {0} is not supported (this verifier reads version {BUNDLE_VERSION})")]
    UnsupportedVersion(u64),
    #[error("the bundle's verifier key: {0}")]
    BadKey(String),
    #[error("the bundle's range is empty: fromSeq {from} is above toSeq {to}")]
    EmptyRange { from: u64, to: u64 },
}

/// Parses line 1. The format name and version are checked before the fields, so a newer
/// bundle is reported as a newer version rather than as malformed.
pub fn parse_header(line: &[u8]) -> Result<BundleHeader, BundleError> {
    let value: serde_json::Value = serde_json::from_slice(line)
        .map_err(|error| BundleError::NotABundle(format!("the first line is not JSON ({error})")))?;
    if value.get("format").and_then(|format| format.as_str()) != Some(BUNDLE_FORMAT) {
        return Err(BundleError::NotABundle(format!(
            "the first line has no \"format\": \"{BUNDLE_FORMAT}\""
        )));
    }
    match value.get("v").and_then(|v| v.as_u64()) {
        Some(BUNDLE_VERSION) => {}
        Some(other) => return Err(BundleError::UnsupportedVersion(other)),
        None => return Err(BundleError::NotABundle("the header has no version \"v\"".into())),
    }
    let header: BundleHeader =
        serde_json::from_value(value).map_err(|error| BundleError::NotABundle(format!("header: {error}")))?;
    if header.from_seq > header.to_seq {
        return Err(BundleError::EmptyRange {
            from: header.from_seq,
            to: header.to_seq,
        });
    }
    Ok(header)
}

/// The verification report of a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleReport {
    #[serde(flatten)]
    pub report: Report,
    pub origin: String,
    pub from_seq: u64,
    pub to_seq: u64,
    /// The key the signatures were checked with.
    pub verifier_key: String,
    /// True when that key came from the bundle itself (not pinned by the auditor): the
    /// bundle is then only as trustworthy as the way the key was obtained.
    pub key_from_bundle: bool,
    pub manifests_verified: u64,
    /// Batches entirely inside the range whose data hash was recomputed from the events.
    pub batches_data_verified: u64,
    /// Erased events inside the range whose `audit.erased` record is outside it.
    pub erased_without_record_in_range: Vec<u64>,
}

struct ManifestCheck {
    /// `None` when the signature or the text did not verify (nothing of it is trusted).
    manifest: Option<Manifest>,
    fully_covered: bool,
    lines: Sha256,
    lines_seen: u64,
}

struct CheckpointCheck {
    tree_size: u64,
    root: Hash,
    /// `None` when the checkpoint proves nothing about the range (its tree ends before it).
    builder: Option<RangeRootBuilder>,
    /// `None` when a proof hash is not hex.
    proof: Option<Vec<Hash>>,
}

/// Streams a bundle's event lines through every check; see the module documentation.
pub struct BundleVerifier {
    header: BundleHeader,
    key: NoteVerifier,
    key_from_bundle: bool,
    chain: Verifier<'static>,
    manifests: Vec<ManifestCheck>,
    checkpoints: Vec<CheckpointCheck>,
    breaks: Vec<Break>,
    line_number: u64,
    last_seq: Option<u64>,
}

fn found(kind: BreakKind, seq: Option<u64>, expected: impl Into<String>, actual: impl Into<String>) -> Break {
    Break {
        kind,
        seq,
        tree_size: None,
        expected: Some(expected.into()),
        actual: Some(actual.into()),
    }
}

/// The signed text of a note, unverified (to locate a manifest or checkpoint whose signature
/// failed, so its break can be reported where it belongs).
fn unverified_text(note: &str) -> String {
    note.split_once("\n\n")
        .map(|(text, _)| format!("{text}\n"))
        .unwrap_or_default()
}

impl BundleVerifier {
    /// `pinned`: the verifier key the auditor trusts (from elsewhere); without it the
    /// bundle's own key is used and the report says so.
    pub fn new(header: BundleHeader, pinned: Option<NoteVerifier>) -> Result<BundleVerifier, BundleError> {
        let own_key = NoteVerifier::parse_vkey(header.verifier_key.trim())
            .map_err(|error| BundleError::BadKey(error.to_string()))?;
        let key_from_bundle = pinned.is_none();
        let key = pinned.unwrap_or(own_key);
        let mut verifier = BundleVerifier {
            chain: Verifier::starting_at(header.from_seq),
            key,
            key_from_bundle,
            manifests: vec![],
            checkpoints: vec![],
            breaks: vec![],
            line_number: 1,
            last_seq: None,
            header,
        };
        verifier.check_manifests();
        verifier.check_checkpoints();
        verifier.cross_check_manifest_checkpoints();
        Ok(verifier)
    }

    fn check_manifests(&mut self) {
        let (from, to) = (self.header.from_seq, self.header.to_seq);
        let mut previous: Option<(&str, Manifest)> = None;
        for note in &self.header.manifests {
            let manifest = match verify_manifest(note, &self.key, None) {
                Ok(manifest) => Some(manifest),
                Err(error) => {
                    let at = parse_manifest_text(&unverified_text(note)).map_or(from, |m| m.start_seq);
                    self.breaks.push(found(
                        BreakKind::ManifestSignatureMismatch,
                        Some(at),
                        format!("a manifest signed by {}", self.key.to_vkey()),
                        error.to_string(),
                    ));
                    None
                }
            };
            if let Some(manifest) = &manifest {
                let at = Some(manifest.start_seq);
                if manifest.origin != self.header.origin {
                    self.breaks.push(found(
                        BreakKind::ManifestSignatureMismatch,
                        at,
                        format!("a manifest of the log {}", self.header.origin),
                        format!("a manifest of the log {}", manifest.origin),
                    ));
                }
                if let Some((previous_note, previous_manifest)) = &previous {
                    let previous_sha = sha256_hex(previous_note.as_bytes());
                    let previous_end = previous_manifest.end_seq;
                    if !links_to(manifest, &previous_sha, Some(previous_manifest)) {
                        self.breaks.push(found(
                            BreakKind::ManifestSignatureMismatch,
                            at,
                            format!("a manifest chained to {previous_sha}"),
                            format!("chained to {:?}", manifest.previous_manifest_sha256),
                        ));
                    }
                    if manifest.start_seq != previous_end + 1 {
                        self.breaks.push(found(
                            BreakKind::ArchiveSeqDiscontinuity,
                            at,
                            format!("a batch starting at seq {}", previous_end + 1),
                            format!("a batch of seqs {}..={}", manifest.start_seq, manifest.end_seq),
                        ));
                    }
                }
                if manifest.end_seq < from || manifest.start_seq > to {
                    self.breaks.push(found(
                        BreakKind::ArchiveSeqDiscontinuity,
                        at,
                        format!("a batch overlapping seqs {from}..={to}"),
                        format!("a batch of seqs {}..={}", manifest.start_seq, manifest.end_seq),
                    ));
                }
                previous = Some((note, manifest.clone()));
            } else {
                previous = None;
            }
            let fully_covered = manifest
                .as_ref()
                .is_some_and(|manifest| from <= manifest.start_seq && manifest.end_seq <= to);
            self.manifests.push(ManifestCheck {
                manifest,
                fully_covered,
                lines: Sha256::new(),
                lines_seen: 0,
            });
        }
    }

    fn check_checkpoints(&mut self) {
        let (from, to) = (self.header.from_seq, self.header.to_seq);
        for checkpoint in &self.header.checkpoints {
            let parsed = match verify_checkpoint(&checkpoint.note, &self.key) {
                Ok(parsed) => Some(parsed),
                Err(error) => {
                    let body = Checkpoint::parse_body(&unverified_text(&checkpoint.note)).ok();
                    self.breaks.push(Break {
                        tree_size: body.as_ref().map(|body| body.tree_size),
                        ..found(
                            BreakKind::CheckpointSignatureMismatch,
                            None,
                            format!("a checkpoint signed by {}", self.key.to_vkey()),
                            error.to_string(),
                        )
                    });
                    // Its root is still checked, so a forged root is named as well.
                    body
                }
            };
            let Some(parsed) = parsed else { continue };
            if parsed.origin != self.header.origin {
                self.breaks.push(Break {
                    tree_size: Some(parsed.tree_size),
                    ..found(
                        BreakKind::CheckpointSignatureMismatch,
                        None,
                        format!("a checkpoint of the log {}", self.header.origin),
                        format!("a checkpoint of the log {}", parsed.origin),
                    )
                });
            }
            let builder = RangeRootBuilder::new(from, (to + 1).min(parsed.tree_size), parsed.tree_size).ok();
            if builder.is_none() {
                self.breaks.push(Break {
                    tree_size: Some(parsed.tree_size),
                    ..found(
                        BreakKind::CheckpointRootMismatch,
                        None,
                        format!("a checkpoint of a tree larger than seq {from}"),
                        format!("a tree of {} leaves", parsed.tree_size),
                    )
                });
            }
            let proof = checkpoint
                .range_proof
                .iter()
                .map(|text| parse_hash(text))
                .collect::<Option<Vec<Hash>>>();
            self.checkpoints.push(CheckpointCheck {
                tree_size: parsed.tree_size,
                root: parsed.root_hash,
                builder,
                proof,
            });
        }
        if !self.checkpoints.iter().any(|checkpoint| checkpoint.tree_size > to) {
            self.breaks.push(found(
                BreakKind::CheckpointRootMismatch,
                Some(to),
                format!("a signed checkpoint covering seq {to}"),
                "none in the bundle",
            ));
        }
    }

    /// A manifest names the checkpoint that covered its batch; when the bundle holds that
    /// checkpoint, both must name the same root.
    fn cross_check_manifest_checkpoints(&mut self) {
        for manifest in self.manifests.iter().filter_map(|check| check.manifest.as_ref()) {
            let Some(checkpoint) = self
                .checkpoints
                .iter()
                .find(|checkpoint| checkpoint.tree_size == manifest.checkpoint_tree_size)
            else {
                continue;
            };
            let root = hex::encode(checkpoint.root);
            if root != manifest.checkpoint_root_hash {
                self.breaks.push(Break {
                    tree_size: Some(checkpoint.tree_size),
                    ..found(
                        BreakKind::CheckpointRootMismatch,
                        Some(manifest.start_seq),
                        format!("the root {root} signed for tree size {}", checkpoint.tree_size),
                        format!("the manifest names root {}", manifest.checkpoint_root_hash),
                    )
                });
            }
        }
    }

    /// One line after the header, without its newline. Empty lines are skipped.
    pub fn push_line(&mut self, line: &[u8]) {
        self.line_number += 1;
        if line.is_empty() {
            return;
        }
        let expected = self.chain.expected_seq();
        let event: AuditEvent = match serde_json::from_slice(line) {
            Ok(event) => event,
            Err(error) => {
                self.breaks.push(found(
                    BreakKind::EventHashMismatch,
                    Some(expected),
                    "an exported audit event",
                    format!("line {}: {error}", self.line_number),
                ));
                return;
            }
        };
        let seq = event.seq;
        if seq < self.header.from_seq || seq > self.header.to_seq {
            self.breaks.push(found(
                BreakKind::SeqGap,
                Some(seq),
                format!("seqs {}..={}", self.header.from_seq, self.header.to_seq),
                format!("line {} holds seq {seq}", self.line_number),
            ));
            return;
        }
        let leaf = push_stored_event(&mut self.chain, &event);
        self.last_seq = Some(seq);
        for checkpoint in &mut self.checkpoints {
            if let Some(builder) = &mut checkpoint.builder {
                builder.push(seq, leaf);
            }
        }
        for check in &mut self.manifests {
            let Some(manifest) = &check.manifest else { continue };
            if seq < manifest.start_seq || seq > manifest.end_seq {
                continue;
            }
            if check.fully_covered {
                check.lines.update(line);
                check.lines.update(b"\n");
                check.lines_seen += 1;
            }
            if seq == manifest.start_seq && event.prev_hash.as_deref() != Some(manifest.first_prev_hash.as_str()) {
                self.breaks.push(found(
                    BreakKind::ArchiveDataHashMismatch,
                    Some(seq),
                    format!("prevHash {} (the manifest's firstPrevHash)", manifest.first_prev_hash),
                    format!("{:?}", event.prev_hash),
                ));
            }
            if seq == manifest.end_seq && event.hash.as_deref() != Some(manifest.last_hash.as_str()) {
                self.breaks.push(found(
                    BreakKind::ArchiveDataHashMismatch,
                    Some(seq),
                    format!("hash {} (the manifest's lastHash)", manifest.last_hash),
                    format!("{:?}", event.hash),
                ));
            }
        }
    }

    pub fn finish(mut self) -> BundleReport {
        let (from, to) = (self.header.from_seq, self.header.to_seq);
        if self.last_seq != Some(to) {
            let next = self.last_seq.map_or(from, |seq| seq + 1);
            self.breaks.push(found(
                BreakKind::SeqGap,
                Some(next),
                format!("events up to seq {to}"),
                match self.last_seq {
                    Some(last) => format!("the events end at seq {last}"),
                    None => "no events".to_owned(),
                },
            ));
        }
        let mut manifests_verified = 0;
        let mut batches_data_verified = 0;
        for check in self.manifests {
            let Some(manifest) = check.manifest else { continue };
            manifests_verified += 1;
            if !check.fully_covered {
                continue;
            }
            let sha = hex::encode(check.lines.finalize());
            if check.lines_seen != manifest.event_count || sha != manifest.uncompressed_sha256 {
                self.breaks.push(found(
                    BreakKind::ArchiveDataHashMismatch,
                    Some(manifest.start_seq),
                    format!(
                        "{} events with uncompressed SHA-256 {}",
                        manifest.event_count, manifest.uncompressed_sha256
                    ),
                    format!("{} events with SHA-256 {sha}", check.lines_seen),
                ));
            } else {
                batches_data_verified += 1;
            }
        }
        let mut checkpoints_verified = 0;
        for checkpoint in self.checkpoints {
            let Some(builder) = checkpoint.builder else { continue };
            checkpoints_verified += 1;
            let recomputed = checkpoint.proof.and_then(|proof| builder.finish(&proof));
            if recomputed != Some(checkpoint.root) {
                self.breaks.push(Break {
                    kind: BreakKind::CheckpointRootMismatch,
                    seq: None,
                    tree_size: Some(checkpoint.tree_size),
                    expected: Some(hex::encode(checkpoint.root)),
                    actual: Some(recomputed.map_or_else(
                        || "no root: events missing or out of order, or a malformed range proof".to_owned(),
                        hex::encode,
                    )),
                });
            }
        }
        let (mut report, erased_without_record_in_range) =
            self.chain.finish_with_erasures(ErasureAccounting::InRangeOnly);
        report.breaks.append(&mut self.breaks);
        report
            .breaks
            .sort_by_key(|b| (b.seq.or(b.tree_size).unwrap_or(0), b.kind as u8));
        report.ok = report.breaks.is_empty();
        report.checkpoints_verified = checkpoints_verified;
        BundleReport {
            report,
            origin: self.header.origin,
            from_seq: from,
            to_seq: to,
            verifier_key: self.key.to_vkey(),
            key_from_bundle: self.key_from_bundle,
            manifests_verified,
            batches_data_verified,
            erased_without_record_in_range,
        }
    }
}

#[cfg(test)]
mod tests;
