//! The oCIS audit-log tail against real files: chunks, partial lines, rotations, truncation,
//! bad lines, restarts. Ticks are driven directly (no sleeping on the poll interval).

use dezky_core::AuditEvent;
use dezky_server::clock::{Clock, SystemClock};
use dezky_server::ingest::Ingest;
use dezky_server::ingest::config::IngestConfig;
use dezky_server::ingest::ocis_tail::{OcisTail, TickReport};
use dezky_server::ingest::status::OCIS_AUDIT;
use dezky_store::Store;
use dezky_testkit::{TestDatabase, append_to_file, on_both_backends, temp_folder};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

struct Fixture {
    store: Arc<dyn Store>,
    ingest: Arc<Ingest>,
    path: PathBuf,
    _db: TestDatabase,
}

impl Fixture {
    async fn new(db: TestDatabase, skip: &str) -> Fixture {
        Fixture::with(db, &[("OCIS_AUDIT_ACTIONS_SKIP", skip)]).await
    }

    /// With these variables beside the path.
    async fn with(db: TestDatabase, extra: &[(&str, &str)]) -> Fixture {
        let path = temp_folder("ocis-tail").join("audit.log");
        let store = dezky_store::open(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        let mut variables = vec![("OCIS_AUDIT_LOG_PATH".to_owned(), path.display().to_string())];
        variables.extend(extra.iter().map(|(key, value)| (key.to_string(), value.to_string())));
        let config = IngestConfig::from_lookup(&|name| {
            variables
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap();
        Fixture {
            store,
            ingest: Arc::new(Ingest::new(config)),
            path,
            _db: db,
        }
    }

    /// A fresh tail, as after a restart: everything it knows comes from the database.
    fn tail(&self) -> OcisTail {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let config = self.ingest.config.ocis_audit.clone().unwrap();
        OcisTail::new(self.store.clone(), clock, self.ingest.clone(), config)
    }

    async fn tick(&self) -> TickReport {
        self.tail().tick().await.expect("tick")
    }

    async fn events(&self) -> Vec<AuditEvent> {
        self.store.events_in_order(None, 100_000).await.unwrap()
    }

    async fn resource_ids(&self) -> Vec<String> {
        self.events()
            .await
            .into_iter()
            .filter(|event| event.action.as_str().starts_with("ocis."))
            .filter_map(|event| event.resource_id)
            .collect()
    }

    async fn gaps(&self) -> Vec<AuditEvent> {
        let events = self.events().await;
        events
            .into_iter()
            .filter(|event| event.action.as_str() == "ingest.gap_detected")
            .collect()
    }
}

fn line(file_id: &str) -> String {
    json!({ "RemoteAddr": "", "User": "", "Time": "2026-03-14T09:26:53Z", "App": "admin_audit",
            "Message": format!("user 'u1' created file '{file_id}'"), "Action": "file_create",
            "Path": format!("/{file_id}.txt"), "Owner": "u1", "FileID": file_id })
    .to_string()
        + "\n"
}

fn ids(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|index| format!("{prefix}{index}")).collect()
}

async fn lines_are_read_in_small_and_large_chunks_and_partial_lines_wait(db: TestDatabase) {
    let fixture = Fixture::new(db, "file_read").await;
    assert_eq!(fixture.tick().await, TickReport::default(), "no file yet");
    let waiting = fixture
        .ingest
        .status
        .snapshot()
        .into_iter()
        .find(|source| source.name == OCIS_AUDIT)
        .unwrap();
    assert!(waiting.detail.unwrap().contains("waiting"));

    append_to_file(&fixture.path, &(line("a0") + &line("a1")));
    assert_eq!(fixture.tick().await.recorded, 2);
    let partial = line("a2");
    append_to_file(&fixture.path, &partial[..20]);
    assert_eq!(fixture.tick().await.recorded, 0, "a partial line waits for its newline");
    append_to_file(&fixture.path, &partial[20..]);
    assert_eq!(fixture.tick().await.recorded, 1);

    let many: String = (0..30_000).map(|index| line(&format!("b{index}"))).collect();
    assert!(many.len() > 4 * 1024 * 1024, "more than one read chunk");
    append_to_file(&fixture.path, &many);
    assert_eq!(fixture.tick().await.recorded, 30_000);
    assert_eq!(fixture.tick().await, TickReport::default(), "a restart resumes exactly");

    let mut expected = ids("a", 0..3);
    expected.extend(ids("b", 0..30_000));
    assert_eq!(fixture.resource_ids().await, expected);
    let first = &fixture.events().await[0];
    assert_eq!(first.action.as_str(), "ocis.file_create");
    assert_eq!(first.actor_id.as_deref(), Some("u1"));
    assert!(first.external_id.as_deref().unwrap().ends_with(":0"));
}

async fn rename_and_create_finishes_the_old_file_first(db: TestDatabase) {
    let fixture = Fixture::new(db, "").await;
    append_to_file(&fixture.path, &(line("old0") + &line("old1")));
    assert_eq!(fixture.tick().await.recorded, 2);
    append_to_file(&fixture.path, &(line("old2") + &line("old3")));
    std::fs::rename(&fixture.path, fixture.path.with_extension("log.1")).unwrap();
    append_to_file(&fixture.path, &(line("new0") + &line("new1")));
    let report = fixture.tick().await;
    assert_eq!(report.recorded, 4);
    assert_eq!(report.gaps, 0);
    let mut expected = ids("old", 0..4);
    expected.extend(ids("new", 0..2));
    assert_eq!(fixture.resource_ids().await, expected);
    append_to_file(&fixture.path, &line("new2"));
    assert_eq!(fixture.tick().await.recorded, 1);
    assert!(fixture.gaps().await.is_empty());
}

async fn copy_and_truncate_reads_the_rest_from_the_copy(db: TestDatabase) {
    let fixture = Fixture::new(db, "").await;
    append_to_file(&fixture.path, &(line("c0") + &line("c1")));
    assert_eq!(fixture.tick().await.recorded, 2);
    append_to_file(&fixture.path, &line("c2"));
    std::fs::copy(&fixture.path, fixture.path.with_extension("log-20261125")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fixture.path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append_to_file(&fixture.path, &line("d0"));
    let report = fixture.tick().await;
    assert_eq!(report.recorded, 2);
    assert_eq!(report.gaps, 0);
    assert_eq!(fixture.resource_ids().await, vec!["c0", "c1", "c2", "d0"]);
}

async fn a_truncation_without_a_copy_is_recorded_as_a_gap(db: TestDatabase) {
    let fixture = Fixture::new(db, "").await;
    append_to_file(&fixture.path, &(line("e0") + &line("e1")));
    assert_eq!(fixture.tick().await.recorded, 2);
    append_to_file(&fixture.path, &line("lost"));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&fixture.path)
        .unwrap()
        .set_len(0)
        .unwrap();
    append_to_file(&fixture.path, &line("f0"));
    let report = fixture.tick().await;
    assert_eq!(report.gaps, 1);
    assert_eq!(report.recorded, 1);
    let gaps = fixture.gaps().await;
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].metadata["reason"], "file-truncated");
    assert_eq!(gaps[0].source.as_str(), "ocis");
    assert_eq!(fixture.resource_ids().await, vec!["e0", "e1", "f0"]);
    assert_eq!(fixture.tick().await, TickReport::default());
}

async fn a_replaced_file_is_a_new_file_even_on_a_reused_inode(db: TestDatabase) {
    let fixture = Fixture::new(db, "").await;
    append_to_file(&fixture.path, &line("g0"));
    assert_eq!(fixture.tick().await.recorded, 1);
    std::fs::remove_file(&fixture.path).unwrap();
    // The new file may or may not get the old inode back; either way its first line differs.
    append_to_file(&fixture.path, &(line("h0") + &line("h1")));
    let report = fixture.tick().await;
    assert_eq!(report.recorded, 2);
    assert_eq!(
        report.gaps, 1,
        "the old file is gone: whatever it still held is a possible gap"
    );
    assert_eq!(fixture.resource_ids().await, vec!["g0", "h0", "h1"]);
}

async fn bad_lines_are_counted_and_passed_over(db: TestDatabase) {
    let fixture = Fixture::new(db, "file_read").await;
    let huge = format!(
        "{{\"Action\":\"file_create\",\"FileID\":\"x\",\"pad\":\"{}\"}}\n",
        "p".repeat(300_000)
    );
    let read = json!({ "Action": "file_read", "FileID": "r", "User": "u" }).to_string() + "\n";
    append_to_file(
        &fixture.path,
        &(line("i0") + "this is not json\n" + &huge + &read + &line("i1")),
    );
    let report = fixture.tick().await;
    assert_eq!(report.recorded, 2);
    assert_eq!(report.rejected, 2);
    assert_eq!(report.filtered, 1);
    assert_eq!(fixture.resource_ids().await, vec!["i0", "i1"]);

    append_to_file(&fixture.path, "file_create)\n   user 'u1' created file 'x'\n");
    assert_eq!(fixture.tick().await.rejected, 2);
    let status = fixture
        .ingest
        .status
        .snapshot()
        .into_iter()
        .find(|source| source.name == OCIS_AUDIT)
        .unwrap();
    assert!(status.last_error.unwrap().contains("AUDIT_FORMAT=json"));
    assert_eq!(status.rejected, 4);
    assert_eq!(status.filtered, 1);
}

async fn filtered_actions_are_counted_and_not_recorded(db: TestDatabase) {
    let fixture = Fixture::with(
        db,
        &[
            ("OCIS_AUDIT_ACTIONS_ONLY", "file_*,share_created"),
            ("OCIS_AUDIT_ACTIONS_SKIP", "file_read,file_version*"),
        ],
    )
    .await;
    let action = |action: &str, id: &str| json!({ "Action": action, "FileID": id, "User": "u" }).to_string() + "\n";
    append_to_file(
        &fixture.path,
        &[
            action("file_create", "k0"),
            action("file_read", "k1"),
            action("space_created", "k2"),
            action("file_version_restored", "k3"),
            action("share_created", "k4"),
            "not json\n".to_owned(),
        ]
        .concat(),
    );
    let report = fixture.tick().await;
    assert_eq!(report.recorded, 2);
    assert_eq!(report.filtered, 3);
    assert_eq!(report.rejected, 1, "a bad line is rejected whatever the filter says");
    assert_eq!(fixture.resource_ids().await, vec!["k0", "k4"]);
    let status = fixture
        .ingest
        .status
        .snapshot()
        .into_iter()
        .find(|source| source.name == OCIS_AUDIT)
        .unwrap();
    assert_eq!((status.filtered, status.rejected, status.events_ingested), (3, 1, 2));
    // The cursor moved past the filtered lines: a restart reads nothing again.
    assert_eq!(fixture.tick().await, TickReport::default());
}

on_both_backends!(
    lines_are_read_in_small_and_large_chunks_and_partial_lines_wait,
    rename_and_create_finishes_the_old_file_first,
    copy_and_truncate_reads_the_rest_from_the_copy,
    a_truncation_without_a_copy_is_recorded_as_a_gap,
    a_replaced_file_is_a_new_file_even_on_a_reused_inode,
    bad_lines_are_counted_and_passed_over,
    filtered_actions_are_counted_and_not_recorded
);
