//! Planner statistics: PostgreSQL's large tables are analysed once they changed by a tenth, and
//! not again until they change again; SQLite has nothing to refresh.

use crate::{event, open};
use dezky_core::Timestamp;
use dezky_testkit::{TestBackend, TestDatabase, on_both_backends};
use std::time::{Duration, Instant};

async fn grown_tables_are_analysed_once(db: TestDatabase) {
    let store = open(&db).await;
    assert!(
        store.refresh_planner_statistics().await.unwrap().is_empty(),
        "an empty log"
    );
    for batch in 0..10 {
        let events = (0..500)
            .map(|index| event("tenant.updated", batch * 500 + index))
            .collect();
        store.append_events(events, Timestamp::from_millis(1)).await.unwrap();
    }
    if db.backend == TestBackend::Sqlite {
        assert!(store.refresh_planner_statistics().await.unwrap().is_empty());
        return;
    }
    // The appending connections report their changes to pg_stat_user_tables within seconds,
    // not necessarily for both tables at once: a table may come due one poll after the other.
    let started = Instant::now();
    let mut analysed = vec![];
    while analysed.len() < 2 && started.elapsed() < Duration::from_secs(30) {
        analysed.extend(store.refresh_planner_statistics().await.unwrap());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    analysed.sort();
    assert_eq!(analysed, vec!["audit_events".to_owned(), "merkle_nodes".to_owned()]);
    // ANALYZE resets the change counters at once: nothing is due until the tables change again.
    assert!(store.refresh_planner_statistics().await.unwrap().is_empty());
}

on_both_backends!(grown_tables_are_analysed_once);
