//! Finding the next byte that JSON escapes in a string (`"`, `\`, a control character), eight
//! bytes at a time.
//!
//! Verification writes or checks every event's strings in canonical form
//! (`canonical::write_string`, `canonical_text`), about a kilobyte per event, and almost none of
//! it needs escaping. Writing and recognising those strings a byte at a time, each looked up in
//! a table, was about a tenth of the verifier's own CPU time. Here a word of eight bytes is
//! tested at once with the classic "has a byte below n / equal to c" bit tricks, and only the
//! tail shorter than a word goes byte by byte.

/// Whether JSON requires escaping each byte.
pub(crate) const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit set in each byte of `word` below `limit` (at most 0x80). A borrow can also set
/// it in bytes above the lowest such byte, never below it, so the lowest set bit is exact.
fn bytes_below(word: u64, limit: u8) -> u64 {
    word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGH_BITS
}

/// The high bit set in each byte of `word` equal to `byte` (exact for the lowest, as above).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    bytes_below(word ^ (ONES * u64::from(byte)), 1)
}

/// The index of the first byte of `bytes` that JSON escapes in a string.
pub(crate) fn first_needing_escape(bytes: &[u8]) -> Option<usize> {
    let mut words = bytes.chunks_exact(8);
    let mut start = 0;
    for word in &mut words {
        let word = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
        let found = bytes_below(word, 0x20) | bytes_equal(word, b'"') | bytes_equal(word, b'\\');
        if found != 0 {
            // Little-endian: the lowest set bit belongs to the first byte in memory.
            return Some(start + (found.trailing_zeros() / 8) as usize);
        }
        start += 8;
    }
    let tail = words.remainder();
    tail.iter()
        .position(|&byte| NEEDS_ESCAPE[usize::from(byte)])
        .map(|offset| start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_table(bytes: &[u8]) -> Option<usize> {
        bytes.iter().position(|&byte| NEEDS_ESCAPE[usize::from(byte)])
    }

    #[test]
    fn the_table_escapes_controls_quote_and_backslash_only() {
        for byte in 0..=255u8 {
            assert_eq!(
                NEEDS_ESCAPE[usize::from(byte)],
                byte < 0x20 || byte == b'"' || byte == b'\\',
                "{byte:#04x}"
            );
        }
    }

    /// Every byte value at every position of a word and of the tail, after every filler byte
    /// that needs no escape (including the neighbours of the escaped ones and UTF-8's high bytes),
    /// and with a second escaped byte after it (where a borrow could set a false bit).
    #[test]
    fn every_byte_at_every_position_is_found_where_the_table_finds_it() {
        let fillers: Vec<u8> = (0..=255u8).filter(|&byte| !NEEDS_ESCAPE[usize::from(byte)]).collect();
        let mut bytes = Vec::with_capacity(19);
        for &filler in &fillers {
            for length in [1, 7, 8, 9, 16, 19] {
                for position in 0..length {
                    for byte in 0..=255u8 {
                        bytes.clear();
                        bytes.resize(length, filler);
                        bytes[position] = byte;
                        assert_eq!(
                            first_needing_escape(&bytes),
                            by_table(&bytes),
                            "{byte:#04x} at {position} of {length} among {filler:#04x}"
                        );
                        if position + 1 < length {
                            bytes[position + 1] = b'\\';
                            assert_eq!(first_needing_escape(&bytes), by_table(&bytes));
                        }
                    }
                }
            }
        }
        assert_eq!(first_needing_escape(b""), None);
    }

    proptest! {
        #[test]
        fn finds_what_the_table_finds(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(first_needing_escape(&bytes), by_table(&bytes));
        }

        #[test]
        fn finds_what_the_table_finds_in_text(text in "(\\PC|[\\x00-\\x1f\"\\\\]){0,40}") {
            prop_assert_eq!(first_needing_escape(text.as_bytes()), by_table(text.as_bytes()));
        }
    }
}
