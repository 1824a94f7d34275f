//! Stalwart's telemetry webhooks: the signature and the event batch (formats.md, "Stalwart mail
//! server: webhooks"; upstream `crates/common/src/telemetry/webhooks/mod.rs`).

use crate::fields::{bounded_metadata, ip_address, short_text, text_field};
use crate::filter::ActionFilter;
use crate::verb::{action, fallback_action};
use base64::Engine;
use dezky_chain::canonical::to_canonical_string;
use dezky_core::{ActorType, NewAuditEvent, Outcome, Slug, Source, Timestamp};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const SOURCE: &str = "stalwart";

/// Whether `header` (the `X-Signature` value) is the standard base64 of HMAC-SHA-256(`secret`,
/// `body`). Computed over the raw bytes before any parsing; compared in constant time.
pub fn signature_matches(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Ok(claimed) = base64::engine::general_purpose::STANDARD.decode(header.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&claimed).is_ok()
}

/// What is wrong with a webhook body; nothing from it is recorded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("{field}: {problem}")]
    Field { field: String, problem: &'static str },
}

fn field_error(field: impl Into<String>, problem: &'static str) -> WebhookError {
    WebhookError::Field {
        field: field.into(),
        problem,
    }
}

/// The verb formats.md maps a Stalwart event type to, if it has one.
pub fn mapped_verb(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "auth.success" => "auth_success",
        "auth.failed" | "auth.too-many-attempts" => "auth_failed",
        "security.authentication-ban"
        | "security.ip-blocked"
        | "security.abuse-ban"
        | "security.scan-ban"
        | "security.loiter-ban" => "auth_banned",
        "message-ingest.ham" | "queue.queue-message" | "queue.message-queued" => "mail_received",
        "delivery.delivered" | "delivery.completed" => "mail_delivered",
        "delivery.failed" | "delivery.rcpt-to-failed" | "delivery.dsn-perm-fail" => "mail_failed",
        "smtp.relay-not-allowed" | "smtp.mailbox-does-not-exist" | "delivery.rcpt-to-rejected" => "mail_rejected",
        "mta-hook.action-reject" | "milter.action-reject" | "sieve.action-reject" | "smtp.rcpt-to-greylisted" => {
            "policy_rejection"
        }
        "smtp.dkim-fail" => "dkim_failure",
        "smtp.dmarc-fail" => "dmarc_failure",
        "message-ingest.spam" | "spam.classify" => "spam_detected",
        _ => return None,
    })
}

/// Failures and rejections are `failure`, bans `denied`. An unmapped type counts as a failure
/// when its name says so (`…-failed`, `…-fail`, `…-error`, `…-rejected`, `…-reject`).
fn outcome_of(event_type: &str, verb: Option<&str>) -> Outcome {
    match verb {
        Some("auth_banned") => Outcome::Denied,
        Some(
            "auth_failed" | "mail_failed" | "mail_rejected" | "policy_rejection" | "dkim_failure" | "dmarc_failure",
        ) => Outcome::Failure,
        Some(_) => Outcome::Success,
        None => {
            let last = event_type.rsplit(['.', '-']).next().unwrap_or_default();
            if matches!(last, "failed" | "fail" | "error" | "rejected" | "reject") {
                Outcome::Failure
            } else {
                Outcome::Success
            }
        }
    }
}

/// The dedup key: Stalwart's `id` is not unique and changes on retry, so the key is a digest of
/// what the event says (the data carries a 64-bit `spanId` that separates real events).
pub fn external_id(event_type: &str, created_at: &str, data: &Value) -> String {
    let mut digest = Sha256::new();
    digest.update(event_type.as_bytes());
    digest.update([b'\n']);
    digest.update(created_at.as_bytes());
    digest.update([b'\n']);
    digest.update(to_canonical_string(data).as_bytes());
    format!("stalwart:{}", hex::encode(digest.finalize()))
}

/// `to` as a list of addresses (Stalwart sends a string or an array).
fn recipients(data: &Map<String, Value>) -> Vec<&str> {
    match data.get("to") {
        Some(Value::String(address)) => vec![address.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn domain_of(address: &str) -> Option<&str> {
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim().trim_end_matches('>'))
        .filter(|domain| !domain.is_empty())
}

/// A webhook body's events that pass the filter, and how many it dropped.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookBatch {
    pub events: Vec<NewAuditEvent>,
    pub filtered: usize,
}

/// Parses a webhook body into events, all or nothing: every event is checked, also those
/// `filter` (`STALWART_EVENTS_ONLY`/`_SKIP`, on `type`) then drops. `tenant_of_domain` maps a
/// mail domain to the tenant that owns it (until domains exist it answers `None` and events
/// stay global).
pub fn parse_webhook(
    body: &[u8],
    filter: &ActionFilter,
    tenant_of_domain: &dyn Fn(&str) -> Option<Slug>,
) -> Result<WebhookBatch, WebhookError> {
    let document: Value = serde_json::from_slice(body).map_err(|error| WebhookError::NotJson(error.to_string()))?;
    let events = document
        .get("events")
        .ok_or_else(|| field_error("events", "is missing"))?
        .as_array()
        .ok_or_else(|| field_error("events", "must be an array"))?;
    let mut batch = WebhookBatch {
        events: Vec::with_capacity(events.len()),
        filtered: 0,
    };
    for (index, event) in events.iter().enumerate() {
        match map_event(index, event, filter, tenant_of_domain)? {
            Some(event) => batch.events.push(event),
            None => batch.filtered += 1,
        }
    }
    Ok(batch)
}

/// The event, or `None` when the filter drops its (valid) type.
fn map_event(
    index: usize,
    event: &Value,
    filter: &ActionFilter,
    tenant_of_domain: &dyn Fn(&str) -> Option<Slug>,
) -> Result<Option<NewAuditEvent>, WebhookError> {
    let field = |name: &str| format!("events[{index}].{name}");
    let object = event
        .as_object()
        .ok_or_else(|| field_error(format!("events[{index}]"), "must be an object"))?;
    let event_type = object
        .get("type")
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
        .ok_or_else(|| field_error(field("type"), "must be a non-empty string"))?;
    let created_at = object
        .get("createdAt")
        .and_then(Value::as_str)
        .ok_or_else(|| field_error(field("createdAt"), "must be an RFC 3339 time"))?;
    let at = Timestamp::parse_rfc3339(created_at)
        .map_err(|_| field_error(field("createdAt"), "must be an RFC 3339 time"))?;
    if !filter.passes(event_type) {
        return Ok(None);
    }
    let empty = Map::new();
    let data_value = object.get("data").cloned().unwrap_or(Value::Object(Map::new()));
    let data = data_value.as_object().unwrap_or(&empty);

    let verb = mapped_verb(event_type);
    let mut mapped = NewAuditEvent::new(
        at,
        ActorType::Service,
        match verb {
            Some(verb) => action(SOURCE, verb),
            None => fallback_action(SOURCE, event_type),
        },
        Source::parse(SOURCE).expect("a valid source"),
    );
    mapped.outcome = outcome_of(event_type, verb);
    let account = text_field(data, "accountName");
    if let Some(account) = &account {
        mapped.actor_type = ActorType::User;
        mapped.actor_id = Some(account.clone());
        mapped.actor_email = account.contains('@').then(|| account.clone());
    }
    mapped.actor_ip = data.get("remoteIp").and_then(Value::as_str).and_then(ip_address);
    let recipients = recipients(data);
    if let Some(queue_id) = data.get("queueId").filter(|value| value.is_u64() || value.is_string()) {
        mapped.resource_type = Some("message".into());
        mapped.resource_id = short_text(&queue_id.to_string().replace('"', ""));
        mapped.resource_name = short_text(&recipients.join(", "));
    } else if !recipients.is_empty() {
        mapped.resource_type = Some("recipient".into());
        mapped.resource_name = short_text(&recipients.join(", "));
    } else if let Some(account) = &account {
        mapped.resource_type = Some("account".into());
        mapped.resource_name = Some(account.clone());
    }
    let domain = account
        .as_deref()
        .and_then(domain_of)
        .or_else(|| recipients.first().copied().and_then(domain_of));
    mapped.tenant_slug = domain.and_then(|domain| tenant_of_domain(&domain.to_ascii_lowercase()));
    mapped.external_id = Some(external_id(event_type, created_at, &data_value));
    // The whole upstream event, unknown fields included, so nothing Stalwart said is lost.
    mapped.metadata = bounded_metadata(object.clone());
    Ok(Some(mapped))
}

#[cfg(test)]
mod tests;
