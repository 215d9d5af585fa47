-- What start-up's fill of `unique_name` looks for (rows written before 0004), indexed: the
-- fill's query scanned every row on every start, though only rows from before that
-- migration can match. Writes keep these indexes empty.
CREATE INDEX api_keys_unique_name_pending ON api_keys(id) WHERE unique_name IS NULL;
CREATE INDEX application_keys_unique_name_pending ON application_keys(id)
    WHERE unique_name IS NULL;
CREATE INDEX client_tokens_unique_name_pending ON client_tokens(id) WHERE unique_name IS NULL;
