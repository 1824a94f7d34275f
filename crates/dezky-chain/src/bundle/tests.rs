use super::*;
use crate::checkpoint::{NoteSigner, sign_checkpoint};
use crate::leaf::{GENESIS_PREV_HASH, LeafHeader, PersonalFields, chain_hash, leaf_hash, personal_commitment};
use crate::manifest::{MANIFEST_VERSION, data_key};
use crate::merkle::root_of_leaves;
use crate::range_proof::range_proof_ranges;
use dezky_core::{Action, ActorType, Outcome, Source};

const ORIGIN: &str = "audit.example.eu/log";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, [9; 32]).unwrap()
}

/// A log of `n` events with real salts, commitments, leaves and chain hashes; `erased` seqs
/// have their personal data erased (commitment kept).
struct Log {
    events: Vec<AuditEvent>,
    leaves: Vec<Hash>,
}

fn log(n: u64, erased: &[u64]) -> Log {
    let mut events = vec![];
    let mut leaves = vec![];
    let mut prev = GENESIS_PREV_HASH;
    for seq in 0..n {
        let mut event = AuditEvent {
            seq,
            at: Timestamp::from_millis(1_764_000_000_000 + seq as i64),
            recorded_at: Timestamp::from_millis(1_764_000_000_500 + seq as i64),
            actor_type: ActorType::User,
            actor_id: Some(format!("u{seq}")),
            actor_email: Some(format!("user{seq}@acme.example")),
            actor_ip: Some("203.0.113.7".into()),
            action: Action::parse("portal.signed_in").unwrap(),
            outcome: Outcome::Success,
            resource_type: None,
            resource_id: None,
            resource_name: Some(format!("session {seq}")),
            tenant_slug: None,
            partner_slug: None,
            source: Source::parse("portal").unwrap(),
            external_id: Some(format!("e{seq}")),
            metadata: serde_json::from_str(r#"{"big":18446744073709551615,"f":1.5}"#).unwrap(),
            prev_hash: None,
            hash: None,
            leaf_hash: None,
            personal_commitment: None,
            personal_salt: None,
            erased: false,
        };
        let salt = [seq as u8; 32];
        let commitment = personal_commitment(&salt, &PersonalFields::of_stored(&event));
        let leaf = leaf_hash(&LeafHeader::of_stored(&event), &commitment);
        let hash = chain_hash(&prev, &leaf);
        event.prev_hash = Some(hex::encode(prev));
        event.hash = Some(hex::encode(hash));
        event.leaf_hash = Some(hex::encode(leaf));
        event.personal_commitment = Some(hex::encode(commitment));
        event.personal_salt = Some(hex::encode(salt));
        if erased.contains(&seq) {
            event.actor_id = None;
            event.actor_email = None;
            event.actor_ip = None;
            event.resource_name = None;
            event.metadata = serde_json::Map::new();
            event.personal_salt = None;
            event.erased = true;
        }
        prev = hash;
        events.push(event);
        leaves.push(leaf);
    }
    Log { events, leaves }
}

impl Log {
    fn line(&self, seq: u64) -> String {
        serde_json::to_string(&self.events[seq as usize]).unwrap()
    }

    fn checkpoint(&self, size: u64) -> String {
        let root = root_of_leaves(&self.leaves[..size as usize]);
        sign_checkpoint(&Checkpoint::new(ORIGIN, size, root).unwrap(), &signer(), None)
    }

    /// Signed manifests of consecutive batches, each naming the checkpoint of `size`.
    fn manifests(&self, batches: &[(u64, u64)], checkpoint_size: u64) -> Vec<String> {
        let mut previous: Option<String> = None;
        let mut notes = vec![];
        for &(start, end) in batches {
            let mut lines = String::new();
            for seq in start..=end {
                lines.push_str(&self.line(seq));
                lines.push('\n');
            }
            let manifest = Manifest {
                v: MANIFEST_VERSION,
                origin: ORIGIN.into(),
                start_seq: start,
                end_seq: end,
                event_count: end - start + 1,
                first_prev_hash: self.events[start as usize].prev_hash.clone().unwrap(),
                last_hash: self.events[end as usize].hash.clone().unwrap(),
                checkpoint_tree_size: checkpoint_size,
                checkpoint_root_hash: hex::encode(root_of_leaves(&self.leaves[..checkpoint_size as usize])),
                data_key: data_key(start, end, &"ab".repeat(32)),
                data_sha256: "ab".repeat(32),
                uncompressed_sha256: sha256_hex(lines.as_bytes()),
                bytes_compressed: 10,
                bytes_uncompressed: lines.len() as u64,
                created_at: Timestamp::from_millis(1_764_000_100_000),
                previous_manifest_sha256: previous.as_deref().map(|note| sha256_hex(note.as_bytes())),
                supersedes_manifest_sha256: None,
            };
            let note = manifest.sign(&signer(), None).unwrap();
            previous = Some(note.clone());
            notes.push(note);
        }
        notes
    }

    fn bundle_checkpoint(&self, from: u64, to: u64, size: u64) -> BundleCheckpoint {
        let proof = range_proof_ranges(from, (to + 1).min(size), size)
            .unwrap()
            .into_iter()
            .map(|(s, e)| hex::encode(root_of_leaves(&self.leaves[s as usize..e as usize])))
            .collect();
        BundleCheckpoint {
            note: self.checkpoint(size),
            range_proof: proof,
        }
    }

    fn header(&self, from: u64, to: u64, manifests: Vec<String>, sizes: &[u64]) -> BundleHeader {
        BundleHeader {
            format: BUNDLE_FORMAT.into(),
            v: BUNDLE_VERSION,
            origin: ORIGIN.into(),
            verifier_key: signer().verifier().to_vkey(),
            from_seq: from,
            to_seq: to,
            created_at: Timestamp::from_millis(1_764_000_200_000),
            manifests,
            checkpoints: sizes
                .iter()
                .map(|size| self.bundle_checkpoint(from, to, *size))
                .collect(),
        }
    }
}

fn verify(header: BundleHeader, lines: &[String], pinned: Option<NoteVerifier>) -> BundleReport {
    let text = serde_json::to_string(&header).unwrap();
    let mut verifier = BundleVerifier::new(parse_header(text.as_bytes()).unwrap(), pinned).unwrap();
    for line in lines {
        verifier.push_line(line.as_bytes());
    }
    verifier.finish()
}

fn kinds(report: &BundleReport) -> Vec<(BreakKind, Option<u64>)> {
    report.report.breaks.iter().map(|b| (b.kind, b.seq)).collect()
}

fn lines(log: &Log, from: u64, to: u64) -> Vec<String> {
    (from..=to).map(|seq| log.line(seq)).collect()
}

#[test]
fn a_whole_log_bundle_verifies_batches_checkpoints_and_the_hot_tail() {
    let log = log(60, &[]);
    let manifests = log.manifests(&[(0, 19), (20, 39)], 50);
    // 20 covers the first batch exactly (fully covered tree), 50 is named by the manifests,
    // 60 covers the whole range.
    let report = verify(log.header(0, 59, manifests, &[20, 50, 60]), &lines(&log, 0, 59), None);
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.report.verified_events, 60);
    assert_eq!(report.report.checkpoints_verified, 3);
    assert_eq!(report.manifests_verified, 2);
    assert_eq!(report.batches_data_verified, 2);
    assert!(report.key_from_bundle);
}

#[test]
fn a_range_cutting_batches_is_proven_by_the_checkpoint() {
    let log = log(100, &[]);
    let manifests = log.manifests(&[(0, 29), (30, 59), (60, 89)], 95);
    let pinned = Some(signer().verifier());
    let report = verify(
        log.header(45, 70, manifests[1..].to_vec(), &[95]),
        &lines(&log, 45, 70),
        pinned,
    );
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.manifests_verified, 2);
    assert_eq!(report.batches_data_verified, 0);
    assert_eq!(report.report.checkpoints_verified, 1);
    assert!(!report.key_from_bundle);
}

#[test]
fn a_changed_event_breaks_its_hash_the_batch_data_and_the_checkpoint_root() {
    let log = log(40, &[]);
    let manifests = log.manifests(&[(0, 19)], 40);
    let mut events = lines(&log, 0, 39);
    events[7] = events[7].replacen("\"outcome\":\"success\"", "\"outcome\":\"denied\"", 1);
    let report = verify(log.header(0, 39, manifests, &[40]), &events, None);
    let found = kinds(&report);
    assert!(!report.report.ok);
    assert!(found.contains(&(BreakKind::EventHashMismatch, Some(7))), "{found:?}");
    assert!(
        found.contains(&(BreakKind::ArchiveDataHashMismatch, Some(0))),
        "{found:?}"
    );
    assert!(found.contains(&(BreakKind::CheckpointRootMismatch, None)), "{found:?}");
}

#[test]
fn an_edited_manifest_is_a_signature_mismatch_and_a_broken_chain() {
    let log = log(40, &[]);
    let mut manifests = log.manifests(&[(0, 9), (10, 19), (20, 29)], 40);
    manifests[1] = manifests[1].replacen("\"bytesCompressed\":", "\"bytesCompressed\":1", 1);
    let report = verify(log.header(0, 39, manifests, &[40]), &lines(&log, 0, 39), None);
    let found = kinds(&report);
    assert!(
        found.contains(&(BreakKind::ManifestSignatureMismatch, Some(10))),
        "{found:?}"
    );
    assert_eq!(report.manifests_verified, 2);
    // Dropping a manifest from the middle breaks the chain of the next one.
    let mut manifests = log.manifests(&[(0, 9), (10, 19), (20, 29)], 40);
    manifests.remove(1);
    let report = verify(log.header(0, 39, manifests, &[40]), &lines(&log, 0, 39), None);
    let found = kinds(&report);
    assert!(
        found.contains(&(BreakKind::ManifestSignatureMismatch, Some(20))),
        "{found:?}"
    );
    assert!(
        found.contains(&(BreakKind::ArchiveSeqDiscontinuity, Some(20))),
        "{found:?}"
    );
}

#[test]
fn a_missing_event_is_a_seq_gap_and_a_short_bundle_too() {
    let log = log(30, &[]);
    let mut events = lines(&log, 5, 25);
    events.remove(10);
    let report = verify(log.header(5, 25, vec![], &[30]), &events, None);
    let found = kinds(&report);
    assert!(found.contains(&(BreakKind::SeqGap, Some(16))), "{found:?}");
    assert!(found.contains(&(BreakKind::CheckpointRootMismatch, None)), "{found:?}");
    let mut events = lines(&log, 5, 25);
    events.pop();
    let report = verify(log.header(5, 25, vec![], &[30]), &events, None);
    assert!(kinds(&report).contains(&(BreakKind::SeqGap, Some(25))), "{report:?}");
}

#[test]
fn a_bundle_without_a_covering_checkpoint_or_with_a_forged_one_does_not_verify() {
    let log = log(30, &[]);
    let report = verify(log.header(0, 29, vec![], &[20]), &lines(&log, 0, 29), None);
    assert!(
        kinds(&report).contains(&(BreakKind::CheckpointRootMismatch, Some(29))),
        "{report:?}"
    );
    let mut header = log.header(0, 29, vec![], &[30]);
    header.checkpoints[0].note = header.checkpoints[0].note.replacen("\n30\n", "\n31\n", 1);
    let report = verify(header, &lines(&log, 0, 29), None);
    let signature = report
        .report
        .breaks
        .iter()
        .find(|b| b.kind == BreakKind::CheckpointSignatureMismatch)
        .unwrap_or_else(|| panic!("{report:?}"));
    assert_eq!(signature.tree_size, Some(31));
    let mut header = log.header(10, 20, vec![], &[30]);
    header.checkpoints[0].range_proof[0] = "zz".into();
    let report = verify(header, &lines(&log, 10, 20), None);
    assert!(
        kinds(&report).contains(&(BreakKind::CheckpointRootMismatch, None)),
        "{report:?}"
    );
}

#[test]
fn another_key_pinned_by_the_auditor_fails_every_signature() {
    let log = log(20, &[]);
    let manifests = log.manifests(&[(0, 9)], 20);
    let other = NoteSigner::from_seed(ORIGIN, [1; 32]).unwrap().verifier();
    let report = verify(
        log.header(0, 19, manifests, &[20]),
        &lines(&log, 0, 19),
        Some(other.clone()),
    );
    let found = kinds(&report);
    assert!(
        found.contains(&(BreakKind::ManifestSignatureMismatch, Some(0))),
        "{found:?}"
    );
    assert!(
        found.contains(&(BreakKind::CheckpointSignatureMismatch, None)),
        "{found:?}"
    );
    assert_eq!(report.verifier_key, other.to_vkey());
}

#[test]
fn erasures_are_accounted_inside_the_range_and_listed_otherwise() {
    let log = log(30, &[3, 12]);
    let report = verify(log.header(0, 29, vec![], &[30]), &lines(&log, 0, 29), None);
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.erased_without_record_in_range, vec![3, 12]);
    // Personal data written back into an erased event is still caught.
    let mut events = lines(&log, 0, 29);
    events[3] = events[3].replacen("\"actorEmail\":null", "\"actorEmail\":\"x@y.example\"", 1);
    let report = verify(log.header(0, 29, vec![], &[30]), &events, None);
    assert!(
        kinds(&report).contains(&(BreakKind::EventHashMismatch, Some(3))),
        "{report:?}"
    );
}

#[test]
fn lines_that_are_not_events_or_outside_the_range_are_breaks() {
    let log = log(20, &[]);
    let mut events = lines(&log, 0, 19);
    events.insert(5, "not json".into());
    events.push(log.line(19).replacen("\"seq\":19", "\"seq\":25", 1));
    let report = verify(log.header(0, 19, vec![], &[20]), &events, None);
    let found = kinds(&report);
    assert!(found.contains(&(BreakKind::EventHashMismatch, Some(5))), "{found:?}");
    assert!(found.contains(&(BreakKind::SeqGap, Some(25))), "{found:?}");
}

#[test]
fn headers_that_cannot_be_verified_say_why() {
    let log = log(5, &[]);
    let good = serde_json::to_value(log.header(0, 4, vec![], &[5])).unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut header = good.clone();
        header[key] = value;
        serde_json::to_vec(&header).unwrap()
    };
    assert!(matches!(parse_header(b"{\"seq\":0}"), Err(BundleError::NotABundle(_))));
    assert!(matches!(parse_header(b"\x1f\x8b"), Err(BundleError::NotABundle(_))));
    assert_eq!(
        parse_header(&with("v", 2.into())),
        Err(BundleError::UnsupportedVersion(2))
    );
    assert_eq!(
        parse_header(&with("fromSeq", 9.into())),
        Err(BundleError::EmptyRange { from: 9, to: 4 })
    );
    assert!(matches!(
        parse_header(&with("extra", 1.into())),
        Err(BundleError::NotABundle(_))
    ));
    let header = parse_header(&with("verifierKey", "nonsense".into())).unwrap();
    assert!(matches!(BundleVerifier::new(header, None), Err(BundleError::BadKey(_))));
    let round_trip = parse_header(&serde_json::to_vec(&good).unwrap()).unwrap();
    assert_eq!(serde_json::to_value(round_trip).unwrap(), good);
}

/// The version 2 manifest an erasure writes for batch `index` of `first` (the first
/// manifests): the same range and links, the data as `erased` holds it, superseding the first.
fn superseding(first: &[String], index: usize, erased: &Log, supersedes: &str) -> String {
    let mut manifest = parse_manifest_text(&unverified_text(&first[index])).unwrap();
    let lines: String = (manifest.start_seq..=manifest.end_seq)
        .map(|seq| erased.line(seq) + "\n")
        .collect();
    manifest.v = crate::manifest::SUPERSEDING_MANIFEST_VERSION;
    manifest.uncompressed_sha256 = sha256_hex(lines.as_bytes());
    manifest.bytes_uncompressed = lines.len() as u64;
    manifest.supersedes_manifest_sha256 = Some(supersedes.to_owned());
    manifest.sign(&signer(), None).unwrap()
}

#[test]
fn a_rewritten_batch_verifies_with_its_superseding_manifest_and_only_with_it() {
    let original = log(30, &[]);
    let erased = log(30, &[12]);
    let first = original.manifests(&[(0, 9), (10, 19), (20, 29)], 30);
    let first_sha = sha256_hex(first[1].as_bytes());
    let rewritten = superseding(&first, 1, &erased, &first_sha);
    let with = |middle: String| vec![first[0].clone(), middle, first[2].clone()];
    // The next batch links to the first manifest; the superseding one vouches for that link.
    let report = verify(
        erased.header(0, 29, with(rewritten.clone()), &[30]),
        &lines(&erased, 0, 29),
        None,
    );
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.manifests_verified, 3);
    assert_eq!(report.batches_data_verified, 3);
    assert_eq!(report.erased_without_record_in_range, vec![12]);
    // A range that starts inside the rewritten batch: its link to the batch before is not in
    // the bundle, the next batch's link still is.
    let report = verify(
        erased.header(15, 29, with(rewritten.clone())[1..].to_vec(), &[30]),
        &lines(&erased, 15, 29),
        None,
    );
    assert!(report.report.ok, "{report:?}");
    assert_eq!(report.batches_data_verified, 1);

    // Rolled back to the first manifest: signed and chained, but not the data it holds now.
    let report = verify(erased.header(0, 29, first.clone(), &[30]), &lines(&erased, 0, 29), None);
    assert_eq!(kinds(&report), vec![(BreakKind::ArchiveDataHashMismatch, Some(10))]);
    // A superseding manifest (validly signed) that names another manifest than the one the
    // next batch links to: the link is not vouched for.
    let elsewhere = superseding(&first, 1, &erased, &sha256_hex(first[0].as_bytes()));
    let report = verify(
        erased.header(0, 29, with(elsewhere), &[30]),
        &lines(&erased, 0, 29),
        None,
    );
    assert_eq!(kinds(&report), vec![(BreakKind::ManifestSignatureMismatch, Some(20))]);
    // Edited after signing.
    let edited = rewritten.replacen(&first_sha, &sha256_hex(first[0].as_bytes()), 1);
    assert_ne!(edited, rewritten);
    let report = verify(erased.header(0, 29, with(edited), &[30]), &lines(&erased, 0, 29), None);
    assert!(
        kinds(&report).contains(&(BreakKind::ManifestSignatureMismatch, Some(10))),
        "{report:?}"
    );
}
