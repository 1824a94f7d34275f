//! Export of more than 100k events streams in bounded memory, measured on the server process.

use crate::support::{Server, memory_kib, run};
use dezky_core::{Action, ActorType, NewAuditEvent, Slug, Source, Timestamp};
use dezky_testkit::{TestBackend, TestDatabase, temp_folder};
use reqwest::StatusCode;

const EVENTS: usize = 100_000;
/// Each event carries ~800 bytes of metadata, so an export is ~100 MB: far more than the
/// growth we allow, so a server that buffered the export could not pass.
const PADDING: usize = 800;
const ALLOWED_GROWTH_KIB: u64 = 48 * 1024;

async fn populate(url: &str) {
    let store = dezky_store::open(url).await.unwrap();
    store.migrate().await.unwrap();
    let padding = "x".repeat(PADDING);
    for batch in 0..(EVENTS / 5_000) {
        let events = (0..5_000)
            .map(|index| {
                let mut event = NewAuditEvent::new(
                    Timestamp::from_millis(1_773_480_413_000 + (batch * 5_000 + index) as i64),
                    ActorType::User,
                    Action::parse("authentik.login").unwrap(),
                    Source::parse("authentik").unwrap(),
                );
                event.tenant_slug = Some(Slug::parse("acme").unwrap());
                event.actor_email = Some(format!("user{index}@acme.example"));
                event.resource_name = Some(format!("session, \"{index}\""));
                event.metadata.insert("padding".into(), padding.clone().into());
                event
            })
            .collect();
        store
            .append_events(events, Timestamp::from_millis(1_773_480_500_000))
            .await
            .unwrap();
    }
}

async fn export_streams_in_bounded_memory(backend: TestBackend) {
    let database = TestDatabase::create(backend).await;
    populate(&database.url).await;
    let data_dir = temp_folder("export");
    let environment = [("DATABASE_URL", database.url.as_str())];
    let server = Server::start(&environment, &data_dir);
    let token = String::from_utf8(run(&environment, &["token", "create", "--operator"]).stdout).unwrap();
    let client = reqwest::Client::new();
    for format in ["csv", "jsonl"] {
        let before = memory_kib(server.pid(), "VmRSS");
        let mut response = client
            .get(format!(
                "{}/api/v1/audit/export?format={format}&source=authentik",
                server.base
            ))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (mut bytes, mut newlines, mut peak_rss) = (0usize, 0usize, 0u64);
        while let Some(chunk) = response.chunk().await.unwrap() {
            bytes += chunk.len();
            newlines += chunk.iter().filter(|byte| **byte == b'\n').count();
            peak_rss = peak_rss.max(memory_kib(server.pid(), "VmRSS"));
        }
        let expected_lines = if format == "csv" { EVENTS + 1 } else { EVENTS };
        assert_eq!(newlines, expected_lines, "{format}: every event exported once");
        assert!(bytes > 80_000_000, "{format}: export is large ({bytes} bytes)");
        let growth = peak_rss.saturating_sub(before);
        eprintln!("{format}: {bytes} bytes streamed, server RSS {before} KiB -> peak {peak_rss} KiB");
        assert!(
            growth < ALLOWED_GROWTH_KIB,
            "{format}: server memory grew by {growth} KiB while streaming {bytes} bytes"
        );
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_100k_events_streams_in_bounded_memory_on_sqlite() {
    export_streams_in_bounded_memory(TestBackend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_of_100k_events_streams_in_bounded_memory_on_postgres() {
    export_streams_in_bounded_memory(TestBackend::Postgres).await;
}
