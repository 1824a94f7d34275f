//! Who can tell that a tenant or partner exists, and who reads a tenant's audit log.
//!
//! Anyone who may not read a tenant (or partner) gets the same 403 for one that exists and one
//! that does not, on every route, and a refused mutation is recorded as denied in both cases;
//! only operators get 404. A tenant's audit log is read by operators, its token, and its owner
//! and admins by membership (never by an OIDC groups claim).

use crate::support::app::{TestApp, error_code};
use crate::support::people::People;
use crate::tenants::{create_tenant, events, send};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A request to try: method, path, body, and whether it is a mutation (recorded when denied).
type Route = (Method, String, Option<Value>, bool);

/// Every route under `/tenants/{slug}` with a body it would accept.
fn tenant_routes(slug: &str) -> Vec<Route> {
    let base = format!("/api/v1/tenants/{slug}");
    vec![
        (Method::GET, base.clone(), None, false),
        (Method::PATCH, base.clone(), Some(json!({"name": "Renamed"})), true),
        (Method::DELETE, base.clone(), None, true),
        (Method::POST, format!("{base}/suspend"), None, true),
        (Method::POST, format!("{base}/resume"), None, true),
        (Method::DELETE, format!("{base}/purge"), None, true),
        (Method::GET, format!("{base}/users"), None, false),
        (
            Method::POST,
            format!("{base}/users"),
            Some(json!({"userId": "usr_x", "role": "member"})),
            true,
        ),
        (
            Method::PATCH,
            format!("{base}/users/usr_x"),
            Some(json!({"role": "admin"})),
            true,
        ),
        (Method::DELETE, format!("{base}/users/usr_x"), None, true),
        (
            Method::POST,
            format!("{base}/transfer-ownership"),
            Some(json!({"userId": "usr_x"})),
            true,
        ),
        (Method::GET, format!("{base}/audit"), None, false),
        (Method::GET, format!("{base}/audit/export?format=jsonl"), None, false),
    ]
}

fn partner_routes(slug: &str) -> Vec<Route> {
    let base = format!("/api/v1/partners/{slug}");
    vec![
        (Method::GET, base.clone(), None, false),
        (Method::PATCH, base.clone(), Some(json!({"name": "Renamed"})), true),
        (Method::DELETE, base.clone(), None, true),
        (Method::GET, format!("{base}/tenants"), None, false),
        (Method::GET, format!("{base}/staff"), None, false),
        (
            Method::POST,
            format!("{base}/staff"),
            Some(json!({"userId": "usr_x"})),
            true,
        ),
        (Method::DELETE, format!("{base}/staff/usr_x"), None, true),
    ]
}

async fn denied_count(app: &TestApp) -> usize {
    let (status, page) = app
        .get("/api/v1/audit?outcome=denied&limit=500", &app.operator_token)
        .await;
    assert_eq!(status, StatusCode::OK);
    page["events"].as_array().unwrap().len()
}

/// Sends every route for `existing` and for `missing` and checks both answers are the same 403
/// (the message differs only by the slug) and both mutations were recorded as denied.
async fn same_answer_for_existing_and_missing(
    app: &TestApp,
    who: &str,
    token: &str,
    routes: fn(&str) -> Vec<Route>,
    existing: &str,
    missing: &str,
) {
    for ((method, path, body, mutates), (_, missing_path, _, _)) in routes(existing).into_iter().zip(routes(missing)) {
        let before = denied_count(app).await;
        let (status, error) = send(app, method.clone(), &path, token, body.clone()).await;
        assert_eq!(
            (status, error_code(&error)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{who}: {method} {path}"
        );
        let after_existing = denied_count(app).await;
        let (missing_status, missing_error) = send(app, method.clone(), &missing_path, token, body).await;
        assert_eq!(missing_status, status, "{who}: {method} {missing_path}");
        assert_eq!(
            missing_error["error"]["message"]
                .as_str()
                .unwrap()
                .replace(missing, existing),
            error["error"]["message"].as_str().unwrap(),
            "{who}: {method} {path}: the message tells nothing more"
        );
        let recorded = usize::from(mutates);
        assert_eq!(after_existing - before, recorded, "{who}: {method} {path}");
        assert_eq!(
            denied_count(app).await - after_existing,
            recorded,
            "{who}: {method} {missing_path}"
        );
    }
}

async fn nobody_but_operators_can_tell_a_missing_tenant_from_a_foreign_one(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    let op = app.operator_token.clone();
    for partner in ["resell", "rival"] {
        app.post("/api/v1/partners", &op, &json!({"slug": partner, "name": partner}))
            .await;
    }
    create_tenant(app, json!({"slug": "acme", "name": "Acme", "partner": "resell"})).await;
    create_tenant(app, json!({"slug": "globex", "name": "Globex", "partner": "rival"})).await;
    people.member("acme", "alice", "owner").await;
    people.member("acme", "bob", "admin").await;
    people.member("acme", "carl", "member").await;
    people.staff("resell", "pete").await;
    people.user_id("dora").await;
    let acme_token = app.tenant_token("acme").await;
    let callers = [
        ("tenant owner", people.token("alice")),
        ("tenant admin", people.token("bob")),
        ("tenant member", people.token("carl")),
        ("partner staff", people.token("pete")),
        ("outsider", people.token("dora")),
        ("tenant token", acme_token),
    ];
    for (who, token) in &callers {
        same_answer_for_existing_and_missing(app, who, token, tenant_routes, "globex", "ghost").await;
        same_answer_for_existing_and_missing(app, who, token, partner_routes, "rival", "phantom").await;
    }
    // The denied events name the slug attempted (and, for the operators who read them, the
    // existing tenant's name and partner).
    let denied = events(app, "tenant.updated", "denied").await;
    assert_eq!(
        (
            &denied[0]["tenantSlug"],
            &denied[0]["resourceName"],
            &denied[0]["partnerSlug"]
        ),
        (&json!("ghost"), &Value::Null, &Value::Null)
    );
    assert_eq!(
        (
            &denied[1]["tenantSlug"],
            &denied[1]["resourceName"],
            &denied[1]["partnerSlug"]
        ),
        (&json!("globex"), &json!("Globex"), &json!("rival"))
    );
    assert_eq!(denied[0]["metadata"]["reason"], "no access to tenant 'ghost'");

    // Operators may read everything, so they alone learn what does not exist.
    for (method, path, body, _) in tenant_routes("ghost").into_iter().chain(partner_routes("phantom")) {
        let (status, error) = send(app, method.clone(), &path, &op, body).await;
        if path.contains("/audit") {
            // The trail outlives a purged tenant: reading a slug without a tenant is not an error.
            assert_eq!(status, StatusCode::OK, "{method} {path}");
        } else {
            assert_eq!(
                (status, error_code(&error)),
                (StatusCode::NOT_FOUND, "not_found"),
                "{method} {path}"
            );
        }
    }
    // Invalid slugs are a 400 for everyone: that says nothing about existence.
    let (status, error) = app.get("/api/v1/tenants/Not_A_Slug", &people.token("dora")).await;
    assert_eq!((status, error_code(&error)), (StatusCode::BAD_REQUEST, "invalid_path"));
}

async fn those_who_may_read_a_tenant_still_get_their_answers(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    app.post(
        "/api/v1/partners",
        &app.operator_token,
        &json!({"slug": "resell", "name": "Resell"}),
    )
    .await;
    create_tenant(app, json!({"slug": "acme", "name": "Acme", "partner": "resell"})).await;
    people.member("acme", "alice", "owner").await;
    let carl = people.member("acme", "carl", "member").await;
    people.staff("resell", "pete").await;
    // A member (who can see the tenant) is told why a change is refused, not "no access".
    let (status, error) = send(
        app,
        Method::DELETE,
        &format!("/api/v1/tenants/acme/users/{carl}"),
        &people.token("carl"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(error["error"]["message"], "you may not manage the members of 'acme'");
    // Staff see their customer and their partner; a missing member is a 404 for the owner.
    for path in [
        "/api/v1/tenants/acme",
        "/api/v1/partners/resell",
        "/api/v1/partners/resell/tenants",
    ] {
        assert_eq!(app.get(path, &people.token("pete")).await.0, StatusCode::OK, "{path}");
    }
    let (status, _) = send(
        app,
        Method::PATCH,
        "/api/v1/tenants/acme/users/usr_ghost",
        &people.token("alice"),
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn a_tenants_audit_log_is_read_by_its_administrators(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    app.post(
        "/api/v1/partners",
        &app.operator_token,
        &json!({"slug": "resell", "name": "Resell"}),
    )
    .await;
    create_tenant(app, json!({"slug": "acme", "name": "Acme", "partner": "resell"})).await;
    people.member("acme", "alice", "owner").await;
    people.member("acme", "bob", "admin").await;
    people.member("acme", "carl", "member").await;
    people.staff("resell", "pete").await;
    people.user_id("dora").await;
    let acme_token = app.tenant_token("acme").await;
    let grouped = people.token_with("gina", "dezky-portal", |claims| claims["groups"] = json!(["acme"]));

    for path in [
        "/api/v1/tenants/acme/audit",
        "/api/v1/tenants/acme/audit/export?format=jsonl",
    ] {
        for (who, token, expected) in [
            ("operator", app.operator_token.clone(), StatusCode::OK),
            ("tenant token", acme_token.clone(), StatusCode::OK),
            ("owner", people.token("alice"), StatusCode::OK),
            ("admin", people.token("bob"), StatusCode::OK),
            ("member", people.token("carl"), StatusCode::FORBIDDEN),
            ("partner staff", people.token("pete"), StatusCode::FORBIDDEN),
            ("outsider", people.token("dora"), StatusCode::FORBIDDEN),
            (
                "a group named acme, no membership",
                grouped.clone(),
                StatusCode::FORBIDDEN,
            ),
        ] {
            let response = app.http.get(app.url(path)).bearer_auth(&token).send().await.unwrap();
            assert_eq!(response.status(), expected, "{who}: {path}");
        }
    }
    let (_, page) = app.get("/api/v1/tenants/acme/audit", &people.token("bob")).await;
    let events = page["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|event| event["tenantSlug"] == "acme"),
        "only acme's slice"
    );
    // Losing the membership loses the log at once.
    let bob_id = app
        .store
        .find_users_by_email("bob@example.com")
        .await
        .unwrap()
        .pop()
        .unwrap()
        .id;
    let (status, _) = send(
        app,
        Method::DELETE,
        &format!("/api/v1/tenants/acme/users/{bob_id}"),
        &app.operator_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = app.get("/api/v1/tenants/acme/audit", &people.token("bob")).await;
    assert_eq!((status, error_code(&error)), (StatusCode::FORBIDDEN, "forbidden"));
}

on_both_backends!(
    nobody_but_operators_can_tell_a_missing_tenant_from_a_foreign_one,
    those_who_may_read_a_tenant_still_get_their_answers,
    a_tenants_audit_log_is_read_by_its_administrators,
);
