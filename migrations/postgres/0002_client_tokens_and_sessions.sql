-- Mirrors migrations/sqlite/0002_client_tokens_and_sessions.sql: client tokens (browser
-- intake) and console sessions.

CREATE TABLE client_tokens (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    name            TEXT NOT NULL,
    name_folded     TEXT COLLATE "C" NOT NULL,
    digest          BYTEA NOT NULL UNIQUE,
    sealed_key      BYTEA NOT NULL,
    last4           TEXT COLLATE "C" NOT NULL,
    created_by      UUID NOT NULL,
    modified_by     UUID,
    created_at      BIGINT NOT NULL,
    modified_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX client_tokens_org_name ON client_tokens(org_id, name);
CREATE INDEX client_tokens_by_name ON client_tokens(org_id, name_folded, id);
CREATE INDEX client_tokens_by_created ON client_tokens(org_id, created_at, id);
CREATE INDEX client_tokens_by_modified ON client_tokens(org_id, modified_at, id);
CREATE INDEX client_tokens_by_last4 ON client_tokens(org_id, last4, id);

CREATE FUNCTION client_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM keyplane_log_change(
            'client_token', OLD.org_id, OLD.id, OLD.digest, OLD.modified_at);
        RETURN NULL;
    END IF;
    PERFORM keyplane_log_change('client_token', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER client_tokens_inserted AFTER INSERT ON client_tokens
    FOR EACH ROW EXECUTE FUNCTION client_tokens_changed();
CREATE TRIGGER client_tokens_updated AFTER UPDATE OF name ON client_tokens
    FOR EACH ROW EXECUTE FUNCTION client_tokens_changed();
CREATE TRIGGER client_tokens_deleted AFTER DELETE ON client_tokens
    FOR EACH ROW EXECUTE FUNCTION client_tokens_changed();

-- A console session: only the digest of the cookie's token is stored. Sessions are read
-- from here on every console request, so they work on every node without a log of their own.
CREATE TABLE sessions (
    digest          BYTEA PRIMARY KEY,
    user_id         UUID NOT NULL REFERENCES users(id),
    org_id          UUID NOT NULL REFERENCES orgs(id),
    created_at      BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_created ON sessions(created_at);

-- A new password or a disabled account ends every session of the user, whoever forgets to.
CREATE FUNCTION users_end_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM sessions WHERE user_id = NEW.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_password_changed AFTER UPDATE OF password_hash ON users
    FOR EACH ROW WHEN (NEW.password_hash IS DISTINCT FROM OLD.password_hash)
    EXECUTE FUNCTION users_end_sessions();
CREATE TRIGGER users_disabled AFTER UPDATE OF status ON users
    FOR EACH ROW WHEN (NEW.status = 'Disabled')
    EXECUTE FUNCTION users_end_sessions();
