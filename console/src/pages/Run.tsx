// One run: its summary (what the SDK's printed URL must show at once: the root's inputs and
// outputs, the failure, how many children are in each phase), the live action tree with a
// timeline, and the selected action's panel. The tree follows `WatchActions`; the summary
// follows the root's `WatchActionDetails`.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { follow, unary } from "../api";
import { clock, elapsed, millis, statusTimes, who } from "../format";
import { isTerminal, phaseOf, phaseOfNumber, type Phase } from "../phase";
import { navigate, runPath, type Scope } from "../route";
import type { Identity } from "../session";
import { countPhases, taskName, visibleRows, type TreeRow } from "../tree";
import type { Action, ActionData, ActionDetails, EnrichedAction } from "../wire";
import { PhaseBadge, PhaseCounts, Problem, useNow, VirtualList } from "../parts/common";
import { LiteralTable } from "../parts/Literal";
import { ActionPanel, ErrorBox, AbortBox, failedAttempt } from "./Action";
import { RunActions } from "./RunActions";

const ROW_HEIGHT = 30;
/** Fewest milliseconds between renders while a run's snapshot is still arriving. */
const SNAPSHOT_RENDER_MS = 150;

/** Follows one action's details for as long as the component lives. */
export function useActionDetails(scope: Scope, run: string, action: string) {
  const [details, setDetails] = useState<ActionDetails | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    setDetails(null);
    setProblem(null);
    const stop = new AbortController();
    follow<{ details?: ActionDetails }>(
      "flyteidl2.workflow.RunService/WatchActionDetails",
      { actionId: { run: { org: "", project: scope.project, domain: scope.domain, name: run }, name: action } },
      { onMessage: (message) => message.details && setDetails(message.details), onError: (err) => setProblem(err.message) },
      stop.signal,
    );
    return () => stop.abort();
  }, [scope.project, scope.domain, run, action]);
  return { details, problem };
}

/** An action's inputs and outputs, read again when its phase changes. */
export function useActionData(scope: Scope, run: string, action: string, phase: string | undefined) {
  const [data, setData] = useState<ActionData | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    if (!phase) return;
    let current = true;
    unary<ActionData>("flyteidl2.workflow.RunService/GetActionData", {
      actionId: { run: { org: "", project: scope.project, domain: scope.domain, name: run }, name: action },
    })
      .then((reply) => {
        if (!current) return;
        setData(reply);
        setProblem(null);
      })
      .catch((err) => current && setProblem(err.message));
    return () => {
      current = false;
    };
  }, [scope.project, scope.domain, run, action, phase]);
  return { data, problem };
}

/**
 * A run's actions by name, kept current by `WatchActions`; changes are applied once a frame.
 * `childCounts` is what the snapshot said of all children by phase, so a large run shows its
 * shape before the last page of its snapshot arrives; `expected` is how many actions it holds.
 */
function useRunActions(scope: Scope, run: string) {
  const actions = useRef(new Map<string, Action>());
  const childCounts = useRef(new Map<Phase, number>());
  const expected = useRef(0);
  const [version, setVersion] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    let frame = 0;
    // Changes show once a frame; while a large snapshot still arrives, at most every
    // SNAPSHOT_RENDER_MS, so the page spends its time reading rather than re-rendering.
    let timer = 0;
    const bump = () => {
      if (frame || timer) return;
      const show = () => {
        frame = 0;
        timer = 0;
        setVersion((n) => n + 1);
      };
      if (actions.current.size < expected.current) timer = window.setTimeout(show, SNAPSHOT_RENDER_MS);
      else frame = requestAnimationFrame(show);
    };
    follow<{ enrichedActions?: EnrichedAction[] }>(
      "flyteidl2.workflow.RunService/WatchActions",
      { runId: { org: "", project: scope.project, domain: scope.domain, name: run } },
      {
        onOpen: () => {
          actions.current.clear();
          childCounts.current.clear();
          expected.current = 0;
        },
        onMessage: (message) => {
          for (const enriched of message.enrichedActions ?? []) {
            const known = actions.current.has(enriched.action.id.name);
            actions.current.set(enriched.action.id.name, enriched.action);
            if (!known && !enriched.action.metadata?.parent) expected.current += 1;
            for (const [number, count] of Object.entries(enriched.childrenPhaseCounts ?? {})) {
              const phase = phaseOfNumber(Number(number));
              childCounts.current.set(phase, (childCounts.current.get(phase) ?? 0) + count);
              expected.current += count;
            }
          }
          bump();
        },
        onError: (err) => setProblem(err.message),
      },
      stop.signal,
    );
    return () => {
      stop.abort();
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [scope.project, scope.domain, run]);
  // Loading until the snapshot has arrived: nothing yet, or fewer actions than it announced.
  const loading = expected.current === 0 || actions.current.size < expected.current;
  return { actions: actions.current, version, problem, loading, expected: expected.current, childCounts: childCounts.current };
}

export function RunPage({ scope, run, selected, identity }: { scope: Scope; run: string; selected: string | null; identity: Identity }) {
  const { actions, version, problem, loading, expected, childCounts } = useRunActions(scope, run);
  const root = useActionDetails(scope, run, "a0");
  // The root's details, or until they arrive, the root as the action snapshot has it.
  const details: ActionDetails | null = root.details ?? actions.get("a0") ?? null;
  const rootPhase = details?.status?.phase;
  const rootData = useActionData(scope, run, "a0", rootPhase);
  const [toggled, setToggled] = useState(new Set<string>());
  const rows = useMemo(() => visibleRows(actions, toggled), [version, toggled]);
  // While the snapshot still arrives, the counts are the server's; then the page's own.
  const children = useMemo(() => [...actions.values()].filter((action) => action.metadata?.parent), [version]);
  const shownCounts = useMemo(() => (loading ? childCounts : countPhases(children)), [version, loading]);
  const childTotal = [...shownCounts.values()].reduce((sum, count) => sum + count, 0);
  useTimingMarks(details !== null, actions.size > 0 && !loading);
  const span = useMemo(() => timeSpan(actions), [version]);
  const live = !isTerminal(phaseOf(rootPhase));
  const now = useNow(live);
  const selectedName = selected ?? "a0";
  const toggle = (key: string) => {
    const next = new Set(toggled);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    setToggled(next);
  };
  const owner = { scope, run };
  return (
    <section class="run" data-actions={actions.size} data-loading={loading}>
      <div class="run-head">
        <h1>
          <span class="muted">run</span> {run} {details && <PhaseBadge phase={phaseOf(rootPhase)} />}
        </h1>
        {details && <RunActions scope={scope} run={run} details={details} identity={identity} />}
      </div>
      <Problem text={root.problem ?? problem} />
      {details && (
        <div class="summary">
          <dl class="facts">
            <dt>Task</dt>
            <dd>{details.metadata?.task?.id?.name ?? taskName({ id: details.id, metadata: details.metadata })}</dd>
            <dt>Duration</dt>
            <dd>{elapsed(details.status?.startTime, details.status?.endTime, now)}</dd>
            <dt>Started</dt>
            <dd>{clock(details.status?.startTime)}{who(details.metadata?.executedBy) && ` by ${who(details.metadata?.executedBy)}`}</dd>
            {details.metadata?.relation?.relatedTo?.name && (
              <>
                <dt>{details.metadata.relation.relationType === "RELATION_TYPE_RECOVER" ? "Recovers" : "Reruns"}</dt>
                <dd><a href={runPath(scope, details.metadata.relation.relatedTo.name)}>{details.metadata.relation.relatedTo.name}</a></dd>
              </>
            )}
            {childTotal > 0 && (
              <>
                <dt>Children</dt>
                <dd class="child-counts">{childTotal} · <PhaseCounts counts={shownCounts} /></dd>
              </>
            )}
          </dl>
          {details.errorInfo && <ErrorBox error={details.errorInfo} attempt={failedAttempt(scope, details)} />}
          {details.abortInfo && <AbortBox abort={details.abortInfo} />}
          <div class="io">
            <div class="run-inputs">
              <h2>Inputs</h2>
              {rootData.data ? <LiteralTable literals={rootData.data.inputs?.literals ?? []} owner={owner} /> : <Problem text={rootData.problem} />}
            </div>
            <div class="run-outputs">
              <h2>Outputs</h2>
              {rootData.data && isTerminal(phaseOf(rootPhase)) ? (
                <LiteralTable literals={rootData.data.outputs?.literals ?? []} owner={owner} />
              ) : (
                <p class="muted">{isTerminal(phaseOf(rootPhase)) ? "" : "not yet: the run has not finished"}</p>
              )}
            </div>
          </div>
        </div>
      )}
      <div class="split">
        <div class="tree-pane">
          <div class="tree-head">
            <span>Actions ({loading ? `${actions.size} of ${expected}, loading` : actions.size})</span>
            <span class="muted">{span ? `timeline ${elapsed(new Date(span.start).toISOString(), span.end ? new Date(span.end).toISOString() : undefined, now)}` : ""}</span>
          </div>
          <VirtualList
            items={rows}
            rowHeight={ROW_HEIGHT}
            height="70vh"
            className="tree"
            render={(row) => (
              <TreeLine key={row.key} row={row} selected={selectedName} span={span} now={now} toggle={toggle}
                select={(name) => navigate(runPath(scope, run, name), true)} />
            )}
          />
        </div>
        <div class="action-pane">
          <ActionPanel key={selectedName} scope={scope} run={run} action={selectedName} identity={identity} />
        </div>
      </div>
    </section>
  );
}

/**
 * Marks, on the page's performance timeline, when the run's summary first showed and when its
 * whole action list had arrived (the browser tests report them).
 */
function useTimingMarks(summaryShown: boolean, allLoaded: boolean) {
  useEffect(() => {
    if (summaryShown && performance.getEntriesByName(MARK_SUMMARY).length === 0) performance.mark(MARK_SUMMARY);
  }, [summaryShown]);
  useEffect(() => {
    if (allLoaded && performance.getEntriesByName(MARK_LOADED).length === 0) performance.mark(MARK_LOADED);
  }, [allLoaded]);
}

const MARK_SUMMARY = "aerie:run-summary-shown";
const MARK_LOADED = "aerie:run-actions-loaded";

interface Span {
  start: number;
  end: number | null;
}

function timeSpan(actions: Map<string, Action>): Span | null {
  let start = Infinity;
  let end = -Infinity;
  let open = false;
  for (const action of actions.values()) {
    const [started, ended] = statusTimes(action.status);
    if (started !== null) start = Math.min(start, started);
    if (ended === null) open = true;
    else end = Math.max(end, ended);
  }
  if (!Number.isFinite(start)) return null;
  return { start, end: open || !Number.isFinite(end) ? null : end };
}

function TreeLine({ row, selected, span, now, toggle, select }: {
  row: TreeRow; selected: string; span: Span | null; now: number;
  toggle: (key: string) => void; select: (name: string) => void;
}) {
  const indent = { paddingLeft: `${row.depth * 16 + 4}px` };
  if (row.kind === "fold") {
    return (
      <div class={`tree-row fold ${row.fold}`} data-fold={row.label} style={{ height: `${ROW_HEIGHT}px` }} onClick={() => toggle(row.key)}>
        <span class="tree-name" style={indent}>
          <span class="twisty">{row.open ? "▾" : "▸"}</span>
          <span class="badge">{row.fold === "group" ? "group" : "fan-out"}</span> {row.label} <span class="muted">×{row.size}</span>
        </span>
        <span class="tree-phase"><PhaseCounts counts={row.counts} /></span>
        <Bar start={row.startTime} end={row.endTime} span={span} now={now} phase={row.phase} />
      </div>
    );
  }
  const action = row.action;
  const status = action.status;
  const isTrace = action.metadata?.actionType === "ACTION_TYPE_TRACE";
  const isCondition = action.metadata?.actionType === "ACTION_TYPE_CONDITION";
  return (
    <div
      class={`tree-row ${selected === action.id.name ? "selected" : ""}`}
      data-action={action.id.name}
      data-phase={row.phase}
      style={{ height: `${ROW_HEIGHT}px` }}
      onClick={() => select(action.id.name)}
    >
      <span class="tree-name" style={indent}>
        <span class="twisty" onClick={(event) => { event.stopPropagation(); if (row.childCount) toggle(row.key); }}>
          {row.childCount ? (row.open ? "▾" : "▸") : ""}
        </span>
        {isTrace && <span class="badge trace">trace</span>}
        {isCondition && <span class="badge condition">condition</span>}
        {status?.cacheStatus === "CACHE_HIT" && <span class="badge cache">cached</span>}
        <span class="name">{taskName(action) || action.id.name}</span> <span class="muted">{action.id.name}</span>
      </span>
      <span class="tree-phase">
        <PhaseBadge phase={row.phase} />
        {(status?.attempts ?? 0) > 1 && <span class="muted" title="attempts"> ×{status?.attempts}</span>}
        <span class="muted"> {elapsed(status?.startTime, status?.endTime, now)}</span>
      </span>
      <Bar start={status?.startTime} end={status?.endTime} span={span} now={now} phase={row.phase} />
    </div>
  );
}

/** One bar of the timeline: where an action ran within the run's span. */
function Bar({ start, end, span, now, phase }: { start?: string; end?: string; span: Span | null; now: number; phase: string }) {
  const from = millis(start);
  if (!span || from === null) return <span class="bar-track" />;
  const last = span.end ?? now;
  const total = Math.max(1, last - span.start);
  const to = millis(end) ?? now;
  const left = ((from - span.start) / total) * 100;
  const width = Math.max(0.5, ((to - from) / total) * 100);
  return (
    <span class="bar-track">
      <span class={`bar phase-${phase}`} style={{ left: `${left}%`, width: `${Math.min(width, 100 - left)}%` }} />
    </span>
  );
}
