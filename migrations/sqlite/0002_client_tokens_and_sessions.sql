-- Client tokens (browser intake) and console sessions.

CREATE TABLE client_tokens (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    name            TEXT NOT NULL,
    name_folded     TEXT NOT NULL,
    digest          BLOB NOT NULL UNIQUE,
    sealed_key      BLOB NOT NULL,
    last4           TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    modified_by     TEXT,
    created_at      INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX client_tokens_org_name ON client_tokens(org_id, name);
CREATE INDEX client_tokens_by_name ON client_tokens(org_id, name_folded, id);
CREATE INDEX client_tokens_by_created ON client_tokens(org_id, created_at, id, name_folded);
CREATE INDEX client_tokens_by_modified ON client_tokens(org_id, modified_at, id, name_folded);
CREATE INDEX client_tokens_by_last4 ON client_tokens(org_id, last4, id, name_folded);

CREATE TRIGGER client_tokens_inserted AFTER INSERT ON client_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('client_token', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;
CREATE TRIGGER client_tokens_updated AFTER UPDATE OF name ON client_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('client_token', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;
CREATE TRIGGER client_tokens_deleted AFTER DELETE ON client_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('client_token', OLD.org_id, OLD.id, OLD.digest, OLD.modified_at);
END;

-- A console session: only the digest of the cookie's token is stored.
CREATE TABLE sessions (
    digest          BLOB PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id),
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    created_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_created ON sessions(created_at);

-- A new password or a disabled account ends every session of the user, whoever forgets to.
-- (UPDATE OF fires whenever the column is SET, hence the WHEN.)
CREATE TRIGGER users_password_changed AFTER UPDATE OF password_hash ON users
    WHEN NEW.password_hash IS NOT OLD.password_hash BEGIN
    DELETE FROM sessions WHERE user_id = NEW.id;
END;
CREATE TRIGGER users_disabled AFTER UPDATE OF status ON users WHEN NEW.status = 'Disabled' BEGIN
    DELETE FROM sessions WHERE user_id = NEW.id;
END;
