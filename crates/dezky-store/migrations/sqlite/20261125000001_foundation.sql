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
    metadata       TEXT,  -- NULL once erased
    -- Tamper evidence (see dezky-chain's leaf module): lowercase hex SHA-256 values.
    prev_hash           TEXT NOT NULL,
    hash                TEXT NOT NULL,
    leaf_hash           TEXT NOT NULL,
    personal_commitment TEXT NOT NULL,
    personal_salt       TEXT  -- NULL once erased
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

-- The one permitted change is erasure: it nulls the personal fields and the salt, touches
-- nothing else, and only while the store's erasure method holds this gate open inside its
-- transaction. (The verifier still reports any erasure no audit.erased event accounts for.)
CREATE TABLE erasure_gate (open INTEGER NOT NULL);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (
    EXISTS (SELECT 1 FROM erasure_gate)
    AND new.actor_id IS NULL AND new.actor_email IS NULL AND new.actor_ip IS NULL
    AND new.resource_name IS NULL AND new.metadata IS NULL AND new.personal_salt IS NULL
    AND new.seq IS old.seq AND new.at_ms IS old.at_ms AND new.recorded_at_ms IS old.recorded_at_ms
    AND new.actor_type IS old.actor_type AND new.action IS old.action AND new.outcome IS old.outcome
    AND new.resource_type IS old.resource_type AND new.resource_id IS old.resource_id
    AND new.tenant_slug IS old.tenant_slug AND new.partner_slug IS old.partner_slug
    AND new.source IS old.source AND new.external_id IS old.external_id
    AND new.prev_hash IS old.prev_hash AND new.hash IS old.hash AND new.leaf_hash IS old.leaf_hash
    AND new.personal_commitment IS old.personal_commitment
)
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

-- Erasure must reach the text index too, or erased e-mails would stay searchable.
CREATE TRIGGER audit_events_text_update AFTER UPDATE ON audit_events
BEGIN
    INSERT INTO audit_events_text (audit_events_text, rowid, action, resource_name, actor_email, tenant_slug)
    VALUES ('delete', old.seq, old.action, old.resource_name, old.actor_email, old.tenant_slug);
    INSERT INTO audit_events_text (rowid, action, resource_name, actor_email, tenant_slug)
    VALUES (new.seq, new.action, new.resource_name, new.actor_email, new.tenant_slug);
END;

-- One row: the next seq to assign and the newest recordedAt, read and written inside every
-- append transaction (which holds SQLite's single write lock), so seq stays gapless.
CREATE TABLE chain_head (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq            INTEGER NOT NULL,
    last_recorded_at_ms INTEGER NOT NULL,
    head_hash           TEXT NOT NULL
);
INSERT INTO chain_head (id, next_seq, last_recorded_at_ms, head_hash)
VALUES (1, 0, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The Merkle tree's perfect subtrees of level >= 1 (level 0 is audit_events.leaf_hash):
-- about one row per event, written as the subtrees complete, so proofs need O(log n) reads.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- Signed checkpoints (C2SP signed notes). One per tree size: a second, different root for the
-- same size (equivocation) is refused by the primary key.
CREATE TABLE checkpoints (
    tree_size INTEGER PRIMARY KEY,
    root_hash TEXT NOT NULL,
    note      TEXT NOT NULL,
    head_seq  INTEGER,
    head_hash TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    reason    TEXT NOT NULL
);

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

CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle_nodes is append-only: UPDATE rejected');
END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle_nodes is append-only: DELETE rejected');
END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints is append-only: UPDATE rejected');
END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints is append-only: DELETE rejected');
END;
