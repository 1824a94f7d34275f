//! PostgreSQL's binary `COPY … TO STDOUT` format, read into evidence pages (no IO here).
//!
//! Verification reads every row of the log. Through sqlx's row path each row became a `PgRow`
//! (a message, a column table, a type check per value): about 2.5 µs a row, twice the hashing,
//! and the walk's bound on PostgreSQL. The binary COPY stream is a flat sequence of
//! length-prefixed values that can be sliced straight into the page.
//!
//! The format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"): an
//! 11-byte signature, a 32-bit flags field, a 32-bit header-extension length and that many
//! bytes; then per tuple a 16-bit field count, and per field a 32-bit length (-1 for NULL)
//! followed by the value in the type's binary send format; a field count of -1 ends the data.
//! All integers are big-endian. Message boundaries carry no meaning, so chunks may split a
//! tuple anywhere (a split tuple is parsed again from its start when the next chunk arrives;
//! PostgreSQL sends one message per row, so that is rare and short).

use crate::evidence::{EVIDENCE_TEXT_COLUMNS, EvidencePage};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";
/// seq, at_ms and recorded_at_ms (bigint), then the text columns.
const FIELDS: usize = 3 + EVIDENCE_TEXT_COLUMNS;

/// What the stream held that is not an evidence row: a bug or a changed schema, never user input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum CopyFormatError {
    #[error("the COPY stream does not start with PostgreSQL's binary signature")]
    Signature,
    #[error("the COPY stream sets critical flags this reader does not know ({0:#x})")]
    Flags(u32),
    #[error("a COPY tuple has {0} fields, expected {FIELDS}")]
    FieldCount(i16),
    #[error("field {field} of a COPY tuple is {length} bytes, expected an 8-byte bigint")]
    NotBigint { field: usize, length: i32 },
    #[error("field {field} of a COPY tuple is NULL, expected a bigint")]
    NullBigint { field: usize },
    #[error("field {field} of a COPY tuple has length {length}")]
    Length { field: usize, length: i32 },
    #[error("the COPY stream has data after its trailer")]
    AfterTrailer,
    #[error("the COPY stream ended inside its header or a tuple, or without its trailer")]
    Truncated,
}

/// Parses a binary COPY stream of evidence rows, chunk by chunk, into a page.
#[derive(Default)]
pub(crate) struct EvidenceCopyReader {
    /// Bytes of an incomplete header or tuple, kept until the next chunk completes them.
    pending: Vec<u8>,
    header_read: bool,
    trailer_read: bool,
}

impl EvidenceCopyReader {
    /// Adds every complete tuple of `chunk` (with what earlier chunks left over) to `page`.
    pub(crate) fn feed(&mut self, chunk: &[u8], page: &mut EvidencePage) -> Result<(), CopyFormatError> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, page)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut data = std::mem::take(&mut self.pending);
            data.extend_from_slice(chunk);
            let used = self.parse(&data, page)?;
            data.drain(..used);
            self.pending = data;
        }
        Ok(())
    }

    /// The stream ended: it must have ended with its trailer, and nothing after it.
    pub(crate) fn finish(self) -> Result<(), CopyFormatError> {
        if self.trailer_read && self.pending.is_empty() {
            Ok(())
        } else {
            Err(CopyFormatError::Truncated)
        }
    }

    /// Parses what it can from `data`; returns how many bytes it consumed.
    fn parse(&mut self, data: &[u8], page: &mut EvidencePage) -> Result<usize, CopyFormatError> {
        let mut used = 0;
        if !self.header_read {
            match header_length(data)? {
                Some(length) => {
                    used = length;
                    self.header_read = true;
                }
                None => return Ok(0),
            }
        }
        while used < data.len() {
            if self.trailer_read {
                return Err(CopyFormatError::AfterTrailer);
            }
            match parse_tuple(&data[used..], page)? {
                Tuple::Row(length) => used += length,
                Tuple::Trailer => {
                    used += 2;
                    self.trailer_read = true;
                }
                Tuple::Incomplete => break,
            }
        }
        Ok(used)
    }
}

/// The header's length once `data` holds all of it.
fn header_length(data: &[u8]) -> Result<Option<usize>, CopyFormatError> {
    let fixed = SIGNATURE.len() + 8;
    if data.len() < SIGNATURE.len() {
        // A prefix of the signature may still become it; anything else never will.
        return if SIGNATURE.starts_with(data) {
            Ok(None)
        } else {
            Err(CopyFormatError::Signature)
        };
    }
    if &data[..SIGNATURE.len()] != SIGNATURE {
        return Err(CopyFormatError::Signature);
    }
    if data.len() < fixed {
        return Ok(None);
    }
    // Bits 16–31 are critical: a reader must stop at one it does not know, and the one defined
    // (16, OIDs included) is never asked for here. Bits 0–15 are compatible and ignored.
    let flags = read_u32(&data[SIGNATURE.len()..]);
    if flags & 0xffff_0000 != 0 {
        return Err(CopyFormatError::Flags(flags));
    }
    let extension = read_u32(&data[SIGNATURE.len() + 4..]) as usize;
    let length = fixed + extension;
    Ok((data.len() >= length).then_some(length))
}

enum Tuple {
    Row(usize),
    Trailer,
    Incomplete,
}

/// One tuple from the start of `data`, pushed onto `page` only once it is complete.
fn parse_tuple(data: &[u8], page: &mut EvidencePage) -> Result<Tuple, CopyFormatError> {
    let Some(count) = data.get(..2) else {
        return Ok(Tuple::Incomplete);
    };
    let count = i16::from_be_bytes([count[0], count[1]]);
    if count == -1 {
        return Ok(Tuple::Trailer);
    }
    if usize::try_from(count).ok() != Some(FIELDS) {
        return Err(CopyFormatError::FieldCount(count));
    }
    let mut at = 2;
    let mut integers = [0i64; 3];
    let mut texts: [Option<&[u8]>; EVIDENCE_TEXT_COLUMNS] = [None; EVIDENCE_TEXT_COLUMNS];
    for field in 0..FIELDS {
        let Some(length) = data.get(at..at + 4) else {
            return Ok(Tuple::Incomplete);
        };
        let length = i32::from_be_bytes([length[0], length[1], length[2], length[3]]);
        at += 4;
        let value = match length {
            -1 => None,
            0.. => {
                let end = at + length as usize;
                let Some(value) = data.get(at..end) else {
                    return Ok(Tuple::Incomplete);
                };
                at = end;
                Some(value)
            }
            _ => return Err(CopyFormatError::Length { field, length }),
        };
        if field < 3 {
            let value = value.ok_or(CopyFormatError::NullBigint { field })?;
            let bytes: [u8; 8] = value
                .try_into()
                .map_err(|_| CopyFormatError::NotBigint { field, length })?;
            integers[field] = i64::from_be_bytes(bytes);
        } else {
            texts[field - 3] = value;
        }
    }
    page.push(integers[0], integers[1], integers[2], texts);
    Ok(Tuple::Row(at))
}

fn read_u32(data: &[u8]) -> u32 {
    u32::from_be_bytes([data[0], data[1], data[2], data[3]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::EvidenceColumn;

    fn header() -> Vec<u8> {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes
    }

    /// A tuple as PostgreSQL sends it: three bigints, then the text columns (`None` is NULL).
    fn tuple(integers: [i64; 3], texts: &[Option<&str>; EVIDENCE_TEXT_COLUMNS]) -> Vec<u8> {
        let mut bytes = (FIELDS as i16).to_be_bytes().to_vec();
        for integer in integers {
            bytes.extend_from_slice(&8i32.to_be_bytes());
            bytes.extend_from_slice(&integer.to_be_bytes());
        }
        for text in texts {
            match text {
                None => bytes.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(text) => {
                    bytes.extend_from_slice(&(text.len() as i32).to_be_bytes());
                    bytes.extend_from_slice(text.as_bytes());
                }
            }
        }
        bytes
    }

    const TRAILER: [u8; 2] = (-1i16).to_be_bytes();

    fn texts(seed: &str) -> [Option<&str>; EVIDENCE_TEXT_COLUMNS] {
        let mut texts = [Some(seed); EVIDENCE_TEXT_COLUMNS];
        texts[EvidenceColumn::ActorEmail as usize] = None;
        texts[EvidenceColumn::Metadata as usize] = Some("");
        texts[EvidenceColumn::ResourceName as usize] = Some("Überweisung März.pdf");
        texts
    }

    fn stream() -> Vec<u8> {
        let mut bytes = header();
        bytes.extend(tuple([0, -5, 7], &texts("a")));
        bytes.extend(tuple([1, i64::MAX, i64::MIN], &texts("bb")));
        bytes.extend(tuple([2, 3, 4], &[None; EVIDENCE_TEXT_COLUMNS]));
        bytes.extend(TRAILER);
        bytes
    }

    fn read_in_chunks(bytes: &[u8], chunk: usize) -> Result<EvidencePage, CopyFormatError> {
        let mut page = EvidencePage::with_capacity(4);
        let mut reader = EvidenceCopyReader::default();
        for piece in bytes.chunks(chunk) {
            reader.feed(piece, &mut page)?;
        }
        reader.finish()?;
        Ok(page)
    }

    #[test]
    fn reads_every_row_whatever_the_chunk_boundaries() {
        let bytes = stream();
        for chunk in 1..=bytes.len() {
            let page = read_in_chunks(&bytes, chunk).unwrap();
            let rows: Vec<_> = page.rows().collect::<Result<_, _>>().unwrap();
            assert_eq!(rows.len(), 3, "chunks of {chunk}");
            assert_eq!((rows[0].seq(), rows[0].at_ms(), rows[0].recorded_at_ms()), (0, -5, 7));
            assert_eq!((rows[1].at_ms(), rows[1].recorded_at_ms()), (i64::MAX, i64::MIN));
            assert_eq!(rows[0].text(EvidenceColumn::ActorType), Some("a"));
            assert_eq!(rows[1].text(EvidenceColumn::PersonalSalt), Some("bb"));
            assert_eq!(rows[1].text(EvidenceColumn::ActorEmail), None);
            assert_eq!(rows[1].text(EvidenceColumn::Metadata), Some(""));
            assert_eq!(rows[0].text(EvidenceColumn::ResourceName), Some("Überweisung März.pdf"));
            assert_eq!(rows[2].seq(), 2);
            for column in [
                EvidenceColumn::ActorType,
                EvidenceColumn::Metadata,
                EvidenceColumn::PersonalSalt,
            ] {
                assert_eq!(rows[2].text(column), None, "chunks of {chunk}");
            }
        }
    }

    #[test]
    fn an_empty_result_is_a_header_and_a_trailer() {
        let mut bytes = header();
        bytes.extend(TRAILER);
        assert!(read_in_chunks(&bytes, 5).unwrap().is_empty());
    }

    #[test]
    fn compatible_header_flags_are_ignored() {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&0x0000_8001u32.to_be_bytes());
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend(tuple([9, 9, 9], &texts("c")));
        bytes.extend(TRAILER);
        assert_eq!(read_in_chunks(&bytes, 4).unwrap().len(), 1);
    }

    #[test]
    fn a_header_extension_is_skipped() {
        let mut bytes = SIGNATURE.to_vec();
        bytes.extend_from_slice(&0u32.to_be_bytes());
        bytes.extend_from_slice(&3u32.to_be_bytes());
        bytes.extend_from_slice(b"xyz");
        bytes.extend(tuple([9, 9, 9], &texts("c")));
        bytes.extend(TRAILER);
        assert_eq!(read_in_chunks(&bytes, 4).unwrap().len(), 1);
    }

    #[test]
    fn a_stream_cut_anywhere_before_its_trailer_is_truncated() {
        let bytes = stream();
        for end in 0..bytes.len() {
            assert_eq!(
                read_in_chunks(&bytes[..end], 7).err(),
                Some(CopyFormatError::Truncated),
                "cut at {end}"
            );
        }
    }

    #[test]
    fn malformed_streams_are_named() {
        let cases: Vec<(Vec<u8>, CopyFormatError)> = vec![
            (
                b"PGCOPZ\n\xff\r\n\0\0\0\0\0\0\0\0\0".to_vec(),
                CopyFormatError::Signature,
            ),
            (b"COPY".to_vec(), CopyFormatError::Signature),
            (
                {
                    let mut bytes = SIGNATURE.to_vec();
                    bytes.extend_from_slice(&0x1_0000u32.to_be_bytes());
                    bytes.extend_from_slice(&0u32.to_be_bytes());
                    bytes
                },
                CopyFormatError::Flags(0x1_0000),
            ),
            (
                {
                    let mut bytes = header();
                    bytes.extend_from_slice(&3i16.to_be_bytes());
                    bytes
                },
                CopyFormatError::FieldCount(3),
            ),
            (
                {
                    let mut bytes = header();
                    let mut row = tuple([1, 2, 3], &texts("a"));
                    // The first bigint claimed as 4 bytes long.
                    row[2..6].copy_from_slice(&4i32.to_be_bytes());
                    bytes.extend(row);
                    bytes
                },
                CopyFormatError::NotBigint { field: 0, length: 4 },
            ),
            (
                {
                    let mut bytes = header();
                    let mut row = tuple([1, 2, 3], &texts("a"));
                    row[14..18].copy_from_slice(&(-1i32).to_be_bytes());
                    bytes.extend(row);
                    bytes
                },
                CopyFormatError::NullBigint { field: 1 },
            ),
            (
                {
                    let mut bytes = header();
                    let mut row = tuple([1, 2, 3], &texts("a"));
                    row[38..42].copy_from_slice(&(-2i32).to_be_bytes());
                    bytes.extend(row);
                    bytes
                },
                CopyFormatError::Length { field: 3, length: -2 },
            ),
            (
                {
                    let mut bytes = stream();
                    bytes.extend(tuple([3, 3, 3], &texts("a")));
                    bytes
                },
                CopyFormatError::AfterTrailer,
            ),
        ];
        for (bytes, expected) in cases {
            for chunk in [1, 3, bytes.len()] {
                assert_eq!(
                    read_in_chunks(&bytes, chunk).err(),
                    Some(expected.clone()),
                    "chunks of {chunk}"
                );
            }
        }
    }

    #[test]
    fn text_that_is_not_utf8_is_read_and_refused_when_its_row_is_taken() {
        let mut bytes = header();
        let mut row = tuple([1, 2, 3], &texts("a"));
        row[42] = 0xff;
        bytes.extend(row);
        bytes.extend(TRAILER);
        let page = read_in_chunks(&bytes, 5).unwrap();
        assert_eq!(page.len(), 1);
        let error = page.row(0).unwrap_err().to_string();
        assert!(error.contains("seq 1: its actor_type is not UTF-8"), "{error}");
    }
}
