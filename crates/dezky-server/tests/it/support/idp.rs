//! A local stand-in for Authentik's OIDC endpoints: discovery document and JWKS, with keys that
//! tests can add and rotate, and token signing with those keys.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use std::sync::{Arc, RwLock};

pub struct SigningKey {
    pub kid: String,
    algorithm: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
}

#[derive(Clone)]
struct Published {
    issuer: String,
    keys: Arc<RwLock<Vec<Value>>>,
}

pub struct IdentityProvider {
    pub issuer: String,
    keys: Arc<RwLock<Vec<Value>>>,
}

impl SigningKey {
    pub fn es256(kid: &str) -> SigningKey {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let mut jwk: Value = serde_json::from_str(&secret.public_key().to_jwk_string()).unwrap();
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!("ES256");
        jwk["use"] = json!("sig");
        SigningKey {
            kid: kid.to_owned(),
            algorithm: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            jwk,
        }
    }

    pub fn rs256(kid: &str) -> SigningKey {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let pem = private.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
        let jwk = json!({
            "kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(private.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(private.e().to_bytes_be()),
        });
        SigningKey {
            kid: kid.to_owned(),
            algorithm: Algorithm::RS256,
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            jwk,
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

async fn discovery(State(published): State<Published>) -> Json<Value> {
    Json(json!({
        "issuer": published.issuer,
        "jwks_uri": format!("{}jwks/", published.issuer),
        "authorization_endpoint": format!("{}authorize/", published.issuer),
    }))
}

async fn jwks(State(published): State<Published>) -> Json<Value> {
    Json(json!({ "keys": published.keys.read().unwrap().clone() }))
}

impl IdentityProvider {
    /// Serves `/application/o/dezky/` like Authentik on an ephemeral port.
    pub async fn start() -> IdentityProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/application/o/dezky/", listener.local_addr().unwrap());
        let keys = Arc::new(RwLock::new(vec![]));
        let published = Published {
            issuer: issuer.clone(),
            keys: keys.clone(),
        };
        let app = axum::Router::new()
            .route("/application/o/dezky/.well-known/openid-configuration", get(discovery))
            .route("/application/o/dezky/jwks/", get(jwks))
            .with_state(published);
        tokio::spawn(async move { axum::serve(listener, app).await });
        IdentityProvider { issuer, keys }
    }

    pub fn publish(&self, key: &SigningKey) {
        self.keys.write().unwrap().push(key.jwk.clone());
    }

    pub fn unpublish_all(&self) {
        self.keys.write().unwrap().clear();
    }

    /// Claims as Authentik issues them, valid for five minutes.
    pub fn claims(&self, subject: &str, audience: &str, groups: &[&str]) -> Value {
        let now = jsonwebtoken::get_current_timestamp();
        json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": now + 300,
            "iat": now,
            "auth_time": now,
            "email": format!("{subject}@example.com"),
            "email_verified": true,
            "name": format!("User {subject}"),
            "preferred_username": subject,
            "groups": groups,
        })
    }
}
