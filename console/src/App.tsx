// The frame around every page: the header (scope, navigation, theme, who is signed in), the
// sign-in form when the server asks for a credential, and the page the URL names.

import { useEffect, useState } from "preact/hooks";
import { credential, forgetCredential, setCredential, unary } from "./api";
import { linkClick, navigate, scopePath, useRoute, type Route, type Scope } from "./route";
import { useSession, type Identity } from "./session";
import { RunsPage } from "./pages/Runs";
import { RunPage } from "./pages/Run";
import { TasksPage, TaskPage } from "./pages/Tasks";
import { TriggersPage } from "./pages/Triggers";

type Theme = "light" | "dark";

/** Who the caller is while the server has not said: someone who may change nothing. */
const UNKNOWN_CALLER: Identity = { name: "", mayChange: false };

function useTheme(): [Theme, () => void] {
  const initial = (localStorage.getItem("aerie.theme") as Theme | null) ??
    (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");
  const [theme, setTheme] = useState<Theme>(initial);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("aerie.theme", theme);
  }, [theme]);
  return [theme, () => setTheme(theme === "dark" ? "light" : "dark")];
}

export function App() {
  const route = useRoute();
  const [session, recheck] = useSession();
  const [theme, toggleTheme] = useTheme();
  const scope = "scope" in route ? route.scope : null;
  useEffect(() => {
    document.title = title(route);
  }, [route]);
  return (
    <div class="app" onClick={linkClick}>
      <header class="top">
        <a class="brand" href={scope ? `${scopePath(scope)}/runs` : "/"}>
          aerie
        </a>
        {scope && <ScopePicker scope={scope} enabled={session.state === "signed-in"} />}
        {scope && (
          <nav>
            <a href={`${scopePath(scope)}/runs`} class={route.page.startsWith("run") ? "active" : ""}>Runs</a>
            <a href={`${scopePath(scope)}/tasks`} class={route.page.startsWith("task") ? "active" : ""}>Tasks</a>
            <a href={`${scopePath(scope)}/triggers`} class={route.page === "triggers" ? "active" : ""}>Triggers</a>
          </nav>
        )}
        <span class="spacer" />
        {session.state === "signed-in" && session.identity.name && (
          <span class="muted who" title={session.identity.mayChange ? "may change runs" : "read-only"}>
            {session.identity.name}
            {!session.identity.mayChange && " (read-only)"}
          </span>
        )}
        <button class="ghost" onClick={toggleTheme} aria-label="switch theme" title="switch theme">
          {theme === "dark" ? "light" : "dark"}
        </button>
        {session.state === "signed-in" && credential() !== null && (
          <button class="ghost" onClick={() => { forgetCredential(); recheck(); }}>sign out</button>
        )}
      </header>
      <main>
        {session.state === "needs-credential" && <SignIn problem={session.problem} done={recheck} />}
        {/* The page starts reading while the session is checked; until then it offers no changes. */}
        {session.state === "checking" && <Page route={route} identity={UNKNOWN_CALLER} />}
        {session.state === "signed-in" && <Page route={route} identity={session.identity} />}
      </main>
    </div>
  );
}

function title(route: Route): string {
  switch (route.page) {
    case "run":
      return `${route.run}${route.action ? ` · ${route.action}` : ""} · aerie`;
    case "runs":
      return `runs · ${route.scope.project} · aerie`;
    case "tasks":
    case "task":
      return `tasks · ${route.scope.project} · aerie`;
    case "triggers":
      return `triggers · ${route.scope.project} · aerie`;
    default:
      return "aerie";
  }
}

function Page({ route, identity }: { route: Route; identity: Identity }) {
  switch (route.page) {
    case "runs":
      return <RunsPage scope={route.scope} />;
    case "run":
      return <RunPage scope={route.scope} run={route.run} selected={route.action} identity={identity} />;
    case "tasks":
      return <TasksPage scope={route.scope} />;
    case "task":
      return <TaskPage scope={route.scope} task={route.task} />;
    case "triggers":
      return <TriggersPage scope={route.scope} />;
    case "missing":
      return <p class="problem">There is no page at {route.path}.</p>;
  }
}

function SignIn({ problem, done }: { problem: string | null; done: () => void }) {
  const [typed, setTyped] = useState("");
  const submit = (event: Event) => {
    event.preventDefault();
    setCredential(typed);
    done();
  };
  return (
    <form class="card signin" onSubmit={submit}>
      <h1>Sign in</h1>
      <p>
        This aerie asks for a credential. Paste an API key (what <code>FLYTE_API_KEY</code> holds, from{" "}
        <code>aerie key create</code>) or a token. It is kept for this browser session only.
      </p>
      {problem && <p class="problem" role="alert">{problem}</p>}
      <input type="password" name="credential" autocomplete="off" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} placeholder="API key or token" />
      <button type="submit" disabled={!typed.trim()}>Sign in</button>
    </form>
  );
}

interface ProjectList {
  projects?: { projects?: { id?: string; name?: string }[] };
}

function ScopePicker({ scope, enabled }: { scope: Scope; enabled: boolean }) {
  const [projects, setProjects] = useState<string[]>([scope.project]);
  useEffect(() => {
    if (!enabled) return;
    unary<ProjectList>("flyteidl2.project.ProjectService/ListProjects", {})
      .then((list) => {
        const names = (list.projects?.projects ?? []).map((project) => project.id || project.name || "").filter(Boolean);
        setProjects([...new Set([scope.project, ...names])]);
      })
      .catch(() => undefined);
  }, [enabled, scope.project]);
  const go = (next: Scope) => navigate(`${scopePath(next)}/runs`);
  return (
    <span class="scope">
      <select aria-label="project" value={scope.project} onChange={(e) => go({ ...scope, project: (e.target as HTMLSelectElement).value })}>
        {projects.map((project) => <option key={project} value={project}>{project}</option>)}
      </select>
      <select aria-label="domain" value={scope.domain} onChange={(e) => go({ ...scope, domain: (e.target as HTMLSelectElement).value })}>
        {["development", "staging", "production", ...(["development", "staging", "production"].includes(scope.domain) ? [] : [scope.domain])].map((domain) => (
          <option key={domain} value={domain}>{domain}</option>
        ))}
      </select>
    </span>
  );
}
