//! Keeps the database's planner statistics fresh (see `dezky_store::maintenance`): a check
//! once a minute, an ANALYZE only for a table that changed by a tenth since its last one.

use dezky_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

const CHECK_EVERY: Duration = Duration::from_secs(60);

pub async fn run(store: Arc<dyn Store>, shutdown: impl Future<Output = ()>) {
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = tick.tick() => {}
        }
        match store.refresh_planner_statistics().await {
            Ok(tables) if !tables.is_empty() => tracing::info!(?tables, "planner statistics refreshed"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "cannot refresh the planner statistics"),
        }
    }
}
