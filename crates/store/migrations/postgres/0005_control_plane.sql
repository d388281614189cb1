-- What `flyte deploy` and its neighbours keep: projects, secrets (sealed by the server before
-- they reach the database), triggers with their durable schedule, and per run its labels and
-- the trigger it came from. Timestamps are microseconds since the epoch (UTC).

CREATE TABLE projects (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    labels      BYTEA   NOT NULL,
    state       BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);
INSERT INTO projects (id, name, description, labels, state, created_at, updated_at)
VALUES ('flytesnacks', 'flytesnacks', 'The default project.', '\x'::bytea, 0, 0, 0);

-- `sealed` is nonce || AES-256-GCM ciphertext and tag; the plain value is never stored.
CREATE TABLE secrets (
    project     TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    kind        BIGINT  NOT NULL,
    sealed      BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (project, domain, name)
);

-- One row per trigger name of a task; `next_fire_at` is the scheduler's durable state (NULL
-- when nothing is scheduled: inactive, deleted, or fired on demand only).
CREATE TABLE triggers (
    project       TEXT    NOT NULL,
    domain        TEXT    NOT NULL,
    task_name     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    task_version  TEXT    NOT NULL,
    revision      BIGINT  NOT NULL,
    active        BIGINT  NOT NULL,
    automation    BYTEA   NOT NULL,
    spec          BYTEA   NOT NULL,
    description   TEXT    NOT NULL,
    deployed_at   BIGINT  NOT NULL,
    deployed_by   TEXT    NOT NULL,
    updated_at    BIGINT  NOT NULL,
    updated_by    TEXT    NOT NULL,
    triggered_at  BIGINT,
    deleted_at    BIGINT,
    next_fire_at  BIGINT,
    PRIMARY KEY (project, domain, task_name, name)
);
CREATE INDEX triggers_due ON triggers (next_fire_at);

CREATE TABLE run_labels (
    project   TEXT NOT NULL,
    domain    TEXT NOT NULL,
    run_name  TEXT NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (project, domain, run_name, key)
);
CREATE INDEX run_labels_by_key ON run_labels (project, domain, key, value);

ALTER TABLE runs ADD COLUMN trigger_task TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN trigger_name TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN trigger_revision BIGINT NOT NULL DEFAULT 0;
-- The instant a scheduled fire stands for (what `flyte.TriggerTime` gets); NULL otherwise.
ALTER TABLE runs ADD COLUMN scheduled_at BIGINT;
