use super::*;
use crate::authentik::page::{PageError, parse_page};
use serde_json::json;
use std::collections::BTreeSet;

/// RFC 3339 with microseconds, as Authentik writes `created`.
fn created(micros: i64) -> String {
    let millis = Timestamp::from_millis(micros.div_euclid(1000)).to_rfc3339();
    format!("{}{:03}Z", millis.trim_end_matches('Z'), micros.rem_euclid(1000))
}

const BASE: i64 = 1_773_480_413_000_000;

/// A stand-in for Authentik's event table, served newest first in numbered pages.
struct Upstream {
    /// (pk, created micros), newest first.
    events: Vec<(String, i64)>,
    next_id: u64,
    clock: i64,
}

impl Upstream {
    fn new() -> Upstream {
        Upstream {
            events: Vec::new(),
            next_id: 0,
            clock: BASE,
        }
    }

    /// `n` new events, each a millisecond after the previous one.
    fn add(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                self.clock += 1000;
                self.add_at(self.clock)
            })
            .collect()
    }

    fn add_at(&mut self, micros: i64) -> String {
        self.next_id += 1;
        let pk = format!("00000000-0000-4000-8000-{:012}", self.next_id);
        self.events.push((pk.clone(), micros));
        self.clock = self.clock.max(micros);
        // Newest first; ties in insertion order (Authentik gives no order among them).
        self.events.sort_by_key(|event| std::cmp::Reverse(event.1));
        pk
    }

    fn expire_oldest(&mut self, n: usize) {
        let keep = self.events.len().saturating_sub(n);
        self.events.truncate(keep);
    }

    fn expire(&mut self, pk: &str) {
        self.events.retain(|(event, _)| event != pk);
    }

    /// The body Authentik would answer for `request`, through the real parser.
    fn serve(&self, request: PageRequest) -> Result<EventsPage, PageError> {
        let size = request.page_size as usize;
        let count = self.events.len();
        let pages = count.div_ceil(size).max(1) as u64;
        if request.page > pages {
            return parse_page(br#"{"detail":"Invalid page."}"#);
        }
        let start = (request.page as usize - 1) * size;
        let results: Vec<Value> = self.events[start..(start + size).min(count)]
            .iter()
            .map(|(pk, micros)| json!({ "pk": pk, "user": {}, "action": "login", "created": created(*micros) }))
            .collect();
        let next = if request.page < pages { request.page + 1 } else { 0 };
        let body = json!({ "pagination": { "next": next, "previous": request.page - 1, "count": count,
                                           "current": request.page, "total_pages": pages }, "results": results });
        parse_page(body.to_string().as_bytes())
    }
}

/// Runs one tick against `upstream`; `between` may change it after each page is served.
fn tick(
    upstream: &mut Upstream,
    mark: Option<HighWaterMark>,
    limits: WalkLimits,
    mut between: impl FnMut(&mut Upstream, u32),
) -> WalkOutcome {
    let mut walk = PageWalk::new(mark, limits);
    let mut served = 0;
    while let Some(request) = walk.next_request() {
        match upstream.serve(request) {
            Ok(page) => walk.push(page),
            Err(PageError::InvalidPage) => walk.page_vanished(),
            Err(other) => panic!("{other}"),
        }
        served += 1;
        between(upstream, served);
    }
    walk.finish()
}

fn small() -> WalkLimits {
    WalkLimits {
        max_pages: 10,
        page_size: 3,
    }
}

fn pks(outcome: &WalkOutcome) -> Vec<String> {
    outcome.events.iter().map(|event| event.pk.clone()).collect()
}

#[test]
fn a_walk_reads_pages_down_to_the_mark_and_records_oldest_first() {
    let mut upstream = Upstream::new();
    let old = upstream.add(4);
    let first = tick(&mut upstream, None, small(), |_, _| {});
    assert_eq!(pks(&first), old);
    assert_eq!(first.gap, None);
    assert_eq!(first.pages_fetched, 2);
    let mark = first.mark.clone().unwrap();
    assert_eq!(mark.pks, BTreeSet::from([old[3].clone()]));

    let new = upstream.add(7);
    let second = tick(&mut upstream, Some(mark), small(), |_, _| {});
    assert_eq!(pks(&second), new, "oldest first, exactly the new ones");
    assert_eq!(
        second.pages_fetched, 3,
        "7 new events on pages of 3: the mark is on page 3"
    );
    assert_eq!(second.gap, None);
    let newest = second.mark.unwrap();
    assert_eq!(newest.created.as_str(), created(upstream.clock));
    assert_eq!(newest.pks, BTreeSet::from([new[6].clone()]));
}

#[test]
fn nothing_new_reads_one_page_and_keeps_the_mark() {
    let mut upstream = Upstream::new();
    upstream.add(10);
    let mark = tick(&mut upstream, None, WalkLimits::default(), |_, _| {}).mark;
    let again = tick(&mut upstream, mark.clone(), small(), |_, _| {});
    assert!(again.events.is_empty());
    assert_eq!(again.pages_fetched, 1);
    assert_eq!(again.mark, mark);
    assert_eq!(again.gap, None);
}

#[test]
fn an_empty_authentik_gives_nothing_and_no_mark() {
    let mut upstream = Upstream::new();
    let outcome = tick(&mut upstream, None, WalkLimits::default(), |_, _| {});
    assert!(outcome.events.is_empty());
    assert_eq!((outcome.mark, outcome.gap, outcome.pages_fetched), (None, None, 1));
}

#[test]
fn an_event_at_the_marks_instant_is_new_unless_its_pk_is_in_the_mark() {
    let mut upstream = Upstream::new();
    upstream.add(2);
    let instant = upstream.clock + 1000;
    let a = upstream.add_at(instant);
    let mark = tick(&mut upstream, None, small(), |_, _| {}).mark.unwrap();
    assert_eq!(mark.pks, BTreeSet::from([a.clone()]));

    // Two more at the same microsecond, served on the page after `a`'s.
    let b = upstream.add_at(instant);
    let c = upstream.add_at(instant);
    upstream.add(2);
    let outcome = tick(&mut upstream, Some(mark), small(), |_, _| {});
    let found = pks(&outcome);
    assert_eq!(found.len(), 4);
    assert!(found.contains(&b) && found.contains(&c) && !found.contains(&a));
    // The mark moved to the newest instant; had nothing newer come, it would keep a, b and c.
    assert_eq!(outcome.mark.unwrap().created.micros(), upstream.clock);

    let mut tied = Upstream::new();
    let t = tied.clock + 5000;
    let first = tied.add_at(t);
    let mark = tick(&mut tied, None, small(), |_, _| {}).mark;
    let second = tied.add_at(t);
    let outcome = tick(&mut tied, mark, small(), |_, _| {});
    assert_eq!(pks(&outcome), vec![second.clone()]);
    assert_eq!(outcome.mark.unwrap().pks, BTreeSet::from([first, second]));
}

#[test]
fn the_first_run_imports_what_the_cap_allows_and_records_the_rest_as_a_gap() {
    let mut upstream = Upstream::new();
    let all = upstream.add(1_500);
    let outcome = tick(&mut upstream, None, WalkLimits::default(), |_, _| {});
    assert_eq!(outcome.pages_fetched, 10);
    assert_eq!(pks(&outcome), all[500..].to_vec(), "the newest 1,000, oldest first");
    let gap = outcome.gap.clone().unwrap();
    assert_eq!(gap.reason, "history-not-imported");
    assert_eq!(gap.details["olderEventsNotImported"], 500);
    assert_eq!(gap.details["upstreamCount"], 1_500);
    assert_eq!(gap.details["skippedBefore"], outcome.events[0].created.as_str());
    assert_eq!(outcome.mark.clone().unwrap().pks, BTreeSet::from([all[1_499].clone()]));
    let event = outcome.gap_event(Timestamp::from_millis(7)).unwrap();
    assert_eq!(event.action.as_str(), "ingest.gap_detected");
    assert_eq!(event.source.as_str(), "authentik");
    assert_eq!(event.metadata["reason"], "history-not-imported");

    // The next tick continues from the newest: nothing repeated, no further gap.
    let new = upstream.add(5);
    let next = tick(&mut upstream, outcome.mark, WalkLimits::default(), |_, _| {});
    assert_eq!(pks(&next), new);
    assert_eq!(next.gap, None);
}

#[test]
fn hitting_the_cap_after_a_mark_records_where_events_were_skipped() {
    let mut upstream = Upstream::new();
    upstream.add(3);
    let mark = tick(&mut upstream, None, small(), |_, _| {}).mark.unwrap();
    let burst = upstream.add(40);
    let outcome = tick(&mut upstream, Some(mark.clone()), small(), |_, _| {});
    assert_eq!(outcome.pages_fetched, 10);
    assert_eq!(pks(&outcome), burst[10..].to_vec());
    let gap = outcome.gap.clone().unwrap();
    assert_eq!(gap.reason, "page-cap-reached");
    assert_eq!(gap.details["skippedAfter"], mark.created.as_str());
    assert_eq!(gap.details["skippedBefore"], created(BASE + 1000 * 14));
    assert_eq!(gap.details["eventsRecorded"], 30);
    assert_eq!(gap.details["pagesFetched"], 10);
    assert_eq!(gap.details["pageSize"], 3);
    // The mark moves to the newest event so the next tick is not stuck behind the same wall.
    assert_eq!(outcome.mark.unwrap().pks, BTreeSet::from([burst[39].clone()]));
    // Reaching the mark exactly on the last allowed page is no gap.
    let mut exact = Upstream::new();
    exact.add(1);
    let mark = tick(&mut exact, None, small(), |_, _| {}).mark;
    exact.add(29);
    let outcome = tick(&mut exact, mark, small(), |_, _| {});
    assert_eq!(
        (outcome.events.len(), outcome.pages_fetched, outcome.gap),
        (29, 10, None)
    );
}

#[test]
fn new_events_arriving_mid_walk_shift_pages_without_duplicates_or_losses() {
    let mut upstream = Upstream::new();
    upstream.add(2);
    let mark = tick(&mut upstream, None, small(), |_, _| {}).mark;
    let before = upstream.add(8);
    let mut during = Vec::new();
    let outcome = tick(&mut upstream, mark, small(), |upstream, served| {
        if served == 1 {
            during = upstream.add(2);
        }
    });
    assert_eq!(
        pks(&outcome),
        before,
        "page 2 repeated two events of page 1: recorded once"
    );
    let next = tick(&mut upstream, outcome.mark, small(), |_, _| {});
    assert_eq!(
        pks(&next),
        during,
        "what arrived during the walk comes with the next tick"
    );
}

#[test]
fn an_event_expiring_mid_walk_makes_the_walk_reread_so_nothing_slides_past() {
    let mut upstream = Upstream::new();
    upstream.add(2);
    let mark = tick(&mut upstream, None, small(), |_, _| {}).mark;
    let new = upstream.add(8);
    // After page 1 (new[7], new[6], new[5]) is read, new[6] expires (another brand's shorter
    // retention): everything below moves up one place and new[4] lands on page 1, already read.
    let expired = new[6].clone();
    let outcome = tick(&mut upstream, mark, small(), |upstream, served| {
        if served == 1 {
            upstream.expire(&expired);
        }
    });
    assert_eq!(outcome.backtracks, 1);
    assert_eq!(outcome.pages_fetched, 5, "1, 2, then 1 again, 2, 3");
    assert_eq!(
        pks(&outcome),
        new,
        "new[4] was not lost, and the expired one was read before it went"
    );
    assert_eq!(outcome.gap, None);
}

#[test]
fn old_events_expiring_and_a_vanished_page_lose_nothing() {
    let mut upstream = Upstream::new();
    upstream.add(30);
    let mark = tick(&mut upstream, None, WalkLimits::default(), |_, _| {}).mark;
    let new = upstream.add(3);
    // The cleanup task removes every old event (the mark's too) while we read page 1: page 2,
    // which `next` pointed at, is gone.
    let outcome = tick(&mut upstream, mark, small(), |upstream, served| {
        if served == 1 {
            upstream.expire_oldest(30);
        }
    });
    assert_eq!(pks(&outcome), new);
    assert_eq!(outcome.backtracks, 1);

    // The mark's own event expired before the tick: the walk stops at the first older event.
    let mut gone = Upstream::new();
    gone.add(5);
    let mark = tick(&mut gone, None, small(), |_, _| {}).mark.unwrap();
    let marked = mark.pks.iter().next().unwrap().clone();
    gone.expire(&marked);
    let new = gone.add(2);
    let outcome = tick(&mut gone, Some(mark), small(), |_, _| {});
    assert_eq!(pks(&outcome), new);
    assert_eq!(outcome.pages_fetched, 1);

    // A vanished page 1 (nothing there at all) ends the walk.
    let mut walk = PageWalk::new(None, small());
    walk.page_vanished();
    assert_eq!(walk.next_request(), None);
    assert!(walk.finish().events.is_empty());
}

#[test]
fn many_ticks_with_arrivals_and_expiry_record_every_surviving_event_exactly_once() {
    let mut upstream = Upstream::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut random = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let limits = WalkLimits {
        max_pages: 100,
        page_size: 7,
    };
    let mut mark = None;
    let mut recorded: Vec<String> = Vec::new();
    for _ in 0..60 {
        let arrivals = random(25) as usize;
        upstream.add(arrivals);
        // Between pages: arrivals, the cleanup task, or one event anywhere in the list expiring.
        let outcome = tick(&mut upstream, mark.take(), limits, |upstream, _| match random(5) {
            0 => {
                upstream.add(random(6) as usize);
            }
            1 => upstream.expire_oldest(random(5) as usize),
            2 if !upstream.events.is_empty() => {
                let index = random(upstream.events.len() as u64) as usize;
                let pk = upstream.events[index].0.clone();
                upstream.expire(&pk);
            }
            _ => {}
        });
        assert_eq!(outcome.gap, None);
        recorded.extend(pks(&outcome));
        mark = outcome.mark;
    }
    let final_tick = tick(&mut upstream, mark, limits, |_, _| {});
    recorded.extend(pks(&final_tick));
    let unique: BTreeSet<&String> = recorded.iter().collect();
    assert_eq!(unique.len(), recorded.len(), "no event recorded twice");
    for (pk, _) in &upstream.events {
        assert!(unique.contains(pk), "{pk} still in Authentik but never recorded");
    }
    assert!(recorded.len() > 500, "{}", recorded.len());
}

#[test]
fn the_mark_round_trips_through_its_cursor_text() {
    let mark = HighWaterMark {
        created: crate::authentik::Created::parse("2026-03-14T09:26:53.123456Z").unwrap(),
        pks: BTreeSet::from(["b".to_owned(), "a".to_owned()]),
    };
    let text = mark.to_cursor();
    assert_eq!(text, r#"{"created":"2026-03-14T09:26:53.123456Z","pks":["a","b"]}"#);
    assert_eq!(HighWaterMark::from_cursor(&text).unwrap(), mark);
    for bad in [
        "",
        "2026-03-14T09:26:53Z",
        r#"{"pks":[]}"#,
        r#"{"created":"x","pks":[]}"#,
        r#"{"created":"2026-03-14T09:26:53Z"}"#,
        r#"{"created":"2026-03-14T09:26:53Z","pks":[1]}"#,
    ] {
        assert!(HighWaterMark::from_cursor(bad).is_err(), "{bad}");
    }
}

#[test]
fn requests_ask_for_newest_first_and_limits_are_at_least_one() {
    let walk = PageWalk::new(
        None,
        WalkLimits {
            max_pages: 0,
            page_size: 0,
        },
    );
    let request = walk.next_request().unwrap();
    assert_eq!(request.query(), "ordering=-created&page=1&page_size=1");
    assert_eq!(
        WalkLimits::default(),
        WalkLimits {
            max_pages: 10,
            page_size: 100
        }
    );
}
