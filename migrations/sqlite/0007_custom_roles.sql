-- Custom roles: an organization's named sets of permissions. Users hold them by id in
-- users.roles, next to the managed role names (admin, standard, read_only).
CREATE TABLE roles (
    id          TEXT PRIMARY KEY NOT NULL,
    org_id      TEXT NOT NULL REFERENCES orgs(id),
    name        TEXT NOT NULL,
    -- Comma-separated permission names: names outlive the catalog's order.
    permissions TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    modified_at INTEGER NOT NULL
);
CREATE INDEX roles_org ON roles(org_id, name);

-- What a role grants changes what its holders' credentials may do: every node's index
-- follows these rows through the change log, as it follows keys.
CREATE TRIGGER roles_inserted AFTER INSERT ON roles BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('role', NEW.org_id, NEW.id, NULL, NEW.modified_at);
END;
CREATE TRIGGER roles_updated AFTER UPDATE OF permissions ON roles BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('role', NEW.org_id, NEW.id, NULL, NEW.modified_at);
END;
CREATE TRIGGER roles_deleted AFTER DELETE ON roles BEGIN
    INSERT INTO changes (kind, org_id, id, digest, at)
        VALUES ('role', OLD.org_id, OLD.id, NULL, OLD.modified_at);
END;
