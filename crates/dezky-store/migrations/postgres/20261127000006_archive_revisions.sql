-- Erasure reaching the cold tier (issue 5). An erasure that finds the subject's events in an
-- archive batch writes new objects for the batch (the data without the erased personal fields,
-- and a superseding manifest) and records them here as the batch's next revision, in the
-- erasure's own transaction. archive_batches keeps the first objects' hashes (the next batch's
-- manifest links to the first manifest); the current objects are the highest revision.
CREATE TABLE archive_batch_revisions (
    batch_id           TEXT NOT NULL REFERENCES archive_batches (id),
    revision           BIGINT NOT NULL CHECK (revision >= 1),
    erased_events      BIGINT NOT NULL,
    bytes_compressed   BIGINT NOT NULL,
    bytes_uncompressed BIGINT NOT NULL,
    data_sha256        TEXT NOT NULL,
    manifest_sha256    TEXT NOT NULL,
    data_key           TEXT NOT NULL,
    manifest_key       TEXT NOT NULL,
    revised_at_ms      BIGINT NOT NULL,
    PRIMARY KEY (batch_id, revision)
);

-- Every batch with its current objects: what readers, verification and the archiver use.
CREATE VIEW archive_batches_current AS
SELECT b.id, b.start_seq, b.end_seq, b.event_count,
       COALESCE(r.erased_events, b.erased_events) AS erased_events,
       COALESCE(r.bytes_compressed, b.bytes_compressed) AS bytes_compressed,
       COALESCE(r.bytes_uncompressed, b.bytes_uncompressed) AS bytes_uncompressed,
       COALESCE(r.data_sha256, b.data_sha256) AS data_sha256,
       COALESCE(r.manifest_sha256, b.manifest_sha256) AS manifest_sha256,
       COALESCE(r.data_key, b.data_key) AS data_key,
       COALESCE(r.manifest_key, b.manifest_key) AS manifest_key,
       b.archived_at_ms,
       b.manifest_sha256 AS original_manifest_sha256,
       COALESCE(r.revision, 0) AS revision
FROM archive_batches b
LEFT JOIN archive_batch_revisions r
    ON r.batch_id = b.id
   AND r.revision = (SELECT MAX(revision) FROM archive_batch_revisions WHERE batch_id = b.id);

CREATE TRIGGER archive_batch_revisions_append_only BEFORE UPDATE OR DELETE ON archive_batch_revisions
    FOR EACH ROW EXECUTE FUNCTION dezky_reject_audit_change();
CREATE TRIGGER archive_batch_revisions_no_truncate BEFORE TRUNCATE ON archive_batch_revisions
    FOR EACH STATEMENT EXECUTE FUNCTION dezky_reject_audit_change();
