-- Several aerie nodes on one database: the nodes that are alive, and which node runs each
-- attempt. A node renews its row and all its leases together; a lease that was not renewed in
-- time is taken over by another node, which fails the attempt as a SYSTEM error and retries it.
-- Timestamps are microseconds since the epoch (UTC).
CREATE TABLE nodes (
    node_id         TEXT    NOT NULL PRIMARY KEY,
    address         TEXT    NOT NULL,
    started_at      BIGINT  NOT NULL,
    heartbeat_at    BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    running         BIGINT  NOT NULL,
    capacity        BIGINT  NOT NULL
);

-- At most one lease per action: the attempt it covers, the node that runs it, and until when.
CREATE TABLE attempt_leases (
    project         TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    run_name        TEXT    NOT NULL,
    action_name     TEXT    NOT NULL,
    attempt         BIGINT  NOT NULL,
    node_id         TEXT    NOT NULL,
    acquired_at     BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    PRIMARY KEY (project, domain, run_name, action_name)
);
CREATE INDEX attempt_leases_by_node ON attempt_leases (node_id);
CREATE INDEX attempt_leases_by_expiry ON attempt_leases (expires_at);

-- Facts every node must agree on (the fingerprint of the secret key they share), written by
-- the first node and checked by every later one.
CREATE TABLE cluster_facts (
    name            TEXT    NOT NULL PRIMARY KEY,
    value           TEXT    NOT NULL
);

-- Serialized caching across nodes: the one action running under each cache key; twins wait
-- until it ends.
CREATE TABLE cache_runners (
    cache_key       TEXT    NOT NULL PRIMARY KEY,
    project         TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    run_name        TEXT    NOT NULL,
    action_name     TEXT    NOT NULL
);
CREATE INDEX cache_runners_by_action ON cache_runners (project, domain, run_name, action_name);
