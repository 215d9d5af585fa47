-- Mirrors migrations/sqlite/0003_audit_trail.sql. Records are chained by hash (see
-- src/domain/audit.rs); the head row holds the newest record's position and hash, so cutting
-- records from the end is detectable too.

CREATE TABLE audit_events (
    seq         BIGINT PRIMARY KEY,     -- assigned by the appender: 1, 2, 3, … no gaps
    at          BIGINT NOT NULL,
    org_id      UUID,
    actor_id    UUID,
    action      TEXT NOT NULL,
    target_id   UUID,
    source      TEXT,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_events_org_at ON audit_events(org_id, at);

CREATE TABLE audit_head (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    seq     BIGINT NOT NULL,
    hash    BYTEA NOT NULL
);

-- Appends from every node queue here until they commit, so the chain has one order. Its own
-- lock, not keyplane_write_lock(): an append follows the write it records and need not wait
-- for unrelated credential writes.
CREATE FUNCTION keyplane_audit_lock() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(7379504659478391087)
$$;

-- Append-only for keyplane itself; someone editing the tables directly is caught by the chain.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
