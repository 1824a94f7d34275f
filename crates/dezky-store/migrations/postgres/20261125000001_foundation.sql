-- The audit log, its chain head, API tokens and users. Never edit a landed migration: add one.

-- Trigram indexes back the free-text filter. pg_trgm is a trusted extension (PostgreSQL 13+):
-- the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE audit_events (
    seq            BIGINT PRIMARY KEY,  -- assigned by the store from chain_head, gapless from 0
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
    metadata       TEXT,  -- NULL once erased  -- the JSON text exactly as recorded (jsonb would reorder keys)
    -- Tamper evidence (see dezky-chain's leaf module): lowercase hex SHA-256 values.
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL,
    leaf_hash           TEXT NOT NULL,
    personal_commitment TEXT NOT NULL,
    personal_salt       TEXT  -- NULL once erased
);

CREATE UNIQUE INDEX audit_events_source_external_id ON audit_events (source, external_id);
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_tenant ON audit_events (tenant_slug, seq);
CREATE INDEX audit_events_partner ON audit_events (partner_slug, seq);
CREATE INDEX audit_events_action ON audit_events (action text_pattern_ops, seq);
CREATE INDEX audit_events_actor_email ON audit_events (lower(actor_email), seq);
CREATE INDEX audit_events_source ON audit_events (source, seq);
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);
CREATE INDEX audit_events_text ON audit_events USING gin (
    (action || E'\n' || coalesce(resource_name, '') || E'\n' || coalesce(actor_email, '')
        || E'\n' || coalesce(tenant_slug, '')) gin_trgm_ops
);

CREATE FUNCTION dezky_reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP;
END
$$;

-- The one permitted change is erasure: it nulls the personal fields and the salt, touches
-- nothing else, and only inside the store's erasure transaction (SET LOCAL dezky.erasure = 'on').
CREATE FUNCTION dezky_guard_audit_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('dezky.erasure', true) = 'on'
       AND NEW.actor_id IS NULL AND NEW.actor_email IS NULL AND NEW.actor_ip IS NULL
       AND NEW.resource_name IS NULL AND NEW.metadata IS NULL AND NEW.personal_salt IS NULL
       AND ROW(NEW.seq, NEW.at_ms, NEW.recorded_at_ms, NEW.actor_type, NEW.action, NEW.outcome,
               NEW.resource_type, NEW.resource_id, NEW.tenant_slug, NEW.partner_slug, NEW.source,
               NEW.external_id, NEW.prev_hash, NEW.hash, NEW.leaf_hash, NEW.personal_commitment)
           IS NOT DISTINCT FROM
           ROW(OLD.seq, OLD.at_ms, OLD.recorded_at_ms, OLD.actor_type, OLD.action, OLD.outcome,
               OLD.resource_type, OLD.resource_id, OLD.tenant_slug, OLD.partner_slug, OLD.source,
               OLD.external_id, OLD.prev_hash, OLD.hash, OLD.leaf_hash, OLD.personal_commitment)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: UPDATE rejected';
END
$$;

CREATE TRIGGER audit_events_guard_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION dezky_guard_audit_update();
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();

-- One row, locked (SELECT ... FOR UPDATE) by every append transaction: two dezky instances on
-- one database take turns, so seq stays gapless and the chain can never fork.
CREATE TABLE chain_head (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq            BIGINT NOT NULL,
    last_recorded_at_ms BIGINT NOT NULL,
    head_hash           TEXT NOT NULL
);
INSERT INTO chain_head (id, next_seq, last_recorded_at_ms, head_hash)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The Merkle tree's perfect subtrees of level >= 1 (level 0 is audit_events.leaf_hash):
-- about one row per event, written as the subtrees complete, so proofs need O(log n) reads.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   BIGINT NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints (C2SP signed notes). One per tree size: a second, different root for the
-- same size (equivocation) is refused by the primary key.
CREATE TABLE checkpoints (
    tree_size BIGINT PRIMARY KEY,
    root_hash TEXT NOT NULL,
    note      TEXT NOT NULL,
    head_seq  BIGINT,
    head_hash TEXT NOT NULL,
    at_ms     BIGINT NOT NULL,
    reason    TEXT NOT NULL
);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scope         TEXT NOT NULL CHECK (scope IN ('operator', 'tenant', 'ingest')),
    tenant_slug   TEXT,
    source        TEXT,
    created_at_ms BIGINT NOT NULL,
    created_by    TEXT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    issuer            TEXT NOT NULL,
    subject           TEXT NOT NULL,
    email             TEXT,
    name              TEXT,
    groups_json       TEXT NOT NULL,
    platform_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms     BIGINT NOT NULL,
    last_seen_at_ms   BIGINT NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX users_email ON users (lower(email));

CREATE TRIGGER merkle_nodes_append_only BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();
