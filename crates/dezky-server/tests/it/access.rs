//! Token scopes: what operator, tenant and ingest tokens may and may not do.

use crate::support::app::{TestApp, error_code, spawn};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn publish(app: &TestApp, tenant: &str, external_id: &str) {
    let token = app.ingest_token("portal").await;
    let body =
        json!({ "events": [{ "externalId": external_id, "action": "portal.page_viewed", "tenantSlug": tenant }] });
    let (status, _) = app.post("/api/v1/ingest/events", &token, &body).await;
    assert_eq!(status, StatusCode::OK);
}

async fn missing_or_unknown_credentials_are_401(db: TestDatabase) {
    let app = spawn(db).await;
    let response = app.http.get(app.url("/api/v1/audit")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_code(&response.json().await.unwrap()), "unauthorized");
    let unknown = format!("dzk_{}", "0".repeat(64));
    for token in [unknown.as_str(), "garbage", "dzk_short"] {
        let (status, body) = app.get("/api/v1/audit", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        assert_eq!(error_code(&body), "unauthorized");
    }
    let basic = app
        .http
        .get(app.url("/api/v1/audit"))
        .basic_auth("a", Some("b"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
}

async fn tenant_tokens_see_only_their_tenant(db: TestDatabase) {
    let app = spawn(db).await;
    publish(&app, "acme", "a-1").await;
    publish(&app, "globex", "g-1").await;
    let acme = app.tenant_token("acme").await;

    let (status, body) = app.get("/api/v1/tenants/acme/audit?source=portal", &acme).await;
    assert_eq!(status, StatusCode::OK);
    let events = body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["tenantSlug"], "acme");

    for path in [
        "/api/v1/audit",
        "/api/v1/audit/0",
        "/api/v1/audit/export?format=csv",
        "/api/v1/tenants/globex/audit",
        "/api/v1/tenants/globex/audit/export?format=jsonl",
        "/api/v1/tenants/acme/audit?tenantSlug=globex",
        "/api/v1/tenants/acme/audit/export?tenantSlug=globex",
        "/api/v1/tokens",
    ] {
        let (status, body) = app.get(path, &acme).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(error_code(&body), "forbidden", "{path}");
    }
    // Free text cannot reach across tenants either: the tenant restriction is always applied.
    let (_, body) = app.get("/api/v1/tenants/acme/audit?q=globex", &acme).await;
    assert_eq!(body["events"].as_array().unwrap().len(), 0);

    let export = app
        .http
        .get(app.url("/api/v1/tenants/acme/audit/export?format=jsonl&source=portal"))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let text = export.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].contains("\"tenantSlug\":\"acme\""));
}

async fn ingest_tokens_only_publish(db: TestDatabase) {
    let app = spawn(db).await;
    let ingest = app.ingest_token("portal").await;
    for path in ["/api/v1/audit", "/api/v1/tenants/acme/audit", "/api/v1/tokens"] {
        let (status, _) = app.get(path, &ingest).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let body = json!({ "events": [{ "externalId": "x", "action": "portal.opened" }] });
    let (status, body) = app.post("/api/v1/ingest/events", &app.operator_token, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "operators do not publish as a source");
    assert_eq!(error_code(&body), "forbidden");
}

async fn operators_manage_tokens_and_every_change_is_audited(db: TestDatabase) {
    let app = spawn(db).await;
    let before = app.event_count().await;
    let (status, created) = app
        .post(
            "/api/v1/tokens",
            &app.operator_token,
            &json!({ "scope": "tenant", "tenantSlug": "acme", "name": "acme reader" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["scope"], "tenant");
    assert_eq!(created["tenantSlug"], "acme");

    let (status, _) = app.get("/api/v1/tenants/acme/audit", &secret).await;
    assert_eq!(status, StatusCode::OK);

    let (_, listed) = app.get("/api/v1/tokens", &app.operator_token).await;
    let listed = listed["tokens"].as_array().unwrap();
    assert!(
        listed.iter().all(|token| token.get("token").is_none()),
        "secrets are never listed"
    );
    assert!(listed.iter().any(|token| token["id"] == id.as_str()));

    let revoked = app
        .http
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    let (status, _) = app.get("/api/v1/tenants/acme/audit", &secret).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a revoked token stops working at once"
    );
    let again = app
        .http
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&app.operator_token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);

    assert_eq!(app.event_count().await, before + 2);
    let (_, page) = app.get("/api/v1/audit?action=api_token.", &app.operator_token).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events[0]["action"], "api_token.revoked");
    assert_eq!(events[1]["action"], "api_token.created");
    assert_eq!(events[1]["resourceId"], id.as_str());
    assert_eq!(events[1]["actorType"], "service");
    assert_eq!(events[1]["actorIp"], "127.0.0.1");
    assert_eq!(events[1]["tenantSlug"], "acme");

    for bad in [
        json!({ "scope": "root" }),
        json!({ "scope": "tenant" }),
        json!({ "scope": "tenant", "tenantSlug": "Not A Slug" }),
        json!({ "scope": "ingest", "source": "stalwart" }),
        json!({ "scope": "operator", "extra": 1 }),
        json!({ "scope": "operator", "name": "" }),
    ] {
        let (status, body) = app.post("/api/v1/tokens", &app.operator_token, &bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        error_code(&body);
    }
    assert_eq!(app.event_count().await, before + 2, "rejected requests write nothing");
}

on_both_backends!(
    missing_or_unknown_credentials_are_401,
    tenant_tokens_see_only_their_tenant,
    ingest_tokens_only_publish,
    operators_manage_tokens_and_every_change_is_audited,
);
