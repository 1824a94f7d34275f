//! oCIS's event bus: one NATS JetStream message of the `main-queue` stream (formats.md, "oCIS
//! event bus"; upstream reva `pkg/events/*.go` for the event structs and `events.Publish`,
//! go-micro's `events.Event` for the envelope, oCIS `services/audit/pkg/types/conversion.go`
//! for which audit action each event type becomes).
//!
//! The consumer (dezky-server) reads messages with its own durable consumer and hands each body
//! to [`parse_message`]; it acks a message only after the event (or the decision to skip it) is
//! durable. A message that cannot be decoded ([`EnvelopeError`]) will never decode: count it as
//! rejected, ack it and move on, so one bad message does not stall the stream.
//! [`stream_gap`] tells it when the stream sequence jumped (messages removed before we read
//! them), which it records with [`crate::gap::gap_event`].
//!
//! The file tail and the bus describe the same actions with the same verbs and the same source
//! (`ocis`), but their external ids differ (`ocis-bus:<envelope ID>` here): enabling both
//! records each file/share/space action twice. The bus alone carries `UserSignedIn`.

use crate::fields::{bounded_metadata, text_field};
use crate::filter::ActionFilter;
use crate::ocis_audit::TenantHint;
use crate::verb::fallback_action;
use base64::Engine;
use dezky_core::event::limits;
use dezky_core::{ActorType, NewAuditEvent, Outcome, Slug, Source, Timestamp};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

mod cs3;
mod verbs;

use cs3::{opaque_id, resource_id, string_field, timestamp_of};
pub use verbs::{short_type, verb_of};

pub const SOURCE: &str = "ocis";
/// The stream and subject oCIS publishes to.
pub const STREAM: &str = "main-queue";
/// A message larger than this is rejected (oCIS events are a few KiB).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The go-micro envelope, decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// `ID` (falls back to `Metadata.eventid`): the dedup key.
    pub id: String,
    /// `Metadata.eventtype` as sent, e.g. `events.FileUploaded`.
    pub event_type: String,
    /// `Timestamp`; `None` when absent or Go's zero time.
    pub timestamp: Option<Timestamp>,
    pub topic: Option<String>,
    /// Every `Metadata` entry (`eventid`, `traceparent`, `initiatorid`, `extrainfo`, …).
    pub metadata: Map<String, Value>,
    /// The event itself: `Payload` base64-decoded and parsed (an object).
    pub payload: Map<String, Value>,
}

/// Why a message is not an oCIS event; it is counted as rejected and acked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("the message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("the message is not JSON: {0}")]
    NotJson(String),
    #[error("{field}: {problem}")]
    Field { field: &'static str, problem: &'static str },
}

fn field_error(field: &'static str, problem: &'static str) -> EnvelopeError {
    EnvelopeError::Field { field, problem }
}

/// What to do with a decoded message.
#[derive(Clone, Debug, PartialEq)]
pub enum BusOutcome {
    Event(Box<NewAuditEvent>),
    /// The operator's filter drops the verb (by default the reads, as for the file): ack,
    /// count, record nothing.
    Filtered,
}

/// Decodes the envelope: `{"ID","Topic","Timestamp","Metadata":{"eventtype",…},"Payload":"<base64>"}`.
///
/// Missing optional parts are tolerated (`Topic`, `Timestamp`, `Metadata` entries other than
/// `eventtype`, a `null` or absent `Payload`, which becomes `{}`); present but malformed ones
/// are rejected, naming the field.
pub fn decode_envelope(message: &[u8]) -> Result<Envelope, EnvelopeError> {
    if message.len() > MAX_MESSAGE_BYTES {
        return Err(EnvelopeError::TooLarge);
    }
    let document: Value = serde_json::from_slice(message).map_err(|error| EnvelopeError::NotJson(error.to_string()))?;
    let object = document
        .as_object()
        .ok_or_else(|| field_error("(message)", "must be a JSON object"))?;
    let metadata = match object.get("Metadata") {
        Some(Value::Object(metadata)) => metadata.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => return Err(field_error("Metadata", "must be an object of strings")),
    };
    if metadata.values().any(|value| !value.is_string()) {
        return Err(field_error("Metadata", "must be an object of strings"));
    }
    let event_type = metadata
        .get("eventtype")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|event_type| !event_type.is_empty())
        .ok_or_else(|| field_error("Metadata.eventtype", "is missing"))?
        .to_owned();
    let id = optional_string(object, "ID")?
        .or_else(|| metadata.get("eventid").and_then(Value::as_str).map(str::to_owned))
        .map(|id| id.trim().to_owned())
        .filter(|id| !id.is_empty())
        .ok_or_else(|| field_error("ID", "is missing (and so is Metadata.eventid)"))?;
    let timestamp = match optional_string(object, "Timestamp")? {
        None => None,
        Some(text) => {
            let at =
                Timestamp::parse_rfc3339(&text).map_err(|_| field_error("Timestamp", "must be an RFC 3339 time"))?;
            // Go's zero time.Time: no time at all.
            (at.as_millis() > GO_ZERO_TIME_MILLIS).then_some(at)
        }
    };
    let topic = optional_string(object, "Topic")?;
    let payload = match object.get("Payload") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::String(encoded)) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| field_error("Payload", "must be standard base64"))?;
            if bytes.is_empty() {
                Map::new()
            } else {
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(Value::Object(payload)) => payload,
                    Ok(_) => return Err(field_error("Payload", "must encode a JSON object")),
                    Err(_) => return Err(field_error("Payload", "must encode JSON")),
                }
            }
        }
        Some(_) => return Err(field_error("Payload", "must be a base64 string")),
    };
    Ok(Envelope {
        id,
        event_type,
        timestamp,
        topic,
        metadata,
        payload,
    })
}

/// `0001-01-01T00:00:00Z` in milliseconds since the Unix epoch.
pub(crate) const GO_ZERO_TIME_MILLIS: i64 = -62_135_596_800_000;

fn optional_string(object: &Map<String, Value>, key: &'static str) -> Result<Option<String>, EnvelopeError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(field_error(key, "must be a string")),
    }
}

/// Decodes and maps one message body. `filter` is the file tail's (`OCIS_AUDIT_ACTIONS_ONLY` /
/// `_SKIP`), applied to the audit action the event type becomes (the verb without `ocis.`);
/// its denylist spares a failed link access. `now` stands in for an event without any time.
pub fn parse_message(
    message: &[u8],
    filter: &ActionFilter,
    now: Timestamp,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> Result<BusOutcome, EnvelopeError> {
    let envelope = decode_envelope(message)?;
    let verb = verb_of(&envelope.event_type, &envelope.payload);
    // The skip list is for read traffic; a failed public-link access (someone guessing a link
    // password) is a security signal and is kept even though it shares the verb.
    let failed = short_type(&envelope.event_type) == "LinkAccessFailed";
    if !filter.is_allowed(&verb) || (!failed && filter.is_skipped(&verb)) {
        return Ok(BusOutcome::Filtered);
    }
    Ok(BusOutcome::Event(Box::new(map_envelope(
        &envelope, &verb, now, tenant_of,
    ))))
}

/// Keys whose values grant access (a public link's token): never stored.
const SECRET_KEYS: &[&str] = &["Token", "ShareToken"];

fn map_envelope(
    envelope: &Envelope,
    verb: &str,
    now: Timestamp,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> NewAuditEvent {
    let payload = &envelope.payload;
    let short = short_type(&envelope.event_type);
    let at = ["Timestamp", "CTime", "MTime", "ExpiredAt"]
        .iter()
        .find_map(|key| timestamp_of(payload.get(*key)))
        .or(envelope.timestamp)
        .unwrap_or(now);
    let mut event = NewAuditEvent::new(
        at,
        ActorType::Service,
        // Table verbs and normalised names are lower_snake already: this keeps them as they are.
        fallback_action(SOURCE, verb),
        Source::parse(SOURCE).expect("a valid source"),
    );
    if short == "LinkAccessFailed" {
        event.outcome = Outcome::Failure;
    }
    // The executant is who acted; share events of older versions only name the sharer.
    let actor = opaque_id(payload.get("Executant")).or_else(|| opaque_id(payload.get("Sharer")));
    if let Some(actor) = actor {
        event.actor_type = ActorType::User;
        event.actor_id = Some(actor);
    }
    set_resource(&mut event, short, payload);
    let space_name = (event.resource_type.as_deref() == Some("space"))
        .then(|| {
            string_field(payload, "Name").or_else(|| {
                payload
                    .get("Space")
                    .and_then(Value::as_object)
                    .and_then(|space| text_field(space, "name"))
            })
        })
        .flatten();
    event.tenant_slug = space_name
        .as_deref()
        .and_then(|name| tenant_of(TenantHint::SpaceName(name)))
        .or_else(|| {
            event
                .actor_id
                .as_deref()
                .and_then(|user| tenant_of(TenantHint::User(user)))
        });
    event.external_id = Some(external_id(&envelope.id));

    let mut metadata = payload.clone();
    for key in SECRET_KEYS {
        if let Some(token) = metadata
            .get_mut(*key)
            .filter(|token| token.as_str().is_some_and(|t| !t.is_empty()))
        {
            *token = Value::String("********".into());
        }
    }
    let mut about = Map::new();
    about.insert("ID".into(), Value::String(envelope.id.clone()));
    about.insert("Type".into(), Value::String(envelope.event_type.clone()));
    if let Some(topic) = &envelope.topic {
        about.insert("Topic".into(), Value::String(topic.clone()));
    }
    if let Some(timestamp) = envelope.timestamp {
        about.insert("Timestamp".into(), Value::String(timestamp.to_rfc3339()));
    }
    about.insert("Metadata".into(), Value::Object(envelope.metadata.clone()));
    metadata.insert("Envelope".into(), Value::Object(about));
    event.metadata = bounded_metadata(metadata);
    event
}

fn set_resource(event: &mut NewAuditEvent, short: &str, payload: &Map<String, Value>) {
    let share_id = opaque_id(payload.get("ShareID"));
    let item = resource_id(payload.get("ItemID"));
    let reference = payload.get("Ref").and_then(Value::as_object);
    let path = reference.and_then(|reference| text_field(reference, "path"));
    let file = reference
        .and_then(|reference| resource_id(reference.get("resource_id").or_else(|| reference.get("ResourceId"))))
        .or_else(|| resource_id(payload.get("ID")).filter(|_| short.starts_with("Item")));
    let (kind, id, name) = if short.starts_with("Share") || short.starts_with("Link") || short.starts_with("Received") {
        // A share names its item; when the event has no share id the item is the resource.
        match share_id {
            Some(share_id) => ("share", Some(share_id), item),
            None => ("share", item, None),
        }
    } else if short.starts_with("Space") {
        let name = string_field(payload, "Name");
        ("space", opaque_id(payload.get("ID")), name)
    } else if short.starts_with("Group") {
        ("group", string_field(payload, "GroupID"), None)
    } else if short.starts_with("User") && short != "UserSignedIn" {
        ("user", string_field(payload, "UserID"), None)
    } else if short == "UserSignedIn" || short == "BackchannelLogout" {
        ("user", event.actor_id.clone(), None)
    } else {
        ("file", file, path)
    };
    if id.is_some() || name.is_some() {
        event.resource_type = Some(kind.to_owned());
        event.resource_id = id;
        event.resource_name = name;
    }
}

/// `ocis-bus:<ID>`; an ID too long for the field is replaced by its SHA-256.
pub fn external_id(id: &str) -> String {
    let plain = format!("ocis-bus:{id}");
    if plain.len() <= limits::EXTERNAL_ID {
        return plain;
    }
    format!("ocis-bus:sha256:{}", hex::encode(Sha256::digest(id.as_bytes())))
}

/// The stream sequences skipped, when a message's stream sequence jumps past the one after the
/// last recorded. A redelivery (sequence at or below the last) is no gap. Returns `(first,
/// last)` skipped, inclusive. Skipped is not yet lost: a message delivered to an earlier
/// incarnation of our consumer that died before acknowledging it is still in the stream and
/// comes back after the ack wait. The consumer asks the stream which of the skipped messages
/// are gone (removed by the stream's limits or deleted) and records only those as a gap.
pub fn stream_gap(last_acked: Option<u64>, sequence: u64) -> Option<(u64, u64)> {
    let last = last_acked?;
    (sequence > last.saturating_add(1)).then(|| (last + 1, sequence - 1))
}

/// The details of an `ingest.gap_detected` event: of the skipped sequences `first..=last` of
/// `stream` (from [`stream_gap`]), `missing` are no longer in the stream.
pub fn stream_gap_details(stream: &str, first_skipped: u64, last_skipped: u64, missing: u64) -> Map<String, Value> {
    let mut details = Map::new();
    details.insert("stream".into(), Value::String(stream.into()));
    details.insert("firstMissingSequence".into(), first_skipped.into());
    details.insert("lastMissingSequence".into(), last_skipped.into());
    details.insert("missingMessages".into(), missing.into());
    details
}

#[cfg(test)]
mod tests;
