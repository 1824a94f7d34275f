use super::*;
use proptest::prelude::*;

fn signer() -> NoteSigner {
    NoteSigner::from_seed("audit.example.eu/log", [7; 32]).unwrap()
}

fn manifest(start_seq: u64, end_seq: u64) -> Manifest {
    Manifest {
        v: MANIFEST_VERSION,
        origin: "audit.example.eu/log".into(),
        start_seq,
        end_seq,
        event_count: end_seq - start_seq + 1,
        first_prev_hash: "00".repeat(32),
        last_hash: "ab".repeat(32),
        checkpoint_tree_size: end_seq + 10,
        checkpoint_root_hash: "cd".repeat(32),
        data_key: data_key(start_seq, end_seq, &"ef".repeat(32)),
        data_sha256: "ef".repeat(32),
        uncompressed_sha256: "12".repeat(32),
        bytes_compressed: 100,
        bytes_uncompressed: 1000,
        created_at: Timestamp::from_millis(1_764_000_000_123),
        previous_manifest_sha256: (start_seq > 0).then(|| "34".repeat(32)),
        supersedes_manifest_sha256: None,
    }
}

#[test]
fn the_signed_text_is_one_line_of_canonical_json() {
    let text = manifest(0, 9).text();
    assert!(text.ends_with('\n'));
    assert_eq!(text.matches('\n').count(), 1);
    assert!(text.starts_with("{\"bytesCompressed\":100,\"bytesUncompressed\":1000,\"checkpointRootHash\":"));
    assert!(text.contains("\"createdAt\":\"2025-11-24T16:00:00.123Z\""));
    assert!(text.contains("\"previousManifestSha256\":null"));
    assert!(text.contains("\"v\":1}"));
}

#[test]
fn a_signed_manifest_verifies_and_round_trips() {
    let signer = signer();
    let original = manifest(100, 199);
    let note = original.sign(&signer, None).unwrap();
    assert_eq!(verify_manifest(&note, &signer.verifier(), None).unwrap(), original);
}

#[test]
fn signing_is_deterministic_so_retries_write_identical_objects() {
    let signer = signer();
    let a = manifest(0, 9)
        .sign(&signer, Some(("audit.example.eu/log/hmac", b"secret")))
        .unwrap();
    let b = manifest(0, 9)
        .sign(&signer, Some(("audit.example.eu/log/hmac", b"secret")))
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(sha256_hex(a.as_bytes()), sha256_hex(b.as_bytes()));
}

#[test]
fn any_change_to_the_text_breaks_the_signature() {
    let signer = signer();
    let note = manifest(0, 9).sign(&signer, None).unwrap();
    let tampered = note.replace("\"bytesCompressed\":100", "\"bytesCompressed\":101");
    assert_ne!(tampered, note);
    assert!(matches!(
        verify_manifest(&tampered, &signer.verifier(), None),
        Err(ManifestError::Signature(CheckpointError::BadSignature { .. }))
    ));
}

#[test]
fn another_key_is_not_accepted() {
    let note = manifest(0, 9).sign(&signer(), None).unwrap();
    let stranger = NoteSigner::from_seed("audit.example.eu/log", [8; 32]).unwrap();
    assert!(matches!(
        verify_manifest(&note, &stranger.verifier(), None),
        Err(ManifestError::Signature(CheckpointError::NoSignature { .. }))
    ));
}

#[test]
fn the_hmac_line_is_checked_when_a_secret_is_configured() {
    let signer = signer();
    let hmac = ("audit.example.eu/log/hmac", &b"secret"[..]);
    let with_hmac = manifest(0, 9).sign(&signer, Some(hmac)).unwrap();
    assert!(verify_manifest(&with_hmac, &signer.verifier(), Some(hmac)).is_ok());
    let wrong = ("audit.example.eu/log/hmac", &b"other"[..]);
    assert!(matches!(
        verify_manifest(&with_hmac, &signer.verifier(), Some(wrong)),
        Err(ManifestError::Signature(CheckpointError::HmacMismatch { .. }))
    ));
    let without_hmac = manifest(0, 9).sign(&signer, None).unwrap();
    assert_eq!(
        verify_manifest(&without_hmac, &signer.verifier(), Some(hmac)),
        Err(ManifestError::MissingHmac("audit.example.eu/log/hmac".into()))
    );
}

#[test]
fn non_canonical_text_is_rejected_even_when_it_parses() {
    let text = manifest(0, 9).text();
    let spaced = text.replacen("{\"bytesCompressed\":100", "{\"bytesCompressed\": 100", 1);
    assert_eq!(parse_manifest_text(&spaced), Err(ManifestError::NotCanonical));
    assert_eq!(parse_manifest_text(&text).unwrap(), manifest(0, 9));
    assert!(matches!(parse_manifest_text("{}\n"), Err(ManifestError::Malformed(_))));
    let unknown = text.replacen("{", "{\"extra\":1,", 1);
    assert!(matches!(
        parse_manifest_text(&unknown),
        Err(ManifestError::Malformed(_))
    ));
}

#[test]
fn inconsistent_manifests_are_neither_signed_nor_accepted() {
    let signer = signer();
    let mut wrong_count = manifest(0, 9);
    wrong_count.event_count = 9;
    assert!(matches!(
        wrong_count.sign(&signer, None),
        Err(ManifestError::Inconsistent(_))
    ));
    let mut uncovered = manifest(0, 9);
    uncovered.checkpoint_tree_size = 9;
    assert!(matches!(
        uncovered.sign(&signer, None),
        Err(ManifestError::Inconsistent(_))
    ));
    let mut unchained = manifest(10, 19);
    unchained.previous_manifest_sha256 = None;
    assert!(matches!(
        unchained.sign(&signer, None),
        Err(ManifestError::Inconsistent(_))
    ));
    let mut chained_first = manifest(0, 9);
    chained_first.previous_manifest_sha256 = Some("00".repeat(32));
    assert!(matches!(
        chained_first.sign(&signer, None),
        Err(ManifestError::Inconsistent(_))
    ));
    let mut future = manifest(0, 9);
    future.v = 2;
    assert!(matches!(
        future.sign(&signer, None),
        Err(ManifestError::Inconsistent(_))
    ));
}

#[test]
fn object_keys_name_the_range_and_the_content() {
    let sha = "0123456789abcdef".repeat(4);
    assert_eq!(
        data_key(5, 1_000_004, &sha),
        "audit/events/00000000000000000005-00000000000001000004-0123456789abcdef.jsonl.gz"
    );
    assert_eq!(
        manifest_key(0, 9, &sha),
        "audit/manifests/00000000000000000000-00000000000000000009-0123456789abcdef.manifest"
    );
    assert_ne!(data_key(0, 9, &"aa".repeat(32)), data_key(0, 9, &"bb".repeat(32)));
}

#[test]
fn sha256_hex_is_lowercase_hex() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn planning_splits_the_archivable_range_into_full_batches_and_a_remainder() {
    assert_eq!(
        plan_batches(0, 25, 10),
        vec![
            SeqRange { start: 0, end: 9 },
            SeqRange { start: 10, end: 19 },
            SeqRange { start: 20, end: 24 }
        ]
    );
    assert_eq!(plan_batches(30, 40, 10), vec![SeqRange { start: 30, end: 39 }]);
    assert_eq!(plan_batches(30, 30, 10), vec![]);
    assert_eq!(plan_batches(31, 30, 10), vec![]);
    assert_eq!(
        plan_batches(0, 3, 0),
        vec![
            SeqRange { start: 0, end: 0 },
            SeqRange { start: 1, end: 1 },
            SeqRange { start: 2, end: 2 }
        ]
    );
}

proptest! {
    #[test]
    fn planned_batches_tile_the_range_exactly(first in 0u64..1_000, extra in 0u64..5_000, max in 1u64..700) {
        let end = first + extra;
        let batches = plan_batches(first, end, max);
        let mut next = first;
        for batch in &batches {
            prop_assert_eq!(batch.start, next);
            prop_assert!((1..=max).contains(&batch.len()));
            next = batch.end + 1;
        }
        prop_assert_eq!(next, end.max(first));
        prop_assert!(batches.iter().rev().skip(1).all(|batch| batch.len() == max));
    }

    #[test]
    fn signed_manifests_round_trip(start in 0u64..1_000_000, len in 1u64..100_000, bytes in 0u64..u64::MAX / 2) {
        let signer = signer();
        let mut original = manifest(start, start + len - 1);
        original.bytes_uncompressed = bytes;
        let note = original.sign(&signer, None).unwrap();
        prop_assert_eq!(verify_manifest(&note, &signer.verifier(), None).unwrap(), original);
    }
}

#[test]
fn a_superseding_manifest_is_version_2_and_keeps_the_chain() {
    let signer = signer();
    let first = manifest(0, 9);
    let first_note = first.sign(&signer, None).unwrap();
    let first_sha = sha256_hex(first_note.as_bytes());
    // Version 1 text never mentions the field.
    assert!(!first.text().contains("supersedes"));
    let rewritten = Manifest {
        v: SUPERSEDING_MANIFEST_VERSION,
        data_sha256: "99".repeat(32),
        supersedes_manifest_sha256: Some(first_sha.clone()),
        ..first.clone()
    };
    let rewritten_note = rewritten.sign(&signer, None).unwrap();
    assert_eq!(
        verify_manifest(&rewritten_note, &signer.verifier(), None).unwrap(),
        rewritten
    );
    let next = Manifest {
        previous_manifest_sha256: Some(first_sha.clone()),
        ..manifest(10, 19)
    };
    let rewritten_sha = sha256_hex(rewritten_note.as_bytes());
    assert!(links_to(&next, &rewritten_sha, Some(&rewritten)));
    assert!(links_to(&next, &first_sha, Some(&first)));
    assert!(!links_to(&next, &rewritten_sha, Some(&first)));
    assert!(!links_to(&manifest(0, 9), &first_sha, None));
    for inconsistent in [
        Manifest {
            v: SUPERSEDING_MANIFEST_VERSION,
            ..first.clone()
        },
        Manifest {
            supersedes_manifest_sha256: Some(first_sha),
            ..first.clone()
        },
        Manifest { v: 3, ..first },
    ] {
        assert!(matches!(
            inconsistent.sign(&signer, None),
            Err(ManifestError::Inconsistent(_))
        ));
    }
}
