-- Mirrors migrations/sqlite/0012_rotation.sql: the previous secrets of rotated keys, valid
-- until their grace period ends, logged for every node's credential index.

CREATE TABLE previous_secrets (
    digest          BYTEA PRIMARY KEY,
    kind            TEXT NOT NULL,
    org_id          UUID NOT NULL REFERENCES orgs(id),
    key_id          UUID NOT NULL,
    current_digest  BYTEA NOT NULL,
    rotated_at      BIGINT NOT NULL,
    valid_until     BIGINT NOT NULL
);
CREATE INDEX previous_secrets_by_key ON previous_secrets(key_id, rotated_at);

CREATE FUNCTION previous_secrets_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM keyplane_log_change('previous_secret', OLD.org_id, OLD.key_id, OLD.digest,
            OLD.rotated_at);
        RETURN NULL;
    END IF;
    PERFORM keyplane_log_change('previous_secret', NEW.org_id, NEW.key_id, NEW.digest,
        NEW.rotated_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER previous_secrets_inserted AFTER INSERT ON previous_secrets
    FOR EACH ROW EXECUTE FUNCTION previous_secrets_changed();
CREATE TRIGGER previous_secrets_updated AFTER UPDATE OF current_digest, valid_until
    ON previous_secrets FOR EACH ROW EXECUTE FUNCTION previous_secrets_changed();
CREATE TRIGGER previous_secrets_deleted AFTER DELETE ON previous_secrets
    FOR EACH ROW EXECUTE FUNCTION previous_secrets_changed();

-- A new secret: nodes drop the old digest and add the new one (two entries, old first).
CREATE FUNCTION keys_rotated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- Application keys have no modified_at; a field missing from NEW would fail to plan.
    at BIGINT := COALESCE((to_jsonb(NEW) ->> 'modified_at')::BIGINT,
                          (to_jsonb(NEW) ->> 'created_at')::BIGINT);
BEGIN
    PERFORM keyplane_log_change(TG_ARGV[0], OLD.org_id, OLD.id, OLD.digest, at);
    PERFORM keyplane_log_change(TG_ARGV[0], NEW.org_id, NEW.id, NEW.digest, at);
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_rotated AFTER UPDATE OF digest ON api_keys
    FOR EACH ROW EXECUTE FUNCTION keys_rotated('api_key');
CREATE TRIGGER application_keys_rotated AFTER UPDATE OF digest ON application_keys
    FOR EACH ROW EXECUTE FUNCTION keys_rotated('application_key');
CREATE TRIGGER client_tokens_rotated AFTER UPDATE OF digest ON client_tokens
    FOR EACH ROW EXECUTE FUNCTION keys_rotated('client_token');

-- A deleted key takes its previous secrets with it, whatever deleted it.
CREATE FUNCTION keys_forget_previous() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM previous_secrets WHERE key_id = OLD.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER api_keys_forget_previous AFTER DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION keys_forget_previous();
CREATE TRIGGER application_keys_forget_previous AFTER DELETE ON application_keys
    FOR EACH ROW EXECUTE FUNCTION keys_forget_previous();
CREATE TRIGGER client_tokens_forget_previous AFTER DELETE ON client_tokens
    FOR EACH ROW EXECUTE FUNCTION keys_forget_previous();

-- Who still presents a previous secret, per key (empty strings where a caller said nothing),
-- merged from every node's counts; gone with the key's last previous secret.
CREATE TABLE rotation_callers (
    key_id          UUID NOT NULL,
    org_id          UUID NOT NULL,
    source          TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    hostname        TEXT NOT NULL,
    first_seen      BIGINT NOT NULL,
    last_seen       BIGINT NOT NULL,
    requests        BIGINT NOT NULL,
    PRIMARY KEY (key_id, source, user_agent, hostname)
);
CREATE FUNCTION previous_secrets_forget_callers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM rotation_callers WHERE key_id = OLD.key_id
        AND NOT EXISTS (SELECT 1 FROM previous_secrets WHERE key_id = OLD.key_id);
    RETURN NULL;
END
$$;
CREATE TRIGGER previous_secrets_forget_callers AFTER DELETE ON previous_secrets
    FOR EACH ROW EXECUTE FUNCTION previous_secrets_forget_callers();
