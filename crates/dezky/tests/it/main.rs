//! End-to-end tests of the `dezky` binary as an operator runs it.

mod archive_daily;
mod bundle_cli;
mod bundle_erasure;
mod commands;
mod crash_archive;
mod crash_ingest;
mod export_memory;
mod ocis_watch;
mod support;
mod two_instances;
mod upstreams;
mod verify_cli;
