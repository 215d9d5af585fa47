-- Mirrors migrations/sqlite/0009_access_tokens.sql: personal and service-account access
-- tokens, kept as digests only, logged for every node's credential index.

CREATE TABLE access_tokens (
    id              UUID PRIMARY KEY,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    owner_id        UUID NOT NULL REFERENCES users(id),
    kind            TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_folded     TEXT COLLATE "C" NOT NULL,
    digest          BYTEA NOT NULL UNIQUE,
    scopes          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    modified_at     BIGINT,
    last_used_at    BIGINT
);
CREATE INDEX access_tokens_by_name ON access_tokens(org_id, name_folded, id);
CREATE INDEX access_tokens_by_owner ON access_tokens(owner_id, id);

CREATE FUNCTION access_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM keyplane_log_change('access_token', OLD.org_id, OLD.id, OLD.digest,
            COALESCE(OLD.modified_at, OLD.created_at));
        RETURN NULL;
    END IF;
    PERFORM keyplane_log_change('access_token', NEW.org_id, NEW.id, NEW.digest,
        COALESCE(NEW.modified_at, NEW.created_at));
    RETURN NULL;
END
$$;
CREATE TRIGGER access_tokens_inserted AFTER INSERT ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION access_tokens_changed();
CREATE TRIGGER access_tokens_updated AFTER UPDATE OF scopes ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION access_tokens_changed();
CREATE TRIGGER access_tokens_deleted AFTER DELETE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION access_tokens_changed();
