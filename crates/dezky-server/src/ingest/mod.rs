//! Ingest from the stack: the Stalwart webhook (a route), the oCIS audit-log tail, and later the
//! Authentik poller and the oCIS event bus (workers). Parsing lives in the pure dezky-ingest
//! crate; here are configuration, health, and the IO.

pub mod config;
pub mod files;
pub mod ocis_tail;
pub mod status;
pub mod worker;

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

/// Starts the configured polling workers (each behind its lease); they stop when `stop` turns
/// true.
pub fn spawn_workers(
    state: &crate::AppState,
    config: &crate::config::Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = vec![];
    if !config.ingest.enabled {
        return handles;
    }
    let holder = crate::ids::lease_holder(config.listen);
    if let Some(ocis) = &config.ingest.ocis_audit {
        let tail = std::sync::Arc::new(ocis_tail::OcisTail::new(
            state.store.clone(),
            state.clock.clone(),
            state.ingest.clone(),
            ocis.clone(),
        ));
        let worker = worker::LeasedWorker {
            name: status::OCIS_AUDIT,
            holder: holder.clone(),
            interval: ocis.poll,
            store: state.store.clone(),
            clock: state.clock.clone(),
            ingest: state.ingest.clone(),
        };
        let mut stopped = stop.clone();
        handles.push(tokio::spawn(worker.run(
            move || {
                let tail = tail.clone();
                async move { tail.tick().await.map(|_| ()) }
            },
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            },
        )));
        tracing::info!(path = %ocis.path.display(), "oCIS audit log tail started");
    }
    handles
}
