//! Stored events as the verifier reads them: the raw column values, in `seq` order, packed
//! into one buffer per page.
//!
//! Verification reads every row of the log, so its cost per row is the whole story. Decoding
//! each row into an `AuditEvent` (one allocation per column, domain validation) cost more than
//! hashing it; a page here is one byte buffer plus fixed-size offsets, filled by the backend
//! straight from its row buffers. Nothing is validated but UTF-8: the verifier hashes what is
//! stored, so a changed value shows up as a hash mismatch, not as a read error. Even UTF-8 is
//! checked only when a row is taken from the page, so that the check runs on the verifier's
//! parallel threads rather than on the one thread that reads the rows.

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

impl EvidenceColumn {
    /// Every column, in `SELECT_EVENTS_IN_ORDER` order.
    pub const ALL: [EvidenceColumn; EVIDENCE_TEXT_COLUMNS] = [
        EvidenceColumn::ActorType,
        EvidenceColumn::ActorId,
        EvidenceColumn::ActorEmail,
        EvidenceColumn::ActorIp,
        EvidenceColumn::Action,
        EvidenceColumn::Outcome,
        EvidenceColumn::ResourceType,
        EvidenceColumn::ResourceId,
        EvidenceColumn::ResourceName,
        EvidenceColumn::TenantSlug,
        EvidenceColumn::PartnerSlug,
        EvidenceColumn::Source,
        EvidenceColumn::ExternalId,
        EvidenceColumn::Metadata,
        EvidenceColumn::PrevHash,
        EvidenceColumn::Hash,
        EvidenceColumn::LeafHash,
        EvidenceColumn::PersonalCommitment,
        EvidenceColumn::PersonalSalt,
    ];

    /// The column's name in the `audit_events` table.
    pub fn name(self) -> &'static str {
        match self {
            EvidenceColumn::ActorType => "actor_type",
            EvidenceColumn::ActorId => "actor_id",
            EvidenceColumn::ActorEmail => "actor_email",
            EvidenceColumn::ActorIp => "actor_ip",
            EvidenceColumn::Action => "action",
            EvidenceColumn::Outcome => "outcome",
            EvidenceColumn::ResourceType => "resource_type",
            EvidenceColumn::ResourceId => "resource_id",
            EvidenceColumn::ResourceName => "resource_name",
            EvidenceColumn::TenantSlug => "tenant_slug",
            EvidenceColumn::PartnerSlug => "partner_slug",
            EvidenceColumn::Source => "source",
            EvidenceColumn::ExternalId => "external_id",
            EvidenceColumn::Metadata => "metadata",
            EvidenceColumn::PrevHash => "prev_hash",
            EvidenceColumn::Hash => "hash",
            EvidenceColumn::LeafHash => "leaf_hash",
            EvidenceColumn::PersonalCommitment => "personal_commitment",
            EvidenceColumn::PersonalSalt => "personal_salt",
        }
    }
}

use crate::StoreError;

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
    /// Where the row's values start and end in the buffer: they lie side by side, so one
    /// UTF-8 check covers them all.
    values: (u32, u32),
}

/// One page of stored events, oldest first.
#[derive(Clone, Debug, Default)]
pub struct EvidencePage {
    text: Vec<u8>,
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
            text: Vec::with_capacity(rows * TEXT_BYTES_PER_ROW_HINT),
            rows: Vec::with_capacity(rows),
        }
    }

    /// Adds a row: its integer columns and its text columns in `EvidenceColumn` order, as the
    /// database holds them (UTF-8 is checked by `row`).
    pub(crate) fn push<'t>(
        &mut self,
        seq: i64,
        at_ms: i64,
        recorded_at_ms: i64,
        texts: impl IntoIterator<Item = Option<&'t [u8]>>,
    ) {
        let first = self.text.len() as u32;
        let mut spans = [None; EVIDENCE_TEXT_COLUMNS];
        for (span, text) in spans.iter_mut().zip(texts) {
            *span = text.map(|text| {
                let start = self.text.len() as u32;
                self.text.extend_from_slice(text);
                (start, text.len() as u32)
            });
        }
        self.rows.push(PackedRow {
            seq,
            at_ms,
            recorded_at_ms,
            spans,
            values: (first, self.text.len() as u32),
        });
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = Result<EvidenceRow<'_>, StoreError>> {
        (0..self.len()).map(|index| self.row(index))
    }

    /// The seq of the last row (where the next page starts).
    pub fn last_seq(&self) -> Option<i64> {
        self.rows.last().map(|row| row.seq)
    }

    pub fn last(&self) -> Option<Result<EvidenceRow<'_>, StoreError>> {
        self.len().checked_sub(1).map(|index| self.row(index))
    }

    /// The row at `index`; an error if one of its text values is not UTF-8 (which the
    /// databases only hold if someone wrote bytes into them by hand).
    ///
    /// # Panics
    /// If `index` is not below `len()`.
    pub fn row(&self, index: usize) -> Result<EvidenceRow<'_>, StoreError> {
        let row = &self.rows[index];
        // One check over all of the row's values (most of them short) costs a fraction of one
        // check per value; each value must then also start and end on a character boundary.
        let (first, end) = row.values;
        let values = std::str::from_utf8(&self.text[first as usize..end as usize]);
        let mut texts = [None; EVIDENCE_TEXT_COLUMNS];
        for (text, span) in texts.iter_mut().zip(row.spans) {
            let Some((start, len)) = span else { continue };
            let at = (start - first) as usize;
            let value = values.ok().and_then(|values| values.get(at..at + len as usize));
            *text = Some(value.ok_or_else(|| self.not_utf8(row))?);
        }
        Ok(EvidenceRow { row, texts })
    }

    /// The error for a row with a value that is not UTF-8, naming the first such value.
    fn not_utf8(&self, row: &PackedRow) -> StoreError {
        let column = row.spans.iter().position(|span| {
            span.is_some_and(|(start, len)| {
                std::str::from_utf8(&self.text[start as usize..(start + len) as usize]).is_err()
            })
        });
        let name = column.map_or("text", |column| EvidenceColumn::ALL[column].name());
        StoreError::Corrupt(format!("audit event seq {}: its {name} is not UTF-8", row.seq))
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
        let first: Vec<Option<&[u8]>> = (0..EVIDENCE_TEXT_COLUMNS)
            .map(|i| {
                if i % 3 == 0 {
                    None
                } else {
                    Some(["", "é", "abc"][i % 3].as_bytes())
                }
            })
            .collect();
        page.push(0, 10, 11, first.clone());
        page.push(1, 20, 21, [Some("user".as_bytes()); EVIDENCE_TEXT_COLUMNS]);
        assert_eq!(page.len(), 2);
        let rows: Vec<_> = page.rows().collect::<Result<_, _>>().unwrap();
        assert_eq!((rows[0].seq(), rows[0].at_ms(), rows[0].recorded_at_ms()), (0, 10, 11));
        assert_eq!(rows[0].text(EvidenceColumn::ActorType), None);
        assert_eq!(rows[0].text(EvidenceColumn::ActorId), Some("é"));
        assert_eq!(rows[0].text(EvidenceColumn::ActorEmail), Some("abc"));
        assert_eq!(rows[0].text(EvidenceColumn::PersonalSalt).map(str::as_bytes), first[18]);
        assert_eq!(rows[1].text(EvidenceColumn::Metadata), Some("user"));
        assert_eq!(page.last_seq(), Some(1));
        assert_eq!(page.last().map(|row| row.unwrap().seq()), Some(1));
    }

    #[test]
    fn a_row_with_a_value_that_is_not_utf8_is_an_error_naming_it() {
        let mut page = EvidencePage::with_capacity(2);
        let mut texts = [Some("a".as_bytes()); EVIDENCE_TEXT_COLUMNS];
        // "é" cut in half: each half alone is not UTF-8, though the two side by side would be.
        texts[EvidenceColumn::ActorEmail as usize] = Some(&[0xc3]);
        texts[EvidenceColumn::ActorIp as usize] = Some(&[0xa9]);
        page.push(7, 0, 0, texts);
        page.push(8, 0, 0, [Some("b".as_bytes()); EVIDENCE_TEXT_COLUMNS]);
        let error = page.row(0).unwrap_err().to_string();
        assert!(error.contains("seq 7: its actor_email is not UTF-8"), "{error}");
        assert_eq!(page.row(1).unwrap().text(EvidenceColumn::Source), Some("b"));
    }

    #[test]
    fn the_columns_are_named_in_the_order_the_select_reads_them() {
        let names: Vec<&str> = crate::event_row::EVENT_COLUMNS
            .split(", ")
            .map(str::trim)
            .skip(3)
            .collect();
        let ours: Vec<&str> = EvidenceColumn::ALL.iter().map(|column| column.name()).collect();
        assert_eq!(names, ours);
        for (index, column) in EvidenceColumn::ALL.iter().enumerate() {
            assert_eq!(*column as usize, index);
        }
    }
}
