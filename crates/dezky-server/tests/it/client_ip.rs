//! The client address recorded in audit events: the peer, unless a trusted proxy forwarded it.

use crate::support::app::{spawn, spawn_with};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn recorded_ip(app: &crate::support::app::TestApp, forwarded_for: &str) -> String {
    let response = app
        .http
        .post(app.url("/api/v1/tokens"))
        .bearer_auth(&app.operator_token)
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "scope": "operator" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let (_, page) = app
        .get("/api/v1/audit?action=api_token.created&limit=1", &app.operator_token)
        .await;
    page["events"][0]["actorIp"].as_str().unwrap().to_owned()
}

async fn forwarded_for_is_ignored_from_untrusted_peers(db: TestDatabase) {
    let app = spawn(db).await;
    assert_eq!(recorded_ip(&app, "203.0.113.50").await, "127.0.0.1");
}

async fn trusted_proxies_forward_the_client_and_spoofing_fails(db: TestDatabase) {
    let app = spawn_with(db, &[("DEZKY_TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    assert_eq!(recorded_ip(&app, "198.51.100.7").await, "198.51.100.7");
    // The client claimed 1.2.3.4; the proxy appended the address it really saw.
    assert_eq!(recorded_ip(&app, "1.2.3.4, 198.51.100.8").await, "198.51.100.8");
}

on_both_backends!(
    forwarded_for_is_ignored_from_untrusted_peers,
    trusted_proxies_forward_the_client_and_spoofing_fails
);
