//! Signed checkpoints: a [C2SP tlog-checkpoint] body inside a [C2SP signed note],
//! signed with Ed25519, optionally followed by an HMAC-SHA-256 line.
//!
//! A signed checkpoint looks like this (the signature line starts with U+2014 EM DASH
//! and a space):
//!
//! ```text
//! dezky.example/audit
//! 42
//! AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
//!
//! — dezky.example/audit <base64(key id (4 bytes) || Ed25519 signature (64 bytes))>
//! ```
//!
//! The text formats are the ones of the Go reference implementation
//! (`golang.org/x/mod/sumdb/note`), so keys and notes move between this module and
//! Go tooling unchanged:
//!
//! * verifier key: `<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>`
//! * private key: `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || 32-byte seed)>`
//! * key id: the first four bytes of `SHA-256(name || 0x0A || 0x01 || public key)`
//!
//! Everything here is pure: keys come in as bytes or text, notes as `&str`, and the
//! only outputs are values and errors.
//!
//! [C2SP tlog-checkpoint]: https://c2sp.org/tlog-checkpoint
//! [C2SP signed note]: https://c2sp.org/signed-note

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// A SHA-256 Merkle tree hash (RFC 9162 / RFC 6962).
pub type Hash = [u8; 32];

/// A signed-note key id: the first four bytes of a SHA-256 over the key name, a
/// newline, the signature type byte and the key material.
pub type KeyId = [u8; 4];

/// Signed-note signature type byte for Ed25519 (c2sp.org/signed-note).
const SIG_TYPE_ED25519: u8 = 0x01;

/// Signed-note signature type byte `0xff`: "reserved for signature types without an
/// identifier byte assigned by this specification", to be followed by a longer
/// identifier that is unlikely to collide. See [`hmac_key_id`].
const SIG_TYPE_UNASSIGNED: u8 = 0xff;

/// The identifier that follows the `0xff` type byte in the key id of the HMAC line.
pub const HMAC_SHA256_IDENTIFIER: &str = "dezky-hmac-sha256";

/// Every signature line starts with U+2014 EM DASH and a space.
const SIGNATURE_LINE_PREFIX: &str = "\u{2014} ";

/// Prefix of the private key text (Go `note.NewSigner` format).
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// The most signature lines a note may carry before it is rejected as malformed.
/// The signed-note spec requires accepting at least 16; the Go reference rejects more
/// than 100, and so do we.
pub const MAX_SIGNATURE_LINES: usize = 100;

type HmacSha256 = Hmac<Sha256>;

/// Why a key, checkpoint or signed note was rejected.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// A note key name is empty or contains whitespace, `+` or a control character.
    #[error(
        "invalid key name {name:?}: a key name must be non-empty and contain no whitespace, \
         no '+' and no control characters"
    )]
    InvalidKeyName { name: String },

    /// A checkpoint origin is empty or contains a newline or another control character.
    #[error(
        "invalid checkpoint origin {origin:?}: the origin must be non-empty and contain no \
         newline or other control characters"
    )]
    InvalidOrigin { origin: String },

    /// Verifier or private key text does not have the expected shape.
    #[error("malformed key text: {reason}")]
    MalformedKey { reason: String },

    /// The key text names an algorithm other than Ed25519 (`0x01`).
    #[error("unsupported key algorithm 0x{alg:02x} (only Ed25519, 0x01, is supported)")]
    UnsupportedKeyAlgorithm { alg: u8 },

    /// The key id written in the key text is not the one computed from name and key.
    #[error("key id {stated} in the key text does not match the key (computed {computed})")]
    KeyIdMismatch { stated: String, computed: String },

    /// The HMAC secret is empty.
    #[error("the HMAC secret must not be empty")]
    EmptyHmacSecret,

    /// The HMAC line would be indistinguishable from the Ed25519 signature line.
    #[error("the HMAC key {name}+{key_id} has the same name and key id as the signing key")]
    KeyCollision { name: String, key_id: String },

    /// The signed note (or the text to sign) breaks the signed-note format.
    #[error("malformed signed note: {reason}")]
    MalformedNote { reason: String },

    /// The note is well formed but carries no signature line for this key.
    #[error("note has no signature by key {name}+{key_id}")]
    NoSignature { name: String, key_id: String },

    /// A signature line for this key is present but does not verify.
    #[error("invalid signature by key {name}+{key_id}")]
    BadSignature { name: String, key_id: String },

    /// The note text is not a valid tlog-checkpoint body.
    #[error("malformed checkpoint body: {reason}")]
    MalformedBody { reason: String },

    /// An HMAC line for this name is present but does not match under the given secret.
    #[error("HMAC line {name}+{key_id} does not match the note text under the given secret")]
    HmacMismatch { name: String, key_id: String },
}

fn malformed_note(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::MalformedNote { reason: reason.into() }
}

fn malformed_body(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::MalformedBody { reason: reason.into() }
}

fn malformed_key(reason: impl Into<String>) -> CheckpointError {
    CheckpointError::MalformedKey { reason: reason.into() }
}

fn key_id_hex(key_id: &KeyId) -> String {
    hex::encode(key_id)
}

/// Whether `name` is a valid note key name: non-empty, no Unicode whitespace, no `+`
/// (c2sp.org/signed-note), and no ASCII control characters (a note may not contain
/// them, so a name with one could never appear in a signature line).
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c == '+' || c.is_whitespace() || c < ' ')
}

fn check_key_name(name: &str) -> Result<(), CheckpointError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(CheckpointError::InvalidKeyName { name: name.to_owned() })
    }
}

fn key_id_for(name: &str, sig_type: u8, key_material: &[u8]) -> KeyId {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', sig_type])
        .chain_update(key_material)
        .finalize();
    let mut id = [0u8; 4];
    id.copy_from_slice(&digest[..4]);
    id
}

/// Ed25519 key id: `SHA-256(name || 0x0A || 0x01 || public key)[:4]`
/// (c2sp.org/signed-note, "Ed25519 signatures").
pub fn ed25519_key_id(name: &str, public_key: &[u8; 32]) -> KeyId {
    key_id_for(name, SIG_TYPE_ED25519, public_key)
}

/// Key id of the HMAC line:
/// `SHA-256(hmac_name || 0x0A || 0xFF || "dezky-hmac-sha256")[:4]`.
///
/// The signed-note registry of signature type bytes assigns `0x01` (Ed25519), `0x02`
/// (ECDSA, transparency-dev witness), `0x03` (reserved), `0x04` (timestamped Ed25519
/// cosignatures, c2sp.org/tlog-cosignature), `0x05` (RFC 6962 tree head signatures,
/// c2sp.org/static-ct-api) and reserves `0xfa`–`0xfe` for future use. HMAC-SHA-256 has
/// no byte of its own, and taking an unassigned one (say `0x06`) could clash with a
/// later assignment. The spec reserves `0xff` exactly for "signature types without an
/// identifier byte assigned by this specification" and recommends following it with a
/// longer identifier unlikely to collide, which is what `"dezky-hmac-sha256"` is.
///
/// An HMAC key is secret, so unlike the Ed25519 key id this one does not hash any key
/// material: the id reveals nothing about the secret and stays the same when the
/// secret is rotated (a line made with an old secret then fails with
/// [`CheckpointError::HmacMismatch`] instead of being silently ignored). Because the
/// type byte differs, the HMAC line cannot be mistaken for an Ed25519 line even when it
/// uses the same key name.
pub fn hmac_key_id(hmac_name: &str) -> KeyId {
    key_id_for(hmac_name, SIG_TYPE_UNASSIGNED, HMAC_SHA256_IDENTIFIER.as_bytes())
}

fn hmac_tag(secret: &[u8], text: &str) -> HmacSha256 {
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC-SHA-256 accepts keys of any length");
    mac.update(text.as_bytes());
    mac
}

/// `(origin, treeSize, rootHash)`: the statement a checkpoint signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: Hash,
}

impl Checkpoint {
    /// A checkpoint with a validated origin (see [`Checkpoint::validate`]).
    pub fn new(origin: impl Into<String>, tree_size: u64, root_hash: Hash) -> Result<Checkpoint, CheckpointError> {
        let checkpoint = Checkpoint {
            origin: origin.into(),
            tree_size,
            root_hash,
        };
        checkpoint.validate()?;
        Ok(checkpoint)
    }

    /// Checks that the origin is non-empty and free of newlines and other control
    /// characters, so that [`Checkpoint::body`] parses back to `self`.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() || self.origin.chars().any(|c| c < ' ') {
            return Err(CheckpointError::InvalidOrigin {
                origin: self.origin.clone(),
            });
        }
        Ok(())
    }

    /// `"<origin>\n<decimal tree size>\n<std base64 root hash>\n"`: the C2SP
    /// tlog-checkpoint body, with no extension lines.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            STANDARD.encode(self.root_hash)
        )
    }

    /// Parses a tlog-checkpoint body: the origin (non-empty), the tree size (ASCII
    /// decimal, no sign, no leading zeroes except `0` itself, at most `u64::MAX`), the
    /// root hash (canonical standard base64 of exactly 32 bytes), then optional
    /// extension lines, which must be non-empty and are otherwise ignored. Every line,
    /// the last included, ends with a newline; control characters other than newline
    /// are rejected.
    pub fn parse_body(text: &str) -> Result<Checkpoint, CheckpointError> {
        let Some(content) = text.strip_suffix('\n') else {
            return Err(malformed_body("the body must end with a newline"));
        };
        if let Some(c) = text.chars().find(|&c| c < ' ' && c != '\n') {
            return Err(malformed_body(format!(
                "the body contains the control character U+{:04X}",
                u32::from(c)
            )));
        }
        let lines: Vec<&str> = content.split('\n').collect();
        if lines.len() < 3 {
            return Err(malformed_body(format!(
                "the body has {} line(s); a checkpoint needs origin, tree size and root hash",
                lines.len()
            )));
        }
        if let Some(index) = lines.iter().position(|line| line.is_empty()) {
            let what = match index {
                0 => "the origin line",
                1 => "the tree size line",
                2 => "the root hash line",
                _ => "an extension line",
            };
            return Err(malformed_body(format!("{what} (line {}) is empty", index + 1)));
        }
        let tree_size = parse_tree_size(lines[1])?;
        let root_hash = parse_root_hash(lines[2])?;
        Ok(Checkpoint {
            origin: lines[0].to_owned(),
            tree_size,
            root_hash,
        })
    }
}

fn parse_tree_size(line: &str) -> Result<u64, CheckpointError> {
    if !line.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed_body(format!(
            "tree size {line:?} is not an unsigned decimal number"
        )));
    }
    if line.len() > 1 && line.starts_with('0') {
        return Err(malformed_body(format!("tree size {line:?} has a leading zero")));
    }
    line.parse::<u64>()
        .map_err(|_| malformed_body(format!("tree size {line:?} does not fit in 64 bits")))
}

fn parse_root_hash(line: &str) -> Result<Hash, CheckpointError> {
    let bytes = STANDARD
        .decode(line)
        .map_err(|e| malformed_body(format!("root hash {line:?} is not standard base64: {e}")))?;
    let root: Hash = bytes
        .as_slice()
        .try_into()
        .map_err(|_| malformed_body(format!("root hash decodes to {} bytes, expected 32", bytes.len())))?;
    // The engine already insists on canonical padding and zero trailing bits; this
    // makes "one hash, one spelling" explicit.
    if STANDARD.encode(root) != line {
        return Err(malformed_body(format!("root hash {line:?} is not canonically encoded")));
    }
    Ok(root)
}

/// An Ed25519 note signer: a key name and a signing key.
///
/// `Debug` shows the name, key id and public key, never the seed.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &key_id_hex(&self.key_id))
            .field("public_key", &STANDARD.encode(self.key.verifying_key().as_bytes()))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer for `name` from a 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, CheckpointError> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(&seed);
        let key_id = ed25519_key_id(name, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// The Go note private key format:
    /// `PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 || seed)>`. Secret: anyone
    /// holding this text can sign.
    pub fn to_private_key_text(&self) -> String {
        let mut material = [0u8; 33];
        material[0] = SIG_TYPE_ED25519;
        material[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{}+{}",
            self.name,
            key_id_hex(&self.key_id),
            STANDARD.encode(material)
        )
    }

    /// Parses the Go note private key format (see [`NoteSigner::to_private_key_text`]);
    /// the key id must match the one derived from the name and the public key.
    pub fn parse_private_key_text(text: &str) -> Result<NoteSigner, CheckpointError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or_else(|| malformed_key("private key text must start with PRIVATE+KEY+"))?;
        let (name, stated_id, material) = split_key_text(rest)?;
        let (&alg, seed) = material
            .split_first()
            .ok_or_else(|| malformed_key("empty key material"))?;
        if alg != SIG_TYPE_ED25519 {
            return Err(CheckpointError::UnsupportedKeyAlgorithm { alg });
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| {
            malformed_key(format!(
                "an Ed25519 seed is 32 bytes, the key text holds {}",
                seed.len()
            ))
        })?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.key_id != stated_id {
            return Err(CheckpointError::KeyIdMismatch {
                stated: key_id_hex(&stated_id),
                computed: key_id_hex(&signer.key_id),
            });
        }
        Ok(signer)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The note key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
}

/// An Ed25519 note verifier: a key name, its key id and a public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: KeyId,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier for `name` and a 32-byte Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<NoteVerifier, CheckpointError> {
        check_key_name(name)?;
        let key = VerifyingKey::from_bytes(&public_key)
            .map_err(|_| malformed_key("the Ed25519 public key is not a valid curve point"))?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            key_id: ed25519_key_id(name, &public_key),
            key,
        })
    }

    /// The Go note verifier key format:
    /// `<name>+<8 hex key id>+<base64(0x01 || 32-byte public key)>`.
    pub fn to_vkey(&self) -> String {
        let mut material = [0u8; 33];
        material[0] = SIG_TYPE_ED25519;
        material[1..].copy_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            key_id_hex(&self.key_id),
            STANDARD.encode(material)
        )
    }

    /// Parses a verifier key (see [`NoteVerifier::to_vkey`]); the key id must match
    /// the one computed from the name and the key material.
    pub fn parse_vkey(text: &str) -> Result<NoteVerifier, CheckpointError> {
        let (name, stated_id, material) = split_key_text(text)?;
        // As in the Go reference, the id is checked over the whole key material before
        // the algorithm byte is looked at.
        let computed = key_id_for(name, material[0], &material[1..]);
        if computed != stated_id {
            return Err(CheckpointError::KeyIdMismatch {
                stated: key_id_hex(&stated_id),
                computed: key_id_hex(&computed),
            });
        }
        if material[0] != SIG_TYPE_ED25519 {
            return Err(CheckpointError::UnsupportedKeyAlgorithm { alg: material[0] });
        }
        let public_key: [u8; 32] = material[1..].try_into().map_err(|_| {
            malformed_key(format!(
                "an Ed25519 public key is 32 bytes, the key text holds {}",
                material.len() - 1
            ))
        })?;
        NoteVerifier::new(name, public_key)
    }

    /// The note key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn no_signature(&self) -> CheckpointError {
        CheckpointError::NoSignature {
            name: self.name.clone(),
            key_id: key_id_hex(&self.key_id),
        }
    }

    fn bad_signature(&self) -> CheckpointError {
        CheckpointError::BadSignature {
            name: self.name.clone(),
            key_id: key_id_hex(&self.key_id),
        }
    }
}

/// Splits `<name>+<8 hex>+<base64>` (the part after `PRIVATE+KEY+` for private keys)
/// into a validated name, the stated key id and non-empty decoded key material.
fn split_key_text(text: &str) -> Result<(&str, KeyId, Vec<u8>), CheckpointError> {
    let (name, rest) = text
        .split_once('+')
        .ok_or_else(|| malformed_key("expected <name>+<key id>+<key material>"))?;
    let (id_hex, material_b64) = rest
        .split_once('+')
        .ok_or_else(|| malformed_key("expected <name>+<key id>+<key material>"))?;
    check_key_name(name)?;
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed_key(format!("key id {id_hex:?} is not 8 hex digits")));
    }
    let mut key_id = [0u8; 4];
    hex::decode_to_slice(id_hex, &mut key_id)
        .map_err(|_| malformed_key(format!("key id {id_hex:?} is not 8 hex digits")))?;
    let material = STANDARD
        .decode(material_b64)
        .map_err(|_| malformed_key("key material is not standard base64"))?;
    if material.is_empty() {
        return Err(malformed_key("empty key material"));
    }
    Ok((name, key_id, material))
}

/// One parsed signature line.
#[derive(Debug)]
struct SignatureLine<'a> {
    name: &'a str,
    key_id: KeyId,
    signature: Vec<u8>,
}

/// A signed note split into its text and its signature lines; nothing verified yet.
#[derive(Debug)]
struct ParsedNote<'a> {
    text: &'a str,
    signatures: Vec<SignatureLine<'a>>,
}

impl ParsedNote<'_> {
    fn lines_for(&self, name: &str, key_id: KeyId) -> impl Iterator<Item = &SignatureLine<'_>> {
        self.signatures
            .iter()
            .filter(move |line| line.name == name && line.key_id == key_id)
    }
}

/// Splits a signed note per c2sp.org/signed-note: no control characters but newline;
/// the text (ending in newline) is separated from the signatures by the last empty
/// line; then one or more lines `— <key name> <base64(key id || signature)>\n`.
fn parse_note(note: &str) -> Result<ParsedNote<'_>, CheckpointError> {
    if let Some(c) = note.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(malformed_note(format!(
            "the note contains the control character U+{:04X}",
            u32::from(c)
        )));
    }
    let split = note
        .rfind("\n\n")
        .ok_or_else(|| malformed_note("no blank line separates the text from the signatures"))?;
    let text = &note[..=split];
    let block = &note[split + 2..];
    if block.is_empty() {
        return Err(malformed_note("no signature lines after the blank line"));
    }
    let Some(block) = block.strip_suffix('\n') else {
        return Err(malformed_note("the last signature line does not end with a newline"));
    };
    let mut signatures = Vec::new();
    for (index, line) in block.split('\n').enumerate() {
        let number = index + 1;
        if number > MAX_SIGNATURE_LINES {
            return Err(malformed_note(format!(
                "more than {MAX_SIGNATURE_LINES} signature lines"
            )));
        }
        let rest = line.strip_prefix(SIGNATURE_LINE_PREFIX).ok_or_else(|| {
            malformed_note(format!(
                "signature line {number} does not start with an em dash (U+2014) and a space"
            ))
        })?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| {
            malformed_note(format!(
                "signature line {number} has no space between key name and signature"
            ))
        })?;
        if !is_valid_key_name(name) {
            return Err(malformed_note(format!(
                "signature line {number} has an invalid key name {name:?}"
            )));
        }
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| malformed_note(format!("signature line {number} does not carry standard base64")))?;
        if raw.len() < 5 {
            return Err(malformed_note(format!(
                "signature line {number} is too short for a key id and a signature"
            )));
        }
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(&raw[..4]);
        signatures.push(SignatureLine {
            name,
            key_id,
            signature: raw[4..].to_vec(),
        });
    }
    Ok(ParsedNote { text, signatures })
}

/// Every line for the verifier's name and key id must verify, and there must be at
/// least one. Lines of other keys are ignored, as the spec requires.
fn check_ed25519(parsed: &ParsedNote<'_>, verifier: &NoteVerifier) -> Result<(), CheckpointError> {
    let mut found = false;
    for line in parsed.lines_for(&verifier.name, verifier.key_id) {
        found = true;
        let signature = Signature::from_slice(&line.signature).map_err(|_| verifier.bad_signature())?;
        verifier
            .key
            .verify(parsed.text.as_bytes(), &signature)
            .map_err(|_| verifier.bad_signature())?;
    }
    if found { Ok(()) } else { Err(verifier.no_signature()) }
}

fn signature_line(name: &str, key_id: &KeyId, signature: &[u8]) -> String {
    let mut raw = Vec::with_capacity(4 + signature.len());
    raw.extend_from_slice(key_id);
    raw.extend_from_slice(signature);
    format!("{SIGNATURE_LINE_PREFIX}{name} {}\n", STANDARD.encode(raw))
}

/// Signs an arbitrary note text: returns `text + "\n" + "— <name> <base64(key id ||
/// Ed25519 signature)>\n"`, plus the HMAC line described at [`sign_checkpoint`] when
/// `hmac` is given. The text must end with a newline and contain no control characters
/// but newline. Byte-for-byte what Go's `note.Sign` produces for one signer.
pub(crate) fn sign_note(
    text: &str,
    signer: &NoteSigner,
    hmac: Option<(&str, &[u8])>,
) -> Result<String, CheckpointError> {
    if !text.ends_with('\n') {
        return Err(malformed_note("the note text must end with a newline"));
    }
    if let Some(c) = text.chars().find(|&c| c < ' ' && c != '\n') {
        return Err(malformed_note(format!(
            "the note text contains the control character U+{:04X}",
            u32::from(c)
        )));
    }
    let mut note = String::with_capacity(text.len() + 256);
    note.push_str(text);
    note.push('\n');
    let signature = signer.key.sign(text.as_bytes());
    note.push_str(&signature_line(&signer.name, &signer.key_id, &signature.to_bytes()));
    if let Some((hmac_name, secret)) = hmac {
        check_key_name(hmac_name)?;
        if secret.is_empty() {
            return Err(CheckpointError::EmptyHmacSecret);
        }
        let key_id = hmac_key_id(hmac_name);
        if hmac_name == signer.name && key_id == signer.key_id {
            return Err(CheckpointError::KeyCollision {
                name: hmac_name.to_owned(),
                key_id: key_id_hex(&key_id),
            });
        }
        let tag = hmac_tag(secret, text).finalize().into_bytes();
        note.push_str(&signature_line(hmac_name, &key_id, &tag));
    }
    Ok(note)
}

/// Verifies a signed note against one Ed25519 verifier and returns its text (which
/// includes the final newline but not the blank separator line).
///
/// Errors, in order of precedence: [`CheckpointError::MalformedNote`],
/// [`CheckpointError::NoSignature`], [`CheckpointError::BadSignature`]. Signature lines
/// of other keys (other name, or other key id) are ignored; every line matching the
/// verifier's name and key id must verify.
pub fn verify_note<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, CheckpointError> {
    let parsed = parse_note(note)?;
    check_ed25519(&parsed, verifier)?;
    Ok(parsed.text)
}

/// Like [`sign_checkpoint`], but returns an error instead of panicking when the origin,
/// the HMAC name or the HMAC secret is invalid.
pub fn try_sign_checkpoint(
    checkpoint: &Checkpoint,
    signer: &NoteSigner,
    hmac: Option<(&str, &[u8])>,
) -> Result<String, CheckpointError> {
    checkpoint.validate()?;
    sign_note(&checkpoint.body(), signer, hmac)
}

/// Signs a checkpoint: returns `checkpoint.body() + "\n"` followed by the signature line
/// `— <name> <base64(key id (4) || Ed25519 signature (64))>\n`.
///
/// If `hmac` is `Some((hmac_name, secret))`, a second line follows with an
/// HMAC-SHA-256 of the body under `secret`:
/// `— <hmac_name> <base64(hmac key id (4) || HMAC (32))>\n`, where the key id is
/// [`hmac_key_id`] (`SHA-256(hmac_name || 0x0A || 0xFF || "dezky-hmac-sha256")[:4]`;
/// that function's documentation explains the `0xFF` type byte). Verifiers that do not
/// know the HMAC key ignore the line, as signed-note requires of unknown keys.
///
/// # Panics
///
/// If the checkpoint's origin is invalid (see [`Checkpoint::validate`]), or the HMAC
/// name is not a valid key name, or the HMAC secret is empty. Use
/// [`try_sign_checkpoint`] to get an error instead.
pub fn sign_checkpoint(checkpoint: &Checkpoint, signer: &NoteSigner, hmac: Option<(&str, &[u8])>) -> String {
    try_sign_checkpoint(checkpoint, signer, hmac).unwrap_or_else(|e| panic!("sign_checkpoint: {e}"))
}

/// Verifies a signed checkpoint against one Ed25519 verifier and returns the checkpoint.
///
/// The note is split per signed-note (the text is everything up to and including the
/// newline before the last blank line); the signature lines whose name and key id match
/// the verifier are checked over exactly those text bytes. The text is checked for
/// tlog-checkpoint syntax before the signatures (so an empty line in it or a missing
/// field is reported as [`CheckpointError::MalformedBody`]); nothing from it is returned
/// unless the signature verifies. Errors, in order of precedence: malformed note,
/// malformed body, no signature by this key, bad signature.
pub fn verify_checkpoint(note: &str, verifier: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
    let parsed = parse_note(note)?;
    let checkpoint = Checkpoint::parse_body(parsed.text)?;
    check_ed25519(&parsed, verifier)?;
    Ok(checkpoint)
}

/// Verifies the HMAC line of a signed note for `hmac_name` and `secret` (see
/// [`sign_checkpoint`]): `Ok(true)` if every line with that name and the HMAC key id
/// matches the note text, `Ok(false)` if there is no such line,
/// [`CheckpointError::HmacMismatch`] if one does not match (the comparison is constant
/// time). A malformed note, an invalid name or an empty secret are errors too.
///
/// This checks the MAC only; use [`verify_checkpoint`] for the signature and the body.
pub fn verify_checkpoint_hmac(note: &str, hmac_name: &str, secret: &[u8]) -> Result<bool, CheckpointError> {
    check_key_name(hmac_name)?;
    if secret.is_empty() {
        return Err(CheckpointError::EmptyHmacSecret);
    }
    let parsed = parse_note(note)?;
    let key_id = hmac_key_id(hmac_name);
    let mut found = false;
    for line in parsed.lines_for(hmac_name, key_id) {
        found = true;
        hmac_tag(secret, parsed.text)
            .verify_slice(&line.signature)
            .map_err(|_| CheckpointError::HmacMismatch {
                name: hmac_name.to_owned(),
                key_id: key_id_hex(&key_id),
            })?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
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
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

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
}
