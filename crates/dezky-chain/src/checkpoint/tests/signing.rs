//! Signing, verification, the HMAC line and property tests (fixtures in the parent module).

use super::*;

// ----- Signing and verification -----

#[test]
fn signed_checkpoint_has_the_documented_shape() {
    let signer = test_signer();
    let note = sign_checkpoint(&test_checkpoint(), &signer, None);
    let (text, lines) = split(&note);
    assert_eq!(text, HMAC_BODY);
    assert_eq!(lines.len(), 1);
    let line = lines[0].strip_prefix("\u{2014} dezky.example/audit ").unwrap();
    let raw = STANDARD.decode(line.strip_suffix('\n').unwrap()).unwrap();
    assert_eq!(raw.len(), 4 + 64);
    assert_eq!(raw[..4], signer.key_id());
    assert_eq!(verify_checkpoint(&note, &signer.verifier()).unwrap(), test_checkpoint());
}

#[test]
fn tampered_checkpoints_fail_with_bad_signature() {
    let signer = test_signer();
    let verifier = signer.verifier();
    let note = sign_checkpoint(&test_checkpoint(), &signer, None);
    let other_root = STANDARD.encode([9u8; 32]);
    for tampered in [
        note.replacen("\n42\n", "\n43\n", 1),
        note.replacen("\n42\n", "\n4\n", 1),
        note.replacen("\n42\n", "\n0\n", 1),
        note.replacen("AAECAwQF", "AAECAwQG", 1),
        note.replacen(&STANDARD.encode(counting_root()), &other_root, 1),
        note.replacen("dezky.example/audit\n", "dezky.example/audi7\n", 1),
        note.replacen("dezky.example/audit\n", "dezky.example/audit2\n", 1),
        // An extension line added after signing.
        note.replacen("Hh8=\n", "Hh8=\nextra\n", 1),
    ] {
        assert_ne!(tampered, note);
        assert_eq!(
            verify_checkpoint(&tampered, &verifier),
            Err(CheckpointError::BadSignature {
                name: "dezky.example/audit".into(),
                key_id: key_id_hex(&signer.key_id()),
            }),
            "{tampered:?}"
        );
    }
    // A flipped signature byte.
    let (text, lines) = split(&note);
    let line = lines[0];
    let b64 = line.rsplit_once(' ').unwrap().1.trim_end();
    let mut raw = STANDARD.decode(b64).unwrap();
    raw[10] ^= 1;
    let flipped = format!("{text}\n{}", line.replace(b64, &STANDARD.encode(&raw)));
    assert!(matches!(
        verify_checkpoint(&flipped, &verifier),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn missing_or_foreign_signatures() {
    let signer = test_signer();
    let note = sign_checkpoint(&test_checkpoint(), &signer, Some((HMAC_NAME, HMAC_SECRET)));
    let (text, lines) = split(&note);
    assert_eq!(lines.len(), 2);
    // The Ed25519 line removed, the HMAC line left: no signature by this key.
    let without = format!("{text}\n{}", lines[1]);
    assert_eq!(
        verify_checkpoint(&without, &signer.verifier()),
        Err(CheckpointError::NoSignature {
            name: "dezky.example/audit".into(),
            key_id: key_id_hex(&signer.key_id()),
        })
    );
    // Every signature line removed: not a signed note at all.
    assert!(matches!(
        verify_checkpoint(&format!("{text}\n"), &signer.verifier()),
        Err(CheckpointError::MalformedNote { .. })
    ));
    assert!(matches!(
        verify_checkpoint(text, &signer.verifier()),
        Err(CheckpointError::MalformedNote { .. })
    ));
    // Another key under the same name, and the same key under another name.
    let other_key = NoteSigner::from_seed("dezky.example/audit", [8u8; 32]).unwrap();
    assert!(matches!(
        verify_checkpoint(&note, &other_key.verifier()),
        Err(CheckpointError::NoSignature { .. })
    ));
    let other_name = NoteSigner::from_seed("dezky.example/other", [7u8; 32]).unwrap();
    assert!(matches!(
        verify_checkpoint(&note, &other_name.verifier()),
        Err(CheckpointError::NoSignature { .. })
    ));
    // The HMAC line is ignored by the Ed25519 verifier.
    assert_eq!(verify_checkpoint(&note, &signer.verifier()).unwrap(), test_checkpoint());
}

#[test]
fn cosigned_checkpoint_verifies_for_each_key_and_ignores_unknown_lines() {
    let log = test_signer();
    let witness = NoteSigner::from_seed("witness.example/w1", [3u8; 32]).unwrap();
    let note = sign_checkpoint(&test_checkpoint(), &log, None);
    let (text, lines) = split(&note);
    let cosigned = sign_note(text, &witness, None).unwrap();
    let witness_line = split(&cosigned).1[0];
    // Sixteen unknown lines (spec: MUST accept at least 16), then both real ones.
    let unknown: String = (0..16u8)
        .map(|i| signature_line(&format!("unknown.example/{i}"), &[i; 4], &[i; 64]))
        .collect();
    let full = format!("{text}\n{unknown}{}{witness_line}", lines[0]);
    assert_eq!(verify_checkpoint(&full, &log.verifier()).unwrap(), test_checkpoint());
    assert_eq!(
        verify_checkpoint(&full, &witness.verifier()).unwrap(),
        test_checkpoint()
    );
    // A line with the right name but another id (or vice versa) is ignored.
    let decoy_id = signature_line(log.name(), &[0, 1, 2, 3], &[0; 64]);
    let decoy_name = signature_line("decoy.example", &log.key_id(), &[0; 64]);
    let decoyed = format!("{text}\n{decoy_id}{decoy_name}{}", lines[0]);
    assert_eq!(verify_checkpoint(&decoyed, &log.verifier()).unwrap(), test_checkpoint());
    // A line with the right name and id but a short signature is a bad signature.
    let short = signature_line(log.name(), &log.key_id(), &[0; 63]);
    assert!(matches!(
        verify_checkpoint(&format!("{text}\n{short}"), &log.verifier()),
        Err(CheckpointError::BadSignature { .. })
    ));
}

#[test]
fn structural_damage_is_malformed() {
    let signer = test_signer();
    let verifier = signer.verifier();
    let note = sign_checkpoint(&test_checkpoint(), &signer, None);
    let (text, lines) = split(&note);
    let line = lines[0];
    let b64 = line.rsplit_once(' ').unwrap().1.trim_end();
    let malformed_note_cases = [
        // Body without its trailing newline (so no blank separator line).
        format!("{}\n{line}", text.trim_end_matches('\n')),
        // No blank line at all.
        format!("{text}{line}"),
        // Trailing blank line after the signatures.
        format!("{note}\n"),
        // Signature line without its newline.
        note.trim_end_matches('\n').to_owned(),
        // Truncated base64 (broken padding / length).
        note.replace(b64, &b64[..b64.len() - 2]),
        note.replace(b64, &b64[..b64.len() - 1]),
        // Too short to hold a key id and a signature.
        note.replace(b64, "AAAA"),
        note.replace(b64, ""),
        // Not the em dash, or no space after it.
        note.replace('\u{2014}', "-"),
        note.replace("\u{2014} ", "\u{2014}"),
        // Name and signature not separated by a space.
        note.replace(" dezky.example/audit ", " dezky.example/audit"),
        // Carriage returns and other control characters.
        note.replace('\n', "\r\n"),
        note.replacen("42", "4\u{0}2", 1),
        // Base64 with the URL-safe alphabet.
        note.replace(b64, &b64.replace('+', "-").replace('/', "_")),
    ];
    for bad in &malformed_note_cases {
        assert_ne!(bad, &note);
        assert!(
            matches!(
                verify_checkpoint(bad, &verifier),
                Err(CheckpointError::MalformedNote { .. })
            ),
            "{bad:?}: {:?}",
            verify_checkpoint(bad, &verifier)
        );
    }
    // Truncated by whole base64 quanta: decodes, but the signature is too short.
    let truncated = note.replace(b64, &STANDARD.encode(&STANDARD.decode(b64).unwrap()[..63]));
    assert!(matches!(
        verify_checkpoint(&truncated, &verifier),
        Err(CheckpointError::BadSignature { .. })
    ));
    // Extra blank lines between body and signatures, or inside the body, make the
    // text an invalid checkpoint body.
    for bad in [
        format!("{text}\n\n{line}"),
        format!("{text}\n\n\n{line}"),
        note.replacen("\n42\n", "\n\n42\n", 1),
        format!("\n{note}"),
    ] {
        assert!(
            matches!(
                verify_checkpoint(&bad, &verifier),
                Err(CheckpointError::MalformedBody { .. })
            ),
            "{bad:?}: {:?}",
            verify_checkpoint(&bad, &verifier)
        );
    }
}

#[test]
fn validly_signed_malformed_body_is_rejected() {
    let signer = test_signer();
    for text in [
        "just one line\n",
        "o\n1\n\n",
        "o\n1\nAAAA\n",
        "o\n007\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
    ] {
        let note = sign_note(text, &signer, None).unwrap();
        assert_eq!(verify_note(&note, &signer.verifier()).unwrap(), text);
        assert!(matches!(
            verify_checkpoint(&note, &signer.verifier()),
            Err(CheckpointError::MalformedBody { .. })
        ));
    }
}

// ----- HMAC line -----

#[test]
fn hmac_line_matches_independent_golden_vector() {
    let note = sign_checkpoint(&test_checkpoint(), &test_signer(), Some((HMAC_NAME, HMAC_SECRET)));
    let (text, lines) = split(&note);
    assert_eq!(text, HMAC_BODY);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1], HMAC_LINE);
    // It can be verified on its own, even next to lines of unknown keys.
    let alone = format!("{HMAC_BODY}\n{HMAC_LINE}");
    assert_eq!(verify_checkpoint_hmac(&alone, HMAC_NAME, HMAC_SECRET), Ok(true));
    let with_other = format!("{HMAC_BODY}\n{SUMDB_SIG}{HMAC_LINE}");
    assert_eq!(verify_checkpoint_hmac(&with_other, HMAC_NAME, HMAC_SECRET), Ok(true));
}

#[test]
fn hmac_verification_outcomes() {
    let signer = test_signer();
    let with = sign_checkpoint(&test_checkpoint(), &signer, Some((HMAC_NAME, HMAC_SECRET)));
    let without = sign_checkpoint(&test_checkpoint(), &signer, None);
    assert_eq!(verify_checkpoint_hmac(&with, HMAC_NAME, HMAC_SECRET), Ok(true));
    // Absent, or present under another name: no such line.
    assert_eq!(verify_checkpoint_hmac(&without, HMAC_NAME, HMAC_SECRET), Ok(false));
    assert_eq!(
        verify_checkpoint_hmac(&with, "dezky.example/other-hmac", HMAC_SECRET),
        Ok(false)
    );
    // The Ed25519 line under the same name as the HMAC key is not an HMAC line.
    assert_eq!(verify_checkpoint_hmac(&without, signer.name(), HMAC_SECRET), Ok(false));
    // Wrong secret, or a tampered body: mismatch.
    let mismatch = CheckpointError::HmacMismatch {
        name: HMAC_NAME.into(),
        key_id: HMAC_KEY_ID_HEX.into(),
    };
    assert_eq!(
        verify_checkpoint_hmac(&with, HMAC_NAME, b"wrong secret"),
        Err(mismatch.clone())
    );
    assert_eq!(
        verify_checkpoint_hmac(&with.replacen("\n42\n", "\n43\n", 1), HMAC_NAME, HMAC_SECRET),
        Err(mismatch.clone())
    );
    // A truncated tag that still decodes: mismatch; one that does not: malformed.
    let (text, lines) = split(&with);
    let b64 = lines[1].rsplit_once(' ').unwrap().1.trim_end();
    let raw = STANDARD.decode(b64).unwrap();
    let short = format!("{text}\n{}", lines[1].replace(b64, &STANDARD.encode(&raw[..33])));
    assert_eq!(verify_checkpoint_hmac(&short, HMAC_NAME, HMAC_SECRET), Err(mismatch));
    let broken = format!("{text}\n{}", lines[1].replace(b64, &b64[..b64.len() - 1]));
    assert!(matches!(
        verify_checkpoint_hmac(&broken, HMAC_NAME, HMAC_SECRET),
        Err(CheckpointError::MalformedNote { .. })
    ));
    // Bad arguments.
    assert!(matches!(
        verify_checkpoint_hmac(&with, "bad name", HMAC_SECRET),
        Err(CheckpointError::InvalidKeyName { .. })
    ));
    assert_eq!(
        verify_checkpoint_hmac(&with, HMAC_NAME, b""),
        Err(CheckpointError::EmptyHmacSecret)
    );
}

#[test]
fn hmac_signing_arguments_are_validated() {
    let signer = test_signer();
    let checkpoint = test_checkpoint();
    assert!(matches!(
        try_sign_checkpoint(&checkpoint, &signer, Some(("a+b", HMAC_SECRET))),
        Err(CheckpointError::InvalidKeyName { .. })
    ));
    assert_eq!(
        try_sign_checkpoint(&checkpoint, &signer, Some((HMAC_NAME, b""))),
        Err(CheckpointError::EmptyHmacSecret)
    );
    // The same name for both lines is fine: the type byte separates the key ids.
    let same_name = sign_checkpoint(&checkpoint, &signer, Some((signer.name(), HMAC_SECRET)));
    assert_eq!(verify_checkpoint(&same_name, &signer.verifier()).unwrap(), checkpoint);
    assert_eq!(verify_checkpoint_hmac(&same_name, signer.name(), HMAC_SECRET), Ok(true));
}

#[test]
fn error_messages_are_clear() {
    let verifier = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    assert_eq!(
        verify_note(GO_TEXT, &verifier).unwrap_err().to_string(),
        "malformed signed note: no blank line separates the text from the signatures"
    );
    let enoch = NoteVerifier::parse_vkey(ENOCH_VKEY).unwrap();
    assert_eq!(
        verify_note(&peter_signed(), &enoch).unwrap_err().to_string(),
        "note has no signature by key EnochRoot+af0cfe78"
    );
    assert_eq!(
        Checkpoint::parse_body("o\n01\nAAAA\n").unwrap_err().to_string(),
        "malformed checkpoint body: tree size \"01\" has a leading zero"
    );
}

// ----- Property tests -----

fn origin_strategy() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9.-]{1,20}(/[a-zA-Z0-9._~-]{1,12}){0,3}", "[^\\x00-\\x1f]{1,40}",]
}

fn name_strategy() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9.-]{1,20}(/[a-z0-9._-]{1,12}){0,2}", "[^\\s+\\x00-\\x1f]{1,24}",]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_sign_verify_round_trip(
        origin in origin_strategy(),
        tree_size in any::<u64>(),
        root_hash in any::<[u8; 32]>(),
        seed in any::<[u8; 32]>(),
        name in name_strategy(),
        secret in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let checkpoint = Checkpoint::new(origin, tree_size, root_hash).unwrap();
        prop_assert_eq!(Checkpoint::parse_body(&checkpoint.body()).unwrap(), checkpoint.clone());
        let signer = NoteSigner::from_seed(&name, seed).unwrap();
        let note = sign_checkpoint(&checkpoint, &signer, Some(("dezky.example/hmac", &secret)));
        prop_assert_eq!(verify_checkpoint(&note, &signer.verifier()).unwrap(), checkpoint.clone());
        prop_assert_eq!(verify_checkpoint_hmac(&note, "dezky.example/hmac", &secret), Ok(true));
        let plain = sign_checkpoint(&checkpoint, &signer, None);
        prop_assert_eq!(verify_checkpoint(&plain, &signer.verifier()).unwrap(), checkpoint.clone());
        prop_assert_eq!(verify_checkpoint_hmac(&plain, "dezky.example/hmac", &secret), Ok(false));
        // Deterministic signatures.
        prop_assert_eq!(&sign_checkpoint(&checkpoint, &signer, None), &plain);
        // Another tree size under the same signature never verifies.
        let other = Checkpoint { tree_size: tree_size.wrapping_add(1), ..checkpoint.clone() };
        let forged = plain.replacen(&checkpoint.body(), &other.body(), 1);
        prop_assert!(
            matches!(
                verify_checkpoint(&forged, &signer.verifier()),
                Err(CheckpointError::BadSignature { .. })
            ),
            "forged note verified"
        );
    }

    #[test]
    fn prop_key_texts_round_trip(name in name_strategy(), seed in any::<[u8; 32]>()) {
        let signer = NoteSigner::from_seed(&name, seed).unwrap();
        let skey = signer.to_private_key_text();
        let parsed = NoteSigner::parse_private_key_text(&skey).unwrap();
        prop_assert_eq!(parsed.to_private_key_text(), skey);
        prop_assert_eq!(parsed.verifier(), signer.verifier());
        let vkey = signer.verifier().to_vkey();
        let verifier = NoteVerifier::parse_vkey(&vkey).unwrap();
        prop_assert_eq!(&verifier, &signer.verifier());
        prop_assert_eq!(verifier.to_vkey(), vkey);
        prop_assert_eq!(verifier.name(), name.as_str());
        prop_assert_eq!(verifier.key_id(), signer.key_id());
        prop_assert_eq!(
            NoteVerifier::new(&name, signer.public_key()).unwrap(),
            verifier
        );
    }

    #[test]
    fn prop_parsers_never_panic(text in "(?s).{0,200}") {
        let verifier = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
        let _ = Checkpoint::parse_body(&text);
        let _ = verify_checkpoint(&text, &verifier);
        let _ = verify_checkpoint_hmac(&text, "n", b"s");
        let _ = NoteVerifier::parse_vkey(&text);
        let _ = NoteSigner::parse_private_key_text(&text);
    }
}
