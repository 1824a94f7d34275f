//! Running the HTTP server: open the store, migrate, bootstrap, listen, shut down gracefully.

use crate::audit::Actor;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::{AppState, HttpLimits, build_app};
use anyhow::Context;
use dezky_core::TokenScope;
use dezky_store::Store;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How often an unknown key id may trigger a JWKS refresh in production.
pub const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);

/// Opens the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let store = dezky_store::open(&config.database_url).await.context("DATABASE_URL")?;
    store.migrate().await.context("applying database migrations")?;
    Ok(store)
}

/// What a newcomer needs to call the API. With no OIDC configured and no operator token ever
/// created, this creates a bootstrap operator token (audited) and returns it in the message,
/// once. (Revoking it later does not bring it back: an operator token existed.)
pub async fn bootstrap_message(store: &dyn Store, config: &Config, clock: &dyn Clock) -> anyhow::Result<String> {
    let tokens = store.list_api_tokens().await?;
    let base = format!("http://{}", config.listen);
    let operator_token_existed = tokens.iter().any(|token| token.scope == TokenScope::Operator);
    if !operator_token_existed && config.oidc.is_none() {
        let (_token, secret) = crate::tokens::create_token(
            store,
            &Actor::system(),
            TokenScope::Operator,
            Some("bootstrap".to_owned()),
            clock.now(),
        )
        .await?;
        return Ok(format!(
            "No operator token existed, so dezky created a bootstrap operator token. It is shown only now:\n\n    {}\n\n\
             Try: curl -H 'Authorization: Bearer {}' {base}/api/v1/audit\n\
             Revoke it later with: dezky token revoke <id> (list ids with: dezky token list)",
            secret.expose(),
            secret.expose()
        ));
    }
    Ok(format!(
        "Authenticate with Authorization: Bearer <token>: an API token (create one with \
         `dezky token create --operator`) or an OIDC token from AUTHENTIK_ISSUER.\n\
         API: {base}/api/v1/  OpenAPI: {base}/api/v1/openapi.json"
    ))
}

/// Serves the app on a bound listener until `shutdown` completes, then drains open requests.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = build_app(state, limits);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}

/// Prints the start-up banner on standard output. A reader that has gone away (`dezky serve |
/// head -1`) must not stop the service, as `println!`'s panic would: the failure is logged.
fn print_banner(banner: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(error) = writeln!(out, "{banner}").and_then(|()| out.flush()) {
        tracing::warn!(%error, "the start-up banner could not be written to standard output");
    }
}

/// `dezky serve`.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = open_store(&config).await?;
    // The key is checked before anything is printed or created, so a bad key file stops
    // start-up without side effects.
    let signer = Arc::new(crate::signing::load_or_create(&config.checkpoints).map_err(anyhow::Error::msg)?);
    if let Some(target) = &config.archive.target {
        crate::archive::cold::ColdStorage::open(target)?;
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("DEZKY_LISTEN: cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let message = bootstrap_message(store.as_ref(), &config, clock.as_ref()).await?;
    print_banner(&format!(
        "dezky listening on http://{address} (database: {})\n{message}\ncheckpoints are signed by {}",
        config.database_url_for_display(),
        signer.verifier().to_vkey()
    ));
    tracing::info!(%address, database = %config.database_url_for_display(), "dezky started");
    let state = AppState::new(store, clock, signer, &config, JWKS_MIN_REFRESH);
    if let Err(reason) = &state.archiver {
        anyhow::bail!("{reason}");
    }
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let archive_worker = match (&state.archiver, config.archive.enabled) {
        (Ok(Some(archiver)), true) => {
            let mut stopped = stop_workers.subscribe();
            tracing::info!(hour_utc = config.archive.run_hour_utc, cold = ?archiver.cold(), "daily archive worker started");
            Some(tokio::spawn(crate::archive::worker::run_daily(
                archiver.clone(),
                state.clock.clone(),
                config.archive.run_hour_utc,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            )))
        }
        _ => None,
    };
    let worker = tokio::spawn(state.checkpointer.clone().run(
        config.checkpoints.interval,
        config.checkpoints.every_events,
        {
            let mut stopped = workers_stopped.clone();
            async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            }
        },
    ));
    let statistics_worker = tokio::spawn(crate::planner_stats::run(state.store.clone(), {
        let mut stopped = workers_stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    }));
    let ingest_workers = crate::ingest::spawn_workers(&state, &config, workers_stopped.clone());
    serve_on(listener, state, HttpLimits::from(&config), shutdown_signal()).await?;
    let _ = stop_workers.send(true);
    let _ = worker.await;
    let _ = statistics_worker.await;
    for ingest_worker in ingest_workers {
        let _ = ingest_worker.await;
    }
    if let Some(archive_worker) = archive_worker {
        let _ = archive_worker.await;
    }
    tracing::info!("dezky stopped");
    Ok(())
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing open requests");
}
