-- Mirrors migrations/sqlite/0007_custom_roles.sql.
CREATE TABLE roles (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs(id),
    name        TEXT COLLATE "C" NOT NULL,
    -- Comma-separated permission names: names outlive the catalog's order.
    permissions TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL
);
CREATE INDEX roles_org ON roles(org_id, name);

CREATE FUNCTION roles_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM keyplane_log_change('role', OLD.org_id, OLD.id, NULL, OLD.modified_at);
        RETURN NULL;
    END IF;
    PERFORM keyplane_log_change('role', NEW.org_id, NEW.id, NULL, NEW.modified_at);
    RETURN NULL;
END
$$;
CREATE TRIGGER roles_inserted AFTER INSERT ON roles
    FOR EACH ROW EXECUTE FUNCTION roles_changed();
CREATE TRIGGER roles_updated AFTER UPDATE OF permissions ON roles
    FOR EACH ROW EXECUTE FUNCTION roles_changed();
CREATE TRIGGER roles_deleted AFTER DELETE ON roles
    FOR EACH ROW EXECUTE FUNCTION roles_changed();
