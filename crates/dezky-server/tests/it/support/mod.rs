//! Test harness: the real app on port 0 with a fresh database, and a local identity provider.

pub mod app;
pub mod cold;
pub mod idp;
pub mod logs;
pub mod people;
pub mod s3_gate;
