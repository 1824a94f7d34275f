//! Signed-in people: the app with a local identity provider, OIDC tokens for named subjects
//! (`<name>@example.com`, e-mail verified), and shortcuts to give them memberships.

use crate::support::app::{TestApp, now, spawn_with};
use crate::support::idp::{IdentityProvider, SigningKey};
use dezky_core::{Action, ActorType, NewAuditEvent, Source};
use dezky_testkit::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct People {
    pub app: TestApp,
    pub idp: IdentityProvider,
    pub key: SigningKey,
}

impl People {
    pub async fn start(db: TestDatabase) -> People {
        let idp = IdentityProvider::start().await;
        let key = SigningKey::es256("key-1");
        idp.publish(&key);
        let app = spawn_with(db, &[("AUTHENTIK_ISSUER", &idp.issuer)]).await;
        People { app, idp, key }
    }

    /// A portal token for `name` (no groups: access must come from memberships).
    pub fn token(&self, name: &str) -> String {
        self.key.sign(&self.idp.claims(name, "dezky-portal", &[]))
    }

    pub fn operator_token(&self, name: &str) -> String {
        self.key.sign(&self.idp.claims(name, "dezky-operator", &[]))
    }

    /// A token whose claims `change` edits first (e-mail, its verification, audience, …).
    pub fn token_with(&self, name: &str, audience: &str, change: impl FnOnce(&mut Value)) -> String {
        let mut claims = self.idp.claims(name, audience, &[]);
        change(&mut claims);
        self.key.sign(&claims)
    }

    /// Signs `name` in once (creating the user) and returns the user id.
    pub async fn user_id(&self, name: &str) -> String {
        let (status, _) = self.app.get("/api/v1/tenants/none", &self.token(name)).await;
        assert!(status.is_client_error());
        self.app
            .store
            .find_users_by_email(&format!("{name}@example.com"))
            .await
            .unwrap()
            .pop()
            .expect("user exists")
            .id
    }

    pub async fn make_platform_admin(&self, name: &str) -> String {
        let id = self.user_id(name).await;
        let audit = NewAuditEvent::new(
            now(),
            ActorType::System,
            Action::parse("user.platform_admin_granted").unwrap(),
            Source::platform(),
        );
        self.app
            .store
            .set_platform_admin(&id, true, audit, now())
            .await
            .unwrap();
        id
    }

    pub async fn add_member(&self, tenant: &str, user_id: &str, role: &str) -> (StatusCode, Value) {
        let path = format!("/api/v1/tenants/{tenant}/users");
        self.app
            .post(
                &path,
                &self.app.operator_token,
                &json!({"userId": user_id, "role": role}),
            )
            .await
    }

    /// Signs `name` in and makes them `role` of `tenant`.
    pub async fn member(&self, tenant: &str, name: &str, role: &str) -> String {
        let id = self.user_id(name).await;
        let (status, body) = self.add_member(tenant, &id, role).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        id
    }

    /// Signs `name` in and makes them staff of `partner`.
    pub async fn staff(&self, partner: &str, name: &str) -> String {
        let id = self.user_id(name).await;
        let path = format!("/api/v1/partners/{partner}/staff");
        let (status, body) = self
            .app
            .post(&path, &self.app.operator_token, &json!({"userId": id}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        id
    }
}
