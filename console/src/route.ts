// Where the console is: the page a URL names, and moving between pages without reloading.
// URLs follow the ones the SDK prints (`/v2/domain/D/project/P/runs/RUN`), so every view has
// a deep link.

import { useEffect, useState } from "preact/hooks";

export interface Scope {
  domain: string;
  project: string;
}

export type Route =
  | { page: "runs"; scope: Scope }
  | { page: "run"; scope: Scope; run: string; action: string | null }
  | { page: "tasks"; scope: Scope }
  | { page: "task"; scope: Scope; task: string }
  | { page: "triggers"; scope: Scope }
  | { page: "missing"; path: string };

export const DEFAULT_SCOPE: Scope = { domain: "development", project: "flytesnacks" };

export function parseRoute(path: string, query: URLSearchParams): Route {
  if (path === "/" || path === "") return { page: "runs", scope: DEFAULT_SCOPE };
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== "v2" || parts[1] !== "domain" || parts[3] !== "project" || parts.length < 6) {
    return { page: "missing", path };
  }
  const scope = { domain: parts[2], project: parts[4] };
  const rest = parts.slice(5);
  if (rest[0] === "runs" && rest.length === 1) return { page: "runs", scope };
  if (rest[0] === "runs" && rest.length === 2) {
    return { page: "run", scope, run: rest[1], action: query.get("action") };
  }
  if (rest[0] === "runs" && rest[2] === "actions" && rest.length >= 4) {
    return { page: "run", scope, run: rest[1], action: rest[3] };
  }
  if (rest[0] === "tasks" && rest.length === 1) return { page: "tasks", scope };
  if (rest[0] === "tasks" && rest.length === 2) return { page: "task", scope, task: rest[1] };
  if (rest[0] === "triggers" && rest.length === 1) return { page: "triggers", scope };
  return { page: "missing", path };
}

export function scopePath(scope: Scope): string {
  return `/v2/domain/${encodeURIComponent(scope.domain)}/project/${encodeURIComponent(scope.project)}`;
}

export function runPath(scope: Scope, run: string, action?: string | null): string {
  const base = `${scopePath(scope)}/runs/${encodeURIComponent(run)}`;
  return action ? `${base}?action=${encodeURIComponent(action)}` : base;
}

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((listener) => listener());
}

window.addEventListener("popstate", () => listeners.forEach((listener) => listener()));

/** The current route; re-renders its user when the URL changes. */
export function useRoute(): Route {
  const read = () => parseRoute(location.pathname, new URLSearchParams(location.search));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const listener = () => setRoute(read());
    listeners.add(listener);
    return () => void listeners.delete(listener);
  }, []);
  return route;
}

/** Follows same-page links without a reload (a plain click on `<a href>` inside the app). */
export function linkClick(event: MouseEvent): void {
  const anchor = (event.target as HTMLElement).closest("a");
  if (!anchor || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || anchor.target || anchor.hasAttribute("download")) return;
  const url = new URL(anchor.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/v2/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}
