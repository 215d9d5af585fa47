-- Every organization gets a small number of its own, for backends whose tenants are integers
-- (VictoriaMetrics cluster's /insert/<accountID>/). Assigned once, in creation order from 1,
-- never reused: the intake gate sends it with every allowed request, so a change would move
-- a tenant's data. `keyplane migrate` copies it as it is.
ALTER TABLE orgs ADD COLUMN num INTEGER;
UPDATE orgs SET num = (
    SELECT COUNT(*) FROM orgs AS earlier
    WHERE earlier.created_at < orgs.created_at
       OR (earlier.created_at = orgs.created_at AND earlier.id <= orgs.id)
);
CREATE UNIQUE INDEX orgs_num ON orgs(num);

-- SQLite serializes writes, so MAX + 1 cannot be taken twice.
CREATE TRIGGER orgs_numbered AFTER INSERT ON orgs WHEN NEW.num IS NULL BEGIN
    UPDATE orgs SET num = (SELECT COALESCE(MAX(num), 0) + 1 FROM orgs) WHERE id = NEW.id;
END;
