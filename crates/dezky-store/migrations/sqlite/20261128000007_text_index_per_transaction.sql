-- The free-text index is filled once per append transaction instead of once per row.
--
-- With the row trigger, every multi-row INSERT statement opened a savepoint on the FTS5 table,
-- and FTS5 flushes its pending terms to a new segment at every savepoint: a group commit of a
-- few thousand events wrote a dozen small segments, and merging them back (automerge) was a
-- large share of the append path. The store now indexes the transaction's new rows with one
-- INSERT … SELECT after them (`sql::index_new_events_text_sql`), so FTS5 flushes one segment per
-- transaction. The index stays exactly the row set of audit_events: erasure and archiving keep
-- their row triggers, and nothing but the store's append path inserts events.
DROP TRIGGER audit_events_text_insert;
