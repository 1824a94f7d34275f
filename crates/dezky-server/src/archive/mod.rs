//! Cold storage: archiving old events to an S3-compatible bucket or a local folder with signed,
//! chained manifests, the daily worker, and verification across the hot and cold tiers.
//!
//! The pure parts (manifest format, signing, chaining, batch planning) are in
//! `dezky_chain::manifest`; the bookkeeping and the one audited hot delete are in
//! `dezky_store::archive`. This module does the IO.

pub mod bundle;
pub mod cold;
pub mod config;
pub mod encode;
pub mod erase;
pub mod read;
pub mod run;
pub mod tiered;
pub mod verify;
pub mod worker;
