//! Storage errors. Messages never contain credentials: URLs are redacted before they get here.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DATABASE_URL '{0}' is neither postgres:// nor sqlite: (nor a file path)")]
    UnsupportedUrl(String),
    #[error("cannot open the database at {url}: {reason}")]
    Unavailable { url: String, reason: String },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("a stored row is not valid: {0}")]
    Corrupt(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// From the SQLite verification reader, which reads through rusqlite (see `evidence`).
    #[error("database error: {0}")]
    EmbeddedRead(#[from] rusqlite::Error),
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(error.to_string())
    }
}
