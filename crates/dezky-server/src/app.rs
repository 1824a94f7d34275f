//! The router: every route, the JSON fallbacks for 404/405, body limit, timeout, metrics.

use crate::archive::cold::ColdStorage;
use crate::archive::run::Archiver;
use crate::audit::AuditService;
use crate::auth::oidc::OidcVerifier;
use crate::checkpoints::Checkpointer;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::ApiError;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::routes;
use crate::signing::AuditSigner;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use dezky_store::Store;
use ipnet::IpNet;
use std::sync::Arc;
use std::time::Duration;

/// What every handler can reach. Cheap to clone (everything behind `Arc`).
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub audit: AuditService,
    pub oidc: Option<Arc<OidcVerifier>>,
    pub operator_audience: String,
    pub trusted_proxies: Arc<Vec<IpNet>>,
    pub checkpointer: Arc<Checkpointer>,
    pub ingest: Arc<Ingest>,
    /// PLATFORM_TENANT_DOMAIN (the control plane's domain guard rails).
    pub platform_tenant_domain: Option<Arc<str>>,
    /// Cold storage, when AUDIT_COLD_DIR or AUDIT_COLD_ENDPOINT is set and could be opened
    /// (`Err` says why it could not; `dezky serve` refuses to start then).
    pub archiver: Result<Option<Arc<Archiver>>, String>,
    /// Whole-log verifications (`GET /api/v1/audit/verify`) take turns, one at a time. A walk
    /// keeps every core busy and on PostgreSQL holds up to five pool connections while it reads
    /// ahead, so walks side by side would only slow each other down and leave appends waiting
    /// for connections. A request waits for its turn within the request time limit.
    pub verification_turn: Arc<tokio::sync::Mutex<()>>,
}

impl AppState {
    /// Wires the state from configuration. `jwks_min_refresh` bounds how often an unknown key id
    /// may trigger a JWKS fetch (tests use zero to exercise rotation without waiting).
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        signer: Arc<AuditSigner>,
        config: &Config,
        jwks_min_refresh: Duration,
    ) -> AppState {
        let metrics = Arc::new(Metrics::default());
        let archiver = config
            .archive
            .target
            .as_ref()
            .map(|target| {
                ColdStorage::open(target).map(|cold| {
                    Arc::new(Archiver::new(
                        store.clone(),
                        cold,
                        signer.clone(),
                        clock.clone(),
                        config.archive.hot_retention,
                        config.archive.batch_events,
                    ))
                })
            })
            .transpose()
            .map_err(|error| error.to_string());
        AppState {
            archiver,
            checkpointer: Arc::new(Checkpointer::new(store.clone(), signer, clock.clone())),
            audit: AuditService::new(store.clone(), clock.clone(), metrics.clone()),
            store,
            clock,
            metrics,
            oidc: config
                .oidc
                .as_ref()
                .map(|oidc| Arc::new(OidcVerifier::new(oidc, jwks_min_refresh))),
            operator_audience: config
                .oidc
                .as_ref()
                .map(|oidc| oidc.operator_audience.clone())
                .unwrap_or_else(|| crate::config::DEFAULT_OPERATOR_AUDIENCE.to_owned()),
            trusted_proxies: Arc::new(config.trusted_proxies.clone()),
            ingest: Arc::new(Ingest::new(config.ingest.clone())),
            platform_tenant_domain: config.platform_tenant_domain.as_deref().map(Arc::from),
            verification_turn: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

impl From<&Config> for HttpLimits {
    fn from(config: &Config) -> HttpLimits {
        HttpLimits {
            max_body_bytes: config.max_body_bytes,
            request_timeout: config.request_timeout,
        }
    }
}

pub fn build_app(state: AppState, limits: HttpLimits) -> Router {
    let api = Router::new()
        .route("/audit", get(routes::audit::list_events))
        .route("/audit/export", get(routes::export::export_events))
        .route("/audit/verify", get(routes::proofs::verify))
        .route("/audit/proof/inclusion", get(routes::proofs::inclusion))
        .route("/audit/proof/consistency", get(routes::proofs::consistency))
        .route("/audit/checkpoint", post(routes::checkpoint::force))
        .route("/audit/checkpoint/latest", get(routes::checkpoint::latest))
        .route("/audit/checkpoint/key", get(routes::checkpoint::key))
        .route("/audit/erasure", post(routes::erasure::erase))
        .route("/audit/archive/run", post(routes::archive::run))
        .route("/audit/archives", get(routes::archive::list))
        .route(
            "/audit/archives/{id}/restore",
            post(routes::restore::restore).delete(routes::restore::drop_restored),
        )
        .route("/audit/{seq}", get(routes::audit::get_event))
        .route("/tenants/{slug}/audit", get(routes::audit::list_tenant_events))
        .route(
            "/tenants/{slug}/audit/export",
            get(routes::export::export_tenant_events),
        )
        .route("/ingest/events", post(routes::ingest::ingest_events))
        .route("/ingest/status", get(routes::ingest_status::ingest_status))
        .route(
            "/tokens",
            get(routes::tokens::list_tokens).post(routes::tokens::create_token),
        )
        .route("/tokens/{id}", delete(routes::tokens::revoke_token))
        .route("/openapi.json", get(routes::openapi::openapi_document))
        .merge(routes::control_plane_routes());
    let timeout = limits.request_timeout;
    Router::new()
        .route("/health", get(routes::health::health))
        .route("/ready", get(routes::health::ready))
        .route("/metrics", get(routes::health::metrics))
        // Its own body limit (STALWART_WEBHOOK_MAX_BYTES), enforced by the handler.
        .route(
            "/ingest/stalwart/webhook",
            post(routes::stalwart::webhook).layer(DefaultBodyLimit::disable()),
        )
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn(move |request, next| {
            time_limit(timeout, request, next)
        }))
        .layer(middleware::from_fn_with_state(state.clone(), count_and_harden))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal server error").into_response()
        }))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
    )
}

/// Bounds the time to produce a response (not the time to stream its body: an export of a
/// large log may legitimately take minutes once it has started).
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "the request took too long").into_response()
        }
    }
}

async fn count_and_harden(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    state.metrics.count_request(response.status().as_u16());
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
