-- Mirrors migrations/sqlite/0001_init.sql with PostgreSQL's own types. Timestamps are integer
-- microseconds since the Unix epoch (UTC), as on SQLite.
--
-- Columns that lists sort by use the "C" collation, so names, last4, emails and statuses sort
-- byte-wise exactly as SQLite sorts them, whatever the database's default collation is.

CREATE TABLE orgs (
    id              UUID PRIMARY KEY,
    name            TEXT NOT NULL,
    one_time_read   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at      BIGINT NOT NULL,
    -- Kept by the triggers below, so no write counts rows.
    api_key_count   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    email           TEXT COLLATE "C" NOT NULL,
    name            TEXT,
    handle          TEXT NOT NULL,
    title           TEXT,
    -- Comma-separated managed role names (admin, standard, read_only); empty = no role.
    roles           TEXT NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    service_account BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash   TEXT,
    created_at      BIGINT NOT NULL,
    modified_at     BIGINT NOT NULL,
    app_key_count   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX users_org_email ON users(org_id, email);
CREATE INDEX users_org_created ON users(org_id, created_at);

CREATE TABLE api_keys (
    id                          UUID PRIMARY KEY,
    org_id                      UUID NOT NULL REFERENCES orgs(id),
    name                        TEXT NOT NULL,
    -- Unicode-lowercased name: case-insensitive sort and substring filter.
    name_folded                 TEXT COLLATE "C" NOT NULL,
    -- SHA-256 of the key: the only form used to find a key.
    digest                      BYTEA NOT NULL UNIQUE,
    -- AES-256-GCM(nonce || ciphertext || tag) of the key, so GET can return it as Datadog does.
    sealed_key                  BYTEA NOT NULL,
    last4                       TEXT COLLATE "C" NOT NULL,
    category                    TEXT NOT NULL,
    remote_config_read_enabled  BOOLEAN NOT NULL,
    created_by                  UUID NOT NULL,
    modified_by                 UUID,
    created_at                  BIGINT NOT NULL,
    modified_at                 BIGINT NOT NULL,
    date_last_used              BIGINT
);
-- The store maps a unique violation to its field by the index name's suffix (_name, _email).
CREATE UNIQUE INDEX api_keys_org_name ON api_keys(org_id, name);
CREATE INDEX api_keys_by_name ON api_keys(org_id, name_folded, id);
CREATE INDEX api_keys_by_created ON api_keys(org_id, created_at, id);
CREATE INDEX api_keys_by_modified ON api_keys(org_id, modified_at, id);
CREATE INDEX api_keys_by_last4 ON api_keys(org_id, last4, id);

CREATE TABLE application_keys (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    owner_id        UUID NOT NULL REFERENCES users(id),
    name            TEXT NOT NULL,
    name_folded     TEXT COLLATE "C" NOT NULL,
    digest          BYTEA NOT NULL UNIQUE,
    sealed_key      BYTEA NOT NULL,
    last4           TEXT COLLATE "C" NOT NULL,
    -- JSON array of scope names, or NULL for "all of the owner's permissions".
    scopes          TEXT,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE UNIQUE INDEX application_keys_org_name ON application_keys(org_id, name);
CREATE INDEX application_keys_owner ON application_keys(owner_id);
CREATE INDEX application_keys_by_name ON application_keys(org_id, name_folded, id);
CREATE INDEX application_keys_by_created ON application_keys(org_id, created_at, id);
CREATE INDEX application_keys_by_last4 ON application_keys(org_id, last4, id);

-- Every write that can change what a credential authenticates as appends here, in the same
-- transaction. Nodes apply the log to their in-memory credential index: at once after their
-- own writes, when notified on channel keyplane_changes, and by polling as a fallback.
CREATE TABLE changes (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind    TEXT NOT NULL,      -- api_key | application_key | user
    org_id  UUID NOT NULL,
    id      UUID NOT NULL,
    digest  BYTEA,              -- the key's digest (keys), to drop it once deleted
    at      BIGINT NOT NULL
);

-- The one lock every credential write holds until it commits. A sequence hands out numbers
-- when a row is inserted, not when its transaction commits, so without it a reader could see
-- seq 8 committed before seq 7 and step past 7 for good. Holding this lock from before the
-- first logged row until commit makes commit order equal seq order: every snapshot sees a
-- prefix of the log. The store takes it as the first statement of each write transaction
-- (so all writers queue here before taking any row lock, and cannot deadlock on one another);
-- the triggers take it again (a no-op then) for writes made outside the store.
CREATE FUNCTION keyplane_write_lock() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(7379504659478391086)
$$;

CREATE FUNCTION keyplane_log_change(p_kind TEXT, p_org UUID, p_id UUID, p_digest BYTEA,
    p_at BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM keyplane_write_lock();
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES (p_kind, p_org, p_id, p_digest, p_at);
    -- Delivered at commit, once per transaction (same channel and payload are merged).
    PERFORM pg_notify('keyplane_changes', '');
END
$$;

-- The change log and the key counts are kept by triggers, so no writer can forget them.
-- Updates are logged only for the columns that change what a credential authenticates as
-- (usage timestamps are not).
CREATE FUNCTION api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE orgs SET api_key_count = api_key_count - 1 WHERE id = OLD.org_id;
        PERFORM keyplane_log_change('api_key', OLD.org_id, OLD.id, OLD.digest, OLD.modified_at);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE orgs SET api_key_count = api_key_count + 1 WHERE id = NEW.org_id;
    END IF;
    PERFORM keyplane_log_change('api_key', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_inserted AFTER INSERT ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_changed();
CREATE TRIGGER api_keys_updated AFTER UPDATE OF name, category, remote_config_read_enabled
    ON api_keys FOR EACH ROW EXECUTE FUNCTION api_keys_changed();
CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION api_keys_changed();

CREATE FUNCTION application_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE users SET app_key_count = app_key_count - 1 WHERE id = OLD.owner_id;
        PERFORM keyplane_log_change(
            'application_key', OLD.org_id, OLD.id, OLD.digest, OLD.created_at);
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        UPDATE users SET app_key_count = app_key_count + 1 WHERE id = NEW.owner_id;
    END IF;
    PERFORM keyplane_log_change('application_key', NEW.org_id, NEW.id, NEW.digest, NEW.created_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER application_keys_inserted AFTER INSERT ON application_keys
    FOR EACH ROW EXECUTE FUNCTION application_keys_changed();
CREATE TRIGGER application_keys_updated AFTER UPDATE OF name, scopes, owner_id
    ON application_keys FOR EACH ROW EXECUTE FUNCTION application_keys_changed();
CREATE TRIGGER application_keys_deleted AFTER DELETE ON application_keys
    FOR EACH ROW EXECUTE FUNCTION application_keys_changed();

CREATE FUNCTION users_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM keyplane_log_change('user', NEW.org_id, NEW.id, NULL, NEW.modified_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER users_inserted AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_changed();
CREATE TRIGGER users_updated AFTER UPDATE OF roles, status, disabled, email, org_id ON users
    FOR EACH ROW EXECUTE FUNCTION users_changed();
