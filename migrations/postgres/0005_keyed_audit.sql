-- Mirrors migrations/sqlite/0005_keyed_audit.sql. The audit chain becomes keyed
-- (HMAC-SHA-256 under a key derived from the master key, see src/domain/audit.rs), and
-- records say which credential acted.
--
-- Records already written keep their SHA-256 links: the head's new `keyed_from` marks the
-- first keyed position (the next record), and its `mac` covers (seq, hash, keyed_from). The
-- head is signed by the first keyplane process that opens the database afterwards, with an
-- `audit.chain_keyed` record; until then `mac` is NULL.

ALTER TABLE audit_events ADD COLUMN via TEXT;            -- key | session | cli
ALTER TABLE audit_events ADD COLUMN credential_id UUID;  -- the application key or session ref

ALTER TABLE audit_head ADD COLUMN keyed_from BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_head ADD COLUMN mac BYTEA;
UPDATE audit_head SET keyed_from = seq + 1;

