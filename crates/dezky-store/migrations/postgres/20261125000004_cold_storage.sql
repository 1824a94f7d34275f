-- Cold storage (issue 5): recorded archive batches, the one audited path that deletes hot rows,
-- and leaf hashes kept hot (in merkle_nodes at level 0) once their rows are archived.

-- One row per confirmed, recorded batch. Append-only. start_seq and end_seq are unique, so two
-- instances archiving at once can record a range only once; the store also insists that each
-- batch starts right after the previous one.
CREATE TABLE archive_batches (
    id                 TEXT PRIMARY KEY,
    start_seq          BIGINT NOT NULL UNIQUE,
    end_seq            BIGINT NOT NULL UNIQUE,
    event_count        BIGINT NOT NULL,
    erased_events      BIGINT NOT NULL,
    bytes_compressed   BIGINT NOT NULL,
    bytes_uncompressed BIGINT NOT NULL,
    data_sha256        TEXT NOT NULL,
    manifest_sha256    TEXT NOT NULL,
    data_key           TEXT NOT NULL,
    manifest_key       TEXT NOT NULL,
    archived_at_ms     BIGINT NOT NULL,
    CHECK (end_seq >= start_seq AND event_count = end_seq - start_seq + 1)
);

CREATE TRIGGER archive_batches_append_only BEFORE UPDATE OR DELETE ON archive_batches
    FOR EACH ROW EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER archive_batches_no_truncate BEFORE TRUNCATE ON archive_batches
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();

-- Retention counts from recordedAt: finding the first event inside the window is an index probe.
CREATE INDEX audit_events_recorded_at ON audit_events (recorded_at_ms);

-- The one permitted DELETE is the store's archive method: it sets dezky.archive = 'on' for its
-- transaction only, and even then only rows inside a recorded batch may go. TRUNCATE stays
-- rejected by its own trigger.
CREATE FUNCTION dezky_guard_audit_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('dezky.archive', true) = 'on'
       AND EXISTS (SELECT 1 FROM archive_batches WHERE OLD.seq BETWEEN start_seq AND end_seq)
    THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: DELETE rejected';
END
$$;

DROP TRIGGER audit_events_no_delete ON audit_events;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION dezky_guard_audit_delete();
