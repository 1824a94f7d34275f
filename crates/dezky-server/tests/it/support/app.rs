//! Starts the real router on an ephemeral port, backed by a fresh database.

use dezky_chain::checkpoint::NoteSigner;
use dezky_core::{Slug, Source, Timestamp, TokenScope};
use dezky_server::audit::Actor;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::config::{Config, FlagOverrides};
use dezky_server::serve::{open_store, serve_on};
use dezky_server::signing::AuditSigner;
use dezky_server::{AppState, HttpLimits};
use dezky_store::Store;
use dezky_testkit::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    /// The database URL, for tests that tamper with rows directly.
    pub database_url: String,
    pub backend: dezky_testkit::TestBackend,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub operator_token: String,
    /// The app's archiver, when cold storage is configured (tests stop runs at chosen steps).
    pub archiver: Option<Arc<dezky_server::archive::run::Archiver>>,
    /// The app's checkpoint (and manifest) signer, for a second instance on the same database.
    pub signer: Arc<AuditSigner>,
    /// The app's turn for whole-log verifications (tests hold it to see a request wait).
    pub verification_turn: Arc<tokio::sync::Mutex<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    _database: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Environment variables for the app under test, beyond DATABASE_URL.
pub type Settings<'a> = &'a [(&'a str, &'a str)];

pub async fn spawn(database: TestDatabase) -> TestApp {
    spawn_with(database, &[]).await
}

pub async fn spawn_with(database: TestDatabase, settings: Settings<'_>) -> TestApp {
    let mut variables: HashMap<String, String> = settings
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    variables.insert("DATABASE_URL".into(), database.url.clone());
    // A debug build on a busy machine can take longer than the production default (30 s) for
    // the large runs some tests make (archiving 100k events); a timeout there would be a
    // flaky failure, not a finding. Tests may still set their own.
    variables
        .entry("DEZKY_REQUEST_TIMEOUT_SECONDS".into())
        .or_insert_with(|| "600".into());
    let config = Config::from_lookup(|name| variables.get(name).cloned(), FlagOverrides::default()).expect("config");
    let store = open_store(&config).await.expect("store");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let signing_key = NoteSigner::from_seed(&config.checkpoints.origin, rand::random()).expect("signing key");
    let signer = Arc::new(AuditSigner::new(signing_key, config.checkpoints.hmac_secret.clone()));
    let state = AppState::new(store.clone(), clock.clone(), signer.clone(), &config, Duration::ZERO);
    let archiver = state.archiver.clone().expect("cold storage opens");
    let verification_turn = state.verification_turn.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(serve_on(listener, state, HttpLimits::from(&config), async move {
        let _ = stop.await;
    }));
    let (_, secret) = dezky_server::tokens::create_token(
        store.as_ref(),
        &Actor::command_line(),
        TokenScope::Operator,
        Some("test operator".into()),
        clock.now(),
    )
    .await
    .expect("operator token");
    TestApp {
        base,
        database_url: database.url.clone(),
        backend: database.backend,
        http: reqwest::Client::new(),
        store,
        operator_token: secret.expose().to_owned(),
        archiver,
        signer,
        verification_turn,
        shutdown: Some(shutdown),
        _database: database,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn token(&self, scope: TokenScope) -> String {
        let (_, secret) = dezky_server::tokens::create_token(
            self.store.as_ref(),
            &Actor::command_line(),
            scope,
            None,
            SystemClock.now(),
        )
        .await
        .expect("token");
        secret.expose().to_owned()
    }

    pub async fn tenant_token(&self, slug: &str) -> String {
        self.token(TokenScope::Tenant(Slug::parse(slug).unwrap())).await
    }

    pub async fn ingest_token(&self, source: &str) -> String {
        self.token(TokenScope::Ingest(Source::parse(source).unwrap())).await
    }

    pub async fn event_count(&self) -> u64 {
        self.store.next_seq().await.unwrap()
    }
}

/// An error response must be `{"error":{"code","message"}}`; returns the code.
pub fn error_code(body: &Value) -> &str {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not an error body: {body}"));
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{body}"
    );
    code
}

pub fn now() -> Timestamp {
    SystemClock.now()
}
