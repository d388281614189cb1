// What a user may do to a run or an action from the console: abort (with a reason), rerun
// and recover. Each is one RPC with the same rules and errors as from the SDK; read-only
// callers do not see the buttons.

import { useState } from "preact/hooks";
import { unary } from "../api";
import { isTerminal, phaseOf } from "../phase";
import { navigate, runPath, type Scope } from "../route";
import type { Identity } from "../session";
import type { ActionData, ActionDetails } from "../wire";
import { Problem } from "../parts/common";

export function RunActions({ scope, run, details, identity }: { scope: Scope; run: string; details: ActionDetails; identity: Identity }) {
  if (!identity.mayChange) return null;
  const done = isTerminal(phaseOf(details.status?.phase));
  return (
    <div class="run-actions">
      {!done && <AbortButton scope={scope} run={run} action={null} />}
      {done && <RelaunchButton scope={scope} run={run} recover={false} />}
      {done && <RelaunchButton scope={scope} run={run} recover />}
    </div>
  );
}

/** Aborts the run (`action` null) or one action, after asking for a reason. */
export function AbortButton({ scope, run, action }: { scope: Scope; run: string; action: string | null }) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const runId = { org: "", project: scope.project, domain: scope.domain, name: run };
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      if (action === null) {
        await unary("flyteidl2.workflow.RunService/AbortRun", { runId, reason });
      } else {
        await unary("flyteidl2.workflow.RunService/AbortAction", { actionId: { run: runId, name: action }, reason });
      }
      setAsking(false);
      setProblem(null);
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  const what = action === null ? "run" : "action";
  if (!asking) {
    return <button class="danger" onClick={() => setAsking(true)}>Abort {what}</button>;
  }
  return (
    <form class="abort-form" onSubmit={submit}>
      <input name="reason" placeholder="reason" value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
      <button type="submit" class="danger">Abort {what}</button>
      <button type="button" class="ghost" onClick={() => setAsking(false)}>cancel</button>
      <Problem text={problem} />
    </form>
  );
}

interface RunDetailsReply {
  details?: { runSpec?: Record<string, unknown>; action?: ActionDetails };
}

/**
 * Starts a new run of the same task with the same inputs, related to this one: a rerun runs
 * everything again, a recovery reuses every action that succeeded (as `flyte rerun` does).
 */
function RelaunchButton({ scope, run, recover }: { scope: Scope; run: string; recover: boolean }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const runId = { org: "", project: scope.project, domain: scope.domain, name: run };
  const relaunch = async () => {
    setBusy(true);
    try {
      const source = await unary<RunDetailsReply>("flyteidl2.workflow.RunService/GetRunDetails", { runId });
      const taskSpec = source.details?.action?.task;
      if (!taskSpec) throw new Error("the run has no task spec to run again");
      const data = await unary<ActionData>("flyteidl2.workflow.RunService/GetActionData", { actionId: { run: runId, name: "a0" } });
      const { relation: _relation, relatedTo: _relatedTo, recover: _recover, runStartTime: _start, ...runSpec } = source.details?.runSpec ?? {};
      const created = await unary<{ run?: { action?: { id?: { run?: { name?: string } } } } }>("flyteidl2.workflow.RunService/CreateRun", {
        projectId: { organization: "", domain: scope.domain, name: scope.project },
        taskSpec,
        inputs: { literals: data.inputs?.literals ?? [] },
        runSpec: { ...runSpec, relation: { relatedTo: runId, relationType: recover ? "RELATION_TYPE_RECOVER" : "RELATION_TYPE_RERUN" } },
      });
      const name = created.run?.action?.id?.run?.name;
      if (name) navigate(runPath(scope, name));
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button onClick={relaunch} disabled={busy}>{recover ? "Recover" : "Rerun"}</button>
      <Problem text={problem} />
    </>
  );
}
