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
    metadata       TEXT NOT NULL,  -- the JSON text exactly as recorded (jsonb would reorder keys)
    prev_hash      TEXT,
    hash           TEXT
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
    RAISE EXCEPTION 'audit_events is append-only: % rejected', TG_OP;
END
$$;

CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();

-- One row, locked (SELECT ... FOR UPDATE) by every append transaction: two dezky instances on
-- one database take turns, so seq stays gapless and the chain can never fork.
CREATE TABLE chain_head (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq            BIGINT NOT NULL,
    last_recorded_at_ms BIGINT NOT NULL
);
INSERT INTO chain_head (id, next_seq, last_recorded_at_ms) VALUES (1, 0, 0);

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
