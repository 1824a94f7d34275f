//! Ingest measurements: oCIS audit lines parsed and filtered (pure, MiB/s), the oCIS tail end
//! to end into the database (lines/s), and the Stalwart webhook over HTTP with signature checks
//! (events/s, batches of 100).

use base64::Engine;
use dezky_ingest::ocis_audit::{DEFAULT_SKIPPED_ACTIONS, LineOutcome, parse_line};
use dezky_ingest::tail::complete_lines;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::config::{Config, FlagOverrides};
use dezky_server::ingest::Ingest;
use dezky_server::ingest::ocis_tail::OcisTail;
use dezky_server::signing::AuditSigner;
use dezky_server::{AppState, HttpLimits};
use dezky_store::Store;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WEBHOOK_SECRET: &str = "benchmark-webhook-secret";

/// A realistic oCIS line: released oCIS leaves User empty and names the actor in Message; every
/// second line is a read (skipped by default), as reads dominate real traffic.
pub fn ocis_line(index: usize) -> String {
    let action = if index.is_multiple_of(2) {
        "file_read"
    } else {
        "file_create"
    };
    json!({ "RemoteAddr": "", "User": "", "URL": "", "Method": "", "UserAgent": "",
            "Time": "2026-03-14T09:26:53.123456Z", "App": "admin_audit",
            "Message": format!("user 'f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c' {action} file 'c2Rz{index}'"),
            "Action": action, "CLI": false, "Level": 1,
            "Path": format!("/Projects/Customer {}/Report {index}.odt", index % 97),
            "Owner": "f7fbf8c8-139b-4376-b307-cf0a8c2d0d9c", "FileID": format!("storage-1$space-2!c2Rz{index}") })
    .to_string()
        + "\n"
}

fn skipped() -> Vec<String> {
    DEFAULT_SKIPPED_ACTIONS
        .iter()
        .map(|action| action.to_string())
        .collect()
}

/// (MiB/s, lines/s) of splitting, parsing, filtering and mapping lines in memory.
pub fn parse_throughput(lines: usize) -> (f64, f64) {
    let text: String = (0..lines).map(ocis_line).collect();
    let skipped = skipped();
    let now = SystemClock.now();
    let no_tenant = |_: dezky_ingest::ocis_audit::TenantHint<'_>| None;
    let started = Instant::now();
    let (parsed, _) = complete_lines(text.as_bytes(), 0);
    let mut events = 0usize;
    for line in parsed {
        if let LineOutcome::Event(event) = parse_line(line.bytes, &skipped, line.offset.to_string(), now, &no_tenant) {
            events += usize::from(event.external_id.is_some());
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(events, lines / 2, "every non-read line maps to an event");
    (text.len() as f64 / (1024.0 * 1024.0) / seconds, lines as f64 / seconds)
}

/// Lines/s through the real tail into `store`: a file of `lines` lines, read from the start.
pub async fn tail_throughput(store: Arc<dyn Store>, lines: usize) -> anyhow::Result<f64> {
    let folder = dezky_testkit::temp_folder("bench-tail");
    let path = folder.join("audit.log");
    let text: String = (0..lines).map(ocis_line).collect();
    std::fs::write(&path, text)?;
    let path_text = path.display().to_string();
    let config = dezky_server::ingest::config::IngestConfig::from_lookup(&|name| {
        (name == "OCIS_AUDIT_LOG_PATH").then(|| path_text.clone())
    })?;
    let ingest = Arc::new(Ingest::new(config.clone()));
    let tail = OcisTail::new(
        store,
        Arc::new(SystemClock),
        ingest,
        config.ocis_audit.expect("configured"),
    );
    let started = Instant::now();
    let report = tail.tick().await?;
    let seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.recorded as usize == lines / 2, "tail recorded {report:?}");
    Ok(lines as f64 / seconds)
}

/// Events/s through `POST /ingest/stalwart/webhook` on a real listener: `senders` concurrent
/// clients, signed batches of `batch` events, each answered after its durable commit.
pub async fn webhook_throughput(database_url: &str, total: usize, batch: usize, senders: usize) -> anyhow::Result<f64> {
    let variables = [
        ("DATABASE_URL", database_url),
        ("STALWART_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    let config = Config::from_lookup(
        |name| {
            variables
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        },
        FlagOverrides::default(),
    )?;
    let store = dezky_server::serve::open_store(&config).await?;
    let signing_key = dezky_chain::checkpoint::NoteSigner::from_seed(&config.checkpoints.origin, rand::random())
        .map_err(anyhow::Error::msg)?;
    let signer = Arc::new(AuditSigner::new(signing_key, None));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = AppState::new(store, clock, signer, &config, Duration::from_secs(30));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/ingest/stalwart/webhook", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(dezky_server::serve::serve_on(
        listener,
        state,
        HttpLimits::from(&config),
        async move {
            let _ = stopped.await;
        },
    ));
    let bodies: Vec<(Vec<u8>, String)> = (0..total / batch).map(|index| signed_batch(index, batch)).collect();
    let bodies = Arc::new(bodies);
    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut tasks = vec![];
    for sender in 0..senders {
        let (bodies, client, url) = (bodies.clone(), client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for (body, signature) in bodies.iter().skip(sender).step_by(senders) {
                let response = client
                    .post(&url)
                    .header("X-Signature", signature)
                    .body(body.clone())
                    .send()
                    .await?;
                anyhow::ensure!(response.status().is_success(), "webhook answered {}", response.status());
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = stop.send(());
    Ok((total / batch * batch) as f64 / seconds)
}

fn signed_batch(index: usize, batch: usize) -> (Vec<u8>, String) {
    let events: Vec<_> = (0..batch)
        .map(|offset| {
            let span = (index * batch + offset) as u64;
            json!({ "id": format!("{span}"), "createdAt": "2026-03-14T09:26:53Z", "type": "auth.failed",
                    "data": { "listenerId": "imap", "localPort": 993, "remoteIp": "198.51.100.9", "remotePort": 51234,
                              "accountName": format!("user{}@tenant{}.example", span % 1000, span % 50),
                              "spanId": span + 9_007_199_254_740_993 } })
        })
        .collect();
    let body = json!({ "events": events }).to_string().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("any key length");
    mac.update(&body);
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (body, signature)
}
