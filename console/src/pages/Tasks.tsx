// Deployed tasks (`flyte deploy`): a project's tasks with their latest version, and one task's
// versions, each linking to the runs made from it.

import { useEffect, useState } from "preact/hooks";
import { unary } from "../api";
import { when, who } from "../format";
import { scopePath, type Scope } from "../route";
import { Problem } from "../parts/common";
import type { EnrichedIdentity } from "../wire";

interface DeployedTask {
  taskId?: { name?: string; version?: string };
  metadata?: { deployedBy?: EnrichedIdentity; deployedAt?: string; environmentName?: string; shortDescription?: string; shortName?: string };
}

export function TasksPage({ scope }: { scope: Scope }) {
  const [tasks, setTasks] = useState<DeployedTask[] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    unary<{ tasks?: DeployedTask[] }>("flyteidl2.task.TaskService/ListTasks", {
      projectId: { organization: "", domain: scope.domain, name: scope.project },
      request: { limit: 200 },
    })
      .then((reply) => setTasks(reply.tasks ?? []))
      .catch((err) => setProblem(err.message));
  }, [scope.domain, scope.project]);
  return (
    <section>
      <h1>Tasks <span class="muted">{scope.project} / {scope.domain}</span></h1>
      <Problem text={problem} />
      {tasks && tasks.length === 0 && <p class="muted">No tasks are deployed here. <code>flyte deploy</code> puts them here.</p>}
      {tasks && tasks.length > 0 && (
        <table class="runs">
          <thead>
            <tr><th>Task</th><th>Latest version</th><th>Environment</th><th>Deployed</th><th>By</th></tr>
          </thead>
          <tbody>
            {tasks.map((task) => (
              <tr key={task.taskId?.name} data-task={task.taskId?.name}>
                <td><a href={`${scopePath(scope)}/tasks/${encodeURIComponent(task.taskId?.name ?? "")}`}>{task.taskId?.name}</a></td>
                <td><code>{task.taskId?.version}</code></td>
                <td>{task.metadata?.environmentName}</td>
                <td>{when(task.metadata?.deployedAt)}</td>
                <td>{who(task.metadata?.deployedBy)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

interface VersionList {
  versions?: { version?: string; deployedAt?: string }[];
}

export function TaskPage({ scope, task }: { scope: Scope; task: string }) {
  const [versions, setVersions] = useState<VersionList["versions"] | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(() => {
    unary<VersionList>("flyteidl2.task.TaskService/ListVersions", {
      taskName: { org: "", project: scope.project, domain: scope.domain, name: task },
      request: { limit: 200 },
    })
      .then((reply) => setVersions(reply.versions ?? []))
      .catch((err) => setProblem(err.message));
  }, [scope.domain, scope.project, task]);
  return (
    <section>
      <h1><span class="muted">task</span> {task}</h1>
      <p><a href={`${scopePath(scope)}/runs?task=${encodeURIComponent(task)}`}>runs of this task</a></p>
      <Problem text={problem} />
      {versions && (
        <table class="runs">
          <thead><tr><th>Version</th><th>Deployed</th></tr></thead>
          <tbody>
            {versions.map((version) => (
              <tr key={version.version}><td><code>{version.version}</code></td><td>{when(version.deployedAt)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
