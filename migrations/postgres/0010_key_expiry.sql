-- An optional moment (micros) from which a key, application key or client token is refused.
-- NULL: it never expires. Updates that set it also set name, so the existing UPDATE OF name
-- triggers log the change for every node's index.
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE application_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE client_tokens ADD COLUMN expires_at BIGINT;
