//! The high-water mark: how far the log has read Authentik's events. Stored as the source's
//! cursor text and committed in the same transaction as the events it covers.

use super::page::{AuthentikEvent, Created};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The newest instant recorded and every event `pk` recorded at exactly that instant.
///
/// `created` alone is not enough: several events can share a microsecond, and one of them may
/// appear only on a later poll. An event is already recorded when it is older than `created`,
/// or at `created` with its `pk` in `pks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HighWaterMark {
    pub created: Created,
    pub pks: BTreeSet<String>,
}

/// Why stored cursor text is not a high-water mark.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the Authentik cursor is not a high-water mark: {0}")]
pub struct CursorError(&'static str);

impl HighWaterMark {
    /// Whether `event` is at or before the mark, i.e. already recorded.
    pub fn covers(&self, event: &AuthentikEvent) -> bool {
        event.created < self.created || (event.created == self.created && self.pks.contains(&event.pk))
    }

    /// The cursor text: `{"created":"<as Authentik sent it>","pks":["…",…]}` (pks sorted).
    pub fn to_cursor(&self) -> String {
        json!({ "created": self.created.as_str(), "pks": self.pks }).to_string()
    }

    /// Reads what [`HighWaterMark::to_cursor`] wrote.
    pub fn from_cursor(text: &str) -> Result<HighWaterMark, CursorError> {
        let value: Value = serde_json::from_str(text).map_err(|_| CursorError("not JSON"))?;
        let created = value
            .get("created")
            .and_then(Value::as_str)
            .and_then(Created::parse)
            .ok_or(CursorError("`created` must be an ISO-8601 time"))?;
        let pks = value
            .get("pks")
            .and_then(Value::as_array)
            .ok_or(CursorError("`pks` must be an array"))?
            .iter()
            .map(|pk| {
                pk.as_str()
                    .map(str::to_owned)
                    .ok_or(CursorError("`pks` must hold strings"))
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok(HighWaterMark { created, pks })
    }

    /// The mark after recording `events` (all of them not covered by `previous`): the newest
    /// instant among them and every pk at it, merged with `previous`'s pks when the instant is
    /// the same. `previous` is returned unchanged when there are no events.
    pub fn advance(previous: Option<&HighWaterMark>, events: &[AuthentikEvent]) -> Option<HighWaterMark> {
        let Some(newest) = events.iter().map(|event| &event.created).max() else {
            return previous.cloned();
        };
        let mut pks: BTreeSet<String> = events
            .iter()
            .filter(|event| event.created == *newest)
            .map(|event| event.pk.clone())
            .collect();
        let mut created = newest.clone();
        if let Some(previous) = previous {
            match previous.created.cmp(newest) {
                std::cmp::Ordering::Equal => pks.extend(previous.pks.iter().cloned()),
                // Cannot happen with events the walk selected; keep the later mark regardless.
                std::cmp::Ordering::Greater => {
                    created = previous.created.clone();
                    pks = previous.pks.clone();
                }
                std::cmp::Ordering::Less => {}
            }
        }
        Some(HighWaterMark { created, pks })
    }
}
