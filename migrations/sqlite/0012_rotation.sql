-- Rotation with overlap: a key's secret is replaced in place (same id, name and history)
-- and the secret it had keeps authenticating until `valid_until`. Only digests of previous
-- secrets are kept: they are never shown again. `current_digest` is the key's secret now,
-- so a node finds the key from a previous secret without a query.

CREATE TABLE previous_secrets (
    digest          BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,      -- api_key | application_key | client_token
    org_id          TEXT NOT NULL REFERENCES orgs(id),
    key_id          TEXT NOT NULL,
    current_digest  BLOB NOT NULL,
    rotated_at      INTEGER NOT NULL,
    valid_until     INTEGER NOT NULL
);
CREATE INDEX previous_secrets_by_key ON previous_secrets(key_id, rotated_at);

CREATE TRIGGER previous_secrets_inserted AFTER INSERT ON previous_secrets BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('previous_secret', NEW.org_id, NEW.key_id, NEW.digest, NEW.rotated_at);
END;
CREATE TRIGGER previous_secrets_updated AFTER UPDATE OF current_digest, valid_until
    ON previous_secrets BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('previous_secret', NEW.org_id, NEW.key_id, NEW.digest, NEW.rotated_at);
END;
CREATE TRIGGER previous_secrets_deleted AFTER DELETE ON previous_secrets BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('previous_secret', OLD.org_id, OLD.key_id, OLD.digest, OLD.rotated_at);
END;

-- A new secret: nodes drop the old digest and add the new one (two entries, old first).
CREATE TRIGGER api_keys_rotated AFTER UPDATE OF digest ON api_keys BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('api_key', OLD.org_id, OLD.id, OLD.digest, NEW.modified_at);
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('api_key', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;
CREATE TRIGGER application_keys_rotated AFTER UPDATE OF digest ON application_keys BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('application_key', OLD.org_id, OLD.id, OLD.digest, NEW.created_at);
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('application_key', NEW.org_id, NEW.id, NEW.digest, NEW.created_at);
END;
CREATE TRIGGER client_tokens_rotated AFTER UPDATE OF digest ON client_tokens BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('client_token', OLD.org_id, OLD.id, OLD.digest, NEW.modified_at);
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('client_token', NEW.org_id, NEW.id, NEW.digest, NEW.modified_at);
END;

-- A deleted key takes its previous secrets with it, whatever deleted it.
CREATE TRIGGER api_keys_forget_previous AFTER DELETE ON api_keys BEGIN
    DELETE FROM previous_secrets WHERE key_id = OLD.id;
END;
CREATE TRIGGER application_keys_forget_previous AFTER DELETE ON application_keys BEGIN
    DELETE FROM previous_secrets WHERE key_id = OLD.id;
END;
CREATE TRIGGER client_tokens_forget_previous AFTER DELETE ON client_tokens BEGIN
    DELETE FROM previous_secrets WHERE key_id = OLD.id;
END;

-- Who still presents a previous secret, per key (empty strings where a caller said nothing),
-- merged from every node's counts; gone with the key's last previous secret.
CREATE TABLE rotation_callers (
    key_id          TEXT NOT NULL,
    org_id          TEXT NOT NULL,
    source          TEXT NOT NULL,
    user_agent      TEXT NOT NULL,
    hostname        TEXT NOT NULL,
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    requests        INTEGER NOT NULL,
    PRIMARY KEY (key_id, source, user_agent, hostname)
);
CREATE TRIGGER previous_secrets_forget_callers AFTER DELETE ON previous_secrets BEGIN
    DELETE FROM rotation_callers WHERE key_id = OLD.key_id
        AND NOT EXISTS (SELECT 1 FROM previous_secrets WHERE key_id = OLD.key_id);
END;
