//! The stack's event formats, parsed and mapped onto dezky's one event shape. No IO: the
//! workers and routes in dezky-server read bytes and hand them here, so every upstream quirk
//! recorded in `shared/docs/formats.md` is tested with plain unit tests.
//!
//! Each source maps its events to `<source>.<verb>`; a type without a mapping becomes
//! `<source>.<type normalised>` (see [`verb::fallback_action`]) and is never dropped.

pub mod authentik;
pub mod fields;
pub mod filter;
pub mod gap;
pub mod ocis_audit;
pub mod ocis_bus;
pub mod stalwart;
pub mod tail;
pub mod verb;
