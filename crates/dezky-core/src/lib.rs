//! Pure domain types of dezky.
//!
//! Everything here is data and validation: no IO, no clock, no randomness. The store and the
//! server build on these types, so a value that exists has already been checked (an `Action`
//! is always a dotted lower_snake verb, a `Timestamp` is always milliseconds since the epoch).

pub mod csv;
pub mod event;
pub mod names;
pub mod query;
mod query_match;
pub mod time;
pub mod token;

pub use event::{ActorType, AuditEvent, NewAuditEvent, Outcome};
pub use names::{Action, NameError, Slug, Source};
pub use query::{ActionFilter, AuditQuery, Cursor, Limit, QueryError};
pub use time::Timestamp;
pub use token::{ApiTokenSecret, TokenHash, TokenScope};
