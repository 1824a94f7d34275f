//! The one audit event shape that every system's events are normalised into.

use crate::names::{Action, Slug, Source};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorType {
    User,
    Service,
    System,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

macro_rules! str_enum {
    ($name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(input: &str) -> Option<$name> {
                match input { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

str_enum!(ActorType { User => "user", Service => "service", System => "system" });
str_enum!(Outcome { Success => "success", Failure => "failure", Denied => "denied" });

/// An event as a producer hands it in, before the log assigns `seq` and `recordedAt`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEvent {
    pub at: Timestamp,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_ip: Option<String>,
    pub action: Action,
    pub outcome: Outcome,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub tenant_slug: Option<Slug>,
    pub partner_slug: Option<Slug>,
    pub source: Source,
    pub external_id: Option<String>,
    pub metadata: Map<String, Value>,
}

impl NewAuditEvent {
    /// A minimal event: everything optional left empty, outcome success, no metadata.
    pub fn new(at: Timestamp, actor_type: ActorType, action: Action, source: Source) -> Self {
        NewAuditEvent {
            at,
            actor_type,
            actor_id: None,
            actor_email: None,
            actor_ip: None,
            action,
            outcome: Outcome::Success,
            resource_type: None,
            resource_id: None,
            resource_name: None,
            tenant_slug: None,
            partner_slug: None,
            source,
            external_id: None,
            metadata: Map::new(),
        }
    }
}

/// An event as stored in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub seq: u64,
    pub at: Timestamp,
    pub recorded_at: Timestamp,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    pub actor_email: Option<String>,
    pub actor_ip: Option<String>,
    pub action: Action,
    pub outcome: Outcome,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub resource_name: Option<String>,
    pub tenant_slug: Option<Slug>,
    pub partner_slug: Option<Slug>,
    pub source: Source,
    pub external_id: Option<String>,
    pub metadata: Map<String, Value>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
    /// RFC 9162 leaf hash of this event (its position in the Merkle tree is `seq`).
    pub leaf_hash: Option<String>,
    /// SHA-256(salt ‖ canonical personal fields): what the leaf commits to instead of the
    /// personal data itself, so erasure keeps every hash valid.
    pub personal_commitment: Option<String>,
    /// The salt; `null` once the personal data was erased.
    pub personal_salt: Option<String>,
    /// The personal fields (actorId, actorEmail, actorIp, resourceName, metadata) were erased.
    pub erased: bool,
}

/// Upper bounds on free-form fields, so one producer cannot bloat every reader's page.
pub mod limits {
    pub const SHORT_TEXT: usize = 256;
    pub const EXTERNAL_ID: usize = 256;
    pub const METADATA_BYTES: usize = 32 * 1024;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_their_names() {
        for actor_type in ActorType::ALL {
            assert_eq!(ActorType::parse(actor_type.as_str()), Some(*actor_type));
            let json = serde_json::to_string(actor_type).unwrap();
            assert_eq!(json, format!("\"{}\"", actor_type.as_str()));
        }
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Some(*outcome));
        }
        assert_eq!(Outcome::parse("ok"), None);
    }

    #[test]
    fn stored_event_serialises_with_camel_case_names() {
        let event = AuditEvent {
            seq: 7,
            at: Timestamp::from_millis(0),
            recorded_at: Timestamp::from_millis(5),
            actor_type: ActorType::User,
            actor_id: Some("u1".into()),
            actor_email: None,
            actor_ip: None,
            action: Action::parse("tenant.created").unwrap(),
            outcome: Outcome::Success,
            resource_type: None,
            resource_id: None,
            resource_name: None,
            tenant_slug: Some(Slug::parse("acme").unwrap()),
            partner_slug: None,
            source: Source::platform(),
            external_id: None,
            metadata: Map::new(),
            prev_hash: None,
            hash: None,
            leaf_hash: None,
            personal_commitment: None,
            personal_salt: None,
            erased: false,
        };
        let json = serde_json::to_value(&event).unwrap();
        // csv::HEADER is checked to name exactly the serialised fields (see the csv tests).
        for key in crate::csv::HEADER {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["at"], "1970-01-01T00:00:00.000Z");
        let back: AuditEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, event);
    }
}
