-- Background workers: ingest cursors (written in the same transaction as the events they cover)
-- and leases (one instance runs a worker at a time; another takes over when the lease expires).

CREATE TABLE ingest_cursors (
    name          TEXT PRIMARY KEY,
    cursor        TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE worker_leases (
    name          TEXT PRIMARY KEY,
    holder        TEXT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
