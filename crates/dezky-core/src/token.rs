//! API tokens: what a token may do, and how its secret is shown once and stored only as a hash.

use crate::names::{Slug, Source};
use sha2::{Digest, Sha256};
use std::fmt;

const PREFIX: &str = "dzk_";

/// What a token may do. Operator tokens may do everything an operator may; a tenant token reads
/// one tenant's slice of the log; an ingest token only publishes events as its fixed source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenScope {
    Operator,
    Tenant(Slug),
    Ingest(Source),
}

impl TokenScope {
    pub fn kind(&self) -> &'static str {
        match self {
            TokenScope::Operator => "operator",
            TokenScope::Tenant(_) => "tenant",
            TokenScope::Ingest(_) => "ingest",
        }
    }
}

/// The secret a client presents. It is shown once at creation; its `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiTokenSecret(String);

/// SHA-256 of the secret, lowercase hex: all the database ever holds. The secret carries 256 bits
/// of randomness, so a fast unsalted hash is enough (there is nothing to brute-force).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl ApiTokenSecret {
    /// Builds a secret from 32 random bytes supplied by the caller (randomness is a parameter).
    pub fn from_random_bytes(bytes: [u8; 32]) -> ApiTokenSecret {
        ApiTokenSecret(format!("{PREFIX}{}", hex::encode(bytes)))
    }

    /// Accepts a presented bearer value if it has the shape of one of our tokens.
    pub fn parse(presented: &str) -> Option<ApiTokenSecret> {
        let hex_part = presented.strip_prefix(PREFIX)?;
        (hex_part.len() == 64 && hex_part.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| ApiTokenSecret(presented.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for ApiTokenSecret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ApiTokenSecret(<redacted>)")
    }
}

impl TokenHash {
    pub fn from_hex(hex_digest: String) -> TokenHash {
        TokenHash(hex_digest)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_round_trips_and_hashes_stably() {
        let secret = ApiTokenSecret::from_random_bytes([7; 32]);
        assert!(secret.expose().starts_with("dzk_"));
        assert_eq!(ApiTokenSecret::parse(secret.expose()), Some(secret.clone()));
        assert_eq!(secret.hash(), ApiTokenSecret::parse(secret.expose()).unwrap().hash());
        assert_eq!(secret.hash().as_str().len(), 64);
        assert_ne!(secret.hash(), ApiTokenSecret::from_random_bytes([8; 32]).hash());
    }

    #[test]
    fn malformed_secrets_are_not_tokens() {
        for bad in ["", "dzk_", "dzk_abc", "xyz_0000", &format!("dzk_{}", "g".repeat(64))] {
            assert_eq!(ApiTokenSecret::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let secret = ApiTokenSecret::from_random_bytes([1; 32]);
        assert!(!format!("{secret:?}").contains(&secret.expose()[4..]));
    }
}
