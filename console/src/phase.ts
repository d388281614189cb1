// Action phases as the wire names them, the short names the console shows, and which end.

export const PHASES = [
  "QUEUED",
  "WAITING_FOR_RESOURCES",
  "INITIALIZING",
  "RUNNING",
  "PAUSED",
  "SUCCEEDED",
  "FAILED",
  "ABORTED",
  "TIMED_OUT",
  "RECOVERED",
] as const;

export type Phase = (typeof PHASES)[number] | "UNKNOWN";

/** `ACTION_PHASE_RUNNING` → `RUNNING`. */
export function phaseOf(wire: string | undefined): Phase {
  const short = (wire ?? "").replace(/^ACTION_PHASE_/, "");
  return (PHASES as readonly string[]).includes(short) ? (short as Phase) : "UNKNOWN";
}

export function isTerminal(phase: Phase): boolean {
  return ["SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT", "RECOVERED"].includes(phase);
}

/** How the console writes a phase: `WAITING_FOR_RESOURCES` → `waiting for resources`. */
export function phaseLabel(phase: Phase): string {
  return phase.toLowerCase().replace(/_/g, " ");
}

/** The phase a wire enum number names (`5` → `SUCCEEDED`), as map keys carry it. */
export function phaseOfNumber(number: number): Phase {
  const names: Phase[] = ["UNKNOWN", "QUEUED", "WAITING_FOR_RESOURCES", "INITIALIZING", "RUNNING", "SUCCEEDED", "FAILED", "ABORTED", "TIMED_OUT", "PAUSED", "RECOVERED"];
  return names[number] ?? "UNKNOWN";
}
