use crate::{event, open};
use dezky_core::query::{QueryPurpose, RawAuditQuery};
use dezky_core::{AuditQuery, Cursor, Limit, NewAuditEvent, Outcome, Slug, Source, Timestamp};
use dezky_store::Store;
use dezky_testkit::{TestDatabase, on_both_backends};
use std::sync::Arc;

/// Six events with distinct field values, seq 0..=5, `at` = seq * 1000.
async fn seeded(db: &TestDatabase) -> Arc<dyn Store> {
    let store = open(db).await;
    let mut events: Vec<NewAuditEvent> = vec![];
    let specs = [
        (
            "tenant.created",
            Some("acme"),
            None,
            "alice@acme.example",
            Outcome::Success,
            "platform",
            "Acme GmbH",
        ),
        (
            "tenant.suspended",
            Some("acme"),
            Some("resell"),
            "Bob@Ops.example",
            Outcome::Success,
            "platform",
            "Acme GmbH",
        ),
        (
            "authentik.login_failed",
            Some("globex"),
            None,
            "carol@globex.example",
            Outcome::Failure,
            "authentik",
            "login",
        ),
        (
            "tenant_note.created",
            Some("globex"),
            Some("resell"),
            "dave@globex.example",
            Outcome::Denied,
            "platform",
            "Note 50%_off",
        ),
        (
            "flag.killed",
            None,
            None,
            "bob@ops.example",
            Outcome::Success,
            "platform",
            "oci_versioning",
        ),
        (
            "stalwart.auth_failed",
            Some("acme"),
            None,
            "eve@acme.example",
            Outcome::Failure,
            "stalwart",
            "mailbox",
        ),
    ];
    for (index, (action, tenant, partner, email, outcome, source, name)) in specs.into_iter().enumerate() {
        let mut new = event(action, index as i64 * 1000);
        new.tenant_slug = tenant.map(|slug| Slug::parse(slug).unwrap());
        new.partner_slug = partner.map(|slug| Slug::parse(slug).unwrap());
        new.actor_email = Some(email.to_owned());
        new.outcome = outcome;
        new.source = Source::parse(source).unwrap();
        new.resource_name = Some(name.to_owned());
        events.push(new);
    }
    store
        .append_events(events, Timestamp::from_millis(10_000))
        .await
        .unwrap();
    store
}

async fn seqs(store: &Arc<dyn Store>, raw: RawAuditQuery) -> Vec<u64> {
    let query = AuditQuery::parse(&raw, QueryPurpose::Page).unwrap();
    store
        .query_events(&query)
        .await
        .unwrap()
        .events
        .iter()
        .map(|event| event.seq)
        .collect()
}

fn raw() -> RawAuditQuery {
    RawAuditQuery::default()
}

async fn every_filter_selects_exactly_its_events(db: TestDatabase) {
    let store = seeded(&db).await;
    let s = |value: &str| Some(value.to_owned());
    assert_eq!(seqs(&store, raw()).await, vec![5, 4, 3, 2, 1, 0]);
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                action: s("tenant.created"),
                ..raw()
            }
        )
        .await,
        vec![0]
    );
    // `tenant.` must not match `tenant_note.created`; `tenant*` must.
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                action: s("tenant."),
                ..raw()
            }
        )
        .await,
        vec![1, 0]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                action: s("tenant.*"),
                ..raw()
            }
        )
        .await,
        vec![1, 0]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                action: s("tenant*"),
                ..raw()
            }
        )
        .await,
        vec![3, 1, 0]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                tenant_slug: s("acme"),
                ..raw()
            }
        )
        .await,
        vec![5, 1, 0]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                partner_slug: s("resell"),
                ..raw()
            }
        )
        .await,
        vec![3, 1]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                actor_email: s("BOB@ops.example"),
                ..raw()
            }
        )
        .await,
        vec![4, 1]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                outcome: s("failure"),
                ..raw()
            }
        )
        .await,
        vec![5, 2]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                outcome: s("denied"),
                ..raw()
            }
        )
        .await,
        vec![3]
    );
    assert_eq!(
        seqs(
            &store,
            RawAuditQuery {
                source: s("authentik"),
                ..raw()
            }
        )
        .await,
        vec![2]
    );
    let window = RawAuditQuery {
        since: s("1970-01-01T00:00:01Z"),
        until: s("1970-01-01T00:00:03Z"),
        ..raw()
    };
    assert_eq!(
        seqs(&store, window).await,
        vec![2, 1],
        "since inclusive, until exclusive"
    );
    let combined = RawAuditQuery {
        tenant_slug: s("acme"),
        action: s("tenant."),
        outcome: s("success"),
        ..raw()
    };
    assert_eq!(seqs(&store, combined).await, vec![1, 0]);
}

async fn free_text_matches_substrings_case_insensitively(db: TestDatabase) {
    let store = seeded(&db).await;
    let q = |text: &str| RawAuditQuery {
        q: Some(text.to_owned()),
        ..raw()
    };
    assert_eq!(
        seqs(&store, q("acme")).await,
        vec![5, 1, 0],
        "tenant slug, email, resource name"
    );
    assert_eq!(seqs(&store, q("ACME GMBH")).await, vec![1, 0]);
    assert_eq!(seqs(&store, q("login_fail")).await, vec![2], "part of an action");
    assert_eq!(seqs(&store, q("ops.example")).await, vec![4, 1], "part of an e-mail");
    assert_eq!(seqs(&store, q("50%_")).await, vec![3], "wildcards match literally");
    assert_eq!(seqs(&store, q("%_%")).await, Vec::<u64>::new());
    assert_eq!(seqs(&store, q("\"quoted\"")).await, Vec::<u64>::new());
    assert_eq!(seqs(&store, q("nothing-like-this")).await, Vec::<u64>::new());
    let with_tenant = RawAuditQuery {
        tenant_slug: Some("globex".into()),
        ..q("example")
    };
    assert_eq!(seqs(&store, with_tenant).await, vec![3, 2]);
}

/// Each searched field alone finds its event (PostgreSQL searches the action and the tenant
/// through their distinct values, the rest through the trigram index), also as the values of
/// later appends, and a text with a line break matches across neighbouring fields as before.
async fn free_text_finds_each_field_on_its_own(db: TestDatabase) {
    let store = open(&db).await;
    let mut by_action = event("ocis.file_renamed", 0);
    by_action.resource_name = Some("report.odt".into());
    let mut by_tenant = event("tenant.created", 1_000);
    by_tenant.tenant_slug = Some(Slug::parse("zeta-corp").unwrap());
    let mut by_email = event("tenant.created", 2_000);
    by_email.actor_email = Some("Quinn@Mail.example".into());
    let mut by_name = event("tenant.created", 3_000);
    by_name.resource_name = Some("Quarterly Umsatz".into());
    for new in [by_action, by_tenant, by_email, by_name] {
        store
            .append_events(vec![new], Timestamp::from_millis(10_000))
            .await
            .unwrap();
    }
    let q = |text: &str| RawAuditQuery {
        q: Some(text.to_owned()),
        ..raw()
    };
    assert_eq!(seqs(&store, q("FILE_REN")).await, vec![0], "action");
    assert_eq!(seqs(&store, q("eta-co")).await, vec![1], "tenant");
    assert_eq!(seqs(&store, q("quinn@mail")).await, vec![2], "e-mail");
    assert_eq!(seqs(&store, q("terly umS")).await, vec![3], "resource name");
    assert_eq!(
        seqs(&store, q("renamed\nreport")).await,
        vec![0],
        "across action and name"
    );
    assert_eq!(seqs(&store, q("created")).await, vec![3, 2, 1]);
    let within_tenant = RawAuditQuery {
        tenant_slug: Some("zeta-corp".into()),
        ..q("tenant.")
    };
    assert_eq!(seqs(&store, within_tenant).await, vec![1]);
}

async fn pages_follow_the_cursor_without_skips_or_repeats(db: TestDatabase) {
    let store = seeded(&db).await;
    let mut query = AuditQuery {
        limit: Limit::new(4).unwrap(),
        ..AuditQuery::default()
    };
    let first = store.query_events(&query).await.unwrap();
    assert_eq!(first.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 4, 3, 2]);
    assert!(first.has_more);
    // New events arriving between pages must not shift the next page.
    store
        .append_events(vec![event("late.arrival", 0)], Timestamp::from_millis(20_000))
        .await
        .unwrap();
    query.before = Some(Cursor(2));
    let second = store.query_events(&query).await.unwrap();
    assert_eq!(second.events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 0]);
    assert!(!second.has_more);
    query.limit = Limit::new(2).unwrap();
    query.before = Some(Cursor(2));
    assert!(
        !store.query_events(&query).await.unwrap().has_more,
        "exactly full last page"
    );
}

async fn events_round_trip_every_field(db: TestDatabase) {
    let store = open(&db).await;
    let mut new = event("tenant.created", 1_773_480_413_007);
    new.actor_id = Some("u-1".into());
    new.actor_email = Some("ä@example.com".into());
    new.actor_ip = Some("2001:db8::1".into());
    new.resource_type = Some("tenant".into());
    new.resource_id = Some("t-1".into());
    new.resource_name = Some("Ümlaut \"Co\", Ltd.\nline".into());
    new.tenant_slug = Some(Slug::parse("acme").unwrap());
    new.partner_slug = Some(Slug::parse("resell").unwrap());
    new.external_id = Some("ext-1".into());
    new.metadata
        .insert("big".into(), serde_json::json!(18_446_744_073_709_551_615u64));
    new.metadata
        .insert("nested".into(), serde_json::json!({"z": [1, "two", null], "a": true}));
    store
        .append_events(vec![new.clone()], Timestamp::from_millis(1_773_480_414_000))
        .await
        .unwrap();
    let stored = store.get_event(0).await.unwrap().unwrap();
    assert_eq!(stored.at, new.at);
    assert_eq!(stored.actor_id, new.actor_id);
    assert_eq!(stored.actor_email, new.actor_email);
    assert_eq!(stored.actor_ip, new.actor_ip);
    assert_eq!(stored.resource_type, new.resource_type);
    assert_eq!(stored.resource_id, new.resource_id);
    assert_eq!(stored.resource_name, new.resource_name);
    assert_eq!(stored.tenant_slug, new.tenant_slug);
    assert_eq!(stored.partner_slug, new.partner_slug);
    assert_eq!(stored.external_id, new.external_id);
    assert_eq!(stored.metadata, new.metadata);
    assert_eq!(
        stored.metadata["big"].as_u64(),
        Some(u64::MAX),
        "u64 survives without floats"
    );
}

/// Free text over more matches than a page, alone and with another filter: every page is
/// the next matches, newest first, with `has_more` exactly until the last one. A third of the
/// other events are decoys that hold every trigram of the text but not the text (SQLite's
/// index returns them as candidates): they must neither match nor shorten a page.
async fn free_text_pages_through_every_match(db: TestDatabase) {
    let store = open(&db).await;
    let events: Vec<NewAuditEvent> = (0..130)
        .map(|index| {
            let mut new = event("ocis.file_create", index);
            new.resource_name = Some(match index % 3 {
                0 => format!("Rechnung-{index}.pdf"),
                1 => "Rech-chnun-nung.txt".into(),
                _ => "notes.txt".into(),
            });
            new.tenant_slug = Some(Slug::parse(if index % 2 == 0 { "acme" } else { "globex" }).unwrap());
            new
        })
        .collect();
    store.append_events(events, Timestamp::from_millis(1)).await.unwrap();
    let pages = |tenant: Option<&str>, min_seq: Option<u64>| {
        let store = store.clone();
        let tenant = tenant.map(|slug| Slug::parse(slug).unwrap());
        async move {
            let mut query = AuditQuery {
                text: Some("rechnung".into()),
                tenant_slug: tenant,
                min_seq,
                limit: Limit::new(7).unwrap(),
                ..AuditQuery::default()
            };
            let mut seen = vec![];
            loop {
                let page = store.query_events(&query).await.unwrap();
                assert!(page.events.len() <= 7);
                seen.extend(page.events.iter().map(|event| event.seq));
                if !page.has_more {
                    break;
                }
                assert_eq!(page.events.len(), 7, "a page before the last is full");
                query.before = Some(Cursor(*seen.last().unwrap()));
            }
            seen
        }
    };
    let matching = |keep: &dyn Fn(u64) -> bool| {
        (0..130u64)
            .rev()
            .filter(|seq| seq % 3 == 0 && keep(*seq))
            .collect::<Vec<_>>()
    };
    assert_eq!(pages(None, None).await, matching(&|_| true));
    assert_eq!(pages(Some("acme"), None).await, matching(&|seq| seq % 2 == 0));
    assert_eq!(pages(None, Some(50)).await, matching(&|seq| seq >= 50));
}

on_both_backends!(
    every_filter_selects_exactly_its_events,
    free_text_pages_through_every_match,
    free_text_matches_substrings_case_insensitively,
    free_text_finds_each_field_on_its_own,
    pages_follow_the_cursor_without_skips_or_repeats,
    events_round_trip_every_field,
);
