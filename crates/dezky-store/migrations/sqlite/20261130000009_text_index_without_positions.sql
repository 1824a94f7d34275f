-- The free-text index keeps which events hold each trigram, no longer where (FTS5 detail=none).
--
-- Positions are what made the index expensive to write: with detail=full every trigram of
-- every searched field stored its column and offset, so the index was about twice the size of
-- the events it covered and a large share of each append transaction. Without positions FTS5
-- cannot match a phrase, so a search now asks the index for the events that hold all of the
-- text's trigrams (in any order, in any field) and checks the candidates' fields for the text
-- itself (`filter_sql::sqlite_text_match`, a case-insensitive GLOB). Same answers; measured
-- in docs/PERFORMANCE.md, "Tenth session".
--
-- The triggers that keep the index in step (erasure, archiving) name the table, not its
-- options, and keep working on the rebuilt one. Rebuilding reads every hot event once.
DROP TABLE audit_events_text;

CREATE VIRTUAL TABLE audit_events_text USING fts5(
    action, resource_name, actor_email, tenant_slug,
    content = 'audit_events', content_rowid = 'seq', tokenize = 'trigram', detail = 'none'
);

INSERT INTO audit_events_text (audit_events_text) VALUES ('rebuild');
