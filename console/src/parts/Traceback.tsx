// The Python traceback of a failed attempt. The SDK's error record holds the message only; the
// traceback is in the attempt's log, so it is read from there (the last `Traceback (most
// recent call last):` block) and shown as text.

import { useEffect, useState } from "preact/hooks";
import { serverStream } from "../api";
import type { Scope } from "../route";
import type { TailLogsResponse } from "../wire";

export interface AttemptRef {
  scope: Scope;
  run: string;
  action: string;
  attempt: number;
}

/** The last traceback in `lines`: its header, the indented frames, and the exception line. */
export function lastTraceback(lines: string[]): string | null {
  const start = lines.map((line) => line.includes("Traceback (most recent call last):")).lastIndexOf(true);
  if (start < 0) return null;
  const block = [lines[start].slice(lines[start].indexOf("Traceback"))];
  for (const line of lines.slice(start + 1)) {
    block.push(line);
    if (line && !/^\s/.test(line)) break;
  }
  return block.join("\n");
}

export function Traceback({ of }: { of: AttemptRef }) {
  const [traceback, setTraceback] = useState<string | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    const lines: string[] = [];
    serverStream<TailLogsResponse>(
      "flyteidl2.dataproxy.DataProxyService/TailLogs",
      { actionId: { run: { org: "", project: of.scope.project, domain: of.scope.domain, name: of.run }, name: of.action }, attempt: of.attempt },
      (message) => {
        for (const logs of message.logs ?? []) for (const line of logs.lines ?? []) lines.push((line.message ?? "").replace(/\r?\n$/, ""));
      },
      stop.signal,
    )
      .then(() => setTraceback(lastTraceback(lines)))
      .catch(() => undefined);
    return () => stop.abort();
  }, [of.scope.project, of.scope.domain, of.run, of.action, of.attempt]);
  if (!traceback) return null;
  return (
    <details class="traceback-box" open>
      <summary>Traceback</summary>
      <pre class="traceback">{traceback}</pre>
    </details>
  );
}
