//! `dezky serve` reads the oCIS audit log as soon as inotify reports a change: with an hour
//! between polls, lines written after the first tick are recorded within seconds, across a
//! rotation too. With `OCIS_AUDIT_WATCH=false` they wait for the poll.

use crate::support::Server;
use dezky_store::Store;
use dezky_testkit::{TestDatabase, append_to_file, on_both_backends, temp_folder};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

fn append_lines(path: &Path, ids: std::ops::Range<usize>) {
    let text: String = ids
        .map(|index| {
            json!({ "Time": "2026-03-14T09:26:53Z", "User": "", "Message": "user 'u1' created file 'x'",
                    "Action": "file_create", "FileID": format!("watched-{index}"), "Path": format!("/w{index}") })
            .to_string()
                + "\n"
        })
        .collect();
    append_to_file(path, &text);
}

async fn ocis_events(store: &dyn Store) -> usize {
    let events = store.events_in_order(None, 10_000).await.unwrap();
    events
        .iter()
        .filter(|event| event.action.as_str().starts_with("ocis."))
        .count()
}

/// Waits up to `deadline` for `count` oCIS events; returns how many there were at the end.
async fn wait_for(store: &dyn Store, count: usize, deadline: Duration) -> usize {
    let started = Instant::now();
    loop {
        let seen = ocis_events(store).await;
        if seen >= count || started.elapsed() > deadline {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One line before the start (read by the first tick, which runs at once), then the server.
async fn start(db: &TestDatabase, watch: &str) -> (Server, std::sync::Arc<dyn Store>, std::path::PathBuf) {
    let data_dir = temp_folder("ocis-watch");
    let log = data_dir.join("audit.log");
    append_lines(&log, 0..1);
    let environment = [
        ("DATABASE_URL", db.url.as_str()),
        ("OCIS_AUDIT_LOG_PATH", log.to_str().unwrap()),
        ("OCIS_AUDIT_POLL_SECONDS", "3600"),
        ("OCIS_AUDIT_WATCH", watch),
        ("RUST_LOG", "error"),
    ];
    let server = Server::start(&environment, &data_dir);
    let store = dezky_store::open(&db.url).await.unwrap();
    assert_eq!(
        wait_for(store.as_ref(), 1, Duration::from_secs(20)).await,
        1,
        "the first tick"
    );
    (server, store, log)
}

async fn new_lines_are_recorded_on_inotify_wake_up_without_waiting_for_the_poll(db: TestDatabase) {
    let (server, store, log) = start(&db, "true").await;
    append_lines(&log, 1..4);
    assert_eq!(
        wait_for(store.as_ref(), 4, Duration::from_secs(20)).await,
        4,
        "appended lines"
    );
    // Rotation: the old file renamed, a new one created.
    std::fs::rename(&log, log.with_extension("log.1")).unwrap();
    append_lines(&log, 4..6);
    assert_eq!(
        wait_for(store.as_ref(), 6, Duration::from_secs(20)).await,
        6,
        "the rotated-in file"
    );
    assert_eq!(server.terminate(), Some(0));
}

async fn without_the_watch_new_lines_wait_for_the_poll(db: TestDatabase) {
    let (server, store, log) = start(&db, "false").await;
    append_lines(&log, 1..4);
    assert_eq!(
        wait_for(store.as_ref(), 4, Duration::from_secs(3)).await,
        1,
        "read before the next poll, an hour away"
    );
    assert_eq!(server.terminate(), Some(0));
}

on_both_backends!(
    new_lines_are_recorded_on_inotify_wake_up_without_waiting_for_the_poll,
    without_the_watch_new_lines_wait_for_the_poll
);
