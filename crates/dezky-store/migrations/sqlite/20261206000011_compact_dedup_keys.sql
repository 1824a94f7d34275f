-- The duplicate lookup moves from the unique (source, external_id) index to a compact key: 8
-- bytes of SHA-256 over the pair (dezky-store's dedup_key module), one row per event that
-- carries an external id. Its index is about a quarter the size of the pair's, so a group commit
-- rewrites that many fewer of its pages (docs/PERFORMANCE.md, "Fourteenth session").
--
-- SQLite cannot compute the key: the store fills this table for the events already stored and
-- then drops audit_events_source_external_id, in one transaction, when it runs its migrations.
-- Keys may collide; a lookup confirms each match against the event's own source and id.
CREATE TABLE audit_dedup (
    seq INTEGER PRIMARY KEY,  -- the event's seq
    key INTEGER NOT NULL
);
CREATE INDEX audit_dedup_key ON audit_dedup (key);

-- Archiving deletes hot events; their keys go with them, as the unique index's entries did.
CREATE TRIGGER audit_events_dedup_delete AFTER DELETE ON audit_events
BEGIN
    DELETE FROM audit_dedup WHERE seq = old.seq;
END;

