//! Tenants: lifecycle, PATCH with diffs, purge, bad input and the platform-domain guard rails,
//! each with the audit event it must (or must not) produce.

use crate::support::app::{TestApp, error_code, spawn, spawn_with};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub async fn send(app: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Events with this action (and outcome), newest first.
pub async fn events(app: &TestApp, action: &str, outcome: &str) -> Vec<Value> {
    let path = format!("/api/v1/audit?action={action}&outcome={outcome}");
    let (status, page) = app.get(&path, &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["events"].as_array().unwrap().clone()
}

pub async fn create_tenant(app: &TestApp, body: Value) -> Value {
    let (status, tenant) = app.post("/api/v1/tenants", &app.operator_token, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{tenant}");
    tenant
}

async fn tenants_live_through_their_lifecycle_with_audited_steps(db: TestDatabase) {
    let app = spawn(db).await;
    let op = app.operator_token.clone();
    let tenant = create_tenant(
        &app,
        json!({"slug": "acme", "name": "Acme", "plan": "pro", "seats": 5, "domains": ["Acme.com"],
               "billingInfo": {"company": "Acme GmbH", "contactEmail": ""}}),
    )
    .await;
    assert_eq!(tenant["status"], "active");
    assert_eq!(tenant["domains"], json!(["acme.com"]));
    assert_eq!(
        tenant["billingInfo"],
        json!({"company": "Acme GmbH"}),
        "a blank e-mail is absent"
    );
    assert_eq!(tenant["provisioningStatus"]["stalwart"], "not_configured");
    assert_eq!(tenant["provisioningErrors"]["ocis"], json!([]));
    let created = events(&app, "tenant.created", "success").await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["tenantSlug"], "acme");
    assert_eq!(created[0]["resourceId"], "acme");
    assert_eq!(created[0]["actorType"], "service");
    assert_eq!(created[0]["actorIp"], "127.0.0.1");
    assert_eq!(created[0]["metadata"]["fields"]["seats"], 5);
    create_tenant(&app, json!({"slug": "globex", "name": "Globex Corp"})).await;

    let (status, got) = app.get("/api/v1/tenants/acme", &op).await;
    assert_eq!((status, &got["name"]), (StatusCode::OK, &json!("Acme")));

    // PATCH: only the fields sent, diff of only what changed; `null` unsets.
    let (status, updated) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"name": "Acme", "seats": 10, "plan": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["seats"], 10);
    assert_eq!(updated["plan"], Value::Null);
    assert_eq!(updated["domains"], json!(["acme.com"]));
    let updates = events(&app, "tenant.updated", "success").await;
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0]["metadata"]["diff"],
        json!({"seats": {"from": 5, "to": 10}, "plan": {"from": "pro", "to": null}})
    );
    // A PATCH that changes nothing writes and records nothing.
    let before = app.event_count().await;
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"seats": 10})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.event_count().await, before);

    // Search, status filter and counts.
    let (_, list) = app.get("/api/v1/tenants?q=GLOB", &op).await;
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(list["tenants"][0]["slug"], "globex");

    // Suspend and resume, each once.
    let (status, suspended) = app.post("/api/v1/tenants/acme/suspend", &op, &json!({})).await;
    assert_eq!((status, &suspended["status"]), (StatusCode::OK, &json!("suspended")));
    let (status, body) = app.post("/api/v1/tenants/acme/suspend", &op, &json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "invalid_state"));
    assert!(body["error"]["message"].as_str().unwrap().contains("suspended"));
    let (_, list) = app.get("/api/v1/tenants?status=suspended", &op).await;
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(
        list["counts"],
        json!({"pending": 0, "active": 1, "suspended": 1, "deleted": 0, "total": 2})
    );
    let suspension = events(&app, "tenant.suspended", "success").await;
    assert_eq!(
        suspension[0]["metadata"]["diff"],
        json!({"status": {"from": "active", "to": "suspended"}})
    );
    let (status, _) = app.post("/api/v1/tenants/acme/resume", &op, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app.post("/api/v1/tenants/acme/resume", &op, &json!({})).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "invalid_state"));
    assert_eq!(events(&app, "tenant.resumed", "success").await.len(), 1);

    // Purge is the second of two steps; the slug stays taken until then.
    let (status, body) = send(&app, Method::DELETE, "/api/v1/tenants/acme/purge", &op, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "invalid_state"));
    let (status, deleted) = send(&app, Method::DELETE, "/api/v1/tenants/acme", &op, None).await;
    assert_eq!((status, &deleted["status"]), (StatusCode::OK, &json!("deleted")));
    let (status, _) = send(&app, Method::DELETE, "/api/v1/tenants/acme", &op, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "invalid_state"));
    let (status, body) = app
        .post("/api/v1/tenants", &op, &json!({"slug": "acme", "name": "Again"}))
        .await;
    assert_eq!((status, error_code(&body)), (StatusCode::CONFLICT, "slug_taken"));
    assert_eq!(events(&app, "tenant.deleted", "success").await.len(), 1);
    let tenant_token = app.tenant_token("acme").await;
    let (status, _) = app.get("/api/v1/tenants/acme/audit", &tenant_token).await;
    assert_eq!(status, StatusCode::OK, "the tenant's token works until the purge");
    let (status, purged) = send(&app, Method::DELETE, "/api/v1/tenants/acme/purge", &op, None).await;
    assert_eq!((status, &purged["purged"]), (StatusCode::OK, &json!("acme")));
    let (status, _) = app.get("/api/v1/tenants/acme", &op).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let purges = events(&app, "tenant.purged", "success").await;
    assert_eq!(purges.len(), 1);
    assert_eq!(purges[0]["tenantSlug"], "acme");
    assert_eq!(purges[0]["metadata"]["tokensRevoked"], 1);
    // The audit trail is kept, and the slug is free again.
    assert_eq!(events(&app, "tenant.created", "success").await.len(), 2);
    create_tenant(&app, json!({"slug": "acme", "name": "Acme reborn"})).await;
    // The old tenant's token does not open the new tenant's log.
    let (status, body) = app.get("/api/v1/tenants/acme/audit", &tenant_token).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    let (status, _) = send(&app, Method::DELETE, "/api/v1/tenants/nope/purge", &op, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn bad_tenant_input_is_refused_naming_the_field_and_writes_nothing(db: TestDatabase) {
    let app = spawn(db).await;
    let op = app.operator_token.clone();
    create_tenant(&app, json!({"slug": "acme", "name": "Acme", "domains": ["acme.com"]})).await;
    let before = app.event_count().await;
    for (body, field) in [
        (json!({"slug": "Not Valid", "name": "X"}), "slug"),
        (json!({"slug": "x", "name": "X", "colour": "red"}), "colour"),
        (json!({"slug": "x", "name": "X", "seats": "ten"}), "seats"),
        (json!({"slug": "x", "name": "X", "domains": ["nope"]}), "domains[0]"),
        (
            json!({"slug": "x", "name": "X", "billingInfo": {"contactEmail": "not-an-email"}}),
            "billingInfo.contactEmail",
        ),
        (json!({"slug": "x"}), "name"),
        (json!({"slug": "x", "name": "X", "partner": "ghost"}), "partner"),
    ] {
        let (status, error) = app.post("/api/v1/tenants", &op, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&error), "invalid_field");
        assert!(
            error["error"]["message"].as_str().unwrap().starts_with(field),
            "{error}"
        );
    }
    let (status, error) = app.post("/api/v1/tenants", &op, &json!(["not", "an", "object"])).await;
    assert_eq!((status, error_code(&error)), (StatusCode::BAD_REQUEST, "invalid_json"));
    let (status, error) = app
        .post("/api/v1/tenants", &op, &json!({"slug": "acme", "name": "Dup"}))
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "slug_taken"));
    let (status, error) = app
        .post(
            "/api/v1/tenants",
            &op,
            &json!({"slug": "b", "name": "B", "domains": ["acme.com"]}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "domain_taken"));
    for (body, field) in [
        (json!({"slug": "other"}), "slug"),
        (json!({"status": "active"}), "status"),
        (json!({"seats": -3}), "seats"),
        (json!({"brandColor": "blue"}), "brandColor"),
        (json!({"name": null}), "name"),
    ] {
        let (status, error) = send(&app, Method::PATCH, "/api/v1/tenants/acme", &op, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            error["error"]["message"].as_str().unwrap().starts_with(field),
            "{error}"
        );
    }
    for path in [
        "/api/v1/tenants?status=gone",
        "/api/v1/tenants?sort=name",
        "/api/v1/tenants?partner=Bad!",
    ] {
        let (status, _) = app.get(path, &op).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
    }
    let (status, _) = app.get("/api/v1/tenants/Not%20A%20Slug", &op).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.event_count().await, before, "nothing written, nothing audited");
    let (_, list) = app.get("/api/v1/tenants", &op).await;
    assert_eq!(list["tenants"].as_array().unwrap().len(), 1);
}

async fn the_platform_tenant_is_unique_and_its_domain_guarded(db: TestDatabase) {
    let app = spawn_with(db, &[("PLATFORM_TENANT_DOMAIN", "Dezky.eu")]).await;
    let op = app.operator_token.clone();
    create_tenant(&app, json!({"slug": "acme", "name": "Acme"})).await;
    let (status, error) = app
        .post(
            "/api/v1/tenants",
            &op,
            &json!({"slug": "x", "name": "X", "domains": ["dezky.eu"]}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "domain_reserved"));
    let (status, error) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"domains": ["mail.dezky.eu"]})),
    )
    .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "domain_reserved"));
    let company = create_tenant(
        &app,
        json!({"slug": "dezky", "name": "dezky ApS", "isPlatformTenant": true, "domains": ["dezky.eu"]}),
    )
    .await;
    assert_eq!(company["isPlatformTenant"], true);
    // Reserved names under the apex stay reserved even for the platform tenant.
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/dezky",
        &op,
        Some(json!({"domains": ["dezky.eu", "auth.dezky.eu"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The flag cannot move while the holder keeps the apex.
    let (status, error) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"isPlatformTenant": true})),
    )
    .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "domain_reserved"));
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/dezky",
        &op,
        Some(json!({"domains": []})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, acme) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"isPlatformTenant": true})),
    )
    .await;
    assert_eq!((status, &acme["isPlatformTenant"]), (StatusCode::OK, &json!(true)));
    let (_, dezky) = app.get("/api/v1/tenants/dezky", &op).await;
    assert_eq!(dezky["isPlatformTenant"], false, "setting the flag clears it elsewhere");
    let updates = events(&app, "tenant.updated", "success").await;
    let cleared = updates
        .iter()
        .find(|event| event["tenantSlug"] == "dezky" && event["metadata"]["diff"].get("isPlatformTenant").is_some());
    assert_eq!(
        cleared.unwrap()["metadata"]["diff"]["isPlatformTenant"],
        json!({"from": true, "to": false})
    );
    let (_, list) = app.get("/api/v1/tenants", &op).await;
    let holders = list["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["isPlatformTenant"] == true)
        .count();
    assert_eq!(holders, 1);
}

/// Every control-plane endpoint is in the OpenAPI document with its method, its parameters and
/// who may not call it; and every documented control-plane operation is served.
async fn the_openapi_document_describes_every_control_plane_endpoint(db: TestDatabase) {
    let app = spawn(db).await;
    let (status, document) = app.get("/api/v1/openapi.json", &app.operator_token).await;
    assert_eq!(status, StatusCode::OK);
    for (path, methods) in [
        ("/api/v1/tenants", &["get", "post"][..]),
        ("/api/v1/tenants/{slug}", &["get", "patch", "delete"]),
        ("/api/v1/tenants/{slug}/suspend", &["post"]),
        ("/api/v1/tenants/{slug}/resume", &["post"]),
        ("/api/v1/tenants/{slug}/purge", &["delete"]),
        ("/api/v1/tenants/{slug}/users", &["get", "post"]),
        ("/api/v1/tenants/{slug}/users/{user_id}", &["patch", "delete"]),
        ("/api/v1/tenants/{slug}/transfer-ownership", &["post"]),
        ("/api/v1/partners", &["get", "post"]),
        ("/api/v1/partners/{slug}", &["get", "patch", "delete"]),
        ("/api/v1/partners/{slug}/tenants", &["get"]),
        ("/api/v1/partners/{slug}/staff", &["get", "post"]),
        ("/api/v1/partners/{slug}/staff/{user_id}", &["delete"]),
        ("/api/v1/users", &["get"]),
        ("/api/v1/users/{user_id}/platform-admin", &["put"]),
        ("/api/v1/users/{user_id}/deactivate", &["post"]),
        ("/api/v1/users/invites", &["get", "post"]),
        ("/api/v1/users/invites/{invite_id}", &["delete"]),
    ] {
        for method in methods {
            let operation = &document["paths"][path][method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.contains_key("403"),
                "{method} {path}: who may not is documented"
            );
            assert!(responses.keys().any(|code| code.starts_with('2')), "{method} {path}");
            assert!(operation["security"].is_array(), "{method} {path}");
            // Every `{param}` of the path is described.
            let parameters: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|list| list.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            for name in path
                .split('/')
                .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            {
                assert!(parameters.contains(&name), "{method} {path}: {name}");
            }
        }
    }
    // The other way round: every documented control-plane operation is served (the router's own
    // 404/405 would say "no such route" / method_not_allowed).
    let mut documented = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        if !["/api/v1/tenants", "/api/v1/partners", "/api/v1/users"]
            .iter()
            .any(|prefix| path.starts_with(prefix))
            || path.contains("/audit")
        {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|part| if part.starts_with('{') { "probe" } else { part })
            .collect::<Vec<_>>()
            .join("/");
        for method in operations.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let (status, body) = send(&app, method.clone(), &concrete, &app.operator_token, Some(json!({}))).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {concrete}");
            assert_ne!(body["error"]["message"], "no such route", "{method} {concrete}");
            documented += 1;
        }
    }
    assert_eq!(documented, 28, "the list above and the document agree in size");
    assert!(document["components"]["schemas"]["TenantView"]["properties"]["isPlatformTenant"].is_object());
    assert!(document["components"]["schemas"]["InviteView"]["properties"]["platformAdmin"].is_object());
    assert!(document["components"]["schemas"]["InviteInput"]["properties"]["tenant"].is_object());
}

on_both_backends!(
    tenants_live_through_their_lifecycle_with_audited_steps,
    bad_tenant_input_is_refused_naming_the_field_and_writes_nothing,
    the_platform_tenant_is_unique_and_its_domain_guarded,
    the_openapi_document_describes_every_control_plane_endpoint,
);
