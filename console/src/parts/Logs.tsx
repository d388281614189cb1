// One attempt's log, streamed live by `TailLogs` and kept after the action ends: pick the
// attempt, search the lines, download them as a text file. Lines are text nodes, never HTML.

import { useEffect, useMemo, useState } from "preact/hooks";
import { follow } from "../api";
import type { Scope } from "../route";
import type { ActionDetails, LogLine, TailLogsResponse } from "../wire";
import { Problem, VirtualList } from "./common";

const LINE_HEIGHT = 20;

export function LogView({ scope, run, details }: { scope: Scope; run: string; details: ActionDetails }) {
  const attempts = (details.attempts ?? []).map((attempt) => attempt.attempt ?? 1);
  const latest = attempts[attempts.length - 1] ?? 1;
  const [attempt, setAttempt] = useState(latest);
  const [lines, setLines] = useState<LogLine[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const [search, setSearch] = useState("");
  const available = (details.attempts ?? []).find((item) => item.attempt === attempt)?.logsAvailable ?? false;

  useEffect(() => setAttempt(latest), [latest]);
  useEffect(() => {
    if (!available) return;
    setLines([]);
    setProblem(null);
    const stop = new AbortController();
    follow<TailLogsResponse>(
      "flyteidl2.dataproxy.DataProxyService/TailLogs",
      { actionId: { run: { org: "", project: scope.project, domain: scope.domain, name: run }, name: details.id.name }, attempt },
      {
        onOpen: () => setLines([]),
        onMessage: (message) => {
          // Lines arrive as written, newline included; the view puts each on its own row.
          const batch = (message.logs ?? [])
            .flatMap((logs) => logs.lines ?? [])
            .map((line) => ({ ...line, message: (line.message ?? "").replace(/\r?\n$/, "") }));
          if (batch.length) setLines((shown) => shown.concat(batch));
        },
        onError: (err) => setProblem(err.message),
      },
      stop.signal,
    );
    // A tail ends by itself once the attempt is over and its log drained.
    return () => stop.abort();
  }, [scope.project, scope.domain, run, details.id.name, attempt, available]);

  const shown = useMemo(() => {
    const needle = search.toLowerCase();
    return needle ? lines.filter((line) => (line.message ?? "").toLowerCase().includes(needle)) : lines;
  }, [lines, search]);

  const download = () => {
    const text = lines.map((line) => `${line.timestamp ?? ""} ${line.message ?? ""}`).join("\n");
    const url = URL.createObjectURL(new Blob([text + "\n"], { type: "text/plain" }));
    const anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = `${run}-${details.id.name}-attempt-${attempt}.log`;
    anchor.click();
    URL.revokeObjectURL(url);
  };

  return (
    <div class="logs-tab">
      <div class="log-tools">
        {attempts.length > 1 && (
          <select aria-label="attempt" value={attempt} onChange={(e) => setAttempt(Number((e.target as HTMLSelectElement).value))}>
            {attempts.map((number) => <option key={number} value={number}>attempt {number}</option>)}
          </select>
        )}
        <input type="search" placeholder="search the log" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <span class="muted">{search ? `${shown.length} of ${lines.length} lines` : `${lines.length} lines`}</span>
        <button class="ghost" onClick={download} disabled={lines.length === 0}>download</button>
      </div>
      <Problem text={problem} />
      {!available ? (
        <p class="muted">No logs yet: the attempt has not started a process.</p>
      ) : (
        <VirtualList
          items={shown}
          rowHeight={LINE_HEIGHT}
          height="60vh"
          className="log"
          stickToBottom
          render={(line, index) => (
            <div key={index} class={`log-line ${line.originator === "SYSTEM" ? "system" : ""}`} style={{ height: `${LINE_HEIGHT}px` }}>
              <span class="log-time">{(line.timestamp ?? "").slice(11, 23)}</span>
              <span class="log-text">{line.message}</span>
            </div>
          )}
        />
      )}
    </div>
  );
}
