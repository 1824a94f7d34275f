//! Following an append-only log file across rotations, as pure decisions: the worker observes
//! the file (identity, size, first line) and asks what to do; it never guesses alone.
//!
//! A file is known by its device and inode *and* a fingerprint of its first line, because
//! inodes are reused: a new file on an old inode has a different first line. The cursor is the
//! byte offset of the next unread complete line, committed with the events read up to it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How much of the first line the fingerprint covers (a line, once written, never changes).
pub const FINGERPRINT_BYTES: usize = 1024;

/// Where a reader stands in a file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TailCursor {
    pub device: u64,
    pub inode: u64,
    /// `None` while the file has no complete first line (it was just created).
    pub fingerprint: Option<String>,
    /// Offset of the next unread complete line.
    pub offset: u64,
}

impl TailCursor {
    /// The identity of a line, for `externalId`: it survives restarts and re-reads.
    pub fn line_id(&self, offset: u64) -> String {
        let fingerprint = self.fingerprint.as_deref().unwrap_or("unfingerprinted");
        format!("{}:{offset}", &fingerprint[..fingerprint.len().min(16)])
    }
}

/// What the worker saw at the configured path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observed {
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub fingerprint: Option<String>,
}

impl Observed {
    pub fn cursor_at(&self, offset: u64) -> TailCursor {
        TailCursor {
            device: self.device,
            inode: self.inode,
            fingerprint: self.fingerprint.clone(),
            offset,
        }
    }
}

/// The fingerprint of a file from its first bytes (at least `FINGERPRINT_BYTES` of them when
/// the file is that long): SHA-256 of the first line, or of its first `FINGERPRINT_BYTES` bytes
/// when it is longer. `None` while the first line is incomplete.
pub fn fingerprint(head: &[u8]) -> Option<String> {
    let covered = match head.iter().position(|byte| *byte == b'\n') {
        Some(newline) => &head[..(newline + 1).min(FINGERPRINT_BYTES)],
        None if head.len() >= FINGERPRINT_BYTES => &head[..FINGERPRINT_BYTES],
        None => return None,
    };
    Some(hex::encode(Sha256::digest(covered)))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailStep {
    /// Nothing to read yet; the reason is shown in the source's status.
    Wait(&'static str),
    /// Read the observed file from this offset on, with this cursor.
    Read(TailCursor),
    /// The cursor's file is no longer at the path (renamed away, truncated, or replaced on a
    /// reused inode): finish it wherever it went if it can be found, then start `next` at 0.
    Rotated { previous: TailCursor, next: TailCursor },
}

/// The decision for one look at the path.
pub fn next_step(cursor: Option<&TailCursor>, observed: Option<&Observed>) -> TailStep {
    let Some(observed) = observed else {
        return TailStep::Wait("the file does not exist");
    };
    let Some(cursor) = cursor else {
        return TailStep::Read(observed.cursor_at(0));
    };
    let same_inode = cursor.device == observed.device && cursor.inode == observed.inode;
    let rotated = || TailStep::Rotated {
        previous: cursor.clone(),
        next: observed.cursor_at(0),
    };
    if !same_inode || observed.size < cursor.offset {
        return rotated();
    }
    match (&cursor.fingerprint, &observed.fingerprint) {
        (Some(known), Some(seen)) if known == seen => TailStep::Read(cursor.clone()),
        (Some(_), Some(_)) => rotated(),
        // Nothing was read from this file yet (cursor.offset is 0): adopt its fingerprint.
        (None, _) => TailStep::Read(observed.cursor_at(cursor.offset)),
        (Some(_), None) => rotated(),
    }
}

/// One complete line and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub offset: u64,
    /// Without the newline (and without a `\r` before it).
    pub bytes: &'a [u8],
}

/// The complete lines of `chunk`, which was read from offset `base`, and the offset just after
/// the last of them (a partial last line stays unread until its newline arrives). Empty lines
/// are passed over.
pub fn complete_lines(chunk: &[u8], base: u64) -> (Vec<Line<'_>>, u64) {
    let mut lines = Vec::new();
    let mut start = 0;
    while let Some(length) = chunk[start..].iter().position(|byte| *byte == b'\n') {
        let mut bytes = &chunk[start..start + length];
        if let Some(stripped) = bytes.strip_suffix(b"\r") {
            bytes = stripped;
        }
        if !bytes.is_empty() {
            lines.push(Line {
                offset: base + start as u64,
                bytes,
            });
        }
        start += length + 1;
    }
    (lines, base + start as u64)
}

#[cfg(test)]
mod tests;
