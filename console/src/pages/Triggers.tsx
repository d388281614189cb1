// Deployed triggers: which task each starts, on what schedule, whether it is active, when it
// last fired and when it fires next (aerie's scheduler's own answer, from the console API,
// since the wire has no field for it).

import { useEffect, useState } from "preact/hooks";
import { consoleRead, unary } from "../api";
import { when, who } from "../format";
import { scopePath, type Scope } from "../route";
import { Problem } from "../parts/common";
import type { EnrichedIdentity } from "../wire";

interface DeployedTrigger {
  id?: { name?: { name?: string; taskName?: string } };
  metadata?: { deployedBy?: EnrichedIdentity };
  status?: { deployedAt?: string; triggeredAt?: string };
  active?: boolean;
  automationSpec?: { schedule?: { cronExpression?: string; cron?: { expression?: string; timezone?: string }; rate?: { value?: number; unit?: string } } };
}

function schedule(trigger: DeployedTrigger): string {
  const spec = trigger.automationSpec?.schedule;
  if (!spec) return "";
  if (spec.cron?.expression) return `cron ${spec.cron.expression}${spec.cron.timezone ? ` (${spec.cron.timezone})` : ""}`;
  if (spec.cronExpression) return `cron ${spec.cronExpression}`;
  if (spec.rate) return `every ${spec.rate.value ?? 0} ${(spec.rate.unit ?? "").replace(/^FIXED_RATE_UNIT_/, "").toLowerCase()}`;
  return "";
}

/** `task/trigger` → next fire time (RFC 3339), from `/console/api/next-fires`. */
async function nextFires(scope: Scope): Promise<Record<string, string>> {
  const reply = await consoleRead<{ next_fires?: Record<string, string> }>("next-fires", { project: scope.project, domain: scope.domain });
  return reply.next_fires ?? {};
}

export function TriggersPage({ scope }: { scope: Scope }) {
  const [triggers, setTriggers] = useState<DeployedTrigger[] | null>(null);
  const [next, setNext] = useState<Record<string, string>>({});
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    unary<{ triggers?: DeployedTrigger[] }>("flyteidl2.trigger.TriggerService/ListTriggers", {
      projectId: { organization: "", domain: scope.domain, name: scope.project },
      request: { limit: 200 },
    })
      .then((reply) => setTriggers(reply.triggers ?? []))
      .catch((err) => setProblem(err.message));
    nextFires(scope).then(setNext).catch(() => undefined);
  }, [scope.domain, scope.project]);
  return (
    <section>
      <h1>Triggers <span class="muted">{scope.project} / {scope.domain}</span></h1>
      <Problem text={problem} />
      {triggers && triggers.length === 0 && <p class="muted">No triggers are deployed here.</p>}
      {triggers && triggers.length > 0 && (
        <table class="runs">
          <thead>
            <tr><th>Trigger</th><th>Task</th><th>Schedule</th><th>Active</th><th>Last fired</th><th>Next fire</th><th>Deployed by</th></tr>
          </thead>
          <tbody>
            {triggers.map((trigger) => {
              const name = trigger.id?.name?.name ?? "";
              const task = trigger.id?.name?.taskName ?? "";
              return (
                <tr key={`${task}/${name}`} data-trigger={name}>
                  <td>{name}</td>
                  <td><a href={`${scopePath(scope)}/tasks/${encodeURIComponent(task)}`}>{task}</a></td>
                  <td>{schedule(trigger)}</td>
                  <td>{trigger.active ? "yes" : "no"}</td>
                  <td>{when(trigger.status?.triggeredAt) || <span class="muted">never</span>}</td>
                  <td class="next-fire">
                    {trigger.active && next[`${task}/${name}`] && <time dateTime={next[`${task}/${name}`]}>{when(next[`${task}/${name}`])}</time>}
                  </td>
                  <td>{who(trigger.metadata?.deployedBy)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}
