//! Verification of OIDC bearer tokens from Authentik (or any OIDC provider).
//!
//! Keys come from each configured issuer's discovery document and JWKS, cached per issuer and
//! refreshed when a token names a key id the cache does not know (key rotation), at most once
//! per `min_refresh_interval` so that tokens with made-up key ids cannot hammer the provider.
//! Only RS256 and ES256 are accepted: Authentik signs HS256 with the client secret when a
//! provider has no signing key, which would make every client able to mint tokens.

use crate::config::OidcConfig;
use crate::outbound;
use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Deserializer};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Why a token was refused. Logged for operators; clients only ever see a generic 401.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OidcRejection {
    #[error("token is not a well-formed JWT")]
    Malformed,
    #[error("token algorithm {0} is not accepted (RS256 or ES256 only)")]
    Algorithm(String),
    #[error("issuer '{0}' is not configured in AUTHENTIK_ISSUER")]
    UnknownIssuer(String),
    #[error("no key '{kid}' in the JWKS of {issuer}")]
    UnknownKey { issuer: String, kid: String },
    #[error("cannot fetch keys of {issuer}: {reason}")]
    KeysUnavailable { issuer: String, reason: String },
    #[error("token failed validation: {0}")]
    Invalid(String),
}

/// The claims dezky reads from a verified token.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub iss: String,
    pub sub: String,
    #[serde(deserialize_with = "string_or_list")]
    pub aud: Vec<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the provider vouches for `email`. Authentik sends `false` unless its e-mail scope
    /// mapping says otherwise (since 2025.10); only a verified address consumes an invitation.
    #[serde(default, deserialize_with = "lenient_flag")]
    pub email_verified: bool,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

fn string_or_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

/// `true`, or the string `"true"` some providers send; anything else (including a malformed
/// value, which must not make the whole token unreadable) is `false`.
fn lenient_flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match serde_json::Value::deserialize(deserializer)? {
        serde_json::Value::Bool(flag) => flag,
        serde_json::Value::String(text) => text.eq_ignore_ascii_case("true"),
        _ => false,
    })
}

struct CachedKey {
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Default)]
struct KeyCache {
    keys: HashMap<String, CachedKey>,
    fetched_at: Option<Instant>,
}

struct Issuer {
    url: String,
    cache: Mutex<KeyCache>,
}

pub struct OidcVerifier {
    issuers: Vec<Issuer>,
    audiences: Vec<String>,
    http: reqwest::Client,
    min_refresh_interval: Duration,
}

#[derive(Deserialize)]
struct Discovery {
    jwks_uri: String,
}

/// Which accepted algorithm a JWK is for, or `None` for keys we never use.
fn accepted_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(parameters) if parameters.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        _ => None,
    }
}

fn trim_slash(url: &str) -> &str {
    url.trim_end_matches('/')
}

impl OidcVerifier {
    pub fn new(config: &OidcConfig, min_refresh_interval: Duration) -> OidcVerifier {
        OidcVerifier {
            issuers: config
                .issuers
                .iter()
                .map(|url| Issuer {
                    url: url.clone(),
                    cache: Mutex::new(KeyCache::default()),
                })
                .collect(),
            audiences: config.audiences.clone(),
            http: outbound::http_client(),
            min_refresh_interval,
        }
    }

    pub async fn verify(&self, token: &str) -> Result<VerifiedClaims, OidcRejection> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| OidcRejection::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(OidcRejection::Algorithm(format!("{:?}", header.alg)));
        }
        let claimed_issuer = unverified_issuer(token).ok_or(OidcRejection::Malformed)?;
        let issuer = self
            .issuers
            .iter()
            .find(|issuer| trim_slash(&issuer.url) == trim_slash(&claimed_issuer))
            .ok_or_else(|| OidcRejection::UnknownIssuer(claimed_issuer.clone()))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&claimed_issuer]);
        validation.set_audience(&self.audiences);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 30;

        let mut cache = issuer.cache.lock().await;
        if self.find_key(&cache, header.kid.as_deref(), header.alg).is_none() && self.may_refresh(&cache) {
            self.refresh(issuer, &mut cache).await?;
        }
        let key = self
            .find_key(&cache, header.kid.as_deref(), header.alg)
            .ok_or_else(|| OidcRejection::UnknownKey {
                issuer: issuer.url.clone(),
                kid: header.kid.clone().unwrap_or_else(|| "(none)".to_owned()),
            })?;
        let mut claims = jsonwebtoken::decode::<VerifiedClaims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|error| OidcRejection::Invalid(error.to_string()))?;
        // Users are keyed by (issuer, subject): use the configured spelling, so `…/x` and `…/x/`
        // are one issuer, not two users.
        claims.iss = issuer.url.clone();
        Ok(claims)
    }

    fn may_refresh(&self, cache: &KeyCache) -> bool {
        cache
            .fetched_at
            .is_none_or(|fetched| fetched.elapsed() >= self.min_refresh_interval)
    }

    /// The key a token names; a token without `kid` may use the issuer's only key of its algorithm.
    fn find_key<'a>(&self, cache: &'a KeyCache, kid: Option<&str>, algorithm: Algorithm) -> Option<&'a CachedKey> {
        match kid {
            Some(kid) => cache.keys.get(kid).filter(|key| key.algorithm == algorithm),
            None => {
                let mut candidates = cache.keys.values().filter(|key| key.algorithm == algorithm);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
    }

    async fn refresh(&self, issuer: &Issuer, cache: &mut KeyCache) -> Result<(), OidcRejection> {
        cache.fetched_at = Some(Instant::now());
        let unavailable = |reason: String| OidcRejection::KeysUnavailable {
            issuer: issuer.url.clone(),
            reason,
        };
        let discovery_url = format!("{}/.well-known/openid-configuration", trim_slash(&issuer.url));
        let discovery: Discovery = outbound::get_json(&self.http, &discovery_url)
            .await
            .map_err(unavailable)?;
        let jwks: JwkSet = outbound::get_json(&self.http, &discovery.jwks_uri)
            .await
            .map_err(unavailable)?;
        let mut keys = HashMap::new();
        for (index, jwk) in jwks.keys.iter().enumerate() {
            let Some(algorithm) = accepted_algorithm(jwk) else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let kid = jwk.common.key_id.clone().unwrap_or_else(|| format!("#{index}"));
            keys.insert(kid, CachedKey { algorithm, key });
        }
        if keys.is_empty() {
            tracing::error!(
                issuer = %issuer.url,
                "the issuer's JWKS has no RS256 or ES256 key: in Authentik, a provider without a \
                 signing key signs HS256 with its client secret, which dezky refuses; select a \
                 signing key (certificate) on the OAuth2 provider"
            );
        }
        cache.keys = keys;
        Ok(())
    }
}

/// The `iss` claim read without verification, only to choose which issuer's keys to verify with.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audience_may_be_a_string_or_a_list() {
        let one: VerifiedClaims = serde_json::from_str(r#"{"iss":"i","sub":"s","aud":"a"}"#).unwrap();
        assert_eq!(one.aud, vec!["a"]);
        let many: VerifiedClaims =
            serde_json::from_str(r#"{"iss":"i","sub":"s","aud":["a","b"],"groups":["g"]}"#).unwrap();
        assert_eq!(many.aud, vec!["a", "b"]);
        assert_eq!(many.groups, vec!["g"]);
    }

    #[test]
    fn email_verified_is_true_only_when_the_provider_says_so() {
        let claims = |extra: &str| -> VerifiedClaims {
            serde_json::from_str(&format!(r#"{{"iss":"i","sub":"s","aud":"a"{extra}}}"#)).unwrap()
        };
        assert!(!claims("").email_verified);
        assert!(claims(r#","email_verified":true"#).email_verified);
        assert!(claims(r#","email_verified":"true""#).email_verified);
        for unverified in [
            r#","email_verified":false"#,
            r#","email_verified":"no""#,
            r#","email_verified":1"#,
            r#","email_verified":null"#,
        ] {
            assert!(!claims(unverified).email_verified, "{unverified}");
        }
    }

    #[test]
    fn issuer_is_read_from_the_payload() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"iss":"https://x/"}"#);
        assert_eq!(
            unverified_issuer(&format!("h.{payload}.s")).as_deref(),
            Some("https://x/")
        );
        assert_eq!(unverified_issuer("garbage"), None);
    }
}
