-- Credentials reported through POST /api/v2/credentials/leaked: one row per credential (ids
-- are unique across kinds), so a report repeated by every scanner records the leak once.
-- No foreign key to the credential: a revoked key's leak stays on record. Independent of
-- 0010, which may be applied before or after this one.
CREATE TABLE leaked_keys (
    credential_id   TEXT PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    credential_kind TEXT NOT NULL,
    leaked_at       INTEGER NOT NULL,
    leak_source     TEXT
);
