-- Timestamps are integer microseconds since the Unix epoch (UTC): they sort and compare
-- exactly, and render to Datadog's `2025-09-08T09:24:42.999350+00:00` at the HTTP edge.

CREATE TABLE orgs (
    id              TEXT PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    one_time_read   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    -- Kept by the same statements that enforce the limits, so no write counts rows.
    api_key_count   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    email           TEXT NOT NULL,
    name            TEXT,
    handle          TEXT NOT NULL,
    title           TEXT,
    -- Comma-separated managed role names (admin, standard, read_only); empty = no role.
    roles           TEXT NOT NULL,
    status          TEXT NOT NULL,
    disabled        INTEGER NOT NULL DEFAULT 0,
    service_account INTEGER NOT NULL DEFAULT 0,
    password_hash   TEXT,
    created_at      INTEGER NOT NULL,
    modified_at     INTEGER NOT NULL,
    app_key_count   INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_org_email ON users(org_id, email);
CREATE INDEX users_org_created ON users(org_id, created_at);

CREATE TABLE api_keys (
    id                          TEXT PRIMARY KEY NOT NULL,
    org_id                      TEXT NOT NULL REFERENCES orgs(id),
    name                        TEXT NOT NULL,
    -- Unicode-lowercased name: case-insensitive sort and substring filter.
    name_folded                 TEXT NOT NULL,
    -- SHA-256 of the key: the only form used to find a key.
    digest                      BLOB NOT NULL UNIQUE,
    -- AES-256-GCM(nonce || ciphertext || tag) of the key, so GET can return it as Datadog does.
    sealed_key                  BLOB NOT NULL,
    last4                       TEXT NOT NULL,
    category                    TEXT NOT NULL,
    remote_config_read_enabled  INTEGER NOT NULL,
    created_by                  TEXT NOT NULL,
    modified_by                 TEXT,
    created_at                  INTEGER NOT NULL,
    modified_at                 INTEGER NOT NULL,
    date_last_used              INTEGER
);
CREATE UNIQUE INDEX api_keys_org_name ON api_keys(org_id, name);
-- One index per sort order, ending in the id tiebreak (so pages come in index order) and
-- holding name_folded (so a name filter is checked on the index, not on the rows).
CREATE INDEX api_keys_by_name ON api_keys(org_id, name_folded, id);
CREATE INDEX api_keys_by_created ON api_keys(org_id, created_at, id, name_folded);
CREATE INDEX api_keys_by_modified ON api_keys(org_id, modified_at, id, name_folded);
CREATE INDEX api_keys_by_last4 ON api_keys(org_id, last4, id, name_folded);

CREATE TABLE application_keys (
    id              TEXT PRIMARY KEY NOT NULL,
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    owner_id        TEXT NOT NULL REFERENCES users(id),
    name            TEXT NOT NULL,
    name_folded     TEXT NOT NULL,
    digest          BLOB NOT NULL UNIQUE,
    sealed_key      BLOB NOT NULL,
    last4           TEXT NOT NULL,
    -- JSON array of scope names, or NULL for "all of the owner's permissions".
    scopes          TEXT,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE UNIQUE INDEX application_keys_org_name ON application_keys(org_id, name);
CREATE INDEX application_keys_owner ON application_keys(owner_id);
CREATE INDEX application_keys_by_name ON application_keys(org_id, name_folded, id);
CREATE INDEX application_keys_by_created ON application_keys(org_id, created_at, id, name_folded);
CREATE INDEX application_keys_by_last4 ON application_keys(org_id, last4, id, name_folded);

-- Every write that can change what a credential authenticates as appends here, in the same
-- transaction. Nodes apply the log to their in-memory credential index: at once after their
-- own writes, and by polling for writes of other processes (keyplane admin, other nodes).
CREATE TABLE changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    kind    TEXT NOT NULL,      -- api_key | application_key | user
    org_id  TEXT NOT NULL,
    id      TEXT NOT NULL,
    digest  BLOB,               -- the key's digest (keys), to drop it once deleted
    at      INTEGER NOT NULL
);

-- The change log and the key counts are kept by triggers, so no writer can forget them.
-- Updates are logged only for the columns that change what a credential authenticates as
-- (usage timestamps are not).
CREATE TRIGGER api_keys_inserted AFTER INSERT ON api_keys BEGIN
    UPDATE orgs SET api_key_count = api_key_count + 1 WHERE id = NEW.org_id;
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('api_key', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;
CREATE TRIGGER api_keys_updated AFTER UPDATE OF name, category, remote_config_read_enabled
    ON api_keys BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('api_key', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;
CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys BEGIN
    UPDATE orgs SET api_key_count = api_key_count - 1 WHERE id = OLD.org_id;
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('api_key', OLD.org_id, OLD.id, OLD.digest, OLD.modified_at);
END;
CREATE TRIGGER application_keys_inserted AFTER INSERT ON application_keys BEGIN
    UPDATE users SET app_key_count = app_key_count + 1 WHERE id = NEW.owner_id;
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('application_key', NEW.org_id, NEW.id, NEW.digest, NEW.created_at);
END;
CREATE TRIGGER application_keys_updated AFTER UPDATE OF name, scopes, owner_id
    ON application_keys BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('application_key', NEW.org_id, NEW.id, NEW.digest, NEW.created_at);
END;
CREATE TRIGGER application_keys_deleted AFTER DELETE ON application_keys BEGIN
    UPDATE users SET app_key_count = app_key_count - 1 WHERE id = OLD.owner_id;
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('application_key', OLD.org_id, OLD.id, OLD.digest, OLD.created_at);
END;
CREATE TRIGGER users_inserted AFTER INSERT ON users BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('user', NEW.org_id, NEW.id, NULL, NEW.modified_at);
END;
CREATE TRIGGER users_updated AFTER UPDATE OF roles, status, disabled, email, org_id ON users BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('user', NEW.org_id, NEW.id, NULL, NEW.modified_at);
END;
