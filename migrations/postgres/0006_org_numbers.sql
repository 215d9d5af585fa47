-- Mirrors migrations/sqlite/0006_org_numbers.sql: a number per organization, from 1 in
-- creation order, never reused (the intake gate's X-Keyplane-Org-Num).
ALTER TABLE orgs ADD COLUMN num BIGINT;
UPDATE orgs SET num = numbered.n FROM (
    SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS n FROM orgs
) AS numbered WHERE orgs.id = numbered.id;
CREATE UNIQUE INDEX orgs_num ON orgs(num);

-- Nodes may create organizations at once: the advisory lock makes MAX + 1 one at a time.
CREATE FUNCTION keyplane_number_org() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.num IS NULL THEN
        PERFORM pg_advisory_xact_lock(7379504659478391088);
        NEW.num := (SELECT COALESCE(MAX(num), 0) + 1 FROM orgs);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER orgs_numbered BEFORE INSERT ON orgs
    FOR EACH ROW EXECUTE FUNCTION keyplane_number_org();
