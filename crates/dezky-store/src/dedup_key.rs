//! The compact key SQLite's duplicate lookup indexes in place of `(source, externalId)`.
//!
//! The lookup's index takes one random insert per appended event. Keyed by the pair itself its
//! entries held the source and the external id (~80 bytes for a Stalwart digest), so a group
//! commit rewrote most of the index's pages; keyed by these 8 bytes the index is about a quarter
//! of that size, and a group touches as many fewer pages. The key only narrows the lookup: two
//! pairs may share one, so a match is confirmed against the event's own `source` and
//! `external_id` (see `sqlite_dedup::find_stored_ids`).
//!
//! The key is stored: changing this function would stop old events from matching their
//! redeliveries. Its golden value is pinned by a test.

use sha2::{Digest, Sha256};

/// The first 8 bytes of SHA-256 over the source's length (8 bytes, big-endian), the source
/// and the external id, read as a big-endian signed integer (SQLite's INTEGER). The length
/// prefix keeps `("ab", "c")` and `("a", "bc")` apart.
pub fn dedup_key(source: &str, external_id: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update((source.len() as u64).to_be_bytes())
        .chain_update(source.as_bytes())
        .chain_update(external_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[cfg(test)]
mod tests {
    use super::dedup_key;

    #[test]
    fn the_key_is_the_documented_prefix_of_sha256() {
        // SHA-256(00 00 00 00 00 00 00 08 "stalwart" "abc"), first 8 bytes, computed with
        // coreutils: printf '\0\0\0\0\0\0\0\x08stalwartabc' | sha256sum
        assert_eq!(dedup_key("stalwart", "abc"), i64::from_be_bytes(GOLDEN));
    }

    #[test]
    fn the_source_boundary_is_part_of_the_key() {
        assert_ne!(dedup_key("ab", "c"), dedup_key("a", "bc"));
        assert_ne!(dedup_key("ocis", "x"), dedup_key("stalwart", "x"));
        assert_ne!(dedup_key("ocis", "x"), dedup_key("ocis", "y"));
    }

    const GOLDEN: [u8; 8] = [0xee, 0xec, 0x92, 0xcc, 0xd1, 0xdf, 0xbd, 0x2e];
}
