//! Tests of the checkpoint module: golden vectors from the Go note package and sigsum, round
//! trips, tampering, parser edge cases.

use super::*;
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// Golden vectors from the Go reference, golang.org/x/mod/sumdb/note
// (github.com/golang/mod, file sumdb/note/note_test.go: TestNewVerifier,
// TestNewSigner, TestSign, TestOpen; also the package doc in sumdb/note/note.go).
// ---------------------------------------------------------------------------

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str =
    "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter_signed() -> String {
    format!("{GO_TEXT}\n{PETER_SIG}")
}

// ---------------------------------------------------------------------------
// A real checkpoint of the Go checksum database, "retrieved from
// https://sum.golang.org/latest, 2024-09-23", as recorded in
// github.com/sigsum/sigsum-go, file pkg/checkpoint/checkpoint_test.go
// (TestGoSumDBCheckpoint); the verifier key is the one built into the go command
// (golang/go, src/cmd/go/internal/modfetch/key.go).
// ---------------------------------------------------------------------------

const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_BODY: &str = "go.sum database tree\n30055305\nmXfgRcJ0bG0j3CPdKwgGWtUzBUbX67saZGRmFuJGGsM=\n";
const SUMDB_SIG: &str = "\u{2014} sum.golang.org Az3grpgEild5qw7+5dtV13Kf1C2Xurm8q4fhdxvcsDHnqNTaxL2AFjBY+2TyGKevucFcAAlWFJJYle3EJlDCrQ+y3A8=\n";

fn sumdb_note() -> String {
    format!("{SUMDB_BODY}\n{SUMDB_SIG}")
}

// ---------------------------------------------------------------------------
// A checkpoint signed with a known seed, from the same sigsum-go test file
// (TestCheckpointSigned / validCheckpointASCII): seed = PrivateKey{17} (17 then 31
// zero bytes), key name = origin = "sigsum.org/v1/tree/" + hex(SHA-256(public key)),
// tree size 10, root hash {28, 14, 71, 0, ...}.
// ---------------------------------------------------------------------------

const SIGSUM_CHECKPOINT: &str = "sigsum.org/v1/tree/e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69\n\
     10\n\
     HA5HAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\
     \n\
     \u{2014} sigsum.org/v1/tree/e796172b92befd62d9dc67e41c2f5bc9d3100a3023b20b1ca40288dd1c679e69 gJ2ho0n8F8olcerUF1FFdv235A/5as/coWrpLrtE7ovMeP5whgwouYExowG/lTznxu6OUGjjt5yJQ6bXtTcf718MqAQ=\n";

fn sigsum_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[0] = 17;
    seed
}

// ---------------------------------------------------------------------------
// Our own HMAC line, computed independently of this code (Python 3 hashlib/hmac:
// key id = sha256(name + b"\n\xff" + b"dezky-hmac-sha256")[:4],
// tag = hmac.new(secret, body, sha256)).
// ---------------------------------------------------------------------------

const HMAC_NAME: &str = "dezky.example/audit-hmac";
const HMAC_SECRET: &[u8] = b"correct horse battery staple";
const HMAC_BODY: &str = "dezky.example/audit\n42\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n";
const HMAC_KEY_ID_HEX: &str = "947ddaea";
const HMAC_LINE: &str = "\u{2014} dezky.example/audit-hmac lH3a6sIgY6Wj1IQH5ZZ3ZNO4ozJOfSHmmPVQAKMk2lAV8UBZ\n";

fn counting_root() -> Hash {
    std::array::from_fn(|i| i as u8)
}

fn test_signer() -> NoteSigner {
    NoteSigner::from_seed("dezky.example/audit", [7u8; 32]).unwrap()
}

fn test_checkpoint() -> Checkpoint {
    Checkpoint::new("dezky.example/audit", 42, counting_root()).unwrap()
}

/// Splits a signed note into (text, signature lines each with its newline).
fn split(note: &str) -> (&str, Vec<&str>) {
    let at = note.rfind("\n\n").unwrap();
    let lines = note[at + 2..].split_inclusive('\n').collect();
    (&note[..=at], lines)
}

// ----- Go reference vectors -----

#[test]
fn go_private_key_parses_and_round_trips() {
    let signer = NoteSigner::parse_private_key_text(PETER_SKEY).unwrap();
    assert_eq!(signer.name(), "PeterNeumann");
    assert_eq!(signer.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(signer.to_private_key_text(), PETER_SKEY);
    assert_eq!(signer.verifier().to_vkey(), PETER_VKEY);
}

#[test]
fn go_vkeys_parse_and_round_trip() {
    for vkey in [PETER_VKEY, ENOCH_VKEY, SUMDB_VKEY] {
        let verifier = NoteVerifier::parse_vkey(vkey).unwrap();
        assert_eq!(verifier.to_vkey(), vkey);
    }
    let peter = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    assert_eq!(peter.name(), "PeterNeumann");
    assert_eq!(peter.key_id(), [0xc7, 0x4f, 0x20, 0xa3]);
    assert_eq!(
        peter,
        NoteSigner::parse_private_key_text(PETER_SKEY).unwrap().verifier()
    );
    let enoch = NoteVerifier::parse_vkey(ENOCH_VKEY).unwrap();
    assert_eq!(enoch.key_id(), [0xaf, 0x0c, 0xfe, 0x78]);
    let sumdb = NoteVerifier::parse_vkey(SUMDB_VKEY).unwrap();
    assert_eq!(sumdb.key_id(), [0x03, 0x3d, 0xe0, 0xae]);
}

#[test]
fn go_sign_matches_byte_for_byte() {
    let signer = NoteSigner::parse_private_key_text(PETER_SKEY).unwrap();
    assert_eq!(sign_note(GO_TEXT, &signer, None).unwrap(), peter_signed());
}

#[test]
fn go_signed_note_verifies() {
    let peter = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    let enoch = NoteVerifier::parse_vkey(ENOCH_VKEY).unwrap();
    assert_eq!(verify_note(&peter_signed(), &peter).unwrap(), GO_TEXT);
    // Doubly signed (TestOpen): each verifier finds its own line, ignores the other.
    let both = format!("{GO_TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    assert_eq!(verify_note(&both, &peter).unwrap(), GO_TEXT);
    assert_eq!(verify_note(&both, &enoch).unwrap(), GO_TEXT);
    assert!(matches!(
        verify_note(&peter_signed(), &enoch),
        Err(CheckpointError::NoSignature { name, key_id }) if name == "EnochRoot" && key_id == "af0cfe78"
    ));
    // Repeated identical signatures are fine.
    let repeated = format!("{GO_TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}");
    assert_eq!(verify_note(&repeated, &peter).unwrap(), GO_TEXT);
    assert_eq!(verify_note(&repeated, &enoch).unwrap(), GO_TEXT);
    // The text of a Go note is not a checkpoint.
    assert!(matches!(
        verify_checkpoint(&peter_signed(), &peter),
        Err(CheckpointError::MalformedBody { .. })
    ));
}

#[test]
fn go_vkey_manglings_are_rejected() {
    // TestNewVerifier: every proper substring and every single-byte increment fails.
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let sub = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!(NoteVerifier::parse_vkey(sub).is_err(), "accepted {sub:?}");
        }
    }
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] += 1;
        let s = String::from_utf8(b).unwrap();
        assert!(NoteVerifier::parse_vkey(&s).is_err(), "accepted {s:?}");
    }
    // Wrong length key, with adjusted key id.
    assert!(matches!(
        NoteVerifier::parse_vkey("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="),
        Err(CheckpointError::MalformedKey { .. })
    ));
    // Unknown algorithm, with adjusted key id.
    assert!(matches!(
        NoteVerifier::parse_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(CheckpointError::UnsupportedKeyAlgorithm { alg: 0x65 })
    ));
    // Wrong key id.
    assert_eq!(
        NoteVerifier::parse_vkey("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(CheckpointError::KeyIdMismatch {
            stated: "c74f20a4".into(),
            computed: "c74f20a3".into()
        })
    );
}

#[test]
fn go_private_key_manglings_are_rejected() {
    // TestNewSigner: every proper substring and every single-byte increment fails.
    let bytes = PETER_SKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i == 0 && j == bytes.len() {
                continue;
            }
            let sub = std::str::from_utf8(&bytes[i..j]).unwrap();
            assert!(NoteSigner::parse_private_key_text(sub).is_err(), "accepted {sub:?}");
        }
    }
    for i in 0..bytes.len() {
        let mut b = bytes.to_vec();
        b[i] += 1;
        let s = String::from_utf8(b).unwrap();
        assert!(NoteSigner::parse_private_key_text(&s).is_err(), "accepted {s:?}");
    }
}

#[test]
fn go_bad_messages_are_malformed() {
    // TestOpen "Invalid encoded message syntax" (the "\xff" case cannot be a &str).
    let peter = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    let bad = [
        GO_TEXT.to_owned(),
        format!("{GO_TEXT}\n"),
        format!("{GO_TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        format!("\u{1}{GO_TEXT}\n{PETER_SIG}"),
        format!(
            "{GO_TEXT}\n\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
        ),
        format!("{GO_TEXT}\n{PETER_SIG}Unexpected line.\n"),
        format!("{GO_TEXT}\n{}", PETER_SIG.repeat(101)),
    ];
    for note in &bad {
        assert!(
            matches!(verify_note(note, &peter), Err(CheckpointError::MalformedNote { .. })),
            "not malformed: {note:?}"
        );
    }
    // 100 signature lines are still accepted.
    let hundred = format!("{GO_TEXT}\n{}", PETER_SIG.repeat(100));
    assert_eq!(verify_note(&hundred, &peter).unwrap(), GO_TEXT);
}

#[test]
fn go_invalid_and_misattributed_signatures() {
    let peter = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    // TestOpen "Invalid signature": extra bytes inside the base64.
    let sig = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    assert_eq!(
        verify_note(&format!("{GO_TEXT}\n{sig}"), &peter),
        Err(CheckpointError::BadSignature {
            name: "PeterNeumann".into(),
            key_id: "c74f20a3".into()
        })
    );
    // A bad duplicate next to a good line still rejects the note.
    assert!(matches!(
        verify_note(&format!("{GO_TEXT}\n{PETER_SIG}{sig}"), &peter),
        Err(CheckpointError::BadSignature { .. })
    ));
    // Other name, or other key id: not this key's signature.
    let misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego");
    assert!(matches!(
        verify_note(&format!("{GO_TEXT}\n{misnamed}"), &peter),
        Err(CheckpointError::NoSignature { .. })
    ));
    let wrong_id = PETER_SIG.replace("x08g", "xxxx");
    assert!(matches!(
        verify_note(&format!("{GO_TEXT}\n{wrong_id}"), &peter),
        Err(CheckpointError::NoSignature { .. })
    ));
    // ... and such lines are ignored when the right one is present.
    let mixed = format!("{GO_TEXT}\n{misnamed}{wrong_id}{PETER_SIG}");
    assert_eq!(verify_note(&mixed, &peter).unwrap(), GO_TEXT);
}

// ----- Real-world checkpoints -----

#[test]
fn sumdb_checkpoint_verifies() {
    let verifier = NoteVerifier::parse_vkey(SUMDB_VKEY).unwrap();
    let checkpoint = verify_checkpoint(&sumdb_note(), &verifier).unwrap();
    assert_eq!(checkpoint.origin, "go.sum database tree");
    assert_eq!(checkpoint.tree_size, 30_055_305);
    assert_eq!(
        hex::encode(checkpoint.root_hash),
        "9977e045c2746c6d23dc23dd2b08065ad5330546d7ebbb1a64646616e2461ac3"
    );
    assert_eq!(checkpoint.body(), SUMDB_BODY);
}

#[test]
fn sumdb_checkpoint_tampering_is_detected() {
    let verifier = NoteVerifier::parse_vkey(SUMDB_VKEY).unwrap();
    let note = sumdb_note();
    for tampered in [
        note.replace("30055305", "30055306"),
        note.replace("30055305", "3005530"),
        note.replace("mXfg", "mXfh"),
        note.replace("go.sum database tree", "go.sum database tree2"),
    ] {
        assert!(
            matches!(
                verify_checkpoint(&tampered, &verifier),
                Err(CheckpointError::BadSignature { .. })
            ),
            "accepted {tampered:?}"
        );
    }
}

#[test]
fn sigsum_checkpoint_signs_byte_for_byte() {
    let probe = NoteSigner::from_seed("probe", sigsum_seed()).unwrap();
    let origin = format!("sigsum.org/v1/tree/{}", hex::encode(Sha256::digest(probe.public_key())));
    let signer = NoteSigner::from_seed(&origin, sigsum_seed()).unwrap();
    let mut root = [0u8; 32];
    root[..3].copy_from_slice(&[28, 14, 71]);
    let checkpoint = Checkpoint::new(origin, 10, root).unwrap();
    let signed = sign_checkpoint(&checkpoint, &signer, None);
    assert_eq!(signed, SIGSUM_CHECKPOINT);
    assert_eq!(
        verify_checkpoint(SIGSUM_CHECKPOINT, &signer.verifier()).unwrap(),
        checkpoint
    );
}

// ----- Key ids, names, key texts -----

#[test]
fn key_ids_follow_the_spec_formulas() {
    let signer = test_signer();
    let mut preimage = b"dezky.example/audit\n\x01".to_vec();
    preimage.extend_from_slice(&signer.public_key());
    assert_eq!(signer.key_id()[..], Sha256::digest(&preimage)[..4]);
    assert_eq!(ed25519_key_id(signer.name(), &signer.public_key()), signer.key_id());
    assert_eq!(hex::encode(hmac_key_id(HMAC_NAME)), HMAC_KEY_ID_HEX);
    let preimage = [HMAC_NAME.as_bytes(), b"\n\xff", b"dezky-hmac-sha256"].concat();
    assert_eq!(hmac_key_id(HMAC_NAME)[..], Sha256::digest(&preimage)[..4]);
}

#[test]
fn key_names_are_validated() {
    for bad in [
        "",
        "a+b",
        "a b",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\u{1}b",
        "a\u{a0}b",
        "a\u{2028}b",
        "a\u{3000}b",
        " ",
        "+",
    ] {
        assert_eq!(
            NoteSigner::from_seed(bad, [1; 32]).unwrap_err(),
            CheckpointError::InvalidKeyName { name: bad.into() }
        );
        assert!(NoteVerifier::new(bad, test_signer().public_key()).is_err());
    }
    for good in [
        "dezky.example/audit",
        "PeterNeumann",
        "\u{fc}n\u{ef}code.example/\u{2603}",
        "a-b_c.d/e~f",
    ] {
        let signer = NoteSigner::from_seed(good, [1; 32]).unwrap();
        assert_eq!(signer.name(), good);
    }
}

#[test]
fn malformed_key_texts_are_rejected() {
    let vkey = test_signer().verifier().to_vkey();
    let (name_and_id, material) = vkey.rsplit_once('+').unwrap();
    let id = key_id_hex(&test_signer().key_id());
    for bad in [
        String::new(),
        "dezky.example/audit".to_owned(),
        format!("{name_and_id}+"),
        format!("{name_and_id}+{material}="),
        format!("{name_and_id}+{}", &material[1..]),
        // Key id: too long, not hex, missing.
        vkey.replacen('+', "+0", 1),
        vkey.replacen(&id, &format!("g{}", &id[1..]), 1),
        vkey.replacen(&format!("+{id}"), "", 1),
        format!("PRIVATE+KEY+{vkey}"),
        vkey.replace("dezky.example/audit", "dezky example"),
    ] {
        assert!(NoteVerifier::parse_vkey(&bad).is_err(), "accepted {bad:?}");
    }
    // The vkey is not a private key, and vice versa.
    assert!(NoteSigner::parse_private_key_text(&vkey).is_err());
    let skey = test_signer().to_private_key_text();
    assert!(NoteVerifier::parse_vkey(&skey).is_err());
    assert!(NoteSigner::parse_private_key_text(&skey.replace("PRIVATE+KEY", "private+key")).is_err());
    // Upper-case hex in the key id is accepted, as by Go's strconv.ParseUint.
    let upper = PETER_VKEY.replace("c74f20a3", "C74F20A3");
    assert_eq!(
        NoteVerifier::parse_vkey(&upper).unwrap(),
        NoteVerifier::parse_vkey(PETER_VKEY).unwrap()
    );
}

#[test]
fn private_key_text_with_other_name_fails_key_id_check() {
    let skey = PETER_SKEY.replace("PeterNeumann", "PeterNeuman");
    assert_eq!(
        NoteSigner::parse_private_key_text(&skey).unwrap_err(),
        CheckpointError::KeyIdMismatch {
            stated: "c74f20a3".into(),
            computed: key_id_hex(
                &NoteSigner::from_seed(
                    "PeterNeuman",
                    NoteSigner::parse_private_key_text(PETER_SKEY).unwrap().key.to_bytes()
                )
                .unwrap()
                .key_id()
            ),
        }
    );
}

#[test]
fn signer_debug_does_not_leak_the_seed() {
    let seed: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11));
    let signer = NoteSigner::from_seed("dezky.example/audit", seed).unwrap();
    let debug = format!("{signer:?}");
    let pretty = format!("{signer:#?}");
    let mut with_alg = vec![SIG_TYPE_ED25519];
    with_alg.extend_from_slice(&seed);
    let forbidden = [
        hex::encode(seed),
        hex::encode_upper(seed),
        STANDARD.encode(seed),
        STANDARD.encode(&with_alg),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(seed),
        format!("{seed:?}"),
        signer.to_private_key_text(),
    ];
    for text in [&debug, &pretty] {
        assert!(text.contains("dezky.example/audit"));
        assert!(text.contains(&key_id_hex(&signer.key_id())));
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "{text} leaks {secret}");
        }
        // Not even a 16-character window of the seed's hex or base64.
        for secret in [hex::encode(seed), STANDARD.encode(seed)] {
            for window in secret.as_bytes().windows(16) {
                let window = std::str::from_utf8(window).unwrap();
                assert!(!text.contains(window), "{text} leaks {window}");
            }
        }
    }
}

// ----- Checkpoint bodies -----

#[test]
fn body_format() {
    assert_eq!(test_checkpoint().body(), HMAC_BODY);
    let empty = Checkpoint::new("example.com/log", 0, [0; 32]).unwrap();
    assert_eq!(
        empty.body(),
        "example.com/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    );
    assert_eq!(Checkpoint::parse_body(&empty.body()).unwrap(), empty);
}

#[test]
fn parse_body_accepts_extension_lines() {
    let body = format!("{HMAC_BODY}ext one\n\u{2014} not a signature\n");
    assert_eq!(Checkpoint::parse_body(&body).unwrap(), test_checkpoint());
    let max = "o\n18446744073709551615\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    assert_eq!(Checkpoint::parse_body(max).unwrap().tree_size, u64::MAX);
    // Origins only need to be non-empty: spaces and '+' are allowed in bodies.
    let spaced = "go.sum database tree+x\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    assert_eq!(Checkpoint::parse_body(spaced).unwrap().origin, "go.sum database tree+x");
}

#[test]
fn parse_body_rejects_malformed_bodies() {
    const ROOT: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let bad = [
        String::new(),
        "\n".to_owned(),
        format!("o\n1\n{ROOT}"),
        "o\n1\n".to_owned(),
        format!("\n1\n{ROOT}\n"),
        format!("o\n\n{ROOT}\n"),
        "o\n1\n\n".to_owned(),
        format!("o\n1\n{ROOT}\n\n"),
        format!("o\n1\n{ROOT}\next\n\n"),
        format!("o\n01\n{ROOT}\n"),
        format!("o\n00\n{ROOT}\n"),
        format!("o\n+1\n{ROOT}\n"),
        format!("o\n-1\n{ROOT}\n"),
        format!("o\n 1\n{ROOT}\n"),
        format!("o\n1 \n{ROOT}\n"),
        format!("o\n1.0\n{ROOT}\n"),
        format!("o\n0x1\n{ROOT}\n"),
        format!("o\n\u{661}\n{ROOT}\n"),
        format!("o\n18446744073709551616\n{ROOT}\n"),
        format!("o\n99999999999999999999999\n{ROOT}\n"),
        format!("o\n1\n{}\n", &ROOT[..ROOT.len() - 1]),
        format!("o\n1\n{}\n", &ROOT[4..]),
        format!("o\n1\n{ROOT}=\n"),
        format!("o\n1\n{}\n", ROOT.replace('=', "")),
        format!("o\n1\n{}\n", STANDARD.encode([0xfb; 32])).replace('+', "-"),
        "o\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n".to_owned(),
        format!("o\n1\n{}\n", STANDARD.encode([1; 31])),
        format!("o\n1\n{}\n", STANDARD.encode([1; 33])),
        format!("o\n1\n {ROOT}\n"),
        format!("o\r\n1\n{ROOT}\n"),
        format!("o\n1\r\n{ROOT}\n"),
        format!("o\n1\n{ROOT}\r\n"),
        format!("o\t\n1\n{ROOT}\n"),
        format!("o\n1\n{ROOT}\next\u{7}\n"),
    ];
    for body in &bad {
        assert!(
            matches!(Checkpoint::parse_body(body), Err(CheckpointError::MalformedBody { .. })),
            "accepted {body:?}: {:?}",
            Checkpoint::parse_body(body)
        );
    }
}

#[test]
fn invalid_origins_are_refused_when_signing() {
    for origin in ["", "a\nb", "a\rb", "tab\there", "\n"] {
        let err = CheckpointError::InvalidOrigin { origin: origin.into() };
        assert_eq!(Checkpoint::new(origin, 1, [0; 32]).unwrap_err(), err);
        let checkpoint = Checkpoint {
            origin: origin.into(),
            tree_size: 1,
            root_hash: [0; 32],
        };
        assert_eq!(try_sign_checkpoint(&checkpoint, &test_signer(), None).unwrap_err(), err);
    }
}

#[test]
#[should_panic(expected = "invalid checkpoint origin")]
fn sign_checkpoint_panics_on_invalid_origin() {
    let checkpoint = Checkpoint {
        origin: "two\nlines".into(),
        tree_size: 1,
        root_hash: [0; 32],
    };
    sign_checkpoint(&checkpoint, &test_signer(), None);
}

#[test]
fn sign_note_refuses_bad_text() {
    let signer = test_signer();
    for text in ["", "no newline", "ctl\u{7}\n", "cr\r\n"] {
        assert!(matches!(
            sign_note(text, &signer, None),
            Err(CheckpointError::MalformedNote { .. })
        ));
    }
}

mod signing;
