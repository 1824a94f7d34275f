//! Partners: CRUD with diffs, customer counts, attach/detach through the tenant PATCH, and
//! soft termination.

use crate::support::app::{error_code, spawn};
use crate::tenants::{create_tenant, events, send};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn partners_are_created_edited_attached_and_terminated_with_audit(db: TestDatabase) {
    let app = spawn(db).await;
    let op = app.operator_token.clone();
    let (status, partner) = app
        .post(
            "/api/v1/partners",
            &op,
            &json!({"slug": "resell", "name": "Resell AG", "domain": "resell.example", "marginPct": 20,
                    "contactInfo": {"name": "Rita", "email": "rita@resell.example"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{partner}");
    assert_eq!(
        (&partner["status"], &partner["customers"]),
        (&json!("active"), &json!(0))
    );
    assert_eq!(
        events(&app, "partner.created", "success").await[0]["partnerSlug"],
        "resell"
    );

    let before = app.event_count().await;
    for (body, field) in [
        (json!({"slug": "p", "name": "P", "marginPct": 101}), "marginPct"),
        (json!({"slug": "p", "name": "P", "marginPct": "ten"}), "marginPct"),
        (
            json!({"slug": "p", "name": "P", "contactInfo": {"email": "nope"}}),
            "contactInfo.email",
        ),
        (json!({"slug": "P P", "name": "P"}), "slug"),
        (json!({"slug": "p", "name": "P", "fax": "1"}), "fax"),
    ] {
        let (status, error) = app.post("/api/v1/partners", &op, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            error["error"]["message"].as_str().unwrap().starts_with(field),
            "{error}"
        );
    }
    let (status, error) = app
        .post("/api/v1/partners", &op, &json!({"slug": "resell", "name": "Again"}))
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "slug_taken"));
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/partners/resell",
        &op,
        Some(json!({"marginPct": -1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.event_count().await, before, "nothing written on bad input");

    let (status, edited) = send(
        &app,
        Method::PATCH,
        "/api/v1/partners/resell",
        &op,
        Some(json!({"marginPct": 25.5, "name": "Resell AG", "domain": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["marginPct"], 25.5);
    let updates = events(&app, "partner.updated", "success").await;
    assert_eq!(
        updates[0]["metadata"]["diff"],
        json!({"marginPct": {"from": 20.0, "to": 25.5}, "domain": {"from": "resell.example", "to": null}})
    );

    // Attach and detach through the tenant's PATCH.
    create_tenant(&app, json!({"slug": "acme", "name": "Acme"})).await;
    let (status, acme) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"partner": "resell"})),
    )
    .await;
    assert_eq!((status, &acme["partner"]), (StatusCode::OK, &json!("resell")));
    let attached = events(&app, "partner.tenant_attached", "success").await;
    assert_eq!(
        (&attached[0]["partnerSlug"], &attached[0]["tenantSlug"]),
        (&json!("resell"), &json!("acme"))
    );
    let diff = &events(&app, "tenant.updated", "success").await[0]["metadata"]["diff"];
    assert_eq!(diff, &json!({"partner": {"from": null, "to": "resell"}}));
    let (_, listed) = app.get("/api/v1/partners", &op).await;
    assert_eq!(listed["partners"][0]["customers"], 1);
    let (_, customers) = app.get("/api/v1/partners/resell/tenants", &op).await;
    assert_eq!(customers["tenants"][0]["slug"], "acme");
    let (_, by_partner) = app.get("/api/v1/tenants?partner=resell", &op).await;
    assert_eq!(by_partner["tenants"].as_array().unwrap().len(), 1);

    let (status, error) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"partner": "ghost"})),
    )
    .await;
    assert_eq!((status, error_code(&error)), (StatusCode::BAD_REQUEST, "invalid_field"));
    let (status, acme) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"partner": null})),
    )
    .await;
    assert_eq!((status, &acme["partner"]), (StatusCode::OK, &json!(null)));
    let detached = events(&app, "partner.tenant_detached", "success").await;
    assert_eq!(
        (&detached[0]["partnerSlug"], &detached[0]["tenantSlug"]),
        (&json!("resell"), &json!("acme"))
    );

    // Terminating is soft; a terminated partner takes no new customers and stays terminated.
    send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &op,
        Some(json!({"partner": "resell"})),
    )
    .await;
    let (status, terminated) = send(&app, Method::DELETE, "/api/v1/partners/resell", &op, None).await;
    assert_eq!((status, &terminated["status"]), (StatusCode::OK, &json!("terminated")));
    assert_eq!(terminated["customers"], 1, "its tenants keep their reference");
    let termination = events(&app, "partner.terminated", "success").await;
    assert_eq!(
        termination[0]["metadata"]["diff"],
        json!({"status": {"from": "active", "to": "terminated"}})
    );
    let (status, _) = send(&app, Method::DELETE, "/api/v1/partners/resell", &op, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/partners/resell",
        &op,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    create_tenant(&app, json!({"slug": "globex", "name": "Globex"})).await;
    let (status, error) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/globex",
        &op,
        Some(json!({"partner": "resell"})),
    )
    .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "partner_inactive"));
    let (status, _) = app.get("/api/v1/partners/ghost", &op).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn only_operators_manage_partners_and_denials_are_recorded(db: TestDatabase) {
    let app = spawn(db).await;
    let op = app.operator_token.clone();
    app.post("/api/v1/partners", &op, &json!({"slug": "resell", "name": "Resell"}))
        .await;
    let tenant_token = app.tenant_token("acme").await;
    create_tenant(&app, json!({"slug": "acme", "name": "Acme"})).await;
    create_tenant(&app, json!({"slug": "globex", "name": "Globex"})).await;
    // A tenant token reads its own tenant and members, nothing else, and changes nothing.
    for (path, expected) in [
        ("/api/v1/tenants/acme", StatusCode::OK),
        ("/api/v1/tenants/acme/users", StatusCode::OK),
        ("/api/v1/tenants/globex", StatusCode::FORBIDDEN),
        ("/api/v1/tenants", StatusCode::FORBIDDEN),
    ] {
        assert_eq!(app.get(path, &tenant_token).await.0, expected, "{path}");
    }
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &tenant_token,
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(events(&app, "tenant.updated", "denied").await.len(), 1);
    let (status, _) = app
        .post(
            "/api/v1/partners",
            &tenant_token,
            &json!({"slug": "mine", "name": "Mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        &app,
        Method::PATCH,
        "/api/v1/partners/resell",
        &tenant_token,
        Some(json!({"marginPct": 99})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(&app, Method::DELETE, "/api/v1/partners/resell", &tenant_token, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    for path in [
        "/api/v1/partners",
        "/api/v1/partners/resell",
        "/api/v1/partners/resell/tenants",
    ] {
        let (status, _) = app.get(path, &tenant_token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(events(&app, "partner.created", "denied").await.len(), 1);
    let denied = events(&app, "partner.updated", "denied").await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0]["partnerSlug"], "resell");
    assert_eq!(events(&app, "partner.terminated", "denied").await.len(), 1);
    let (_, partner) = app.get("/api/v1/partners/resell", &op).await;
    assert_eq!(partner["marginPct"], 0.0);
}

on_both_backends!(
    partners_are_created_edited_attached_and_terminated_with_audit,
    only_operators_manage_partners_and_denials_are_recorded,
);
