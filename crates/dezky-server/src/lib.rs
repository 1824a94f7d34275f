//! dezky's composition root: configuration, the HTTP API, authentication and audit recording.
//!
//! `build_app` turns an [`AppState`] into an axum `Router`; `serve` binds it and runs until
//! SIGINT/SIGTERM. Only this crate knows axum and the JSON DTOs; storage stays behind the
//! `dezky_store::Store` trait.

pub mod allocator;
pub mod archive;
pub mod audit;
pub mod auth;
pub mod checkpoints;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod control_plane;
pub mod error;
pub mod extract;
pub mod ids;
pub mod ingest;
pub mod logging;
pub mod metrics;
pub mod outbound;
pub mod planner_stats;
pub mod routes;
pub mod serve;
pub mod signing;
pub mod tokens;
pub mod verification;

mod app;

pub use app::{AppState, HttpLimits, build_app};
