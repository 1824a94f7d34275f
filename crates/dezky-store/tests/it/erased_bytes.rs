//! Erasure must take personal data off the disk, not only out of the rows: SQLite keeps the
//! old bytes of a changed row in the page's free space and in old WAL frames unless told
//! otherwise. After an erasure, no file of the embedded database (the database, the index file
//! beside it, and their WAL files) may still hold the erased values.

use crate::open;
use crate::text_index::{append_and_index, erase, wait_until_indexed};
use dezky_store::ErasureSubject;
use dezky_testkit::{TestBackend, TestDatabase};
use std::path::PathBuf;
use std::time::Duration;

const EMAIL: &str = "wiebke.restbestand@example.org";
const FILE_NAME: &str = "Kuendigung-Restbestand-4711.pdf";
const METADATA_MARKER: &str = "restbestand-marker-7f3a";
const ACTOR_ID: &str = "user-restbestand-0042";

/// Every file of the SQLite database at `db` (the database, the index file, their WAL and
/// shared-memory files).
fn database_files(db: &TestDatabase) -> Vec<PathBuf> {
    let database = PathBuf::from(db.url.strip_prefix("sqlite://").expect("a SQLite test database"));
    let name = database.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::read_dir(database.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.file_name().unwrap().to_string_lossy().starts_with(&name))
        .collect()
}

/// The erased values still found in the database's files, each with the file it is in.
fn residues(db: &TestDatabase) -> Vec<String> {
    let mut found = vec![];
    for file in database_files(db) {
        let Ok(bytes) = std::fs::read(&file) else { continue };
        for marker in [EMAIL, FILE_NAME, METADATA_MARKER, ACTOR_ID] {
            if bytes.windows(marker.len()).any(|window| window == marker.as_bytes()) {
                found.push(format!("{marker} in {}", file.display()));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_values_leave_every_file_of_the_database() {
    let db = TestDatabase::create(TestBackend::Sqlite).await;
    let store = open(&db).await;
    // The subject's events among others, so that their pages hold other rows that stay.
    let events: Vec<_> = (0..300)
        .map(|index| {
            let mut event = crate::event("file.uploaded", 1_000 + index);
            event.resource_name = Some(format!("Akte-{index}.pdf"));
            if index % 100 == 7 {
                event.actor_email = Some(EMAIL.into());
                event.actor_id = Some(ACTOR_ID.into());
                event.resource_name = Some(FILE_NAME.into());
                event.metadata.insert("note".into(), serde_json::json!(METADATA_MARKER));
            }
            event
        })
        .collect();
    append_and_index(&db, &store, events).await;
    let before = residues(&db);
    for marker in [EMAIL, FILE_NAME, METADATA_MARKER, ACTOR_ID] {
        assert!(
            before.iter().any(|found| found.starts_with(marker)),
            "{marker} is on disk before the erasure (else this test could not fail): {before:?}"
        );
    }

    let outcome = erase(&store, ErasureSubject::ActorEmail(EMAIL.into())).await;
    assert_eq!(outcome.erased_seqs, vec![7, 107, 207]);
    wait_until_indexed(&db, 301).await;

    // The scrubbing runs after the erasure's commit; it is given ten seconds.
    let mut left = residues(&db);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = residues(&db);
    }
    assert_eq!(left, Vec::<String>::new(), "erased values still on disk");
    // What erasure keeps is still there: the other events, and the chain that covers them.
    let kept = store.get_event(8).await.unwrap().unwrap();
    assert_eq!(kept.resource_name.as_deref(), Some("Akte-8.pdf"));
}
