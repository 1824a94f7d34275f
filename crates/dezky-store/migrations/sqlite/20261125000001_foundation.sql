-- The audit log, its chain head, API tokens and users. Never edit a landed migration: add one.

CREATE TABLE audit_events (
    seq            INTEGER PRIMARY KEY,  -- assigned by the store from chain_head, gapless from 0
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
    metadata       TEXT NOT NULL,
    prev_hash      TEXT,
    hash           TEXT
);

-- NULL external ids never collide: only events that carry one are deduplicated.
CREATE UNIQUE INDEX audit_events_source_external_id ON audit_events (source, external_id);
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_tenant ON audit_events (tenant_slug, seq);
CREATE INDEX audit_events_partner ON audit_events (partner_slug, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_actor_email ON audit_events (lower(actor_email), seq);
CREATE INDEX audit_events_source ON audit_events (source, seq);
CREATE INDEX audit_events_outcome ON audit_events (outcome, seq);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE rejected');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: DELETE rejected');
END;

-- Free text (q) over action, resource name, actor e-mail and tenant: a trigram index, so any
-- substring of three or more characters is found without a table scan.
CREATE VIRTUAL TABLE audit_events_text USING fts5(
    action, resource_name, actor_email, tenant_slug,
    content = 'audit_events', content_rowid = 'seq', tokenize = 'trigram'
);

CREATE TRIGGER audit_events_text_insert AFTER INSERT ON audit_events
BEGIN
    INSERT INTO audit_events_text (rowid, action, resource_name, actor_email, tenant_slug)
    VALUES (new.seq, new.action, new.resource_name, new.actor_email, new.tenant_slug);
END;

-- One row: the next seq to assign and the newest recordedAt, read and written inside every
-- append transaction (which holds SQLite's single write lock), so seq stays gapless.
CREATE TABLE chain_head (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq            INTEGER NOT NULL,
    last_recorded_at_ms INTEGER NOT NULL
);
INSERT INTO chain_head (id, next_seq, last_recorded_at_ms) VALUES (1, 0, 0);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    scope         TEXT NOT NULL CHECK (scope IN ('operator', 'tenant', 'ingest')),
    tenant_slug   TEXT,
    source        TEXT,
    created_at_ms INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    revoked_at_ms INTEGER
);

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    issuer            TEXT NOT NULL,
    subject           TEXT NOT NULL,
    email             TEXT,
    name              TEXT,
    groups_json       TEXT NOT NULL,
    platform_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at_ms     INTEGER NOT NULL,
    last_seen_at_ms   INTEGER NOT NULL,
    UNIQUE (issuer, subject)
);
CREATE INDEX users_email ON users (lower(email));
