-- The audit trail. Records are chained by hash (see src/domain/audit.rs); the head row holds
-- the newest record's position and hash, so cutting records from the end is detectable too.

CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY NOT NULL,   -- assigned by the appender: 1, 2, 3, … no gaps
    at          INTEGER NOT NULL,
    org_id      TEXT,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_id   TEXT,
    source      TEXT,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);
CREATE INDEX audit_events_org_at ON audit_events(org_id, at);

CREATE TABLE audit_head (
    id      INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq     INTEGER NOT NULL,
    hash    BLOB NOT NULL
);

-- Append-only for keyplane itself; someone editing the file directly is caught by the chain.
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
