//! Walking the events list from the newest page down to the high-water mark.
//!
//! Authentik has no "created after" filter (`created__gt` is silently ignored), so every tick
//! reads the default ordering (newest first) from page 1 until it meets an event at or before
//! the mark, then records what it found oldest-first. Pages are numbered, so they move while we
//! read them:
//! - a new event pushes everything down by one: the next page repeats the last event already
//!   seen. Events are deduplicated by `pk`, so nothing is recorded twice.
//! - an event that disappears (expiry; `expires` depends on the brand's retention, so a newer
//!   event can expire before an older one) pulls everything below it up by one: the first
//!   event of the next page slides onto the page already read and would be skipped. Every page
//!   carries the list's `count`; the walk tracks how far down it has read without a hole,
//!   moves that position by the change in `count` (counting every removal as if it were above
//!   us, which is safe) and, when the page it got starts below that position, re-reads from
//!   the page holding the first unread position. A page that vanished (404 "Invalid page.")
//!   restarts the walk from page 1. Either way what was found is kept and deduplicated.
//!   The mark itself may expire too: the walk stops at the first event *older in time*, never
//!   by looking for the mark's own event.
//!
//! A tick reads at most [`WalkLimits::max_pages`] pages. When that is not enough to reach the
//! mark, the newest events are recorded, the mark moves to the newest one (otherwise every
//! later tick would hit the same wall), and [`WalkOutcome::gap`] says what was skipped, so the
//! log holds an `ingest.gap_detected` event instead of a silent hole.
//!
//! **First run** (no mark yet): the walk imports the newest events the page cap allows (by
//! default the latest 1,000) and, when Authentik holds older ones, reports a
//! `history-not-imported` gap naming how many and up to when. An operator connecting Authentik
//! sees recent activity at once and an explicit note that older history stays in Authentik,
//! instead of either an empty timeline or an unbounded first tick.

use super::SOURCE;
use super::mark::HighWaterMark;
use super::page::{AuthentikEvent, EventsPage};
use crate::gap::gap_event;
use dezky_core::{NewAuditEvent, Source, Timestamp};
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// How much one tick may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkLimits {
    /// Page requests per tick, re-reads included (the seed's 10).
    pub max_pages: u32,
    /// `page_size` (newer Authentik versions cap it at 100).
    pub page_size: u32,
}

impl Default for WalkLimits {
    fn default() -> Self {
        WalkLimits {
            max_pages: 10,
            page_size: 100,
        }
    }
}

/// The page to fetch next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u32,
}

impl PageRequest {
    /// The query string for `GET /api/v3/events/events/?…`: newest first, explicitly.
    pub fn query(&self) -> String {
        format!("ordering=-created&page={}&page_size={}", self.page, self.page_size)
    }
}

/// Events the walk could not reach: recorded as `ingest.gap_detected`.
#[derive(Clone, Debug, PartialEq)]
pub struct WalkGap {
    /// `page-cap-reached` (the mark was not reached) or `history-not-imported` (first run).
    pub reason: &'static str,
    /// Where: the instants bounding what was skipped, pages read, the upstream count.
    pub details: Map<String, Value>,
}

/// What a finished walk found.
#[derive(Clone, Debug, PartialEq)]
pub struct WalkOutcome {
    /// The new events, oldest first, each `pk` once.
    pub events: Vec<AuthentikEvent>,
    /// The mark to store with them: unchanged when nothing is new, `None` only when there has
    /// never been an event.
    pub mark: Option<HighWaterMark>,
    pub gap: Option<WalkGap>,
    pub pages_fetched: u32,
    /// How often the walk went back to re-read pages because events were removed under it.
    pub backtracks: u32,
}

impl WalkOutcome {
    /// The `ingest.gap_detected` event for [`WalkOutcome::gap`], if there is one.
    pub fn gap_event(&self, at: Timestamp) -> Option<NewAuditEvent> {
        let gap = self.gap.as_ref()?;
        let source = Source::parse(SOURCE).expect("a valid source");
        Some(gap_event(&source, at, gap.reason, gap.details.clone()))
    }
}

/// The walk of one tick; feed it the pages it asks for. No IO.
#[derive(Clone, Debug)]
pub struct PageWalk {
    mark: Option<HighWaterMark>,
    limits: WalkLimits,
    next_page: Option<u64>,
    pages_fetched: u32,
    backtracks: u32,
    /// List positions read without a hole, from the top.
    covered: u64,
    /// `count` of the page read last.
    last_count: Option<u64>,
    /// The last `count` Authentik reported.
    upstream_count: Option<u64>,
    cap_reached: bool,
    seen: HashSet<String>,
    found: Vec<AuthentikEvent>,
}

impl PageWalk {
    /// A walk down to `mark` (`None`: the first run, see the module documentation).
    pub fn new(mark: Option<HighWaterMark>, limits: WalkLimits) -> PageWalk {
        PageWalk {
            mark,
            limits: WalkLimits {
                max_pages: limits.max_pages.max(1),
                page_size: limits.page_size.max(1),
            },
            next_page: Some(1),
            pages_fetched: 0,
            backtracks: 0,
            covered: 0,
            last_count: None,
            upstream_count: None,
            cap_reached: false,
            seen: HashSet::new(),
            found: Vec::new(),
        }
    }

    /// The page to fetch next, or `None` when the walk is complete: call [`PageWalk::finish`].
    pub fn next_request(&self) -> Option<PageRequest> {
        self.next_page.map(|page| PageRequest {
            page,
            page_size: self.limits.page_size,
        })
    }

    /// Takes the page answering [`PageWalk::next_request`]. A page pushed after the walk is
    /// complete is ignored.
    pub fn push(&mut self, page: EventsPage) {
        let Some(number) = self.next_page else {
            return;
        };
        self.pages_fetched += 1;
        // How far down the list we have read without a hole, moved by what changed since the
        // previous page: arrivals push what we read down, removals pull it up. Counting the net
        // change against us is safe: removals above our position can only be fewer.
        let change = match (self.last_count, page.count) {
            (Some(before), Some(now)) => i128::from(now) - i128::from(before),
            _ => 0,
        };
        let covered = (i128::from(self.covered) + change).max(0) as u64;
        let size = u64::from(self.limits.page_size);
        let start = (number - 1).saturating_mul(size);
        let contiguous = start <= covered;
        let read = page.events.len() as u64;
        let mut reached_mark = false;
        for event in page.events {
            if let Some(mark) = &self.mark
                && mark.covers(&event)
            {
                // Events at the mark's instant come in any order: only an older one ends it.
                if event.created < mark.created {
                    reached_mark = true;
                    break;
                }
                continue;
            }
            if self.seen.insert(event.pk.clone()) {
                self.found.push(event);
            }
        }
        self.last_count = page.count;
        if page.count.is_some() {
            self.upstream_count = page.count;
        }
        if contiguous {
            self.covered = covered.max(start + read);
            self.next_page = if reached_mark { None } else { page.next };
        } else {
            // Events slid from this page onto pages already read: read again from the page
            // holding the first position not covered (duplicates are dropped by pk).
            self.covered = covered;
            self.backtracks += 1;
            self.next_page = Some(covered / size + 1);
        }
        self.apply_cap();
    }

    /// The page asked for answered 404 "Invalid page.": events expired since the previous page
    /// was read and the list got shorter by an unknown amount. Starts again from page 1 (on
    /// page 1 itself there is nothing to read).
    pub fn page_vanished(&mut self) {
        let Some(page) = self.next_page else {
            return;
        };
        self.pages_fetched += 1;
        self.covered = 0;
        self.last_count = None;
        if page <= 1 {
            self.next_page = None;
        } else {
            self.backtracks += 1;
            self.next_page = Some(1);
        }
        self.apply_cap();
    }

    fn apply_cap(&mut self) {
        if self.next_page.is_some() && self.pages_fetched >= self.limits.max_pages {
            self.next_page = None;
            self.cap_reached = true;
        }
    }

    /// The new events oldest-first, the new mark and the gap, if any.
    pub fn finish(self) -> WalkOutcome {
        let mut events = self.found;
        events.sort_by(|left, right| left.created.cmp(&right.created).then_with(|| left.pk.cmp(&right.pk)));
        let mark = HighWaterMark::advance(self.mark.as_ref(), &events);
        let gap = self.cap_reached.then(|| {
            gap_of(
                self.mark.as_ref(),
                &events,
                self.pages_fetched,
                self.limits,
                self.upstream_count,
            )
        });
        WalkOutcome {
            events,
            mark,
            gap,
            pages_fetched: self.pages_fetched,
            backtracks: self.backtracks,
        }
    }
}

fn gap_of(
    mark: Option<&HighWaterMark>,
    events: &[AuthentikEvent],
    pages_fetched: u32,
    limits: WalkLimits,
    upstream_count: Option<u64>,
) -> WalkGap {
    let mut details = Map::new();
    details.insert("pagesFetched".into(), json!(pages_fetched));
    details.insert("pageSize".into(), json!(limits.page_size));
    details.insert("eventsRecorded".into(), json!(events.len()));
    if let Some(count) = upstream_count {
        details.insert("upstreamCount".into(), json!(count));
    }
    // Everything older than the oldest event recorded (and, after a mark, newer than it) was
    // not read.
    if let Some(oldest) = events.first() {
        details.insert("skippedBefore".into(), json!(oldest.created.as_str()));
    }
    let reason = match mark {
        Some(mark) => {
            details.insert("skippedAfter".into(), json!(mark.created.as_str()));
            "page-cap-reached"
        }
        None => {
            if let Some(count) = upstream_count {
                details.insert(
                    "olderEventsNotImported".into(),
                    json!(count.saturating_sub(events.len() as u64)),
                );
            }
            "history-not-imported"
        }
    };
    WalkGap { reason, details }
}

#[cfg(test)]
mod tests;
