//! The control plane's rules, without IO: what a valid tenant, partner and membership is, which
//! lifecycle steps are allowed, how a PATCH body merges into the stored fields (and what it
//! changed), and which role changes keep a tenant administrable.
//!
//! The server parses request bodies with these functions and the store persists their results;
//! every decision that can be made without the database is made here and unit-tested here.

pub mod diff;
pub mod domains;
pub mod field;
pub mod invite;
pub mod partner;
pub mod roles;
pub mod tenant;
pub mod validate;

pub use diff::{Diff, diff};
pub use field::FieldError;
