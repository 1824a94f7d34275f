//! The oCIS audit-log tail: reads complete JSON lines from `OCIS_AUDIT_LOG_PATH`, records them
//! with the cursor (file identity + offset) in the same transaction, and follows rotations.
//! Decisions come from `dezky_ingest::tail`; this module only does the IO.

use crate::clock::Clock;
use crate::ingest::Ingest;
use crate::ingest::config::OcisAuditConfig;
use crate::ingest::files::{self, OpenFile};
use crate::ingest::status::OCIS_AUDIT;
use crate::ingest::tenants::TenantDirectory;
use anyhow::Context;
use dezky_core::{NewAuditEvent, Source};
use dezky_ingest::gap::gap_event;
use dezky_ingest::ocis_audit::{LineOutcome, Rejection, TenantHint, parse_filtered_line};
use dezky_ingest::tail::{TailCursor, TailStep, complete_lines, next_step};
use dezky_store::{CursorWrite, Store};
use serde_json::{Map, json};
use std::sync::Arc;

/// The cursor's name in the database.
pub const CURSOR_NAME: &str = "ocis-audit";
/// Bytes read (and lines committed) per transaction.
const READ_CHUNK: usize = 4 * 1024 * 1024;
/// At most this many decisions per tick (a rotation is followed by reading the new file).
const STEPS_PER_TICK: usize = 4;

/// What one tick did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub recorded: u64,
    pub duplicates: u64,
    /// Lines dropped by OCIS_AUDIT_ACTIONS_ONLY / OCIS_AUDIT_ACTIONS_SKIP.
    pub filtered: u64,
    pub rejected: u64,
    pub gaps: u64,
}

pub struct OcisTail {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    ingest: Arc<Ingest>,
    config: OcisAuditConfig,
}

impl OcisTail {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, ingest: Arc<Ingest>, config: OcisAuditConfig) -> OcisTail {
        OcisTail {
            store,
            clock,
            ingest,
            config,
        }
    }

    /// Reads everything that is there now, following at most a few rotations.
    pub async fn tick(&self) -> anyhow::Result<TickReport> {
        let mut report = TickReport::default();
        for _ in 0..STEPS_PER_TICK {
            let cursor = self.stored_cursor().await?;
            let path = self.config.path.clone();
            let opened = tokio::task::spawn_blocking(move || files::open(&path))
                .await?
                .with_context(|| format!("cannot open {}", self.config.path.display()))?;
            match next_step(cursor.as_ref(), opened.as_ref().map(|open| &open.observed)) {
                TailStep::Wait(reason) => {
                    self.ingest.status.set_detail(
                        OCIS_AUDIT,
                        Some(format!("waiting: {reason} ({})", self.config.path.display())),
                    );
                    return Ok(report);
                }
                TailStep::Read(cursor) => {
                    let open = opened.expect("a file was observed");
                    self.read_to_end(open, cursor, None, &mut report).await?;
                    self.ingest
                        .status
                        .set_detail(OCIS_AUDIT, Some(format!("following {}", self.config.path.display())));
                    return Ok(report);
                }
                TailStep::Rotated { previous, next } => self.finish_rotated(previous, next, &mut report).await?,
            }
        }
        Ok(report)
    }

    async fn stored_cursor(&self) -> anyhow::Result<Option<TailCursor>> {
        self.store
            .cursor(CURSOR_NAME)
            .await?
            .map(|text| serde_json::from_str(&text).context("the stored oCIS tail cursor is unreadable"))
            .transpose()
    }

    /// Finishes the file the cursor was on, if it can still be found beside the path, and moves
    /// the cursor to the start of the new file; records a gap when it cannot be found.
    async fn finish_rotated(
        &self,
        previous: TailCursor,
        next: TailCursor,
        report: &mut TickReport,
    ) -> anyhow::Result<()> {
        let path = self.config.path.clone();
        let found = match previous.fingerprint.clone() {
            Some(fingerprint) => {
                let (inode, offset) = (previous.inode, previous.offset);
                tokio::task::spawn_blocking(move || files::find_rotated(&path, inode, &fingerprint, offset)).await??
            }
            None => None,
        };
        if let Some(old) = found {
            return self.read_to_end(old, previous, Some(next), report).await;
        }
        let mut events = vec![];
        let may_have_lost = previous.fingerprint.is_some();
        if may_have_lost {
            let reason = if previous.inode == next.inode && previous.device == next.device {
                "file-truncated"
            } else {
                "rotated-file-not-found"
            };
            let mut details = Map::new();
            details.insert("reader".into(), json!(CURSOR_NAME));
            details.insert("path".into(), json!(self.config.path.display().to_string()));
            details.insert("previousFile".into(), json!(previous));
            details.insert(
                "note".into(),
                json!("lines written to the previous file after the last read may be missing"),
            );
            events.push(gap_event(&source(), self.clock.now(), reason, details));
            tracing::warn!(reason, path = %self.config.path.display(), "oCIS audit log: possible gap recorded");
        }
        self.commit(events, &next).await?;
        if may_have_lost {
            report.gaps += 1;
            self.ingest.status.record_gap(OCIS_AUDIT);
        }
        Ok(())
    }

    /// Reads complete lines from `cursor` to the end of `open`, one transaction per chunk. With
    /// `then`, the file is a rotated one that will not grow: a last line without a newline is
    /// taken as it is, and the cursor moves to `then` at the end.
    async fn read_to_end(
        &self,
        open: OpenFile,
        mut cursor: TailCursor,
        then: Option<TailCursor>,
        report: &mut TickReport,
    ) -> anyhow::Result<()> {
        let file = Arc::new(open.file);
        // One snapshot of the tenants per read, not per chunk.
        let directory = TenantDirectory::load(self.store.as_ref()).await?;
        let tenant_of = |hint: TenantHint<'_>| directory.for_ocis(hint);
        loop {
            let reader = file.clone();
            let offset = cursor.offset;
            let chunk = tokio::task::spawn_blocking(move || files::read_at(&reader, offset, READ_CHUNK)).await??;
            if chunk.is_empty() {
                break;
            }
            let (mut lines, mut next_offset) = complete_lines(&chunk, cursor.offset);
            let mut overlong = false;
            if lines.is_empty() && next_offset == cursor.offset {
                if then.is_some() && chunk.len() < READ_CHUNK {
                    // The unterminated last line of a file that will not grow any more.
                    lines.push(dezky_ingest::tail::Line {
                        offset: cursor.offset,
                        bytes: &chunk,
                    });
                    next_offset = cursor.offset + chunk.len() as u64;
                } else if chunk.len() == READ_CHUNK {
                    overlong = true;
                    match self.skip_overlong_line(&file, cursor.offset).await? {
                        Some(after) => next_offset = after,
                        None => break,
                    }
                } else {
                    break; // a partial line: wait for its newline
                }
            }
            let mut events = Vec::with_capacity(lines.len());
            let now = self.clock.now();
            let mut filtered = 0;
            for line in &lines {
                let outcome = parse_filtered_line(
                    line.bytes,
                    &self.config.filter,
                    || cursor.line_id(line.offset),
                    now,
                    &tenant_of,
                );
                match outcome {
                    LineOutcome::Event(mut event) => {
                        directory.add_partner(&mut event);
                        events.push(*event);
                    }
                    LineOutcome::Filtered => filtered += 1,
                    LineOutcome::Rejected(rejection) => {
                        report.rejected += 1;
                        self.report_rejection(rejection, line.offset);
                    }
                }
            }
            if overlong {
                report.rejected += 1;
                self.report_rejection(Rejection::TooLong, cursor.offset);
            }
            cursor.offset = next_offset;
            let newest_at = events.iter().map(|event| event.at).max();
            let submitted = events.len() as u64;
            let receipt = self.commit(events, &cursor).await?;
            let duplicates = receipt.duplicates() as u64;
            report.recorded += submitted - duplicates;
            report.filtered += filtered;
            // Counted once durable, as the events are: a crash re-reads and re-counts them.
            self.ingest.status.record_filtered(OCIS_AUDIT, filtered);
            report.duplicates += duplicates;
            self.ingest.status.record_success(
                OCIS_AUDIT,
                self.clock.now(),
                submitted - duplicates,
                duplicates,
                newest_at,
            );
        }
        if let Some(then) = then {
            self.commit(vec![], &then).await?;
        }
        Ok(())
    }

    /// The offset after the newline that ends the line starting at `offset`, if it has arrived.
    async fn skip_overlong_line(&self, file: &Arc<std::fs::File>, offset: u64) -> anyhow::Result<Option<u64>> {
        let mut scanned = offset;
        loop {
            let reader = file.clone();
            let chunk = tokio::task::spawn_blocking(move || files::read_at(&reader, scanned, READ_CHUNK)).await??;
            if chunk.is_empty() {
                return Ok(None);
            }
            if let Some(newline) = chunk.iter().position(|byte| *byte == b'\n') {
                return Ok(Some(scanned + newline as u64 + 1));
            }
            scanned += chunk.len() as u64;
        }
    }

    fn report_rejection(&self, rejection: Rejection, offset: u64) {
        self.ingest.status.record_rejected(OCIS_AUDIT, 1);
        let message = match rejection {
            Rejection::MinimalFormat => {
                "the oCIS audit log is in the minimal format, which holds no events: set AUDIT_FORMAT=json \
                 on oCIS's audit service"
                    .to_owned()
            }
            other => format!("line at offset {offset} rejected: {}", other.as_str()),
        };
        tracing::warn!(path = %self.config.path.display(), offset, reason = rejection.as_str(), "oCIS audit line rejected");
        self.ingest.status.record_error(OCIS_AUDIT, self.clock.now(), message);
    }

    async fn commit(
        &self,
        events: Vec<NewAuditEvent>,
        cursor: &TailCursor,
    ) -> anyhow::Result<dezky_store::AppendReceipt> {
        let write = CursorWrite {
            name: CURSOR_NAME.to_owned(),
            value: serde_json::to_string(cursor)?,
        };
        Ok(self.store.append_with_cursor(events, write, self.clock.now()).await?)
    }
}

fn source() -> Source {
    Source::parse(dezky_ingest::ocis_audit::SOURCE).expect("a valid source")
}
