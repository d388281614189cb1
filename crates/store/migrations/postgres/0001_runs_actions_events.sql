-- Runs, actions and the per-run event log. Timestamps are microseconds since the epoch (UTC);
-- `state` is the action's lifecycle record (aerie_core::ActionState) as JSON.
CREATE TABLE runs (
    project     TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    org         TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    created_by  TEXT    NOT NULL,
    run_spec    BYTEA   NOT NULL,
    last_seq    BIGINT  NOT NULL,
    PRIMARY KEY (project, domain, name)
);

CREATE TABLE actions (
    project         TEXT    NOT NULL,
    domain          TEXT    NOT NULL,
    run_name        TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    org             TEXT    NOT NULL,
    parent          TEXT    NOT NULL,
    kind            INTEGER NOT NULL,
    task_name       TEXT    NOT NULL,
    task_version    TEXT    NOT NULL,
    spec            BYTEA   NOT NULL,
    input_uri       TEXT    NOT NULL,
    run_output_base TEXT    NOT NULL,
    action_group    TEXT    NOT NULL,
    phase           INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    version         BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (project, domain, run_name, name)
);
CREATE INDEX actions_by_phase ON actions (phase, kind);
CREATE INDEX actions_by_parent ON actions (project, domain, run_name, parent);

CREATE TABLE events (
    project     TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    run_name    TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    action_name TEXT    NOT NULL,
    parent      TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (project, domain, run_name, seq)
);
