//! The publisher API: validation of the whole batch, dedup, source and namespace rules.

use crate::support::app::{error_code, spawn, spawn_with};
use dezky_core::time::Timestamp;
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn batch(count: usize, prefix: &str) -> Value {
    let events: Vec<Value> = (0..count)
        .map(|index| json!({ "externalId": format!("{prefix}-{index}"), "action": "portal.invoice_paid", "tenantSlug": "acme" }))
        .collect();
    json!({ "events": events })
}

async fn a_batch_is_stored_and_redelivery_is_harmless(db: TestDatabase) {
    let app = spawn(db).await;
    let token = app.ingest_token("portal").await;
    let start = app.event_count().await;
    let full = json!({ "events": [{
        "externalId": "inv-1",
        "action": "portal.invoice_paid",
        "at": "2026-03-14T09:26:53.123456+01:00",
        "outcome": "failure",
        "actorType": "user",
        "actorId": "u-7",
        "actorEmail": "payer@acme.example",
        "actorIp": "2001:db8::7",
        "resourceType": "invoice",
        "resourceId": "inv-1",
        "resourceName": "Invoice 2026-001",
        "tenantSlug": "acme",
        "partnerSlug": "resell",
        "source": "portal",
        "metadata": { "amount": 1200, "currency": "EUR", "big": 18446744073709551615u64 }
    }, { "externalId": "inv-2", "action": "portal.invoice_paid" }] });
    let (status, body) = app.post("/api/v1/ingest/events", &token, &full).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({ "received": 2, "duplicates": 0, "firstSeq": start, "lastSeq": start + 1 })
    );

    let (_, event) = app.get(&format!("/api/v1/audit/{start}"), &app.operator_token).await;
    assert_eq!(event["at"], "2026-03-14T08:26:53.123Z");
    assert_eq!(event["source"], "portal");
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["actorType"], "user");
    assert_eq!(event["actorIp"], "2001:db8::7");
    assert_eq!(event["externalId"], "inv-1");
    assert_eq!(event["metadata"]["big"], json!(18446744073709551615u64));
    assert!(event["recordedAt"].as_str().unwrap() > "2026-11-01");
    assert_eq!(event["prevHash"].as_str().map(str::len), Some(64));
    assert_eq!(event["erased"], false);

    let (_, defaults) = app
        .get(&format!("/api/v1/audit/{}", start + 1), &app.operator_token)
        .await;
    assert_eq!(defaults["outcome"], "success");
    assert_eq!(defaults["actorType"], "service");
    // `at` defaults to the moment the request arrived; `recordedAt` is taken later, by the sequencer.
    let received = Timestamp::parse_rfc3339(defaults["at"].as_str().unwrap()).unwrap();
    let recorded = Timestamp::parse_rfc3339(defaults["recordedAt"].as_str().unwrap()).unwrap();
    assert!(received <= recorded, "at defaults to the time of receipt: {defaults}");
    assert!(
        received.saturating_add_millis(5_000) >= recorded,
        "at defaults to the time of receipt: {defaults}"
    );

    let (status, body) = app.post("/api/v1/ingest/events", &token, &full).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({ "received": 2, "duplicates": 2, "firstSeq": null, "lastSeq": null })
    );
    assert_eq!(app.event_count().await, start + 2, "duplicates burn no seq");

    let (_, metrics) = (
        StatusCode::OK,
        app.http
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    assert!(
        metrics.contains("dezky_audit_duplicates_skipped_total{source=\"portal\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("dezky_audit_events_appended_total{source=\"portal\"} 2"),
        "{metrics}"
    );
}

async fn one_invalid_event_rejects_the_whole_batch(db: TestDatabase) {
    let app = spawn(db).await;
    let token = app.ingest_token("portal").await;
    let start = app.event_count().await;
    let good = json!({ "externalId": "ok", "action": "portal.opened" });
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({ "action": "portal.opened" }),
            "events[1]: missing field `externalId`",
        ),
        (
            json!({ "externalId": "", "action": "portal.opened" }),
            "events[1].externalId",
        ),
        (json!({ "externalId": "x", "action": "portal" }), "events[1].action"),
        (
            json!({ "externalId": "x", "action": "tenant.created" }),
            "events[1].action: 'tenant.created' must start with 'portal.'",
        ),
        (
            json!({ "externalId": "x", "action": "stalwart.auth_failed" }),
            "events[1].action",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "source": "platform" }),
            "events[1].source",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "at": "yesterday" }),
            "events[1].at",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "at": "2999-01-01T00:00:00Z" }),
            "events[1].at",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "outcome": "ok" }),
            "events[1].outcome",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "actorType": "robot" }),
            "events[1].actorType",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "actorIp": "localhost" }),
            "events[1].actorIp",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "tenantSlug": "ACME" }),
            "events[1].tenantSlug",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "resourceName": "x".repeat(300) }),
            "events[1].resourceName",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "metadata": [1, 2] }),
            "events[1]: invalid type",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "metadata": { "blob": "x".repeat(40_000) } }),
            "events[1].metadata",
        ),
        (
            json!({ "externalId": "x", "action": "portal.opened", "tenant": "acme" }),
            "events[1]: unknown field `tenant`",
        ),
        (json!("not an object"), "events[1]: invalid type"),
    ];
    for (bad, expected) in cases {
        let body = json!({ "events": [good, bad] });
        let (status, response) = app.post("/api/v1/ingest/events", &token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(error_code(&response), "invalid_event");
        let message = response["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(expected), "expected {expected:?}, got {message:?}");
    }
    let (status, response) = app.post("/api/v1/ingest/events", &token, &batch(1_001, "big")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(response["error"]["message"].as_str().unwrap().contains("at most 1000"));
    let (status, _) = app
        .post(
            "/api/v1/ingest/events",
            &token,
            &json!({ "events": [good], "extra": true }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.event_count().await,
        start,
        "nothing from a rejected batch is stored"
    );

    let (status, body) = app.post("/api/v1/ingest/events", &token, &batch(1_000, "max")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["received"], 1_000);
}

async fn malformed_and_oversize_bodies_are_json_errors(db: TestDatabase) {
    let app = spawn_with(db, &[("DEZKY_MAX_BODY_BYTES", "2048")]).await;
    let token = app.ingest_token("portal").await;
    let start = app.event_count().await;
    let send = |body: String, content_type: &'static str| {
        app.http
            .post(app.url("/api/v1/ingest/events"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        (
            send("{\"events\": [".into(), "application/json").await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            send("{}".into(), "text/plain").await.unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            send(batch(100, "big").to_string(), "application/json").await.unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (response, status, code) in cases {
        assert_eq!(response.status(), status);
        assert_eq!(error_code(&response.json().await.unwrap()), code);
    }
    assert_eq!(app.event_count().await, start);
}

on_both_backends!(
    a_batch_is_stored_and_redelivery_is_harmless,
    one_invalid_event_rejects_the_whole_batch,
    malformed_and_oversize_bodies_are_json_errors,
);
