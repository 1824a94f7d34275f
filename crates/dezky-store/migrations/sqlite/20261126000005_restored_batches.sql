-- Restored archive batches (issue 5): a read-only copy of an archived batch's events in the
-- database, so queries with includeArchived=true read it with SQL instead of fetching the batch
-- from cold storage. The copy is derived data: the archive object stays the evidence, and
-- verification never reads the copy.

CREATE TABLE restored_batches (
    batch_id       TEXT PRIMARY KEY REFERENCES archive_batches (id),
    restored_at_ms INTEGER NOT NULL,
    event_count    INTEGER NOT NULL
);

-- The columns of audit_events, plus the batch the row was copied from.
CREATE TABLE restored_events (
    seq            INTEGER PRIMARY KEY,
    batch_id       TEXT NOT NULL REFERENCES restored_batches (batch_id),
    at_ms          INTEGER NOT NULL,
    recorded_at_ms INTEGER NOT NULL,
    actor_type     TEXT NOT NULL,
    actor_id       TEXT,
    actor_email    TEXT,
    actor_ip       TEXT,
    action         TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    resource_type  TEXT,
    resource_id    TEXT,
    resource_name  TEXT,
    tenant_slug    TEXT,
    partner_slug   TEXT,
    source         TEXT NOT NULL,
    external_id    TEXT,
    metadata       TEXT,
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL,
    leaf_hash           TEXT NOT NULL,
    personal_commitment TEXT NOT NULL,
    personal_salt       TEXT
);
CREATE INDEX restored_events_batch ON restored_events (batch_id);
CREATE INDEX restored_events_at ON restored_events (at_ms);
CREATE INDEX restored_events_tenant ON restored_events (tenant_slug, seq);
CREATE INDEX restored_events_action ON restored_events (action, seq);
CREATE INDEX restored_events_actor_email ON restored_events (lower(actor_email), seq);

-- Read-only: rows come and go only through the store's restore and drop methods, which hold
-- this gate open (one row) inside their transaction; nothing ever updates them.
CREATE TABLE restore_gate (open INTEGER NOT NULL);

CREATE TRIGGER restored_events_no_insert BEFORE INSERT ON restored_events
WHEN NOT EXISTS (SELECT 1 FROM restore_gate)
BEGIN
    SELECT RAISE(ABORT, 'restored_events is read-only: INSERT rejected');
END;
CREATE TRIGGER restored_events_no_update BEFORE UPDATE ON restored_events
BEGIN
    SELECT RAISE(ABORT, 'restored_events is read-only: UPDATE rejected');
END;
CREATE TRIGGER restored_events_no_delete BEFORE DELETE ON restored_events
WHEN NOT EXISTS (SELECT 1 FROM restore_gate)
BEGIN
    SELECT RAISE(ABORT, 'restored_events is read-only: DELETE rejected');
END;
CREATE TRIGGER restored_batches_no_insert BEFORE INSERT ON restored_batches
WHEN NOT EXISTS (SELECT 1 FROM restore_gate)
BEGIN
    SELECT RAISE(ABORT, 'restored_batches is read-only: INSERT rejected');
END;
CREATE TRIGGER restored_batches_no_update BEFORE UPDATE ON restored_batches
BEGIN
    SELECT RAISE(ABORT, 'restored_batches is read-only: UPDATE rejected');
END;
CREATE TRIGGER restored_batches_no_delete BEFORE DELETE ON restored_batches
WHEN NOT EXISTS (SELECT 1 FROM restore_gate)
BEGIN
    SELECT RAISE(ABORT, 'restored_batches is read-only: DELETE rejected');
END;
