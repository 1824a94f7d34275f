//! Pure tamper evidence: what the log commits to and how anyone can check it.
//!
//! No IO: callers hand in bytes and hashes and get hashes, proofs and reports back.
//! - [`canonical`]: the canonical JSON the hashes commit to;
//! - [`leaf`]: leaf format v1 (salted personal commitment) and the hash chain;
//! - [`merkle`]: RFC 9162 tree hashing, inclusion/consistency proofs, the append frontier;
//! - [`checkpoint`]: C2SP signed-note checkpoints with Ed25519 (and an optional HMAC line);
//! - [`range_proof`]: proofs that a run of leaves sits at its positions in a signed tree;
//! - [`bundle`]: offline bundles (a seq range with its manifests, checkpoints and key) and their verifier;
//! - [`manifest`]: signed, chained manifests of cold-storage archive batches and batch planning;
//! - [`verify`]: the streaming verifier that reports every break.

pub mod bundle;
pub mod canonical;
pub mod canonical_text;
pub mod checkpoint;
mod escape_scan;
pub mod leaf;
pub mod manifest;
pub mod merkle;
pub mod range_proof;
pub mod verify;
