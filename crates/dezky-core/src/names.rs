//! Validated names: audit verbs, event sources and tenant/partner slugs.
//!
//! Each is a newtype that can only be built through `parse`, so code holding one never has to
//! re-check it. The grammars are deliberately narrow (ASCII, lower case) so that they sort, index
//! and compare byte-wise in both databases and prefix filters can use plain range scans.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("{0}")]
    Grammar(&'static str),
}

/// Sources that only dezky itself may write as: its own mutations and the built-in ingesters.
pub const RESERVED_SOURCES: [&str; 4] = ["platform", "authentik", "stalwart", "ocis"];

/// A dotted lower_snake audit verb such as `tenant.created` or `stalwart.auth_failed`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Action(String);

/// The system an event came from: `platform`, `authentik`, or an ingest token's source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Source(String);

/// A DNS-label-safe identifier for tenants and partners (`acme`, `acme-gmbh`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

const ACTION_MAX: usize = 128;
const SOURCE_MAX: usize = 64;
const SLUG_MAX: usize = 63;

fn is_snake_segment(segment: &str) -> bool {
    let mut bytes = segment.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z')) && bytes.all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

fn check_length(input: &str, max: usize) -> Result<(), NameError> {
    if input.is_empty() {
        return Err(NameError::Empty);
    }
    if input.len() > max {
        return Err(NameError::TooLong { max });
    }
    Ok(())
}

impl Action {
    pub fn parse(input: &str) -> Result<Action, NameError> {
        check_length(input, ACTION_MAX)?;
        let segments: Vec<&str> = input.split('.').collect();
        if segments.len() < 2 || !segments.iter().all(|segment| is_snake_segment(segment)) {
            return Err(NameError::Grammar(
                "must be a dotted lower_snake verb such as tenant.created",
            ));
        }
        Ok(Action(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `prefix` can start an action: the characters an action may hold, ending anywhere.
pub fn is_action_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= ACTION_MAX
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && !prefix.contains("..")
        && prefix
            .bytes()
            .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.'))
}

impl Source {
    pub fn parse(input: &str) -> Result<Source, NameError> {
        check_length(input, SOURCE_MAX)?;
        if !is_snake_segment(input) {
            return Err(NameError::Grammar("must be lower_snake: a-z first, then a-z, 0-9 or _"));
        }
        Ok(Source(input.to_owned()))
    }

    pub fn platform() -> Source {
        Source("platform".to_owned())
    }

    pub fn is_reserved(&self) -> bool {
        RESERVED_SOURCES.contains(&self.0.as_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Slug {
    pub fn parse(input: &str) -> Result<Slug, NameError> {
        check_length(input, SLUG_MAX)?;
        let bytes = input.as_bytes();
        let inner_ok = bytes
            .iter()
            .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'-'));
        let ends_ok = bytes[0] != b'-' && bytes[bytes.len() - 1] != b'-';
        if !inner_ok || !ends_ok {
            return Err(NameError::Grammar(
                "must be a DNS label: a-z, 0-9 and -, not starting or ending with -",
            ));
        }
        Ok(Slug(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! display_and_deserialize {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).map_err(|error| serde::de::Error::custom(format!("'{text}' {error}")))
            }
        }
    };
}

display_and_deserialize!(Action);
display_and_deserialize!(Source);
display_and_deserialize!(Slug);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_dotted_lower_snake() {
        for good in ["tenant.created", "stalwart.auth_failed", "a.b.c", "flag.killed2"] {
            assert!(Action::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "tenant",
            "Tenant.created",
            "tenant.",
            ".created",
            "tenant..created",
            "tenant.created-x",
            "1tenant.created",
            "tenant.2x",
            "tenant created",
        ] {
            assert!(Action::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Action::parse(&"a.".repeat(70)).unwrap_err(),
            NameError::TooLong { max: 128 }
        );
    }

    #[test]
    fn action_prefixes() {
        assert!(is_action_prefix("tenant."));
        assert!(is_action_prefix("ten"));
        assert!(!is_action_prefix(""));
        assert!(!is_action_prefix(".tenant"));
        assert!(!is_action_prefix("tenant..x"));
        assert!(!is_action_prefix("tenant%"));
    }

    #[test]
    fn sources_are_lower_snake_and_some_are_reserved() {
        assert!(Source::parse("booking_service").is_ok());
        assert!(Source::parse("portal").is_ok());
        assert!(Source::parse("Portal").is_err());
        assert!(Source::parse("por-tal").is_err());
        assert!(Source::parse("").is_err());
        assert!(Source::parse("stalwart").unwrap().is_reserved());
        assert!(!Source::parse("portal").unwrap().is_reserved());
    }

    #[test]
    fn slugs_are_dns_labels() {
        for good in ["acme", "acme-gmbh", "a", "0x", &"a".repeat(63)] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "-acme", "acme-", "Acme", "acme_gmbh", "acme.de", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deserialize_names_the_value_and_problem() {
        let error = serde_json::from_str::<Slug>("\"Acme\"").unwrap_err().to_string();
        assert!(error.contains("'Acme'"), "{error}");
        assert!(error.contains("DNS label"), "{error}");
    }
}
