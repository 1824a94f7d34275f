//! What one event commits to: leaf format version 1, and the hash chain over leaves.
//!
//! ```text
//! personal   = canonical({actorEmail, actorId, actorIp, metadata, resourceName})
//! commitment = SHA-256(salt ‖ personal)                       salt: 32 random bytes per event
//! header     = canonical({action, actorType, at, externalId, outcome, partnerSlug,
//!                         recordedAt, resourceId, resourceType, seq, source, tenantSlug, v: 1})
//! leaf       = SHA-256(0x00 ‖ header ‖ commitment)            RFC 9162 leaf hash
//! hash       = SHA-256(prevHash ‖ leaf)                       prevHash of seq 0: 32 zero bytes
//! ```
//!
//! Times are integer milliseconds since the epoch; absent optional fields are `null`. Personal
//! data is committed through a salted hash, so erasing it (deleting the fields and the salt)
//! keeps the commitment, the leaf, the chain and every proof valid, while the salt stops anyone
//! from confirming a guessed e-mail address against the commitment.

use crate::canonical;
use crate::canonical_text::CanonicalObjectText;
use crate::merkle::{Hash, hash_leaf};
use dezky_core::{AuditEvent, NewAuditEvent, Timestamp};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;

pub const LEAF_VERSION: u64 = 1;
pub const GENESIS_PREV_HASH: Hash = [0; 32];

/// The fields hashed directly into the leaf.
#[derive(Clone, Copy, Debug)]
pub struct LeafHeader<'a> {
    pub seq: u64,
    pub at: Timestamp,
    pub recorded_at: Timestamp,
    pub actor_type: &'a str,
    pub action: &'a str,
    pub outcome: &'a str,
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    pub tenant_slug: Option<&'a str>,
    pub partner_slug: Option<&'a str>,
    pub source: &'a str,
    pub external_id: Option<&'a str>,
}

/// The personal fields, committed through a salted hash.
#[derive(Clone, Copy, Debug)]
pub struct PersonalFields<'a> {
    pub actor_id: Option<&'a str>,
    pub actor_email: Option<&'a str>,
    pub actor_ip: Option<&'a str>,
    pub resource_name: Option<&'a str>,
    pub metadata: Metadata<'a>,
}

/// The metadata as the commitment takes it.
#[derive(Clone, Copy, Debug)]
pub enum Metadata<'a> {
    Object(&'a Map<String, Value>),
    /// Stored text that is already the object's canonical form: hashed as it is, unparsed.
    CanonicalText(CanonicalObjectText<'a>),
}

impl<'a> Metadata<'a> {
    pub fn is_empty(&self) -> bool {
        match self {
            Metadata::Object(map) => map.is_empty(),
            Metadata::CanonicalText(text) => text.as_str() == "{}",
        }
    }

    /// The metadata as a map (canonical text is parsed; only erasure records need this).
    pub fn to_map(&self) -> Cow<'a, Map<String, Value>> {
        match self {
            Metadata::Object(map) => Cow::Borrowed(map),
            Metadata::CanonicalText(text) => Cow::Owned(serde_json::from_str(text.as_str()).unwrap_or_default()),
        }
    }

    fn write_canonical(&self, out: &mut String) {
        match self {
            Metadata::Object(map) => canonical::write_object(out, map),
            Metadata::CanonicalText(text) => out.push_str(text.as_str()),
        }
    }
}

/// `NewAuditEvent` and `AuditEvent` share these field names; one expansion serves both.
macro_rules! header_of {
    ($event:expr, $seq:expr, $recorded_at:expr) => {
        LeafHeader {
            seq: $seq,
            at: $event.at,
            recorded_at: $recorded_at,
            actor_type: $event.actor_type.as_str(),
            action: $event.action.as_str(),
            outcome: $event.outcome.as_str(),
            resource_type: $event.resource_type.as_deref(),
            resource_id: $event.resource_id.as_deref(),
            tenant_slug: $event.tenant_slug.as_ref().map(|slug| slug.as_str()),
            partner_slug: $event.partner_slug.as_ref().map(|slug| slug.as_str()),
            source: $event.source.as_str(),
            external_id: $event.external_id.as_deref(),
        }
    };
}

macro_rules! personal_of {
    ($event:expr) => {
        PersonalFields {
            actor_id: $event.actor_id.as_deref(),
            actor_email: $event.actor_email.as_deref(),
            actor_ip: $event.actor_ip.as_deref(),
            resource_name: $event.resource_name.as_deref(),
            metadata: Metadata::Object(&$event.metadata),
        }
    };
}

impl<'a> LeafHeader<'a> {
    pub fn of_new(event: &'a NewAuditEvent, seq: u64, recorded_at: Timestamp) -> LeafHeader<'a> {
        header_of!(event, seq, recorded_at)
    }

    pub fn of_stored(event: &'a AuditEvent) -> LeafHeader<'a> {
        header_of!(event, event.seq, event.recorded_at)
    }

    /// The canonical JSON of the header, written directly in its sorted member order (the
    /// golden vectors and a test against the generic canonicaliser pin it down).
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(320 + COMMITMENT_LEN);
        let optional = write_optional;
        out.push_str("{\"action\":");
        canonical::write_string(&mut out, self.action);
        out.push_str(",\"actorType\":");
        canonical::write_string(&mut out, self.actor_type);
        out.push_str(",\"at\":");
        write_millis(&mut out, self.at.as_millis());
        out.push_str(",\"externalId\":");
        optional(&mut out, self.external_id);
        out.push_str(",\"outcome\":");
        canonical::write_string(&mut out, self.outcome);
        out.push_str(",\"partnerSlug\":");
        optional(&mut out, self.partner_slug);
        out.push_str(",\"recordedAt\":");
        write_millis(&mut out, self.recorded_at.as_millis());
        out.push_str(",\"resourceId\":");
        optional(&mut out, self.resource_id);
        out.push_str(",\"resourceType\":");
        optional(&mut out, self.resource_type);
        out.push_str(",\"seq\":");
        canonical::write_integer(&mut out, self.seq);
        out.push_str(",\"source\":");
        canonical::write_string(&mut out, self.source);
        out.push_str(",\"tenantSlug\":");
        optional(&mut out, self.tenant_slug);
        out.push_str(",\"v\":");
        canonical::write_integer(&mut out, LEAF_VERSION);
        out.push('}');
        out
    }
}

const COMMITMENT_LEN: usize = 32;

fn write_optional(out: &mut String, value: Option<&str>) {
    match value {
        Some(text) => canonical::write_string(out, text),
        None => out.push_str("null"),
    }
}

fn write_millis(out: &mut String, millis: i64) {
    if millis < 0 {
        out.push('-');
    }
    canonical::write_integer(out, millis.unsigned_abs());
}

impl<'a> PersonalFields<'a> {
    pub fn of_new(event: &'a NewAuditEvent) -> PersonalFields<'a> {
        personal_of!(event)
    }

    pub fn of_stored(event: &'a AuditEvent) -> PersonalFields<'a> {
        personal_of!(event)
    }

    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("{\"actorEmail\":");
        write_optional(&mut out, self.actor_email);
        out.push_str(",\"actorId\":");
        write_optional(&mut out, self.actor_id);
        out.push_str(",\"actorIp\":");
        write_optional(&mut out, self.actor_ip);
        out.push_str(",\"metadata\":");
        self.metadata.write_canonical(&mut out);
        out.push_str(",\"resourceName\":");
        write_optional(&mut out, self.resource_name);
        out.push('}');
        out
    }
}

pub fn personal_commitment(salt: &[u8; 32], personal: &PersonalFields<'_>) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(personal.canonical().as_bytes());
    hasher.finalize().into()
}

pub fn leaf_hash(header: &LeafHeader<'_>, commitment: &Hash) -> Hash {
    let mut data = header.canonical().into_bytes();
    data.extend_from_slice(commitment);
    hash_leaf(&data)
}

pub fn chain_hash(prev_hash: &Hash, leaf: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(leaf);
    hasher.finalize().into()
}

/// Parses a hex SHA-256 value (as `hex::decode` does: either case, exactly 64 digits). A
/// table lookup per digit: verification parses five of these per event.
pub fn parse_hash(text: &str) -> Option<Hash> {
    let digits = text.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    let mut invalid = 0;
    for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let (high, low) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
        invalid |= high | low;
        *byte = (high << 4) | low;
    }
    (invalid & NOT_HEX == 0).then_some(hash)
}

const NOT_HEX: u8 = 0x80;

/// Each byte's value as a hex digit, or `NOT_HEX`.
const HEX_VALUE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        let lower = b"0123456789abcdef"[digit];
        let upper = b"0123456789ABCDEF"[digit];
        table[lower as usize] = digit as u8;
        table[upper as usize] = digit as u8;
        digit += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use dezky_core::{Action, ActorType, Outcome, Slug, Source};
    use proptest::prelude::*;
    use serde_json::json;

    fn sample() -> NewAuditEvent {
        let mut event = NewAuditEvent::new(
            Timestamp::from_millis(1_773_480_413_007),
            ActorType::User,
            Action::parse("tenant.created").unwrap(),
            Source::platform(),
        );
        event.actor_email = Some("admin@dezky.example".into());
        event.tenant_slug = Some(Slug::parse("acme").unwrap());
        event.metadata.insert("plan".into(), json!("business"));
        event
    }

    #[test]
    fn header_canonical_form_is_sorted_and_versioned() {
        let event = sample();
        let header = LeafHeader::of_new(&event, 7, Timestamp::from_millis(1_773_480_414_000));
        assert_eq!(
            header.canonical(),
            r#"{"action":"tenant.created","actorType":"user","at":1773480413007,"externalId":null,"outcome":"success","partnerSlug":null,"recordedAt":1773480414000,"resourceId":null,"resourceType":null,"seq":7,"source":"platform","tenantSlug":"acme","v":1}"#
        );
    }

    #[test]
    fn header_canonical_form_matches_the_generic_canonicaliser() {
        let mut event = sample();
        event.resource_id = Some("r \"1\"".into());
        event.external_id = Some("ext".into());
        let header = LeafHeader::of_new(&event, 9, Timestamp::from_millis(-5));
        let generic = canonical::to_canonical_string(&json!({
            "v": 1, "seq": 9, "at": 1_773_480_413_007i64, "recordedAt": -5, "actorType": "user",
            "action": "tenant.created", "outcome": "success", "resourceType": null, "resourceId": "r \"1\"",
            "tenantSlug": "acme", "partnerSlug": null, "source": "platform", "externalId": "ext",
        }));
        assert_eq!(header.canonical(), generic);
    }

    #[test]
    fn personal_canonical_form_matches_the_generic_canonicaliser() {
        let event = sample();
        let personal = PersonalFields::of_new(&event);
        let generic = canonical::to_canonical_string(&json!({
            "actorId": null, "actorEmail": "admin@dezky.example", "actorIp": null,
            "resourceName": null, "metadata": { "plan": "business" },
        }));
        assert_eq!(personal.canonical(), generic);
    }

    /// Vectors written by an independent Python implementation (testdata/generate_leaf_vectors.py).
    #[test]
    fn golden_vectors_from_an_independent_implementation() {
        let vectors: Vec<serde_json::Value> = serde_json::from_str(include_str!("../testdata/leaf-v1.json")).unwrap();
        assert!(vectors.len() >= 2);
        let mut recognised = 0;
        for vector in &vectors {
            let event = &vector["event"];
            let text = |key: &str| event[key].as_str();
            let header = LeafHeader {
                seq: vector["seq"].as_u64().unwrap(),
                at: Timestamp::from_millis(event["at"].as_i64().unwrap()),
                recorded_at: Timestamp::from_millis(vector["recordedAt"].as_i64().unwrap()),
                actor_type: text("actorType").unwrap(),
                action: text("action").unwrap(),
                outcome: text("outcome").unwrap(),
                resource_type: text("resourceType"),
                resource_id: text("resourceId"),
                tenant_slug: text("tenantSlug"),
                partner_slug: text("partnerSlug"),
                source: text("source").unwrap(),
                external_id: text("externalId"),
            };
            let personal = PersonalFields {
                actor_id: text("actorId"),
                actor_email: text("actorEmail"),
                actor_ip: text("actorIp"),
                resource_name: text("resourceName"),
                metadata: Metadata::Object(event["metadata"].as_object().unwrap()),
            };
            let expected = &vector["expected"];
            let name = vector["name"].as_str().unwrap();
            assert_eq!(
                header.canonical(),
                expected["headerCanonical"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                personal.canonical(),
                expected["personalCanonical"].as_str().unwrap(),
                "{name}"
            );
            let salt = parse_hash(vector["salt"].as_str().unwrap()).unwrap();
            let commitment = personal_commitment(&salt, &personal);
            assert_eq!(
                hex::encode(commitment),
                expected["personalCommitment"].as_str().unwrap(),
                "{name}"
            );
            // The metadata as the store prints it hashes to the same commitment unparsed.
            let stored = serde_json::to_string(&event["metadata"]).unwrap();
            if let Some(text) = CanonicalObjectText::recognise(&stored) {
                let unparsed = PersonalFields {
                    metadata: Metadata::CanonicalText(text),
                    ..personal
                };
                assert_eq!(personal_commitment(&salt, &unparsed), commitment, "{name}");
                recognised += 1;
            }
            let leaf = leaf_hash(&header, &commitment);
            assert_eq!(hex::encode(leaf), expected["leafHash"].as_str().unwrap(), "{name}");
            let prev = parse_hash(vector["prevHash"].as_str().unwrap()).unwrap();
            assert_eq!(
                hex::encode(chain_hash(&prev, &leaf)),
                expected["hash"].as_str().unwrap(),
                "{name}"
            );
        }
        assert_eq!(
            recognised,
            vectors.len(),
            "every vector's metadata prints in canonical form"
        );
    }

    #[test]
    fn every_committed_field_changes_the_leaf() {
        let base = sample();
        let salt = [9u8; 32];
        let leaf_of = |event: &NewAuditEvent, outcome_override: Option<Outcome>| {
            let mut event = event.clone();
            if let Some(outcome) = outcome_override {
                event.outcome = outcome;
            }
            let header = LeafHeader::of_new(&event, 1, Timestamp::from_millis(5));
            leaf_hash(&header, &personal_commitment(&salt, &PersonalFields::of_new(&event)))
        };
        let original = leaf_of(&base, None);
        assert_ne!(original, leaf_of(&base, Some(Outcome::Denied)));
        let mut changed = base.clone();
        changed.actor_email = Some("someone@else.example".into());
        assert_ne!(original, leaf_of(&changed, None));
        let mut changed = base.clone();
        changed.metadata.insert("plan".into(), json!("free"));
        assert_ne!(original, leaf_of(&changed, None));
        let mut changed = base.clone();
        changed.resource_id = Some("x".into());
        assert_ne!(original, leaf_of(&changed, None));
        // Another salt: same data, different commitment (guessing needs the salt).
        let other = personal_commitment(&[8u8; 32], &PersonalFields::of_new(&base));
        assert_ne!(other, personal_commitment(&salt, &PersonalFields::of_new(&base)));
    }

    proptest! {
        #[test]
        fn hashes_parse_as_hex_decodes_them(text in "[0-9a-fA-Fg ]{62,66}", bytes in any::<[u8; 32]>()) {
            let mut expected = [0u8; 32];
            let decoded = hex::decode_to_slice(&text, &mut expected).ok().map(|()| expected);
            prop_assert_eq!(parse_hash(&text), decoded);
            prop_assert_eq!(parse_hash(&hex::encode(bytes)), Some(bytes));
            prop_assert_eq!(parse_hash(&hex::encode_upper(bytes)), Some(bytes));
        }
    }
}
