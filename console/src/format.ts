// Times, durations and identities as the console writes them.

import type { EnrichedIdentity } from "./wire";

export function millis(time: string | undefined): number | null {
  if (!time) return null;
  const parsed = Date.parse(time);
  return Number.isNaN(parsed) ? null : parsed;
}

const parsedTimes = new WeakMap<object, [number | null, number | null]>();

/**
 * An action status's start and end in milliseconds, parsed once per status object: a run of
 * 10,000 actions would otherwise parse 20,000 timestamps on every render.
 */
export function statusTimes(status: { startTime?: string; endTime?: string } | undefined): [number | null, number | null] {
  if (!status) return [null, null];
  let times = parsedTimes.get(status);
  if (!times) {
    times = [millis(status.startTime), millis(status.endTime)];
    parsedTimes.set(status, times);
  }
  return times;
}

/** `1234` → `1.2s`, `75000` → `1m 15s`, `3_700_000` → `1h 1m`. */
export function duration(ms: number | null): string {
  if (ms === null || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${Math.floor(seconds % 60)}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** A proto3 JSON duration (`"1.500s"`) in milliseconds. */
export function durationMs(wire: string | undefined): number | null {
  if (!wire) return null;
  const seconds = Number.parseFloat(wire.replace(/s$/, ""));
  return Number.isNaN(seconds) ? null : seconds * 1000;
}

/** Time between two RFC 3339 instants, the end defaulting to now. */
export function elapsed(start: string | undefined, end: string | undefined, now: number): string {
  const from = millis(start);
  if (from === null) return "";
  return duration((millis(end) ?? now) - from);
}

export function when(time: string | undefined): string {
  const at = millis(time);
  return at === null ? "" : new Date(at).toLocaleString();
}

export function clock(time: string | undefined): string {
  const at = millis(time);
  return at === null ? "" : new Date(at).toLocaleTimeString();
}

/** Who an identity is: a user's subject or an application's name. */
export function who(identity: EnrichedIdentity | undefined): string {
  return (
    identity?.user?.id?.subject ||
    identity?.user?.spec?.email ||
    identity?.application?.spec?.name ||
    identity?.application?.id?.subject ||
    ""
  );
}
