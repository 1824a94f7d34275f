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
mod tests;
