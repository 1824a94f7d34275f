//! Ingest from the stack: the Stalwart webhook (a route), the oCIS audit-log tail, and later the
//! Authentik poller and the oCIS event bus (workers). Parsing lives in the pure dezky-ingest
//! crate; here are configuration, health, and the IO.

pub mod config;
pub mod status;

use config::IngestConfig;
use status::IngestStatus;

/// The ingest sources' configuration and health, shared by the routes and the workers.
pub struct Ingest {
    pub config: IngestConfig,
    pub status: IngestStatus,
}

impl Ingest {
    pub fn new(config: IngestConfig) -> Ingest {
        let status = IngestStatus::default();
        let on = |configured: bool| config.enabled && configured;
        status.declare(status::AUTHENTIK, on(config.authentik.is_some()));
        status.declare(status::STALWART, on(config.stalwart.is_some()));
        status.declare(status::OCIS_AUDIT, on(config.ocis_audit.is_some()));
        status.declare(status::OCIS_EVENTS, on(config.ocis_events.is_some()));
        Ingest { config, status }
    }
}
