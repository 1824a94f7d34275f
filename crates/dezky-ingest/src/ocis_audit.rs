//! One line of oCIS's audit log file (`AUDIT_FORMAT=json`): formats.md, "oCIS: audit service
//! log"; upstream `services/audit/pkg/types/types.go` and `services/audit/pkg/service/service.go`.

use crate::fields::{bounded_metadata_from, ip_address, short_str, short_text};
use crate::filter::ActionFilter;
use crate::verb::fallback_action;
use dezky_core::{ActorType, NewAuditEvent, Slug, Source, Timestamp};
use fields::LineFields;
use serde_json::{Map, Value};
use std::borrow::Cow;

mod fields;

pub const SOURCE: &str = "ocis";
/// Actions skipped unless configured otherwise: the high-volume reads.
pub const DEFAULT_SKIPPED_ACTIONS: &[&str] = &["file_read", "public_link_accessed"];
/// A line longer than this is rejected instead of parsed (oCIS lines are well under 8 KiB).
pub const MAX_LINE_BYTES: usize = 256 * 1024;

/// Hints that may name the tenant an event belongs to, most specific first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantHint<'a> {
    /// A space's name (oCIS project spaces are named after the tenant in our provisioning).
    SpaceName(&'a str),
    /// The acting user's id.
    User(&'a str),
}

/// Why a line was not recorded. Rejected lines are counted and the tail moves on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Not a JSON object.
    NotJson,
    /// oCIS writes `AUDIT_FORMAT=minimal` (`<action>)` then an indented message): not parseable
    /// as events; the operator must set `AUDIT_FORMAT=json`.
    MinimalFormat,
    /// A JSON object without an `Action`.
    NoAction,
    TooLong,
}

impl Rejection {
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotJson => "not-json",
            Rejection::MinimalFormat => "minimal-format",
            Rejection::NoAction => "no-action",
            Rejection::TooLong => "too-long",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum LineOutcome {
    Event(Box<NewAuditEvent>),
    /// The operator's allowlist/denylist drops the action (counted, not recorded).
    Filtered,
    Rejected(Rejection),
}

/// Parses one complete line (without its newline), dropping the actions named in
/// `skipped_actions` exactly. `external_id` identifies the line (file fingerprint and offset);
/// `now` stands in for a missing or unreadable `Time`.
pub fn parse_line(
    line: &[u8],
    skipped_actions: &[String],
    external_id: String,
    now: Timestamp,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> LineOutcome {
    let passes = |action: &str| !skipped_actions.iter().any(|skipped| skipped == action);
    parse_line_with(line, &passes, || external_id, now, tenant_of)
}

/// [`parse_line`] with the configured filter (`OCIS_AUDIT_ACTIONS_ONLY`/`_SKIP`); the external
/// id is made only for a line that becomes an event.
pub fn parse_filtered_line(
    line: &[u8],
    filter: &ActionFilter,
    external_id: impl FnOnce() -> String,
    now: Timestamp,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> LineOutcome {
    parse_line_with(line, &|action| filter.passes(action), external_id, now, tenant_of)
}

fn parse_line_with(
    line: &[u8],
    passes: &dyn Fn(&str) -> bool,
    external_id: impl FnOnce() -> String,
    now: Timestamp,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> LineOutcome {
    if line.len() > MAX_LINE_BYTES {
        return LineOutcome::Rejected(Rejection::TooLong);
    }
    let not_json = || {
        LineOutcome::Rejected(if looks_minimal(line) {
            Rejection::MinimalFormat
        } else {
            Rejection::NotJson
        })
    };
    // Checked up front so that skipping unread strings cannot let invalid UTF-8 through.
    let Ok(text) = std::str::from_utf8(line) else {
        return not_json();
    };
    let Ok(fields) = serde_json::from_str::<LineFields<'_>>(text) else {
        return not_json();
    };
    let Some(action) = fields.action.as_deref().and_then(short_str) else {
        return LineOutcome::Rejected(Rejection::NoAction);
    };
    if !passes(action) {
        return LineOutcome::Filtered;
    }
    // The line parsed as an object above, so it parses as one here.
    let Ok(metadata) = serde_json::from_str::<Map<String, Value>>(text) else {
        return not_json();
    };
    LineOutcome::Event(Box::new(map_line(
        &fields,
        metadata,
        line.len(),
        action,
        external_id(),
        now,
        tenant_of,
    )))
}

/// `file_create)` or `   user 'x' created …`: the two line shapes of the minimal format.
fn looks_minimal(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches('\r');
    let is_action_line = text.ends_with(')')
        && text.len() > 1
        && text[..text.len() - 1]
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte == b'_');
    is_action_line || (text.starts_with("   ") && !text.trim().is_empty())
}

/// The acting user: `User` when oCIS filled it, else the id in `Message` ("user '<id>' …"),
/// which is the only place released versions put it for file, space, user and group events.
pub fn acting_user(user: Option<&str>, message: Option<&str>) -> Option<String> {
    user.and_then(short_text).or_else(|| {
        let message = message?;
        let rest = &message[message.find("user '")? + "user '".len()..];
        short_text(&rest[..rest.find('\'')?])
    })
}

fn map_line(
    fields: &LineFields<'_>,
    mut metadata: Map<String, Value>,
    source_bytes: usize,
    action: &str,
    external_id: String,
    now: Timestamp,
    tenant_of: &dyn Fn(TenantHint<'_>) -> Option<Slug>,
) -> NewAuditEvent {
    let text = |field: &Option<Cow<'_, str>>| field.as_deref().and_then(short_str).map(str::to_owned);
    let at = fields
        .time
        .as_deref()
        .and_then(|time| Timestamp::parse_rfc3339(time).ok())
        .unwrap_or(now);
    let mut event = NewAuditEvent::new(
        at,
        ActorType::User,
        fallback_action(SOURCE, action),
        Source::parse(SOURCE).expect("a valid source"),
    );
    event.actor_id = acting_user(fields.user.as_deref(), fields.message.as_deref());
    if event.actor_id.is_none() {
        event.actor_type = ActorType::Service;
    }
    event.actor_ip = fields
        .remote_addr
        .as_deref()
        .and_then(|address| ip_address(address).or_else(|| ip_address(strip_port(address))));
    let id_of = |key: &str| fields.id_of(key).and_then(short_str);
    let (resource_type, id_key) = [
        ("share", "ShareID"),
        ("file", "FileID"),
        ("space", "SpaceID"),
        ("group", "GroupID"),
        ("user", "UserID"),
    ]
    .into_iter()
    .find(|(_, key)| id_of(key).is_some())
    .unwrap_or(("file", "FileID"));
    let path = text(&fields.path);
    event.resource_id = id_of(id_key).map(str::to_owned);
    event.resource_type = (event.resource_id.is_some() || path.is_some()).then(|| resource_type.to_owned());
    event.resource_name = path.or_else(|| text(&fields.name));
    let space_name = (resource_type == "space").then(|| text(&fields.name)).flatten();
    event.tenant_slug = space_name
        .as_deref()
        .and_then(|name| tenant_of(TenantHint::SpaceName(name)))
        .or_else(|| {
            event
                .actor_id
                .as_deref()
                .and_then(|user| tenant_of(TenantHint::User(user)))
        });
    // A public link's token grants access to whoever holds it: never store it.
    if let Some(token) = metadata
        .get_mut("ShareToken")
        .filter(|token| token.as_str().is_some_and(|t| !t.is_empty()))
    {
        *token = Value::String("********".into());
    }
    event.external_id = Some(external_id);
    event.metadata = bounded_metadata_from(metadata, source_bytes);
    event
}

/// `192.0.2.7:443` → `192.0.2.7`, `[2001:db8::1]:443` → `2001:db8::1`.
fn strip_port(address: &str) -> &str {
    let address = address.trim();
    if let Some(rest) = address.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match address.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|byte| byte.is_ascii_digit()) => host,
        _ => address,
    }
}

#[cfg(test)]
mod tests;
