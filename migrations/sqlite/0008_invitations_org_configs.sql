-- Invitations to sign in to the console, and per-organization settings (Datadog's org
-- configs). Independent of 0007: neither table refers to anything 0007 adds.

-- The link's secret is kept as its SHA-256 digest only: the database alone cannot accept
-- an invitation. A row is usable while accepted_at and cancelled_at are NULL and expires_at
-- is ahead; accepting sets accepted_at in the same statement that checks this, so a link
-- works once.
CREATE TABLE user_invitations (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs(id),
    user_id      TEXT NOT NULL REFERENCES users(id),
    -- NULL when the operator invited from the command line.
    invited_by   TEXT,
    invite_type  TEXT NOT NULL,
    digest       BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    accepted_at  INTEGER,
    cancelled_at INTEGER
);
CREATE INDEX user_invitations_user ON user_invitations(org_id, user_id);

-- Only configs set at least once have a row; the others read as the catalog's default.
-- `value` is the JSON value as the API carries it.
CREATE TABLE org_configs (
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    modified_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, name)
);
