-- The task cache: one entry per (key, project, domain), the outputs of the attempt that
-- produced it (an attempt prefix holding outputs.pb). A lookup in GLOBAL scope takes the newest
-- entry of any project or domain. Timestamps are microseconds since the epoch (UTC).
CREATE TABLE cache_entries (
    cache_key       TEXT    NOT NULL,
    project         TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    task_name       TEXT    NOT NULL,
    cache_version   TEXT    NOT NULL,
    outputs_prefix  TEXT    NOT NULL,
    source_run      TEXT    NOT NULL,
    source_action   TEXT    NOT NULL,
    source_attempt  BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (cache_key, project, domain)
);
CREATE INDEX cache_entries_by_task ON cache_entries (task_name, created_at);

-- The runs whose data a run may read besides its own: a cache hit hands a run the outputs of
-- another run (and the files they name), so its storage credential reaches that run's data too.
CREATE TABLE run_reads (
    project         TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    run_name        TEXT    NOT NULL,
    source_project  TEXT    NOT NULL,
    source_domain   TEXT    NOT NULL,
    source_run      TEXT    NOT NULL,
    PRIMARY KEY (project, domain, run_name, source_project, source_domain, source_run)
);
