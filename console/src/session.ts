// Who is using the console: asks the server (`IdentityService.UserInfo`) once per credential,
// and whether the caller may change things (abort, signal, rerun), which read-only keys may not.

import { useEffect, useState } from "preact/hooks";
import { credential, onSignInNeeded, unary } from "./api";

export interface Identity {
  name: string;
  /** An admin key, or any caller when auth is off. */
  mayChange: boolean;
}

interface UserInfo {
  name?: string;
  preferredUsername?: string;
  additionalClaims?: { role?: string };
}

export type SessionState =
  | { state: "checking" }
  | { state: "signed-in"; identity: Identity }
  | { state: "needs-credential"; problem: string | null };

export function useSession(): [SessionState, () => void] {
  const [session, setSession] = useState<SessionState>({ state: "checking" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let current = true;
    unary<UserInfo>("flyteidl2.auth.IdentityService/UserInfo", {})
      .then((info) => {
        if (!current) return;
        setSession({
          state: "signed-in",
          identity: {
            name: info.preferredUsername || info.name || "",
            mayChange: info.additionalClaims?.role !== "read-only",
          },
        });
      })
      .catch((err) => {
        if (!current) return;
        const problem = credential() ? err.message : null;
        setSession({ state: "needs-credential", problem });
      });
    return () => {
      current = false;
    };
  }, [attempt]);
  useEffect(() => onSignInNeeded(() => setSession({ state: "needs-credential", problem: "the credential was refused" })), []);
  return [session, () => setAttempt((n) => n + 1)];
}
