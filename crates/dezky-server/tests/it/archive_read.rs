//! Reading across tiers: `includeArchived=true` on the event list and the exports, on both
//! databases, with a folder and with the real S3 server.

use crate::support::app::{TestApp, error_code, now};
use crate::support::cold::{Cold, batches, checkpoint, run, spawn_cold};
use dezky_chain::verify::{Verifier, push_stored_event};
use dezky_core::{Action, ActorType, AuditEvent, NewAuditEvent, Slug, Source};
use dezky_server::archive::run::Step;
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Events `first..end` (external ids `r-<i>`), tenant acme, one of 7 users each.
pub async fn append(app: &TestApp, first: u64, end: u64) {
    let events = (first..end)
        .map(|i| {
            let mut event = NewAuditEvent::new(
                now(),
                ActorType::User,
                Action::parse(if i % 2 == 0 {
                    "portal.signed_in"
                } else {
                    "portal.viewed"
                })
                .unwrap(),
                Source::parse("portal").unwrap(),
            );
            event.external_id = Some(format!("r-{i}"));
            event.actor_email = Some(format!("user{}@acme.example", i % 7));
            event.resource_name = Some(format!("page {i}"));
            event.tenant_slug = Some(Slug::parse("acme").unwrap());
            event
        })
        .collect();
    app.store.append_events(events, now()).await.unwrap();
}

pub async fn page(app: &TestApp, query: &str) -> Value {
    let (status, body) = app.get(&format!("/api/v1/audit?{query}"), &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// Every page of a query, following nextCursor: the events in order.
pub async fn all_pages(app: &TestApp, query: &str) -> Vec<Value> {
    let mut events = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let before = cursor.as_ref().map(|c| format!("&before={c}")).unwrap_or_default();
        let body = page(app, &format!("{query}{before}")).await;
        events.extend(body["events"].as_array().unwrap().iter().cloned());
        match body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return events,
        }
    }
}

pub fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|event| event["seq"].as_u64().unwrap()).collect()
}

pub async fn export(app: &TestApp, query: &str) -> String {
    let response = app
        .http
        .get(app.url(&format!("/api/v1/audit/export?{query}")))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    response.text().await.unwrap()
}

/// 350 archived events in four batches (the operator token's creation at seq 0, then events
/// 1..350, seq = i), four `audit.archived` events, 50 hot events (seq = i + 4): 404.
pub async fn two_tiers(db: TestDatabase, cold: &Cold) -> TestApp {
    let app = spawn_cold(db, cold, &[("AUDIT_ARCHIVE_BATCH_EVENTS", "100")]).await;
    append(&app, 1, 350).await;
    assert_eq!(checkpoint(&app).await, 350);
    assert_eq!(run(&app).await, json!({ "ok": true, "batches": 4, "events": 350 }));
    append(&app, 350, 400).await;
    assert_eq!(app.event_count().await, 404);
    app
}

async fn reads_span_both_tiers(db: TestDatabase, cold: Cold) {
    let app = two_tiers(db, &cold).await;
    // By default only the hot tier, and no flag.
    let hot = page(&app, "limit=500").await;
    assert_eq!(
        seqs(hot["events"].as_array().unwrap()),
        (350..404).rev().collect::<Vec<_>>()
    );
    assert!(
        hot["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("archived").is_none())
    );

    // Both tiers in one page, newest first, archived events flagged.
    let both = page(&app, "limit=500&includeArchived=true").await;
    let events = both["events"].as_array().unwrap();
    assert_eq!(seqs(events), (0..404).rev().collect::<Vec<_>>());
    assert_eq!(both["nextCursor"], Value::Null);
    for event in events {
        let archived = event["seq"].as_u64().unwrap() < 350;
        assert_eq!(event.get("archived") == Some(&Value::Bool(true)), archived, "{event}");
    }
    let archived_event: AuditEvent = serde_json::from_value(events[402].clone()).unwrap();
    assert_eq!(archived_event.resource_name.as_deref(), Some("page 1"));

    // Paged across the tier boundary and the batch boundaries: every seq once.
    let paged = all_pages(&app, "limit=120&includeArchived=true").await;
    assert_eq!(seqs(&paged), (0..404).rev().collect::<Vec<_>>());

    // Filters mean the same in both tiers.
    let filtered = all_pages(
        &app,
        "limit=7&includeArchived=true&actorEmail=USER3@acme.example&action=portal.viewed",
    )
    .await;
    let expected: Vec<u64> = (0..400).rev().filter(|i| i % 7 == 3 && i % 2 == 1).collect();
    // Seqs equal the i of `append` below 350; the hot events sit 4 seqs higher.
    let expected: Vec<u64> = expected.into_iter().map(|i| if i >= 350 { i + 4 } else { i }).collect();
    assert_eq!(seqs(&filtered), expected);
    let text = page(&app, "limit=500&includeArchived=true&q=page%2012").await;
    let mut found = seqs(text["events"].as_array().unwrap());
    found.sort();
    assert_eq!(found, vec![12, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129]);
    let before = page(&app, "limit=3&includeArchived=true&before=101").await;
    assert_eq!(seqs(before["events"].as_array().unwrap()), vec![100, 99, 98]);
    assert_eq!(before["nextCursor"], "98");

    // Exports span both tiers: JSONL, CSV, and the whole log oldest first, which verifies.
    let jsonl = export(&app, "format=jsonl&includeArchived=true").await;
    let lines: Vec<Value> = jsonl.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(seqs(&lines), (0..404).rev().collect::<Vec<_>>());
    assert_eq!(lines.iter().filter(|e| e["archived"] == true).count(), 350);
    let csv = export(&app, "format=csv&includeArchived=true&source=portal").await;
    let rows: Vec<&str> = csv.split("\r\n").filter(|row| !row.is_empty()).collect();
    assert!(rows[0].ends_with(",erased,archived"), "{}", rows[0]);
    assert_eq!(rows.len(), 1 + 399);
    assert!(
        rows[1].starts_with("403,") && rows[1].ends_with(",false"),
        "{}",
        rows[1]
    );
    assert!(
        rows[399].starts_with("1,") && rows[399].ends_with(",true"),
        "{}",
        rows[399]
    );
    let hot_csv = export(&app, "format=csv").await;
    assert!(hot_csv.starts_with("seq,") && hot_csv.split("\r\n").next().unwrap().ends_with(",erased"));
    assert_eq!(hot_csv.split("\r\n").filter(|row| !row.is_empty()).count(), 1 + 54);
    let ascending = export(&app, "format=jsonl&order=asc&includeArchived=true").await;
    let mut verifier = Verifier::new(vec![], None);
    for line in ascending.lines() {
        push_stored_event(&mut verifier, &serde_json::from_str(line).unwrap());
    }
    let report = verifier.finish();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.verified_events, 404);

    // A batch recorded but not yet deleted from hot storage is read once, from the archive.
    checkpoint(&app).await;
    let archiver = app.archiver.clone().unwrap();
    archiver.run_stopping_after(Some(Step::Record)).await.unwrap_err();
    assert_eq!(batches(&app).await.len(), 5);
    assert_eq!(app.store.oldest_hot_seq().await.unwrap(), Some(350));
    let both = all_pages(&app, "limit=500&includeArchived=true").await;
    let total = app.event_count().await;
    assert_eq!(seqs(&both), (0..total).rev().collect::<Vec<_>>());
    assert!(
        both.iter()
            .filter(|e| e["seq"].as_u64().unwrap() >= 350 && e["seq"].as_u64().unwrap() < 404)
            .all(|e| e["archived"] == true)
    );

    // Bad input and access.
    let (status, body) = app.get("/api/v1/audit?includeArchived=yes", &app.operator_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("includeArchived"),
        "{body}"
    );
    let tenant = app.tenant_token("acme").await;
    for path in [
        "/api/v1/tenants/acme/audit?includeArchived=true",
        "/api/v1/tenants/acme/audit/export?includeArchived=true",
    ] {
        let (status, body) = app.get(path, &tenant).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(error_code(&body), "forbidden");
    }
    let (status, _) = app
        .get("/api/v1/tenants/acme/audit?includeArchived=false", &tenant)
        .await;
    assert_eq!(status, StatusCode::OK);

    // A tampered data object is refused, not served.
    let first = &batches(&app).await[0];
    let key = first["dataKey"].as_str().unwrap();
    let mut data = cold.read(key).await.unwrap();
    let last = data.len() - 1;
    data[last] ^= 1;
    cold.write(key, data).await;
    let (status, body) = app
        .get("/api/v1/audit?includeArchived=true&limit=100", &app.operator_token)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the newest 100 events do not reach batch 0: {body}"
    );
    let (status, body) = app
        .get("/api/v1/audit?includeArchived=true&before=50", &app.operator_token)
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(error_code(&body), "archive_unreadable");
    assert!(body["error"]["message"].as_str().unwrap().contains(key), "{body}");
}

async fn reads_span_a_folder_archive_and_the_hot_tier(db: TestDatabase) {
    reads_span_both_tiers(db, Cold::folder()).await;
}

async fn reads_span_an_s3_archive_and_the_hot_tier(db: TestDatabase) {
    reads_span_both_tiers(db, Cold::bucket().await).await;
}

on_both_backends!(
    reads_span_a_folder_archive_and_the_hot_tier,
    reads_span_an_s3_archive_and_the_hot_tier,
);
