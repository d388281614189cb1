// A run's actions as the tree the run page shows: children under their parents, each
// `flyte.group` and each large fan-out of one task folded into one row with counts per phase,
// flattened into the rows currently open (so a list of 10,000 actions renders only what is in
// view).

import type { Action } from "./wire";
import { phaseOf, type Phase } from "./phase";
import { statusTimes } from "./format";

/** Which member phase a folded row takes, first match wins. */
const FOLD_PHASE_ORDER: Phase[] = [
  "RUNNING", "INITIALIZING", "PAUSED", "WAITING_FOR_RESOURCES", "QUEUED",
  "FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED", "RECOVERED",
];

/** Children of one task under one parent, past which they fold into a fan-out row. */
export const FANOUT_FOLD = 10;

export interface ActionRow {
  kind: "action";
  key: string;
  depth: number;
  action: Action;
  phase: Phase;
  childCount: number;
  open: boolean;
}

export interface FoldRow {
  kind: "fold";
  key: string;
  depth: number;
  label: string;
  /** `group` for a `flyte.group`, `fanout` for many calls of one task. */
  fold: "group" | "fanout";
  counts: Map<Phase, number>;
  /** The phase that says most about the members: running work first, then failures. */
  phase: Phase;
  size: number;
  open: boolean;
  /** Earliest start and latest end of the members, for the timeline. */
  startTime?: string;
  endTime?: string;
}

export type TreeRow = ActionRow | FoldRow;

export function taskName(action: Action): string {
  const meta = action.metadata;
  return (
    meta?.task?.shortName ||
    meta?.task?.id?.name ||
    meta?.trace?.name ||
    meta?.condition?.name ||
    meta?.funtionName ||
    ""
  );
}

export function countPhases(actions: Iterable<Action>): Map<Phase, number> {
  const counts = new Map<Phase, number>();
  for (const action of actions) {
    const phase = phaseOf(action.status?.phase);
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  }
  return counts;
}

/** Children of each parent, in the order they arrived. */
export function childrenOf(actions: Map<string, Action>): Map<string, Action[]> {
  const children = new Map<string, Action[]>();
  for (const action of actions.values()) {
    const parent = action.metadata?.parent;
    if (!parent) continue;
    const siblings = children.get(parent);
    if (siblings) siblings.push(action);
    else children.set(parent, [action]);
  }
  return children;
}

/**
 * The rows to show: roots first, then, under each open row, its children. `opened` holds the
 * keys the user opened or closed against the default (actions open, folds closed).
 */
export function visibleRows(actions: Map<string, Action>, toggled: Set<string>): TreeRow[] {
  const children = childrenOf(actions);
  const rows: TreeRow[] = [];
  const roots = [...actions.values()].filter((action) => !action.metadata?.parent || !actions.has(action.metadata.parent));
  const addActions = (list: Action[], depth: number, foldable = true) => {
    const items: Sibling[] = foldable ? groupSiblings(list) : list.map((action) => ({ kind: "action", action }));
    for (const item of items) {
      if (item.kind === "action") addAction(item.action, depth);
      else {
        const open = toggled.has(item.key);
        rows.push({ ...summarize(item.members), kind: "fold", key: item.key, depth, label: item.label, fold: item.fold, open });
        if (open) addActions(item.members, depth + 1, false);
      }
    }
  };
  const addAction = (action: Action, depth: number) => {
    const key = `a:${action.id.name}`;
    const kids = children.get(action.id.name) ?? [];
    const open = kids.length > 0 && !toggled.has(key);
    rows.push({ kind: "action", key, depth, action, phase: phaseOf(action.status?.phase), childCount: kids.length, open });
    if (open) addActions(kids, depth + 1);
  };
  addActions(roots, 0);
  return rows;
}

type Sibling =
  | { kind: "action"; action: Action }
  | { kind: "fold"; key: string; label: string; fold: "group" | "fanout"; members: Action[] };

/** Siblings with each group, and each task called more than `FANOUT_FOLD` times, folded. */
function groupSiblings(siblings: Action[]): Sibling[] {
  const parent = siblings[0]?.metadata?.parent ?? "";
  const byGroup = new Map<string, Action[]>();
  const byTask = new Map<string, Action[]>();
  for (const action of siblings) {
    const group = action.metadata?.group;
    if (group) push(byGroup, group, action);
    else push(byTask, taskName(action), action);
  }
  const placed = new Set<string>();
  const out: Sibling[] = [];
  for (const action of siblings) {
    const group = action.metadata?.group;
    if (group) {
      if (placed.has(`g:${group}`)) continue;
      placed.add(`g:${group}`);
      out.push({ kind: "fold", key: `g:${parent}/${group}`, label: group, fold: "group", members: byGroup.get(group)! });
      continue;
    }
    const task = taskName(action);
    const same = byTask.get(task)!;
    if (same.length <= FANOUT_FOLD) {
      out.push({ kind: "action", action });
      continue;
    }
    if (placed.has(`t:${task}`)) continue;
    placed.add(`t:${task}`);
    out.push({ kind: "fold", key: `f:${parent}/${task}`, label: task, fold: "fanout", members: same });
  }
  return out;
}

function push(map: Map<string, Action[]>, key: string, action: Action) {
  const list = map.get(key);
  if (list) list.push(action);
  else map.set(key, [action]);
}

function summarize(members: Action[]) {
  let start = Infinity;
  let end = -Infinity;
  let running = false;
  for (const member of members) {
    const [started, ended] = statusTimes(member.status);
    if (started !== null) start = Math.min(start, started);
    if (ended === null) running = true;
    else end = Math.max(end, ended);
  }
  const counts = countPhases(members);
  return {
    counts,
    phase: FOLD_PHASE_ORDER.find((phase) => counts.has(phase)) ?? "UNKNOWN",
    size: members.length,
    startTime: Number.isFinite(start) ? new Date(start).toISOString() : undefined,
    endTime: running || !Number.isFinite(end) ? undefined : new Date(end).toISOString(),
  };
}
