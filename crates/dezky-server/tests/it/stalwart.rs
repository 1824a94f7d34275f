//! The Stalwart webhook: signature over the raw body, all-or-nothing batches, replay-safe dedup.

use crate::support::app::{TestApp, error_code, spawn_with};
use base64::Engine;
use dezky_testkit::{TestDatabase, on_both_backends};
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;

type Headers = Vec<(&'static str, String)>;

const SECRET: &str = "stalwart-signature-key";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn post_raw(app: &TestApp, body: &[u8], headers: &[(&str, String)]) -> (StatusCode, Value) {
    let mut request = app
        .http
        .post(app.url("/ingest/stalwart/webhook"))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_signed(app: &TestApp, body: &[u8]) -> (StatusCode, Value) {
    post_raw(app, body, &[("X-Signature", sign(body))]).await
}

fn batch(id_suffix: &str) -> Vec<u8> {
    json!({ "events": [
        { "id": format!("1741944413-{id_suffix}"), "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed",
          "data": { "listenerId": "imap", "remoteIp": "198.51.100.9", "accountName": "ceo@acme.example",
                    "spanId": 18446744073709551000u64 } },
        { "id": format!("1741944414-{id_suffix}"), "createdAt": "2026-03-14T09:26:54Z", "type": "delivery.delivered",
          "data": { "queueId": 9007199254740993u64, "to": ["b@acme.example"], "elapsed": 120 } },
    ]})
    .to_string()
    .into_bytes()
}

async fn signed_batches_are_recorded_once_even_when_resent(db: TestDatabase) {
    let app = spawn_with(db, &[("STALWART_WEBHOOK_SECRET", SECRET)]).await;
    let start = app.event_count().await;
    let (status, body) = post_signed(&app, &batch("a")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "received": 2, "duplicates": 0, "filtered": 0 }));
    assert_eq!(app.event_count().await, start + 2);

    let (_, event) = app.get(&format!("/api/v1/audit/{start}"), &app.operator_token).await;
    assert_eq!(event["action"], "stalwart.auth_failed");
    assert_eq!(event["outcome"], "failure");
    assert_eq!(event["actorEmail"], "ceo@acme.example");
    assert_eq!(event["actorIp"], "198.51.100.9");
    assert_eq!(event["source"], "stalwart");
    assert_eq!(event["metadata"]["data"]["spanId"], json!(18446744073709551000u64));
    let (_, delivered) = app
        .get(&format!("/api/v1/audit/{}", start + 1), &app.operator_token)
        .await;
    assert_eq!(delivered["action"], "stalwart.mail_delivered");
    assert_eq!(delivered["resourceId"], "9007199254740993");

    // Stalwart re-sends after a non-2xx, and v0.16 gives a retried event a new id.
    for resend in [batch("a"), batch("retried")] {
        let (status, body) = post_signed(&app, &resend).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, json!({ "received": 2, "duplicates": 2, "filtered": 0 }));
    }
    assert_eq!(app.event_count().await, start + 2);

    let (status, report) = app.get("/api/v1/ingest/status", &app.operator_token).await;
    assert_eq!(status, StatusCode::OK);
    let stalwart = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|source| source["name"] == "stalwart")
        .unwrap();
    assert_eq!(stalwart["configured"], true);
    assert_eq!(stalwart["eventsIngested"], 2);
    assert_eq!(stalwart["duplicatesSkipped"], 4);
    assert!(stalwart["lastSuccessAt"].is_string());
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("dezky_ingest_events_total{source=\"stalwart\"} 2\n"),
        "{metrics}"
    );
}

async fn unsigned_or_badly_signed_bodies_are_refused_and_nothing_is_written(db: TestDatabase) {
    let app = spawn_with(db, &[("STALWART_WEBHOOK_SECRET", SECRET)]).await;
    let start = app.event_count().await;
    let body = batch("a");
    let hex_signature = {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&body);
        hex::encode(mac.finalize().into_bytes())
    };
    let mut tampered = body.clone();
    tampered[20] ^= 1;
    let cases: Vec<(&str, Vec<u8>, Headers)> = vec![
        ("no signature", body.clone(), vec![]),
        ("hex signature", body.clone(), vec![("X-Signature", hex_signature)]),
        (
            "signature of another body",
            tampered,
            vec![("X-Signature", sign(&body))],
        ),
        ("garbage", body.clone(), vec![("X-Signature", "not base64!".into())]),
    ];
    for (label, payload, headers) in cases {
        let (status, response) = post_raw(&app, &payload, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{label}: {response}");
        assert_eq!(error_code(&response), "bad_signature", "{label}");
    }
    // Header names arrive in any case.
    let (status, _) = post_raw(&app, &body, &[("x-SIGNATURE", sign(&body))]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.event_count().await, start + 2);
    let (_, report) = app.get("/api/v1/ingest/status", &app.operator_token).await;
    let stalwart = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|source| source["name"] == "stalwart")
        .unwrap();
    assert_eq!(stalwart["rejected"], 4);
}

async fn malformed_and_oversized_bodies_get_clear_errors(db: TestDatabase) {
    let app = spawn_with(
        db,
        &[
            ("STALWART_WEBHOOK_SECRET", SECRET),
            ("STALWART_WEBHOOK_MAX_BYTES", "2000"),
        ],
    )
    .await;
    let start = app.event_count().await;
    let (status, body) = post_signed(&app, b"{\"events\": [").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "malformed_json");
    let half_bad = json!({ "events": [
        { "createdAt": "2026-03-14T09:26:53Z", "type": "auth.success", "data": {} },
        { "createdAt": "not a time", "type": "auth.failed", "data": {} },
    ]})
    .to_string();
    let (status, body) = post_signed(&app, half_bad.as_bytes()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&body), "invalid_event");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("events[1].createdAt"),
        "{body}"
    );
    let huge = json!({ "events": [{ "createdAt": "2026-03-14T09:26:53Z", "type": "x", "data": { "pad": "p".repeat(3000) } }] })
        .to_string();
    let (status, body) = post_signed(&app, huge.as_bytes()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_code(&body), "payload_too_large");
    assert_eq!(app.event_count().await, start, "nothing from a refused body is written");
}

async fn the_webhook_refuses_everything_until_it_is_configured(db: TestDatabase) {
    let app = spawn_with(db, &[]).await;
    let body = batch("a");
    let (status, response) = post_signed(&app, &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&response), "not_configured");
    drop(app);
}

async fn ingest_can_be_switched_off(db: TestDatabase) {
    let app = spawn_with(
        db,
        &[("STALWART_WEBHOOK_SECRET", SECRET), ("AUDIT_INGEST_ENABLED", "false")],
    )
    .await;
    let (status, response) = post_signed(&app, &batch("a")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(&response), "ingest_disabled");
    let (_, report) = app.get("/api/v1/ingest/status", &app.operator_token).await;
    assert_eq!(report["enabled"], false);
}

async fn an_optional_authorization_header_is_checked_too(db: TestDatabase) {
    let app = spawn_with(
        db,
        &[
            ("STALWART_WEBHOOK_SECRET", SECRET),
            ("STALWART_WEBHOOK_AUTHORIZATION", "Bearer hook-token"),
        ],
    )
    .await;
    let body = batch("a");
    let (status, _) = post_signed(&app, &body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post_raw(
        &app,
        &body,
        &[("X-Signature", sign(&body)), ("Authorization", "Bearer nope".into())],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = post_raw(
        &app,
        &body,
        &[
            ("X-Signature", sign(&body)),
            ("Authorization", "Bearer hook-token".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn mail_domains_name_the_tenant_and_its_partner(db: TestDatabase) {
    let app = spawn_with(db, &[("STALWART_WEBHOOK_SECRET", SECRET)]).await;
    let (status, partner) = app
        .post(
            "/api/v1/partners",
            &app.operator_token,
            &json!({ "slug": "resell", "name": "Resell" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    crate::tenants::create_tenant(
        &app,
        json!({ "slug": "acme", "name": "Acme", "domains": ["acme.example"], "partner": "resell" }),
    )
    .await;
    let start = app.event_count().await;
    let (status, _) = post_signed(&app, &batch("tenant")).await;
    assert_eq!(status, StatusCode::OK);
    for seq in [start, start + 1] {
        let (_, event) = app.get(&format!("/api/v1/audit/{seq}"), &app.operator_token).await;
        assert_eq!(event["tenantSlug"], "acme", "{event}");
        assert_eq!(event["partnerSlug"], "resell", "{event}");
    }
}

async fn filtered_types_are_counted_and_not_recorded(db: TestDatabase) {
    let app = spawn_with(
        db,
        &[
            ("STALWART_WEBHOOK_SECRET", SECRET),
            ("STALWART_EVENTS_ONLY", "auth.*,delivery.*"),
            ("STALWART_EVENTS_SKIP", "auth.success"),
        ],
    )
    .await;
    let start = app.event_count().await;
    let body = json!({ "events": [
        { "createdAt": "2026-03-14T09:26:53Z", "type": "auth.success", "data": { "accountName": "a@acme.example", "spanId": 1 } },
        { "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed", "data": { "accountName": "a@acme.example", "spanId": 2 } },
        { "createdAt": "2026-03-14T09:26:53Z", "type": "spam.classify", "data": { "spanId": 3 } },
        { "createdAt": "2026-03-14T09:26:53Z", "type": "delivery.delivered", "data": { "queueId": 4, "spanId": 4 } },
    ]})
    .to_string()
    .into_bytes();
    let (status, answer) = post_signed(&app, &body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer, json!({ "received": 4, "duplicates": 0, "filtered": 2 }));
    assert_eq!(app.event_count().await, start + 2);
    let (_, first) = app.get(&format!("/api/v1/audit/{start}"), &app.operator_token).await;
    assert_eq!(first["action"], "stalwart.auth_failed");
    let (_, second) = app
        .get(&format!("/api/v1/audit/{}", start + 1), &app.operator_token)
        .await;
    assert_eq!(second["action"], "stalwart.mail_delivered");

    let (_, report) = app.get("/api/v1/ingest/status", &app.operator_token).await;
    let stalwart = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|source| source["name"] == "stalwart")
        .unwrap()
        .clone();
    assert_eq!(stalwart["filtered"], 2);
    assert_eq!(stalwart["eventsIngested"], 2);
    let metrics = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("dezky_ingest_filtered_total{source=\"stalwart\"} 2\n"),
        "{metrics}"
    );
}

on_both_backends!(
    filtered_types_are_counted_and_not_recorded,
    signed_batches_are_recorded_once_even_when_resent,
    unsigned_or_badly_signed_bodies_are_refused_and_nothing_is_written,
    malformed_and_oversized_bodies_get_clear_errors,
    the_webhook_refuses_everything_until_it_is_configured,
    ingest_can_be_switched_off,
    an_optional_authorization_header_is_checked_too,
    mail_domains_name_the_tenant_and_its_partner
);
