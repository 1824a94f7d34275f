//! Streaming verification of a whole log: every event, the chain, and every checkpoint.
//!
//! The caller feeds events in `seq` order and gets a report of *every* break, not just the
//! first. Memory stays constant in the number of events (a Merkle frontier of O(log n) hashes,
//! plus the seqs of erased events, which are few).

use crate::checkpoint::{NoteVerifier, verify_checkpoint, verify_checkpoint_hmac};
use crate::leaf::{
    GENESIS_PREV_HASH, LeafHeader, PersonalFields, chain_hash, leaf_hash, parse_hash, personal_commitment,
};
use crate::merkle::{Frontier, Hash};
use dezky_core::AuditEvent;
use serde::Serialize;
use std::collections::BTreeSet;

/// The action of the event that records an erasure; its metadata lists the erased seqs.
pub const ERASURE_ACTION: &str = "audit.erased";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakKind {
    /// The row's content no longer hashes to its stored leaf/hash: changed in place.
    EventHashMismatch,
    /// The row's prevHash is not the previous row's hash: a row was inserted or deleted.
    EventPrevHashMismatch,
    /// A seq is missing or out of order.
    SeqGap,
    /// A checkpoint's signature does not verify with the log's key.
    CheckpointSignatureMismatch,
    /// A signed root disagrees with the tree recomputed from the events (or the stored root).
    CheckpointRootMismatch,
    /// Personal data was erased without an `audit.erased` event that accounts for it.
    UnrecordedErasure,
    /// An archive manifest's signature does not verify, it is not the manifest the database
    /// recorded, or it does not chain to the previous manifest.
    ManifestSignatureMismatch,
    /// An archived data object does not have the SHA-256 or size its manifest signs.
    ArchiveDataHashMismatch,
    /// A recorded archive batch's data or manifest object is gone from cold storage.
    ArchiveMissing,
    /// Archive batches (and the hot tail) do not cover the seqs without a gap or an overlap.
    ArchiveSeqDiscontinuity,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Break {
    pub kind: BreakKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub ok: bool,
    pub verified_events: u64,
    pub checkpoints_verified: u64,
    pub head_seq: Option<u64>,
    pub breaks: Vec<Break>,
}

/// One stored event, as its stored values, with the evidence stored beside it.
#[derive(Clone, Copy, Debug)]
pub struct EventEvidence<'a> {
    pub header: LeafHeader<'a>,
    pub personal: PersonalFields<'a>,
    /// The stored hex values (what the API shows); `None` when the column is NULL.
    pub prev_hash: Option<&'a str>,
    pub hash: Option<&'a str>,
    /// The salt of the personal commitment; `None` once the event's personal data was erased.
    pub salt: Option<&'a Hash>,
    pub commitment: &'a Hash,
    pub leaf_hash: &'a Hash,
    /// The stored personal fields could not be read in the leaf format (metadata that is not a
    /// JSON object): the event cannot hash to what was committed.
    pub unreadable: bool,
}

/// A stored hash as the verifier holds it: parsed, or (only when it is not a hash, which
/// only tampering causes) the stored text, kept for the break it will be reported in.
#[derive(Clone, Debug, PartialEq, Eq)]
enum StoredHash {
    Parsed(Hash),
    NotAHash(String),
}

impl StoredHash {
    fn of(text: Option<&str>) -> StoredHash {
        match text.and_then(parse_hash) {
            Some(hash) => StoredHash::Parsed(hash),
            None => StoredHash::NotAHash(text.unwrap_or_default().to_owned()),
        }
    }

    fn parsed(&self) -> Option<Hash> {
        match self {
            StoredHash::Parsed(hash) => Some(*hash),
            StoredHash::NotAHash(_) => None,
        }
    }

    /// As a break reports it: the hash in lowercase hex, or the stored text.
    fn shown(&self) -> String {
        match self {
            StoredHash::Parsed(hash) => hex_of(hash),
            StoredHash::NotAHash(text) => text.clone(),
        }
    }
}

/// Everything the verifier checks about one event that depends on no other event: its content
/// rehashed, its stored hashes parsed, and the chain link computed from its own prevHash.
/// Most of verification's work, so a caller may compute it for many events in parallel and
/// push the results in order with [`Verifier::push_checked`], which does the checks that need
/// the events before (the chain, the seq order, the tree, the checkpoints).
#[derive(Clone, Debug)]
pub struct CheckedEvent {
    seq: u64,
    /// Recomputed from the content.
    leaf: Hash,
    prev_hash: StoredHash,
    hash: StoredHash,
    /// `H(stored prevHash ‖ leaf)`, when the stored prevHash is a hash.
    chain: Option<Hash>,
    /// The content hashes to the stored commitment and leaf, an erased row holds no personal
    /// data, and the personal fields could be read.
    content_matches: bool,
    erased: bool,
    /// The seq ranges an `audit.erased` event accounts for (empty for every other event).
    accounts_for: Vec<(u64, u64)>,
}

impl CheckedEvent {
    pub fn of(evidence: &EventEvidence<'_>) -> CheckedEvent {
        let personal = &evidence.personal;
        let commitment = match evidence.salt {
            Some(salt) => personal_commitment(salt, personal),
            None => *evidence.commitment,
        };
        let leaf = leaf_hash(&evidence.header, &commitment);
        // Without a salt the commitment cannot be recomputed, so an erased row must really be
        // empty: personal data written back into it would otherwise go unnoticed.
        let erased_but_not_empty = evidence.salt.is_none()
            && (personal.actor_id.is_some()
                || personal.actor_email.is_some()
                || personal.actor_ip.is_some()
                || personal.resource_name.is_some()
                || !personal.metadata.is_empty());
        let prev_hash = StoredHash::of(evidence.prev_hash);
        let is_erasure_record = evidence.header.action == ERASURE_ACTION && evidence.header.source == "platform";
        CheckedEvent {
            seq: evidence.header.seq,
            leaf,
            chain: prev_hash.parsed().map(|prev| chain_hash(&prev, &leaf)),
            prev_hash,
            hash: StoredHash::of(evidence.hash),
            content_matches: commitment == *evidence.commitment
                && leaf == *evidence.leaf_hash
                && !erased_but_not_empty
                && !evidence.unreadable,
            erased: evidence.salt.is_none(),
            accounts_for: if is_erasure_record {
                erased_ranges(&personal.metadata.to_map())
            } else {
                vec![]
            },
        }
    }
}

/// A stored checkpoint: its row values and the signed note.
#[derive(Clone, Debug)]
pub struct StoredCheckpoint {
    pub tree_size: u64,
    pub root_hash: Hash,
    pub note: String,
}

/// The keys checkpoints are checked against.
pub struct CheckpointKeys<'a> {
    pub verifier: &'a NoteVerifier,
    /// The HMAC key name and secret, when the log also signs with AUDIT_SIGNING_KEY.
    pub hmac: Option<(&'a str, &'a [u8])>,
}

/// Whether every erased event must be accounted for by an `audit.erased` event in the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErasureAccounting {
    Required,
    InRangeOnly,
}

pub struct Verifier<'a> {
    keys: Option<CheckpointKeys<'a>>,
    checkpoints: std::vec::IntoIter<StoredCheckpoint>,
    next_checkpoint: Option<StoredCheckpoint>,
    expected_seq: u64,
    prev_hash: Hash,
    frontier: Frontier,
    verified_events: u64,
    checkpoints_verified: u64,
    head_seq: Option<u64>,
    erased: BTreeSet<u64>,
    accounted: Vec<(u64, u64)>,
    breaks: Vec<Break>,
    /// A walk that starts inside the log (an offline bundle) takes its first event's prevHash
    /// as given: what came before is not in its hands.
    trust_first_prev_hash: bool,
}

fn hex_of(hash: &Hash) -> String {
    hex::encode(hash)
}

fn event_break(kind: BreakKind, seq: u64, expected: String, actual: String) -> Break {
    Break {
        kind,
        seq: Some(seq),
        tree_size: None,
        expected: Some(expected),
        actual: Some(actual),
    }
}

impl<'a> Verifier<'a> {
    /// `checkpoints` in any order; without keys, checkpoints are checked for their roots only.
    pub fn new(mut checkpoints: Vec<StoredCheckpoint>, keys: Option<CheckpointKeys<'a>>) -> Verifier<'a> {
        checkpoints.sort_by_key(|checkpoint| checkpoint.tree_size);
        let mut checkpoints = checkpoints.into_iter();
        let next_checkpoint = checkpoints.next();
        let mut verifier = Verifier {
            keys,
            checkpoints,
            next_checkpoint,
            expected_seq: 0,
            prev_hash: GENESIS_PREV_HASH,
            frontier: Frontier::empty(),
            verified_events: 0,
            checkpoints_verified: 0,
            head_seq: None,
            erased: BTreeSet::new(),
            accounted: vec![],
            breaks: vec![],
            trust_first_prev_hash: false,
        };
        verifier.check_due_checkpoints();
        verifier
    }

    /// A verifier for a run of the log starting at `first_seq`, without checkpoints (a range
    /// proves them separately, see `range_proof`). The first event's prevHash is taken as
    /// given unless `first_seq` is 0, where it must be the genesis value.
    pub fn starting_at(first_seq: u64) -> Verifier<'a> {
        let mut verifier = Verifier::new(vec![], None);
        verifier.expected_seq = first_seq;
        verifier.trust_first_prev_hash = first_seq > 0;
        verifier
    }

    /// Records a break found outside the event walk (in the archive tier); it is reported with
    /// the others, in seq order.
    pub fn report_break(&mut self, found: Break) {
        self.breaks.push(found);
    }

    /// The seq the next pushed event should have.
    pub fn expected_seq(&self) -> u64 {
        self.expected_seq
    }

    /// Checks one event; returns the leaf hash recomputed from its content (what a Merkle
    /// proof about this event must start from).
    pub fn push(&mut self, evidence: EventEvidence<'_>) -> Hash {
        self.push_checked(CheckedEvent::of(&evidence))
    }

    /// `push` with the event's own checks already done (possibly on another thread).
    pub fn push_checked(&mut self, event: CheckedEvent) -> Hash {
        let CheckedEvent {
            seq,
            leaf,
            prev_hash,
            hash,
            chain,
            content_matches,
            erased,
            accounts_for,
        } = event;
        if seq != self.expected_seq {
            self.breaks.push(event_break(
                BreakKind::SeqGap,
                seq,
                self.expected_seq.to_string(),
                seq.to_string(),
            ));
        }
        self.expected_seq = seq + 1;
        self.head_seq = Some(seq);
        self.verified_events += 1;
        if erased {
            self.erased.insert(seq);
        }
        let stored_prev = prev_hash.parsed();
        let stored_hash = hash.parsed();
        if std::mem::take(&mut self.trust_first_prev_hash)
            && let Some(given) = stored_prev
        {
            self.prev_hash = given;
        }
        if stored_prev != Some(self.prev_hash) {
            self.breaks.push(event_break(
                BreakKind::EventPrevHashMismatch,
                seq,
                hex_of(&self.prev_hash),
                prev_hash.shown(),
            ));
        }
        // Recomputed from the row's own prevHash, so one inserted or deleted row is one break
        // (the prev-hash mismatch above) rather than a mismatch on every later row.
        let recomputed = chain.unwrap_or_else(|| chain_hash(&self.prev_hash, &leaf));
        if Some(recomputed) != stored_hash || !content_matches {
            self.breaks.push(event_break(
                BreakKind::EventHashMismatch,
                seq,
                hash.shown(),
                hex_of(&recomputed),
            ));
        }
        self.prev_hash = stored_hash.unwrap_or(recomputed);
        self.accounted.extend(accounts_for);
        // The tree is rebuilt from what the rows say now, so a checkpoint signed over the
        // original rows no longer matches after any change.
        self.frontier.push(leaf);
        self.check_due_checkpoints();
        leaf
    }

    fn check_due_checkpoints(&mut self) {
        while let Some(checkpoint) = self.next_checkpoint.take() {
            if checkpoint.tree_size > self.frontier.size() {
                self.next_checkpoint = Some(checkpoint);
                return;
            }
            if checkpoint.tree_size == self.frontier.size() {
                let root = self.frontier.root();
                self.check_checkpoint(&checkpoint, &root);
            }
            // A checkpoint smaller than the current size was skipped only if the log had a
            // gap; that gap is already reported as a seq break.
            self.next_checkpoint = self.checkpoints.next();
        }
    }

    fn check_checkpoint(&mut self, checkpoint: &StoredCheckpoint, recomputed_root: &Hash) {
        let tree_size = Some(checkpoint.tree_size);
        let checkpoint_break = |kind, expected: String, actual: String| Break {
            kind,
            seq: None,
            tree_size,
            expected: Some(expected),
            actual: Some(actual),
        };
        self.checkpoints_verified += 1;
        let signed = self
            .keys
            .as_ref()
            .map(|keys| verify_checkpoint(&checkpoint.note, keys.verifier));
        if let Some(Err(error)) = &signed {
            self.breaks.push(checkpoint_break(
                BreakKind::CheckpointSignatureMismatch,
                format!(
                    "a valid signature by {}",
                    self.keys
                        .as_ref()
                        .map(|keys| keys.verifier.to_vkey())
                        .unwrap_or_default()
                ),
                error.to_string(),
            ));
        }
        // One root break per checkpoint: the stored root, or else the signed one, disagrees
        // with the tree rebuilt from the events (or the note signs another size).
        let signed_root = match &signed {
            Some(Ok(signed)) if signed.tree_size != checkpoint.tree_size => Some([0; 32]),
            Some(Ok(signed)) => Some(signed.root_hash),
            _ => None,
        };
        let disagreeing = [Some(checkpoint.root_hash), signed_root]
            .into_iter()
            .flatten()
            .find(|root| root != recomputed_root);
        if let Some(actual) = disagreeing {
            self.breaks.push(checkpoint_break(
                BreakKind::CheckpointRootMismatch,
                hex_of(recomputed_root),
                hex_of(&actual),
            ));
        }
        let Some(keys) = &self.keys else { return };
        if let Some((name, secret)) = keys.hmac
            && let Err(error) = verify_checkpoint_hmac(&checkpoint.note, name, secret)
        {
            self.breaks.push(checkpoint_break(
                BreakKind::CheckpointSignatureMismatch,
                format!("a valid HMAC line by {name}"),
                error.to_string(),
            ));
        }
    }

    pub fn finish(self) -> Report {
        self.finish_with_erasures(ErasureAccounting::Required).0
    }

    /// Ends the walk; with [`ErasureAccounting::InRangeOnly`], erased events whose
    /// `audit.erased` record was not among the pushed events are returned instead of being
    /// reported as breaks (a partial range cannot see records outside it).
    pub fn finish_with_erasures(mut self, accounting: ErasureAccounting) -> (Report, Vec<u64>) {
        // Checkpoints beyond the end of the log: the log was truncated after they were signed.
        let size = self.frontier.size();
        for checkpoint in self.next_checkpoint.take().into_iter().chain(self.checkpoints.by_ref()) {
            self.breaks.push(Break {
                kind: BreakKind::CheckpointRootMismatch,
                seq: None,
                tree_size: Some(checkpoint.tree_size),
                expected: Some(format!("a log of at least {} events", checkpoint.tree_size)),
                actual: Some(format!("{size} events")),
            });
        }
        let mut unaccounted = vec![];
        for seq in &self.erased {
            if self.accounted.iter().any(|(first, last)| first <= seq && seq <= last) {
                continue;
            }
            if accounting == ErasureAccounting::InRangeOnly {
                unaccounted.push(*seq);
            } else {
                self.breaks.push(Break {
                    kind: BreakKind::UnrecordedErasure,
                    seq: Some(*seq),
                    tree_size: None,
                    expected: Some(format!("an {ERASURE_ACTION} event listing seq {seq}")),
                    actual: Some("none".to_owned()),
                });
            }
        }
        self.breaks
            .sort_by_key(|b| (b.seq.or(b.tree_size).unwrap_or(0), b.kind as u8));
        let report = Report {
            ok: self.breaks.is_empty(),
            verified_events: self.verified_events,
            checkpoints_verified: self.checkpoints_verified,
            head_seq: self.head_seq,
            breaks: self.breaks,
        };
        (report, unaccounted)
    }

    /// The root of the tree over every event pushed so far.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }
}

/// A hex hash from a stored or exported event; text that is not a hash verifies as zeros,
/// which then fails loudly.
pub fn hash_or_zero(text: Option<&str>) -> Hash {
    text.and_then(parse_hash).unwrap_or([0; 32])
}

/// The hashes an event carries as hex text, parsed (unparseable text reads as zeros, which
/// then fails the comparison loudly).
#[derive(Clone, Copy, Debug)]
pub struct StoredHashes {
    pub salt: Option<Hash>,
    pub commitment: Hash,
    pub leaf: Hash,
}

impl StoredHashes {
    /// From the stored hex text of the salt, the personal commitment and the leaf hash.
    pub fn parse(salt: Option<&str>, commitment: Option<&str>, leaf: Option<&str>) -> StoredHashes {
        StoredHashes {
            salt: salt.map(|text| hash_or_zero(Some(text))),
            commitment: hash_or_zero(commitment),
            leaf: hash_or_zero(leaf),
        }
    }

    pub fn of_event(event: &AuditEvent) -> StoredHashes {
        StoredHashes::parse(
            event.personal_salt.as_deref(),
            event.personal_commitment.as_deref(),
            event.leaf_hash.as_deref(),
        )
    }
}

impl<'a> EventEvidence<'a> {
    /// An event as stored or exported, with its parsed hashes.
    pub fn of_stored(event: &'a AuditEvent, hashes: &'a StoredHashes) -> EventEvidence<'a> {
        EventEvidence {
            header: LeafHeader::of_stored(event),
            personal: PersonalFields::of_stored(event),
            prev_hash: event.prev_hash.as_deref(),
            hash: event.hash.as_deref(),
            salt: hashes.salt.as_ref(),
            commitment: &hashes.commitment,
            leaf_hash: &hashes.leaf,
            unreadable: false,
        }
    }
}

/// Pushes an event as stored or exported (hashes as hex text); returns its recomputed leaf.
pub fn push_stored_event(verifier: &mut Verifier<'_>, event: &AuditEvent) -> Hash {
    let hashes = StoredHashes::of_event(event);
    verifier.push(EventEvidence::of_stored(event, &hashes))
}

/// `metadata.erasedSeqs` of an erasure event: inclusive `[first, last]` ranges.
pub fn erased_ranges(metadata: &serde_json::Map<String, serde_json::Value>) -> Vec<(u64, u64)> {
    metadata
        .get("erasedSeqs")
        .and_then(|value| value.as_array())
        .map(|ranges| {
            ranges
                .iter()
                .filter_map(|range| Some((range.get(0)?.as_u64()?, range.get(1)?.as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Compresses sorted seqs into inclusive ranges for `erasedSeqs`.
pub fn to_ranges(sorted_seqs: &[u64]) -> Vec<(u64, u64)> {
    let mut ranges: Vec<(u64, u64)> = vec![];
    for &seq in sorted_seqs {
        match ranges.last_mut() {
            Some((_, last)) if *last + 1 == seq => *last = seq,
            _ => ranges.push((seq, seq)),
        }
    }
    ranges
}
