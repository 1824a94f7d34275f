//! Querying over HTTP: filters, validation, single events and pagination under load.

use crate::support::app::{TestApp, error_code, spawn};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

async fn publish(app: &TestApp, token: &str, events: Vec<Value>) {
    let (status, body) = app
        .post("/api/v1/ingest/events", token, &json!({ "events": events }))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

fn seqs(body: &Value) -> Vec<u64> {
    body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["seq"].as_u64().unwrap())
        .collect()
}

async fn filters_work_over_http(db: TestDatabase) {
    let app = spawn(db).await;
    let token = app.ingest_token("portal").await;
    let base = app.event_count().await;
    publish(&app, &token, vec![
        json!({ "externalId": "1", "action": "portal.login", "tenantSlug": "acme", "actorEmail": "Ann@Acme.example", "at": "2026-01-01T10:00:00Z" }),
        json!({ "externalId": "2", "action": "portal.logout", "tenantSlug": "acme", "partnerSlug": "resell", "outcome": "denied", "at": "2026-01-02T10:00:00Z" }),
        json!({ "externalId": "3", "action": "portal.login", "tenantSlug": "globex", "resourceName": "Globex Portal", "at": "2026-01-03T10:00:00Z" }),
    ]).await;
    let operator = &app.operator_token;
    let cases: Vec<(&str, Vec<u64>)> = vec![
        ("action=portal.login", vec![base + 2, base]),
        ("action=portal.", vec![base + 2, base + 1, base]),
        ("action=portal.log*", vec![base + 2, base + 1, base]),
        ("tenantSlug=acme", vec![base + 1, base]),
        ("partnerSlug=resell", vec![base + 1]),
        ("actorEmail=ann%40acme.example", vec![base]),
        ("outcome=denied", vec![base + 1]),
        ("", vec![base + 2, base + 1, base]),
        ("q=globex%20por", vec![base + 2]),
        ("since=2026-01-02T00:00:00Z&until=2026-01-03T00:00:00Z", vec![base + 1]),
        ("limit=1", vec![base + 2]),
        ("tenantSlug=&q=", vec![base + 2, base + 1, base]),
    ];
    for (query, expected) in cases {
        let (status, body) = app.get(&format!("/api/v1/audit?source=portal&{query}"), operator).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(seqs(&body), expected, "{query}");
    }
    let (_, first) = app.get("/api/v1/audit?source=portal&limit=2", operator).await;
    assert_eq!(first["nextCursor"], json!((base + 1).to_string()));
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = app
        .get(
            &format!("/api/v1/audit?source=portal&limit=2&before={cursor}"),
            operator,
        )
        .await;
    assert_eq!(seqs(&second), vec![base]);
    assert_eq!(second["nextCursor"], Value::Null);
}

async fn bad_query_values_are_400_naming_the_parameter(db: TestDatabase) {
    let app = spawn(db).await;
    let cases = [
        ("limit=501", "limit"),
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("before=xyz", "before"),
        ("action=Tenant", "action"),
        ("tenantSlug=No_Slug", "tenantSlug"),
        ("outcome=maybe", "outcome"),
        ("q=ab", "q"),
        ("tenant=acme", "tenant"),
        ("format=csv", "format"),
    ];
    for (query, parameter) in cases {
        let (status, body) = app.get(&format!("/api/v1/audit?{query}"), &app.operator_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(error_code(&body), "invalid_query", "{query}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(parameter), "{query}: {message}");
    }
    let (status, body) = app.get("/api/v1/audit/export?format=xml", &app.operator_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_query");
    let (status, body) = app.get("/api/v1/audit/export?limit=5", &app.operator_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_query");
}

async fn single_events_by_seq(db: TestDatabase) {
    let app = spawn(db).await;
    let (status, body) = app.get("/api/v1/audit/0", &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "the operator token's creation is event 0");
    assert_eq!(body["action"], "api_token.created");
    for key in dezky_core::csv::HEADER {
        assert!(body.get(key).is_some(), "missing {key}");
    }
    let (status, body) = app.get("/api/v1/audit/999999", &app.operator_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&body), "not_found");
    let (status, body) = app.get("/api/v1/audit/abc", &app.operator_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_path");
    let (status, _) = app.get("/api/v1/tenants/Not_A_Slug/audit", &app.operator_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn pagination_never_skips_or_repeats_while_events_arrive(db: TestDatabase) {
    let app = spawn(db).await;
    let token = app.ingest_token("portal").await;
    let initial: Vec<Value> = (0..300)
        .map(|i| json!({ "externalId": format!("i-{i}"), "action": "portal.seen" }))
        .collect();
    publish(&app, &token, initial).await;
    let writer = {
        let http = app.http.clone();
        let url = app.url("/api/v1/ingest/events");
        let token = token.clone();
        tokio::spawn(async move {
            for round in 0..30 {
                let events: Vec<Value> = (0..10)
                    .map(|i| json!({ "externalId": format!("w-{round}-{i}"), "action": "portal.seen" }))
                    .collect();
                let response = http
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({ "events": events }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        })
    };
    let (_, first) = app
        .get("/api/v1/audit?source=portal&limit=7", &app.operator_token)
        .await;
    let newest_at_start = seqs(&first)[0];
    let mut seen: Vec<u64> = seqs(&first);
    let mut cursor = first["nextCursor"].as_str().map(str::to_owned);
    while let Some(before) = cursor {
        let (status, page) = app
            .get(
                &format!("/api/v1/audit?source=portal&limit=7&before={before}"),
                &app.operator_token,
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        seen.extend(seqs(&page));
        cursor = page["nextCursor"].as_str().map(str::to_owned);
    }
    writer.await.unwrap();
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no event repeated");
    assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "strictly newest first");
    assert_eq!(
        seen.len() as u64,
        newest_at_start - seen.last().unwrap() + 1,
        "no event skipped"
    );
    assert!(seen.len() >= 300);
}

on_both_backends!(
    filters_work_over_http,
    bad_query_values_are_400_naming_the_parameter,
    single_events_by_seq,
    pagination_never_skips_or_repeats_while_events_arrive,
);
