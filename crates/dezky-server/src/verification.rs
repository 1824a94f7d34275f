//! Verifying the stored log end to end with the pure verifier, page by page (constant memory).

use crate::signing::AuditSigner;
use dezky_chain::canonical_text::CanonicalObjectText;
use dezky_chain::leaf::{LeafHeader, Metadata, PersonalFields};
use dezky_chain::merkle::{Hash, fold_range, range_nodes};
use dezky_chain::verify::{
    Break, BreakKind, CheckedEvent, CheckpointKeys, EventEvidence, Report, StoredCheckpoint, StoredHashes, Verifier,
    hash_or_zero,
};
use dezky_core::{AuditEvent, Timestamp};
use dezky_store::{EvidenceColumn, EvidencePage, EvidenceRow, Store, StoreError};

const PAGE: u32 = 5_000;

fn stored_seq(row: &EvidenceRow<'_>) -> Result<u64, StoreError> {
    u64::try_from(row.seq()).map_err(|_| StoreError::Corrupt(format!("audit event seq {}: negative seq", row.seq())))
}

/// Pushes stored events in order (see `check_in_parallel`).
pub fn push_events(verifier: &mut Verifier<'_>, events: &[AuditEvent]) {
    let checked = check_in_parallel(events.len(), |index| {
        let event = &events[index];
        let hashes = StoredHashes::of_event(event);
        Ok::<_, std::convert::Infallible>(CheckedEvent::of(&EventEvidence::of_stored(event, &hashes)))
    });
    let Ok(checked) = checked;
    for event in checked {
        verifier.push_checked(event);
    }
}

/// A row's values parsed for the verifier: its metadata and hex hashes.
struct ParsedRow<'a> {
    metadata: StoredMetadata<'a>,
    unreadable: bool,
    hashes: StoredHashes,
}

/// Stored metadata is almost always already in canonical form (the store prints the map that
/// way), and is then hashed as it is; anything else is parsed and canonicalised.
enum StoredMetadata<'a> {
    Canonical(CanonicalObjectText<'a>),
    Parsed(serde_json::Map<String, serde_json::Value>),
}

fn parse_row<'a>(row: &EvidenceRow<'a>) -> ParsedRow<'a> {
    let text = row.text(EvidenceColumn::Metadata);
    let (metadata, unreadable) = match text.and_then(CanonicalObjectText::recognise) {
        Some(canonical) => (StoredMetadata::Canonical(canonical), false),
        None => match text.map(serde_json::from_str) {
            None => (StoredMetadata::Parsed(serde_json::Map::new()), false),
            Some(Ok(map)) => (StoredMetadata::Parsed(map), false),
            Some(Err(_)) => (StoredMetadata::Parsed(serde_json::Map::new()), true),
        },
    };
    ParsedRow {
        metadata,
        unreadable,
        hashes: StoredHashes::parse(
            row.text(EvidenceColumn::PersonalSalt),
            row.text(EvidenceColumn::PersonalCommitment),
            row.text(EvidenceColumn::LeafHash),
        ),
    }
}

/// A stored row as the verifier takes it, as it is (nothing is validated: a changed value
/// shows as a hash mismatch). The seq was checked to be non-negative by `push_page`.
fn evidence_of<'a>(row: &EvidenceRow<'a>, parsed: &'a ParsedRow<'_>) -> EventEvidence<'a> {
    let text = |column| row.text(column);
    // A NULL in a NOT NULL column can only be tampering; hashing it as "" reports it.
    let required = |column| row.text(column).unwrap_or_default();
    EventEvidence {
        header: LeafHeader {
            seq: row.seq().unsigned_abs(),
            at: Timestamp::from_millis(row.at_ms()),
            recorded_at: Timestamp::from_millis(row.recorded_at_ms()),
            actor_type: required(EvidenceColumn::ActorType),
            action: required(EvidenceColumn::Action),
            outcome: required(EvidenceColumn::Outcome),
            resource_type: text(EvidenceColumn::ResourceType),
            resource_id: text(EvidenceColumn::ResourceId),
            tenant_slug: text(EvidenceColumn::TenantSlug),
            partner_slug: text(EvidenceColumn::PartnerSlug),
            source: required(EvidenceColumn::Source),
            external_id: text(EvidenceColumn::ExternalId),
        },
        personal: PersonalFields {
            actor_id: text(EvidenceColumn::ActorId),
            actor_email: text(EvidenceColumn::ActorEmail),
            actor_ip: text(EvidenceColumn::ActorIp),
            resource_name: text(EvidenceColumn::ResourceName),
            metadata: match &parsed.metadata {
                StoredMetadata::Canonical(text) => Metadata::CanonicalText(*text),
                StoredMetadata::Parsed(map) => Metadata::Object(map),
            },
        },
        prev_hash: text(EvidenceColumn::PrevHash),
        hash: text(EvidenceColumn::Hash),
        salt: parsed.hashes.salt.as_ref(),
        commitment: &parsed.hashes.commitment,
        leaf_hash: &parsed.hashes.leaf,
        unreadable: parsed.unreadable,
    }
}

/// Pushes every row of a page, in order (see `check_page`), checked on every core.
pub fn push_page(verifier: &mut Verifier<'_>, page: &EvidencePage) -> Result<(), StoreError> {
    for event in check_page(page, cores())?.events {
        verifier.push_checked(event);
    }
    Ok(())
}

/// A page's events, each checked on its own (`CheckedEvent::of`), to be pushed in order.
#[derive(Default)]
struct CheckedPage {
    events: Vec<CheckedEvent>,
    /// The page's last seq and stored hash (none for an empty page: the walk's end).
    last: Option<(u64, Option<String>)>,
}

/// Each event's own checks for a page, on `threads` threads (see `check_in_parallel`).
fn check_page(page: &EvidencePage, threads: usize) -> Result<CheckedPage, StoreError> {
    let events = check_on_threads(threads, page.len(), |index| {
        let row = page.row(index)?;
        stored_seq(&row)?;
        let parsed = parse_row(&row);
        Ok::<_, StoreError>(CheckedEvent::of(&evidence_of(&row, &parsed)))
    })?;
    let last = match page.last().transpose()? {
        Some(row) => Some((stored_seq(&row)?, row.text(EvidenceColumn::Hash).map(str::to_owned))),
        None => None,
    };
    Ok(CheckedPage { events, last })
}

/// Below this many events a run is checked on the calling thread.
const PARALLEL_EVENTS: usize = 1_000;
/// Threads per run at most: a page is 5,000 events, and a large host need not split it finer.
const MAX_THREADS: usize = 8;
/// Events a thread takes at a time. The threads share the cores with the walk's page reads, so
/// halves fixed in advance finished apart (the thread that shared its core with a reader last)
/// while the other core idled; small chunks taken in turn let the threads finish together.
const CHUNK_EVENTS: usize = 250;

/// Each event's own checks (`CheckedEvent::of`: taking the row from the page, parsing it,
/// hashing its content and its chain link), most of verification's work and independent of
/// every other event, for events `0..count` in chunks on one thread per core; the results in
/// order, or the first error in order. The caller then pushes them in order, which checks the
/// chain, the tree and the checkpoints.
fn check_in_parallel<Checked: Send, Error: Send>(
    count: usize,
    check: impl Fn(usize) -> Result<Checked, Error> + Sync,
) -> Result<Vec<Checked>, Error> {
    check_on_threads(cores(), count, check)
}

/// The threads a run is split across when it alone keeps the cores busy.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |cores| cores.get().min(MAX_THREADS))
}

/// The threads each of `read_ahead` pages checked side by side gets, so that together they use
/// the `cores` (see `PageReads::threads_per_page`).
fn threads_per_page(cores: usize, read_ahead: usize) -> usize {
    cores.div_ceil(read_ahead.max(1)).max(1)
}

/// `check_in_parallel` on `threads` threads (a parameter so that tests run the threads on any
/// machine, a one-core one included).
fn check_on_threads<Checked: Send, Error: Send>(
    threads: usize,
    count: usize,
    check: impl Fn(usize) -> Result<Checked, Error> + Sync,
) -> Result<Vec<Checked>, Error> {
    if count < PARALLEL_EVENTS || threads <= 1 {
        return check_run(0..count, &check);
    }
    let chunks = count.div_ceil(CHUNK_EVENTS);
    let next_chunk = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Result<Vec<Checked>, Error>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (check, next_chunk) = (&check, &next_chunk);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    loop {
                        let chunk = next_chunk.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if chunk >= chunks {
                            return done;
                        }
                        let events = chunk * CHUNK_EVENTS..((chunk + 1) * CHUNK_EVENTS).min(count);
                        done.push((chunk, check_run(events, check)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    done.sort_unstable_by_key(|(chunk, _)| *chunk);
    let mut checked = Vec::with_capacity(count);
    for (_, events) in done {
        checked.extend(events?);
    }
    Ok(checked)
}

/// The checks of a run of events, in order, into a vector of the run's size. Collecting the
/// `Result`s instead grows the vector by doubling (its size is not known up front), which copied
/// every checked event about twice more.
fn check_run<Checked, Error>(
    events: std::ops::Range<usize>,
    check: &impl Fn(usize) -> Result<Checked, Error>,
) -> Result<Vec<Checked>, Error> {
    let mut checked = Vec::with_capacity(events.len());
    for index in events {
        checked.push(check(index)?);
    }
    Ok(checked)
}

/// The hashes of the given leaf ranges, each folded from its stored perfect subtrees, fetched
/// in one call (proofs of every kind are lists of such ranges).
pub async fn range_hashes(store: &dyn Store, ranges: &[(u64, u64)]) -> Result<Vec<Hash>, StoreError> {
    let pieces: Vec<_> = ranges.iter().map(|&(start, end)| range_nodes(start, end)).collect();
    let all: Vec<_> = pieces.iter().flatten().copied().collect();
    let hashes = store.merkle_node_hashes(&all).await?;
    let mut offset = 0;
    Ok(pieces
        .iter()
        .map(|nodes| {
            let folded = fold_range(&hashes[offset..offset + nodes.len()]);
            offset += nodes.len();
            folded
        })
        .collect())
}

/// Verifies with the log's own signer (the server's view).
pub async fn verify_with_signer(store: &dyn Store, signer: &AuditSigner) -> Result<Report, StoreError> {
    let verifier = signer.verifier();
    verify_store(
        store,
        Some(CheckpointKeys {
            verifier: &verifier,
            hmac: signer.hmac(),
        }),
    )
    .await
}

/// The stored checkpoints, as the verifier takes them.
pub async fn stored_checkpoints(store: &dyn Store) -> Result<Vec<StoredCheckpoint>, StoreError> {
    Ok(store
        .list_checkpoints()
        .await?
        .into_iter()
        .map(|record| StoredCheckpoint {
            tree_size: record.tree_size,
            root_hash: hash_or_zero(Some(&record.root_hash)),
            note: record.note,
        })
        .collect())
}

/// Verifies every event and every stored checkpoint; without keys, checkpoint signatures are
/// not checked (their roots still are).
pub async fn verify_store(store: &dyn Store, keys: Option<CheckpointKeys<'_>>) -> Result<Report, StoreError> {
    let mut verifier = Verifier::new(stored_checkpoints(store).await?, keys);
    let head = store.chain_head().await?;
    let last_hash = walk_hot(store, &mut verifier, None).await?;
    finish_with_head(store, verifier, &head, last_hash).await
}

/// Pushes the hot events with `seq > after` into the verifier; returns the last one's hash.
pub async fn walk_hot(
    store: &dyn Store,
    verifier: &mut Verifier<'_>,
    after: Option<u64>,
) -> Result<Option<String>, StoreError> {
    walk_pages(store, verifier, after, PAGE, READ_AHEAD).await
}

/// `walk_hot` in pages of `page` events with `read_ahead` pages read while one is checked
/// (parameters for tests; every caller walks with `PAGE` and `READ_AHEAD`).
///
/// Reading a page costs about as much as checking it, and one page is read on one thread, so
/// with a single page read ahead the cores waited for the reader (on PostgreSQL, for the server
/// to send the rows). Each page read ahead is checked as soon as it arrives (`read_and_check`),
/// so reading and checking overlap across pages and the walk itself only pushes checked events
/// in order. The pages after the next are requested where a gapless log puts them
/// (`seq > last + k·page`), which is exact while the log is gapless; when a page ends elsewhere
/// (a gap, the end of the log) the guesses are dropped and read again from where it really
/// ended, so a gap costs time and never changes what is pushed.
pub async fn walk_pages(
    store: &dyn Store,
    verifier: &mut Verifier<'_>,
    after: Option<u64>,
    page: u32,
    read_ahead: usize,
) -> Result<Option<String>, StoreError> {
    let mut last_hash = None;
    let mut reads = PageReads::new(store, page, read_ahead);
    // The first page is the only one in flight: it is checked on every core.
    let mut current = read_and_check(store, after, page, cores()).await?;
    while let Some((last_seq, hash)) = current.last.take() {
        last_hash = hash;
        reads.plan(last_seq);
        let events = std::mem::take(&mut current.events);
        let (next, ()) = tokio::join!(reads.next(), async {
            for event in events {
                verifier.push_checked(event);
            }
        });
        current = next?;
    }
    Ok(last_hash)
}

/// Reads a page and checks its events off the async runtime, on a blocking thread (and
/// `threads - 1` more): the pages read ahead are checked as they arrive, beside the reading of
/// the others, and only the ordered pushes are left to the walk.
async fn read_and_check(
    store: &dyn Store,
    after: Option<u64>,
    page: u32,
    threads: usize,
) -> Result<CheckedPage, StoreError> {
    let page = store.evidence_page(after, page).await?;
    match tokio::task::spawn_blocking(move || check_page(&page, threads)).await {
        Ok(checked) => checked,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(error) => Err(StoreError::Corrupt(format!(
            "the verification checker stopped: {error}"
        ))),
    }
}

/// Pages read at the same time in one walk. Over a 300,000-event PostgreSQL log one page ahead
/// took 1.27–1.74 s and two, three or four alike 0.94–1.31 s; the benchmark rounds in
/// PERFORMANCE.md (eighteenth session) ran with three. On SQLite it made no difference.
const READ_AHEAD: usize = 3;

type PageRead<'a> = futures::future::BoxFuture<'a, Result<CheckedPage, StoreError>>;

/// A walk's page reads in flight, oldest first, each with the seq its page starts after.
struct PageReads<'a> {
    store: &'a dyn Store,
    page: u32,
    depth: usize,
    /// Threads each page is checked on. The pages in flight are checked side by side, so they
    /// share the cores: one thread each on two cores. Splitting each page across every core as
    /// well ran up to six checking threads beside the readers (and on PostgreSQL the server) and
    /// started and ended two threads per page; over a 1 M-event PostgreSQL log on two cores that
    /// cost ~4 % more CPU time and ~3 % more wall time (docs/PERFORMANCE.md, "Nineteenth session").
    threads_per_page: usize,
    in_flight: futures::stream::FuturesOrdered<PageRead<'a>>,
    afters: std::collections::VecDeque<u64>,
}

impl<'a> PageReads<'a> {
    fn new(store: &'a dyn Store, page: u32, read_ahead: usize) -> Self {
        Self {
            store,
            page,
            depth: read_ahead.max(1),
            threads_per_page: threads_per_page(cores(), read_ahead),
            in_flight: futures::stream::FuturesOrdered::new(),
            afters: std::collections::VecDeque::new(),
        }
    }

    /// Makes the next read the page after `after`, then fills up the reads ahead of it.
    fn plan(&mut self, after: u64) {
        if self.afters.front() != Some(&after) {
            // Dropped reads finish on their own tasks; their pages are discarded.
            self.in_flight = futures::stream::FuturesOrdered::new();
            self.afters.clear();
        }
        while self.afters.len() < self.depth {
            let start = self
                .afters
                .back()
                .map_or(after, |previous| previous + u64::from(self.page));
            self.afters.push_back(start);
            self.in_flight.push_back(Box::pin(read_and_check(
                self.store,
                Some(start),
                self.page,
                self.threads_per_page,
            )));
        }
    }

    /// The page `plan` made next.
    async fn next(&mut self) -> Result<CheckedPage, StoreError> {
        use futures::StreamExt;
        self.afters.pop_front();
        // `plan` always leaves a read in flight; none would be the end of the walk.
        self.in_flight
            .next()
            .await
            .unwrap_or_else(|| Ok(CheckedPage::default()))
    }
}

/// Ends the walk: the report, plus the comparison of the last event with the chain head `head`
/// (read before the walk began).
pub async fn finish_with_head(
    store: &dyn Store,
    verifier: Verifier<'_>,
    head: &dezky_store::ChainHead,
    last_hash: Option<String>,
) -> Result<Report, StoreError> {
    let mut report = verifier.finish();
    // The chain head records how long the log was and how it ended: a missing tail (rows
    // deleted from the end) shows here even before a checkpoint covers it. Events appended
    // while the walk ran make the head longer than what was read; only a shorter log is a break.
    let read = report.head_seq.map_or(0, |seq| seq + 1);
    if head.tree_size == read && last_hash.as_deref().is_some_and(|hash| hash != head.head_hash) {
        report.breaks.push(Break {
            kind: BreakKind::EventHashMismatch,
            seq: report.head_seq,
            tree_size: None,
            expected: Some(head.head_hash.clone()),
            actual: last_hash,
        });
    }
    if head.tree_size > read && store.get_event(read).await?.is_none() {
        report.breaks.push(Break {
            kind: BreakKind::SeqGap,
            seq: Some(read),
            tree_size: None,
            expected: format!("events up to seq {} (the chain head)", head.tree_size - 1).into(),
            actual: Some(format!("the log ends at {read} events")),
        });
    }
    report.ok = report.breaks.is_empty();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREADS: [usize; 4] = [1, 2, 3, MAX_THREADS];

    #[test]
    fn pages_in_flight_share_the_cores() {
        assert_eq!(threads_per_page(2, READ_AHEAD), 1);
        assert_eq!(threads_per_page(1, READ_AHEAD), 1);
        assert_eq!(threads_per_page(MAX_THREADS, READ_AHEAD), 3);
        assert_eq!(threads_per_page(4, 1), 4);
        assert_eq!(threads_per_page(4, 0), 4);
        assert_eq!(threads_per_page(0, 3), 1);
    }

    #[test]
    fn checks_come_back_in_order_at_every_size() {
        let sizes = [
            0,
            1,
            PARALLEL_EVENTS - 1,
            PARALLEL_EVENTS,
            PARALLEL_EVENTS + 1,
            4_999,
            5_000,
            5_003,
            12_345,
        ];
        for threads in THREADS {
            for count in sizes {
                let checked = check_on_threads(threads, count, |index| Ok::<_, ()>(index * 3)).unwrap();
                let expected: Vec<_> = (0..count).map(|index| index * 3).collect();
                assert_eq!(checked, expected, "{count} events on {threads} threads");
            }
        }
    }

    #[test]
    fn the_first_error_in_order_is_returned_whichever_thread_met_it_first() {
        for threads in THREADS {
            // The error at 1,300 is met last: its check waits until the one at 4,700 was met.
            let later_error_met = std::sync::atomic::AtomicBool::new(false);
            let result = check_on_threads(threads, 5_000, |index| {
                if index == 1_300 && threads > 1 {
                    while !later_error_met.load(std::sync::atomic::Ordering::Acquire) {
                        std::thread::yield_now();
                    }
                }
                if index == 4_700 {
                    later_error_met.store(true, std::sync::atomic::Ordering::Release);
                }
                if [4_700, 1_300, 1_301, 2_999].contains(&index) {
                    Err(index)
                } else {
                    Ok(index)
                }
            });
            assert_eq!(result, Err(1_300), "{threads} threads");
            let last = check_on_threads(
                threads,
                5_000,
                |index| if index == 4_999 { Err(index) } else { Ok(index) },
            );
            assert_eq!(last, Err(4_999), "{threads} threads");
        }
    }
}
