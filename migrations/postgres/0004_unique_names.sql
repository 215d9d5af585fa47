-- Names are unique as a person reads them (src/domain/name.rs, `unique_name`): NFKC, case
-- folded, trimmed. SQL cannot fold Unicode, so the store writes the column on every insert
-- and rename, and fills it at start-up for rows written before this migration (NULL until
-- then; NULLs never collide, so rows that were look-alikes of each other before keep working,
-- and the first of them to be filled holds the name against any new look-alike).
ALTER TABLE api_keys ADD COLUMN unique_name TEXT;
ALTER TABLE application_keys ADD COLUMN unique_name TEXT;
ALTER TABLE client_tokens ADD COLUMN unique_name TEXT;
-- The index names end in "name": the store maps a unique violation to its field that way.
CREATE UNIQUE INDEX api_keys_org_unique_name ON api_keys(org_id, unique_name);
CREATE UNIQUE INDEX application_keys_org_unique_name ON application_keys(org_id, unique_name);
CREATE UNIQUE INDEX client_tokens_org_unique_name ON client_tokens(org_id, unique_name);
