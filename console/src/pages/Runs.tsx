// A project's runs, newest first: phase, task, trigger or creator, start and duration, with
// filters (phase, task, label, name) and paging. The first page follows `WatchRuns`, so new
// runs and phase changes appear without a reload.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { follow, unary } from "../api";
import { elapsed, when, who } from "../format";
import { isTerminal, phaseOf, PHASES, phaseLabel } from "../phase";
import { runPath, type Scope } from "../route";
import { PhaseBadge, Problem, useNow } from "../parts/common";
import { taskName } from "../tree";
import type { Filter, Run } from "../wire";

const PAGE_SIZE = 50;

interface RunFilters {
  phase: string;
  task: string;
  label: string;
  text: string;
}

const NO_FILTERS: RunFilters = { phase: "", task: "", label: "", text: "" };

function filtersFromUrl(): RunFilters {
  const query = new URLSearchParams(location.search);
  return {
    phase: query.get("phase") ?? "",
    task: query.get("task") ?? "",
    label: query.get("label") ?? "",
    text: query.get("q") ?? "",
  };
}

function wireFilters(filters: RunFilters): Filter[] {
  const out: Filter[] = [];
  if (filters.phase) out.push({ function: "EQUAL", field: "phase", values: [filters.phase] });
  if (filters.task) out.push({ function: "CONTAINS", field: "task_name", values: [filters.task] });
  if (filters.text) out.push({ function: "CONTAINS", field: "run_name", values: [filters.text] });
  if (filters.label) {
    const [key, value] = filters.label.split("=", 2);
    if (value === undefined) out.push({ function: "EXISTS", field: `labels.${key.trim()}`, values: [] });
    else out.push({ function: "EQUAL", field: `labels.${key.trim()}`, values: [value.trim()] });
  }
  return out;
}

/** Whether a run the watch reported belongs in a list with these filters. */
function matches(run: Run, filters: RunFilters): boolean {
  const phase = phaseOf(run.action.status?.phase);
  if (filters.phase && phase !== filters.phase) return false;
  if (filters.task && !taskName(run.action).includes(filters.task) && !(run.action.metadata?.task?.id?.name ?? "").includes(filters.task)) return false;
  if (filters.text && !run.action.id.run.name.includes(filters.text)) return false;
  if (filters.label) {
    const [key, value] = filters.label.split("=", 2);
    const have = run.labels?.[key.trim()];
    if (have === undefined || (value !== undefined && have !== value.trim())) return false;
  }
  return true;
}

export function RunsPage({ scope }: { scope: Scope }) {
  const [filters, setFilters] = useState<RunFilters>(filtersFromUrl);
  const [draft, setDraft] = useState<RunFilters>(filters);
  const [tokens, setTokens] = useState<string[]>([""]);
  const [runs, setRuns] = useState<Run[]>([]);
  const [next, setNext] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const page = tokens.length - 1;
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => {
    let current = true;
    unary<{ runs?: Run[]; token?: string }>("flyteidl2.workflow.RunService/ListRuns", {
      projectId: { organization: "", domain: scope.domain, name: scope.project },
      request: { limit: PAGE_SIZE, token: tokens[page], filters: wireFilters(filters) },
    })
      .then((reply) => {
        if (!current) return;
        setRuns(reply.runs ?? []);
        setNext(reply.token ?? "");
        setProblem(null);
        setLoaded(true);
      })
      .catch((err) => current && setProblem(err.message));
    return () => {
      current = false;
    };
  }, [scope.domain, scope.project, filters, tokens]);

  // Live changes: runs on this page change in place; new runs that match join the first page.
  useEffect(() => {
    const stop = new AbortController();
    follow<{ runs?: Run[] }>(
      "flyteidl2.workflow.RunService/WatchRuns",
      { projectId: { organization: "", domain: scope.domain, name: scope.project } },
      {
        onMessage: (message) =>
          setRuns((shown) => {
            let list = shown;
            for (const run of message.runs ?? []) {
              const at = list.findIndex((item) => item.action.id.run.name === run.action.id.run.name);
              if (at >= 0) list = [...list.slice(0, at), run, ...list.slice(at + 1)];
              else if (page === 0 && matches(run, filtersRef.current)) {
                list = [run, ...list]
                  .sort((a, b) => Date.parse(b.action.status?.startTime ?? "") - Date.parse(a.action.status?.startTime ?? ""))
                  .slice(0, PAGE_SIZE);
              }
            }
            return list;
          }),
        onError: (err) => setProblem(err.message),
      },
      stop.signal,
    );
    return () => stop.abort();
  }, [scope.domain, scope.project, page]);

  const apply = (event: Event) => {
    event.preventDefault();
    setFilters(draft);
    setTokens([""]);
    const query = new URLSearchParams();
    if (draft.phase) query.set("phase", draft.phase);
    if (draft.task) query.set("task", draft.task);
    if (draft.label) query.set("label", draft.label);
    if (draft.text) query.set("q", draft.text);
    const search = query.toString();
    history.replaceState(null, "", `${location.pathname}${search ? `?${search}` : ""}`);
  };
  const filtering = Object.values(filters).some((value) => value !== "");
  const live = useMemo(() => runs.some((run) => !isTerminal(phaseOf(run.action.status?.phase))), [runs]);
  const now = useNow(live);
  const input = (field: keyof RunFilters) => (event: Event) =>
    setDraft({ ...draft, [field]: (event.target as HTMLInputElement).value });

  return (
    <section>
      <h1>
        Runs <span class="muted">{scope.project} / {scope.domain}</span>
      </h1>
      <form class="filters" onSubmit={apply}>
        <select aria-label="phase" name="phase" value={draft.phase} onChange={input("phase")}>
          <option value="">any phase</option>
          {PHASES.map((phase) => (
            <option key={phase} value={phase}>{phaseLabel(phase)}</option>
          ))}
        </select>
        <input name="task" placeholder="task name" value={draft.task} onInput={input("task")} />
        <input name="label" placeholder="label key=value" value={draft.label} onInput={input("label")} />
        <input name="q" placeholder="run name contains" value={draft.text} onInput={input("text")} />
        <button type="submit">Filter</button>
        {filtering && (
          <button type="button" class="ghost" onClick={() => { setDraft(NO_FILTERS); setFilters(NO_FILTERS); setTokens([""]); history.replaceState(null, "", location.pathname); }}>
            clear
          </button>
        )}
      </form>
      <Problem text={problem} />
      <table class="runs">
        <thead>
          <tr>
            <th>Run</th>
            <th>Phase</th>
            <th>Task</th>
            <th>Started by</th>
            <th>Started</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => {
            const status = run.action.status;
            const meta = run.action.metadata;
            const trigger = meta?.triggerName || meta?.triggerId?.name?.name;
            return (
              <tr key={run.action.id.run.name} data-run={run.action.id.run.name}>
                <td><a href={runPath(scope, run.action.id.run.name)}>{run.action.id.run.name}</a></td>
                <td><PhaseBadge phase={phaseOf(status?.phase)} /></td>
                <td>{taskName(run.action)}</td>
                <td>{trigger ? <span title="trigger">⏱ {trigger}</span> : who(meta?.executedBy)}</td>
                <td>{when(status?.startTime)}</td>
                <td>{elapsed(status?.startTime, status?.endTime, now)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {loaded && runs.length === 0 && <p class="muted">No runs{filtering ? " match these filters" : " yet"}.</p>}
      <div class="pager">
        <button disabled={page === 0} onClick={() => setTokens(tokens.slice(0, -1))}>newer</button>
        <span class="muted">page {page + 1}</span>
        <button disabled={!next} onClick={() => setTokens([...tokens, next])}>older</button>
      </div>
    </section>
  );
}
