//! Authentik's events API, `GET /api/v3/events/events/` (formats.md, "Authentik: events API";
//! upstream `authentik/events/api/events.py`, `authentik/events/models.py`,
//! `authentik/api/pagination.py`).
//!
//! The server's poller does the HTTP; everything it decides is here:
//! - [`parse_page`] turns one response body into an [`EventsPage`] (or a [`PageError`] naming
//!   what is wrong, so nothing of a malformed page is recorded);
//! - [`PageWalk`] decides which page to fetch next and which events are new, given the stored
//!   [`HighWaterMark`] (the source's cursor text, see [`HighWaterMark::to_cursor`]);
//! - [`map_event`] turns one event into a `NewAuditEvent` (`authentik.<action>`), secrets masked.
//!
//! A poller tick, in outline:
//! ```text
//! let mark = cursor.as_deref().map(HighWaterMark::from_cursor).transpose()?;
//! let mut walk = PageWalk::new(mark, WalkLimits::default());
//! while let Some(request) = walk.next_request() {
//!     match http_get(format!("{url}/api/v3/events/events/?{}", request.query())) {
//!         Ok(body) => walk.push(parse_page(&body)?),          // any error: abort the tick
//!         Err(NotFound(body)) if parse_page(&body) == Err(PageError::InvalidPage) => walk.page_vanished(),
//!         Err(other) => return Err(other),                   // cursor unchanged, retry later
//!     }
//! }
//! let outcome = walk.finish();
//! // one transaction: outcome.gap_event(now) (if any), then map_event(e, &tenant_of) for
//! // each of outcome.events (oldest first), then the cursor = outcome.mark's to_cursor()
//! ```

mod event;
mod mark;
mod page;
mod secrets;
mod walk;

pub use event::{TenantHint, is_admin_group, map_event, tenant_from_groups};
pub use mark::{CursorError, HighWaterMark};
pub use page::{AuthentikEvent, Created, EventsPage, PageError, parse_page};
pub use secrets::{MASK, mask_secrets};
pub use walk::{PageRequest, PageWalk, WalkGap, WalkLimits, WalkOutcome};

pub const SOURCE: &str = "authentik";

#[cfg(test)]
mod fixtures;
