//! End-to-end tests of the `dezky` binary as an operator runs it.

mod bundle_cli;
mod commands;
mod crash_ingest;
mod export_memory;
mod support;
mod two_instances;
mod upstreams;
mod verify_cli;
