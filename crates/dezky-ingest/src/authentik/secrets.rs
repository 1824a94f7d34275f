//! Masking anything in an event that looks like a secret before it is stored.
//!
//! Authentik already masks keys matching Django's `API|TOKEN|KEY|SECRET|PASS|SIGNATURE` (the
//! failed login's `password` arrives as `********************`), but only in the context it
//! builds itself: custom events, query strings in `http_request.args` and older versions are
//! not guaranteed. The log is append-only, so a leaked secret could never be taken back; we
//! mask again, by key name, at any depth.

use serde_json::Value;

/// Authentik's (Django's) mask; values already equal to it are left alone.
pub const MASK: &str = "********************";

/// Masks, in place and at any depth, every scalar value (string, number) whose key looks like a
/// secret, including every scalar inside an object or array under such a key (an Enterprise
/// `diff` is `{"client_secret": {"previous_value", "new_value"}}`). The exception is a model
/// reference (`{"app","model_name","pk","name"}`, what Authentik puts under `token` or
/// `secret`): it names what was touched and is walked by the usual rules instead.
/// `null`, `""` and booleans are left alone (nothing to hide).
pub fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(object) => {
            for (key, inner) in object.iter_mut() {
                if is_secret_key(key) {
                    mask_scalars(inner);
                } else {
                    mask_secrets(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

fn mask_scalars(value: &mut Value) {
    match value {
        Value::String(text) if text.is_empty() || text == MASK => {}
        Value::String(_) | Value::Number(_) => *value = Value::String(MASK.to_owned()),
        Value::Array(items) => items.iter_mut().for_each(mask_scalars),
        Value::Object(object) if object.contains_key("model_name") => mask_secrets(value),
        Value::Object(object) => object.values_mut().for_each(mask_scalars),
        Value::Null | Value::Bool(_) => {}
    }
}

/// Substrings that make a key secret, compared case-insensitively.
const SECRET_PARTS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "api_key",
    "signature",
    "cookie",
    "authorization",
    "credential",
    "private",
    "session_key",
];

/// Whole words (split on `_`, `-`, `.`, space; case changes are not split) that make a key
/// secret.
const SECRET_WORDS: &[&str] = &["key", "pass", "pwd", "otp", "pin", "jwt", "bearer", "salt"];

/// Keys that are secret only on their own: `code` is an OAuth authorisation code in a query
/// string, but `status_code` is not.
const SECRET_KEYS: &[&str] = &["code"];

/// Keys that contain a secret part but are not secret: Authentik's policy result
/// (`passing`), and its own exception list.
const NOT_SECRET: &[&str] = &["passing"];

/// Whether a key names a secret: `password`, `client_secret`, `token`, `api_key`, `key`,
/// `signing-key`, `code` (an OAuth authorisation code in a query string), …
pub fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    if NOT_SECRET.contains(&lower.as_str()) {
        return false;
    }
    SECRET_KEYS.contains(&lower.as_str())
        || SECRET_PARTS.iter().any(|part| lower.contains(part))
        || lower
            .split(['_', '-', '.', ' '])
            .any(|word| SECRET_WORDS.contains(&word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_looking_keys_are_recognised() {
        for key in [
            "password",
            "Password",
            "new_password",
            "client_secret",
            "token",
            "access_token",
            "api_key",
            "apiKey",
            "key",
            "signing-key",
            "private_key",
            "x-signature",
            "HTTP_COOKIE",
            "authorization",
            "otp",
            "code",
            "mfa.otp",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "passing",
            "username",
            "model_name",
            "pk",
            "keyboard",
            "monkey",
            "stage",
            "auth_method",
            "country",
            "geo",
            "asn",
            "request_id",
            "status_code",
            "bypass",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn scalars_under_secret_keys_are_masked_at_any_depth() {
        let mut value = json!({
            "password": MASK,
            "username": "ceo@acme.example",
            "http_request": { "args": { "token": "abc123", "next": "/if/user/", "code": ["c0de", "c1de"] } },
            "custom": { "nested": [{ "client_secret": "s3cret", "api_key": 12345 }] },
            "token": { "app": "authentik_core", "model_name": "token", "pk": "a1b2", "name": "ci-token",
                       "key": "raw-token-value" },
            "diff": { "client_secret": { "previous_value": "old-s3cret", "new_value": "new-s3cret" } },
            "secret_view": null, "pin": "", "otp": true,
            "result": { "passing": false, "messages": ["denied"] }
        });
        mask_secrets(&mut value);
        assert_eq!(value["password"], MASK);
        assert_eq!(value["username"], "ceo@acme.example");
        assert_eq!(value["http_request"]["args"]["token"], MASK);
        assert_eq!(value["http_request"]["args"]["next"], "/if/user/");
        assert_eq!(value["http_request"]["args"]["code"], json!([MASK, MASK]));
        assert_eq!(value["custom"]["nested"][0]["client_secret"], MASK);
        assert_eq!(value["custom"]["nested"][0]["api_key"], MASK);
        // A model reference under a secret-looking key keeps what it names, but not its key.
        assert_eq!(value["token"]["name"], "ci-token");
        assert_eq!(value["token"]["pk"], "a1b2");
        assert_eq!(value["token"]["key"], MASK);
        assert_eq!(value["diff"]["client_secret"]["new_value"], MASK);
        assert_eq!(value["diff"]["client_secret"]["previous_value"], MASK);
        assert_eq!(value["secret_view"], Value::Null);
        assert_eq!(value["pin"], "");
        assert_eq!(value["otp"], true);
        assert_eq!(value["result"]["passing"], false);
        let text = value.to_string();
        for secret in [
            "abc123",
            "c0de",
            "s3cret",
            "12345",
            "raw-token-value",
            "old-s3cret",
            "new-s3cret",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}
