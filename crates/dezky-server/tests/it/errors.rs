//! The HTTP surface around the API: health, metrics, OpenAPI, JSON 404/405.

use crate::support::app::{error_code, spawn};
use dezky_testkit::{TestBackend, TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::Value;

async fn health_metrics_and_openapi_are_served(db: TestDatabase) {
    let backend = db.backend;
    let app = spawn(db).await;
    let health: Value = app
        .http
        .get(app.url("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["service"], "dezky");
    let ready = app.http.get(app.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(text.contains("# TYPE dezky_http_requests_total counter"));
    assert!(text.contains("dezky_http_requests_total{status=\"200\"}"));
    // SQLite's index file lags behind the appends; PostgreSQL indexes inside them.
    let lag = text
        .lines()
        .find_map(|line| line.strip_prefix("dezky_text_index_lag_events "));
    match backend {
        TestBackend::Sqlite => {
            assert!(text.contains("# TYPE dezky_text_index_lag_events gauge\n"));
            assert!(lag.is_some_and(|value| value.parse::<u64>().is_ok()), "{text}");
        }
        TestBackend::Postgres => assert_eq!(lag, None),
    }
    let document: Value = app
        .http
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/audit",
        "/api/v1/audit/export",
        "/api/v1/ingest/events",
        "/api/v1/tokens",
        "/api/v1/tenants/{slug}/audit",
    ] {
        assert!(document["paths"].get(path).is_some(), "{path} missing from OpenAPI");
    }
}

async fn unknown_routes_and_methods_are_json_errors(db: TestDatabase) {
    let app = spawn(db).await;
    let response = app.http.get(app.url("/api/v1/nothing-here")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(&response.json().await.unwrap()), "not_found");
    let response = app
        .http
        .put(app.url("/api/v1/audit"))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(error_code(&response.json().await.unwrap()), "method_not_allowed");
}

on_both_backends!(
    health_metrics_and_openapi_are_served,
    unknown_routes_and_methods_are_json_errors
);
