//! Invitations: operators invite a person by e-mail with platformAdmin and/or a tenant
//! membership; the person's first sign-in with that address verified receives it, audited in the
//! same transaction; everyone else is refused (and the refusal recorded); bad input is named.

use crate::support::app::{TestApp, error_code};
use crate::support::people::People;
use crate::tenants::{create_tenant, events, send};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const INVITES: &str = "/api/v1/users/invites";

async fn invite(app: &TestApp, body: Value) -> Value {
    let (status, made) = app.post(INVITES, &app.operator_token, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made
}

async fn pending(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.get(INVITES, &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["invites"].as_array().unwrap().clone()
}

fn role_of(members: &Value, email: &str) -> Value {
    members["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["email"] == email)
        .map(|member| member["role"].clone())
        .unwrap_or(Value::Null)
}

async fn members_of(app: &TestApp, tenant: &str) -> Value {
    let (status, members) = app
        .get(&format!("/api/v1/tenants/{tenant}/users"), &app.operator_token)
        .await;
    assert_eq!(status, StatusCode::OK, "{members}");
    members
}

async fn the_first_verified_sign_in_receives_the_invitation(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    app.post(
        "/api/v1/partners",
        &app.operator_token,
        &json!({"slug": "resell", "name": "Resell"}),
    )
    .await;
    create_tenant(app, json!({"slug": "acme", "name": "Acme", "partner": "resell"})).await;

    let ada = invite(
        app,
        json!({"email": "Ada@Example.com", "name": "Ada", "tenant": "acme", "role": "owner"}),
    )
    .await;
    assert!(ada["id"].as_str().unwrap().starts_with("inv_"), "{ada}");
    assert_eq!(
        (
            &ada["email"],
            &ada["name"],
            &ada["platformAdmin"],
            &ada["tenant"],
            &ada["role"]
        ),
        (
            &json!("Ada@example.com"),
            &json!("Ada"),
            &json!(false),
            &json!("acme"),
            &json!("owner")
        )
    );
    assert!(ada["invitedBy"].as_str().unwrap().starts_with("tok_"));
    let invited = events(app, "user.invited", "success").await;
    assert_eq!(invited.len(), 1);
    assert_eq!(
        (&invited[0]["resourceType"], &invited[0]["resourceId"]),
        (&json!("invite"), &ada["id"])
    );
    assert_eq!(
        (
            &invited[0]["tenantSlug"],
            &invited[0]["partnerSlug"],
            &invited[0]["actorIp"]
        ),
        (&json!("acme"), &json!("resell"), &json!("127.0.0.1"))
    );
    assert_eq!(
        invited[0]["metadata"]["invite"],
        json!({"email": "Ada@example.com", "name": "Ada", "platformAdmin": false, "tenant": "acme", "role": "owner"})
    );
    let olga = invite(app, json!({"email": "olga@example.com", "platformAdmin": true})).await;
    let listed = pending(app).await;
    assert_eq!(listed.len(), 2);
    assert_eq!((&listed[0]["id"], &listed[1]["id"]), (&ada["id"], &olga["id"]));

    // Ada signs in (her e-mail verified, capitals aside): she owns acme at once.
    let (status, tenant) = app.get("/api/v1/tenants/acme", &people.token("ada")).await;
    assert_eq!((status, &tenant["slug"]), (StatusCode::OK, &json!("acme")));
    assert_eq!(role_of(&members_of(app, "acme").await, "ada@example.com"), "owner");
    let accepted = events(app, "user.invite_accepted", "success").await;
    assert_eq!(accepted.len(), 1);
    let created = events(app, "user.created", "success").await;
    assert_eq!(
        accepted[0]["seq"].as_u64(),
        created[0]["seq"].as_u64().map(|seq| seq + 1),
        "committed with the user's creation"
    );
    assert_eq!(
        (&accepted[0]["actorId"], &accepted[0]["resourceId"]),
        (&created[0]["actorId"], &created[0]["actorId"])
    );
    assert_eq!(
        (
            &accepted[0]["actorEmail"],
            &accepted[0]["tenantSlug"],
            &accepted[0]["partnerSlug"]
        ),
        (&json!("ada@example.com"), &json!("acme"), &json!("resell"))
    );
    assert_eq!(accepted[0]["metadata"]["inviteId"], ada["id"]);
    assert_eq!(accepted[0]["metadata"]["invitedBy"], ada["invitedBy"]);
    assert_eq!(
        accepted[0]["metadata"]["diff"],
        json!({"role": {"from": null, "to": "owner"}})
    );
    assert_eq!(pending(app).await.len(), 1, "consumed");

    // Olga's very first request, with the operator audience, is an operator's.
    let (status, operators) = app
        .get("/api/v1/users?platformAdmin=true", &people.operator_token("olga"))
        .await;
    assert_eq!(status, StatusCode::OK, "{operators}");
    assert_eq!(operators["users"][0]["email"], "olga@example.com");
    let accepted = events(app, "user.invite_accepted", "success").await;
    assert_eq!(
        accepted[0]["metadata"]["diff"],
        json!({"platformAdmin": {"from": false, "to": true}})
    );
    assert_eq!(accepted[0]["tenantSlug"], Value::Null);
    assert!(pending(app).await.is_empty());
    let revoke = format!("{INVITES}/{}", olga["id"].as_str().unwrap());
    let (status, error) = send(app, Method::DELETE, &revoke, &app.operator_token, None).await;
    assert_eq!(
        (status, error_code(&error)),
        (StatusCode::NOT_FOUND, "not_found"),
        "accepted is gone"
    );
}

async fn only_a_first_sight_with_a_verified_address_accepts(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    let eve = invite(app, json!({"email": "eve@example.com", "platformAdmin": true})).await;
    let operator_list = "/api/v1/users?platformAdmin=true";

    // Someone who claims the address without the provider vouching for it gets nothing.
    for (subject, verified) in [
        ("impostor", json!(false)),
        ("impostor2", Value::Null),
        ("impostor3", json!("no")),
    ] {
        let token = people.token_with(subject, "dezky-operator", |claims| {
            claims["email"] = json!("EVE@example.com");
            match &verified {
                Value::Null => {
                    claims.as_object_mut().unwrap().remove("email_verified");
                }
                flag => claims["email_verified"] = flag.clone(),
            }
        });
        let (status, _) = app.get(operator_list, &token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{subject}");
    }
    assert_eq!(pending(app).await.len(), 1);
    assert!(events(app, "user.invite_accepted", "success").await.is_empty());

    // The address is now a user's: a new invitation for it is refused; grant directly instead.
    let (status, error) = app
        .post(
            INVITES,
            &app.operator_token,
            &json!({"email": "eve@example.com", "tenant": "x", "role": "member"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "unknown tenant first: {error}");
    let (status, error) = app
        .post(
            INVITES,
            &app.operator_token,
            &json!({"email": "Eve@Example.com", "platformAdmin": true}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "invite_exists"));

    // A later sign-in of an existing subject, even verified, is not a first sight.
    let verified_later = people.token_with("impostor", "dezky-operator", |claims| {
        claims["email"] = json!("eve@example.com");
    });
    let (status, _) = app.get(operator_list, &verified_later).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(pending(app).await.len(), 1);

    // Revoked: gone, audited, and a revoked invitation gives nothing.
    let revoke = format!("{INVITES}/{}", eve["id"].as_str().unwrap());
    let (status, revoked) = send(app, Method::DELETE, &revoke, &app.operator_token, None).await;
    assert_eq!((status, &revoked["id"]), (StatusCode::OK, &eve["id"]));
    let recorded = events(app, "user.invite_revoked", "success").await;
    assert_eq!((recorded.len(), &recorded[0]["resourceId"]), (1, &eve["id"]));
    assert_eq!(recorded[0]["metadata"]["invite"]["email"], "eve@example.com");
    let (status, _) = send(app, Method::DELETE, &revoke, &app.operator_token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(events(app, "user.invite_revoked", "success").await.len(), 1);
    let (status, _) = app.get(operator_list, &people.operator_token("eve")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "eve's first sight after the revocation");

    // With eve a user now, inviting her address is refused.
    let (status, error) = app
        .post(
            INVITES,
            &app.operator_token,
            &json!({"email": "eve@example.com", "platformAdmin": true}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "user_exists"));
}

async fn acceptance_refuses_what_the_tenant_no_longer_allows(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    let op = app.operator_token.clone();
    for slug in ["acme", "globex", "initech"] {
        create_tenant(app, json!({"slug": slug, "name": slug})).await;
    }
    invite(
        app,
        json!({"email": "ada@example.com", "tenant": "acme", "role": "owner"}),
    )
    .await;
    invite(
        app,
        json!({"email": "bob@example.com", "tenant": "globex", "role": "member", "platformAdmin": true}),
    )
    .await;
    invite(
        app,
        json!({"email": "carl@example.com", "tenant": "initech", "role": "admin"}),
    )
    .await;
    invite(
        app,
        json!({"email": "dora@example.com", "tenant": "initech", "role": "member"}),
    )
    .await;

    // acme got an owner meanwhile: ada signs in as a user without the membership.
    people.member("acme", "zed", "owner").await;
    let (status, _) = app.get("/api/v1/tenants/acme", &people.token("ada")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let accepted = events(app, "user.invite_accepted", "success").await;
    assert_eq!(accepted[0]["actorEmail"], "ada@example.com");
    assert_eq!(accepted[0]["metadata"]["diff"], json!({}));
    assert_eq!(accepted[0]["metadata"]["refused"]["tenant"], "acme");
    let reason = accepted[0]["metadata"]["refused"]["reason"].as_str().unwrap();
    assert!(reason.contains("already has an owner"), "{reason}");
    assert_eq!(role_of(&members_of(app, "acme").await, "ada@example.com"), Value::Null);

    // globex was deleted: bob still becomes a platform admin, the membership is refused.
    send(app, Method::DELETE, "/api/v1/tenants/globex", &op, None).await;
    let (status, _) = app.get("/api/v1/users", &people.operator_token("bob")).await;
    assert_eq!(status, StatusCode::OK, "platformAdmin was granted");
    let accepted = events(app, "user.invite_accepted", "success").await;
    assert_eq!(
        accepted[0]["metadata"]["diff"],
        json!({"platformAdmin": {"from": false, "to": true}})
    );
    let reason = accepted[0]["metadata"]["refused"]["reason"].as_str().unwrap();
    assert!(reason.contains("deleted"), "{reason}");

    // Purging initech revokes the invitations into it (a later initech must not get them).
    send(app, Method::DELETE, "/api/v1/tenants/initech", &op, None).await;
    let (status, _) = send(app, Method::DELETE, "/api/v1/tenants/initech/purge", &op, None).await;
    assert_eq!(status, StatusCode::OK);
    let purged = events(app, "tenant.purged", "success").await;
    assert_eq!(purged[0]["metadata"]["invitesRevoked"], 2);
    assert!(pending(app).await.is_empty());
    create_tenant(app, json!({"slug": "initech", "name": "New Initech"})).await;
    let (status, _) = app.get("/api/v1/tenants/initech", &people.token("carl")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(members_of(app, "initech").await["users"], json!([]));
}

async fn bad_invitations_are_named_and_write_nothing(db: TestDatabase) {
    let people = People::start(db).await;
    let app = &people.app;
    let op = app.operator_token.clone();
    create_tenant(app, json!({"slug": "acme", "name": "Acme"})).await;
    create_tenant(app, json!({"slug": "gone", "name": "Gone"})).await;
    send(app, Method::DELETE, "/api/v1/tenants/gone", &op, None).await;
    people.member("acme", "owner", "owner").await;
    invite(app, json!({"email": "ada@example.com", "platformAdmin": true})).await;
    let before = app.event_count().await;

    for (body, status, code, field) in [
        (
            json!({"email": "not-an-address", "platformAdmin": true}),
            400,
            "invalid_field",
            "email",
        ),
        (
            json!({"email": 42, "platformAdmin": true}),
            400,
            "invalid_field",
            "email",
        ),
        (json!({"platformAdmin": true}), 400, "invalid_field", "email"),
        (json!({"email": "x@example.com"}), 400, "invalid_field", "platformAdmin"),
        (
            json!({"email": "x@example.com", "platformAdmin": "yes"}),
            400,
            "invalid_field",
            "platformAdmin",
        ),
        (
            json!({"email": "x@example.com", "tenant": "nowhere", "role": "member"}),
            400,
            "invalid_field",
            "tenant",
        ),
        (
            json!({"email": "x@example.com", "tenant": "Not A Slug", "role": "member"}),
            400,
            "invalid_field",
            "tenant",
        ),
        (
            json!({"email": "x@example.com", "tenant": "acme", "role": "boss"}),
            400,
            "invalid_field",
            "role",
        ),
        (
            json!({"email": "x@example.com", "tenant": "acme"}),
            400,
            "invalid_field",
            "role",
        ),
        (
            json!({"email": "x@example.com", "role": "admin"}),
            400,
            "invalid_field",
            "tenant",
        ),
        (
            json!({"email": "x@example.com", "platformAdmin": true, "groups": ["a"]}),
            400,
            "invalid_field",
            "groups",
        ),
        (
            json!({"email": "x@example.com", "name": "", "platformAdmin": true}),
            400,
            "invalid_field",
            "name",
        ),
        (
            json!({"email": "ADA@example.com", "platformAdmin": true}),
            409,
            "invite_exists",
            "invitation",
        ),
        (
            json!({"email": "owner@example.com", "platformAdmin": true}),
            409,
            "user_exists",
            "user",
        ),
        (
            json!({"email": "x@example.com", "tenant": "acme", "role": "owner"}),
            409,
            "role_rule",
            "tenant 'acme'",
        ),
        (
            json!({"email": "x@example.com", "tenant": "gone", "role": "member"}),
            409,
            "invalid_state",
            "tenant 'gone'",
        ),
        (json!(["email"]), 400, "invalid_json", "the request body"),
    ] {
        let (got, error) = app.post(INVITES, &op, &body).await;
        assert_eq!((got.as_u16(), error_code(&error)), (status, code), "{body}: {error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(field), "{body}: {message}");
    }
    // A second owner invitation into a tenant without an owner.
    create_tenant(app, json!({"slug": "solo", "name": "Solo"})).await;
    invite(
        app,
        json!({"email": "first@example.com", "tenant": "solo", "role": "owner"}),
    )
    .await;
    let (status, error) = app
        .post(
            INVITES,
            &op,
            &json!({"email": "second@example.com", "tenant": "solo", "role": "owner"}),
        )
        .await;
    assert_eq!((status, error_code(&error)), (StatusCode::CONFLICT, "invite_exists"));
    let (status, error) = send(app, Method::DELETE, &format!("{INVITES}/inv_nothing"), &op, None).await;
    assert_eq!((status, error_code(&error)), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(
        app.event_count().await,
        before + 2,
        "only solo's creation and its invitation were recorded"
    );
    assert_eq!(pending(app).await.len(), 2);
}

async fn only_operators_invite_list_and_revoke(db: TestDatabase) {
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
    people.make_platform_admin("olga").await;
    let made = invite(
        app,
        json!({"email": "x@example.com", "tenant": "acme", "role": "member"}),
    )
    .await;
    let revoke = format!("{INVITES}/{}", made["id"].as_str().unwrap());

    let tenant_token = app.tenant_token("acme").await;
    let callers = [
        ("tenant owner", people.token("alice")),
        ("tenant admin", people.token("bob")),
        ("tenant member", people.token("carl")),
        ("partner staff", people.token("pete")),
        ("outsider", people.token("dora")),
        ("platform admin without the operator audience", people.token("olga")),
        ("tenant token", tenant_token),
    ];
    for (who, token) in &callers {
        let body = json!({"email": "y@example.com", "tenant": "acme", "role": "admin"});
        let (status, error) = app.post(INVITES, token, &body).await;
        assert_eq!(
            (status, error_code(&error)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{who}"
        );
        let (status, _) = app.get(INVITES, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
        let (status, _) = send(app, Method::DELETE, &revoke, token, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{who}");
    }
    let denied = events(app, "user.invited", "denied").await;
    assert_eq!(denied.len(), callers.len(), "every refused invitation is recorded");
    assert_eq!(denied[0]["metadata"]["reason"], "inviting users requires an operator");
    assert_eq!(denied.last().unwrap()["actorEmail"], "alice@example.com");
    let denied = events(app, "user.invite_revoked", "denied").await;
    assert_eq!(denied.len(), callers.len());
    assert_eq!(denied[0]["resourceId"], made["id"]);
    assert_eq!(pending(app).await.len(), 1, "still pending, nothing else made");

    // An operator signed in through OIDC may, and is the recorded actor.
    let olga = people.operator_token("olga");
    let (status, listed) = app.get(INVITES, &olga).await;
    assert_eq!(
        (status, listed["invites"].as_array().unwrap().len()),
        (StatusCode::OK, 1)
    );
    let (status, _) = send(app, Method::DELETE, &revoke, &olga, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        events(app, "user.invite_revoked", "success").await[0]["actorEmail"],
        "olga@example.com"
    );
}

on_both_backends!(
    the_first_verified_sign_in_receives_the_invitation,
    only_a_first_sight_with_a_verified_address_accepts,
    acceptance_refuses_what_the_tenant_no_longer_allows,
    bad_invitations_are_named_and_write_nothing,
    only_operators_invite_list_and_revoke,
);
