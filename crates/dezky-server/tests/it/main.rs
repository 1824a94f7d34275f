//! Integration tests: the real service on port 0 with a fresh database, on both backends.

mod support;

mod access;
mod archive;
mod client_ip;
mod errors;
mod export;
mod ingest;
mod oidc;
mod query;
mod tamper;
