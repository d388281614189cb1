// The form that signals a waiting condition with a value of its declared type, through
// `RunService.SignalEvent`; the server checks the type and answers wrong ones with an error
// shown here.

import { useState } from "preact/hooks";
import { unary } from "../api";
import type { Scope } from "../route";
import type { ActionDetails } from "../wire";
import { Problem } from "./common";

export function SignalForm({ scope, details }: { scope: Scope; details: ActionDetails }) {
  const simple = details.condition?.type?.simple ?? details.metadata?.condition?.type?.simple ?? "STRING";
  const [value, setValue] = useState(simple === "BOOLEAN" ? "true" : "");
  const [problem, setProblem] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const payload = (): Record<string, unknown> | string => {
    switch (simple) {
      case "BOOLEAN":
        return { boolValue: value === "true" };
      case "INTEGER":
        return /^-?\d+$/.test(value.trim()) ? { intValue: value.trim() } : "enter a whole number";
      case "FLOAT":
        return value.trim() !== "" && !Number.isNaN(Number(value)) ? { floatValue: Number(value) } : "enter a number";
      default:
        return { stringValue: value };
    }
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const body = payload();
    if (typeof body === "string") {
      setProblem(body);
      return;
    }
    setSending(true);
    try {
      await unary("flyteidl2.workflow.RunService/SignalEvent", {
        actionId: { run: { org: "", project: scope.project, domain: scope.domain, name: details.id.run.name }, name: details.id.name },
        payload: body,
      });
      setProblem(null);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setSending(false);
    }
  };
  return (
    <form class="signal" onSubmit={submit}>
      <label>
        Value ({simple.toLowerCase()}){" "}
        {simple === "BOOLEAN" ? (
          <select name="value" value={value} onChange={(e) => setValue((e.target as HTMLSelectElement).value)}>
            <option value="true">True</option>
            <option value="false">False</option>
          </select>
        ) : (
          <input name="value" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
        )}
      </label>
      <button type="submit" disabled={sending}>Signal</button>
      <Problem text={problem} />
    </form>
  );
}
