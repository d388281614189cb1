-- API keys: a client id, a name unique among active keys, a role and the SHA-256 of the
-- secret (the secret itself is shown once, when the key is made, and never stored).
CREATE TABLE api_keys (
    client_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;
