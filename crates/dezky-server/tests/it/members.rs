//! Users and roles: tenant members with a role per tenant, the last-owner/admin rules,
//! ownership transfer, partner-scoped access, platform admins and deactivation — with signed-in
//! people (OIDC tokens from the local identity provider), whose access comes from memberships.

use crate::support::app::error_code;
use crate::support::people::People;
use crate::tenants::{create_tenant, events, send};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn role_of<'a>(members: &'a Value, user_id: &str) -> &'a Value {
    members["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["id"] == user_id)
        .map(|member| &member["role"])
        .unwrap_or(&Value::Null)
}

async fn tenant_roles_decide_who_may_read_and_change_a_tenant(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    create_tenant(app, json!({"slug": "acme", "name": "Acme", "seats": 5})).await;
    create_tenant(app, json!({"slug": "globex", "name": "Globex"})).await;
    let (alice, bob, carl, dora) = (
        people.user_id("alice").await,
        people.user_id("bob").await,
        people.user_id("carl").await,
        people.user_id("dora").await,
    );
    assert_eq!(people.add_member("acme", &alice, "owner").await.0, StatusCode::CREATED);
    assert_eq!(people.add_member("acme", &bob, "admin").await.0, StatusCode::CREATED);
    let (status, members) = people.add_member("acme", &carl, "member").await;
    assert_eq!(status, StatusCode::CREATED);
    // carl administers globex but is a plain member of acme: the role shown is per tenant.
    people.add_member("globex", &carl, "admin").await;
    assert_eq!(role_of(&members, &carl), "member");
    let added = events(app, "user.member_added", "success").await;
    assert_eq!(added.len(), 4);
    assert_eq!(added[0]["tenantSlug"], "globex");
    assert_eq!(
        added[0]["metadata"]["diff"],
        json!({"role": {"from": null, "to": "admin"}})
    );

    let (status, listed) = app.get("/api/v1/tenants/acme/users", &people.token("carl")).await;
    assert_eq!(status, StatusCode::OK, "members read their own tenant's members");
    assert_eq!(role_of(&listed, &alice), "owner");
    assert_eq!(role_of(&listed, &carl), "member");
    let (_, globex) = app.get("/api/v1/tenants/globex/users", &people.token("carl")).await;
    assert_eq!(role_of(&globex, &carl), "admin");
    for path in ["/api/v1/tenants/acme/users", "/api/v1/tenants/acme", "/api/v1/tenants"] {
        let (status, _) = app.get(path, &people.token("dora")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "outsider: {path}");
    }
    let (status, _) = app.get("/api/v1/tenants/acme", &people.token("carl")).await;
    assert_eq!(status, StatusCode::OK);

    // Tenant admins edit the profile, never plan, seats, partner or the platform flag.
    let (status, renamed) = send(
        app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &people.token("bob"),
        Some(json!({"name": "Acme Inc"})),
    )
    .await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("Acme Inc")));
    let updated = events(app, "tenant.updated", "success").await;
    assert_eq!(updated[0]["actorId"], bob.as_str());
    assert_eq!(updated[0]["actorEmail"], "bob@example.com");
    for body in [json!({"seats": 500}), json!({"isPlatformTenant": true})] {
        let (status, error) = send(
            app,
            Method::PATCH,
            "/api/v1/tenants/acme",
            &people.token("alice"),
            Some(body),
        )
        .await;
        assert_eq!((status, error_code(&error)), (StatusCode::FORBIDDEN, "forbidden"));
    }
    let (status, _) = send(
        app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &people.token("carl"),
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "members cannot edit");
    let (status, _) = app
        .post("/api/v1/tenants/acme/suspend", &people.token("alice"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "owners cannot suspend their tenant");
    let (status, _) = send(
        app,
        Method::DELETE,
        "/api/v1/tenants/acme",
        &people.token("alice"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let denied = events(app, "tenant.updated", "denied").await;
    assert_eq!(denied.len(), 3);
    assert!(denied.iter().all(|event| event["tenantSlug"] == "acme"));
    assert_eq!(events(app, "tenant.suspended", "denied").await.len(), 1);
    assert_eq!(events(app, "tenant.deleted", "denied").await.len(), 1);
    let (_, acme) = app.get("/api/v1/tenants/acme", &app.operator_token).await;
    assert_eq!((&acme["seats"], &acme["status"]), (&json!(5), &json!("active")));
    let _ = dora;
}

async fn role_rules_keep_every_tenant_administrable(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    create_tenant(app, json!({"slug": "acme", "name": "Acme"})).await;
    let (alice, bob, carl) = (
        people.user_id("alice").await,
        people.user_id("bob").await,
        people.user_id("carl").await,
    );
    people.add_member("acme", &alice, "owner").await;
    people.add_member("acme", &bob, "admin").await;
    people.add_member("acme", &carl, "member").await;
    let bob_token = people.token("bob");
    let alice_token = people.token("alice");

    let (status, error) = people.add_member("acme", &carl, "admin").await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::CONFLICT, "role_rule"),
        "already a member"
    );
    let (status, _) = people.add_member("acme", "usr_ghost", "member").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, error) = app
        .post(
            "/api/v1/tenants/acme/users",
            &app.operator_token,
            &json!({"userId": carl, "role": "boss"}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::BAD_REQUEST, "invalid_field"));
    let owner_path = format!("/api/v1/tenants/acme/users/{alice}");
    let (status, error) = send(
        app,
        Method::PATCH,
        &owner_path,
        &app.operator_token,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::CONFLICT, "role_rule"),
        "the owner leaves only by transfer"
    );
    let (status, _) = send(app, Method::DELETE, &owner_path, &app.operator_token, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let carl_path = format!("/api/v1/tenants/acme/users/{carl}");
    let (status, _) = send(
        app,
        Method::PATCH,
        &carl_path,
        &bob_token,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "one owner at most");

    // Admins manage members; the change is audited with the role diff.
    let (status, members) = send(
        app,
        Method::PATCH,
        &carl_path,
        &bob_token,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!((status, role_of(&members, &carl)), (StatusCode::OK, &json!("admin")));
    let changed = events(app, "user.role_changed", "success").await;
    assert_eq!(
        changed[0]["metadata"]["diff"],
        json!({"role": {"from": "member", "to": "admin"}})
    );
    assert_eq!(changed[0]["resourceId"], carl.as_str());
    let (status, _) = send(app, Method::DELETE, &carl_path, &bob_token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events(app, "user.member_removed", "success").await.len(), 1);
    people.add_member("acme", &carl, "member").await;

    // Ownership transfer: the target becomes owner, the previous owner admin.
    let (status, _) = app
        .post(
            "/api/v1/tenants/acme/transfer-ownership",
            &bob_token,
            &json!({"userId": carl}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "admins cannot transfer ownership");
    assert_eq!(events(app, "user.ownership_transferred", "denied").await.len(), 1);
    let (status, members) = app
        .post(
            "/api/v1/tenants/acme/transfer-ownership",
            &alice_token,
            &json!({"userId": carl}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    assert_eq!(role_of(&members, &carl), "owner");
    assert_eq!(role_of(&members, &alice), "admin");
    let transfer = events(app, "user.ownership_transferred", "success").await;
    assert_eq!(transfer[0]["metadata"]["previousOwner"], alice.as_str());
    assert_eq!(transfer[0]["metadata"]["newOwner"], carl.as_str());
    let (status, _) = app
        .post(
            "/api/v1/tenants/acme/transfer-ownership",
            &app.operator_token,
            &json!({"userId": carl}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "already the owner");

    // The last admin cannot go: a tenant with one admin and members.
    create_tenant(app, json!({"slug": "solo", "name": "Solo"})).await;
    people.add_member("solo", &bob, "admin").await;
    people.add_member("solo", &carl, "member").await;
    let before = app.event_count().await;
    let bob_in_solo = format!("/api/v1/tenants/solo/users/{bob}");
    let (status, error) = send(
        app,
        Method::PATCH,
        &bob_in_solo,
        &app.operator_token,
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "role_rule"));
    let (status, _) = send(app, Method::DELETE, &bob_in_solo, &app.operator_token, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(app.event_count().await, before, "refused changes record nothing");
    let (status, _) = send(
        app,
        Method::DELETE,
        "/api/v1/tenants/solo/users/usr_ghost",
        &app.operator_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn partner_staff_reach_only_their_own_customers(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    let op = app.operator_token.clone();
    for slug in ["resell", "rival"] {
        app.post("/api/v1/partners", &op, &json!({"slug": slug, "name": slug}))
            .await;
    }
    create_tenant(app, json!({"slug": "acme", "name": "Acme", "partner": "resell"})).await;
    create_tenant(app, json!({"slug": "globex", "name": "Globex", "partner": "rival"})).await;
    create_tenant(app, json!({"slug": "initech", "name": "Initech"})).await;
    let pete = people.user_id("pete").await;
    let (status, staff) = app
        .post("/api/v1/partners/resell/staff", &op, &json!({"userId": pete}))
        .await;
    assert_eq!((status, &staff["users"][0]["id"]), (StatusCode::OK, &json!(pete)));
    assert_eq!(
        events(app, "partner.staff_added", "success").await[0]["partnerSlug"],
        "resell"
    );
    let pete_token = people.token("pete");

    let (status, list) = app.get("/api/v1/tenants", &pete_token).await;
    assert_eq!(status, StatusCode::OK);
    let slugs: Vec<&Value> = list["tenants"].as_array().unwrap().iter().map(|t| &t["slug"]).collect();
    assert_eq!(slugs, vec!["acme"]);
    assert_eq!(list["counts"]["total"], 1);
    let (status, _) = app.get("/api/v1/partners/resell/tenants", &pete_token).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/api/v1/partners/rival/tenants", &pete_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.get("/api/v1/tenants?partner=rival", &pete_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _) = app.post("/api/v1/tenants/acme/suspend", &pete_token, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let suspended = events(app, "tenant.suspended", "success").await;
    assert_eq!(
        (&suspended[0]["actorId"], &suspended[0]["partnerSlug"]),
        (&json!(pete), &json!("resell"))
    );
    let (status, _) = app.post("/api/v1/tenants/acme/resume", &pete_token, &json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, acme) = send(
        app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &pete_token,
        Some(json!({"seats": 20})),
    )
    .await;
    assert_eq!((status, &acme["seats"]), (StatusCode::OK, &json!(20)));
    let (status, _) = send(
        app,
        Method::PATCH,
        "/api/v1/tenants/acme",
        &pete_token,
        Some(json!({"partner": null})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "staff cannot detach");
    for slug in ["globex", "initech"] {
        let (status, _) = app
            .post(&format!("/api/v1/tenants/{slug}/suspend"), &pete_token, &json!({}))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{slug}");
        let (status, _) = app.get(&format!("/api/v1/tenants/{slug}"), &pete_token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{slug}");
    }
    let denied = events(app, "tenant.suspended", "denied").await;
    assert_eq!(denied.len(), 2);
    assert_eq!(denied[1]["partnerSlug"], "rival");
    let (status, _) = send(app, Method::DELETE, "/api/v1/tenants/acme", &pete_token, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "staff cannot delete");

    let (status, _) = send(
        app,
        Method::DELETE,
        &format!("/api/v1/partners/resell/staff/{pete}"),
        &op,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/api/v1/tenants/acme", &pete_token).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "access ends with the membership");
}

async fn platform_admins_are_guarded_and_deactivation_locks_out(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    let olga = people.make_platform_admin("olga").await;
    let olga_token = people.operator_token("olga");
    let vic = people.user_id("vic").await;

    let (status, error) = send(
        app,
        Method::PUT,
        &format!("/api/v1/users/{olga}/platform-admin"),
        &olga_token,
        Some(json!({"platformAdmin": false})),
    )
    .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "self_change"));
    let (status, error) = send(
        app,
        Method::PUT,
        &format!("/api/v1/users/{olga}/platform-admin"),
        &app.operator_token,
        Some(json!({"platformAdmin": false})),
    )
    .await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::CONFLICT, "last_platform_admin")
    );
    let (status, granted) = send(
        app,
        Method::PUT,
        &format!("/api/v1/users/{vic}/platform-admin"),
        &olga_token,
        Some(json!({"platformAdmin": true})),
    )
    .await;
    assert_eq!((status, &granted["platformAdmin"]), (StatusCode::OK, &json!(true)));
    let grant = events(app, "user.platform_admin_granted", "success").await;
    assert_eq!(grant[0]["actorId"], olga.as_str());
    assert_eq!(grant[0]["resourceId"], vic.as_str());
    assert_eq!(
        grant[0]["metadata"]["diff"],
        json!({"platformAdmin": {"from": false, "to": true}})
    );
    let (status, operators) = app.get("/api/v1/users?platformAdmin=true", &olga_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(operators["users"].as_array().unwrap().len(), 2);
    let (status, _) = send(
        app,
        Method::PUT,
        "/api/v1/users/usr_ghost/platform-admin",
        &olga_token,
        Some(json!({"platformAdmin": true})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = send(
        app,
        Method::PUT,
        &format!("/api/v1/users/{vic}/platform-admin"),
        &olga_token,
        Some(json!({"platformAdmin": "yes"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        app,
        Method::PUT,
        &format!("/api/v1/users/{olga}/platform-admin"),
        &people.token("vic"),
        Some(json!({"platformAdmin": false})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a portal token is not an operator");
    assert_eq!(events(app, "user.platform_admin_revoked", "denied").await.len(), 1);

    // Deactivation: not yourself; the user's tokens stop working at once.
    let (status, _) = app
        .post(&format!("/api/v1/users/{olga}/deactivate"), &olga_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, revoked) = send(
        app,
        Method::PUT,
        &format!("/api/v1/users/{vic}/platform-admin"),
        &olga_token,
        Some(json!({"platformAdmin": false})),
    )
    .await;
    assert_eq!((status, &revoked["platformAdmin"]), (StatusCode::OK, &json!(false)));
    let (status, account) = app
        .post(&format!("/api/v1/users/{vic}/deactivate"), &olga_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(account["deactivatedAt"].is_string());
    assert_eq!(
        events(app, "user.deactivated", "success").await[0]["resourceId"],
        vic.as_str()
    );
    let (status, body) = app.get("/api/v1/tenants/none", &people.token("vic")).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));
    let (status, _) = app
        .post(&format!("/api/v1/users/{vic}/deactivate"), &olga_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "already deactivated");
    let (status, _) = app
        .post(
            &format!("/api/v1/users/{olga}/deactivate"),
            &app.operator_token,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "the last platform admin stays");
}

on_both_backends!(
    tenant_roles_decide_who_may_read_and_change_a_tenant,
    role_rules_keep_every_tenant_administrable,
    partner_staff_reach_only_their_own_customers,
    platform_admins_are_guarded_and_deactivation_locks_out,
);
