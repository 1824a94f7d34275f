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
    // Each appending connection reports its changes to pg_stat_user_tables on its own schedule
    // (at most once a second, or after ten idle seconds). A table analysed while some changes
    // were still unreported comes due again once they arrive, so wait until every row is counted.
    wait_until_statistics_count_every_row(&db).await;
    let analysed = store.refresh_planner_statistics().await.unwrap();
    assert_eq!(analysed, vec!["audit_events".to_owned(), "merkle_nodes".to_owned()]);
    // ANALYZE resets the change counters at once: nothing is due until the tables change again.
    assert!(store.refresh_planner_statistics().await.unwrap().is_empty());
}

on_both_backends!(grown_tables_are_analysed_once);

/// Waits (at most 60 s) until PostgreSQL's statistics count every row of both tables as
/// inserted; rows are only ever inserted into them here.
async fn wait_until_statistics_count_every_row(db: &TestDatabase) {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let started = Instant::now();
    loop {
        let unreported: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM merkle_nodes) \
             - coalesce((SELECT sum(n_tup_ins) FROM pg_stat_user_tables \
                         WHERE relname IN ('audit_events', 'merkle_nodes')), 0)::bigint",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if unreported <= 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{unreported} rows still unreported after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    pool.close().await;
}
