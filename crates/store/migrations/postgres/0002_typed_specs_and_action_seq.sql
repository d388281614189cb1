-- Each action keeps its decoded spec (aerie_core::ActionSpec as JSON) and the sequence number of
-- its latest event, so watches start from the action row and events can be pruned once a run
-- is over. Rows written before this migration get their spec filled in when aerie starts.
ALTER TABLE actions ADD COLUMN action_spec TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
UPDATE actions SET seq = COALESCE((
    SELECT MAX(e.seq) FROM events e
    WHERE e.project = actions.project AND e.domain = actions.domain
      AND e.run_name = actions.run_name AND e.action_name = actions.name), 0);
-- When the run's events were pruned (microseconds since the epoch), 0 while they are kept.
ALTER TABLE runs ADD COLUMN events_pruned_at BIGINT NOT NULL DEFAULT 0;
-- Unfinished actions of a run, children of an action: purpose-built lookups.
CREATE INDEX actions_by_run_phase ON actions (project, domain, run_name, phase);
-- A run's actions in creation order (ListActions, WatchActions) without sorting them.
CREATE INDEX actions_by_run_created ON actions (project, domain, run_name, created_at, name);
-- The scheduler's scan for queued work, oldest change first.
DROP INDEX actions_by_phase;
CREATE INDEX actions_by_phase ON actions (phase, kind, updated_at);
-- Runs listed by project, newest first: their root actions, the only ones without a parent.
-- (Partial, so that no single-action lookup is ever tempted to scan it.)
CREATE INDEX actions_roots ON actions (project, domain, created_at) WHERE parent = '';
-- A run's last sequence follows its actions' changes, so a change is one statement.
CREATE FUNCTION actions_advance_run_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE runs SET last_seq = NEW.seq
    WHERE project = NEW.project AND domain = NEW.domain AND name = NEW.run_name
      AND last_seq < NEW.seq;
    RETURN NULL;
END
$$;
CREATE TRIGGER actions_seq_after_update AFTER UPDATE OF seq ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_advance_run_seq();
CREATE TRIGGER actions_seq_after_insert AFTER INSERT ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_advance_run_seq();
