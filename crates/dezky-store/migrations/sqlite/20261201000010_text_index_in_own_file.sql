-- The free-text index moves out of this file into one of its own beside it (`<database>-text`),
-- filled after appends commit by its own connection instead of inside the append transaction
-- (see dezky-store's text_index module and ARCHITECTURE.md). SQLite locks per file: in its own
-- file the index is written while the writer commits the next group here.
--
-- The new index is built from the events by the store when it opens the database; until it has
-- caught up, searches scan the events it has not reached (exact answers, slower on a large log).
DROP TRIGGER audit_events_text_update;
DROP TRIGGER audit_events_text_delete;
DROP TABLE audit_events_text;
