//! Integration tests: the real service on port 0 with a fresh database, on both backends.

mod support;

mod access;
mod archive;
mod archive_erasure;
mod archive_failures;
mod archive_read;
mod archive_restore;
mod authentik_poll;
mod client_ip;
mod errors;
mod export;
mod file_watch;
mod ingest;
mod invites;
mod members;
mod ocis_events;
mod ocis_tail;
mod oidc;
mod partners;
mod query;
mod stalwart;
mod tamper;
mod tenants;
mod visibility;
mod worker_backoff;
