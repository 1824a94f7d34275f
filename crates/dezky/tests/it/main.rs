//! End-to-end tests of the `dezky` binary as an operator runs it.

mod commands;
mod export_memory;
mod support;
mod two_instances;
mod verify_cli;
