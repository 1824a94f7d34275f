//! OIDC bearer tokens against a local identity provider that speaks Authentik's formats.

use crate::support::app::{TestApp, error_code, now, spawn_with};
use crate::support::idp::{IdentityProvider, SigningKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use dezky_core::{Action, ActorType, NewAuditEvent, Source};
use dezky_testkit::{TestDatabase, on_both_backends};
use reqwest::StatusCode;
use serde_json::json;

async fn app_with_idp(db: TestDatabase) -> (TestApp, IdentityProvider, SigningKey) {
    let idp = IdentityProvider::start().await;
    let key = SigningKey::es256("key-1");
    idp.publish(&key);
    let app = spawn_with(db, &[("AUTHENTIK_ISSUER", &idp.issuer)]).await;
    (app, idp, key)
}

async fn status_of(app: &TestApp, path: &str, token: &str) -> StatusCode {
    app.get(path, token).await.0
}

async fn grant_platform_admin(app: &TestApp, email: &str, grant: bool) {
    let user = app
        .store
        .find_users_by_email(email)
        .await
        .unwrap()
        .pop()
        .expect("user exists");
    let audit = NewAuditEvent::new(
        now(),
        ActorType::System,
        Action::parse("user.platform_admin_granted").unwrap(),
        Source::platform(),
    );
    app.store
        .set_platform_admin(&user.id, grant, audit, now())
        .await
        .unwrap();
}

/// Makes the user with `email` an admin of tenant `acme` (created if missing): the memberships
/// table, not the token's groups, decides who reads a tenant's audit log.
async fn make_acme_admin(app: &TestApp, email: &str) {
    let op = &app.operator_token;
    let (status, _) = app
        .post("/api/v1/tenants", op, &json!({"slug": "acme", "name": "Acme"}))
        .await;
    assert!(matches!(status, StatusCode::CREATED | StatusCode::CONFLICT), "{status}");
    let user = app
        .store
        .find_users_by_email(email)
        .await
        .unwrap()
        .pop()
        .expect("signed in once");
    let (status, body) = app
        .post(
            "/api/v1/tenants/acme/users",
            op,
            &json!({"userId": user.id, "role": "admin"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn a_valid_token_creates_the_user_once_and_groups_grant_nothing(db: TestDatabase) {
    let (app, idp, key) = app_with_idp(db).await;
    let token = key.sign(&idp.claims("alice", "dezky-portal", &["acme", "dezky-users"]));
    assert_eq!(
        status_of(&app, "/api/v1/tenants/acme/audit", &token).await,
        StatusCode::FORBIDDEN,
        "a group named after the tenant is not a membership"
    );
    make_acme_admin(&app, "alice@example.com").await;
    assert_eq!(
        status_of(&app, "/api/v1/tenants/acme/audit", &token).await,
        StatusCode::OK
    );
    assert_eq!(
        status_of(&app, "/api/v1/tenants/globex/audit", &token).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(status_of(&app, "/api/v1/audit", &token).await, StatusCode::FORBIDDEN);

    let (_, page) = app.get("/api/v1/audit?action=user.created", &app.operator_token).await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "created on first sight only");
    assert_eq!(events[0]["actorEmail"], "alice@example.com");
    assert_eq!(events[0]["actorType"], "user");
    assert_eq!(events[0]["metadata"]["subject"], "alice");
    assert_eq!(events[0]["metadata"]["issuer"], idp.issuer.as_str());
}

async fn operators_need_the_operator_audience_and_platform_admin(db: TestDatabase) {
    let (app, idp, key) = app_with_idp(db).await;
    let operator_aud = key.sign(&idp.claims("olga", "dezky-operator", &[]));
    let portal_aud = key.sign(&idp.claims("olga", "dezky-portal", &[]));
    assert_eq!(
        status_of(&app, "/api/v1/audit", &operator_aud).await,
        StatusCode::FORBIDDEN,
        "audience alone is not enough"
    );
    grant_platform_admin(&app, "olga@example.com", true).await;
    assert_eq!(status_of(&app, "/api/v1/audit", &operator_aud).await, StatusCode::OK);
    assert_eq!(
        status_of(&app, "/api/v1/audit", &portal_aud).await,
        StatusCode::FORBIDDEN,
        "platformAdmin alone is not enough"
    );
    let mut both = idp.claims("olga", "x", &[]);
    both["aud"] = json!(["dezky-portal", "dezky-operator"]);
    assert_eq!(
        status_of(&app, "/api/v1/audit", &key.sign(&both)).await,
        StatusCode::OK,
        "audience lists work"
    );
    grant_platform_admin(&app, "olga@example.com", false).await;
    assert_eq!(
        status_of(&app, "/api/v1/audit", &operator_aud).await,
        StatusCode::FORBIDDEN,
        "revocation is immediate"
    );
}

async fn invalid_tokens_are_401(db: TestDatabase) {
    let (app, idp, key) = app_with_idp(db).await;
    let path = "/api/v1/tenants/acme/audit";
    let valid = idp.claims("bob", "dezky-portal", &["acme"]);
    status_of(&app, path, &key.sign(&valid)).await;
    make_acme_admin(&app, "bob@example.com").await;
    assert_eq!(status_of(&app, path, &key.sign(&valid)).await, StatusCode::OK);

    let mut expired = valid.clone();
    expired["exp"] = json!(jsonwebtoken::get_current_timestamp() - 3_600);
    let mut wrong_issuer = valid.clone();
    wrong_issuer["iss"] = json!("https://evil.example/application/o/dezky/");
    let mut wrong_audience = valid.clone();
    wrong_audience["aud"] = json!("someone-else");
    let mut no_exp = valid.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    // Same key id, different key: the signature cannot verify.
    let impostor = SigningKey::es256("key-1");
    let hs256 = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some("key-1".into());
        jsonwebtoken::encode(
            &header,
            &valid,
            &jsonwebtoken::EncodingKey::from_secret(b"client-secret"),
        )
        .unwrap()
    };
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(valid.to_string())
    );
    let cases = [
        ("expired", key.sign(&expired)),
        ("wrong issuer", key.sign(&wrong_issuer)),
        ("wrong audience", key.sign(&wrong_audience)),
        ("no exp", key.sign(&no_exp)),
        ("bad signature", impostor.sign(&valid)),
        ("hs256", hs256),
        ("alg none", unsigned),
        ("not a jwt", "a.b.c".to_owned()),
    ];
    let (_, missing) = app.get(path, "").await;
    for (name, token) in cases {
        let (status, body) = app.get(path, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{name}");
        assert_eq!(error_code(&body), "unauthorized", "{name}");
        assert_eq!(body, missing, "{name}: the reason is logged, never told to the client");
    }
}

async fn unknown_key_ids_trigger_a_refresh_so_rotation_works(db: TestDatabase) {
    let (app, idp, old_key) = app_with_idp(db).await;
    let path = "/api/v1/tenants/acme/audit";
    let claims = idp.claims("carol", "dezky-portal", &["acme"]);
    status_of(&app, path, &old_key.sign(&claims)).await;
    make_acme_admin(&app, "carol@example.com").await;
    assert_eq!(status_of(&app, path, &old_key.sign(&claims)).await, StatusCode::OK);
    let new_key = SigningKey::es256("key-2");
    assert_eq!(
        status_of(&app, path, &new_key.sign(&claims)).await,
        StatusCode::UNAUTHORIZED,
        "not published yet"
    );
    idp.unpublish_all();
    idp.publish(&new_key);
    assert_eq!(
        status_of(&app, path, &new_key.sign(&claims)).await,
        StatusCode::OK,
        "picked up after rotation"
    );
    let rsa_key = SigningKey::rs256("key-rsa");
    idp.publish(&rsa_key);
    assert_eq!(
        status_of(&app, path, &rsa_key.sign(&claims)).await,
        StatusCode::OK,
        "RS256 is accepted"
    );
}

async fn an_issuer_with_an_empty_jwks_accepts_nothing(db: TestDatabase) {
    let idp = IdentityProvider::start().await;
    let app = spawn_with(db, &[("AUTHENTIK_ISSUER", &idp.issuer)]).await;
    let key = SigningKey::es256("k");
    let token = key.sign(&idp.claims("dave", "dezky-portal", &["acme"]));
    assert_eq!(
        status_of(&app, "/api/v1/tenants/acme/audit", &token).await,
        StatusCode::UNAUTHORIZED
    );
    // API tokens keep working beside OIDC.
    assert_eq!(
        status_of(&app, "/api/v1/audit", &app.operator_token).await,
        StatusCode::OK
    );
}

on_both_backends!(
    a_valid_token_creates_the_user_once_and_groups_grant_nothing,
    operators_need_the_operator_audience_and_platform_admin,
    invalid_tokens_are_401,
    unknown_key_ids_trigger_a_refresh_so_rotation_works,
    an_issuer_with_an_empty_jwks_accepts_nothing,
);
