//! Stored events as the verifier reads them: the raw column values, in `seq` order, packed
//! into one buffer per page.
//!
//! Verification reads every row of the log, so its cost per row is the whole story. Decoding
//! each row into an `AuditEvent` (one allocation per column, domain validation) cost more than
//! hashing it; a page here is one text buffer plus fixed-size offsets, filled by the backend
//! straight from its row buffers. Nothing is validated: the verifier hashes what is stored,
//! so a changed value shows up as a hash mismatch, not as a read error.

/// The text columns, in the order `SELECT_EVENTS_IN_ORDER` reads them (after seq, at_ms and
/// recorded_at_ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceColumn {
    ActorType,
    ActorId,
    ActorEmail,
    ActorIp,
    Action,
    Outcome,
    ResourceType,
    ResourceId,
    ResourceName,
    TenantSlug,
    PartnerSlug,
    Source,
    ExternalId,
    Metadata,
    PrevHash,
    Hash,
    LeafHash,
    PersonalCommitment,
    PersonalSalt,
}

pub(crate) const EVIDENCE_TEXT_COLUMNS: usize = EvidenceColumn::PersonalSalt as usize + 1;

/// Rows a page reserves room for up front, whatever larger limit is asked.
pub(crate) const PAGE_CAPACITY_HINT: u32 = 10_000;

/// Text bytes a page reserves per row. A stored event is ~1 KB of text (five 64-character
/// hashes and metadata of a few hundred bytes); at the earlier 768 every page outgrew its buffer
/// once and copied it, which `perf` showed as ~7 % of `dezky verify` on PostgreSQL.
const TEXT_BYTES_PER_ROW_HINT: usize = 1_536;

/// Where one value sits in the page's buffer; `None` is SQL NULL.
type Span = Option<(u32, u32)>;

#[derive(Clone, Debug)]
struct PackedRow {
    seq: i64,
    at_ms: i64,
    recorded_at_ms: i64,
    spans: [Span; EVIDENCE_TEXT_COLUMNS],
}

/// One page of stored events, oldest first.
#[derive(Clone, Debug, Default)]
pub struct EvidencePage {
    text: String,
    rows: Vec<PackedRow>,
}

/// One stored event of a page, borrowed from it. Its text values are sliced once, here: the
/// verifier asks for each of them several times.
#[derive(Clone, Copy, Debug)]
pub struct EvidenceRow<'a> {
    row: &'a PackedRow,
    texts: [Option<&'a str>; EVIDENCE_TEXT_COLUMNS],
}

impl EvidencePage {
    pub(crate) fn with_capacity(rows: usize) -> EvidencePage {
        EvidencePage {
            text: String::with_capacity(rows * TEXT_BYTES_PER_ROW_HINT),
            rows: Vec::with_capacity(rows),
        }
    }

    /// Adds a row: its integer columns and its text columns in `EvidenceColumn` order.
    pub(crate) fn push<'t>(
        &mut self,
        seq: i64,
        at_ms: i64,
        recorded_at_ms: i64,
        texts: impl IntoIterator<Item = Option<&'t str>>,
    ) {
        let mut spans = [None; EVIDENCE_TEXT_COLUMNS];
        for (span, text) in spans.iter_mut().zip(texts) {
            *span = text.map(|text| {
                let start = self.text.len() as u32;
                self.text.push_str(text);
                (start, text.len() as u32)
            });
        }
        self.rows.push(PackedRow {
            seq,
            at_ms,
            recorded_at_ms,
            spans,
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = EvidenceRow<'_>> {
        self.rows.iter().map(move |row| self.row(row))
    }

    pub fn last(&self) -> Option<EvidenceRow<'_>> {
        self.rows.last().map(|row| self.row(row))
    }

    fn row<'a>(&'a self, row: &'a PackedRow) -> EvidenceRow<'a> {
        EvidenceRow {
            row,
            texts: row
                .spans
                .map(|span| span.map(|(start, len)| &self.text[start as usize..(start + len) as usize])),
        }
    }
}

impl<'a> EvidenceRow<'a> {
    /// The stored seq; negative only in a corrupted row (the caller reports it).
    pub fn seq(&self) -> i64 {
        self.row.seq
    }

    pub fn at_ms(&self) -> i64 {
        self.row.at_ms
    }

    pub fn recorded_at_ms(&self) -> i64 {
        self.row.recorded_at_ms
    }

    pub fn text(&self, column: EvidenceColumn) -> Option<&'a str> {
        self.texts[column as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_what_was_pushed() {
        let mut page = EvidencePage::with_capacity(2);
        let first: Vec<Option<&str>> = (0..EVIDENCE_TEXT_COLUMNS)
            .map(|i| {
                if i % 3 == 0 {
                    None
                } else {
                    Some(["", "é", "abc"][i % 3])
                }
            })
            .collect();
        page.push(0, 10, 11, first.clone());
        page.push(1, 20, 21, [Some("user"); EVIDENCE_TEXT_COLUMNS]);
        assert_eq!(page.len(), 2);
        let rows: Vec<_> = page.rows().collect();
        assert_eq!((rows[0].seq(), rows[0].at_ms(), rows[0].recorded_at_ms()), (0, 10, 11));
        assert_eq!(rows[0].text(EvidenceColumn::ActorType), None);
        assert_eq!(rows[0].text(EvidenceColumn::ActorId), Some("é"));
        assert_eq!(rows[0].text(EvidenceColumn::ActorEmail), Some("abc"));
        assert_eq!(rows[0].text(EvidenceColumn::PersonalSalt), first[18]);
        assert_eq!(rows[1].text(EvidenceColumn::Metadata), Some("user"));
        assert_eq!(page.last().map(|row| row.seq()), Some(1));
    }
}
