-- Cold storage (issue 5): recorded archive batches, the one audited path that deletes hot rows,
-- and leaf hashes kept hot (in merkle_nodes at level 0) once their rows are archived.

-- One row per confirmed, recorded batch. Append-only. start_seq and end_seq are unique, so two
-- instances archiving at once can record a range only once; the store also insists that each
-- batch starts right after the previous one.
CREATE TABLE archive_batches (
    id                 TEXT PRIMARY KEY,
    start_seq          INTEGER NOT NULL UNIQUE,
    end_seq            INTEGER NOT NULL UNIQUE,
    event_count        INTEGER NOT NULL,
    erased_events      INTEGER NOT NULL,
    bytes_compressed   INTEGER NOT NULL,
    bytes_uncompressed INTEGER NOT NULL,
    data_sha256        TEXT NOT NULL,
    manifest_sha256    TEXT NOT NULL,
    data_key           TEXT NOT NULL,
    manifest_key       TEXT NOT NULL,
    archived_at_ms     INTEGER NOT NULL,
    CHECK (end_seq >= start_seq AND event_count = end_seq - start_seq + 1)
);

CREATE TRIGGER archive_batches_no_update BEFORE UPDATE ON archive_batches
BEGIN
    SELECT RAISE(ABORT, 'archive_batches is append-only: UPDATE rejected');
END;
CREATE TRIGGER archive_batches_no_delete BEFORE DELETE ON archive_batches
BEGIN
    SELECT RAISE(ABORT, 'archive_batches is append-only: DELETE rejected');
END;

-- Retention counts from recordedAt: finding the first event inside the window is an index probe.
CREATE INDEX audit_events_recorded_at ON audit_events (recorded_at_ms);

-- The archive gate: open (one row) only inside the store's archive-delete transaction. Even
-- then, only rows inside a recorded batch may be deleted; every other DELETE is rejected.
CREATE TABLE archive_gate (open INTEGER NOT NULL);

DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT (
    EXISTS (SELECT 1 FROM archive_gate)
    AND EXISTS (SELECT 1 FROM archive_batches WHERE old.seq BETWEEN start_seq AND end_seq)
)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE rejected');
END;

-- Archived rows leave the text index with the row.
CREATE TRIGGER audit_events_text_delete AFTER DELETE ON audit_events
BEGIN
    INSERT INTO audit_events_text (audit_events_text, rowid, action, resource_name, actor_email, tenant_slug)
    VALUES ('delete', old.seq, old.action, old.resource_name, old.actor_email, old.tenant_slug);
END;
