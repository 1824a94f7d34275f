//! Ingest from the stack: the Stalwart webhook (a route, `routes::stalwart`) and three leased
//! workers: the oCIS audit-log tail, the Authentik poller and the oCIS event-bus consumer.
//! Parsing lives in the pure dezky-ingest crate; here are configuration, health, and the IO.

pub mod authentik_poll;
pub mod config;
pub mod file_watch;
pub mod files;
pub mod ocis_events;
pub mod ocis_tail;
pub mod status;
pub mod tenants;
pub mod worker;

use config::IngestConfig;
use status::IngestStatus;
use std::sync::Arc;

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
    let leased = |name: &'static str, interval: std::time::Duration| worker::LeasedWorker {
        name,
        holder: holder.clone(),
        interval,
        wake: None,
        store: state.store.clone(),
        clock: state.clock.clone(),
        ingest: state.ingest.clone(),
    };
    let stopped = || {
        let mut stop = stop.clone();
        async move {
            let _ = stop.wait_for(|stop| *stop).await;
        }
    };
    if let Some(ocis) = &config.ingest.ocis_audit {
        let tail = Arc::new(ocis_tail::OcisTail::new(
            state.store.clone(),
            state.clock.clone(),
            state.ingest.clone(),
            ocis.clone(),
        ));
        let tick = move || {
            let tail = tail.clone();
            async move { tail.tick().await.map(|_| ()) }
        };
        let mut worker = leased(status::OCIS_AUDIT, ocis.poll);
        let watch = if ocis.watch {
            let wake = Arc::new(tokio::sync::Notify::new());
            worker.wake = Some(wake.clone());
            file_watch::watch(&ocis.path, wake)
                .inspect_err(|reason| {
                    tracing::warn!(%reason, poll_seconds = ocis.poll.as_secs(), "oCIS audit log: no inotify wake-up, polling only");
                })
                .ok()
        } else {
            None
        };
        let shutdown = stopped();
        handles.push(tokio::spawn(async move {
            let _watch = watch; // lives as long as the worker
            worker.run(tick, shutdown).await
        }));
        tracing::info!(path = %ocis.path.display(), watch = ocis.watch, "oCIS audit log tail started");
    }
    if let Some(authentik) = &config.ingest.authentik {
        let poller = Arc::new(authentik_poll::AuthentikPoller::new(
            state.store.clone(),
            state.clock.clone(),
            state.ingest.clone(),
            authentik.clone(),
        ));
        let tick = move || {
            let poller = poller.clone();
            async move { poller.tick().await.map(|_| ()) }
        };
        handles.push(tokio::spawn(
            leased(status::AUTHENTIK, authentik.poll).run(tick, stopped()),
        ));
        tracing::info!(url = %authentik.url, "Authentik events poller started");
    }
    if let Some(events) = &config.ingest.ocis_events {
        let consumer = Arc::new(ocis_events::OcisEvents::new(
            state.store.clone(),
            state.clock.clone(),
            state.ingest.clone(),
            events.clone(),
        ));
        let tick = move || {
            let consumer = consumer.clone();
            async move { consumer.tick().await.map(|_| ()) }
        };
        handles.push(tokio::spawn(
            leased(status::OCIS_EVENTS, std::time::Duration::from_secs(1)).run(tick, stopped()),
        ));
        tracing::info!(endpoint = %events.endpoint, consumer = %events.consumer, "oCIS event-bus consumer started");
    }
    handles
}
