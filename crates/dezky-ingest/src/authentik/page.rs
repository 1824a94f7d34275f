//! One page of the events list: `{"pagination":{"next","previous","count",…},"results":[…]}`.

use dezky_core::Timestamp;
use dezky_core::event::limits;
use serde_json::{Map, Value};
use std::cmp::Ordering;

/// The longest `pk` accepted: `authentik:<pk>` must fit the external id (Authentik's pks are
/// 36-character UUIDs).
const MAX_PK_BYTES: usize = limits::EXTERNAL_ID - "authentik:".len();

/// An event's `created` instant at the microsecond precision Authentik sends
/// (`2026-03-14T09:26:53.123456Z`), with the text exactly as received.
///
/// Two values are equal when they denote the same instant, whatever their spelling
/// (`Z` or `+00:00`): the high-water mark compares instants, not strings.
#[derive(Clone, Debug)]
pub struct Created {
    micros: i64,
    text: String,
}

impl Created {
    /// Parses an RFC 3339 time; digits after the sixth fractional one are dropped.
    pub fn parse(text: &str) -> Option<Created> {
        let text = text.trim();
        let millis = Timestamp::parse_rfc3339(text).ok()?.as_millis();
        // `parse_rfc3339` floors to the millisecond (also before 1970), so the microseconds
        // below it are the 4th to 6th fractional digits, whatever the offset.
        let fraction = text
            .get(19..)
            .and_then(|rest| rest.strip_prefix('.'))
            .map(|rest| rest.bytes().take_while(u8::is_ascii_digit).collect::<Vec<u8>>())
            .unwrap_or_default();
        let sub_millis = fraction
            .iter()
            .skip(3)
            .chain(std::iter::repeat(&b'0'))
            .take(3)
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
        Some(Created {
            micros: millis.checked_mul(1000)?.checked_add(sub_millis)?,
            text: text.to_owned(),
        })
    }

    /// Microseconds since the Unix epoch.
    pub fn micros(&self) -> i64 {
        self.micros
    }

    /// The text as Authentik sent it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant at the log's millisecond precision.
    pub fn timestamp(&self) -> Timestamp {
        Timestamp::from_millis(self.micros.div_euclid(1000))
    }
}

impl PartialEq for Created {
    fn eq(&self, other: &Self) -> bool {
        self.micros == other.micros
    }
}

impl Eq for Created {}

impl PartialOrd for Created {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Created {
    fn cmp(&self, other: &Self) -> Ordering {
        self.micros.cmp(&other.micros)
    }
}

/// One event of a page: the fields the walk needs, and the whole object for mapping.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthentikEvent {
    /// The event's UUID (stable across pages and polls).
    pub pk: String,
    pub created: Created,
    pub action: String,
    /// The event exactly as received (unknown fields included).
    pub raw: Map<String, Value>,
}

/// One page of the list, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct EventsPage {
    /// The next page's number; `None` on the last page (Authentik sends `0`).
    pub next: Option<u64>,
    /// The previous page's number; `None` on the first page (Authentik sends `0`).
    pub previous: Option<u64>,
    /// How many events the whole list held when this page was served.
    pub count: Option<u64>,
    pub events: Vec<AuthentikEvent>,
}

/// Why a response body is not a page; nothing from it is recorded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PageError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    /// `{"detail":"Invalid page."}` (served with 404): the page no longer exists, because events
    /// expired since the previous page was read. See [`super::PageWalk::page_vanished`].
    #[error("Authentik says the page does not exist (events expired while walking)")]
    InvalidPage,
    /// Another `{"detail": …}` body, such as a 403's "Token invalid/expired".
    #[error("Authentik answered: {0}")]
    Upstream(String),
    #[error("{field}: {problem}")]
    Field { field: String, problem: &'static str },
}

fn field_error(field: impl Into<String>, problem: &'static str) -> PageError {
    PageError::Field {
        field: field.into(),
        problem,
    }
}

/// Parses one response body of `GET /api/v3/events/events/`.
///
/// Tolerated: `next`/`previous` as `0`, `null` or absent; integral numbers written as floats
/// (`2.0`, the OpenAPI spec says `number`); no `autocomplete`; any extra fields; every event
/// shape (`user: {}`, `brand` or the pre-2024.2 `tenant`, `client_ip: null`, unknown actions).
/// Rejected, naming the field: a body that is not a page, and events without a `pk`,
/// a parseable `created` or an `action`, which no real Authentik produces (both are
/// non-null model fields), so such a page is not trusted at all.
pub fn parse_page(body: &[u8]) -> Result<EventsPage, PageError> {
    let document: Value = serde_json::from_slice(body).map_err(|error| PageError::NotJson(error.to_string()))?;
    let object = document
        .as_object()
        .ok_or_else(|| field_error("(body)", "must be a JSON object"))?;
    if !object.contains_key("results")
        && let Some(detail) = object.get("detail").and_then(Value::as_str)
    {
        return Err(if detail.trim() == "Invalid page." {
            PageError::InvalidPage
        } else {
            PageError::Upstream(detail.chars().take(200).collect())
        });
    }
    let pagination = object
        .get("pagination")
        .ok_or_else(|| field_error("pagination", "is missing"))?
        .as_object()
        .ok_or_else(|| field_error("pagination", "must be an object"))?;
    let page_number = |key: &'static str| -> Result<Option<u64>, PageError> {
        match pagination.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => match whole_number(value) {
                Some(0) => Ok(None),
                Some(number) => Ok(Some(number)),
                None => Err(field_error(
                    format!("pagination.{key}"),
                    "must be a non-negative whole number",
                )),
            },
        }
    };
    let next = page_number("next")?;
    let previous = page_number("previous")?;
    let count = match pagination.get("count") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            whole_number(value)
                .ok_or_else(|| field_error("pagination.count", "must be a non-negative whole number"))?,
        ),
    };
    let results = object
        .get("results")
        .ok_or_else(|| field_error("results", "is missing"))?
        .as_array()
        .ok_or_else(|| field_error("results", "must be an array"))?;
    let events = results
        .iter()
        .enumerate()
        .map(|(index, event)| parse_event(index, event))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EventsPage {
        next,
        previous,
        count,
        events,
    })
}

/// A JSON number that is a whole, non-negative value (`2` or `2.0`).
fn whole_number(value: &Value) -> Option<u64> {
    if let Some(number) = value.as_u64() {
        return Some(number);
    }
    let float = value.as_f64()?;
    (float >= 0.0 && float.fract() == 0.0 && float < u64::MAX as f64).then_some(float as u64)
}

fn parse_event(index: usize, event: &Value) -> Result<AuthentikEvent, PageError> {
    let field = |name: &str| format!("results[{index}].{name}");
    let object = event
        .as_object()
        .ok_or_else(|| field_error(format!("results[{index}]"), "must be an object"))?;
    let pk = object
        .get("pk")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|pk| !pk.is_empty())
        .ok_or_else(|| field_error(field("pk"), "must be a non-empty string"))?;
    if pk.len() > MAX_PK_BYTES {
        return Err(field_error(field("pk"), "is too long for an event id"));
    }
    let created = object
        .get("created")
        .and_then(Value::as_str)
        .and_then(Created::parse)
        .ok_or_else(|| field_error(field("created"), "must be an ISO-8601 time with an offset"))?;
    let action = object
        .get("action")
        .and_then(Value::as_str)
        .filter(|action| !action.trim().is_empty())
        .ok_or_else(|| field_error(field("action"), "must be a non-empty string"))?;
    Ok(AuthentikEvent {
        pk: pk.to_owned(),
        created,
        action: action.trim().to_owned(),
        raw: object.clone(),
    })
}

#[cfg(test)]
mod tests;
