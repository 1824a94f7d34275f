//! Pure tamper evidence: what the log commits to and how anyone can check it.
//!
//! No IO: callers hand in bytes and hashes and get hashes, proofs and reports back.
//! - [`canonical`]: the canonical JSON the hashes commit to;
//! - [`leaf`]: leaf format v1 (salted personal commitment) and the hash chain;
//! - [`merkle`]: RFC 9162 tree hashing, inclusion/consistency proofs, the append frontier;
//! - [`checkpoint`]: C2SP signed-note checkpoints with Ed25519 (and an optional HMAC line);
//! - [`manifest`]: signed, chained manifests of cold-storage archive batches and batch planning;
//! - [`verify`]: the streaming verifier that reports every break.

pub mod canonical;
pub mod checkpoint;
pub mod leaf;
pub mod manifest;
pub mod merkle;
pub mod verify;
