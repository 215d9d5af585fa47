-- Personal and service-account access tokens. Only the digest of a token is kept: it is
-- shown once, on create. Owners are users (service accounts are users too); the table names
-- no other new table, so it applies whatever else is migrated around it.

CREATE TABLE access_tokens (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    owner_id        TEXT NOT NULL REFERENCES users(id),
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_folded     TEXT NOT NULL,
    digest          BLOB NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    modified_at     INTEGER,
    last_used_at    INTEGER
);
CREATE INDEX access_tokens_by_name ON access_tokens(org_id, name_folded, id);
CREATE INDEX access_tokens_by_owner ON access_tokens(owner_id, id);

-- Logged for what changes what a token authenticates as (scopes), not for usage.
CREATE TRIGGER access_tokens_inserted AFTER INSERT ON access_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('access_token', NEW.org_id, NEW.id, NEW.digest, NEW.created_at);
END;
CREATE TRIGGER access_tokens_updated AFTER UPDATE OF scopes ON access_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('access_token', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;
CREATE TRIGGER access_tokens_deleted AFTER DELETE ON access_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('access_token', OLD.org_id, OLD.id, OLD.digest,
                COALESCE(OLD.modified_at, OLD.created_at));
END;
