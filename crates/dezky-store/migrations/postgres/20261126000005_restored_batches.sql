-- Restored archive batches (issue 5): a read-only copy of an archived batch's events in the
-- database, so queries with includeArchived=true read it with SQL instead of fetching the batch
-- from cold storage. The copy is derived data: the archive object stays the evidence, and
-- verification never reads the copy.

CREATE TABLE restored_batches (
    batch_id       TEXT PRIMARY KEY REFERENCES archive_batches (id),
    restored_at_ms BIGINT NOT NULL,
    event_count    BIGINT NOT NULL
);

-- The columns of audit_events, plus the batch the row was copied from.
CREATE TABLE restored_events (
    seq            BIGINT PRIMARY KEY,
    batch_id       TEXT NOT NULL REFERENCES restored_batches (batch_id),
    at_ms          BIGINT NOT NULL,
    recorded_at_ms BIGINT NOT NULL,
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
CREATE INDEX restored_events_action ON restored_events (action text_pattern_ops, seq);
CREATE INDEX restored_events_actor_email ON restored_events (lower(actor_email), seq);

-- Read-only: rows come and go only through the store's restore and drop methods, which set
-- dezky.restore = 'on' for their transaction; nothing ever updates them.
CREATE FUNCTION dezky_guard_restored_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' AND current_setting('dezky.restore', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is read-only: % rejected', TG_TABLE_NAME, TG_OP;
END
$$;

CREATE TRIGGER restored_events_read_only BEFORE INSERT OR UPDATE OR DELETE ON restored_events
    FOR EACH ROW EXECUTE FUNCTION dezky_guard_restored_change();
CREATE TRIGGER restored_events_no_truncate BEFORE TRUNCATE ON restored_events
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER restored_batches_read_only BEFORE INSERT OR UPDATE OR DELETE ON restored_batches
    FOR EACH ROW EXECUTE FUNCTION dezky_guard_restored_change();
CREATE TRIGGER restored_batches_no_truncate BEFORE TRUNCATE ON restored_batches
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();
