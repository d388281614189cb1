// The selected action: phase and attempt history (each attempt's phase transitions on a small
// timeline), the error with its traceback or the abort reason and who aborted, the condition
// and its signal, inputs and outputs, logs per attempt, the task spec and the report.

import { useEffect, useState } from "preact/hooks";
import { unary } from "../api";
import { clock, duration, durationMs, elapsed, millis, who } from "../format";
import { isTerminal, phaseOf } from "../phase";
import type { Scope } from "../route";
import type { Identity } from "../session";
import type { AbortInfo, ActionAttempt, ActionDetails, ErrorInfo, TaskSpec } from "../wire";
import { PhaseBadge, Problem, useNow } from "../parts/common";
import { LiteralTable, LiteralView } from "../parts/Literal";
import { LogView } from "../parts/Logs";
import { SignalForm } from "../parts/Signal";
import { Traceback, type AttemptRef } from "../parts/Traceback";
import { useActionData, useActionDetails } from "./Run";
import { AbortButton } from "./RunActions";

type Tab = "summary" | "data" | "logs" | "task" | "report";

export function ActionPanel({ scope, run, action, identity }: { scope: Scope; run: string; action: string; identity: Identity }) {
  const { details, problem } = useActionDetails(scope, run, action);
  const [tab, setTab] = useState<Tab>("summary");
  if (problem) return <Problem text={problem} />;
  if (!details) return <p class="muted">loading {action}…</p>;
  const phase = phaseOf(details.status?.phase);
  const report = details.task?.taskTemplate?.metadata?.generatesDeck === true;
  const tabs: [Tab, string][] = [
    ["summary", "Summary"],
    ["data", "Inputs & outputs"],
    ["logs", "Logs"],
    ...(details.task ? ([["task", "Task"]] as [Tab, string][]) : []),
    ...(report ? ([["report", "Report"]] as [Tab, string][]) : []),
  ];
  return (
    <div class="action-panel" data-action={action}>
      <h2>
        {details.metadata?.task?.shortName || details.metadata?.trace?.name || details.metadata?.condition?.name || action}{" "}
        <span class="muted">{action}</span> <PhaseBadge phase={phase} />
      </h2>
      {identity.mayChange && action !== "a0" && !isTerminal(phase) && <AbortButton scope={scope} run={run} action={action} />}
      <div class="tabs" role="tablist">
        {tabs.map(([name, label]) => (
          <button key={name} role="tab" aria-selected={tab === name} class={tab === name ? "active" : ""} onClick={() => setTab(name)}>
            {label}
          </button>
        ))}
      </div>
      {tab === "summary" && <Summary scope={scope} details={details} identity={identity} />}
      {tab === "data" && <DataTab scope={scope} run={run} details={details} />}
      {tab === "logs" && <LogView scope={scope} run={run} details={details} />}
      {tab === "task" && details.task && <TaskSpecView spec={details.task} />}
      {tab === "report" && <ReportView scope={scope} details={details} />}
    </div>
  );
}

function Summary({ scope, details, identity }: { scope: Scope; details: ActionDetails; identity: Identity }) {
  const phase = phaseOf(details.status?.phase);
  const now = useNow(!isTerminal(phase));
  const attempts = details.attempts ?? [];
  return (
    <div class="summary-tab">
      <dl class="facts">
        <dt>Phase</dt>
        <dd><PhaseBadge phase={phase} /></dd>
        <dt>Runtime</dt>
        <dd>{elapsed(details.status?.startTime, details.status?.endTime, now)}</dd>
        <dt>Attempts</dt>
        <dd>{details.status?.attempts ?? attempts.length}</dd>
        {details.status?.cacheStatus && details.status.cacheStatus !== "CACHE_DISABLED" && (
          <>
            <dt>Cache</dt>
            <dd>{details.status.cacheStatus.replace(/^CACHE_/, "").toLowerCase().replace(/_/g, " ")}</dd>
          </>
        )}
        {details.metadata?.recoveredFrom?.run?.name && (
          <>
            <dt>Recovered from</dt>
            <dd>{details.metadata.recoveredFrom.run.name} / {details.metadata.recoveredFrom.name}</dd>
          </>
        )}
      </dl>
      {details.errorInfo && <ErrorBox error={details.errorInfo} attempt={failedAttempt(scope, details)} />}
      {details.abortInfo && <AbortBox abort={details.abortInfo} />}
      {details.condition && (
        <div class="card condition">
          <h3>Condition {details.condition.name}</h3>
          {details.condition.prompt && <p class="prompt">{details.condition.prompt}</p>}
          {details.condition.description && <p class="muted">{details.condition.description}</p>}
          {details.signalInfo?.output ? (
            <p>
              Signalled{who(details.signalInfo.signalledBy) && ` by ${who(details.signalInfo.signalledBy)}`}:{" "}
              <LiteralView literal={details.signalInfo.output} owner={{ scope, run: details.id.run.name }} />
            </p>
          ) : phase === "PAUSED" && identity.mayChange ? (
            <SignalForm scope={scope} details={details} />
          ) : (
            <p class="muted">{phase === "PAUSED" ? "waiting for a signal" : "not signalled"}</p>
          )}
        </div>
      )}
      <h3>Attempts</h3>
      {attempts.length === 0 && <p class="muted">none yet</p>}
      {attempts.map((attempt) => (
        <AttemptView key={attempt.attempt} attempt={attempt} now={now} />
      ))}
    </div>
  );
}

function AttemptView({ attempt, now }: { attempt: ActionAttempt; now: number }) {
  const transitions = attempt.phaseTransitions ?? [];
  const start = millis(attempt.startTime) ?? millis(transitions[0]?.startTime) ?? now;
  const end = millis(attempt.endTime) ?? now;
  const total = Math.max(1, end - start);
  return (
    <div class="attempt" data-attempt={attempt.attempt}>
      <div class="attempt-head">
        <strong>Attempt {attempt.attempt}</strong> <PhaseBadge phase={phaseOf(attempt.phase)} />{" "}
        <span class="muted">{clock(attempt.startTime)} · {elapsed(attempt.startTime, attempt.endTime, now)}</span>
      </div>
      <div class="gantt" title="phase transitions">
        {transitions.map((transition, index) => {
          const from = millis(transition.startTime) ?? start;
          const to = millis(transition.endTime) ?? end;
          return (
            <span key={index} class={`bar phase-${phaseOf(transition.phase)}`}
              style={{ left: `${((from - start) / total) * 100}%`, width: `${Math.max(0.5, ((to - from) / total) * 100)}%` }}
              title={`${phaseOf(transition.phase)} ${duration(to - from)}`} />
          );
        })}
      </div>
      <table class="transitions">
        <tbody>
          {transitions.map((transition, index) => (
            <tr key={index}>
              <td><PhaseBadge phase={phaseOf(transition.phase)} /></td>
              <td>{clock(transition.startTime)}</td>
              <td class="muted">{elapsed(transition.startTime, transition.endTime, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {(attempt.clusterEvents ?? []).map((event, index) => (
        <p key={index} class="muted event">{clock(event.occurredAt)} {event.message}</p>
      ))}
      {attempt.errorInfo && <ErrorBox error={attempt.errorInfo} />}
    </div>
  );
}

/** An error: its kind, code and message, and, from the failed attempt's log, its traceback. */
export function ErrorBox({ error, attempt }: { error: ErrorInfo; attempt?: AttemptRef }) {
  const kind = (error.kind ?? "").replace(/^KIND_/, "").toLowerCase() || "unknown";
  return (
    <div class="card failure" role="alert">
      <div class="failure-head">
        <strong class="error-kind">{kind} error</strong> {error.code && <code class="error-code">{error.code}</code>}
      </div>
      <pre class="error-message">{error.message}</pre>
      {attempt && <Traceback of={attempt} />}
    </div>
  );
}

/** The attempt whose log holds the traceback of `details`' error: its last one, if it ran. */
export function failedAttempt(scope: Scope, details: ActionDetails): AttemptRef | undefined {
  const attempts = details.attempts ?? [];
  const last = attempts[attempts.length - 1];
  if (!last?.logsAvailable || !details.errorInfo) return undefined;
  return { scope, run: details.id.run.name, action: details.id.name, attempt: last.attempt ?? 1 };
}

export function AbortBox({ abort }: { abort: AbortInfo }) {
  return (
    <div class="card aborted">
      <strong>Aborted</strong>
      {who(abort.abortedBy) && <> by <span class="who">{who(abort.abortedBy)}</span></>}
      {abort.reason && <pre class="reason">{abort.reason}</pre>}
    </div>
  );
}

function DataTab({ scope, run, details }: { scope: Scope; run: string; details: ActionDetails }) {
  const phase = details.status?.phase;
  const { data, problem } = useActionData(scope, run, details.id.name, phase);
  const done = isTerminal(phaseOf(phase));
  const owner = { scope, run };
  return (
    <div class="data-tab">
      <Problem text={problem} />
      <h3>Inputs</h3>
      {data && <LiteralTable literals={data.inputs?.literals ?? []} owner={owner} />}
      <h3>Outputs</h3>
      {!done && <p class="muted">not yet: the action has not finished</p>}
      {data && done && <LiteralTable literals={data.outputs?.literals ?? []} owner={owner} />}
    </div>
  );
}

function TaskSpecView({ spec }: { spec: TaskSpec }) {
  const template = spec.taskTemplate;
  const meta = template?.metadata;
  const container = template?.container;
  const resources = (list: { name?: string; value?: string }[] | undefined) =>
    (list ?? []).map((entry) => `${(entry.name ?? "").toLowerCase()}=${entry.value}`).join(", ");
  const timeout = (wire: string | undefined) => (wire ? duration(durationMs(wire)) : "none");
  const rows: [string, string][] = [
    ["Name", template?.id?.name ?? ""],
    ["Version", template?.id?.version ?? ""],
    ["Type", template?.type ?? ""],
    ["Environment", spec.environment?.name ?? ""],
    ["Image", container?.image ?? ""],
    ["Requests", resources(container?.resources?.requests)],
    ["Limits", resources(container?.resources?.limits)],
    ["Retries", String(meta?.retries?.retries ?? 0)],
    ["Backoff", meta?.retries?.backoff?.base ? `${timeout(meta.retries.backoff.base)} × ${meta.retries.backoff.factor ?? 2} up to ${timeout(meta.retries.backoff.cap)}` : "none"],
    ["Timeout", timeout(meta?.timeout)],
    ["Queued timeout", timeout(meta?.timeouts?.queuedTimeout)],
    ["Deadline", timeout(meta?.timeouts?.deadline)],
    ["Cache", meta?.discoverable ? `on (version ${meta.discoveryVersion || "-"}${meta.cacheSerializable ? ", serialized" : ""}${meta.cacheIgnoreInputVars?.length ? `, ignores ${meta.cacheIgnoreInputVars.join(", ")}` : ""}${meta.cacheMaxAge ? `, max age ${timeout(meta.cacheMaxAge)}` : ""})` : "off"],
    ["Interruptible", meta?.interruptible ? "yes" : "no"],
  ];
  return (
    <div class="task-tab">
      {spec.documentation?.shortDescription && <p>{spec.documentation.shortDescription}</p>}
      <table class="kv">
        <tbody>
          {rows.filter(([, value]) => value !== "").map(([name, value]) => (
            <tr key={name}><th>{name}</th><td>{value}</td></tr>
          ))}
        </tbody>
      </table>
      {container?.args && container.args.length > 0 && (
        <>
          <h3>Command</h3>
          <pre class="command">{container.args.join(" ")}</pre>
        </>
      )}
    </div>
  );
}

function ReportView({ scope, details }: { scope: Scope; details: ActionDetails }) {
  const attempts = (details.attempts ?? []).filter((attempt) => attempt.outputs?.reportUri);
  const latest = attempts[attempts.length - 1]?.attempt ?? 1;
  const [url, setUrl] = useState<string | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    unary<{ preSignedUrls?: { signedUrl?: string[] } }>("flyteidl2.dataproxy.DataProxyService/CreateDownloadLink", {
      artifactType: "ARTIFACT_TYPE_REPORT",
      actionAttemptId: { actionId: { run: { org: "", project: scope.project, domain: scope.domain, name: details.id.run.name }, name: details.id.name }, attempt: latest },
    })
      .then((reply) => setUrl(reply.preSignedUrls?.signedUrl?.[0] ?? null))
      .catch((err) => setProblem(err.message));
  }, [details.id.name, latest]);
  return (
    <div class="report-tab">
      <Problem text={problem} />
      {/* The report is the task's own HTML: shown in a sandbox with no scripts and no access to this page. */}
      {url && <iframe class="report" sandbox="" src={url} title="report" />}
    </div>
  );
}
