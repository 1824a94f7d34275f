//! Integration tests: the real service on port 0 with a fresh database, on both backends.

mod support;

mod access;
mod client_ip;
mod errors;
mod export;
mod ingest;
mod members;
mod oidc;
mod partners;
mod query;
mod tamper;
mod tenants;
