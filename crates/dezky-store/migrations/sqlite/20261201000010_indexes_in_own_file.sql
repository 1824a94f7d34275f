-- The free-text index and the query indexes move out of this file into one of their own beside
-- it (`<database>-text`), filled after appends commit by its own connection instead of inside
-- the append transaction (see dezky-store's text_index module and ARCHITECTURE.md). SQLite
-- locks per file: in its own file the indexes are written while the writer commits the next
-- group here.
--
-- The new file is built from the events by the store when it opens the database; until it has
-- caught up, searches and filters scan the events it has not reached (exact answers, slower on
-- a large log).
DROP TRIGGER audit_events_text_update;
DROP TRIGGER audit_events_text_delete;
DROP TABLE audit_events_text;

DROP INDEX audit_events_at;
DROP INDEX audit_events_tenant;
DROP INDEX audit_events_partner;
DROP INDEX audit_events_action;
DROP INDEX audit_events_actor_email;
DROP INDEX audit_events_source;
DROP INDEX audit_events_outcome;
