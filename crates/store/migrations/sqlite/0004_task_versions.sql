-- Deployed task versions, immutable once stored, keyed by project, domain, name and version
-- (not by org: a task calls back under its own). `spec` is the TaskSpec exactly as deployed;
-- `spec_digest` (hex SHA-256 of it) tells an identical redeploy from a different one.
CREATE TABLE task_versions (
    project          TEXT   NOT NULL,
    domain           TEXT   NOT NULL,
    name             TEXT   NOT NULL,
    version          TEXT   NOT NULL,
    spec             BLOB  NOT NULL,
    spec_digest      TEXT   NOT NULL,
    deployed_at      BIGINT NOT NULL,
    deployed_by      TEXT   NOT NULL,
    short_name       TEXT   NOT NULL,
    environment_name TEXT   NOT NULL,
    entrypoint       BIGINT NOT NULL,
    PRIMARY KEY (project, domain, name, version)
);
CREATE INDEX task_versions_by_deploy_time ON task_versions (project, domain, deployed_at);
