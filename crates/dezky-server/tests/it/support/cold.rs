//! Cold storage for tests: a local folder or a bucket on the real S3 server scripts/test starts
//! (moto), the app configured for it, and the requests the archive tests repeat.

use crate::support::app::{TestApp, now, spawn_with};
use dezky_core::{Action, ActorType, NewAuditEvent, Slug, Source};
use dezky_server::archive::cold::ColdStorage;
use dezky_server::archive::config::{ColdTarget, S3Target};
use dezky_testkit::{TestBackend, TestDatabase, temp_folder};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;

/// The variable scripts/test sets to the local S3 server (moto) it starts.
pub const S3_ENDPOINT_VARIABLE: &str = "DEZKY_TEST_S3_ENDPOINT";

pub fn s3_endpoint() -> String {
    std::env::var(S3_ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{S3_ENDPOINT_VARIABLE} is not set. The cold-storage tests need a real S3-compatible server: run them \
             through scripts/test (it installs and starts moto's server and sets the variable), or start one \
             yourself (pip install 'moto[server]'; moto_server -H 127.0.0.1 -p 5070) and set \
             {S3_ENDPOINT_VARIABLE}=http://127.0.0.1:5070"
        )
    })
}

pub enum Cold {
    Folder(PathBuf),
    Bucket { endpoint: String, bucket: String },
}

impl Cold {
    pub fn folder() -> Cold {
        Cold::Folder(temp_folder("cold"))
    }

    pub async fn bucket() -> Cold {
        let endpoint = s3_endpoint();
        let bucket = format!("dz-{:016x}", rand::random::<u64>());
        let response = reqwest::Client::new()
            .put(format!("{endpoint}/{bucket}"))
            .send()
            .await
            .unwrap_or_else(|error| panic!("the S3 server at {endpoint} does not answer: {error}"));
        assert!(
            response.status().is_success(),
            "creating bucket {bucket}: {}",
            response.status()
        );
        Cold::Bucket { endpoint, bucket }
    }

    pub fn settings(&self) -> Vec<(String, String)> {
        match self {
            Cold::Folder(folder) => vec![("AUDIT_COLD_DIR".into(), folder.display().to_string())],
            Cold::Bucket { endpoint, bucket } => vec![
                ("AUDIT_COLD_ENDPOINT".into(), endpoint.clone()),
                ("AUDIT_COLD_BUCKET".into(), bucket.clone()),
                ("AUDIT_COLD_ACCESS_KEY".into(), "dezky-test".into()),
                ("AUDIT_COLD_SECRET_KEY".into(), "dezky-test-secret".into()),
            ],
        }
    }

    /// A second client of the same storage: objects are read and changed beside the app.
    pub fn client(&self) -> ColdStorage {
        let target = match self {
            Cold::Folder(folder) => ColdTarget::Directory(folder.clone()),
            Cold::Bucket { endpoint, bucket } => ColdTarget::S3(S3Target {
                endpoint: endpoint.clone(),
                region: "us-east-1".into(),
                bucket: bucket.clone(),
                access_key: "dezky-test".into(),
                secret_key: "dezky-test-secret".into(),
                server_side_encryption: false,
            }),
        };
        ColdStorage::open(&target).unwrap()
    }

    pub async fn read(&self, key: &str) -> Option<Vec<u8>> {
        self.client().get(key).await.ok().map(|bytes| bytes.to_vec())
    }

    pub async fn write(&self, key: &str, bytes: Vec<u8>) {
        self.client().put(key, bytes.into()).await.unwrap();
    }

    pub async fn remove(&self, key: &str) {
        self.client().delete(key).await.unwrap();
    }
}

pub async fn spawn_cold(db: TestDatabase, cold: &Cold, extra: &[(&str, &str)]) -> TestApp {
    let owned = cold.settings();
    let mut settings: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    settings.push(("AUDIT_HOT_RETENTION", "0s"));
    // Archiving 100,000 events in one request takes longer than the default 30 s request
    // timeout when several such tests share the test machine's two cores.
    settings.push(("DEZKY_REQUEST_TIMEOUT_SECONDS", "600"));
    settings.extend_from_slice(extra);
    spawn_with(db, &settings).await
}

/// Appends `count` events straight through the store (10,000 per group commit).
pub async fn fill(app: &TestApp, count: u64) {
    let source = Source::parse("portal").unwrap();
    let action = Action::parse("portal.signed_in").unwrap();
    let mut start = 0;
    while start < count {
        let end = (start + 10_000).min(count);
        let events = (start..end)
            .map(|i| {
                let mut event = NewAuditEvent::new(now(), ActorType::User, action.clone(), source.clone());
                event.external_id = Some(format!("e-{i}"));
                event.actor_email = Some(format!("user{}@acme.example", i % 97));
                event.actor_ip = Some("203.0.113.7".into());
                event.resource_name = Some(format!("session {i}"));
                event.tenant_slug = Some(Slug::parse("acme").unwrap());
                if let Value::Object(metadata) = json!({ "i": i, "big": 18446744073709551615u64 }) {
                    event.metadata = metadata;
                }
                event
            })
            .collect();
        app.store.append_events(events, now()).await.unwrap();
        start = end;
    }
}

pub async fn checkpoint(app: &TestApp) -> u64 {
    let (status, body) = app
        .post("/api/v1/audit/checkpoint", &app.operator_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["treeSize"].as_u64().unwrap()
}

pub async fn run(app: &TestApp) -> Value {
    let (status, body) = app
        .post("/api/v1/audit/archive/run", &app.operator_token, &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn batches(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get("/api/v1/audit/archives", &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["batches"].as_array().unwrap().clone()
}

pub async fn verify(app: &TestApp) -> Value {
    let (status, report) = app.get("/api/v1/audit/verify", &app.operator_token).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report
}

pub fn break_kinds(report: &Value) -> Vec<(String, Option<u64>)> {
    report["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["kind"].as_str().unwrap().to_owned(), b["seq"].as_u64()))
        .collect()
}

/// Runs statements in one transaction straight against the database; a failing statement
/// rolls the transaction back before the connection closes (so SQLite's write lock is free
/// for the next statement).
pub async fn execute(app: &TestApp, statements: &[&str]) -> Result<(), String> {
    macro_rules! run_in {
        ($pool:expr) => {{
            let pool = $pool;
            let mut transaction = pool.begin().await.unwrap();
            let mut outcome = Ok(());
            for statement in statements {
                if let Err(error) = sqlx::query(statement).execute(&mut *transaction).await {
                    outcome = Err(error.to_string());
                    break;
                }
            }
            match outcome {
                Ok(()) => transaction.commit().await.unwrap(),
                Err(_) => transaction.rollback().await.unwrap(),
            }
            pool.close().await;
            outcome
        }};
    }
    match app.backend {
        TestBackend::Sqlite => run_in!(sqlx::SqlitePool::connect(&app.database_url).await.unwrap()),
        TestBackend::Postgres => run_in!(sqlx::PgPool::connect(&app.database_url).await.unwrap()),
    }
}
